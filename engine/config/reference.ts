// The config reference, generated from the zod schemas the kernel and the plug-ins declare: one
// entry per key (dotted path; `*` for any key of a mapping, `[]` for any item of a list) with its
// type, default, range, description and the plug-in that reads it. docs/config.md is this list as
// Markdown (kept current by a test) and `townlet config explain KEY` prints one entry.
import type { z } from "zod";
import type { AnyPlugin } from "../plugin.ts";
import { coreSections } from "./core.ts";
import { didYouMean } from "../text.ts";

export interface ConfigKeyDoc {
  /** Dotted path from the config's root, e.g. `world.towns`, `jobs.*.wage`. */
  key: string;
  type: string;
  /** The default as YAML-ish text; undefined when the key is required or has none. */
  default?: string;
  /** Bounds, e.g. `>= 1, <= 10000000`, `length >= 1`. */
  range?: string;
  description?: string;
  /** "engine" for the kernel's sections, else the plug-in that declares the section. */
  plugin: string;
  required: boolean;
}

// zod 4's definitions, as far as this walk reads them.
interface Def {
  type: string;
  innerType?: ZodLike;
  in?: ZodLike;
  out?: ZodLike;
  shape?: Record<string, ZodLike>;
  element?: ZodLike;
  items?: ZodLike[];
  rest?: ZodLike | null;
  keyType?: ZodLike;
  valueType?: ZodLike;
  options?: ZodLike[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  defaultValue?: unknown;
  checks?: { _zod: { def: { check: string; value?: number; inclusive?: boolean; minimum?: number; maximum?: number; format?: string } } }[];
  getter?: () => ZodLike;
}
interface ZodLike {
  _zod: { def: Def };
  description?: string;
}

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional", "lazy"]);

interface Unwrapped {
  core: ZodLike;
  default?: unknown;
  hasDefault: boolean;
  optional: boolean;
  nullable: boolean;
  description?: string;
}

/** Peels optional/default/nullable/transform layers, keeping what they say. */
function unwrap(s: ZodLike): Unwrapped {
  const u: Unwrapped = { core: s, hasDefault: false, optional: false, nullable: false, description: s.description };
  for (let x = s; ; ) {
    const d = x._zod.def;
    u.description ??= x.description;
    if (d.type === "default" || d.type === "prefault") {
      if (!u.hasDefault) {
        u.hasDefault = true;
        try {
          u.default = d.defaultValue;
        } catch {
          u.default = undefined;
        }
      }
    }
    if (d.type === "optional") u.optional = true;
    if (d.type === "nullable") u.nullable = true;
    let next: ZodLike | undefined;
    if (WRAPPERS.has(d.type)) next = d.type === "lazy" ? d.getter?.() : d.innerType;
    // `.transform()` is a pipe into a transform: the input side is what a config writes.
    else if (d.type === "pipe") next = d.in?._zod.def.type === "transform" ? d.out : d.in;
    if (!next) break;
    x = next;
    u.core = x;
  }
  u.description ??= u.core.description;
  return u;
}

function fmt(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function typeName(s: ZodLike, depth = 0): string {
  const u = unwrap(s);
  const d = u.core._zod.def;
  let t: string;
  switch (d.type) {
    case "number": {
      const int = d.checks?.some((c) => c._zod.def.format === "safeint" || c._zod.def.format === "int32");
      t = int ? "integer" : "number";
      break;
    }
    case "enum":
      t = Object.values(d.entries ?? {})
        .map((v) => JSON.stringify(v))
        .join(" | ");
      break;
    case "literal":
      t = (d.values ?? []).map((v) => JSON.stringify(v)).join(" | ");
      break;
    case "array":
      t = `list of ${depth > 2 ? "..." : typeName(d.element!, depth + 1)}`;
      break;
    case "tuple":
      t = `[${(d.items ?? []).map((i) => typeName(i, depth + 1)).join(", ")}]`;
      break;
    case "record":
      t = `mapping of ${depth > 2 ? "..." : typeName(d.valueType!, depth + 1)}`;
      break;
    case "object":
      t = "mapping";
      break;
    case "union":
      t = (d.options ?? []).map((o) => typeName(o, depth + 1)).join(" or ");
      break;
    default:
      t = d.type;
  }
  return u.nullable ? `${t} or null` : t;
}

function rangeOf(s: ZodLike): string | undefined {
  const d = unwrap(s).core._zod.def;
  const parts: string[] = [];
  for (const c of d.checks ?? []) {
    const k = c._zod.def;
    if (k.check === "greater_than") parts.push(`${k.inclusive ? ">=" : ">"} ${k.value}`);
    else if (k.check === "less_than") parts.push(`${k.inclusive ? "<=" : "<"} ${k.value}`);
    else if (k.check === "min_length") parts.push(`length >= ${k.minimum}`);
    else if (k.check === "max_length") parts.push(`length <= ${k.maximum}`);
  }
  return parts.length ? parts.join(", ") : undefined;
}

function walk(s: ZodLike, key: string, plugin: string, out: ConfigKeyDoc[], depth: number): void {
  const u = unwrap(s);
  const d = u.core._zod.def;
  out.push({
    key,
    type: typeName(s),
    default: u.hasDefault && u.default !== undefined ? fmt(u.default) : undefined,
    range: rangeOf(s),
    description: u.description,
    plugin,
    required: !u.hasDefault && !u.optional,
  });
  if (depth > 6) return;
  if (d.type === "object") for (const [k, v] of Object.entries(d.shape ?? {})) walk(v, `${key}.${k}`, plugin, out, depth + 1);
  else if (d.type === "record" && d.valueType && isStructured(d.valueType)) walk(d.valueType, `${key}.*`, plugin, out, depth + 1);
  else if (d.type === "array" && d.element && isStructured(d.element)) walk(d.element, `${key}[]`, plugin, out, depth + 1);
}

function isStructured(s: ZodLike): boolean {
  const t = unwrap(s).core._zod.def.type;
  return t === "object" || t === "record" || t === "array";
}

/** The sections and their owners, as the loader collects them (engine first, then plug-in order). */
export function sectionOwners(plugins: readonly AnyPlugin[]): [string, z.ZodType, string][] {
  const out: [string, z.ZodType, string][] = Object.entries(coreSections).map(([k, s]) => [k, s as z.ZodType, "engine"]);
  for (const p of plugins) {
    for (const [k, s] of Object.entries(p.sections ?? {})) out.push([k, s, p.name]);
    if (p.config) out.push([p.name, p.config.optional(), p.name]);
  }
  return out;
}

/** Every key of every section of `plugins` (with the kernel's), in section order. */
export function configReference(plugins: readonly AnyPlugin[]): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = [];
  for (const [name, schema, owner] of sectionOwners(plugins)) walk(schema as unknown as ZodLike, name, owner, out, 0);
  return out;
}

const cell = (s: string | undefined) => (s === undefined || s === "" ? "" : s.replace(/\|/g, "\\|").replace(/\n/g, " "));

/** docs/config.md: a table per section. */
export function formatReferenceMarkdown(keys: readonly ConfigKeyDoc[]): string {
  const lines = [
    "# Config reference",
    "",
    "<!-- Generated from the zod schemas by `townlet config reference --markdown > docs/config.md`;",
    "     test/unit/config-reference.test.ts fails when this file is out of date. -->",
    "",
    "Every key a Townlet config may hold, by section: its type, default, allowed range, what it",
    "does and which plug-in reads it (`engine` for the kernel's own sections). `*` stands for any",
    "key of a mapping, `[]` for any item of a list. `townlet config explain KEY` prints one entry;",
    "`townlet validate FILE` checks a config against all of this. A key with no default and",
    "marked required must be given.",
    "",
  ];
  let section = "";
  for (const k of keys) {
    const top = k.key.split(/[.[]/)[0];
    if (top !== section) {
      section = top;
      const head = keys.find((x) => x.key === top);
      lines.push(`## \`${top}\` (${head?.plugin ?? k.plugin})`, "");
      if (head?.description) lines.push(head.description, "");
      lines.push("| key | type | default | range | description |", "| --- | --- | --- | --- | --- |");
    }
    const def = k.default !== undefined ? `\`${cell(k.default)}\`` : k.required ? "required" : "";
    lines.push(`| \`${k.key}\` | ${cell(k.type)} | ${def} | ${cell(k.range)} | ${cell(k.description)} |`);
    const next = keys[keys.indexOf(k) + 1];
    if (!next || next.key.split(/[.[]/)[0] !== section) lines.push("");
  }
  return lines.join("\n");
}

/** One entry as text (`townlet config explain KEY`). */
export function formatKey(k: ConfigKeyDoc): string {
  const rows: [string, string | undefined][] = [
    ["type", k.type],
    ["default", k.default ?? (k.required ? "(required)" : "(none)")],
    ["range", k.range],
    ["read by", k.plugin === "engine" ? "the engine (kernel)" : `the ${k.plugin} plug-in`],
    ["description", k.description],
  ];
  return [k.key, ...rows.filter(([, v]) => v !== undefined).map(([n, v]) => `  ${n.padEnd(12)} ${v}`)].join("\n");
}

/**
 * The entries for `key`: the key itself, or every key under it (a section or a mapping), with `*`
 * matching any name given (e.g. `jobs.cook.wage` finds `jobs.*.wage`). Empty when none matches.
 */
export function findKeys(keys: readonly ConfigKeyDoc[], key: string): ConfigKeyDoc[] {
  const want = key.replace(/\[\d+\]/g, "[]").split(".");
  const matches = (k: string) => {
    const have = k.split(".");
    if (have.length < want.length) return false;
    return want.every((w, i) => have[i] === w || have[i] === "*" || (have[i].endsWith("[]") && have[i].slice(0, -2) === w.replace(/\[\]$/, "")));
  };
  const exact = keys.filter((k) => matches(k.key) && k.key.split(".").length === want.length);
  return exact.length ? [...exact, ...keys.filter((k) => !exact.includes(k) && matches(k.key))] : keys.filter((k) => matches(k.key));
}

/** A "did you mean" for a key that matches nothing. */
export function suggestKey(keys: readonly ConfigKeyDoc[], key: string): string {
  return didYouMean(
    key,
    keys.map((k) => k.key),
  );
}
