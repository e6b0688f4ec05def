// Neural decisions on the WebGPU device from inside world.step(). The policy phase is synchronous,
// and Dawn in Node has no blocking read-back (tfjs-backend-webgpu's dataSync needs an
// OffscreenCanvas), so the main thread cannot wait for its own GPU work. A worker thread owns a
// second WebGPU device: the main thread writes the tick's rows, float masks and draws into shared
// memory, wakes the worker and blocks in Atomics.wait; the worker runs the decision graph
// (NeuralPolicy.decideMaskedAsync: forward, masking, sampling on the GPU), awaits the one
// read-back of [n, 3] (action, log-probability, value), writes it back and wakes the main thread.
// Weights travel only when they changed (a policy id and version per call). Used only on the
// webgpu backend; TOWNLET_WEBGPU_ACT=host keeps decisions on the policy's host copy instead.
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { TF } from "../../engine/tensor.ts";

/** What a NeuralPolicy tells the worker about its shape. */
interface Shape {
  inputSize: number;
  actionCount: number;
  hidden: readonly number[];
}

// Control words (Int32): state, generation of the data buffer, then the request header.
const STATE = 0;
const GEN = 1;
const N = 2;
const FLAGS = 3; // 1 = draws, 2 = forced, 4 = weights changed
const POLICY_ID = 4;
const VERSION = 5;
const D_ = 6;
const L_ = 7;
const H_COUNT = 8;
const H0 = 9; // hidden sizes from here (up to 16)
const CTRL_INTS = H0 + 16;
const IDLE = 0;
const REQUEST = 1;
const DONE = 2;
const FAILED = 3;
const READY = 4;

/** Offsets (bytes) of each region in a data buffer for `cap` rows. */
function layout(cap: number, D: number, L: number, P: number) {
  const obs = 0;
  const masks = obs + cap * D * 4;
  const draws = masks + cap * L * 4;
  const forced = draws + cap * 4;
  const out = forced + cap * 4;
  const weights = out + cap * 3 * 4;
  return { obs, masks, draws, forced, out, weights, bytes: weights + P * 4 };
}

export class DeviceWorker {
  private readonly ctrl: Int32Array;
  private data: SharedArrayBuffer | undefined;
  private cap = 0;
  private dims = { D: 0, L: 0, P: 0 };
  private gen = 0;
  private loaded = { id: -1, version: -1 };

  private constructor(
    private readonly worker: Worker,
    ctrlBuf: SharedArrayBuffer,
  ) {
    this.ctrl = new Int32Array(ctrlBuf);
  }

  /** Starts the worker and waits (blocking) until its device is ready; throws with the worker's reason. */
  static start(timeoutMs = 60_000): DeviceWorker {
    const ctrlBuf = new SharedArrayBuffer(CTRL_INTS * 4);
    const errBuf = new SharedArrayBuffer(4096);
    // The worker loads this TypeScript file through tsx's loader (an `--import tsx` in a worker's
    // execArgv is not honoured by Node 20); a failure to load is reported through shared memory,
    // since this thread is blocked until the worker answers.
    const tsx = import.meta.resolve("tsx/esm/api");
    const boot = `
      const { workerData } = require("node:worker_threads");
      import(${JSON.stringify(tsx)})
        .then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })
        .catch((e) => {
          const b = new Uint8Array(workerData.err);
          b.set(Buffer.from(String(e && e.stack || e)).subarray(0, b.length - 1));
          const c = new Int32Array(workerData.ctrl);
          Atomics.store(c, 0, ${FAILED});
          Atomics.notify(c, 0);
        });`;
    const w = new Worker(boot, { eval: true, workerData: { ctrl: ctrlBuf, err: errBuf } });
    w.on("error", () => {});
    w.unref();
    const dw = new DeviceWorker(w, ctrlBuf);
    const ctrl = dw.ctrl;
    const t0 = Date.now();
    while (Atomics.load(ctrl, STATE) !== READY) {
      if (Atomics.load(ctrl, STATE) === FAILED) throw new Error(readText(errBuf));
      if (Date.now() - t0 > timeoutMs) throw new Error(`the WebGPU device worker did not start within ${timeoutMs / 1000} s`);
      Atomics.wait(ctrl, STATE, Atomics.load(ctrl, STATE), 200);
    }
    Atomics.store(ctrl, STATE, IDLE);
    (dw as { errBuf?: SharedArrayBuffer }).errBuf = errBuf;
    return dw;
  }

