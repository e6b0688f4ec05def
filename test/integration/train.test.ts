// `townlet train` end to end with tiny settings: the real command, its NDJSON log checked by the
// validator (v1.1, and v1.0 with rotation), the checkpoint loaded by `townlet run`, a mismatched
// config refused, and the resume path.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../tools/cli.ts";
import { validatePpoLog } from "../../training/validate-log.ts";
import { readPpoLog, V1_1_FIELDS } from "../../training/log.ts";
import { buildWorld } from "../../tools/build.ts";
import { corePlugins } from "../../systems/index.ts";
import { loadNeuralPolicy, CheckpointError } from "../../systems/policy/index.ts";
import { DEFAULT_CONFIG } from "../../tools/cli.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "townlet-train-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const lines: string[] = [];
  const errs: string[] = [];
  return { out: { log: (l: string) => lines.push(l), err: (l: string) => errs.push(l) }, lines, errs };
}

describe("townlet train", () => {
  it("runs a few updates on a tiny world and writes a log the validator accepts, checkpoints, a chart and a summary", async () => {
    const out = path.join(dir, "run");
    const c = capture();
    const code = await main(["train", "--quick", "--out", out, "--json", "--quiet"], c.out);
    expect(c.errs.join("\n")).toBe("");
    expect(code).toBe(0);
    const summary = JSON.parse(c.lines.join("\n"));
    expect(summary.updates).toBe(3);
    expect(summary.evaluation.map((e: { policy: string }) => e.policy)).toEqual(["ppo", "ppo greedy", "bc", "bc greedy", "scripted", "random"]);
    const v = validatePpoLog([path.join(out, "ppo_log.jsonl")]);
    expect(v.problems).toEqual([]);
    const records = readPpoLog(path.join(out, "ppo_log.jsonl"));
    // BC epochs and the DAgger epoch (replay), then each PPO update (mixed: the rollout update and
    // a replay epoch over the label pool); offsets count every line.
    expect(summary.bc.dagger_iterations).toBe(1);
    expect(records.map((r) => r.record.data_mode)).toEqual(["replay", "replay", "replay", "mixed", "mixed", "mixed", "mixed", "mixed", "mixed"]);
    expect(records.map((r) => r.record.log_stream_offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(records[0].record.baseline_sample_count).toBeGreaterThan(0);
    expect(records[3].record.rollout_ticks).toBe(30);
    expect(records[4].record.rollout_ticks).toBe(0);
    for (const f of ["checkpoints/final/policy.json", "checkpoints/final/optimizer.bin", "checkpoints/bc/weights.bin", "dataset/manifest.json", "summary.json"]) {
      expect(existsSync(path.join(out, f)), f).toBe(true);
    }
    const png = readFileSync(path.join(out, "learning_curve.png"));
    expect(png.subarray(1, 4).toString()).toBe("PNG");

    // The checkpoint drives `townlet run`.
    const r = capture();
    expect(await main(["run", "--ticks", "20", "--policy", `neural:${path.join(out, "checkpoints", "final")}`, "--json", "--quiet"], r.out)).toBe(0);
    expect(JSON.parse(r.lines.join("\n")).ticks).toBe(20);

    // A run with another observation variant is refused with both names.
    const { world } = buildWorld(DEFAULT_CONFIG, corePlugins, { overrides: { "features.systems.observations": "compact" } });
    const err = await loadNeuralPolicy(world, path.join(out, "checkpoints", "final")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/variant "hybrid.*this run builds "compact/);

    // Resuming continues the update count and the log stream.
    const c2 = capture();
    expect(await main(["train", "--quick", "--out", out, "--updates", "5", "--resume", path.join(out, "checkpoints", "final"), "--no-eval", "--json", "--quiet"], c2.out)).toBe(0);
    const again = readPpoLog(path.join(out, "ppo_log.jsonl"));
    expect(again.map((x) => x.record.log_stream_offset)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(validatePpoLog([path.join(out, "ppo_log.jsonl")]).problems).toEqual([]);
  }, 120_000);

  it("writes telemetry v1.0 without any v1.1 field and rotates at --max-log-entries", async () => {
    const out = path.join(dir, "v10");
    const c = capture();
    expect(await main(["train", "--quick", "--out", out, "--log-version", "1.0", "--max-log-entries", "2", "--no-eval", "--json", "--quiet"], c.out)).toBe(0);
    const base = path.join(out, "ppo_log.jsonl");
    expect(existsSync(`${base}.1`)).toBe(true);
    expect(existsSync(`${base}.2`)).toBe(true);
    const records = readPpoLog(base);
    expect(records.length).toBe(9);
    for (const { record } of records) {
      expect(record.telemetry_version).toBe(1);
      for (const f of V1_1_FIELDS) expect(record, f).not.toHaveProperty(f);
    }
    expect(validatePpoLog([base]).problems).toEqual([]);
  }, 120_000);

  it("refuses bad options with a message naming the option", async () => {
    const c = capture();
    expect(await main(["train", "--log-version", "2.0"], c.out)).toBe(1);
    expect(c.errs.join("\n")).toMatch(/--log-version: expected one of 1\.0, 1\.1, got "2\.0"/);
    const d = capture();
    expect(await main(["train", "--updates", "zero"], d.out)).toBe(1);
    expect(d.errs.join("\n")).toMatch(/--updates: expected an integer >= 1/);
  });
});
