// Affordance precondition language: parsing, semantics, rejections, and a property test against
// a reference evaluator written independently below.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  compilePrecondition,
  firstFailing,
  PreconditionSyntaxError,
  type PreconditionScope,
  type Value,
} from "../../systems/affordances/preconditions.ts";

type Data = { readonly [key: string]: Value | Data };

/** A scope over nested plain objects; a path ending on an object or missing gives null. */
function scopeOf(data: Data, calls?: string[][]): PreconditionScope {
  return {
    lookup(path) {
      calls?.push([...path]);
      let at: Value | Data = data;
      for (const key of path) {
        if (at === null || typeof at !== "object" || Array.isArray(at)) return null;
        at = (at as Data)[key] ?? null;
      }
      return at !== null && typeof at === "object" && !Array.isArray(at) ? null : (at as Value);
    },
  };
}

const run = (source: string, data: Data = {}) => compilePrecondition(source).evaluate(scopeOf(data));

describe("configs/affordances/core.yaml", () => {
  const file = fileURLToPath(new URL("../../configs/affordances/core.yaml", import.meta.url));
  const entries = parseYaml(readFileSync(file, "utf8")) as { id: string; preconds?: string[] }[];
  const byId = new Map(entries.map((e) => [e.id, (e.preconds ?? []).map(compilePrecondition)]));

  it("compiles every precondition and names what each reads", () => {
    const all = entries.flatMap((e) => e.preconds ?? []);
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const src of all) {
      const c = compilePrecondition(src);
      expect(c.source).toBe(src);
      expect(c.names).toEqual([[src.split(" ")[0]]]);
    }
  });

  it("use_shower needs a free shower with power and water (flags as 0/1 numbers)", () => {
    const shower = byId.get("use_shower")!;
    const ok = { occupied: 0, power_on: 1, water_on: 1 };
    expect(firstFailing(shower, scopeOf(ok))).toBe(-1);
    expect(firstFailing(shower, scopeOf({ ...ok, occupied: 1 }))).toBe(0);
    expect(firstFailing(shower, scopeOf({ ...ok, power_on: 0 }))).toBe(1);
    expect(firstFailing(shower, scopeOf({ ...ok, water_on: 0, power_on: 0 }))).toBe(1);
    expect(firstFailing(shower, scopeOf({ ...ok, water_on: false }))).toBe(2);
    expect(firstFailing(shower, scopeOf({ occupied: false, power_on: true, water_on: true }))).toBe(-1);
    // unknown flags are null, and null == true is false
    expect(firstFailing(shower, scopeOf({ occupied: 0 }))).toBe(1);
    // null == false is false too: an unknown `occupied` fails the first check
    expect(firstFailing(shower, scopeOf({}))).toBe(0);
  });

  it("eat_meal and cook_meal", () => {
    const eat = byId.get("eat_meal")!;
    expect(firstFailing(eat, scopeOf({ meal_available: true }))).toBe(-1);
    expect(firstFailing(eat, scopeOf({ meal_available: 1 }))).toBe(-1);
    expect(firstFailing(eat, scopeOf({ meal_available: false }))).toBe(0);
    expect(firstFailing(eat, scopeOf({ meal_available: 0 }))).toBe(0);
    expect(firstFailing(eat, scopeOf({ meal_available: 2 }))).toBe(0); // Python: 2 == True is False
    const cook = byId.get("cook_meal")!;
    expect(firstFailing(cook, scopeOf({ power_on: 1 }))).toBe(-1);
    expect(firstFailing(cook, scopeOf({ power_on: 0 }))).toBe(0);
    expect(firstFailing(byId.get("rest_sleep")!, scopeOf({}))).toBe(-1);
  });
});

