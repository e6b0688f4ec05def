// The bench's daily profile (bench/tick-stats.ts dailyProfile): each tick of the day's median
// over the simulated days a run timed, against the run's p50 — the periodic spikes of issue #19.
import { describe, expect, it } from "vitest";
import { dailyProfile, formatDailyProfile } from "../../bench/tick-stats.ts";
import { repeatSummary, type RepeatRun } from "../../bench/repeat.ts";
import { checkGoals } from "../../tools/bench.ts";
import type { SimResult } from "../../bench/sim.ts";

/** `days` days of `perDay` ticks from tick `first`: 10 ms, with `spike(tod, day)` added. */
function times(perDay: number, days: number, first: number, spike: (tod: number, day: number) => number): number[] {
  return Array.from({ length: perDay * days }, (_, i) => {
    const t = first + i;
    return 10 + spike(t % perDay, Math.floor(t / perDay));
  });
}

describe("dailyProfile", () => {
  it("lists a tick of the day that is slow every day, by its median, however the run's first tick falls", () => {
    // Tick of the day 7 takes 16 ms every day; the run starts at tick 13 of a 20-tick day.
    const ms = times(20, 5, 13, (tod) => (tod === 7 ? 6 : 0));
    const d = dailyProfile(ms, 13, 20)!;
    expect(d.days).toBe(5);
    expect(d.worst).toEqual({ tick_of_day: 7, median_ms: 16, over_p50: 1.6 });
    expect(d.over_limit.map((r) => r.tick_of_day)).toEqual([7]);
    expect(d.over_limit_count).toBe(1);
    expect(formatDailyProfile(d)).toBe("ticks of the day over 1.2x p50 by their median over 5 days: 7 (1.60x); slowest tick of the day 7 at 1.60x");
  });

  it("leaves out a spike on one day only (a first use, a burst of machine noise)", () => {
    const ms = times(20, 5, 0, (tod, day) => (tod === 3 && day === 1 ? 30 : 0));
    const d = dailyProfile(ms, 0, 20)!;
    expect(d.over_limit).toEqual([]);
    expect(d.worst.over_p50).toBe(1);
    expect(formatDailyProfile(d)).toMatch(/: none; slowest tick of the day/);
  });

  it("keeps a slow tick of the day that was quick on one day of three (the median, not the mean or minimum)", () => {
    const ms = times(10, 3, 0, (tod, day) => (tod === 4 && day !== 2 ? 5 : 0));
    expect(dailyProfile(ms, 0, 10)!.worst).toEqual({ tick_of_day: 4, median_ms: 15, over_p50: 1.5 });
  });

  it("is null under three whole days (a median of two is half a one-time spike), or without a day length", () => {
    expect(dailyProfile(times(20, 2, 0, () => 0).concat([10, 10]), 0, 20)).toBeNull();
    expect(dailyProfile(times(20, 3, 0, () => 0), 0, 0)).toBeNull();
  });

  it("counts every tick of the day over the limit and lists the 12 slowest", () => {
    const ms = times(40, 3, 0, (tod) => (tod < 15 ? 3 + tod / 10 : 0));
    const d = dailyProfile(ms, 0, 40)!;
    expect(d.over_limit_count).toBe(15);
    expect(d.over_limit).toHaveLength(12);
    expect(d.over_limit[0].tick_of_day).toBe(14);
    expect(formatDailyProfile(d)).toMatch(/ and 3 more; slowest tick of the day 14 at 1\.44x$/);
  });
});

describe("the daily profile in the bench's results", () => {
  it("is computed on --repeat's per-tick median, where one run's noisy day does not count", () => {
    const base = times(20, 4, 11, (tod) => (tod === 5 ? 4 : 0)); // a periodic 1.4x tick, 3 whole days and part of a fourth
    const noisy = base.map((x, i) => (i >= 20 && i < 40 ? x + 8 : x)); // one run's slow day
    const run = (ms: number[]): RepeatRun => ({ agents: 100_000, warmup_ticks: 10, ticks: ms.length, agent_steps_per_sec: 1, tick_ms_p50: 10, tick_ms_p99: 14, p99_over_p50: 1.4, state_hash: "h", tick_wall_ms: ms, ticks_per_day: 20 });
    const s = repeatSummary([run(base), run(noisy), run(base)]);
    expect(s.tick_median_daily!.over_limit).toEqual([{ tick_of_day: 5, median_ms: 14, over_p50: 1.4 }]);
    expect(repeatSummary([run(base), run(base)].map((r) => ({ ...r, ticks_per_day: null }))).tick_median_daily).toBeNull();
  });

  it("names the periodic ticks beside the tick-latency goal at 100k", () => {
    const daily = dailyProfile(times(20, 3, 0, (tod) => (tod === 9 ? 5 : 0)), 0, 20);
    const r = { agents: 100_000, policy: "scripted", layout: "towns", ticks: 60, ticks_per_day: 20, p99_over_p50: 1.5, agent_steps_per_sec: 1, baseline_ratio: 1, major_gcs: 0, major_gc_list: [], daily_profile: daily } as unknown as SimResult;
    const goal = checkGoals([r]).find((g) => g.goal.startsWith("tick p99 / p50"))!;
    expect(goal.periodic).toBe("1 tick of the day over 1.2x p50 by their median over 3 days (9: 1.5x)");
  });
});
