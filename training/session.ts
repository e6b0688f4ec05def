// One training run's shared state while it runs: the training world and its rollout collector,
// the counters every stage advances (agent-steps, decisions, cycles, episodes), the wall time of
// each stage, and the fields every epoch record of the log carries.
import type { World } from "../engine/world.ts";
import { ticksPerDay } from "../engine/clock.ts";
import { SocialKey } from "../components/social.ts";
import type { UpdateStats } from "./ppo.ts";
import type { CollectMode, RolloutCollector } from "./rollout.ts";
import type { ShardedRollout } from "./sharded-rollout.ts";
import { Agent } from "../engine/core-components.ts";
import type { EpochRecord, PpoLogWriter } from "./log.ts";
import type { StageTiming, TrainSettings } from "./trainer.ts";

export class TrainingSession {
  /** Each finished stage's wall time and throughput, in order. */
  readonly stages: StageTiming[] = [];
  private open: { stage: StageTiming; t0: number; steps0: number } | undefined;
  /** Agent-steps simulated in the training world (resumed runs start from the checkpoint's). */
  steps: number;
  /** Update cycles logged (replay epochs and PPO updates). */
  cycle: number;
  /** Transitions collected (the log's `steps`). */
  decisions: number;
  /** Seed of the training world's current episode. */
  episodeSeed: number;
  /** Ticks into the current episode. */
  episodeTick = 0;
  /** Ticks per simulated day (exits per agent-day). */
  readonly dayTicks: number;

  constructor(
    readonly s: TrainSettings,
    readonly world: World,
    readonly collector: RolloutCollector,
    readonly log: PpoLogWriter,
    start: { steps: number; cycle: number; decisions: number },
    /** The blocks of a sharded training world (world.shards > 1); `world` is then a one-town model of it (settings, spaces). */
    readonly shards?: ShardedRollout,
  ) {
    this.steps = start.steps;
    this.cycle = start.cycle;
    this.decisions = start.decisions;
    this.episodeSeed = s.seed;
    this.dayTicks = ticksPerDay(world.settings);
  }

  // ---- stage timing ---------------------------------------------------------------------------

  /** Ends the open stage (if any) and starts timing `stage`. */
  beginStage(stage: StageTiming["stage"]): void {
    this.endStage();
    this.open = { stage: { stage, sec: 0, agent_steps: 0, agent_steps_per_sec: 0, samples: 0, samples_per_sec: 0 }, t0: performance.now(), steps0: this.steps };
  }

  /** Records the open stage's wall time and throughput. */
  endStage(): void {
    if (!this.open) return;
    const st = this.open.stage;
    st.sec = (performance.now() - this.open.t0) / 1000;
    if (st.stage !== "bc" && st.stage !== "eval") st.agent_steps = this.steps - this.open.steps0;
    st.agent_steps_per_sec = st.sec > 0 ? st.agent_steps / st.sec : 0;
    st.samples_per_sec = st.sec > 0 ? st.samples / st.sec : 0;
    this.stages.push(st);
    this.open = undefined;
  }

  /** Counts rows trained on in the open stage. */
  addSamples(n: number): void {
    if (this.open) this.open.stage.samples += n;
  }

  /** Counts agent-steps simulated outside the training world (evaluation) in the open stage. */
  addAgentSteps(n: number): void {
    if (this.open) this.open.stage.agent_steps += n;
  }

  // ---- the training world ---------------------------------------------------------------------

  /** Switches who chooses in the training world (the collector's mode; see RolloutCollector.use). */
  use(mode: CollectMode, scriptedRatio = 0): void {
    if (this.shards) {
      // The blocks take the mode from the collector at the start of each rollout.
      this.collector.mode = mode;
      this.collector.scriptedRatio = scriptedRatio;
    } else this.collector.use(this.world, mode, scriptedRatio);
  }

  /** Starts a new episode: the training world reset with the next seed. */
  async newEpisode(): Promise<void> {
    this.episodeSeed++;
    if (this.shards) await this.shards.reset(this.episodeSeed);
    else this.world.reset(this.episodeSeed);
    this.episodeTick = 0;
  }