describe("operators", () => {
  const d = { n: 3, z: 0, s: "kitchen", e: "", l: [1, "a", null], t: true, f: false, h: 0.5 };

  it("compares numbers", () => {
    expect(run("n == 3", d)).toBe(true);
    expect(run("n != 3", d)).toBe(false);
    expect(run("n < 4", d)).toBe(true);
    expect(run("n <= 3", d)).toBe(true);
    expect(run("n > 3", d)).toBe(false);
    expect(run("n >= 3.0", d)).toBe(true);
    expect(run("h == .5 and h < 1e0 and 0x3 == n and 0o3 == n and 0b11 == n and 1_000 > n", d)).toBe(true);
    expect(run("-n == -3 and +n == 3 and - -n == 3", d)).toBe(true);
  });

  it("compares strings by code point and lists lexicographically", () => {
    expect(run('s == "kitchen" and s != "bath"', d)).toBe(true);
    expect(run('s > "bath" and s < "kitchens" and "a" < "b" <= "b"', d)).toBe(true);
    expect(run('"\\uffff" < "\\U0001F600"')).toBe(true); // UTF-16 order would say otherwise
    expect(run("[1, 2] < [1, 3] and [1, 2] < [1, 2, 0] and (1, 2) == [1, 2] and [] < [0]")).toBe(true);
    expect(run("[1, 2] == [1, 2] and [1, [2]] != [1, [3]]")).toBe(true);
  });

  it("chains comparisons like Python", () => {
    expect(run("0 < n < 4", d)).toBe(true);
    expect(run("0 < n < 3", d)).toBe(false);
    expect(run("1 < 2 > 0 == z", d)).toBe(true);
    expect(run("z < n > 2 != 3", d)).toBe(true);
    expect(run("z < n > 3 != 3", d)).toBe(false);
  });

  it("spells boolean operators as words or symbols", () => {
    expect(run("t and f", d)).toBe(false);
    expect(run("t && f", d)).toBe(false);
    expect(run("t or f", d)).toBe(true);
    expect(run("f || t", d)).toBe(true);
    expect(run("not f", d)).toBe(true);
    expect(run("!f && !!t", d)).toBe(true);
    expect(run("!(n == 3)", d)).toBe(false);
  });

  it("returns operands from and/or as Python does", () => {
    expect(run("(z or 5) == 5", d)).toBe(true);
    expect(run("(n and s) == s", d)).toBe(true);
    expect(run("(e or missing) == null", d)).toBe(true);
    expect(run("(t and 0) == 0", d)).toBe(true);
  });

  it("takes Python truthiness for bare values", () => {
    for (const src of ["z", "e", "f", "missing", "[]", "()", "0.0", "null", "None", "''"]) {
      expect(run(src, d), src).toBe(false);
    }
    for (const src of ["n", "s", "t", "l", "h", "[0]", "'0'", "-1", "True"]) {
      expect(run(src, d), src).toBe(true);
    }
  });
});

describe("precedence", () => {
  it("binds not over comparisons' results, and over or", () => {
    // not a == b or c and d  ==  (not (a == b)) or (c and d)
    const c = compilePrecondition("not a == b or c and d");
    const ev = (a: Value, b: Value, cc: Value, dd: Value) => c.evaluate(scopeOf({ a, b, c: cc, d: dd }));
    for (const a of [0, 1]) {
      for (const b of [0, 1]) {
        for (const cc of [false, true]) {
          for (const dd of [false, true]) {
            expect(ev(a, b, cc, dd)).toBe(!(a === b) || (cc && dd));
          }
        }
      }
    }
    expect(ev(1, 1, true, false)).toBe(false);
    expect(ev(1, 2, false, false)).toBe(true);
  });

  it("binds and tighter than or, unary minus tighter than comparison", () => {
    expect(run("true or true and false")).toBe(true);
    expect(run("(true or true) and false")).toBe(false);
    expect(run("false and false or true")).toBe(true);
    expect(run("-1 < 0 and not -1 == 1")).toBe(true);
    expect(run("not not true")).toBe(true);
    expect(run("!a == 1", { a: 1 })).toBe(false); // ! is `not`: not (a == 1)
  });
});

