// A sharded world (world.shards = K blocks) stepped tick by tick for ONE main-thread policy batch
// over every agent of every block: the blocks run on N threads (training/sharded-blocks.ts): the
// main thread runs the first run of blocks, N - 1 worker threads the others (training/sharded-worker.ts). Per tick:
//   1. every thread runs its blocks up to policy/act and writes the decision rows (observations,
//      masks, who chooses, draws) into the world's one shared batch, each block's rows at its place
//      in block order (training/sharded-batch.ts: packed, no gaps, offsets agreed between threads);
//   2. the main thread runs the network once over the batch where it lies, no gathering copy
//      (RolloutCollector.recordRows for training, NeuralPolicy.decide for `townlet run`), and the
//      actions land beside the rows;
//   3. every thread finishes its blocks' tick and writes the rewards and exits into the buffers.
// Per phase one small message to and from each worker (counts, a few numbers per block, a buffer
// only when one grew); nothing per agent. Rows are in block order and every random draw comes
// from a block's own stream, so the batch, and everything computed from it, is the same for any N.
// A block that throws, or a worker that dies, stops the world with a ShardError (block, towns,
// tick) or an error naming the worker; every later call fails with it, none hangs.
import { DEFAULT_WATCHDOG_SECONDS } from "../engine/watchdog.ts";
import type { BuildOverrides } from "../engine/build.ts";
import type { LoadedConfig } from "../engine/config/loader.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { ShardError, combineHashes, loadShardedConfig, mergeKpis, planBlocks, shardsOf, type BlockPlan, type BlockSet } from "../engine/shard-blocks.ts";
import type { ShardExtension } from "../engine/shards.ts";
import type { NeuralPolicy } from "../systems/policy/index.ts";
import { SnapshotError } from "../engine/snapshot.ts";
import type { ShardSnapshot } from "../engine/shard-snapshot.ts";
import { PolicyBlocks, type AdvanceReport, type BlockMode } from "./sharded-blocks.ts";
import { LocalGroup, WorkerGroup, type Group, type PolicyWorkerInit } from "./sharded-groups.ts";
import { RowChain, copyRows, newBatch, type BatchRows } from "./sharded-batch.ts";
import type { CollectMode, RolloutCollector } from "./rollout.ts";
import { newConflictSampler, type TrainingSession } from "./session.ts";
import type { EpochRecord } from "./log.ts";

export type { PolicyWorkerInit, PolicyWorkerRequest } from "./sharded-groups.ts";

export interface ShardedRolloutOptions {
  configFile: string;
  /** --seed, --towns, --shards and dotted overrides (the same in every thread). */
  build: BuildOverrides;
  /** Plug-ins of the main thread (the config's and `pluginSpecs`, resolved). */
  plugins: readonly AnyPlugin[];
  /** Plug-in specs as given (each worker resolves them, with the config's own, itself). */
  pluginSpecs?: readonly string[];
  /** Threads (1 = the main thread); capped by the blocks. */
  workers: number;
  /** Seconds a worker may go without finishing a block's half-tick before it is stopped (engine/watchdog.ts; default 60, 0: never). */
  watchdogSeconds?: number;
  /**
   * A tool's extension of every thread's blocks (townlet serve: their telemetry and console):
   * `extend` for this thread's, `module` (a ShardHost module's URL, tools/serve-shard-host.ts) for
   * the workers'. Reached with ext(); what it reports after a tick is in `extras`.
   */
  extension?: { module: string; extend(set: BlockSet): ShardExtension };
  /** Rows of the shared decision batch at first (default: the live agents); it grows when a tick needs more (training/sharded-batch.ts). */
  batchRows?: number;
}

