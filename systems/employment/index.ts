// Employment (phase: needs, set NeedsSets.Employment, after NeedsSets.Economy). Reads `jobs`,
// `employment`, economy.wage_income, behavior.job_arrival_buffer, Position; writes Employment,
// Wallet, TownEconomy.wages_paid and, for exits, Lifecycle.exit_reason. Shift state machine per
// agent per tick (inventory §3.7), then the exit queue when employment.enforce_job_loop is on.
import { Activity } from "../../components/activity.ts";
import { definePlugin, type SystemContext } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { defineMessage } from "../../engine/message.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { didYouMean } from "../../engine/text.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { Employment, ShiftState, SHIFT_STATE_NAMES, Lifecycle, ExitReason, EmploymentKey } from "../../components/people.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Position } from "../../components/space.ts";
import { NeedsSets } from "../../components/sets.ts";
import {
  JobLate,
  ShiftAbsent,
  ShiftOnTime,
  EmploymentExitPending,
  EmploymentExitProcessed,
} from "../../components/messages.ts";
import { sections } from "./config.ts";
import { EmploymentState, ABSENCE_DAYS } from "./state.ts";
import { SpaceKey } from "../../components/grid.ts";
import { employmentCommands } from "./commands.ts";
import { employmentTelemetry } from "./telemetry.ts";
import { employmentObservations } from "./observations.ts";
import { employmentRewardTerms } from "./rewards.ts";

export { EmploymentState, ABSENCE_SLOTS, absenceSlots } from "./state.ts";
export { compileJobs } from "../../components/jobs.ts";
export type { JobTable } from "../../components/jobs.ts";

/** Sent once per shift when a worker who had started the shift leaves it (state left on_time/late). */
export const ShiftDepartedEarly = defineMessage("shift_departed_early", { agent: "eid", job: "int" });
/** Sent instead of EmploymentExitPending when the queue grows beyond employment.exit_queue_limit. */
export const EmploymentExitQueueOverflow = defineMessage("employment_exit_queue_overflow", {
  agent: "eid",
  pending_count: "int",
  limit: "int",
});

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

type EmploymentCtx = SystemContext<
  unknown,
  { Employment: typeof Employment; Position: typeof Position; Wallet: typeof Wallet; Lifecycle: typeof Lifecycle },
  { TownEconomy: typeof TownEconomy },
  EmploymentState
>;

export const employmentPlugin = definePlugin({
  name: "employment",
  telemetry: employmentTelemetry,
  observations: employmentObservations,
  rewardTerms: employmentRewardTerms,
  commands: employmentCommands,
  provides: [EmploymentKey],
  optional: [SpaceKey],
  doc: "jobs, shifts, punctuality, wages and the employment exit queue",
  sections,
  components: { Employment, Position, Wallet, Lifecycle },
  townState: { TownEconomy },
  messages: [JobLate, ShiftAbsent, ShiftOnTime, ShiftDepartedEarly, EmploymentExitPending, EmploymentExitQueueOverflow, EmploymentExitProcessed],
  state: (world: World) => new EmploymentState(world),
  onAgentSpawn({ world, state, components: { Employment: E } }, eid) {
    state.ensure(eid + 1);
    state.clearAgent(eid);
    world.addComponent(eid, Employment);
    E.shift_state[eid] = ShiftState.PreShift;
    const n = state.jobs.names.length;
    if (n > 0 && (E.job[eid] < 0 || E.job[eid] >= n)) {
      E.job[eid] = world.columns(Agent).uid[eid] % n;
    }
  },
  onAgentRemove({ state }, eid) {
    state.dequeue(eid);
    state.clearAgent(eid);
  },
  kpis({ world, state, components: { Employment: E } }) {
    const agents = world.agents;
    let sum = 0;
    let n = 0;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      if (E.job[eid] < 0) continue;
      sum += E.attendance_ratio[eid];
      n++;
    }
    let wages = 0;
    for (let t = 0; t < state.wagesPaid.length; t++) wages += state.wagesPaid[t];
    return {
      wages_paid: wages,
      job_late: state.jobLate,
      shift_absent: state.shiftAbsent,
      on_time_arrivals: state.onTime,
      employment_exits: state.exits,
      attendance_mean: n ? sum / n : 0,
    };
  },
  systems: [
    {
      name: "employment/shifts",
      phase: "needs",
      sets: [NeedsSets.Employment],
      after: [NeedsSets.Economy],
      reads: ["jobs", "employment", "economy.wage_income", "behavior.job_arrival_buffer", "Position", "Town"],
      writes: ["Employment", "Wallet", "TownEconomy.wages_paid", "Lifecycle.exit_reason", "JobLate", "ShiftAbsent", "ShiftOnTime"],
      run(ctx) {
        runShifts(ctx);
        if (ctx.settings.employment.enforce_job_loop) reviewQueue(ctx);
      },
    },
  ],
});

