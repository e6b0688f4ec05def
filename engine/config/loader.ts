// Loads a YAML configuration: parses with line numbers, validates every section against the
// schemas that plug-ins (and the kernel) contribute, resolves and validates referenced files,
// and computes the config hash. Each problem becomes one line `FILE:LINE: key.path: message`
// (problems.ts); reading and parsing with lines is source.ts, zod's issues as problems issues.ts.
import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { isSeq } from "yaml";
import { z } from "zod";
import type { AnyPlugin, FileReference } from "../plugin.ts";
import { coreSections } from "./core.ts";
import { hugeNumberProblems, worldSizeProblems } from "../world-size.ts";
import { dayLengthProblems } from "../clock.ts";
import { CONFIGS_DIR, PROJECT_ROOT } from "../paths.ts";
import { dropOriginalIgnoredKeys, isTimeline, unloadedPluginSections, TIMELINE_NOT_CONFIG, validateTimeline, valueAt } from "./compat.ts";
import { type ConfigSections, type SectionSchemas } from "./sections.ts";
import { ConfigError, describeValue, formatPath, formatProblem, type ConfigProblem } from "./problems.ts";
import { lineOf, parseSource, readSource } from "./source.ts";
import { allowedKeys, validate } from "./issues.ts";

export { ConfigError, describeValue, formatPath, formatProblem, type ConfigProblem } from "./problems.ts";
export { MAX_CONFIG_FILE_BYTES } from "./source.ts";

export interface LoadedConfig {
  /** Path as given (for messages). */
  file: string;
  settings: ConfigSections;
  configId: string;
  /** sha256 (hex, 16 digits) over the validated settings and every referenced file's bytes. */
  configHash: string;
  /** Referenced files, resolved to absolute paths. */
  references: { kind: string; path: string }[];
  /** Keys dropped with a warning: keys the original ignores too, and sections no loaded plug-in declares under allow_unknown_sections (compat.ts): one line each. */
  warnings: ConfigProblem[];
}

/** Every section schema: the kernel's and each plug-in's (`sections` and `config` by name). */
export function collectSections(plugins: readonly AnyPlugin[]): SectionSchemas {
  const out: SectionSchemas = { ...coreSections };
  const owner = new Map<string, string>(Object.keys(coreSections).map((k) => [k, "engine"]));
  const claim = (key: string, schema: z.ZodType, by: string) => {
    const prior = owner.get(key);
    if (prior !== undefined) throw new Error(`config section "${key}" is declared by both "${prior}" and "${by}"`);
    owner.set(key, by);
    out[key] = schema;
  };
  for (const p of plugins) {
    for (const [k, s] of Object.entries(p.sections ?? {})) claim(k, s, p.name);
    if (p.config) claim(p.name, p.config.optional(), p.name);
  }
  return out;
}

export function collectFileReferences(plugins: readonly AnyPlugin[]): FileReference[] {
  return plugins.flatMap((p) => p.files ?? []);
}

/** The root schema: a strict object of every section. */
export function rootSchema(sections: SectionSchemas): z.ZodType {
  return z.strictObject(sections);
}

/**
 * The places a path written inside a config is looked for, in order: the config's folder and each
 * folder above it, then the project's configs/ and the project's root (so a config copied to
 * another folder still finds the shipped manifests). An absolute path is only itself.
 */
export function referenceCandidates(configFile: string, p: string): string[] {
  if (isAbsolute(p)) return [p];
  const out: string[] = [];
  for (let dir = dirname(resolve(configFile)); ; dir = dirname(dir)) {
    out.push(join(dir, p));
    if (dirname(dir) === dir) break;
  }
  for (const base of [CONFIGS_DIR, PROJECT_ROOT]) if (!out.includes(join(base, p))) out.push(join(base, p));
  return out;
}

/** Resolves a path written inside a config (see referenceCandidates); first match wins. */
export function resolveReferencedPath(configFile: string, p: string): string | undefined {
  return referenceCandidates(configFile, p).find((c) => existsSync(c) && statSync(c).isFile());
}

/** Parses and validates a standalone document of one kind (an affordance manifest, ...). */
export function loadDocument(file: string, schema: z.ZodType): { value?: unknown; text?: string; problems: ConfigProblem[] } {
  const { text, problem } = readSource(file);
  if (problem) return { problems: [problem] };
  const { src, problems } = parseSource(file, text!);
  if (!src) return { problems };
  const raw = src.raw;
  const r = validate(schema, raw, src);
  return r.ok ? { value: r.value, text, problems: [] } : { problems: r.problems };
}

