// Affordance hook modules a config names (systems/affordances/hook-modules.ts): the modules of
// `affordances.runtime.hook_allowlist` are imported when a config's plug-ins are resolved and
// register their hooks before the world's first tick, in this thread and in worker threads;
// TOWNLET_AFFORDANCE_HOOK_MODULES adds modules only while `allow_env_hooks` is true and only from
// the allowlist. The fixture module (test/fixtures/hook-modules/tip-jar.ts) tips every agent
// that starts an affordance of the fixture town; without it the same town runs untipped.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../engine/config/loader.ts";
import type { AnyPlugin } from "../../engine/plugin.ts";
import { resolvePlugins } from "../../engine/plugin-loader.ts";
import { ShardedSim } from "../../engine/shards.ts";
import { World } from "../../engine/world.ts";
import { affordancesState } from "../../systems/affordances/index.ts";
import { HOOK_MODULES_ENV, HOOK_MODULES_PLUGIN, ORIGINAL_BUILTIN_HOOKS } from "../../systems/affordances/hook-modules.ts";
import { corePlugins } from "../../systems/index.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../../tools/shard-host.ts";

const DIR = resolve("test/fixtures/hook-modules");
const TOWN = join(DIR, "town.yaml");
const TIP_JAR = join(DIR, "tip-jar.ts");
const KEY = "affordances.runtime.hook_allowlist";
const TICKS = 40;

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), "townlet-hook-modules-"));
  delete process.env[HOOK_MODULES_ENV];
});
afterEach(() => {
  delete process.env[HOOK_MODULES_ENV];
  rmSync(tmp, { recursive: true, force: true });
});

