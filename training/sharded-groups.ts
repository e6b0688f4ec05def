// The threads of a sharded rollout (training/sharded-rollout.ts) as the main thread drives them:
// LocalGroup runs its blocks in the main thread (--workers 1), WorkerGroup in a worker thread
// (training/sharded-worker.ts) with one message each way per request; each gives the views of its
// blocks' shared row buffers (training/sharded-blocks.ts) and hands its blocks the world's shared
// decision batch (training/sharded-batch.ts) with a request when it is new to them. A worker that
// fails or exits rejects every pending and later request with an error naming it.
import { Worker } from "node:worker_threads";
import type { BuildOverrides } from "../engine/build.ts";
import { ShardError } from "../engine/shard-blocks.ts";
import { rowsViews, type AdvanceReport, type BlockMode, type BlockRows, type DecideReport, type PolicyBlocks } from "./sharded-blocks.ts";
import { workerModule } from "../engine/worker-module.ts";
import { Watchdog, WorkerStallError, type Stall } from "../engine/watchdog.ts";

/** What a worker needs to build its blocks (structured-cloned). */
export interface PolicyWorkerInit {
  policyShardWorker: true;
  configFile: string;
  build: BuildOverrides;
  pluginSpecs: string[];
  blocks: number[];
  /** A tool's host module (engine/shards.ts ShardHost) whose `extend` the worker applies to its blocks (townlet serve: tools/serve-shard-host.ts). */
  hostModule?: string;
  /** The worker's heartbeat word (engine/watchdog.ts). */
  beat?: SharedArrayBuffer;
  /** The chain of row offsets (training/sharded-batch.ts RowChain) and this worker's place in it. */
  chain: SharedArrayBuffer;
  thread: number;
}

/** Who decides next tick, and the decision's sequence number in the chain of row offsets. */
export interface NextDecision {
  mode: BlockMode;
  ratio: number;
  seq: number;
}

export type PolicyWorkerRequest =
  | { id: number; op: "decide"; mode: BlockMode; ratio: number; seq: number; batch?: SharedArrayBuffer }
  | { id: number; op: "advance"; conflict: boolean; hashes: boolean; next?: NextDecision; batch?: SharedArrayBuffer }
  | { id: number; op: "final"; at: number; batch?: SharedArrayBuffer }
  | { id: number; op: "reset"; seed: number }
  | { id: number; op: "load"; blocks: Uint8Array[]; configHash: string | null }
  | { id: number; op: "save"; configHash: string | null }
  | { id: number; op: "ext"; name: string; payload: unknown }
  | { id: number; op: "kpis" | "hashes" };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { name: string; message: string; reason?: string; block?: number; towns?: [number, number]; tick?: number } };

type Rebuffer = { live: number[]; sabs: (SharedArrayBuffer | null)[] };
type Loaded = Rebuffer & { tick: number; upgraded: boolean };

/** One thread's blocks, driven from the main thread. */
export interface Group {
  readonly blocks: readonly number[];
  /** Block i's views (of the group's i-th block). */
  rows(i: number): BlockRows;
  /** `batch`: the world's shared decision batch, handed to the blocks when new to them (as for advance and final). */
  decide(mode: BlockMode, ratio: number, seq: number, batch: SharedArrayBuffer): Promise<DecideReport>;
  advance(conflict: boolean, hashes: boolean, next: NextDecision | undefined, batch: SharedArrayBuffer): Promise<AdvanceReport>;
  reset(seed: number): Promise<Rebuffer>;
  /** Every live agent's key and observation into the batch from row `at`. */
  final(at: number, batch: SharedArrayBuffer): Promise<Rebuffer>;
  kpis(): Promise<Record<string, unknown>[]>;
  hashes(): Promise<string[]>;
  save(configHash: string | null): Promise<Uint8Array[]>;
  load(blocks: Uint8Array[], configHash: string | null): Promise<Loaded>;
  /** A request to the blocks' extension (PolicyBlocks.ext), answered when it settles. */
  ext(name: string, payload: unknown): Promise<unknown>;
  close(): Promise<void>;
}

