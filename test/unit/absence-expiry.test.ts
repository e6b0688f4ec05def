// Absences age out by the tick they were recorded (issue #19): EmploymentState keeps every
// recorded absence in an expiry schedule, oldest first, and the shifts system drops the expired
// ones before its pass, instead of looking at every agent that keeps absences on every tick.
// An absence is kept while at most 7 x exit_review_window ticks old, in or outside the window,
// whatever happened to the agent since; a restored state expires its absences on their ticks.
import { describe, expect, it } from "vitest";
import { Employment } from "../../components/people.ts";
import { PolicySets } from "../../components/sets.ts";
import { definePlugin } from "../../engine/plugin.ts";
import { loadSnapshot, saveSnapshot } from "../../engine/snapshot.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { assignJob, type EmploymentState } from "../../systems/employment/index.ts";
import { makeSettings, moveTo, runTo } from "../helpers/world.ts";

// A 100-tick day; the grocer works ticks 10..19 beside (5, 5). exit_review_window 103: absences
// are kept 721 ticks, so one recorded at tick 16 (inside the window) expires at tick 738, outside it.
const WORK: [number, number] = [5, 5];
const AWAY: [number, number] = [12, 12];
const HORIZON = 7 * 103;
const CONFIG = {
  world: { agents_per_town: 0, grid_size: [16, 16] },
  observations_config: { hybrid: { time_ticks_per_day: 100 } },
  behavior: { job_arrival_buffer: 3 },
  economy: { starting_wallet: 1 },
  lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
  jobs: { grocer: { start_tick: 10, end_tick: 19, wage_rate: 0.1, lateness_penalty: 0.3, location: WORK } },
  employment: { grace_ticks: 2, absent_cutoff: 5, absence_slack: 3, attendance_window: 2, exit_review_window: 103 },
};

/** Core plug-ins with a policy that decides nothing: agents stay where the test puts them. */
const STILL = [
  ...corePlugins.filter((p) => p.name !== "scripted"),
  definePlugin({ name: "stand_still", systems: [{ name: "stand_still/decide", phase: "policy", sets: [PolicySets.Decide], run() {} }] }),
];

const world = (employment: Record<string, unknown> = {}) =>
  new World({ settings: makeSettings({ ...CONFIG, employment: { ...CONFIG.employment, ...employment } }, STILL), plugins: STILL });
const employment = (w: World) => w.state<EmploymentState>("employment");

function grocer(w: World, at: [number, number]): number {
  const eid = w.spawnAgent(0);
  assignJob(w, eid, "grocer");
  moveTo(w, eid, at);
  return eid;
}

/** absent_shifts_7d of `eid` after each tick from..to. */
function countsOver(w: World, eid: number, from: number, to: number): Map<number, number> {
  const out = new Map<number, number>();
  runTo(w, from - 1);
  while (w.tick < to) {
    w.step();
    out.set(w.tick, w.columns(Employment).absent_shifts_7d[eid]);
  }
  return out;
}

describe("absences age out by the tick they were recorded", () => {
  it("drops an absence on the first tick it is more than the horizon old, outside the job's window, where the pass skips the agent", () => {
    const w = world();
    const eid = grocer(w, AWAY);
    runTo(w, 20);
    const st = employment(w);
    expect(st.absence(eid, 0)).toBe(16);
    // At work from day 1 on: no other absence.
    moveTo(w, eid, WORK);
    const counts = countsOver(w, eid, 16 + HORIZON - 1, 16 + HORIZON + 2);
    expect((16 + HORIZON + 1) % 100).toBe(38);
    expect(counts.get(16 + HORIZON)).toBe(1);
    expect(counts.get(16 + HORIZON + 1)).toBe(0);
    expect(st.absCount[eid]).toBe(0);
    expect(st.absBlock[eid]).toBe(-1);
  });

  it("drops an absence inside the window when the horizon is whole days, before the day's new absence is counted", () => {
    const w = world({ exit_review_window: 100 });
    const eid = grocer(w, AWAY);
    // Away every day: the absence of tick 16 expires at tick 717, the day-7 one is recorded at 716.
    const counts = countsOver(w, eid, 700, 720);
    expect(counts.get(715)).toBe(7);
    expect(counts.get(716)).toBe(8);
    expect(counts.get(717)).toBe(7);
    expect(employment(w).absence(eid, 0)).toBe(116);
  });

  it("passes over the schedule entry of an absence cleared since: the agent's next absence is kept its whole horizon", () => {
    const w = world();
    const eid = grocer(w, AWAY);
    runTo(w, 20);
    const st = employment(w);
    const E = w.columns(Employment);
    // Cleared (as at an exit or a removal), then absent again the next day.
    st.clearAbsences(eid);
    E.absent_shifts_7d[eid] = 0;
    runTo(w, 120);
    moveTo(w, eid, WORK);
    expect(st.absence(eid, 0)).toBe(116);
    // The tick the cleared absence would have expired: the new one stays.
    const counts = countsOver(w, eid, 16 + HORIZON + 1, 116 + HORIZON + 1);
    expect(counts.get(16 + HORIZON + 1)).toBe(1);
    expect(counts.get(116 + HORIZON)).toBe(1);
    expect(counts.get(116 + HORIZON + 1)).toBe(0);
  });

  it("keeps an absence in the expiry schedule only until its tick has passed", () => {
    const w = world({ exit_review_window: 100 });
    const eid = grocer(w, AWAY);
    const st = employment(w);
    let most = 0;
    runTo(w, 1200);
    for (let t = 0; t < 100; t++) {
      w.step();
      most = Math.max(most, st.expiriesPending);
    }
    // Absent every day: the last 7 days' absences, and the new one on the tick it is recorded.
    expect(most).toBe(8);
    // Present from now on: every entry leaves on its tick.
    moveTo(w, eid, WORK);
    runTo(w, 2100);
    expect(st.expiriesPending).toBe(0);
    expect(w.columns(Employment).absent_shifts_7d[eid]).toBe(0);
  });

  it("expires a restored state's absences on their own ticks, though a load records them agent by agent", () => {
    const a = world();
    // The lower entity id holds the later absence: restored by id, the schedule is out of tick order.
    const later = grocer(a, WORK);
    const earlier = grocer(a, AWAY);
    runTo(a, 100);
    moveTo(a, earlier, WORK);
    moveTo(a, later, AWAY);
    runTo(a, 200);
    moveTo(a, later, WORK);
    const st = employment(a);
    expect([st.absence(later, 0), st.absence(earlier, 0)]).toEqual([116, 16]);
    const b = new World({ settings: a.settings, plugins: STILL });
    loadSnapshot(b, saveSnapshot(a));
    expect(b.stateHash()).toBe(a.stateHash());
    const seen: number[][] = [];
    while (a.tick < 116 + HORIZON + 2) {
      a.step();
      b.step();
      expect(b.stateHash(), `tick ${a.tick}`).toBe(a.stateHash());
      const E = b.columns(Employment);
      if (a.tick === 16 + HORIZON + 1 || a.tick === 116 + HORIZON + 1) seen.push([E.absent_shifts_7d[earlier], E.absent_shifts_7d[later]]);
    }
    expect(seen).toEqual([
      [0, 1],
      [0, 0],
    ]);
  });
});