describe("null and mixed types", () => {
  it("orders nothing against null, nor across types", () => {
    for (const op of ["<", "<=", ">", ">="]) {
      expect(run(`missing ${op} 1`), op).toBe(false);
      expect(run(`1 ${op} missing`), op).toBe(false);
      expect(run(`null ${op} null`), op).toBe(false);
      expect(run(`"a" ${op} 1`), op).toBe(false);
      expect(run(`[1] ${op} 1`), op).toBe(false);
      expect(run(`not ("a" ${op} 1)`), op).toBe(true);
    }
    expect(run("[1] < [null]")).toBe(false);
  });

  it("equates null only with null", () => {
    expect(run("missing == null")).toBe(true);
    expect(run("missing == None and missing == NULL and missing != 0 and missing != false")).toBe(true);
    expect(run('missing != ""')).toBe(true);
  });

  it("equates numbers with booleans as 1 and 0, and orders them so", () => {
    expect(run("flag == false", { flag: 0 })).toBe(true);
    expect(run("flag == true", { flag: 1 })).toBe(true);
    expect(run("flag == False", { flag: 1 })).toBe(false);
    expect(run("flag != TRUE", { flag: 0 })).toBe(true);
    expect(run("flag == true", { flag: 2 })).toBe(false);
    expect(run("flag > false and flag <= true", { flag: 1 })).toBe(true);
  });

  it("treats booleans as 1 and 0 in lists and unary minus", () => {
    expect(run("true == 1.0 and false == 0 and true != 2 and true > 0 and false < 1")).toBe(true);
    expect(run("[true, 0] == [1, false] and -true == -1 and 1 in [true]")).toBe(true);
    expect(run('"1" != 1 and "true" != true')).toBe(true);
  });
});

describe("in / not in", () => {
  const d = { s: "kitchen", l: ["a", 2, null], job: "cook", inv: [] as Value[] };

  it("finds substrings and list members", () => {
    expect(run('"itch" in s', d)).toBe(true);
    expect(run('"" in s', d)).toBe(true);
    expect(run('"x" not in s', d)).toBe(true);
    expect(run('"a" in l and 2 in l and null in l and 2.0 in l and true not in l', d)).toBe(true);
    expect(run('job in ["cook", "clerk"]', d)).toBe(true);
    expect(run("job in ('cook',)", d)).toBe(true);
    expect(run("job not in [s, 'clerk']", d)).toBe(true);
    expect(run('job in [s, "x"]', { ...d, s: "cook" })).toBe(true);
    expect(run('"x" in inv', d)).toBe(false);
    expect(run('"x" not in inv', d)).toBe(true);
    expect(run("[1] in [[1], 2]")).toBe(true);
  });

  it("fails the whole precondition on a bad container or item", () => {
    expect(run('"a" in missing')).toBe(false);
    expect(run('"a" not in missing')).toBe(false); // an error, not a false test
    expect(run('not ("a" in missing)')).toBe(false);
    expect(run("1 in s", d)).toBe(false);
    expect(run("not (1 in s)", d)).toBe(false);
    expect(run("1 in 5 or true")).toBe(false);
    expect(run('-"a" == 1 or true')).toBe(false);
    // but only when reached: and/or and chains short-circuit first
    expect(run('false and "a" in missing')).toBe(false);
    expect(run('true or "a" in missing')).toBe(true);
    expect(run('1 > 2 < "a" in missing')).toBe(false);
    expect(run('not (1 > 2 > "a" in missing)')).toBe(true);
  });
});

describe("names, attributes and subscripts", () => {
  const d = {
    agent: { needs: { hunger: 0.3 }, wallet: 5, position: [2, 7], job_id: "cook" },
    stock: { meals: 2, "raw ingredients": 0 },
  };

  it("resolves dotted paths and string subscripts as one path", () => {
    expect(run("agent.needs.hunger < 0.5", d)).toBe(true);
    expect(run('stock["meals"] >= 1 and stock[\'meals\'] == 2 and stock["raw ingredients"] == 0', d)).toBe(true);
    expect(run('agent["needs"].hunger == 0.3 and (agent).needs["hunger"] == 0.3', d)).toBe(true);
    expect(run("agent.needs.thirst == null and nobody.at.all == null", d)).toBe(true);
    expect(run("agent.position[0] == 2 and agent.position[-1] == 7 and agent.position[2] == null", d)).toBe(true);
    expect(run("agent.wallet[0] == null and [4, 5][1] == 5 and (1, 2)[-2] == 1", d)).toBe(true);
    expect(run("stock.meals", d)).toBe(true);
  });

  it("passes the scope exactly the paths it names, and lists them once in order", () => {
    const c = compilePrecondition(
      'agent.needs.hunger > 0.2 and stock["meals"] and agent.position[1] == 7 or agent.needs.hunger < 0.1 or x in [y, 1]',
    );
    expect(c.names).toEqual([["agent", "needs", "hunger"], ["stock", "meals"], ["agent", "position"], ["x"], ["y"]]);
    const calls: string[][] = [];
    expect(c.evaluate(scopeOf(d, calls))).toBe(true);
    expect(calls).toEqual([["agent", "needs", "hunger"], ["stock", "meals"], ["agent", "position"]]);
    expect(compilePrecondition("1 < 2 and 'a' in 'abc'").names).toEqual([]);
    expect(compilePrecondition("a == a and a.b == A").names).toEqual([["a"], ["a", "b"], ["A"]]);
  });

  it("never throws from evaluate, even if the scope does", () => {
    const c = compilePrecondition("x == 1");
    expect(
      c.evaluate({
        lookup() {
          throw new Error("boom");
        },
      }),
    ).toBe(false);
  });
});

