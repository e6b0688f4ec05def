// The blocks of a sharded world as one thread runs them for a main-thread policy (training and
// `townlet run --policy neural` on world.shards > 1; training/sharded-rollout.ts drives them). Each
// tick has two halves: `decide` runs every block up to the policy/act system (World.stepTo), builds
// the eligible agents' masks and observations (prepareDecisions) and step 1 of a decision (who
// chooses, the draws of the block's own `policy` stream) into the world's one shared batch, at
// the block's rows (packed in block order: training/sharded-batch.ts); the main thread runs one
// policy batch over those rows where they lie and writes the actions beside them; `advance`
// finishes every block's tick (World.stepRest: policy/act reads the block's actions, then
// affordances, needs, rewards, ...) and writes each live agent's key and reward and each exit's
// key and reward into the block's own SharedArrayBuffer. Only counts and a few numbers per block
// travel in messages.
// Runs in the main thread (--workers 1) or in a worker thread (training/sharded-worker.ts).
import { heartbeat } from "../engine/watchdog.ts";
import type { World } from "../engine/world.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import type { ConfigSections } from "../engine/config/sections.ts";
import { BlockSet, ShardError, blockSeed, type BlockPlan } from "../engine/shard-blocks.ts";
import type { ShardExtension } from "../engine/shards.ts";
import { Agent } from "../engine/core-components.ts";
import { AgentExit } from "../components/messages.ts";
import { Reward } from "../components/people.ts";
import { policyState, prepareDecisions, setPolicy, worldActionCount, type ObservationBatch, type Policy } from "../systems/policy/index.ts";
import { chooseRows, type CollectMode } from "./rollout.ts";
import { batchViews, type BatchRows, type RowChain } from "./sharded-batch.ts";
import { conflictSums } from "./session.ts";

/** Who decides in the blocks: a rollout's collect mode, or a learned policy's inference (sampled = "policy", or greedy). */
export type BlockMode = CollectMode | "greedy";

/** The system a tick pauses before (the policy plug-in's decision system). */
export const POLICY_SYSTEM = "policy/act";

/**
 * One block's own shared arrays: `cap` live and exit rows (after a tick); `dcap` decision rows
 * (D floats of observation, A mask bytes per row), used only when the shared batch had no room for
 * the block's thread (a spill: training/sharded-batch.ts), so none until then.
 */
export interface BlockRows {
  cap: number;
  dcap: number;
  /** Decision rows of a spill: the agent's key (local uid x blocks + block), uid, label, forced action, draw, flag, observation, mask. */
  keys: Int32Array;
  uids: Int32Array;
  labels: Int32Array;
  forced: Int32Array;
  draws: Float32Array;
  flags: Uint8Array;
  obs: Float32Array;
  masks: Uint8Array;
  /** After a tick: each live agent's key and reward, each exit's key and reward. */
  liveKeys: Int32Array;
  liveRewards: Float32Array;
  exitKeys: Int32Array;
  exitRewards: Float64Array;
}

/** Bytes of a block's buffer: a header (cap, dcap), `cap` live and exit rows, `dcap` decision rows. */
function rowsBytes(cap: number, dcap: number, D: number, A: number): number {
  return 8 + cap * (8 + 3 * 4) + dcap * (5 * 4 + 4 * D + 1 + A);
}

/** A block's buffer of `cap` live and exit rows and `dcap` decision rows (its sizes in its header). */
export function newRows(cap: number, dcap: number, D: number, A: number): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(rowsBytes(cap, dcap, D, A));
  const head = new Int32Array(sab, 0, 2);
  head[0] = cap;
  head[1] = dcap;
  return sab;
}

