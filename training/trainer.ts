// `townlet train`, the run itself, top to bottom: build the training world (many copies of the
// town, every agent a row of the batch), optionally record the scripted controller and clone it,
// then PPO updates from fresh rollouts (annealing from scripted to learned actions at first),
// an NDJSON epoch log, checkpoints, an evaluation of PPO, BC, scripted and random on the same
// seeds, and a PNG of the learning curves. Reads every system only through the world.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { initTensorBackend, type BackendName } from "../engine/tensor.ts";
import type { World } from "../engine/world.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { Agent } from "../engine/core-components.ts";
import { actionNames } from "../components/actions.ts";
import type { SocialLedger } from "../components/social.ts";
import { corePlugins } from "../systems/index.ts";
import {
  NeuralPolicy,
  RandomPolicy,
  createNeuralPolicy,
  loadNeuralPolicy,
  policyState,
  scriptedPolicy,
  setPolicy,
} from "../systems/policy/index.ts";
import { registryOf } from "../systems/policy/masks.ts";
import { buildWorld } from "../engine/build.ts";
import { computeGae, hyperparametersFrom, pearson, PpoOptimizer, type PpoHyperparameters, type UpdateBatch, type UpdateStats } from "./ppo.ts";
import { RolloutCollector } from "./rollout.ts";
import { partOf, writeDataset, type Dataset, type DatasetPart, type DatasetStats, readDataset } from "./dataset.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { evaluatePolicy, formatEvalTable, type EvalResult } from "./evaluate.ts";
import { PpoLogWriter, type EpochRecord } from "./log.ts";
import { renderCurves } from "./chart.ts";
import { LabelPool } from "./dagger.ts";

/** Everything a training run reads; one line per field. */
export interface TrainSettings {
  /** Config file of the town. */
  config: string;
  /** Config values replaced by dotted path before validation (training and evaluation worlds). */
  overrides?: Record<string, unknown>;
  /** Trainer-side reward per live agent per tick, added to PPO's rewards only (not the world's, not the log's statistics). */
  aliveBonus?: number;
  /** Further values for the training world only (evaluation keeps the config's), e.g. a reward guardrail lifted. */
  trainOverrides?: Record<string, unknown>;
  plugins?: readonly AnyPlugin[];
  /** Run folder: log, dataset, checkpoints, chart, summary. */
  out: string;
  /** Root seed of the training world, the network and the minibatch order. */
  seed: number;
  /** Copies of the town in the training world (agents of all towns share one network). */
  towns: number;
  /** Hidden layer widths of a fresh network. */
  hidden: number[];
  /** PPO updates (one rollout each). */
  updates: number;
  /** Ticks simulated per rollout. */
  rolloutTicks: number;
  /** Ticks after which the training world starts a new episode (reset with the next seed). */
  episodeTicks: number;
  /** data_mode of the PPO cycles: rollout (fresh rollouts only) or mixed (a replay epoch after each rollout update). */
  mode: "rollout" | "mixed";
  /** Behaviour cloning first: ticks of scripted play to record, then epochs over the recording (default training.bc.epochs); null = none. */
  bc: { recordTicks: number; epochs?: number } | null;
  /** A replay dataset to clone instead of recording one. */
  dataset?: string;
  /**
   * DAgger after cloning (needs bc): `iterations` rollouts where the network acts and the scripted
   * controller labels the states it visits, each followed by `epochs` BC epochs over the recording
   * plus every labelled state so far (at most `poolRows` rows). In mixed mode PPO's rollouts keep
   * adding labels and its replay epochs read the same pool. null = none.
   */
  dagger?: { iterations: number; epochs: number; poolRows: number } | null;
  /**
   * Rows of each DAgger and mixed-mode replay epoch: a fresh random subset of the pool of this
   * size (0 = the whole pool, which grows to --dagger-pool rows and then dominated a run's time).
   */
  replayRows?: number;
  /** Blend rollouts: the scripted controller's choice stands with probability startRatio, falling to 0 over `updates` updates. */
  anneal: { startRatio: number; updates: number };
  /** Evaluation after training: the same seeds for every policy. */
  eval: { seeds: number[]; ticks: number; towns: number } | null;
  /** NDJSON telemetry version of the epoch log. */
  logVersion: "1.0" | "1.1";
  /** Lines per log file before it rotates (null = never). */
  maxLogEntries: number | null;
  /** Save a checkpoint every this many updates (0 = only the last). */
  checkpointEvery: number;
  /** Continue from this checkpoint (policy and Adam state). */
  resume?: string;
  /** Tensor backend to force. */
  backend?: BackendName;
  /** Hyperparameters replacing the config's `ppo` section. */
  hp?: Partial<PpoHyperparameters>;
  /** Called after every cycle (progress display). */
  onCycle?: (c: CycleReport) => void;
  /** Called with each stage's name as it starts (progress display). */
  onStage?: (stage: string, total: number) => void;
}