describe("literals", () => {
  it("reads keywords case-insensitively", () => {
    expect(run("TRUE and True and tRuE and not FALSE and not False and NULL == None and null == Null")).toBe(true);
    expect(run("none == null")).toBe(true); // `none` is just an unknown name
    expect(compilePrecondition("none == null").names).toEqual([["none"]]);
  });

  it("decodes string escapes", () => {
    const is = (src: string, want: string) => expect(run(`s == ${src}`, { s: want }), src).toBe(true);
    is(String.raw`"a\"b"`, 'a"b');
    is(String.raw`'a\'b'`, "a'b");
    is(`"it's"`, "it's");
    is(`'say "hi"'`, 'say "hi"');
    is(String.raw`"back\\slash"`, "back\\slash");
    is(String.raw`"\n\t\r\a\b\f\v\0"`, "\n\t\r\x07\b\f\v\0");
    is(String.raw`"\x41\u00e9\U0001F600\101\7"`, "A\u00e9\u{1F600}A\x07");
    is(String.raw`"\d\q"`, "\\d\\q"); // unknown escapes stay as written
    is(String.raw`r"\d\n\""`, '\\d\\n\\"');
    is(String.raw`u"x\n"`, "x\n");
    is(`"ab" 'cd' "e"`, "abcde");
    is(`"é☃"`, "é☃");
    is(`"a # not a comment"`, "a # not a comment");
  });

  it("skips comments and newlines", () => {
    expect(run("x == 1  # a comment", { x: 1 })).toBe(true);
    expect(run("x == 1 and\n  y == 2", { x: 1, y: 2 })).toBe(true);
  });
});