export interface LoadOptions {
  /** Values that replace keys after parsing, e.g. { "world.towns": 4 } (CLI flags). */
  overrides?: Record<string, unknown>;
  /** Keys the original ignores are errors instead of warnings. */
  strict?: boolean;
  /** Receives each warning; default: one line on stderr. */
  onWarning?: (p: ConfigProblem) => void;
}

/** Loads and validates a simulation config with the sections of `plugins`. Throws ConfigError. */
export function loadConfig(file: string, plugins: readonly AnyPlugin[], opts: LoadOptions = {}): LoadedConfig {
  const { text, problem } = readSource(file);
  if (problem) throw new ConfigError([problem]);
  return parseConfigText(file, text!, plugins, opts);
}

/** As loadConfig, from text already read (`file` names it in messages and anchors paths). */
export function parseConfigText(file: string, text: string, plugins: readonly AnyPlugin[], opts: LoadOptions = {}): LoadedConfig {
  const { src, problems } = parseSource(file, text);
  if (!src) throw new ConfigError(problems);
  let raw = src.raw;
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError([{ file, line: 1, path: "", message: `expected a mapping of config sections, got ${describeValue(raw)}` }]);
  }
  for (const [k, v] of Object.entries(opts.overrides ?? {})) setPath(raw as Record<string, unknown>, k.split("."), v);
  if (isTimeline(raw)) throw new ConfigError([{ file, line: 1, path: "", message: TIMELINE_NOT_CONFIG }]);
  const schema = rootSchema(collectSections(plugins));
  const hooks = { file, line: (p: readonly PropertyKey[], k: string) => lineOf(src, p, k), allowed: (p: readonly PropertyKey[]) => allowedKeys(schema, p), formatPath };
  const sectionsOf = unloadedPluginSections(raw, hooks, opts.strict ?? false);
  const unloaded = sectionsOf.errors;
  const warnings = [...sectionsOf.warnings, ...dropOriginalIgnoredKeys(schema, raw, hooks, opts.strict ?? false)].sort((a, b) => a.line - b.line);
  const r = validate(schema, raw, src);
  // With strict the warnings are errors; without, they are told even when the file has errors.
  if (!opts.strict) for (const w of warnings) (opts.onWarning ?? ((p) => process.stderr.write(`${formatProblem(p)}\n`)))(w);
  const refused = [...unloaded, ...(opts.strict ? warnings : [])];
  if (refused.length || !r.ok) throw new ConfigError([...refused, ...(r.ok ? [] : r.problems)].sort((a, b) => a.line - b.line));
  // Numbers too large to mean anything (a wallet of 1.8e308 would print as null): at their lines.
  const huge = hugeNumberProblems(raw);
  if (huge.length) throw new ConfigError(huge.map((c) => ({ file, line: lineOf(src, c.path), path: formatPath(c.path), message: c.message })));
  // The day's two keys (engine/clock.ts) set to different values: as written, before defaults.
  const day = dayLengthProblems(raw);
  if (day.length) throw new ConfigError(day.map((c) => ({ file, line: lineOf(src, c.path), path: formatPath(c.path), message: c.message })));
  const settings = r.value as Record<string, unknown>;

  // Referenced files: resolve, validate with their own line numbers, then path or inline.
  const refProblems: ConfigProblem[] = [];
  const references: { kind: string; path: string }[] = [];
  const hash = createHash("sha256");
  for (const ref of collectFileReferences(plugins)) {
    const value = valueAt(settings, ref.path);
    if (typeof value !== "string") continue;
    const line = lineOf(src, ref.path);
    const where = formatPath(ref.path);
    const abs = resolveReferencedPath(file, value);
    if (!abs) {
      const st = isAbsolute(value) ? statSync(value, { throwIfNoEntry: false }) : undefined;
      if (st && !st.isFile()) {
        refProblems.push({ file, line, path: where, message: `${ref.kind} "${value}" is not a regular file (${st.isDirectory() ? "a folder" : "a device, pipe or socket"})` });
        continue;
      }
      const looked = referenceCandidates(file, value).map((c) => relative(process.cwd(), c) || c);
      refProblems.push({ file, line, path: where, message: `${ref.kind} "${value}" not found; looked in ${looked.join(", ")}` });
      continue;
    }
    const doc = loadDocument(abs, ref.schema);
    if (doc.problems.length) {
      refProblems.push(...doc.problems);
      refProblems.push({ file, line, path: where, message: `${ref.kind} "${value}" is invalid (see above)` });
      continue;
    }
    references.push({ kind: ref.kind, path: abs });
    hash.update(`${where}\0${doc.text}\0`);
    setPath(settings, ref.path, ref.mode === "inline" ? doc.value : abs);
  }
  // Cross-section rules, on the settings as resolved (a reference that failed keeps its value).
  const checkProblems: ConfigProblem[] = [];
  for (const p of plugins) {
    for (const c of p.checks?.(settings as unknown as ConfigSections) ?? []) {
      checkProblems.push({ file, line: lineOf(src, c.path), path: formatPath(c.path), message: c.message });
    }
  }
  // A world that cannot be allocated on this machine fails here, in validate too, not in `run`.
  if (!refProblems.length && !checkProblems.length && plugins.some((p) => p.entities)) {
    for (const c of worldSizeProblems(settings as unknown as ConfigSections, plugins)) {
      checkProblems.push({ file, line: lineOf(src, c.path), path: formatPath(c.path), message: c.message });
    }
  }
  checkProblems.sort((a, b) => a.line - b.line);
  if (refProblems.length || checkProblems.length) throw new ConfigError([...refProblems, ...checkProblems]);
  hash.update(canonicalJson(withoutPaths(settings, references)));
  return {
    file,
    settings: settings as unknown as ConfigSections,
    configId: settings.config_id as string,
    configHash: hash.digest("hex").slice(0, 16),
    references,
    warnings,
  };
}

