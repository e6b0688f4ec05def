// Loads a YAML configuration: parses with line numbers, validates every section against the
// schemas that plug-ins (and the kernel) contribute, resolves and validates referenced files,
// and computes the config hash. Each problem becomes one line `FILE:LINE: key.path: message`.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from "yaml";
import { z } from "zod";
import type { AnyPlugin, FileReference } from "../plugin.ts";
import { didYouMean } from "../text.ts";
import { coreSections } from "./core.ts";
import { hugeNumberProblems, worldSizeProblems } from "../world-size.ts";
import { CONFIGS_DIR, PROJECT_ROOT } from "../paths.ts";
import { dropOriginalIgnoredKeys, isTimeline, unloadedPluginSections, TIMELINE_NOT_CONFIG, validateTimeline, valueAt } from "./compat.ts";
import { formsOf, type ConfigSections, type SectionSchemas } from "./sections.ts";

export interface ConfigProblem {
  file: string;
  line: number;
  /** Dotted key path, `[i]` for list items; "" for the whole document. */
  path: string;
  message: string;
}

/** A user's mistake in a config file: one line per problem. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}: ${p.path ? `${p.path}: ` : ""}${p.message}`;
}

export interface LoadedConfig {
  /** Path as given (for messages). */
  file: string;
  settings: ConfigSections;
  configId: string;
  /** sha256 (hex, 16 digits) over the validated settings and every referenced file's bytes. */
  configHash: string;
  /** Referenced files, resolved to absolute paths. */
  references: { kind: string; path: string }[];
  /** Keys dropped because the original ignores them too (compat.ts): one line each. */
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

interface Source {
  file: string;
  doc: Document.Parsed;
  lines: LineCounter;
  /** The document as plain values (aliases expanded, checked first). */
  raw: unknown;
}

function parseSource(file: string, text: string): { src?: Source; problems: ConfigProblem[] } {
  const lines = new LineCounter();
  // Repeated keys are found by structureProblems: the library's own check compares each key
  // with every earlier one of its mapping (20,000 keys took 27 s).
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const problems: ConfigProblem[] = doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line,
    path: "",
    message: `invalid YAML: ${e.message.split("\n")[0]}`,
  }));
  if (problems.length) return { problems };
  const structure = structureProblems(file, doc, lines);
  if (structure.problems.length) return { problems: structure.problems };
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (e) {
    // The library refuses aliases that expand to too many copies (a "billion laughs" file).
    const line = structure.firstAliasAt !== undefined ? lines.linePos(structure.firstAliasAt).line : 1;
    const why = e instanceof Error ? e.message : String(e);
    const message = /alias count/i.test(why)
      ? "aliases expand to too many copies (more than 100); write the values out or use fewer aliases (*name)"
      : `cannot expand the YAML (${why})`;
    return { problems: [{ file, line, path: "", message }] };
  }
  return { src: { file, doc, lines, raw }, problems: [] };
}

type Range = [number, number, number];
const rangeOf = (n: unknown) => (n as { range?: Range | null } | null)?.range ?? undefined;

/**
 * Repeated mapping keys and aliases that cannot be expanded (no anchor before them, or inside
 * the value their anchor names), in one pass over the document in text order, without
 * recursion: linear in the size of the file.
 */
function structureProblems(file: string, doc: Document.Parsed, lines: LineCounter): { problems: ConfigProblem[]; firstAliasAt?: number } {
  const problems: ConfigProblem[] = [];
  const anchors = new Map<string, unknown>();
  let firstAliasAt: number | undefined;
  const stack: { node: unknown; path: PropertyKey[] }[] = [{ node: doc.contents, path: [] }];
  while (stack.length > 0 && problems.length < 20) {
    const { node, path } = stack.pop()!;
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, node);
    if (isMap(node)) {
      const firstAt = new Map<unknown, number>();
      const next: { node: unknown; path: PropertyKey[] }[] = [];
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : String(pair.key);
        const at = rangeOf(pair.key)?.[0];
        const first = firstAt.get(key);
        if (first !== undefined && at !== undefined) {
          problems.push({ file, line: lines.linePos(at).line, path: formatPath([...path, String(key)]), message: `duplicate key (first set on line ${lines.linePos(first).line})` });
        } else if (at !== undefined) firstAt.set(key, at);
        if (pair.key !== null && typeof pair.key === "object") next.push({ node: pair.key, path });
        next.push({ node: pair.value, path: [...path, String(key)] });
      }
      for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]);
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) stack.push({ node: node.items[i], path: [...path, i] });
    } else if (isAlias(node)) {
      const at = rangeOf(node)?.[0] ?? 0;
      firstAliasAt ??= at;
      const target = anchors.get(node.source);
      const r = rangeOf(target);
      if (target === undefined) {
        problems.push({ file, line: lines.linePos(at).line, path: formatPath(path), message: `alias *${node.source} has no anchor &${node.source} before it` });
      } else if (r && at > r[0] && at < r[2]) {
        problems.push({ file, line: lines.linePos(at).line, path: formatPath(path), message: `alias *${node.source} is inside the value its anchor &${node.source} names (line ${lines.linePos(r[0]).line}): it would never end` });
      }
    }
  }
  problems.sort((a, b) => a.line - b.line);
  return { problems, firstAliasAt };
}

