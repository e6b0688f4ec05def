// `townlet train`, the run itself, top to bottom: build the training world (many copies of the
// town, every agent a row of the batch), optionally record the scripted controller and clone it,
// then PPO updates from fresh rollouts (annealing from scripted to learned actions at first),
// an NDJSON epoch log, checkpoints, an evaluation of PPO, BC, scripted and random on the same
// seeds, and a PNG of the learning curves. Reads every system only through the world.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { initTensorBackend, type BackendName, type TF } from "../engine/tensor.ts";
import type { World } from "../engine/world.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { actionNames } from "../components/actions.ts";
import { corePlugins } from "../systems/index.ts";
import { NeuralPolicy, RandomPolicy, type Policy, createNeuralPolicy, loadNeuralPolicy, policyState, scriptedPolicy, setPolicy } from "../systems/policy/index.ts";
import { registryOf } from "../systems/policy/masks.ts";
import { buildWorld, loadBuildConfig } from "../engine/build.ts";
import { buildBlock, shardsOf } from "../engine/shard-blocks.ts";
import { defaultWorkers } from "../engine/shards.ts";
import { ShardedRollout } from "./sharded-rollout.ts";
import { computeGae, hyperparametersFrom, pearson, PpoOptimizer, type PpoHyperparameters } from "./ppo.ts";
import { RolloutCollector } from "./rollout.ts";
import { readDataset, type Dataset } from "./dataset.ts";
import { loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
import { evaluatePolicy, formatEvalTable, type EvalResult } from "./evaluate.ts";
import { evaluateOnBlocks, type BlockEvalPolicy, type EvalPlace } from "./evaluate-blocks.ts";
import { PpoLogWriter } from "./log.ts";
import { TrainingSession } from "./session.ts";
import { Replay, baselineFields, bcHyperparameters, cloneScripted, recordScripted } from "./cloning.ts";
import { emptyCurves, writeLearningCurve, type Curves } from "./curves.ts";

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
  /**
   * Blocks of towns of the training world (world.shards; default: the config's). With more than
   * one, the blocks run on `workers` threads and one policy batch covers every block's agents
   * (training/sharded-rollout.ts); the numbers depend on the blocks, never on the workers.
   */
  shards?: number;
  /** Threads running the blocks (default: the machine's cores, capped by the blocks). */
  workers?: number;
  /** --watchdog: seconds a worker may go without finishing a block's half-tick before it is stopped (engine/watchdog.ts; default 60, 0: never). */
  watchdogSeconds?: number;
  /** Plug-in specs as given on the command line (worker threads resolve them, with the config's own). */
  pluginSpecs?: readonly string[];
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
  /** Where the evaluation ran: towns per seed, blocks (the training world's world.shards, at most the towns) and threads; absent with --no-eval. */
  evaluation_world?: EvalPlace;
  /** A sharded training world (world.shards > 1): its blocks and the threads that ran them. */
  shards?: { blocks: number; workers: number };
}

export async function train(s: TrainSettings): Promise<TrainSummary> {
  const t0 = performance.now();
  mkdirSync(s.out, { recursive: true });
  const tensorBackend = await initTensorBackend(s.backend);
  const plugins = s.plugins ?? corePlugins;

  // ---- the training world -----------------------------------------------------------------------
  // One world, or (world.shards > 1) blocks on worker threads with a one-town model of block 0
  // on this thread for the settings and the spaces.
  const build = { seed: s.seed, towns: s.towns, shards: s.shards, overrides: { ...s.overrides, ...s.trainOverrides } };
  const loaded = loadBuildConfig(s.config, plugins, build);
  let shards: ShardedRollout | undefined;
  let world: World;
  const config = loaded;
  if (shardsOf(loaded.settings) > 1) {
    shards = await ShardedRollout.open({ configFile: s.config, build, plugins, pluginSpecs: s.pluginSpecs, workers: s.workers ?? defaultWorkers(shardsOf(loaded.settings)), watchdogSeconds: s.watchdogSeconds });
    world = buildBlock(loaded.settings, plugins, { ...shards.plans[0], towns: 1 });
  } else world = buildWorld(s.config, plugins, build, loaded).world;
  try {
    return await trainOn(s, t0, tensorBackend, plugins, world, config, shards);
  } finally {
    await shards?.close();
  }
}