/** The views over a block's buffer (the same layout in every thread; the sizes read from its header). */
export function rowsViews(sab: SharedArrayBuffer, D: number, A: number): BlockRows {
  const [cap, dcap] = new Int32Array(sab, 0, 2);
  let at = 8;
  const take = <T>(make: (b: SharedArrayBuffer, o: number, n: number) => T, bytes: number, n: number): T => {
    const v = make(sab, at, n);
    at += bytes * n;
    return v;
  };
  const f64 = (b: SharedArrayBuffer, o: number, n: number) => new Float64Array(b, o, n);
  const i32 = (b: SharedArrayBuffer, o: number, n: number) => new Int32Array(b, o, n);
  const f32 = (b: SharedArrayBuffer, o: number, n: number) => new Float32Array(b, o, n);
  const u8 = (b: SharedArrayBuffer, o: number, n: number) => new Uint8Array(b, o, n);
  const exitRewards = take(f64, 8, cap);
  const liveKeys = take(i32, 4, cap);
  const exitKeys = take(i32, 4, cap);
  const liveRewards = take(f32, 4, cap);
  const keys = take(i32, 4, dcap);
  const uids = take(i32, 4, dcap);
  const labels = take(i32, 4, dcap);
  const forced = take(i32, 4, dcap);
  const draws = take(f32, 4, dcap);
  const obs = take(f32, 4, dcap * D);
  const flags = take(u8, 1, dcap);
  const masks = take(u8, 1, dcap * A);
  return { cap, dcap, keys, uids, labels, forced, draws, flags, obs, masks, liveKeys, liveRewards, exitKeys, exitRewards };
}

/** Reply to `decide`: rows per block; buffers replaced by larger ones (null = the same). */
export interface DecideReport {
  counts: number[];
  /** The rows did not fit the shared batch: they are in the blocks' own buffers (see training/sharded-batch.ts). */
  spilled: boolean;
  sabs: (SharedArrayBuffer | null)[];
}

/** Reply to `advance`: per block live agents and exits (and, when asked, the conflict sums and state hashes). */
export interface AdvanceReport {
  tick: number;
  live: number[];
  exits: number[];
  /** Exit reasons of the tick, per block (absent when none left). */
  reasons: (Record<string, number> | null)[];
  conflict?: number[][];
  hashes?: string[];
  /** Rows per block of the next tick's first half, when it was asked for, and whether they spilled. */
  next?: number[];
  nextSpilled?: boolean;
  /** What the blocks' extension (`PolicyBlocks.ext`: townlet serve's telemetry) reported after the tick, one entry per block. */
  extra?: unknown[];
  sabs: (SharedArrayBuffer | null)[];
}

/** The policy every block runs: the actions the main thread wrote for the prepared rows. */
class SharedRowsPolicy implements Policy {
  readonly name = "sharded";
  readonly needsObservations = true;
  scriptedDecides = false;
  constructor(private readonly block: PolicyBlocks, private readonly i: number) {}
  act(_world: World, _obs: ObservationBatch | undefined, _masks: Uint8Array, agents: Int32Array, out: Int32Array): void {
    const n = agents.length;
    const want = this.block.prepared[this.i];
    if (n !== want) throw new Error(`internal error (please report a bug): policy/act has ${n} rows, ${want} were prepared`);
    const at = this.block.offsets[this.i];
    out.set(this.block.batch!.actions.subarray(at, at + n));
  }
}

/** The blocks one thread runs, with their shared row buffers. */
export class PolicyBlocks {
  readonly set: BlockSet;
  readonly rows: BlockRows[] = [];
  readonly sabs: SharedArrayBuffer[] = [];
  readonly prepared: number[];
  readonly D: number;
  readonly A: number;
  /** A tool's extension of these blocks (townlet serve: their telemetry and console; ShardHost.extend), made by extendWith, anew after a reset. */
  ext: ShardExtension | undefined;
  private extender: ((set: BlockSet) => ShardExtension) | undefined;
  private mode: BlockMode = "policy";
  private ratio = 0;
  private readonly policies: SharedRowsPolicy[];
  private readonly finalBatch: ObservationBatch = { variant: "", size: 0, count: 0, data: new Float32Array(0) };
  /** The world's shared decision batch (training/sharded-batch.ts) and this thread's place in its chain of offsets (none: the only thread). */
  batch: BatchRows | undefined;
  private batchSab: SharedArrayBuffer | undefined;
  chain: RowChain | undefined;
  /** Each block's first row in the batch this tick, and the tick it is deciding. */
  readonly offsets: number[];
  private readonly ticks: number[];

