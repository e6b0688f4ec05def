// The PPO telemetry NDJSON contract (architecture guide 2.10): every field with the version that
// brought it, its type and range; the writer (one flushed line per epoch, rotation at
// maxEntries); the reader that puts a rotated stream back together. Checks live in fieldProblem.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { didYouMean } from "../engine/text.ts";

/**
 * Versions. 1.0: the core epoch summary, optional baseline and conflict groups. 1.1 (default):
 * 1.0 plus the ten V1_1_FIELDS, all required, and the optional extras (social counts, advantage
 * health, anneal). The original's code later wrote 1.2 (the health fields required); its shipped
 * sample and the guide stop at 1.1, so 1.1 is the newest version here.
 */
export const TELEMETRY_VERSIONS = ["1.0", "1.1"] as const;
export type TelemetryVersion = (typeof TELEMETRY_VERSIONS)[number];

/** Required in every version. Order as the original writes them (JSON order is not part of the contract). */
export const CORE_FIELDS = [
  "epoch",
  "updates",
  "transitions",
  "loss_policy",
  "loss_value",
  "loss_entropy",
  "loss_total",
  "clip_fraction",
  "adv_mean",
  "adv_std",
  "grad_norm",
  "kl_divergence",
  "telemetry_version",
  "lr",
  "steps",
] as const;

/** Required in 1.1, absent from 1.0 (all ten, never some: guide 2.10 "must not include them partially"). */
export const V1_1_FIELDS = [
  "epoch_duration_sec",
  "data_mode",
  "cycle_id",
  "batch_entropy_mean",
  "batch_entropy_std",
  "grad_norm_max",
  "kl_divergence_max",
  "reward_advantage_corr",
  "rollout_ticks",
  "log_stream_offset",
] as const;

/** Optional in 1.0 and 1.1, but the four come together; absent = no baseline comparison was available. */
export const BASELINE_FIELDS = ["baseline_sample_count", "baseline_reward_mean", "baseline_reward_sum", "baseline_reward_sum_mean"] as const;
/** Optional, and only beside the four BASELINE_FIELDS. */
export const BASELINE_OPTIONAL_FIELDS = ["baseline_log_prob_mean"] as const;

/** Rivalry telemetry averaged over the epoch's batches: optional in 1.0 and 1.1, the four together. */
export const CONFLICT_FIELDS = [
  "conflict.rivalry_max_mean_avg",
  "conflict.rivalry_max_max_avg",
  "conflict.rivalry_avoid_count_mean_avg",
  "conflict.rivalry_avoid_count_max_avg",
] as const;

/**
 * Social event counts of the epoch's dataset. Optional, 1.1 only: the first sample that carries
 * them (ppo_conflict_telemetry.jsonl) is 1.1, the 1.0 sample has none, and the original's later
 * validator lists the queue_conflict pair among the keys a pre-1.1 record must not carry.
 */
export const SOCIAL_FIELDS = [
  "queue_conflict_events",
  "queue_conflict_intensity_sum",
  "shared_meal_events",
  "late_help_events",
  "shift_takeover_events",
  "chat_success_events",
  "chat_failure_events",
  "chat_quality_mean",
] as const;

/**
 * Advantage and clipping health. The original made these required in its 1.2; here they are
 * optional extras of 1.1 (a 1.0 consumer cannot expect them, so never in 1.0).
 */
export const HEALTH_FIELDS = ["adv_zero_std_batches", "adv_min_std", "clip_triggered_minibatches", "clip_fraction_max"] as const;

/** Written by the original only inside an anneal schedule (BC then PPO stages); optional, 1.1 only. */
export const ANNEAL_FIELDS = [
  "anneal_cycle",
  "anneal_stage",
  "anneal_dataset",
  "anneal_bc_accuracy",
  "anneal_bc_threshold",
  "anneal_bc_passed",
  "anneal_loss_baseline",
  "anneal_queue_baseline",
  "anneal_intensity_baseline",
  "anneal_loss_flag",
  "anneal_queue_flag",
  "anneal_intensity_flag",
] as const;

export const DATA_MODES = ["replay", "rollout", "mixed"] as const;
export type DataMode = (typeof DATA_MODES)[number];

export type FieldGroup = "core" | "v1.1" | "baseline" | "conflict" | "social" | "health" | "anneal";

