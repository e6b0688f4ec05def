// The employment plug-in's resource: job tables compiled from `jobs` at world build, per-agent
// attendance samples and absence ticks (fixed-size rings in typed arrays indexed by entity, the
// absence ring sized from the config: see absenceSlots), the exit queue, manual approvals and the
// run's counters. Snapshotted and hashed.
import type { PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { compileJobs, type JobTable } from "../../components/jobs.ts";
import { Employment, type EmploymentService } from "../../components/people.ts";
import { didYouMean } from "../../engine/text.ts";
import { ticksPerDay, type DaySettings } from "../../engine/clock.ts";
import type { ShiftKernel } from "./shifts.ts";

/** Most absence ticks kept per agent; absent_shifts_7d saturates here (max_absent_shifts is <= 20). */
export const ABSENCE_SLOTS = 32;
/** Absences count toward absent_shifts_7d for this many review windows ("days"). */
export const ABSENCE_DAYS = 7;
/** EmploymentState.attn bits: the agent must be looked at by the shifts pass even on a steady job. */
export const A_DIRTY = 1;

/** Version of save()'s layout; load() refuses another (issue #19: absence rings resized). */
export const EMPLOYMENT_STATE_VERSION = 2;

/**
 * Absence ticks one agent can hold at once under the shift rules: an absence is recorded at most
 * once per shift, one job has one shift per day (ticksPerDay ticks) and absences are kept
 * for ABSENCE_DAYS * exit_review_window ticks, so at most floor(horizon / day) + 2 shifts (the
 * two partial ones at the ends) fall inside the horizon: 9 with the defaults (1440 / 1440).
 * Capped at ABSENCE_SLOTS. More is possible only by reassigning an agent's job within a day
 * (console, scenarios); then, as with a full ring before, the oldest absence is overwritten.
 */
export function absenceSlots(settings: { employment: { exit_review_window: number } } & DaySettings): number {
  const horizon = ABSENCE_DAYS * settings.employment.exit_review_window;
  const day = ticksPerDay(settings);
  return Math.min(ABSENCE_SLOTS, Math.floor(horizon / day) + 2);
}

interface Saved {
  version: number;
  day: number;
  exitDay: number;
  exitsToday: number;
  counters: number[];
  wagesPaid: number[];
  queue: number[];
  manualOrder: number[];
  agents: number[][];
}

export class EmploymentState implements PersistentState, EmploymentService {
  readonly jobs: JobTable;
  /** Attendance samples kept per agent (employment.attendance_window). */
  readonly window: number;
  /** Absence ticks kept per agent (absenceSlots). */
  readonly slots: number;

  // Per agent (index: entity id).
  attSamples: Float32Array;
  attCount: Uint8Array;
  attHead: Uint8Array;
  /**
   * Absence rings: `slots` ticks per block, a block taken from a pool by an agent's first kept
   * absence and given back when none is kept (issue #19: memory by use, not a ring per entity
   * id). `absBlock[eid]` is the block's first slot, -1 = none.
   */
  absTicks: Int32Array;
  absBlock: Int32Array;
  absCount: Uint8Array;
  absHead: Uint8Array;
  private absBlocks = 0;
  private absFree: number[] = [];
  /**
   * Not state: every absence recorded, by the tick it was recorded, oldest first (issue #19): a
   * FIFO ring of (tick, entity id) pairs, `expLen` from `expHead`, its size a power of two. An
   * absence expires horizon + 1 ticks after it was recorded, so expireAbsences finds the agents
   * with one expiring at the head, without looking at every agent that keeps absences each tick.
   * Entries of absences no longer kept (overwritten, cleared at an exit or removal) stay until
   * their tick and are then passed over.
   */
  private expTick = new Int32Array(64);
  private expEid = new Int32Array(64);
  private expHead = 0;
  private expLen = 0;
  /** Not state: false after an absence was recorded out of tick order (a load): sorted before use. */
  private expSorted = true;
  /** 1 = an operator approved this agent's exit; it leaves at the next review. */
  manual: Uint8Array;
  /** absent_shifts_7d when an operator deferred the exit, -1 = not deferred. */
  deferAt: Int32Array;
  /** Tick the agent joined the exit queue. */
  enqueuedTick: Int32Array;
  /**
   * Not state (issue #19, shifts on events): A_DIRTY = spawned or given a job since the shifts
   * pass last looked at it. An agent without it, whose job is outside its window this tick as it
   * was last tick, is skipped by the pass but for absent_shifts_7d set to its kept absences
   * (a hand edit put back); its absences expire in expireAbsences.
   */
  attn: Uint8Array;
  /** Not state: each job's outside-the-window state last tick (index nJobs: agents without a job); -2 = unknown. */
  prevOut: Int8Array;
  /** Not state: 1 = the job's agents are outside the window this tick as last tick (per job, as prevOut). */
  steady: Uint8Array;
  /**
   * Not state: false = every pass looks at every agent and the exit queue at every agent (the
   * behaviour before issue #19; tests compare the two).
   */
  skipSteady = true;
  /** Not state: the tick of the last shifts pass (-2 = none since build or load: the next pass looks at everyone). */
  passTick = -2;
  /** Not state: the shifts pass's inputs and event buffer (shifts.ts), made on its first tick. */
  kernel: ShiftKernel | undefined;
  /** Not state: whether this tick's pass looked at every agent. */
  fullPass = true;
  /** Not state: agents given an absence this tick, in pass order (the exit queue's candidates). */
  absentNow: Int32Array = new Int32Array(16);
  absentNowN = 0;

  /** Day index (tick / exit_review_window) of the last daily reset of late ticks and withheld wages. */
  day = -1;
  /** Day index of the exit queue's `exitsToday`. */
  exitDay = -1;
  exitsToday = 0;
  /** Exit queue, oldest first (entity ids). */
  queue: number[] = [];
  /** Manually approved exits, in approval order (entity ids). */
  manualOrder: number[] = [];

  // Run totals (KPIs).
  jobLate = 0;
  shiftAbsent = 0;
  onTime = 0;
  exits = 0;
  overflows = 0;
  /** Wages paid per town since the run began (the town column is Float32; this is exact). */
  wagesPaid: Float64Array;

  constructor(private readonly world: World) {
    this.jobs = compileJobs(world.settings);
    this.window = world.settings.employment.attendance_window;
    this.slots = absenceSlots(world.settings);
    // Per-agent arrays: agents take the low entity ids (issue #19; they grow past on a higher one).
    const cap = world.agentIdLimit();
    this.attSamples = new Float32Array(cap * this.window);
    this.attCount = new Uint8Array(cap);
    this.attHead = new Uint8Array(cap);
    this.absTicks = new Int32Array(64 * this.slots);
    this.absBlock = new Int32Array(cap).fill(-1);
    this.absCount = new Uint8Array(cap);
    this.absHead = new Uint8Array(cap);
    this.manual = new Uint8Array(cap);
    this.deferAt = new Int32Array(cap).fill(-1);
    this.enqueuedTick = new Int32Array(cap);
    this.attn = new Uint8Array(cap).fill(A_DIRTY);
    this.prevOut = new Int8Array(this.jobs.names.length + 1).fill(-2);
    this.steady = new Uint8Array(this.jobs.names.length + 1);
    this.wagesPaid = new Float64Array(world.towns);
  }

  /** Records that `eid` got an absence this tick (the exit queue looks at these agents). */
  noteAbsent(eid: number): void {
    if (this.absentNowN === this.absentNow.length) {
      const a = new Int32Array(this.absentNow.length * 2);
      a.set(this.absentNow);
      this.absentNow = a;
    }
    this.absentNow[this.absentNowN++] = eid;
  }

  /** Gives an agent a job by name (scenarios, the console); throws for an unknown job. */
  assignJob(eid: number, jobName: string): void {
    const names = this.jobs.names;
    const j = names.indexOf(jobName);
    if (j < 0) {
      const known = names.length ? names.map((n) => `"${n}"`).join(", ") : "none";
      throw new Error(`assignJob: unknown job "${jobName}" for agent ${this.world.agentName(eid)}; jobs are ${known}${didYouMean(jobName, names)}`);
    }
    if (!this.world.has(eid, Employment)) this.world.addComponent(eid, Employment);
    this.world.columns(Employment).job[eid] = j;
    this.ensure(eid + 1);
    this.attn[eid] |= A_DIRTY;
  }

  /** Makes room for entity ids below `n` (at least a quarter more). */
  ensure(n: number): void {
    const cap = this.attCount.length;
    if (n <= cap) return;
    const c = Math.max(n, Math.ceil(cap * 1.25));
    const grow = <A extends Float32Array | Uint8Array | Int32Array>(a: A, size: number, fill = 0): A => {
      const b = new (a.constructor as new (n: number) => A)(size);
      if (fill !== 0) b.fill(fill);
      b.set(a);
      return b;
    };
    this.attSamples = grow(this.attSamples, c * this.window);
    this.attCount = grow(this.attCount, c);
    this.attHead = grow(this.attHead, c);
    this.absBlock = grow(this.absBlock, c, -1);
    this.absCount = grow(this.absCount, c);
    this.absHead = grow(this.absHead, c);
    this.manual = grow(this.manual, c);
    this.deferAt = grow(this.deferAt, c, -1);
    this.enqueuedTick = grow(this.enqueuedTick, c);
    const attn = new Uint8Array(c).fill(A_DIRTY);
    attn.set(this.attn);
    this.attn = attn;
  }

  /** Forgets an agent (spawn of a recycled id, removal, exit). */
  clearAgent(eid: number): void {
    this.attCount[eid] = 0;
    this.attHead[eid] = 0;
    this.attSamples.fill(0, eid * this.window, (eid + 1) * this.window);
    this.clearAbsences(eid);
    this.manual[eid] = 0;
    this.deferAt[eid] = -1;
    this.enqueuedTick[eid] = 0;
    this.attn[eid] = A_DIRTY;
  }

  clearAbsences(eid: number): void {
    this.absCount[eid] = 0;
    this.absHead[eid] = 0;
    this.releaseRing(eid);
  }

  /** The first slot of eid's absence ring, taken from the pool when it has none. */
  private ring(eid: number): number {
    const held = this.absBlock[eid];
    if (held >= 0) return held;
    const K = this.slots;
    let blk = this.absFree.pop();
    if (blk === undefined) {
      blk = this.absBlocks++;
      if (this.absBlocks * K > this.absTicks.length) {
        const t = new Int32Array(Math.max(this.absBlocks, Math.ceil((this.absTicks.length / K) * 1.25)) * K);
        t.set(this.absTicks);
        this.absTicks = t;
      }
    }
    this.absBlock[eid] = blk * K;
    return blk * K;
  }

  /** Gives eid's ring back to the pool (no-op without one). */
  private releaseRing(eid: number): void {
    const base = this.absBlock[eid];
    if (base < 0) return;
    this.absTicks.fill(0, base, base + this.slots);
    this.absBlock[eid] = -1;
    this.absFree.push(base / this.slots);
  }

  /** Adds a finished shift's on-time fraction; returns the mean of the kept samples. */
  addAttendance(eid: number, sample: number): number {
    const w = this.window;
    const base = eid * w;
    this.attSamples[base + this.attHead[eid]] = sample;
    this.attHead[eid] = (this.attHead[eid] + 1) % w;
    if (this.attCount[eid] < w) this.attCount[eid]++;
    const n = this.attCount[eid];
    let sum = 0;
    // The kept samples are the first n slots until the ring is full, then all w.
    for (let k = 0; k < n; k++) sum += this.attSamples[base + k];
    return sum / n;
  }

  addAbsence(eid: number, tick: number): void {
    const K = this.slots;
    const base = this.ring(eid);
    this.scheduleExpiry(eid, tick);
    const n = this.absCount[eid];
    if (n === K) {
      // Full: the oldest slot (head) is overwritten.
      this.absTicks[base + this.absHead[eid]] = tick;
      this.absHead[eid] = (this.absHead[eid] + 1) % K;
      return;
    }
    this.absTicks[base + ((this.absHead[eid] + n) % K)] = tick;
    this.absCount[eid] = n + 1;
  }

  /** The k-th kept absence tick of an agent, oldest first (k < absCount). */
  absence(eid: number, k: number): number {
    return this.absTicks[this.absBlock[eid] + ((this.absHead[eid] + k) % this.slots)];
  }

  /** Drops absences older than `horizon` ticks; returns how many remain. */
  pruneAbsences(eid: number, tick: number, horizon: number): number {
    let n = this.absCount[eid];
    if (n === 0) return 0;
    const K = this.slots;
    const base = this.absBlock[eid];
    let head = this.absHead[eid];
    while (n > 0 && tick - this.absTicks[base + head] > horizon) {
      head = (head + 1) % K;
      n--;
    }
    this.absCount[eid] = n;
    this.absHead[eid] = n === 0 ? 0 : head;
    if (n === 0) this.releaseRing(eid);
    return n;
  }

  /**
   * Drops the absences older than `horizon` ticks at `tick` of every agent keeping one, and sets
   * its absent_shifts_7d (`absent7d`) to the count left: what pruning every such agent each tick
   * does, on the agents whose oldest absence expires now only (issue #19: the work follows the
   * absences recorded horizon + 1 ticks ago, not the agents keeping absences, which grow all week).
   */
  expireAbsences(tick: number, horizon: number, absent7d: Uint8Array): void {
    if (!this.expSorted) this.sortExpiries();
    const mask = this.expTick.length - 1;
    while (this.expLen > 0) {
      const h = this.expHead;
      if (tick - this.expTick[h] <= horizon) return;
      const eid = this.expEid[h];
      this.expHead = (h + 1) & mask;
      this.expLen--;
      // Passed over: an absence no longer kept (the agent's oldest kept one is younger).
      if (this.absCount[eid] > 0 && tick - this.absence(eid, 0) > horizon) absent7d[eid] = this.pruneAbsences(eid, tick, horizon);
    }
  }

  /** Absences waiting in the expiry schedule (kept or not), for tests. */
  get expiriesPending(): number {
    return this.expLen;
  }

  /** Appends (tick, eid) to the expiry schedule, doubling it when full. */
  private scheduleExpiry(eid: number, tick: number): void {
    let cap = this.expTick.length;
    if (this.expLen === cap) {
      const t = new Int32Array(cap * 2);
      const e = new Int32Array(cap * 2);
      for (let k = 0; k < cap; k++) {
        t[k] = this.expTick[(this.expHead + k) & (cap - 1)];
        e[k] = this.expEid[(this.expHead + k) & (cap - 1)];
      }
      this.expTick = t;
      this.expEid = e;
      this.expHead = 0;
      cap *= 2;
    }
    const mask = cap - 1;
    const at = (this.expHead + this.expLen) & mask;
    if (this.expLen > 0 && tick < this.expTick[(at - 1) & mask]) this.expSorted = false;
    this.expTick[at] = tick;
    this.expEid[at] = eid;
    this.expLen++;
  }

  /** Puts the expiry schedule in tick order (after a load, which records absences agent by agent). */
  private sortExpiries(): void {
    const cap = this.expTick.length;
    const pairs: [number, number][] = [];
    for (let k = 0; k < this.expLen; k++) {
      const at = (this.expHead + k) & (cap - 1);
      pairs.push([this.expTick[at], this.expEid[at]]);
    }
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    pairs.forEach(([t, eid], k) => {
      this.expTick[k] = t;
      this.expEid[k] = eid;
    });
    this.expHead = 0;
    this.expSorted = true;
  }

  /** Takes an agent out of the exit queue and the manual approvals (no-op when absent). */
  dequeue(eid: number): void {
    const i = this.queue.indexOf(eid);
    if (i >= 0) this.queue.splice(i, 1);
    const j = this.manualOrder.indexOf(eid);
    if (j >= 0) this.manualOrder.splice(j, 1);
    this.manual[eid] = 0;
  }

  // ---- PersistentState -------------------------------------------------------------------

  private counters(): number[] {
    return [this.jobLate, this.shiftAbsent, this.onTime, this.exits, this.overflows];
  }

  /** Entity ids with per-agent data, ascending: live agents with an Employment record. */
  private agentIds(): number[] {
    const ids: number[] = [];
    const agents = this.world.agents;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      if (eid < this.attCount.length) ids.push(eid);
    }
    return ids;
  }

  save(): Saved {
    const w = this.window;
    return {
      version: EMPLOYMENT_STATE_VERSION,
      day: this.day,
      exitDay: this.exitDay,
      exitsToday: this.exitsToday,
      counters: this.counters(),
      wagesPaid: Array.from(this.wagesPaid),
      queue: [...this.queue],
      manualOrder: [...this.manualOrder],
      agents: this.agentIds().map((eid) => [
        eid,
        this.attCount[eid],
        this.attHead[eid],
        ...Array.from(this.attSamples.subarray(eid * w, (eid + 1) * w)),
        this.manual[eid],
        this.deferAt[eid],
        this.enqueuedTick[eid],
        // The kept absences, oldest first (variable length: the row ends with them).
        this.absCount[eid],
        ...Array.from({ length: this.absCount[eid] }, (_, k) => this.absence(eid, k)),
      ]),
    };
  }

  load(data: unknown): void {
    const d = data as Saved;
    if (typeof d !== "object" || d === null || !Array.isArray(d.agents) || !Array.isArray(d.counters)) {
      throw new Error("employment state: saved data is not an employment state (expected day, counters, queue, agents)");
    }
    if (d.version !== EMPLOYMENT_STATE_VERSION) {
      throw new Error(
        `employment state: saved by an earlier Townlet (employment state version ${d.version ?? 1}; this build reads version ${EMPLOYMENT_STATE_VERSION}: absence rings are sized from the config and only kept absences are hashed since issue #19), so its state hash cannot be reproduced; write the snapshot again with this build`,
      );
    }
    const w = this.window;
    const fixed = 3 + w + 3 + 1;
    let maxEid = 0;
    for (const row of d.agents) maxEid = Math.max(maxEid, row[0]);
    this.ensure(maxEid + 1);
    for (let eid = 0; eid < this.attCount.length; eid++) this.clearAgent(eid);
    this.expHead = 0;
    this.expLen = 0;
    this.expSorted = true;
    for (const row of d.agents) {
      const n = row.length >= fixed ? row[fixed - 1] : -1;
      if (row.length !== fixed + n || n > this.slots) {
        throw new Error(
          `employment state: agent row has ${row.length} values, expected ${fixed} + its kept absences, at most ${this.slots} (attendance_window ${w}, absence slots ${this.slots})`,
        );
      }
      const eid = row[0];
      let k = 1;
      this.attCount[eid] = row[k++];
      this.attHead[eid] = row[k++];
      for (let s = 0; s < w; s++) this.attSamples[eid * w + s] = row[k++];
      this.manual[eid] = row[k++];
      this.deferAt[eid] = row[k++];
      this.enqueuedTick[eid] = row[k++];
      k++;
      for (let s = 0; s < n; s++) this.addAbsence(eid, row[k++]);
    }
    this.day = d.day;
    this.exitDay = d.exitDay;
    this.exitsToday = d.exitsToday;
    [this.jobLate, this.shiftAbsent, this.onTime, this.exits, this.overflows] = d.counters;
    this.wagesPaid.fill(0);
    d.wagesPaid.forEach((v, t) => {
      if (t < this.wagesPaid.length) this.wagesPaid[t] = v;
    });
    this.queue = [...d.queue];
    this.manualOrder = [...d.manualOrder];
    // The next shifts pass looks at every agent.
    this.passTick = -2;
    this.prevOut.fill(-2);
  }

  hash(h: StateHasher): void {
    h.u32(this.day).u32(this.exitDay).u32(this.exitsToday);
    for (const c of this.counters()) h.u32(c);
    for (let t = 0; t < this.wagesPaid.length; t++) h.f64(this.wagesPaid[t]);
    h.u32(this.queue.length);
    for (const eid of this.queue) h.u32(eid).u32(this.enqueuedTick[eid]);
    h.u32(this.manualOrder.length);
    for (const eid of this.manualOrder) h.u32(eid);
    const w = this.window;
    for (const eid of this.agentIds()) {
      h.u32(eid).u32(this.attCount[eid]).u32(this.attHead[eid]);
      for (let s = 0; s < w; s++) h.f32(this.attSamples[eid * w + s]);
      // The kept absences only, oldest first: where the ring starts and what expired slots still
      // hold is storage, not state (issue #19).
      const n = this.absCount[eid];
      h.u32(n);
      for (let k = 0; k < n; k++) h.u32(this.absence(eid, k));
      h.u32(this.manual[eid]).u32(this.deferAt[eid]);
    }
  }
}