describe("rejected inputs", () => {
  const cases: [source: string, column: number, reason: RegExp][] = [
    ["len(x) > 0", 3, /calls are not allowed/],
    ["agent.len(x)", 9, /calls are not allowed/],
    ["x[1:2] == 1", 3, /slices are not allowed/],
    ["x[:2]", 2, /slices are not allowed/],
    ["a = b", 2, /assignment is not allowed/],
    ["(a := 1)", 3, /assignment is not allowed/],
    ["(a == 1", 7, /expected "\)"/],
    ["a == 1)", 6, /unbalanced "\)"/],
    ["[1, 2", 5, /expected "\]"/],
    ["a ==", 4, /expected an expression/],
    ["a and", 5, /expected an expression/],
    ["", 0, /empty precondition/],
    ["   ", 3, /empty precondition/],
    ["a @ b", 2, /unknown character/],
    ["x == 1; y", 6, /unknown character/],
    ["lambda: 1", 0, /lambda is not allowed/],
    ['__import__("os")', 0, /dunder names are not allowed/],
    ["x.__class__", 2, /dunder names are not allowed/],
    ['"abc".upper()', 5, /attribute access is only allowed on names/],
    ['"a".join(b)', 3, /attribute access is only allowed on names/],
    ["x[0].y", 4, /attribute access is only allowed on names/],
    ["a - 1 > 0", 2, /arithmetic is not allowed/],
    ["a * 2", 2, /arithmetic is not allowed/],
    ["a & b", 2, /bitwise operators are not allowed/],
    ["a is None", 2, /"is" is not allowed/],
    ["a if b else c", 2, /conditional expressions are not allowed/],
    ["[x for x in y]", 3, /comprehensions are not allowed/],
    ["{1: 2}", 0, /dict and set literals/],
    ["x[y]", 2, /subscripts must be a string or integer literal/],
    ["x[1.5]", 2, /subscripts must be a string or integer literal/],
    ["x[1, 2]", 3, /tuple subscripts are not allowed/],
    ["[1][\"a\"]", 3, /string subscripts are only allowed on names/],
    ["a not b", 6, /expected "in" after "not"/],
    ["a == not b", 5, /"not" needs parentheses here/],
    ["a b", 2, /expected an operator/],
    ["'abc", 0, /unterminated string/],
    ['x == "a\nb"', 5, /unterminated string/],
    ['x == "\\x4"', 6, /invalid \\x escape/],
    ['f"{x}"', 0, /f-strings are not allowed/],
    ['b"x"', 0, /bytes literals are not allowed/],
    ["'''x'''", 0, /triple-quoted/],
    ["1j == x", 0, /complex numbers/],
    ["x == 007", 5, /leading zeros/],
    ["x.1", 1, /expected an operator/],
    ["x. and", 3, /expected an attribute name/],
    ["import os", 0, /"import" is not allowed/],
  ];

  it.each(cases)("%j at column %i", (source, column, reason) => {
    let caught: unknown;
    try {
      compilePrecondition(source);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(PreconditionSyntaxError);
    const err = caught as PreconditionSyntaxError;
    expect(err.column).toBe(column);
    expect(err.source).toBe(source);
    expect(err.message).toMatch(reason);
    expect(err.message).toContain(`at column ${column}:`);
    expect(err.name).toBe("PreconditionSyntaxError");
  });

  it("words the message as unexpected <token> at column <n>: <reason>", () => {
    expect(() => compilePrecondition("agent.len(x)")).toThrow('unexpected "(" at column 9: calls are not allowed');
    expect(() => compilePrecondition("a ==")).toThrow("unexpected end of input at column 4: expected an expression");
  });

  it("rejects arithmetic even next to booleans", () => {
    expect(() => compilePrecondition("true + 0 == 1")).toThrow(PreconditionSyntaxError);
  });
});

// -----------------------------------------------------------------------------------------------
// Property test: random trees, printed with minimal parentheses and random spellings, parse back to
// the reference evaluator's answer.

type Tree =
  | { t: "name"; path: string[]; text: string }
  | { t: "index"; path: string[]; i: number; text: string }
  | { t: "lit"; v: Value; text: string }
  | { t: "list"; items: Tree[]; tuple: boolean }
  | { t: "unary"; op: "-" | "+"; x: Tree }
  | { t: "not"; x: Tree; bang: boolean }
  | { t: "bool"; op: "and" | "or"; l: Tree; r: Tree; symbol: boolean }
  | { t: "cmp"; operands: Tree[]; ops: string[] }
  | { t: "paren"; x: Tree };

const DATA: Data = { a: 1, b: 0, t: true, f: false, s: "ab", e: "", l: [1, "ab", null], x: { y: 2 }, m: { k: "k" } };

const nameLeaf: fc.Arbitrary<Tree> = fc.constantFrom<Tree>(
  ...["a", "b", "t", "f", "s", "e", "l", "n"].map((k): Tree => ({ t: "name", path: [k], text: k })),
  { t: "name", path: ["x", "y"], text: "x.y" },
  { t: "name", path: ["m", "k"], text: 'm["k"]' },
  { t: "name", path: ["m", "k"], text: "m['k']" },
  { t: "name", path: ["x"], text: "x" },
  { t: "index", path: ["l"], i: 0, text: "l[0]" },
  { t: "index", path: ["l"], i: -1, text: "l[-1]" },
  { t: "index", path: ["l"], i: 5, text: "l[5]" },
  { t: "index", path: ["s"], i: 0, text: "s[0]" },
);

const numberLeaf: fc.Arbitrary<Tree> = fc.constantFrom<[number, string]>(
  [0, "0"],
  [1, "1"],
  [2, "2"],
  [3, "3"],
  [0.5, "0.5"],
  [0.5, ".5"],
  [2, "2.0"],
  [1, "1e0"],
  [2, "0x2"],
  [10, "1_0"],
).map(([v, text]): Tree => ({ t: "lit", v, text }));

const keywordLeaf: fc.Arbitrary<Tree> = fc
  .tuple(fc.constantFrom<[Value, string]>([true, "true"], [false, "false"], [null, "null"]), fc.boolean(), fc.boolean())
  .map(([[v, word], upper, python]): Tree => {
    const text = python ? (v === null ? "None" : word[0].toUpperCase() + word.slice(1)) : upper ? word.toUpperCase() : word;
    return { t: "lit", v, text };
  });

const stringChar = fc.constantFrom<[string, string]>(
  ["a", "a"],
  ["b", "b"],
  ["'", "\\'"],
  ['"', '\\"'],
  ["\\", "\\\\"],
  ["\n", "\\n"],
  ["é", "é"],
  ["é", "\\xe9"],
  ["é", "\\u00e9"],
  ["A", "\\101"],
);
const stringLeaf: fc.Arbitrary<Tree> = fc
  .tuple(fc.array(stringChar, { maxLength: 3 }), fc.boolean())
  .map(([chars, single]): Tree => {
    const q = single ? "'" : '"';
    return { t: "lit", v: chars.map((c) => c[0]).join(""), text: q + chars.map((c) => c[1]).join("") + q };
  });

const leaf = fc.oneof(nameLeaf, nameLeaf, numberLeaf, keywordLeaf, stringLeaf);
const CMP_OPS = ["==", "!=", "<", "<=", ">", ">=", "in", "not in"];

const tree: fc.Memo<Tree> = fc.memo((n) => {
  if (n <= 1) return leaf;
  const sub = tree(n - 1);
  return fc.oneof(
    leaf,
    fc.record({ t: fc.constant("not" as const), x: sub, bang: fc.boolean() }),
    fc.record({ t: fc.constant("bool" as const), op: fc.constantFrom("and" as const, "or" as const), l: sub, r: sub, symbol: fc.boolean() }),
    fc
      .tuple(sub, fc.array(fc.tuple(fc.constantFrom(...CMP_OPS), sub), { minLength: 1, maxLength: 2 }))
      .map(([first, rest]): Tree => ({ t: "cmp", operands: [first, ...rest.map((r) => r[1])], ops: rest.map((r) => r[0]) })),
    fc.record({ t: fc.constant("cmp" as const), operands: fc.tuple(sub, fc.array(sub, { maxLength: 3 }).map((items): Tree => ({ t: "list", items, tuple: false }))), ops: fc.constantFrom(["in"], ["not in"]) }),
    fc.record({ t: fc.constant("unary" as const), op: fc.constantFrom("-" as const, "+" as const), x: sub }),
    fc.record({ t: fc.constant("list" as const), items: fc.array(sub, { maxLength: 3 }), tuple: fc.boolean() }),
    fc.record({ t: fc.constant("paren" as const), x: sub }),
  ) as fc.Arbitrary<Tree>;
});

function precedence(t: Tree): number {
  switch (t.t) {
    case "bool":
      return t.op === "or" ? 1 : 2;
    case "not":
      return 3;
    case "cmp":
      return 4;
    case "unary":
      return 5;
    default:
      return 6;
  }
}

function print(t: Tree, min = 1): string {
  const s = printBare(t);
  return precedence(t) < min ? `(${s})` : s;
}

function printBare(t: Tree): string {
  switch (t.t) {
    case "name":
    case "index":
    case "lit":
      return t.text;
    case "list": {
      const items = t.items.map((x) => print(x));
      if (!t.tuple) return `[${items.join(", ")}]`;
      return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
    }
    case "paren":
      return `(${print(t.x)})`;
    case "unary":
      return t.op + print(t.x, 5);
    case "not":
      return (t.bang ? "!" : "not ") + print(t.x, 3);
    case "bool": {
      const p = precedence(t);
      const op = t.symbol ? (t.op === "and" ? "&&" : "||") : t.op;
      return `${print(t.l, p)} ${op} ${print(t.r, p)}`;
    }
    case "cmp":
      return t.operands.map((o, i) => (i === 0 ? "" : ` ${t.ops[i - 1]} `) + print(o, 5)).join("");
  }
}

class RefError extends Error {}

function refLookup(path: readonly string[]): Value {
  let at: Value | Data = DATA;
  for (const k of path) {
    if (at === null || typeof at !== "object" || Array.isArray(at)) return null;
    at = (at as Data)[k] ?? null;
  }
  return at !== null && typeof at === "object" && !Array.isArray(at) ? null : (at as Value);
}

function refTruthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return v !== null && v !== false && v !== 0 && v !== "";
}

