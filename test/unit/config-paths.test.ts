// Files a config references resolve next to the config first, then in the project's configs/, so a
// config copied to another folder still runs; a missing file's error names every place looked in.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../engine/config/loader.ts";
import { CONFIGS_DIR, DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { corePlugins } from "../../systems/index.ts";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-paths-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const affordancesOf = (file: string) => loadConfig(file, corePlugins).references.find((r) => r.kind.includes("affordance"))?.path;

describe("referenced files", () => {
  it("a copy of the default config in another folder finds the shipped affordance manifest", () => {
    const copy = join(dir, "my-town.yaml");
    copyFileSync(DEFAULT_CONFIG_FILE, copy);
    expect(affordancesOf(copy)).toBe(join(CONFIGS_DIR, "affordances", "town.yaml"));
  });

  it("a manifest next to the config wins over the project's", () => {
    const copy = join(dir, "my-town.yaml");
    copyFileSync(DEFAULT_CONFIG_FILE, copy);
    const local = join(dir, "configs", "affordances");
    mkdirSync(local, { recursive: true });
    copyFileSync(join(CONFIGS_DIR, "affordances", "town.yaml"), join(local, "town.yaml"));
    expect(affordancesOf(copy)).toBe(join(local, "town.yaml"));
  });

  it("a missing manifest's error names the config's folder and the project's configs/", () => {
    const copy = join(dir, "my-town.yaml");
    writeFileSync(copy, readFileSync(DEFAULT_CONFIG_FILE, "utf8").replace("affordances_file: configs/affordances/town.yaml", "affordances_file: nowhere.yaml"));
    let err: unknown;
    try {
      loadConfig(copy, corePlugins);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/"nowhere\.yaml" not found; looked in /);
    // Places are shown relative to the working folder, as every path in a config error.
    expect(msg).toContain(relative(process.cwd(), join(dir, "nowhere.yaml")));
    expect(msg).toContain(join("configs", "nowhere.yaml"));
  });
});
