// The employment/shifts system's tick (systems/employment/index.ts registers it): the shift
// state machine per agent (inventory §3.7). A ShiftPass is made once per tick and holds that
// tick's columns, tables and settings; its steps run per agent and allocate nothing.
import { Activity } from "../../components/activity.ts";
import type { SystemContext } from "../../engine/plugin.ts";
import { defineMessage } from "../../engine/message.ts";
import { Town } from "../../engine/core-components.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { Employment, ShiftState, Lifecycle } from "../../components/people.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Position } from "../../components/space.ts";
import { JobLate, ShiftAbsent, ShiftOnTime } from "../../components/messages.ts";
import type { JobTable } from "../../components/jobs.ts";
import { SpaceKey, type SpatialIndex } from "../../components/grid.ts";
import type { ComponentDef, Columns } from "../../engine/component.ts";
import { EmploymentState, ABSENCE_DAYS, A_ABS, A_DIRTY } from "./state.ts";

/** Sent once per shift when a worker who had started the shift leaves it (state left on_time/late). */
export const ShiftDepartedEarly = defineMessage("shift_departed_early", { agent: "eid", job: "int" });

// Employment.flags bits, all cleared when a shift is finalised. Bits 0-2 are the component's
// documented ones; the rest are this plug-in's own per-shift bookkeeping.
const F_LATE_SENT = 1 << 0;
const F_ABSENT_SENT = 1 << 1;
const F_DEPARTED_SENT = 1 << 2;
const F_LATE_PENALTY = 1 << 3;
const F_ABSENT_PENALTY = 1 << 4;
const F_ON_TIME_SENT = 1 << 5;
const F_STARTED = 1 << 6;

const UINT16_MAX = 0xffff;

// ShiftState members as module constants: plain loads in the per-agent loop. A property read of
// ShiftState in a branch that first runs mid-run (the first absence, tick ~210 in the bench
// world) has no type feedback, so the optimised loop deoptimised there (issue #19, p99).
const S_IDLE = ShiftState.Idle;
const S_AWAIT_START = ShiftState.AwaitStart;
const S_ON_TIME = ShiftState.OnTime;
const S_LATE = ShiftState.Late;
const S_ABSENT = ShiftState.Absent;
const S_POST_SHIFT = ShiftState.PostShift;

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
  new ShiftPass(ctx).run();
}

/** One tick of shifts: the columns and tables read once, and the steps for one agent. */
class ShiftPass {
  private readonly ctx: EmploymentCtx;
  private readonly state: EmploymentState;
  private readonly E: EmploymentColumns;
  private readonly tick: number;
  private readonly townWages: ColumnsOf<typeof TownEconomy>["wages_paid"];
  private readonly wagesPaid: Float64Array;
  private readonly town: ColumnsOf<typeof Town>["id"];
  private readonly cfg: EmploymentCtx["settings"]["employment"];
  private readonly jobs: JobTable;
  private readonly nJobs: number;
  private readonly fallbackWage: number;
  /** Tick of the day. */
  private readonly t: number;
  private readonly newDay: boolean;
  private readonly horizon: number;
  private readonly grace: number;
  private readonly cutoff: number;
  private readonly slack: number;
  private readonly space: SpatialIndex | undefined;
  private readonly holding: ColumnsOf<typeof Activity>["holding"] | undefined;
  private readonly outside: Int8Array;
  private readonly px: ColumnsOf<typeof Position>["x"];
  private readonly py: ColumnsOf<typeof Position>["y"];
  private readonly money: ColumnsOf<typeof Wallet>["money"];
  // The spatial index's tiles, as space.tile(town, x, y) numbers them.
  private readonly cells: number;
  private readonly width: number;

  constructor(ctx: EmploymentCtx) {
    const { world, tick, settings, state } = ctx;
    this.ctx = ctx;
    this.state = state;
    this.E = ctx.components.Employment;
    this.tick = tick;
    this.townWages = ctx.townState.TownEconomy.wages_paid;
    this.wagesPaid = state.wagesPaid;
    this.town = world.columns(Town).id;
    const cfg = (this.cfg = settings.employment);
    const jobs = (this.jobs = state.jobs);
    const nJobs = (this.nJobs = jobs.names.length);
    const tpd = ticksPerDay(settings);
    const buffer = settings.behavior.job_arrival_buffer;
    this.fallbackWage = settings.economy.wage_income;
    const t = (this.t = tick % tpd);
    const day = Math.floor(tick / cfg.exit_review_window);
    this.newDay = day !== state.day;
    state.day = day;
    this.horizon = ABSENCE_DAYS * cfg.exit_review_window;
    this.grace = cfg.grace_ticks;
    this.cutoff = cfg.absent_cutoff;
    this.slack = cfg.absence_slack;
    const space = (this.space = world.optionalResource(SpaceKey));
    const A = world.components.isRegistered(Activity) ? world.columns(Activity) : undefined;
    this.holding = A?.holding;
    // The shift state of each job's agents outside its window this tick, -1 inside it: computed
    // once per job, not per agent (the same expressions as before, issue #19).
    const outside = (this.outside = state.outsideScratch(nJobs));
    for (let j = 0; j < nJobs; j++) {
      const start = jobs.start[j];
      const end = jobs.end[j];
      outside[j] = t < start || t > end ? (t > end ? S_POST_SHIFT : t < start - buffer ? S_IDLE : S_AWAIT_START) : -1;
    }
    const P = ctx.components.Position;
    this.px = P.x;
    this.py = P.y;
    this.money = ctx.components.Wallet.money;
    this.cells = space ? space.cells : 0;
    this.width = space ? space.width : 0;
  }

