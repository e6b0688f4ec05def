// The host of sharded worlds (engine/shards.ts ShardHost): the core plug-ins and each block's
// policy. Worker threads import this module by its URL (SHARD_HOST_MODULE).
import { corePlugins as core } from "../systems/index.ts";
import { preparePolicy } from "../systems/policy/index.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import type { ShardHost } from "../engine/shards.ts";
import type { World } from "../engine/world.ts";

export const corePlugins: readonly AnyPlugin[] = core;

/** A policy sharded worlds cannot run yet (the user's to change: exit 1). */
export class ShardPolicyError extends Error {
  override name = "ShardPolicyError";
}

/** Scripted or random (or the config's); a neural policy is refused here: each block would hold its own network. run, serve and train run neural policies on blocks with one main-thread batch per tick instead (tools/shard-neural.ts, training/sharded-rollout.ts). */
export async function prepareBlock(world: World, spec: string | undefined): Promise<void> {
  const name = spec ?? world.settings.runtime.policy.provider;
  if (name.startsWith("neural")) throw new ShardPolicyError(`policy "${name}": on a sharded world (world.shards > 1) a neural policy runs in townlet run, serve and train (one batch per tick on the main thread), not in a world whose blocks each choose their own actions (townlet bench --workers); use scripted or random here`);
  await preparePolicy(world, spec);
}

export const SHARD_HOST: ShardHost = { corePlugins, prepareBlock };
/**
 * This module's URL, which worker threads import: the source or compiled file itself; from the
 * CLI bundle (dist/cli/, where this code sits in a chunk) the compiled dist/tools/shard-host.js.
 */
export const SHARD_HOST_MODULE = /\/tools\/shard-host\.[mc]?[jt]s$/.test(import.meta.url) ? import.meta.url : new URL("../tools/shard-host.js", import.meta.url).href;
