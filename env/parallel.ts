// PettingZoo's ParallelEnv contract over a Townlet world: reset/step with dicts keyed by agent id,
// `possible_agents` / `agents`, spaces that are the same object on every call, and an
// `action_mask` inside every observation. A view over a batch env, which runs it: TownletVectorEnv
// (vector.ts), or ShardedVectorEnv (sharded.ts: a world of several blocks on N threads, with the
// same dicts for every N).
//
// Version history (bump ENV_NAME whenever behaviour changes):
//   townlet_v1  first version: options as actions with commitment windows, replacements under
//               new ids, possible_agents growing as they appear, truncation at maxCycles.
import type { World } from "../engine/world.ts";
import type { ShardedVectorEnv } from "./sharded.ts";
import { TownletVectorEnv, type EnvOptions, type VectorStep } from "./vector.ts";

export const ENV_NAME = "townlet_v1";

/** A Box: values of `dtype` in [low, high] (bounds apply to every element), `shape` elements. */
export interface BoxSpace {
  readonly type: "Box";
  readonly shape: readonly number[];
  readonly dtype: "float32" | "uint8";
  readonly low: number;
  readonly high: number;
  /** True for a typed array of the dtype, of the shape's size, every value within the bounds. */
  contains(x: unknown): boolean;
}

/** A Discrete space: the integers start .. start + n - 1. */
export interface DiscreteSpace {
  readonly type: "Discrete";
  readonly n: number;
  readonly start: number;
  contains(x: unknown): boolean;
}

/**
 * The observation space: PettingZoo's form for masked actions, a Dict of the observation Box
 * (features, then the map [C, W, W] flattened) and the action_mask Box (uint8, one per action).
 */
export interface ObservationSpace {
  readonly type: "Dict";
  readonly spaces: { readonly observation: BoxSpace; readonly action_mask: BoxSpace };
  /** Features at the start of the observation; the map [C, W, W] follows. */
  readonly layout: { readonly features: number; readonly map: readonly [number, number, number] };
  contains(x: unknown): boolean;
}

export interface AgentObservation {
  observation: Float32Array;
  action_mask: Uint8Array;
}

export interface AgentInfo {
  /** The agent could choose in this step (its commitment window was open) and its action was read. */
  action_taken: boolean;
  /** The action was refused: replaced by wait and counted (outside the space, or forbidden by the mask). */
  invalid_action: boolean;
  /**
   * With invalid_action: the mask in the agent's observation allowed the action, but the world
   * changed before the decision (an event at the start of the tick: a price spike, a blackout).
   */
  stale_mask?: boolean;
  /** Invalid actions since reset, all agents. */
  invalid_actions: number;
  /** On an agent's final step: why it left (faint, eviction, unemployment, console, removed). */
  exit_reason?: string;
  /** On the step an agent appeared (a replacement): true. */
  joined?: boolean;
  /** On the step a replacement appeared: the id of the agent it replaces. */
  replaces?: string;
}

export interface ResetArgs {
  seed?: number;
  /** No options are defined yet; any key is refused. */
  options?: Record<string, unknown>;
}

/** The structure of the parallel contract, as the conformance suite tests it. */
export interface ParallelEnv<O = AgentObservation, I = AgentInfo> {
  readonly possible_agents: readonly string[];
  readonly agents: readonly string[];
  reset(args?: ResetArgs): [Record<string, O>, Record<string, I>];
  step(
    actions: Record<string, number>,
  ): [Record<string, O>, Record<string, number>, Record<string, boolean>, Record<string, boolean>, Record<string, I>];
  observation_space(agent: string): ObservationSpace;
  action_space(agent: string): DiscreteSpace;
  /** Releases what the env holds (worker threads); the conformance suite calls it when done with an env. */
  close?(): void;
}

export interface ParallelEnvOptions extends EnvOptions {
  /**
   * The batch env to view, instead of one built from these options: e.g. a ShardedVectorEnv
   * (`await ShardedVectorEnv.open({ config, workers })`) for a world of several blocks on N
   * threads. The other options are then ignored.
   */
  vector?: TownletVectorEnv | ShardedVectorEnv;
}

