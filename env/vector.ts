// The env contract in batch form (no per-agent objects): reset/step over typed arrays, one row
// per agent, buffers reused between calls. Drives a world through an ExternalPolicy: actions
// enter in the policy phase (masks and commitment windows apply there), rewards are Reward.total
// of the tick, exits come from AgentExit. The dict form (parallel.ts) is a view over this one.
import { DEFAULT_CONFIG_FILE } from "../engine/paths.ts";
import { loadConfig, type LoadedConfig } from "../engine/config/loader.ts";
import { Agent } from "../engine/core-components.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { World } from "../engine/world.ts";
import { AgentExit } from "../components/messages.ts";
import { Reward } from "../components/people.ts";
import { corePlugins } from "../systems/index.ts";
import { buildObservations, observationSpec } from "../systems/observations/index.ts";
import {
  componentFeatures,
  buildMasks,
  componentObservations,
  policyState,
  setPolicy,
  worldActionCount,
  type ObservationBatch,
} from "../systems/policy/index.ts";
import { EnvPolicy } from "./env-policy.ts";
import { StepRows } from "./rows.ts";
import { Lifecycle } from "../components/people.ts";
import { buildBlock, type BlockPlan } from "../engine/shard-blocks.ts";

export const DEFAULT_ENV_CONFIG = DEFAULT_CONFIG_FILE;

export interface EnvOptions {
  /** Config file (default: configs/default.yaml). */
  config?: string;
  /** Values replacing config keys by dotted path before validation, e.g. { "world.towns": 20 }. */
  overrides?: Record<string, unknown>;
  /** Plug-ins of the world (default: every core plug-in). */
  plugins?: readonly AnyPlugin[];
  /** Steps after which every live agent is truncated (default 1000). */
  maxCycles?: number;
  /**
   * One block of a sharded world (env/sharded.ts): the env drives that block's World, built from
   * the loaded config (its towns, seed and uid range), and keeps stepping it after its own rows
   * are all done (other blocks of the episode may still run).
   */
  block?: { config: LoadedConfig; plan: BlockPlan };
}

/**
 * One call's result. Every array is a view of a buffer the env reuses: valid until the next
 * reset or step. Rows: the agents live at the start of the step (in the previous result's row
 * order, minus the rows that were done there), then the `joined` agents that appeared during the
 * step (replacements, new ids), in entity order.
 */
export interface VectorStep {
  /** Rows. */
  count: number;
  /** Entity id of each row [N] (an id may be reused by a later agent: `uids` never are). */
  agents: Int32Array;
  /** Agent uid of each row [N], 0 .. 2^32 - 1 (the id `agent_<uid>` unless the agent was named). */
  uids: Uint32Array;
  /** External id of each row, only when the rows differ from the previous result's. */
  ids: readonly string[] | undefined;
  /** Observations [N, D] float32: features, then the flattened map; zeros on terminated rows. */
  obs: Float32Array;
  /** Action masks [N, A], 1 = allowed; zeros on terminated rows. */
  masks: Uint8Array;
  /** Reward.total of the tick [N]; a terminated row carries the final reward of its AgentExit. */
  rewards: Float32Array;
  /** 1 = the agent left in this step (it never returns). */
  terminated: Uint8Array;
  /** 1 = the episode reached maxCycles with the agent alive. */
  truncated: Uint8Array;
  /** 1 = the agent could choose (its commitment window was open) and its action was read. */
  taken: Uint8Array;
  /**
   * The action was refused (replaced by wait and counted): 1 = outside the space or forbidden by
   * the mask the agent was given; 2 = allowed by that mask, but the world changed before the
   * decision (an event of the tick's console or scheduler phase, e.g. a price spike or a blackout).
   */
  invalid: Uint8Array;
  /** Rows at the end that appeared during this step (0 after reset). */
  joined: number;
  /** Rows that terminated in this step, with the exit reason (faint, eviction, ..., removed). */
  exits: { row: number; reason: string }[];
  /** Invalid actions since reset, all agents (the policy plug-in's counter). */
  invalidTotal: number;
}

/** An action the policy plug-in refuses (outside [0, A)); distinct from KEEP. */
const INVALID = -2;

/** Validates a seed as the config does: an integer in [0, 2^53 - 1]. */
export function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`seed: expected an integer in [0, 2^53 - 1], got ${seed}`);
  }
  return seed;
}

export class TownletVectorEnv {
  /** The world the env drives (tools and tests may read it, or call e.g. killAgent between steps). */
  readonly world: World;
  readonly config: LoadedConfig;
  readonly maxCycles: number;
  /** Floats per observation row: features + map. */
  readonly observationSize: number;
  /** Actions (columns of a mask row). */
  readonly actionCount: number;
  /** Features at the start of each row; the map [C, W, W] follows (C = 0 without the observation builder). */
  readonly featureCount: number;
  readonly mapShape: readonly [number, number, number];

