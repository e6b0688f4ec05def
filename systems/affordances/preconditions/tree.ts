// The precondition syntax tree, the names it reads, and constant folding.
import type { PreconditionScope, Value } from "./types.ts";
import { isList } from "./values.ts";
import { compileValue } from "./compile.ts";

export type CmpOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in";

export type Node =
  | { readonly k: "const"; readonly v: Value }
  | { readonly k: "path"; readonly path: readonly string[] }
  | { readonly k: "index"; readonly base: Node; readonly i: number }
  | { readonly k: "list"; readonly items: readonly Node[] }
  | { readonly k: "neg" | "pos" | "not"; readonly x: Node }
  | { readonly k: "and" | "or"; readonly xs: readonly Node[] }
  | { readonly k: "cmp"; readonly operands: readonly Node[]; readonly ops: readonly CmpOp[] };

export function children(n: Node): readonly Node[] {
  switch (n.k) {
    case "const":
    case "path":
      return [];
    case "index":
      return [n.base];
    case "list":
      return n.items;
    case "neg":
    case "pos":
    case "not":
      return [n.x];
    case "and":
    case "or":
      return n.xs;
    case "cmp":
      return n.operands;
  }
}

export function collectNames(n: Node, out: (readonly string[])[], seen: Set<string>): void {
  if (n.k === "path") {
    const key = n.path.join("\u0000");
    if (!seen.has(key)) {
      seen.add(key);
      out.push(n.path);
    }
    return;
  }
  for (const c of children(n)) collectNames(c, out, seen);
}

const NO_SCOPE: PreconditionScope = { lookup: () => null };

/** Replaces a name-free node by its value; leaves it alone when evaluating it is an error. */
export function fold(n: Node): Node {
  if (!children(n).every((c) => c.k === "const")) return n;
  try {
    const v = compileValue(n)(NO_SCOPE);
    return { k: "const", v: isList(v) ? deepFreeze(v) : v };
  } catch {
    return n;
  }
}

function deepFreeze(v: readonly Value[]): readonly Value[] {
  for (const x of v) if (isList(x)) deepFreeze(x);
  return Object.freeze(v);
}
