// Train's evaluation on the training world's blocks (world.shards > 1): every policy runs on the
// same blocks layout on worker threads (training/evaluate-blocks.ts), its numbers the same for any
// number of threads; the summary says where it ran; a one-block evaluation is what it was.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorld } from "../../engine/build.ts";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { ShardedSim } from "../../engine/shards.ts";
import { initTensorBackend } from "../../engine/tensor.ts";
import { corePlugins } from "../../systems/index.ts";
import { RandomPolicy, createNeuralPolicy, scriptedPolicy } from "../../systems/policy/index.ts";
import { main } from "../../tools/cli.ts";
import { formatSummary } from "../../tools/train.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../../tools/shard-host.ts";
import { evaluatePolicy, type EvalResult } from "../../training/evaluate.ts";
import { evaluateOnBlocks } from "../../training/evaluate-blocks.ts";
import type { TrainSummary } from "../../training/trainer.ts";

/** Hungrier agents that faint sooner: some leave within a few dozen ticks, so exits count. */
const HUNGRY = { "rewards.decay_rates.hunger": 0.012, "lifecycle.faint_hunger": 0.3 };
const SETS = Object.entries(HUNGRY).flatMap(([k, v]) => ["--set", `${k}=${v}`]);

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "townlet-train-eval-blocks-"));
  await initTensorBackend("cpu");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function quiet() {
  const errs: string[] = [];
  return { out: { log: () => {}, err: (l: string) => errs.push(l) }, errs };
}

const withoutWall = (rs: EvalResult[]) => rs.map(({ wall_sec: _w, ...r }) => r);

