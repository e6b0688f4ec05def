// A top-level config section that no loaded plug-in declares (a mod's section whose plug-in was not
// loaded, or a misspelt section) is an error naming the file, line, section and how to load the
// plug-in, with or without a `plugins:` list; `allow_unknown_sections: true` in the config turns it
// back into a warning. Every config and example shipped with the project still loads.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ConfigError, formatProblem, loadConfig, validateFile, type ConfigProblem } from "../../engine/config/loader.ts";
import { resolvePlugins } from "../../engine/plugin-loader.ts";
import { corePlugins } from "../../systems/index.ts";
import { main } from "../../tools/cli.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const REPO_MANIFEST = join(ROOT, "configs", "affordances", "core.yaml");

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-unloaded-"));
  mkdirSync(join(dir, "configs", "affordances"), { recursive: true });
  copyFileSync(REPO_MANIFEST, join(dir, "configs", "affordances", "core.yaml"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, lines: string[]): string {
  const file = join(dir, name);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}
const rel = (p: ConfigProblem) => formatProblem({ ...p, file: relative(dir, p.file) });

function refused(file: string, opts: { strict?: boolean } = {}): string[] {
  try {
    loadConfig(file, corePlugins, opts);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map(rel);
    throw e;
  }
  throw new Error(`${file} loaded`);
}

const RUN_WITHOUT = "or set allow_unknown_sections: true to run without it";

describe("a section of a plug-in that is not loaded, in a config without plugins:", () => {
  it("is an error naming the file, line, section, plug-in and --plugin", () => {
    const file = write("no-list.yaml", ["config_id: x", "world:", "  towns: 1", "mymod:", "  speed: 2"]);
    expect(refused(file)).toEqual([
      `no-list.yaml:4: mymod: section of a plug-in that is not loaded: no plug-in of this run declares "mymod" (add the module of plug-in "mymod" to plugins:, or pass --plugin PATH; ${RUN_WITHOUT})`,
    ]);
  });

  it("names the module beside the config that looks like the plug-in", () => {
    const file = write("beside/config.yaml", ["config_id: x", "mymod:", "  speed: 2"]);
    write("beside/mymod.ts", ["export default {};"]);
    const shown = relative(process.cwd(), join(dir, "beside", "mymod.ts"));
    expect(refused(file)).toEqual([
      `beside/config.yaml:2: mymod: section of a plug-in that is not loaded: no plug-in of this run declares "mymod" (add the module of plug-in "mymod" to plugins: (./mymod.ts beside this config looks like it), or pass --plugin ${shown}; ${RUN_WITHOUT})`,
    ]);
  });

  it("suggests the close section name for a misspelt one", () => {
    const file = write("typo.yaml", ["config_id: x", "rewardz:", "  punctuality_bonus: 0.1"]);
    expect(refused(file)).toEqual([
      `typo.yaml:2: rewardz: unknown section (did you mean "rewards"?); if it is a plug-in's section, that plug-in is not loaded (add its module to plugins:, or pass --plugin PATH; ${RUN_WITHOUT})`,
    ]);
  });

  it("reports every such section together with the other problems of the file, in line order", () => {
    const file = write("many.yaml", ["config_id: x", "alpha: {}", "world:", "  towns: 0", "beta: {}"]);
    const lines = refused(file);
    expect(lines.map((l) => l.split(": ").slice(0, 2).join(": "))).toEqual(["many.yaml:2: alpha", "many.yaml:4: world.towns", "many.yaml:5: beta"]);
  });

  it("loads once the plug-in is given with --plugin", async () => {
    const mod = join(ROOT, "examples", "mods", "thirst");
    const file = join(dir, "thirst-no-list.yaml");
    const text = readFileSync(join(mod, "config.yaml"), "utf8").replace(/^plugins:\n(\s+- .*\n)+/m, "");
    writeFileSync(file, text.replace(/affordances\.yaml/g, join(mod, "affordances.yaml")));
    expect(refused(file)[0]).toMatch(/thirst: section of a plug-in that is not loaded: .*plug-in "thirst"/);
    const plugins = await resolvePlugins(corePlugins, file, [join(mod, "thirst.ts")]);
    expect(loadConfig(file, plugins).settings).toHaveProperty("thirst");
  });
});

describe("allow_unknown_sections: true", () => {
  it("loads the config with one warning per such section, naming it", () => {
    const file = write("allowed.yaml", ["config_id: x", "allow_unknown_sections: true", "mymod:", "  speed: 2", "rewardz: {}"]);
    const warnings: ConfigProblem[] = [];
    const cfg = loadConfig(file, corePlugins, { onWarning: (w) => warnings.push(w) });
    expect(cfg.configId).toBe("x");
    expect(cfg.settings).not.toHaveProperty("mymod");
    expect(warnings.map(rel)).toEqual([
      'allowed.yaml:3: mymod: ignored: no plug-in of this run declares "mymod" (allow_unknown_sections: true)',
      'allowed.yaml:5: rewardz: ignored: no plug-in of this run declares "rewardz" (allow_unknown_sections: true) (did you mean "rewards"?)',
    ]);
  });

  it("applies to a config with plugins: too", () => {
    const file = write("allowed-list.yaml", ["config_id: x", "plugins: []", "allow_unknown_sections: true", "mymod: {}"]);
    const warnings: ConfigProblem[] = [];
    loadConfig(file, corePlugins, { onWarning: (w) => warnings.push(w) });
    expect(warnings.map(rel)).toEqual(['allowed-list.yaml:4: mymod: ignored: no plug-in of this run declares "mymod" (allow_unknown_sections: true)']);
  });

  it("still refuses them with strict", () => {
    const file = write("allowed-strict.yaml", ["config_id: x", "allow_unknown_sections: true", "mymod: {}"]);
    expect(refused(file, { strict: true })).toEqual(['allowed-strict.yaml:3: mymod: unknown section: no plug-in of this run declares "mymod" (--strict refuses it)']);
  });

  it("must be a boolean", () => {
    const file = write("allowed-bad.yaml", ["config_id: x", "allow_unknown_sections: yes please"]);
    expect(refused(file)).toEqual(['allowed-bad.yaml:2: allow_unknown_sections: expected true or false, got "yes please"']);
  });
});

describe("townlet validate", () => {
  it("exits 1 on a config without plugins: whose plug-in section is not loaded", async () => {
    const file = write("cli.yaml", ["config_id: x", "mymod: {}"]);
    const err: string[] = [];
    const code = await main(["validate", file], { log: () => {}, err: (l) => err.push(l) });
    expect(code).toBe(1);
    expect(err.join("\n")).toContain(`${relative(process.cwd(), file)}:2: mymod: section of a plug-in that is not loaded`);
  });

  it("finds every config and example shipped under configs/ and examples/ valid, with no warning", async () => {
    const files = ["configs", "examples"].flatMap((d) => yamlUnder(join(ROOT, d)));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const r = validateFile(f, await resolvePlugins(corePlugins, f));
      expect({ f: relative(ROOT, f), problems: r.problems.map(formatProblem), warnings: (r.warnings ?? []).map(formatProblem) }).toEqual({ f: relative(ROOT, f), problems: [], warnings: [] });
    }
  });
});

function yamlUnder(d: string): string[] {
  return readdirSync(d)
    .sort()
    .flatMap((n) => (statSync(join(d, n)).isDirectory() ? yamlUnder(join(d, n)) : /\.ya?ml$/.test(n) ? [join(d, n)] : []));
}
