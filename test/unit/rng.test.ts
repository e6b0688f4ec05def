// Named random streams: reproducible from (seed, name), independent between names and seeds,
// saved and restored exactly, and bounded as documented.
import { describe, expect, it } from "vitest";
import { createRng, CORE_STREAMS, RngStreams, type Rng } from "../../engine/rng.ts";

const draws = (r: Rng, n: number) => Array.from({ length: n }, () => r.next());

describe("streams", () => {
  it("gives the same sequence for the same seed and name", () => {
    expect(draws(createRng(42, "world"), 200)).toEqual(draws(createRng(42, "world"), 200));
  });

  it("gives different sequences for different names or different seeds", () => {
    const base = draws(createRng(42, "world"), 50);
    expect(draws(createRng(42, "events"), 50)).not.toEqual(base);
    expect(draws(createRng(43, "world"), 50)).not.toEqual(base);
    expect(draws(createRng(42, "plugin:world"), 50)).not.toEqual(base);
  });

  it("builds the core streams first, then added ones in order, each equal to createRng", () => {
    const s = new RngStreams(9);
    s.add("plugin:b");
    s.add("plugin:a");
    expect(s.order).toEqual([...CORE_STREAMS, "plugin:b", "plugin:a"]);
    expect(draws(s.get("plugin:a"), 20)).toEqual(draws(createRng(9, "plugin:a"), 20));
    expect(draws(s.get("policy"), 20)).toEqual(draws(createRng(9, "policy"), 20));
  });

  it("keeps streams independent: drawing from one leaves another's sequence unchanged", () => {
    const a = new RngStreams(5);
    const b = new RngStreams(5);
    draws(a.get("world"), 1000);
    expect(draws(a.get("events"), 30)).toEqual(draws(b.get("events"), 30));
  });

  it("returns the existing stream when a name is added twice, and names the streams for an unknown one", () => {
    const s = new RngStreams(1);
    const x = s.add("plugin:x");
    expect(s.add("plugin:x")).toBe(x);
    expect(s.order.filter((n) => n === "plugin:x")).toHaveLength(1);
    expect(() => s.get("plugin:y")).toThrow(/unknown rng stream "plugin:y" \(streams: world, events, policy, plugin:x\)/);
  });
});

describe("saving and restoring", () => {
  it("continues the same sequence from a saved state", () => {
    const r = createRng(3, "world");
    draws(r, 17);
    const saved = r.state();
    const ahead = draws(r, 100);
    r.restore(saved);
    expect(draws(r, 100)).toEqual(ahead);
  });

  it("continues the same sequence in a fresh stream of another seed, through JSON", () => {
    const r = createRng(3, "world");
    draws(r, 17);
    const saved = JSON.parse(JSON.stringify(r.state()));
    const ahead = draws(r, 100);
    const other = createRng(999, "elsewhere");
    other.restore(saved);
    expect(draws(other, 100)).toEqual(ahead);
  });

  it("hands out a copy of its state that later draws do not change", () => {
    const r = createRng(3, "world");
    const s = r.state();
    const copy = { ...s };
    draws(r, 10);
    expect(s).toEqual(copy);
    s.s0 = 0.5;
    r.restore(copy);
    expect(r.state()).toEqual(copy);
  });

  it("restores every stream of a fresh RngStreams via save/restore", () => {
    const a = new RngStreams(11);
    a.add("plugin:graffiti");
    for (const n of a.order) draws(a.get(n), n.length * 3);
    const saved = JSON.parse(JSON.stringify(a.save()));
    expect(Object.keys(saved)).toEqual(a.order);
    const b = new RngStreams(12);
    b.add("plugin:graffiti");
    b.restore(saved);
    for (const n of a.order) expect(draws(b.get(n), 40), n).toEqual(draws(a.get(n), 40));
  });

  it.each([
    ["null", null],
    ["a number", 3],
    ["a missing field", { c: 1, s0: 0.1, s1: 0.2 }],
    ["a string field", { c: "1", s0: 0.1, s1: 0.2, s2: 0.3 }],
    ["NaN", { c: 1, s0: Number.NaN, s1: 0.2, s2: 0.3 }],
    ["Infinity", { c: 1, s0: 0.1, s1: Number.POSITIVE_INFINITY, s2: 0.3 }],
  ])("rejects a malformed saved state (%s) with a clear error and keeps its own", (_label, bad) => {
    const r = createRng(3, "events");
    draws(r, 5);
    const before = r.state();
    expect(() => r.restore(bad as never)).toThrow(TypeError);
    expect(() => r.restore(bad as never)).toThrow('rng stream "events": invalid saved state');
    expect(r.state()).toEqual(before);
  });

  it("rejects saved states that lack one of its streams, naming it", () => {
    const a = new RngStreams(1);
    const saved = a.save();
    delete (saved as Record<string, unknown>).policy;
    expect(() => new RngStreams(1).restore(saved)).toThrow('saved rng states lack stream "policy"');
  });
});

describe("bounds", () => {
  const N = 20_000;

  it("draws next() in [0, 1)", () => {
    const r = createRng(1, "b");
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < N; i++) {
      const x = r.next();
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(lo).toBeLessThan(0.001);
    expect(hi).toBeGreaterThan(0.999);
  });

  it("draws int(n) as integers in [0, n), every value about equally often", () => {
    const r = createRng(2, "b");
    const counts = new Array<number>(7).fill(0);
    let bad = 0;
    for (let i = 0; i < N; i++) {
      const k = r.int(7);
      if (!Number.isInteger(k) || k < 0 || k >= 7) bad++;
      else counts[k]++;
    }
    expect(bad).toBe(0);
    for (const c of counts) expect(Math.abs(c - N / 7)).toBeLessThan(N / 7 / 10);
    expect(Array.from({ length: 100 }, () => r.int(1))).toEqual(new Array(100).fill(0));
  });

  it("draws intBetween(lo, hi) inclusive at both ends", () => {
    const r = createRng(3, "b");
    const seen = new Set<number>();
    let fractional = 0;
    for (let i = 0; i < N; i++) {
      const k = r.intBetween(-3, 3);
      if (!Number.isInteger(k)) fractional++;
      seen.add(k);
    }
    expect(fractional).toBe(0);
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(r.intBetween(5, 5)).toBe(5);
  });

  it("draws uniform(lo, hi) in [lo, hi) with the right mean", () => {
    const r = createRng(4, "b");
    let sum = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < N; i++) {
      const x = r.uniform(2, 5);
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
      sum += x;
    }
    expect(lo).toBeGreaterThanOrEqual(2);
    expect(hi).toBeLessThan(5);
    expect(Math.abs(sum / N - 3.5)).toBeLessThan(0.05);
  });
});