async function trainOn(
  s: TrainSettings,
  t0: number,
  tensorBackend: Awaited<ReturnType<typeof initTensorBackend>>,
  plugins: readonly AnyPlugin[],
  world: World,
  config: ReturnType<typeof loadBuildConfig>,
  shards: ShardedRollout | undefined,
): Promise<TrainSummary> {
  const { tf, name: backend } = tensorBackend;
  const settings = world.settings;
  const names = actionNames(registryOf(world));
  const start = await startingPolicy(s, tf, world, names);
  const policy = start.policy;
  const hp: PpoHyperparameters = hyperparametersFrom(settings.ppo, { totalUpdates: Math.max(1, s.updates), ...s.hp });
  const collector = new RolloutCollector(policy, hp.gamma);
  const aliveBonus = s.aliveBonus ?? 0;
  setPolicy(world, collector);
  const logPath = path.join(s.out, "ppo_log.jsonl");
  const log = new PpoLogWriter({ path: logPath, version: s.logVersion, maxEntries: s.maxLogEntries, resume: s.resume !== undefined });
  const run = new TrainingSession(s, world, collector, log, { steps: start.steps, cycle: start.cycle, decisions: start.transitions }, shards);

  // ---- 1. behaviour cloning -----------------------------------------------------------------------
  let dataset: Dataset | undefined;
  let datasetDir: string | null = null;
  if (s.dataset) {
    const src = policyState(world).source;
    dataset = readDataset(s.dataset, { configId: settings.config_id, variant: src.variant(world), obsSize: src.size(world), actionNames: names });
    datasetDir = s.dataset;
  } else if (s.bc && !s.resume) {
    ({ dataset, dir: datasetDir } = await recordScripted(run, names, hp, aliveBonus));
  }
  const bcHp = bcHyperparameters(run, hp, dataset);
  const replay = dataset ? new Replay(run, tf, policy, bcHp, dataset) : undefined;
  const bc = replay && s.bc && !s.resume ? await cloneScripted(run, replay, hp, aliveBonus, datasetDir!) : undefined;

  // ---- 2. PPO -------------------------------------------------------------------------------------
  const ppo = await runPpo(run, tf, policy, hp, aliveBonus, replay, start);
  const trainSec = (performance.now() - t0) / 1000;

  // ---- 3. evaluation ------------------------------------------------------------------------------
  const evaluated = s.eval ? await evaluateAll(run, plugins, ppo.finalDir, bc?.checkpoint ?? null, shards?.blocks ?? 1) : undefined;
  const evaluation = evaluated?.results ?? [];

  // ---- 4. the learning curve ----------------------------------------------------------------------
  const chart = await writeLearningCurve(s, settings.config_id, ppo.curves, evaluation, dataset);

  const summary: TrainSummary = {
    out: s.out,
    backend: backend,
    tensor_device: tensorBackend.device,
    stages: run.stages,
    config_id: settings.config_id,
    observation_variant: policy.variant,
    parameters: policy.parameterCount,
    updates: s.updates,
    agent_steps: run.steps,
    decisions: run.decisions,
    wall_sec: (performance.now() - t0) / 1000,
    train_sps: run.steps / trainSec,
    train_overrides: { ...s.trainOverrides },
    alive_bonus: aliveBonus,
    bc: bc?.summary ?? null,
    checkpoints: { bc: bc?.checkpoint ?? null, final: ppo.finalDir },
    policy_hash: ppo.policyHash,
    log: logPath,
    chart,
    evaluation,
    ...(evaluated ? { evaluation_world: evaluated.place } : {}),
    ...(shards ? { shards: { blocks: shards.blocks, workers: shards.workers } } : {}),
  };
  writeFileSync(path.join(s.out, "summary.json"), JSON.stringify({ ...summary, config_hash: config.configHash }, null, 2) + "\n");
  ppo.opt.dispose();
  replay?.opt.dispose();
  return summary;
}

