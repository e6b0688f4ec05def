// PPO on TensorFlow.js: the hyperparameters, generalised advantage estimation over decisions,
// the clipped surrogate loss, and the update (epochs of shuffled minibatches, Adam, global
// gradient-norm clipping). Reads a filled RolloutBuffer (training/buffer.ts); writes the policy's
// variables. Everything else (collecting, logging, checkpoints) lives beside it.
//
// GAE runs over decisions, not ticks (training/gae.ts); minibatches are gathered on the device
// or copied on the host (training/minibatches.ts).
import type * as tfn from "@tensorflow/tfjs";
import { maxDeviceBufferBytes, oneHotF, type TF } from "../engine/tensor.ts";
import { createRng, type Rng } from "../engine/rng.ts";
import type { NeuralPolicy } from "../systems/policy/policies.ts";
import {
  DEVICE_GATHER_BACKENDS,
  disposeUpload,
  gatherOnDevice,
  gatherOnHost,
  newHostScratch,
  uploadBatch,
  type GatheredRows,
  type HostScratch,
  type UploadedBatch,
} from "./minibatches.ts";

export { computeGae, pearson, type GaeInput } from "./gae.ts";

/** PPO hyperparameters (the config's `ppo` section plus the trainer's own knobs). */
export interface PpoHyperparameters {
  /** Adam learning rate at the start (annealed linearly to 0 over the run when lrAnneal). */
  learningRate: number;
  /** Anneal the learning rate linearly to 0 over `totalUpdates`. */
  lrAnneal: boolean;
  /** Surrogate clip ε: ratios outside [1 − ε, 1 + ε] earn nothing more. */
  clipParam: number;
  /** Value clip: the new value may move at most this far from the old one before the loss stops rewarding it (0 = off). */
  valueClip: number;
  /** Weight of the value loss in the total loss. */
  valueLossCoef: number;
  /** Weight of the entropy bonus in the total loss. */
  entropyCoef: number;
  /** Passes over the batch per update. */
  numEpochs: number;
  /** Minibatches per pass (the batch is shuffled, then cut into this many). */
  numMiniBatches: number;
  /** Discount per tick. */
  gamma: number;
  /** GAE λ per decision. */
  gaeLambda: number;
  /** Global gradient-norm clip (0 = off). */
  maxGradNorm: number;
  /** Normalise advantages to mean 0, std 1 within each minibatch. */
  advantageNormalization: boolean;
  /** Weight of the behaviour-cloning loss on rows chosen by the scripted controller (blend rollouts). */
  bcWeight: number;
  /** Updates in the whole run (for learning-rate annealing). */
  totalUpdates: number;
  /** L2 penalty on the kernels, ½·wd·Σw² (the config's training.bc.weight_decay for BC; 0 for PPO). */
  weightDecay: number;
  /**
   * Rows per epoch: a fresh random subset of the batch of this size (0 or absent = every row).
   * Replay epochs over a large pool use it so that their cost stays fixed as the pool grows.
   */
  rowsPerEpoch?: number;
}

/** The config's `ppo` section in the trainer's names, with the trainer's defaults for the rest. */
export function hyperparametersFrom(
  ppo: {
    learning_rate: number;
    clip_param: number;
    value_loss_coef: number;
    entropy_coef: number;
    num_epochs: number;
    gae_lambda: number;
    gamma: number;
    max_grad_norm: number;
    value_clip: number;
    advantage_normalization: boolean;
    num_mini_batches: number;
  },
  extra: Partial<PpoHyperparameters> = {},
): PpoHyperparameters {
  return {
    learningRate: ppo.learning_rate,
    lrAnneal: true,
    clipParam: ppo.clip_param,
    valueClip: ppo.value_clip,
    valueLossCoef: ppo.value_loss_coef,
    entropyCoef: ppo.entropy_coef,
    numEpochs: ppo.num_epochs,
    numMiniBatches: ppo.num_mini_batches,
    gamma: ppo.gamma,
    gaeLambda: ppo.gae_lambda,
    maxGradNorm: ppo.max_grad_norm,
    advantageNormalization: ppo.advantage_normalization,
    bcWeight: 0,
    totalUpdates: 1,
    weightDecay: 0,
    ...extra,
  };
}


// ---- the loss ------------------------------------------------------------------------------------

/** Masked logits: a forbidden action's logit drops by 1e9 (its probability underflows to 0). */
export const MASK_PENALTY = 1e9;

