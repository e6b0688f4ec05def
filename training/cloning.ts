// Behaviour cloning in a training run: recording the scripted controller into a replay dataset,
// the supervised (replay) epochs over it or over the DAgger label pool, and DAgger itself (the
// clone acts, the scripted controller labels the states it visits).
import path from "node:path";
import type { TF } from "../engine/tensor.ts";
import type { NeuralPolicy } from "../systems/policy/index.ts";
import { policyState } from "../systems/policy/index.ts";
import { computeGae, PpoOptimizer, type PpoHyperparameters, type UpdateBatch, type UpdateStats } from "./ppo.ts";
import { partOf, readDataset, writeDataset, type Dataset, type DatasetPart, type DatasetStats } from "./dataset.ts";
import { saveCheckpoint } from "./checkpoint.ts";
import type { EpochRecord } from "./log.ts";
import { LabelPool } from "./dagger.ts";
import type { TrainingSession } from "./session.ts";
import type { TrainSummary } from "./trainer.ts";

/** The dataset's figures every replay and PPO record carries (none without a dataset). */
export function baselineFields(d: Dataset | undefined): Partial<EpochRecord> {
  return d
    ? {
        baseline_sample_count: d.manifest.stats.sample_count,
        baseline_reward_mean: d.manifest.stats.reward_mean,
        baseline_reward_sum: d.manifest.stats.reward_sum,
        baseline_reward_sum_mean: d.manifest.stats.reward_sum_mean,
        baseline_log_prob_mean: d.manifest.stats.log_prob_mean,
      }
    : {};
}

/**
 * Records the scripted controller for `s.bc.recordTicks` ticks: its choices are the labels, its
 * returns the value targets. Writes the dataset to `<out>/dataset`, reads it back, and starts a
 * fresh episode for PPO.
 */
export async function recordScripted(run: TrainingSession, names: string[], hp: PpoHyperparameters, aliveBonus: number): Promise<{ dataset: Dataset; dir: string }> {
  const { s, world, collector } = run;
  const recordTicks = s.bc!.recordTicks;
  const settings = world.settings;
  run.beginStage("record");
  s.onStage?.("record", recordTicks);
  run.use("scripted");
  // The value targets of the recording are the world's rewards plus the same alive bonus PPO uses.
  collector.aliveBonus = aliveBonus;
  const parts: DatasetPart[] = [];
  const seen = new Set<number>();
  let rewardSum = 0;
  let agentSteps = 0;
  let logpSum = 0;
  let recorded = 0;
  for (let done = 0; done < recordTicks; ) {
    const chunk = Math.min(s.rolloutTicks, recordTicks - done);
    const c0 = performance.now();
    for (const id of run.liveIds()) seen.add(id);
    await run.rollout(chunk);
    for (const id of run.liveIds()) seen.add(id);
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
      total: recordTicks,
      sps: collector.stats.agentSteps / ((performance.now() - c0) / 1000),
      rewardPer1k: (1000 * collector.stats.rewardSum) / Math.max(1, collector.stats.agentSteps),
      exitsPerAgentDay: (collector.stats.exits * run.dayTicks) / Math.max(1, collector.stats.agentSteps),
    });
  }
  const stats: DatasetStats = {
    sample_count: seen.size,
    reward_mean: rewardSum / Math.max(1, agentSteps),
    reward_sum: rewardSum,
    reward_sum_mean: rewardSum / Math.max(1, seen.size),
    log_prob_mean: logpSum / Math.max(1, recorded),
    ticks: recordTicks,
    agent_steps: agentSteps,
  };
  const dir = path.join(s.out, "dataset");
  const src = policyState(world).source;
  writeDataset(dir, parts, {
    config_id: settings.config_id,
    observation_variant: src.variant(world),
    action_names: names,
    obs_size: src.size(world),
    action_count: names.length,
    gamma: hp.gamma,
    source: `scripted controller, ${s.towns} towns, seed ${s.seed}, ${recordTicks} ticks`,
    stats,
  });
  const dataset = readDataset(dir);
  // A fresh episode for PPO.
  await run.newEpisode();
  return { dataset, dir };
}