const asNum = (v: Value): Value => (v === true ? 1 : v === false ? 0 : v);

function refEq(a: Value, b: Value): boolean {
  const x = asNum(a);
  const y = asNum(b);
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => refEq(v, y[i]));
  if (Array.isArray(x) || Array.isArray(y)) return false;
  return x === y;
}

/** "lt" | "eq" | "gt", or undefined when Python would raise (we count that as a false test). */
function refOrder(a: Value, b: Value): "lt" | "eq" | "gt" | undefined {
  const x = asNum(a);
  const y = asNum(b);
  if (typeof x === "number" && typeof y === "number") return x < y ? "lt" : x > y ? "gt" : "eq";
  if (typeof x === "string" && typeof y === "string") {
    const p = [...x].map((c) => c.codePointAt(0)!);
    const q = [...y].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(p.length, q.length); i++) if (p[i] !== q[i]) return p[i] < q[i] ? "lt" : "gt";
    return p.length === q.length ? "eq" : p.length < q.length ? "lt" : "gt";
  }
  if (Array.isArray(x) && Array.isArray(y)) {
    const i = x.findIndex((v, k) => k >= y.length || !refEq(v, y[k]));
    if (i === -1) return x.length === y.length ? "eq" : "lt";
    if (i >= y.length) return "gt";
    return refOrder(x[i], y[i]);
  }
  return undefined;
}