/** One minibatch as tensors. */
export interface MinibatchTensors {
  obs: tfn.Tensor2D;
  /** 1 = allowed [n, A] float32. */
  masks: tfn.Tensor2D;
  /** One-hot of the chosen actions [n, A]. */
  actions: tfn.Tensor2D;
  oldLogp: tfn.Tensor1D;
  oldValues: tfn.Tensor1D;
  advantages: tfn.Tensor1D;
  returns: tfn.Tensor1D;
  /** 1 = the row is a PPO sample (chosen by the learned policy), 0 = a behaviour-cloning sample. */
  ppoRows: tfn.Tensor1D;
}

/** Scalars of one minibatch's loss. */
export interface LossParts {
  total: tfn.Scalar;
  policy: tfn.Scalar;
  value: tfn.Scalar;
  entropy: tfn.Scalar;
  bc: tfn.Scalar;
  clipFraction: tfn.Scalar;
  approxKl: tfn.Scalar;
}

/**
 * The PPO loss of a minibatch (Schulman et al. 2017, eq. 7 and 9): the clipped surrogate, the
 * value loss (clipped around the old value when valueClip > 0, as OpenAI baselines' ppo2), the
 * entropy bonus of the masked distribution, and, on rows the scripted controller chose, a
 * behaviour-cloning cross-entropy. Chosen-action log-probabilities are
 * sum(logSoftmax(masked logits) * oneHot(a), 1): gather with batchDims crashes on wasm.
 */
export function ppoLoss(tf: TF, policy: NeuralPolicy, mb: MinibatchTensors, hp: PpoHyperparameters): LossParts {
  const { logits, value } = policy.forward(mb.obs);
  const masked = tf.add(logits, tf.mul(tf.sub(mb.masks, 1), MASK_PENALTY));
  const logProbs = tf.logSoftmax(masked);
  const logp = tf.sum(tf.mul(logProbs, mb.actions), 1);
  const probs = tf.exp(logProbs);
  // Masked entries have p = 0 exactly; 0 * (−1e9) is 0, never NaN.
  const entropyRows = tf.neg(tf.sum(tf.mul(probs, tf.mul(logProbs, mb.masks)), 1));

  const ppoW = mb.ppoRows;
  const bcW = tf.sub(1, ppoW);
  const nPpo = tf.maximum(tf.sum(ppoW), 1);
  const nBc = tf.maximum(tf.sum(bcW), 1);
  const logRatio = tf.sub(logp, mb.oldLogp);
  const ratio = tf.exp(logRatio);
  const surr1 = tf.mul(ratio, mb.advantages);
  const surr2 = tf.mul(tf.clipByValue(ratio, 1 - hp.clipParam, 1 + hp.clipParam), mb.advantages);
  const policyLoss = tf.div(tf.sum(tf.mul(tf.neg(tf.minimum(surr1, surr2)), ppoW)), nPpo) as tfn.Scalar;

  let valueRows = tf.square(tf.sub(value, mb.returns));
  if (hp.valueClip > 0) {
    const clipped = tf.add(mb.oldValues, tf.clipByValue(tf.sub(value, mb.oldValues), -hp.valueClip, hp.valueClip));
    valueRows = tf.maximum(valueRows, tf.square(tf.sub(clipped, mb.returns)));
  }
  const valueLoss = tf.mul(0.5, tf.mean(valueRows)) as tfn.Scalar;
  const entropy = tf.mean(entropyRows) as tfn.Scalar;
  const bc = tf.div(tf.sum(tf.mul(tf.neg(logp), bcW)), nBc) as tfn.Scalar;
  const terms: tfn.Tensor[] = [policyLoss, tf.mul(hp.valueLossCoef, valueLoss), tf.mul(-hp.entropyCoef, entropy), tf.mul(hp.bcWeight, bc)];
  if (hp.weightDecay > 0) {
    const kernels = policy.variables.filter((v) => v.shape.length === 2);
    terms.push(tf.mul(0.5 * hp.weightDecay, sumAll(tf, kernels.map((k) => tf.sum(tf.square(k))))));
  }
  const total = sumAll(tf, terms) as tfn.Scalar;

  const clipped = tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), hp.clipParam), "float32");
  const clipFraction = tf.div(tf.sum(tf.mul(clipped, ppoW)), nPpo) as tfn.Scalar;
  // The low-variance estimator E[(r − 1) − log r] (Schulman's "approximating KL divergence").
  const approxKl = tf.div(tf.sum(tf.mul(tf.sub(tf.sub(ratio, 1), logRatio), ppoW)), nPpo) as tfn.Scalar;
  return { total, policy: policyLoss, value: valueLoss, entropy, bc, clipFraction, approxKl };
}

