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
// `x in [names]`) allocate nothing per call.

export type Value = number | string | boolean | null | readonly Value[];

/** Resolves a dotted name path (["agent","needs","hunger"]) to a value; unknown -> null. */
export interface PreconditionScope {
  lookup(path: readonly string[]): Value;
}

export interface CompiledPrecondition {
  readonly source: string;
  /** Every distinct name path the expression reads, in order of first appearance. */
  readonly names: readonly (readonly string[])[];
  /** True when the precondition holds; an evaluation error (or a throwing scope) gives false. */
  evaluate(scope: PreconditionScope): boolean;
}

export class PreconditionSyntaxError extends Error {
  override readonly name = "PreconditionSyntaxError";
  /** The whole precondition text. */
  readonly source: string;
  /** 0-based offset into `source` of the offending token. */
  readonly column: number;
  /** Why it was rejected, without the position ("calls are not allowed"). */
  readonly reason: string;

  constructor(source: string, column: number, found: string, reason: string) {
    super(`unexpected ${found} at column ${column}: ${reason}`);
    this.source = source;
    this.column = column;
    this.reason = reason;
  }
}

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

// ---------------------------------------------------------------------------------------------
// Value semantics

/** Thrown (never allocated per throw) for an evaluation error; evaluate() turns it into false. */
const EVAL_ERROR: object = Object.freeze({ preconditionEvaluationError: true });
function evalError(): never {
  throw EVAL_ERROR;
}

function isList(v: Value): v is readonly Value[] {
  return Array.isArray(v);
}

function truthy(v: Value): boolean {
  if (v === null) return false;
  if (typeof v === "boolean") return v;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "string") return v.length !== 0;
  return v.length !== 0;
}

