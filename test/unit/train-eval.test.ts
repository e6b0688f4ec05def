// The trainer's evaluation and replay pieces: the unclipped return beside the clipped one, and
// replay epochs that read a fixed number of rows however large the pool grows.
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { initTensorBackend, type TF } from "../../engine/tensor.ts";
import { createRng } from "../../engine/rng.ts";
import { NeuralPolicy, scriptedPolicy } from "../../systems/policy/index.ts";
import { evaluatePolicy } from "../../training/evaluate.ts";
import { hyperparametersFrom, PpoOptimizer } from "../../training/ppo.ts";
import { makeSettings } from "../helpers/world.ts";

const CONFIG = fileURLToPath(new URL("../../configs/default.yaml", import.meta.url));

let tf: TF;
beforeAll(async () => {
  tf = (await initTensorBackend()).tf;
});

describe("evaluation", () => {
  it("reports the return with the per-episode clip lifted: equal while the clip does not bind, below it once it does", async () => {
    const base = { config: CONFIG, seeds: [3], ticks: 120, towns: 1 };
    const loose = await evaluatePolicy("scripted", () => scriptedPolicy, base);
    expect(loose.agent_steps).toBeGreaterThan(0);
    // 120 ticks at most 0.2 a tick: a clip of 200 never binds.
    expect(loose.return_unclipped_mean).toBeCloseTo(loose.return_mean, 4);
    const tight = await evaluatePolicy("scripted", () => scriptedPolicy, { ...base, overrides: { "rewards.clip.clip_per_episode": 1 } });
    // The same play (rewards do not steer the scripted controller), the clip caps the returns.
    expect(tight.survival).toBe(loose.survival);
    expect(tight.return_unclipped_mean).toBeCloseTo(loose.return_unclipped_mean, 4);
    expect(tight.return_mean).toBeGreaterThan(tight.return_unclipped_mean + 1);
  }, 120_000);
});

describe("replay epochs of a fixed size", () => {
  it("visit rowsPerEpoch rows of a larger batch in the same number of minibatches, and every row without it", async () => {
    const N = 300;
    const D = 4;
    const A = 3;
    const rng = createRng(1, "replay");
    const batch = {
      count: N,
      obsSize: D,
      actionCount: A,
      obs: new Float32Array(N * D).map(() => rng.next()),
      masks: new Uint8Array(N * A).fill(1),
      actions: new Int32Array(N).map(() => rng.int(A)),
      logp: new Float32Array(N),
      values: new Float32Array(N),
      advantages: new Float32Array(N),
      returns: new Float32Array(N).map(() => rng.next()),
      ppoRows: new Uint8Array(N),
    };
    const policy = new NeuralPolicy(tf, { inputSize: D, actionCount: A, hidden: [8], seed: 1, variant: "v", configId: "c" });
    const hp = hyperparametersFrom(makeSettings().ppo, { numEpochs: 2, numMiniBatches: 4, bcWeight: 1, lrAnneal: false, rowsPerEpoch: 64 });
    const opt = new PpoOptimizer(tf, policy, hp, 2);
    const capped = await opt.update(batch, 1e-3);
    expect(capped.updates).toBe(2 * 4);
    hp.rowsPerEpoch = 0;
    const full = await opt.update(batch, 1e-3);
    expect(full.updates).toBe(2 * 4);
    hp.rowsPerEpoch = 2;
    // Fewer rows than minibatches: one row per minibatch.
    expect((await opt.update(batch, 1e-3)).updates).toBe(2 * 2);
    opt.dispose();
    policy.dispose();
  });
});