// ---- the update ----------------------------------------------------------------------------------

/** What an update reads: the batch after GAE. */
export interface UpdateBatch {
  count: number;
  /** Floats per observation row. */
  obsSize: number;
  actionCount: number;
  obs: Float32Array;
  masks: Uint8Array;
  actions: Int32Array;
  logp: Float32Array;
  values: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
  /** 1 = PPO row, 0 = behaviour-cloning row. */
  ppoRows: Uint8Array;
  /**
   * Set on a batch that is updated from many times (a replay pool) and bumped whenever its rows
   * change: the optimiser keeps its device copy while the version and count stand.
   */
  version?: number;
}

/** The statistics of one update (the NDJSON epoch record's numbers). */
export interface UpdateStats {
  updates: number;
  transitions: number;
  lossPolicy: number;
  lossValue: number;
  lossEntropy: number;
  lossBc: number;
  lossTotal: number;
  clipFraction: number;
  advMean: number;
  advStd: number;
  gradNorm: number;
  gradNormMax: number;
  klDivergence: number;
  klDivergenceMax: number;
  batchEntropyMean: number;
  batchEntropyStd: number;
  lr: number;
}

/** Adam over the policy's variables, with the knobs PPO needs. */
export class PpoOptimizer {
  readonly adam: tfn.AdamOptimizer;
  private readonly rng: Rng;
  private perm = new Int32Array(0);

  constructor(
    readonly tf: TF,
    readonly policy: NeuralPolicy,
    readonly hp: PpoHyperparameters,
    seed: number,
  ) {
    this.adam = tf.train.adam(hp.learningRate, 0.9, 0.999, 1e-5);
    this.rng = createRng(seed, "ppo-minibatches");
  }

  /** The learning rate for update `u` (0-based) of `hp.totalUpdates`. */
  learningRateAt(u: number): number {
    const hp = this.hp;
    if (!hp.lrAnneal) return hp.learningRate;
    return hp.learningRate * Math.max(0, 1 - u / Math.max(1, hp.totalUpdates));
  }

  /** Sets Adam's learning rate (read by every applyGradients call). */
  setLearningRate(lr: number): void {
    (this.adam as unknown as { learningRate: number }).learningRate = lr;
  }

  /**
   * PPO epochs over the batch: shuffle, cut into minibatches, normalise advantages per minibatch,
   * step Adam on the clipped global gradient. One read-back per update (the statistics), after
   * the last step.
   */
  async update(b: UpdateBatch, lr: number): Promise<UpdateStats> {
    const tf = this.tf;
    const hp = this.hp;
    this.setLearningRate(lr);
    const N = b.count;
    if (N === 0) throw new RangeError("a PPO update needs at least one decision; the rollout collected none");
    const A = b.actionCount;
    // Rows visited per epoch: all of them, or a fresh random subset (the first R of the shuffle).
    const R = hp.rowsPerEpoch && hp.rowsPerEpoch > 0 ? Math.min(N, hp.rowsPerEpoch) : N;
    const mbCount = Math.max(1, Math.min(hp.numMiniBatches, R));
    const mbSize = Math.ceil(R / mbCount);
    if (this.perm.length < N) this.perm = new Int32Array(N);
    const perm = this.perm;
    // On a GPU the batch goes to the device once and minibatches are gathered there by index.
    // On the CPU backends (wasm, cpu) the device is this process's memory, and their gather
    // kernel is slow (15 ms for 512 rows of 565 floats on wasm, against 0.1 ms for typed-array
    // copies): rows are copied on the host into the minibatch's tensors.
    // A batch larger than the device's largest buffer binding (WebGPU: 128 MiB by default, a
    // 59k-row pool of 565 floats) is gathered on the host too.
    const fits = N * Math.max(b.obsSize, b.actionCount) * 4 <= maxDeviceBufferBytes(tf);
    const onDevice = this.deviceGather ?? (DEVICE_GATHER_BACKENDS.has(tf.getBackend()) && fits);
    const T = onDevice ? this.upload(b) : undefined;
    const host = onDevice ? undefined : this.hostScratch(b, mbSize);
    // One row of statistics per minibatch, kept on the device and read back once at the end.
    const rows: tfn.Tensor1D[] = [];
    try {
      for (let epoch = 0; epoch < hp.numEpochs; epoch++) {
        for (let i = 0; i < N; i++) perm[i] = i;
        shuffle(perm, N, this.rng);
        for (let m = 0; m < mbCount; m++) {
          const lo = m * mbSize;
          const hi = Math.min(R, lo + mbSize);
          if (hi - lo <= 0) continue;
          const row = tf.tidy(() => this.minibatchStep(T ? gatherOnDevice(tf, T, perm.subarray(lo, hi)) : gatherOnHost(tf, b, host!, perm, lo, hi), A));
          rows.push(row);
        }
      }
    } finally {
      if (T?.transient) disposeUpload(T);
    }
    let flat: Float32Array;
    {
      const all = tf.concat(rows);
      try {
        flat = (await all.data()) as Float32Array;
      } finally {
        all.dispose();
        for (const r of rows) r.dispose();
      }
    }
    // A backend without synchronous reads acts from a host copy of the weights: bring it up to date.
    await this.policy.refresh();
    return updateStats(flat, rows.length, b, lr);
  }

