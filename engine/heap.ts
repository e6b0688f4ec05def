// The engine's one garbage-collection measure (issue #19: no major GC in a run's ticks): a world
// whose build allocated many typed-array bytes is followed by one full collection, so that the
// build's garbage and its ArrayBuffer bytes are not what starts a full GC in the first ticks.
//
// Why: V8 starts a full GC when ArrayBuffer ("external") bytes have grown 64 MB past their level
// at the last full GC, or when the old generation reaches a limit set from its size after the last
// one. Building 100k agents allocates ~95 MB of columns after the build's last full GC, so the
// first full GC of a run fell in its first ~200 ticks (node --trace-incremental-marking: "Start
// (external memory pressure)"). Collected once after the build, both limits start from the built
// world. `townlet bench` always collected here (its memory reading forces two full GCs after the
// build); now every run does.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * A world whose build grew ArrayBuffer bytes by at least this much (a quarter of V8's 64 MB
 * trigger) is collected once after the build. About 25k agents in the towns layout; test and
 * small worlds never reach it.
 */
export const COLLECT_AFTER_BUILD_BYTES = 16 * 1024 * 1024;

let gcFn: (() => void) | null | undefined;

/**
 * V8's full-collection function: global `gc` when node runs with --expose-gc, else one taken from
 * a new context with the flag set for that moment (and unset again). Null where neither works.
 */
export function fullGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === "function") return (gcFn = exposed as () => void);
  try {
    setFlagsFromString("--expose-gc");
    const fn = runInNewContext("gc") as unknown;
    gcFn = typeof fn === "function" ? (fn as () => void) : null;
  } catch {
    gcFn = null;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
  return gcFn;
}

/** ArrayBuffer bytes held now (Node's count: typed arrays' stores, Buffers). */
export function arrayBufferBytes(): number {
  return process.memoryUsage().arrayBuffers;
}

/**
 * After a build that grew ArrayBuffer bytes from `before` by at least `threshold`: one full
 * collection. Returns whether it collected.
 */
export function collectAfterBuild(before: number, threshold = COLLECT_AFTER_BUILD_BYTES): boolean {
  if (arrayBufferBytes() - before < threshold) return false;
  const gc = fullGc();
  if (!gc) return false;
  gc();
  return true;
}

/**
 * The old generation's growing factor the CLI sets (V8's --heap-growing-percent: the limit for the
 * next full GC is (1 + this / 100) x the old generation's size after the last one). V8's own
 * factor follows the allocation rate: a simulation allocates little per ms, so V8 chose ~1.1-1.8
 * over a JS heap of ~30 MB at 100k agents (most state is in typed arrays, outside it), and the
 * first ~8-20 MB of promoted objects and grown ArrayBuffers (both count) started a full GC.
 */
export const HEAP_GROWING_PERCENT = 200;

/**
 * Sets HEAP_GROWING_PERCENT for this process unless it was started with its own
 * --heap-growing-percent. Returns whether it set it. (townlet's CLI and the bench's child call it.)
 */
export function tuneHeap(percent = HEAP_GROWING_PERCENT): boolean {
  if (process.execArgv.some((a) => /^--heap[-_]growing[-_]percent/.test(a))) return false;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return true;
}