/** A sharded world stepped for a main-thread policy; see the file comment. */
export class ShardedRollout {
  /** The block worlds' tick. */
  tick = 0;
  /** What the blocks' extension reported after the last tick, one entry per block in block order (empty without one). */
  extras: unknown[] = [];
  private failure: Error | undefined;
  /** The root seed of the blocks now: the config's, or the last reset's. */
  private root: number;
  /** The blocks ran on into the next tick's first half: its rows are in the buffers (counts in `counts`). */
  private ahead = false;
  private mode: BlockMode = "policy";
  private ratio = 0;
  /** Live agents per block after the last tick, reset or final. */
  private live: number[];
  /** The shared decision batch every block writes its rows into (training/sharded-batch.ts), and its buffer. */
  private batch: BatchRows;
  private batchSab: SharedArrayBuffer;
  /** Sequence number of the last decision (the chain of row offsets tells ticks apart by it). */
  private seq = 0;
  private counts: number[];
  /** Group and index in it of each block. */
  private readonly where: [Group, number][] = [];

  private constructor(
    readonly config: LoadedConfig,
    readonly plans: readonly BlockPlan[],
    private readonly groups: Group[],
    readonly D: number,
    readonly A: number,
    /** Workers asked for, before the cap by blocks. */
    readonly requestedWorkers: number,
    live: number[],
    /** The chain of row offsets, when threads share the batch (stopped when the world stops). */
    private readonly chain: RowChain | undefined,
    batchRows: number | undefined,
  ) {
    this.live = live;
    ({ sab: this.batchSab, rows: this.batch } = newBatch(batchRows ?? Math.max(64, this.agents), D, A));
    this.root = config.settings.seed;
    this.counts = plans.map(() => 0);
    for (const g of groups) g.blocks.forEach((_, i) => this.where.push([g, i]));
  }

  get blocks(): number {
    return this.plans.length;
  }
  get workers(): number {
    return this.groups.length;
  }
  get towns(): number {
    return this.config.settings.world.towns;
  }
  /** The root seed the blocks were built or last reset with (the config's `seed` until a reset). */
  get seed(): number {
    return this.root;
  }
  /** The error that stopped this world (a block failed, a worker died, or it was closed), if any. */
  get stoppedBy(): Error | undefined {
    return this.failure;
  }
  /** Live agents of every block now. */
  get agents(): number {
    return this.live.reduce((a, b) => a + b, 0);
  }

  /** Loads the config, plans the blocks and builds them (in this thread, or `workers` worker threads). */
  static async open(o: ShardedRolloutOptions): Promise<ShardedRollout> {
    const config = loadShardedConfig(o.configFile, o.plugins, o.build);
    const s = config.settings;
    const plans = planBlocks(s.world.towns, shardsOf(s), s.seed);
    if (!Number.isInteger(o.workers) || o.workers < 1) throw new RangeError(`workers must be an integer >= 1, got ${o.workers}`);
    const n = Math.min(o.workers, plans.length);
    if (n === 1) {
      const set = new PolicyBlocks(plans, s, o.plugins, plans.length);
      set.extendWith(o.extension?.extend);
      const sr = new ShardedRollout(config, plans, [new LocalGroup(set, plans.map((p) => p.index))], set.D, set.A, o.workers, set.worlds.map((w) => w.agents.length), undefined, o.batchRows);
      sr.tick = set.set.tick;
      return sr;
    }
    // The main thread runs the first run of blocks itself (it would wait idle while the workers
    // run theirs), workers 1 .. n-1 the others: n threads in all. Its blocks give the spaces
    // (D, A) the workers' buffer views need.
    const runs = Array.from({ length: n }, (_, k) => plans.slice(Math.floor((k * plans.length) / n), Math.floor(((k + 1) * plans.length) / n)));
    const starts: Promise<WorkerGroup>[] = [];
    let local: PolicyBlocks | undefined;
    let localError: unknown;
    const chain = RowChain.buffer(n);
    try {
      local = new PolicyBlocks(runs[0], s, o.plugins, plans.length);
      local.extendWith(o.extension?.extend);
      local.chain = new RowChain(chain, 0);
    } catch (e) {
      localError = e;
    }
    if (local) {
      for (let k = 1; k < n; k++) {
        const init: PolicyWorkerInit = { policyShardWorker: true, configFile: o.configFile, build: o.build, pluginSpecs: [...(o.pluginSpecs ?? [])], blocks: runs[k].map((p) => p.index), chain, thread: k, ...(o.extension ? { hostModule: o.extension.module } : {}) };
        starts.push(WorkerGroup.start(k, init, local.D, local.A, o.watchdogSeconds ?? DEFAULT_WATCHDOG_SECONDS));
      }
    }
    const started = await Promise.allSettled(starts);
    const ok = started.filter((r): r is PromiseFulfilledResult<WorkerGroup> => r.status === "fulfilled").map((r) => r.value);
    const failed = started.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
    if (!local || failed) {
      await Promise.all(ok.map((g) => g.close()));
      throw local ? failed!.reason : localError;
    }
    const groups: Group[] = [new LocalGroup(local, runs[0].map((p) => p.index)), ...ok];
    const live = [...local.worlds.map((w) => w.agents.length), ...ok.flatMap((g) => g.startLive)];
    const sr = new ShardedRollout(config, plans, groups, local.D, local.A, o.workers, live, local.chain, o.batchRows);
    sr.tick = local.set.tick;
    return sr;
  }

