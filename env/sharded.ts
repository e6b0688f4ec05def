// The batch env over a sharded world (world.shards = K blocks, engine/shard-blocks.ts), its blocks
// run by N threads: each block is a batch env of its towns (env/shard-blocks-env.ts). Rows follow
// the one-block contract: the rows live at the start of the step in the previous result's order
// (minus the done ones), then the rows that joined during the step, block after block (within a
// block in entity order); after a reset the rows are the blocks' rows in block order. The rows of
// one block keep their block's order, so the main thread keeps each row's block and scatters the
// actions to the blocks, and gathers their arrays back, in runs of rows (no per-agent objects).
// With N > 1 the blocks run on worker threads (env/shard-env-worker.ts): actions and arrays go
// through SharedArrayBuffers; per step one message to and one from each worker, and the main
// thread waits on an Atomics word, so reset/step stay synchronous like TownletVectorEnv's.
// Replies do not depend on N. A failing block stops the env: this and every later call throws a
// ShardError naming the block, its towns and the tick. A worker that dies (a V8 heap limit, a
// plug-in calling process.exit, ...) stops it the same way with an EnvWorkerDied naming the
// worker, its blocks and towns and the tick (its supervisor thread sees the end: never a hang).
import { DEFAULT_WATCHDOG_SECONDS } from "../engine/watchdog.ts";
import { loadConfig, type LoadedConfig } from "../engine/config/loader.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { planBlocks, shardsOf, type BlockPlan } from "../engine/shard-blocks.ts";
import { defaultWorkers } from "../engine/shards.ts";
import { DEFAULT_CONFIG_FILE } from "../engine/paths.ts";
import { corePlugins } from "../systems/index.ts";
import { BlockEnvs, type BlockMeta } from "./shard-blocks-env.ts";
import { LocalGroup, Supervisor, WorkerGroup, type Group } from "./shard-groups.ts";

import { checkSeed, type VectorStep } from "./vector.ts";
import { StepRows, growInt32 } from "./rows.ts";

export { EnvWorkerDied, blockBytes, blockViews, type BlockArrays, type EnvWorkerInit, type WorkerReply, type WorkerRequest } from "./shard-groups.ts";

export interface ShardedEnvOptions {
  config?: string;
  overrides?: Record<string, unknown>;
  maxCycles?: number;
  /**
   * Threads running the blocks (1 = the main thread); at most the blocks. Default: the
   * machine's cores, capped by the blocks (`defaultWorkers`, as every command's --workers).
   */
  workers?: number;
  /**
   * Plug-in modules beyond the core ones and the config's `plugins:` (paths relative to the
   * working folder or package names, as --plugin takes them): loaded by open(), and with the
   * config's by each worker thread.
   */
  pluginSpecs?: readonly string[];
  /**
   * Heap limit of each worker thread in MiB (V8's old generation; default: Node's). A worker over
   * it dies alone and the env stops with an EnvWorkerDied, instead of the process running out.
   */
  workerHeapMb?: number;
  /**
   * Seconds a worker thread may go without finishing a block's reset or step, during one, before
   * it is stopped and the env fails naming it (engine/watchdog.ts; default 60, 0: never).
   */
  watchdogSeconds?: number;
}

/** Batch env over a sharded world; the same public surface as TownletVectorEnv for the bridge. */
export class ShardedVectorEnv {
  readonly config: LoadedConfig;
  readonly maxCycles: number;
  readonly plans: readonly BlockPlan[];
  readonly workers: number;
  readonly observationSize: number;
  readonly actionCount: number;
  readonly featureCount: number;
  readonly mapShape: readonly [number, number, number];
  /** Live agents when the worlds were built. */
  readonly startAgents: number;
  private readonly groups: Group[];
  private readonly supervisor: Supervisor | undefined;
  /** Group and index in it of each block. */
  private readonly where: [number, number][] = [];
  private failure: Error | undefined;
  private episodes = 0;
  private rootSeed: number;
  private started = false;
  private finished = false;
  private cyclesDone = 0;
  private tickNow = 0;
  /** The result's rows (sized for observationSize and actionCount once they are known). */
  private rows!: StepRows;
  /** Block of each row. */
  private rowBlock = new Int32Array(0);
  private names: string[] = [];
  /** Every agent id of this episode, in order of appearance (as TownletVectorEnv's seenIds). */
  private seen: string[] = [];
  private seenSet = new Set<string>();
  private joinedReplaces: (string | null)[] = [];
  /** Rows of each block in the last result. */
  private counts: number[];
  private cursor: number[];
  /** Per block: global row of each of its start rows in the current step. */
  private toGlobal: Int32Array[];
  private actionsOf: Int32Array[];
  private readonly result: VectorStep;

