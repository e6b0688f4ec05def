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

  /** Where a tick split by stepTo() stopped: the phase, the index of the system not yet run, the tick. */
  private paused: { p: number; i: number; tick: number } | undefined;

  /** Runs one tick of `world`: every phase, every system in schedule order. */
  step(world: World): void {
    if (this.paused) throw new Error("world.step() while a tick is paused (stepTo): call stepRest() first");
    if (this.inTick) throw new Error("world.step() called from inside a tick");
    this.runFrom(world, world.tick + 1, 0, 0, false, -1, -1);
  }

  /**
   * Runs the first part of a tick: every system before the one named `system` (which is not run),
   * then stops inside the tick; `stepRest` runs the rest. A sharded rollout builds every block's
   * decisions this way before one policy batch over all of them (training/sharded-*.ts).
   */
  stepTo(world: World, system: string): void {
    if (this.paused) throw new Error("world.stepTo() while a tick is paused: call stepRest() first");
    if (this.inTick) throw new Error("world.stepTo() called from inside a tick");
    let sp = -1;
    let si = -1;
    for (let p = 0; p < this.systems.length && sp < 0; p++) {
      const i = this.systems[p].findIndex((s) => s.name === system);
      if (i >= 0) [sp, si] = [p, i];
    }
    if (sp < 0) throw new Error(`world.stepTo(): no system "${system}" in the schedule`);
    this.runFrom(world, world.tick + 1, 0, 0, false, sp, si);
  }

  /** Runs the rest of a tick paused by stepTo(). */
  stepRest(world: World): void {
    const at = this.paused;
    if (!at) throw new Error("world.stepRest(): no tick is paused (call stepTo() first)");
    this.paused = undefined;
    this.runFrom(world, at.tick, at.p, at.i, true, -1, -1);
  }

  /**
   * Runs systems from phase p0, system i0 (`resumed`: that phase has begun already) to the end of
   * the tick, or up to (not including) system (stopP, stopI), where the tick stays open.
   */
  private runFrom(world: World, tick: number, p0: number, i0: number, resumed: boolean, stopP: number, stopI: number): void {
    this.inTick = true;
    if (!resumed) world.messages.beginTick();
    let sys: RunnableSystem | undefined;
    try {
      for (let p = p0; p < this.systems.length; p++) {
        this.phase = p;
        if (!resumed || p !== p0) world.messages.beginPhase(p);
        const list = this.systems[p];
        for (let i = p === p0 ? i0 : 0; i < list.length; i++) {
          if (p === stopP && i === stopI) {
            this.paused = { p, i, tick };
            return;
          }
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
      if (this.paused === undefined) this.inTick = false;
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
