// employment/shifts on events (issue #19): an agent whose job is outside its window as it was
// last tick, not spawned or given a job since, is skipped; the exit queue looks at the agents
// absent this tick only. Most tests run twin worlds, one skipping and one looking at every agent
// every tick (`skipSteady = false`, the behaviour before), and compare their state hash after
// every tick: an agent handled a tick late (or never) changes Employment, Wallet, the absence
// rings, the exit queue or the agent list, which are all hashed.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Employment, ShiftState } from "../../components/people.ts";
import { Position } from "../../components/space.ts";
import { PolicySets } from "../../components/sets.ts";
import { buildWorld } from "../../engine/build.ts";
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { approveExit, assignJob, deferExit, type EmploymentState } from "../../systems/employment/index.ts";
import { killAgent } from "../../systems/lifecycle/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { record } from "../helpers/pin.ts";
import { JobLate, ShiftAbsent, ShiftOnTime } from "../../components/messages.ts";

const MANY_TOWNS = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));

// A 100-tick day; the grocer works ticks 10..19 beside (5, 5), the barista 40..49, the courier 60..69 anywhere.
const WORK: [number, number] = [5, 5];
const AWAY: [number, number] = [12, 12];
const SMALL = {
  world: { agents_per_town: 0, grid_size: [16, 16] },
  observations_config: { hybrid: { time_ticks_per_day: 100 } },
  behavior: { job_arrival_buffer: 3 },
  economy: { starting_wallet: 1 },
  lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
  jobs: {
    grocer: { start_tick: 10, end_tick: 19, wage_rate: 0.1, lateness_penalty: 0.3, location: WORK },
    barista: { start_tick: 40, end_tick: 49, wage_rate: 0.2, lateness_penalty: 0.1, location: [1, 1] },
    courier: { start_tick: 60, end_tick: 69, wage_rate: 0, lateness_penalty: 0 },
  },
  employment: {
    grace_ticks: 2,
    absent_cutoff: 5,
    absence_slack: 3,
    attendance_window: 2,
    exit_review_window: 100,
    enforce_job_loop: true,
    max_absent_shifts: 1,
    daily_exit_cap: 1,
  },
};

/** Core plug-ins with a policy that decides nothing: agents stay where the test puts them. */
const STILL = [
  ...corePlugins.filter((p) => p.name !== "scripted"),
  definePlugin({ name: "stand_still", systems: [{ name: "stand_still/decide", phase: "policy", sets: [PolicySets.Decide], run() {} }] }),
];

function employment(w: World): EmploymentState {
  return w.state<EmploymentState>("employment");
}

function lookAtEveryone(w: World): World {
  employment(w).skipSteady = false;
  return w;
}

/** Steps both worlds to `tick`, expecting the same state hash after every tick. */
function stepBoth(a: World, b: World, tick: number): void {
  while (a.tick < tick) {
    a.step();
    b.step();
    expect(a.stateHash(), `tick ${a.tick}`).toBe(b.stateHash());
  }
}

/** The same agent (same entity id) in both worlds. */
function spawnBoth(ws: World[], job: string, at: [number, number]): number {
  const ids = ws.map((w) => {
    const eid = w.spawnAgent(0);
    assignJob(w, eid, job);
    w.addComponent(eid, Position, { x: at[0], y: at[1] });
    return eid;
  });
  expect(ids[1]).toBe(ids[0]);
  return ids[0];
}

function moveBoth(ws: World[], eid: number, [x, y]: [number, number]): void {
  for (const w of ws) w.addComponent(eid, Position, { x, y });
}

