// A decay kernel generated for one world's need columns (issue #19, baseline_ratio).
//
// Why: V8 optimises a loop over typed arrays it can see as constants (the arrays of the only
// closure of a function literal: function-context specialisation) far better than the same loop
// over arrays passed as arguments. The bench's bare loop is such a closure; the generic kernels
// (decayNeeds, decayNeedsScaled) take their columns as arguments and ran at 1.55-1.6x its time on
// the 100k world (0.38-0.40 ms against 0.25), at the same arithmetic. A kernel generated per
// column set closes over that world's columns, so it is the only closure of its own function
// literal: measured 0.26 ms against the bare loop's 0.245 (/tmp-style A/B in bench/README.md).
//
// The generated source holds only positional names (c0, m0, r0 ...) and the loop: no config text,
// so nothing a user writes reaches the code. The arithmetic per need and agent is the generic
// kernels' (a - r, or a - r * m, clamped to [0, 1], in table order), so the values are identical to
// the bit. Where the runtime forbids code generation from strings (node
// --disallow-code-generation-from-strings), compileDecay returns undefined and the generic
// kernels run.
//
// Issue #19, tenth session (as stability's scan, c88ba1f): V8 does not specialise on-stack-
// replacement code on the function's context, and a loop function first found hot inside one long
// call (a whole span per tick) could be left running only OSR code for thousands of ticks (seen
// after a remake on the 10k bench world). So the loop function runs over chunks of at most
// DECAY_CHUNK agents, and primeDecay calls a new kernel often enough over one agent (its needs put
// back) for V8 to optimise the function itself before its first long run.

import { compileKernel, PRIME_CALLS, repeatedSpans } from "../../engine/kernel-source.ts";

/** Agents per call of the generated loop function (needsRun). */
export const DECAY_CHUNK = 1024;

/** A compiled pass: every need column falls by rates[k] (times its multiplier), clamped to [0,1]. */
export type DecayKernel = (spans: Int32Array, rates: Float64Array) => void;

/**
 * Generates the kernel for these columns. `mults[k]` (when given and defined) is need k's
 * multiplier column; a need without one decays at its plain rate. Returns undefined when code
 * generation is not allowed here.
 */
export function compileDecay(cols: readonly Float32Array[], mults?: readonly (Float32Array | undefined)[]): DecayKernel | undefined {
  const K = cols.length;
  const params: string[] = [];
  const args: Float32Array[] = [];
  for (let k = 0; k < K; k++) {
    params.push(`c${k}`);
    args.push(cols[k]);
  }
  let body = "";
  for (let k = 0; k < K; k++) {
    const m = mults?.[k];
    if (m !== undefined) {
      params.push(`m${k}`);
      args.push(m);
      body += `a = c${k}[e] - r${k} * m${k}[e]; c${k}[e] = a < 0 ? 0 : a > 1 ? 1 : a;\n`;
    } else {
      body += `a = c${k}[e] - r${k}; c${k}[e] = a < 0 ? 0 : a > 1 ? 1 : a;\n`;
    }
  }
  const rs = cols.map((_, k) => `r${k}`).join(", ");
  const loads = cols.map((_, k) => `const r${k} = rates[${k}];`).join("\n");
  // The inner function (one closure per generated scope) holds the agent loop; the outer one walks
  // the spans. A loop nested in the spans loop would not get the specialisation (measured).
  const source = `"use strict";
function needsRun(start, end${K > 0 ? ", " + rs : ""}) {
  let a = 0;
  for (let e = start; e < end; e++) {
${body}  }
}
return function decay(spans, rates) {
${loads}
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let from = spans[s]; from < end; from += ${DECAY_CHUNK}) needsRun(from, from + ${DECAY_CHUNK} < end ? from + ${DECAY_CHUNK} : end${K > 0 ? ", " + rs : ""});
  }
};`;
  return compileKernel<DecayKernel>(params, source, args);
}

/**
 * Calls a new kernel PRIME_CALLS times over the first agent of `spans` repeated in PRIME_SPANS
 * spans, its needs set to 0.5 before each call, so V8 optimises its loop function before the first
 * long run (see the file comment); the agent's needs are put back afterwards (the kernel writes
 * only the need columns `cols`).
 */
export function primeDecay(kernel: DecayKernel, cols: readonly Float32Array[], spans: Int32Array, rates: Float64Array): void {
  if (spans.length < 2) return;
  const e = spans[0];
  const saved = cols.map((c) => c[e]);
  const many = repeatedSpans(e);
  try {
    for (let r = 0; r < PRIME_CALLS; r++) {
      // Mid-range needs: both bounds' compares run (an agent at 0 never reached the upper one,
      // and the loop was thrown away on its first long run for want of that compare's feedback).
      for (const c of cols) c[e] = 0.5;
      kernel(many, rates);
    }
  } finally {
    cols.forEach((c, k) => (c[e] = saved[k]));
  }
}
