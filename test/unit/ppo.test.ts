// PPO's pieces against hand-computed numbers: GAE over decisions (with a truncation and a
// termination), the clipped surrogate / value / entropy loss of a small batch, masked sampling,
// training checkpoints and replay datasets.
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as tfn from "@tensorflow/tfjs";
import { initTensorBackend, type TF } from "../../engine/tensor.ts";
import { createRng } from "../../engine/rng.ts";
import type { World } from "../../engine/world.ts";
import { NeuralPolicy, CheckpointError, setPolicy } from "../../systems/policy/index.ts";
import { computeGae, hyperparametersFrom, ppoLoss, PpoOptimizer, type GaeInput, type MinibatchTensors } from "../../training/ppo.ts";
import { RolloutCollector } from "../../training/rollout.ts";
import { saveCheckpoint, loadCheckpoint } from "../../training/checkpoint.ts";
import { partOf, readDataset, writeDataset, DatasetError } from "../../training/dataset.ts";
import { makeSettings, makeWorld } from "../helpers/world.ts";

let tf: TF;
let dir: string;
beforeAll(async () => {
  tf = (await initTensorBackend()).tf;
  dir = mkdtempSync(path.join(tmpdir(), "townlet-ppo-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PPO = makeSettings().ppo;

function gaeBatch(rows: { r: number; disc: number; v: number; nv: number; next: number; term?: 1; trunc?: 1 }[]): GaeInput {
  return {
    count: rows.length,
    rewards: Float32Array.from(rows.map((x) => x.r)),
    discounts: Float32Array.from(rows.map((x) => x.disc)),
    values: Float32Array.from(rows.map((x) => x.v)),
    nextValues: Float32Array.from(rows.map((x) => x.nv)),
    next: Int32Array.from(rows.map((x) => x.next)),
    terminated: Uint8Array.from(rows.map((x) => x.term ?? 0)),
    truncated: Uint8Array.from(rows.map((x) => x.trunc ?? 0)),
  };
}

describe("generalised advantage estimation over decisions", () => {
  it("matches hand-computed advantages for two agents, one truncated and one terminated", () => {
    // Agent A: decisions 0 -> 2 -> 4 (truncated by the rollout's end, bootstrapping V = 0.5).
    // Agent B: decisions 1 -> 3 (it left during decision 3: nothing to bootstrap, even if a value is there).
    const b = gaeBatch([
      { r: 1, disc: 0.81, v: 0.5, nv: 0.4, next: 2 },
      { r: 0.5, disc: 0.9, v: 0.2, nv: 0.1, next: 3 },
      { r: -1, disc: 0.9, v: 0.4, nv: 0.3, next: 4 },
      { r: -2, disc: 0.9, v: 0.1, nv: 7, next: -1, term: 1 },
      { r: 0.2, disc: 0.729, v: 0.3, nv: 0.5, next: -1, trunc: 1 },
    ]);
    const adv = new Float32Array(5);
    const ret = new Float32Array(5);
    computeGae(b, 0.8, adv, ret);
    // δ4 = 0.2 + 0.729·0.5 − 0.3; the truncation cuts the chain.
    const a4 = 0.2 + 0.729 * 0.5 - 0.3;
    // δ3 = −2 − 0.1; a termination bootstraps nothing.
    const a3 = -2 - 0.1;
    const a2 = -1 + 0.9 * 0.3 - 0.4 + 0.9 * 0.8 * a4;
    const a1 = 0.5 + 0.9 * 0.1 - 0.2 + 0.9 * 0.8 * a3;
    const a0 = 1 + 0.81 * 0.4 - 0.5 + 0.81 * 0.8 * a2;
    expect(Array.from(adv)).toEqual([a0, a1, a2, a3, a4].map((x) => expect.closeTo(x, 5)));
    expect(a0).toBeCloseTo(0.21516512, 6);
    expect(Array.from(ret)).toEqual([a0 + 0.5, a1 + 0.2, a2 + 0.4, a3 + 0.1, a4 + 0.3].map((x) => expect.closeTo(x, 5)));
  });

  it("with lambda 1 and zero values gives discounted returns", () => {
    const b = gaeBatch([
      { r: 1, disc: 0.5, v: 0, nv: 0, next: 1 },
      { r: 2, disc: 0.5, v: 0, nv: 0, next: -1, term: 1 },
    ]);
    const adv = new Float32Array(2);
    const ret = new Float32Array(2);
    computeGae(b, 1, adv, ret);
    expect(ret[0]).toBeCloseTo(1 + 0.5 * 2, 6);
    expect(ret[1]).toBeCloseTo(2, 6);
  });
});

describe("the PPO loss", () => {
  it("matches a hand-computed batch: clipped surrogate, clipped value loss, masked entropy, approximate KL", () => {
    // A stand-in network: logits are the first two inputs, the value the third.
    const net = {
      variables: [],
      forward: (x: tfn.Tensor2D) => ({ logits: x.slice([0, 0], [-1, 2]) as tfn.Tensor2D, value: x.slice([0, 2], [-1, 1]).reshape([-1]) as tfn.Tensor1D }),
    } as unknown as NeuralPolicy;
    const hp = hyperparametersFrom(PPO, { clipParam: 0.2, valueClip: 0.2, valueLossCoef: 0.5, entropyCoef: 0.01 });
    const out = tf.tidy(() => {
      const mb: MinibatchTensors = {
        obs: tf.tensor2d([0, Math.log(3), 0.5, 0, 0, 0, 0, 5, 1], [3, 3]),
        masks: tf.tensor2d([1, 1, 1, 1, 1, 0], [3, 2]),
        actions: tf.tensor2d([0, 1, 1, 0, 1, 0], [3, 2]),
        oldLogp: tf.tensor1d([Math.log(0.5), Math.log(0.5), Math.log(0.8)]),
        oldValues: tf.tensor1d([0.5, 0.1, 0.5]),
        advantages: tf.tensor1d([2, -1, -1]),
        returns: tf.tensor1d([1, 0, 0]),
        ppoRows: tf.tensor1d([1, 1, 1]),
      };
      const l = ppoLoss(tf, net, mb, hp);
      return [l.policy, l.value, l.entropy, l.total, l.clipFraction, l.approxKl, l.bc].map((t) => t.dataSync()[0]);
    });
    const [policy, value, entropy, total, clipFraction, kl, bc] = out;
    // Ratios 1.5 (clipped to 1.2, advantage 2), 1 (advantage −1), 1.25 (advantage −1: the unclipped, lower term).
    expect(policy).toBeCloseTo((-2.4 + 1 + 1.25) / 3, 5);
    // Row 3's new value 1 moved 0.5 from its old value: the clipped term (0.7 − 0)² is smaller, the max keeps 1.
    expect(value).toBeCloseTo(0.5 * ((0.25 + 0 + 1) / 3), 5);
    const h1 = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    expect(entropy).toBeCloseTo((h1 + Math.log(2) + 0) / 3, 5);
    expect(total).toBeCloseTo(policy + 0.5 * value - 0.01 * entropy, 5);
    expect(clipFraction).toBeCloseTo(2 / 3, 5);
    expect(kl).toBeCloseTo((0.5 - Math.log(1.5) + 0 + 0.25 - Math.log(1.25)) / 3, 5);
    expect(bc).toBe(0);
  });

  it("an update lowers the loss of a fixed batch and reports finite statistics", async () => {
    const policy = new NeuralPolicy(tf, { inputSize: 4, actionCount: 3, hidden: [8], seed: 3, variant: "v", configId: "c" });
    const N = 64;
    const rng = createRng(5, "batch");
    const obs = Float32Array.from({ length: N * 4 }, () => rng.next());
    const actions = Int32Array.from({ length: N }, (_, i) => i % 3);
    const batch = {
      count: N,
      obsSize: 4,
      actionCount: 3,
      obs,
      masks: new Uint8Array(N * 3).fill(1),
      actions,
      logp: new Float32Array(N).fill(Math.log(1 / 3)),
      values: new Float32Array(N),
      advantages: Float32Array.from({ length: N }, (_, i) => (actions[i] === 2 ? 1 : -0.5)),
      returns: new Float32Array(N).fill(1),
      ppoRows: new Uint8Array(N).fill(1),
    };
    const opt = new PpoOptimizer(tf, policy, hyperparametersFrom(PPO, { learningRate: 0.01, numEpochs: 4, numMiniBatches: 2, valueClip: 0 }), 1);
    const first = await opt.update(batch, 0.01);
    const later = await opt.update(batch, 0.01);
    expect(first.updates).toBe(8);
    expect(later.lossValue).toBeLessThan(first.lossValue);
    for (const v of Object.values(later)) expect(Number.isFinite(v)).toBe(true);
    // Action 2 carried the positive advantage: the policy now prefers it.
    const { logits } = policy.evaluate(obs, N);
    let prefer2 = 0;
    for (let i = 0; i < N; i++) if (logits[i * 3 + 2] > logits[i * 3] && logits[i * 3 + 2] > logits[i * 3 + 1]) prefer2++;
    expect(prefer2).toBeGreaterThan(N / 2);
    opt.dispose();
    policy.dispose();
  });
});

describe("PPO end to end on a contextual bandit", () => {
  it("learns the rewarded action of each context from its own samples, never choosing a masked one", async () => {
    const A = 4;
    const policy = new NeuralPolicy(tf, { inputSize: 3, actionCount: A, hidden: [16], seed: 2, variant: "v", configId: "c" });
    const opt = new PpoOptimizer(tf, policy, hyperparametersFrom(PPO, { learningRate: 0.01, numEpochs: 4, numMiniBatches: 4, entropyCoef: 0, lrAnneal: false }), 3);
    const rng = createRng(4, "bandit");
    const N = 256;
    const obs = new Float32Array(N * 3);
    const masks = new Uint8Array(N * A);
    const ctx = new Int32Array(N);
    const probs = new Float64Array(A);
    const world = { rng: { get: () => rng } } as unknown as World;
    let accuracy = 0;
    for (let it = 0; it < 40; it++) {
      obs.fill(0);
      for (let i = 0; i < N; i++) {
        ctx[i] = rng.int(3);
        obs[i * 3 + ctx[i]] = 1;
        // Action 3 is always forbidden; the rewarded action is the context's index.
        for (let a = 0; a < A; a++) masks[i * A + a] = a === 3 ? 0 : 1;
      }
      const { logits, value } = policy.evaluate(obs, N);
      const actions = new Int32Array(N);
      policy.act(world, { variant: "v", size: 3, count: N, data: obs }, masks, Int32Array.from({ length: N }, (_, i) => i), actions);
      const logp = new Float32Array(N);
      const rewards = new Float32Array(N);
      let hits = 0;
      for (let i = 0; i < N; i++) {
        expect(actions[i]).not.toBe(3);
        policy.probabilities(logits.subarray(i * A, i * A + A), masks.subarray(i * A, i * A + A), 1, probs);
        logp[i] = Math.log(probs[actions[i]]);
        rewards[i] = actions[i] === ctx[i] ? 1 : 0;
        hits += rewards[i];
      }
      accuracy = hits / N;
      // One-step episodes: every decision terminates.
      const gae = { count: N, rewards, discounts: new Float32Array(N).fill(1), values: value, nextValues: new Float32Array(N), next: new Int32Array(N).fill(-1), terminated: new Uint8Array(N).fill(1), truncated: new Uint8Array(N) };
      const advantages = new Float32Array(N);
      const returns = new Float32Array(N);
      computeGae(gae, 0.95, advantages, returns);
      await opt.update({ count: N, obsSize: 3, actionCount: A, obs, masks, actions, logp, values: value, advantages, returns, ppoRows: new Uint8Array(N).fill(1) }, 0.01);
    }
    expect(accuracy).toBeGreaterThan(0.9);
    opt.dispose();
    policy.dispose();
  });
});

describe("masked sampling", () => {
  it("never picks a masked action, even one the network strongly prefers", () => {
    const A = 5;
    const policy = new NeuralPolicy(tf, { inputSize: 3, actionCount: A, hidden: [4], seed: 1, variant: "v", configId: "c" });
    // The policy head's bias favours action 4 by 40 nats.
    const bias = policy.variables[3];
    bias.assign(tf.tensor1d([0, 0, 0, 0, 40]));
    const n = 2000;
    const rng = createRng(9, "masks");
    const masks = new Uint8Array(n * A);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < A; j++) masks[i * A + j] = rng.next() < 0.5 ? 1 : 0;
      masks[i * A + rng.int(A)] = 1;
    }
    const obs = { variant: "v", size: 3, count: n, data: Float32Array.from({ length: n * 3 }, () => rng.next()) };
    const world = { rng: { get: () => createRng(2, "policy") } } as unknown as World;
    const out = new Int32Array(n);
    policy.act(world, obs, masks, Int32Array.from({ length: n }, (_, i) => i), out);
    let picked4 = 0;
    for (let i = 0; i < n; i++) {
      expect(masks[i * A + out[i]]).toBe(1);
      if (out[i] === 4) picked4++;
    }
    // Where 4 is allowed it wins nearly always.
    expect(picked4).toBeGreaterThan(n * 0.4);
    policy.dispose();
  });

  it("records only allowed actions while collecting a rollout in a small town", async () => {
    const world = makeWorld({ world: { towns: 2, agents_per_town: 4, grid_size: [16, 16] } });
    const { createNeuralPolicy } = await import("../../systems/policy/index.ts");
    const policy = await createNeuralPolicy(world, { hidden: [8], seed: 4 });
    const col = new RolloutCollector(policy, 0.99);
    setPolicy(world, col);
    col.begin();
    for (let t = 0; t < 120; t++) {
      world.step();
      col.afterTick(world);
    }
    col.finish(world);
    const b = col.buffer;
    const A = policy.actionCount;
    expect(b.count).toBeGreaterThan(8);
    for (let k = 0; k < b.count; k++) {
      expect(b.masks[k * A + b.actions[k]]).toBe(1);
      // Every decision ends somewhere: a later decision of the same agent, an exit, or the truncation.
      const ends = (b.next[k] > k ? 1 : 0) + b.terminated[k] + b.truncated[k];
      expect(ends).toBe(1);
      if (b.next[k] > k) expect(b.uid[b.next[k]]).toBe(b.uid[k]);
      expect(b.discounts[k]).toBeLessThanOrEqual(1);
    }
    policy.dispose();
  });
});

describe("the alive bonus", () => {
  it("raises the buffered rewards of live agents and leaves the world's reward statistics alone", async () => {
    const { createNeuralPolicy } = await import("../../systems/policy/index.ts");
    const run = async (bonus: number) => {
      const world = makeWorld({ seed: 5, world: { towns: 1, agents_per_town: 3, grid_size: [16, 16] } });
      const policy = await createNeuralPolicy(world, { hidden: [8], seed: 4 });
      const col = new RolloutCollector(policy, 1);
      col.use(world, "policy");
      col.aliveBonus = bonus;
      col.begin();
      for (let t = 0; t < 40; t++) {
        world.step();
        col.afterTick(world);
      }
      col.finish(world);
      let buffered = 0;
      for (let k = 0; k < col.buffer.count; k++) buffered += col.buffer.rewards[k];
      policy.dispose();
      return { buffered, world: col.stats.rewardSum, credited: col.stats.agentSteps };
    };
    const plain = await run(0);
    const bonus = await run(0.5);
    expect(bonus.world).toBe(plain.world);
    // With gamma 1 every credited agent-tick gains exactly the bonus (ticks before an agent's first decision are credited to none).
    expect(bonus.buffered - plain.buffered).toBeGreaterThan(0.5 * (plain.credited - 3 * 40) );
    expect(bonus.buffered - plain.buffered).toBeLessThanOrEqual(0.5 * plain.credited + 1e-3);
  });
});

describe("training checkpoints", () => {
  it("round-trip the policy (identical actions) and Adam's state", async () => {
    const policy = new NeuralPolicy(tf, { inputSize: 6, actionCount: 4, hidden: [8, 8], seed: 11, variant: "hybrid/x", configId: "cfg", actionNames: ["a", "b", "c", "d"] });
    const opt = new PpoOptimizer(tf, policy, hyperparametersFrom(PPO), 1);
    const N = 16;
    const obs = Float32Array.from({ length: N * 6 }, (_, i) => Math.sin(i));
    await opt.update(
      {
        count: N,
        obsSize: 6,
        actionCount: 4,
        obs,
        masks: new Uint8Array(N * 4).fill(1),
        actions: new Int32Array(N),
        logp: new Float32Array(N).fill(Math.log(0.25)),
        values: new Float32Array(N),
        advantages: new Float32Array(N).fill(1),
        returns: new Float32Array(N).fill(1),
        ppoRows: new Uint8Array(N).fill(1),
      },
      3e-4,
    );
    const ck = path.join(dir, "ck");
    const hash = await saveCheckpoint(ck, policy, opt, { update: 1, steps: 100, cycle: 1, stage: "ppo", transitions: 16, hyperparameters: opt.hp });
    const loaded = loadCheckpoint(tf, ck, { variant: "hybrid/x", configId: "cfg", actionNames: ["a", "b", "c", "d"] });
    expect(loaded.policy.hash()).toBe(hash);
    expect(loaded.state?.update).toBe(1);
    expect(Array.from(loaded.policy.evaluate(obs, N).logits)).toEqual(Array.from(policy.evaluate(obs, N).logits));
    // Same seeds, same masks: the same sampled actions.
    const masks = new Uint8Array(N * 4).fill(1);
    const act = (p: NeuralPolicy) => {
      const out = new Int32Array(N);
      p.act({ rng: { get: () => createRng(3, "policy") } } as unknown as World, { variant: "hybrid/x", size: 6, count: N, data: obs }, masks, Int32Array.from({ length: N }, (_, i) => i), out);
      return Array.from(out);
    };
    expect(act(loaded.policy)).toEqual(act(policy));
    const saved = await opt.state();
    expect(loaded.optimizerWeights?.map((w) => w.tensor.shape)).toEqual(saved.map((w) => w.tensor.shape));
    expect(Array.from(loaded.optimizerWeights![1].tensor.dataSync())).toEqual(Array.from(saved[1].tensor.dataSync()));
    // A checkpoint for another observation variant is refused, naming both.
    expect(() => loadCheckpoint(tf, ck, { variant: "compact/y" })).toThrow(/observation variant "hybrid\/x".*"compact\/y"/);
    // Weights replaced behind the trainer's back are refused.
    const w = readFileSync(path.join(ck, "weights.bin"));
    w[0] ^= 0xff;
    writeFileSync(path.join(ck, "weights.bin"), w);
    expect(() => loadCheckpoint(tf, ck)).toThrow(CheckpointError);
    policy.dispose();
    loaded.policy.dispose();
    opt.dispose();
  });
});

describe("replay datasets", () => {
  it("round-trip the recorded decisions and refuse a corrupt file or another run's dataset", async () => {
    const world = makeWorld({ world: { towns: 1, agents_per_town: 4, grid_size: [16, 16] } });
    const { createNeuralPolicy } = await import("../../systems/policy/index.ts");
    const policy = await createNeuralPolicy(world, { hidden: [8], seed: 4 });
    const col = new RolloutCollector(policy, 0.99);
    col.use(world, "scripted");
    col.begin();
    for (let t = 0; t < 80; t++) {
      world.step();
      col.afterTick(world);
    }
    col.finish(world);
    const b = col.buffer;
    computeGae(b, 1, b.advantages, b.returns);
    // Scripted rows are behaviour-cloning rows.
    expect(Array.from(b.ppoRows.subarray(0, b.count)).every((x) => x === 0)).toBe(true);
    const ds = path.join(dir, "ds");
    const stats = { sample_count: 4, reward_mean: 0, reward_sum: 0, reward_sum_mean: 0, log_prob_mean: 0, ticks: 80, agent_steps: 320 };
    writeDataset(ds, [partOf(b)], { config_id: "test", observation_variant: policy.variant, action_names: [...policy.actionNames], obs_size: policy.inputSize, action_count: policy.actionCount, gamma: 0.99, source: "test", stats });
    const d = readDataset(ds, { configId: "test", variant: policy.variant });
    expect(d.count).toBe(b.count);
    expect(Array.from(d.actions)).toEqual(Array.from(b.actions.subarray(0, b.count)));
    expect(d.obs.length).toBe(b.count * policy.inputSize);
    expect(d.obs[5]).toBe(b.obs[5]);
    expect(() => readDataset(ds, { configId: "other" })).toThrow(/config_id "test".*"other"/);
    const f = path.join(ds, "actions.bin");
    const bytes = readFileSync(f);
    bytes[0] ^= 1;
    writeFileSync(f, bytes);
    expect(() => readDataset(ds)).toThrow(DatasetError);
    expect(() => readDataset(ds)).toThrow(/actions\.bin: sha256/);
    policy.dispose();
  });
});

describe("DAgger labels", () => {
  it("label the states the network visits with the scripted controller's choices, and only in the modes that run it", async () => {
    const { createNeuralPolicy } = await import("../../systems/policy/index.ts");
    const collect = async (mode: "scripted" | "dagger" | "policy") => {
      const world = makeWorld({ seed: 11, world: { towns: 1, agents_per_town: 6, grid_size: [16, 16] } });
      const policy = await createNeuralPolicy(world, { hidden: [8], seed: 4 });
      const col = new RolloutCollector(policy, 0.99);
      col.use(world, mode);
      col.begin();
      for (let t = 0; t < 150; t++) {
        world.step();
        col.afterTick(world);
      }
      const b = col.buffer;
      const A = policy.actionCount;
      const rows = Array.from({ length: b.count }, (_, k) => ({ action: b.actions[k], label: b.labels[k], ppo: b.ppoRows[k], allowed: b.masks[k * A + b.actions[k]], labelAllowed: b.labels[k] >= 0 ? b.masks[k * A + b.labels[k]] : 1 }));
      policy.dispose();
      return rows;
    };
    const scripted = await collect("scripted");
    const dagger = await collect("dagger");
    const plain = await collect("policy");
    // Scripted rows: the label is the action taken (a behaviour-cloning row).
    expect(scripted.length).toBeGreaterThan(0);
    for (const r of scripted) {
      expect(r.label).toBe(r.action);
      expect(r.ppo).toBe(0);
    }
    // DAgger rows: the untrained network acted on every one; the scripted controller labelled those
    // where it chose, with an allowed action that often differs from the network's.
    const labelled = dagger.filter((r) => r.label >= 0);
    expect(dagger.every((r) => r.ppo === 1 && r.allowed === 1 && r.labelAllowed === 1)).toBe(true);
    expect(labelled.length).toBeGreaterThan(0);
    expect(labelled.length).toBeLessThan(dagger.length);
    expect(labelled.some((r) => r.label !== r.action)).toBe(true);
    // Plain PPO rollouts do not run the scripted controller: no labels.
    expect(plain.every((r) => r.label === -1)).toBe(true);
  });

  it("pool keeps the recording and overwrites its oldest visited rows when full", async () => {
    const { LabelPool } = await import("../../training/dagger.ts");
    const { RolloutBuffer } = await import("../../training/rollout.ts");
    const D = 2;
    const A = 3;
    const rec = { count: 2, obsSize: D, actionCount: A, obs: Float32Array.from([1, 1, 2, 2]), masks: new Uint8Array(6).fill(1), actions: Int32Array.from([0, 1]), returns: Float32Array.from([0.5, 0.25]) };
    const pool = new LabelPool(D, A, 4);
    pool.addRecording(rec as unknown as Parameters<typeof pool.addRecording>[0]);
    const buf = new RolloutBuffer(D, A, 4);
    const visit = (labels: number[], base: number) => {
      buf.clear();
      for (const l of labels) {
        const k = buf.count++;
        buf.obs.set([base + k, base + k], k * D);
        buf.masks.set([1, 1, 1], k * A);
        buf.labels[k] = l;
        buf.returns[k] = base + k;
      }
      return pool.addVisited(buf);
    };
    // Unlabelled rows (−1) are skipped.
    expect(visit([2, -1, 1], 10)).toBe(2);
    expect(pool.count).toBe(4);
    expect(Array.from(pool.actions)).toEqual([0, 1, 2, 1]);
    // Full: the next visited rows replace the oldest visited ones, never the recording.
    expect(visit([0], 20)).toBe(1);
    expect(pool.count).toBe(4);
    expect(Array.from(pool.actions)).toEqual([0, 1, 0, 1]);
    expect(Array.from(pool.obs.subarray(0, 6))).toEqual([1, 1, 2, 2, 20, 20]);
    expect(pool.returns[2]).toBe(20);
    expect(pool.added).toBe(3);
    expect(Array.from(pool.ppoRows).every((x) => x === 0)).toBe(true);
  });
});
