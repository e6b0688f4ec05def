// The PPO telemetry NDJSON contract (training/log.ts, training/validate-log.ts): what the writer
// emits per version, rotation, what the validator reports and where, the original's samples,
// and `townlet validate-ppo-log`.
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

import { main } from "../../tools/cli.ts";
import {
  ANNEAL_FIELDS,
  HEALTH_FIELDS,
  PpoLogError,
  PpoLogWriter,
  SOCIAL_FIELDS,
  V1_1_FIELDS,
  ppoLogFiles,
  readPpoLog,
  type EpochRecord,
} from "../../training/log.ts";
import { formatPpoLogProblem, validatePpoLog } from "../../training/validate-log.ts";

const SAMPLES = fileURLToPath(new URL("../../../shared/townlet-original/samples", import.meta.url));
const HAVE_SAMPLES = existsSync(join(SAMPLES, "ppo_log.jsonl"));

/** A plausible epoch summary: every v1.1 field, baseline and conflict groups, a few extras. */
function epochRecord(epoch: number, overrides: Partial<EpochRecord> = {}): EpochRecord {
  return {
    epoch,
    updates: 4,
    transitions: 256,
    steps: 256 * epoch,
    loss_policy: -0.012,
    loss_value: 0.53,
    loss_entropy: 1.09,
    loss_total: 0.25,
    clip_fraction: 0.08,
    adv_mean: 0,
    adv_std: 1,
    grad_norm: 0.41,
    kl_divergence: 0.003,
    lr: 3e-4,
    epoch_duration_sec: 1.25,
    data_mode: "rollout",
    cycle_id: 0,
    batch_entropy_mean: 1.09,
    batch_entropy_std: 0.01,
    grad_norm_max: 0.6,
    kl_divergence_max: 0.005,
    reward_advantage_corr: 0.4,
    rollout_ticks: 64,
    baseline_sample_count: 4,
    baseline_reward_mean: -0.2,
    baseline_reward_sum: -12.8,
    baseline_reward_sum_mean: -3.2,
    "conflict.rivalry_max_mean_avg": 0.3,
    "conflict.rivalry_max_max_avg": 0.45,
    "conflict.rivalry_avoid_count_mean_avg": 0.25,
    "conflict.rivalry_avoid_count_max_avg": 0.5,
    queue_conflict_events: 3,
    queue_conflict_intensity_sum: 1.5,
    adv_zero_std_batches: 0,
    ...overrides,
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-ppo-log-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeStream(path: string, epochs: number, opts: { version?: "1.0" | "1.1"; maxEntries?: number } = {}): void {
  const w = new PpoLogWriter({ path, ...opts });
  for (let e = 1; e <= epochs; e++) w.write(epochRecord(e));
  w.close();
}

/** One JSON object per line, as written. */
const linesOf = (file: string) => readFileSync(file, "utf8").trimEnd().split("\n");
const recordsOf = (file: string) => linesOf(file).map((l) => JSON.parse(l) as Record<string, unknown>);
const formatted = (paths: string[]) => validatePpoLog(paths).problems.map(formatPpoLogProblem);

describe("PpoLogWriter", () => {
  it("writes 1.1 records with every v1.1 field, offsets from 1, that validate clean", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 3);
    const records = recordsOf(path);
    expect(records).toHaveLength(3);
    for (const r of records) for (const k of V1_1_FIELDS) expect(r).toHaveProperty([k]);
    expect(records.map((r) => r.log_stream_offset)).toEqual([1, 2, 3]);
    expect(linesOf(path)[0]).toContain('"telemetry_version":1.1,');
    expect(validatePpoLog([path])).toMatchObject({ files: [path], records: 3, problems: [] });
  });

  it("leaves every field newer than 1.0 out of a 1.0 stream, which validates clean", () => {
    const path = join(dir, "ppo-v10.jsonl");
    writeStream(path, 2, { version: "1.0" });
    const newer = [...V1_1_FIELDS, ...SOCIAL_FIELDS, ...HEALTH_FIELDS, ...ANNEAL_FIELDS];
    for (const r of recordsOf(path)) {
      expect(Object.keys(r).filter((k) => newer.includes(k as never))).toEqual([]);
      expect(r).toHaveProperty("baseline_reward_mean");
      expect(r).toHaveProperty(["conflict.rivalry_max_mean_avg"]);
    }
    // 1.0 as the original writes it, not JSON.stringify's 1.
    expect(linesOf(path)[0]).toContain('"telemetry_version":1.0,');
    expect(validatePpoLog([path]).problems).toEqual([]);
  });

  it("rotates at maxEntries into .1, .2 with log_stream_offset continuing, and readPpoLog reassembles the order", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 5, { maxEntries: 2 });
    expect(ppoLogFiles(path)).toEqual([path, `${path}.1`, `${path}.2`]);
    expect(recordsOf(path).map((r) => r.log_stream_offset)).toEqual([1, 2]);
    expect(recordsOf(`${path}.1`).map((r) => r.log_stream_offset)).toEqual([3, 4]);
    expect(recordsOf(`${path}.2`).map((r) => r.log_stream_offset)).toEqual([5]);
    const entries = readPpoLog(path);
    expect(entries.map((e) => [e.file, e.line, e.record.epoch, e.record.log_stream_offset])).toEqual([
      [path, 1, 1, 1],
      [path, 2, 2, 2],
      [`${path}.1`, 1, 3, 3],
      [`${path}.1`, 2, 4, 4],
      [`${path}.2`, 1, 5, 5],
    ]);
    expect(validatePpoLog([path])).toMatchObject({ files: [path, `${path}.1`, `${path}.2`], records: 5, problems: [] });
  });

  it("orders rotated files by number, so .10 follows .9", () => {
    const path = join(dir, "long.jsonl");
    writeStream(path, 12, { maxEntries: 1 });
    expect(ppoLogFiles(path).slice(-3)).toEqual([`${path}.9`, `${path}.10`, `${path}.11`]);
    expect(readPpoLog(path).map((e) => e.record.log_stream_offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(validatePpoLog([path]).problems).toEqual([]);
  });

  it("starts a new stream by deleting an earlier run's file and its rotated files", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 5, { maxEntries: 2 });
    writeStream(path, 1, { maxEntries: 2 });
    expect(ppoLogFiles(path)).toEqual([path]);
    expect(recordsOf(path).map((r) => r.log_stream_offset)).toEqual([1]);
  });

  it("resumes a stream where it stopped: same file, next offset, rotation continuing", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 3, { maxEntries: 2 });
    const w = new PpoLogWriter({ path, maxEntries: 2, resume: true });
    expect(w.lines).toBe(3);
    w.write(epochRecord(4));
    w.write(epochRecord(5));
    w.close();
    expect(recordsOf(`${path}.1`).map((r) => r.log_stream_offset)).toEqual([3, 4]);
    expect(recordsOf(`${path}.2`).map((r) => r.log_stream_offset)).toEqual([5]);
    expect(validatePpoLog([path]).problems).toEqual([]);
  });

  it("refuses to resume a stream of another version", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 1, { version: "1.0" });
    expect(() => new PpoLogWriter({ path, version: "1.1", resume: true })).toThrow(PpoLogError);
    expect(() => new PpoLogWriter({ path, version: "1.1", resume: true })).toThrow(/ppo\.jsonl:1: telemetry_version: resuming a 1\.1 stream, but this record is 1\.0/);
  });

  it("refuses NaN and Infinity with a RangeError naming the field and epoch, writing nothing", () => {
    const path = join(dir, "ppo.jsonl");
    const w = new PpoLogWriter({ path });
    w.write(epochRecord(1));
    expect(() => w.write(epochRecord(2, { loss_value: NaN }))).toThrow(RangeError);
    expect(() => w.write(epochRecord(2, { loss_value: NaN }))).toThrow(/epoch 2: loss_value: expected a finite number, got NaN/);
    expect(() => w.write(epochRecord(2, { grad_norm_max: Infinity }))).toThrow(/epoch 2: grad_norm_max: expected a finite number, got Infinity/);
    w.write(epochRecord(2));
    w.close();
    expect(recordsOf(path).map((r) => r.log_stream_offset)).toEqual([1, 2]);
  });

  it("refuses records that would break the contract: a missing v1.1 field, half a group, a bad type or range, an unknown field", () => {
    const w = new PpoLogWriter({ path: join(dir, "ppo.jsonl") });
    const { cycle_id: _dropped, ...noCycle } = epochRecord(1);
    expect(() => w.write(noCycle as EpochRecord)).toThrow(/epoch 1: cycle_id: missing \(required in telemetry_version 1\.1\)/);
    const { baseline_reward_sum: _sum, ...halfBaseline } = epochRecord(1);
    expect(() => w.write(halfBaseline as EpochRecord)).toThrow(/baseline_reward_sum: missing \(baseline fields come all 4 or none/);
    expect(() => w.write(epochRecord(1, { data_mode: "online" as never }))).toThrow(/data_mode: expected one of "replay", "rollout", "mixed", got "online"/);
    expect(() => w.write(epochRecord(1, { clip_fraction: 1.5 }))).toThrow(/clip_fraction: expected a number in \[0, 1\], got 1\.5/);
    expect(() => w.write(epochRecord(1, { updates: 2.5 }))).toThrow(/updates: expected an integer >= 0, got 2\.5/);
    expect(() => w.write({ ...epochRecord(1), grad_nrom: 1 } as EpochRecord)).toThrow(/grad_nrom: unknown field \(did you mean "grad_norm"\?\)/);
    expect(() => w.write({ ...epochRecord(1), log_stream_offset: 7 } as EpochRecord)).toThrow(/log_stream_offset: set by the writer/);
    w.close();
    expect(readFileSync(join(dir, "ppo.jsonl"), "utf8")).toBe("");
  });
});

