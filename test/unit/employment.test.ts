// Employment: the shift state machine (punctuality, lateness, absence, wages, attendance),
// round-robin job assignment, the exit queue (daily cap, queue limit, approvals, review window),
// KPIs, job snapshots and the persistent state.
import { describe, expect, it } from "vitest";
import { Employment, ShiftState } from "../../components/people.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import {
  JobLate,
  ShiftAbsent,
  ShiftOnTime,
  EmploymentExitPending,
  EmploymentExitProcessed,
  AgentExit,
} from "../../components/messages.ts";
import type { MessageDef } from "../../engine/message.ts";
import { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { basketCost, setPriceMultiplier } from "../../systems/economy/index.ts";
import {
  approveExit,
  assignJob,
  deferExit,
  employmentStatus,
  EmploymentExitQueueOverflow,
  EmploymentState,
  absenceSlots,
  jobSnapshot,
  reviewExits,
} from "../../systems/employment/index.ts";
import { definePlugin } from "../../engine/plugin.ts";
import { PolicySets } from "../../components/sets.ts";
import { makeWorld, moveTo, runTo } from "../helpers/world.ts";

// A 100-tick day; the grocer works ticks 10..19 of each day beside tile (5, 5).
const WORK: [number, number] = [5, 5];
const AWAY: [number, number] = [12, 12];
const BASE = {
  world: { agents_per_town: 0, grid_size: [16, 16] },
  observations_config: { hybrid: { time_ticks_per_day: 100 } },
  behavior: { job_arrival_buffer: 3 },
  economy: { starting_wallet: 1 },
  // Agents live through the tests (no fainting, no unemployment) and are not replaced.
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
    late_tick_penalty: 0.01,
    absence_penalty: 0.2,
    attendance_window: 2,
    exit_review_window: 100,
  },
};

/** The core plug-ins with a policy that decides nothing: hand-placed agents stay where a test puts them. */
const STILL = [
  ...corePlugins.filter((p) => p.name !== "scripted"),
  definePlugin({ name: "stand_still", systems: [{ name: "stand_still/decide", phase: "policy", sets: [PolicySets.Decide], run() {} }] }),
];

function world(employment: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): World {
  return makeWorld({ ...BASE, ...extra, employment: { ...BASE.employment, ...employment } }, STILL);
}

/** The exit queue on, one missed shift enough to be queued. Evicted agents leave (lifecycle). */
function queueWorld(employment: Record<string, unknown>): World {
  return world({ enforce_job_loop: true, max_absent_shifts: 1, ...employment });
}

function spawn(w: World, job: string, at: [number, number], name?: string): number {
  const eid = w.spawnAgent(0, name === undefined ? {} : { name });
  assignJob(w, eid, job);
  moveTo(w, eid, at);
  return eid;
}

/** Every message of `def` from now on, one record per message. */
function record(w: World, def: MessageDef): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  w.onTick(() => {
    const v = w.lastTick(def) as unknown as Record<string, Float64Array> & { start: number; end: number };
    for (let i = v.start; i < v.end; i++) {
      const m: Record<string, number> = { tick: w.tick };
      for (const k of def.keys) m[k] = v[k][i];
      out.push(m);
    }
  });
  return out;
}