  /** One decision step on the worker's device; returns the [n, 3] read-back (a view, valid until the next call). */
  decide(
    key: { id: number; version: number },
    weights: Float32Array,
    shape: Shape,
    input: Float32Array,
    maskFloats: Float32Array,
    n: number,
    draws?: Float32Array,
    forced?: Int32Array,
  ): Float32Array {
    const D = shape.inputSize;
    const L = shape.actionCount;
    const P = weights.length;
    if (shape.hidden.length > 16) throw new Error("the device worker takes at most 16 hidden layers");
    if (!this.data || n > this.cap || D !== this.dims.D || L !== this.dims.L || P > this.dims.P) this.grow(Math.max(n, this.cap * 2, 1024), D, L, Math.max(P, this.dims.P));
    const lay = layout(this.cap, D, L, this.dims.P);
    const buf = this.data!;
    new Float32Array(buf, lay.obs, n * D).set(input.subarray(0, n * D));
    new Float32Array(buf, lay.masks, n * L).set(maskFloats.subarray(0, n * L));
    let flags = 0;
    if (draws) {
      new Float32Array(buf, lay.draws, n).set(draws.subarray(0, n));
      flags |= 1;
    }
    if (forced) {
      new Int32Array(buf, lay.forced, n).set(forced.subarray(0, n));
      flags |= 2;
    }
    if (this.loaded.id !== key.id || this.loaded.version !== key.version) {
      new Float32Array(buf, lay.weights, P).set(weights);
      flags |= 4;
      this.loaded = { ...key };
    }
    const c = this.ctrl;
    c[N] = n;
    c[FLAGS] = flags;
    c[POLICY_ID] = key.id;
    c[VERSION] = key.version;
    c[D_] = D;
    c[L_] = L;
    c[H_COUNT] = shape.hidden.length;
    shape.hidden.forEach((h, i) => (c[H0 + i] = h));
    Atomics.store(c, STATE, REQUEST);
    Atomics.notify(c, STATE);
    while (true) {
      const st = Atomics.load(c, STATE);
      if (st === DONE) break;
      if (st === FAILED) {
        this.loaded = { id: -1, version: -1 };
        Atomics.store(c, STATE, IDLE);
        throw new Error(`the WebGPU device worker failed: ${readText((this as { errBuf?: SharedArrayBuffer }).errBuf!)}`);
      }
      Atomics.wait(c, STATE, st, 1000);
    }
    Atomics.store(c, STATE, IDLE);
    return new Float32Array(buf, lay.out, n * 3);
  }

  private grow(cap: number, D: number, L: number, P: number): void {
    this.cap = cap;
    this.dims = { D, L, P };
    this.data = new SharedArrayBuffer(layout(cap, D, L, P).bytes);
    this.gen++;
    this.loaded = { id: -1, version: -1 };
    this.worker.postMessage({ data: this.data, cap, gen: this.gen, P });
    Atomics.store(this.ctrl, GEN, this.gen);
  }
}

function readText(buf: SharedArrayBuffer): string {
  const b = new Uint8Array(buf);
  const end = b.indexOf(0);
  return Buffer.from(b.subarray(0, end < 0 ? b.length : end)).toString("utf8") || "unknown error";
}

function writeText(buf: SharedArrayBuffer, s: string): void {
  const b = new Uint8Array(buf);
  b.fill(0);
  b.set(Buffer.from(s, "utf8").subarray(0, b.length - 1));
}

let shared: DeviceWorker | null | undefined;
let failure: string | undefined;

/**
 * The process's device worker when the active backend is webgpu (started on first use), or
 * undefined (another backend, TOWNLET_WEBGPU_ACT=host, or it failed to start: then the reason is
 * printed once and decisions use the host copy of the weights).
 */
