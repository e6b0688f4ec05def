// The neural policy: an MLP over the observation row (policy head of A logits, value head), run
// on the tensor backend's device; its forward pass for training, its batched decision step for a
// tick, and its checkpoints (checkpoint.ts). Draws come from the world's `policy` stream.
import type * as tfn from "@tensorflow/tfjs";
import type { World } from "../../engine/world.ts";
import { maxDeviceBufferBytes, oneHotF, type TF } from "../../engine/tensor.ts";
import type { ObservationBatch } from "./observe.ts";
import type { Policy } from "./policies.ts";
import { deviceWorkerFor } from "./device-worker.ts";
import {
  CheckpointError,
  initialWeights,
  readCheckpoint,
  sha256,
  weightBytes,
  weightLayout,
  writeCheckpoint,
  type CheckpointExpectations,
  type TensorEntry,
} from "./checkpoint.ts";
import { denseLayer } from "./layers.ts";
import { MASK_PENALTY, decideOnHost, forwardOnHost, type HostNetwork } from "./neural-host.ts";

export interface NeuralPolicyOptions {
  /** Floats per agent in the observation rows. */
  inputSize: number;
  /** Actions (policy head width). */
  actionCount: number;
  /** Hidden layer widths; default [128, 128]. */
  hidden?: readonly number[];
  /** Seed of the weight initialisation; default 0. */
  seed?: number;
  /** Most likely allowed action instead of sampling. */
  greedy?: boolean;
  /** Observation layout the network reads (recorded in checkpoints). */
  variant: string;
  /** config_id of the run it belongs to (recorded in checkpoints). */
  configId: string;
  /** Action names (recorded and checked on load); default none. */
  actionNames?: readonly string[];
}

let nextPolicyId = 1;

/** Backends that answer dataSync (webgpu does not in Node: see NeuralPolicy.refresh). */
const SYNC_READ_BACKENDS = new Set(["wasm", "cpu", "tensorflow", "webgl"]);

/**
 * An MLP policy: input -> hidden (ReLU) ... -> policy head (A logits) and value head (1).
 * Weights are Glorot-uniform from a seeded stream (biases 0; the policy head scaled by 0.01 so
 * a fresh policy is near uniform). Forward pass, masking, softmax and sampling run on the tensor
 * backend's device (`decide`: one upload of the tick's rows, one read-back of the actions); the
 * draws come from the world's `policy` stream, one per deciding agent in agent order.
 */
export class NeuralPolicy implements Policy {
  readonly name = "neural";
  readonly needsObservations = true;
  readonly inputSize: number;
  readonly actionCount: number;
  readonly hidden: readonly number[];
  readonly seed: number;
  readonly variant: string;
  readonly configId: string;
  readonly actionNames: readonly string[];
  greedy: boolean;
  /** Trainable variables in order: [W0, b0, W1, b1, ..., Wpi, bpi, Wv, bv]. */
  readonly variables: tfn.Variable[];
  private readonly entries: TensorEntry[];
  constructor(
    readonly tf: TF,
    opts: NeuralPolicyOptions,
    weights?: Float32Array,
  ) {
    const hidden = [...(opts.hidden ?? [128, 128])];
    for (const h of hidden) if (!Number.isInteger(h) || h < 1) throw new RangeError(`hidden layer sizes must be positive integers, got ${hidden.join(",")}`);
    if (!Number.isInteger(opts.inputSize) || opts.inputSize < 1) throw new RangeError(`inputSize must be a positive integer, got ${opts.inputSize}`);
    if (!Number.isInteger(opts.actionCount) || opts.actionCount < 1) throw new RangeError(`actionCount must be a positive integer, got ${opts.actionCount}`);
    this.inputSize = opts.inputSize;
    this.actionCount = opts.actionCount;
    this.hidden = hidden;
    this.seed = opts.seed ?? 0;
    this.greedy = opts.greedy ?? false;
    this.variant = opts.variant;
    this.configId = opts.configId;
    this.actionNames = [...(opts.actionNames ?? [])];
    const entries = weightLayout(this.inputSize, hidden, this.actionCount);
    const last = entries[entries.length - 1];
    const offset = last.offset + last.length;
    this.entries = entries;
    let flat = weights;
    if (flat) {
      if (flat.length !== offset) throw new CheckpointError(`weights hold ${flat.length} floats, the network needs ${offset}`);
    } else flat = initialWeights(entries, this.seed);
    this.variables = entries.map((e) => tf.variable(tf.tensor(flat.subarray(e.offset, e.offset + e.length), e.shape, "float32"), true));
    if (!SYNC_READ_BACKENDS.has(tf.getBackend())) this.hostMirror = flat.slice();
  }

