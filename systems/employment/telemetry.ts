// The employment plug-in's part of the telemetry stream: the `employment` section (the exit
// queue), shift figures in `aggregates` and `towns_overview` (agents late), each agent's job
// record (job, shift state, attendance, wages, exit), the workplaces and shifts (`layout.jobs`)
// and the job's name in events' `job` fields.
import { Town } from "../../engine/core-components.ts";
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { round4 } from "../../engine/telemetry.ts";
import { Employment, SHIFT_STATE_NAMES } from "../../components/people.ts";
import { jobTable, type JobTable } from "../../components/jobs.ts";
import { employmentStatus } from "./index.ts";

export function employmentTelemetry({ world }: TelemetryContext, opts: TelemetryOptions): TelemetryPart | undefined {
  if (!world.components.isRegistered(Employment)) return undefined;
  const E = world.columns(Employment);
  let table: JobTable | undefined;
  try {
    table = jobTable(world);
  } catch {
    // No `jobs` section in this world's settings.
  }
  const jobNames: readonly string[] = table?.names ?? [];
  const layout = { jobs: table ? workplaces(table) : [] };
  return {
    sections() {
      const st = employmentStatus(world);
      const agents = world.agents;
      let onShift = 0;
      let pending = 0;
      const states = new Array<number>(SHIFT_STATE_NAMES.length).fill(0);
      for (let i = 0; i < agents.length; i++) {
        const e = agents[i];
        onShift += E.on_shift[e];
        pending += E.exit_pending[e];
        states[E.shift_state[e]]++;
      }
      const shift_states: Record<string, number> = {};
      SHIFT_STATE_NAMES.forEach((k, i) => (shift_states[k] = states[i]));
      const out: Record<string, unknown> = {
        employment: { ...st, pending: st.pending.map((id) => opts.publicId(id)) },
        aggregates: { on_shift: onShift, exit_pending: pending, shift_states },
        layout,
      };
      if (opts.townOverview) {
        const late = new Array<number>(world.towns).fill(0);
        const lateState = SHIFT_STATE_NAMES.indexOf("late");
        const townId = world.columns(Town).id;
        for (let i = 0; i < agents.length; i++) if (E.shift_state[agents[i]] === lateState) late[townId[agents[i]]]++;
        out.towns_overview = { late };
      }
      return out;
    },
    agent(eid, _agent, job) {
      const j = E.job[eid];
      job.job_id = j >= 0 ? (jobNames[j] ?? null) : null;
      job.on_shift = E.on_shift[eid] === 1;
      job.lateness_counter = E.lateness_counter[eid];
      job.wages_earned = round4(E.wages_earned[eid]);
      job.shift_state = SHIFT_STATE_NAMES[E.shift_state[eid]] ?? "idle";
      job.attendance_ratio = round4(E.attendance_ratio[eid]);
      job.late_ticks_today = E.late_ticks_today[eid];
      job.absent_shifts_7d = E.absent_shifts_7d[eid];
      job.wages_withheld = round4(E.wages_withheld[eid]);
      job.exit_pending = E.exit_pending[eid] === 1;
    },
    // Events' job index as the job's name (-1: no job).
    eventFields: { job: (v) => (v >= 0 ? (jobNames[v] ?? v) : null) },
  };
}

/** Workplaces and shifts, in config order (layout.jobs; x, y -1 = anywhere). */
function workplaces(t: JobTable): Record<string, unknown>[] {
  return t.names.map((job, j) => ({ job, x: t.x[j], y: t.y[j], start_tick: t.start[j], end_tick: t.end[j] }));
}