/** One line of progress. */
export interface CycleReport {
  stage: "record" | "bc" | "dagger" | "ppo" | "eval";
  done: number;
  total: number;
  /** Agent-steps per second of the last cycle (simulation + inference + update). */
  sps: number;
  /** Mean reward per agent per 1,000 ticks in the last rollout (0 in BC epochs). */
  rewardPer1k: number;
  /** Exits per agent-day in the last rollout. */
  exitsPerAgentDay: number;
  /** BC accuracy of the last epoch (BC stage only). */
  accuracy?: number;
}

/** Wall time and throughput of one stage of a training run. */
export interface StageTiming {
  stage: "record" | "bc" | "dagger" | "ppo" | "eval";
  sec: number;
  /** Agent-steps simulated in the stage (0 for behaviour cloning, which only trains). */
  agent_steps: number;
  agent_steps_per_sec: number;
  /** Rows trained on (every epoch's rows). */
  samples: number;
  samples_per_sec: number;
}

export interface TrainSummary {
  out: string;
  backend: string;
  /** What computed: the WebGPU adapter, or the CPU path of the backend. */
  tensor_device: string;
  /** Each stage's wall time and agent-steps/s (and training rows/s). */
  stages: StageTiming[];
  config_id: string;
  observation_variant: string;
  parameters: number;
  updates: number;
  agent_steps: number;
  decisions: number;
  wall_sec: number;
  train_sps: number;
  /** Values the training world replaced (evaluation used the config's). */
  train_overrides: Record<string, unknown>;
  /** Trainer-side reward per live agent-tick added to PPO's rewards. */
  alive_bonus: number;
  bc: { samples: number; epochs: number; accuracy: number; dataset: string; dagger_iterations: number; dagger_rows: number } | null;
  checkpoints: { bc: string | null; final: string };
  policy_hash: string;
  log: string;
  chart: string | null;
  evaluation: EvalResult[];
}

interface Curves {
  x: number[];
  reward: number[];
  exits: number[];
  lossPolicy: number[];
  lossValue: number[];
  entropy: number[];
}

