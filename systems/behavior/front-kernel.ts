// The front of one scripted decision (decide.ts, DecidePass.decide: rules 1-3's urgent need, the
// shift window, planAhead and critical) as a kernel generated for one world's columns (issue #19).
//
// Why: at a shift's end (tod 361 and 561 of the 100k bench world) ~50-60k agents decide in one
// tick, and a third of the pass's ~7 ms went to this front: the agent's needs read as `N[k][eid]`
// in loops over the need table (a column's base and length loaded per need and agent), then the
// urgency, shift and plan-ahead loops over the same table. Generated, the needs are unrolled and
// every column is a constant the only closure of the function literal holds (V8's function-context
// specialisation: base pointers embedded, bounds checks dropped; the lead's finding, see
// systems/needs/decay-kernel.ts and scan-kernel.ts).
//
// The kernel computes what the generic steps compute, with the same operations in the same order
// (so the same doubles): it writes the agent's needs into the pass's need scratch, and the most
// urgent need, the job and the tick to leave for work into `R`; it returns 1 when the agent goes
// (or stays) at work. The source holds only positional names (c0, t0 ...) and this file's
// constants, never config text. Where code generation from strings is refused, or without the
// employment plug-in, genericFront runs: the same steps as loops over the need table.
import { compileKernel } from "../../engine/kernel-source.ts";

/** Scalars the kernel reads at each call (the pass writes them each tick). */
export const F_TOD = 0;
export const F_BUFFER = 1;
export const F_GUARD = 2;
export const F_SLACK = 3;
export const F_LEVEL = 4;
export const F_MARGIN = 5;
const F_COUNT = 6;
/** What the kernel leaves in `ints`: the most urgent need (-1: none) and the job (-1: none). */
export const R_WORST = 0;
export const R_JOB = 1;

/** The arrays the front reads and writes. */
export interface FrontArrays {
  /** Per agent: the need columns in table order, the job (undefined: no employment, no jobs), the tile. */
  readonly cols: readonly Float32Array[];
  readonly job: Int16Array | undefined;
  readonly x: Int16Array;
  readonly y: Int16Array;
  /** Per job: workplace tile (-1: anywhere), shift start and end. */
  readonly jobX: Int32Array;
  readonly jobY: Int32Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** The pass's per-need tables and the agent's need scratch (BehaviorState). */
  readonly thresholds: Float64Array;
  readonly rates: Float64Array;
  readonly urgency: Float64Array;
  readonly needs: Float32Array;
}

/** Decides the front of `e`'s decision: 1 when its choice is Work, else 0 (`R` and the need scratch written). */
export type FrontKernel = (e: number) => number;

/**
 * The front as plain TypeScript over the same arrays (no code generated): rules 1-3's urgent need
 * weighted by urgency, the shift window (leave job_arrival_buffer ticks early plus the walk there,
 * one tile a tick), planAhead (a need that would fall below the critical level before the shift
 * ends, plus the walk back and a meal, is seen to now) and critical (the worst need is critical
 * now or would be by the shift's end).
 */
export function genericFront(a: FrontArrays, S: Float64Array, R: Int32Array, L: Float64Array): FrontKernel {
  const { cols, job, x: px, y: py, jobX: jx, jobY: jy, start: js, end: je, thresholds: th, rates: ra, urgency: ur, needs } = a;
  const K = cols.length;
  return (e) => {
    for (let k = 0; k < K; k++) needs[k] = cols[k][e];
    let worst = -1;
    let worstGap = 0;
    for (let k = 0; k < K; k++) {
      const gap = (th[k] - needs[k]) * ur[k];
      if (gap > worstGap) {
        worstGap = gap;
        worst = k;
      }
    }
    const j = job === undefined ? -1 : job[e];
    const tod = S[F_TOD];
    const travel = j >= 0 && jx[j] >= 0 ? Math.abs(px[e] - jx[j]) + Math.abs(py[e] - jy[j]) : 0;
    const leaveAt = j >= 0 ? js[j] - S[F_BUFFER] - travel : 0;
    const inWindow = j >= 0 && tod >= leaveAt && tod < je[j];
    const level = S[F_LEVEL];
    if (j >= 0 && tod < je[j] && tod >= leaveAt - S[F_GUARD]) {
      const horizon = je[j] - tod + S[F_SLACK];
      const margin = S[F_MARGIN];
      for (let k = 0; k < K; k++) {
        const projected = needs[k] - ra[k] * horizon;
        const gap = level - projected;
        if (projected < level && needs[k] < th[k] + margin && gap > worstGap) {
          worstGap = gap;
          worst = k;
        }
      }
    }
    R[R_WORST] = worst;
    R[R_JOB] = j;
    L[0] = leaveAt;
    if (!inWindow) return 0;
    if (worst < 0) return 1;
    const critical = needs[worst] < level || (j >= 0 && needs[worst] - ra[worst] * (je[j] - tod + S[F_SLACK]) < level);
    return critical ? 0 : 1;
  };
}