/** A config file in the test's folder: the fixture town with these runtime keys (module paths absolute). */
function townWith(name: string, runtime: { hook_allowlist?: string[]; allow_env_hooks?: boolean }, world: Record<string, unknown> = {}): string {
  const file = join(tmp, name);
  const lines = [
    'config_id: "hook-modules-fixture"',
    "seed: 11",
    `world: ${JSON.stringify({ grid_size: [16, 16], towns: 2, agents_per_town: 8, ...world })}`,
    "rewards: {decay_rates: {hunger: 0.004, hygiene: 0.003, energy: 0.003}}",
    "economy: {starting_wallet: 3.0}",
    "jobs: {grocer: {start_tick: 180, end_tick: 360, wage_rate: 0.03, lateness_penalty: 0.1, location: [2, 2]}}",
    `affordances: ${JSON.stringify({ affordances_file: join(DIR, "manifest.yaml"), runtime })}`,
  ];
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/** The world a tool builds from a config file: its plug-ins resolved, then its settings. */
async function build(file: string): Promise<{ world: World; plugins: AnyPlugin[] }> {
  const plugins = await resolvePlugins(corePlugins, file);
  return { world: new World({ settings: loadConfig(file, plugins).settings, plugins }), plugins };
}

/** The state hash after each of `n` ticks. */
function hashes(w: World, n = TICKS): string[] {
  const out: string[] = [];
  for (let t = 0; t < n; t++) {
    w.step();
    out.push(w.stateHash());
  }
  return out;
}

describe("hook modules on the allowlist", () => {
  it("register their hooks before the first tick and change the run, the same in two runs", async () => {
    const a = await build(TOWN);
    expect(a.plugins.filter((p) => p.name === HOOK_MODULES_PLUGIN)).toHaveLength(1);
    expect(a.world.tick).toBe(0);
    expect(affordancesState(a.world).hooks.names()).toContain("tip_jar");
    const plain = await build(townWith("plain.yaml", { hook_allowlist: [] }));
    expect(plain.plugins.some((p) => p.name === HOOK_MODULES_PLUGIN)).toBe(false);
    expect(affordancesState(plain.world).hooks.names()).not.toContain("tip_jar");
    const [ha, hp] = [hashes(a.world), hashes(plain.world)];
    expect(ha[TICKS - 1]).not.toBe(hp[TICKS - 1]);
    // Tips were paid: more money in the tipped towns.
    const money = (w: World) => [...w.agents].reduce((s, e) => s + (w.columns(w.componentDef("Wallet")).money as Float32Array)[e], 0);
    expect(money(a.world)).toBeGreaterThan(money(plain.world));
    expect(hashes((await build(TOWN)).world)).toEqual(ha);
  });

  it("are loaded in every worker thread of a sharded world: the same hashes for 1 and 2 workers, not the untipped ones", async () => {
    const run = async (file: string, workers: number) => {
      const sim = await ShardedSim.open({ configFile: file, host: SHARD_HOST, hostModule: SHARD_HOST_MODULE, workers });
      try {
        sim.hashEveryTick = true;
        return (await sim.advance(20)).hashes!;
      } finally {
        await sim.close();
      }
    };
    const hooked = townWith("sharded.yaml", { hook_allowlist: [TIP_JAR] }, { shards: 2 });
    const two = await run(hooked, 2);
    expect(two).toEqual(await run(hooked, 1));
    expect(two).not.toEqual(await run(townWith("sharded-plain.yaml", { hook_allowlist: [] }, { shards: 2 }), 1));
  }, 60_000);

  it("refuses a module that cannot be found, naming it, the key and the file", async () => {
    const file = townWith("missing.yaml", { hook_allowlist: ["./nope.ts"] });
    await expect(resolvePlugins(corePlugins, file)).rejects.toThrow(`${file}: ${KEY}: hook module "./nope.ts" not found (looked for ${join(tmp, "nope.ts")})`);
  });

  it("refuses a module that exports no registerHooks function", async () => {
    const file = townWith("no-register.yaml", { hook_allowlist: [join(DIR, "no-register.ts")] });
    await expect(resolvePlugins(corePlugins, file)).rejects.toThrow(`${file}: ${KEY}: hook module ${join(DIR, "no-register.ts")} exports no registerHooks function`);
  });

  it("refuses to build a world whose module's registerHooks throws, naming the module and the error", async () => {
    const file = townWith("throws.yaml", { hook_allowlist: [join(DIR, "throws.ts")] });
    await expect(build(file)).rejects.toThrow(`${file}: ${KEY}: hook module ${join(DIR, "throws.ts")}: registerHooks failed: affordance hook "on_attempt_eat" is registered twice`);
  });

  it("refuses a world built from settings that name hook modules without the plug-in that loads them", async () => {
    const plugins = await resolvePlugins(corePlugins, TOWN);
    const settings = loadConfig(TOWN, plugins).settings;
    expect(() => new World({ settings, plugins: corePlugins })).toThrow(`${KEY} names hook modules ("./tip-jar.ts") that were not loaded for this world`);
  });
});

describe("the original's built-in hook module (townlet.world.hooks.default, in its poc_hybrid.yaml)", () => {
  it("loads nothing: its hooks are the engine's built-in ones, in every world", async () => {
    const plain = hashes((await build(townWith("plain.yaml", { hook_allowlist: [] }))).world);
    const original = await build(townWith("original.yaml", { hook_allowlist: [ORIGINAL_BUILTIN_HOOKS] }));
    expect(original.plugins.some((p) => p.name === HOOK_MODULES_PLUGIN)).toBe(false);
    expect(hashes(original.world)).toEqual(plain);
    // Beside a module of ours, only that module loads.
    expect((await build(townWith("both.yaml", { hook_allowlist: [ORIGINAL_BUILTIN_HOOKS, TIP_JAR] }))).plugins.filter((p) => p.name === HOOK_MODULES_PLUGIN)).toHaveLength(1);
  });

  it("is allowed in the variable without the allowlist, as the original allows its namespace; another name of that namespace is refused", async () => {
    const file = townWith("unlisted.yaml", { hook_allowlist: [] });
    process.env[HOOK_MODULES_ENV] = ORIGINAL_BUILTIN_HOOKS;
    expect((await resolvePlugins(corePlugins, file)).some((p) => p.name === HOOK_MODULES_PLUGIN)).toBe(false);
    process.env[HOOK_MODULES_ENV] = "townlet.world.hooks.extra";
    await expect(resolvePlugins(corePlugins, file)).rejects.toThrow(
      `${HOOK_MODULES_ENV}: hook module "townlet.world.hooks.extra" is a module of the original's namespace that does not exist; its only one, "${ORIGINAL_BUILTIN_HOOKS}", is built in here`,
    );
  });
});

describe(`${HOOK_MODULES_ENV}`, () => {
  it("refuses a module that is not on the allowlist, naming the variable, the key and the config", async () => {
    const file = townWith("unlisted.yaml", { hook_allowlist: [] });
    process.env[HOOK_MODULES_ENV] = TIP_JAR;
    await expect(resolvePlugins(corePlugins, file)).rejects.toThrow(
      `${HOOK_MODULES_ENV}: hook module "${TIP_JAR}" (${TIP_JAR}) is not on ${KEY} of ${file} (allowed: none); add it there to load it`,
    );
  });

  it("leaves a config file that cannot be read to the config loader's error", async () => {
    process.env[HOOK_MODULES_ENV] = TIP_JAR;
    const missing = join(tmp, "missing.yaml");
    const plugins = await resolvePlugins(corePlugins, missing);
    expect(plugins.some((p) => p.name === HOOK_MODULES_PLUGIN)).toBe(false);
    expect(() => loadConfig(missing, plugins)).toThrow(/file not found/);
  });

  it("loads a module of the allowlist once (as without the variable)", async () => {
    const plain = hashes((await build(TOWN)).world);
    process.env[HOOK_MODULES_ENV] = ` ${TIP_JAR} , ${join(DIR, "tip-jar.ts")},`;
    const withEnv = await build(TOWN);
    expect(withEnv.plugins.filter((p) => p.name === HOOK_MODULES_PLUGIN)).toHaveLength(1);
    expect(hashes(withEnv.world)).toEqual(plain);
  });

  it("is ignored, with a warning naming it, while allow_env_hooks is false", async () => {
    const file = townWith("no-env.yaml", { hook_allowlist: [], allow_env_hooks: false });
    const plain = hashes((await build(file)).world);
    process.env[HOOK_MODULES_ENV] = TIP_JAR;
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const w = await build(file);
      expect(err).toHaveBeenCalledWith(`${file}: affordances.runtime.allow_env_hooks is false: ${HOOK_MODULES_ENV} (${TIP_JAR}) is ignored\n`);
      expect(w.plugins.some((p) => p.name === HOOK_MODULES_PLUGIN)).toBe(false);
      expect(hashes(w.world)).toEqual(plain);
    } finally {
      err.mockRestore();
    }
  });
});