  constructor(
    readonly plans: readonly BlockPlan[],
    settings: ConfigSections,
    plugins: readonly AnyPlugin[],
    /** Blocks of the whole world (keys: local uid x blocks + block). */
    readonly totalBlocks: number,
  ) {
    this.set = new BlockSet(plans, settings, plugins);
    this.policies = this.set.worlds.map((_, i) => new SharedRowsPolicy(this, i));
    this.set.worlds.forEach((w, i) => setPolicy(w, this.policies[i]));
    const w0 = this.set.worlds[0];
    const st = policyState(w0);
    this.D = st.source.size(w0);
    this.A = worldActionCount(w0);
    this.prepared = plans.map(() => 0);
    this.offsets = plans.map(() => 0);
    this.ticks = plans.map(() => 0);
    for (let i = 0; i < plans.length; i++) this.grow(i, Math.max(16, this.set.worlds[i].agents.length * 2), 0);
    this.publishLive();
  }

  /** Uses `sab` as the shared batch from now on (a new one after a growth; the same one is kept). */
  useBatch(sab: SharedArrayBuffer | undefined): void {
    if (!sab || sab === this.batchSab) return;
    this.batchSab = sab;
    this.batch = batchViews(sab, this.D, this.A);
  }

  /** Extends the blocks with `extend` (ShardHost.extend) now and after every reset, as a fresh world's blocks would be. */
  extendWith(extend: ((set: BlockSet) => ShardExtension) | undefined): void {
    this.extender = extend;
    this.ext = extend?.(this.set);
  }

  get worlds(): World[] {
    return this.set.worlds;
  }

  /** Live agents of every block. */
  agents(): number {
    return this.set.agents();
  }

  private grow(i: number, cap: number, dcap: number): SharedArrayBuffer {
    const sab = newRows(cap, dcap, this.D, this.A);
    const old = this.rows[i];
    this.sabs[i] = sab;
    this.rows[i] = rowsViews(sab, this.D, this.A);
    if (old) {
      // A tick's live and exit rows survive a growth by the next tick's first half (advance then decide).
      const r = this.rows[i];
      r.liveKeys.set(old.liveKeys);
      r.liveRewards.set(old.liveRewards);
      r.exitKeys.set(old.exitKeys);
      r.exitRewards.set(old.exitRewards);
    }
    return sab;
  }

  /** Room for n live and exit rows in block i's buffer: a new (larger) buffer when needed, returned to be sent. */
  private room(i: number, n: number, fresh: (SharedArrayBuffer | null)[]): void {
    const r = this.rows[i];
    if (n > r.cap) fresh[i] = this.grow(i, Math.max(n, r.cap * 2), r.dcap);
  }

  /** Room for n decision rows in block i's own buffer (a spill), likewise. */
  private spillRoom(i: number, n: number, fresh: (SharedArrayBuffer | null)[]): void {
    const r = this.rows[i];
    if (n > r.dcap) fresh[i] = this.grow(i, r.cap, Math.max(n, r.dcap * 2));
  }

  private fail(i: number, tick: number, e: unknown): ShardError {
    const p = this.plans[i];
    return new ShardError(p.index, [p.townOffset, p.townOffset + p.towns - 1], tick, e instanceof Error ? e.message : String(e));
  }

  private key(i: number, uid: number): number {
    const p = this.plans[i];
    return ((uid - p.uidBase) >>> 0) * this.totalBlocks + p.index;
  }

  /** Who decides from now on (applied before the next tick). */
  setMode(mode: BlockMode, ratio: number): void {
    if (mode === this.mode && ratio === this.ratio) return;
    this.mode = mode;
    this.ratio = ratio;
    const scripted = mode !== "policy" && mode !== "greedy";
    this.set.worlds.forEach((w, i) => {
      this.policies[i].scriptedDecides = scripted;
      setPolicy(w, this.policies[i]);
    });
  }

