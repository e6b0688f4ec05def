// The threads of the sharded batch env (env/sharded.ts): LocalGroup runs blocks in the main
// thread; WorkerGroup drives a worker thread (env/shard-env-worker.ts) through SharedArrayBuffers
// (actions in, each block's arrays out), one message each way per request, and an Atomics word
// the main thread waits on, so that reset/step stay synchronous.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { ShardError } from "../engine/shard-blocks.ts";
import type { BlockEnvs, BlockMeta } from "./shard-blocks-env.ts";

/** What an env worker needs to build its blocks. */
export interface EnvWorkerInit {
  shardEnvWorker: true;
  configFile: string;
  overrides: Record<string, unknown> | undefined;
  maxCycles: number;
  pluginSpecs: string[];
  blocks: number[];
  envCtrl: SharedArrayBuffer;
  slot: number;
  port: MessagePort;
}

export type WorkerRequest = { op: "reset"; seed: number } | { op: "step"; counts: number[]; actions?: SharedArrayBuffer[] };
export type WorkerReply =
  | { ok: true; metas: BlockMeta[]; sabs: (SharedArrayBuffer | null)[]; spaces?: { D: number; A: number; features: number; map: number[]; agents: number } }
  | { ok: false; error: { name: string; message: string; block?: number; towns?: [number, number]; tick?: number } };

/** A block's arrays (rows of its last result). */
export interface BlockArrays {
  agents: Int32Array;
  uids: Int32Array;
  rewards: Float32Array;
  obs: Float32Array;
  masks: Uint8Array;
  terminated: Uint8Array;
  truncated: Uint8Array;
  taken: Uint8Array;
  invalid: Uint8Array;
}

/** Bytes of a block's shared buffer for `cap` rows. */
export function blockBytes(cap: number, D: number, A: number): number {
  return 12 * cap + 4 * cap * D + cap * A + 4 * cap;
}

/** Views of a block's shared buffer of `cap` rows. */
export function blockViews(sab: SharedArrayBuffer, cap: number, D: number, A: number): BlockArrays {
  const u8 = 12 * cap + 4 * cap * D;
  return {
    agents: new Int32Array(sab, 0, cap),
    uids: new Int32Array(sab, 4 * cap, cap),
    rewards: new Float32Array(sab, 8 * cap, cap),
    obs: new Float32Array(sab, 12 * cap, cap * D),
    masks: new Uint8Array(sab, u8, cap * A),
    terminated: new Uint8Array(sab, u8 + cap * A, cap),
    truncated: new Uint8Array(sab, u8 + cap * A + cap, cap),
    taken: new Uint8Array(sab, u8 + cap * A + 2 * cap, cap),
    invalid: new Uint8Array(sab, u8 + cap * A + 3 * cap, cap),
  };
}

/** The worker's entry module, as sources (through tsx) or compiled. */
function workerModule(): { url: string; tsx: boolean } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) return { url: new URL("./shard-env-worker.ts", here).href, tsx: true };
  for (const rel of ["./shard-env-worker.js", "../env/shard-env-worker.js"]) {
    const u = new URL(rel, here);
    if (existsSync(fileURLToPath(u))) return { url: u.href, tsx: false };
  }
  throw new Error(`the env shard worker module (env/shard-env-worker.js) was not found next to ${fileURLToPath(here)}`);
}

/** One thread's blocks as seen from the main thread. */
export interface Group {
  readonly blocks: readonly number[];
  reset(seed: number): BlockMeta[];
  step(counts: number[], actions: Int32Array[]): BlockMeta[];
  /** Arrays of the group's i-th block after the last reset/step. */
  arrays(i: number): BlockArrays;
  close(): void;
}

export class LocalGroup implements Group {
  constructor(
    readonly set: BlockEnvs,
    readonly blocks: readonly number[],
  ) {}
  reset(seed: number): BlockMeta[] {
    return this.set.reset(seed);
  }
  step(counts: number[], actions: Int32Array[]): BlockMeta[] {
    return this.set.step(counts.map((c, i) => actions[i].subarray(0, c)));
  }
  arrays(i: number): BlockArrays {
    return this.set.results[i];
  }
  close(): void {}
}

export class WorkerGroup implements Group {
  private readonly views: BlockArrays[] = [];
  private readonly caps: number[] = [];
  /** Actions buffers (shared), one per block; replaced when too small. */
  private actionSabs: SharedArrayBuffer[];
  private actionViews: Int32Array[];
  private sendActions = true;
  private dead: Error | undefined;
  spaces: NonNullable<Extract<WorkerReply, { ok: true }>["spaces"]> | undefined;