  /** Like the constructor, with `pluginSpecs` loaded first (the constructor takes none). */
  static async open(opts: ShardedEnvOptions = {}): Promise<ShardedVectorEnv> {
    const plugins = await resolvePlugins(corePlugins, opts.config ?? DEFAULT_CONFIG_FILE, opts.pluginSpecs ?? []);
    return new ShardedVectorEnv(opts, plugins);
  }

  constructor(opts: ShardedEnvOptions = {}, plugins: readonly AnyPlugin[] = corePlugins) {
    if (plugins === corePlugins && opts.pluginSpecs?.length) throw new Error("ShardedVectorEnv: pluginSpecs need ShardedVectorEnv.open() (plug-in modules load asynchronously)");
    const maxCycles = opts.maxCycles ?? 1000;
    if (!Number.isInteger(maxCycles) || maxCycles < 1) throw new RangeError(`maxCycles: expected an integer >= 1, got ${maxCycles}`);
    this.maxCycles = maxCycles;
    const configFile = opts.config ?? DEFAULT_CONFIG_FILE;
    this.config = loadConfig(configFile, plugins, { overrides: opts.overrides });
    const s = this.config.settings;
    this.plans = planBlocks(s.world.towns, shardsOf(s), s.seed);
    this.rootSeed = s.seed;
    const K = this.plans.length;
    const want = opts.workers ?? defaultWorkers(K);
    if (typeof want !== "number" || !Number.isInteger(want) || want < 1) throw new RangeError(`workers: expected an integer >= 1, got ${typeof want === "string" ? JSON.stringify(want) : String(want)}`);
    const heap = opts.workerHeapMb;
    if (heap !== undefined && (typeof heap !== "number" || !Number.isInteger(heap) || heap < 16)) throw new RangeError(`workerHeapMb: expected an integer >= 16 (MiB), got ${typeof heap === "string" ? JSON.stringify(heap) : String(heap)}`);
    const N = Math.min(want, K);
    this.workers = N;
    const runs: number[][] = [];
    for (let w = 0; w < N; w++) {
      const run: number[] = [];
      for (let b = Math.floor((w * K) / N); b < Math.floor(((w + 1) * K) / N); b++) run.push(b);
      runs.push(run);
    }
    this.groups = [];
    if (N === 1) {
      const set = new BlockEnvs(this.plans, this.config, plugins, maxCycles);
      const e0 = set.envs[0];
      this.groups.push(new LocalGroup(set, runs[0]));
      this.observationSize = e0.observationSize;
      this.actionCount = e0.actionCount;
      this.rows = new StepRows(this.observationSize, this.actionCount);
      this.featureCount = e0.featureCount;
      this.mapShape = e0.mapShape;
      this.startAgents = set.envs.reduce((k, e) => k + e.world.agents.length, 0);
    } else {
      const base = { configFile, overrides: opts.overrides, maxCycles, pluginSpecs: [...(opts.pluginSpecs ?? [])] };
      // Every worker builds its blocks at once; then each is waited for.
      const sup = new Supervisor(
        runs.map((blocks) => ({ ...base, blocks })),
        heap !== undefined ? { maxOldGenerationSizeMb: heap } : undefined,
      );
      this.supervisor = sup;
      let agents = 0;
      try {
        for (let w = 0; w < N; w++) {
          const first = this.plans[runs[w][0]];
          const last = this.plans[runs[w][runs[w].length - 1]];
          this.groups.push(new WorkerGroup(w, runs[w], [first.townOffset, last.townOffset + last.towns - 1], sup, opts.watchdogSeconds ?? DEFAULT_WATCHDOG_SECONDS));
        }
        for (const g of this.groups as WorkerGroup[]) {
          g.ready();
          agents += g.spaces!.agents;
        }
      } catch (e) {
        this.closeGroups();
        throw e;
      }
      const sp = (this.groups[0] as WorkerGroup).spaces!;
      this.observationSize = sp.D;
      this.actionCount = sp.A;
      this.rows = new StepRows(this.observationSize, this.actionCount);
      this.featureCount = sp.features;
      this.mapShape = [sp.map[0], sp.map[1], sp.map[2]];
      this.startAgents = agents;
    }
    this.groups.forEach((g, gi) => g.blocks.forEach((_, i) => this.where.push([gi, i])));
    this.counts = new Array<number>(K).fill(0);
    this.cursor = new Array<number>(K).fill(0);
    this.toGlobal = this.plans.map(() => new Int32Array(16));
    this.actionsOf = this.plans.map(() => new Int32Array(16));
    this.result = this.rows.empty();
  }