  /** Runs `f` on every thread at once; a failure stops the world (the earliest tick, then the lowest block, is thrown). */
  private async all<T>(f: (g: Group) => Promise<T>): Promise<T[]> {
    if (this.failure) throw this.failure;
    // Requests go to the workers first; then this thread runs its own blocks while they run theirs.
    const ps: Promise<T>[] = new Array<Promise<T>>(this.groups.length);
    this.groups.forEach((g, i) => {
      if (!(g instanceof LocalGroup)) ps[i] = f(g);
    });
    this.groups.forEach((g, i) => {
      if (g instanceof LocalGroup) ps[i] = f(g);
    });
    // A thread that fails or dies stops the chain of row offsets: none waits on it (training/sharded-batch.ts).
    if (this.chain) for (const p of ps) p.catch(() => this.chain!.stop());
    const rs = await Promise.allSettled(ps);
    const bad = (rs.filter((r) => r.status === "rejected") as PromiseRejectedResult[]).map((r) => r.reason as unknown);
    if (bad.length) {
      const key = (e: unknown) => (e instanceof ShardError ? [e.tick, e.block] : [Infinity, Infinity]);
      bad.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
      const e = bad[0];
      // A block's error names its tick; a worker that died is named with the tick it was running.
      if (e instanceof ShardError) this.failure = e;
      else {
        this.failure = new Error(`${e instanceof Error ? e.message : String(e)} (at tick ${this.tick + 1})`);
        if (e instanceof Error) this.failure.name = e.name;
      }
      await Promise.allSettled(this.groups.map((g) => g.close()));
      throw this.failure;
    }
    return rs.map((r) => (r as PromiseFulfilledResult<T>).value);
  }

  /** A new, empty shared batch of room for `n` rows, when the one there is smaller (every thread adopts it with its next request). */
  private room(n: number): void {
    if (n > this.batch.cap) ({ sab: this.batchSab, rows: this.batch } = newBatch(Math.max(n, 2 * this.batch.cap), this.D, this.A));
  }

  /**
   * A tick whose rows did not all fit the batch (a spill: training/sharded-batch.ts): a batch of
   * twice the rows, and this tick's rows copied into it from where each thread wrote them.
   */
  private regrow(n: number, spilled: boolean[]): void {
    const old = this.batch;
    ({ sab: this.batchSab, rows: this.batch } = newBatch(2 * Math.max(n, old.cap), this.D, this.A));
    let at = 0;
    for (let k = 0; k < this.plans.length; k++) {
      const m = this.counts[k];
      const [g, i] = this.where[k];
      if (spilled[this.groups.indexOf(g)]) copyRows(this.batch, at, g.rows(i), 0, m, this.D, this.A);
      else copyRows(this.batch, at, old, at, m, this.D, this.A);
      at += m;
    }
  }