/** Where training starts: a checkpoint's policy, update, counters and Adam state (--resume), or a fresh network. */
async function startingPolicy(s: TrainSettings, tf: TF, world: World, names: string[]) {
  if (s.resume) {
    const src = policyState(world).source;
    const ck = loadCheckpoint(tf, s.resume, { variant: src.variant(world), configId: world.settings.config_id, actionNames: names, inputSize: src.size(world) });
    return {
      policy: ck.policy,
      update: ck.state?.update ?? 0,
      steps: ck.state?.steps ?? 0,
      cycle: ck.state?.cycle ?? 0,
      transitions: ck.state?.transitions ?? 0,
      optimizer: ck.optimizerWeights,
    };
  }
  const policy = await createNeuralPolicy(world, { hidden: s.hidden, seed: s.seed, greedy: false });
  return { policy, update: 0, steps: 0, cycle: 0, transitions: 0, optimizer: undefined };
}

/**
 * PPO from fresh rollouts, annealing from the scripted controller's choices to the network's over
 * the first s.anneal.updates updates; in mixed mode a replay epoch after each update. Checkpoints
 * every s.checkpointEvery updates and at the end (`<out>/checkpoints/final`).
 */
async function runPpo(
  run: TrainingSession,
  tf: TF,
  policy: NeuralPolicy,
  hp: PpoHyperparameters,
  aliveBonus: number,
  replay: Replay | undefined,
  start: Awaited<ReturnType<typeof startingPolicy>>,
): Promise<{ opt: PpoOptimizer; finalDir: string; policyHash: string; curves: Curves }> {
  const { s, collector, log } = run;
  const dataset = replay?.dataset;
  const pool = replay?.pool;
  const curves = emptyCurves();
  const baseBcWeight = hp.bcWeight;
  const opt = new PpoOptimizer(tf, policy, hp, s.seed);
  if (start.optimizer) await opt.restore(start.optimizer);
  const ckDir = path.join(s.out, "checkpoints");
  run.beginStage("ppo");
  s.onStage?.("ppo", s.updates);
  let lastCk = "";
  for (let u = start.update; u < s.updates; u++) {
    const c0 = performance.now();
    const ratio = s.anneal.updates > 0 ? s.anneal.startRatio * Math.max(0, 1 - u / s.anneal.updates) : 0;
    // Mixed mode with a pool: the scripted controller labels PPO's states too (DAgger continues).
    run.use(ratio > 0 ? "blend" : s.mode === "mixed" && pool ? "dagger" : "policy", ratio);
    collector.aliveBonus = aliveBonus;
    const conflict = await run.rollout(s.rolloutTicks);
    const b = collector.buffer;
    computeGae(b, hp.gaeLambda, b.advantages, b.returns);
    // Rows the scripted controller chose are cloned (weight 1 while the blend lasts).
    opt.hp.bcWeight = ratio > 0 ? Math.max(baseBcWeight, 1) : baseBcWeight;
    run.cycle++;
    const st = await opt.update(b, opt.learningRateAt(u));
    run.addSamples(b.count * hp.numEpochs);
    const rs = collector.stats;
    const duration = (performance.now() - c0) / 1000;
    log.write({
      ...run.baseRecord(st, { dataMode: s.mode === "mixed" ? "mixed" : "rollout", rolloutTicks: s.rolloutTicks, duration, corr: pearson(b.rewards, b.advantages, b.count) }),
      ...baselineFields(dataset),
      ...conflict,
    });
    if (s.mode === "mixed" && replay) {
      pool?.addVisited(b);
      await replay.epoch("mixed", true);
    }
    const reward = (1000 * rs.rewardSum) / Math.max(1, rs.agentSteps);
    const exits = (rs.exits * run.dayTicks) / Math.max(1, rs.agentSteps);
    curves.x.push(u + 1);
    curves.reward.push(reward);
    curves.exits.push(exits);
    curves.lossPolicy.push(st.lossPolicy);
    curves.lossValue.push(st.lossValue);
    curves.entropy.push(st.lossEntropy);
    s.onCycle?.({ stage: "ppo", done: u + 1, total: s.updates, sps: rs.agentSteps / duration, rewardPer1k: reward, exitsPerAgentDay: exits });
    if (s.checkpointEvery > 0 && (u + 1) % s.checkpointEvery === 0 && u + 1 < s.updates) {
      lastCk = path.join(ckDir, `update-${String(u + 1).padStart(5, "0")}`);
      await saveCheckpoint(lastCk, policy, opt, { update: u + 1, steps: run.steps, cycle: run.cycle, stage: "ppo", transitions: run.decisions, hyperparameters: hp });
    }
  }
  log.close();
  const finalDir = path.join(ckDir, "final");
  const policyHash = await saveCheckpoint(finalDir, policy, opt, { update: s.updates, steps: run.steps, cycle: run.cycle, stage: "final", transitions: run.decisions, hyperparameters: hp });
  run.endStage();
  return { opt, finalDir, policyHash, curves };
}