/** Generates the front for these arrays (genericFront unrolled); undefined where code generation is not allowed or there is no job column. */
export function compileFront(a: FrontArrays, s: Float64Array, ints: Int32Array, leaveAt: Float64Array): FrontKernel | undefined {
  if (a.job === undefined) return undefined;
  const K = a.cols.length;
  const named: [string, unknown][] = [
    ["S", s], ["R", ints], ["L", leaveAt], ["job", a.job], ["px", a.x], ["py", a.y], ["jx", a.jobX], ["jy", a.jobY],
    ["js", a.start], ["je", a.end], ["th", a.thresholds], ["ra", a.rates], ["ur", a.urgency], ["needs", a.needs],
  ];
  a.cols.forEach((col, k) => named.push([`c${k}`, col]));
  const consts = named.map(([n], i) => `const ${n} = A[${i}];`).join("\n");
  const each = (f: (k: number) => string): string => Array.from({ length: K }, (_, k) => f(k)).join("\n  ");
  const source = `"use strict";
${consts}
return function front(e) {
  ${each((k) => `const n${k} = c${k}[e]; needs[${k}] = n${k};`)}
  let worst = -1;
  let worstGap = 0;
  ${each((k) => `{ const gap = (th[${k}] - n${k}) * ur[${k}]; if (gap > worstGap) { worstGap = gap; worst = ${k}; } }`)}
  const j = job[e];
  const tod = S[${F_TOD}];
  const travel = j >= 0 && jx[j] >= 0 ? Math.abs(px[e] - jx[j]) + Math.abs(py[e] - jy[j]) : 0;
  const leaveAt = j >= 0 ? js[j] - S[${F_BUFFER}] - travel : 0;
  const inWindow = j >= 0 && tod >= leaveAt && tod < je[j];
  const level = S[${F_LEVEL}];
  if (j >= 0 && tod < je[j] && tod >= leaveAt - S[${F_GUARD}]) {
    const horizon = je[j] - tod + S[${F_SLACK}];
    const margin = S[${F_MARGIN}];
    ${each((k) => `{ const projected = n${k} - ra[${k}] * horizon; const gap = level - projected; if (projected < level && n${k} < th[${k}] + margin && gap > worstGap) { worstGap = gap; worst = ${k}; } }`)}
  }
  R[${R_WORST}] = worst;
  R[${R_JOB}] = j;
  L[0] = leaveAt;
  if (!inWindow) return 0;
  if (worst < 0) return 1;
  const critical = needs[worst] < level || (j >= 0 && needs[worst] - ra[worst] * (je[j] - tod + S[${F_SLACK}]) < level);
  return critical ? 0 : 1;
};`;
  return compileKernel<FrontKernel>(["A"], source, [named.map(([, v]) => v)]);
}

/** One world's front and its scratch, remade when an array it closes over moved (the store grew). */
export class FrontCache {
  private kernel: FrontKernel | undefined;
  private madeFor: unknown[] = [];
  private readonly now: unknown[] = [];
  /** Code generation was refused here: genericFront runs. */
  refused = false;
  /** Which front the last kernelFor gave (for tests). */
  path: "kernel" | "generic" | "none" = "none";
  /** The scalars (F_*), written by the pass each tick. */
  readonly scalars = new Float64Array(F_COUNT);
  /** The kernel's answers (R_*) and the tick to leave for work. */
  readonly ints = new Int32Array(2);
  readonly leaveAt = new Float64Array(1);

  /**
   * The front for these arrays: the last one if none moved and `generic` is as before, else a new
   * one; genericFront when `generic`, where code generation is refused, or without a job column.
   */
  kernelFor(a: FrontArrays, generic: boolean): FrontKernel {
    const now = this.now;
    now.length = 0;
    now.push(generic, a.job, a.x, a.y, a.jobX, a.jobY, a.start, a.end, a.thresholds, a.rates, a.urgency, a.needs, ...a.cols);
    const was = this.madeFor;
    let same = this.kernel !== undefined && was.length === now.length;
    for (let i = 0; same && i < now.length; i++) same = was[i] === now[i];
    if (!same || this.kernel === undefined) {
      const made = generic || this.refused ? undefined : compileFront(a, this.scalars, this.ints, this.leaveAt);
      if (made === undefined && !generic && a.job !== undefined) this.refused = true;
      this.kernel = made ?? genericFront(a, this.scalars, this.ints, this.leaveAt);
      this.path = made ? "kernel" : "generic";
      this.madeFor = now.slice();
    }
    return this.kernel;
  }
}