describe("validatePpoLog", () => {
  /** A stream file from raw records (the writer would refuse most of these). */
  function rawLog(name: string, records: object[]): string {
    const path = join(dir, name);
    writeFileSync(path, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
    return path;
  }
  const v11 = (epoch: number, extra: object = {}) => ({ ...epochRecord(epoch), telemetry_version: 1.1, log_stream_offset: epoch, ...extra });
  const v10 = (epoch: number, extra: object = {}) => {
    const r: Record<string, unknown> = { ...epochRecord(epoch), telemetry_version: 1.0, ...extra };
    for (const k of [...V1_1_FIELDS, ...SOCIAL_FIELDS, ...HEALTH_FIELDS]) if (!(k in extra)) delete r[k];
    return r;
  };

  it("names the one v1.1 field a 1.0 record carries", () => {
    const path = rawLog("a.jsonl", [v10(1), v10(2, { cycle_id: 0 })]);
    expect(formatted([path])).toEqual([`${path}:2: cycle_id: not part of telemetry_version 1.0 (a 1.1 field; a 1.0 record carries none of them)`]);
  });

  it("names the v1.1 field a 1.1 record lacks", () => {
    const { grad_norm_max: _gone, ...partial } = v11(2);
    const path = rawLog("a.jsonl", [v11(1), partial]);
    expect(formatted([path])).toEqual([`${path}:2: grad_norm_max: missing (required in telemetry_version 1.1)`]);
  });

  it("reports a stream that mixes versions at the first line of the other version", () => {
    const path = rawLog("a.jsonl", [v11(1), v11(2), v10(3)]);
    expect(formatted([path])).toEqual([`${path}:3: telemetry_version: 1.0 here, 1.1 from ${path}:1 on; one stream carries one version`]);
  });

  it("reports a log_stream_offset gap across rotated files with both places", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 5, { maxEntries: 2 });
    writeFileSync(path, linesOf(path)[0] + "\n"); // the crash-lost line 2 of the first file
    expect(formatted([path])).toEqual([`${path}.1:1: log_stream_offset: expected 2 (one more than 1 at ${path}:1), got 3`]);
  });

  it("reports a missing rotated file and the gap it leaves, whichever file of the stream is named", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 6, { maxEntries: 2 });
    unlinkSync(`${path}.1`);
    const expected = [`${path}.2: out of sequence: ppo.jsonl.1 is missing before it`, `${path}.2:1: log_stream_offset: expected 3 (one more than 2 at ${path}:2), got 5`];
    expect(formatted([path])).toEqual(expected);
    expect(formatted([`${path}.2`])).toEqual(expected);
  });

  it("reports a stream whose first file is gone", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 3, { maxEntries: 2 });
    unlinkSync(path);
    expect(formatted([`${path}.1`])).toEqual([
      `${path}: missing: a rotated stream starts with ppo.jsonl (the oldest lines), then ppo.jsonl.1, .2, ...; found only ppo.jsonl.1`,
      `${path}.1:1: log_stream_offset: warning: the stream starts at 3, not 1: lines 1 to 2 are not in these files`,
    ]);
  });

  it("reports a malformed line with its line number and goes on with the next", () => {
    const path = join(dir, "ppo.jsonl");
    writeStream(path, 3);
    const lines = linesOf(path);
    lines[1] = lines[1].slice(0, 40);
    writeFileSync(path, lines.join("\n") + "\n");
    const problems = formatted([path]);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(new RegExp(`^${path.replace(/[.]/g, "\\.")}:2: invalid JSON: `));
    expect(problems[1]).toBe(`${path}:3: log_stream_offset: expected 2 (one more than 1 at ${path}:1), got 3`);
    expect(() => readPpoLog(path)).toThrow(new RegExp(`ppo\\.jsonl:2: invalid JSON`));
  });

  it("reports half a group, an epoch going back within a cycle, and out-of-range values", () => {
    const { "conflict.rivalry_max_max_avg": _c, ...halfConflict } = v11(3);
    const path = rawLog("a.jsonl", [v11(1, { epoch: 2 }), v11(2, { epoch: 1, data_mode: "offline", reward_advantage_corr: 1.5 }), halfConflict]);
    expect(formatted([path])).toEqual([
      `${path}:2: data_mode: expected one of "replay", "rollout", "mixed", got "offline"`,
      `${path}:2: reward_advantage_corr: expected a number in [-1, 1], got 1.5`,
      `${path}:2: epoch: went back from 2 (at ${path}:1) to 1 within cycle 0; epochs never decrease inside a cycle`,
      `${path}:3: conflict.rivalry_max_max_avg: missing (conflict fields come all 4 or none; this record has conflict.rivalry_max_mean_avg, conflict.rivalry_avoid_count_mean_avg, conflict.rivalry_avoid_count_max_avg)`,
    ]);
  });

  it("lets epochs restart at 1 when cycle_id moves on, but not cycle_id go back", () => {
    const path = rawLog("a.jsonl", [v11(1), v11(2), v11(3, { epoch: 1, cycle_id: 1 }), v11(4, { epoch: 2, cycle_id: 0 })]);
    expect(formatted([path])).toEqual([`${path}:4: cycle_id: went back from 1 (at ${path}:3) to 0; cycles never decrease along a stream`]);
  });

  it("warns about an unknown field, with the closest known name, without failing the log", () => {
    const path = rawLog("a.jsonl", [v11(1, { grad_nrom: 0.4 })]);
    const r = validatePpoLog([path]);
    expect(r.problems).toEqual([{ file: path, line: 1, field: "grad_nrom", message: 'unknown field (did you mean "grad_norm"?)', severity: "warning" }]);
    expect(formatted([path])).toEqual([`${path}:1: grad_nrom: warning: unknown field (did you mean "grad_norm"?)`]);
  });

  it("checks a 1.2 record (the original's later version) as 1.1 and says so", () => {
    const path = rawLog("a.jsonl", [v11(1, { telemetry_version: 1.2 })]);
    expect(formatted([path])).toEqual([
      `${path}:1: telemetry_version: expected 1.0 or 1.1, got 1.2 (1.2 is the original's later version; its health fields are optional 1.1 fields here): checked as 1.1`,
    ]);
  });

  it("reports a missing file and an empty one", () => {
    const empty = rawLog("empty.jsonl", []);
    writeFileSync(empty, "");
    expect(formatted([join(dir, "none.jsonl"), empty])).toEqual([`${join(dir, "none.jsonl")}: no such file`, `${empty}: no records (an empty PPO log: training stopped before its first logged epoch?)`]);
  });
});

