// The neural policy on a sharded world (world.shards > 1), one runner for `townlet run`,
// `townlet serve` and `townlet bench --workers`: the blocks run on --workers threads (training/sharded-rollout.ts), and every
// tick this thread runs the network once over every block's decision rows (one batch, sampled
// from each block's own `policy` stream, or greedy), then the blocks finish the tick. The state
// hash is the same for any number of workers, and the same whether the blocks run on into the
// next tick's first half (run) or stop between ticks (serve: the console reaches them there).
// Between ticks another network may take over (`use`: townlet serve's promote_policy and
// rollback_policy, tools/shard-release.ts); the one it opened stays as the baseline.
import { resolve } from "node:path";
import type { LoadedConfig } from "../engine/config/loader.ts";
import { buildBlock, type BlockPlan } from "../engine/shard-blocks.ts";
import type { ShardSnapshot } from "../engine/shard-snapshot.ts";
import type { World } from "../engine/world.ts";
import { NeuralPolicy, createPolicy } from "../systems/policy/index.ts";
import { ShardedRollout, type ShardedRolloutOptions } from "../training/sharded-rollout.ts";
import { ShardPolicyError } from "./shard-host.ts";

export interface ShardedInferenceOptions extends ShardedRolloutOptions {
  /** `neural`, `neural:fresh` or `neural:DIR` (a checkpoint; or the config's runtime.policy.options.checkpoint). */
  spec: string;
  /** Sampled (false) or greedy (true) whatever the config's runtime.policy.options say (train's evaluation on blocks). */
  greedy?: boolean;
}

/** The learned policy that decides in a sharded world, as telemetry and the console name it. */
export interface ShardedPolicyView {
  policy: "neural";
  spec: string;
  /** The checkpoint folder (absolute); null for a freshly initialised network. */
  checkpoint: string | null;
  policy_hash: string;
  greedy: boolean;
  /** Where the network runs: one batch over every block's agents per tick, on the main thread. */
  batch: "main thread";
}

/** Whether a policy spec names a learned policy (run and serve on blocks take it through ShardedInference). */
export function isNeuralSpec(spec: string): boolean {
  return spec === "neural" || spec.startsWith("neural:");
}

/** A sharded world stepped with one main-thread neural policy batch per tick; see the file comment. */
export class ShardedInference {
  /** Compute the state hash after every tick (lastHash; a run's --hash-log). */
  hashEveryTick = false;
  /** The state hash after the last tick, when hashEveryTick. */
  lastHash: string | undefined;
  /** The network that decides now, as telemetry names it. */
  view: ShardedPolicyView;
  /** The network that decides now: the baseline, or one `use` made live. */
  private live: NeuralPolicy;

  private constructor(
    readonly rollout: ShardedRollout,
    /** The network the runner opened with (a release's baseline); freed by close(). */
    readonly baseline: NeuralPolicy,
    readonly spec: string,
    /** The baseline's checkpoint folder (absolute); null for a fresh network. */
    readonly baselineCheckpoint: string | null,
    /** A one-town model of block 0: what a checkpoint is checked against (checkpointExpectations). */
    readonly model: World,
  ) {
    this.live = baseline;
    this.view = { policy: "neural", spec, checkpoint: baselineCheckpoint, policy_hash: baseline.hash(), greedy: baseline.greedy, batch: "main thread" };
  }

  get policy(): NeuralPolicy {
    return this.live;
  }

  /** Why `p` cannot decide here (its observation size or actions differ from the blocks' rows), or undefined. */
  misfit(p: NeuralPolicy): string | undefined {
    const { D, A } = this.rollout;
    return p.inputSize === D && p.actionCount === A ? undefined : `the network reads ${p.inputSize} floats and chooses among ${p.actionCount} actions; the blocks' rows hold ${D} floats and ${A} actions`;
  }

  /**
   * Makes `next` decide from the next tick on (between ticks only): it must read the blocks'
   * observation rows and choose among their actions, as at open (else a ShardPolicyError, and the
   * live network stays). The one replaced is not freed: its owner (the release) frees it.
   */
  use(next: NeuralPolicy, checkpoint: string | null, hash = next.hash()): void {
    const misfit = this.misfit(next);
    if (misfit !== undefined) throw new ShardPolicyError(misfit);
    this.live = next;
    this.rollout.use(next.greedy ? "greedy" : "policy");
    this.view = { ...this.view, checkpoint, policy_hash: hash, greedy: next.greedy };
  }

