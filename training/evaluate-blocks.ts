// Train's evaluation on a sharded world (world.shards > 1): each policy runs on the same blocks
// layout as the training world, on worker threads, through the runners `townlet run --shards` uses:
// tools/shard-neural.ts ShardedInference for a learned policy (one main-thread batch per tick over
// every block's rows), engine/shards.ts ShardedSim for scripted and random (each block's own
// policy). Each block keeps its own bookkeeping (training/eval-shard-host.ts); the totals are
// summed in block order at the end of each seed, so the numbers depend on the blocks, never on
// the threads. One fresh sharded world per policy and seed, as evaluatePolicy builds one world.
import { ticksPerDay } from "../engine/clock.ts";
import { ShardedSim } from "../engine/shards.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { ShardedInference } from "../tools/shard-neural.ts";
import { EVAL_SHARD_HOST, EVAL_SHARD_HOST_MODULE, extend, type BlockEvalTotals } from "./eval-shard-host.ts";
import { evalResult, type EvalOptions, type EvalResult, type SeedTotals, type TickTotals } from "./evaluate.ts";

/** Where an evaluation ran: its blocks and the threads that ran them (threads capped by the blocks). */
export interface EvalPlace {
  towns: number;
  blocks: number;
  workers: number;
}

export interface BlockEvalOptions extends EvalOptions {
  /** Blocks of each evaluation world (world.shards; at most the towns). */
  shards: number;
  /** Threads (1 = this thread). */
  workers: number;
  /** Plug-in specs as given (worker threads resolve them, with the config's own). */
  pluginSpecs?: readonly string[];
  watchdogSeconds?: number;
}

/** Who decides: a checkpoint (sampled or greedy), or each block's scripted controller or random policy. */
export type BlockEvalPolicy = { checkpoint: string; greedy: boolean } | "scripted" | "random";

/** One policy over the evaluation seeds on blocks; the same fields as evaluatePolicy's, and where it ran. */
export async function evaluateOnBlocks(name: string, policy: BlockEvalPolicy, o: BlockEvalOptions): Promise<{ result: EvalResult; place: EvalPlace }> {
  const t0 = performance.now();
  const seeds: SeedTotals[] = [];
  const ticks: TickTotals = { exits: 0, rewardSum: 0, agentSteps: 0, invalid: 0 };
  let place: EvalPlace = { towns: 0, blocks: 0, workers: 0 };
  let dayTicks = 0;
  for (const seed of o.seeds) {
    const build = { seed, towns: o.towns, shards: o.shards, overrides: o.overrides };
    const common = { configFile: o.config, build, pluginSpecs: o.pluginSpecs, workers: o.workers, watchdogSeconds: o.watchdogSeconds };
    let blocks: BlockEvalTotals[];
    if (typeof policy === "string") {
      const sim = await ShardedSim.open({ ...common, host: EVAL_SHARD_HOST, hostModule: EVAL_SHARD_HOST_MODULE, policy });
      try {
        for (let t = 0; t < o.ticks; t++) await sim.step();
        blocks = (await sim.ext("eval:result", null)).flat() as BlockEvalTotals[];
        place = { towns: sim.towns, blocks: sim.blocks, workers: sim.workers };
        dayTicks = ticksPerDay(sim.config.settings);
      } finally {
        await sim.close();
      }
    } else {
      const plugins: readonly AnyPlugin[] = o.plugins ?? EVAL_SHARD_HOST.corePlugins;
      // The network alone, as the one-block evaluation loads it (loadNeuralPolicy): never a blend
      // with the scripted controller (training.anneal_enable_policy_blend), which blocks refuse.
      const alone = { ...common, build: { ...build, overrides: { ...o.overrides, "training.anneal_enable_policy_blend": false } } };
      const inf = await ShardedInference.open({ ...alone, plugins, spec: `neural:${policy.checkpoint}`, greedy: policy.greedy, extension: { module: EVAL_SHARD_HOST_MODULE, extend } });
      try {
        // The blocks run on into each next tick's first half, except after the last.
        for (let t = 0; t < o.ticks; t++) await inf.step(t + 1 < o.ticks);
        blocks = (await inf.ext("eval:result", null)).flat() as BlockEvalTotals[];
        place = { towns: inf.towns, blocks: inf.blocks, workers: inf.workers };
        dayTicks = ticksPerDay(inf.config.settings);
      } finally {
        await inf.close();
      }
    }
    // Block order (threads answer in thread order, each with its blocks in order).
    const s: SeedTotals = { agents: 0, gone: 0, ret: 0, free: 0 };
    for (const b of blocks) {
      s.agents += b.seed.agents;
      s.gone += b.seed.gone;
      s.ret += b.seed.ret;
      s.free += b.seed.free;
      ticks.exits += b.ticks.exits;
      ticks.rewardSum += b.ticks.rewardSum;
      ticks.agentSteps += b.ticks.agentSteps;
      ticks.invalid += b.ticks.invalid;
    }
    seeds.push(s);
  }
  return { result: evalResult(name, o, seeds, ticks, dayTicks, (performance.now() - t0) / 1000), place };
}
