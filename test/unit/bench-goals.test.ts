// The goals block of `townlet bench --json` (tools/bench.ts checkGoals): which goals a run's sizes
// speak to, met or not, and a note where the run's window is shorter than the goal's.
import { describe, expect, it } from "vitest";
import { checkGoals, perSizeFile } from "../../tools/bench.ts";
import type { SimResult } from "../../bench/sim.ts";

/** The fields checkGoals reads, for a scripted towns run. */
function run(over: Partial<SimResult>): SimResult {
  return {
    agents: 100_000,
    policy: "scripted",
    layout: "towns",
    ticks: 10_000,
    ticks_per_day: 1440,
    agent_steps_per_sec: 3_300_000,
    p99_over_p50: 1.31,
    baseline_ratio: 1.03,
    bytes_per_agent: 550,
    major_gcs: 0,
    major_gc_list: [],
    ...over,
  } as SimResult;
}

const goal = (r: SimResult, prefix: string) => checkGoals([r]).find((g) => g.goal.startsWith(prefix));

describe("checkGoals", () => {
  it("checks speed, p99 / p50, baseline ratio and major GCs at 100k, each met or not", () => {
    const g = checkGoals([run({ p99_over_p50: 1.19, baseline_ratio: 1.6, major_gcs: 0 })]);
    const by = Object.fromEntries(g.map((x) => [x.goal.split(" at ")[0], x.met]));
    expect(by).toEqual({ "sim-only agent-steps/s": false, "tick p99 / p50": true, "needs/decay over a bare typed-array loop (baseline_ratio)": false, "major GCs in 10000 ticks": true });
  });

  it("notes a p99 measured over less than a simulated day, not one over 10,000 ticks", () => {
    expect(goal(run({ ticks: 500 }), "tick p99")!.note).toMatch(/500 ticks are less than a simulated day \(1440\)/);
    expect(goal(run({}), "tick p99")!.note).toBeUndefined();
  });

  it("names the ticks of the major GCs and notes a run shorter than the goal's 10,000 ticks", () => {
    const majors = [{ tick: 180, ms: 40, heap_used_mb: 30, external_mb: 90, heap_used_change_mb: 2, external_change_mb: 60 }, { tick: 5000, ms: 30, heap_used_mb: 31, external_mb: 95, heap_used_change_mb: 1, external_change_mb: 5 }];
    const g = goal(run({ major_gcs: 2, major_gc_list: majors }), "major GCs")!;
    expect(g.goal).toBe("major GCs in 10000 ticks at 100000 (at ticks 180, 5000)");
    expect([g.measured, g.met, g.note]).toEqual([2, false, undefined]);
    expect(goal(run({ ticks: 2000 }), "major GCs")!.note).toMatch(/0 per 10,000 ticks; this run timed 2000/);
  });

  it("checks nothing at 100k for a size far from it, and bytes per agent only near 1M", () => {
    const g = checkGoals([run({ agents: 1_000, major_gcs: 0 }), run({ agents: 1_000_000, bytes_per_agent: 500 })]);
    expect(g.map((x) => x.goal)).toEqual(["bytes of engine state per agent at 1M", "major GCs in 10000 ticks at 1000000"]);
    expect(g[0].met).toBe(true);
  });
});

describe("perSizeFile", () => {
  it("names one --tick-csv file per size: the agents before the extension, or at the end without one", () => {
    expect(perSizeFile("/tmp/ticks.csv", 100_000)).toBe("/tmp/ticks-100000.csv");
    expect(perSizeFile("out/ticks", 1000)).toBe("out/ticks-1000");
    expect(perSizeFile("./run.d/ticks", 10)).toBe("./run.d/ticks-10");
  });
});
