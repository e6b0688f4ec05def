// The employment/shifts system's tick (systems/employment/index.ts registers it): the shift
// state machine per agent (inventory §3.7). Each tick fills one ShiftKernel (per-job tables,
// the columns) and runs the pass over the agents: typed arrays and numbers only, allocating
// nothing. What touches other objects (absence and attendance rings, messages, counters) the
// pass leaves as events in a buffer, applied after it in the same order (issue #19). The pass
// is generated per world over its arrays (shift-kernel.ts), remade when one of them moves.
// Absences that age out are dropped before it, found by the tick they were recorded.
import { Activity } from "../../components/activity.ts";
import type { SystemContext } from "../../engine/plugin.ts";
import { defineMessage } from "../../engine/message.ts";
import { Town } from "../../engine/core-components.ts";
import type { World } from "../../engine/world.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { Employment, ShiftState, Lifecycle } from "../../components/people.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Position } from "../../components/space.ts";
import { JobLate, ShiftAbsent, ShiftOnTime } from "../../components/messages.ts";
import { SpaceKey } from "../../components/grid.ts";
import type { ComponentDef, Columns } from "../../engine/component.ts";
import { freshCopy } from "../../engine/kernel-source.ts";
import { EmploymentState, ABSENCE_DAYS, A_DIRTY } from "./state.ts";
import { primeShiftPass } from "./shift-prime.ts";
import { settleFactory, shiftFactory, windowFactory, type ShiftArrays, type ShiftCodes, type ShiftPass, type ShiftScalars } from "./shift-kernel.ts";

/** Sent once per shift when a worker who had started the shift leaves it (state left on_time/late). */
export const ShiftDepartedEarly = defineMessage("shift_departed_early", { agent: "eid", job: "int" });

// Employment.flags bits, all cleared when a shift is finalised. Bits 0-2 are the component's
// documented ones; the rest are this plug-in's own per-shift bookkeeping.
export const F_LATE_SENT = 1 << 0;
export const F_ABSENT_SENT = 1 << 1;
export const F_DEPARTED_SENT = 1 << 2;
export const F_LATE_PENALTY = 1 << 3;
export const F_ABSENT_PENALTY = 1 << 4;
export const F_ON_TIME_SENT = 1 << 5;
export const F_STARTED = 1 << 6;

export const UINT16_MAX = 0xffff;

// ShiftState members as module constants: plain loads in the per-agent loop. A property read of
// ShiftState in a branch that first runs mid-run (the first absence, tick ~210 in the bench
// world) has no type feedback, so the optimised loop deoptimised there (issue #19, p99).
export const S_IDLE = ShiftState.Idle;
export const S_AWAIT_START = ShiftState.AwaitStart;
export const S_ON_TIME = ShiftState.OnTime;
export const S_LATE = ShiftState.Late;
export const S_ABSENT = ShiftState.Absent;
export const S_POST_SHIFT = ShiftState.PostShift;

export type EmploymentCtx = SystemContext<
  unknown,
  { Employment: typeof Employment; Position: typeof Position; Wallet: typeof Wallet; Lifecycle: typeof Lifecycle },
  { TownEconomy: typeof TownEconomy },
  EmploymentState
>;

type ColumnsOf<D> = D extends ComponentDef<infer S> ? Columns<S> : never;
type EmploymentColumns = ColumnsOf<typeof Employment>;

/** Runs one tick of the shift state machine for every agent. */
export function runShifts(ctx: EmploymentCtx): void {
  const { world, tick, settings, state, agents } = ctx;
  const K = state.kernel ?? (state.kernel = new ShiftKernel());
  K.fill(ctx, world, tick, settings, state);
  // Absences older than the horizon, before the pass (which reads the kept count).
  state.expireAbsences(tick, ABSENCE_DAYS * settings.employment.exit_review_window, ctx.components.Employment.absent_shifts_7d);
  let i = 0;
  do {
    K.nEvents = 0;
    i = K.pass(agents)(agents, i);
    applyEvents(ctx, K);
  } while (i < agents.length);
}

// Events the kernel leaves for runShifts (4 ints each: code, eid, job, since), in agent order.
const EV_ON_TIME = 3;
const EV_LATE = 4;
const EV_ABSENT = 5;
const EV_DEPARTED = 6;
/** Events one agent can leave in a tick (one of on time / late / absent, then departed), with room to spare. */
export const EVENTS_PER_AGENT = 4;
const EVENT_BUFFER = 4096;

