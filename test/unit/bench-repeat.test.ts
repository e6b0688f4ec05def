// `townlet bench --repeat N` (bench/repeat.ts): the runs of one size compared tick by tick.
import { describe, expect, it } from "vitest";
import { repeatSummary, type RepeatRun } from "../../bench/repeat.ts";
import { repeatGoals } from "../../tools/bench.ts";
import { formatSlowTicks, OUTSIDE } from "../../bench/slow-ticks.ts";

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

  describe("the slow ticks of each run", () => {
    // Two systems and 100 ticks: "a" 6 ms, "b" 3 ms, 1 ms outside them (10 ms a tick).
    const SYSTEMS = ["a", "b"];
    const perSystem = (f: (t: number) => [number, number]) => Array.from({ length: 100 }, (_, t) => f(t)).flat();
    const wallOf = (ms: number[]) => Array.from({ length: 100 }, (_, t) => ms[2 * t] + ms[2 * t + 1] + 1);
    const runOf = (ms: number[]) => run(wallOf(ms), { tick_system_ms: { systems: SYSTEMS, ms } });
    const steady = perSystem(() => [6, 3]);

    it("finds every system slower by the same factor when the whole tick ran slower", () => {
      // Ticks 10-29 of run 2: the same work 30% slower in every part (the machine, not a system).
      const machine = perSystem((t) => (t >= 10 && t < 30 ? [7.8, 3.9] : [6, 3]));
      const wall = wallOf(machine).map((w, t) => (t >= 10 && t < 30 ? w + 0.3 : w));
      const s = repeatSummary([runOf(steady), run(wall, { tick_system_ms: { systems: SYSTEMS, ms: machine } }), runOf(steady)]);
      const slow = s.per_run[1].slow_ticks!;
      expect([slow.ticks, slow.extra_ms, slow.over_median_range]).toEqual([20, 60, [1.3, 1.3]]);
      expect(slow.systems.map((x) => [x.system, x.over_median, x.extra_ms])).toEqual([["a", 1.3, 36], ["b", 1.3, 18], [OUTSIDE, 1.3, 6]]);
      expect(s.per_run[0].slow_ticks!.ticks).toBe(0);
      expect(formatSlowTicks(slow)).toBe("20 ticks over 1.15x the per-tick median (+60 ms); on them each system with 2%+ of the time took 1.30-1.30x its own per-tick median: a x1.30 (+36 ms), b x1.30 (+18 ms), (outside the systems) x1.30 (+6 ms)");
      expect(formatSlowTicks(s.per_run[0].slow_ticks!)).toBe("no tick over 1.15x the per-tick median");
    });

    it("points at the one system that ran slower in one run", () => {
      // Run 3: system b twice as slow on ticks 50-59 (say, code that ran unoptimised there), the rest unchanged.
      const stuck = perSystem((t) => (t >= 50 && t < 60 ? [6, 6] : [6, 3]));
      const s = repeatSummary([runOf(steady), runOf(steady), runOf(stuck)]);
      const slow = s.per_run[2].slow_ticks!;
      expect([slow.ticks, slow.over_median_range]).toEqual([10, [1, 2]]);
      expect(slow.systems[0]).toEqual({ system: "b", over_median: 2, extra_ms: 30 });
    });

    it("is left out when a run has no per-system times or other systems", () => {
      expect(repeatSummary([runOf(steady), run(wallOf(steady))]).per_run[0].slow_ticks).toBeUndefined();
      const other = run(wallOf(steady), { tick_system_ms: { systems: ["a", "c"], ms: steady } });
      expect(repeatSummary([runOf(steady), other]).per_run[0].slow_ticks).toBeUndefined();
    });
  });
});
