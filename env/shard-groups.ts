// The threads of the sharded batch env (env/sharded.ts): LocalGroup runs blocks in the main
// thread; WorkerGroup drives a worker thread (env/shard-env-worker.ts) through SharedArrayBuffers
// (actions in, each block's arrays out), one message each way per request, and an Atomics word
// the main thread waits on, so that reset/step stay synchronous. The env workers are started by
// one supervisor thread (Supervisor, below), whose event loop is never blocked: it sees a
// worker's end however it came (a V8 heap limit, terminate(), process.exit in a plug-in: no exit
// handler of the worker runs in the first two) and marks the worker dead in a shared word, so the
// main thread's wait, a timed loop over the reply word, the death words and the supervisor's
// heartbeat, ends with an error naming the worker instead of hanging.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort, type ResourceLimits } from "node:worker_threads";
import { ShardError } from "../engine/shard-blocks.ts";
import type { BlockEnvs, BlockMeta } from "./shard-blocks-env.ts";
import { workerModule } from "../engine/worker-module.ts";

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
  /** Index in envCtrl of this worker's progress word (1 added after each block's reset or step). */
  progress: number;
  port: MessagePort;
}

export type WorkerRequest = { op: "reset"; seed: number } | { op: "step"; counts: number[]; actions?: SharedArrayBuffer[] };
export type WorkerReply =
  | { ok: true; metas: BlockMeta[]; sabs: (SharedArrayBuffer | null)[]; spaces?: { D: number; A: number; features: number; map: number[]; agents: number } }
  | { ok: false; error: { name: string; message: string; block?: number; towns?: [number, number]; tick?: number } };

/** A block's arrays (rows of its last result). */
export interface BlockArrays {
  agents: Int32Array;
  uids: Uint32Array;
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
    uids: new Uint32Array(sab, 4 * cap, cap),
    rewards: new Float32Array(sab, 8 * cap, cap),
    obs: new Float32Array(sab, 12 * cap, cap * D),
    masks: new Uint8Array(sab, u8, cap * A),
    terminated: new Uint8Array(sab, u8 + cap * A, cap),
    truncated: new Uint8Array(sab, u8 + cap * A + cap, cap),
    taken: new Uint8Array(sab, u8 + cap * A + 2 * cap, cap),
    invalid: new Uint8Array(sab, u8 + cap * A + 3 * cap, cap),
  };
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

/**
 * The supervisor thread's code (plain JavaScript: it imports nothing of ours, so it needs no
 * loader). It starts one env worker per init, relays nothing, and on a worker's end (after its
 * 'error', if any) posts { slot, code, error } on its report port, then sets the worker's death
 * word and wakes the main thread waiting on the worker's reply word. Its heartbeat word goes up
 * every 100 ms, so the main thread tells a dead supervisor (which takes its workers with it) from
 * a busy worker.
 */
const SUPERVISOR = `
const { Worker, workerData } = require("node:worker_threads");
const d = workerData;
const ctrl = new Int32Array(d.ctrl);
const n = d.inits.length;
setInterval(() => Atomics.add(ctrl, 2 * n, 1), 100);
d.inits.forEach((init, slot) => {
  let error;
  const w = new Worker(d.boot, { eval: true, workerData: init, transferList: [init.port], resourceLimits: d.resourceLimits });
  w.on("error", (e) => { error ??= { name: (e && e.name) || "Error", message: (e && e.message) || String(e), code: e && e.code }; });
  w.on("exit", (code) => {
    d.report.postMessage({ slot, code, error });
    Atomics.store(ctrl, n + slot, 1);
    Atomics.notify(ctrl, slot);
  });
});
`;

/** How a worker ended, as the supervisor saw it. */
interface Death {
  slot: number;
  code: number;
  error?: { name: string; message: string; code?: string };
}

/** Silence of the supervisor's heartbeat after which it counts as gone (it beats every 100 ms). */
export const SUPERVISOR_SILENCE_MS = 10_000;
/** The same before its first beat: starting a thread can take seconds on a loaded machine. */
const SUPERVISOR_BOOT_MS = 60_000;

