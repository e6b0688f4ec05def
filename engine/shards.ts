// A sharded world: the towns split into blocks (world.shards, engine/shard-blocks.ts), each block
// its own World, stepped tick by tick in the main thread (--workers 1) or on N worker threads
// (blocks dealt to workers in contiguous runs). Every thread finishes tick t before any starts
// t + 1. The state hash is defined over the blocks in block order, so it is the same for every N.
// Per tick only a few numbers cross between threads (tick, live agents, and block hashes when
// asked for); a failing block stops the run with its error, block, towns and tick, never a hang.
// reset(seed) starts every block over on its own thread (no new threads): the same world, and the
// same per-tick hashes, as a fresh open of the config with that seed.
// The threads themselves (in this one, or worker threads) are engine/shard-groups.ts.
import { availableParallelism } from "node:os";
import type { BuildOverrides } from "./build.ts";
import type { LoadedConfig } from "./config/loader.ts";
import { resolvePlugins } from "./plugin-loader.ts";
import type { AnyPlugin } from "./plugin.ts";
import type { World } from "./world.ts";
import { SnapshotError } from "./snapshot.ts";
import type { ShardSnapshot } from "./shard-snapshot.ts";
import { BlockSet, ShardError, combineHashes, loadShardedConfig, mergeKpis, planBlocks, readyBlocks, shardsOf, type BlockPlan } from "./shard-blocks.ts";
import { LocalGroup, WorkerGroup, type Group } from "./shard-groups.ts";
import { DEFAULT_WATCHDOG_SECONDS } from "./watchdog.ts";

export { ShardError, ShardPlanError, planBlocks, blockSeed, combineHashes, mergeKpis, MAX_SHARDS, type BlockPlan } from "./shard-blocks.ts";

export interface ShardedOptions {
  configFile: string;
  /** --seed, --towns, --agents, dotted overrides, and --shards (world.shards). */
  build?: BuildOverrides;
  /** --plugin specs (relative to the working folder); the config's own `plugins:` are read from it. */
  pluginSpecs?: readonly string[];
  /**
   * The host: the core plug-ins and how a block gets its policy (tools/shard-host.ts), passed in
   * so that the engine imports no system; `hostModule` is its URL, which worker threads import.
   */
  host: ShardHost;
  hostModule: string;
  /** Threads; default: the machine's cores, capped by the blocks. */
  workers?: number;
  /** Policy spec for every block (scripted or random; default: the config's). */
  policy?: string;
  /**
   * Seconds a worker thread may go without finishing a block's tick, while the main thread waits on
   * it, before it is stopped and the run fails naming it (engine/watchdog.ts; default 60, 0: never).
   */
  watchdogSeconds?: number;
}

/** What each thread needs to build its blocks (structured-cloned into worker threads). */
export interface WorkerInit {
  configFile: string;
  build: BuildOverrides;
  pluginSpecs: string[];
  hostModule: string;
  /** Marks the worker as a shard worker (engine/shard-worker.ts starts itself on import). */
  shardWorker: true;
  blocks: number[];
  policy?: string;
  cwd: string;
  /** The worker's heartbeat word (engine/watchdog.ts). */
  beat?: SharedArrayBuffer;
}

/** Default number of workers: the machine's cores, at most the blocks. */
export function defaultWorkers(blocks: number): number {
  return Math.max(1, Math.min(availableParallelism(), blocks));
}


/** A sharded world and the threads that simulate it. */
export class ShardedSim {
  /** Ticks completed. */
  tick = 0;
  /** Live agents after the last tick. */
  agents = 0;
  /** The state hash after the last tick, when `hashEveryTick` (else computed by stateHash()). */
  lastHash: string | undefined;
  /** Ask every thread for its blocks' hashes after each tick (for --hash-log). */
  hashEveryTick = false;
  /** What the host's extension reported after the last step(), one entry per block in block order (empty without one). */
  extras: unknown[] = [];
  /** The error that stopped this world (a block failed); every later call rejects with it. */
  private failure: Error | undefined;
  /** The root seed of the blocks now: the config's, or the last reset's. */
  private root: number;

