// `townlet validate FILE|DIR...`: every shipped config (ours and the original's) is valid; a broken
// one exits 1 with `FILE:LINE: key.path: message` on stderr; `--json` ends with one JSON object.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { main } from "../../tools/cli.ts";

const REPO_CONFIGS = fileURLToPath(new URL("../../configs", import.meta.url));
const ORIGINAL_CONFIGS = fileURLToPath(new URL("../../../shared/townlet-original/configs", import.meta.url));
const HAVE_ORIGINAL = existsSync(ORIGINAL_CONFIGS);

interface Ran {
  code: number;
  stdout: string[];
  stderr: string[];
}

async function validate(...args: string[]): Promise<Ran> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(["validate", ...args], { log: (l) => stdout.push(...l.split("\n")), err: (l) => stderr.push(...l.split("\n")) });
  return { code, stdout, stderr };
}

/** The path as the CLI prints it (relative to the working folder). */
const shown = (file: string) => relative(process.cwd(), file) || file;

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? yamlFilesUnder(p) : /\.ya?ml$/.test(name) ? [p] : [];
    });
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-cli-validate-"));
  // Configs here use the default affordance manifest, found by walking up from the config's folder.
  mkdirSync(join(dir, "configs", "affordances"), { recursive: true });
  copyFileSync(join(REPO_CONFIGS, "affordances", "core.yaml"), join(dir, "configs", "affordances", "core.yaml"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = join(dir, name);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, text);
  return file;
}