  /** Who decides from the next tick on: a rollout's collect mode, or a learned policy's inference ("policy" samples, "greedy" does not). */
  use(mode: BlockMode, ratio = 0): void {
    if (this.ahead && (mode !== this.mode || ratio !== this.ratio)) this.settled("a change of mode");
    this.mode = mode;
    this.ratio = ratio;
  }

  /** Which threads' rows of the tick now being decided spilled out of the batch (see regrow). */
  private spills: boolean[] = [];

  /** First half of a tick: every block's decision rows in the shared batch, in block order; returns the rows. */
  private async gather(): Promise<number> {
    // The rows are written already when the last tick's second half ran on into this one (`ahead`).
    if (!this.ahead) {
      const seq = ++this.seq;
      const reps = await this.all((g) => g.decide(this.mode, this.ratio, seq, this.batchSab));
      let b = 0;
      for (const r of reps) for (const c of r.counts) this.counts[b++] = c;
      this.spills = reps.map((r) => r.spilled);
    }
    this.ahead = false;
    let n = 0;
    for (const c of this.counts) n += c;
    if (this.spills.some((x) => x)) this.regrow(n, this.spills);
    return n;
  }

  /**
   * Second half: the batch's actions (in place, beside the rows) read by the blocks, every block's
   * tick finished; with `next`, every block runs on into the next tick's first half in the same
   * request (one round trip per tick instead of two; nothing else may happen before that tick).
   */
  private async finishTick(conflict: boolean, hashes: boolean, next: boolean): Promise<AdvanceReport[]> {
    const ahead = next ? { mode: this.mode, ratio: this.ratio, seq: ++this.seq } : undefined;
    const reps = await this.all((g) => g.advance(conflict, hashes, ahead, this.batchSab));
    this.tick = reps[0].tick;
    this.extras = reps.flatMap((r) => r.extra ?? []);
    let b = 0;
    let k = 0;
    for (const r of reps) {
      for (const l of r.live) this.live[b++] = l;
      if (next) for (const c of r.next!) this.counts[k++] = c;
    }
    if (next) this.spills = reps.map((r) => r.nextSpilled === true);
    this.ahead = next;
    return reps;
  }

  /** One tick of every block with the collector's network deciding (one batch); rewards and exits credited in block order. */
  async collectTick(c: RolloutCollector, conflict: ReturnType<typeof newConflictSampler> | undefined, next = false): Promise<void> {
    this.fits(c.policy);
    const n = await this.gather();
    const b = this.batch;
    c.recordRows(n, this.tick + 1, b.obs.subarray(0, n * this.D), b.masks.subarray(0, n * this.A), b.keys, b.uids, b.flags, b.forced, b.draws, b.labels, b.actions);
    const reps = await this.finishTick(conflict !== undefined, false, next);
    let k = 0;
    const sums: number[][] = [];
    for (const r of reps) {
      for (let j = 0; j < r.live.length; j++, k++) {
        const [g, i] = this.where[k];
        const rows = g.rows(i);
        for (let e = 0; e < r.exits[j]; e++) c.creditExit(rows.exitKeys[e], rows.exitRewards[e], null);
        const why = r.reasons[j];
        if (why) for (const [reason, x] of Object.entries(why)) c.stats.exitReasons[reason] = (c.stats.exitReasons[reason] ?? 0) + x;
        c.creditLive(r.live[j], rows.liveKeys, rows.liveRewards);
      }
      if (r.conflict) sums.push(...r.conflict);
    }
    c.stats.ticks++;
    if (conflict) conflict.add(sums);
  }

