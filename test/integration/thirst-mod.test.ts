// The worked mod of docs/modding.md (examples/mods/thirst/): a `thirst` need declared as data, a
// water cooler with `drink`, and a plug-in loaded through the config's plugins: list. Scripted
// agents get thirsty, walk to a cooler, drink and recover; the observation grows by the need's
// one feature; the mod's pieces missing from a config are errors that name them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NeedsKey } from "../../components/needs.ts";
import { AffordanceFinish } from "../../components/messages.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { ConfigError, loadConfig, type LoadedConfig } from "../../engine/config/loader.ts";
import { resolvePlugins } from "../../engine/plugin-loader.ts";
import type { AnyPlugin } from "../../engine/plugin.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { observationSpec } from "../../systems/observations/index.ts";
import { DEFAULT_CONFIG, main } from "../../tools/cli.ts";

const MOD = resolve("examples/mods/thirst/config.yaml");

let plugins: AnyPlugin[];
let config: LoadedConfig;
let dir: string;
beforeAll(async () => {
  plugins = await resolvePlugins(corePlugins, MOD);
  config = loadConfig(MOD, plugins);
  dir = mkdtempSync(join(tmpdir(), "townlet-thirst-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The mod's config with `edit` applied to its text, written beside a copy of its files. */
function variant(name: string, edit: (text: string) => string): string {
  for (const f of ["affordances.yaml", "thirst.ts"]) copyFileSync(resolve("examples/mods/thirst", f), join(dir, f));
  const file = join(dir, name);
  writeFileSync(file, edit(readFileSync(MOD, "utf8")));
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
    throw e;
  }
  return [];
}

describe("the thirst mod", () => {
  it("loads its plug-in from the config's plugins: list and adds thirst after the default needs", () => {
    expect(plugins.map((p) => p.name)).toContain("thirst");
    const w = new World({ settings: config.settings, plugins });
    const needs = w.resource(NeedsKey);
    expect(needs.table.names).toEqual(["hunger", "hygiene", "energy", "thirst"]);
    const thirst = needs.table.list[3];
    expect([thirst.decay, thirst.threshold, thirst.colour]).toEqual([0.0025, 0.4, "#2ec4b6"]);
    for (const a of w.agents) expect(needs.columns()[3][a]).toBeGreaterThanOrEqual(0.6);
  });

  it("makes scripted agents thirsty, sends them to a water cooler to drink, and thirst recovers", () => {
    const w = new World({ settings: config.settings, plugins, seed: 5 });
    const needs = w.resource(NeedsKey);
    const k = needs.table.index("thirst");
    const drink = w.resource(AffordancesKey).registry.affordanceIndex("drink");
    expect(drink).toBeGreaterThanOrEqual(0);
    let thirsty = 0;
    let drinks = 0;
    let recovered = 0;
    const before = new Float32Array(w.components.capacity * 2);
    for (let t = 0; t < 1200; t++) {
      const cols = needs.columns();
      for (const a of w.agents) before[a] = cols[k][a];
      w.step();
      const after = needs.columns()[k];
      for (const a of w.agents) if (after[a] < needs.table.list[k].threshold) thirsty++;
      const fin = w.lastTick(AffordanceFinish);
      for (let i = fin.start; i < fin.end; i++) {
        if (fin.affordance[i] !== drink) continue;
        drinks++;
        if (after[fin.agent[i]] > before[fin.agent[i]] + 0.3) recovered++;
      }
    }
    expect(thirsty).toBeGreaterThan(0);
    expect(drinks).toBeGreaterThan(10);
    expect(recovered).toBe(drinks);
  });

  it("grows the observation by one feature, need_thirst, after the default needs", () => {
    const mod = observationSpec(new World({ settings: config.settings, plugins }));
    const base = observationSpec(new World({ settings: loadConfig(DEFAULT_CONFIG, corePlugins).settings, plugins: corePlugins }));
    expect(mod.feature_count).toBe(base.feature_count + 1);
    expect(mod.feature_names.slice(0, 5)).toEqual(["need_hunger", "need_hygiene", "need_energy", "need_thirst", "wallet"]);
    expect(mod.feature_names.slice(4)).toEqual(base.feature_names.slice(3));
  });

  it("refuses its config section when the plug-in is not loaded, naming the plug-in", () => {
    const problems = problemsOf(() => loadConfig(MOD, corePlugins));
    expect(problems).toEqual([expect.stringMatching(/^thirst: section of a plug-in that is not loaded: .*plug-in "thirst"/)]);
  });

  it("refuses a config that loads the plug-in but declares no thirst need, and a drink effect on no need", async () => {
    const file = variant("no-need.yaml", (t) => t.replace(/^needs:\n(  .*\n|\s*\n)*/m, ""));
    const problems = problemsOf(() => loadConfig(file, plugins));
    expect(problems).toContainEqual(expect.stringMatching(/^needs: plug-in "thirst" needs a `thirst` entry/));
    expect(problems).toContainEqual(expect.stringMatching(/affordance "drink": effect "thirst" is not a need of this world \(needs: hunger, hygiene, energy/));
  });

  it("runs from the command line: townlet run and env-check on its config, and the same run with --plugin on a config without plugins:", async () => {
    const cli = async (...argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(argv, { log: (l) => out.push(l), err: (l) => err.push(l) });
      expect(code, err.join("\n")).toBe(0);
      return JSON.parse(out[out.length - 1]) as Record<string, unknown>;
    };
    const run = await cli("run", MOD, "--ticks", "400", "--json", "--quiet");
    expect(Object.keys((run.kpis as { mean_needs: object }).mean_needs)).toEqual(["hunger", "hygiene", "energy", "thirst"]);
    // The plug-in given on the command line instead of the config's list: the same world. Without
    // it the config is refused, naming the section (it used to run a town without the mod, with
    // only a warning); allow_unknown_sections: true runs that other town on purpose.
    const bare = variant("no-plugins.yaml", (t) => t.replace(/^plugins:\n  - \.\/thirst\.ts\n/m, ""));
    expect(readFileSync(bare, "utf8")).not.toMatch(/^plugins:/m);
    const byFlag = await cli("run", bare, "--plugin", resolve("examples/mods/thirst/thirst.ts"), "--ticks", "400", "--json", "--quiet");
    expect(byFlag.state_hash).toBe(run.state_hash);
    const refused: string[] = [];
    expect(await main(["run", bare, "--ticks", "400", "--json", "--quiet"], { log: () => {}, err: (l) => refused.push(l) })).toBe(1);
    expect(refused.join("\n")).toMatch(/no-plugins\.yaml:\d+: thirst: section of a plug-in that is not loaded: .*--plugin .*thirst\.ts/);
    const allowed = variant("no-plugins-allowed.yaml", (t) => t.replace(/^plugins:\n  - \.\/thirst\.ts\n/m, "allow_unknown_sections: true\n"));
    const without = await cli("run", allowed, "--ticks", "400", "--json", "--quiet");
    expect(without.state_hash).not.toBe(run.state_hash);
    const check = await cli("env-check", MOD, "--cycles", "5", "--json");
    expect(check.ok).toBe(true);
    expect((check.observation as { need_features: string[] }).need_features).toEqual(["need_hunger", "need_hygiene", "need_energy", "need_thirst"]);
  });
});