// ---- shifts ------------------------------------------------------------------------------------

function runShifts(ctx: EmploymentCtx): void {
  const { world, tick, agents, settings, state, send } = ctx;
  const { Employment: E, Position: P, Wallet: W } = ctx.components;
  const townWages = ctx.townState.TownEconomy.wages_paid;
  const wagesPaid = state.wagesPaid;
  const town = world.columns(Town).id;
  const cfg = settings.employment;
  const jobs = state.jobs;
  const nJobs = jobs.names.length;
  const tpd = ticksPerDay(settings);
  const buffer = settings.behavior.job_arrival_buffer;
  const fallbackWage = settings.economy.wage_income;
  const t = tick % tpd;
  const day = Math.floor(tick / cfg.exit_review_window);
  const newDay = day !== state.day;
  state.day = day;
  const horizon = ABSENCE_DAYS * cfg.exit_review_window;
  const grace = cfg.grace_ticks;
  const cutoff = cfg.absent_cutoff;
  const slack = cfg.absence_slack;
  const space = world.optionalResource(SpaceKey);
  const A = world.components.isRegistered(Activity) ? world.columns(Activity) : undefined;
  const holding = A?.holding;
  // The shift state of each job's agents outside its window this tick, -1 inside it: computed
  // once per job, not per agent (the same expressions as before, issue #19).
  const outside = state.outsideScratch(nJobs);
  for (let j = 0; j < nJobs; j++) {
    const start = jobs.start[j];
    const end = jobs.end[j];
    outside[j] = t < start || t > end ? (t > end ? ShiftState.PostShift : t < start - buffer ? ShiftState.Idle : ShiftState.AwaitStart) : -1;
  }
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
  const money = W.money;
  const absCount = state.absCount;
  const px = P.x;
  const py = P.y;
  const earned = E.wages_earned;
  // The spatial index's tiles, as space.tile(town, x, y) numbers them.
  const cells = space ? space.cells : 0;
  const width = space ? space.width : 0;

  for (let i = 0; i < agents.length; i++) {
    const eid = agents[i];
    if (newDay) {
      lateToday[eid] = 0;
      withheld[eid] = 0;
    }
    wageThisTick[eid] = 0;
    absent7d[eid] = absCount[eid] === 0 ? 0 : state.pruneAbsences(eid, tick, horizon);
    const job = jobCol[eid];
    const prev = shiftState[eid];

    if (job < 0 || job >= nJobs) {
      if ((flagsCol[eid] & F_STARTED) !== 0) finaliseShift(state, E, eid);
      shiftState[eid] = ShiftState.Idle;
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
    const jx = jobs.x[job];
    let atLoc = true;
    if (jx >= 0) {
      // A workplace object on the job's tile (a counter) must be held to be at work;
      // otherwise standing on or beside the tile is enough.
      const workplace = space ? space.objectOn(town[eid] * cells + jobs.y[job] * width + jx) : 0;
      if (workplace !== 0 && holding) atLoc = holding[eid] === workplace;
      else {
        const dx = px[eid] - jx;
        const dy = py[eid] - jobs.y[job];
        atLoc = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy) <= 1;
      }
    }
    const since = t - start;
    let st: number;
    if (atLoc) {
      lastPresent[eid] = tick;
      if (everOnTime[eid] === 1 || since <= grace) {
        st = ShiftState.OnTime;
        everOnTime[eid] = 1;
      } else {
        st = ShiftState.Late;
      }
    } else {
      const lp = lastPresent[eid];
      if (everOnTime[eid] === 0 && since <= grace) st = ShiftState.AwaitStart;
      else if (lp >= 0 && tick - lp <= slack) st = ShiftState.Late;
      else if (since > cutoff || lp >= 0) st = ShiftState.Absent;
      else st = ShiftState.Late;
    }
    shiftState[eid] = st;

    const wage = jobs.wage[job] > 0 ? jobs.wage[job] : fallbackWage;
    let flags = flagsCol[eid];
    if (st === ShiftState.OnTime) {
      if (onTimeTicks[eid] < UINT16_MAX) onTimeTicks[eid]++;
      if ((flags & F_ON_TIME_SENT) === 0) {
        flags |= F_ON_TIME_SENT;
        state.onTime++;
        send(ShiftOnTime, eid, job);
      }
    } else if (st === ShiftState.Late) {
      if (lateToday[eid] < UINT16_MAX) lateToday[eid]++;
      if ((flags & F_LATE_PENALTY) === 0 && prev !== ShiftState.OnTime && prev !== ShiftState.Late) {
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
    } else if (st === ShiftState.Absent) {
      if ((flags & F_ABSENT_PENALTY) === 0) {
        flags |= F_ABSENT_PENALTY;
        money[eid] = Math.max(0, money[eid] - cfg.absence_penalty);
      }
      withheld[eid] += wage;
      if ((flags & F_ABSENT_SENT) === 0) {
        flags |= F_ABSENT_SENT;
        state.shiftAbsent++;
        state.addAbsence(eid, tick);
        absent7d[eid] = absCount[eid];
        send(ShiftAbsent, eid, job);
      }
    }
    // Back at work: a later absence in the same shift is penalised again (no second event).
    if (st === ShiftState.OnTime || st === ShiftState.Late) flags &= ~F_ABSENT_PENALTY;

    if ((st === ShiftState.OnTime || st === ShiftState.Late) && atLoc) {
      onShift[eid] = 1;
      money[eid] += wage;
      earned[eid] += wage;
      wageThisTick[eid] = wage;
      const tw = town[eid];
      townWages[tw] += wage;
      wagesPaid[tw] += wage;
    } else {
      onShift[eid] = 0;
      const wasWorking = prev === ShiftState.OnTime || prev === ShiftState.Late;
      const working = st === ShiftState.OnTime || st === ShiftState.Late;
      if (wasWorking && !working && (flags & F_DEPARTED_SENT) === 0) {
        flags |= F_DEPARTED_SENT;
        send(ShiftDepartedEarly, eid, job);
      }
    }
    flagsCol[eid] = flags;
  }
}

/** Records the shift's on-time fraction as an attendance sample and clears per-shift state. */
function finaliseShift(state: EmploymentState, E: EmploymentCtx["components"]["Employment"], eid: number): void {
  const scheduled = E.scheduled_ticks[eid] > 0 ? E.scheduled_ticks[eid] : 1;
  E.attendance_ratio[eid] = state.addAttendance(eid, Math.min(1, E.on_time_ticks[eid] / scheduled));
  E.flags[eid] = 0;
  E.ever_on_time[eid] = 0;
  E.last_present_tick[eid] = -1;
  E.on_shift[eid] = 0;
  E.shift_state[eid] = ShiftState.PostShift;
}

// ---- exit queue ---------------------------------------------------------------------------------

function reviewQueue(ctx: EmploymentCtx): void {
  const { world, tick, agents, settings, state, send } = ctx;
  const { Employment: E, Lifecycle: L } = ctx.components;
  const cfg = settings.employment;
  const lifecycle = world.components.flags(Lifecycle);

  // 1. A new day resets the day's exit count.
  const day = Math.floor(tick / cfg.exit_review_window);
  if (day !== state.exitDay) {
    state.exitDay = day;
    state.exitsToday = 0;
  }
  // 2. Operator approvals leave first, whatever the cap.
  while (state.manualOrder.length > 0) executeExit(ctx, state.manualOrder[0], "manual_approve");

  // 3. Agents at the absence threshold join the queue (0 = absences never queue anyone; the
  // original's `>= 0` would queue every agent).
  const threshold = cfg.max_absent_shifts;
  for (let i = 0; threshold > 0 && i < agents.length; i++) {
    const eid = agents[i];
    if (E.exit_pending[eid] === 1 || E.absent_shifts_7d[eid] < threshold) continue;
    if (lifecycle[eid] === 1 && L.exit_reason[eid] !== ExitReason.None) continue;
    const deferred = state.deferAt[eid];
    if (deferred >= 0) {
      if (E.absent_shifts_7d[eid] <= deferred) continue;
      state.deferAt[eid] = -1;
    }
    state.queue.push(eid);
    state.enqueuedTick[eid] = tick;
    E.exit_pending[eid] = 1;
    const limit = cfg.exit_queue_limit;
    if (limit > 0 && state.queue.length > limit) {
      state.overflows++;
      send(EmploymentExitQueueOverflow, eid, state.queue.length, limit);
    } else {
      send(EmploymentExitPending, eid, E.job[eid]);
    }
  }

  // 4. Entries that waited a whole review window leave.
  for (let k = 0; k < state.queue.length; ) {
    const eid = state.queue[k];
    if (tick - state.enqueuedTick[eid] >= cfg.exit_review_window) executeExit(ctx, eid, "auto_review");
    else k++;
  }
  // 5. The head of the queue leaves while the day's cap allows (0 = no cap).
  while (state.queue.length > 0 && (cfg.daily_exit_cap === 0 || state.exitsToday < cfg.daily_exit_cap)) {
    executeExit(ctx, state.queue[0], "daily_cap");
  }
}

/** 6. Marks the agent's exit (eviction) for the lifecycle plug-in and reports it. */
function executeExit(ctx: EmploymentCtx, eid: number, reason: string): void {
  const { world, state } = ctx;
  const E = ctx.components.Employment;
  state.dequeue(eid);
  E.exit_pending[eid] = 0;
  if (!world.isAgent(eid)) return;
  const hasLifecycle = world.has(eid, Lifecycle);
  // Already leaving for another reason (or evicted earlier this tick): nothing more to do.
  if (hasLifecycle && world.columns(Lifecycle).exit_reason[eid] !== ExitReason.None) return;
  state.exitsToday++;
  state.exits++;
  state.clearAbsences(eid);
  state.deferAt[eid] = -1;
  E.absent_shifts_7d[eid] = 0;
  if (!hasLifecycle) world.addComponent(eid, Lifecycle);
  world.columns(Lifecycle).exit_reason[eid] = ExitReason.Eviction;
  ctx.send(EmploymentExitProcessed, eid, E.job[eid], world.intern(reason));
}

// ---- operations for scenarios, the console and telemetry ----------------------------------------

function employmentState(world: World): EmploymentState {
  return world.state<EmploymentState>("employment");
}

/** Gives an agent the job named `jobName` (a key of `jobs`). */
export function assignJob(world: World, eid: number, jobName: string): void {
  employmentState(world).assignJob(eid, jobName);
}

/** The job id (name) of an agent, or null without a job. */
export function jobName(world: World, eid: number): string | null {
  const j = world.columns(Employment).job[eid];
  return j >= 0 ? (employmentState(world).jobs.names[j] ?? null) : null;
}

/** Employment queue counters as the telemetry stream's `employment` object. */
export function employmentStatus(world: World): {
  pending: string[];
  pending_count: number;
  exits_today: number;
  daily_exit_cap: number;
  queue_limit: number;
  review_window: number;
} {
  const st = employmentState(world);
  const cfg = world.settings.employment;
  return {
    pending: st.queue.map((eid) => world.agentName(eid)),
    pending_count: st.queue.length,
    exits_today: st.exitsToday,
    daily_exit_cap: cfg.daily_exit_cap,
    queue_limit: cfg.exit_queue_limit,
    review_window: cfg.exit_review_window,
  };
}

/**
 * Approves an agent's exit: it leaves at the next review (next tick with enforce_job_loop on),
 * past the daily cap. False when no live agent has that id.
 */
export function approveExit(world: World, agentId: string): boolean {
  const eid = world.agentEid(agentId);
  if (eid < 0) return false;
  const st = employmentState(world);
  if (st.manual[eid] === 0) {
    st.manual[eid] = 1;
    st.manualOrder.push(eid);
  }
  return true;
}

/**
 * Takes an agent out of the exit queue (and the approvals). It is not queued again until it
 * misses another shift. False when no live agent has that id.
 */
export function deferExit(world: World, agentId: string): boolean {
  const eid = world.agentEid(agentId);
  if (eid < 0) return false;
  const st = employmentState(world);
  const E = world.columns(Employment);
  st.dequeue(eid);
  E.exit_pending[eid] = 0;
  st.deferAt[eid] = E.absent_shifts_7d[eid];
  return true;
}

/** The status plus every pending entry with how long it has waited, for an operator's review. */
export function reviewExits(world: World) {
  const st = employmentState(world);
  const E = world.columns(Employment);
  return {
    ...employmentStatus(world),
    manual: st.manualOrder.map((eid) => world.agentName(eid)),
    entries: st.queue.map((eid) => ({
      agent_id: world.agentName(eid),
      job_id: jobName(world, eid),
      enqueued_tick: st.enqueuedTick[eid],
      waiting_ticks: world.tick - st.enqueuedTick[eid],
      absent_shifts_7d: E.absent_shifts_7d[eid],
      approved: st.manual[eid] === 1,
    })),
  };
}

/** One agent's job snapshot (architecture guide §2.9), as the telemetry stream's `jobs` entries. */
export function jobSnapshot(world: World, eid: number) {
  const E = world.columns(Employment);
  const wallet = world.has(eid, Wallet) ? world.columns(Wallet).money[eid] : 0;
  return {
    job_id: jobName(world, eid),
    on_shift: E.on_shift[eid] === 1,
    wallet,
    lateness_counter: E.lateness_counter[eid],
    wages_earned: E.wages_earned[eid],
    // No system counts meals per agent yet.
    meals_cooked: 0,
    meals_consumed: 0,
    basket_cost: townBasketCost(world, world.columns(Town).id[eid]),
    shift_state: SHIFT_STATE_NAMES[E.shift_state[eid]] ?? "idle",
    attendance_ratio: E.attendance_ratio[eid],
    late_ticks_today: E.late_ticks_today[eid],
    absent_shifts_7d: E.absent_shifts_7d[eid],
    wages_withheld: E.wages_withheld[eid],
    exit_pending: E.exit_pending[eid] === 1,
  };
}

// The economy plug-in's basketCost, restated here because systems do not import each other.
function townBasketCost(world: World, town: number): number {
  const e = world.settings.economy;
  const mult = world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy).price_multiplier[town] : 1;
  return (e.meal_cost + e.cook_energy_cost + e.cook_hygiene_cost + e.ingredients_cost) * mult;
}