export async function train(s: TrainSettings): Promise<TrainSummary> {
  const t0 = performance.now();
  mkdirSync(s.out, { recursive: true });
  const tensorBackend = await initTensorBackend(s.backend);
  const { tf, name: backend } = tensorBackend;
  // Wall time and agent-steps (or samples) of each stage, for the summary.
  const stages: StageTiming[] = [];
  let open: { stage: StageTiming; t0: number; steps0: number } | undefined;
  const endStage = () => {
    if (!open) return;
    const st = open.stage;
    st.sec = (performance.now() - open.t0) / 1000;
    if (st.stage !== "bc" && st.stage !== "eval") st.agent_steps = steps - open.steps0;
    st.agent_steps_per_sec = st.sec > 0 ? st.agent_steps / st.sec : 0;
    st.samples_per_sec = st.sec > 0 ? st.samples / st.sec : 0;
    stages.push(st);
    open = undefined;
  };
  const beginStage = (stage: StageTiming["stage"]) => {
    endStage();
    open = { stage: { stage, sec: 0, agent_steps: 0, agent_steps_per_sec: 0, samples: 0, samples_per_sec: 0 }, t0: performance.now(), steps0: steps };
  };
  const plugins = s.plugins ?? corePlugins;

  // ---- the training world -----------------------------------------------------------------------
  let episodeSeed = s.seed;
  const { world, config } = buildWorld(s.config, plugins, { seed: episodeSeed, towns: s.towns, overrides: { ...s.overrides, ...s.trainOverrides } });
  const settings = world.settings;
  const names = actionNames(registryOf(world));
  let policy: NeuralPolicy;
  let startUpdate = 0;
  let steps = 0;
  let cycle = 0;
  let resumedTransitions = 0;
  let resumeOptimizer: Awaited<ReturnType<typeof loadCheckpoint>>["optimizerWeights"];
  if (s.resume) {
    const src = policyState(world).source;
    const ck = loadCheckpoint(tf, s.resume, { variant: src.variant(world), configId: settings.config_id, actionNames: names, inputSize: src.size(world) });
    policy = ck.policy;
    startUpdate = ck.state?.update ?? 0;
    steps = ck.state?.steps ?? 0;
    cycle = ck.state?.cycle ?? 0;
    resumedTransitions = ck.state?.transitions ?? 0;
    resumeOptimizer = ck.optimizerWeights;
  } else {
    policy = await createNeuralPolicy(world, { hidden: s.hidden, seed: s.seed, greedy: false });
  }
  const hp: PpoHyperparameters = hyperparametersFrom(settings.ppo, { totalUpdates: Math.max(1, s.updates), ...s.hp });
  const collector = new RolloutCollector(policy, hp.gamma);
  const aliveBonus = s.aliveBonus ?? 0;
  setPolicy(world, collector);
  const dayTicks = settings.observations_config.hybrid.time_ticks_per_day;

  const logPath = path.join(s.out, "ppo_log.jsonl");
  const log = new PpoLogWriter({ path: logPath, version: s.logVersion, maxEntries: s.maxLogEntries, resume: s.resume !== undefined });
  const curves: Curves = { x: [], reward: [], exits: [], lossPolicy: [], lossValue: [], entropy: [] };
  let decisions = resumedTransitions;
  let episodeTick = 0;

  /** Runs `ticks` ticks of the training world into the collector (starting new episodes as due). */
  const rollout = (ticks: number) => {
    collector.begin();
    const conflict = newConflictSampler();
    for (let t = 0; t < ticks; t++) {
      if (episodeTick >= s.episodeTicks) {
        collector.finish(world);
        episodeSeed++;
        world.reset(episodeSeed);
        episodeTick = 0;
      }
      world.step();
      collector.afterTick(world);
      episodeTick++;
      if (t % 10 === 0) conflict.sample(world);
    }
    collector.finish(world);
    steps += collector.stats.agentSteps;
    decisions += collector.buffer.count;
    return conflict.result();
  };

  const baseRecord = (stats: UpdateStats, extra: { dataMode: "replay" | "rollout" | "mixed"; rolloutTicks: number; duration: number; corr: number }): EpochRecord => ({
    epoch: cycle,
    updates: stats.updates,
    transitions: stats.transitions,
    steps: decisions,
    loss_policy: stats.lossPolicy,
    loss_value: stats.lossValue,
    loss_entropy: stats.lossEntropy,
    loss_total: stats.lossTotal,
    clip_fraction: stats.clipFraction,
    adv_mean: stats.advMean,
    adv_std: stats.advStd,
    grad_norm: stats.gradNorm,
    kl_divergence: stats.klDivergence,
    lr: stats.lr,
    epoch_duration_sec: extra.duration,
    data_mode: extra.dataMode,
    cycle_id: cycle,
    batch_entropy_mean: stats.batchEntropyMean,
    batch_entropy_std: stats.batchEntropyStd,
    grad_norm_max: stats.gradNormMax,
    kl_divergence_max: stats.klDivergenceMax,
    reward_advantage_corr: extra.corr,
    rollout_ticks: extra.rolloutTicks,
  });

  // ---- 1. behaviour cloning -----------------------------------------------------------------------
  let dataset: Dataset | undefined;
  let datasetDir: string | null = null;
  let bcSummary: TrainSummary["bc"] = null;
  let bcCheckpoint: string | null = null;
  const baseline = (d: Dataset | undefined): Partial<EpochRecord> =>
    d
      ? {
          baseline_sample_count: d.manifest.stats.sample_count,
          baseline_reward_mean: d.manifest.stats.reward_mean,
          baseline_reward_sum: d.manifest.stats.reward_sum,
          baseline_reward_sum_mean: d.manifest.stats.reward_sum_mean,
          baseline_log_prob_mean: d.manifest.stats.log_prob_mean,
        }
      : {};
  if (s.dataset) {
    const src = policyState(world).source;
    dataset = readDataset(s.dataset, { configId: settings.config_id, variant: src.variant(world), obsSize: src.size(world), actionNames: names });
    datasetDir = s.dataset;
  } else if (s.bc && !s.resume) {
    // Record the scripted controller: its choices are the labels, its returns the value targets.
    beginStage("record");
    s.onStage?.("record", s.bc.recordTicks);
    collector.use(world, "scripted");
    // The value targets of the recording are the world's rewards plus the same alive bonus PPO uses.
    collector.aliveBonus = aliveBonus;
    const parts: DatasetPart[] = [];
    const seen = new Set<number>();
    let rewardSum = 0;
    let agentSteps = 0;
    let logpSum = 0;
    let recorded = 0;
    for (let done = 0; done < s.bc.recordTicks; ) {
      const chunk = Math.min(s.rolloutTicks, s.bc.recordTicks - done);
      const c0 = performance.now();
      const U = world.columns(Agent).uid;
      for (const e of world.agents) seen.add(U[e]);
      rollout(chunk);
      for (const e of world.agents) seen.add(world.columns(Agent).uid[e]);
      const b = collector.buffer;
      // Monte Carlo value targets: λ = 1 over the recorded rewards.
      computeGae(b, 1, b.advantages, b.returns);
      for (let i = 0; i < b.count; i++) logpSum += b.logp[i];
      recorded += b.count;
      parts.push(partOf(b));
      rewardSum += collector.stats.rewardSum;
      agentSteps += collector.stats.agentSteps;
      done += chunk;
      s.onCycle?.({
        stage: "record",
        done,
        total: s.bc.recordTicks,
        sps: collector.stats.agentSteps / ((performance.now() - c0) / 1000),
        rewardPer1k: (1000 * collector.stats.rewardSum) / Math.max(1, collector.stats.agentSteps),
        exitsPerAgentDay: (collector.stats.exits * dayTicks) / Math.max(1, collector.stats.agentSteps),
      });
    }
    const stats: DatasetStats = {
      sample_count: seen.size,
      reward_mean: rewardSum / Math.max(1, agentSteps),
      reward_sum: rewardSum,
      reward_sum_mean: rewardSum / Math.max(1, seen.size),
      log_prob_mean: logpSum / Math.max(1, recorded),
      ticks: s.bc.recordTicks,
      agent_steps: agentSteps,
    };
    datasetDir = path.join(s.out, "dataset");
    const src = policyState(world).source;
    writeDataset(datasetDir, parts, {
      config_id: settings.config_id,
      observation_variant: src.variant(world),
      action_names: names,
      obs_size: src.size(world),
      action_count: names.length,
      gamma: hp.gamma,
      source: `scripted controller, ${s.towns} towns, seed ${s.seed}, ${s.bc.recordTicks} ticks`,
      stats,
    });
    dataset = readDataset(datasetDir);
    // A fresh episode for PPO.
    episodeSeed++;
    world.reset(episodeSeed);
    episodeTick = 0;
  }

  const bcSettings = settings.training.bc;
  const bcHp: PpoHyperparameters = {
    ...hp,
    learningRate: bcSettings.learning_rate,
    lrAnneal: false,
    bcWeight: 1,
    entropyCoef: 0,
    valueClip: 0,
    numEpochs: 1,
    numMiniBatches: dataset ? Math.max(1, Math.ceil(dataset.count / bcSettings.batch_size)) : 1,
    weightDecay: bcSettings.weight_decay,
  };
  const bcOpt = dataset ? new PpoOptimizer(tf, policy, bcHp, s.seed + 1) : undefined;
  // With DAgger the replay epochs read the pool (recording + labelled visited states).
  let pool: LabelPool | undefined;
  if (dataset && s.dagger) {
    pool = new LabelPool(dataset.obsSize, dataset.actionCount, Math.max(dataset.count, s.dagger.poolRows));
    pool.addRecording(dataset);
  }
  const replayBatch: UpdateBatch | undefined = pool ?? (dataset ? datasetBatch(dataset) : undefined);
  /** One supervised epoch over the dataset (a `replay` cycle). */
  const replayEpoch = async (dataMode: "replay" | "mixed", sampled: boolean) => {
    const c0 = performance.now();
    cycle++;
    // A replay epoch's policy loss is the behaviour-cloning cross-entropy (it has no PPO rows).
    // BC epochs read every row; DAgger and mixed-mode replays a random subset of the pool.
    const rows = sampled && s.replayRows ? Math.min(replayBatch!.count, s.replayRows) : replayBatch!.count;
    bcOpt!.hp.rowsPerEpoch = rows;
    bcOpt!.hp.numMiniBatches = Math.max(1, Math.ceil(rows / bcSettings.batch_size));
    const raw = await bcOpt!.update(replayBatch!, bcHp.learningRate);
    if (open) open.stage.samples += rows;
    const st = { ...raw, lossPolicy: raw.lossBc };
    const accuracy = bcAccuracy(policy, replayBatch!, 4096);
    log.write({
      ...baseRecord(st, { dataMode, rolloutTicks: 0, duration: (performance.now() - c0) / 1000, corr: 0 }),
      ...baseline(dataset),
    });
    return { st, accuracy, sec: (performance.now() - c0) / 1000 };
  };
  if (dataset && s.bc && !s.resume) {
    const epochs = s.bc.epochs ?? bcSettings.epochs;
    beginStage("bc");
    s.onStage?.("bc", epochs);
    let accuracy = 0;
    for (let e = 0; e < epochs; e++) {
      const r = await replayEpoch("replay", false);
      accuracy = r.accuracy;
      s.onCycle?.({ stage: "bc", done: e + 1, total: epochs, sps: dataset.count / r.sec, rewardPer1k: 0, exitsPerAgentDay: 0, accuracy });
    }
    let daggerIterations = 0;
    if (pool && s.dagger && s.dagger.iterations > 0) {
      // DAgger: the clone acts, the scripted controller labels what it would have done there.
      beginStage("dagger");
      s.onStage?.("dagger", s.dagger.iterations);
      for (let it = 0; it < s.dagger.iterations; it++) {
        const c0 = performance.now();
        collector.use(world, "dagger");
        collector.aliveBonus = aliveBonus;
        rollout(s.rolloutTicks);
        const b = collector.buffer;
        computeGae(b, hp.gaeLambda, b.advantages, b.returns);
        pool.addVisited(b);
        for (let e = 0; e < s.dagger.epochs; e++) accuracy = (await replayEpoch("replay", true)).accuracy;
        daggerIterations++;
        const rs = collector.stats;
        s.onCycle?.({
          stage: "dagger",
          done: it + 1,
          total: s.dagger.iterations,
          sps: rs.agentSteps / ((performance.now() - c0) / 1000),
          rewardPer1k: (1000 * rs.rewardSum) / Math.max(1, rs.agentSteps),
          exitsPerAgentDay: (rs.exits * dayTicks) / Math.max(1, rs.agentSteps),
          accuracy,
        });
      }
    }
    bcCheckpoint = path.join(s.out, "checkpoints", "bc");
    await saveCheckpoint(bcCheckpoint, policy, undefined, { update: 0, steps, cycle, stage: "bc", transitions: decisions, hyperparameters: bcHp, extra: { accuracy, dagger_iterations: daggerIterations, pool_rows: pool?.count ?? dataset.count } });
    bcSummary = { samples: dataset.count, epochs, accuracy, dataset: datasetDir!, dagger_iterations: daggerIterations, dagger_rows: pool?.added ?? 0 };
  }

  // ---- 2. PPO -------------------------------------------------------------------------------------
  const baseBcWeight = hp.bcWeight;
  const opt = new PpoOptimizer(tf, policy, hp, s.seed);
  if (resumeOptimizer) await opt.restore(resumeOptimizer);
  const ckDir = path.join(s.out, "checkpoints");
  beginStage("ppo");
  s.onStage?.("ppo", s.updates);
  let lastCk = "";
  for (let u = startUpdate; u < s.updates; u++) {
    const c0 = performance.now();
    const ratio = s.anneal.updates > 0 ? s.anneal.startRatio * Math.max(0, 1 - u / s.anneal.updates) : 0;
    // Mixed mode with a pool: the scripted controller labels PPO's states too (DAgger continues).
    collector.use(world, ratio > 0 ? "blend" : s.mode === "mixed" && pool ? "dagger" : "policy", ratio);
    collector.aliveBonus = aliveBonus;
    const conflict = rollout(s.rolloutTicks);
    const b = collector.buffer;
    computeGae(b, hp.gaeLambda, b.advantages, b.returns);
    // Rows the scripted controller chose are cloned (weight 1 while the blend lasts).
    opt.hp.bcWeight = ratio > 0 ? Math.max(baseBcWeight, 1) : baseBcWeight;
    cycle++;
    const st = await opt.update(b, opt.learningRateAt(u));
    if (open) open.stage.samples += b.count * hp.numEpochs;
    const rs = collector.stats;
    const duration = (performance.now() - c0) / 1000;
    log.write({
      ...baseRecord(st, { dataMode: s.mode === "mixed" ? "mixed" : "rollout", rolloutTicks: s.rolloutTicks, duration, corr: pearson(b.rewards, b.advantages, b.count) }),
      ...baseline(dataset),
      ...conflict,
    });
    if (s.mode === "mixed" && dataset) {
      pool?.addVisited(b);
      await replayEpoch("mixed", true);
    }
    const reward = (1000 * rs.rewardSum) / Math.max(1, rs.agentSteps);
    const exits = (rs.exits * dayTicks) / Math.max(1, rs.agentSteps);
    curves.x.push(u + 1);
    curves.reward.push(reward);
    curves.exits.push(exits);
    curves.lossPolicy.push(st.lossPolicy);
    curves.lossValue.push(st.lossValue);
    curves.entropy.push(st.lossEntropy);
    s.onCycle?.({ stage: "ppo", done: u + 1, total: s.updates, sps: rs.agentSteps / duration, rewardPer1k: reward, exitsPerAgentDay: exits });
    if (s.checkpointEvery > 0 && (u + 1) % s.checkpointEvery === 0 && u + 1 < s.updates) {
      lastCk = path.join(ckDir, `update-${String(u + 1).padStart(5, "0")}`);
      await saveCheckpoint(lastCk, policy, opt, { update: u + 1, steps, cycle, stage: "ppo", transitions: decisions, hyperparameters: hp });
    }
  }
  log.close();
  const finalDir = path.join(ckDir, "final");
  const policyHash = await saveCheckpoint(finalDir, policy, opt, { update: s.updates, steps, cycle, stage: "final", transitions: decisions, hyperparameters: hp });
  endStage();
  const trainSec = (performance.now() - t0) / 1000;

  // ---- 3. evaluation ------------------------------------------------------------------------------
  const evaluation: EvalResult[] = [];
  if (s.eval) {
    const e = s.eval;
    const opts = { config: s.config, overrides: s.overrides, plugins, seeds: e.seeds, ticks: e.ticks, towns: e.towns };
    const total = 2 + (bcCheckpoint ? 4 : 2);
    beginStage("eval");
    s.onStage?.("eval", total);
    const step = (r: EvalResult) => {
      evaluation.push(r);
      if (open) open.stage.agent_steps += r.agent_steps;
      s.onCycle?.({ stage: "eval", done: evaluation.length, total, sps: (r.agents * r.ticks) / r.wall_sec, rewardPer1k: 1000 * r.reward_per_step, exitsPerAgentDay: r.exits_per_agent_day });
    };
    // Sampled (as trained) and greedy (the most likely allowed action) for each learned policy.
    step(await evaluatePolicy("ppo", (w) => loadNeuralPolicy(w, finalDir, { greedy: false }), opts));
    step(await evaluatePolicy("ppo greedy", (w) => loadNeuralPolicy(w, finalDir, { greedy: true }), opts));
    if (bcCheckpoint) {
      step(await evaluatePolicy("bc", (w) => loadNeuralPolicy(w, bcCheckpoint!, { greedy: false }), opts));
      step(await evaluatePolicy("bc greedy", (w) => loadNeuralPolicy(w, bcCheckpoint!, { greedy: true }), opts));
    }
    step(await evaluatePolicy("scripted", () => scriptedPolicy, opts));
    step(await evaluatePolicy("random", () => new RandomPolicy(), opts));
    endStage();
  }

  // ---- 4. the learning curve ----------------------------------------------------------------------
  let chart: string | null = null;
  if (curves.x.length > 0) {
    const ref = (name: string, pick: (r: EvalResult) => number) => {
      const r = evaluation.find((x) => x.policy === name);
      return r ? [{ name, dashed: true, points: [[curves.x[0], pick(r)], [curves.x[curves.x.length - 1], pick(r)]] as [number, number][] }] : [];
    };
    const scriptedRecording = dataset
      ? [{ name: "scripted", dashed: true, points: [[curves.x[0], 1000 * dataset.manifest.stats.reward_mean], [curves.x[curves.x.length - 1], 1000 * dataset.manifest.stats.reward_mean]] as [number, number][] }]
      : [];
    const pts = (ys: number[]) => curves.x.map((x, i) => [x, ys[i]] as [number, number]);
    // Rollouts sample different phases of an episode (needs start low; the per-episode clip
    // flattens the reward later): average over the updates that make up one episode.
    const w = Math.max(1, Math.ceil(s.episodeTicks / s.rolloutTicks));
    const smooth = (ys: number[]) => ys.map((_, i) => {
      const lo = Math.max(0, i - w + 1);
      let sum = 0;
      for (let j = lo; j <= i; j++) sum += ys[j];
      return sum / (i - lo + 1);
    });
    const png = await renderCurves({
      title: `townlet train: ${settings.config_id}, ${s.towns} towns, ${s.updates} PPO updates`,
      xLabel: "PPO update",
      panels: [
        // The training world's reward (its --train-set changes, no alive bonus): the scripted line is
        // the recording made in that same world; the evaluation's figures use the config as it is.
        { title: `reward per agent per 1,000 ticks (training world, mean of the last ${w}; scripted: its recording there)`, yLabel: "reward", series: [{ name: "ppo", points: pts(smooth(curves.reward)) }, ...scriptedRecording] },
        { title: `exits per agent-day (lower is better; mean of the last ${w})`, yLabel: "exits", series: [{ name: "ppo", points: pts(smooth(curves.exits)) }, ...ref("scripted", (r) => r.exits_per_agent_day), ...ref("random", (r) => r.exits_per_agent_day)] },
        { title: "losses", yLabel: "loss", series: [{ name: "policy", points: pts(curves.lossPolicy) }, { name: "value", points: pts(curves.lossValue) }, { name: "entropy", points: pts(curves.entropy) }] },
      ],
    });
    chart = path.join(s.out, "learning_curve.png");
    writeFileSync(chart, png);
  }

  const summary: TrainSummary = {
    out: s.out,
    backend: backend,
    tensor_device: tensorBackend.device,
    stages,
    config_id: settings.config_id,
    observation_variant: policy.variant,
    parameters: policy.parameterCount,
    updates: s.updates,
    agent_steps: steps,
    decisions,
    wall_sec: (performance.now() - t0) / 1000,
    train_sps: steps / trainSec,
    train_overrides: { ...s.trainOverrides },
    alive_bonus: aliveBonus,
    bc: bcSummary,
    checkpoints: { bc: bcCheckpoint, final: finalDir },
    policy_hash: policyHash,
    log: logPath,
    chart,
    evaluation,
  };
  writeFileSync(path.join(s.out, "summary.json"), JSON.stringify({ ...summary, config_hash: config.configHash }, null, 2) + "\n");
  opt.dispose();
  bcOpt?.dispose();
  return summary;
}

