// PPO on TensorFlow.js: the hyperparameters, generalised advantage estimation over decisions,
// the clipped surrogate loss, and the update (epochs of shuffled minibatches, Adam, global
// gradient-norm clipping). Reads a filled RolloutBuffer (training/buffer.ts); writes the policy's
// variables. Everything else (collecting, logging, checkpoints) lives beside it.
//
// Decisions, not ticks: an agent chooses an option only when its commitment window is open, so
// a transition runs from one decision to the agent's next one and spans k ticks. Its reward is
// the discounted sum of the k per-tick rewards and its discount is γ^k (the semi-MDP form of
// Sutton, Precup & Singh 1999); GAE (Schulman et al. 2016, eq. 16) then runs over decisions:
//   δ_t = R_t + γ^k_t · (1 − term_t) · V(s_next) − V(s_t)
//   A_t = δ_t + γ^k_t · λ · (1 − term_t) · (1 − trunc_t) · A_next
// A termination (the agent left) bootstraps nothing; a truncation (the rollout or the episode
// ended with the agent alive) bootstraps V(s_next) but cuts the advantage chain there.
import type * as tfn from "@tensorflow/tfjs";
import { maxDeviceBufferBytes, oneHotF, type TF } from "../engine/tensor.ts";
import { createRng, type Rng } from "../engine/rng.ts";
import type { NeuralPolicy } from "../systems/policy/policies.ts";

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

// ---- GAE -----------------------------------------------------------------------------------------

/** The fields of a batch of decisions that GAE reads. */
export interface GaeInput {
  /** Decisions in the batch. */
  count: number;
  /** Discounted reward from the decision to the next one (or to the end) [N]. */
  rewards: Float32Array;
  /** γ^k for the k ticks the decision lasted [N]. */
  discounts: Float32Array;
  /** V(s) of the decision, under the policy that chose [N]. */
  values: Float32Array;
  /** V of the state the decision ended in: the next decision's value, the bootstrap at truncation, 0 at termination [N]. */
  nextValues: Float32Array;
  /** Index of the agent's next decision in the batch, or −1 (terminated, truncated) [N]. */
  next: Int32Array;
  /** 1 = the agent left during the decision [N]. */
  terminated: Uint8Array;
  /** 1 = the decision was cut by the end of the rollout or episode with the agent alive [N]. */
  truncated: Uint8Array;
}

/**
 * Advantages and returns (advantage + value) of every decision. A decision's next decision sits
 * later in the batch, so one backward pass settles every chain.
 */
export function computeGae(b: GaeInput, lambda: number, advantages: Float32Array, returns: Float32Array): void {
  for (let i = b.count - 1; i >= 0; i--) {
    const live = b.terminated[i] === 1 ? 0 : 1;
    const delta = b.rewards[i] + b.discounts[i] * live * b.nextValues[i] - b.values[i];
    const n = b.next[i];
    const chain = live === 1 && b.truncated[i] === 0 && n >= 0 ? advantages[n] : 0;
    if (n >= 0 && n <= i) throw new Error(`GAE: decision ${i}'s next decision ${n} is not later in the batch (please report a bug)`);
    advantages[i] = delta + b.discounts[i] * lambda * chain;
    returns[i] = advantages[i] + b.values[i];
  }
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
          const row = tf.tidy(() => {
            const g = T ? gatherOnDevice(tf, T, perm.subarray(lo, hi)) : gatherOnHost(tf, b, host!, perm, lo, hi);
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
          });
          rows.push(row);
        }
      }
    } finally {
      if (T?.transient) disposeUpload(T);
    }
    const STATS = 8;
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
    const sums = { policy: 0, value: 0, entropy: 0, bc: 0, total: 0, clip: 0, kl: 0, grad: 0 };
    let klMax = 0;
    let gradMax = 0;
    const entropies: number[] = [];
    const steps = rows.length;
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

  /** Force (true) or forbid (false) gathering minibatches on the device; default by backend. */
  deviceGather: boolean | undefined;
  private scratch: HostScratch | undefined;

  private hostScratch(b: UpdateBatch, rows: number): HostScratch {
    const D = b.obsSize;
    const A = b.actionCount;
    const s = this.scratch;
    if (s && s.rows >= rows && s.D === D && s.A === A) return s;
    this.scratch = {
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
    const tf = this.tf;
    const N = b.count;
    const D = b.obsSize;
    const A = b.actionCount;
    const masks = new Float32Array(N * A);
    for (let i = 0; i < N * A; i++) masks[i] = b.masks[i];
    const ppo = new Float32Array(N);
    for (let i = 0; i < N; i++) ppo[i] = b.ppoRows[i];
    const t: UploadedBatch = {
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
    if (b.version !== undefined) {
      if (c) disposeUpload(c.tensors);
      this.cached = { batch: b, version: b.version, count: N, tensors: t };
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


/** Backends whose gather kernel is fast (a GPU, libtensorflow): minibatches are gathered there. */
const DEVICE_GATHER_BACKENDS = new Set(["webgpu", "tensorflow", "webgl"]);

/** Minibatch columns as tensors (call inside tf.tidy). */
interface GatheredRows {
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
interface UploadedBatch extends GatheredRows {
  /** Freed after the update (a rollout); otherwise kept until the batch changes. */
  transient: boolean;
}

interface HostScratch {
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
function gatherOnDevice(tf: TF, T: UploadedBatch, rows: Int32Array): GatheredRows {
  const idx = tf.tensor1d(rows, "int32");
  const g = <R extends tfn.Tensor>(t: R) => tf.gather(t, idx) as R;
  return { obs: g(T.obs), masks: g(T.masks), actions: g(T.actions), logp: g(T.logp), values: g(T.values), advantages: g(T.advantages), returns: g(T.returns), ppoRows: g(T.ppoRows) };
}

/** The rows perm[lo..hi) of a batch copied on the host into scratch, then uploaded as one tensor per column. */
function gatherOnHost(tf: TF, b: UpdateBatch, s: HostScratch, perm: Int32Array, lo: number, hi: number): GatheredRows {
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

function disposeUpload(t: UploadedBatch): void {
  for (const x of [t.obs, t.masks, t.actions, t.logp, t.values, t.advantages, t.returns, t.ppoRows]) x.dispose();
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

/** Pearson correlation of two equally long arrays (0 when either has no variance). */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>, n = x.length): number {
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : 0;
}