describe("employment/shifts on events", () => {
  it("hashes every tick as a world that looks at every agent, over two days of the many-towns world with evictions", () => {
    const build = () => buildWorld(MANY_TOWNS, corePlugins, { seed: 11, towns: 2, agentsPerTown: 8, overrides: { "employment.max_absent_shifts": 1 } }).world;
    const a = build();
    const b = lookAtEveryone(build());
    stepBoth(a, b, 2 * 1440 + 20);
    // The run had shifts, absences and evictions to get right.
    const st = employment(a);
    expect(st.onTime).toBeGreaterThan(0);
    expect(st.shiftAbsent).toBeGreaterThan(0);
    expect(st.exits).toBeGreaterThan(0);
  });

  it("sends each kind of shift message once per counted event, in agent order, with the agent's own job", () => {
    const w = buildWorld(MANY_TOWNS, corePlugins, { seed: 5, towns: 3, agentsPerTown: 8, overrides: { "employment.max_absent_shifts": 1 } }).world;
    const kinds = { onTime: record(w, ShiftOnTime), late: record(w, JobLate), absent: record(w, ShiftAbsent) };
    const st = employment(w);
    const E = w.columns(Employment);
    const jobs: Record<string, number>[] = [];
    w.onTick(() => {
      for (const rows of Object.values(kinds)) for (const r of rows) if (r.tick === w.tick && w.isAgent(r.agent)) jobs.push({ sent: r.job, has: E.job[r.agent] });
    });
    w.run(1440 + 220);
    expect(kinds.onTime.length).toBe(st.onTime);
    expect(kinds.late.length).toBe(st.jobLate);
    expect(kinds.absent.length).toBe(st.shiftAbsent);
    expect(Math.min(kinds.onTime.length, kinds.late.length, kinds.absent.length)).toBeGreaterThan(0);
    for (const rows of Object.values(kinds)) {
      for (let i = 1; i < rows.length; i++) if (rows[i].tick === rows[i - 1].tick) expect(rows[i].agent).toBeGreaterThan(rows[i - 1].agent);
    }
    expect(jobs.every((j) => j.sent === j.has)).toBe(true);
  });

  it("handles a shift start, absence, departure, firing, a job change, a kill and a spawn on their ticks, as a world that looks at everyone", () => {
    const a = makeWorld(SMALL, STILL);
    const b = lookAtEveryone(makeWorld(SMALL, STILL));
    const ws = [a, b];
    const atWork = spawnBoth(ws, "grocer", [WORK[0], WORK[1] + 1]);
    const leaver = spawnBoth(ws, "grocer", WORK);
    const absent = spawnBoth(ws, "grocer", AWAY);
    const switcher = spawnBoth(ws, "barista", AWAY);
    const doomed = spawnBoth(ws, "grocer", WORK);
    stepBoth(a, b, 12);
    // Leaves mid-shift; changes job into a shift that is running (by the console's operation).
    moveBoth(ws, leaver, AWAY);
    for (const w of ws) assignJob(w, switcher, "grocer");
    stepBoth(a, b, 13);
    expect(a.columns(Employment).shift_state[switcher]).toBe(ShiftState.Late);
    for (const w of ws) killAgent(w, doomed);
    const names = { leaver: a.agentName(leaver), absent: a.agentName(absent), atWork: a.agentName(atWork), doomed: a.agentName(doomed) };
    const gone = (name: string) => a.agentEid(name) < 0;
    stepBoth(a, b, 16);
    // A newcomer in the middle of the shift (it may take an id freed this tick).
    const late = spawnBoth(ws, "grocer", WORK);
    stepBoth(a, b, 25);
    const E = a.columns(Employment);
    expect(E.shift_state[atWork]).toBe(ShiftState.PostShift);
    expect(gone(names.doomed)).toBe(true);
    expect(E.job[late]).toBe(0);
    // Both absent at tick 16 and queued (max_absent_shifts 1); the day's one exit took the first.
    expect(gone(names.leaver)).toBe(true);
    expect(E.exit_pending[absent]).toBe(1);
    expect(E.absent_shifts_7d[absent]).toBe(1);
    // An operator defers the pending one and approves another agent's exit.
    for (const w of ws) {
      deferExit(w, w.agentName(absent));
      approveExit(w, w.agentName(atWork));
    }
    stepBoth(a, b, 110);
    expect(gone(names.atWork)).toBe(true);
    // Deferred: still here after the new day's cap reset (tick 100) ...
    expect(gone(names.absent)).toBe(false);
    expect(E.exit_pending[absent]).toBe(0);
    // ... until it misses another shift (the next day's, absent at tick 116): queued again (the
    // day's one exit went to the agent queued before it).
    stepBoth(a, b, 130);
    expect(E.absent_shifts_7d[absent]).toBe(2);
    expect(E.exit_pending[absent]).toBe(1);
  });

  it("skips an agent outside its window that nothing touched, and looks at it again on the tick after a job change", () => {
    const w = makeWorld(SMALL, STILL);
    const eid = w.spawnAgent(0);
    assignJob(w, eid, "barista");
    w.addComponent(eid, Position, { x: AWAY[0], y: AWAY[1] });
    while (w.tick < 3) w.step();
    const E = w.columns(Employment);
    expect(E.shift_state[eid]).toBe(ShiftState.Idle);
    // A value the pass would overwrite (employment owns the column): a skipped agent keeps it.
    E.wage_this_tick[eid] = 7;
    w.step();
    expect(E.wage_this_tick[eid]).toBe(7);
    // Given a job (console, scenarios): looked at on the next tick.
    assignJob(w, eid, "grocer");
    w.step();
    expect(E.wage_this_tick[eid]).toBe(0);
    expect(E.shift_state[eid]).toBe(ShiftState.Idle);
    // A world that looks at everyone overwrites it every tick.
    const all = lookAtEveryone(makeWorld(SMALL, STILL));
    const other = all.spawnAgent(0);
    assignJob(all, other, "barista");
    while (all.tick < 3) all.step();
    all.columns(Employment).wage_this_tick[other] = 7;
    all.step();
    expect(all.columns(Employment).wage_this_tick[other]).toBe(0);
  });

  it("reaches the grocer's window on the tick its arrival buffer begins, after skipped ticks", () => {
    const w = makeWorld(SMALL, STILL);
    const eid = w.spawnAgent(0);
    assignJob(w, eid, "grocer");
    w.addComponent(eid, Position, { x: WORK[0], y: WORK[1] });
    const E = w.columns(Employment);
    const states: number[] = [];
    while (w.tick < 21) {
      w.step();
      states[w.tick] = E.shift_state[eid];
    }
    // Buffer 3: idle to tick 6, awaiting 7..9, on time 10..19 (the window's ticks), post shift at 20.
    expect(states[6]).toBe(ShiftState.Idle);
    expect(states[7]).toBe(ShiftState.AwaitStart);
    expect(states[9]).toBe(ShiftState.AwaitStart);
    expect(states[10]).toBe(ShiftState.OnTime);
    expect(states[19]).toBe(ShiftState.OnTime);
    expect(states[20]).toBe(ShiftState.PostShift);
    expect(E.attendance_ratio[eid]).toBe(1);
  });
});