/** The dataset as an update batch of behaviour-cloning rows (values = returns: no value clip). */
function datasetBatch(d: Dataset): UpdateBatch {
  return {
    count: d.count,
    obsSize: d.obsSize,
    actionCount: d.actionCount,
    obs: d.obs,
    masks: d.masks,
    actions: d.actions,
    logp: new Float32Array(d.count),
    values: d.returns,
    advantages: new Float32Array(d.count),
    returns: d.returns,
    ppoRows: new Uint8Array(d.count),
    // Never changes: its device copy serves every epoch.
    version: 0,
  };
}

/** Share of (up to `max`, evenly spaced) dataset rows where the network's most likely allowed action is the label. */
export function bcAccuracy(policy: NeuralPolicy, d: Pick<Dataset, "count" | "obsSize" | "actionCount" | "obs" | "masks" | "actions">, max: number): number {
  const n = Math.min(max, d.count);
  if (n === 0) return 0;
  const stride = d.count / n;
  const D = d.obsSize;
  const A = d.actionCount;
  const rows = new Float32Array(n * D);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const j = Math.floor(i * stride);
    idx[i] = j;
    rows.set(d.obs.subarray(j * D, j * D + D), i * D);
  }
  const { logits } = policy.evaluate(rows, n);
  let hit = 0;
  for (let i = 0; i < n; i++) {
    const j = idx[i];
    let best = -1;
    let bestZ = -Infinity;
    for (let a = 0; a < A; a++) {
      if (d.masks[j * A + a] === 0) continue;
      const z = logits[i * A + a];
      if (z > bestZ) {
        bestZ = z;
        best = a;
      }
    }
    if (best === d.actions[j]) hit++;
  }
  return hit / n;
}

