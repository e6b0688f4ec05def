// Hook names that no plug-in or hook module registers (systems/affordances/hook-check.ts): the
// world warns once, on its first tick (after every plug-in's setup registered its hooks), naming
// the manifest file, the affordance, the stage and the hook, with a close registered name; again
// for a hot-reloaded manifest; never for hooks that are registered, however late in setup.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { affordancesState, registerAffordance } from "../../systems/affordances/index.ts";
import { corePlugins } from "../../systems/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { affordancesOnlyFile } from "../helpers/affordances.ts";

const BASE = readFileSync(affordancesOnlyFile("townlet-aff-hookwarn-"), "utf8");

/** The core affordances plus `extra` YAML entries, in a new temp file. */
function manifest(extra = ""): string {
  const file = join(mkdtempSync(join(tmpdir(), "townlet-hookwarn-")), "affordances.yaml");
  writeFileSync(file, `${BASE}${extra}`);
  return file;
}

const TYPO = `- id: quick_rinse
  object_type: shower
  duration: 2
  effects: {hygiene: 0.1}
  hooks:
    before: [on_attempt_shwer]
    after: [tally_rinse]
`;

/** A world on `file` whose warnings are collected (set before its first tick). */
function town(file: string, extra: Parameters<typeof makeWorld>[2] = [], grid = [12, 12]): { w: World; warnings: string[] } {
  const w = makeWorld(
    {
      world: { agents_per_town: 0, grid_size: grid },
      affordances: { affordances_file: file },
      jobs: {},
      lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    },
    corePlugins,
    extra,
  );
  const warnings: string[] = [];
  affordancesState(w).onWarning = (m) => warnings.push(m);
  return { w, warnings };
}

describe("hooks that nothing registers", () => {
  it("are warned about once on the first tick, naming the manifest, affordance, stage and hook, with a close registered name", () => {
    const file = manifest(TYPO);
    const { w, warnings } = town(file);
    expect(warnings).toEqual([]);
    w.step();
    const shown = relative(process.cwd(), file);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(`${shown}: affordance "quick_rinse": hooks.before: hook "on_attempt_shwer" is registered by no plug-in or hook module`);
    expect(warnings[0]).toContain('(did you mean "on_attempt_shower"?)');
    expect(warnings[1]).toContain('affordance "quick_rinse": hooks.after: hook "tally_rinse"');
    expect(warnings[1]).not.toContain("did you mean");
    expect(affordancesState(w).unknownHooks).toEqual(["on_attempt_shwer", "tally_rinse"]);
    w.step();
    w.step();
    expect(warnings).toHaveLength(2);
  });

  it("say nothing of a hook a plug-in registers in its setup, after the affordances plug-in's", () => {
    const tally = definePlugin({
      name: "tally",
      setup({ world }) {
        const hooks = affordancesState(world).hooks;
        hooks.register("tally_rinse", () => {});
        hooks.register("on_attempt_shwer", () => {});
      },
    });
    const { w, warnings } = town(manifest(TYPO), [tally]);
    w.step();
    expect(warnings).toEqual([]);
    expect(affordancesState(w).unknownHooks).toEqual([]);
  });

  it("name an affordance registered by code as such", () => {
    const { w, warnings } = town(manifest());
    registerAffordance(w, { id: "wave", object_type: "bench", duration: 1, hooks: { fail: ["on_wave_fail"] } });
    w.step();
    expect(warnings).toEqual([expect.stringMatching(/^registered affordance "wave": hooks\.fail: hook "on_wave_fail"/)]);
  });

  it("are warned about again for a hot-reloaded manifest, once it is swapped in", () => {
    const file = manifest();
    const { w, warnings } = town(file);
    w.step();
    expect(warnings).toEqual([]);
    writeFileSync(file, `${BASE}${TYPO}`);
    expect(affordancesState(w).checkForChanges()).toBe(true);
    w.step();
    expect(warnings.map((m) => m.match(/hook "(\w+)"/)?.[1])).toEqual(["on_attempt_shwer", "tally_rinse"]);
  });

  it("the shipped manifests name only registered hooks", () => {
    for (const name of ["core.yaml", "town.yaml", "small-town.yaml"]) {
      const file = new URL(`../../configs/affordances/${name}`, import.meta.url).pathname;
      const { w, warnings } = town(file, [], [64, 64]);
      w.step();
      expect(warnings, name).toEqual([]);
    }
  });
});