export interface FieldSpec {
  group: FieldGroup;
  /** The first version whose records may carry the field. */
  since: TelemetryVersion;
  /** "integer": a JSON number with no fraction (the original writes 3.0; that is 3). */
  kind: "number" | "integer" | "string" | "boolean" | "version";
  min?: number;
  max?: number;
  values?: readonly string[];
  nullable?: boolean;
  /** What the number means, for readers of the log. */
  description: string;
}

const num = (group: FieldGroup, since: TelemetryVersion, description: string, range: { min?: number; max?: number } = {}): FieldSpec => ({
  group,
  since,
  kind: "number",
  ...range,
  description,
});
const int = (group: FieldGroup, since: TelemetryVersion, description: string, min = 0): FieldSpec => ({ group, since, kind: "integer", min, description });

/** Every field the contract knows, in the order the writer emits them. */
export const FIELD_SPECS: Readonly<Record<string, FieldSpec>> = {
  epoch: int("core", "1.0", "epoch number, 1-based; restarts at 1 in a new training cycle (cycle_id)", 1),
  updates: int("core", "1.0", "optimiser steps (mini-batch updates) in the epoch"),
  transitions: int("core", "1.0", "transitions (agent-steps) the epoch's updates consumed"),
  loss_policy: num("core", "1.0", "mean clipped-surrogate policy loss over the epoch's mini-batches"),
  loss_value: num("core", "1.0", "mean (clipped) value loss; a squared error", { min: 0 }),
  loss_entropy: num("core", "1.0", "mean policy entropy in nats: the entropy itself, not the signed bonus term", { min: 0 }),
  loss_total: num("core", "1.0", "mean total loss: policy + value_coef * value - entropy_coef * entropy"),
  clip_fraction: num("core", "1.0", "mean fraction of samples whose ratio was clipped", { min: 0, max: 1 }),
  adv_mean: num("core", "1.0", "mean advantage over mini-batches (about 0 when normalised)"),
  adv_std: num("core", "1.0", "mean advantage standard deviation over mini-batches", { min: 0 }),
  grad_norm: num("core", "1.0", "mean global gradient norm, before clipping", { min: 0 }),
  kl_divergence: num("core", "1.0", "mean approximate KL(old || new); the estimator mean(old_logp - new_logp) may dip below 0"),
  telemetry_version: { group: "core", since: "1.0", kind: "version", description: "1.0 or 1.1, a JSON number; set by the writer" },
  lr: num("core", "1.0", "optimiser learning rate at the end of the epoch", { min: 0 }),
  steps: int("core", "1.0", "cumulative transitions over the whole run, this epoch included; never decreases"),
  epoch_duration_sec: num("v1.1", "1.1", "wall-clock seconds the epoch took", { min: 0 }),
  data_mode: { group: "v1.1", since: "1.1", kind: "string", values: DATA_MODES, description: "where the batch came from" },
  cycle_id: int("v1.1", "1.1", "rollout/train cycle, 0-based; never decreases along a stream"),
  batch_entropy_mean: num("v1.1", "1.1", "mean of the per-mini-batch entropies", { min: 0 }),
  batch_entropy_std: num("v1.1", "1.1", "population std of the per-mini-batch entropies", { min: 0 }),
  grad_norm_max: num("v1.1", "1.1", "largest mini-batch gradient norm", { min: 0 }),
  kl_divergence_max: num("v1.1", "1.1", "largest |approximate KL| of a mini-batch", { min: 0 }),
  reward_advantage_corr: num("v1.1", "1.1", "Pearson correlation of rewards and advantages; 0 when either has no variance", { min: -1, max: 1 }),
  rollout_ticks: int("v1.1", "1.1", "simulation ticks that produced the dataset; 0 for pure replay"),
  log_stream_offset: int("v1.1", "1.1", "1, 2, 3, ... along the stream, across rotated files; set by the writer", 1),
  adv_zero_std_batches: int("health", "1.1", "batches whose advantage std was below 1e-8"),
  adv_min_std: num("health", "1.1", "smallest batch advantage std", { min: 0 }),
  clip_triggered_minibatches: int("health", "1.1", "mini-batches with any clipped sample"),
  clip_fraction_max: num("health", "1.1", "largest mini-batch clip fraction", { min: 0, max: 1 }),
  queue_conflict_events: int("social", "1.1", "queue conflicts in the dataset"),
  queue_conflict_intensity_sum: num("social", "1.1", "summed intensity of those conflicts", { min: 0 }),
  shared_meal_events: int("social", "1.1", "shared meals in the dataset"),
  late_help_events: int("social", "1.1", "agents covering for a late co-worker"),
  shift_takeover_events: int("social", "1.1", "shift takeovers"),
  chat_success_events: int("social", "1.1", "successful chats"),
  chat_failure_events: int("social", "1.1", "failed chats"),
  chat_quality_mean: num("social", "1.1", "mean quality of the chats"),
  baseline_sample_count: int("baseline", "1.0", "samples behind the baseline"),
  baseline_reward_mean: num("baseline", "1.0", "baseline mean reward per step"),
  baseline_reward_sum: num("baseline", "1.0", "baseline summed reward"),
  baseline_reward_sum_mean: num("baseline", "1.0", "baseline summed reward per sample"),
  baseline_log_prob_mean: num("baseline", "1.0", "baseline mean action log-probability (optional)"),
  "conflict.rivalry_max_mean_avg": num("conflict", "1.0", "per-batch mean of each agent's strongest rivalry, averaged", { min: 0 }),
  "conflict.rivalry_max_max_avg": num("conflict", "1.0", "per-batch strongest rivalry, averaged", { min: 0 }),
  "conflict.rivalry_avoid_count_mean_avg": num("conflict", "1.0", "per-batch mean rivals avoided per agent, averaged", { min: 0 }),
  "conflict.rivalry_avoid_count_max_avg": num("conflict", "1.0", "per-batch most rivals avoided by one agent, averaged", { min: 0 }),
  anneal_cycle: int("anneal", "1.1", "anneal schedule cycle, 0-based"),
  anneal_stage: { group: "anneal", since: "1.1", kind: "string", description: 'stage kind ("bc" or "ppo")' },
  anneal_dataset: { group: "anneal", since: "1.1", kind: "string", description: "dataset label the baselines belong to" },
  anneal_bc_accuracy: { ...num("anneal", "1.1", "accuracy of the last BC stage", { min: 0, max: 1 }), nullable: true },
  anneal_bc_threshold: num("anneal", "1.1", "accuracy a BC stage must reach", { min: 0, max: 1 }),
  anneal_bc_passed: { group: "anneal", since: "1.1", kind: "boolean", description: "the last BC stage reached the threshold" },
  anneal_loss_baseline: { ...num("anneal", "1.1", "loss_total of the previous PPO stage"), nullable: true },
  anneal_queue_baseline: { ...num("anneal", "1.1", "queue_conflict_events baseline"), nullable: true },
  anneal_intensity_baseline: { ...num("anneal", "1.1", "queue_conflict_intensity_sum baseline"), nullable: true },
  anneal_loss_flag: { group: "anneal", since: "1.1", kind: "boolean", description: "loss_total moved more than the tolerance off its baseline" },
  anneal_queue_flag: { group: "anneal", since: "1.1", kind: "boolean", description: "queue conflicts fell below (1 - tolerance) x baseline" },
  anneal_intensity_flag: { group: "anneal", since: "1.1", kind: "boolean", description: "conflict intensity fell below (1 - tolerance) x baseline" },
};