function refCompare(op: string, a: Value, b: Value): boolean {
  switch (op) {
    case "==":
      return refEq(a, b);
    case "!=":
      return !refEq(a, b);
    case "in":
    case "not in": {
      let found: boolean;
      if (typeof b === "string") {
        if (typeof a !== "string") throw new RefError("in on str needs str");
        found = b.indexOf(a) !== -1;
      } else if (Array.isArray(b)) found = b.some((v) => refEq(a, v));
      else throw new RefError("not a container");
      return op === "in" ? found : !found;
    }
  }
  const o = refOrder(a, b);
  if (o === undefined) return false;
  return { "<": o === "lt", "<=": o !== "gt", ">": o === "gt", ">=": o !== "lt" }[op]!;
}

function refEval(t: Tree): Value {
  switch (t.t) {
    case "name":
      return refLookup(t.path);
    case "index": {
      const base = refLookup(t.path);
      if (!Array.isArray(base)) return null;
      return base.at(t.i) ?? null;
    }
    case "lit":
      return t.v;
    case "list":
      return t.items.map(refEval);
    case "paren":
      return refEval(t.x);
    case "unary": {
      const v = asNum(refEval(t.x));
      if (typeof v !== "number") throw new RefError("bad operand for unary");
      return t.op === "-" ? -v : v;
    }
    case "not":
      return !refTruthy(refEval(t.x));
    case "bool": {
      const l = refEval(t.l);
      if (t.op === "and") return refTruthy(l) ? refEval(t.r) : l;
      return refTruthy(l) ? l : refEval(t.r);
    }
    case "cmp": {
      let left = refEval(t.operands[0]);
      for (let i = 0; i < t.ops.length; i++) {
        const right = refEval(t.operands[i + 1]);
        if (!refCompare(t.ops[i], left, right)) return false;
        left = right;
      }
      return true;
    }
  }
}

function refResult(t: Tree): boolean {
  try {
    return refTruthy(refEval(t));
  } catch (e) {
    if (e instanceof RefError) return false;
    throw e;
  }
}

function refNames(t: Tree, out: string[][] = []): string[][] {
  if (t.t === "name" || t.t === "index") {
    if (!out.some((p) => p.join(".") === t.path.join("."))) out.push(t.path);
    return out;
  }
  const kids =
    t.t === "list" ? t.items : t.t === "cmp" ? t.operands : t.t === "bool" ? [t.l, t.r] : t.t === "lit" ? [] : [t.x];
  for (const k of kids) refNames(k, out);
  return out;
}

describe("property: print, parse, evaluate", () => {
  it("agrees with the reference evaluator on random expression trees", () => {
    const scope = scopeOf(DATA);
    fc.assert(
      fc.property(tree(5), (t) => {
        const source = print(t);
        const compiled = compilePrecondition(source);
        expect(compiled.evaluate(scope), source).toBe(refResult(t));
        expect(compiled.names, source).toEqual(refNames(t));
      }),
      { numRuns: 3000, seed: 20251014 },
    );
  });

  it("agrees on random trees without a fixed seed", () => {
    const scope = scopeOf(DATA);
    fc.assert(
      fc.property(tree(4), (t) => compilePrecondition(print(t)).evaluate(scope) === refResult(t)),
      { numRuns: 1000 },
    );
  });
});