  /** Number of parameters. */
  get parameterCount(): number {
    const last = this.entries[this.entries.length - 1];
    return last.offset + last.length;
  }

  /**
   * The forward pass on tensors (for training; call inside `tf.tidy`): logits [n, A] and
   * value [n].
   */
  forward(x: tfn.Tensor2D): { logits: tfn.Tensor2D; value: tfn.Tensor1D } {
    const v = this.variables;
    let h: tfn.Tensor2D = x;
    let k = 0;
    for (let i = 0; i < this.hidden.length; i++, k += 2) {
      // The input rows need no gradient (the first layer's dx is never used).
      h = denseLayer(this.tf, h, v[k] as tfn.Tensor2D, v[k + 1] as tfn.Tensor1D, true, i > 0);
    }
    const logits = denseLayer(this.tf, h, v[k] as tfn.Tensor2D, v[k + 1] as tfn.Tensor1D, false, true);
    const value = denseLayer(this.tf, h, v[k + 2] as tfn.Tensor2D, v[k + 3] as tfn.Tensor1D, false, true).reshape([-1]) as tfn.Tensor1D;
    return { logits, value };
  }

  /** Logits [n, A] and values [n] on the device, read back asynchronously (any backend). */
  async evaluateAsync(input: Float32Array, n: number): Promise<{ logits: Float32Array; value: Float32Array }> {
    const tf = this.tf;
    if (n === 0) return { logits: new Float32Array(0), value: new Float32Array(0) };
    const rows = this.maxRows();
    if (n > rows) {
      // Chunks that fit the device's largest storage buffer binding.
      const L = this.actionCount;
      const logits = new Float32Array(n * L);
      const value = new Float32Array(n);
      for (let lo = 0; lo < n; lo += rows) {
        const k = Math.min(rows, n - lo);
        const r = await this.evaluateAsync(input.subarray(lo * this.inputSize, (lo + k) * this.inputSize), k);
        logits.set(r.logits, lo * L);
        value.set(r.value, lo);
      }
      return { logits, value };
    }
    const [l, v] = tf.tidy(() => {
      const { logits, value } = this.forward(tf.tensor2d(input.subarray(0, n * this.inputSize), [n, this.inputSize], "float32"));
      return [logits, value];
    });
    try {
      return { logits: (await l.data()) as Float32Array, value: (await v.data()) as Float32Array };
    } finally {
      l.dispose();
      v.dispose();
    }
  }

  /**
   * Logits [n, A] and values [n] for `n` rows of `input` (row-major [n, inputSize]); on the host
   * mirror where the backend cannot read synchronously.
   */
  evaluate(input: Float32Array, n: number): { logits: Float32Array; value: Float32Array } {
    const tf = this.tf;
    if (n === 0) return { logits: new Float32Array(0), value: new Float32Array(0) };
    if (input.length < n * this.inputSize) throw new RangeError(`evaluate: ${input.length} floats for ${n} rows of ${this.inputSize}`);
    if (this.hostMirror) return this.forwardOnHost(input, n);
    const [l, v] = tf.tidy(() => {
      const x = tf.tensor2d(input.subarray(0, n * this.inputSize), [n, this.inputSize], "float32");
      const { logits, value } = this.forward(x);
      return [logits, value];
    });
    try {
      return { logits: l.dataSync() as Float32Array, value: v.dataSync() as Float32Array };
    } finally {
      l.dispose();
      v.dispose();
    }
  }

  /**
   * Probabilities [n, A] of `n` rows of logits (row stride = this.actionCount) under `masks`
   * (row stride A): softmax of `logits + (mask - 1) * 1e9`, computed in JavaScript. Actions
   * beyond the network's width (a registry that grew) get 0.
   */
  probabilities(logits: Float32Array, masks: Uint8Array, n: number, out: Float64Array | Float32Array): void {
    const A = n === 0 ? 0 : masks.length / n;
    for (let i = 0; i < n; i++) this.rowProbabilities(logits, i, masks, A, out, i * A);
  }

  private rowProbabilities(logits: Float32Array, i: number, masks: Uint8Array, A: number, out: Float64Array | Float32Array, at: number): void {
    const L = this.actionCount;
    const lrow = i * L;
    const mrow = i * A;
    let max = -Infinity;
    for (let j = 0; j < A; j++) {
      const z = j < L ? logits[lrow + j] + (masks[mrow + j] - 1) * MASK_PENALTY : -Infinity;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let j = 0; j < A; j++) {
      const z = j < L ? logits[lrow + j] + (masks[mrow + j] - 1) * MASK_PENALTY : -Infinity;
      const e = Math.exp(z - max);
      out[at + j] = e;
      sum += e;
    }
    for (let j = 0; j < A; j++) out[at + j] /= sum;
  }