describe("train's evaluation on blocks", () => {
  it("evaluates every policy on the training world's blocks with the same numbers on 1 and 2 worker threads, and says where", async () => {
    const summaries: TrainSummary[] = [];
    for (const n of [1, 2]) {
      const out = path.join(dir, `w${n}`);
      const c = quiet();
      const args = ["train", "--quick", "--towns", "4", "--shards", "2", "--workers", String(n), "--bc-ticks", "0", "--dagger", "0", "--updates", "1", "--rollout-ticks", "5"];
      const code = await main([...args, "--eval-seeds", "5", "--eval-ticks", "40", "--eval-towns", "4", ...SETS, "--backend", "cpu", "--json", "--quiet", "--out", out], c.out);
      expect(code, c.errs.join("\n")).toBe(0);
      summaries.push(JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8")));
    }
    expect(summaries.map((s) => s.evaluation_world)).toEqual([
      { towns: 4, blocks: 2, workers: 1 },
      { towns: 4, blocks: 2, workers: 2 },
    ]);
    expect(formatSummary(summaries[1])).toMatch(/evaluation: seeds 5, 40 ticks, 48 agents per seed, 4 towns in 2 blocks on 2 threads/);
    const [one, two] = summaries.map((s) => s.evaluation);
    expect(one.map((r) => r.policy)).toEqual(["ppo", "ppo greedy", "scripted", "random"]);
    expect(withoutWall(two)).toEqual(withoutWall(one));
    for (const r of one) {
      expect(r.agents).toBe(48);
      expect(r.agent_steps).toBeGreaterThan(0);
      expect(r.exits_per_agent_day).toBeGreaterThan(0);
    }
  }, 180_000);

  it("counts every block's agents on every tick, as the blocks stepped by run count them", async () => {
    const build = { seed: 5, towns: 4, shards: 2, overrides: HUNGRY };
    const sim = await ShardedSim.open({ configFile: DEFAULT_CONFIG_FILE, build, host: SHARD_HOST, hostModule: SHARD_HOST_MODULE, workers: 1, policy: "scripted" });
    const start = sim.agents;
    let steps = 0;
    for (let t = 0; t < 30; t++) {
      await sim.step();
      steps += sim.agents;
    }
    await sim.close();
    const { result, place } = await evaluateOnBlocks("scripted", "scripted", { config: DEFAULT_CONFIG_FILE, overrides: HUNGRY, seeds: [5], ticks: 30, towns: 4, shards: 2, workers: 2 });
    expect(place).toEqual({ towns: 4, blocks: 2, workers: 2 });
    expect(result.agents).toBe(start);
    expect(result.agent_steps).toBe(steps);
    expect(result.survival).toBeLessThan(1);
  }, 120_000);

  it("evaluates the network alone on blocks, as on one block, when the config blends it with the scripted controller", async () => {
    const base = { config: DEFAULT_CONFIG_FILE, seeds: [5], ticks: 10, towns: 4, shards: 2, workers: 1 };
    // "fresh": ShardedInference's spec neural:fresh, a freshly initialised network (seeded alike in both runs).
    const net = { checkpoint: "fresh", greedy: false };
    const plain = await evaluateOnBlocks("ppo", net, base);
    const blended = await evaluateOnBlocks("ppo", net, { ...base, overrides: { "training.anneal_enable_policy_blend": true } });
    expect(withoutWall([blended.result])).toEqual(withoutWall([plain.result]));
    expect(plain.result.agent_steps).toBeGreaterThan(0);
  }, 120_000);

  it("resets a learned policy's blocks to each next seed as a fresh world of that seed", async () => {
    const base = { config: DEFAULT_CONFIG_FILE, overrides: HUNGRY, ticks: 30, towns: 4, shards: 2 };
    // A checkpoint: the same network whatever seed the blocks were built with.
    const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, { towns: 1 });
    const p = await createNeuralPolicy(world, { hidden: [8], seed: 5, greedy: true });
    const net = { checkpoint: path.join(dir, "ck"), greedy: true };
    p.save(net.checkpoint);
    p.dispose();
    const once = (await evaluateOnBlocks("ppo", net, { ...base, seeds: [6], workers: 1 })).result;
    // Built for seed 5, reset to 6, then to 6 again: both episodes are seed 6's fresh world.
    const again = (await evaluateOnBlocks("ppo", net, { ...base, seeds: [5, 6, 6], workers: 2 })).result;
    const five = (await evaluateOnBlocks("ppo", net, { ...base, seeds: [5], workers: 1 })).result;
    expect(once.exits_per_agent_day).toBeGreaterThan(0);
    expect(again.agent_steps).toBe(five.agent_steps + 2 * once.agent_steps);
    expect(again.agents).toBe(five.agents + 2 * once.agents);
    expect(again.survival * again.agents).toBeCloseTo(five.survival * five.agents + 2 * once.survival * once.agents, 9);
    expect(again.return_mean * again.agents).toBeCloseTo(five.return_mean * five.agents + 2 * once.return_mean * once.agents, 6);
  }, 120_000);

  it("leaves the one-block evaluation's numbers as they were before evaluation on blocks", async () => {
    // evaluatePolicy's results at commit 98bd646 (before training/evaluate-blocks.ts), wall time aside.
    const before: Omit<EvalResult, "wall_sec">[] = [{"policy":"scripted","seeds":[5,6],"ticks":40,"agents":48,"return_mean":-6.89276330832369,"return_std_seeds":0.015835120287798876,"return_unclipped_mean":-6.8927632298442445,"return_unclipped_std_seeds":0.01583512066032844,"agent_steps":1711,"survival":0.4583333333333333,"survival_std_seeds":0,"exits_per_agent_day":21.881940385739334,"reward_per_step":-0.19704531726359778,"invalid_actions":0},{"policy":"random","seeds":[5,6],"ticks":40,"agents":48,"return_mean":-6.598590572507722,"return_std_seeds":0.06565958921904302,"return_unclipped_mean":-6.598590498312361,"return_unclipped_std_seeds":0.06565958679760309,"agent_steps":1690,"survival":0.4583333333333333,"survival_std_seeds":0,"exits_per_agent_day":22.153846153846153,"reward_per_step":-0.19096980866495267,"invalid_actions":0},{"policy":"neural","seeds":[5,6],"ticks":40,"agents":48,"return_mean":-6.615295522955421,"return_std_seeds":0.04895463877134443,"return_unclipped_mean":-6.615295448325443,"return_unclipped_std_seeds":0.04895463678452128,"agent_steps":1690,"survival":0.4583333333333333,"survival_std_seeds":0,"exits_per_agent_day":22.153846153846153,"reward_per_step":-0.19144426879601156,"invalid_actions":0}];
    const opts = { config: DEFAULT_CONFIG_FILE, seeds: [5, 6], ticks: 40, towns: 2, overrides: HUNGRY };
    const now = [
      await evaluatePolicy("scripted", () => scriptedPolicy, opts),
      await evaluatePolicy("random", () => new RandomPolicy(), opts),
      await evaluatePolicy("neural", (w) => createNeuralPolicy(w, { hidden: [8], seed: 3, greedy: false }), opts),
    ];
    expect(withoutWall(now)).toEqual(before);
  }, 120_000);
});
