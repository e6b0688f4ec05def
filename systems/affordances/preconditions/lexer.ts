// The precondition lexer: numbers, strings (Python's prefixes and escapes), names, literals,
// keywords and operators; tokens outside the language come out as "bad" or "reserved" with a reason.
import type { Value } from "./types.ts";

type TokKind = "num" | "str" | "name" | "lit" | "kw" | "reserved" | "op" | "bad" | "eof";

export interface Tok {
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
export function lex(src: string): Tok[] {
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
