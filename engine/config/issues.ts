// Validation problems of a config: zod's issues turned into one line each (the key's line, what
// was expected, what was written, "did you mean"), walking the schema for allowed keys and forms.
import type { z } from "zod";
import { didYouMean } from "../text.ts";
import { valueAt } from "./compat.ts";
import { formsOf } from "./sections.ts";
import { describeValue, formatPath, type ConfigProblem } from "./problems.ts";
import { lineOf, type Source } from "./source.ts";

// ---- walking zod schemas (for "did you mean") ----------------------------------------------
type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } })?._zod?.def;

function unwrap(s: unknown, depth = 0): unknown[] {
  const d = defOf(s);
  if (!d || depth > 20) return [];
  // A schema the walk cannot look inside (a custom transform) may name the forms it accepts.
  const forms = formsOf(s);
  if (forms) return forms.flatMap((f) => unwrap(f, depth + 1));
  switch (d.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "catch":
    case "readonly":
    case "nonoptional":
      return unwrap(d.innerType, depth + 1);
    case "pipe":
      return unwrap(d.in, depth + 1);
    case "lazy":
      return unwrap((d.getter as () => unknown)(), depth + 1);
    case "union":
      return (d.options as unknown[]).flatMap((o) => unwrap(o, depth + 1));
    case "intersection":
      return [...unwrap(d.left, depth + 1), ...unwrap(d.right, depth + 1)];
    default:
      return [s];
  }
}

/** The schemas that may describe the value at `path` under `schema`. */
function schemasAt(schema: unknown, path: readonly PropertyKey[]): unknown[] {
  let cur = unwrap(schema);
  for (const p of path) {
    const next: unknown[] = [];
    for (const s of cur) {
      const d = defOf(s)!;
      if (d.type === "object" && typeof p === "string") {
        const child = (d.shape as Record<string, unknown>)[p];
        if (child) next.push(...unwrap(child));
      } else if (d.type === "record") next.push(...unwrap(d.valueType));
      else if (d.type === "array") next.push(...unwrap(d.element));
      else if (d.type === "tuple" && typeof p === "number") next.push(...unwrap((d.items as unknown[])[p]));
    }
    cur = next;
  }
  return cur;
}

/** The keys the schema allows in the mapping at `path`. */
export function allowedKeys(schema: unknown, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  for (const s of schemasAt(schema, path)) {
    const d = defOf(s)!;
    if (d.type === "object") for (const k of Object.keys(d.shape as object)) keys.add(k);
  }
  return [...keys];
}

/** The length of the fixed-length list (tuple without rest) expected at `path`, if that is what it is. */
function tupleLength(schema: unknown, path: readonly PropertyKey[]): number | undefined {
  const found = schemasAt(schema, path).map(defOf);
  const lengths = new Set(found.map((d) => (d?.type === "tuple" && !d.rest ? (d.items as unknown[]).length : -1)));
  const [n] = lengths;
  return lengths.size === 1 && n !== undefined && n >= 0 ? n : undefined;
}

// ---- zod issues -> problems ------------------------------------------------------------------
type Issue = z.core.$ZodIssue;

function bound(issue: { inclusive?: boolean; minimum?: unknown; maximum?: unknown; origin?: string }, big: boolean): string {
  const n = big ? issue.maximum : issue.minimum;
  const origin = issue.origin ?? "number";
  if (origin === "array" || origin === "set") return `${big ? "at most" : "at least"} ${String(n)} item${n === 1 ? "" : "s"}`;
  if (origin === "string") return `${big ? "at most" : "at least"} ${String(n)} character${n === 1 ? "" : "s"}`;
  const op = big ? (issue.inclusive ? "<=" : "<") : issue.inclusive ? ">=" : ">";
  return `a number ${op} ${String(n)}`;
}

