// Configs written for the original Python Townlet: keys its models ignore load with a warning
// (errors with strict), keys it forbids stay errors, demo timelines are recognised, and the
// committed copy of its key tree (engine/config/original-spec.json) matches its source.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { originalRule } from "../../engine/config/compat.ts";
import { ConfigError, formatProblem, loadConfig, validateFile, type ConfigProblem } from "../../engine/config/loader.ts";
import { corePlugins } from "../../systems/index.ts";

const REPO_MANIFEST = fileURLToPath(new URL("../../configs/affordances/core.yaml", import.meta.url));
const ORIGINAL = fileURLToPath(new URL("../../../shared/townlet-original", import.meta.url));
const SPEC_SCRIPT = fileURLToPath(new URL("../../tools/parity/original_spec.py", import.meta.url));
const SPEC_JSON = fileURLToPath(new URL("../../engine/config/original-spec.json", import.meta.url));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-compat-"));
  mkdirSync(join(dir, "configs", "affordances"), { recursive: true });
  copyFileSync(REPO_MANIFEST, join(dir, "configs", "affordances", "core.yaml"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, lines: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}
const rel = (p: ConfigProblem) => formatProblem({ ...p, file: p.file.slice(dir.length + 1) });

describe("keys the original ignores", () => {
  // A top-level key no plug-in declares (the original ignores those too) is refused unless the
  // config says allow_unknown_sections: true (test/unit/config-unloaded-sections.test.ts).
  const text = ["config_id: x", "allow_unknown_sections: true", "employment:", "  narration: true", "telemetry:", "  scenario: demo", "rewardz: {}"];

  it("load with one warning line per key, naming file, line and path", () => {
    const warnings: ConfigProblem[] = [];
    const cfg = loadConfig(write("ignored.yaml", text), corePlugins, { onWarning: (w) => warnings.push(w) });
    expect(cfg.configId).toBe("x");
    expect(warnings.map(rel)).toEqual([
      "ignored.yaml:4: employment.narration: ignored (the original ignores it too)",
      "ignored.yaml:6: telemetry.scenario: ignored (the original ignores it too)",
      'ignored.yaml:7: rewardz: ignored: no plug-in of this run declares "rewardz" (allow_unknown_sections: true) (did you mean "rewards"?)',
    ]);
    expect(cfg.warnings).toEqual(warnings);
  });

  it("are errors with strict", () => {
    const file = write("ignored-strict.yaml", text);
    let err: unknown;
    try {
      loadConfig(file, corePlugins, { strict: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map(rel)).toEqual([
      "ignored-strict.yaml:4: employment.narration: unknown key (the original ignores it too; --strict refuses it)",
      "ignored-strict.yaml:6: telemetry.scenario: unknown key (the original ignores it too; --strict refuses it)",
      'ignored-strict.yaml:7: rewardz: unknown section: no plug-in of this run declares "rewardz" (--strict refuses it) (did you mean "rewards"?)',
    ]);
  });

  it("do not hide a real error in the same file", () => {
    const r = validateFile(write("mixed.yaml", ["config_id: x", "employment:", "  narration: true", "world:", "  towns: 0"]), corePlugins);
    expect(r.problems.map(rel)).toEqual(["mixed.yaml:5: world.towns: expected a number >= 1, got 0"]);
    expect(r.warnings?.map(rel)).toEqual(["mixed.yaml:3: employment.narration: ignored (the original ignores it too)"]);
  });
});

describe("keys the original refuses, and keys of our own sections", () => {
  it("stay errors where the original's model forbids extra keys", () => {
    expect(originalRule(["telemetry", "worker"], "bogus")).toBe("forbidden");
    expect(originalRule(["perturbations", "events", "dark"], "prob_per_dya")).toBe("forbidden");
    const r = validateFile(write("forbid.yaml", ["config_id: x", "telemetry:", "  worker:", "    bogus: 1"]), corePlugins);
    expect(r.problems.map(rel)).toEqual(["forbid.yaml:4: telemetry.worker.bogus: unknown key"]);
  });

  it("stay errors with a suggestion in sections only townlet has", () => {
    expect(originalRule(["world"], "tonws")).toBe("ours");
    const r = validateFile(write("ours.yaml", ["config_id: x", "world:", "  tonws: 2"]), corePlugins);
    expect(r.problems.map(rel)).toEqual(['ours.yaml:3: world.tonws: unknown key (did you mean "towns"?)']);
  });

  it("treats any key of the original's free mappings (economy) as ignored", () => {
    expect(originalRule(["economy"], "anything")).toBe("ignored");
    expect(originalRule(["queue_fairness"], "cooldown_ticks")).toBe("accepted");
  });
});

describe("demo timelines", () => {
  it("are validated by the original's timeline rules", () => {
    const ok = validateFile(write("timeline.yaml", ["timeline:", "  - tick: 5", "    command: spawn_agent", "  - tick: 9", "    action: move"]), corePlugins);
    expect(ok).toMatchObject({ kind: "demo timeline", problems: [] });
    const bad = validateFile(write("timeline-bad.yaml", ["- tick: -1", "  command: x", "- tick: 3", "  kind: dance", "  name: y"]), corePlugins);
    expect(bad.kind).toBe("demo timeline");
    expect(bad.problems.map(rel)).toEqual([
      "timeline-bad.yaml:1: [0].tick: expected an integer >= 0",
      'timeline-bad.yaml:4: [1].kind: expected one of "console", "action", "narration", got "dance"',
    ]);
  });

  it("are refused as a simulation config, saying what they are", () => {
    const file = write("timeline-run.yaml", ["timeline:", "  - tick: 1", "    command: spawn_agent"]);
    expect(() => loadConfig(file, corePlugins)).toThrow(/this is a demo timeline .* not a simulation config/);
  });
});

const python = spawnSync("python3", ["-c", "import pydantic, numpy"], { encoding: "utf8" });
const haveOriginal = existsSync(join(ORIGINAL, "src", "townlet"));
const skipOriginal = python.status !== 0 ? "python3 with pydantic and numpy is not installed" : !haveOriginal ? `the original's source is not at ${ORIGINAL}` : "";

describe.skipIf(skipOriginal !== "")(`the original's own files${skipOriginal ? ` (skipped: ${skipOriginal})` : ""}`, () => {
  it("every config under its configs/ folder loads", () => {
    for (const f of ["examples/poc_hybrid.yaml", "scenarios/kitchen_breakfast.yaml", "scenarios/employment_punctuality.yaml", "scenarios/queue_conflict.yaml", "scenarios/_template.yaml", "affordances/core.yaml", "perturbations/default.yaml"]) {
      const r = validateFile(join(ORIGINAL, "configs", f), corePlugins);
      expect({ f, problems: r.problems }).toEqual({ f, problems: [] });
    }
  });

  it("the committed key tree matches the original's models", () => {
    const r = spawnSync("python3", [SPEC_SCRIPT], { cwd: ORIGINAL, env: { ...process.env, PYTHONPATH: join(ORIGINAL, "src") }, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(readFileSync(SPEC_JSON, "utf8")));
  });
});