  private readonly policy = new EnvPolicy();
  /** A block of a sharded world: step() goes on after every row is done. */
  private readonly isBlock: boolean;
  private episodes = 0;
  /** The world is as the constructor built it (not stepped yet): a first reset to its seed can keep it. */
  private pristine = true;
  private started = false;
  private finished = false;
  private cyclesDone = 0;
  private stampCounter = 0;
  /** The result's rows (sized for observationSize and actionCount once they are known). */
  private rows!: StepRows;
  private names: string[] = [];
  // Scratch.
  private startEid = new Int32Array(0);
  private startUid = new Uint32Array(0);
  private startNames: string[] = [];
  /** 1 = the start agent's action was allowed by the mask it was given. */
  private startAllowed = new Uint8Array(0);
  private mark = new Int32Array(0);
  private batchRow = new Int32Array(0);
  private liveList = new Int32Array(0);
  private liveMasks = new Uint8Array(0);
  private readonly compBatch: ObservationBatch = { variant: "", size: 0, count: 0, data: new Float32Array(0) };
  /** Every agent id of this episode, in order of appearance (possible_agents). */
  private seen: string[] = [];
  private seenSet = new Set<string>();
  private nameByUid = new Map<number, string>();
  private readonly result: VectorStep;

  constructor(opts: EnvOptions = {}) {
    const plugins = opts.plugins ?? corePlugins;
    const maxCycles = opts.maxCycles ?? 1000;
    if (!Number.isInteger(maxCycles) || maxCycles < 1) throw new RangeError(`maxCycles: expected an integer >= 1, got ${maxCycles}`);
    this.maxCycles = maxCycles;
    this.isBlock = opts.block !== undefined;
    if (opts.block) {
      this.config = opts.block.config;
      this.world = buildBlock(this.config.settings, plugins, opts.block.plan);
    } else {
      this.config = loadConfig(opts.config ?? DEFAULT_ENV_CONFIG, plugins, { overrides: opts.overrides });
      this.world = new World({ settings: this.config.settings, plugins });
    }
    setPolicy(this.world, this.policy);
    if (this.world.hasPlugin("observations")) {
      const spec = observationSpec(this.world);
      this.featureCount = spec.feature_count;
      this.mapShape = [spec.map_shape[0], spec.map_shape[1], spec.map_shape[2]];
    } else {
      this.featureCount = componentFeatures(this.world).length;
      this.mapShape = [0, 0, 0];
    }
    this.observationSize = this.featureCount + this.mapShape[0] * this.mapShape[1] * this.mapShape[2];
    this.actionCount = worldActionCount(this.world);
    this.rows = new StepRows(this.observationSize, this.actionCount);
    this.result = this.rows.empty();
  }

  /** Steps taken since the last reset. */
  get cycles(): number {
    return this.cyclesDone;
  }

  /** True once every agent of the episode is done (terminated or truncated): call reset. */
  get done(): boolean {
    return this.finished;
  }

  /** External ids of the current rows (always present, unlike `VectorStep.ids`). */
  get rowIds(): readonly string[] {
    return this.names;
  }

  /** Ids of every agent seen since the last reset, in order of appearance. */
  get seenIds(): readonly string[] {
    return this.seen;
  }

  /** True when `id` names an agent seen since the last reset. */
  hasSeen(id: string): boolean {
    return this.seenSet.has(id);
  }

  /** The id of an agent of this episode by uid (e.g. Lifecycle.replaces_uid), `agent_<uid>` when unseen. */
  idOfUid(uid: number): string {
    return this.nameByUid.get(uid) ?? `agent_${uid}`;
  }