function box(shape: readonly number[], dtype: "float32" | "uint8", low: number, high: number): BoxSpace {
  const size = shape.reduce((a, b) => a * b, 1);
  const Ctor = dtype === "float32" ? Float32Array : Uint8Array;
  return Object.freeze({
    type: "Box" as const,
    shape: Object.freeze([...shape]),
    dtype,
    low,
    high,
    contains(x: unknown): boolean {
      if (!(x instanceof Ctor) || x.length !== size) return false;
      for (let i = 0; i < x.length; i++) if (!(x[i] >= low && x[i] <= high)) return false;
      return true;
    },
  });
}

function discrete(n: number): DiscreteSpace {
  return Object.freeze({
    type: "Discrete" as const,
    n,
    start: 0,
    contains: (x: unknown) => typeof x === "number" && Number.isInteger(x) && x >= 0 && x < n,
  });
}

/**
 * The parallel env. Agents are the world's agents of every town, by external id (`agent_<uid>`
 * or a name). A step advances the world one tick:
 * - every live agent needs an action (an integer; one outside [0, n) or forbidden by the mask is
 *   replaced by wait and reported in `infos[id].invalid_action`). The mask is the one of the
 *   observation; an event at the start of the next tick (console, scheduler phases) can still
 *   forbid an action it allowed: then `infos[id].stale_mask` says so. An agent committed to an option
 *   (within policy_runtime.option_commit_ticks, or running an affordance) keeps it: its action is
 *   read only when `infos[id].action_taken` says so;
 * - the returned dicts are keyed by the agents live at the start of the step plus the agents that
 *   appeared during it (replacements: reward 0, `infos[id].joined`), as PettingZoo's
 *   parallel_api_test expects of envs that add agents;
 * - an agent that leaves gets one last entry with terminated true, its final reward (AgentExit),
 *   a zero observation and mask and `infos[id].exit_reason`, then never appears again;
 * - after maxCycles steps every live agent is truncated (its observation is real) and `agents`
 *   is empty.
 * `possible_agents` lists every agent of the episode so far: it grows as replacements appear
 * (PettingZoo allows this for envs that spawn agents; no useful upper bound exists, replacements
 * go on for as long as agents leave). Observation dicts own their arrays (fresh per step).
 */
export class TownletParallelEnv implements ParallelEnv {
  readonly metadata = Object.freeze({ name: ENV_NAME, render_modes: Object.freeze([] as string[]) });
  /** The batch form this env is a view of (same world). */
  readonly vector: TownletVectorEnv | ShardedVectorEnv;
  private readonly obsSpace: ObservationSpace;
  private readonly actSpace: DiscreteSpace;
  private last: VectorStep | undefined;
  private liveIds: readonly string[] = Object.freeze([]);
  private possibleCache: readonly string[] = Object.freeze([]);
  private actionBuf = new Int32Array(16);

  constructor(opts: ParallelEnvOptions = {}) {
    this.vector = opts.vector ?? new TownletVectorEnv(opts);
    const v = this.vector;
    const observation = box([v.observationSize], "float32", -Infinity, Infinity);
    const action_mask = box([v.actionCount], "uint8", 0, 1);
    this.obsSpace = Object.freeze({
      type: "Dict" as const,
      spaces: Object.freeze({ observation, action_mask }),
      layout: Object.freeze({ features: v.featureCount, map: v.mapShape }),
      contains(x: unknown): boolean {
        if (typeof x !== "object" || x === null) return false;
        const o = x as Partial<AgentObservation>;
        return observation.contains(o.observation) && action_mask.contains(o.action_mask);
      },
    });
    this.actSpace = discrete(v.actionCount);
  }

  /** The world the env drives (read it, or e.g. killAgent between steps); a sharded world has none (its blocks may run on other threads). */
  get world(): World {
    const v = this.vector;
    if (v instanceof TownletVectorEnv) return v.world;
    throw new Error(`TownletParallelEnv.world: this env views a sharded world of ${v.blocks} blocks on ${v.workers} thread(s), which has no single World`);
  }

  /** Stops the batch env's worker threads (if any). */
  close(): void {
    this.vector.close();
  }

  get possible_agents(): readonly string[] {
    const seen = this.vector.seenIds;
    if (this.possibleCache.length !== seen.length) this.possibleCache = Object.freeze(seen.slice());
    return this.possibleCache;
  }

  get agents(): readonly string[] {
    return this.liveIds;
  }

  observation_space(agent: string): ObservationSpace {
    this.known(agent);
    return this.obsSpace;
  }

  action_space(agent: string): DiscreteSpace {
    this.known(agent);
    return this.actSpace;
  }

