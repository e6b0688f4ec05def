// A worker thread's heartbeat and the main thread's watch on it. A worker that throws, dies or
// exits is seen at once (its error and exit events); one stuck in a system that never returns (an
// endless loop in a plug-in) sends nothing, so without this the main thread would wait forever.
// The worker adds 1 to a shared word after each unit of progress (a block's tick); while the main
// thread waits on a request that ticks, it checks the word a few times a second and, when the word
// has not moved for `seconds`, reports the stall (the caller stops the worker and fails the run
// with an error naming the worker, block and tick). Nothing per agent: one atomic add per block tick.

/** The default limit: far above any tick of a block (a 1M-agent block ticks in well under a second). */
export const DEFAULT_WATCHDOG_SECONDS = 60;

/** A worker stopped by its watchdog (the message names the worker, block and tick). */
export class WorkerStallError extends Error {
  override name = "WorkerStallError";
}

/** What the stall callback is told: how long the word stood still, and the ticks of blocks done since arm(). */
export interface Stall {
  stalledMs: number;
  beatsSinceArm: number;
}

export class Watchdog {
  /** The shared word (give it to the worker: `new Int32Array(buffer)`, then heartbeat()). */
  readonly buffer = new SharedArrayBuffer(4);
  private readonly word = new Int32Array(this.buffer);
  private timer: ReturnType<typeof setInterval> | undefined;
  private armed = 0;
  private armBeat = 0;
  private seen = 0;
  private since = 0;

  /** `seconds` <= 0: never fires. */
  constructor(
    readonly seconds: number,
    private readonly onStall: (s: Stall) => void,
  ) {
    if (!Number.isFinite(seconds)) throw new RangeError(`watchdog: seconds must be a finite number, got ${seconds}`);
  }

  /** A request that ticks was sent: watch until disarm() (nested arms count). */
  arm(): void {
    if (this.seconds <= 0) return;
    if (this.armed++ > 0) return;
    this.armBeat = this.seen = Atomics.load(this.word, 0);
    this.since = Date.now();
    // Unref'd: the worker keeps the process alive while it runs; this timer never does.
    this.timer = setInterval(() => this.check(), Math.max(20, Math.min(500, this.seconds * 250)));
    this.timer.unref();
  }

  /** Its reply came (or it failed). */
  disarm(): void {
    if (this.armed === 0) return;
    if (--this.armed === 0) this.stop();
  }

  /** Stops watching for good (the worker was closed or failed). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.armed = 0;
  }

  private check(): void {
    const b = Atomics.load(this.word, 0);
    const now = Date.now();
    if (b !== this.seen) {
      this.seen = b;
      this.since = now;
      return;
    }
    if (now - this.since < this.seconds * 1000) return;
    const stall = { stalledMs: now - this.since, beatsSinceArm: (b - this.armBeat) | 0 };
    this.stop();
    this.onStall(stall);
  }
}

/** The worker's side: one unit of progress done (no-op without a word). */
export function heartbeat(word: Int32Array | undefined): void {
  if (word !== undefined) Atomics.add(word, 0, 1);
}