  /**
   * Builds the blocks on their threads, then the network, shaped (and a checkpoint checked) against
   * a one-town model of block 0: a missing checkpoint or one trained for other observations or
   * actions fails here (CheckpointError), with the threads stopped.
   */
  static async open(o: ShardedInferenceOptions): Promise<ShardedInference> {
    const sr = await ShardedRollout.open(o);
    try {
      const settings = sr.config.settings;
      const model = buildBlock(settings, o.plugins, { ...sr.plans[0], towns: 1 });
      const options = settings.runtime.policy.options;
      const policy = await createPolicy(model, o.spec, o.greedy === undefined ? options : { ...options, greedy: o.greedy });
      if (!(policy instanceof NeuralPolicy)) {
        throw new ShardPolicyError(`--policy ${o.spec}: a blend of the scripted controller and a neural policy (training.anneal_enable_policy_blend) does not run on world.shards > 1 yet`);
      }
      // Checked by the checkpoint's own expectations already; a fresh network is shaped from the model.
      if (policy.inputSize !== sr.D || policy.actionCount !== sr.A) {
        throw new ShardPolicyError(`--policy ${o.spec}: the network reads ${policy.inputSize} floats and chooses among ${policy.actionCount} actions; the blocks' rows hold ${sr.D} floats and ${sr.A} actions`);
      }
      sr.use(policy.greedy ? "greedy" : "policy");
      const arg = o.spec.split(":").slice(1).join(":") || (typeof options.checkpoint === "string" ? options.checkpoint : "");
      return new ShardedInference(sr, policy, o.spec, arg && arg !== "fresh" ? resolve(arg) : null, model);
    } catch (e) {
      await sr.close();
      throw e;
    }
  }

  get config(): LoadedConfig {
    return this.rollout.config;
  }
  get plans(): readonly BlockPlan[] {
    return this.rollout.plans;
  }
  get tick(): number {
    return this.rollout.tick;
  }
  /** Live agents of every block now. */
  get agents(): number {
    return this.rollout.agents;
  }
  get blocks(): number {
    return this.rollout.blocks;
  }
  get towns(): number {
    return this.rollout.towns;
  }
  get seed(): number {
    return this.rollout.seed;
  }
  get workers(): number {
    return this.rollout.workers;
  }
  get requestedWorkers(): number {
    return this.rollout.requestedWorkers;
  }
  /** What the blocks' extension reported after the last tick, one entry per block. */
  get extras(): unknown[] {
    return this.rollout.extras;
  }
  get stoppedBy(): Error | undefined {
    return this.rollout.stoppedBy;
  }

  /**
   * One tick of every block with the network deciding; `next`: the blocks run on into the next
   * tick's first half (nothing may reach them before that tick: no console, no snapshot).
   * Returns the state hash when hashEveryTick.
   */
  async step(next = false): Promise<string | undefined> {
    this.lastHash = await this.rollout.inferTick(this.live, this.hashEveryTick, next);
    return this.lastHash;
  }

  /** `n` ticks, the blocks running on into each next tick inside the run (townlet bench --workers); live agents after each. */
  async advance(n: number): Promise<{ agents: number[] }> {
    const agents: number[] = [];
    for (let i = 0; i < n; i++) {
      await this.step(i + 1 < n);
      agents.push(this.agents);
    }
    return { agents };
  }

  ext(op: string, payload: unknown, block?: number): Promise<unknown[]> {
    return this.rollout.ext(op, payload, block);
  }
  async stateHash(): Promise<string> {
    if (this.lastHash !== undefined && !this.stoppedBy) return this.lastHash;
    return this.rollout.stateHash();
  }
  kpis(): Promise<Record<string, unknown>> {
    return this.rollout.kpis();
  }
  /** Every block's snapshot, stamped with the hash of the network that decides (as a one-block snapshot's policy_hash). */
  async snapshot(): Promise<ShardSnapshot> {
    const s = await this.rollout.snapshot();
    return { ...s, header: { ...s.header, policy_hash: this.view.policy_hash } };
  }
  async restore(s: ShardSnapshot, path?: string): Promise<{ upgraded: boolean }> {
    this.lastHash = undefined;
    const r = await this.rollout.restore(s, path);
    if (this.hashEveryTick) this.lastHash = await this.rollout.stateHash();
    return r;
  }
  /** Stops the worker threads and frees the live network and the baseline. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.rollout.close();
    if (this.live !== this.baseline) this.live.dispose();
    this.baseline.dispose();
  }
  private closed = false;
}
