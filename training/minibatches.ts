// PPO's minibatches: on a GPU the update batch goes to the device once and minibatches are
// gathered there by index; on the CPU backends rows are copied on the host into reused buffers
// and uploaded per minibatch.
import type * as tfn from "@tensorflow/tfjs";
import type { TF } from "../engine/tensor.ts";
import type { UpdateBatch } from "./ppo.ts";

/** Backends whose gather kernel is fast (a GPU, libtensorflow): minibatches are gathered there. */
export const DEVICE_GATHER_BACKENDS = new Set(["webgpu", "tensorflow", "webgl"]);

/** Minibatch columns as tensors (call inside tf.tidy). */
export interface GatheredRows {
  obs: tfn.Tensor2D;
  masks: tfn.Tensor2D;
  actions: tfn.Tensor1D;
  logp: tfn.Tensor1D;
  values: tfn.Tensor1D;
  advantages: tfn.Tensor1D;
  returns: tfn.Tensor1D;
  ppoRows: tfn.Tensor1D;
}

/** An update batch's columns on the device. */
export interface UploadedBatch extends GatheredRows {
  /** Freed after the update (a rollout); otherwise kept until the batch changes. */
  transient: boolean;
}

export interface HostScratch {
  rows: number;
  D: number;
  A: number;
  obs: Float32Array;
  masks: Float32Array;
  actions: Int32Array;
  logp: Float32Array;
  values: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
  ppoRows: Float32Array;
}

/** The rows `idx` of a batch on the device (one small index upload, gathers there). */
export function gatherOnDevice(tf: TF, T: UploadedBatch, rows: Int32Array): GatheredRows {
  const idx = tf.tensor1d(rows, "int32");
  const g = <R extends tfn.Tensor>(t: R) => tf.gather(t, idx) as R;
  return { obs: g(T.obs), masks: g(T.masks), actions: g(T.actions), logp: g(T.logp), values: g(T.values), advantages: g(T.advantages), returns: g(T.returns), ppoRows: g(T.ppoRows) };
}

/** The rows perm[lo..hi) of a batch copied on the host into scratch, then uploaded as one tensor per column. */
export function gatherOnHost(tf: TF, b: UpdateBatch, s: HostScratch, perm: Int32Array, lo: number, hi: number): GatheredRows {
  const n = hi - lo;
  const D = b.obsSize;
  const A = b.actionCount;
  for (let r = 0; r < n; r++) {
    const j = perm[lo + r];
    s.obs.set(b.obs.subarray(j * D, j * D + D), r * D);
    for (let a = 0; a < A; a++) s.masks[r * A + a] = b.masks[j * A + a];
    s.actions[r] = b.actions[j];
    s.logp[r] = b.logp[j];
    s.values[r] = b.values[j];
    s.advantages[r] = b.advantages[j];
    s.returns[r] = b.returns[j];
    s.ppoRows[r] = b.ppoRows[j];
  }
  return {
    obs: tf.tensor2d(s.obs.subarray(0, n * D), [n, D], "float32"),
    masks: tf.tensor2d(s.masks.subarray(0, n * A), [n, A], "float32"),
    actions: tf.tensor1d(s.actions.subarray(0, n), "int32"),
    logp: tf.tensor1d(s.logp.subarray(0, n), "float32"),
    values: tf.tensor1d(s.values.subarray(0, n), "float32"),
    advantages: tf.tensor1d(s.advantages.subarray(0, n), "float32"),
    returns: tf.tensor1d(s.returns.subarray(0, n), "float32"),
    ppoRows: tf.tensor1d(s.ppoRows.subarray(0, n), "float32"),
  };
}

/** Frees a device copy of a batch. */
export function disposeUpload(t: UploadedBatch): void {
  for (const x of [t.obs, t.masks, t.actions, t.logp, t.values, t.advantages, t.returns, t.ppoRows]) x.dispose();
}

/** Host buffers for minibatches of up to `rows` rows of `b`'s widths. */
export function newHostScratch(b: UpdateBatch, rows: number): HostScratch {
  const D = b.obsSize;
  const A = b.actionCount;
  return {
    rows,
    D,
    A,
    obs: new Float32Array(rows * D),
    masks: new Float32Array(rows * A),
    actions: new Int32Array(rows),
    logp: new Float32Array(rows),
    values: new Float32Array(rows),
    advantages: new Float32Array(rows),
    returns: new Float32Array(rows),
    ppoRows: new Float32Array(rows),
  };
}

/** The batch's columns as device tensors (one upload each); `transient` unless it has a version. */
export function uploadBatch(tf: TF, b: UpdateBatch): UploadedBatch {
  const N = b.count;
  const D = b.obsSize;
  const A = b.actionCount;
  const masks = new Float32Array(N * A);
  for (let i = 0; i < N * A; i++) masks[i] = b.masks[i];
  const ppo = new Float32Array(N);
  for (let i = 0; i < N; i++) ppo[i] = b.ppoRows[i];
  return {
    transient: b.version === undefined,
    obs: tf.tensor2d(b.obs.subarray(0, N * D), [N, D], "float32"),
    masks: tf.tensor2d(masks, [N, A], "float32"),
    actions: tf.tensor1d(b.actions.subarray(0, N), "int32"),
    logp: tf.tensor1d(b.logp.subarray(0, N), "float32"),
    values: tf.tensor1d(b.values.subarray(0, N), "float32"),
    advantages: tf.tensor1d(b.advantages.subarray(0, N), "float32"),
    returns: tf.tensor1d(b.returns.subarray(0, N), "float32"),
    ppoRows: tf.tensor1d(ppo, "float32"),
  };
}