  /**
   * First half of a tick in every block: up to policy/act (rows counted), then this thread's
   * offset from the chain (decision `seq`), its end published, and the rows written at their place
   * in the shared batch (or, past its end, into each block's own buffer: a spill).
   */
  decide(seq: number): DecideReport {
    const fresh: (SharedArrayBuffer | null)[] = this.plans.map(() => null);
    const counts: number[] = [];
    let mine = 0;
    let at: number;
    try {
      for (let i = 0; i < this.set.worlds.length; i++) {
        const w = this.set.worlds[i];
        const tick = w.tick + 1;
        try {
          w.stepTo(POLICY_SYSTEM);
          const st = policyState(w);
          const m = prepareDecisions(w, tick, w.agents, st);
          st.preparedTick = tick;
          st.prepared = m;
          this.prepared[i] = m;
          this.ticks[i] = tick;
          counts.push(m);
          mine += m;
        } catch (e) {
          throw this.fail(i, tick, e);
        }
        heartbeat(this.set.heartbeat);
      }
      at = this.chain ? this.chain.offset(seq) : 0;
    } catch (e) {
      // The threads after this one wait for its end: they stop instead.
      this.chain?.publish(seq, -1);
      throw e;
    }
    const b = this.batch;
    const spilled = b === undefined || at + mine > b.cap;
    this.chain?.publish(seq, at + mine);
    for (let i = 0; i < this.set.worlds.length; i++) {
      const m = counts[i];
      this.offsets[i] = at;
      try {
        if (!spilled) this.writeRows(i, b, at, m);
        else {
          this.spillRoom(i, m, fresh);
          this.writeRows(i, this.rows[i], 0, m);
        }
      } catch (e) {
        throw this.fail(i, this.ticks[i], e);
      }
      at += m;
    }
    return { counts, sabs: fresh, spilled };
  }

  /** Block i's `m` prepared decision rows into `r` from row `o`: key and uid, mask, observation, and step 1 (chooseRows). */
  private writeRows(i: number, r: BatchRows | BlockRows, o: number, m: number): void {
    if (m === 0) return;
    const w = this.set.worlds[i];
    const st = policyState(w);
    const A = this.A;
    const list = st.eligible.subarray(0, m);
    const U = w.columns(Agent).uid;
    for (let j = 0; j < m; j++) {
      const uid = U[list[j]];
      r.uids[o + j] = uid | 0;
      r.keys[o + j] = this.key(i, uid);
    }
    r.masks.set(st.masks.subarray(0, m * A), o * A);
    r.obs.set(st.batch.data.subarray(0, m * this.D), o * this.D);
    const end = o + m;
    chooseRows(w, this.mode, this.ratio, r.masks.subarray(o * A, end * A), list, A, this.ticks[i], r.labels.subarray(o, end), r.flags.subarray(o, end), r.forced.subarray(o, end), r.draws.subarray(o, end));
  }

  /**
   * Second half of the tick in every block (the actions are in the buffers), then the rewards and
   * exits written; with `next`, the first half of the next tick follows at once (its rows written
   * and counted in `next`), which saves the main thread one round trip per tick.
   */
  advance(conflict: boolean, hashes: boolean, next?: { mode: BlockMode; ratio: number; seq: number }): AdvanceReport {
    try {
      return this.advanceRun(conflict, hashes, next);
    } catch (e) {
      // Failed before deciding the next tick: the threads after this one wait for its end.
      if (next && !this.decided) this.chain?.publish(next.seq, -1);
      throw e;
    }
  }

  /** Whether the decision of advance's next tick began (its failures publish themselves). */
  private decided = false;

  private advanceRun(conflict: boolean, hashes: boolean, next?: { mode: BlockMode; ratio: number; seq: number }): AdvanceReport {
    this.decided = false;
    const fresh: (SharedArrayBuffer | null)[] = this.plans.map(() => null);
    const live: number[] = [];
    const exits: number[] = [];
    const reasons: (Record<string, number> | null)[] = [];
    const sums: number[][] = [];
    for (let i = 0; i < this.set.worlds.length; i++) {
      const w = this.set.worlds[i];
      try {
        w.stepRest();
      } catch (e) {
        throw this.fail(i, w.tick + 1, e);
      }
      heartbeat(this.set.heartbeat);
      const ex = w.lastTick(AgentExit);
      const E = ex.end - ex.start;
      this.room(i, Math.max(E, w.agents.length), fresh);
      const r = this.rows[i];
      let why: Record<string, number> | null = null;
      for (let j = 0; j < E; j++) {
        r.exitKeys[j] = this.key(i, ex.uid[ex.start + j]);
        r.exitRewards[j] = ex.reward[ex.start + j];
        const reason = w.text(ex.reason[ex.start + j]);
        why ??= {};
        why[reason] = (why[reason] ?? 0) + 1;
      }
      exits.push(E);
      reasons.push(why);
      live.push(this.writeLive(i, true));
      if (conflict) sums.push(conflictSums(w));
    }
    const report: AdvanceReport = { tick: this.set.tick, live, exits, reasons, ...(conflict ? { conflict: sums } : {}), ...(hashes ? { hashes: this.set.hashes() } : {}), sabs: fresh };
    if (this.ext?.afterStep) report.extra = this.ext.afterStep();
    if (next) {
      this.setMode(next.mode, next.ratio);
      this.decided = true;
      const d = this.decide(next.seq);
      report.next = d.counts;
      report.nextSpilled = d.spilled;
      for (let i = 0; i < fresh.length; i++) fresh[i] = d.sabs[i] ?? fresh[i];
    }
    return report;
  }

