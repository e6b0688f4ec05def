// The scan of the scripted decision pass (decide.ts, DecidePass.run) as a kernel generated for
// one world's columns (issue #19).
//
// Why generated: V8 optimises a loop over typed arrays it sees as constants (`const` bindings of
// the only closure of a function literal: function-context specialisation) far better than the
// same loop over arrays reached through fields or an array of columns; the generic scan read
// each need as `N[k][eid]` in a loop over the need table (a load of the column, its base and
// length per need and agent) and spent most of decide's time there (the Work and Wait agents'
// need checks). Same idea as the need-decay and reward kernels (systems/needs/decay-kernel.ts,
// systems/rewards/kernel.ts): here the needs are unrolled, each column an embedded constant.
//
// The kernel only lists the agents the scan opens, in entity order; the pass decides them in a
// second loop. The rules are the generic scan's, with one difference the pass makes up for: a
// Use agent walking or queued whose hunger is below its threshold is listed whatever its
// affordance and its town's pantry (keepsUse), since the pantry grows while the pass decides
// (stockPantry); the pass checks keepsUse when it reaches the agent, as the generic scan does.
// The comparisons are written as the generic scan's (`x < t` keeps failing on NaN the same way).
// The source holds only positional names (c0, t0 ...) and this file's constants, never config
// text. Where the runtime forbids code generation from strings, compileScan returns undefined
// and the generic scan runs.
import { OptionKind } from "../../components/activity.ts";
import { compileKernel } from "../../engine/kernel-source.ts";

/** Scalars the kernel reads at the start of every chunk (the caller writes them each tick). */
export const S_TICK = 0;
export const S_RECHECK = 1;
export const S_LEVEL = 2;
/** Need k's threshold is at S_THRESHOLDS + k. */
export const S_THRESHOLDS = 3;

/** The columns the scan reads (the Option and Activity columns of the agents, the need columns in table order). */
export interface ScanArrays {
  readonly kind: Uint8Array;
  readonly done: Uint8Array;
  readonly since: Int32Array;
  readonly external: Uint8Array;
  readonly running: ArrayLike<number>;
  readonly needs: readonly Float32Array[];
}

/**
 * Lists into `out` (from index 0) the agents of ids [start, end) whose option is open to a
 * decision, and Use agents whose hunger would break their walk unless keepsUse says otherwise;
 * returns how many. The pass calls it on chunks of at most SCAN_CHUNK agents of its spans and
 * decides each chunk's agents before the next: the columns the scan read are still in the cache
 * when the decisions read and write them (measured), and a loop of 100k iterations entered once
 * a tick would only run as on-stack-replacement code, compiled without the specialisation (the
 * reward kernel's finding).
 */
export type ScanKernel = (start: number, end: number, out: Int32Array) => number;

/** Agents per call of the kernel (`out` needs room for as many). */
export const SCAN_CHUNK = 4096;

/**
 * Generates the scan for these columns; `hunger` is the index of hunger in `a.needs` (-1: none)
 * and `s` the scalars (S_*). Undefined where code generation is not allowed.
 */
export function compileScan(a: ScanArrays, hunger: number, s: Float64Array): ScanKernel | undefined {
  const K = a.needs.length;
  const named: [string, unknown][] = [
    ["S", s],
    ["kind", a.kind],
    ["done", a.done],
    ["since", a.since],
    ["external", a.external],
    ["running", a.running],
  ];
  a.needs.forEach((col, k) => named.push([`c${k}`, col]));
  const consts = named.map(([n], i) => `const ${n} = A[${i}];`).join("\n");
  const thresholds = a.needs.map((_, k) => `const t${k} = S[${S_THRESHOLDS + k}];`).join("\n  ");
  const any = (bound: (k: number) => string): string => (K === 0 ? "false" : a.needs.map((_, k) => `c${k}[e] < ${bound(k)}`).join(" || "));
  // A Use agent not running its affordance: kept unless hunger is below its threshold (then the
  // pass asks keepsUse); without hunger in the table, always kept.
  const useOpen = hunger >= 0 ? `!(c${hunger}[e] >= t${hunger})` : "false";
  const O = OptionKind;
  const source = `"use strict";
${consts}
function scanRun(start, end, n, out) {
  const tick = S[${S_TICK}], recheck = S[${S_RECHECK}], level = S[${S_LEVEL}];
  ${thresholds}
  for (let e = start; e < end; e++) {
    const k = kind[e];
    if (k === ${O.Work}) {
      if (done[e] === 0 && !(${any(() => "level")})) continue;
    } else if (k === ${O.Use}) {
      if (done[e] === 0 && (running[e] >= 0 || !(${useOpen}))) continue;
    } else if (k === ${O.Wait}) {
      if (tick - since[e] < recheck && !(${any((j) => `t${j}`)})) continue;
    } else if (k === ${O.None} || done[e] === 0) continue;
    if (external[e] === 1) continue;
    out[n++] = e;
  }
  return n;
}
return function scan(start, end, out) {
  return scanRun(start, end, 0, out);
};`;
  return compileKernel<ScanKernel>(["A"], source, [named.map(([, v]) => v)]);
}

