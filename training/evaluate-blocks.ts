// Train's evaluation on a sharded world (world.shards > 1): each policy runs on the same blocks
// layout as the training world, on worker threads, through the runners `townlet run --shards` uses:
// tools/shard-neural.ts ShardedInference for a learned policy (one main-thread batch per tick over
// every block's rows), engine/shards.ts ShardedSim for scripted and random (each block's own
// policy). Each block keeps its own bookkeeping (training/eval-shard-host.ts); the totals are
// summed in block order at the end of each seed, so the numbers depend on the blocks, never on
// the threads. One sharded world per policy, its threads started once: before each next seed
// its blocks are reset in place (ShardedSim.reset, ShardedRollout.reset: World.reset on each
// block's thread and a new extension, the same as a fresh world of that seed).
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
  const run = typeof policy === "string" ? await onSims(policy, o) : await onInference(policy, o);
  const seeds: SeedTotals[] = [];
  const ticks: TickTotals = { exits: 0, rewardSum: 0, agentSteps: 0, invalid: 0 };
  for (const blocks of run.perSeed) {
    // Block order (threads answer in thread order, each with its blocks in order).
    const s: SeedTotals = { agents: 0, gone: 0, ret: 0, free: 0 };
    for (const b of blocks) {
      s.agents += b.seed.agents;
      s.gone += b.seed.gone;
      s.ret += b.seed.ret;
      s.free += b.seed.free;
    }
    seeds.push(s);
  }
  // The tick totals of each block are one seed's each (a reset makes the tallies anew): summed per seed in block order.
  for (const blocks of run.tickTotals) {
    for (const b of blocks) {
      ticks.exits += b.exits;
      ticks.rewardSum += b.rewardSum;
      ticks.agentSteps += b.agentSteps;
      ticks.invalid += b.invalid;
    }
  }
  return { result: evalResult(name, o, seeds, ticks, run.dayTicks, (performance.now() - t0) / 1000), place: run.place };
}

interface BlocksRun {
  /** Each seed's per-block totals, in block order. */
  perSeed: BlockEvalTotals[][];
  /** Per-block tick totals of each seed, to add up. */
  tickTotals: TickTotals[][];
  place: EvalPlace;
  dayTicks: number;
}

function buildOf(o: BlockEvalOptions, seed: number, overrides?: Record<string, unknown>) {
  const build = { seed, towns: o.towns, shards: o.shards, overrides: overrides ?? o.overrides };
  return { configFile: o.config, build, pluginSpecs: o.pluginSpecs, workers: o.workers, watchdogSeconds: o.watchdogSeconds };
}

/**
 * Scripted or random: each block's own policy (as `townlet run --shards`). One world for every
 * seed: built with the first, reset to each next one (ShardedSim.reset), so its threads start once.
 */
async function onSims(policy: "scripted" | "random", o: BlockEvalOptions): Promise<BlocksRun> {
  const sim = await ShardedSim.open({ ...buildOf(o, o.seeds[0]), host: EVAL_SHARD_HOST, hostModule: EVAL_SHARD_HOST_MODULE, policy });
  try {
    const run: BlocksRun = { perSeed: [], tickTotals: [], place: { towns: sim.towns, blocks: sim.blocks, workers: sim.workers }, dayTicks: ticksPerDay(sim.config.settings) };
    for (let k = 0; k < o.seeds.length; k++) {
      if (k > 0) await sim.reset(o.seeds[k]);
      for (let t = 0; t < o.ticks; t++) await sim.step();
      const blocks = (await sim.ext("eval:result", null)).flat() as BlockEvalTotals[];
      run.perSeed.push(blocks);
      run.tickTotals.push(blocks.map((b) => b.ticks));
    }
    return run;
  } finally {
    await sim.close();
  }
}

/**
 * A checkpoint: one main-thread batch per tick (tools/shard-neural.ts, as `townlet run --policy
 * neural:DIR`). One world for every seed: the blocks are reset to each next seed (ShardedRollout.reset),
 * so the threads and the network start once per policy.
 */
async function onInference(policy: { checkpoint: string; greedy: boolean }, o: BlockEvalOptions): Promise<BlocksRun> {
  // The network alone, as the one-block evaluation loads it (loadNeuralPolicy): never a blend
  // with the scripted controller (training.anneal_enable_policy_blend), which blocks refuse.
  const alone = buildOf(o, o.seeds[0], { ...o.overrides, "training.anneal_enable_policy_blend": false });
  const plugins: readonly AnyPlugin[] = o.plugins ?? EVAL_SHARD_HOST.corePlugins;
  const inf = await ShardedInference.open({ ...alone, plugins, spec: `neural:${policy.checkpoint}`, greedy: policy.greedy, extension: { module: EVAL_SHARD_HOST_MODULE, extend } });
  try {
    const run: BlocksRun = { perSeed: [], tickTotals: [], place: { towns: inf.towns, blocks: inf.blocks, workers: inf.workers }, dayTicks: ticksPerDay(inf.config.settings) };
    for (let k = 0; k < o.seeds.length; k++) {
      if (k > 0) await inf.rollout.reset(o.seeds[k]);
      // The blocks run on into each next tick's first half, except after the last.
      for (let t = 0; t < o.ticks; t++) await inf.step(t + 1 < o.ticks);
      const blocks = (await inf.ext("eval:result", null)).flat() as BlockEvalTotals[];
      run.perSeed.push(blocks);
      run.tickTotals.push(blocks.map((b) => b.ticks));
    }
    return run;
  } finally {
    await inf.close();
  }
}
