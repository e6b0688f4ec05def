import { describe, expect, it } from "vitest";
import { mergeKpis } from "../../engine/shard-blocks.ts";

describe("KPIs of a world split into blocks", () => {
  it("weights nested means by each block's live agents, adds counts and keeps extremes", () => {
    const merged = mergeKpis([
      { alive_agents: 2, mean_needs: { hunger: 0.2, energy: 1 }, exits: { total: 1 }, rivalry: { max_max: 0.5, avoid_count_mean: 1 }, exit_rate: 0.1, alerts: ["a"], ready: false },
      { alive_agents: 6, mean_needs: { hunger: 0.6, energy: 0.5 }, exits: { total: 3 }, rivalry: { max_max: 0.25, avoid_count_mean: 3 }, exit_rate: 0.3, alerts: ["b"], ready: true },
    ]);
    expect(merged.alive_agents).toBe(8);
    expect((merged.mean_needs as Record<string, number>).hunger).toBeCloseTo((2 * 0.2 + 6 * 0.6) / 8, 12);
    expect((merged.mean_needs as Record<string, number>).energy).toBeCloseTo((2 * 1 + 6 * 0.5) / 8, 12);
    expect(merged.exits).toEqual({ total: 4 });
    expect((merged.rivalry as Record<string, number>).max_max).toBe(0.5);
    expect((merged.rivalry as Record<string, number>).avoid_count_mean).toBeCloseTo(2.5, 12);
    expect(merged.exit_rate).toBeCloseTo(0.25, 12);
    expect(merged.alerts).toEqual(["a", "b"]);
    expect(merged.ready).toBe(true);
  });
});
