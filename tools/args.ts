// The one flag parser and the one usage-error type of every `townlet` command.
//
// Each command declares a CommandSpec: its flags in its own table (FlagTable), its positional
// arguments, one-line summary and examples. `parseCommand(spec, argv)` turns argv into typed values
// or throws a UsageError (exit 1, one line naming the flag and what was expected); `--help`/`-h`
// anywhere throws HelpRequested, which the dispatcher (tools/cli.ts) answers with formatHelp(spec)
// and exit 0. Flags that several commands share (--config, --seed, --json, --quiet, --ticks,
// --towns, --agents) are the FLAG objects below, so they mean the same thing everywhere.
//
// Adding a flag to a command: add one entry to that command's table; its help line, its value
// check (kind, min/max, choices) and "did you mean" come with it.

/** A mistake in the command line or its input: the CLI prints the message and exits 1. */
import { availableParallelism } from "node:os";

export class UsageError extends Error {
  override name = "UsageError";
}

/** Thrown by parseCommand when argv asks for help; tools/cli.ts prints formatHelp(spec), exit 0. */
export class HelpRequested extends Error {
  override name = "HelpRequested";
  constructor(readonly spec: CommandSpec) {
    super(`help for townlet ${spec.name}`);
  }
}

export type FlagKind =
  /** Present or absent (`--json`). */
  | "boolean"
  /** Any text (`--out DIR`); with `choices`, one of them. */
  | "string"
  /** A whole number, checked against min/max. */
  | "int"
  /** A finite number, checked against min/max (and `above`, an exclusive lower bound). */
  | "number"
  /** Comma-separated whole numbers (`--agents 1000,10000`), each checked against min/max. */
  | "ints";

export interface FlagSpec {
  kind: FlagKind;
  /** One line: what the flag does. Range, choices and default are appended by formatHelp. */
  help: string;
  /** The value's placeholder in help (`N`, `FILE`); defaults by kind. */
  arg?: string;
  /** A one-letter alias, e.g. "q" for -q. */
  short?: string;
  min?: number;
  max?: number;
  /** Exclusive lower bound (kind "number"): `above: 0` means > 0. */
  above?: number;
  /** Allowed values (kind "string"). */
  choices?: readonly string[];
  /** Repeatable (kind "string"): the values arrive as an array in command-line order. */
  multiple?: boolean;
  /** Shown in help as "(default ...)"; not applied (commands apply defaults that depend on other flags). */
  default?: string | number | boolean;
  /** Kind "boolean" only: `--no-<name>` is accepted too and gives false (for a flag that is on by default). */
  negatable?: boolean;
}

export type FlagTable = Record<string, FlagSpec>;

export interface PositionalSpec {
  /** Placeholder in help: `CONFIG`, `FILE...`. */
  name: string;
  min: number;
  /** Infinity for any number. */
  max: number;
  help: string;
}

export interface CommandSpec<F extends FlagTable = FlagTable> {
  name: string;
  /** One line for `townlet help`. */
  summary: string;
  /** Further paragraphs for `townlet CMD --help` (optional). */
  details?: string;
  flags: F;
  /** Omitted: the command takes no positional arguments. */
  positionals?: PositionalSpec;
  /** Command lines that run as written (a test checks every example against this spec). */
  examples: readonly string[];
}

type ValueOf<S extends FlagSpec> = S["kind"] extends "boolean"
  ? boolean
  : S["kind"] extends "int" | "number"
    ? number
    : S["kind"] extends "ints"
      ? number[]
      : S["multiple"] extends true
        ? string[]
        : S extends { choices: readonly (infer C extends string)[] }
          ? C
          : string;

/** The parsed flags: a flag that was not given is undefined (booleans too). */
export type FlagValues<F extends FlagTable> = { [K in keyof F]?: ValueOf<F[K]> };

export interface Parsed<F extends FlagTable> {
  values: FlagValues<F>;
  positionals: string[];
}

// ---- the shared flags ---------------------------------------------------------------------------

/**
 * The one line every command gives about its threads: "3 blocks on 2 threads", and when --workers
 * was not given, how the count was chosen (engine/shards.ts defaultWorkers: the machine's cores,
 * capped by the blocks), e.g. "(default --workers: 2 cores, 3 blocks)".
 */
export function threadsLine(blocks: number, threads: number, defaulted: boolean): string {
  const line = `${blocks} ${blocks === 1 ? "block" : "blocks"} of towns on ${threads} ${threads === 1 ? "thread" : "threads"}`;
  return defaulted ? `${line} (default --workers: ${availableParallelism()} cores, ${blocks} blocks)` : line;
}