  /**
   * Starts an episode: the world is rebuilt from `seed`, so it equals a fresh env reset with the
   * same seed. Without a seed, the first episode takes the config's seed and each later one the
   * previous seed + 1. (A first reset to the config's seed keeps the world the constructor built,
   * which is that fresh world, unless it was stepped.)
   */
  reset(seed?: number): VectorStep {
    const s = seed !== undefined ? checkSeed(seed) : this.episodes === 0 ? this.world.seed : Math.min(this.world.seed + 1, Number.MAX_SAFE_INTEGER);
    if (!(this.pristine && this.world.tick === 0 && s === this.world.seed)) this.world.reset(s);
    this.pristine = false;
    setPolicy(this.world, this.policy);
    this.policy.clear();
    this.episodes++;
    this.started = true;
    this.cyclesDone = 0;
    this.seen = [];
    this.seenSet = new Set();
    this.nameByUid = new Map();
    const world = this.world;
    const agents = world.agents;
    const n = agents.length;
    this.ensureRows(n);
    const U = world.columns(Agent).uid;
    this.names = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const eid = agents[i];
      this.rows.eidBuf[i] = eid;
      this.rows.uidBuf[i] = U[eid];
      this.names[i] = this.remember(U[eid], world.agentName(eid));
    }
    this.rows.rewardBuf.fill(0, 0, n);
    this.rows.termBuf.fill(0, 0, n);
    this.rows.truncBuf.fill(0, 0, n);
    this.rows.takenBuf.fill(0, 0, n);
    this.rows.invalidBuf.fill(0, 0, n);
    this.finished = n === 0;
    this.fillObservations(n);
    this.result.exits = [];
    return this.finish(n, 0, true);
  }

  /**
   * Advances one tick. `actions[i]` is the action of row i of the previous result (rows that were
   * done there are ignored). An action is read only when the agent may choose (its option is done
   * or its commitment window has passed, and it is not running an affordance); a forbidden or
   * out-of-range action becomes wait and is counted (`invalid`).
   */
  step(actions: Int32Array | ArrayLike<number>): VectorStep {
    if (!this.started) throw new Error("step() before reset(): call reset() to start an episode");
    if (this.finished && !this.isBlock) throw new Error("the episode is over (every agent terminated or truncated): call reset() to start another");
    const prev = this.result.count;
    if (actions.length !== prev) throw new RangeError(`step: expected ${prev} actions (one per row of the last result), got ${actions.length}`);
    const world = this.world;
    const A = this.actionCount;
    const stamp = ++this.stampCounter;
    const policy = this.policy;
    policy.stamp = stamp;
    policy.clear();

    // 1. Agents live at the start, with their actions.
    if (this.startEid.length < prev) {
      this.startEid = new Int32Array(prev * 2);
      this.startUid = new Uint32Array(prev * 2);
      this.startAllowed = new Uint8Array(prev * 2);
    }
    let s = 0;
    for (let i = 0; i < prev; i++) {
      if (this.rows.termBuf[i] === 1 || this.rows.truncBuf[i] === 1) continue;
      const eid = this.rows.eidBuf[i];
      this.startEid[s] = eid;
      this.startUid[s] = this.rows.uidBuf[i];
      this.startNames[s] = this.names[i];
      const a = actions[i];
      const valid = Number.isInteger(a) && a >= 0 && a < A;
      policy.set(eid, valid ? a : INVALID);
      this.startAllowed[s] = valid && this.rows.maskBuf[i * A + a] === 1 ? 1 : 0;
      s++;
    }
    this.startNames.length = s;

    world.step();
    policy.clear();
    this.cyclesDone++;

    // 2. Exits of the tick, by uid (an entity id may already belong to a replacement).
    const ex = world.lastTick(AgentExit);
    let exitRow: Map<number, number> | undefined;
    if (ex.count > 0) {
      exitRow = new Map();
      for (let i = ex.start; i < ex.end; i++) exitRow.set(ex.uid[i], i);
    }

    // 3. Rows: the agents of the start, then the newcomers.
    const live = world.agents;
    this.ensureRows(s + live.length);
    const need = world.maxEntityId() + 1;
    if (this.mark.length < need) this.mark = new Int32Array(need * 2);
    const mark = this.mark;
    const U = world.columns(Agent).uid;
    const R = world.components.isRegistered(Reward) ? world.columns(Reward).total : undefined;
    const exits: { row: number; reason: string }[] = [];
    const names: string[] = new Array<string>(s);
    let n = 0;
    for (let k = 0; k < s; k++, n++) {
      const eid = this.startEid[k];
      const uid = this.startUid[k];
      this.rows.eidBuf[n] = eid;
      this.rows.uidBuf[n] = uid;
      names[n] = this.startNames[k];
      const tookAction = eid < policy.takenAt.length && policy.takenAt[eid] === stamp;
      this.rows.takenBuf[n] = tookAction ? 1 : 0;
      this.rows.invalidBuf[n] = tookAction && policy.invalidAt[eid] === stamp ? (this.startAllowed[k] === 1 ? 2 : 1) : 0;
      this.rows.truncBuf[n] = 0;
      if (world.isAgent(eid) && U[eid] === uid) {
        mark[eid] = stamp;
        this.rows.rewardBuf[n] = R ? R[eid] : 0;
        this.rows.termBuf[n] = 0;
      } else {
        const m = exitRow?.get(uid);
        this.rows.rewardBuf[n] = m !== undefined ? ex.reward[m] : 0;
        this.rows.termBuf[n] = 1;
        exits.push({ row: n, reason: m !== undefined ? world.text(ex.reason[m]) : "removed" });
      }
    }
    for (let i = 0; i < live.length; i++) {
      const eid = live[i];
      if (mark[eid] === stamp) continue;
      this.rows.eidBuf[n] = eid;
      this.rows.uidBuf[n] = U[eid];
      names[n] = this.remember(U[eid], world.agentName(eid));
      this.rows.rewardBuf[n] = 0;
      this.rows.termBuf[n] = 0;
      this.rows.truncBuf[n] = 0;
      this.rows.takenBuf[n] = 0;
      this.rows.invalidBuf[n] = 0;
      n++;
    }
    this.names = names;

    // 4. Truncation, then the observations of the next decision.
    let open = 0;
    for (let i = 0; i < n; i++) if (this.rows.termBuf[i] === 0) open++;
    if (this.cyclesDone >= this.maxCycles) {
      for (let i = 0; i < n; i++) if (this.rows.termBuf[i] === 0) this.rows.truncBuf[i] = 1;
      open = 0;
    }
    this.finished = open === 0;
    this.fillObservations(n);
    this.result.exits = exits;
    return this.finish(n, n - s, false);
  }

  /** The id of the agent that joined row `row` of the last result replaces (Lifecycle.replaces_uid), if any. */
  replacesOf(row: number): string | undefined {
    const world = this.world;
    if (!world.components.isRegistered(Lifecycle)) return undefined;
    const eid = this.result.agents[row];
    const replaces = world.columns(Lifecycle).replaces_uid;
    return world.isAgent(eid) && world.has(eid, Lifecycle) && replaces[eid] >= 0 ? this.idOfUid(replaces[eid]) : undefined;
  }

  /** Nothing to release (the sharded env's workers): the bridge calls it on close. */
  close(): void {}

  private remember(uid: number, name: string): string {
    if (!this.nameByUid.has(uid)) {
      this.nameByUid.set(uid, name);
      this.seen.push(name);
      this.seenSet.add(name);
    }
    return name;
  }

  private finish(n: number, joined: number, force: boolean): VectorStep {
    return this.rows.view(this.result, n, joined, policyState(this.world).invalid, this.names, force);
  }

  private ensureRows(n: number): void {
    this.rows.ensure(n);
  }

  /** Observations and masks of rows [0, n) for the next decision; zeros on terminated rows. */
  private fillObservations(n: number): void {
    const world = this.world;
    const D = this.observationSize;
    const A = this.actionCount;
    const obs = this.rows.obsBuf;
    const masks = this.rows.maskBuf;
    if (worldActionCount(world) !== A) {
      throw new Error(`the action space changed during the episode (${A} -> ${worldActionCount(world)} actions: the affordance registry was reloaded); call reset()`);
    }
    let m = 0;
    if (this.liveList.length < n) this.liveList = new Int32Array(n * 2);
    for (let i = 0; i < n; i++) if (this.rows.termBuf[i] === 0) this.liveList[m++] = this.rows.eidBuf[i];
    if (m === 0) {
      obs.fill(0, 0, n * D);
      masks.fill(0, 0, n * A);
      return;
    }

    // Observations: built for every live agent in entity order, gathered by row.
    let F: number;
    let M: number;
    let rows: Int32Array;
    let feats: Float32Array;
    let map: Float32Array;
    let count: number;
    if (world.hasPlugin("observations")) {
      const b = buildObservations(world);
      F = b.featureCount;
      M = b.mapStride;
      rows = b.agents;
      feats = b.features;
      map = b.map;
      count = b.count;
    } else {
      componentObservations.build(world, world.agents, this.compBatch);
      F = this.compBatch.size;
      M = 0;
      rows = world.agents;
      feats = this.compBatch.data;
      map = feats;
      count = this.compBatch.count;
    }
    if (F + M !== D) throw new Error(`internal error (please report a bug): observation rows hold ${F + M} floats, the env's space ${D}`);
    const need = world.maxEntityId() + 1;
    if (this.batchRow.length < need) this.batchRow = new Int32Array(need * 2);
    const at = this.batchRow;
    for (let j = 0; j < count; j++) at[rows[j]] = j;

    // Masks of the live rows, in row order.
    if (this.liveMasks.length < m * A) this.liveMasks = new Uint8Array(m * A * 2);
    const lm = this.liveMasks.subarray(0, m * A);
    buildMasks(world, this.liveList.subarray(0, m), lm);

    let k = 0;
    for (let i = 0; i < n; i++) {
      if (this.rows.termBuf[i] === 1) {
        obs.fill(0, i * D, (i + 1) * D);
        masks.fill(0, i * A, (i + 1) * A);
        continue;
      }
      const j = at[this.rows.eidBuf[i]];
      obs.set(feats.subarray(j * F, (j + 1) * F), i * D);
      if (M > 0) obs.set(map.subarray(j * M, (j + 1) * M), i * D + F);
      masks.set(lm.subarray(k * A, (k + 1) * A), i * A);
      k++;
    }
  }
}