  /**
   * One tick of every block with a learned policy deciding (one batch; sampled from each block's
   * `policy` stream, or greedy, as use() said); returns the state hash when `hash` (the same for any N).
   * `next`: the blocks run on into the next tick's first half (see finishTick).
   */
  async inferTick(policy: NeuralPolicy, hash: boolean, next = false): Promise<string | undefined> {
    this.fits(policy);
    const n = await this.gather();
    const b = this.batch;
    if (n > 0) b.actions.set(policy.decide(b.obs.subarray(0, n * this.D), b.masks.subarray(0, n * this.A), n, this.mode === "greedy" ? undefined : b.draws).actions.subarray(0, n));
    const reps = await this.finishTick(false, hash, next);
    return hash ? combineHashes(this.tick, reps.flatMap((r) => r.hashes ?? [])) : undefined;
  }

  /**
   * A request to the blocks' extension (ShardedRolloutOptions.extension) on the thread holding
   * `block`, or on every thread (one answer per thread, in thread order); between ticks. A failing
   * request rejects without stopping the world (a thread that died does: its next tick fails).
   */
  async ext(op: string, payload: unknown, block?: number): Promise<unknown[]> {
    if (this.failure) throw this.failure;
    this.settled(`the extension's "${op}"`);
    const groups = block === undefined ? this.groups : this.groups.filter((g) => g.blocks.includes(block));
    if (groups.length === 0) throw new RangeError(`no block ${block} (this world has ${this.blocks})`);
    return Promise.all(groups.map((g) => g.ext(op, payload)));
  }

  /** Between ticks only: not while the next tick's first half has run (collectTick/inferTick with `next`). */
  private settled(what: string): void {
    if (this.ahead) throw new Error(`internal error (please report a bug): ${what} while the next tick is half run (a tick was asked to run on)`);
  }

  /** The network must read the blocks' observation rows and choose among their actions. */
  private fits(p: NeuralPolicy): void {
    if (p.inputSize !== this.D || p.actionCount !== this.A) {
      throw new Error(`the network reads ${p.inputSize} floats and chooses among ${p.actionCount} actions; the blocks' rows hold ${this.D} floats and ${this.A} actions`);
    }
  }

  /**
   * Every block starts a new episode (block b's seed derived from `seed` and b) on its own thread,
   * its extension made anew: as engine/shards.ts ShardedSim.reset, the same as a fresh world of that
   * seed. `config` stays the one opened; `seed` reports the new one.
   */
  async reset(seed: number): Promise<void> {
    this.settled("reset");
    const reps = await this.all((g) => g.reset(seed));
    let b = 0;
    for (const r of reps) for (const l of r.live) this.live[b++] = l;
    this.tick = 0;
    this.root = seed;
    this.extras = [];
  }

