// Compatibility with the original Python Townlet's configs. Its pydantic models (a copy of their
// key tree is original-spec.json, written by tools/parity/original_spec.py) ignore unknown keys
// except where a model forbids them; a key that ours does not know but the original accepts or
// ignores loads here with a warning (an error with `strict`), and a demo timeline is recognised.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { z } from "zod";
import { didYouMean } from "../text.ts";
import type { ConfigProblem } from "./loader.ts";

interface SpecModel {
  /** pydantic's extra-key mode; several models at one path (a union) merge to the laxest. */
  extra: "ignore" | "allow" | "forbid";
  /** Declared field names (and aliases): "mapping" = a dict of free keys, else "value". */
  fields: Record<string, "mapping" | "value">;
}

/** The original's models by path: "" is the root, "*" any key of a mapping, "[]" any list item. */
const spec: Record<string, SpecModel> = JSON.parse(readFileSync(new URL("./original-spec.json", import.meta.url), "utf8"));

/** What the original does with `key` under `path`, for a key that our schema does not know. */
export type OriginalRule =
  /** The original's model there does not declare it and drops it (`extra="ignore"`/`"allow"`). */
  | "ignored"
  /** The original declares it (reads it); nothing here does. */
  | "accepted"
  /** The original's model there refuses unknown keys (`extra="forbid"`). */
  | "forbidden"
  /** The path is in a section only ours has (or not a mapping in the original): our rule, an error. */
  | "ours";

function modelAt(path: readonly PropertyKey[]): SpecModel | undefined {
  const find = (i: number, prefix: string): SpecModel | undefined => {
    if (i === path.length) return spec[prefix];
    const p = path[i];
    const steps = typeof p === "number" ? ["[]"] : [String(p), "*"];
    for (const s of steps) {
      const next = prefix ? `${prefix}.${s}` : s;
      // Only descend through prefixes that some spec path starts with.
      if (spec[next] || Object.keys(spec).some((k) => k.startsWith(`${next}.`))) {
        const found = find(i + 1, next);
        if (found) return found;
      }
    }
    return undefined;
  };
  return find(0, "");
}

export function originalRule(path: readonly PropertyKey[], key: string): OriginalRule {
  const model = modelAt(path);
  if (model) {
    if (key in model.fields) return "accepted";
    return model.extra === "forbid" ? "forbidden" : "ignored";
  }
  // Not a model in the original: find the nearest model above and the field that leads down.
  for (let n = path.length - 1; n >= 0; n--) {
    const above = modelAt(path.slice(0, n));
    if (!above) continue;
    const field = path[n];
    if (typeof field === "string" && above.fields[field] === "mapping") return "ignored"; // dict[str, X]: any key goes
    return "ours";
  }
  return "ours";
}

export interface CompatHooks {
  file: string;
  /** The line of `key` under `path` in the file. */
  line(path: readonly PropertyKey[], key: string): number;
  /** Keys our schema allows under `path` (for "did you mean"). */
  allowed(path: readonly PropertyKey[]): string[];
  formatPath(path: readonly PropertyKey[]): string;
}

/**
 * Removes from `raw` the keys our schema refuses but the original accepts or ignores, returning
 * one warning per key (or, with `strict`, one problem per key that the loader reports as an
 * error). Keys the original forbids, and keys in our own sections, stay for the schema to refuse.
 * (An unknown top-level section was taken out before: see unloadedPluginSections.)
 */
export function dropOriginalIgnoredKeys(schema: z.ZodType, raw: unknown, hooks: CompatHooks, strict: boolean): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  // Removing a key can let the schema look deeper (a union picks a branch), so repeat a few times.
  for (let round = 0; round < 8; round++) {
    const r = schema.safeParse(raw);
    if (r.success) break;
    let removed = 0;
    for (const issue of unrecognized(r.error.issues)) {
      for (const key of issue.keys) {
        const rule = originalRule(issue.path, key);
        if (rule === "forbidden" || rule === "ours") continue;
        const parent = valueAt(raw, issue.path);
        if (parent === null || typeof parent !== "object" || !(key in parent)) continue;
        delete (parent as Record<string, unknown>)[key];
        removed++;
        const hint = didYouMean(key, hooks.allowed(issue.path));
        const why = rule === "ignored" ? "the original ignores it too" : "the original reads it; townlet does not use it";
        out.push({
          file: hooks.file,
          line: hooks.line(issue.path, key),
          path: hooks.formatPath([...issue.path, key]),
          message: strict ? `unknown key${hint} (${why}; --strict refuses it)` : `ignored (${why})${hint}`,
        });
      }
    }
    if (!removed) break;
  }
  out.sort((a, b) => a.line - b.line);
  return out;
}

/** The config key that turns a section no loaded plug-in declares back into a warning. */
export const ALLOW_UNKNOWN_SECTIONS = "allow_unknown_sections";
const RUN_WITHOUT = `or set ${ALLOW_UNKNOWN_SECTIONS}: true to run without it`;

/**
 * A top-level section that no loaded plug-in declares is a plug-in's section whose plug-in is not
 * loaded (a missing `plugins:` entry or --plugin flag), or a misspelt section: an error naming it,
 * with a config's `plugins:` list (issue #15 item 4) or without one. The original ignores unknown
 * top-level keys (its root model allows extra keys), but there a mod's forgotten plug-in or a typo
 * silently runs a town without it, so here `allow_unknown_sections: true` is the explicit way to
 * load such a file (each section then a warning; `strict` still refuses them). Removes those keys
 * from `raw` (the schema would only say "unknown key").
 */