const NO_I32 = new Int32Array(0);

/** The constants of the generated pass (shift-kernel.ts). */
export const SHIFT_CODES: ShiftCodes = Object.freeze({
  S_AWAIT_START,
  S_ON_TIME,
  S_LATE,
  S_ABSENT,
  F_LATE_SENT,
  F_ABSENT_SENT,
  F_DEPARTED_SENT,
  F_LATE_PENALTY,
  F_ABSENT_PENALTY,
  F_ON_TIME_SENT,
  F_STARTED,
  A_DIRTY,
  EV_ON_TIME,
  EV_LATE,
  EV_ABSENT,
  EV_DEPARTED,
  EVENTS_PER_AGENT,
  UINT16_MAX,
});

/** The arrays of ShiftArrays, in the order the generated pass's key compares them. */
export const ARRAY_KEYS = [
  "outside", "steady", "start", "end", "jx", "jy", "wage", "penalty", "workplace",
  "attn", "absCount", "job", "shiftState", "flags", "onShift", "wageThisTick",
  "absent7d", "lateToday", "withheld", "everOnTime", "lastPresent", "onTimeTicks", "scheduled", "latenessCounter", "wagesEarned",
  "money", "px", "py", "town", "holding", "townWages", "wagesPaid", "attSamples", "attHead", "attCount", "attendance", "events",
] as const satisfies readonly (keyof ShiftArrays)[];

/** One tick's inputs of the pass: per-job tables, the columns, settings; and its event buffer. */
export class ShiftKernel implements ShiftArrays, ShiftScalars {
  tick = 0;
  /** Tick of the day. */
  t = 0;
  newDay = 0;
  nJobs = 0;
  grace = 0;
  cutoff = 0;
  slack = 0;
  latePenalty = 0;
  absencePenalty = 0;
  /** 1 = workplace objects count (a spatial index and Activity.holding). */
  objects = 0;
  // Per job (index nJobs: agents without a known job).
  outside: Int8Array = new Int8Array(1);
  steady: Uint8Array = new Uint8Array(1);
  start: Int32Array = NO_I32;
  end: Int32Array = NO_I32;
  jx: Int32Array = NO_I32;
  jy: Int32Array = NO_I32;
  wage: Float64Array = new Float64Array(0);
  penalty: Float64Array = new Float64Array(0);
  /** The object on each job's workplace tile per town (index town * nJobs + job), for jobs in their window. */
  workplace: Int32Array = new Int32Array(0);
  // Per agent.
  attn: Uint8Array = new Uint8Array(0);
  absCount: Uint8Array = new Uint8Array(0);
  job: Int16Array = new Int16Array(0);
  shiftState: Uint8Array = new Uint8Array(0);
  flags: Uint8Array = new Uint8Array(0);
  onShift: Uint8Array = new Uint8Array(0);
  wageThisTick: Float32Array = new Float32Array(0);
  absent7d: Uint8Array = new Uint8Array(0);
  lateToday: Uint16Array = new Uint16Array(0);
  withheld: Float32Array = new Float32Array(0);
  everOnTime: Uint8Array = new Uint8Array(0);
  lastPresent: Int32Array = new Int32Array(0);
  onTimeTicks: Uint16Array = new Uint16Array(0);
  scheduled: Uint16Array = new Uint16Array(0);
  latenessCounter: Uint16Array = new Uint16Array(0);
  wagesEarned: Float32Array = new Float32Array(0);
  money: Float32Array = new Float32Array(0);
  px: Int16Array = new Int16Array(0);
  py: Int16Array = new Int16Array(0);
  town: Uint32Array = new Uint32Array(0);
  holding: Int32Array = NO_I32;
  // Per town.
  townWages: Float32Array = new Float32Array(0);
  wagesPaid: Float64Array = new Float64Array(0);
  attSamples: Float32Array = new Float32Array(0);
  attHead: Uint8Array = new Uint8Array(0);
  attCount: Uint8Array = new Uint8Array(0);
  attendance: Float32Array = new Float32Array(0);
  /** Attendance samples kept per agent. */
  window = 1;
  events: Int32Array = new Int32Array(EVENT_BUFFER * 4);
  nEvents = 0;
  /** Not state: false = a new pass is not primed (tests compare). */
  prime = true;
  /** The generated pass and the arrays it was made for. */
  private made: ShiftPass | undefined;
  private madeFor: Partial<ShiftArrays> = {};

