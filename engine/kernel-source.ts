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