  act(world: World, obs: ObservationBatch | undefined, masks: Uint8Array, agents: Int32Array, out: Int32Array): void {
    const n = agents.length;
    if (n === 0) return;
    if (!obs) throw new Error("the neural policy needs observations, and none were built");
    if (obs.variant !== this.variant) {
      throw new Error(`the neural policy reads observation variant "${this.variant}", but was given "${obs.variant}"`);
    }
    if (obs.size !== this.inputSize) throw new Error(`the neural policy reads ${this.inputSize} floats per agent, the observations hold ${obs.size}`);
    let draws: Float32Array | undefined;
    if (!this.greedy) {
      // One draw of the `policy` stream per agent, in agent order (as the sampling always drew).
      if (this.draws.length < n) this.draws = new Float32Array(Math.max(n, this.draws.length * 2));
      draws = this.draws;
      const rng = world.rng.get("policy");
      for (let i = 0; i < n; i++) draws[i] = rng.next();
    }
    const r = this.decide(obs.data, masks, n, draws);
    for (let i = 0; i < n; i++) out[i] = r.actions[i];
  }

  private draws = new Float32Array(0);
  private result = { actions: new Int32Array(0), logp: new Float32Array(0), value: new Float32Array(0) };

  /**
   * One decision step on the tensor device. Uploads the observation rows, the masks (row stride
   * A = masks.length / n; columns beyond the network's width are never chosen) and, when sampling,
   * one uniform draw per row, once; masks, samples (the first action whose cumulative probability
   * exceeds the draw, as inverse-CDF sampling) or takes the most likely allowed action (no
   * `draws`) on the device; where `forced[i]` >= 0 that action is taken instead (and its
   * log-probability reported). One read-back of [n, 3] floats: action, log-probability, value.
   * The returned arrays are reused by the next call.
   */
  decide(
    input: Float32Array,
    masks: Uint8Array,
    n: number,
    draws?: Float32Array,
    forced?: Int32Array,
  ): { actions: Int32Array; logp: Float32Array; value: Float32Array } {
    if (n === 0) return { actions: new Int32Array(0), logp: new Float32Array(0), value: new Float32Array(0) };
    if (this.hostMirror) {
      // Inside a tick on webgpu: the device worker answers synchronously (the main thread waits
      // on shared memory while it runs the step on the GPU); the host copy where it cannot start.
      const worker = deviceWorkerFor(this.tf);
      if (worker) return this.unpack(worker.decide(this.workerKey, this.hostMirror, this, input, this.maskFloats(masks, n), n, draws, forced), n);
      return this.decideOnHost(input, masks, n, draws, forced);
    }
    const packed = this.decideGraph(input, masks, n, draws, forced);
    let flat: Float32Array;
    try {
      flat = packed.dataSync() as Float32Array;
    } finally {
      packed.dispose();
    }
    return this.unpack(flat, n);
  }

  /**
   * `decide` on the device with an asynchronous read-back: the path of a backend without
   * synchronous reads (webgpu), and of callers that can wait (bench, tests).
   */
  async decideAsync(
    input: Float32Array,
    masks: Uint8Array,
    n: number,
    draws?: Float32Array,
    forced?: Int32Array,
  ): Promise<{ actions: Int32Array; logp: Float32Array; value: Float32Array }> {
    if (n === 0) return { actions: new Int32Array(0), logp: new Float32Array(0), value: new Float32Array(0) };
    return this.unpack(await this.decideMaskedAsync(input, this.maskFloats(masks, n), n, draws, forced), n);
  }

  /**
   * Rows per device call: the input [rows, inputSize] must fit the device's largest storage
   * buffer binding (WebGPU's default 128 MiB is 59k rows of 565 floats).
   */
  private maxRows(): number {
    return Math.max(1, Math.floor(maxDeviceBufferBytes(this.tf) / (4 * Math.max(this.inputSize, this.actionCount))));
  }

  private unpack(flat: Float32Array, n: number): { actions: Int32Array; logp: Float32Array; value: Float32Array } {
    const r = this.result;
    if (r.actions.length < n) {
      const c = Math.max(n, r.actions.length * 2);
      this.result = { actions: new Int32Array(c), logp: new Float32Array(c), value: new Float32Array(c) };
    }
    const o = this.result;
    for (let i = 0; i < n; i++) {
      o.actions[i] = flat[i * 3];
      o.logp[i] = flat[i * 3 + 1];
      o.value[i] = flat[i * 3 + 2];
    }
    return o;
  }