  /**
   * The pass for the arrays held now: generated once per set of arrays (shift-kernel.ts), and
   * given type feedback for every branch on the first of `agents` (shift-prime.ts; its state is
   * left as it was) unless `prime` is off.
   */
  pass(agents: Int32Array): ShiftPass {
    const made = this.madeFor;
    let same = this.made !== undefined;
    for (let k = 0; same && k < ARRAY_KEYS.length; k++) same = made[ARRAY_KEYS[k]] === this[ARRAY_KEYS[k]];
    if (this.made === undefined || !same) {
      const arrays = {} as Record<keyof ShiftArrays, unknown>;
      for (const key of ARRAY_KEYS) arrays[key] = this[key];
      this.madeFor = arrays as ShiftArrays;
      const settle = freshCopy(settleFactory)(arrays as ShiftArrays, this, SHIFT_CODES);
      const step = freshCopy(windowFactory)(arrays as ShiftArrays, this, SHIFT_CODES, settle);
      this.made = freshCopy(shiftFactory)(arrays as ShiftArrays, this, SHIFT_CODES, step);
      if (this.prime && agents.length > 0) primeShiftPass(this.made, this, arrays as ShiftArrays, ARRAY_KEYS, SHIFT_CODES, agents[0]);
    }
    return this.made as ShiftPass;
  }

  /** This tick's tables and columns (no allocation once the scratch tables are sized). */
  fill(ctx: EmploymentCtx, world: World, tick: number, settings: EmploymentCtx["settings"], state: EmploymentState): void {
    const cfg = settings.employment;
    const jobs = state.jobs;
    const nJobs = jobs.names.length;
    const tpd = ticksPerDay(settings);
    const buffer = settings.behavior.job_arrival_buffer;
    const t = tick % tpd;
    const day = Math.floor(tick / cfg.exit_review_window);
    const newDay = day !== state.day;
    state.day = day;
    this.tick = tick;
    this.t = t;
    this.newDay = newDay ? 1 : 0;
    this.nJobs = nJobs;
    this.grace = cfg.grace_ticks;
    this.cutoff = cfg.absent_cutoff;
    this.slack = cfg.absence_slack;
    this.latePenalty = cfg.late_tick_penalty;
    this.absencePenalty = cfg.absence_penalty;
    if (this.outside.length < nJobs + 1) {
      this.outside = new Int8Array(nJobs + 1);
      this.wage = new Float64Array(nJobs);
    }
    this.start = jobs.start;
    this.end = jobs.end;
    this.jx = jobs.x;
    this.jy = jobs.y;
    this.penalty = jobs.latenessPenalty;
    const fallback = settings.economy.wage_income;
    // The shift state of each job's agents outside its window this tick, -1 inside it: computed
    // once per job, not per agent. Index nJobs: agents without a (known) job, always idle.
    const outside = this.outside;
    let inWindow = false;
    for (let j = 0; j < nJobs; j++) {
      const start = jobs.start[j];
      const end = jobs.end[j];
      outside[j] = t < start || t > end ? (t > end ? S_POST_SHIFT : t < start - buffer ? S_IDLE : S_AWAIT_START) : -1;
      if (outside[j] < 0) inWindow = true;
      this.wage[j] = jobs.wage[j] > 0 ? jobs.wage[j] : fallback;
    }
    outside[nJobs] = S_IDLE;
    markSteady(state, outside, nJobs, tick);
    this.steady = state.steady;

    const E = ctx.components.Employment;
    this.attn = state.attn;
    this.absCount = state.absCount;
    this.job = E.job;
    this.shiftState = E.shift_state;
    this.flags = E.flags;
    this.onShift = E.on_shift;
    this.wageThisTick = E.wage_this_tick;
    this.absent7d = E.absent_shifts_7d;
    this.lateToday = E.late_ticks_today;
    this.withheld = E.wages_withheld;
    this.everOnTime = E.ever_on_time;
    this.lastPresent = E.last_present_tick;
    this.onTimeTicks = E.on_time_ticks;
    this.scheduled = E.scheduled_ticks;
    this.latenessCounter = E.lateness_counter;
    this.wagesEarned = E.wages_earned;
    this.money = ctx.components.Wallet.money;
    this.px = ctx.components.Position.x;
    this.py = ctx.components.Position.y;
    this.town = world.columns(Town).id;
    this.townWages = ctx.townState.TownEconomy.wages_paid;
    this.wagesPaid = state.wagesPaid;
    this.attSamples = state.attSamples;
    this.attHead = state.attHead;
    this.attCount = state.attCount;
    this.attendance = E.attendance_ratio;
    this.window = state.window;

    // Workplace objects: the object on each in-window job's tile in every town, looked up once
    // per tick and town (the same lookups the agents of the town made one by one before).
    const space = world.optionalResource(SpaceKey);
    const holding = world.components.isRegistered(Activity) ? world.columns(Activity).holding : undefined;
    this.objects = space !== undefined && holding !== undefined ? 1 : 0;
    this.holding = holding ?? NO_I32;
    // Sized before the first window (the generated pass is made for it: issue #19).
    if (this.workplace.length < world.towns * nJobs) this.workplace = new Int32Array(world.towns * nJobs);
    if (space !== undefined && holding !== undefined && inWindow) {
      const towns = world.towns;
      const wp = this.workplace;
      for (let j = 0; j < nJobs; j++) {
        if (outside[j] >= 0 || jobs.x[j] < 0) continue;
        const tile = jobs.y[j] * space.width + jobs.x[j];
        for (let tw = 0; tw < towns; tw++) wp[tw * nJobs + j] = space.objectOn(tw * space.cells + tile);
      }
    }
  }
}

