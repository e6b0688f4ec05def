// The world's tick (World.step): every phase, every system in schedule order, then the tasks
// deferred to the end of the tick and the tick listeners; optional timing per system.
import type { Phase } from "./phases.ts";
import { SystemError } from "./world-types.ts";
import type { RunnableSystem } from "./world-plugins.ts";
import type { World } from "./world.ts";

/** Runs a world's ticks: its systems by phase, its end-of-tick tasks and listeners, its timing. */
export class TickRunner {
  /** Systems by phase index, in schedule order. */
  systems: RunnableSystem[][] = [];
  /** True while a tick runs. */
  inTick = false;
  /** The current phase index while a tick runs. */
  phase = 0;
  /** Deferred to the end of the current tick (World.atTickEnd). */
  tickEndTasks: (() => void)[] = [];
  private readonly tickListeners: ((w: World) => void)[] = [];
  /** Milliseconds spent in each system since timing was enabled, by system name. */
  private timing: Map<string, number> | undefined;

  /** Runs one tick of `world`: every phase, every system in schedule order. */
  step(world: World): void {
    if (this.inTick) throw new Error("world.step() called from inside a tick");
    const tick = world.tick + 1;
    this.inTick = true;
    world.messages.beginTick();
    let sys: RunnableSystem | undefined;
    try {
      for (let p = 0; p < this.systems.length; p++) {
        this.phase = p;
        world.messages.beginPhase(p);
        const list = this.systems[p];
        for (let i = 0; i < list.length; i++) {
          sys = list[i];
          const ctx = sys.ctx;
          ctx.tick = tick;
          ctx.agents = world.agents;
          ctx.spans = world.spans;
          if (this.timing === undefined) sys.def.run(ctx);
          else {
            const t0 = performance.now();
            sys.def.run(ctx);
            this.timing.set(sys.name, (this.timing.get(sys.name) ?? 0) + performance.now() - t0);
          }
        }
      }
      sys = undefined;
      world.messages.endTick();
      world.tick = tick;
    } catch (err) {
      if (sys) throw new SystemError(sys.name, tick, sys.phase, err);
      throw err;
    } finally {
      this.inTick = false;
    }
    if (this.tickEndTasks.length > 0) {
      const tasks = this.tickEndTasks;
      this.tickEndTasks = [];
      for (const t of tasks) t();
    }
    for (let i = 0; i < this.tickListeners.length; i++) this.tickListeners[i](world);
  }

  /** Starts (or restarts) recording the time each system takes. */
  enableTiming(): void {
    this.timing = new Map();
  }

  /** Milliseconds per system since enableTiming, in schedule order. */
  systemTimes(): { system: string; phase: Phase; ms: number }[] {
    const out: { system: string; phase: Phase; ms: number }[] = [];
    for (const list of this.systems) for (const s of list) out.push({ system: s.name, phase: s.phase, ms: this.timing?.get(s.name) ?? 0 });
    return out;
  }

  /** Calls `fn` after every completed tick. Returns an unsubscribe. */
  onTick(fn: (w: World) => void): () => void {
    this.tickListeners.push(fn);
    return () => {
      const i = this.tickListeners.indexOf(fn);
      if (i >= 0) this.tickListeners.splice(i, 1);
    };
  }

  /** Runs `fn` once the current tick has completed; outside a tick at once. */
  atTickEnd(fn: () => void): void {
    if (!this.inTick) fn();
    else this.tickEndTasks.push(fn);
  }
}
