// `affordances.runtime.factory` (the original's "module:export" of a custom affordance runtime):
// this engine has one affordance runtime and no seam to swap it, so a config that names a factory
// is refused when it is loaded (systems/affordances/config.ts runtimeFactoryProblems), naming the
// key, the value, the file and the line; it is never run with the built-in runtime in its place.
// null (the default) and a config without the key load as before.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, parseConfigObject } from "../../engine/config/loader.ts";
import { corePlugins } from "../../systems/index.ts";
import { main } from "../../tools/cli.ts";

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "townlet-runtime-factory-"));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

/** A small config file whose affordances.runtime has these lines (YAML, indented under runtime:). */
function configWith(runtime: string[]): string {
  const file = join(tmp, "town.yaml");
  const lines = ['config_id: "factory-test"', "world: {towns: 1, agents_per_town: 4, grid_size: [12, 12]}", "affordances:", "  runtime:", ...runtime.map((l) => `    ${l}`)];
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

function loadError(file: string): ConfigError {
  try {
    loadConfig(file, corePlugins);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`${file} loaded`);
}

describe("affordances.runtime.factory", () => {
  it("refuses a factory when the config is loaded, naming the file, line, key and value", () => {
    const file = configWith(['instrumentation: "off"', 'factory: "my_pkg.runtime:build"']);
    const e = loadError(file);
    expect(e.problems).toHaveLength(1);
    const [p] = e.problems;
    expect(p.file).toBe(file);
    expect(p.line).toBe(6);
    expect(p.path).toBe("affordances.runtime.factory");
    expect(p.message).toContain('"my_pkg.runtime:build"');
    expect(p.message).toMatch(/not supported/);
    expect(e.message).toContain(`${file}:6: affordances.runtime.factory: a custom affordance runtime ("my_pkg.runtime:build") is not supported`);
  });

  it("refuses it in a config object too (tests, the env), naming the key", () => {
    expect(() => parseConfigObject({ config_id: "x", affordances: { runtime: { factory: "m:f" } } }, corePlugins)).toThrow(/<config>:\d+: affordances\.runtime\.factory: a custom affordance runtime \("m:f"\) is not supported/);
  });

  it("stops run with exit 1 and the error, before any tick", async () => {
    const file = configWith(['factory: "my_pkg.runtime:build"']);
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["run", file, "--ticks", "3", "--quiet"], { log: (l) => out.push(l), err: (l) => err.push(l) });
    expect(code).toBe(1);
    expect(err.join("\n")).toMatch(/town\.yaml:5: affordances\.runtime\.factory: a custom affordance runtime \("my_pkg\.runtime:build"\) is not supported/);
    expect(out).toEqual([]);
  });

  it("loads null (the built-in runtime), and a config without the key, with options kept as given", () => {
    const explicit = loadConfig(configWith(["factory: null", "options: {batch: 4}"]), corePlugins).settings.affordances.runtime;
    expect(explicit.factory).toBeNull();
    expect(explicit.options).toEqual({ batch: 4 });
    expect(loadConfig(configWith(['instrumentation: "off"']), corePlugins).settings.affordances.runtime.factory).toBeNull();
  });
});
