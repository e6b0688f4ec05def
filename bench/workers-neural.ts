// `townlet bench --workers N --policy neural`: the sharded world of the workers bench (bench/sim.ts
// runWorkersSim: many-towns, 8 agents a town, `shards` blocks) stepped by the runner of
// `townlet run --shards K --policy neural` (tools/shard-neural.ts): one network batch over every
// block's agents per tick on the main thread, a freshly initialised network seeded as run seeds it,
// so the final state hash is run's and the same for any number of workers.
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { initTensorBackend, parseBackendName } from "../engine/tensor.ts";
import { corePlugins } from "../systems/index.ts";
import { ShardedInference } from "../tools/shard-neural.ts";
import { AGENTS_PER_SMALL_TOWN, MANY_TOWNS_CONFIG } from "./layouts.ts";

export interface NeuralWorkersOptions {
  policy: string;
  backend?: string;
  workers: number;
  towns: number;
  shards: number;
  seed?: number;
  plugins?: readonly string[];
  config?: string;
}

/** Opens the workers bench's world with the neural policy deciding (the tensor backend first, when named). */
export async function openNeuralWorkers(o: NeuralWorkersOptions): Promise<ShardedInference> {
  if (o.backend !== undefined) await initTensorBackend(parseBackendName(o.backend));
  const configFile = o.config ?? MANY_TOWNS_CONFIG;
  const plugins = await resolvePlugins(corePlugins, configFile, o.plugins ?? []);
  return ShardedInference.open({
    configFile,
    build: { seed: o.seed, towns: o.towns, agentsPerTown: AGENTS_PER_SMALL_TOWN, shards: o.shards },
    plugins,
    pluginSpecs: o.plugins ?? [],
    workers: o.workers,
    spec: o.policy,
  });
}
