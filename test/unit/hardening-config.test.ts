// Issue #18, the config and snapshot side: no config that validates crashes a run. YAML alias
// problems are ConfigErrors with a line; repeated keys are found by a linear pass; referenced
// files are checked to be regular files (absolute paths too); numbers too large to mean anything,
// worlds that cannot be allocated and objects that do not fit the grid are refused by the loader
// (so `validate` says so); snapshot headers are checked as a schema and errors name the snapshot;
// `--resume DIR` takes the newest snapshot of the running config. Plus a property: random edits of
// a small config either fail to load with a ConfigError or build a world that runs.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfigText, validateFile, type ConfigProblem } from "../../engine/config/loader.ts";
import { decodeSnapshot, encodeSnapshotData, loadSnapshot, newestValidSnapshot, saveSnapshot, SnapshotError } from "../../engine/snapshot.ts";
import { estimateWorld, worldSizeProblems } from "../../engine/world-size.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { main } from "../../tools/cli.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MANIFEST = join(ROOT, "configs/affordances/town.yaml");
let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "townlet-hardening-cfg-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The problems of a config text (none when it loads). */
function problemsOf(text: string, name = "c.yaml"): ConfigProblem[] {
  try {
    parseConfigText(join(tmp, name), text, corePlugins);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}
const small = (extra = "") => `config_id: small\nworld: {agents_per_town: 3, grid_size: [48, 48]}\naffordances: {affordances_file: ${JSON.stringify(MANIFEST)}}\n${extra}`;

describe("YAML structure", () => {
  it("reports an alias with no anchor at its line", () => {
    const p = problemsOf("config_id: a\nworld:\n  towns: *nothere\n");
    expect(p).toEqual([expect.objectContaining({ line: 3, path: "world.towns", message: "alias *nothere has no anchor &nothere before it" })]);
  });

  it("reports an alias inside the value its anchor names", () => {
    const p = problemsOf("config_id: a\nworld: &w\n  towns: *w\n");
    expect(p[0]).toMatchObject({ line: 3, path: "world.towns" });
    expect(p[0].message).toMatch(/alias \*w is inside the value its anchor &w names/);
  });

  it("reports aliases that expand to too many copies", () => {
    const bomb = ["config_id: a", "x: &a [1,1,1,1,1,1,1,1,1,1]", "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]", "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]", "d: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]"].join("\n");
    const p = problemsOf(bomb);
    expect(p).toHaveLength(1);
    expect(p[0].message).toMatch(/aliases expand to too many copies/);
    expect(p[0].line).toBe(3);
  });

  it("still accepts ordinary aliases", () => {
    expect(problemsOf(small().replace("agents_per_town: 3", "agents_per_town: &n 2, towns: *n"))).toEqual([]);
  });

  it("finds repeated keys at any depth with the line of the first, in a mapping of 20,000 keys too", () => {
    expect(problemsOf("config_id: a\nworld:\n  towns: 1\n  grid_size: [8, 8]\n  towns: 2\n")).toEqual([
      expect.objectContaining({ line: 5, path: "world.towns", message: "duplicate key (first set on line 3)" }),
    ]);
    const keys = Array.from({ length: 20_000 }, (_, i) => `  k${i}: ${i}\n`).join("");
    const p = problemsOf(`config_id: a\nextra:\n${keys}  k17: again\n`);
    expect(p.some((x) => x.message === "duplicate key (first set on line 20)" && x.path === "extra.k17")).toBe(true);
  });
});

describe("files", () => {
  it.skipIf(!existsSync("/dev/zero"))("refuses a device given as an absolute path, at once", () => {
    const f = join(tmp, "zero.yaml");
    writeFileSync(f, small("perturbations: /dev/zero\n"));
    const r = validateFile(f, corePlugins);
    expect(r.problems.map((p) => p.message).join("\n")).toMatch(/not a regular file/);
    expect(validateFile("/dev/zero", corePlugins).problems[0].message).toMatch(/not a regular file/);
  });

  it("refuses a folder given as the config", () => {
    expect(validateFile(tmp, corePlugins).problems[0].message).toMatch(/not a regular file \(a folder\)/);
  });
});

describe("what run needs", () => {
  it("refuses a number too large to mean anything, at its line", () => {
    const p = problemsOf(small("scenario:\n  ticks: 10\n  agents:\n    - {id: rich, wallet: 1.7e308}\n"));
    expect(p).toEqual([expect.objectContaining({ line: 7, path: "scenario.agents[0].wallet" })]);
    expect(p[0].message).toMatch(/at most 1e\+15, got 1\.7e\+308/);
  });

  it("refuses a world with more entities than ids, with the estimate", () => {
    const p = problemsOf("config_id: a\nworld: {towns: 10000000, agents_per_town: 5000}\n");
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: "world.agents_per_town" });
    expect(p[0].message).toMatch(/50030000001 entities, more than a world can index .* GiB/);
  });

  it("refuses more tiles than one typed array holds", () => {
    const p = problemsOf("config_id: a\nworld: {towns: 300, grid_size: [4096, 4096], agents_per_town: 1}\n");
    expect(p[0]).toMatchObject({ path: "world.grid_size" });
    expect(p[0].message).toMatch(/5033164800 tiles, more than one typed array may hold/);
  });

  it("refuses a world whose estimate passes the memory limit, and says how much it needs", () => {
    const settings = loadConfig(join(ROOT, "configs/default.yaml"), corePlugins).settings;
    const est = estimateWorld(settings, corePlugins);
    expect(est.entities).toBeGreaterThan(settings.world.agents_per_town);
    expect(worldSizeProblems(settings, corePlugins, est.bytes * 2)).toEqual([]);
    const p = worldSizeProblems(settings, corePlugins, est.bytes / 2);
    expect(p[0].path).toEqual(["world", "towns"]);
    expect(p[0].message).toMatch(/needs about .* GiB .*more than the .* GiB this machine can give/);
  });

  it("refuses a grid too small for the manifest's objects", () => {
    const p = problemsOf(small().replace("grid_size: [48, 48]", "grid_size: [2, 2]"));
    expect(p).toHaveLength(1);
    expect(p[0]).toMatchObject({ path: "world.grid_size" });
    expect(p[0].message).toMatch(/no free tile left for object|outside the 2x2 grid/);
  });

  it("refuses a scenario object outside the grid", () => {
    const p = problemsOf(small("scenario:\n  ticks: 5\n  objects:\n    - {id: f1, type: fridge, position: [50, 3]}\n"));
    expect(p.map((x) => x.message).join("\n")).toMatch(/object "f1" of scenario.objects is at \[50, 3\], outside the 48x48 grid/);
  });

  it("builds and runs every random small config that loads", () => {
    const edit = fc.record({
      towns: fc.integer({ min: 1, max: 3 }),
      agents: fc.integer({ min: 0, max: 6 }),
      w: fc.integer({ min: 1, max: 40 }),
      h: fc.integer({ min: 1, max: 40 }),
      wallet: fc.oneof(fc.double({ min: 0, max: 1e300, noNaN: true, noDefaultInfinity: true }), fc.constant(5)),
      rate: fc.double({ min: 0, max: 2, noNaN: true }),
    });
    fc.assert(
      fc.property(edit, (e) => {
        const text =
          `config_id: prop\nworld: {towns: ${e.towns}, agents_per_town: ${e.agents}, grid_size: [${e.w}, ${e.h}]}\n` +
          `affordances: {affordances_file: ${JSON.stringify(MANIFEST)}}\nrewards: {decay_rates: {hunger: ${e.rate}}}\n` +
          `scenario:\n  ticks: 3\n  agents:\n    - {id: a1, wallet: ${e.wallet}, position: [0, 0]}\n`;
        let cfg;
        try {
          cfg = parseConfigText(join(tmp, "prop.yaml"), text, corePlugins);
        } catch (err) {
          if (err instanceof ConfigError) return;
          throw err;
        }
        const w = new World({ settings: cfg.settings, plugins: corePlugins });
        for (let i = 0; i < 3; i++) w.step();
        for (const v of Object.values(w.kpis())) if (typeof v === "number" && !Number.isFinite(v)) throw new Error(`kpi ${v}`);
      }),
      { numRuns: 40, seed: 18 },
    );
  });
});