/** A worker of the sharded env ended (V8 heap limit, terminate(), process.exit, a crash): the env is stopped. */
export class EnvWorkerDied extends Error {
  override name = "EnvWorkerDied";
  constructor(
    /** The worker (0-based). */
    readonly worker: number,
    readonly blocks: readonly number[],
    readonly towns: readonly [number, number],
    /** What the env was doing: "the step to tick 8", "reset (seed 3)", "start-up". */
    readonly during: string,
    readonly reason: string,
  ) {
    const b = blocks.length === 1 ? `block ${blocks[0]}` : `blocks ${blocks[0]}..${blocks[blocks.length - 1]}`;
    super(`env worker ${worker} (${b}, towns ${towns[0]}..${towns[1]}) died during ${during}: ${reason}; the env is stopped (make a new one)`);
  }
}

/**
 * The supervisor thread of a sharded env's workers and the shared words: per worker a reply word
 * (0 = waiting, 1 = a reply is on the port) and a death word (1 = ended), then the supervisor's
 * heartbeat, then per worker a progress word (the worker adds 1 after each block's reset or step:
 * the main thread's watchdog, which stops the env, and with it the supervisor and every worker,
 * when a worker stuck in a step made none for the limit).
 */
export class Supervisor {
  readonly ctrl: Int32Array;
  private readonly worker: Worker;
  private readonly report: MessagePort;
  private readonly deaths = new Map<number, Death>();
  /** Ports of the main thread, one per worker. */
  readonly ports: MessagePort[] = [];

  constructor(inits: Omit<EnvWorkerInit, "slot" | "port" | "envCtrl" | "shardEnvWorker" | "progress">[], resourceLimits?: ResourceLimits) {
    const n = inits.length;
    const ctrlSab = new SharedArrayBuffer(4 * (3 * n + 1));
    this.ctrl = new Int32Array(ctrlSab);
    const mod = workerModule(import.meta.url, "env", "shard-env-worker");
    const tsx = mod.tsx ? import.meta.resolve("tsx/esm/api") : undefined;
    const boot = tsx
      ? `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(mod.url)}); });`
      : `import(${JSON.stringify(mod.url)});`;
    const full: EnvWorkerInit[] = inits.map((init, slot) => {
      const { port1, port2 } = new MessageChannel();
      port1.unref();
      this.ports.push(port1);
      return { ...init, shardEnvWorker: true, envCtrl: ctrlSab, slot, port: port2, progress: 2 * n + 1 + slot };
    });
    const { port1, port2 } = new MessageChannel();
    port1.unref();
    this.report = port1;
    this.worker = new Worker(SUPERVISOR, {
      eval: true,
      workerData: { ctrl: ctrlSab, boot, inits: full, report: port2, resourceLimits },
      transferList: [port2, ...full.map((f) => f.port)],
    });
    this.worker.unref();
  }

  get workers(): number {
    return this.ports.length;
  }

  /** How worker `slot` ended, or undefined while it runs. */
  death(slot: number): Death | undefined {
    if (Atomics.load(this.ctrl, this.workers + slot) === 0) return undefined;
    for (let m = receiveMessageOnPort(this.report); m !== undefined; m = receiveMessageOnPort(this.report)) {
      const d = m.message as Death;
      this.deaths.set(d.slot, d);
    }
    // The word is set after the report is posted, so the report is there.
    return this.deaths.get(slot) ?? { slot, code: -1 };
  }

  /** The heartbeat (goes up every 100 ms while the supervisor runs). */
  beat(): number {
    return Atomics.load(this.ctrl, 2 * this.workers);
  }

  /** Worker `slot`'s progress word: blocks reset or stepped so far. */
  progress(slot: number): number {
    return Atomics.load(this.ctrl, 2 * this.workers + 1 + slot);
  }

  /** Stops the supervisor, and with it every env worker. */
  close(): void {
    void this.worker.terminate();
  }
}

export class WorkerGroup implements Group {
  private readonly views: BlockArrays[] = [];
  private readonly caps: number[] = [];
  /** Actions buffers (shared), one per block; replaced when too small. */
  private actionSabs: SharedArrayBuffer[];
  private actionViews: Int32Array[];
  private sendActions = true;
  private dead: Error | undefined;
  private readonly port: MessagePort;
  spaces: NonNullable<Extract<WorkerReply, { ok: true }>["spaces"]> | undefined;

