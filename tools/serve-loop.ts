// The loop of `townlet serve` (tools/serve.ts): steps the world flat out or paced, pausable.
import { World } from "../engine/world.ts";
import { MAX_TICK_INTERVAL_MS, REALTIME_TICK_MS } from "../engine/loop.ts";
import { ConsoleKey, type ConsoleService } from "../systems/console/index.ts";
import { TelemetryPublisherKey } from "../systems/telemetry/index.ts";

/** What the loop steps: a World, or a sharded world's blocks (tools/serve-shards.ts). */
export interface ServeTarget {
  /** Ticks completed. */
  readonly tick: number;
  /** One tick, its console commands applied and its telemetry published. */
  step(): void | Promise<void>;
  /** Between ticks: applies the queued commands of `at` ("all" for a paused loop) and publishes when any ran, or when `force`. */
  between(at: "boundary" | "all", force: boolean): void | Promise<void>;
}

/** A World as the loop steps it: its console and telemetry publisher in the world. */
function worldTarget(w: World): ServeTarget {
  const svc = w.resource(ConsoleKey);
  const pub = w.resource(TelemetryPublisherKey);
  return {
    get tick() {
      return w.tick;
    },
    step: () => w.step(),
    between(at, force) {
      if (svc.drain(at) > 0 || force) pub.publishNow();
    },
  };
}

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
  readonly target: ServeTarget;

  constructor(
    world: World | ServeTarget,
    readonly until: number | null,
    tps: number | null,
    private readonly onReached?: () => void,
  ) {
    this.tps = tps;
    this.target = world instanceof World ? worldTarget(world) : world;
  }

  status() {
    const reached = this.until !== null && this.target.tick >= this.until;
    return {
      state: this.stopped ? "stopped" : this.paused ? "paused" : reached ? "finished" : "running",
      tick: this.target.tick,
      until: this.until,
      ticks_per_second: this.tps,
      speed: this.tps === null ? null : this.tps / (1000 / REALTIME_TICK_MS),
      // Why the loop stopped, when a tick threw (a sharded world's block names itself and the tick).
      ...(this.error !== undefined ? { error: this.error instanceof Error ? this.error.message : String(this.error) } : {}),
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
  private async waitForNextTick(tickAt: number): Promise<number> {
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
      const r = this.target.between("boundary", false);
      if (r) await r;
    }
  }

  private async run(): Promise<void> {
    const w = this.target;
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
        const changed = this.changed;
        this.changed = false;
        try {
          const r = w.between("all", changed);
          if (r) await r;
        } catch (e) {
          this.error = e;
          this.stopped = true;
          break;
        }
        await sleep(10);
        next = performance.now();
        continue;
      }
      try {
        const t0 = performance.now();
        const r = w.step();
        if (r) await r;
        this.onStep?.(performance.now() - t0);
      } catch (e) {
        this.error = e;
        this.stopped = true;
        break;
      }
      const now = performance.now();
      if (this.tps !== null) {
        try {
          next = await this.waitForNextTick(next);
        } catch (e) {
          this.error = e;
          this.stopped = true;
          break;
        }
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

/** The console's pause, resume, speed and status: the loop's (a World's serve and a sharded world's). */
export function bindLoop(svc: ConsoleService, loop: ServeLoop): void {
  svc.bind({
    loop: {
      pause: () => {
        loop.paused = true;
        loop.announce();
        return loop.status();
      },
      resume: () => {
        loop.paused = false;
        loop.announce();
        return loop.status();
      },
      speed: (tps) => {
        loop.tps = tps;
        loop.announce();
        return loop.status();
      },
      status: () => loop.status(),
    },
  });
}

/** What the serve options say about the loop (tools/serve.ts ServeOptions). */
export interface LoopOptions {
  ticks?: number | null;
  ticksPerSecond?: number | null;
  paused?: boolean;
  onReached?: () => void;
}

/**
 * The loop of a serve (a World's or a sharded world's): paused or not as asked, each tick's time
 * to `onStep`, the console's pause/resume/speed/status bound to it, and its state (less the tick)
 * published as the `loop` section through `addSection`, which the observer page shows.
 */
export function makeServeLoop(target: World | ServeTarget, o: LoopOptions, svc: ConsoleService, onStep: (ms: number) => void, addSection: (name: string, fn: () => unknown) => void): ServeLoop {
  const loop = new ServeLoop(target, o.ticks ?? null, o.ticksPerSecond ?? null, o.onReached);
  loop.paused = o.paused ?? false;
  loop.onStep = onStep;
  bindLoop(svc, loop);
  addSection("loop", () => {
    const { tick: _tick, ...rest } = loop.status();
    void _tick;
    return rest;
  });
  return loop;
}
