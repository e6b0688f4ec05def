// The world's tick (World.step): every phase, every system in schedule order, then the tasks
// deferred to the end of the tick and the tick listeners; optional timing per system (totals, and
// with a row count each system's ms in each of the next ticks, for tick-latency attribution).
import { BEAT_SCHEDULE, BEAT_SEQ, BEAT_SYSTEM, BEAT_TICK, heartbeat, scheduleId } from "./heartbeat.ts";
import type { Phase } from "./phases.ts";
import { SystemError } from "./world-types.ts";
import type { RunnableSystem } from "./world-plugins.ts";
import type { World } from "./world.ts";

/** What per-system timing reads: the wall clock or this process's CPU time. */
export type TimingClock = "wall" | "cpu";

/** CPU ms of this process so far (user + system). */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs a world's ticks: its systems by phase, its end-of-tick tasks and listeners, its timing. */
export class TickRunner {
  /** Systems by phase index, in schedule order (set with setSystems). */
  systems: RunnableSystem[][] = [];
  /** Index of each phase's first system in schedule order (flat index = phaseBase[p] + i). */
  private phaseBase = new Int32Array(0);
  private systemCount = 0;
  /** This schedule's id in the heartbeat (engine/heartbeat.ts: which system a stuck tick is in). */
  private beatSchedule = 0;
  /** True while a tick runs. */
  inTick = false;
  /** The current phase index while a tick runs. */
  phase = 0;
  /** Deferred to the end of the current tick (World.atTickEnd). */
  tickEndTasks: (() => void)[] = [];
  private readonly tickListeners: ((w: World) => void)[] = [];
  /** Milliseconds spent in each system since timing was enabled, by flat schedule index. */
  private timing: Float64Array | undefined;
  /** Per-tick record (enableTiming(rows)): ms of system k in recorded tick r at [r * systemCount + k]. */
  private tickLog: Float64Array | undefined;
  /** The tick number of each recorded row, and the rows filled. */
  private tickLogTicks = new Int32Array(0);
  private tickLogRows = 0;
  /** Timing reads process CPU time instead of the wall clock. */
  private cpuClock = false;

  /** Sets the schedule (systems by phase index). */
  setSystems(systems: RunnableSystem[][]): void {
    this.systems = systems;
    this.phaseBase = new Int32Array(systems.length);
    let n = 0;
    for (let p = 0; p < systems.length; p++) {
      this.phaseBase[p] = n;
      n += systems[p].length;
    }
    this.systemCount = n;
    this.beatSchedule = scheduleId(systems.flatMap((list) => list.map((sys) => ({ system: sys.name, plugin: sys.plugin }))));
    this.timing = undefined;
    this.tickLog = undefined;
    this.tickLogRows = 0;
  }

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
    // The heartbeat (engine/heartbeat.ts): one store set per system, 0 again whenever this returns.
    const beat = heartbeat.words;
    beat[BEAT_SCHEDULE] = this.beatSchedule;
    beat[BEAT_TICK] = tick;
    try {
      this.runSystems(world, tick, p0, i0, resumed, stopP, stopI, beat);
    } finally {
      beat[BEAT_SYSTEM] = 0;
      beat[BEAT_SEQ]++;
    }
  }

  private runSystems(world: World, tick: number, p0: number, i0: number, resumed: boolean, stopP: number, stopI: number, beat: Int32Array<ArrayBufferLike>): void {
    this.inTick = true;
    if (!resumed) {
      world.messages.beginTick();
      // A row left part-filled by a tick that threw starts over.
      const log = this.tickLog;
      if (log !== undefined && this.tickLogRows < this.tickLogTicks.length) log.fill(0, this.tickLogRows * this.systemCount, (this.tickLogRows + 1) * this.systemCount);
    }
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
          beat[BEAT_SYSTEM] = this.phaseBase[p] + i + 1;
          beat[BEAT_SEQ]++;
          const ctx = sys.ctx;
          ctx.tick = tick;
          ctx.agents = world.agents;
          ctx.spans = world.spans;
          if (this.timing === undefined) sys.def.run(ctx);
          else this.runTimed(sys, this.phaseBase[p] + i);
        }
      }
      sys = undefined;
      world.messages.endTick();
      world.tick = tick;
      if (this.tickLog !== undefined && this.tickLogRows < this.tickLogTicks.length) this.tickLogTicks[this.tickLogRows++] = tick;
    } catch (err) {
      if (sys) throw new SystemError(sys.name, tick, sys.phase, err);
      throw err;
    } finally {
      if (this.paused === undefined) this.inTick = false;
    }
    beat[BEAT_SYSTEM] = this.systemCount + 1;
    beat[BEAT_SEQ]++;
    if (this.tickEndTasks.length > 0) {
      const tasks = this.tickEndTasks;
      this.tickEndTasks = [];
      for (const t of tasks) t();
    }
    for (let i = 0; i < this.tickListeners.length; i++) this.tickListeners[i](world);
  }

  /** Runs one system, adding its ms to its total (and to the current tick's row when recording). */
  private runTimed(sys: RunnableSystem, k: number): void {
    const cpu = this.cpuClock;
    const t0 = cpu ? cpuMs() : performance.now();
    sys.def.run(sys.ctx);
    const dt = (cpu ? cpuMs() : performance.now()) - t0;
    this.timing![k] += dt;
    const log = this.tickLog;
    if (log !== undefined && this.tickLogRows < this.tickLogTicks.length) log[this.tickLogRows * this.systemCount + k] += dt;
  }

  /**
   * Starts (or restarts) recording the time each system takes; with `rows` > 0 also each system's
   * ms in each of the next `rows` completed ticks (systemTickTimes), allocated here, once.
   * `clock`: wall-clock ms (performance.now), or the process's CPU ms (process.cpuUsage: user +
   * system of all its threads, microsecond steps), which other processes on the core do not inflate.
   */
  enableTiming(rows = 0, clock: TimingClock = "wall"): void {
    if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`enableTiming: rows must be a non-negative integer, got ${rows}`);
    if (clock !== "wall" && clock !== "cpu") throw new RangeError(`enableTiming: clock must be "wall" or "cpu", got "${String(clock)}"`);
    this.cpuClock = clock === "cpu";
    this.timing = new Float64Array(this.systemCount);
    this.tickLog = rows > 0 ? new Float64Array(rows * this.systemCount) : undefined;
    this.tickLogTicks = new Int32Array(rows);
    this.tickLogRows = 0;
  }

  /** The system names in schedule order (the flat index of systemTickTimes' columns). */
  systemNames(): string[] {
    const out: string[] = [];
    for (const list of this.systems) for (const s of list) out.push(s.name);
    return out;
  }

  /** Milliseconds per system since enableTiming, in schedule order. */
  systemTimes(): { system: string; phase: Phase; ms: number }[] {
    const out: { system: string; phase: Phase; ms: number }[] = [];
    let k = 0;
    for (const list of this.systems) for (const s of list) out.push({ system: s.name, phase: s.phase, ms: this.timing?.[k++] ?? 0 });
    return out;
  }

  /**
   * The per-tick record since enableTiming(rows): `ms[r * systems.length + k]` is system k's ms
   * in the tick numbered `ticks[r]` (only completed ticks, at most `rows`). Undefined without rows.
   */
  systemTickTimes(): { systems: string[]; ticks: Int32Array; ms: Float64Array } | undefined {
    if (this.tickLog === undefined) return undefined;
    const rows = this.tickLogRows;
    return { systems: this.systemNames(), ticks: this.tickLogTicks.slice(0, rows), ms: this.tickLog.slice(0, rows * this.systemCount) };
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