/** Fields the writer sets itself; an EpochRecord must leave them out. */
export const WRITER_FIELDS = ["telemetry_version", "log_stream_offset"] as const;

type Num<K extends string> = { [P in K]: number };
type OptNum<K extends string> = { [P in K]?: number };
type Fields<L extends readonly string[]> = L[number];

/**
 * One epoch as the trainer reports it: numbers as computed (the writer checks types, ranges and
 * finiteness and refuses the record otherwise). The v1.1 fields are required here so a trainer
 * always has them; a 1.0 writer leaves them out. telemetry_version and log_stream_offset are
 * the writer's. Baseline and conflict fields: all of a group or none of it.
 */
export type EpochRecord = Num<Exclude<Fields<typeof CORE_FIELDS>, (typeof WRITER_FIELDS)[number]>> &
  Num<Exclude<Fields<typeof V1_1_FIELDS>, "data_mode" | "log_stream_offset">> & { data_mode: DataMode } & OptNum<Fields<typeof BASELINE_FIELDS>> &
  OptNum<Fields<typeof BASELINE_OPTIONAL_FIELDS>> &
  OptNum<Fields<typeof CONFLICT_FIELDS>> &
  OptNum<Fields<typeof SOCIAL_FIELDS>> &
  OptNum<Fields<typeof HEALTH_FIELDS>> & {
    anneal_cycle?: number;
    anneal_stage?: string;
    anneal_dataset?: string;
    anneal_bc_accuracy?: number | null;
    anneal_bc_threshold?: number;
    anneal_bc_passed?: boolean;
    anneal_loss_baseline?: number | null;
    anneal_queue_baseline?: number | null;
    anneal_intensity_baseline?: number | null;
    anneal_loss_flag?: boolean;
    anneal_queue_flag?: boolean;
    anneal_intensity_flag?: boolean;
  };

