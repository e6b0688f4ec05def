// The threads of a sharded world (engine/shards.ts): one thread's blocks driven from the main
// thread, either in it (LocalGroup, --workers 1) or in a worker thread (WorkerGroup: requests
// and replies by message; a worker that fails, dies or exits rejects every pending request).
import { Worker } from "node:worker_threads";
import { BlockSet, ShardError, type AdvanceReport, type StepReport } from "./shard-blocks.ts";
import type { ShardExtension, WorkerInit } from "./shards.ts";
import { workerModule } from "./worker-module.ts";
import { Watchdog, WorkerStallError, type Stall } from "./watchdog.ts";

type Request = { id: number; op: "step"; hashes: boolean } | { id: number; op: "hashes" | "kpis" | "schedule" | "save" | "load" | "advance" | "timing" | "times" | "ext" | "reset" };
type Reply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { name: string; message: string; stack?: string; block?: number; towns?: [number, number]; tick?: number } };


/** One thread's blocks, driven from the main thread. */
export interface Group {
  readonly blocks: readonly number[];
  step(hashes: boolean): Promise<StepReport>;
  advance(ticks: number, hashes: boolean): Promise<AdvanceReport>;
  hashes(): Promise<string[]>;
  kpis(): Promise<Record<string, unknown>[]>;
  schedule(): Promise<string>;
  enableTiming(): Promise<void>;
  systemTimes(): Promise<[string, number][]>;
  save(configHash: string | null): Promise<Uint8Array[]>;
  /** Restores the thread's blocks; resolves to [tick, live agents]. */
  /** [tick, live agents, whether a block's layout was upgraded (BlockSet.load)] */
  load(blocks: Uint8Array[], configHash: string | null): Promise<[number, number, boolean]>;
  /** A request to the host's extension of this thread's blocks (ShardExtension.call). */
  ext(op: string, payload: unknown): Promise<unknown>;
  /** The thread's blocks start over with root seed `seed`, readied again (BlockSet.reset, readyBlocks); resolves to their live agents. */
  reset(seed: number): Promise<number>;
  close(): Promise<void>;
}

export class LocalGroup implements Group {
  constructor(
    private readonly set: BlockSet,
    private extension?: ShardExtension,
    /** Readies the blocks after a reset (engine/shard-blocks.ts readyBlocks): their extension anew. */
    private readonly ready?: (set: BlockSet) => Promise<ShardExtension | undefined>,
  ) {}
  get blocks(): number[] {
    return this.set.plans.map((p) => p.index);
  }
  async step(hashes: boolean): Promise<StepReport> {
    const r = this.set.step(hashes);
    // Copied as a worker's reply would be: what the main thread keeps is never the block's own.
    // An extension hands over values it keeps no reference to, as a worker's reply would be.
    if (this.extension?.afterStep) r.extra = this.extension.afterStep();
    return r;
  }
  async advance(ticks: number, hashes: boolean): Promise<AdvanceReport> {
    return this.set.advance(ticks, hashes);
  }
  async hashes(): Promise<string[]> {
    return this.set.hashes();
  }
  async kpis(): Promise<Record<string, unknown>[]> {
    return this.set.kpis();
  }
  async schedule(): Promise<string> {
    return this.set.worlds[0].formatSchedule();
  }
  async enableTiming(): Promise<void> {
    this.set.enableTiming();
  }
  async systemTimes(): Promise<[string, number][]> {
    return this.set.systemTimes();
  }
  async save(configHash: string | null): Promise<Uint8Array[]> {
    return this.set.save(configHash);
  }
  async load(blocks: Uint8Array[], configHash: string | null): Promise<[number, number, boolean]> {
    const upgraded = this.set.load(blocks, configHash);
    return [this.set.tick, this.set.agents(), upgraded];
  }
  async ext(op: string, payload: unknown): Promise<unknown> {
    if (!this.extension) throw new Error(`the host has no extension for "${op}"`);
    return this.extension.call(op, payload);
  }
  async reset(seed: number): Promise<number> {
    this.set.reset(seed);
    if (this.ready) this.extension = await this.ready(this.set);
    return this.set.agents();
  }
  async close(): Promise<void> {}
}

export class WorkerGroup implements Group {
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private closing = false;
  tick = 0;
  /** Live agents once the worker had built its blocks. */
  startAgents = 0;

  private constructor(
    readonly index: number,
    readonly blocks: readonly number[],
    private readonly worker: Worker,
    /** Watches the worker while a request that ticks is pending (engine/watchdog.ts). */
    private readonly watchdog: Watchdog,
  ) {}

