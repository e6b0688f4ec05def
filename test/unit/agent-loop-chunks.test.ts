// The generated agent loops called per chunk (issue #19, tenth session: a loop function entered
// once per chunk of agents instead of once per span, so V8 optimises the function itself, not only
// on-stack-replacement code): lifecycle's exits, leaving and nightly raise kernels and needs' decay
// kernel over spans longer than their chunks visit every agent of the spans once, in agent order,
// as one written-out loop does, and nothing outside the spans.
import { describe, expect, it } from "vitest";
import { freshCopy } from "../../engine/kernel-source.ts";
import { LIFE_CHUNK, compileRaise, exitsFactory, leavingFactory } from "../../systems/lifecycle/kernels.ts";
import { DECAY_CHUNK, compileDecay } from "../../systems/needs/decay-kernel.ts";

function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

/** Two spans crossing several chunk boundaries, with a gap, in a store of `size` entities. */
function longSpans(chunk: number): { spans: Int32Array; size: number } {
  const size = 3 * chunk + 100;
  return { spans: Int32Array.of(3, chunk + 1, chunk + 5, size - 2), size };
}

function inSpans(spans: Int32Array, e: number): boolean {
  for (let s = 0; s < spans.length; s += 2) if (e >= spans[s] && e < spans[s + 1]) return true;
  return false;
}

describe("generated agent loops over spans longer than their chunk", () => {
  it("exits counts broke ticks and marks faints and unemployment for every agent of the spans, and leaving lists them in order", () => {
    expect(exitsFactory.toString()).toContain(`const chunk = ${LIFE_CHUNK};`);
    expect(leavingFactory.toString()).toContain(`const chunk = ${LIFE_CHUNK};`);
    const { spans, size } = longSpans(LIFE_CHUNK);
    const rnd = lcg(3);
    const hasWallet = Uint8Array.from({ length: size }, () => (rnd() < 0.9 ? 1 : 0));
    const money = Float32Array.from({ length: size }, () => (rnd() < 0.3 ? 0 : 5));
    const wage = new Float32Array(size);
    const broke = Uint16Array.from({ length: size }, () => Math.floor(rnd() * 3));
    const reason = new Uint8Array(size);
    const hunger = Float32Array.from({ length: size }, () => rnd());
    const townOf = new Uint32Array(size);
    const hold = new Uint8Array(1);
    const faint = 0.02;
    const grace = 3;
    // The reference: one loop over the agents, written out here (none 0, fainted 1, unemployed 3).
    const rb = broke.slice();
    const rr = reason.slice();
    const refLeaving: number[] = [];
    for (let e = 0; e < size; e++) {
      if (!inSpans(spans, e)) continue;
      if (hasWallet[e] === 1) rb[e] = money[e] <= 0 && wage[e] <= 0 ? rb[e] + 1 : 0;
      if (rr[e] !== 0) continue;
      if (hunger[e] <= faint) rr[e] = 1;
      else if (rb[e] >= grace) rr[e] = 3;
      if (rr[e] !== 0) refLeaving.push(e);
    }
    const exits = freshCopy(exitsFactory)(hasWallet, money, wage, broke, reason, hunger, townOf, hold, 0, 1, 0, 1, 3);
    exits(spans, faint, grace);
    expect([...broke]).toEqual([...rb]);
    expect([...reason]).toEqual([...rr]);
    expect(refLeaving.length).toBeGreaterThan(100);
    const leaving = new Int32Array(size);
    const n = freshCopy(leavingFactory)(reason, leaving, 0)(spans);
    expect([...leaving.subarray(0, n)]).toEqual(refLeaving);
    // A list too small for them: -1 (the caller grows it and scans again).
    expect(freshCopy(leavingFactory)(reason, new Int32Array(refLeaving.length - 1), 0)(spans)).toBe(-1);
  });

  it("the nightly raise lifts every need of every agent of the spans to the floor, and leaves the gaps alone", () => {
    const { spans, size } = longSpans(LIFE_CHUNK);
    const rnd = lcg(5);
    const cols = [0, 1, 2].map(() => Float32Array.from({ length: size }, () => rnd()));
    const expected = cols.map((c) => c.map((v, e) => (inSpans(spans, e) && v < 0.5 ? 0.5 : v)));
    compileRaise(cols)!(spans, 0.5);
    cols.forEach((c, k) => expect([...c], `need ${k}`).toEqual([...expected[k]]));
  });

  it("decay lowers every need of every agent of the spans once, clamped, and leaves the gaps alone", () => {
    const { spans, size } = longSpans(DECAY_CHUNK);
    const rnd = lcg(8);
    const cols = [0, 1].map(() => Float32Array.from({ length: size }, () => -0.1 + 1.2 * rnd()));
    const mult = Float32Array.from({ length: size }, () => 0.5 + rnd());
    const rates = [0.01, 0.03];
    const expected = cols.map((c, k) =>
      c.map((v, e) => {
        if (!inSpans(spans, e)) return v;
        const a = v - (k === 1 ? rates[k] * mult[e] : rates[k]);
        return a < 0 ? 0 : a > 1 ? 1 : a;
      }),
    );
    compileDecay(cols, [undefined, mult])!(spans, Float64Array.from(rates));
    cols.forEach((c, k) => expect([...c], `need ${k}`).toEqual([...expected[k]]));
  });
});