describe("snapshot headers", () => {
  const world = () => new World({ settings: parseConfigText(join(tmp, "s.yaml"), small(), corePlugins).settings, plugins: corePlugins });

  it("refuses a header of the wrong types as corrupt, naming the snapshot file", () => {
    const good = decodeSnapshot(saveSnapshot(world()));
    const bad: [string, unknown][] = [
      ["plugins", null],
      ["components", null],
      ["messages", null],
      ["town_state", "x"],
      ["kernel", { capacity: "big" }],
      ["towns", 0],
      ["seed", "abc"],
    ];
    for (const [field, value] of bad) {
      const bytes = encodeSnapshotData({ ...good, header: { ...good.header, [field]: value } as typeof good.header });
      let err: unknown;
      try {
        decodeSnapshot(bytes, "/snaps/x.snapshot");
      } catch (e) {
        err = e;
      }
      expect(err, field).toBeInstanceOf(SnapshotError);
      expect((err as SnapshotError).code).toBe("corrupt");
      expect((err as SnapshotError).message).toMatch(new RegExp(`^/snaps/x\\.snapshot: header field ${field}`));
    }
  });

  it("decodes a header that lacks fields (a bare container) but refuses to load it, naming the file", () => {
    const good = decodeSnapshot(saveSnapshot(world()));
    const { plugins: _p, ...rest } = good.header;
    void _p;
    const bytes = encodeSnapshotData({ ...good, header: rest as typeof good.header });
    expect(decodeSnapshot(bytes).header.plugins).toBeUndefined();
    expect(() => loadSnapshot(world(), bytes, { path: "/snaps/y.snapshot" })).toThrow(/^\/snaps\/y\.snapshot: header field plugins: /);
  });

  it("takes the newest snapshot of the asked config from a folder holding two configs", async () => {
    const dir = join(tmp, "two");
    mkdirSync(dir, { recursive: true });
    const mine = join(tmp, "mine.yaml");
    const other = join(tmp, "other.yaml");
    writeFileSync(mine, small().replace("config_id: small", "config_id: mine"));
    writeFileSync(other, small().replace("config_id: small", "config_id: other"));
    const quiet = { log: () => {}, err: () => {} };
    expect(await main(["run", mine, "--ticks", "10", "--snapshot-every", "10", "--snapshot-dir", dir, "--quiet"], quiet)).toBe(0);
    expect(await main(["run", other, "--ticks", "20", "--snapshot-every", "20", "--snapshot-dir", dir, "--quiet"], quiet)).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["mine-0000000010.snapshot", "other-0000000020.snapshot"]);
    expect(newestValidSnapshot(dir)!.snapshot.header.config_id).toBe("other");
    expect(newestValidSnapshot(dir, { configId: "mine" })!.snapshot.header.tick).toBe(10);
    const logs: string[] = [];
    const code = await main(["run", mine, "--resume", dir, "--ticks", "15", "--json", "--quiet"], { log: (l) => logs.push(l), err: () => {} });
    expect(code).toBe(0);
    expect(JSON.parse(logs.join("\n").trim().split("\n").at(-1)!)).toMatchObject({ resumed_from: 10, ticks: 15 });
  });
});