/**
 * Which jobs are steady this tick: 1 = outside their window as they were last tick, 2 = outside
 * it in another state than last tick's outside state (idle at midnight after the day's end,
 * awaiting the start before it). An agent of a steady job that the last pass handled (no
 * A_DIRTY) has nothing to change this tick but absent_shifts_7d (absences expire before the pass) and, for 2, its shift
 * state: the last pass that handled it outside the window closed its shift (flags, on_shift,
 * wage_this_tick). Every job counts as not steady when the last pass was not last tick (the
 * first tick, after a load). A new day is not a reason (issue #19): its resets (late ticks,
 * withheld wages) are done on the pass's short path for a steady agent, and nothing else of it
 * changes; the exit queue's
 * candidates are still only this tick's absent agents (only an absence raises absent_shifts_7d).
 */
function markSteady(state: EmploymentState, outside: Int8Array, nJobs: number, tick: number): void {
  const full = state.passTick !== tick - 1 || !state.skipSteady;
  const prevOut = state.prevOut;
  const steady = state.steady;
  for (let k = 0; k <= nJobs; k++) {
    const out = outside[k];
    const prev = prevOut[k];
    steady[k] = full || out < 0 ? 0 : prev === out ? 1 : prev >= 0 ? 2 : 0;
    prevOut[k] = out;
  }
  state.passTick = tick;
  state.fullPass = full;
  state.absentNowN = 0;
}

/** The kernel's events, in order: absences recorded, messages, counters. */
function applyEvents(ctx: EmploymentCtx, K: ShiftKernel): void {
  const { state, send, tick } = ctx;
  const E = ctx.components.Employment;
  const ev = K.events;
  for (let e = 0; e < K.nEvents; e++) {
    const b = e * 4;
    const eid = ev[b + 1];
    const job = ev[b + 2];
    switch (ev[b]) {
      case EV_ON_TIME:
        state.onTime++;
        send(ShiftOnTime, eid, job);
        break;
      case EV_LATE:
        state.jobLate++;
        send(JobLate, eid, job, ev[b + 3]);
        break;
      case EV_ABSENT:
        state.shiftAbsent++;
        state.addAbsence(eid, tick);
        E.absent_shifts_7d[eid] = state.absCount[eid];
        state.noteAbsent(eid);
        send(ShiftAbsent, eid, job);
        break;
      case EV_DEPARTED:
        send(ShiftDepartedEarly, eid, job);
        break;
    }
  }
}