  private constructor(
    readonly config: LoadedConfig,
    readonly plans: readonly BlockPlan[],
    private readonly groups: Group[],
    /** Workers asked for, before the cap by blocks. */
    readonly requestedWorkers: number,
  ) {
    this.root = config.settings.seed;
  }

  get blocks(): number {
    return this.plans.length;
  }
  get towns(): number {
    return this.config.settings.world.towns;
  }
  /** The root seed the blocks were built or last reset with (the config's `seed` until a reset). */
  get seed(): number {
    return this.root;
  }
  /** Threads simulating blocks (1: the main thread). */
  get workers(): number {
    return this.groups.length;
  }

  /**
   * Loads the config, plans the blocks and starts the threads: with one worker the blocks are
   * built in this thread, otherwise each worker builds a contiguous run of blocks itself.
   */
  static async open(o: ShardedOptions): Promise<ShardedSim> {
    const build = o.build ?? {};
    const pluginSpecs = [...(o.pluginSpecs ?? [])];
    const plugins = await resolvePlugins(o.host.corePlugins, o.configFile, pluginSpecs);
    const config = loadShardedConfig(o.configFile, plugins, build);
    const s = config.settings;
    const plans = planBlocks(s.world.towns, shardsOf(s), s.seed);
    const requested = o.workers ?? defaultWorkers(plans.length);
    if (!Number.isInteger(requested) || requested < 1) throw new RangeError(`workers must be an integer >= 1, got ${requested}`);
    const n = Math.min(requested, plans.length);
    if (n === 1) {
      const set = new BlockSet(plans, s, plugins);
      const ready = (b: BlockSet) => readyBlocks(b, o.host, o.policy);
      const sim = new ShardedSim(config, plans, [new LocalGroup(set, await ready(set), ready)], requested);
      sim.agents = set.agents();
      return sim;
    }
    const groups: Promise<WorkerGroup>[] = [];
    for (let k = 0; k < n; k++) {
      const from = Math.floor((k * plans.length) / n);
      const to = Math.floor(((k + 1) * plans.length) / n);
      const blocks = plans.slice(from, to).map((p) => p.index);
      const init: WorkerInit = { configFile: o.configFile, build, pluginSpecs, hostModule: o.hostModule, shardWorker: true, blocks, policy: o.policy, cwd: process.cwd() };
      groups.push(WorkerGroup.start(k, init, o.watchdogSeconds ?? DEFAULT_WATCHDOG_SECONDS));
    }
    const started = await Promise.allSettled(groups);
    const failed = started.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
    const ok = started.filter((r): r is PromiseFulfilledResult<WorkerGroup> => r.status === "fulfilled").map((r) => r.value);
    if (failed) {
      await Promise.all(ok.map((g) => g.close()));
      throw failed.reason;
    }
    const sim = new ShardedSim(config, plans, ok, requested);
    sim.agents = ok.reduce((n, g) => n + g.startAgents, 0);
    return sim;
  }