/** Rivalry aggregates of the training world, sampled during a rollout: the log's `conflict.*` fields. */
function newConflictSampler() {
  let n = 0;
  const acc = { maxMean: 0, maxMax: 0, avoidMean: 0, avoidMax: 0 };
  return {
    sample(world: World) {
      if (!world.hasPlugin("social")) return;
      const L = world.state<{ ledger: SocialLedger }>("social").ledger;
      const threshold = world.settings.conflict.rivalry.avoid_threshold;
      const agents = world.agents;
      if (agents.length === 0) return;
      let sumMax = 0;
      let maxMax = 0;
      let sumAvoid = 0;
      let maxAvoid = 0;
      for (let i = 0; i < agents.length; i++) {
        const e = agents[i];
        let m = 0;
        let avoid = 0;
        for (let k = 0; k < L.maxEdges; k++) {
          const slot = e * L.maxEdges + k;
          if (slot >= L.other.length || L.other[slot] === -1) continue;
          const r = L.rivalry[slot];
          if (r > m) m = r;
          if (r >= threshold) avoid++;
        }
        sumMax += m;
        if (m > maxMax) maxMax = m;
        sumAvoid += avoid;
        if (avoid > maxAvoid) maxAvoid = avoid;
      }
      acc.maxMean += sumMax / agents.length;
      acc.maxMax += maxMax;
      acc.avoidMean += sumAvoid / agents.length;
      acc.avoidMax += maxAvoid;
      n++;
    },
    result(): Partial<EpochRecord> {
      if (n === 0) return {};
      return {
        "conflict.rivalry_max_mean_avg": acc.maxMean / n,
        "conflict.rivalry_max_max_avg": acc.maxMax / n,
        "conflict.rivalry_avoid_count_mean_avg": acc.avoidMean / n,
        "conflict.rivalry_avoid_count_max_avg": acc.avoidMax / n,
      };
    },
  };
}

export { formatEvalTable };