  get blocks(): number {
    return this.plans.length;
  }
  get towns(): number {
    return this.config.settings.world.towns;
  }
  /** Root seed of the current episode (the config's before the first reset). */
  get seed(): number {
    return this.rootSeed;
  }
  get tick(): number {
    return this.tickNow;
  }
  get cycles(): number {
    return this.cyclesDone;
  }
  get done(): boolean {
    return this.finished;
  }
  get rowIds(): readonly string[] {
    return this.names;
  }

  /** Ids of every agent seen since the last reset, in order of appearance (reset rows, then joined rows). */
  get seenIds(): readonly string[] {
    return this.seen;
  }

  /** True when `id` names an agent seen since the last reset. */
  hasSeen(id: string): boolean {
    return this.seenSet.has(id);
  }

  /** The id of the agent that joined row `row` of the last result replaces, if any. */
  replacesOf(row: number): string | undefined {
    const k = row - (this.result.count - this.result.joined);
    return k >= 0 ? (this.joinedReplaces[k] ?? undefined) : undefined;
  }

  /** Stops the worker threads. */
  close(): void {
    this.closeGroups();
    this.failure ??= new Error("the env is closed");
  }

  private closeGroups(): void {
    for (const g of this.groups) g.close();
    this.supervisor?.close();
  }

  /** Starts an episode of every block; seeds as TownletVectorEnv's (block b's derived from the root seed and b). */
  reset(seed?: number): VectorStep {
    if (this.failure) throw this.failure;
    const s = seed !== undefined ? checkSeed(seed) : this.episodes === 0 ? this.rootSeed : Math.min(this.rootSeed + 1, Number.MAX_SAFE_INTEGER);
    const metas = this.run(() => {
      // Workers first (they run while the main thread works or waits), then collect in block order.
      for (const g of this.groups) if (g instanceof WorkerGroup) g.post({ op: "reset", seed: s });
      return this.groups.map((g) => (g instanceof WorkerGroup ? g.finish(`reset (seed ${s})`) : g.reset(s)));
    });
    this.rootSeed = s;
    this.episodes++;
    this.started = true;
    this.cyclesDone = 0;
    let n = 0;
    for (const m of metas) n += m.count;
    this.ensureRows(n);
    const names: string[] = [];
    let at = 0;
    for (let b = 0; b < metas.length; b++) {
      const m = metas[b];
      this.copyRun(b, 0, at, m.count);
      this.rowBlock.fill(b, at, at + m.count);
      for (const name of m.names) names.push(name);
      this.counts[b] = m.count;
      at += m.count;
    }
    this.names = names;
    this.seen = names.slice();
    this.seenSet = new Set(names);
    this.tickNow = metas[0].tick;
    this.joinedReplaces = [];
    this.finished = n === 0;
    this.result.exits = [];
    return this.finish(n, 0, true, metas);
  }