describe("shifts and punctuality", () => {
  it("counts an agent beside the workplace from shift start as on time and pays it each shift tick", () => {
    const w = world();
    const eid = spawn(w, "grocer", [WORK[0], WORK[1] + 1]);
    const onTime = record(w, ShiftOnTime);
    const E = w.columns(Employment);
    runTo(w, 9);
    expect(E.shift_state[eid]).toBe(ShiftState.AwaitStart);
    expect(E.on_shift[eid]).toBe(0);
    runTo(w, 15);
    expect(E.shift_state[eid]).toBe(ShiftState.OnTime);
    expect(E.on_shift[eid]).toBe(1);
    expect(w.columns(Wallet).money[eid]).toBeCloseTo(1 + 6 * 0.1, 5);
    expect(onTime).toEqual([{ tick: 10, agent: eid, job: 0 }]);
    expect(E.lateness_counter[eid]).toBe(0);
  });

  it("treats an arrival within grace_ticks as on time, with no penalty before or after", () => {
    const w = world();
    const eid = spawn(w, "grocer", AWAY);
    const late = record(w, JobLate);
    const E = w.columns(Employment);
    runTo(w, 11);
    expect(E.shift_state[eid]).toBe(ShiftState.AwaitStart);
    moveTo(w, eid, WORK);
    runTo(w, 12);
    expect(E.shift_state[eid]).toBe(ShiftState.OnTime);
    runTo(w, 19);
    expect(late).toEqual([]);
    expect(E.lateness_counter[eid]).toBe(0);
    expect(w.columns(Wallet).money[eid]).toBeCloseTo(1 + 8 * 0.1, 5);
  });

  it("marks a late arrival once: lateness penalty, lateness_counter and one JobLate with ticks late", () => {
    const w = world();
    const eid = spawn(w, "grocer", AWAY);
    const late = record(w, JobLate);
    const E = w.columns(Employment);
    const W = w.columns(Wallet);
    runTo(w, 13);
    expect(E.shift_state[eid]).toBe(ShiftState.Late);
    expect(W.money[eid]).toBeCloseTo(1 - 0.3 - 0.01, 5);
    expect(E.wages_withheld[eid]).toBeCloseTo(0.1, 5);
    moveTo(w, eid, WORK);
    runTo(w, 19);
    expect(E.shift_state[eid]).toBe(ShiftState.Late);
    expect(E.on_shift[eid]).toBe(1);
    expect(late).toEqual([{ tick: 13, agent: eid, job: 0, ticks_late: 3 }]);
    expect(E.lateness_counter[eid]).toBe(1);
    expect(E.late_ticks_today[eid]).toBe(7);
    expect(W.money[eid]).toBeCloseTo(1 - 0.3 - 0.01 + 6 * 0.1, 5);
  });

  it("marks an agent absent after absent_cutoff: absence penalty and ShiftAbsent once", () => {
    const w = world();
    const eid = spawn(w, "grocer", AWAY);
    const absent = record(w, ShiftAbsent);
    const E = w.columns(Employment);
    runTo(w, 15);
    expect(E.shift_state[eid]).toBe(ShiftState.Late);
    runTo(w, 16);
    expect(E.shift_state[eid]).toBe(ShiftState.Absent);
    runTo(w, 19);
    expect(absent).toEqual([{ tick: 16, agent: eid, job: 0 }]);
    expect(E.absent_shifts_7d[eid]).toBe(1);
    // Late ticks 13-15 (penalty once, late_tick_penalty each), then one absence penalty.
    expect(w.columns(Wallet).money[eid]).toBeCloseTo(1 - 0.3 - 3 * 0.01 - 0.2, 5);
    expect(E.wages_withheld[eid]).toBeCloseTo(7 * 0.1, 5);
  });

  it("puts a hand-edited absent_shifts_7d back to the kept absences on the next tick, in and outside the window", () => {
    const w = world();
    const eid = spawn(w, "grocer", AWAY);
    const E = w.columns(Employment);
    runTo(w, 19);
    expect(E.absent_shifts_7d[eid]).toBe(1);
    E.absent_shifts_7d[eid] = 5;
    runTo(w, 20);
    expect(E.absent_shifts_7d[eid]).toBe(1);
    runTo(w, 60);
    expect(E.shift_state[eid]).toBe(ShiftState.PostShift);
    E.absent_shifts_7d[eid] = 4;
    runTo(w, 62);
    expect(E.absent_shifts_7d[eid]).toBe(1);
  });

  it("counts a worker who leaves for longer than absence_slack as absent", () => {
    const w = world();
    const eid = spawn(w, "grocer", WORK);
    const E = w.columns(Employment);
    runTo(w, 11);
    moveTo(w, eid, AWAY);
    runTo(w, 14);
    expect(E.shift_state[eid]).toBe(ShiftState.Late);
    runTo(w, 15);
    expect(E.shift_state[eid]).toBe(ShiftState.Absent);
  });

  it("never takes a wallet below zero with penalties", () => {
    const w = world({}, { economy: { starting_wallet: 0.25 } });
    const eid = spawn(w, "grocer", AWAY);
    const W = w.columns(Wallet);
    let lowest = Infinity;
    w.onTick(() => (lowest = Math.min(lowest, W.money[eid])));
    runTo(w, 25);
    expect(W.money[eid]).toBe(0);
    expect(lowest).toBe(0);
  });

  it("pays wages only at the workplace during the shift, and reports them per tick and per town", () => {
    const w = world();
    const stay = spawn(w, "grocer", WORK);
    const leave = spawn(w, "grocer", WORK);
    const E = w.columns(Employment);
    const paid: number[] = [];
    w.onTick(() => paid.push(E.wage_this_tick[stay]));
    w.onTick((x) => {
      if (x.tick === 14) moveTo(x, leave, AWAY);
    });
    runTo(w, 30);
    expect(paid.map((p, i) => (p > 0 ? i + 1 : 0)).filter((t) => t > 0)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(E.wages_earned[stay]).toBeCloseTo(1.0, 5);
    expect(E.wages_earned[leave]).toBeCloseTo(0.5, 5);
    expect(E.wage_this_tick[leave]).toBe(0);
    expect(w.townColumns(TownEconomy).wages_paid[0]).toBeCloseTo(1.5, 5);
    expect(w.kpis().wages_paid).toBeCloseTo(1.5, 9);
  });

  it("pays economy.wage_income to a job whose wage_rate is 0, anywhere when it has no location", () => {
    const w = world();
    const eid = spawn(w, "courier", AWAY);
    runTo(w, 69);
    expect(w.columns(Employment).wages_earned[eid]).toBeCloseTo(10 * 0.02, 5);
  });

  it("finalises a shift after end_tick: post_shift and an attendance sample of on-time ticks", () => {
    const w = world();
    const punctual = spawn(w, "grocer", WORK);
    const late = spawn(w, "grocer", AWAY);
    const E = w.columns(Employment);
    w.onTick((x) => {
      if (x.tick === 14) moveTo(x, late, WORK);
    });
    runTo(w, 19);
    expect(E.attendance_ratio[punctual]).toBe(1); // no sample yet: the default
    runTo(w, 20);
    expect(E.shift_state[punctual]).toBe(ShiftState.PostShift);
    expect(E.on_shift[punctual]).toBe(0);
    expect(E.attendance_ratio[punctual]).toBe(1);
    expect(E.attendance_ratio[late]).toBe(0);
    runTo(w, 99);
    expect(E.shift_state[punctual]).toBe(ShiftState.PostShift);
    runTo(w, 100); // tick of day 0: before the next shift's arrival buffer
    expect(E.shift_state[punctual]).toBe(ShiftState.Idle);
  });

  it("keeps attendance_ratio as the mean of the last attendance_window shifts", () => {
    const w = world();
    const eid = spawn(w, "grocer", WORK);
    const E = w.columns(Employment);
    w.onTick((x) => {
      if (x.tick === 99) moveTo(x, eid, AWAY); // misses day 1's shift
      if (x.tick === 199) moveTo(x, eid, WORK);
    });
    runTo(w, 20);
    expect(E.attendance_ratio[eid]).toBe(1);
    runTo(w, 120);
    expect(E.attendance_ratio[eid]).toBe(0.5);
    runTo(w, 220);
    expect(E.attendance_ratio[eid]).toBe(0.5); // window 2: day 1 (0) and day 2 (1)
    runTo(w, 320);
    expect(E.attendance_ratio[eid]).toBe(1);
  });

  it("goes idle before the arrival buffer and awaits the start inside it", () => {
    const w = world();
    const eid = spawn(w, "grocer", WORK);
    const E = w.columns(Employment);
    expect(E.shift_state[eid]).toBe(ShiftState.PreShift);
    runTo(w, 6);
    expect(E.shift_state[eid]).toBe(ShiftState.Idle);
    runTo(w, 7);
    expect(E.shift_state[eid]).toBe(ShiftState.AwaitStart);
    runTo(w, 106);
    expect(E.shift_state[eid]).toBe(ShiftState.Idle);
  });
});

describe("job assignment", () => {
  it("assigns jobs round-robin over the jobs section in config order by agent uid", () => {
    const w = world();
    const E = w.columns(Employment);
    const jobs = [0, 1, 2, 3, 4].map(() => E.job[w.spawnAgent(0)]);
    expect(jobs).toEqual([0, 1, 2, 0, 1]);
  });

  it("sets a job by name and refuses an unknown one with the known names", () => {
    const w = world();
    const eid = w.spawnAgent(0, { name: "alice" });
    assignJob(w, eid, "courier");
    expect(w.columns(Employment).job[eid]).toBe(2);
    expect(() => assignJob(w, eid, "barrista")).toThrow(/unknown job "barrista" for agent alice; jobs are "grocer", "barista", "courier" \(did you mean "barista"\?\)/);
  });
});

describe("exit queue", () => {
  /** Three agents who never come to work: all absent at tick 16 of each day. */
  function truants(w: World): number[] {
    return ["ann", "bob", "cat"].map((n) => spawn(w, "grocer", AWAY, n));
  }

  it("queues nobody for absences when max_absent_shifts is 0", () => {
    const w = queueWorld({ max_absent_shifts: 0 });
    truants(w);
    runTo(w, 30);
    expect(employmentStatus(w).pending_count).toBe(0);
    expect(w.kpis().employment_exits).toBe(0);
  });

  it("queues nobody while employment.enforce_job_loop is off", () => {
    const w = world({ max_absent_shifts: 1 });
    truants(w);
    runTo(w, 30);
    expect(employmentStatus(w).pending_count).toBe(0);
    expect(w.kpis().employment_exits).toBe(0);
  });

  it("lets at most daily_exit_cap agents leave a day and the rest on the next day", () => {
    const w = queueWorld({ daily_exit_cap: 1 });
    const [ann, bob, cat] = truants(w);
    const exits = record(w, EmploymentExitProcessed);
    const pending = record(w, EmploymentExitPending);
    const leaving = record(w, AgentExit);
    runTo(w, 16);
    expect(pending.map((m) => m.agent)).toEqual([ann, bob, cat]);
    expect(exits.map((m) => [m.tick, m.agent, w.text(m.reason)])).toEqual([[16, ann, "daily_cap"]]);
    expect(leaving.map((m) => [m.tick, m.agent, w.text(m.reason)])).toEqual([[16, ann, "eviction"]]);
    expect(w.isAgent(ann)).toBe(false);
    expect(w.columns(Employment).exit_pending[bob]).toBe(1);
    expect(employmentStatus(w)).toEqual({
      pending: ["bob", "cat"],
      pending_count: 2,
      exits_today: 1,
      daily_exit_cap: 1,
      queue_limit: 8,
      review_window: 100,
    });
    runTo(w, 99);
    expect(exits).toHaveLength(1);
    runTo(w, 100);
    expect(exits.map((m) => [m.tick, m.agent, w.text(m.reason)])).toEqual([
      [16, ann, "daily_cap"],
      [100, bob, "daily_cap"],
    ]);
    expect(w.columns(Employment).exit_pending[bob]).toBe(0);
  });

  it("lets an entry pending for exit_review_window ticks leave past the cap (auto_review)", () => {
    const w = queueWorld({ daily_exit_cap: 1 });
    const [, , cat] = truants(w);
    const exits = record(w, EmploymentExitProcessed);
    runTo(w, 116);
    expect(exits.map((m) => [m.tick, w.text(m.reason)])).toEqual([
      [16, "daily_cap"],
      [100, "daily_cap"],
      [116, "auto_review"],
    ]);
    expect(exits[2].agent).toBe(cat);
    expect(employmentStatus(w).exits_today).toBe(2);
    expect(w.kpis().employment_exits).toBe(3);
  });

  it("reports entries beyond exit_queue_limit as overflow instead of pending", () => {
    const w = queueWorld({ daily_exit_cap: 1, exit_queue_limit: 1 });
    const [ann, bob, cat] = truants(w);
    const pending = record(w, EmploymentExitPending);
    const overflow = record(w, EmploymentExitQueueOverflow);
    runTo(w, 16);
    expect(pending.map((m) => m.agent)).toEqual([ann]);
    expect(overflow).toEqual([
      { tick: 16, agent: bob, pending_count: 2, limit: 1 },
      { tick: 16, agent: cat, pending_count: 3, limit: 1 },
    ]);
    expect(employmentStatus(w).pending).toEqual(["bob", "cat"]);
  });

  it("lets a manually approved agent leave at the next tick, past the daily cap", () => {
    const w = queueWorld({ daily_exit_cap: 1 });
    const [, , cat] = truants(w);
    const exits = record(w, EmploymentExitProcessed);
    runTo(w, 16);
    expect(approveExit(w, "cat")).toBe(true);
    expect(approveExit(w, "nobody")).toBe(false);
    expect(reviewExits(w).manual).toEqual(["cat"]);
    runTo(w, 17);
    expect(exits.slice(1).map((m) => [m.tick, m.agent, w.text(m.reason)])).toEqual([[17, cat, "manual_approve"]]);
    expect(employmentStatus(w)).toMatchObject({ pending: ["bob"], exits_today: 2 });
  });

  it("takes a deferred agent out of the queue until it misses another shift", () => {
    const w = queueWorld({ daily_exit_cap: 1 });
    truants(w);
    runTo(w, 16);
    expect(deferExit(w, "bob")).toBe(true);
    expect(employmentStatus(w).pending).toEqual(["cat"]);
    runTo(w, 100); // cat leaves on the new day
    expect(employmentStatus(w).pending).toEqual([]);
    runTo(w, 116); // bob misses day 1's shift too
    expect(employmentStatus(w).pending).toEqual(["bob"]);
  });

  it("lists pending entries with their waiting time for review", () => {
    const w = queueWorld({ daily_exit_cap: 1 });
    truants(w);
    runTo(w, 20);
    const r = reviewExits(w);
    expect(r.entries).toEqual([
      { agent_id: "bob", job_id: "grocer", enqueued_tick: 16, waiting_ticks: 4, absent_shifts_7d: 1, approved: false },
      { agent_id: "cat", job_id: "grocer", enqueued_tick: 16, waiting_ticks: 4, absent_shifts_7d: 1, approved: false },
    ]);
  });
});

describe("reporting", () => {
  it("reports employment kpis", () => {
    const w = world();
    spawn(w, "grocer", WORK);
    spawn(w, "grocer", AWAY);
    runTo(w, 20);
    const k = w.kpis();
    expect(k).toMatchObject({ job_late: 1, shift_absent: 1, on_time_arrivals: 1, employment_exits: 0, attendance_mean: 0.5 });
    expect(k.wages_paid).toBeCloseTo(1.0, 9);
  });

  it("gives a job snapshot with the guide's fields and the town's basket cost", () => {
    const w = world();
    const eid = spawn(w, "grocer", WORK);
    setPriceMultiplier(w, 0, 2);
    runTo(w, 12);
    const s = jobSnapshot(w, eid);
    expect(Object.keys(s).sort()).toEqual(
      [
        "job_id",
        "on_shift",
        "wallet",
        "lateness_counter",
        "wages_earned",
        "meals_cooked",
        "meals_consumed",
        "basket_cost",
        "shift_state",
        "attendance_ratio",
        "late_ticks_today",
        "absent_shifts_7d",
        "wages_withheld",
        "exit_pending",
      ].sort(),
    );
    expect(s).toMatchObject({ job_id: "grocer", on_shift: true, shift_state: "on_time", exit_pending: false, lateness_counter: 0 });
    expect(s.basket_cost).toBeCloseTo(basketCost(w, 0), 9);
    expect(s.basket_cost).toBeCloseTo(1.24, 5);
  });

  it("sizes the absence ring by the shifts the 7-window horizon can hold: floor(7 x review window / day) + 2, at most 32", () => {
    const sizes = (erw: number, day: number) =>
      absenceSlots({ employment: { exit_review_window: erw }, observations_config: { hybrid: { time_ticks_per_day: day } } });
    expect(sizes(1440, 1440)).toBe(9);
    expect(sizes(100, 100)).toBe(9);
    expect(sizes(100, 1000)).toBe(2);
    expect(sizes(100_000, 1440)).toBe(32);
    expect(world().state<EmploymentState>("employment").slots).toBe(9);
  });

  it("counts every absence of an agent absent each day for 12 days: at most 8 in the 7-window horizon, the oldest dropped as it ages out", () => {
    const w = world();
    const eid = spawn(w, "grocer", AWAY, "ann");
    const st = w.state<EmploymentState>("employment");
    const E = w.columns(Employment);
    let most = 0;
    for (let day = 0; day < 12; day++) {
      while (w.tick < day * 100 + 99) {
        w.step();
        most = Math.max(most, E.absent_shifts_7d[eid]);
      }
      // Absent at tick 16 of each day (after absent_cutoff); kept while at most 700 ticks old, so
      // at a day's end the last 7 days' absences remain (8 in the tick each new one is recorded).
      const kept = Math.min(day + 1, 7);
      expect(E.absent_shifts_7d[eid]).toBe(kept);
      expect(st.absence(eid, 0)).toBe((day + 1 - kept) * 100 + 16);
      expect(st.absence(eid, kept - 1)).toBe(day * 100 + 16);
    }
    expect(most).toBe(8);
  });

  it("holds an absence ring only while an agent keeps absences, and gives it to the next absent agent", () => {
    const w = world();
    const st = w.state<EmploymentState>("employment");
    const ann = spawn(w, "grocer", AWAY, "ann");
    expect(st.absBlock[ann]).toBe(-1);
    runTo(w, 50);
    const ring = st.absBlock[ann];
    expect(ring).toBeGreaterThanOrEqual(0);
    // At work from day 1: the day-0 absence ages out after 700 ticks and the ring goes back.
    moveTo(w, ann, WORK);
    runTo(w, 750);
    expect(st.absCount[ann]).toBe(0);
    expect(st.absBlock[ann]).toBe(-1);
    const bob = spawn(w, "grocer", AWAY, "bob");
    runTo(w, 850);
    expect(st.absBlock[bob]).toBe(ring);
    expect(st.absCount[bob]).toBe(1);
    expect(st.absence(bob, 0)).toBe(816);
  });

  it("restores kept absences oldest first and refuses a state saved before the absence rings were resized", () => {
    const build = () => {
      const w = world();
      spawn(w, "grocer", AWAY, "ann");
      return w;
    };
    const digest = (s: EmploymentState) => {
      const h = new StateHasher();
      s.hash(h);
      return h.digest();
    };
    // By tick 1050 ann's ring has dropped its oldest absences (the ring's head has moved).
    const a = build();
    runTo(a, 1050);
    const b = build();
    runTo(b, 250);
    const sa = a.state<EmploymentState>("employment");
    const sb = b.state<EmploymentState>("employment");
    sb.load(JSON.parse(JSON.stringify(sa.save())));
    expect(digest(sb)).toBe(digest(sa));
    expect(sb.absCount[1]).toBe(sa.absCount[1]);
    for (let k = 0; k < sa.absCount[1]; k++) expect(sb.absence(1, k)).toBe(sa.absence(1, k));
    const old = { ...(sa.save() as object), version: undefined };
    expect(() => sb.load(old)).toThrow(/earlier Townlet \(employment state version 1; this build reads version 2/);
  });

  it("saves, loads and hashes its state so a restored copy matches", () => {
    const build = () => {
      const w = queueWorld({ daily_exit_cap: 1 });
      spawn(w, "grocer", AWAY, "ann");
      spawn(w, "grocer", AWAY, "bob");
      spawn(w, "grocer", WORK, "cat");
      return w;
    };
    const digest = (s: EmploymentState) => {
      const h = new StateHasher();
      s.hash(h);
      return h.digest();
    };
    // Only cat is alive at ticks 150 and 230 (ann and bob leave at 16 and 100); 230 has one more shift.
    const a = build();
    runTo(a, 150);
    const b = build();
    runTo(b, 230);
    const sa = a.state<EmploymentState>("employment");
    const sb = b.state<EmploymentState>("employment");
    expect(digest(sb)).not.toBe(digest(sa));
    sb.load(JSON.parse(JSON.stringify(sa.save())));
    expect(digest(sb)).toBe(digest(sa));
    expect(sb.save()).toEqual(sa.save());
  });
});