describe("shipped configs", () => {
  it("accepts every file under configs/ with exit 0", async () => {
    const files = yamlFilesUnder(REPO_CONFIGS);
    expect(files.length).toBeGreaterThan(0);
    const r = await validate(...files);
    expect(r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    expect(r.stdout.at(-1)).toBe(`${files.length}/${files.length} file(s) valid`);
  });

  it.skipIf(!HAVE_ORIGINAL)("accepts every file of the original's configs/ with exit 0 (skipped: ../shared/townlet-original/configs absent)", async () => {
    const files = yamlFilesUnder(ORIGINAL_CONFIGS);
    expect(files.map((f) => relative(ORIGINAL_CONFIGS, f))).toEqual(
      expect.arrayContaining(["affordances/core.yaml", "examples/poc_hybrid.yaml", "perturbations/default.yaml", "scenarios/queue_conflict.yaml"]),
    );
    const r = await validate(...files);
    expect(r.stderr).toEqual([]);
    expect(r.code).toBe(0);
    for (const f of files) expect(r.stdout.some((l) => l.startsWith(`ok  ${shown(f)} (`))).toBe(true);
  });

  it("validates configs/ when given no argument", async () => {
    const r = await validate();
    expect(r.code).toBe(0);
    expect(r.stdout.at(-1)).toMatch(/^(\d+)\/\1 file\(s\) valid$/);
  });

  it("names the kind of each document", async () => {
    const r = await validate(REPO_CONFIGS);
    expect(r.stdout).toContain(`ok  ${shown(join(REPO_CONFIGS, "default.yaml"))} (config, config_id townlet-default-v1)`);
    expect(r.stdout).toContain(`ok  ${shown(join(REPO_CONFIGS, "affordances", "core.yaml"))} (affordance manifest)`);
    expect(r.stdout).toContain(`ok  ${shown(join(REPO_CONFIGS, "perturbations", "default.yaml"))} (perturbation file)`);
  });
});

describe("broken files", () => {
  it("exits 1 and names FILE:LINE: key.path on stderr", async () => {
    // world is ours alone, so a typo there is an error (keys the original ignores only warn).
    const bad = write("bad.yaml", "config_id: x\nworld:\n  towns: 0\n  gird_size: [4, 4]\n");
    const r = await validate(bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual([
      `${shown(bad)}:3: world.towns: expected a number >= 1, got 0`,
      `${shown(bad)}:4: world.gird_size: unknown key (did you mean "grid_size"?)`,
    ]);
    expect(r.stdout.at(-1)).toBe("0/1 file(s) valid");
  });

  it("reports a problem in a referenced file under that file's name", async () => {
    write("refs/perturbations.yaml", "events:\n  dark:\n    kind: blackout\n    cooldown_ticks: -1\n");
    const cfg = write("refs/config.yaml", "config_id: refs\nperturbations: perturbations.yaml\n");
    const r = await validate(cfg);
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual([
      `${shown(join(dir, "refs", "perturbations.yaml"))}:4: events.dark.cooldown_ticks: expected a number >= 0, got -1`,
      `${shown(cfg)}:2: perturbations: perturbation file "perturbations.yaml" is invalid (see above)`,
    ]);
  });

  it("validates a standalone perturbation file by its own schema", async () => {
    const file = write("standalone/pert.yaml", "max_concurent_events: 2\nevents: {}\n");
    const r = await validate(file);
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual([`${shown(file)}:1: max_concurent_events: unknown key (did you mean "max_concurrent_events"?)`]);
  });

  it("exits 1 for a file that does not exist", async () => {
    const r = await validate(join(dir, "nope.yaml"));
    expect(r.code).toBe(1);
    expect(r.stderr).toEqual([`${shown(join(dir, "nope.yaml"))}:0: file not found`]);
  });

  it("exits 1 for an unknown option", async () => {
    const r = await validate("--jsn", join(REPO_CONFIGS, "default.yaml"));
    expect(r.code).toBe(1);
    expect(r.stderr.join("\n")).toMatch(/jsn/);
  });
});

describe("--json", () => {
  it("prints one JSON object last, with each file's result", async () => {
    const good = join(REPO_CONFIGS, "default.yaml");
    const bad = write("json/bad.yaml", "config_id: x\nworld:\n  grid_size: [48]\n");
    const r = await validate("--json", good, bad);
    expect(r.code).toBe(1);
    const last = JSON.parse(r.stdout.at(-1)!) as { files: number; invalid: number; results: { file: string; kind: string; ok: boolean; problems: string[] }[] };
    expect(last).toEqual({
      files: 2,
      invalid: 1,
      results: [
        { file: shown(good), kind: "config", ok: true, problems: [] },
        { file: shown(bad), kind: "config", ok: false, problems: [`${shown(bad)}:3: world.grid_size: expected a list of exactly 2 items, got a list of 1 item`] },
      ],
    });
    // Nothing but the object on stdout: no "ok" lines to strip.
    expect(r.stdout.filter((l) => l.trim() !== "")).toHaveLength(1);
  });

  it("exits 0 when every file is valid", async () => {
    const r = await validate("--json", REPO_CONFIGS);
    expect(r.code).toBe(0);
    const last = JSON.parse(r.stdout.at(-1)!) as { files: number; invalid: number };
    expect(last.invalid).toBe(0);
    expect(last.files).toBe(yamlFilesUnder(REPO_CONFIGS).length);
  });
});

describe("a directory argument", () => {
  it("validates every YAML file in it and below, and nothing else", async () => {
    const a = write("tree/a.yaml", "config_id: a\n");
    const b = write("tree/sub/b.yml", "config_id: b\nseed: 3\n");
    const c = write("tree/sub/deeper/c.yaml", "config_id: c\nseed: 1\nworld:\n  tonws: 1\n");
    write("tree/notes.txt", "not yaml: [\n");
    const r = await validate("--json", join(dir, "tree"));
    expect(r.code).toBe(1);
    const last = JSON.parse(r.stdout.at(-1)!) as { files: number; invalid: number; results: { file: string; ok: boolean }[] };
    expect(last.files).toBe(3);
    expect(last.invalid).toBe(1);
    expect(last.results.map((x) => [x.file, x.ok])).toEqual([
      [shown(a), true],
      [shown(b), true],
      [shown(c), false],
    ]);
    expect(r.stderr).toEqual([`${shown(c)}:4: world.tonws: unknown key (did you mean "towns"?)`]);
  });

  it("reports all-valid for a directory of good files", async () => {
    write("good/one.yaml", "config_id: one\n");
    write("good/two.yaml", "config_id: two\nworld:\n  towns: 2\n");
    const r = await validate(join(dir, "good"));
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual([`ok  ${shown(join(dir, "good", "one.yaml"))} (config, config_id one)`, `ok  ${shown(join(dir, "good", "two.yaml"))} (config, config_id two)`, "2/2 file(s) valid"]);
  });
});
