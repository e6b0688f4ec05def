// The front of a scripted decision (systems/behavior/front-kernel.ts): the kernel generated for a
// world's arrays and its plain TypeScript twin (what runs where code generation from strings is
// refused) give the same answers, agent by agent, and the cache remakes the kernel when an array
// it closes over moved.
import { describe, expect, it } from "vitest";
import { F_BUFFER, F_GUARD, F_LEVEL, F_MARGIN, F_SLACK, F_TOD, FrontCache, R_JOB, R_WORST, compileFront, genericFront, type FrontArrays } from "../../systems/behavior/front-kernel.ts";

/** A small seeded generator (the test's own data, not the simulation's). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** Agents with needs spread around the thresholds and the critical level (a NaN among them), jobs at a tile or anywhere, none for some. */
function arrays(agents: number, K: number, seed: number): FrontArrays {
  const r = lcg(seed);
  const cols = Array.from({ length: K }, () => Float32Array.from({ length: agents }, () => r() * 1.1 - 0.05));
  cols[0][3] = NaN;
  const jobs = 3;
  return {
    cols,
    job: Int16Array.from({ length: agents }, () => Math.floor(r() * (jobs + 1)) - 1),
    x: Int16Array.from({ length: agents }, () => Math.floor(r() * 40)),
    y: Int16Array.from({ length: agents }, () => Math.floor(r() * 40)),
    jobX: Int32Array.of(5, -1, 30),
    jobY: Int32Array.of(7, -1, 2),
    start: Int32Array.of(120, 300, 900),
    end: Int32Array.of(360, 560, 1300),
    thresholds: Float64Array.from({ length: K }, () => 0.3 + r() * 0.4),
    rates: Float64Array.from({ length: K }, () => r() * 0.003),
    urgency: Float64Array.from({ length: K }, (_, k) => (k === 0 ? 2 : 1)),
    needs: new Float32Array(K),
  };
}

/** Every agent's answer (work, worst, job, leaveAt and the needs scratch) from `front` at each of `tods`. */
function answers(a: FrontArrays, make: typeof genericFront, tods: readonly number[]): number[] {
  const S = new Float64Array(6);
  const R = new Int32Array(2);
  const L = new Float64Array(1);
  const front = make(a, S, R, L);
  const out: number[] = [];
  for (const tod of tods) {
    S.set([tod, 15, 30, 60, 0.2, 0.1]);
    for (let e = 0; e < a.job!.length; e++) {
      const work = front(e);
      out.push(work, R[R_WORST], R[R_JOB], L[0], ...a.needs);
    }
  }
  return out;
}

describe("the front of a scripted decision", () => {
  it("answers as its plain TypeScript twin for every agent, inside, before and after shifts", () => {
    const tods = [0, 60, 100, 119, 200, 300, 359, 360, 361, 500, 561, 880, 1250];
    for (const K of [1, 3, 6]) {
      const a = arrays(400, K, 17 + K);
      const generated = answers(a, (...args) => compileFront(...args)!, tods);
      const plain = answers(a, genericFront, tods);
      expect(generated).toEqual(plain);
      // The data reach every branch: agents at work, leaving, planning ahead, with no job.
      const works = generated.filter((_, i) => i % (4 + K) === 0);
      expect(works).toContain(1);
      expect(works).toContain(0);
    }
  });

  it("writes the scalars' order the pass sets (tod, buffer, guard, slack, level, margin)", () => {
    expect([F_TOD, F_BUFFER, F_GUARD, F_SLACK, F_LEVEL, F_MARGIN]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("keeps its kernel while no array moved, and makes a new one when a column or the generic flag changed", () => {
    const cache = new FrontCache();
    const a = arrays(50, 3, 5);
    const first = cache.kernelFor(a, false);
    expect(cache.path).toBe("kernel");
    expect(cache.kernelFor({ ...a }, false)).toBe(first);
    const grown = { ...a, cols: [...a.cols.slice(0, 2), new Float32Array(100)] };
    const second = cache.kernelFor(grown, false);
    expect(second).not.toBe(first);
    expect(cache.kernelFor(grown, true)).not.toBe(second);
    expect(cache.path).toBe("generic");
    // Without a job column (no employment plug-in) the generic front runs.
    const none = new FrontCache();
    none.kernelFor({ ...a, job: undefined }, false);
    expect(none.path).toBe("generic");
  });
});
