// A child process of test/unit/webgpu.test.ts (TensorFlow.js runs one backend per process): on the
// backend named first, runs a small policy network on fixed inputs and prints one JSON line with
// what the test compares across backends: forward outputs, greedy and sampled decisions, the PPO
// loss and its gradients, and the greedy decisions of a policy after three updates (saved with
// --save DIR) and of a checkpoint another backend saved (--load DIR).
//   node --import tsx test/unit/helpers/backend-child.ts webgpu|wasm [--save DIR] [--load DIR]
//   node --import tsx test/unit/helpers/backend-child.ts probe   (prints the webgpu adapter or why not)
import { initTensorBackend, type BackendName } from "../../../engine/tensor.ts";
import { createRng } from "../../../engine/rng.ts";
import { NeuralPolicy } from "../../../systems/policy/policies.ts";
import { hyperparametersFrom, ppoLoss, PpoOptimizer, type MinibatchTensors } from "../../../training/ppo.ts";
import { oneHotF } from "../../../engine/tensor.ts";

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

if (args[0] === "probe") {
  try {
    const b = await initTensorBackend("webgpu");
    console.log(JSON.stringify({ ok: true, device: b.device }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, reason: (e as Error).message }));
  }
  process.exit(0);
}

const { tf, name, device } = await initTensorBackend(args[0] as BackendName);
const D = 24;
const A = 6;
const N = 64;
const rng = createRng(11, "backend-check");
const obs = new Float32Array(N * D).map(() => 2 * rng.next() - 1);
const masks = new Uint8Array(N * A);
for (let i = 0; i < N; i++) {
  for (let a = 0; a < A; a++) masks[i * A + a] = rng.next() < 0.6 ? 1 : 0;
  masks[i * A + rng.int(A)] = 1;
}
const draws = new Float32Array(N).map(() => rng.next());
const actions = new Int32Array(N).map((_, i) => {
  const allowed = [...Array(A).keys()].filter((a) => masks[i * A + a] === 1);
  return allowed[rng.int(allowed.length)];
});
const logp = new Float32Array(N).map(() => -1 - rng.next());
const values = new Float32Array(N).map(() => rng.next() - 0.5);
const advantages = new Float32Array(N).map(() => 2 * rng.next() - 1);
const returns = new Float32Array(N).map((_, i) => values[i] + advantages[i]);
const ppoRows = new Uint8Array(N).map((_, i) => (i % 5 === 0 ? 0 : 1));
const hp = hyperparametersFrom(
  { learning_rate: 0.01, clip_param: 0.2, value_loss_coef: 0.5, entropy_coef: 0.01, num_epochs: 1, gae_lambda: 0.95, gamma: 0.99, max_grad_norm: 0.5, value_clip: 0.2, advantage_normalization: true, num_mini_batches: 2 },
  { bcWeight: 0.5, lrAnneal: false },
);

const policy = new NeuralPolicy(tf, { inputSize: D, actionCount: A, hidden: [32, 16], seed: 5, variant: "check", configId: "check" });
const fwd = await policy.evaluateAsync(obs, N);
const greedy = Array.from((await policy.decideAsync(obs, masks, N)).actions.subarray(0, N));
const sampledR = await policy.decideAsync(obs, masks, N, draws);
const sampled = { actions: Array.from(sampledR.actions.subarray(0, N)), logp: Array.from(sampledR.logp.subarray(0, N)) };

// The loss and its gradients on one fixed minibatch.
const mf = Float32Array.from(masks);
const mb: MinibatchTensors = {
  obs: tf.tensor2d(obs, [N, D]),
  masks: tf.tensor2d(mf, [N, A]),
  actions: oneHotF(tf, tf.tensor1d(actions, "int32"), A),
  oldLogp: tf.tensor1d(logp),
  oldValues: tf.tensor1d(values),
  advantages: tf.tensor1d(advantages),
  returns: tf.tensor1d(returns),
  ppoRows: tf.tensor1d(Float32Array.from(ppoRows)),
};
let kept: Record<string, { data(): Promise<ArrayLike<number>> }> = {};
const { value: total, grads } = tf.variableGrads(() => {
  const l = ppoLoss(tf, policy, mb, hp);
  kept = { policy: tf.keep(l.policy), value: tf.keep(l.value), entropy: tf.keep(l.entropy), bc: tf.keep(l.bc), clipFraction: tf.keep(l.clipFraction), approxKl: tf.keep(l.approxKl) };
  return l.total;
}, policy.variables);
const parts: Record<string, number> = {};
for (const [k, t] of Object.entries(kept)) parts[k] = (await t.data())[0];
parts.total = (await total.data())[0];
const gradients: number[][] = [];
for (const v of policy.variables) gradients.push(Array.from(await grads[v.name].data()));

// Three updates on the fixed batch, then the greedy decisions of the trained policy.
const optimizer = new PpoOptimizer(tf, policy, hp, 9);
const batch = { count: N, obsSize: D, actionCount: A, obs, masks, actions, logp, values, advantages, returns, ppoRows };
for (let u = 0; u < 3; u++) await optimizer.update(batch, 0.01);
const trainedGreedy = Array.from((await policy.decideAsync(obs, masks, N)).actions.subarray(0, N));
const trainedSyncGreedy = Array.from(policy.decide(obs, masks, N).actions.subarray(0, N));
const save = opt("--save");
const savedHash = save ? policy.save(save) : undefined;
let loadedGreedy: number[] | undefined;
const load = opt("--load");
if (load) {
  const other = NeuralPolicy.load(tf, load);
  loadedGreedy = Array.from((await other.decideAsync(obs, masks, N)).actions.subarray(0, N));
}
console.log(
  JSON.stringify({
    backend: name,
    device,
    logits: Array.from(fwd.logits),
    values: Array.from(fwd.value),
    greedy,
    sampled,
    loss: parts,
    gradients,
    trainedGreedy,
    trainedSyncGreedy,
    savedHash,
    loadedGreedy,
  }),
);
process.exit(0);
