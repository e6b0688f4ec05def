// The tick loop: runs a world until a tick, as fast as possible (yielding to the event loop
// every few milliseconds so servers and progress bars stay alive) or paced in real time.
import type { World } from "./world.ts";

/** One tick every 250 ms: the original's cadence. */
export const REALTIME_TICK_MS = 250;

/** Slowest pace a paced loop accepts, ms per tick: a command applied in a tick never waits longer. */
export const MAX_TICK_INTERVAL_MS = 10_000;
/** The same bound as ticks per second (0.1). */
export const MIN_TICKS_PER_SECOND = 1000 / MAX_TICK_INTERVAL_MS;

export interface LoopOptions {
  /** Tick to stop at (`world.tick === until` at the end). */
  until: number;
  /** Pace ticks at `tickMs` (default 250 ms) instead of running flat out. */
  realtime?: boolean;
  tickMs?: number;
  /** Called after ticks, at most every `everyMs` (default 100 ms), and at the end. */
  onProgress?: (world: World) => void;
  everyMs?: number;
  /** Stops the loop at the next tick boundary when it returns true. */
  shouldStop?: () => boolean;
}

const yieldNow = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runLoop(world: World, opts: LoopOptions): Promise<void> {
  const every = opts.everyMs ?? 100;
  let last = performance.now();
  if (opts.realtime) {
    const tickMs = opts.tickMs ?? REALTIME_TICK_MS;
    let next = performance.now();
    while (world.tick < opts.until && !opts.shouldStop?.()) {
      world.step();
      opts.onProgress?.(world);
      next += tickMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else next = performance.now();
    }
    return;
  }
  while (world.tick < opts.until && !opts.shouldStop?.()) {
    world.step();
    const now = performance.now();
    if (now - last >= every) {
      last = now;
      opts.onProgress?.(world);
      await yieldNow();
    }
  }
  opts.onProgress?.(world);
}