  /** The mask as floats of the network's width (actions beyond it are not allowed). */
  private maskFloats(masks: Uint8Array, n: number): Float32Array {
    const L = this.actionCount;
    const A = masks.length / n;
    if (!Number.isInteger(A) || A < 1) throw new RangeError(`decide: ${masks.length} mask entries for ${n} rows`);
    const mf = this.maskScratch.length >= n * L ? this.maskScratch : (this.maskScratch = new Float32Array(Math.max(n * L, this.maskScratch.length * 2)));
    if (A === L) for (let k = 0; k < n * L; k++) mf[k] = masks[k];
    else for (let i = 0; i < n; i++) for (let j = 0; j < L; j++) mf[i * L + j] = j < A ? masks[i * A + j] : 0;
    return mf;
  }

  /** The decision graph: [n, 3] floats (action, log-probability, value), not yet read. */
  private decideGraph(input: Float32Array, masks: Uint8Array, n: number, draws?: Float32Array, forced?: Int32Array): tfn.Tensor2D {
    return this.decideGraphF(input, this.maskFloats(masks, n), n, draws, forced);
  }

  /** `decideAsync` with the mask already as floats of the network's width [n, actionCount] (the device worker's call). */
  async decideMaskedAsync(input: Float32Array, maskFloats: Float32Array, n: number, draws?: Float32Array, forced?: Int32Array): Promise<Float32Array> {
    const rows = this.maxRows();
    if (n > rows) {
      const D = this.inputSize;
      const L = this.actionCount;
      const out = new Float32Array(n * 3);
      for (let lo = 0; lo < n; lo += rows) {
        const k = Math.min(rows, n - lo);
        const part = await this.decideMaskedAsync(
          input.subarray(lo * D, (lo + k) * D),
          maskFloats.subarray(lo * L, (lo + k) * L),
          k,
          draws?.subarray(lo, lo + k),
          forced?.subarray(lo, lo + k),
        );
        out.set(part.subarray(0, k * 3), lo * 3);
      }
      return out;
    }
    const packed = this.decideGraphF(input, maskFloats, n, draws, forced);
    try {
      return (await packed.data()) as Float32Array;
    } finally {
      packed.dispose();
    }
  }

  private decideGraphF(input: Float32Array, mf: Float32Array, n: number, draws?: Float32Array, forced?: Int32Array): tfn.Tensor2D {
    const tf = this.tf;
    const D = this.inputSize;
    const L = this.actionCount;
    if (input.length < n * D) throw new RangeError(`decide: ${input.length} floats for ${n} rows of ${D}`);
    return tf.tidy(() => {
      const x = tf.tensor2d(input.subarray(0, n * D), [n, D], "float32");
      const m = tf.tensor2d(mf.subarray(0, n * L), [n, L], "float32");
      const { logits, value } = this.forward(x);
      const masked = tf.add(logits, tf.mul(tf.sub(m, 1), MASK_PENALTY));
      // log-softmax and the cumulative sum from elementwise ops, reductions and a matMul: wasm's
      // logSoftmax and cumsum kernels took 200 ms each at 10k rows, more than the network.
      const shifted = tf.sub(masked, tf.max(masked, 1, true));
      const logProbs = tf.sub(shifted, tf.log(tf.sum(tf.exp(shifted), 1, true)));
      let a: tfn.Tensor1D;
      if (!draws) {
        const best = tf.argMax(masked, 1) as tfn.Tensor1D;
        // A row with nothing allowed takes action 0 (as the JavaScript greedy pick did).
        const allowed = tf.sum(tf.mul(oneHotF(tf, best, L), m), 1);
        a = tf.where(tf.greater(allowed, 0), best, tf.zerosLike(best)) as tfn.Tensor1D;
      } else {
        const u = tf.tensor2d(draws.subarray(0, n), [n, 1], "float32");
        const cum = tf.matMul(tf.exp(logProbs), this.upperOnes(L));
        const idx = tf.sum(tf.cast(tf.lessEqual(cum, u), "int32"), 1) as tfn.Tensor1D;
        // Rounding can leave the draw above the last cumulative sum: take the last allowed action.
        const last = tf.sub(tf.scalar(L - 1, "int32"), tf.argMax(tf.reverse(m, 1), 1)) as tfn.Tensor1D;
        a = tf.minimum(idx, last) as tfn.Tensor1D;
      }
      if (forced) {
        const f = tf.tensor1d(forced.subarray(0, n), "int32");
        a = tf.where(tf.greaterEqual(f, 0), f, a) as tfn.Tensor1D;
      }
      const logp = tf.sum(tf.mul(logProbs, oneHotF(tf, a, L)), 1);
      return tf.stack([tf.cast(a, "float32"), logp, value], 1) as tfn.Tensor2D;
    });
  }