  /**
   * One minibatch step (call inside tf.tidy): advantages normalised over its PPO rows, the loss
   * and its gradients, the global gradient-norm clip, one Adam step. Returns the minibatch's
   * statistics (policy, value, entropy, bc, total loss, clip fraction, approx. KL, grad norm),
   * left on the device.
   */
  private minibatchStep(g: GatheredRows, A: number): tfn.Tensor1D {
    const tf = this.tf;
    const hp = this.hp;
    const ppoRows = g.ppoRows;
    let adv = g.advantages;
    if (hp.advantageNormalization) {
      // Mean and standard deviation over the minibatch's PPO rows (when it has two or more).
      const nPpo = tf.sum(ppoRows);
      const denom = tf.maximum(nPpo, 1);
      const mean = tf.div(tf.sum(tf.mul(adv, ppoRows)), denom);
      const std = tf.sqrt(tf.relu(tf.sub(tf.div(tf.sum(tf.mul(tf.square(adv), ppoRows)), denom), tf.square(mean))));
      adv = tf.where(tf.greater(nPpo, 1), tf.div(tf.sub(adv, mean), tf.add(std, 1e-8)), adv) as tfn.Tensor1D;
    }
    const mb: MinibatchTensors = {
      obs: g.obs,
      masks: g.masks,
      actions: oneHotF(tf, g.actions, A),
      oldLogp: g.logp,
      oldValues: g.values,
      advantages: adv,
      returns: g.returns,
      ppoRows,
    };
    let parts: LossParts | undefined;
    const { value: loss, grads } = tf.variableGrads(() => {
      const l = ppoLoss(tf, this.policy, mb, hp);
      // variableGrads frees what its function made, except the loss: keep the parts to report them.
      parts = { ...l, policy: tf.keep(l.policy), value: tf.keep(l.value), entropy: tf.keep(l.entropy), bc: tf.keep(l.bc), clipFraction: tf.keep(l.clipFraction), approxKl: tf.keep(l.approxKl) };
      return l.total;
    }, this.policy.variables);
    const names = Object.keys(grads);
    const norm = tf.sqrt(sumAll(tf, names.map((k) => tf.sum(tf.square(grads[k])))));
    // Global norm clip, on the device; a non-finite norm applies nothing (and fails the update below).
    let scale: tfn.Tensor = tf.scalar(1);
    if (hp.maxGradNorm > 0) scale = tf.where(tf.greater(norm, hp.maxGradNorm), tf.div(hp.maxGradNorm, tf.add(norm, 1e-6)), scale);
    scale = tf.where(tf.isFinite(norm), scale, tf.scalar(0));
    const clippedGrads: Record<string, tfn.Tensor> = {};
    for (const k of names) clippedGrads[k] = tf.mul(grads[k], scale);
    this.adam.applyGradients(clippedGrads as unknown as tfn.NamedTensorMap & Record<string, tfn.Variable>);
    const p = parts!;
    return tf.stack([p.policy, p.value, p.entropy, p.bc, loss, p.clipFraction, p.approxKl, norm]) as tfn.Tensor1D;
  }

  /** Force (true) or forbid (false) gathering minibatches on the device; default by backend. */
  deviceGather: boolean | undefined;
  private scratch: HostScratch | undefined;

  private hostScratch(b: UpdateBatch, rows: number): HostScratch {
    const s = this.scratch;
    if (s && s.rows >= rows && s.D === b.obsSize && s.A === b.actionCount) return s;
    this.scratch = newHostScratch(b, rows);
    return this.scratch;
  }

  /** The device copy of the last batch that carries a `version` (a replay pool), reused while it is unchanged. */
  private cached: { batch: UpdateBatch; version: number; count: number; tensors: UploadedBatch } | undefined;

