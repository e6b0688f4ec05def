// Value semantics of preconditions (Python's): truthiness, equality, ordering, membership,
// indexing, and the evaluation error that makes a precondition fail.
import type { Value } from "./types.ts";

/** Thrown (never allocated per throw) for an evaluation error; evaluate() turns it into false. */
const EVAL_ERROR: object = Object.freeze({ preconditionEvaluationError: true });
export function evalError(): never {
  throw EVAL_ERROR;
}

export function isList(v: Value): v is readonly Value[] {
  return Array.isArray(v);
}

export function truthy(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string") return v.length !== 0;
  return v.length !== 0;
}

/** Python `==` over these values: bools equal their 0/1, lists compare element-wise. */
export function eq(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (typeof a === "number") return typeof b === "boolean" && a === (b ? 1 : 0);
  if (typeof a === "boolean") return typeof b === "number" && (a ? 1 : 0) === b;
  if (typeof a === "string") return false;
  if (!isList(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!eq(a[i], b[i])) return false;
  return true;
}

function isNumeric(v: Value): v is number | boolean {
  return typeof v === "number" || typeof v === "boolean";
}

/** Sign of a-b, 0 when equal, NaN when the two can't be ordered (null, mixed types, NaN). */
export function order(a: Value, b: Value): number {
  if (a === null || b === null) return NaN;
  if (isNumeric(a)) {
    if (!isNumeric(b)) return NaN;
    const x = +a;
    const y = +b;
    return x < y ? -1 : x > y ? 1 : x === y ? 0 : NaN;
  }
  if (typeof a === "string") return typeof b === "string" ? orderStrings(a, b) : NaN;
  if (!isList(a) || !isList(b)) return NaN;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (!eq(a[i], b[i])) return order(a[i], b[i]);
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** By code point, as Python compares str (JS `<` compares UTF-16 code units). */
function orderStrings(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  while (i < a.length && i < b.length) {
    const ca = a.codePointAt(i) as number;
    const cb = b.codePointAt(i) as number;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Python `item in container`: substring for strings, membership for lists, else an error. */
export function contains(container: Value, item: Value): boolean {
  if (typeof container === "string") {
    if (typeof item !== "string") evalError();
    return container.includes(item);
  }
  if (isList(container)) {
    for (let i = 0; i < container.length; i++) if (eq(item, container[i])) return true;
    return false;
  }
  return evalError();
}

export function toNumber(v: Value): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return evalError();
}

export function indexValue(base: Value, index: number): Value {
  if (!isList(base)) return null;
  const i = index < 0 ? base.length + index : index;
  return i >= 0 && i < base.length ? base[i] : null;
}