/**
 * PPO (sampled and greedy), BC (sampled and greedy, when cloned), scripted and random on the same
 * seeds: one in-process world per seed for a one-block training world; on a sharded one
 * (`blocks` > 1) the same blocks layout on the training's threads (training/evaluate-blocks.ts).
 */
async function evaluateAll(run: TrainingSession, plugins: readonly AnyPlugin[], finalDir: string, bcCheckpoint: string | null, blocks: number): Promise<{ results: EvalResult[]; place: EvalPlace }> {
  const s = run.s;
  const e = s.eval!;
  const evaluation: EvalResult[] = [];
  const opts = { config: s.config, overrides: s.overrides, plugins, seeds: e.seeds, ticks: e.ticks, towns: e.towns };
  // The training world's blocks, at most one per evaluation town.
  const shards = Math.min(blocks, e.towns);
  let place: EvalPlace = { towns: e.towns, blocks: 1, workers: 1 };
  const total = 2 + (bcCheckpoint ? 4 : 2);
  run.beginStage("eval");
  s.onStage?.("eval", total);
  const step = (r: EvalResult) => {
    evaluation.push(r);
    run.addAgentSteps(r.agent_steps);
    s.onCycle?.({ stage: "eval", done: evaluation.length, total, sps: (r.agents * r.ticks) / r.wall_sec, rewardPer1k: 1000 * r.reward_per_step, exitsPerAgentDay: r.exits_per_agent_day });
  };
  const one = async (name: string, inProcess: (w: World) => Policy | Promise<Policy>, onBlocks: BlockEvalPolicy): Promise<void> => {
    if (shards <= 1) return step(await evaluatePolicy(name, inProcess, opts));
    const workers = s.workers ?? defaultWorkers(shards);
    const r = await evaluateOnBlocks(name, onBlocks, { ...opts, shards, workers, pluginSpecs: s.pluginSpecs, watchdogSeconds: s.watchdogSeconds });
    place = r.place;
    step(r.result);
  };
  // Sampled (as trained) and greedy (the most likely allowed action) for each learned policy.
  await one("ppo", (w) => loadNeuralPolicy(w, finalDir, { greedy: false }), { checkpoint: finalDir, greedy: false });
  await one("ppo greedy", (w) => loadNeuralPolicy(w, finalDir, { greedy: true }), { checkpoint: finalDir, greedy: true });
  if (bcCheckpoint) {
    await one("bc", (w) => loadNeuralPolicy(w, bcCheckpoint, { greedy: false }), { checkpoint: bcCheckpoint, greedy: false });
    await one("bc greedy", (w) => loadNeuralPolicy(w, bcCheckpoint, { greedy: true }), { checkpoint: bcCheckpoint, greedy: true });
  }
  await one("scripted", () => scriptedPolicy, "scripted");
  await one("random", () => new RandomPolicy(), "random");
  run.endStage();
  return { results: evaluation, place };
}

export { bcAccuracy } from "./cloning.ts";
export { formatEvalTable };