export class LocalGroup implements Group {
  constructor(
    readonly set: PolicyBlocks,
    readonly blocks: readonly number[],
  ) {}
  rows(i: number): BlockRows {
    return this.set.rows[i];
  }
  async decide(mode: BlockMode, ratio: number, seq: number, batch: SharedArrayBuffer): Promise<DecideReport> {
    this.set.useBatch(batch);
    this.set.setMode(mode, ratio);
    return this.set.decide(seq);
  }
  async advance(conflict: boolean, hashes: boolean, next: NextDecision | undefined, batch: SharedArrayBuffer): Promise<AdvanceReport> {
    this.set.useBatch(batch);
    return this.set.advance(conflict, hashes, next);
  }
  async reset(seed: number): Promise<Rebuffer> {
    return this.set.reset(seed);
  }
  async final(at: number, batch: SharedArrayBuffer): Promise<Rebuffer> {
    this.set.useBatch(batch);
    return this.set.final(at);
  }
  async kpis(): Promise<Record<string, unknown>[]> {
    return this.set.set.kpis();
  }
  async hashes(): Promise<string[]> {
    return this.set.set.hashes();
  }
  async save(configHash: string | null): Promise<Uint8Array[]> {
    return this.set.set.save(configHash);
  }
  async load(blocks: Uint8Array[], configHash: string | null): Promise<Loaded> {
    return this.set.load(blocks, configHash);
  }
  async ext(name: string, payload: unknown): Promise<unknown> {
    if (!this.set.ext) throw new Error(`the blocks have no extension for "${name}"`);
    return this.set.ext.call(name, payload);
  }
  async close(): Promise<void> {}
}

function toError(e: Extract<Reply, { ok: false }>["error"], who: string): Error {
  if (e.name === "ShardError" && e.block !== undefined && e.towns && e.tick !== undefined) return new ShardError(e.block, e.towns, e.tick, e.reason ?? e.message);
  const err = new Error(`${who}: ${e.message}`);
  err.name = e.name;
  return err;
}

export class WorkerGroup implements Group {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private closing = false;
  private views: BlockRows[] = [];
  /** The shared batch the worker's blocks hold (sent with the first request after it changed). */
  private sentBatch: SharedArrayBuffer | undefined;
  startLive: number[] = [];

  private constructor(
    readonly index: number,
    readonly blocks: readonly number[],
    private readonly worker: Worker,
    private readonly D: number,
    private readonly A: number,
    /** Watches the worker while a decide or advance is pending (engine/watchdog.ts). */
    private readonly watchdog: Watchdog,
  ) {}
  /** The last tick the worker's blocks finished. */
  private tick = 0;

  private get who(): string {
    const b = this.blocks;
    return `training worker ${this.index} (blocks ${b.length === 1 ? b[0] : `${b[0]}..${b[b.length - 1]}`})`;
  }

  /**
   * Starts a worker and waits until it has built its blocks (or rejects with its error). A decide
   * or advance during which the worker finishes no block's half-tick for `watchdogSeconds` (0:
   * never) stops the worker and rejects with an error naming it and the tick.
   */
  static start(index: number, init: PolicyWorkerInit, D: number, A: number, watchdogSeconds = 0): Promise<WorkerGroup> {
    const mod = workerModule(import.meta.url, "training", "sharded-worker");
    const tsx = mod.tsx ? import.meta.resolve("tsx/esm/api") : undefined;
    const boot = tsx
      ? `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(mod.url)}); });`
      : `import(${JSON.stringify(mod.url)});`;
    let g: WorkerGroup | undefined = undefined;
    const watchdog = new Watchdog(watchdogSeconds, (s) => g!.stalled(s));
    const worker = new Worker(boot, { eval: true, workerData: { ...init, beat: watchdog.buffer } });
    g = new WorkerGroup(index, init.blocks, worker, D, A, watchdog);
    const group = g;

    const ready = new Promise<WorkerGroup>((resolve, reject) => {
      group.pending.set(0, {
        resolve: (v) => {
          const r = v as { sabs: SharedArrayBuffer[]; live: number[] };
          group.adopt(r.sabs);
          group.startLive = r.live;
          resolve(group);
        },
        reject,
      });
    });
    worker.on("message", (m: Reply) => group.settle(m));
    worker.on("error", (e) => group.fail(new Error(`${group.who} failed: ${e instanceof Error ? e.message : String(e)}`)));
    worker.on("exit", (code) => {
      if (!group.closing) group.fail(new Error(`${group.who} exited (code ${code}) while the world ran`));
    });
    return ready;
  }

