// bench/machine-tail.ts: the machine's own tail, the same work every pass (issue #19).
import { describe, expect, it } from "vitest";
import { makeWorkload, measureMachineTail } from "../../bench/machine-tail.ts";

describe("the machine-tail benchmark", () => {
  it("does the same work on every pass: two workloads give the same checksums in turn", () => {
    const a = makeWorkload();
    const b = makeWorkload();
    const sums = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(sums);
    // The streaming columns and the xorshift stream move on, so passes differ from each other.
    expect(new Set(sums).size).toBe(3);
  });

  it("times every pass and reports p50, p99 and their ratio", () => {
    const { result, times } = measureMachineTail(12, 0.5);
    expect(times).toHaveLength(12);
    expect(result.passes).toBe(12);
    expect(result.units_per_pass).toBeGreaterThanOrEqual(1);
    expect(result.pass_ms_p50).toBeGreaterThan(0);
    expect(result.pass_ms_p99).toBeGreaterThanOrEqual(result.pass_ms_p50);
    expect(result.pass_ms_max).toBeGreaterThanOrEqual(result.pass_ms_p99);
    expect(result.p99_over_p50).toBeCloseTo(result.pass_ms_p99 / result.pass_ms_p50, 2);
  });
});
