// Blocks of a sharded world (see engine/shards.ts): the partition of towns into blocks, each
// block's seed and uid range, and BlockSet, the blocks one thread simulates (the main thread's
// when --workers 1, a worker thread's otherwise). Everything here depends on the config alone
// (towns, world.shards, seed), never on the number of workers.
import { heartbeat } from "./watchdog.ts";
import type { LoadedConfig } from "./config/loader.ts";
import type { ConfigSections } from "./config/sections.ts";
import { StateHasher } from "./hash.ts";
import type { AnyPlugin } from "./plugin.ts";
import { World } from "./world.ts";
import { loadSnapshot, saveSnapshot } from "./snapshot.ts";
import { loadBuildConfig, type BuildOverrides } from "./build.ts";
import type { ShardExtension, ShardHost } from "./shards.ts";

/** Most blocks a world may have (world.shards' maximum): each gets 2^32 / blocks agent ids. */
export const MAX_SHARDS = 4096;

/** One block: a run of contiguous towns simulated as its own World. */
export interface BlockPlan {
  index: number;
  /** Global id of the block's first town (its local town 0). */
  townOffset: number;
  towns: number;
  /** Root seed of the block's World: the run's root seed for block 0, a derived one for the others. */
  seed: number;
  /** The block's agents get uids uidBase .. uidBase + uidLimit - 1. */
  uidBase: number;
  uidLimit: number;
}

/** The seed of block `b`: the root seed for block 0 (a one-block world is today's world), else a 52-bit digest of both. */
export function blockSeed(rootSeed: number, b: number): number {
  if (b === 0) return rootSeed;
  const hex = new StateHasher().str("townlet-shard-seed").str(String(rootSeed)).u32(b).digest();
  return parseInt(hex.slice(0, 13), 16);
}

/**
 * Splits `towns` into `blocks` contiguous runs (block b: towns floor(b*T/B) .. floor((b+1)*T/B) - 1),
 * each with its seed and uid range.
 */
export function planBlocks(towns: number, blocks: number, rootSeed: number): BlockPlan[] {
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > MAX_SHARDS) throw new ShardPlanError(`world.shards must be an integer in [1, ${MAX_SHARDS}], got ${blocks}`);
  if (blocks > towns) throw new ShardPlanError(`world.shards (${blocks}) must be at most world.towns (${towns}): every block holds at least one town`);
  const span = Math.floor(2 ** 32 / blocks);
  const out: BlockPlan[] = [];
  for (let b = 0; b < blocks; b++) {
    const from = Math.floor((b * towns) / blocks);
    const to = Math.floor(((b + 1) * towns) / blocks);
    out.push({ index: b, townOffset: from, towns: to - from, seed: blockSeed(rootSeed, b), uidBase: b * span, uidLimit: blocks === 1 ? 2 ** 32 : span });
  }
  return out;
}

/** The config of a sharded run, with --seed/--towns/--agents/--shards and dotted overrides applied. */
export function loadShardedConfig(configFile: string, plugins: readonly AnyPlugin[], o: BuildOverrides = {}): LoadedConfig {
  return loadBuildConfig(configFile, plugins, o);
}

/** A world.shards that cannot split the towns (the user's to fix). */
export class ShardPlanError extends RangeError {
  override name = "ShardPlanError";
}

/** Number of blocks the settings ask for (world.shards, absent = 1). */
export function shardsOf(settings: ConfigSections): number {
  return settings.world.shards ?? 1;
}

/** The settings one block's World is built from: the towns of the block and its seed. */
export function blockSettings(settings: ConfigSections, plan: BlockPlan): ConfigSections {
  return { ...settings, seed: plan.seed, world: { ...settings.world, towns: plan.towns } };
}

/** Builds one block's World. */
export function buildBlock(settings: ConfigSections, plugins: readonly AnyPlugin[], plan: BlockPlan): World {
  return new World({ settings: blockSettings(settings, plan), plugins, seed: plan.seed, towns: plan.towns, uidBase: plan.uidBase, uidLimit: plan.uidLimit });
}

/** Raised when a block's tick fails: names the block, its towns and the tick (same text for any number of workers). */
export class ShardError extends Error {
  override name = "ShardError";
  constructor(
    readonly block: number,
    readonly towns: readonly [number, number],
    readonly tick: number,
    readonly reason: string,
  ) {
    super(`block ${block} (towns ${towns[0]}..${towns[1]}) failed at tick ${tick}: ${reason}`);
  }
}

/** What one thread reports after a tick. */
export interface StepReport {
  tick: number;
  /** Live agents after the tick, over the thread's blocks. */
  agents: number;
  /** Each block's state hash, in block order (when asked for). */
  hashes?: string[];
  /** What the host's extension reports after the tick, one entry per block (ShardExtension.afterStep). */
  extra?: unknown[];
}

