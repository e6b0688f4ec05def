// The neural policy's forward pass and decision step on a host copy of its weights, for tensor
// backends that cannot read back synchronously (webgpu in Node): float32 weights, float64 sums,
// the same masking, sampling and forcing as the device graph (NeuralPolicy.decide).
import type { TensorEntry } from "./checkpoint.ts";

/** Masked logits are `logits + (mask - 1) * 1e9`. */
export const MASK_PENALTY = 1e9;

/** The network as the host sees it: the flat weights and their layout. */
export interface HostNetwork {
  readonly weights: Float32Array;
  readonly entries: readonly TensorEntry[];
  readonly hidden: readonly number[];
  readonly inputSize: number;
  readonly actionCount: number;
}

/** Forward pass on the host: logits [n, L] and values [n]. */
export function forwardOnHost(net: HostNetwork, input: Float32Array, n: number): { logits: Float32Array; value: Float32Array } {
  const W = net.weights;
  const E = net.entries;
  let cur = input;
  let width = net.inputSize;
  let k = 0;
  const dense = (x: Float32Array, inW: number, e: TensorEntry, be: TensorEntry, relu: boolean): Float32Array => {
    const outW = e.shape[1];
    const y = new Float32Array(n * outW);
    const acc = new Float64Array(outW);
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < outW; j++) acc[j] = W[be.offset + j];
      for (let i = 0; i < inW; i++) {
        const xv = x[r * inW + i];
        if (xv === 0) continue;
        const row = e.offset + i * outW;
        for (let j = 0; j < outW; j++) acc[j] += xv * W[row + j];
      }
      for (let j = 0; j < outW; j++) y[r * outW + j] = relu && acc[j] < 0 ? 0 : acc[j];
    }
    return y;
  };
  for (let i = 0; i < net.hidden.length; i++, k += 2) {
    cur = dense(cur, width, E[k], E[k + 1], true);
    width = net.hidden[i];
  }
  const logits = dense(cur, width, E[k], E[k + 1], false);
  const value = dense(cur, width, E[k + 2], E[k + 3], false);
  return { logits, value };
}

/**
 * One decision step on the host: [n, 3] floats (action, log-probability, value) from `mf`, the
 * mask as floats of the network's width [n, actionCount]; sampled by `draws`, greedy without.
 */
export function decideOnHost(net: HostNetwork, input: Float32Array, mf: Float32Array, n: number, draws?: Float32Array, forced?: Int32Array): Float32Array {
  const L = net.actionCount;
  const { logits, value } = forwardOnHost(net, input, n);
  const flat = new Float32Array(n * 3);
  const p = new Float64Array(L);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < L; j++) max = Math.max(max, logits[i * L + j] + (mf[i * L + j] - 1) * MASK_PENALTY);
    let sum = 0;
    for (let j = 0; j < L; j++) sum += p[j] = Math.exp(logits[i * L + j] + (mf[i * L + j] - 1) * MASK_PENALTY - max);
    let a = 0;
    if (!draws) {
      let best = -Infinity;
      for (let j = 0; j < L; j++) {
        const z = logits[i * L + j] + (mf[i * L + j] - 1) * MASK_PENALTY;
        if (z > best) {
          best = z;
          a = j;
        }
      }
      if (mf[i * L + a] === 0) a = 0;
    } else {
      const u = draws[i];
      let cum = 0;
      let last = 0;
      a = -1;
      for (let j = 0; j < L; j++) {
        if (mf[i * L + j] !== 0) last = j;
        cum += p[j] / sum;
        if (a < 0 && cum > u) a = j;
      }
      if (a < 0 || a > last) a = last;
    }
    if (forced && forced[i] >= 0) a = forced[i];
    flat[i * 3] = a;
    flat[i * 3 + 1] = logits[i * L + a] + (mf[i * L + a] - 1) * MASK_PENALTY - max - Math.log(sum);
    flat[i * 3 + 2] = value[i];
  }
  return flat;
}