/** Flags with one meaning on every command that has them. Commands put these objects in their tables. */
export const FLAG = {
  config: { kind: "string", arg: "FILE", help: "the config file (YAML); may also be given as the first argument" },
  seed: { kind: "int", min: 0, help: "the world seed (default: the config's seed)" },
  ticks: { kind: "int", min: 0, help: "the tick to stop at" },
  towns: { kind: "int", min: 1, help: "number of towns (default: the config's world.towns)" },
  agents: { kind: "int", min: 1, help: "agents per town (default: the config's world.agents_per_town)" },
  workers: { kind: "int", min: 1, help: "threads simulating the world's blocks (default: the machine's cores, capped by the blocks; see world.shards)" },
  watchdog: { kind: "number", min: 0, arg: "SECONDS", help: "a system that runs this long without returning (a plug-in's endless loop) ends the run naming it: a worker thread is stopped and the run fails; a world on one thread exits the process with code 70 (default 60; 0: never)" },
  shards: { kind: "int", min: 1, max: 4096, help: "blocks of towns, each simulated apart (default: the config's world.shards, else 1); the state hash depends on it, not on --workers" },
  json: { kind: "boolean", help: "print one JSON object on stdout instead of text" },
  quiet: { kind: "boolean", short: "q", help: "no progress or notes on stderr" },
  plugin: {
    kind: "string",
    arg: "PATH",
    multiple: true,
    help: "load a plug-in module (a file, or a package name) besides the config's `plugins:`; repeatable",
  },
} as const satisfies FlagTable;

const HELP_FLAG: FlagSpec = { kind: "boolean", short: "h", help: "show this help and exit" };

// ---- parsing ------------------------------------------------------------------------------------

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest of `candidates` to `word` (prefix, or at most 2 edits for words longer than 3), if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) || word.startsWith(c) ? Math.min(1, editDistance(word, c)) : editDistance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  const limit = word.length <= 3 ? 1 : 2;
  return bestD <= limit ? best : undefined;
}

function placeholder(s: FlagSpec): string {
  if (s.arg) return s.arg;
  if (s.choices) return s.choices.join("|");
  return s.kind === "int" ? "N" : s.kind === "number" ? "X" : s.kind === "ints" ? "N,N,..." : "VALUE";
}

function rangeText(s: FlagSpec): string {
  const lo = s.above !== undefined ? `> ${s.above}` : s.min !== undefined ? `>= ${s.min}` : "";
  const hi = s.max !== undefined ? `<= ${s.max}` : "";
  if (s.min !== undefined && s.max !== undefined) return `in [${s.min}, ${s.max}]`;
  return [lo, hi].filter(Boolean).join(" and ");
}

function checkNumber(cmd: string, name: string, s: FlagSpec, raw: string, what: string): number {
  const integer = s.kind !== "number";
  const ok = integer ? /^[-+]?\d+$/.test(raw.trim()) : raw.trim() !== "" && Number.isFinite(Number(raw));
  const n = Number(raw);
  const range = rangeText(s);
  const expected = `${what}${range ? ` ${range}` : ""}`;
  if (!ok || (s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max) || (s.above !== undefined && !(n > s.above))) {
    throw new UsageError(`townlet ${cmd}: --${name}: expected ${expected}, got "${raw}"`);
  }
  return n;
}

function convert(cmd: string, name: string, s: FlagSpec, raw: string): unknown {
  switch (s.kind) {
    case "int":
      return checkNumber(cmd, name, s, raw, "an integer");
    case "number":
      return checkNumber(cmd, name, s, raw, "a number");
    case "ints":
      if (raw.trim() === "") throw new UsageError(`townlet ${cmd}: --${name}: expected comma-separated integers, got ""`);
      return raw.split(",").map((p) => checkNumber(cmd, name, s, p.trim(), "comma-separated integers"));
    case "string":
      if (s.choices && !s.choices.includes(raw)) {
        const near = closest(raw, s.choices);
        throw new UsageError(`townlet ${cmd}: --${name}: expected one of ${s.choices.join(", ")}, got "${raw}"${near ? `; did you mean ${near}?` : ""}`);
      }
      return raw;
    default:
      return raw;
  }
}

/**
 * Parses argv against the command's table. Accepts `--flag value`, `--flag=value`, `-x value` for
 * a flag with a short alias, and `--` (everything after it is positional). A value may start with
 * "-" (so `--ticks -5` reaches the range check), but not with "--". Throws HelpRequested for
 * --help/-h, UsageError for anything else wrong.
 */