export function deviceWorkerFor(tf: TF): DeviceWorker | undefined {
  if (shared !== undefined) return shared ?? undefined;
  if (tf.getBackend() !== "webgpu" || process.env.TOWNLET_WEBGPU_ACT === "host" || !isMainThread) {
    shared = null;
    return undefined;
  }
  try {
    shared = DeviceWorker.start();
  } catch (e) {
    shared = null;
    failure = (e as Error).message;
    process.stderr.write(`webgpu: decisions inside a tick run on the host copy of the weights (the device worker did not start: ${failure})\n`);
  }
  return shared ?? undefined;
}

// ---- the worker side ------------------------------------------------------------------------------

/** Atomics.waitAsync (Node >= 16; not in TypeScript's ES2022 lib). */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

async function serve(): Promise<void> {
  const { ctrl: ctrlBuf, err } = workerData as { ctrl: SharedArrayBuffer; err: SharedArrayBuffer };
  const c = new Int32Array(ctrlBuf);
  const fail = (e: unknown) => {
    writeText(err, (e as Error)?.message ?? String(e));
    Atomics.store(c, STATE, FAILED);
    Atomics.notify(c, STATE);
  };
  let tf: TF;
  let NeuralPolicyCtor: typeof import("./policies.ts").NeuralPolicy;
  try {
    const { initTensorBackend } = await import("../../engine/tensor.ts");
    tf = (await initTensorBackend("webgpu")).tf;
    NeuralPolicyCtor = (await import("./policies.ts")).NeuralPolicy;
  } catch (e) {
    fail(e);
    return;
  }
  let data: SharedArrayBuffer | undefined;
  let cap = 0;
  let gen = 0;
  let P = 0;
  let buffered: ((v: void) => void) | undefined;
  parentPort!.on("message", (m: { data: SharedArrayBuffer; cap: number; gen: number; P: number }) => {
    data = m.data;
    cap = m.cap;
    gen = m.gen;
    P = m.P;
    buffered?.();
  });
  let policy: InstanceType<typeof NeuralPolicyCtor> | undefined;
  let held = { id: -1, version: -1 };
  Atomics.store(c, STATE, READY);
  Atomics.notify(c, STATE);
  for (;;) {
    const st = Atomics.load(c, STATE);
    const w = waitAsync(c, STATE, st === REQUEST ? -1 : st);
    if (w.async) await w.value;
    if (Atomics.load(c, STATE) !== REQUEST) continue;
    try {
      // The data buffer of this generation may still be in flight as a message.
      while (gen !== Atomics.load(c, GEN)) await new Promise<void>((r) => (buffered = r));
      const n = c[N];
      const flags = c[FLAGS];
      const D = c[D_];
      const L = c[L_];
      const hidden = Array.from(c.subarray(H0, H0 + c[H_COUNT]));
      const lay = layout(cap, D, L, P);
      if (flags & 4 || !policy || held.id !== c[POLICY_ID] || held.version !== c[VERSION]) {
        const count = hidden.reduce((acc, h, i) => acc + (i === 0 ? D : hidden[i - 1]) * h + h, 0) + ((hidden.at(-1) ?? D) + 1) * (L + 1);
        const weights = new Float32Array(count);
        weights.set(new Float32Array(data!, lay.weights, count));
        policy?.dispose();
        policy = new NeuralPolicyCtor(tf, { inputSize: D, actionCount: L, hidden, variant: "worker", configId: "worker" }, weights);
        held = { id: c[POLICY_ID], version: c[VERSION] };
      }
      const input = new Float32Array(data!, lay.obs, n * D).slice();
      const masks = new Float32Array(data!, lay.masks, n * L).slice();
      const draws = flags & 1 ? new Float32Array(data!, lay.draws, n).slice() : undefined;
      const forced = flags & 2 ? new Int32Array(data!, lay.forced, n).slice() : undefined;
      const out = await policy.decideMaskedAsync(input, masks, n, draws, forced);
      new Float32Array(data!, lay.out, n * 3).set(out.subarray(0, n * 3));
      Atomics.store(c, STATE, DONE);
      Atomics.notify(c, STATE);
    } catch (e) {
      fail(e);
    }
  }
}

if (!isMainThread && (workerData as { ctrl?: unknown } | null)?.ctrl) void serve();
