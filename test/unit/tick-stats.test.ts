// The bench's tick-latency statistics (bench/tick-stats.ts): nearest-rank quantiles, each system's
// ms-per-tick quantiles from a per-tick record, and the attribution of the slowest ticks to the
// systems over their median and to the GCs that started in them. The record of a real world
// (World.enableTiming(rows)) checks the shapes and sums; hand-made records check the arithmetic.
// No assertion depends on how fast anything ran.
import { describe, expect, it } from "vitest";
import { attributionFields, majorGcList, quantile, slowContributors, slowestTicks, slowTickCount, systemLatency, tickCsv, type TickRecord } from "../../bench/tick-stats.ts";
import { makeWorld } from "../helpers/world.ts";

describe("quantile", () => {
  it("takes the nearest rank: the 50th of 1..100 is 50, the 99th is 99, of 1..10 the 99th is 10", () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(quantile(hundred, 0.5)).toBe(50);
    expect(quantile(hundred, 0.99)).toBe(99);
    expect(quantile(Float64Array.from({ length: 10 }, (_, i) => i + 1), 0.99)).toBe(10);
    expect(quantile([7], 0.5)).toBe(7);
  });

  it("sorts numerically, not as text, and is NaN for no values", () => {
    expect(quantile([10, 9, 100, 2], 0.5)).toBe(9);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

/** A record of 5 ticks of 3 systems; tick 13 has b 6 ms over its median and a GC. */
function record(): TickRecord {
  const systems = ["a", "b", "c"];
  // rows: ticks 11..15; columns a, b, c
  const rows = [
    [1, 2, 0.5],
    [1.1, 2, 0.5],
    [1, 8, 0.6],
    [1.4, 2.1, 0.5],
    [0.9, 1.9, 0.5],
  ];
  const ms = Float64Array.from(rows.flat());
  const tickMs = rows.map((r) => r.reduce((x, y) => x + y, 0) + 0.1);
  const tickStart = [0, 10, 20, 40, 50];
  return {
    tickMs,
    tickStart,
    ticks: [11, 12, 13, 14, 15],
    systems,
    ms,
    gcs: [
      { start: 21, ms: 1.5, kind: "minor" },
      { start: 35, ms: 2, kind: "major" }, // between ticks 13 (20-29.7) and 14 (40-44.1): in none
    ],
    ticksPerDay: 12,
  };
}

describe("systemLatency", () => {
  it("gives each system's median, p99, max and mean over the recorded ticks, in the given order", () => {
    const l = systemLatency(["a", "b", "c"], record().ms);
    expect(l.map((x) => x.system)).toEqual(["a", "b", "c"]);
    expect(l[0]).toEqual({ system: "a", p50: 1, p99: 1.4, max: 1.4, mean: 1.08 });
    expect(l[1].p50).toBe(2);
    expect(l[1].max).toBe(8);
    expect(l[1].mean).toBe(3.2);
  });
});

describe("slowestTicks", () => {
  it("lists the slowest ticks first with the systems over their median, the time outside them and the GCs in them", () => {
    const slow = slowestTicks(record(), 2);
    expect(slow.map((t) => t.tick)).toEqual([13, 14]);
    const [t13, t14] = slow;
    expect(t13.tick_of_day).toBe(1);
    expect(t13.ms).toBeCloseTo(9.7, 6);
    // the ticks are 3.6, 3.7, 9.7, 4.1 and 3.4 ms: the median is 3.7
    expect(t13.over_p50).toBeCloseTo(9.7 - 3.7, 6);
    expect(t13.systems).toEqual([{ system: "b", ms: 8, over_p50: 6 }]);
    expect(t13.outside_systems_ms).toBeCloseTo(0.1, 6);
    expect(t13.gcs).toEqual(["minor"]);
    expect(t13.gc_ms).toBe(1.5);
    // tick 14: a is 0.4 over its median (>= 0.25), b 0.1 over (left out)
    expect(t14.systems).toEqual([{ system: "a", ms: 1.4, over_p50: 0.4 }]);
    expect(t14.gcs).toEqual([]);
  });

  it("places GCs by the wall-clock window when the ticks are ranked by another clock", () => {
    // CPU ms of tick 13 is 9.7, but it lasted 16 wall ms (20-36): the GC at 35 falls in it
    const rec = { ...record(), tickWallMs: [3.6, 3.7, 16, 4.1, 3.4] };
    const [t13] = slowestTicks(rec, 1);
    expect(t13.tick).toBe(13);
    expect(t13.gcs).toEqual(["minor", "major"]);
    expect(t13.gc_ms).toBe(3.5);
  });

  it("sums the contributors over the slow ticks, GC apart, largest excess first", () => {
    const c = slowContributors(slowestTicks(record(), 2));
    expect(c).toEqual([
      { system: "b", ticks: 1, over_p50_ms: 6 },
      { system: "(gc)", ticks: 1, over_p50_ms: 1.5 },
      { system: "a", ticks: 1, over_p50_ms: 0.4 },
    ]);
  });

  it("lists the top 1% of the ticks, at least 5 and at most 100", () => {
    expect([3, 20, 500, 2000, 10_000, 50_000].map(slowTickCount)).toEqual([3, 5, 5, 20, 100, 100]);
  });
});

describe("majorGcList", () => {
  const MB = 2 ** 20;
  // Ticks 11..15 start at 0, 10, 20, 40, 50 and last 5 ms; the heap before each (MB):
  const base = { tickStart: [0, 10, 20, 40, 50], tickWallMs: [5, 5, 5, 5, 5], ticks: [11, 12, 13, 14, 15], ticksPerDay: 12 };
  const heapUsed = [30, 31, 33, 29, 29.5].map((x) => x * MB);
  const external = [100, 120, 170, 171, 90].map((x) => x * MB);

  it("places each major GC in its tick (the next one between ticks, the last one after it) and skips minor ones", () => {
    const gcs = [
      { start: 12, ms: 1, kind: "minor" as const },
      { start: 22, ms: 30, kind: "major" as const },
      { start: 36, ms: 20, kind: "major" as const },
      { start: 99, ms: 9, kind: "major" as const },
    ];
    const list = majorGcList({ ...base, heapUsed, external, gcs });
    expect(list.map((g) => [g.tick, g.tick_of_day, g.ms])).toEqual([
      [13, 1, 30],
      [14, 2, 20],
      [15, 3, 9],
    ]);
  });

  it("reports the heap and external memory at the tick's start and their growth since the previous major (or the first tick)", () => {
    const gcs = [
      { start: 22, ms: 30, kind: "major" as const },
      { start: 52, ms: 20, kind: "major" as const },
    ];
    const [a, b] = majorGcList({ ...base, heapUsed, external, gcs });
    expect([a.heap_used_mb, a.external_mb, a.heap_used_change_mb, a.external_change_mb]).toEqual([33, 170, 3, 70]);
    // since tick 14 (the tick after the first major): heap 29 -> 29.5, external 171 -> 90
    expect([b.tick, b.heap_used_change_mb, b.external_change_mb]).toEqual([15, 0.5, -81]);
  });
});

describe("a real world's per-tick record", () => {
  it("records every system of every tick, and the slow-tick view adds up to the recorded times", () => {
    const world = makeWorld({ world: { agents_per_town: 6 } });
    world.run(3);
    world.enableTiming(8);
    const tickMs: number[] = [];
    const tickStart: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      world.step();
      tickStart.push(t);
      tickMs.push(performance.now() - t);
    }
    const rec = world.systemTickTimes()!;
    const names = world.systemTimes().map((s) => s.system);
    expect(rec.systems).toEqual(names);
    // 8 rows: ticks 4..11; the two ticks after them are not recorded
    expect(Array.from(rec.ticks)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(rec.ms.length).toBe(8 * names.length);
    // the totals (systemTimes) are the per-tick record plus the two unrecorded ticks: at least its sums
    const totals = world.systemTimes();
    names.forEach((_, k) => {
      let sum = 0;
      for (let r = 0; r < 8; r++) sum += rec.ms[r * names.length + k];
      expect(totals[k].ms).toBeGreaterThanOrEqual(sum - 1e-9);
    });
    const f = attributionFields({ tickMs: tickMs.slice(0, 8), tickStart, ticks: rec.ticks, systems: rec.systems, ms: rec.ms, ticksPerDay: 1440 });
    expect(f.system_latency.map((l) => l.system)).toEqual(names);
    expect(f.slowest_ticks).toHaveLength(5);
    const worst = f.slowest_ticks[0];
    expect(worst.ms).toBeCloseTo(Math.max(...tickMs.slice(0, 8)), 3);
    const r = Array.from(rec.ticks).indexOf(worst.tick);
    let inSystems = 0;
    for (let k = 0; k < names.length; k++) inSystems += rec.ms[r * names.length + k];
    expect(worst.outside_systems_ms).toBeCloseTo(tickMs[r] - inSystems, 3);
    for (let i = 1; i < f.slowest_ticks.length; i++) expect(f.slowest_ticks[i - 1].ms).toBeGreaterThanOrEqual(f.slowest_ticks[i].ms);
  });

  it("is undefined without rows, and enableTiming refuses a negative row count and an unknown clock", () => {
    const world = makeWorld({ world: { agents_per_town: 2 } });
    world.enableTiming();
    world.step();
    expect(world.systemTickTimes()).toBeUndefined();
    expect(() => world.enableTiming(-1)).toThrow(/rows must be a non-negative integer/);
    expect(() => world.enableTiming(4, "sundial" as "cpu")).toThrow(/clock must be "wall" or "cpu", got "sundial"/);
  });

  it("records with the CPU clock too: one row per tick, every value finite and not negative", () => {
    const world = makeWorld({ world: { agents_per_town: 4 } });
    world.enableTiming(3, "cpu");
    world.run(3);
    const rec = world.systemTickTimes()!;
    expect(Array.from(rec.ticks)).toEqual([1, 2, 3]);
    expect(rec.ms.length).toBe(3 * rec.systems.length);
    for (const v of rec.ms) expect(Number.isFinite(v) && v >= 0).toBe(true);
  });
});

describe("tickCsv", () => {
  it("writes one line per tick: tick of day, both clocks, time outside the systems on the systems' clock, GCs in the tick, heap, each system", () => {
    const rec = record();
    const wall = rec.tickMs;
    const cpu = [4, 3.5, 9, 4, 3.2];
    const csv = tickCsv({ ...rec, tickWallMs: wall, tickCpuMs: cpu, heapUsed: [2 ** 20, 2 ** 21, 3 * 2 ** 20, 2 ** 22, 2 ** 22], clock: "cpu" });
    const lines = csv.trimEnd().split("\n");
    expect(lines[0]).toBe("tick,tick_of_day,wall_ms,cpu_ms,outside_ms,minor_gcs,major_gcs,gc_ms,heap_mb,a,b,c");
    expect(lines).toHaveLength(6);
    // tick 13 (tod 1): systems 1 + 8 + 0.6 = 9.6 ms; the CPU tick 9 ms -> outside -0.6; the minor GC at 21 ms is inside it
    expect(lines[3].split(",").map(Number)).toEqual([13, 1, 9.7, 9, -0.6, 1, 0, 1.5, 3, 1, 8, 0.6]);
    // the major GC at 35 ms started between ticks 13 and 14: in no line
    expect(lines.slice(1).map((l) => l.split(",")[6])).toEqual(["0", "0", "0", "0", "0"]);
    expect(lines[1].split(",").slice(0, 5).map(Number)).toEqual([11, 11, 3.6, 4, 0.5]);
  });

  it("times outside_ms on the wall clock when the systems were, and leaves tick of day and heap empty when unknown", () => {
    const rec = record();
    const csv = tickCsv({ ...rec, ticksPerDay: undefined, tickWallMs: rec.tickMs, tickCpuMs: [1, 1, 1, 1, 1], clock: "wall" });
    const first = csv.split("\n")[1].split(",");
    expect(first.slice(0, 9)).toEqual(["11", "", "3.6", "1", "0.1", "0", "0", "0", ""]);
  });
});

describe("tickCsv events", () => {
  it("adds each tick's messages per channel after the systems, leaving out channels that never sent", () => {
    const rec = record();
    // rows = ticks 11..15, columns start, spawn, chat
    const counts = [3, 0, 0, 0, 0, 1, 9, 0, 0, 0, 0, 0, 2, 0, 0];
    const csv = tickCsv({ ...rec, tickWallMs: rec.tickMs, tickCpuMs: rec.tickMs, clock: "wall", events: { names: ["start", "spawn", "chat"], counts } });
    const lines = csv.trimEnd().split("\n");
    expect(lines[0].split(",").slice(-5)).toEqual(["a", "b", "c", "n:start", "n:chat"]);
    expect(lines.slice(1).map((l) => l.split(",").slice(-2).join(" "))).toEqual(["3 0", "0 1", "9 0", "0 0", "2 0"]);
  });
});
