// The blocks of a sharded world as batch envs (env/sharded.ts): one TownletVectorEnv per block,
// run by one thread (the main thread with --workers 1, a worker thread otherwise). Reset and
// step work on all of the thread's blocks and report, per block, only what is not in the arrays
// (counts, exits, the ids of joined rows); the arrays are read from the block envs' results.
import { heartbeat } from "../engine/watchdog.ts";
import type { LoadedConfig } from "../engine/config/loader.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { ShardError, blockSeed, type BlockPlan } from "../engine/shard-blocks.ts";
import { TownletVectorEnv, type VectorStep } from "./vector.ts";

/** One block's reply to a reset or step, besides its arrays. */
export interface BlockMeta {
  count: number;
  joined: number;
  tick: number;
  /** Rows (block-local) that terminated, with the exit reason. */
  exits: [number, string][];
  /** Ids of every row after a reset, of the joined rows after a step. */
  names: string[];
  /** Per joined row: the id of the agent it replaces, or null. */
  replaces: (string | null)[];
  invalidTotal: number;
}

export class BlockEnvs {
  readonly envs: TownletVectorEnv[];
  /** Each block's last result (its arrays are valid until the block's next reset or step). */
  readonly results: VectorStep[] = [];
  /** An env worker's progress word (env/shard-groups.ts, engine/watchdog.ts): 1 added after each block's reset or step. */
  heartbeat: Int32Array | undefined;
  constructor(
    readonly plans: readonly BlockPlan[],
    config: LoadedConfig,
    plugins: readonly AnyPlugin[],
    maxCycles: number,
  ) {
    this.envs = [];
    for (const plan of plans) {
      try {
        this.envs.push(new TownletVectorEnv({ plugins, maxCycles, block: { config, plan } }));
      } catch (e) {
        throw this.error(this.envs.length, 0, e);
      }
    }
  }

  /** Starts an episode of every block: block b gets the seed derived from (root seed, b). */
  reset(rootSeed: number): BlockMeta[] {
    const out: BlockMeta[] = [];
    for (let i = 0; i < this.envs.length; i++) {
      let r: VectorStep;
      try {
        r = this.envs[i].reset(blockSeed(rootSeed, this.plans[i].index));
      } catch (e) {
        throw this.error(i, 0, e);
      }
      heartbeat(this.heartbeat);
      out.push(this.meta(i, r, true));
    }
    return out;
  }

  /** One tick of every block; `actions[i]` holds block i's actions, one per row of its last result. */
  step(actions: readonly Int32Array[]): BlockMeta[] {
    const out: BlockMeta[] = [];
    for (let i = 0; i < this.envs.length; i++) {
      const env = this.envs[i];
      let r: VectorStep;
      try {
        r = env.step(actions[i]);
      } catch (e) {
        throw this.error(i, env.world.tick + 1, e);
      }
      heartbeat(this.heartbeat);
      out.push(this.meta(i, r, false));
    }
    return out;
  }

  private meta(i: number, r: VectorStep, fresh: boolean): BlockMeta {
    const env = this.envs[i];
    this.results[i] = r;
    const n = r.count;
    const replaces: (string | null)[] = [];
    for (let row = n - r.joined; row < n; row++) replaces.push(env.replacesOf(row) ?? null);
    return {
      count: n,
      joined: r.joined,
      tick: env.world.tick,
      exits: r.exits.map((e) => [e.row, e.reason]),
      names: fresh ? [...env.rowIds] : env.rowIds.slice(n - r.joined),
      replaces,
      invalidTotal: r.invalidTotal,
    };
  }

  private error(i: number, tick: number, e: unknown): ShardError {
    const p = this.plans[i];
    return new ShardError(p.index, [p.townOffset, p.townOffset + p.towns - 1], tick, e instanceof Error ? e.message : String(e));
  }
}