  /**
   * Every block starts over with root seed `seed` (block b's seed derived as planBlocks derives it),
   * in place on its thread: World.reset, then the host readies the blocks as open did (each
   * block's policy, a new extension). The result equals `ShardedSim.open` of this config with that
   * seed, per-tick hashes included; the threads stay up. `config` stays the one opened (its
   * `seed` and config hash); `seed` reports the new one. A block that fails stops the world.
   */
  async reset(seed: number): Promise<void> {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`reset: seed must be an integer, got ${seed}`);
    const agents = await this.all((g) => g.reset(seed));
    this.root = seed;
    this.tick = 0;
    this.agents = agents.reduce((a, b) => a + b, 0);
    this.lastHash = undefined;
    this.extras = [];
  }

  /** One tick of every block; resolves when every thread has finished it (a barrier per tick: see advance). */
  async step(): Promise<void> {
    const want = this.hashEveryTick;
    const reports = await this.all((g) => g.step(want));
    let agents = 0;
    for (const r of reports) agents += r.agents;
    this.tick = reports[0].tick;
    this.agents = agents;
    this.lastHash = want ? combineHashes(this.tick, reports.flatMap((r) => r.hashes ?? [])) : undefined;
    this.extras = reports.flatMap((r) => r.extra ?? []);
  }

  /**
   * A request to the host's extension (ShardHost.extend) on the thread holding `block`, or on
   * every thread (one answer per thread, in thread order). A failing request rejects without
   * stopping the world (a thread that died does stop it: its next step fails).
   */
  async ext(op: string, payload: unknown, block?: number): Promise<unknown[]> {
    if (this.failure) throw this.failure;
    const groups = block === undefined ? this.groups : this.groups.filter((g) => g.blocks.includes(block));
    if (groups.length === 0) throw new RangeError(`no block ${block} (this world has ${this.blocks})`);
    return Promise.all(groups.map((g) => g.ext(op, payload)));
  }

  /** The error that stopped this world, if one did. */
  get stoppedBy(): Error | undefined {
    return this.failure;
  }

  /**
   * `n` ticks of every block without a barrier between ticks: blocks do not interact, so each
   * thread runs its blocks on alone and reports per tick; the result is the same as `n` step()s
   * (`hashes`: the world's hash after each tick when hashEveryTick; `agents`: live agents).
   */
  async advance(n: number): Promise<{ agents: number[]; hashes?: string[] }> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`advance: ticks must be an integer >= 1, got ${n}`);
    const want = this.hashEveryTick;
    const start = this.tick;
    const reports = await this.all((g) => g.advance(n, want));
    const agents = new Array<number>(n).fill(0);
    for (const r of reports) for (let i = 0; i < n; i++) agents[i] += r.agents[i];
    this.tick = reports[0].tick;
    this.agents = agents[n - 1];
    let hashes: string[] | undefined;
    if (want) {
      hashes = [];
      for (let i = 0; i < n; i++) hashes.push(combineHashes(start + i + 1, reports.flatMap((r) => r.hashes![i])));
      this.lastHash = hashes[n - 1];
    } else this.lastHash = undefined;
    return { agents, ...(hashes ? { hashes } : {}) };
  }

  /** The state hash now: the same for any number of workers. */
  async stateHash(): Promise<string> {
    if (this.lastHash !== undefined && !this.failure) return this.lastHash;
    const hs = await this.all((g) => g.hashes());
    return combineHashes(this.tick, hs.flat());
  }

  /** Every block's KPIs merged (mergeKpis). */
  async kpis(): Promise<Record<string, unknown>> {
    const ks = await this.all((g) => g.kpis());
    return mergeKpis(ks.flat());
  }

  /** The resolved system order (the same in every block). */
  schedule(): Promise<string> {
    return this.groups[0].schedule();
  }

  /** Starts timing every system of every block. */
  async enableTiming(): Promise<void> {
    await this.all((g) => g.enableTiming());
  }

  /** Milliseconds per system since enableTiming, summed over every block of every thread (CPU time, not wall time). */
  async systemTimes(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const list of await this.all((g) => g.systemTimes())) for (const [name, ms] of list) out[name] = (out[name] ?? 0) + ms;
    return out;
  }

  /** A snapshot of every block (between ticks), with the world's identity and state hash. */
  async snapshot(): Promise<ShardSnapshot> {
    const parts = await this.all((g) => g.save(this.config.configHash));
    return {
      header: { config_id: this.config.configId, config_hash: this.config.configHash, tick: this.tick, seed: this.seed, towns: this.towns, blocks: this.blocks, state_hash: await this.stateHash() },
      blocks: parts.flat(),
    };
  }

  /**
   * Restores every block from a snapshot of this config (same towns and blocks; any number of
   * workers), then checks the state hash against the one saved.
   */
  async restore(s: ShardSnapshot, path?: string): Promise<{ upgraded: boolean }> {
    const h = s.header;
    const mismatch = (what: string) => new SnapshotError("config_mismatch", what, path);
    if (h.config_id !== this.config.configId) throw mismatch(`snapshot of config "${h.config_id}", this world runs "${this.config.configId}"`);
    if (h.config_hash && h.config_hash !== this.config.configHash) throw mismatch(`config "${h.config_id}" has hash ${this.config.configHash} here, ${h.config_hash} in the snapshot (the config file or the run's --seed/--towns/--agents/--shards differ from the run that wrote it)`);
    if (h.blocks !== this.blocks || h.towns !== this.towns) throw mismatch(`snapshot of ${h.towns} towns in ${h.blocks} blocks, this world has ${this.towns} in ${this.blocks}`);
    const groups = this.groups;
    let at = 0;
    const slices = groups.map((g) => {
      const part = s.blocks.slice(at, at + g.blocks.length);
      at += g.blocks.length;
      return part;
    });
    const loaded = await this.all((g) => g.load(slices[groups.indexOf(g)], this.config.configHash));
    this.tick = loaded[0][0];
    this.agents = loaded.reduce((n, r) => n + r[1], 0);
    this.lastHash = undefined;
    const now = await this.stateHash();
    // A block written by an earlier build was upgraded (engine/snapshot/upgrade.ts): its saved
    // hash covered columns this build drops, so the combined one cannot be compared.
    const upgraded = loaded.some((r) => r[2]);
    if (!upgraded && now !== h.state_hash) throw new SnapshotError("state_mismatch", `restored state hash ${now} differs from the saved ${h.state_hash}`, path);
    if (this.hashEveryTick) this.lastHash = now;
    return { upgraded };
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    await Promise.all(this.groups.map((g) => g.close()));
  }

  /**
   * Runs `f` on every thread at once and waits for all; on a failure the first error in block
   * order is thrown once every thread has answered or failed (none is left running a tick).
   */
  private async all<T>(f: (g: Group) => Promise<T>): Promise<T[]> {
    if (this.failure) throw this.failure;
    const rs = await Promise.allSettled(this.groups.map(f));
    const bad = (rs.filter((r) => r.status === "rejected") as PromiseRejectedResult[]).map((r) => r.reason as unknown);
    if (bad.length) {
      // Threads that ran on alone may fail at different ticks: the earliest tick, then the lowest
      // block, is the error a single thread would have met first.
      const key = (e: unknown) => (e instanceof ShardError ? [e.tick, e.block] : [Infinity, Infinity]);
      bad.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
      // The blocks are no longer at one tick: the world is stopped, every later call fails alike.
      this.failure = bad[0] instanceof Error ? bad[0] : new Error(String(bad[0]));
      this.lastHash = undefined;
      throw this.failure;
    }
    return rs.map((r) => (r as PromiseFulfilledResult<T>).value);
  }
}

/** What the engine needs from its host (tools/shard-host.ts) to build blocks in any thread. */
export interface ShardHost {
  corePlugins: readonly AnyPlugin[];
  /** Readies one block after it is built (its policy: `spec`, or the config's). */
  prepareBlock(world: World, policy: string | undefined): Promise<void>;
  /**
   * What a tool adds to each thread's blocks (townlet serve: their telemetry and console), built
   * once per thread after its blocks are ready; absent for run, bench and the env.
   */
  extend?(set: BlockSet): ShardExtension;
}

/** A host's per-thread extension: requests by name (ShardedSim.ext), and a report after each step. */
export interface ShardExtension {
  /** Answers a request (a value, or a promise of one: structured-cloneable either way). */
  call(op: string, payload: unknown): unknown;
  /** After each step(): one entry per block of the thread, in block order (sent with the step's reply). */
  afterStep?(): unknown[];
}
