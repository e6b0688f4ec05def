// The sharded rollout's one decision batch (training/sharded-batch.ts): every block writes its
// decision rows into a SharedArrayBuffer shared by every thread, packed in block order, and the
// network reads them there (no gathering copy on the main thread). The rows recorded, the actions
// and the per-tick hashes are those of one thread; a batch too small for a tick grows with the
// same results; a block that fails while the threads after it wait for its rows stops the world
// with its error instead of a hang.
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { resolvePlugins } from "../../engine/plugin-loader.ts";
import { buildBlock, loadShardedConfig, planBlocks } from "../../engine/shard-blocks.ts";
import { initTensorBackend } from "../../engine/tensor.ts";
import { corePlugins } from "../../systems/index.ts";
import { createNeuralPolicy, type NeuralPolicy } from "../../systems/policy/index.ts";
import { RolloutCollector } from "../../training/rollout.ts";
import { PolicyBlocks } from "../../training/sharded-blocks.ts";
import { ShardedRollout, type ShardedRolloutOptions } from "../../training/sharded-rollout.ts";

const BOOM = fileURLToPath(new URL("../fixtures/boom-block.ts", import.meta.url));
/** 6 towns in 3 blocks; hunger falls fast and fainting comes early, so agents leave and arrive. */
const BUILD = { seed: 11, towns: 6, shards: 3, overrides: { "rewards.decay_rates.hunger": 0.03, "lifecycle.faint_hunger": 0.4 } };

beforeAll(async () => {
  await initTensorBackend("cpu");
});

async function network(sr: ShardedRollout, plugins = corePlugins): Promise<NeuralPolicy> {
  const model = buildBlock(sr.config.settings, plugins, { ...sr.plans[0], towns: 1 });
  return createNeuralPolicy(model, { hidden: [8], seed: 3, greedy: false });
}

/** A blend rollout of `ticks` ticks (running on into the next tick mostly), its recorded rows, and where the network read them. */
async function rollout(workers: number, extra: Partial<ShardedRolloutOptions> = {}) {
  const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build: BUILD, plugins: corePlugins, workers, ...extra });
  try {
    const c = new RolloutCollector(await network(sr), 0.95);
    const read: { shared: boolean; rows: number }[] = [];
    const decide = c.policy.decide.bind(c.policy);
    c.policy.decide = (obs, masks, n, draws, forced) => {
      read.push({ shared: obs.buffer instanceof SharedArrayBuffer, rows: n });
      return decide(obs, masks, n, draws, forced);
    };
    c.mode = "blend";
    c.scriptedRatio = 0.5;
    sr.use("blend", 0.5);
    c.begin();
    for (let t = 0; t < 30; t++) await sr.collectTick(c, undefined, t + 1 < 30 && t % 7 !== 0);
    await sr.finishRollout(c);
    const b = c.buffer;
    const n = b.count;
    const rows = {
      n,
      actions: Array.from(b.actions.subarray(0, n)),
      labels: Array.from(b.labels.subarray(0, n)),
      logp: Array.from(b.logp.subarray(0, n)),
      values: Array.from(b.values.subarray(0, n)),
      rewards: Array.from(b.rewards.subarray(0, n)),
      nextValues: Array.from(b.nextValues.subarray(0, n)),
      uid: Array.from(b.uid.subarray(0, n)),
      obs: Array.from(b.obs.subarray(0, n * b.obsSize)),
    };
    return { rows, read, live: sr.agents };
  } finally {
    await sr.close();
  }
}

/** The state hash after each of 30 ticks of a learned policy (sampled) on the blocks. */
async function inferHashes(workers: number, extra: Partial<ShardedRolloutOptions> = {}): Promise<string[]> {
  const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build: BUILD, plugins: corePlugins, workers, ...extra });
  try {
    const p = await network(sr);
    sr.use("policy");
    const out: string[] = [];
    for (let t = 0; t < 30; t++) out.push((await sr.inferTick(p, true, t % 5 !== 4))!);
    return out;
  } finally {
    await sr.close();
  }
}