  /** Block i's live agents' keys (and this tick's rewards when `rewards`) into its buffer; returns how many. */
  private writeLive(i: number, rewards: boolean): number {
    const w = this.set.worlds[i];
    const r = this.rows[i];
    const agents = w.agents;
    const U = w.columns(Agent).uid;
    const R = w.columns(Reward).total;
    for (let j = 0; j < agents.length; j++) {
      r.liveKeys[j] = this.key(i, U[agents[j]]);
      r.liveRewards[j] = rewards ? R[agents[j]] : 0;
    }
    return agents.length;
  }

  /** The live keys of every block, written after building or a reset (no rewards). */
  publishLive(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.set.worlds.length; i++) {
      this.room(i, this.set.worlds[i].agents.length, []);
      out.push(this.writeLive(i, false));
    }
    return out;
  }

  /** Every block starts a new episode: block b's seed derived from (root seed, b); the extension made anew (extendWith). */
  reset(rootSeed: number): { live: number[]; sabs: (SharedArrayBuffer | null)[] } {
    const fresh: (SharedArrayBuffer | null)[] = this.plans.map(() => null);
    for (let i = 0; i < this.set.worlds.length; i++) {
      const w = this.set.worlds[i];
      try {
        w.reset(blockSeed(rootSeed, this.plans[i].index));
      } catch (e) {
        throw this.fail(i, 0, e);
      }
      this.room(i, w.agents.length, fresh);
    }
    // A new extension, as the blocks of a fresh world get (the evaluation's tallies begin again).
    this.ext = this.extender?.(this.set);
    return { live: this.publishLive(), sabs: fresh };
  }

  /**
   * Restores every block from its snapshot (engine/snapshot.ts, block order); returns the tick, each
   * block's live agents, and whether a block was written by an earlier build and upgraded.
   */
  load(blocks: readonly Uint8Array[], configHash: string | null): { tick: number; live: number[]; sabs: (SharedArrayBuffer | null)[]; upgraded: boolean } {
    const upgraded = this.set.load(blocks, configHash);
    const fresh: (SharedArrayBuffer | null)[] = this.plans.map(() => null);
    for (let i = 0; i < this.set.worlds.length; i++) this.room(i, this.set.worlds[i].agents.length, fresh);
    return { tick: this.set.tick, live: this.publishLive(), sabs: fresh, upgraded };
  }

  /**
   * Observations of every live agent of every block and their keys, for the rollout's bootstrap
   * values, into the shared batch from row `at` (the live agents of the blocks before this thread's;
   * the main thread made room for every live agent).
   */
  final(at: number): { live: number[]; sabs: (SharedArrayBuffer | null)[] } {
    const fresh: (SharedArrayBuffer | null)[] = this.plans.map(() => null);
    const live: number[] = [];
    const b = this.batch!;
    for (let i = 0; i < this.set.worlds.length; i++) {
      const w = this.set.worlds[i];
      const n = w.agents.length;
      if (at + n > b.cap) throw new Error(`internal error (please report a bug): the batch holds ${b.cap} rows, block ${this.plans[i].index}'s live agents end at row ${at + n}`);
      this.room(i, n, fresh);
      this.writeLive(i, false);
      if (n > 0) {
        b.keys.set(this.rows[i].liveKeys.subarray(0, n), at);
        policyState(w).source.build(w, w.agents, this.finalBatch);
        b.obs.set(this.finalBatch.data.subarray(0, n * this.D), at * this.D);
      }
      live.push(n);
      at += n;
    }
    return { live, sabs: fresh };
  }
}
