// The employment/shifts system's tick (systems/employment/index.ts registers it): the shift
// state machine per agent (inventory §3.7). Each tick fills one ShiftKernel (per-job tables,
// the columns) and runs shiftKernel over the agents: typed arrays and numbers only, allocating
// nothing. What touches other objects (absence and attendance rings, messages, counters) the
// kernel leaves as events in a buffer, applied after it in the same order (issue #19). The
// kernel runs at module load on made-up agents that take every branch (primeShiftKernel), so the
// first shift, absence and shift end of a run no longer deoptimise it mid-loop.
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
import { EmploymentState, ABSENCE_DAYS, A_ABS, A_DIRTY } from "./state.ts";

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
  let i = 0;
  do {
    K.nEvents = 0;
    i = shiftKernel(K, agents, i);
    applyEvents(ctx, K);
  } while (i < agents.length);
}

// Events the kernel leaves for runShifts (4 ints each: code, eid, job, since), in agent order.
const EV_PRUNE = 1;
const EV_FINALISE = 2;
const EV_ON_TIME = 3;
const EV_LATE = 4;
const EV_ABSENT = 5;
const EV_DEPARTED = 6;
/** Events one agent can leave in a tick (prune, then one of finalise / on time / late / absent, departed), rounded up. */
export const EVENTS_PER_AGENT = 4;
const EVENT_BUFFER = 4096;

const NO_I32 = new Int32Array(0);

/** One tick's inputs of shiftKernel: per-job tables, the columns, settings; and its event buffer. */
export class ShiftKernel {
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
  events: Int32Array = new Int32Array(EVENT_BUFFER * 4);
  nEvents = 0;

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
    markSteady(state, outside, nJobs, tick, newDay);
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