  /** One tick of every block; `actions[i]` is the action of row i of the previous result. */
  step(actions: Int32Array | ArrayLike<number>): VectorStep {
    if (this.failure) throw this.failure;
    if (!this.started) throw new Error("step() before reset(): call reset() to start an episode");
    if (this.finished) throw new Error("the episode is over (every agent terminated or truncated): call reset() to start another");
    const prev = this.result.count;
    if (actions.length !== prev) throw new RangeError(`step: expected ${prev} actions (one per row of the last result), got ${actions.length}`);
    const K = this.plans.length;
    // 1. Scatter the actions to the blocks (a block's rows keep its order).
    for (let b = 0; b < K; b++) {
      this.cursor[b] = 0;
      if (this.actionsOf[b].length < this.counts[b]) this.actionsOf[b] = new Int32Array(this.counts[b] * 2);
    }
    for (let g = 0; g < prev; g++) {
      const b = this.rowBlock[g];
      const a = actions[g];
      // A value no int32 holds is refused as TownletVectorEnv refuses it (outside the space).
      this.actionsOf[b][this.cursor[b]++] = Number.isInteger(a) && a >= -(2 ** 31) && a < 2 ** 31 ? a : -1;
    }
    const metas = this.run(() => {
      const out: BlockMeta[][] = [];
      const per = this.groups.map((g) => g.blocks.map((b) => this.counts[b]));
      const acts = this.groups.map((g) => g.blocks.map((b) => this.actionsOf[b]));
      // Workers first (they run while the main thread waits), then collect in block order.
      this.groups.forEach((g, i) => {
        if (g instanceof WorkerGroup) g.beginStep(per[i], acts[i]);
      });
      const during = `the step to tick ${this.tickNow + 1}`;
      this.groups.forEach((g, i) => out.push(g instanceof WorkerGroup ? g.finish(during) : g.step(per[i], acts[i])));
      return out;
    });
    this.cyclesDone++;

    // 2. Start rows: the previous rows not done, in order, each from the next start row of its block.
    let total = 0;
    for (const m of metas) total += m.count;
    this.ensureRows(total);
    for (let b = 0; b < K; b++) {
      this.cursor[b] = 0;
      if (this.toGlobal[b].length < this.counts[b]) this.toGlobal[b] = new Int32Array(this.counts[b] * 2);
    }
    const names: string[] = [];
    let n = 0;
    let g = 0;
    while (g < prev) {
      if (this.rows.termBuf[g] === 1 || this.rows.truncBuf[g] === 1) {
        g++;
        continue;
      }
      const b = this.rowBlock[g];
      const l0 = this.cursor[b];
      const n0 = n;
      const tg = this.toGlobal[b];
      while (g < prev) {
        if (this.rows.termBuf[g] === 1 || this.rows.truncBuf[g] === 1) {
          g++;
          continue;
        }
        if (this.rowBlock[g] !== b) break;
        names.push(this.names[g]);
        tg[this.cursor[b]++] = n;
        n++;
        g++;
      }
      // Rows n0 .. n-1 all come from block b (written after every earlier row was read).
      this.rowBlock.fill(b, n0, n);
      this.copyRun(b, l0, n0, n - n0);
    }
    // 3. Joined rows, block after block; exits mapped to their rows.
    const exits: { row: number; reason: string }[] = [];
    const replaces: (string | null)[] = [];
    for (let b = 0; b < K; b++) {
      const m = metas[b];
      const s = m.count - m.joined;
      if (this.cursor[b] !== s) throw new Error(`internal error (please report a bug): block ${b} kept ${s} rows, the env expected ${this.cursor[b]}`);
      for (const [row, reason] of m.exits) exits.push({ row: this.toGlobal[b][row], reason });
    }
    for (let b = 0; b < K; b++) {
      const m = metas[b];
      const s = m.count - m.joined;
      this.copyRun(b, s, n, m.joined);
      this.rowBlock.fill(b, n, n + m.joined);
      for (const name of m.names) {
        names.push(name);
        if (!this.seenSet.has(name)) {
          this.seenSet.add(name);
          this.seen.push(name);
        }
      }
      for (const r of m.replaces) replaces.push(r);
      n += m.joined;
      this.counts[b] = m.count;
    }
    exits.sort((x, y) => x.row - y.row);
    this.names = names;
    this.joinedReplaces = replaces;
    this.tickNow = metas[0].tick;
    let open = 0;
    for (let i = 0; i < n; i++) if (this.rows.termBuf[i] === 0 && this.rows.truncBuf[i] === 0) open++;
    this.finished = open === 0;
    this.result.exits = exits;
    return this.finish(n, replaces.length, false, metas);
  }

  /** Runs `f` over the groups; a failure stops the env. Returns the metas in block order. */
  private run(f: () => BlockMeta[][]): BlockMeta[] {
    try {
      return f().flat();
    } catch (e) {
      this.failure = e as Error;
      this.closeGroups();
      throw e;
    }
  }

  /** Copies `len` rows of block b from its row l0 to global row n0. */
  private copyRun(b: number, l0: number, n0: number, len: number): void {
    if (len === 0) return;
    const [gi, i] = this.where[b];
    const src = this.groups[gi].arrays(i);
    const D = this.observationSize;
    const A = this.actionCount;
    const l1 = l0 + len;
    this.rows.eidBuf.set(src.agents.subarray(l0, l1), n0);
    this.rows.uidBuf.set(src.uids.subarray(l0, l1), n0);
    this.rows.rewardBuf.set(src.rewards.subarray(l0, l1), n0);
    this.rows.termBuf.set(src.terminated.subarray(l0, l1), n0);
    this.rows.truncBuf.set(src.truncated.subarray(l0, l1), n0);
    this.rows.takenBuf.set(src.taken.subarray(l0, l1), n0);
    this.rows.invalidBuf.set(src.invalid.subarray(l0, l1), n0);
    this.rows.obsBuf.set(src.obs.subarray(l0 * D, l1 * D), n0 * D);
    this.rows.maskBuf.set(src.masks.subarray(l0 * A, l1 * A), n0 * A);
  }

  private finish(n: number, joined: number, force: boolean, metas: BlockMeta[]): VectorStep {
    let inv = 0;
    for (const m of metas) inv += m.invalidTotal;
    return this.rows.view(this.result, n, joined, inv, this.names, force);
  }

  private ensureRows(n: number): void {
    // The previous rows' blocks are read while the new rows are written, like their done flags.
    if (this.rows.ensure(n)) this.rowBlock = growInt32(this.rowBlock, this.rows.cap);
  }
}