/** Validates an in-memory config object (tests, tools); problems name `label` as the file. */
export function parseConfigObject(obj: Record<string, unknown>, plugins: readonly AnyPlugin[], label = "<config>"): ConfigSections {
  const text = JSON.stringify(obj, null, 1);
  return parseConfigText(label, text, plugins).settings;
}

// Absolute paths differ between checkouts; the hash covers the files' bytes instead.
function withoutPaths(settings: Record<string, unknown>, refs: { path: string }[]): unknown {
  const abs = new Set(refs.map((r) => r.path));
  return JSON.parse(JSON.stringify(settings, (_k, v) => (typeof v === "string" && abs.has(v) ? "<file>" : v)));
}

function setPath(obj: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const next = cur[path[i]];
    if (next === null || typeof next !== "object" || Array.isArray(next)) cur[path[i]] = {};
    cur = cur[path[i]] as Record<string, unknown>;
  }
  cur[path[path.length - 1]] = value;
}

/** JSON with object keys sorted at every level: the same bytes for the same value. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(",")}}`;
}

export type DocumentKind = "config" | string;

/**
 * Validates any Townlet YAML file: a simulation config (has `config_id`), or a standalone
 * document a plug-in recognises (an affordance manifest, a perturbation file).
 */
export function validateFile(
  file: string,
  plugins: readonly AnyPlugin[],
  opts: { strict?: boolean } = {},
): { kind: DocumentKind; problems: ConfigProblem[]; config?: LoadedConfig; warnings?: ConfigProblem[] } {
  const { text, problem } = readSource(file);
  if (problem) return { kind: "unknown", problems: [problem] };
  const { src, problems } = parseSource(file, text!);
  if (!src) return { kind: "unknown", problems };
  const raw = src.raw;
  const isConfig = raw !== null && typeof raw === "object" && !Array.isArray(raw) && "config_id" in raw;
  if (!isConfig) {
    if (isTimeline(raw)) return { kind: "demo timeline", problems: validateTimeline(raw, { file, line: (p, k) => lineOf(src, p, k), formatPath }) };
    for (const ref of collectFileReferences(plugins)) {
      if (ref.detect?.(raw)) {
        const r = validate(ref.schema, raw, src);
        return { kind: ref.kind, problems: r.ok ? [] : r.problems };
      }
    }
    if (isSeq(src.doc.contents) || raw === null || typeof raw !== "object") {
      return { kind: "unknown", problems: [{ file, line: 1, path: "", message: `not a Townlet document: expected a config mapping with config_id, got ${describeValue(raw)}` }] };
    }
  }
  const warnings: ConfigProblem[] = [];
  try {
    const config = parseConfigText(file, text!, plugins, { strict: opts.strict, onWarning: (w) => warnings.push(w) });
    return { kind: "config", problems: [], config, warnings };
  } catch (e) {
    if (e instanceof ConfigError) return { kind: "config", problems: e.problems, warnings };
    throw e;
  }
}