export function unloadedPluginSections(raw: unknown, hooks: CompatHooks, strict: boolean): { errors: ConfigProblem[]; warnings: ConfigProblem[] } {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  if (typeof raw !== "object" || raw === null) return { errors, warnings };
  const obj = raw as Record<string, unknown>;
  const known = new Set(hooks.allowed([]));
  const allowed = obj[ALLOW_UNKNOWN_SECTIONS] === true;
  for (const key of Object.keys(obj)) {
    if (known.has(key)) continue;
    delete obj[key];
    const at = { file: hooks.file, line: hooks.line([], key), path: hooks.formatPath([key]) };
    const hint = didYouMean(key, known);
    const none = `no plug-in of this run declares "${key}"`;
    if (allowed && strict) errors.push({ ...at, message: `unknown section: ${none} (--strict refuses it)${hint}` });
    else if (allowed) warnings.push({ ...at, message: `ignored: ${none} (${ALLOW_UNKNOWN_SECTIONS}: true)${hint}` });
    else if (hint) errors.push({ ...at, message: `unknown section${hint}; if it is a plug-in's section, that plug-in is not loaded (add its module to plugins:, or pass --plugin PATH; ${RUN_WITHOUT})` });
    else errors.push({ ...at, message: `section of a plug-in that is not loaded: ${none} (${howToLoad(key, hooks.file)}; ${RUN_WITHOUT})` });
  }
  return { errors, warnings };
}

/** Module names beside a config that would be the plug-in of section `key`, in order of preference. */
const LIKELY_MODULES = (key: string) => [`${key}.ts`, `${key}.mts`, `${key}.js`, `${key}.mjs`, `${key}/index.ts`, `${key}/index.js`, `${key}/${key}.ts`];

/** How to load plug-in `key`: a module beside the config named like it when there is one. */
function howToLoad(key: string, configFile: string): string {
  const dir = dirname(resolve(configFile));
  const found = LIKELY_MODULES(key).find((m) => {
    const p = join(dir, m);
    return existsSync(p) && statSync(p).isFile();
  });
  if (!found) return `add the module of plug-in "${key}" to plugins:, or pass --plugin PATH`;
  return `add the module of plug-in "${key}" to plugins: (./${found} beside this config looks like it), or pass --plugin ${relative(process.cwd(), join(dir, found))}`;
}

type Issue = z.core.$ZodIssue;
function unrecognized(issues: readonly Issue[], base: readonly PropertyKey[] = []): { path: PropertyKey[]; keys: string[] }[] {
  const out: { path: PropertyKey[]; keys: string[] }[] = [];
  for (const i of issues) {
    const path = [...base, ...i.path];
    if (i.code === "unrecognized_keys") out.push({ path, keys: i.keys });
    else if (i.code === "invalid_element") out.push(...unrecognized(i.issues, path));
  }
  return out;
}

/** The value at a key path of a parsed document (undefined where the path leaves it). */
export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as string];
  }
  return v;
}

// ---- demo timelines ---------------------------------------------------------------------------

/**
 * A demo timeline (the original's `townlet.demo.timeline`): a list of `{tick, command|name|action,
 * kind?, args?, kwargs?}` entries, bare or under a `timeline:` key, with no `config_id`.
 */
export function isTimeline(raw: unknown): boolean {
  const entries = timelineEntries(raw);
  return entries !== undefined && (entries.length === 0 || entries.some((e) => e !== null && typeof e === "object" && "tick" in e));
}

function timelineEntries(raw: unknown): unknown[] | undefined {
  if (Array.isArray(raw)) return raw;
  if (raw !== null && typeof raw === "object" && !("config_id" in raw) && Array.isArray((raw as { timeline?: unknown }).timeline)) {
    return (raw as { timeline: unknown[] }).timeline;
  }
  return undefined;
}

/** The original's timeline rules, one problem per broken entry. */
export function validateTimeline(raw: unknown, hooks: Pick<CompatHooks, "file" | "line" | "formatPath">): ConfigProblem[] {
  const entries = timelineEntries(raw) ?? [];
  const base: PropertyKey[] = Array.isArray(raw) ? [] : ["timeline"];
  const problems: ConfigProblem[] = [];
  const at = (i: number, key: string | undefined, message: string) => {
    const path = key === undefined ? [...base, i] : [...base, i, key];
    problems.push({ file: hooks.file, line: key === undefined ? hooks.line([...base], String(i)) : hooks.line([...base, i], key), path: hooks.formatPath(path), message });
  };
  entries.forEach((e, i) => {
    if (e === null || typeof e !== "object" || Array.isArray(e)) return at(i, undefined, "expected a timeline entry (a mapping with tick and command)");
    const o = e as Record<string, unknown>;
    if (!Number.isInteger(o.tick) || (o.tick as number) < 0) at(i, "tick", "expected an integer >= 0");
    const name = o.command ?? o.name ?? o.action;
    if (typeof name !== "string" || !name) at(i, "command", "required key is missing (expected command, name or action: a string)");
    const kind = o.kind ?? ("action" in o ? "action" : "console");
    if (!["console", "action", "narration"].includes(kind as string)) at(i, "kind", `expected one of "console", "action", "narration", got ${JSON.stringify(kind)}`);
    if (o.args !== undefined && o.args !== null && !Array.isArray(o.args) && !(typeof o.args === "object" && Object.keys(o.args).length === 0)) at(i, "args", "expected a list");
    if (o.kwargs !== undefined && o.kwargs !== null && (typeof o.kwargs !== "object" || Array.isArray(o.kwargs))) at(i, "kwargs", "expected a mapping");
  });
  return problems;
}

/** The message for a timeline given where a simulation config is needed. */
export const TIMELINE_NOT_CONFIG =
  "this is a demo timeline (console commands by tick, for the original's demo runner), not a simulation config: townlet validate checks it, but townlet does not run timelines";
