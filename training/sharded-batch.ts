// The one decision batch of a sharded rollout (training/sharded-rollout.ts): a SharedArrayBuffer
// every thread holds a view of, into which each block writes its decision rows in place, so the
// main thread's network reads them where they lie (no gathering copy on the main thread).
//
// Layout: rows packed in block order with no gap: block k's rows start at the sum of the rows of
// blocks 0..k-1 this tick, so the batch is exactly the rows the network reads (no padding, no wasted
// row, nothing to mask out). A thread runs a contiguous run of blocks, so it needs one number, the
// rows of the threads before it, agreed during the tick through a chain of shared words (RowChain):
// each thread runs its blocks up to the policy (their rows counted), takes its offset from the
// thread before it (thread 0, the main thread, starts at 0 and never waits), publishes its end,
// then writes its rows at that offset while the threads after it write theirs. The wait is only
// for the threads before it to have counted their rows, never for their copies.
//
// Capacity: `cap` rows, first the world's live agents (the eligible rows are a subset of them).
// A thread whose rows would pass `cap` writes them into its blocks' own buffers instead (a
// "spill", training/sharded-blocks.ts), and the main thread then grows the batch to twice what the
// tick needs and copies that tick's rows into it once; every thread adopts the new buffer with
// its next request. Rows spill only while the population outgrows every earlier size.
import type { BlockRows } from "./sharded-blocks.ts";

/** Views of the batch: row i of every array is one decision (see BlockRows for the fields). */
export interface BatchRows {
  cap: number;
  keys: Int32Array;
  uids: Int32Array;
  labels: Int32Array;
  forced: Int32Array;
  actions: Int32Array;
  draws: Float32Array;
  flags: Uint8Array;
  obs: Float32Array;
  masks: Uint8Array;
}

/** Bytes of a batch of `cap` rows (D floats of observation, A mask bytes per row). */
export function batchBytes(cap: number, D: number, A: number): number {
  return cap * (6 * 4 + 4 * D + 1 + A);
}

/** The views over a batch buffer (the same layout in every thread). */
export function batchViews(sab: SharedArrayBuffer, D: number, A: number): BatchRows {
  const cap = Math.floor(sab.byteLength / batchBytes(1, D, A));
  let at = 0;
  const i32 = () => {
    const v = new Int32Array(sab, at, cap);
    at += 4 * cap;
    return v;
  };
  const keys = i32();
  const uids = i32();
  const labels = i32();
  const forced = i32();
  const actions = i32();
  const draws = new Float32Array(sab, at, cap);
  at += 4 * cap;
  const obs = new Float32Array(sab, at, cap * D);
  at += 4 * cap * D;
  const flags = new Uint8Array(sab, at, cap);
  at += cap;
  const masks = new Uint8Array(sab, at, cap * A);
  return { cap, keys, uids, labels, forced, actions, draws, flags, obs, masks };
}

/** A new batch of at least `rows` rows. */
export function newBatch(rows: number, D: number, A: number): { sab: SharedArrayBuffer; rows: BatchRows } {
  const sab = new SharedArrayBuffer(batchBytes(Math.max(1, rows), D, A));
  return { sab, rows: batchViews(sab, D, A) };
}

/** Copies `m` decision rows from `src` (row `from`) to `dst` (row `to`): the grown batch after a spill. */
export function copyRows(dst: BatchRows, to: number, src: BatchRows | BlockRows, from: number, m: number, D: number, A: number): void {
  dst.keys.set(src.keys.subarray(from, from + m), to);
  dst.uids.set(src.uids.subarray(from, from + m), to);
  dst.labels.set(src.labels.subarray(from, from + m), to);
  dst.forced.set(src.forced.subarray(from, from + m), to);
  dst.draws.set(src.draws.subarray(from, from + m), to);
  dst.flags.set(src.flags.subarray(from, from + m), to);
  dst.obs.set(src.obs.subarray(from * D, (from + m) * D), to * D);
  dst.masks.set(src.masks.subarray(from * A, (from + m) * A), to * A);
}

/** Word 0: set when the world stops (every waiting thread gives up); then per thread: the tick's sequence number and its end row. */
const STOP = 0;
/** Sleep slice of a waiting thread (ms) between looks at the stop word. */
const SLICE_MS = 50;

/** A thread that cannot take its offset: a thread before it failed this tick, or the world stopped. */
export class ChainStopped extends Error {
  override name = "ChainStopped";
}

/** The chain of row offsets between the threads of one sharded rollout (see the file comment). */
export class RowChain {
  readonly words: Int32Array;
  constructor(
    sab: SharedArrayBuffer,
    /** This thread's place (0: the main thread's run of blocks). */
    readonly thread: number,
  ) {
    this.words = new Int32Array(sab);
  }

  /** The shared words of a rollout of `threads` threads. */
  static buffer(threads: number): SharedArrayBuffer {
    return new SharedArrayBuffer(4 * (1 + 2 * threads));
  }

  /** This thread's first row in decision `seq`: the end of the thread before it (waited for), 0 for thread 0. */
  offset(seq: number): number {
    if (this.thread === 0) return 0;
    const w = this.words;
    const at = 1 + 2 * (this.thread - 1);
    for (;;) {
      const s = Atomics.load(w, at);
      if (s === seq) break;
      if (Atomics.load(w, STOP) !== 0) throw new ChainStopped("the sharded world stopped while this thread waited for the rows of the threads before it");
      Atomics.wait(w, at, s, SLICE_MS);
    }
    const end = Atomics.load(w, at + 1);
    if (end < 0) throw new ChainStopped("a thread before this one failed in the same tick");
    return end;
  }

  /** Publishes this thread's end row of decision `seq` (-1: it failed), waking the thread after it. */
  publish(seq: number, end: number): void {
    const w = this.words;
    const at = 1 + 2 * this.thread;
    Atomics.store(w, at + 1, end);
    Atomics.store(w, at, seq);
    Atomics.notify(w, at);
  }

  /** The world stopped (a thread failed or died): every thread waiting in offset() gives up. */
  stop(): void {
    Atomics.store(this.words, STOP, 1);
    for (let t = 0; 1 + 2 * t < this.words.length; t++) Atomics.notify(this.words, 1 + 2 * t);
  }
}