  constructor(
    readonly index: number,
    readonly blocks: readonly number[],
    private readonly worker: Worker,
    private readonly port: MessagePort,
    private readonly ctrl: Int32Array,
  ) {
    this.actionSabs = blocks.map(() => new SharedArrayBuffer(64));
    this.actionViews = this.actionSabs.map((b) => new Int32Array(b));
    worker.unref();
    port.unref();
  }

  static start(index: number, blocks: number[], init: Omit<EnvWorkerInit, "blocks" | "slot" | "port" | "envCtrl" | "shardEnvWorker">, ctrlSab: SharedArrayBuffer): WorkerGroup {
    const mod = workerModule();
    const tsx = mod.tsx ? import.meta.resolve("tsx/esm/api") : undefined;
    const boot = tsx
      ? `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(mod.url)}); });`
      : `import(${JSON.stringify(mod.url)});`;
    const { port1, port2 } = new MessageChannel();
    const full: EnvWorkerInit = { ...init, shardEnvWorker: true, blocks, envCtrl: ctrlSab, slot: index, port: port2 };
    const ctrl = new Int32Array(ctrlSab);
    Atomics.store(ctrl, index, 0);
    const worker = new Worker(boot, { eval: true, workerData: full, transferList: [port2] });
    return new WorkerGroup(index, blocks, worker, port1, ctrl);
  }

  /** Waits until the worker has built its blocks (or throws its error). */
  ready(): void {
    this.spaces = this.await().spaces;
  }

  private range(): string {
    return this.blocks.length === 1 ? String(this.blocks[0]) : `${this.blocks[0]}..${this.blocks[this.blocks.length - 1]}`;
  }

  /** Waits for the worker's reply to the last request; throws its error. */
  private await(): Extract<WorkerReply, { ok: true }> {
    if (this.dead) throw this.dead;
    while (Atomics.load(this.ctrl, this.index) === 0) Atomics.wait(this.ctrl, this.index, 0, 1000);
    const state = Atomics.load(this.ctrl, this.index);
    const m = receiveMessageOnPort(this.port)?.message as WorkerReply | undefined;
    if (state === 2 && m === undefined) throw (this.dead = new Error(`env worker ${this.index} (blocks ${this.range()}) exited`));
    Atomics.store(this.ctrl, this.index, 0);
    if (m === undefined) throw (this.dead = new Error(`env worker ${this.index} (blocks ${this.range()}) signalled without a reply`));
    if (!m.ok) {
      const e = m.error;
      if (e.name === "ShardError" && e.block !== undefined && e.towns && e.tick !== undefined) {
        throw (this.dead = new ShardError(e.block, e.towns, e.tick, e.message.replace(/^block \d+ \(towns \d+\.\.\d+\) failed at tick \d+: /, "")));
      }
      const err = new Error(`env worker ${this.index} (blocks ${this.range()}): ${e.message}`);
      err.name = e.name;
      throw (this.dead = err);
    }
    return m;
  }

  private adopt(r: Extract<WorkerReply, { ok: true }>): BlockMeta[] {
    const s = this.spaces!;
    for (let i = 0; i < r.sabs.length; i++) {
      const sab = r.sabs[i];
      if (sab) {
        this.caps[i] = (sab.byteLength / blockBytes(1, s.D, s.A)) | 0;
        this.views[i] = blockViews(sab, this.caps[i], s.D, s.A);
      }
    }
    return r.metas;
  }

  post(m: WorkerRequest): void {
    if (this.dead) throw this.dead;
    this.port.postMessage(m);
  }

  reset(seed: number): BlockMeta[] {
    this.post({ op: "reset", seed });
    return this.adopt(this.await());
  }

  /** Writes the actions into the shared buffers and asks for a step (collect with finishStep). */
  beginStep(counts: number[], actions: Int32Array[]): void {
    for (let i = 0; i < this.blocks.length; i++) {
      if (this.actionViews[i].length < counts[i]) {
        this.actionSabs[i] = new SharedArrayBuffer(4 * Math.max(16, counts[i] * 2));
        this.actionViews[i] = new Int32Array(this.actionSabs[i]);
        this.sendActions = true;
      }
      this.actionViews[i].set(actions[i].subarray(0, counts[i]));
    }
    this.post(this.sendActions ? { op: "step", counts, actions: this.actionSabs } : { op: "step", counts });
    this.sendActions = false;
  }

  finishStep(): BlockMeta[] {
    return this.adopt(this.await());
  }

  step(counts: number[], actions: Int32Array[]): BlockMeta[] {
    this.beginStep(counts, actions);
    return this.finishStep();
  }

  arrays(i: number): BlockArrays {
    return this.views[i];
  }

  close(): void {
    this.dead ??= new Error("the env is closed");
    void this.worker.terminate();
  }
}