/**
 * The line of the node at `path` (or of its key when `key` is given). A path that is not in the
 * file (a key left out) gives the line of its nearest written parent's key (`world:`).
 */
function lineOf(src: Source, path: readonly PropertyKey[], key?: string): number {
  const keyLine = (node: unknown, k: unknown): number | undefined => {
    if (!isMap(node)) return undefined;
    const pair = node.items.find((it) => (it.key as { value?: unknown })?.value === k);
    const r = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    return r ? src.lines.linePos(r[0]).line : undefined;
  };
  const nodeAt = (p: readonly PropertyKey[]): unknown => (p.length ? src.doc.getIn(p as unknown[], true) : src.doc.contents);
  for (let n = path.length; n >= 0; n--) {
    const node = nodeAt(path.slice(0, n));
    if (node && typeof node === "object") {
      if (n === path.length && key !== undefined) {
        const line = keyLine(node, key);
        if (line !== undefined) return line;
      }
      if (n < path.length && n > 0) {
        const line = keyLine(nodeAt(path.slice(0, n - 1)), path[n - 1]);
        if (line !== undefined) return line;
      }
      const r = (node as { range?: [number, number, number] }).range;
      if (r) return src.lines.linePos(r[0]).line;
    }
  }
  return 1;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let s = "";
  for (const p of path) {
    if (typeof p === "number") s += `[${p}]`;
    else s += s ? `.${String(p)}` : String(p);
  }
  return s;
}

/** A short description of a value as the user wrote it. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing (the key is missing)";
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 37) + "..." : v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? "" : "s"}`;
  return "a mapping";
}

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

function allowedKeys(schema: unknown, path: readonly PropertyKey[]): string[] {
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
function validate(schema: z.ZodType, raw: unknown, src: Source): { ok: true; value: unknown } | { ok: false; problems: ConfigProblem[] } {
  const r = schema.safeParse(raw);
  if (r.success) return { ok: true, value: r.data };
  const problems = r.error.issues.flatMap((i) => issueToProblems(i, [], raw, schema, src));
  problems.sort((a, b) => a.line - b.line);
  return { ok: false, problems };
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

/** Largest YAML file the loader reads, bytes (a 10 MB config loads in seconds; a device never). */
export const MAX_CONFIG_FILE_BYTES = 32 * 1024 * 1024;

function readSource(file: string): { text?: string; problem?: ConfigProblem } {
  try {
    // Absolute or relative, a file is checked before it is read: /dev/zero or a folder is refused
    // at once instead of read until memory runs out.
    const st = statSync(file);
    if (!st.isFile()) return { problem: { file, line: 0, path: "", message: `not a regular file (${st.isDirectory() ? "a folder" : "a device, pipe or socket"}); give a YAML file` } };
    if (st.size > MAX_CONFIG_FILE_BYTES) return { problem: { file, line: 0, path: "", message: `file is ${st.size} bytes, larger than the ${MAX_CONFIG_FILE_BYTES} bytes a config may have` } };
    return { text: readFileSync(file, "utf8") };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { problem: { file, line: 0, path: "", message: code === "ENOENT" ? "file not found" : `cannot read file (${code ?? String(e)})` } };
  }
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
  const unloaded = unloadedPluginSections(raw, hooks);
  const warnings = dropOriginalIgnoredKeys(schema, raw, hooks, opts.strict ?? false);
  const r = validate(schema, raw, src);
  if (unloaded.length) throw new ConfigError([...unloaded, ...(r.ok ? [] : r.problems)].sort((a, b) => a.line - b.line));
  if (opts.strict && warnings.length) throw new ConfigError([...warnings, ...(r.ok ? [] : r.problems)].sort((a, b) => a.line - b.line));
  for (const w of warnings) (opts.onWarning ?? ((p) => process.stderr.write(`${formatProblem(p)}\n`)))(w);
  if (!r.ok) throw new ConfigError(r.problems);
  // Numbers too large to mean anything (a wallet of 1.8e308 would print as null): at their lines.
  const huge = hugeNumberProblems(raw);
  if (huge.length) throw new ConfigError(huge.map((c) => ({ file, line: lineOf(src, c.path), path: formatPath(c.path), message: c.message })));
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
