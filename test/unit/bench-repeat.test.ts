// `townlet bench --repeat N` (bench/repeat.ts): the runs of one size compared tick by tick.
import { describe, expect, it } from "vitest";
import { repeatSummary, type RepeatRun } from "../../bench/repeat.ts";
import { repeatGoals } from "../../tools/bench.ts";

function run(times: number[], over: Partial<RepeatRun> = {}): RepeatRun {
  const sorted = [...times].sort((a, b) => a - b);
  return { agents: 100_000, warmup_ticks: 10, ticks: times.length, agent_steps_per_sec: 1, tick_ms_p50: sorted[Math.ceil(times.length / 2) - 1], tick_ms_p99: sorted[Math.ceil(times.length * 0.99) - 1], p99_over_p50: 0, state_hash: "h", tick_wall_ms: times, ...over };
}

describe("repeatSummary", () => {
  it("takes the p99 of the per-tick median, so a slow stretch in one run of three does not set it", () => {
    const base = Array.from({ length: 100 }, (_, t) => 10 + (t % 10) / 10);
    const noisy = base.map((x, t) => (t >= 40 && t < 60 ? x + 5 : x)); // one run's interference
    const s = repeatSummary([run(base), run(noisy), run(base.map((x) => x + 0.1))]);
    expect(s.tick_median.tick_ms_p99).toBeCloseTo(11, 6); // ticks 40-59 take the third run's +0.1
    expect(s.tick_min.tick_ms_p99).toBeCloseTo(10.9, 6);
    expect(s.per_run.map((p) => p.tick_ms_p99)).toEqual([10.9, 15.9, 11]);
    expect(s.same_state_hash).toBe(true);
    expect(s.same_tick_sd_ms).toBeGreaterThan(0);
  });

  it("says how far the machine alone stretched each run: the p99 of its ticks over the same ticks' median", () => {
    const base = Array.from({ length: 100 }, (_, t) => 10 + (t % 10) / 10);
    const slow = base.map((x, t) => (t < 5 ? x * 1.5 : x)); // 5 of 100 ticks 50% slower than the same work elsewhere
    const s = repeatSummary([run(base), run(slow), run(base)]);
    expect(s.per_run.map((p) => p.over_tick_median_p99)).toEqual([1, 1.5, 1]);
  });

  it("averages the two middle runs of an even count", () => {
    const s = repeatSummary([run([1, 2]), run([3, 6])]);
    expect([s.tick_median.tick_ms_p50, s.tick_median.tick_ms_p99, s.tick_min.tick_ms_p99]).toEqual([2, 4, 2]);
  });

  it("refuses runs that did not time the same ticks, or lack their per-tick times", () => {
    expect(() => repeatSummary([run([1, 2]), run([1, 2], { warmup_ticks: 11 })])).toThrow(/run 2 timed 2 ticks of 100000 agents after 11 warm-up; run 1 timed 2 of 100000 after 10/);
    expect(() => repeatSummary([run([1, 2]), run([1, 2], { tick_wall_ms: undefined })])).toThrow(/run 2 has no per-tick times for 2 timed ticks/);
    expect(() => repeatSummary([run([1, 2])])).toThrow(/at least 2 runs/);
  });

  it("says when the runs ended in different states, and the goal row is then not met", () => {
    const s = repeatSummary([run([1, 1]), run([1, 1], { state_hash: "other" })]);
    expect(s.same_state_hash).toBe(false);
    const [g] = repeatGoals([s]);
    expect([g.met, g.note]).toEqual([false, "the runs ended in different state hashes: their ticks did not do the same work"]);
  });

  it("checks the tick-latency goal on the median at 100k only, with each run's own ratio in the note", () => {
    const ok = repeatSummary([run([10, 11], { p99_over_p50: 1.1 }), run([10, 11], { p99_over_p50: 1.3 })]);
    const [g] = repeatGoals([ok]);
    expect([g.measured, g.met, g.note]).toEqual([1.1, true, "each run alone: 1.1, 1.3; the machine alone, p99 of each run's ticks over the per-tick median (the same work): 1, 1"]);
    expect(repeatGoals([{ ...ok, agents: 1000 }])).toEqual([]);
  });
});
