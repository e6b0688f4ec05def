// The need-decay kernels (systems/needs/index.ts, issue #19): needs go through fused loops three at
// a time, yet every need of every agent in the spans must fall exactly as in a plain loop over
// one need and one agent (a - rate, or a - rate x multiplier, clamped to [0, 1]), for any number
// of needs, with and without multiplier columns, and nothing outside the spans may change.
import { describe, expect, it } from "vitest";
import { decayNeeds, decayNeedsScaled } from "../../systems/needs/index.ts";
import { compileDecay } from "../../systems/needs/decay-kernel.ts";
import { Needs } from "../../components/needs.ts";
import { makeWorld } from "../helpers/world.ts";

const SIZE = 64;
// Three runs of agents with gaps (objects) between them, as a world's spans are.
const SPANS = Int32Array.of(1, 9, 12, 30, 41, 60);

/** Deterministic test values in [-0.1, 1.1] (some start outside [0, 1], so both clamps work). */
function column(seed: number): Float32Array {
  const c = new Float32Array(SIZE);
  let x = seed * 2654435761;
  for (let i = 0; i < SIZE; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    c[i] = -0.1 + 1.2 * (x / 2 ** 32);
  }
  return c;
}

function inSpans(eid: number): boolean {
  for (let s = 0; s < SPANS.length; s += 2) if (eid >= SPANS[s] && eid < SPANS[s + 1]) return true;
  return false;
}

/** One need, one agent at a time: the rule the kernels must reproduce. */
function reference(cols: Float32Array[], rates: number[], mults?: (Float32Array | undefined)[]): Float32Array[] {
  return cols.map((src, k) => {
    const out = src.slice();
    for (let eid = 0; eid < SIZE; eid++) {
      if (!inSpans(eid)) continue;
      const m = mults?.[k];
      const a = out[eid] - (m === undefined ? rates[k] : rates[k] * m[eid]);
      out[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
    }
    return out;
  });
}

describe("need decay kernels", () => {
  it("decay 1 to 7 needs exactly as one need at a time, and leave entities outside the spans alone", () => {
    for (let K = 1; K <= 7; K++) {
      const cols = Array.from({ length: K }, (_, k) => column(K * 10 + k));
      const rates = Array.from({ length: K }, (_, k) => 0.001 + 0.037 * k);
      const expected = reference(cols, rates);
      decayNeeds(SPANS, cols, Float64Array.from(rates));
      for (let k = 0; k < K; k++) expect(Array.from(cols[k]), `${K} needs, need ${k}`).toEqual(Array.from(expected[k]));
    }
  });

  it("decay needs with and without a multiplier column exactly as one need at a time", () => {
    for (let K = 1; K <= 7; K++) {
      const cols = Array.from({ length: K }, (_, k) => column(K * 10 + k));
      const rates = Array.from({ length: K }, (_, k) => 0.002 + 0.029 * k);
      // Every third need has no multiplier column; the others vary per agent around 1.
      const mults = Array.from({ length: K }, (_, k) => (k % 3 === 1 ? undefined : column(100 + K * 10 + k).map((v) => 0.5 + v)));
      const expected = reference(cols, rates, mults);
      decayNeedsScaled(SPANS, cols, Float64Array.from(rates), mults);
      for (let k = 0; k < K; k++) expect(Array.from(cols[k]), `${K} needs, need ${k}`).toEqual(Array.from(expected[k]));
    }
  });

  it("changes the values it should: a need above its rate falls by it", () => {
    const cols = [new Float32Array(SIZE).fill(0.5), new Float32Array(SIZE).fill(0.5), new Float32Array(SIZE).fill(0.5), new Float32Array(SIZE).fill(0.005)];
    decayNeeds(SPANS, cols, Float64Array.of(0.1, 0.2, 0, 0.01));
    expect([cols[0][1], cols[1][1], cols[2][1], cols[3][1]]).toEqual([Math.fround(0.5 - 0.1), Math.fround(0.5 - 0.2), 0.5, 0]);
    expect([cols[0][10], cols[3][10]]).toEqual([0.5, Math.fround(0.005)]);
  });

  it("a kernel generated for the columns decays exactly as one need at a time, with and without multipliers", () => {
    for (let K = 1; K <= 7; K++) {
      const rates = Array.from({ length: K }, (_, k) => 0.002 + 0.029 * k);
      const plain = Array.from({ length: K }, (_, k) => column(K * 10 + k));
      const expectedPlain = reference(plain, rates);
      compileDecay(plain)!(SPANS, Float64Array.from(rates));
      for (let k = 0; k < K; k++) expect(Array.from(plain[k]), `${K} needs, need ${k}`).toEqual(Array.from(expectedPlain[k]));
      const cols = Array.from({ length: K }, (_, k) => column(K * 10 + k));
      const mults = Array.from({ length: K }, (_, k) => (k % 3 === 1 ? undefined : column(100 + K * 10 + k).map((v) => 0.5 + v)));
      const expected = reference(cols, rates, mults);
      compileDecay(cols, mults)!(SPANS, Float64Array.from(rates));
      for (let k = 0; k < K; k++) expect(Array.from(cols[k]), `${K} needs scaled, need ${k}`).toEqual(Array.from(expected[k]));
    }
  });

  it("a world keeps decaying every agent after its columns grow and move", () => {
    const world = makeWorld({ world: { agents_per_town: 2 } });
    const before = world.columns(Needs).hunger;
    world.step();
    // Enough agents to make the store grow its columns (a new kernel for the new arrays).
    const spawned: number[] = [];
    for (let i = 0; i < 400; i++) spawned.push(world.spawnAgent(0));
    const cols = world.columns(Needs);
    expect(cols.hunger).not.toBe(before);
    const eid = spawned[spawned.length - 1];
    const was = cols.hunger[eid];
    world.step();
    expect(world.columns(Needs).hunger[eid]).toBeLessThan(was);
  });
});