  /**
   * Which jobs are steady this tick: outside their window as they were last tick. An agent of a
   * steady job that the last pass handled (no A_DIRTY) has nothing to change this tick but an
   * absence expiring (A_ABS). Every job counts as not steady on a new day (the daily resets) and
   * when the last pass was not last tick (the first tick, after a load).
   */
  private markSteady(): void {
    const { state, outside, nJobs, tick } = this;
    const full = this.newDay || state.passTick !== tick - 1;
    const prevOut = state.prevOut;
    const steady = state.steady;
    for (let k = 0; k <= nJobs; k++) {
      // Index nJobs: agents without a (known) job, always idle.
      const out = k < nJobs ? outside[k] : S_IDLE;
      steady[k] = !full && out >= 0 && prevOut[k] === out ? 1 : 0;
      prevOut[k] = out;
    }
    state.passTick = tick;
    state.fullPass = full;
    state.absentNowN = 0;
  }

  /** The loop over agents: per-day resets, absence pruning, then the shift window's state. */
  run(): void {
    const { tick, agents } = this.ctx;
    const { state, E, jobs, nJobs, outside, newDay, horizon } = this;
    this.markSteady();
    const steady = state.steady;
    const attn = state.attn;
    // Columns read once per tick (nothing in this loop grows the store).
    const jobCol = E.job;
    const shiftState = E.shift_state;
    const flagsCol = E.flags;
    const onShift = E.on_shift;
    const wageThisTick = E.wage_this_tick;
    const absent7d = E.absent_shifts_7d;
    const lateToday = E.late_ticks_today;
    const withheld = E.wages_withheld;
    const everOnTime = E.ever_on_time;
    const lastPresent = E.last_present_tick;
    const onTimeTicks = E.on_time_ticks;
    const absCount = state.absCount;

    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      const job = jobCol[eid];
      const a = attn[eid];
      if (steady[job >= 0 && job < nJobs ? job : nJobs] === 1 && (a & A_DIRTY) === 0) {
        // Nothing of this agent changes this tick but its absences expiring.
        if (a !== 0) absent7d[eid] = state.pruneAbsences(eid, tick, horizon);
        continue;
      }
      attn[eid] = a & A_ABS;
      if (newDay) {
        lateToday[eid] = 0;
        withheld[eid] = 0;
      }
      wageThisTick[eid] = 0;
      absent7d[eid] = absCount[eid] === 0 ? 0 : state.pruneAbsences(eid, tick, horizon);
      const prev = shiftState[eid];

      if (job < 0 || job >= nJobs) {
        if ((flagsCol[eid] & F_STARTED) !== 0) finaliseShift(state, E, eid);
        shiftState[eid] = S_IDLE;
        onShift[eid] = 0;
        continue;
      }
      const out = outside[job];
      if (out >= 0) {
        if ((flagsCol[eid] & F_STARTED) !== 0) finaliseShift(state, E, eid);
        shiftState[eid] = out;
        onShift[eid] = 0;
        continue;
      }
      const start = jobs.start[job];
      const end = jobs.end[job];

      // Inside the shift window.
      if ((flagsCol[eid] & F_STARTED) === 0) {
        flagsCol[eid] = F_STARTED;
        onTimeTicks[eid] = 0;
        E.scheduled_ticks[eid] = Math.min(UINT16_MAX, end - start + 1);
        everOnTime[eid] = 0;
        lastPresent[eid] = -1;
      }
      const atLoc = this.atWork(eid, job);
      const since = this.t - start;
      const st = this.shiftStateOf(eid, atLoc, since);
      shiftState[eid] = st;
      this.settle(eid, job, prev, st, atLoc, since);
    }
  }

  /** Whether the agent is at its job's workplace this tick. */
  private atWork(eid: number, job: number): boolean {
    const { jobs, space, holding } = this;
    const jx = jobs.x[job];
    let atLoc = true;
    if (jx >= 0) {
      // A workplace object on the job's tile (a counter) must be held to be at work;
      // otherwise standing on or beside the tile is enough.
      const workplace = space ? space.objectOn(this.town[eid] * this.cells + jobs.y[job] * this.width + jx) : 0;
      if (workplace !== 0 && holding) atLoc = holding[eid] === workplace;
      else {
        const dx = this.px[eid] - jx;
        const dy = this.py[eid] - jobs.y[job];
        atLoc = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy) <= 1;
      }
    }
    return atLoc;
  }

  /** The shift state inside the window, `since` ticks after its start; records presence. */
  private shiftStateOf(eid: number, atLoc: boolean, since: number): number {
    const { tick, grace } = this;
    const everOnTime = this.E.ever_on_time;
    const lastPresent = this.E.last_present_tick;
    let st: number;
    if (atLoc) {
      lastPresent[eid] = tick;
      if (everOnTime[eid] === 1 || since <= grace) {
        st = S_ON_TIME;
        everOnTime[eid] = 1;
      } else {
        st = S_LATE;
      }
    } else {
      const lp = lastPresent[eid];
      if (everOnTime[eid] === 0 && since <= grace) st = S_AWAIT_START;
      else if (lp >= 0 && tick - lp <= this.slack) st = S_LATE;
      else if (since > this.cutoff || lp >= 0) st = S_ABSENT;
      else st = S_LATE;
    }
    return st;
  }

  /** The state's consequences: counters, penalties, messages (once per shift) and the wage. */
  private settle(eid: number, job: number, prev: number, st: number, atLoc: boolean, since: number): void {
    const { state, E, jobs, cfg, money, tick } = this;
    const send = this.ctx.send;
    const withheld = E.wages_withheld;
    const lateToday = E.late_ticks_today;
    const onTimeTicks = E.on_time_ticks;
    const wage = jobs.wage[job] > 0 ? jobs.wage[job] : this.fallbackWage;
    let flags = E.flags[eid];
    if (st === S_ON_TIME) {
      if (onTimeTicks[eid] < UINT16_MAX) onTimeTicks[eid]++;
      if ((flags & F_ON_TIME_SENT) === 0) {
        flags |= F_ON_TIME_SENT;
        state.onTime++;
        send(ShiftOnTime, eid, job);
      }
    } else if (st === S_LATE) {
      if (lateToday[eid] < UINT16_MAX) lateToday[eid]++;
      if ((flags & F_LATE_PENALTY) === 0 && prev !== S_ON_TIME && prev !== S_LATE) {
        flags |= F_LATE_PENALTY;
        money[eid] = Math.max(0, money[eid] - jobs.latenessPenalty[job]);
        if (E.lateness_counter[eid] < UINT16_MAX) E.lateness_counter[eid]++;
        if ((flags & F_LATE_SENT) === 0) {
          flags |= F_LATE_SENT;
          state.jobLate++;
          send(JobLate, eid, job, since);
        }
      }
      if (!atLoc) {
        money[eid] = Math.max(0, money[eid] - cfg.late_tick_penalty);
        withheld[eid] += wage;
      }
    } else if (st === S_ABSENT) {
      if ((flags & F_ABSENT_PENALTY) === 0) {
        flags |= F_ABSENT_PENALTY;
        money[eid] = Math.max(0, money[eid] - cfg.absence_penalty);
      }
      withheld[eid] += wage;
      if ((flags & F_ABSENT_SENT) === 0) {
        flags |= F_ABSENT_SENT;
        state.shiftAbsent++;
        state.addAbsence(eid, tick);
        E.absent_shifts_7d[eid] = state.absCount[eid];
        state.noteAbsent(eid);
        send(ShiftAbsent, eid, job);
      }
    }
    // Back at work: a later absence in the same shift is penalised again (no second event).
    if (st === S_ON_TIME || st === S_LATE) flags &= ~F_ABSENT_PENALTY;

    if ((st === S_ON_TIME || st === S_LATE) && atLoc) {
      E.on_shift[eid] = 1;
      money[eid] += wage;
      E.wages_earned[eid] += wage;
      E.wage_this_tick[eid] = wage;
      const tw = this.town[eid];
      this.townWages[tw] += wage;
      this.wagesPaid[tw] += wage;
    } else {
      E.on_shift[eid] = 0;
      const wasWorking = prev === S_ON_TIME || prev === S_LATE;
      const working = st === S_ON_TIME || st === S_LATE;
      if (wasWorking && !working && (flags & F_DEPARTED_SENT) === 0) {
        flags |= F_DEPARTED_SENT;
        send(ShiftDepartedEarly, eid, job);
      }
    }
    E.flags[eid] = flags;
  }
}

/** Records the shift's on-time fraction as an attendance sample and clears per-shift state. */
function finaliseShift(state: EmploymentState, E: EmploymentColumns, eid: number): void {
  const scheduled = E.scheduled_ticks[eid] > 0 ? E.scheduled_ticks[eid] : 1;
  E.attendance_ratio[eid] = state.addAttendance(eid, Math.min(1, E.on_time_ticks[eid] / scheduled));
  E.flags[eid] = 0;
  E.ever_on_time[eid] = 0;
  E.last_present_tick[eid] = -1;
  E.on_shift[eid] = 0;
  E.shift_state[eid] = S_POST_SHIFT;
}