  /**
   * Starts a worker and waits until it has built its blocks (or rejects with its error). A step or
   * advance during which the worker finishes no block's tick for `watchdogSeconds` (0: never)
   * stops the worker and rejects with an error naming it, the block and the tick.
   */
  static start(index: number, init: WorkerInit, watchdogSeconds = 0): Promise<WorkerGroup> {
    const mod = workerModule(import.meta.url, "engine", "shard-worker");
    // Node 20 does not honour `--import tsx` in a worker's execArgv: the worker registers tsx's
    // loader itself before importing the TypeScript entry (as systems/policy/device-worker.ts does).
    const tsx = mod.tsx ? import.meta.resolve("tsx/esm/api") : undefined;
    const boot = tsx
      ? `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(mod.url)}); });`
      : `import(${JSON.stringify(mod.url)});`;
    let g: WorkerGroup | undefined = undefined;
    const watchdog = new Watchdog(watchdogSeconds, (s) => g!.stalled(s));
    const worker = new Worker(boot, { eval: true, workerData: { ...init, beat: watchdog.buffer } });
    g = new WorkerGroup(index, init.blocks, worker, watchdog);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (m: Reply | { ready: true; agents: number } | { ready: false; error: Reply & { ok: false } }) => {
        if ("ready" in m) {
          if (m.ready) {
            ready = true;
            g.startAgents = m.agents;
            resolve(g);
          } else {
            g.failure = g.toError(m.error.error);
            reject(g.failure);
          }
          return;
        }
        g.settle(m);
      });
      worker.on("error", (e) => {
        const err = new Error(`worker ${index} (blocks ${g.range()}) failed${g.tick ? ` at tick ${g.tick + 1}` : ""}: ${e.message}`);
        g.fail(err);
        if (!ready) reject(err);
      });
      worker.on("exit", (code) => {
        if (g.closing) return;
        const err = g.failure ?? new Error(`worker ${index} (blocks ${g.range()}) exited with code ${code}${g.tick ? ` after tick ${g.tick}` : " while starting"}`);
        g.fail(err);
        if (!ready) reject(err);
      });
    });
  }

  private range(): string {
    return this.blocks.length === 1 ? String(this.blocks[0]) : `${this.blocks[0]}..${this.blocks[this.blocks.length - 1]}`;
  }

  private toError(e: Extract<Reply, { ok: false }>["error"]): Error {
    if (e.name === "ShardError" && e.block !== undefined && e.towns && e.tick !== undefined) {
      const err = new ShardError(e.block, e.towns, e.tick, e.message.replace(/^block \d+ \(towns \d+\.\.\d+\) failed at tick \d+: /, ""));
      return err;
    }
    const err = new Error(`worker ${this.index} (blocks ${this.range()}): ${e.message}`);
    err.name = e.name;
    if (e.stack) err.stack = e.stack;
    return err;
  }

  private settle(m: Reply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(this.toError(m.error));
  }

  /** The watchdog fired: the worker is stuck in a tick. Stop it; every pending request fails. */
  private stalled(s: Stall): void {
    const n = this.blocks.length;
    const tick = this.tick + 1 + Math.floor(s.beatsSinceArm / n);
    const block = this.blocks[s.beatsSinceArm % n];
    this.fail(
      new WorkerStallError(
        `worker ${this.index} (blocks ${this.range()}) finished no block's tick for ${(s.stalledMs / 1000).toFixed(1)} s: ` +
          `block ${block} is stuck in tick ${tick} (a system that never returns, e.g. an endless loop in a plug-in); the worker was stopped ` +
          `(limit ${this.watchdog.seconds} s: --watchdog SECONDS, 0 for none)`,
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

  private call<T>(op: Request["op"], extra: Record<string, unknown> = {}): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, op, ...extra });
    });
  }

  /** A request that ticks the blocks: watched until its reply (engine/watchdog.ts). */
  private async ticking<T extends { tick: number }>(op: "step" | "advance", extra: Record<string, unknown>): Promise<T> {
    this.watchdog.arm();
    try {
      const r = await this.call<T>(op, extra);
      this.tick = r.tick;
      return r;
    } finally {
      this.watchdog.disarm();
    }
  }
  step(hashes: boolean): Promise<StepReport> {
    return this.ticking<StepReport>("step", { hashes });
  }
  advance(ticks: number, hashes: boolean): Promise<AdvanceReport> {
    return this.ticking<AdvanceReport>("advance", { ticks, hashes });
  }
  hashes(): Promise<string[]> {
    return this.call("hashes");
  }
  kpis(): Promise<Record<string, unknown>[]> {
    return this.call("kpis");
  }
  schedule(): Promise<string> {
    return this.call("schedule");
  }
  enableTiming(): Promise<void> {
    return this.call("timing");
  }
  systemTimes(): Promise<[string, number][]> {
    return this.call("times");
  }
  save(configHash: string | null): Promise<Uint8Array[]> {
    return this.call("save", { configHash });
  }
  async load(blocks: Uint8Array[], configHash: string | null): Promise<[number, number, boolean]> {
    const r = await this.call<[number, number, boolean]>("load", { blocks, configHash });
    this.tick = r[0];
    return r;
  }
  ext(op: string, payload: unknown): Promise<unknown> {
    return this.call("ext", { name: op, payload });
  }
  async reset(seed: number): Promise<number> {
    const agents = await this.call<number>("reset", { seed });
    this.tick = 0;
    return agents;
  }
  async close(): Promise<void> {
    this.closing = true;
    this.watchdog.stop();
    await this.worker.terminate();
  }
}
