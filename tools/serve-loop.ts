// The loop of `townlet serve` (tools/serve.ts): steps the world flat out or paced, pausable.
import type { World } from "../engine/world.ts";
import { MAX_TICK_INTERVAL_MS, REALTIME_TICK_MS } from "../engine/loop.ts";
import type { ConsoleService } from "../systems/console/index.ts";
import type { TelemetryPublisher } from "../systems/telemetry/index.ts";

/** Steps the world: flat out, or paced; pausable; applies commands while paused. */
export class ServeLoop {
  paused = false;
  /** Ticks per second; null = as fast as possible. */
  tps: number | null;
  stopped = false;
  /** Set when a tick threw: the loop stops and the server reports it. */
  error: unknown;
  /** Told each tick's wall time, ms (GET /metrics). */
  onStep: ((ms: number) => void) | undefined;
  private done: Promise<void> | undefined;
  private reachedLogged = false;
  /** The loop's state changed between ticks (a pause applies after the tick's publish). */
  private changed = false;

  constructor(
    readonly world: World,
    readonly until: number | null,
    tps: number | null,
    private readonly onReached?: () => void,
  ) {
    this.tps = tps;
  }

  status() {
    const reached = this.until !== null && this.world.tick >= this.until;
    return {
      state: this.stopped ? "stopped" : this.paused ? "paused" : reached ? "finished" : "running",
      tick: this.world.tick,
      until: this.until,
      ticks_per_second: this.tps,
      speed: this.tps === null ? null : this.tps / (1000 / REALTIME_TICK_MS),
    };
  }

  /** Says the state changed, so that a paused loop still publishes it (the `loop` section). */
  announce(): void {
    this.changed = true;
  }

  start(): Promise<void> {
    this.done ??= this.run();
    return this.done;
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.done ?? Promise.resolve();
  }

  /**
   * A paced loop's wait after the tick scheduled at `tickAt`: in slices of at most
   * WAIT_SLICE_MS, applying boundary commands (pause, speed, snapshots) between them, so they
   * never wait for a slow tick and a speed change takes effect at once; no single timer is long
   * (Node's overflow above 2^31-1 ms cannot happen). Resolves with when the next tick is due.
   */
  private async waitForNextTick(tickAt: number, svc: ConsoleService, pub: TelemetryPublisher): Promise<number> {
    let yielded = false;
    for (;;) {
      if (this.stopped || this.paused || this.tps === null) return performance.now();
      const interval = tickIntervalMs(this.tps);
      const due = tickAt + interval;
      const now = performance.now();
      if (due <= now) {
        if (!yielded) await yieldNow();
        // Late by more than an interval: start afresh rather than run a burst of ticks.
        return now - due < interval ? due : now;
      }
      await sleep(Math.min(due - now, WAIT_SLICE_MS));
      yielded = true;
      if (svc.drain("boundary") > 0) pub.publishNow();
    }
  }

  private async run(): Promise<void> {
    const w = this.world;
    const svc = w.state<ConsoleService>("console");
    const pub = w.state<TelemetryPublisher>("telemetry");
    let next = performance.now();
    let lastYield = performance.now();
    while (!this.stopped) {
      const reached = this.until !== null && w.tick >= this.until;
      if (reached && !this.reachedLogged) {
        this.reachedLogged = true;
        this.changed = true;
        this.onReached?.();
        if (this.stopped) break;
      }
      if (this.paused || reached) {
        // Between ticks: commands apply now, and clients see their effect at once.
        if (svc.drain("all") > 0 || this.changed) pub.publishNow();
        this.changed = false;
        await sleep(10);
        next = performance.now();
        continue;
      }
      try {
        const t0 = performance.now();
        w.step();
        this.onStep?.(performance.now() - t0);
      } catch (e) {
        this.error = e;
        this.stopped = true;
        break;
      }
      const now = performance.now();
      if (this.tps !== null) {
        next = await this.waitForNextTick(next, svc, pub);
        lastYield = performance.now();
      } else if (now - lastYield >= 10) {
        await yieldNow();
        lastYield = performance.now();
      }
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** Longest single wait of a paced loop, ms: boundary commands and a stop apply within it. */
const WAIT_SLICE_MS = 50;
const tickIntervalMs = (tps: number) => Math.min(1000 / tps, MAX_TICK_INTERVAL_MS);
const yieldNow = () => new Promise<void>((r) => setImmediate(r));