function expectedType(issue: Issue & { code: "invalid_type" }): string {
  const e = issue.expected as string;
  if (e === "number") return "a number";
  if (e === "int") return "an integer";
  if (e === "string") return "a string";
  if (e === "boolean") return "true or false";
  if (e === "array" || e === "tuple") return "a list";
  if (e === "object" || e === "record") return "a mapping";
  return e;
}

/** One zod issue as config problems, with lines, expected forms and "did you mean". */
function issueToProblems(issue: Issue, base: readonly PropertyKey[], raw: unknown, schema: unknown, src: Source): ConfigProblem[] {
  const path = [...base, ...issue.path];
  const got = describeValue(valueAt(raw, path));
  const at = (message: string, p: readonly PropertyKey[] = path, key?: string): ConfigProblem => ({
    file: src.file,
    line: lineOf(src, p, key),
    path: formatPath(key === undefined ? p : [...p, key]),
    message,
  });
  switch (issue.code) {
    case "invalid_type": {
      const v = valueAt(raw, path);
      if (v === undefined) return [at(`required key is missing (expected ${expectedType(issue)})`)];
      if (issue.expected === "int" || (issue.expected === "number" && typeof v === "number")) {
        return [at(`expected ${expectedType(issue)}, got ${got}`)];
      }
      return [at(`expected ${expectedType(issue)}, got ${got}`)];
    }
    case "too_small":
    case "too_big": {
      const n = tupleLength(schema, path);
      if (n !== undefined && issue.origin === "array") return [at(`expected a list of exactly ${n} item${n === 1 ? "" : "s"}, got ${got}`)];
      return [at(`expected ${bound(issue, issue.code === "too_big")}, got ${got}`)];
    }
    case "invalid_value":
      return [at(`expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${got}`)];
    case "invalid_format":
      return [at(`expected ${issue.format} format, got ${got}`)];
    case "not_multiple_of":
      return [at(`expected a multiple of ${String(issue.divisor)}, got ${got}`)];
    case "unrecognized_keys": {
      const allowed = allowedKeys(schema, path);
      return issue.keys.map((k) => at(`unknown key${didYouMean(k, allowed)}`, path, k));
    }
    case "invalid_union": {
      // Report the branch that got furthest (its issues have the longest paths).
      const branches = issue.errors as Issue[][];
      const options = (issue as { options?: unknown[] }).options;
      if (!branches.length && options?.length) {
        const hint = typeof valueAt(raw, path) === "string" ? didYouMean(valueAt(raw, path) as string, options.map(String)) : "";
        return [at(`expected one of ${options.map((v) => JSON.stringify(v)).join(", ")}, got ${got}${hint}`)];
      }
      let best: Issue[] | undefined;
      let bestDepth = -1;
      for (const b of branches) {
        const depth = Math.max(...b.map((i) => i.path.length));
        if (depth > bestDepth && depth > 0) {
          best = b;
          bestDepth = depth;
        }
      }
      if (best) return best.flatMap((i) => issueToProblems(i, path, raw, schema, src));
      const kinds = branches.map((b) => (b[0]?.code === "invalid_type" ? expectedType(b[0] as never) : "another form"));
      return [at(`expected ${[...new Set(kinds)].join(" or ")}, got ${got}`)];
    }
    case "invalid_key":
      return [at(`invalid key: ${issue.issues.map((i) => i.message).join("; ")}`)];
    case "invalid_element":
      return issue.issues.flatMap((i) => issueToProblems(i, path, raw, schema, src));
    default:
      return [at(issue.message)];
  }
}

/** Validates a parsed document against a schema; returns the output or the problems. */
export function validate(schema: z.ZodType, raw: unknown, src: Source): { ok: true; value: unknown } | { ok: false; problems: ConfigProblem[] } {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const problems = r.error.issues.flatMap((i) => issueToProblems(i, [], raw, schema, src));
  problems.sort((a, b) => a.line - b.line);
  return { ok: false, problems };
}