  /** Ids of the training world's live agents (uids in one world, keys of a sharded one). */
  liveIds(): Iterable<number> {
    if (this.shards) return this.shards.liveKeys();
    const U = this.world.columns(Agent).uid;
    return Array.from(this.world.agents, (e) => U[e]);
  }

  /** Runs `ticks` ticks of the training world into the collector (starting new episodes as due). */
  async rollout(ticks: number): Promise<Partial<EpochRecord>> {
    if (this.shards) return this.shards.rollout(this, ticks);
    const { world, collector } = this;
    collector.begin();
    const conflict = newConflictSampler();
    for (let t = 0; t < ticks; t++) {
      if (this.episodeTick >= this.s.episodeTicks) {
        collector.finish(world);
        await this.newEpisode();
      }
      world.step();
      collector.afterTick(world);
      this.episodeTick++;
      if (t % 10 === 0) conflict.sample(world);
    }
    collector.finish(world);
    this.steps += collector.stats.agentSteps;
    this.decisions += collector.buffer.count;
    return conflict.result();
  }

  /** The fields of an epoch record every cycle writes. */
  baseRecord(stats: UpdateStats, extra: { dataMode: "replay" | "rollout" | "mixed"; rolloutTicks: number; duration: number; corr: number }): EpochRecord {
    return {
      epoch: this.cycle,
      updates: stats.updates,
      transitions: stats.transitions,
      steps: this.decisions,
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
      cycle_id: this.cycle,
      batch_entropy_mean: stats.batchEntropyMean,
      batch_entropy_std: stats.batchEntropyStd,
      grad_norm_max: stats.gradNormMax,
      kl_divergence_max: stats.klDivergenceMax,
      reward_advantage_corr: extra.corr,
      rollout_ticks: extra.rolloutTicks,
    };
  }
}

/**
 * Rivalry sums of one world (or block) now: [sum over agents of the largest rivalry, the largest,
 * sum of rivals at or above the avoid threshold, the most such rivals of one agent, agents].
 */
export function conflictSums(world: World): number[] {
  const L = world.optionalResource(SocialKey)?.ledger;
  if (L === undefined) return [0, 0, 0, 0, 0];
  const threshold = world.settings.conflict.rivalry.avoid_threshold;
  const agents = world.agents;
  let sumMax = 0;
  let maxMax = 0;
  let sumAvoid = 0;
  let maxAvoid = 0;
  for (let i = 0; i < agents.length; i++) {
    const e = agents[i];
    let m = 0;
    let avoid = 0;
    const base = L.base(e);
    for (let k = 0; base >= 0 && k < L.maxEdges; k++) {
      const slot = base + k;
      if (L.other[slot] === -1) continue;
      const r = L.rivalry[slot];
      if (r > m) m = r;
      if (r >= threshold) avoid++;
    }
    sumMax += m;
    if (m > maxMax) maxMax = m;
    sumAvoid += avoid;
    if (avoid > maxAvoid) maxAvoid = avoid;
  }
  return [sumMax, maxMax, sumAvoid, maxAvoid, agents.length];
}

/**
 * Rivalry aggregates of the training world, sampled during a rollout: the log's `conflict.*`
 * fields. `add` takes the sums of each block of the world at one tick, in block order.
 */
export function newConflictSampler() {
  let n = 0;
  const acc = { maxMean: 0, maxMax: 0, avoidMean: 0, avoidMax: 0 };
  const add = (blocks: readonly number[][]) => {
    let sumMax = 0;
    let maxMax = 0;
    let sumAvoid = 0;
    let maxAvoid = 0;
    let agents = 0;
    for (const b of blocks) {
      sumMax += b[0];
      maxMax = Math.max(maxMax, b[1]);
      sumAvoid += b[2];
      maxAvoid = Math.max(maxAvoid, b[3]);
      agents += b[4];
    }
    if (agents === 0) return;
    acc.maxMean += sumMax / agents;
    acc.maxMax += maxMax;
    acc.avoidMean += sumAvoid / agents;
    acc.avoidMax += maxAvoid;
    n++;
  };
  return {
    add,
    sample(world: World) {
      if (world.optionalResource(SocialKey) !== undefined) add([conflictSums(world)]);
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