/** A record as read back: whatever the line held (the validator says whether it keeps the contract). */
export type PpoLogRecord = Partial<EpochRecord> & { telemetry_version?: number; log_stream_offset?: number; [field: string]: unknown };

/** The version a telemetry_version value names, or null: 1 and 1.0 are the same JSON number. */
export function versionOf(value: unknown): TelemetryVersion | null {
  if (value === 1) return "1.0";
  if (value === 1.1) return "1.1";
  return null;
}

function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

/**
 * What is wrong with one value of a known field ("expected ..., got ..."), or null when it is
 * fine. Used by the writer before a line goes out and by the validator on every line read.
 */
export function fieldProblem(field: string, value: unknown): string | null {
  const spec = FIELD_SPECS[field];
  if (!spec) return null;
  if (value === null && spec.nullable) return null;
  const orNull = spec.nullable ? " or null" : "";
  switch (spec.kind) {
    case "version":
      if (versionOf(value) !== null) return null;
      if (typeof value === "string") return `expected the JSON number 1.0 or 1.1, got the string ${shown(value)}`;
      return `expected 1.0 or 1.1, got ${shown(value)}`;
    case "string":
      if (typeof value !== "string") return `expected a string${orNull}, got ${shown(value)}`;
      if (spec.values && !spec.values.includes(value)) return `expected one of ${spec.values.map((v) => `"${v}"`).join(", ")}, got ${shown(value)}`;
      return null;
    case "boolean":
      return typeof value === "boolean" ? null : `expected true or false${orNull}, got ${shown(value)}`;
    case "number":
    case "integer": {
      const what = spec.kind === "integer" ? "an integer" : "a number";
      if (typeof value !== "number") return `expected ${what}${orNull}, got ${shown(value)}`;
      if (!Number.isFinite(value)) return `expected a finite number, got ${value}`;
      if (spec.kind === "integer" && !Number.isInteger(value)) return `expected an integer >= ${spec.min ?? 0}, got ${value}`;
      const { min, max } = spec;
      if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
        const range = min !== undefined && max !== undefined ? `in [${min}, ${max}]` : min !== undefined ? `>= ${min}` : `<= ${max}`;
        return `expected ${what} ${range}, got ${value}`;
      }
      return null;
    }
  }
}

/** Errors in a log file itself (unreadable JSON, a broken rotated sequence): the user's to fix. */
export class PpoLogError extends Error {
  override name = "PpoLogError";
}

const ROTATED = /^(.*)\.([1-9][0-9]*)$/;

/**
 * The files of one stream, oldest first: `path` itself, then `path.1`, `path.2`, ... by number
 * (a glob on the prefix, ordered by suffix; `path.10` comes after `path.9`). Only files that
 * exist are listed.
 */
