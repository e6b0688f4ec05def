// Checks PPO telemetry NDJSON streams against the contract in log.ts (guide 2.10): per line the
// version rules, groups, types and ranges; along a stream (a file and its rotated .N files) one
// version, log_stream_offset +1 per line, cycles and epochs in order. Reads files, writes nothing.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { didYouMean } from "../engine/text.ts";
import {
  ANNEAL_FIELDS,
  BASELINE_FIELDS,
  CONFLICT_FIELDS,
  CORE_FIELDS,
  FIELD_SPECS,
  HEALTH_FIELDS,
  SOCIAL_FIELDS,
  V1_1_FIELDS,
  fieldProblem,
  ppoLogFiles,
  rotationIndex,
  versionOf,
  type TelemetryVersion,
} from "./log.ts";

export interface PpoLogProblem {
  file: string;
  /** 1-based line; 0 for a problem with the file as a whole (missing, empty, out of sequence). */
  line: number;
  field?: string;
  message: string;
  /** Errors break the contract; warnings (unknown fields, doubtful values) do not. */
  severity: "error" | "warning";
}

export interface PpoLogValidation {
  /** Every file read, stream by stream, each stream oldest first. */
  files: string[];
  /** Records (non-blank lines that parsed as JSON objects). */
  records: number;
  /** One entry per stream: its first file, files, record count and version. */
  streams: { path: string; files: string[]; records: number; version: TelemetryVersion | null }[];
  problems: PpoLogProblem[];
}