/** The hyperparameters of behaviour cloning: PPO's, with the config's `training.bc` values. */
export function bcHyperparameters(run: TrainingSession, hp: PpoHyperparameters, dataset: Dataset | undefined): PpoHyperparameters {
  const bcSettings = run.world.settings.training.bc;
  return {
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
}

/** Supervised epochs over the dataset, or (with DAgger) over the label pool: `replay` cycles. */
export class Replay {
  readonly opt: PpoOptimizer;
  /** With DAgger the replay epochs read the pool (recording + labelled visited states). */
  readonly pool: LabelPool | undefined;
  private readonly batch: UpdateBatch;

  constructor(
    private readonly run: TrainingSession,
    tf: TF,
    readonly policy: NeuralPolicy,
    readonly hp: PpoHyperparameters,
    readonly dataset: Dataset,
  ) {
    const s = run.s;
    this.opt = new PpoOptimizer(tf, policy, hp, s.seed + 1);
    if (s.dagger) {
      this.pool = new LabelPool(dataset.obsSize, dataset.actionCount, Math.max(dataset.count, s.dagger.poolRows));
      this.pool.addRecording(dataset);
    }
    this.batch = this.pool ?? datasetBatch(dataset);
  }

  /** One supervised epoch (a `replay` cycle, logged): every row, or a random subset when `sampled`. */
  async epoch(dataMode: "replay" | "mixed", sampled: boolean): Promise<{ st: UpdateStats; accuracy: number; sec: number }> {
    const { run, batch } = this;
    const s = run.s;
    const batchSize = run.world.settings.training.bc.batch_size;
    const c0 = performance.now();
    run.cycle++;
    // A replay epoch's policy loss is the behaviour-cloning cross-entropy (it has no PPO rows).
    // BC epochs read every row; DAgger and mixed-mode replays a random subset of the pool.
    const rows = sampled && s.replayRows ? Math.min(batch.count, s.replayRows) : batch.count;
    this.opt.hp.rowsPerEpoch = rows;
    this.opt.hp.numMiniBatches = Math.max(1, Math.ceil(rows / batchSize));
    const raw = await this.opt.update(batch, this.hp.learningRate);
    run.addSamples(rows);
    const st = { ...raw, lossPolicy: raw.lossBc };
    const accuracy = bcAccuracy(this.policy, batch, 4096);
    run.log.write({
      ...run.baseRecord(st, { dataMode, rolloutTicks: 0, duration: (performance.now() - c0) / 1000, corr: 0 }),
      ...baselineFields(this.dataset),
    });
    return { st, accuracy, sec: (performance.now() - c0) / 1000 };
  }
}

/**
 * Behaviour cloning of the dataset (s.bc.epochs or training.bc.epochs replay epochs), then the
 * DAgger iterations; saves the clone as `<out>/checkpoints/bc`.
 */
export async function cloneScripted(run: TrainingSession, replay: Replay, hp: PpoHyperparameters, aliveBonus: number, datasetDir: string): Promise<{ summary: NonNullable<TrainSummary["bc"]>; checkpoint: string }> {
  const { s, world, collector } = run;
  const { dataset, pool } = replay;
  const epochs = s.bc!.epochs ?? world.settings.training.bc.epochs;
  run.beginStage("bc");
  s.onStage?.("bc", epochs);
  let accuracy = 0;
  for (let e = 0; e < epochs; e++) {
    const r = await replay.epoch("replay", false);
    accuracy = r.accuracy;
    s.onCycle?.({ stage: "bc", done: e + 1, total: epochs, sps: dataset.count / r.sec, rewardPer1k: 0, exitsPerAgentDay: 0, accuracy });
  }
  let daggerIterations = 0;
  if (pool && s.dagger && s.dagger.iterations > 0) {
    // DAgger: the clone acts, the scripted controller labels what it would have done there.
    run.beginStage("dagger");
    s.onStage?.("dagger", s.dagger.iterations);
    for (let it = 0; it < s.dagger.iterations; it++) {
      const c0 = performance.now();
      run.use("dagger");
      collector.aliveBonus = aliveBonus;
      await run.rollout(s.rolloutTicks);
      const b = collector.buffer;
      computeGae(b, hp.gaeLambda, b.advantages, b.returns);
      pool.addVisited(b);
      for (let e = 0; e < s.dagger.epochs; e++) accuracy = (await replay.epoch("replay", true)).accuracy;
      daggerIterations++;
      const rs = collector.stats;
      s.onCycle?.({
        stage: "dagger",
        done: it + 1,
        total: s.dagger.iterations,
        sps: rs.agentSteps / ((performance.now() - c0) / 1000),
        rewardPer1k: (1000 * rs.rewardSum) / Math.max(1, rs.agentSteps),
        exitsPerAgentDay: (rs.exits * run.dayTicks) / Math.max(1, rs.agentSteps),
        accuracy,
      });
    }
  }
  const checkpoint = path.join(s.out, "checkpoints", "bc");
  await saveCheckpoint(checkpoint, replay.policy, undefined, { update: 0, steps: run.steps, cycle: run.cycle, stage: "bc", transitions: run.decisions, hyperparameters: replay.hp, extra: { accuracy, dagger_iterations: daggerIterations, pool_rows: pool?.count ?? dataset.count } });
  return { summary: { samples: dataset.count, epochs, accuracy, dataset: datasetDir, dagger_iterations: daggerIterations, dagger_rows: pool?.added ?? 0 }, checkpoint };
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

