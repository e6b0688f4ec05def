// The precondition parser (recursive descent over the grammar in ../preconditions.ts), folding
// constants as it builds the tree; anything outside the language is a PreconditionSyntaxError.
import { PreconditionSyntaxError } from "./types.ts";
import type { Tok } from "./lexer.ts";
import { fold, type CmpOp, type Node } from "./tree.ts";

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

export class Parser {
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