describe.skipIf(!HAVE_SAMPLES)("the original's samples (shared/townlet-original/samples)", () => {
  const sample = (name: string) => join(SAMPLES, name);

  it("ppo_conflict_telemetry.jsonl is a valid 1.1 log", () => {
    expect(validatePpoLog([sample("ppo_conflict_telemetry.jsonl")])).toMatchObject({ records: 1, streams: [{ version: "1.1" }], problems: [] });
  });

  it("ppo_epoch_log.jsonl is a valid 1.0 log", () => {
    expect(validatePpoLog([sample("ppo_epoch_log.jsonl")])).toMatchObject({ records: 1, streams: [{ version: "1.0" }], problems: [] });
  });

  it("ppo_log.jsonl predates the versioned contract: no telemetry_version and no kl_divergence on either line", () => {
    const f = sample("ppo_log.jsonl");
    const missingVersion = "telemetry_version: missing (every record carries it since 1.0; a record without it predates the versioned contract: checked as 1.0)";
    expect(formatted([f])).toEqual([
      `${f}:1: ${missingVersion}`,
      `${f}:1: kl_divergence: missing (required in every version)`,
      `${f}:2: ${missingVersion}`,
      `${f}:2: kl_divergence: missing (required in every version)`,
    ]);
  });

  it("townlet validate-ppo-log exits 0 on the valid samples, 1 on ppo_log.jsonl, 2 without a file", async () => {
    const run = async (...args: string[]) => {
      const stdout: string[] = [];
      const stderr: string[] = [];
      const code = await main(["validate-ppo-log", ...args], { log: (l) => stdout.push(l), err: (l) => stderr.push(l) });
      return { code, stdout, stderr };
    };
    const good = await run(sample("ppo_conflict_telemetry.jsonl"), sample("ppo_epoch_log.jsonl"));
    expect(good.code).toBe(0);
    expect(good.stdout.at(-1)).toBe("2/2 log(s) valid");
    const bad = await run(sample("ppo_log.jsonl"), "--json");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toHaveLength(4);
    expect(JSON.parse(bad.stdout.at(-1)!)).toMatchObject({ records: 2, errors: 4, warnings: 0 });
    expect((await run()).code).toBe(1);
  });
});