export function parseCommand<F extends FlagTable>(spec: CommandSpec<F>, argv: readonly string[]): Parsed<F> {
  const cmd = spec.name;
  const flags: FlagTable = spec.flags;
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(flags)) if (s.short) byShort.set(s.short, name);
  const end = argv.indexOf("--");
  const head = end < 0 ? argv : argv.slice(0, end);
  // Help wins over every other mistake on the line, but not over a flag value that happens to be "-h".
  for (let i = 0; i < head.length; i++) {
    const a = head[i];
    if (a === "--help" || a === "-h") throw new HelpRequested(spec as unknown as CommandSpec);
    const name = a.startsWith("--") ? a.slice(2) : a.length === 2 && a[0] === "-" ? byShort.get(a[1]) : undefined;
    if (name !== undefined && !name.includes("=") && flags[name] && flags[name].kind !== "boolean") i++;
  }
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const a = head[i];
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else if (a.length === 2 && a[0] === "-" && !/\d/.test(a[1])) {
      name = byShort.get(a[1]);
      if (name === undefined) throw new UsageError(`townlet ${cmd}: unknown flag ${a} (townlet ${cmd} --help lists the flags)`);
    } else {
      positionals.push(a);
      continue;
    }
    let s = flags[name];
    if (!s && name.startsWith("no-") && flags[name.slice(3)]?.negatable) {
      name = name.slice(3);
      s = flags[name];
      if (inline !== undefined) throw new UsageError(`townlet ${cmd}: --no-${name} takes no value, got "${inline}"`);
      if (values[name] !== undefined) throw new UsageError(`townlet ${cmd}: --${name} and --no-${name} given together`);
      values[name] = false;
      continue;
    }
    if (!s) {
      const near = closest(name, Object.keys(flags));
      throw new UsageError(`townlet ${cmd}: unknown flag --${name}${near ? `; did you mean --${near}?` : ""} (townlet ${cmd} --help lists the flags)`);
    }
    if (s.kind === "boolean") {
      if (inline !== undefined) throw new UsageError(`townlet ${cmd}: --${name} takes no value, got "${inline}"`);
      if (values[name] === false) throw new UsageError(`townlet ${cmd}: --${name} and --no-${name} given together`);
      values[name] = true;
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = head[i + 1];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`townlet ${cmd}: --${name}: expected a value (${placeholder(s)})`);
      raw = next;
      i++;
    }
    const v = convert(cmd, name, s, raw);
    if (s.multiple) ((values[name] ??= []) as unknown[]).push(v);
    else if (values[name] !== undefined) throw new UsageError(`townlet ${cmd}: --${name} given twice`);
    else values[name] = v;
  }
  if (end >= 0) positionals.push(...argv.slice(end + 1));
  const p = spec.positionals;
  const max = p?.max ?? 0;
  if (positionals.length > max) {
    const first = positionals[max];
    const hint = first.startsWith("-") ? " (a negative number needs --flag=VALUE)" : max === 0 ? " (this command takes flags only)" : "";
    throw new UsageError(`townlet ${cmd}: unexpected argument "${first}"${hint}; usage: ${usageLine(spec)}`);
  }
  if (p && positionals.length < p.min) throw new UsageError(`townlet ${cmd}: expected ${p.name}; usage: ${usageLine(spec)}`);
  return { values: values as FlagValues<F>, positionals };
}

/**
 * The config file of a command that takes it as `--config FILE` or as its one positional
 * argument (both given: a UsageError). Undefined when neither was given.
 */
export function configArg(cmd: string, flag: string | undefined, positionals: readonly string[]): string | undefined {
  if (flag !== undefined && positionals.length) {
    throw new UsageError(`townlet ${cmd}: the config was given twice ("${positionals[0]}" and --config ${flag}); give one`);
  }
  return flag ?? positionals[0];
}

// ---- help ---------------------------------------------------------------------------------------

export function usageLine(spec: CommandSpec): string {
  const p = spec.positionals;
  const pos = p ? (p.min > 0 ? ` ${p.name}` : ` [${p.name}]`) : "";
  return `townlet ${spec.name}${pos} [flags]`;
}

/** One line per flag: `--name ARG  help (range; choices; default)`. */
export function flagLines(flags: FlagTable): string[] {
  const rows: [string, string][] = [];
  for (const [name, s] of [...Object.entries(flags), ["help", HELP_FLAG] as const]) {
    const left = `${s.short ? `-${s.short}, ` : "    "}--${s.negatable ? "[no-]" : ""}${name}${s.kind === "boolean" ? "" : ` ${placeholder(s)}`}`;
    const notes: string[] = [];
    const range = s.kind === "int" || s.kind === "number" || s.kind === "ints" ? rangeText(s) : "";
    if (range) notes.push(range);
    if (s.default !== undefined) notes.push(`default ${String(s.default)}`);
    if (s.multiple) notes.push("repeatable");
    const text = !notes.length ? s.help : s.help.endsWith(")") ? `${s.help.slice(0, -1)}; ${notes.join("; ")})` : `${s.help} (${notes.join("; ")})`;
    rows.push([left, text]);
  }
  const width = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, r]) => `  ${l.padEnd(width)}${l.length >= width ? " " : ""}${r}`);
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`townlet ${spec.name}: ${spec.summary}`, "", `usage: ${usageLine(spec)}`];
  if (spec.positionals) lines.push(`  ${spec.positionals.name}: ${spec.positionals.help}`);
  if (spec.details) lines.push("", spec.details);
  lines.push("", "flags:", ...flagLines(spec.flags));
  if (spec.examples.length) lines.push("", "examples:", ...spec.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}