describe("the sharded rollout's shared decision batch", () => {
  it("lets the network read every block's rows in place, and records on 3 threads exactly the rows of 1", async () => {
    const one = await rollout(1);
    const three = await rollout(3);
    expect(three.rows).toEqual(one.rows);
    expect(one.rows.n).toBeGreaterThan(100);
    // Every pass of the network read the shared batch, not a copy gathered on the main thread.
    for (const r of [one, three]) {
      expect(r.read.length).toBeGreaterThan(5);
      expect(r.read.every((x) => x.shared)).toBe(true);
    }
  }, 120_000);

  it("grows a batch too small for a tick, with the same rows recorded and the same per-tick hashes", async () => {
    const want = await rollout(1);
    // 72 agents in 3 blocks, every one deciding at tick 1: with 60 rows, threads 0 and 1 fit and thread 2 spills; with 1, all spill.
    expect(want.read[0].rows).toBe(72);
    for (const [workers, batchRows] of [[1, 1], [3, 1], [3, 60]]) expect((await rollout(workers, { batchRows })).rows, `${workers} thread(s), ${batchRows} rows`).toEqual(want.rows);
    const hashes = await inferHashes(1);
    expect(await inferHashes(3, { batchRows: 5 })).toEqual(hashes);
    expect(await inferHashes(2)).toEqual(hashes);
  }, 180_000);

  it("keeps no decision rows in a block's own buffer until its rows spill out of the shared batch", () => {
    const s = loadShardedConfig(DEFAULT_CONFIG_FILE, corePlugins, BUILD).settings;
    const plans = planBlocks(s.world.towns, 3, s.seed);
    const set = new PolicyBlocks(plans.slice(1, 3), s, corePlugins, 3);
    // Live and exit rows only: an 8-byte header and 20 bytes a row (not the D floats of an observation).
    for (let i = 0; i < 2; i++) {
      expect(set.rows[i].dcap).toBe(0);
      expect(set.sabs[i].byteLength).toBe(8 + 20 * set.rows[i].cap);
    }
    // No shared batch given: every row spills, into buffers grown for them (sent back to the main thread).
    const d = set.decide(1);
    expect(d.spilled).toBe(true);
    expect(d.counts.reduce((a, b) => a + b, 0)).toBe(48);
    for (let i = 0; i < 2; i++) {
      expect(d.sabs[i]).toBe(set.sabs[i]);
      expect(set.rows[i].dcap).toBeGreaterThanOrEqual(d.counts[i]);
      expect(Array.from(set.rows[i].masks.subarray(0, set.A)).some((x) => x === 1)).toBe(true);
    }
  });

  for (const phase of ["scheduler", "needs"] as const) {
    it(`stops with the failing block's error when the threads after it wait for its rows (a failure in the ${phase} phase, 3 threads)`, async () => {
      // Block 1 of 3 only (uids from floor(2^32 / 3) up to twice that): thread 1's, with thread 2 after it.
      const span = Math.floor(2 ** 32 / 3);
      const build = { ...BUILD, overrides: { ...BUILD.overrides, "boom_block.min_uid": span, "boom_block.max_uid": 2 * span, "boom_block.phase": phase } };
      const plugins = await resolvePlugins(corePlugins, DEFAULT_CONFIG_FILE, [BOOM]);
      const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build, plugins, pluginSpecs: [BOOM], workers: 3 });
      try {
        const c = new RolloutCollector(await network(sr, plugins), 0.9);
        let err: unknown;
        try {
          for (let t = 0; t < 20; t++) await sr.collectTick(c, undefined, true);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(new RegExp(`^block 1 \\(towns 2\\.\\.3\\) failed at tick 7: .*boom in ${phase} at tick 7$`));
      } finally {
        await sr.close();
      }
    }, 60_000);
  }
});