/** Python `==` over these values: bools equal their 0/1, lists compare element-wise. */
function eq(a: Value, b: Value): boolean {
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
function order(a: Value, b: Value): number {
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
function contains(container: Value, item: Value): boolean {
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

function toNumber(v: Value): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  return evalError();
}

function indexValue(base: Value, index: number): Value {
  if (!isList(base)) return null;
  const i = index < 0 ? base.length + index : index;
  return i >= 0 && i < base.length ? base[i] : null;
}

// ---------------------------------------------------------------------------------------------
// Tree

type CmpOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in";

type Node =
  | { readonly k: "const"; readonly v: Value }
  | { readonly k: "path"; readonly path: readonly string[] }
  | { readonly k: "index"; readonly base: Node; readonly i: number }
  | { readonly k: "list"; readonly items: readonly Node[] }
  | { readonly k: "neg" | "pos" | "not"; readonly x: Node }
  | { readonly k: "and" | "or"; readonly xs: readonly Node[] }
  | { readonly k: "cmp"; readonly operands: readonly Node[]; readonly ops: readonly CmpOp[] };

function children(n: Node): readonly Node[] {
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

function collectNames(n: Node, out: (readonly string[])[], seen: Set<string>): void {
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
function fold(n: Node): Node {
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

// ---------------------------------------------------------------------------------------------
// Compilation to closures

type ValueFn = (scope: PreconditionScope) => Value;
type BoolFn = (scope: PreconditionScope) => boolean;
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

function compileValue(n: Node): ValueFn {
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

function compileBool(n: Node): BoolFn {
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

// ---------------------------------------------------------------------------------------------
// Lexer

type TokKind = "num" | "str" | "name" | "lit" | "kw" | "reserved" | "op" | "bad" | "eof";

interface Tok {
  readonly kind: TokKind;
  /** Source text (for "op", "kw", "name", "reserved": the word or operator itself). */
  readonly text: string;
  /** 0-based offset of the token (for "bad", of the offending character). */
  readonly col: number;
  /** For "num", "str", "lit". */
  readonly value: Value;
  /** For "bad": why. */
  readonly reason: string;
}

const IDENT = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const NUMBER =
  /0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)(?:[eE][+-]?[0-9](?:_?[0-9])*)?/y;
const IDENT_CHAR = /[\p{L}\p{N}_]/u;
const STRING_PREFIX = /^(?:[rRuUbBfF]|[rR][bBfF]|[bBfF][rR])$/;
const OPERATORS_2 = new Set(["==", "!=", "<=", ">=", "&&", "||", "**", "//", "<<", ">>", ":="]);
const OPERATORS_1 = new Set([..."()[],.<>+-!=*/%&|^~:{}"]);
const WORD_OPERATORS = new Set(["and", "or", "not", "in"]);
const PYTHON_KEYWORDS = new Set(
  (
    "as assert async await break class continue def del elif else except finally for from global if import " +
    "is lambda nonlocal pass raise return try while with yield"
  ).split(" "),
);
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

function tok(kind: TokKind, text: string, col: number, value: Value = null, reason = ""): Tok {
  return { kind, text, col, value, reason };
}

/** Tokens up to the end or the first bad token (which the parser reports if it gets that far). */
function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  for (;;) {
    while (i < src.length) {
      const c = src[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") i++;
      else if (c === "#") {
        while (i < src.length && src[i] !== "\n") i++;
      } else break;
    }
    if (i >= src.length) {
      toks.push(tok("eof", "", src.length));
      return toks;
    }
    const t = lexOne(src, i);
    toks.push(t);
    if (t.kind === "bad") {
      toks.push(tok("eof", "", src.length));
      return toks;
    }
    i = t.col + t.text.length;
  }
}

function lexOne(src: string, i: number): Tok {
  const c = src[i];
  IDENT.lastIndex = i;
  const ident = IDENT.exec(src);
  if (ident) {
    const word = ident[0];
    const after = src[i + word.length];
    if ((after === '"' || after === "'") && STRING_PREFIX.test(word)) return lexString(src, i, word.toLowerCase());
    if (word.startsWith("__")) return tok("bad", word, i, null, "dunder names are not allowed");
    const lower = word.toLowerCase();
    if (lower === "true") return tok("lit", word, i, true);
    if (lower === "false") return tok("lit", word, i, false);
    if (lower === "null" || word === "None") return tok("lit", word, i, null);
    if (WORD_OPERATORS.has(word)) return tok("kw", word, i);
    if (PYTHON_KEYWORDS.has(word)) return tok("reserved", word, i);
    return tok("name", word, i);
  }
  if ((c >= "0" && c <= "9") || (c === "." && src[i + 1] >= "0" && src[i + 1] <= "9")) return lexNumber(src, i);
  if (c === '"' || c === "'") return lexString(src, i, "");
  const two = src.slice(i, i + 2);
  if (OPERATORS_2.has(two)) return tok("op", two, i);
  if (OPERATORS_1.has(c)) return tok("op", c, i);
  const ch = String.fromCodePoint(src.codePointAt(i) as number);
  return tok("bad", ch, i, null, "unknown character");
}

function lexNumber(src: string, i: number): Tok {
  NUMBER.lastIndex = i;
  const text = (NUMBER.exec(src) as RegExpExecArray)[0];
  const next = src[i + text.length];
  if (next !== undefined && (IDENT_CHAR.test(next) || next === ".")) {
    const reason = next === "j" || next === "J" ? "complex numbers are not allowed" : "invalid number literal";
    return tok("bad", text + next, i, null, reason);
  }
  const digits = text.replace(/_/g, "");
  let value: number;
  const radix = /^0[xob]/i.test(digits) ? { x: 16, o: 8, b: 2 }[digits[1].toLowerCase() as "x" | "o" | "b"] : 10;
  if (radix !== 10) value = parseInt(digits.slice(2), radix);
  else {
    if (/^0+[1-9][0-9]*$/.test(digits)) {
      return tok("bad", text, i, null, "leading zeros in integer literals are not allowed");
    }
    value = Number(digits);
  }
  return tok("num", text, i, value);
}

function lexString(src: string, start: number, prefix: string): Tok {
  const q = start + prefix.length;
  const bad = (col: number, text: string, reason: string) => tok("bad", text, col, null, reason);
  if (prefix.includes("b")) return bad(start, src.slice(start, q + 1), "bytes literals are not allowed");
  if (prefix.includes("f")) return bad(start, src.slice(start, q + 1), "f-strings are not allowed");
  const raw = prefix.includes("r");
  const quote = src[q];
  if (src.startsWith(quote + quote + quote, q)) {
    return bad(start, src.slice(start, q + 3), "triple-quoted strings are not supported");
  }
  const unterminated = () => bad(start, src.slice(start, q + 1), "unterminated string");
  let out = "";
  let k = q + 1;
  for (;;) {
    if (k >= src.length) return unterminated();
    const ch = src[k];
    if (ch === quote) {
      k++;
      break;
    }
    if (ch === "\n" || ch === "\r") return unterminated();
    if (ch !== "\\") {
      out += ch;
      k++;
      continue;
    }
    if (k + 1 >= src.length) return unterminated();
    const nx = src[k + 1];
    if (raw) {
      if (nx === "\n" || nx === "\r") return unterminated();
      out += ch + nx;
      k += 2;
      continue;
    }
    if (nx === "\n") {
      k += 2;
    } else if (nx === "\r") {
      k += src[k + 2] === "\n" ? 3 : 2;
    } else if (nx in SIMPLE_ESCAPES) {
      out += SIMPLE_ESCAPES[nx];
      k += 2;
    } else if (nx >= "0" && nx <= "7") {
      let e = k + 1;
      while (e < k + 4 && src[e] >= "0" && src[e] <= "7") e++;
      out += String.fromCodePoint(parseInt(src.slice(k + 1, e), 8));
      k = e;
    } else if (nx === "x" || nx === "u" || nx === "U") {
      const width = nx === "x" ? 2 : nx === "u" ? 4 : 8;
      const hex = src.slice(k + 2, k + 2 + width);
      const code = /^[0-9a-fA-F]+$/.test(hex) && hex.length === width ? parseInt(hex, 16) : -1;
      if (code < 0 || code > 0x10ffff) return bad(k, src.slice(k, k + 2 + width), `invalid \\${nx} escape`);
      out += String.fromCodePoint(code);
      k += 2 + width;
    } else if (nx === "N") {
      return bad(k, "\\N", "named unicode escapes are not supported");
    } else {
      out += ch + nx; // Python keeps unknown escapes as written
      k += 2;
    }
  }
  return tok("str", src.slice(start, k), start, out);
}

// ---------------------------------------------------------------------------------------------
// Parser

function describe(t: Tok): string {
  if (t.kind === "eof") return "end of input";
  const text = t.text.length > 24 ? `${t.text.slice(0, 24)}...` : t.text;
  return JSON.stringify(text);
}

function reasonFor(t: Tok, fallback: string): string {
  if (t.kind === "bad") return t.reason;
  if (t.kind === "reserved") {
    switch (t.text) {
      case "lambda":
        return "lambda is not allowed";
      case "if":
      case "else":
        return "conditional expressions are not allowed";
      case "for":
      case "async":
        return "comprehensions are not allowed";
      case "is":
        return '"is" is not allowed; use == or !=';
      default:
        return `"${t.text}" is not allowed`;
    }
  }
  if (t.kind === "op") {
    switch (t.text) {
      case "=":
      case ":=":
        return "assignment is not allowed";
      case "+":
      case "-":
      case "*":
      case "/":
      case "//":
      case "%":
      case "**":
        return "arithmetic is not allowed";
      case "&":
      case "|":
      case "^":
      case "~":
      case "<<":
      case ">>":
        return "bitwise operators are not allowed";
      case "{":
      case "}":
        return "dict and set literals are not allowed";
    }
  }
  return fallback;
}

const COMPARE_OPS = new Set(["==", "!=", "<", "<=", ">", ">="]);

class Parser {
  readonly #src: string;
  readonly #toks: readonly Tok[];
  #pos = 0;

  constructor(src: string, toks: readonly Tok[]) {
    this.#src = src;
    this.#toks = toks;
  }

  parseAll(): Node {
    const first = this.#peek();
    if (first.kind === "eof") this.#fail(first, "empty precondition");
    const tree = this.#parseOr();
    const t = this.#peek();
    if (t.kind !== "eof") {
      const unbalanced = t.kind === "op" && (t.text === ")" || t.text === "]");
      this.#fail(t, unbalanced ? `unbalanced "${t.text}"` : "expected an operator or the end of the expression");
    }
    return tree;
  }

  #peek(ahead = 0): Tok {
    return this.#toks[Math.min(this.#pos + ahead, this.#toks.length - 1)];
  }

  #next(): Tok {
    const t = this.#peek();
    if (t.kind !== "eof") this.#pos++;
    return t;
  }

  #isOp(t: Tok, text: string): boolean {
    return t.kind === "op" && t.text === text;
  }

  #isKw(t: Tok, text: string): boolean {
    return t.kind === "kw" && t.text === text;
  }

  #error(t: Tok, reason: string): never {
    throw new PreconditionSyntaxError(this.#src, t.col, describe(t), reason);
  }

  /** Rejects `t` with the reason its kind always gets (assignment, arithmetic, ...) or `fallback`. */
  #fail(t: Tok, fallback: string): never {
    this.#error(t, reasonFor(t, fallback));
  }

  #expect(text: string): void {
    const t = this.#peek();
    if (!this.#isOp(t, text)) this.#fail(t, `expected "${text}"`);
    this.#next();
  }

  #parseOr(): Node {
    return this.#parseBool("or", "||", () => this.#parseAnd());
  }

  #parseAnd(): Node {
    return this.#parseBool("and", "&&", () => this.#parseNot());
  }

  #parseBool(word: "and" | "or", symbol: string, operand: () => Node): Node {
    const first = operand();
    const at = () => this.#isKw(this.#peek(), word) || this.#isOp(this.#peek(), symbol);
    if (!at()) return first;
    const xs = [first];
    while (at()) {
      this.#next();
      xs.push(operand());
    }
    return fold({ k: word, xs });
  }

  #parseNot(): Node {
    const t = this.#peek();
    if (this.#isKw(t, "not") || this.#isOp(t, "!")) {
      this.#next();
      return fold({ k: "not", x: this.#parseNot() });
    }
    return this.#parseCompare();
  }

  #parseCompare(): Node {
    const first = this.#parseUnary();
    const operands = [first];
    const ops: CmpOp[] = [];
    for (;;) {
      const t = this.#peek();
      let op: CmpOp;
      if (t.kind === "op" && COMPARE_OPS.has(t.text)) op = t.text as CmpOp;
      else if (this.#isKw(t, "in")) op = "in";
      else if (this.#isKw(t, "not")) {
        const u = this.#peek(1);
        if (!this.#isKw(u, "in")) this.#fail(u, 'expected "in" after "not"');
        this.#next();
        op = "not in";
      } else if (t.kind === "reserved" && t.text === "is") {
        this.#fail(t, "");
      } else break;
      this.#next();
      ops.push(op);
      operands.push(this.#parseUnary());
    }
    return ops.length === 0 ? first : fold({ k: "cmp", operands, ops });
  }

  #parseUnary(): Node {
    const t = this.#peek();
    if (this.#isOp(t, "-") || this.#isOp(t, "+")) {
      this.#next();
      return fold({ k: t.text === "-" ? "neg" : "pos", x: this.#parseUnary() });
    }
    return this.#parsePostfix();
  }

  #parsePostfix(): Node {
    let node = this.#parseAtom();
    for (;;) {
      const t = this.#peek();
      if (this.#isOp(t, "(")) this.#error(t, "calls are not allowed");
      if (this.#isOp(t, ".")) {
        if (node.k !== "path") this.#error(t, "attribute access is only allowed on names");
        this.#next();
        const name = this.#peek();
        if (name.kind !== "name") this.#fail(name, "expected an attribute name");
        this.#next();
        node = { k: "path", path: Object.freeze([...node.path, name.text]) };
      } else if (this.#isOp(t, "[")) {
        this.#next();
        const keyTok = this.#peek();
        if (this.#isOp(keyTok, ":")) this.#error(keyTok, "slices are not allowed");
        const key = this.#parseOr();
        const after = this.#peek();
        if (this.#isOp(after, ":")) this.#error(after, "slices are not allowed");
        if (this.#isOp(after, ",")) this.#error(after, "tuple subscripts are not allowed");
        this.#expect("]");
        if (key.k === "const" && typeof key.v === "string") {
          if (node.k !== "path") this.#error(t, "string subscripts are only allowed on names");
          node = { k: "path", path: Object.freeze([...node.path, key.v]) };
        } else if (key.k === "const" && typeof key.v === "number" && Number.isInteger(key.v)) {
          node = fold({ k: "index", base: node, i: key.v });
        } else {
          this.#error(keyTok, "subscripts must be a string or integer literal");
        }
      } else {
        return node;
      }
    }
  }

  #parseAtom(): Node {
    const t = this.#peek();
    switch (t.kind) {
      case "num":
      case "lit":
        this.#next();
        return { k: "const", v: t.value };
      case "str": {
        this.#next();
        let v = t.value as string;
        while (this.#peek().kind === "str") v += this.#next().value as string; // "a" "b" == "ab"
        return { k: "const", v };
      }
      case "name":
        this.#next();
        return { k: "path", path: Object.freeze([t.text]) };
      case "kw":
        return this.#error(t, t.text === "not" ? '"not" needs parentheses here' : "expected an expression");
      case "op":
        if (t.text === "(") return this.#parseParens();
        if (t.text === "[") return this.#parseList();
        break;
    }
    return this.#fail(t, "expected an expression");
  }

  #parseParens(): Node {
    this.#next();
    if (this.#isOp(this.#peek(), ")")) {
      this.#next();
      return { k: "const", v: Object.freeze([]) };
    }
    const first = this.#parseOr();
    if (!this.#isOp(this.#peek(), ",")) {
      this.#expect(")");
      return first;
    }
    const items = [first];
    while (this.#isOp(this.#peek(), ",")) {
      this.#next();
      if (this.#isOp(this.#peek(), ")")) break;
      items.push(this.#parseOr());
    }
    this.#expect(")");
    return fold({ k: "list", items });
  }

  #parseList(): Node {
    this.#next();
    const items: Node[] = [];
    while (!this.#isOp(this.#peek(), "]")) {
      items.push(this.#parseOr());
      if (!this.#isOp(this.#peek(), ",")) break;
      this.#next();
    }
    this.#expect("]");
    return fold({ k: "list", items });
  }
}
