// The host of an evaluation on blocks (engine/shards.ts ShardHost, and the extension of
// training/sharded-rollout.ts's blocks): the core plug-ins and each block's scripted or random
// policy as for `townlet run` (tools/shard-host.ts), plus an extension that keeps the evaluation's
// bookkeeping (training/evaluate.ts EvalTally) in each block, on the block's own thread. Nothing
// crosses between threads per tick; "eval:result" answers each block's totals at the end of a
// seed. A reset of the blocks (ShardedSim.reset, ShardedRollout.reset) makes the extension anew,
// as for a fresh world: every seed's tallies, tick totals included, start from nothing.
// Worker threads import this module by its URL (EVAL_SHARD_HOST_MODULE).
import type { BlockSet } from "../engine/shard-blocks.ts";
import type { ShardExtension, ShardHost } from "../engine/shards.ts";
import { corePlugins, prepareBlock } from "../tools/shard-host.ts";
import { EvalTally, type SeedTotals, type TickTotals } from "./evaluate.ts";

export { corePlugins, prepareBlock };

/** One block's evaluation totals (the answer to "eval:result", one per block of the thread). */
export interface BlockEvalTotals {
  seed: SeedTotals;
  ticks: TickTotals;
}

/** Every block's tally starts now (the blocks are built, no tick has run) and takes each tick after it. */
export function extend(set: BlockSet): ShardExtension {
  const tallies = set.worlds.map((w) => {
    const t = new EvalTally();
    t.begin(w);
    return t;
  });
  return {
    call(op: string): BlockEvalTotals[] {
      if (op !== "eval:result") throw new Error(`the evaluation's blocks answer "eval:result", not "${op}"`);
      return tallies.map((t, i) => ({ seed: t.end(set.worlds[i]), ticks: { ...t.totals } }));
    },
    afterStep(): unknown[] {
      for (let i = 0; i < tallies.length; i++) tallies[i].tick(set.worlds[i]);
      return [];
    },
  };
}

export const EVAL_SHARD_HOST: ShardHost = { corePlugins, prepareBlock, extend };

/** This module's URL for worker threads (as SHARD_HOST_MODULE: the compiled file from the CLI bundle). */
export const EVAL_SHARD_HOST_MODULE = /\/training\/eval-shard-host\.[mc]?[jt]s$/.test(import.meta.url) ? import.meta.url : new URL("../training/eval-shard-host.js", import.meta.url).href;