  /** U[i][j] = 1 for i <= j: p·U is the cumulative sum of p along a row. */
  private upperOnes(L: number): tfn.Tensor2D {
    const u = new Float32Array(L * L);
    for (let i = 0; i < L; i++) for (let j = i; j < L; j++) u[i * L + j] = 1;
    return this.tf.tensor2d(u, [L, L]);
  }

  // ---- the host mirror (backends without synchronous reads) -------------------------------------

  /**
   * On a backend that cannot read synchronously (webgpu: Dawn in Node has no blocking map, and
   * tfjs-backend-webgpu's dataSync needs an OffscreenCanvas), a copy of the weights on the host
   * serves the calls that must answer at once: `act` inside world.step(), `evaluate`, `weights`.
   * `refresh()` copies the device weights after every change (the trainer calls it after each
   * update). Undefined on backends that read synchronously.
   */
  private hostMirror: Float32Array | undefined;

  /** True when synchronous calls run on the host copy of the weights (see `refresh`). */
  get mirrored(): boolean {
    return this.hostMirror !== undefined;
  }

  /** Copies the device weights into the host mirror (no-op on backends that read synchronously). */
  async refresh(): Promise<void> {
    if (!this.hostMirror) return;
    const flat = this.hostMirror;
    const parts = await Promise.all(this.variables.map((v) => v.data()));
    this.entries.forEach((e, i) => flat.set(parts[i] as Float32Array, e.offset));
    // The device worker reloads the weights at its next call.
    this.workerKey = { id: this.workerKey.id, version: this.workerKey.version + 1 };
  }

  /** Which weights the device worker must hold for this policy (a new version after each refresh). */
  private workerKey = { id: nextPolicyId++, version: 0 };

  /** Forward pass on the host mirror: logits [n, L] and values [n] (float32 weights, float64 sums). */
  private forwardOnHost(input: Float32Array, n: number): { logits: Float32Array; value: Float32Array } {
    return forwardOnHost(this.hostNetwork(), input, n);
  }

  private decideOnHost(input: Float32Array, masks: Uint8Array, n: number, draws?: Float32Array, forced?: Int32Array) {
    const mf = this.maskFloats(masks, n);
    return this.unpack(decideOnHost(this.hostNetwork(), input, mf, n, draws, forced), n);
  }

  private hostNetwork(): HostNetwork {
    return { weights: this.hostMirror!, entries: this.entries, hidden: this.hidden, inputSize: this.inputSize, actionCount: this.actionCount };
  }

  private maskScratch = new Float32Array(0);

  /** The weights as one flat Float32Array (entry order), read from the variables. */
  weights(): Float32Array {
    if (this.hostMirror) return this.hostMirror.slice();
    const flat = new Float32Array(this.parameterCount);
    this.entries.forEach((e, i) => flat.set(this.variables[i].dataSync() as Float32Array, e.offset));
    return flat;
  }

  /** sha256 (hex) of the weights' little-endian float32 bytes. */
  hash(): string {
    return sha256(weightBytes(this.weights()));
  }

  /**
   * Writes `policy.json` (config_id, observation variant, action names, layout, policy hash)
   * and `weights.bin` (float32 little-endian) into `dir`. Returns the policy hash.
   */
  save(dir: string): string {
    const meta = {
      config_id: this.configId,
      observation_variant: this.variant,
      input_size: this.inputSize,
      action_count: this.actionCount,
      action_names: [...this.actionNames],
      hidden: [...this.hidden],
      seed: this.seed,
    };
    return writeCheckpoint(dir, meta, this.entries, this.weights());
  }

  /** Loads a checkpoint written by `save`, refusing one trained for another variant/config/action space. */
  static load(tf: TF, dir: string, expect: CheckpointExpectations = {}, opts: { greedy?: boolean } = {}): NeuralPolicy {
    const { meta, weights: flat } = readCheckpoint(dir, expect);
    return new NeuralPolicy(
      tf,
      {
        inputSize: meta.input_size,
        actionCount: meta.action_count,
        hidden: meta.hidden,
        seed: meta.seed,
        greedy: opts.greedy,
        variant: meta.observation_variant,
        configId: meta.config_id,
        actionNames: meta.action_names,
      },
      flat,
    );
  }

  /** Frees the variables. */
  dispose(): void {
    for (const v of this.variables) v.dispose();
  }
}