/** `FILE:LINE: field: message`, `warning: ` before a warning's message; `FILE: message` for line 0. */
export function formatPpoLogProblem(p: PpoLogProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}` : p.file;
  return `${where}: ${p.field ? `${p.field}: ` : ""}${p.severity === "warning" ? "warning: " : ""}${p.message}`;
}

const ROTATED = /^(.*)\.([1-9][0-9]*)$/;

/**
 * Groups the given paths into streams: `X.N` (N = 1, 2, ...) is a rotated file of stream X,
 * so naming any file of a rotated log validates the whole sequence; any other path is the
 * first file of its stream. Order: first mention.
 */
function streamsOf(paths: string[]): string[] {
  const bases: string[] = [];
  for (const p of paths) {
    const base = ROTATED.exec(p)?.[1] ?? p;
    if (!bases.includes(base)) bases.push(base);
  }
  return bases;
}

const LATER_GROUP_NOTE: Record<string, string> = {
  "v1.1": "a 1.1 field; a 1.0 record carries none of them",
  social: "an optional field added with 1.1",
  health: "an optional 1.1 field here (the original's 1.2)",
  anneal: "an optional field added with 1.1",
};

const KNOWN = Object.keys(FIELD_SPECS);

/** Stream-wide state carried from line to line. */
interface StreamState {
  version: { v: TelemetryVersion; at: string } | null;
  offset: { n: number; at: string } | null;
  order: { cycle: number; epoch: number; at: string } | null;
  steps: { n: number; at: string } | null;
}

/**
 * Validates PPO logs. Each path names a stream (see streamsOf): its files are read oldest first
 * and checked as one sequence. Never throws for a bad log; every finding is a problem.
 */
export function validatePpoLog(paths: string[]): PpoLogValidation {
  const out: PpoLogValidation = { files: [], records: 0, streams: [], problems: [] };
  for (const path of streamsOf(paths)) {
    const files = ppoLogFiles(path);
    const stream = { path, files, records: 0, version: null as TelemetryVersion | null };
    out.streams.push(stream);
    out.files.push(...files);
    const problems = out.problems;
    const err = (file: string, line: number, field: string | undefined, message: string) => problems.push({ file, line, field, message, severity: "error" });
    if (files.length === 0) {
      err(path, 0, undefined, "no such file");
      continue;
    }
    if (files[0] !== path) err(path, 0, undefined, `missing: a rotated stream starts with ${basename(path)} (the oldest lines), then ${basename(path)}.1, .2, ...; found only ${files.map((f) => basename(f)).join(", ")}`);
    for (let i = 1; i < files.length; i++) {
      const want = rotationIndex(files[i - 1], path) + 1;
      if (rotationIndex(files[i], path) !== want) err(files[i], 0, undefined, `out of sequence: ${basename(path)}.${want} is missing before it`);
    }
    const state: StreamState = { version: null, offset: null, order: null, steps: null };
    for (const file of files) {
      let lines: string[];
      try {
        lines = readFileSync(file, "utf8").split("\n");
      } catch (e) {
        err(file, 0, undefined, `cannot read: ${(e as Error).message}`);
        continue;
      }
      let inFile = 0;
      lines.forEach((text, i) => {
        if (!text.trim()) return;
        const line = i + 1;
        let record: unknown;
        try {
          record = JSON.parse(text);
        } catch (e) {
          err(file, line, undefined, `invalid JSON: ${(e as Error).message}`);
          return;
        }
        if (record === null || typeof record !== "object" || Array.isArray(record)) {
          err(file, line, undefined, `expected a JSON object (one epoch), got ${Array.isArray(record) ? "an array" : JSON.stringify(record)}`);
          return;
        }
        inFile++;
        stream.records++;
        out.records++;
        checkRecord(record as Record<string, unknown>, file, line, state, problems);
      });
      if (inFile === 0) err(file, 0, undefined, "no records (an empty PPO log: training stopped before its first logged epoch?)");
    }
    stream.version = state.version?.v ?? null;
  }
  return out;
}

function checkRecord(rec: Record<string, unknown>, file: string, line: number, state: StreamState, problems: PpoLogProblem[]): void {
  const at = `${file}:${line}`;
  const add = (field: string | undefined, message: string, severity: "error" | "warning" = "error") => problems.push({ file, line, field, message, severity });
  const has = (k: string) => Object.prototype.hasOwnProperty.call(rec, k);

  // Which rules apply. A line without telemetry_version predates the versioned contract (the
  // original wrote none before 1.0); it is checked as 1.0, the smallest versioned field set.
  let rules: TelemetryVersion | null;
  const raw = rec.telemetry_version;
  const version = versionOf(raw);
  if (!has("telemetry_version")) {
    add("telemetry_version", "missing (every record carries it since 1.0; a record without it predates the versioned contract: checked as 1.0)");
    rules = "1.0";
  } else if (version !== null) {
    rules = version;
  } else {
    const asNumber = typeof raw === "string" ? Number(raw) : raw;
    rules = typeof asNumber === "number" && asNumber > 1.1 ? "1.1" : typeof asNumber === "number" && asNumber === 1 ? "1.0" : null;
    const note = asNumber === 1.2 ? " (1.2 is the original's later version; its health fields are optional 1.1 fields here)" : "";
    const then = rules ? `: checked as ${rules}` : ": version rules not checked";
    add("telemetry_version", `${fieldProblem("telemetry_version", raw)}${note}${then}`);
  }
  if (version !== null) {
    if (state.version === null) state.version = { v: version, at };
    else if (state.version.v !== version) add("telemetry_version", `${version} here, ${state.version.v} from ${state.version.at} on; one stream carries one version`);
  }

  for (const k of CORE_FIELDS) if (k !== "telemetry_version" && !has(k)) add(k, "missing (required in every version)");
  if (rules === "1.1") {
    for (const k of V1_1_FIELDS) if (!has(k)) add(k, "missing (required in telemetry_version 1.1)");
  } else if (rules === "1.0") {
    for (const k of [...V1_1_FIELDS, ...HEALTH_FIELDS, ...SOCIAL_FIELDS, ...ANNEAL_FIELDS]) {
      if (has(k)) add(k, `not part of telemetry_version 1.0 (${LATER_GROUP_NOTE[FIELD_SPECS[k].group]})`);
    }
  }
  for (const [group, name] of [
    [BASELINE_FIELDS, "baseline"],
    [CONFLICT_FIELDS, "conflict"],
  ] as const) {
    const present = group.filter(has);
    if (present.length > 0 && present.length < group.length) {
      for (const k of group) if (!has(k)) add(k, `missing (${name} fields come all ${group.length} or none; this record has ${present.join(", ")})`);
    }
  }
  if (has("baseline_log_prob_mean") && !BASELINE_FIELDS.some(has)) add("baseline_log_prob_mean", `only beside the four baseline fields (${BASELINE_FIELDS.join(", ")}), which this record lacks`);

  for (const [k, v] of Object.entries(rec)) {
    if (!(k in FIELD_SPECS)) {
      add(k, `unknown field${didYouMean(k, KNOWN)}`, "warning");
      continue;
    }
    if (k === "telemetry_version") continue;
    const problem = fieldProblem(k, v);
    if (problem) add(k, problem);
  }
  if (typeof rec.kl_divergence === "number" && rec.kl_divergence < 0) {
    add("kl_divergence", `${rec.kl_divergence} is negative: KL is >= 0, though the estimator mean(old_logp - new_logp) can dip below 0 on small batches`, "warning");
  }
  if (rec.data_mode === "replay" && typeof rec.rollout_ticks === "number" && rec.rollout_ticks !== 0) {
    add("rollout_ticks", `expected 0 for data_mode "replay" (ticks of simulation behind the dataset), got ${rec.rollout_ticks}`, "warning");
  }

  // Along the stream. A value that failed its own check above does not move the state.
  const int = (k: string) => (typeof rec[k] === "number" && Number.isInteger(rec[k]) ? (rec[k] as number) : null);
  const offset = int("log_stream_offset");
  if (rules === "1.1" && offset !== null && offset >= 1) {
    if (state.offset && offset !== state.offset.n + 1) {
      add("log_stream_offset", `expected ${state.offset.n + 1} (one more than ${state.offset.n} at ${state.offset.at}), got ${offset}`);
    } else if (!state.offset && offset !== 1) {
      // The original carries the offset over to a later run's log in one process, so not an error.
      add("log_stream_offset", `the stream starts at ${offset}, not 1: ${offset === 2 ? "line 1 is" : `lines 1 to ${offset - 1} are`} not in these files`, "warning");
    }
    state.offset = { n: offset, at };
  }
  // Epochs restart at 1 in each training cycle (the original numbers them per run), so the
  // order is on (cycle_id, epoch); 1.0 records have no cycle_id and keep one cycle.
  const epoch = int("epoch");
  const cycle = rules === "1.1" ? int("cycle_id") : 0;
  if (epoch !== null && cycle !== null) {
    const prev = state.order;
    if (prev && cycle < prev.cycle) add("cycle_id", `went back from ${prev.cycle} (at ${prev.at}) to ${cycle}; cycles never decrease along a stream`);
    else if (prev && cycle === prev.cycle && epoch < prev.epoch) {
      add("epoch", `went back from ${prev.epoch} (at ${prev.at}) to ${epoch} within ${rules === "1.1" ? `cycle ${cycle}` : "the stream"}; epochs never decrease${rules === "1.1" ? " inside a cycle" : ""}`);
    }
    state.order = { cycle, epoch, at };
  }
  const steps = int("steps");
  if (steps !== null) {
    if (state.steps && steps < state.steps.n) add("steps", `went back from ${state.steps.n} (at ${state.steps.at}) to ${steps}; steps count transitions over the whole run and never decrease`);
    state.steps = { n: steps, at };
  }
}
