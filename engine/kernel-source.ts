// Helpers for kernels made per world from a self-contained factory's own source (issue #19):
// employment/shifts, lifecycle's exits and finalize, social's decay and stability's scan compile a
// fresh copy of their factory with `new Function`, so the copy's only closure gets V8's
// function-context specialisation over that world's arrays (the lead's finding,
// systems/needs/decay-kernel.ts), and remake it when one of those arrays moved (a store grew).
// compileKernel compiles the kernels that are generated as source text (needs, rewards, decide's
// scan, affordances' act and object loops, options' execute).

/** A fresh copy of a self-contained factory (its own function literal), or the factory itself where code generation is not allowed. */
export function freshCopy<F extends (...args: never[]) => unknown>(factory: F): F {
  try {
    // `__name`: the helper a keep-names transform (tsx, esbuild) wraps nested functions in.
    const make = new Function("__name", `"use strict"; return (${factory.toString()});`) as (name: (f: unknown) => unknown) => F;
    return make((f) => f);
  } catch (e) {
    if (e instanceof EvalError) return factory;
    throw e;
  }
}

/**
 * A kernel generated from source: `new Function(...params, source)` called with `args` (the arrays
 * and helpers it closes over, one per parameter), or undefined where code generation from strings
 * is not allowed (the caller runs its generic code).
 */
export function compileKernel<K>(params: readonly string[], source: string, args: readonly unknown[]): K | undefined {
  try {
    return (new Function(...params, source) as (...a: unknown[]) => K)(...args);
  } catch (e) {
    if (e instanceof EvalError) return undefined;
    throw e;
  }
}

/** True when every entry of `a` is the same object as `b`'s (the arrays a kernel was made for). */
export function sameArrays(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Priming a new kernel whose loop function runs once per span (issue #19, tenth session): V8 does
 * not specialise on-stack-replacement code on the function's context, so a loop function first
 * found hot inside one long call can be left running only that slower code. Calling the kernel
 * PRIME_CALLS times over one agent repeated in PRIME_SPANS spans (repeatedSpans) runs the loop
 * function 2,400 times before its first long run, and V8 optimises the function itself.
 */
export const PRIME_SPANS = 40;
export const PRIME_CALLS = 60;

/** Agent `eid` as PRIME_SPANS spans [eid, eid + 1). */
export function repeatedSpans(eid: number): Int32Array {
  const spans = new Int32Array(2 * PRIME_SPANS);
  for (let s = 0; s < spans.length; s += 2) [spans[s], spans[s + 1]] = [eid, eid + 1];
  return spans;
}