  /**
   * The batch's columns as device tensors (one upload each). A batch with a `version` (the replay
   * dataset, the DAgger pool) stays on the device until its version or size changes; a rollout
   * is uploaded for its update and freed after it.
   */
  private upload(b: UpdateBatch): UploadedBatch {
    const c = this.cached;
    if (b.version !== undefined && c && c.batch === b && c.version === b.version && c.count === b.count) return c.tensors;
    const t = uploadBatch(this.tf, b);
    if (b.version !== undefined) {
      if (c) disposeUpload(c.tensors);
      this.cached = { batch: b, version: b.version, count: b.count, tensors: t };
    }
    return t;
  }

  /** Adam's state (iteration count and moments) as named tensors, for checkpoints. */
  async state(): Promise<{ name: string; tensor: tfn.Tensor }[]> {
    return this.adam.getWeights();
  }

  /** Restores Adam's state saved by `state`. */
  async restore(weights: { name: string; tensor: tfn.Tensor }[]): Promise<void> {
    await this.adam.setWeights(weights);
  }

  dispose(): void {
    this.adam.dispose();
    if (this.cached) disposeUpload(this.cached.tensors);
    this.cached = undefined;
  }
}

/** Floats in a minibatch's row of statistics, as minibatchStep stacks them. */
const STATS = 8;

/**
 * The update's statistics from `steps` minibatch rows of STATS floats (means, maxima, the
 * entropy's spread) and the batch's advantages; a non-finite loss or gradient fails the update.
 */
function updateStats(flat: Float32Array, steps: number, b: UpdateBatch, lr: number): UpdateStats {
  const N = b.count;
  const sums = { policy: 0, value: 0, entropy: 0, bc: 0, total: 0, clip: 0, kl: 0, grad: 0 };
  let klMax = 0;
  let gradMax = 0;
  const entropies: number[] = [];
  for (let r = 0; r < steps; r++) {
    const [lp, lv, le, lb, lt, cf, kl, norm] = flat.subarray(r * STATS, r * STATS + STATS);
    if (![lp, lv, le, lt].every(Number.isFinite) || !Number.isFinite(norm)) {
      throw new Error(
        `PPO: a non-finite loss or gradient (policy ${lp}, value ${lv}, entropy ${le}, grad norm ${norm}) in minibatch ${r + 1} of ${steps}; ` +
          `no step was applied from it: lower the learning rate or check the rewards for NaN`,
      );
    }
    sums.policy += lp;
    sums.value += lv;
    sums.entropy += le;
    sums.bc += lb;
    sums.total += lt;
    sums.clip += cf;
    sums.kl += kl;
    sums.grad += norm;
    if (kl > klMax) klMax = kl;
    if (norm > gradMax) gradMax = norm;
    entropies.push(le);
  }
  let aMean = 0;
  for (let i = 0; i < N; i++) aMean += b.advantages[i];
  aMean /= N;
  let aVar = 0;
  for (let i = 0; i < N; i++) aVar += (b.advantages[i] - aMean) ** 2;
  const eMean = entropies.reduce((s, x) => s + x, 0) / Math.max(1, entropies.length);
  const eStd = Math.sqrt(entropies.reduce((s, x) => s + (x - eMean) ** 2, 0) / Math.max(1, entropies.length));
  const k = Math.max(1, steps);
  return {
    updates: steps,
    transitions: N,
    lossPolicy: sums.policy / k,
    lossValue: sums.value / k,
    lossEntropy: sums.entropy / k,
    lossBc: sums.bc / k,
    lossTotal: sums.total / k,
    clipFraction: sums.clip / k,
    advMean: aMean,
    advStd: Math.sqrt(aVar / N),
    gradNorm: sums.grad / k,
    gradNormMax: gradMax,
    klDivergence: sums.kl / k,
    klDivergenceMax: klMax,
    batchEntropyMean: eMean,
    batchEntropyStd: eStd,
    lr,
  };
}

/**
 * The sum of tensors, added pairwise. Not tf.addN: on webgpu one AddN kernel binds every input
 * as a storage buffer, and WebGPU's default limit is 8 per shader stage (9 for the gradient norm
 * of a two-hidden-layer network: an invalid pipeline).
 */
export function sumAll(tf: TF, xs: tfn.Tensor[]): tfn.Tensor {
  if (xs.length === 0) return tf.scalar(0);
  let acc = xs[0];
  for (let i = 1; i < xs.length; i++) acc = tf.add(acc, xs[i]);
  return acc;
}

/** Fisher–Yates over the first n entries, from a seeded stream. */
export function shuffle(a: Int32Array, n: number, rng: Rng): void {
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
