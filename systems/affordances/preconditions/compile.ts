// Compilation of a precondition tree to closures: the common forms (name op literal, name op
// name, and/or/not of those, `x in [literals]`, `x in [names]`) allocate nothing per call.
import type { PreconditionScope, Value } from "./types.ts";
import type { CmpOp, Node } from "./tree.ts";
import { contains, eq, indexValue, order, toNumber, truthy } from "./values.ts";

type ValueFn = (scope: PreconditionScope) => Value;
export type BoolFn = (scope: PreconditionScope) => boolean;
type OpFn = (a: Value, b: Value) => boolean;

const OPS: Readonly<Record<CmpOp, OpFn>> = {
  "==": eq,
  "!=": (a, b) => !eq(a, b),
  "<": (a, b) => order(a, b) < 0,
  "<=": (a, b) => order(a, b) <= 0,
  ">": (a, b) => order(a, b) > 0,
  ">=": (a, b) => order(a, b) >= 0,
  in: (a, b) => contains(b, a),
  "not in": (a, b) => !contains(b, a),
};

export function compileValue(n: Node): ValueFn {
  switch (n.k) {
    case "const": {
      const v = n.v;
      return () => v;
    }
    case "path": {
      const path = n.path;
      return (s) => s.lookup(path);
    }
    case "index": {
      const base = compileValue(n.base);
      const i = n.i;
      return (s) => indexValue(base(s), i);
    }
    case "list": {
      const items = n.items.map(compileValue);
      return (s) => {
        const out = new Array<Value>(items.length);
        for (let i = 0; i < items.length; i++) out[i] = items[i](s);
        return out;
      };
    }
    case "neg": {
      const x = compileValue(n.x);
      return (s) => -toNumber(x(s));
    }
    case "pos": {
      const x = compileValue(n.x);
      return (s) => toNumber(x(s));
    }
    case "and":
    case "or": {
      const xs = n.xs.map(compileValue);
      const stopWhen = n.k === "or";
      return (s) => {
        let v: Value = null;
        for (let i = 0; i < xs.length; i++) {
          v = xs[i](s);
          if (truthy(v) === stopWhen) return v;
        }
        return v;
      };
    }
    case "not":
    case "cmp":
      return compileBool(n);
  }
}

export function compileBool(n: Node): BoolFn {
  switch (n.k) {
    case "const": {
      const b = truthy(n.v);
      return () => b;
    }
    case "not": {
      const x = compileBool(n.x);
      return (s) => !x(s);
    }
    case "and":
    case "or": {
      const xs = n.xs.map(compileBool);
      if (xs.length === 2) {
        const [a, b] = xs;
        return n.k === "and" ? (s) => a(s) && b(s) : (s) => a(s) || b(s);
      }
      const stopWhen = n.k === "or";
      return (s) => {
        for (let i = 0; i < xs.length; i++) if (xs[i](s) === stopWhen) return stopWhen;
        return !stopWhen;
      };
    }
    case "cmp":
      return compileCompare(n);
    default: {
      const v = compileValue(n);
      return (s) => truthy(v(s));
    }
  }
}

function compileCompare(n: Extract<Node, { k: "cmp" }>): BoolFn {
  const { operands, ops } = n;
  if (ops.length === 1) {
    const left = compileValue(operands[0]);
    const op = ops[0];
    const rightNode = operands[1];
    if ((op === "in" || op === "not in") && rightNode.k === "list") {
      // `x in [a, b]` with names in the list: compare one by one, no list built. Python builds
      // the whole list first, so items that may fail are all evaluated before answering.
      const items = rightNode.items.map(compileValue);
      const found = op === "in";
      if (rightNode.items.every((item) => item.k === "path" || item.k === "const")) {
        return (s) => {
          const x = left(s);
          for (let i = 0; i < items.length; i++) if (eq(x, items[i](s))) return found;
          return !found;
        };
      }
      return (s) => {
        const x = left(s);
        let hit = false;
        for (let i = 0; i < items.length; i++) {
          const v = items[i](s);
          if (!hit && eq(x, v)) hit = true;
        }
        return hit === found;
      };
    }
    const fn = OPS[op];
    if (rightNode.k === "const") {
      const c = rightNode.v;
      if (op === "==") return (s) => eq(left(s), c);
      if (op === "!=") return (s) => !eq(left(s), c);
      return (s) => fn(left(s), c);
    }
    const right = compileValue(rightNode);
    if (op === "==") return (s) => eq(left(s), right(s));
    if (op === "!=") return (s) => !eq(left(s), right(s));
    return (s) => fn(left(s), right(s));
  }
  // A chain a < b < c: each operand evaluated once, stopping at the first false link.
  const values = operands.map(compileValue);
  const fns = ops.map((op) => OPS[op]);
  return (s) => {
    let left = values[0](s);
    for (let i = 0; i < fns.length; i++) {
      const right = values[i + 1](s);
      if (!fns[i](left, right)) return false;
      left = right;
    }
    return true;
  };
}