  /**
   * Worker `index` of `sup`, running `blocks` (towns `towns[0]..towns[1]`). During a reset or step,
   * a worker that finishes no block's reset or step for `watchdogSeconds` (0: never) is stopped and
   * the env fails with an EnvWorkerDied naming it (engine/watchdog.ts: a system that never returns).
   */
  constructor(
    readonly index: number,
    readonly blocks: readonly number[],
    readonly towns: readonly [number, number],
    private readonly sup: Supervisor,
    private readonly watchdogSeconds = 0,
  ) {
    this.port = sup.ports[index];
    this.actionSabs = blocks.map(() => new SharedArrayBuffer(64));
    this.actionViews = this.actionSabs.map((b) => new Int32Array(b));
  }

  /** Waits until the worker has built its blocks (or throws its error). */
  ready(): void {
    this.spaces = this.await("start-up").spaces;
  }

  private range(): string {
    return this.blocks.length === 1 ? String(this.blocks[0]) : `${this.blocks[0]}..${this.blocks[this.blocks.length - 1]}`;
  }

  /**
   * Waits for the worker's reply to the last request; throws its error, or EnvWorkerDied when
   * the worker ended (or its supervisor went silent) before replying. A timed wait: the death
   * word and the heartbeat are read at least every 100 ms; a busy worker is waited for as long
   * as it finishes a block's reset or step within the watchdog's limit (none during start-up).
   */
  private await(during: string): Extract<WorkerReply, { ok: true }> {
    if (this.dead) throw this.dead;
    const ctrl = this.sup.ctrl;
    let beat = this.sup.beat();
    let beatAt = Date.now();
    // Start-up builds the blocks (no progress until done): the watchdog watches resets and steps.
    const limitMs = during === "start-up" ? 0 : this.watchdogSeconds * 1000;
    let progress = this.sup.progress(this.index);
    let progressAt = beatAt;
    while (Atomics.load(ctrl, this.index) === 0) {
      const d = this.sup.death(this.index);
      // A reply posted just before the end still counts: read the word again.
      if (d !== undefined && Atomics.load(ctrl, this.index) === 0) throw (this.dead = this.died(during, d));
      Atomics.wait(ctrl, this.index, 0, 100);
      const b = this.sup.beat();
      if (b !== beat) {
        beat = b;
        beatAt = Date.now();
      } else if (Date.now() - beatAt > (b === 0 ? SUPERVISOR_BOOT_MS : SUPERVISOR_SILENCE_MS)) {
        const s = (b === 0 ? SUPERVISOR_BOOT_MS : SUPERVISOR_SILENCE_MS) / 1000;
        throw (this.dead = new EnvWorkerDied(this.index, this.blocks, this.towns, during, `its supervisor thread gave no sign of life for ${s} s`));
      }
      const p = this.sup.progress(this.index);
      if (p !== progress) {
        progress = p;
        progressAt = Date.now();
      } else if (limitMs > 0 && Date.now() - progressAt >= limitMs && Atomics.load(ctrl, this.index) === 0) {
        // The env stops on this error (ShardedVectorEnv closes the supervisor, which ends every worker).
        const stuck = ((Date.now() - progressAt) / 1000).toFixed(1);
        throw (this.dead = new EnvWorkerDied(this.index, this.blocks, this.towns, during, `it finished no block's reset or step for ${stuck} s (a system that never returns, e.g. an endless loop in a plug-in) and was stopped (limit ${this.watchdogSeconds} s: --watchdog SECONDS, 0 for none)`));
      }
    }
    const m = receiveMessageOnPort(this.port)?.message as WorkerReply | undefined;
    Atomics.store(ctrl, this.index, 0);
    if (m === undefined) throw (this.dead = new Error(`internal error (please report a bug): env worker ${this.index} (blocks ${this.range()}) signalled without a reply`));
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

  private died(during: string, d: Death): EnvWorkerDied {
    const how = d.error ? `${d.error.message}${d.error.code ? ` (${d.error.code})` : ""}, exit code ${d.code}` : `it exited with code ${d.code}`;
    return new EnvWorkerDied(this.index, this.blocks, this.towns, during, how);
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
    return this.finish(`reset (seed ${seed})`);
  }

  /** Writes the actions into the shared buffers and asks for a step (collect with finish). */
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

  /** The reply to the request posted last (`during` names it in an EnvWorkerDied). */
  finish(during: string): BlockMeta[] {
    return this.adopt(this.await(during));
  }

  step(counts: number[], actions: Int32Array[]): BlockMeta[] {
    this.beginStep(counts, actions);
    return this.finish("a step");
  }

  arrays(i: number): BlockArrays {
    return this.views[i];
  }

  close(): void {
    this.dead ??= new Error("the env is closed");
  }
}
