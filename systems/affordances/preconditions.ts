// Affordance preconditions: a small, safe expression language, parsed once at load and
// evaluated per attempt. Never uses eval/Function. The grammar is the subset of Python
// expressions the original allowed (ast whitelist: and/or/not, comparisons incl. `in`/`not in`,
// unary -/+, names, attributes, subscripts without slices, constants, lists and tuples), plus
// `&&`, `||`, `!` and case-insensitive `true`/`false`/`null`.
//
//   expr    := and (('or' | '||') and)*
//   and     := not (('and' | '&&') not)*
//   not     := ('not' | '!') not | compare
//   compare := unary (cmpop unary)*            -- chains like Python: a < b < c
//   cmpop   := '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in'
//   unary   := ('-' | '+') unary | postfix
//   postfix := atom ('.' NAME | '[' STRING-or-INTEGER-literal ']')*
//   atom    := NUMBER | STRING+ | true | false | null | None | NAME
//            | '(' expr ')' | '(' [expr (',' expr)* [',']] ')' | '[' [expr (',' expr)* [',']] ']'
//
// Semantics (the original's): an unknown name is null; attributes and string subscripts extend the
// name path handed to the scope (`stock["meals"]` is the path ["stock", "meals"]); an integer
// subscript indexes a list (negative from the end; out of range or not a list gives null);
// `==` is Python's (true == 1, false == 0, lists element-wise); ordering comparisons with null
// or between mismatched types are false; `in` is substring on strings and membership on lists,
// anything else on its right is an evaluation error; an evaluation error makes the whole
// precondition fail. `and`/`or` return operands as in Python; truthiness is Python's
// (0, "", null, false and [] are false; NaN is true).
//
// Evaluation walks a tree of closures built at load; constant sub-expressions are folded. The
// common forms (name op literal, name op name, and/or/not of those, `x in [literals]`,
// `x in [names]`) allocate nothing per call.//
// The parts, under preconditions/: types.ts, values.ts (semantics), lexer.ts, parser.ts, tree.ts
// (tree and folding), compile.ts (closures).
import { lex } from "./preconditions/lexer.ts";
import { Parser } from "./preconditions/parser.ts";
import { collectNames } from "./preconditions/tree.ts";
import { compileBool, type BoolFn } from "./preconditions/compile.ts";
import type { CompiledPrecondition, PreconditionScope } from "./preconditions/types.ts";

export { PreconditionSyntaxError, type CompiledPrecondition, type PreconditionScope, type Value } from "./preconditions/types.ts";

/** Compiles one precondition; throws PreconditionSyntaxError for anything outside the language. */
export function compilePrecondition(source: string): CompiledPrecondition {
  const parser = new Parser(source, lex(source));
  const tree = parser.parseAll();
  const names: (readonly string[])[] = [];
  collectNames(tree, names, new Set());
  return new Compiled(source, Object.freeze(names), compileBool(tree));
}

/** All preconditions of an affordance; returns the index of the first failing one, or -1. */
export function firstFailing(list: readonly CompiledPrecondition[], scope: PreconditionScope): number {
  for (let i = 0; i < list.length; i++) {
    if (!list[i].evaluate(scope)) return i;
  }
  return -1;
}

class Compiled implements CompiledPrecondition {
  readonly source: string;
  readonly names: readonly (readonly string[])[];
  readonly #test: BoolFn;

  constructor(source: string, names: readonly (readonly string[])[], test: BoolFn) {
    this.source = source;
    this.names = names;
    this.#test = test;
  }

  evaluate(scope: PreconditionScope): boolean {
    try {
      return this.#test(scope);
    } catch {
      return false;
    }
  }

  toString(): string {
    return this.source;
  }
}