    // Workplace objects: the object on each in-window job's tile in every town, looked up once
    // per tick and town (the same lookups the agents of the town made one by one before).
    const space = world.optionalResource(SpaceKey);
    const holding = world.components.isRegistered(Activity) ? world.columns(Activity).holding : undefined;
    this.objects = space !== undefined && holding !== undefined ? 1 : 0;
    this.holding = holding ?? NO_I32;
    if (space !== undefined && holding !== undefined && inWindow) {
      const towns = world.towns;
      if (this.workplace.length < towns * nJobs) this.workplace = new Int32Array(towns * nJobs);
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
 * Which jobs are steady this tick: outside their window as they were last tick. An agent of a
 * steady job that the last pass handled (no A_DIRTY) has nothing to change this tick but an
 * absence expiring (A_ABS). Every job counts as not steady on a new day (the daily resets) and
 * when the last pass was not last tick (the first tick, after a load).
 */
function markSteady(state: EmploymentState, outside: Int8Array, nJobs: number, tick: number, newDay: boolean): void {
  const full = newDay || state.passTick !== tick - 1 || !state.skipSteady;
  const prevOut = state.prevOut;
  const steady = state.steady;
  for (let k = 0; k <= nJobs; k++) {
    const out = outside[k];
    steady[k] = !full && out >= 0 && prevOut[k] === out ? 1 : 0;
    prevOut[k] = out;
  }
  state.passTick = tick;
  state.fullPass = full;
  state.absentNowN = 0;
}

/** Leaves an event for applyEvents. */
function event(K: ShiftKernel, code: number, eid: number, job: number, since: number): void {
  const b = K.nEvents * 4;
  const ev = K.events;
  ev[b] = code;
  ev[b + 1] = eid;
  ev[b + 2] = job;
  ev[b + 3] = since;
  K.nEvents++;
}

/**
 * The shift state machine for agents[i0..]: per-day resets, the window's state, its counters,
 * penalties and wage. Returns the index of the first agent not done (the event buffer is full).
 */
export function shiftKernel(K: ShiftKernel, agents: Int32Array, i0: number): number {
  const { steady, attn, absCount, outside, nJobs, newDay, tick, grace, slack, cutoff } = K;
  const jobCol = K.job;
  const shiftState = K.shiftState;
  const flagsCol = K.flags;
  const onShift = K.onShift;
  const wageThisTick = K.wageThisTick;
  const absent7d = K.absent7d;
  const lateToday = K.lateToday;
  const withheld = K.withheld;
  const everOnTime = K.everOnTime;
  const lastPresent = K.lastPresent;
  const onTimeTicks = K.onTimeTicks;
  const town = K.town;
  const limit = K.events.length / 4 - EVENTS_PER_AGENT;
  for (let i = i0; i < agents.length; i++) {
    if (K.nEvents > limit) return i;
    const eid = agents[i];
    const job = jobCol[eid];
    const k = job >= 0 && job < nJobs ? job : nJobs;
    const a = attn[eid];
    if (steady[k] === 1 && (a & A_DIRTY) === 0) {
      // Nothing of this agent changes this tick but its absences expiring.
      if (a !== 0) event(K, EV_PRUNE, eid, job, 0);
      continue;
    }
    attn[eid] = a & A_ABS;
    if (newDay === 1) {
      lateToday[eid] = 0;
      withheld[eid] = 0;
    }
    wageThisTick[eid] = 0;
    if (absCount[eid] === 0) absent7d[eid] = 0;
    else event(K, EV_PRUNE, eid, job, 0);
    const prev = shiftState[eid];
    const out = outside[k];
    if (out >= 0) {
      if ((flagsCol[eid] & F_STARTED) !== 0) {
        // The shift is over: its attendance sample is recorded by applyEvents.
        event(K, EV_FINALISE, eid, job, 0);
        flagsCol[eid] = 0;
        everOnTime[eid] = 0;
        lastPresent[eid] = -1;
      }
      shiftState[eid] = out;
      onShift[eid] = 0;
      continue;
    }
    const start = K.start[job];
    // Inside the shift window.
    let flags = flagsCol[eid];
    if ((flags & F_STARTED) === 0) {
      flags = F_STARTED;
      onTimeTicks[eid] = 0;
      K.scheduled[eid] = Math.min(UINT16_MAX, K.end[job] - start + 1);
      everOnTime[eid] = 0;
      lastPresent[eid] = -1;
    }
    // At the workplace: a workplace object on the job's tile (a counter) must be held; otherwise
    // standing on or beside the tile is enough; a job without a tile: anywhere.
    const jx = K.jx[job];
    let atLoc = true;
    if (jx >= 0) {
      const workplace = K.objects === 1 ? K.workplace[town[eid] * nJobs + job] : 0;
      if (workplace !== 0) atLoc = K.holding[eid] === workplace;
      else {
        const dx = K.px[eid] - jx;
        const dy = K.py[eid] - K.jy[job];
        atLoc = (dx < 0 ? 0 - dx : dx) + (dy < 0 ? 0 - dy : dy) <= 1;
      }
    }
    // The state inside the window, `since` ticks after its start; presence recorded.
    const since = K.t - start;
    let st: number;
    if (atLoc) {
      lastPresent[eid] = tick;
      if (everOnTime[eid] === 1 || since <= grace) {
        st = S_ON_TIME;
        everOnTime[eid] = 1;
      } else st = S_LATE;
    } else {
      const lp = lastPresent[eid];
      if (everOnTime[eid] === 0 && since <= grace) st = S_AWAIT_START;
      else if (lp >= 0 && tick - lp <= slack) st = S_LATE;
      else if (since > cutoff || lp >= 0) st = S_ABSENT;
      else st = S_LATE;
    }
    shiftState[eid] = st;

    settleKernel(K, eid, job, prev, st, atLoc, since, flags);
  }
  return agents.length;
}

/** The state's consequences for one agent inside the window: counters, penalties, events (once per shift), the wage. */
function settleKernel(K: ShiftKernel, eid: number, job: number, prev: number, st: number, atLoc: boolean, since: number, flags: number): void {
  const money = K.money;
  const withheld = K.withheld;
  const wage = K.wage[job];
  const working = st === S_ON_TIME || st === S_LATE;
  if (st === S_ON_TIME) {
    if (K.onTimeTicks[eid] < UINT16_MAX) K.onTimeTicks[eid]++;
    if ((flags & F_ON_TIME_SENT) === 0) {
      flags |= F_ON_TIME_SENT;
      event(K, EV_ON_TIME, eid, job, since);
    }
  } else if (st === S_LATE) {
    if (K.lateToday[eid] < UINT16_MAX) K.lateToday[eid]++;
    if ((flags & F_LATE_PENALTY) === 0 && prev !== S_ON_TIME && prev !== S_LATE) {
      flags |= F_LATE_PENALTY;
      money[eid] = Math.max(0, money[eid] - K.penalty[job]);
      if (K.latenessCounter[eid] < UINT16_MAX) K.latenessCounter[eid]++;
      if ((flags & F_LATE_SENT) === 0) {
        flags |= F_LATE_SENT;
        event(K, EV_LATE, eid, job, since);
      }
    }
    if (!atLoc) {
      money[eid] = Math.max(0, money[eid] - K.latePenalty);
      withheld[eid] += wage;
    }
  } else if (st === S_ABSENT) {
    if ((flags & F_ABSENT_PENALTY) === 0) {
      flags |= F_ABSENT_PENALTY;
      money[eid] = Math.max(0, money[eid] - K.absencePenalty);
    }
    withheld[eid] += wage;
    if ((flags & F_ABSENT_SENT) === 0) {
      flags |= F_ABSENT_SENT;
      event(K, EV_ABSENT, eid, job, since);
    }
  }
  // Back at work: a later absence in the same shift is penalised again (no second event).
  if (working) flags &= ~F_ABSENT_PENALTY;

  if (working && atLoc) {
    K.onShift[eid] = 1;
    money[eid] += wage;
    K.wagesEarned[eid] += wage;
    K.wageThisTick[eid] = wage;
    const tw = K.town[eid];
    K.townWages[tw] += wage;
    K.wagesPaid[tw] += wage;
  } else {
    K.onShift[eid] = 0;
    const wasWorking = prev === S_ON_TIME || prev === S_LATE;
    if (wasWorking && !working && (flags & F_DEPARTED_SENT) === 0) {
      flags |= F_DEPARTED_SENT;
      event(K, EV_DEPARTED, eid, job, since);
    }
  }
  K.flags[eid] = flags;
}

/** The kernel's events, in order: absence pruning and recording, attendance samples, messages, counters. */
function applyEvents(ctx: EmploymentCtx, K: ShiftKernel): void {
  const { state, send, tick } = ctx;
  const E = ctx.components.Employment;
  const horizon = ABSENCE_DAYS * ctx.settings.employment.exit_review_window;
  const ev = K.events;
  for (let e = 0; e < K.nEvents; e++) {
    const b = e * 4;
    const eid = ev[b + 1];
    const job = ev[b + 2];
    switch (ev[b]) {
      case EV_PRUNE:
        E.absent_shifts_7d[eid] = state.pruneAbsences(eid, tick, horizon);
        break;
      case EV_FINALISE: {
        // The shift's on-time fraction as an attendance sample.
        const scheduled = E.scheduled_ticks[eid] > 0 ? E.scheduled_ticks[eid] : 1;
        E.attendance_ratio[eid] = state.addAttendance(eid, Math.min(1, E.on_time_ticks[eid] / scheduled));
        break;
      }
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