/** One world's scan kernel, remade when a column it closes over moved (the store grew). */
export class ScanCache {
  private kernel: ScanKernel | undefined;
  private madeFor: unknown[] = [];
  private readonly now: unknown[] = [];
  /** Code generation was refused here: the generic scan runs. */
  refused = false;
  /** The scalars (S_*), written by the pass each tick. */
  readonly scalars: Float64Array;
  /** Agents per call of the kernel (SCAN_CHUNK; tests make it small to cross chunk ends). */
  chunk = SCAN_CHUNK;
  /** The agents the last call listed (scratch, room for `chunk`). */
  out = new Int32Array(16);
  /** The kernel primeWork has walked (after its first real call). */
  primed: ScanKernel | undefined = undefined;

  constructor(needs: number) {
    this.scalars = new Float64Array(S_THRESHOLDS + needs);
  }

  /** The kernel for these columns: the last one if none moved, else a new one; undefined where code generation is refused. */
  kernelFor(a: ScanArrays, hunger: number): ScanKernel | undefined {
    if (this.refused) return undefined;
    const now = this.now;
    now.length = 0;
    now.push(a.kind, a.done, a.since, a.external, a.running, ...a.needs);
    const was = this.madeFor;
    let same = this.kernel !== undefined && was.length === now.length;
    for (let i = 0; same && i < now.length; i++) same = was[i] === now[i];
    if (!same) {
      this.kernel = compileScan(a, hunger, this.scalars);
      this.refused = this.kernel === undefined;
      this.madeFor = now.slice();
    }
    return this.kernel;
  }

  /** `out`, with room for `n` agents. */
  room(n: number): Int32Array {
    if (this.out.length < n) this.out = new Int32Array(Math.ceil(n * 1.25));
    return this.out;
  }
}

/**
 * Runs a new scan's Work test once on agent `e` and puts its columns back (issue #19, p99).
 *
 * Why: the Work test is the only place the scan reads `done` and the needs against the critical
 * level, and no agent works before the first shift (tick 135 of the 100k bench world): until
 * then those loads have no type feedback, the optimised scan leaves them with a
 * deoptimisation, and the first Work agent sent decide's pass through the interpreter for the
 * rest of that tick (+2.4-3.2 ms on tick 136). Call it after the kernel's first real call (the
 * feedback vector is made lazily). With e's option set to an open Work and its needs to 1 the
 * test reads every column it can; `out` is scratch; e's kind, done and needs are restored to
 * the bit.
 */
export function primeWork(kernel: ScanKernel, a: ScanArrays, e: number, out: Int32Array): void {
  if (!(e >= 0 && e < a.kind.length)) return;
  const kind = a.kind[e];
  const done = a.done[e];
  const needs = a.needs.map((c) => c[e]);
  try {
    a.kind[e] = OptionKind.Work;
    a.done[e] = 0;
    for (const c of a.needs) c[e] = 1;
    kernel(e, e + 1, out);
  } finally {
    a.kind[e] = kind;
    a.done[e] = done;
    a.needs.forEach((c, k) => (c[e] = needs[k]));
  }
}
