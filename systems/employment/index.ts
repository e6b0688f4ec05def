// Employment (phase: needs, set NeedsSets.Employment, after NeedsSets.Economy). Reads `jobs`,
// `employment`, economy.wage_income, behavior.job_arrival_buffer, Position; writes Employment,
// Wallet, TownEconomy.wages_paid and, for exits, Lifecycle.exit_reason. Shift state machine per
// agent per tick (inventory §3.7), then the exit queue when employment.enforce_job_loop is on.
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { defineMessage } from "../../engine/message.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { didYouMean } from "../../engine/text.ts";
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
import { EmploymentState } from "./state.ts";
import { SpaceKey } from "../../components/grid.ts";
import { employmentCommands } from "./commands.ts";
import { employmentTelemetry } from "./telemetry.ts";
import { employmentObservations } from "./observations.ts";
import { employmentRewardTerms } from "./rewards.ts";
import { runShifts, ShiftDepartedEarly, type EmploymentCtx } from "./shifts.ts";

export { EmploymentState, ABSENCE_SLOTS, absenceSlots } from "./state.ts";
export { compileJobs } from "../../components/jobs.ts";
export type { JobTable } from "../../components/jobs.ts";
export { ShiftDepartedEarly } from "./shifts.ts";

/** Sent instead of EmploymentExitPending when the queue grows beyond employment.exit_queue_limit. */
export const EmploymentExitQueueOverflow = defineMessage("employment_exit_queue_overflow", {
  agent: "eid",
  pending_count: "int",
  limit: "int",
});

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
  // Only an absence recorded this tick raises absent_shifts_7d, so after a full pass (the first
  // tick, after a load) only this tick's absent agents can newly qualify (issue #19).
  const threshold = cfg.max_absent_shifts;
  const full = state.fullPass;
  const n = full ? agents.length : state.absentNowN;
  const absentNow = state.absentNow;
  for (let i = 0; threshold > 0 && i < n; i++) {
    const eid = full ? agents[i] : absentNow[i];
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