  private known(agent: string): void {
    if (!this.vector.hasSeen(agent)) {
      throw new Error(`unknown agent "${agent}": not in possible_agents (call reset() first, or check the id)`);
    }
  }

  reset(args: ResetArgs = {}): [Record<string, AgentObservation>, Record<string, AgentInfo>] {
    const keys = args.options ? Object.keys(args.options) : [];
    if (keys.length > 0) throw new Error(`reset: unknown option(s) ${keys.map((k) => `"${k}"`).join(", ")}; ${ENV_NAME} defines no reset options`);
    const r = this.vector.reset(args.seed);
    const [obs, , , , infos] = this.collect(r);
    return [obs, infos];
  }

  step(
    actions: Record<string, number>,
  ): [Record<string, AgentObservation>, Record<string, number>, Record<string, boolean>, Record<string, boolean>, Record<string, AgentInfo>] {
    const r = this.last;
    if (!r) throw new Error("step() before reset(): call reset() to start an episode");
    if (this.vector.done) throw new Error("the episode is over (every agent terminated or truncated): call reset() to start another");
    const ids = this.vector.rowIds;
    if (this.actionBuf.length < r.count) this.actionBuf = new Int32Array(r.count * 2);
    const buf = this.actionBuf.subarray(0, r.count);
    const missing: string[] = [];
    let given = 0;
    for (let i = 0; i < r.count; i++) {
      buf[i] = -1;
      if (r.terminated[i] === 1 || r.truncated[i] === 1) continue;
      const a = actions[ids[i]];
      if (a === undefined) {
        missing.push(ids[i]);
        continue;
      }
      given++;
      buf[i] = typeof a === "number" && Number.isInteger(a) && a >= 0 && a <= 0x7fffffff ? a : -2;
    }
    if (missing.length > 0) {
      throw new Error(`step: no action for live agent(s) ${list(missing)}; give one for every agent in env.agents`);
    }
    const keys = Object.keys(actions);
    if (keys.length !== given) {
      const live = new Set(this.liveIds);
      throw new Error(`step: ${list(keys.filter((k) => !live.has(k)))} not live (a terminated or truncated agent never acts again)`);
    }
    return this.collect(this.vector.step(buf));
  }

  private collect(
    r: VectorStep,
  ): [Record<string, AgentObservation>, Record<string, number>, Record<string, boolean>, Record<string, boolean>, Record<string, AgentInfo>] {
    this.last = r;
    const ids = this.vector.rowIds;
    const D = this.vector.observationSize;
    const A = this.vector.actionCount;
    const obsCopy = r.obs.slice();
    const maskCopy = r.masks.slice();
    const reasons = new Map<number, string>();
    for (const e of r.exits) reasons.set(e.row, e.reason);
    const obs: Record<string, AgentObservation> = {};
    const rewards: Record<string, number> = {};
    const terms: Record<string, boolean> = {};
    const truncs: Record<string, boolean> = {};
    const infos: Record<string, AgentInfo> = {};
    const live: string[] = [];
    const firstJoined = r.count - r.joined;
    for (let i = 0; i < r.count; i++) {
      const id = ids[i];
      obs[id] = { observation: obsCopy.subarray(i * D, (i + 1) * D), action_mask: maskCopy.subarray(i * A, (i + 1) * A) };
      rewards[id] = r.rewards[i];
      terms[id] = r.terminated[i] === 1;
      truncs[id] = r.truncated[i] === 1;
      const info: AgentInfo = { action_taken: r.taken[i] === 1, invalid_action: r.invalid[i] !== 0, invalid_actions: r.invalidTotal };
      if (r.invalid[i] === 2) info.stale_mask = true;
      const reason = reasons.get(i);
      if (reason !== undefined) info.exit_reason = reason;
      if (i >= firstJoined && r.joined > 0) {
        info.joined = true;
        const replaces = this.vector.replacesOf(i);
        if (replaces !== undefined) info.replaces = replaces;
      }
      infos[id] = info;
      if (!terms[id] && !truncs[id]) live.push(id);
    }
    this.liveIds = Object.freeze(live);
    return [obs, rewards, terms, truncs, infos];
  }
}

function list(ids: string[]): string {
  const shown = ids.slice(0, 5).map((s) => `"${s}"`);
  return ids.length > 5 ? `${shown.join(", ")} and ${ids.length - 5} more` : shown.join(", ");
}
