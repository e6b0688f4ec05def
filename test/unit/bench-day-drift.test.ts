// The bench's day-by-day view (bench/day-drift.ts): each simulated day's median tick and each
// system's growth from the first whole day to the last — a p99 over days set by slow days.
import { describe, expect, it } from "vitest";
import { dayDrift, formatDayDrift } from "../../bench/day-drift.ts";
import { repeatSummary, type RepeatRun } from "../../bench/repeat.ts";
import { checkGoals } from "../../tools/bench.ts";
import type { SimResult } from "../../bench/sim.ts";

/** `n` ticks from tick `first` with `perDay` ticks a day: 10 ms plus `extra(tod, day)`. */
function times(n: number, perDay: number, first: number, extra: (tod: number, day: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => 10 + extra((first + i) % perDay, Math.floor((first + i) / perDay)));
}

describe("dayDrift", () => {
  it("gives each simulated day's median tick, part days included, and the whole days' spread", () => {
    // 10-tick days from tick 7: part of day 0 (3 ticks), days 1-3 whole, part of day 4 (2 ticks); day 2 is 20% slower.
    const ms = times(35, 10, 7, (_, day) => (day === 2 ? 2 : 0));
    const d = dayDrift(ms, 7, 10)!;
    expect(d.days.map((r) => [r.day, r.ticks, r.median_ms])).toEqual([
      [0, 3, 10],
      [1, 10, 10],
      [2, 10, 12],
      [3, 10, 10],
      [4, 2, 10],
    ]);
    expect(d.whole_days).toBe(3);
    expect(d.spread).toBe(1.2);
    expect(d.days[2].over_p50).toBe(1.2);
  });

  it("leaves the drift out of its p99 over each tick's own day's median, and keeps a spike within a day", () => {
    // A slow day (x1.5) and, on another day, 6 of 100 ticks at 2x (1.5% of the run): p99 sees the spike, not the slow day.
    const ms = times(400, 100, 0, (tod, day) => (day === 1 ? 5 : 0) + (day === 3 && tod < 6 ? 10 : 0));
    const d = dayDrift(ms, 0, 100)!;
    expect(d.spread).toBe(1.5);
    expect(d.p99_over_day_median).toBe(2);
    const calm = dayDrift(times(400, 100, 0, (_, day) => (day === 1 ? 5 : 0)), 0, 100)!;
    expect(calm.p99_over_day_median).toBe(1);
  });

  it("says how much each system's mean grew from the first whole day to the last, largest growth first", () => {
    const n = 30; // three 10-tick days
    const systems = ["a/flat", "b/grows", "c/shrinks"];
    const ms = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const day = Math.floor(i / 10);
      ms[i * 3] = 1;
      ms[i * 3 + 1] = 0.5 + 0.25 * day;
      ms[i * 3 + 2] = 2 - 0.5 * day;
    }
    const d = dayDrift(times(n, 10, 0, () => 0), 0, 10, systems, ms)!;
    expect(d.systems).toEqual([
      { system: "b/grows", first_day_ms: 0.5, last_day_ms: 1, change_ms: 0.5 },
      { system: "a/flat", first_day_ms: 1, last_day_ms: 1, change_ms: 0 },
      { system: "c/shrinks", first_day_ms: 2, last_day_ms: 1, change_ms: -1 },
    ]);
    expect(formatDayDrift(d)).toBe(
      "median ms per simulated day 10.00 10.00 10.00 (* part of a day); whole days' spread 1.00x; p99 over each tick's own day's median 1.00; grew most from the first whole day to the last: b/grows 0.500 -> 1.000 ms",
    );
  });

  it("is null under two whole days, or without a day length", () => {
    expect(dayDrift(times(25, 10, 5, () => 0), 5, 10)).not.toBeNull(); // days 0 (5 ticks), 1 and 2 (10): two whole days are enough
    expect(dayDrift(times(19, 10, 5, () => 0), 5, 10)).toBeNull();
    expect(dayDrift(times(40, 10, 0, () => 0), 0, 0)).toBeNull();
    expect(dayDrift([], 0, 10)).toBeNull();
  });

  it("marks the part days in its line of text", () => {
    const d = dayDrift(times(25, 10, 5, (_, day) => day), 5, 10)!;
    expect(formatDayDrift(d)).toMatch(/^median ms per simulated day 10\.00\* 11\.00 12\.00 \(\* part of a day\); whole days' spread 1\.09x/);
  });
});

describe("the day-by-day view in the bench's results", () => {
  it("is computed on --repeat's per-tick median, where one run's slow day does not count", () => {
    const base = times(40, 10, 0, () => 0);
    const slow = base.map((x, i) => (i >= 10 && i < 20 ? x * 1.5 : x));
    const run = (ms: number[]): RepeatRun => ({ agents: 100_000, warmup_ticks: 9, ticks: ms.length, agent_steps_per_sec: 1, tick_ms_p50: 10, tick_ms_p99: 15, p99_over_p50: 1.5, state_hash: "h", tick_wall_ms: ms, ticks_per_day: 10 });
    const s = repeatSummary([run(base), run(slow), run(base)]);
    expect(s.tick_median_days!.spread).toBe(1);
    expect(repeatSummary([run(slow), run(slow)]).tick_median_days!.spread).toBe(1.5);
  });

  it("puts the days' spread and the p99 within days beside the tick-latency goal at 100k", () => {
    const day_drift = dayDrift(times(300, 100, 0, (_, day) => (day === 2 ? 3 : 0)), 0, 100);
    const r = { agents: 100_000, policy: "scripted", layout: "towns", ticks: 300, ticks_per_day: 100, p99_over_p50: 1.3, agent_steps_per_sec: 1, baseline_ratio: 1, major_gcs: 0, major_gc_list: [], daily_profile: null, day_drift } as unknown as SimResult;
    const goal = checkGoals([r]).find((g) => g.goal.startsWith("tick p99 / p50"))!;
    expect(goal.met).toBe(false);
    expect(goal.days).toBe("3 whole days' median ticks spread 1.3x; p99 over each tick's own day's median 1");
  });
});
