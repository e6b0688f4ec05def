// Plug-ins from outside (engine/plugin-loader.ts): a config's `plugins:` list (relative to the
// config) and --plugin PATH on the command line, through the real CLI; failures name the file.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_FILE, PROJECT_ROOT } from "../../engine/paths.ts";
import { main } from "../../tools/cli.ts";

const GRAFFITI = join(PROJECT_ROOT, "test", "fixtures", "graffiti.ts");

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { log: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-plugins-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The default town with extra YAML appended, written into the test's folder. */
function config(extra: string): string {
  const file = join(dir, "town.yaml");
  writeFileSync(file, `${readFileSync(DEFAULT_CONFIG_FILE, "utf8")}\n${extra}\n`);
  return file;
}

describe("plug-ins from outside", () => {
  it("--plugin PATH adds the plug-in's systems to the schedule", async () => {
    const r = await cli("run", "--plugin", relative(process.cwd(), GRAFFITI), "--print-schedule");
    expect(r.code).toBe(0);
    expect(r.out).toContain("graffiti/spray");
    expect((await cli("run", "--print-schedule")).out).not.toContain("graffiti/spray");
  });

  it("a config's plugins: list loads paths relative to the config, and its section validates", async () => {
    const file = config(`plugins: [${JSON.stringify(relative(dir, GRAFFITI))}]\ngraffiti: {spray_chance: 0.5}`);
    const r = await cli("run", file, "--ticks", "3", "--json");
    expect(r.code).toBe(0);
    expect((await cli("validate", file)).code).toBe(0);
    const bad = config(`plugins: [${JSON.stringify(relative(dir, GRAFFITI))}]\ngraffiti: {spray_chance: 2}`);
    const v = await cli("validate", bad);
    expect(v.code).toBe(1);
    expect(v.err).toMatch(/graffiti\.spray_chance: expected a number <= 1/);
  });

  it("a plug-in that is not there is refused with the path looked for", async () => {
    const r = await cli("run", "--plugin", "./no-such-mod.ts", "--ticks", "1");
    expect(r.code).toBe(1);
    expect(r.err).toBe(`--plugin: plug-in "./no-such-mod.ts" not found (looked for ${join(process.cwd(), "no-such-mod.ts")})`);
    const file = config("plugins: [./missing.ts]");
    const c = await cli("run", file, "--ticks", "1");
    expect(c.code).toBe(1);
    expect(c.err).toContain(`plug-in "./missing.ts" not found (looked for ${join(dir, "missing.ts")})`);
  });

  it("a plug-in that fails to load, or exports none, is named with its file", async () => {
    const broken = join(dir, "broken.mjs");
    writeFileSync(broken, 'throw new Error("boom at load");\n');
    const r = await cli("run", "--plugin", broken, "--ticks", "1");
    expect(r.code).toBe(1);
    expect(r.err).toBe(`--plugin: plug-in ${broken} failed to load: boom at load`);
    const empty = join(dir, "empty.mjs");
    writeFileSync(empty, "export const x = 1;\n");
    const e = await cli("env-check", "--plugin", empty, "--cycles", "1");
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/plug-in .*empty\.mjs exports no plug-in/);
  });

  it("a .ts plug-in in a folder that is no ES-module package loads, or is refused saying how to fix it (the real command)", () => {
    // Through bin/townlet.mjs in a child: Node's own loader (with tsx), not vitest's.
    const mod = join(dir, "probe-mod.ts");
    writeFileSync(mod, 'export default { name: "probe_mod", systems: [] };\n');
    const townlet = (plugin: string) =>
      spawnSync(process.execPath, [join(PROJECT_ROOT, "bin", "townlet.mjs"), "run", "--plugin", plugin, "--ticks", "1", "--quiet"], { cwd: PROJECT_ROOT, encoding: "utf8" });
    const bare = townlet(mod);
    if (bare.status !== 0) {
      expect(bare.status, bare.stderr).toBe(1);
      expect(bare.stderr).toContain(`--plugin: plug-in ${mod} failed to load: `);
      expect(bare.stderr).toContain('add such a package.json beside the plug-in, or name the file .mts');
    }
    // Each remedy the message names works.
    writeFileSync(join(dir, "probe-mod.mts"), readFileSync(mod));
    expect(townlet(join(dir, "probe-mod.mts")).stderr).toBe("");
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    const inPackage = townlet(mod);
    expect({ status: inPackage.status, stderr: inPackage.stderr }).toEqual({ status: 0, stderr: "" });
  });

  it("loading a plug-in twice is refused, naming both", async () => {
    const file = config(`plugins: [${JSON.stringify(relative(dir, GRAFFITI))}]`);
    const r = await cli("run", file, "--plugin", GRAFFITI, "--ticks", "1");
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/plug-in "graffiti" \(.*graffiti\.ts\) is already loaded by .*graffiti\.ts/);
  });
});