export function ppoLogFiles(path: string): string[] {
  const dir = dirname(path);
  const base = basename(path);
  const rotated: { n: number; file: string }[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  for (const name of names) {
    const m = ROTATED.exec(name);
    if (m && m[1] === base) rotated.push({ n: Number(m[2]), file: join(dir, name) });
  }
  rotated.sort((a, b) => a.n - b.n);
  return [...(existsSync(path) ? [path] : []), ...rotated.map((r) => r.file)];
}

/** The rotation number of a stream file: 0 for the first file, N for `<path>.N`. */
export function rotationIndex(file: string, path: string): number {
  if (file === path) return 0;
  const m = ROTATED.exec(file);
  return m && m[1] === path ? Number(m[2]) : -1;
}

export interface PpoLogEntry {
  /** The file the record came from, and its 1-based line there. */
  file: string;
  line: number;
  record: PpoLogRecord;
}

/**
 * Reads a whole rotated stream (`path`, `path.1`, `path.2`, ...) in order. Blank lines are
 * skipped; a line that is not a JSON object throws PpoLogError `FILE:LINE: ...`. It does not
 * check the contract: validatePpoLog does.
 */
export function readPpoLog(path: string): PpoLogEntry[] {
  const files = ppoLogFiles(path);
  if (files.length === 0) throw new PpoLogError(`${path}: no such PPO log (nor any rotated ${basename(path)}.N beside it)`);
  const out: PpoLogEntry[] = [];
  for (const file of files) {
    const lines = readFileSync(file, "utf8").split("\n");
    lines.forEach((text, i) => {
      if (!text.trim()) return;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch (e) {
        throw new PpoLogError(`${file}:${i + 1}: invalid JSON: ${(e as Error).message}`);
      }
      if (record === null || typeof record !== "object" || Array.isArray(record)) {
        throw new PpoLogError(`${file}:${i + 1}: expected a JSON object, got ${shown(record)}`);
      }
      out.push({ file, line: i + 1, record: record as PpoLogRecord });
    });
  }
  return out;
}

export interface PpoLogWriterOptions {
  /** The stream's first file; rotated files are `<path>.1`, `<path>.2`, ... beside it. */
  path: string;
  /** Default "1.1". "1.0" leaves out every field newer than 1.0 (guide: only for old consumers). */
  version?: TelemetryVersion;
  /** max_log_entries: lines per file; the next line after a full file opens the next `.N`. null: one file. */
  maxEntries?: number | null;
  /**
   * false (default): a new stream; `path` and its `.N` files from an earlier run are deleted,
   * so a glob on the prefix never mixes two runs. true: continue the stream found there (same
   * version), log_stream_offset going on from its last record.
   */
  resume?: boolean;
}

/** Fields in emission order: FIELD_SPECS order, which follows the original's lines. */
const EMIT_ORDER = Object.keys(FIELD_SPECS);

/**
 * Writes one JSON line per epoch. Each line goes to the OS with one write(2) before write()
 * returns, so a crashed trainer loses no finished epoch (close() also fsyncs). Rotation: the
 * first maxEntries lines go to `path`, the next maxEntries to `path.1`, then `path.2`, ...:
 * the oldest lines are in `path`, the newest in the highest `.N` (as the original does;
 * log-rotate's reverse numbering would renumber files a reader may be tailing).
 */
export class PpoLogWriter {
  readonly path: string;
  readonly version: TelemetryVersion;
  readonly maxEntries: number | null;
  /** log_stream_offset of the last line written (0 before the first): lines in the stream. */
  private offset = 0;
  private fileIndex = 0;
  private linesInFile = 0;
  private fd: number | null;

  constructor(opts: PpoLogWriterOptions) {
    const version = opts.version ?? "1.1";
    if (!TELEMETRY_VERSIONS.includes(version)) throw new RangeError(`PpoLogWriter: version: expected "1.0" or "1.1", got ${shown(version)}`);
    const max = opts.maxEntries ?? null;
    if (max !== null && !(Number.isInteger(max) && max >= 1)) throw new RangeError(`PpoLogWriter: maxEntries: expected an integer >= 1 or null, got ${max}`);
    this.path = opts.path;
    this.version = version;
    this.maxEntries = max;
    mkdirSync(dirname(this.path), { recursive: true });
    const existing = ppoLogFiles(this.path);
    if (opts.resume && existing.length > 0) this.continueStream(existing);
    else for (const f of existing) rmSync(f);
    // Opened now, not at the first epoch, so an unwritable path fails before any training.
    this.fd = openSync(this.currentFile(), "a");
  }

  /** log_stream_offset of the last line written; 0 before the first. */
  get lines(): number {
    return this.offset;
  }

  /** The file the next line goes to (before any rotation that line triggers). */
  currentFile(): string {
    return this.fileIndex === 0 ? this.path : `${this.path}.${this.fileIndex}`;
  }

  /**
   * Appends the epoch. Throws, writing nothing, when the record breaks the contract: TypeError
   * for an unknown or writer-owned field or a wrong type, RangeError for NaN/Infinity (JSON
   * cannot carry them) or a value out of range, naming the field and the epoch.
   */
  write(record: EpochRecord): void {
    if (this.fd === null) throw new Error(`PpoLogWriter(${this.path}): write after close()`);
    const line = this.serialise(record as unknown as Record<string, unknown>);
    if (this.maxEntries !== null && this.linesInFile >= this.maxEntries) {
      closeSync(this.fd);
      this.fd = null;
      this.fileIndex++;
      this.linesInFile = 0;
      this.fd = openSync(this.currentFile(), "a");
    }
    writeSync(this.fd, line);
    this.linesInFile++;
    this.offset++;
  }

  /** fsyncs and closes the current file; further writes throw. */
  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }

  private serialise(record: Record<string, unknown>): string {
    const where = `PpoLogWriter(${this.path}): epoch ${shown(record.epoch)}`;
    for (const key of Object.keys(record)) {
      if ((WRITER_FIELDS as readonly string[]).includes(key)) throw new TypeError(`${where}: ${key}: set by the writer; leave it out of the record`);
      if (!(key in FIELD_SPECS)) throw new TypeError(`${where}: ${key}: unknown field${didYouMean(key, EMIT_ORDER)}`);
    }
    const has = (k: string) => record[k] !== undefined;
    const keep = (k: string) => has(k) && (this.version === "1.1" || FIELD_SPECS[k].since === "1.0");
    const required = [...CORE_FIELDS, ...(this.version === "1.1" ? V1_1_FIELDS : [])].filter((k) => !(WRITER_FIELDS as readonly string[]).includes(k));
    for (const k of required) if (!has(k)) throw new TypeError(`${where}: ${k}: missing (required in telemetry_version ${this.version})`);
    for (const group of [BASELINE_FIELDS, CONFLICT_FIELDS]) {
      const present = group.filter(has);
      if (present.length > 0 && present.length < group.length) {
        const missing = group.filter((k) => !has(k));
        throw new TypeError(`${where}: ${missing[0]}: missing (${group === BASELINE_FIELDS ? "baseline" : "conflict"} fields come all ${group.length} or none; got ${present.join(", ")})`);
      }
    }
    if (has("baseline_log_prob_mean") && !has(BASELINE_FIELDS[0])) throw new TypeError(`${where}: baseline_log_prob_mean: only beside the four baseline fields`);
    const parts: string[] = [];
    for (const k of EMIT_ORDER) {
      if (k === "telemetry_version") {
        // Written as 1.0 / 1.1, as the original does (JSON.stringify would give 1 for 1.0).
        parts.push(`"telemetry_version":${this.version}`);
        continue;
      }
      if (k === "log_stream_offset") {
        if (this.version === "1.1") parts.push(`"log_stream_offset":${this.offset + 1}`);
        continue;
      }
      if (!keep(k)) continue;
      const problem = fieldProblem(k, record[k]);
      if (problem) {
        const Err = typeof record[k] === "number" ? RangeError : TypeError;
        throw new Err(`${where}: ${k}: ${problem}`);
      }
      parts.push(`${JSON.stringify(k)}:${JSON.stringify(record[k])}`);
    }
    return `{${parts.join(",")}}\n`;
  }

  private continueStream(files: string[]): void {
    const entries = readPpoLog(this.path);
    for (const e of entries) {
      const v = versionOf(e.record.telemetry_version);
      if (v !== this.version) {
        throw new PpoLogError(`${e.file}:${e.line}: telemetry_version: resuming a ${this.version} stream, but this record is ${v ?? shown(e.record.telemetry_version)}; one stream carries one version`);
      }
    }
    const last = entries[entries.length - 1];
    const lastOffset = last?.record.log_stream_offset;
    this.offset = this.version === "1.1" && typeof lastOffset === "number" ? lastOffset : entries.length;
    const lastFile = files[files.length - 1];
    this.fileIndex = Math.max(0, rotationIndex(lastFile, this.path));
    this.linesInFile = entries.filter((e) => e.file === lastFile).length;
  }
}