/** What one thread reports after several ticks: per tick, its live agents and (when asked) block hashes. */
export interface AdvanceReport {
  tick: number;
  agents: number[];
  hashes?: string[][];
}

/** Blocks simulated by one thread, in block order. */
export class BlockSet {
  readonly worlds: World[];
  /** A worker's heartbeat word (engine/watchdog.ts): 1 added after each block's tick. */
  heartbeat: Int32Array | undefined;
  constructor(
    readonly plans: readonly BlockPlan[],
    settings: ConfigSections,
    plugins: readonly AnyPlugin[],
  ) {
    this.worlds = plans.map((p) => buildBlock(settings, plugins, p));
  }

  get tick(): number {
    return this.worlds[0]?.tick ?? 0;
  }

  agents(): number {
    let n = 0;
    for (const w of this.worlds) n += w.agents.length;
    return n;
  }

  /** One tick of every block; a block that throws becomes a ShardError naming it. */
  step(wantHashes: boolean): StepReport {
    for (let i = 0; i < this.worlds.length; i++) {
      const w = this.worlds[i];
      try {
        w.step();
      } catch (e) {
        const p = this.plans[i];
        throw new ShardError(p.index, [p.townOffset, p.townOffset + p.towns - 1], w.tick + 1, e instanceof Error ? e.message : String(e));
      }
      heartbeat(this.heartbeat);
    }
    return { tick: this.tick, agents: this.agents(), ...(wantHashes ? { hashes: this.hashes() } : {}) };
  }

  hashes(): string[] {
    return this.worlds.map((w) => w.stateHash());
  }

  /**
   * Every block starts over with root seed `rootSeed` (block b's seed derived as planBlocks derives
   * it; World.reset: the same as a fresh block of that seed); a block that throws becomes a ShardError at tick 0.
   */
  reset(rootSeed: number): void {
    for (let i = 0; i < this.worlds.length; i++) {
      const p = this.plans[i];
      try {
        this.worlds[i].reset(blockSeed(rootSeed, p.index));
      } catch (e) {
        throw new ShardError(p.index, [p.townOffset, p.townOffset + p.towns - 1], 0, e instanceof Error ? e.message : String(e));
      }
    }
  }

  /** `n` ticks of every block (tick by tick), with each tick's live agents and block hashes. */
  advance(n: number, wantHashes: boolean): AdvanceReport {
    const agents: number[] = [];
    const hashes: string[][] = [];
    for (let i = 0; i < n; i++) {
      const r = this.step(wantHashes);
      agents.push(r.agents);
      if (r.hashes) hashes.push(r.hashes);
    }
    return { tick: this.tick, agents, ...(wantHashes ? { hashes } : {}) };
  }

  kpis(): Record<string, unknown>[] {
    return this.worlds.map((w) => w.kpis());
  }

  /** Starts timing every system of every block (World.enableTiming). */
  enableTiming(): void {
    for (const w of this.worlds) w.enableTiming();
  }

  /** Milliseconds per system since enableTiming, summed over the blocks, in schedule order. */
  systemTimes(): [string, number][] {
    const sum = new Map<string, number>();
    for (const w of this.worlds) for (const t of w.systemTimes()) sum.set(t.system, (sum.get(t.system) ?? 0) + t.ms);
    return [...sum];
  }

  /** Each block's snapshot (engine/snapshot.ts), in block order. */
  save(configHash: string | null): Uint8Array[] {
    return this.worlds.map((w) => saveSnapshot(w, { configHash }));
  }

  /**
   * Restores each block from its snapshot (same order as save). True when a block was written by
   * an earlier build and its layout upgraded (engine/snapshot/upgrade.ts): the saved hash does not apply.
   */
  load(blocks: readonly Uint8Array[], configHash: string | null): boolean {
    if (blocks.length !== this.worlds.length) throw new Error(`${blocks.length} block snapshots for ${this.worlds.length} blocks`);
    let upgraded = false;
    for (let i = 0; i < blocks.length; i++) if (loadSnapshot(this.worlds[i], blocks[i], { configHash }).upgraded) upgraded = true;
    return upgraded;
  }
}

/**
 * Readies a thread's blocks once built or reset (engine/shards.ts: ShardedSim.open, and reset, which
 * therefore equals a fresh open): each block's policy (the host's prepareBlock), then the host's
 * extension of them, a new one.
 */
export async function readyBlocks(set: BlockSet, host: ShardHost, policy: string | undefined): Promise<ShardExtension | undefined> {
  for (const w of set.worlds) await host.prepareBlock(w, policy);
  return host.extend?.(set);
}

/**
 * The state hash of a sharded world: a one-block world's is its block's (today's hash), else a
 * digest of the tick, the block count and each block's hash in block order.
 */