  private settle(m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(toError(m.error, this.who));
  }

  /** The watchdog fired: the worker is stuck in a tick. Stop it; every pending request fails. */
  private stalled(s: Stall): void {
    this.fail(
      new WorkerStallError(
        `${this.who} finished no block's half-tick for ${(s.stalledMs / 1000).toFixed(1)} s during tick ${this.tick + 1} ` +
          `(a system that never returns, e.g. an endless loop in a plug-in); the worker was stopped (limit ${this.watchdog.seconds} s: --watchdog SECONDS, 0 for none)`,
      ),
    );
    this.closing = true;
    void this.worker.terminate();
  }

  private fail(e: Error): void {
    this.watchdog.stop();
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  private call<T>(req: DistributiveOmit<PolicyWorkerRequest, "id">): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...req, id });
    });
  }

  private adopt(sabs: (SharedArrayBuffer | null)[]): void {
    for (let i = 0; i < sabs.length; i++) {
      const sab = sabs[i];
      if (sab) this.views[i] = rowsViews(sab, this.D, this.A);
    }
  }

  rows(i: number): BlockRows {
    return this.views[i];
  }
  /** A request that runs the blocks' systems: watched until its reply (engine/watchdog.ts). */
  private async watched<T>(req: DistributiveOmit<PolicyWorkerRequest, "id">): Promise<T> {
    this.watchdog.arm();
    try {
      return await this.call<T>(req);
    } finally {
      this.watchdog.disarm();
    }
  }
  /** The batch when the worker's blocks do not hold it yet (then they will), else nothing. */
  private newBatch(batch: SharedArrayBuffer): { batch?: SharedArrayBuffer } {
    if (batch === this.sentBatch) return {};
    this.sentBatch = batch;
    return { batch };
  }
  async decide(mode: BlockMode, ratio: number, seq: number, batch: SharedArrayBuffer): Promise<DecideReport> {
    const r = await this.watched<DecideReport>({ op: "decide", mode, ratio, seq, ...this.newBatch(batch) });
    this.adopt(r.sabs);
    return r;
  }
  async advance(conflict: boolean, hashes: boolean, next: NextDecision | undefined, batch: SharedArrayBuffer): Promise<AdvanceReport> {
    const r = await this.watched<AdvanceReport>({ op: "advance", conflict, hashes, ...(next ? { next } : {}), ...this.newBatch(batch) });
    this.tick = r.tick;
    this.adopt(r.sabs);
    return r;
  }
  async reset(seed: number): Promise<Rebuffer> {
    const r = await this.call<Rebuffer>({ op: "reset", seed });
    this.adopt(r.sabs);
    return r;
  }
  async final(at: number, batch: SharedArrayBuffer): Promise<Rebuffer> {
    const r = await this.call<Rebuffer>({ op: "final", at, ...this.newBatch(batch) });
    this.adopt(r.sabs);
    return r;
  }
  kpis(): Promise<Record<string, unknown>[]> {
    return this.call({ op: "kpis" });
  }
  hashes(): Promise<string[]> {
    return this.call({ op: "hashes" });
  }
  save(configHash: string | null): Promise<Uint8Array[]> {
    return this.call({ op: "save", configHash });
  }
  async load(blocks: Uint8Array[], configHash: string | null): Promise<Loaded> {
    const r = await this.call<Loaded>({ op: "load", blocks, configHash });
    this.adopt(r.sabs);
    return r;
  }
  ext(name: string, payload: unknown): Promise<unknown> {
    return this.call({ op: "ext", name, payload });
  }
  async close(): Promise<void> {
    this.closing = true;
    this.watchdog.stop();
    this.failure ??= new Error("the sharded world is closed");
    await this.worker.terminate();
  }
}

