// Builds a world from a config file and plug-ins, applying command-line overrides. The one way the
// CLI, the trainer and the benchmarks make a world from a config (engine-owned, so that
// training/ and bench/ need nothing from tools/).
import { loadConfig, type LoadedConfig } from "./config/loader.ts";
import type { AnyPlugin } from "./plugin.ts";
import { World } from "./world.ts";
import { estimateWorld } from "./world-size.ts";

/** Estimated size above which building a world is announced on stderr. */
const LARGE_WORLD_BYTES = 2 * 1024 ** 3;

export interface BuildOverrides {
  seed?: number;
  towns?: number;
  agentsPerTown?: number;
  /** world.shards: blocks of towns (engine/shards.ts). */
  shards?: number;
  /** Further values by dotted key path, replaced before validation (e.g. { "scenario.ticks": 10 }). */
  overrides?: Record<string, unknown>;
}

/** The config a world is built from: the file with the overrides applied, validated. */
export function loadBuildConfig(configFile: string, plugins: readonly AnyPlugin[], o: BuildOverrides = {}): LoadedConfig {
  const overrides: Record<string, unknown> = { ...o.overrides };
  if (o.seed !== undefined) overrides.seed = o.seed;
  if (o.towns !== undefined) overrides["world.towns"] = o.towns;
  if (o.agentsPerTown !== undefined) overrides["world.agents_per_town"] = o.agentsPerTown;
  if (o.shards !== undefined) overrides["world.shards"] = o.shards;
  return loadConfig(configFile, plugins, { overrides });
}

/** Builds the world of a config file (`loaded`: the same config already loaded by loadBuildConfig). */
export function buildWorld(configFile: string, plugins: readonly AnyPlugin[], o: BuildOverrides = {}, loaded?: LoadedConfig): { world: World; config: LoadedConfig } {
  const config = loaded ?? loadBuildConfig(configFile, plugins, o);
  // The loader refused worlds that cannot fit; a large one that can is announced, not silent.
  const est = estimateWorld(config.settings, plugins);
  if (est.bytes > LARGE_WORLD_BYTES) process.stderr.write(`townlet: building a world of ${est.entities} entities, about ${(est.bytes / 1024 ** 3).toFixed(1)} GiB\n`);
  const world = new World({ settings: config.settings, plugins });
  return { world, config };
}