export function combineHashes(tick: number, hashes: readonly string[]): string {
  if (hashes.length === 1) return hashes[0];
  const h = new StateHasher().str("townlet-shards").u32(tick).u32(hashes.length);
  for (const x of hashes) h.str(x);
  return h.digest();
}

/**
 * KPIs of several blocks as one world's: counts add up; a number whose key path has "mean" or
 * "rate" in it (`mean_needs.hunger` as well as `exit_rate`) is a mean weighted by each block's
 * live agents; "max"/"min" keys take the largest/smallest; booleans are true when any block's is;
 * lists are concatenated in block order.
 */
export function mergeKpis(blocks: readonly Record<string, unknown>[]): Record<string, unknown> {
  const weights = blocks.map((k) => (typeof k.alive_agents === "number" ? k.alive_agents : 0));
  return mergeObjects(blocks, weights) as Record<string, unknown>;
}

/**
 * Any values of several blocks (telemetry sections, console results) merged as mergeKpis merges
 * KPIs, `weights` being each block's live agents. Beyond mergeKpis' rules, a number under a
 * max/min key anywhere in its path (`min_needs.hunger`) is an extreme, a tick, a window or a
 * threshold (`metrics.tick`, `starvation_window_ticks`, `thresholds.x`) is the largest, not a sum,
 * and a value only one block has is kept as it is.
 */
export function mergeValues(xs: readonly unknown[], weights: readonly number[]): unknown {
  return mergeObjects(xs, weights, "", true);
}

type Rule = "max" | "min" | "mean" | "sum";
/** The rule of each key path met (key paths are few: a section's fields, per town at most). */
const rules = new Map<string, Rule>();

/** How numbers under `key` merge (see mergeKpis and mergeValues). */
function ruleOf(key: string, paths: boolean): Rule {
  const id = (paths ? "p:" : "k:") + key;
  let r = rules.get(id);
  if (r !== undefined) return r;
  const last = key.slice(key.lastIndexOf(".") + 1);
  const up = paths ? key.split(".").slice(0, -1).reverse().find((k) => /(^|_)(max|min)($|_)/.test(k)) : undefined;
  if (/(^|_)max($|_)/.test(last)) r = "max";
  else if (/(^|_)min($|_)/.test(last)) r = "min";
  else if (up !== undefined) r = /(^|_)max($|_)/.test(up) ? "max" : "min";
  else if (paths && /(^|[._])ticks?$|window|threshold|limit/.test(key)) r = "max";
  else r = /mean|rate/.test(key) ? "mean" : "sum";
  rules.set(id, r);
  return r;
}

function mergeObjects(xs: readonly unknown[], weights: readonly number[], key = "", paths = false): unknown {
  const first = xs.find((x) => x !== undefined);
  // A value only one block has (a record keyed by its agent) is that block's, as it is.
  if (paths && xs.filter((x) => x !== undefined).length === 1) return first;
  if (typeof first === "number") {
    const nums = xs.map((x) => (typeof x === "number" ? x : 0));
    const rule = ruleOf(key, paths);
    if (rule === "max") return Math.max(...nums);
    if (rule === "min") return Math.min(...nums);
    if (rule === "mean") {
      const wsum = weights.reduce((a, b) => a + b, 0);
      if (wsum === 0) return nums.reduce((a, b) => a + b, 0) / Math.max(1, nums.length);
      return nums.reduce((a, b, i) => a + b * weights[i], 0) / wsum;
    }
    return nums.reduce((a, b) => a + b, 0);
  }
  if (typeof first === "boolean") return xs.some((x) => x === true);
  if (Array.isArray(first)) return xs.flatMap((x) => (Array.isArray(x) ? x : []));
  if (first !== null && typeof first === "object") {
    const keys = new Set<string>();
    for (const x of xs) if (x && typeof x === "object") for (const k of Object.keys(x)) keys.add(k);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = mergeObjects(xs.map((x) => (x as Record<string, unknown> | undefined)?.[k]), weights, key ? `${key}.${k}` : k, paths);
    return out;
  }
  return first;
}

/** What callExtension returns when the request's answer is a promise: the reply is posted when it settles. */
export const EXT_PENDING: unique symbol = Symbol("extension request pending");

/**
 * A worker thread's answer to an `ext` request (engine/shard-worker.ts, training/sharded-worker.ts):
 * the extension's value, or EXT_PENDING when it returned a promise, whose settlement is then posted
 * on `port` under `id` (a console command applied at the next tick answers later).
 */
export function callExtension(port: { postMessage(m: unknown): void }, id: number, ext: ShardExtension, op: string, payload: unknown, errorOf: (e: unknown) => unknown): unknown {
  const v = ext.call(op, payload);
  if (!(v instanceof Promise)) return v;
  v.then(
    (r: unknown) => port.postMessage({ id, ok: true, value: r }),
    (e: unknown) => port.postMessage({ id, ok: false, error: errorOf(e) }),
  );
  return EXT_PENDING;
}