  /** The keys of every live agent (after the last tick, reset or final). */
  liveKeys(): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.plans.length; k++) {
      const [g, i] = this.where[k];
      const r = g.rows(i);
      for (let j = 0; j < this.live[k]; j++) out.push(r.liveKeys[j]);
    }
    return out;
  }

  /** Ends the collector's rollout: every live agent's observation, the open decisions bootstrapped in one batch. */
  async finishRollout(c: RolloutCollector): Promise<void> {
    this.settled("finishRollout");
    // Each thread writes its blocks' live agents into the batch from the live agents of the threads before it.
    this.room(this.agents);
    const from = new Map<Group, number>();
    let at = 0;
    for (let k = 0; k < this.plans.length; k++) {
      const g = this.where[k][0];
      if (!from.has(g)) from.set(g, at);
      at += this.live[k];
    }
    const reps = await this.all((g) => g.final(from.get(g)!, this.batchSab));
    let k = 0;
    for (const r of reps) for (const l of r.live) this.live[k++] = l;
    c.finishRows(this.agents, this.batch.keys, this.batch.obs);
  }

  /** A training session's rollout of `ticks` ticks (TrainingSession.rollout on a sharded world). */
  async rollout(run: TrainingSession, ticks: number): Promise<Partial<EpochRecord>> {
    const c = run.collector;
    this.use(c.mode as CollectMode, c.scriptedRatio);
    c.begin();
    const conflict = newConflictSampler();
    for (let t = 0; t < ticks; t++) {
      if (run.episodeTick >= run.s.episodeTicks) {
        await this.finishRollout(c);
        await run.newEpisode();
      }
      // Run on into the next tick unless the rollout or the episode ends here.
      const next = t + 1 < ticks && run.episodeTick + 1 < run.s.episodeTicks;
      await this.collectTick(c, t % 10 === 0 ? conflict : undefined, next);
      run.episodeTick++;
    }
    await this.finishRollout(c);
    run.steps += c.stats.agentSteps;
    run.decisions += c.buffer.count;
    return conflict.result();
  }

  /** Every block's KPIs merged (engine/shard-blocks.ts mergeKpis). */
  async kpis(): Promise<Record<string, unknown>> {
    this.settled("kpis");
    return mergeKpis((await this.all((g) => g.kpis())).flat());
  }

  /** The state hash now (engine/shard-blocks.ts combineHashes: the same for any N). */
  async stateHash(): Promise<string> {
    this.settled("stateHash");
    return combineHashes(this.tick, (await this.all((g) => g.hashes())).flat());
  }

  /** A snapshot of every block (between ticks) with the world's identity and state hash: the format of engine/shard-snapshot.ts. */
  async snapshot(): Promise<ShardSnapshot> {
    this.settled("snapshot");
    const c = this.config;
    const s = c.settings;
    const parts = await this.all((g) => g.save(c.configHash));
    return {
      header: { config_id: c.configId, config_hash: c.configHash, tick: this.tick, seed: this.seed, towns: s.world.towns, blocks: this.blocks, state_hash: await this.stateHash() },
      blocks: parts.flat(),
    };
  }

  /**
   * Restores every block from a snapshot of this config (any number of workers), then checks the
   * state hash against the saved one, unless a block was written by an earlier build and upgraded
   * (engine/snapshot/upgrade.ts: its saved hash covered columns this build drops).
   */
  async restore(snap: ShardSnapshot, path?: string): Promise<{ upgraded: boolean }> {
    this.settled("restore");
    const h = snap.header;
    const c = this.config;
    const mismatch = (what: string) => new SnapshotError("config_mismatch", what, path);
    if (h.config_id !== c.configId) throw mismatch(`snapshot of config "${h.config_id}", this world runs "${c.configId}"`);
    if (h.config_hash && h.config_hash !== c.configHash) throw mismatch(`config "${h.config_id}" has hash ${c.configHash} here, ${h.config_hash} in the snapshot (the config file or the run's --seed/--towns/--agents/--shards differ from the run that wrote it)`);
    if (h.blocks !== this.blocks || h.towns !== c.settings.world.towns) throw mismatch(`snapshot of ${h.towns} towns in ${h.blocks} blocks, this world has ${c.settings.world.towns} in ${this.blocks}`);
    let at = 0;
    const slices = new Map(this.groups.map((g) => [g, snap.blocks.slice(at, (at += g.blocks.length))]));
    const reps = await this.all((g) => g.load(slices.get(g)!, c.configHash));
    this.tick = reps[0].tick;
    let b = 0;
    for (const r of reps) for (const l of r.live) this.live[b++] = l;
    const now = await this.stateHash();
    const upgraded = reps.some((r) => r.upgraded);
    if (!upgraded && now !== h.state_hash) throw new SnapshotError("state_mismatch", `restored state hash ${now} differs from the saved ${h.state_hash}`, path);
    return { upgraded };
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    this.failure ??= new Error("the sharded world is closed");
    await Promise.allSettled(this.groups.map((g) => g.close()));
  }
}
