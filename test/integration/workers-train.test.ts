// Training and neural runs on sharded worlds (issue #14 item 1): the blocks run on worker threads,
// the main thread runs one policy batch over every block's agents per tick. The training log,
// the trained policy and a neural run's state hash depend on the blocks (world.shards), never on
// the number of workers; one block through the sharded path is exactly the in-process path; a
// failing block or a bad flag stops with a clear error, never a hang.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildWorld } from "../../engine/build.ts";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { buildBlock } from "../../engine/shard-blocks.ts";
import { initTensorBackend } from "../../engine/tensor.ts";
import { corePlugins } from "../../systems/index.ts";
import { createNeuralPolicy, setPolicy, type NeuralPolicy } from "../../systems/policy/index.ts";
import { main } from "../../tools/cli.ts";
import { RolloutCollector, type CollectMode } from "../../training/rollout.ts";
import { ShardedRollout } from "../../training/sharded-rollout.ts";
import { TrainingSession } from "../../training/session.ts";
import type { TrainSettings } from "../../training/trainer.ts";
import type { PpoLogWriter } from "../../training/log.ts";

const BOOM = fileURLToPath(new URL("../fixtures/boom.ts", import.meta.url));
const CRASH = fileURLToPath(new URL("../fixtures/crash.ts", import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "townlet-workers-train-"));
  await initTensorBackend("cpu");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const lines: string[] = [];
  const errs: string[] = [];
  return { out: { log: (l: string) => lines.push(l), err: (l: string) => errs.push(l) }, lines, errs };
}

/** A tiny sharded training run: 4 towns in 2 blocks, --quick (recording, cloning, DAgger, 3 PPO updates), an episode reset inside. */
const TRAIN = ["train", "--quick", "--towns", "4", "--shards", "2", "--episode-ticks", "40", "--no-eval", "--backend", "cpu", "--json", "--quiet"];

/** Every number of the log except the wall time. */
function logNumbers(file: string): Record<string, unknown>[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((l) => {
      const r = JSON.parse(l) as Record<string, unknown>;
      delete r.epoch_duration_sec;
      return r;
    });
}

/** Rows of one rollout of `ticks` ticks in `mode`: through the plain world's policy system, or through the sharded rollout. */
async function rows(how: "plain" | "sharded", mode: CollectMode, ticks: number, policy?: NeuralPolicy) {
  // Hunger falls fast and fainting comes early: agents exit and are replaced within the rollout.
  const build = { seed: 11, towns: 2, shards: 1, overrides: { "rewards.decay_rates.hunger": 0.03, "lifecycle.faint_hunger": 0.4 } };
  const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, build);
  const p = policy ?? (await createNeuralPolicy(world, { hidden: [8], seed: 3, greedy: false }));
  const c = new RolloutCollector(p, 0.95);
  c.aliveBonus = 0.1;
  if (how === "plain") {
    c.use(world, mode, 0.5);
    c.begin();
    for (let t = 0; t < ticks; t++) {
      world.step();
      c.afterTick(world);
    }
    c.finish(world);
  } else {
    const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build, plugins: corePlugins, workers: 1 });
    try {
      c.mode = mode;
      c.scriptedRatio = 0.5;
      sr.use(mode, 0.5);
      c.begin();
      for (let t = 0; t < ticks; t++) await sr.collectTick(c, undefined, t + 1 < ticks && t % 7 !== 0);
      await sr.finishRollout(c);
    } finally {
      await sr.close();
    }
  }
  const b = c.buffer;
  const n = b.count;
  return {
    policy: p,
    stats: c.stats,
    rows: {
      actions: Array.from(b.actions.subarray(0, n)),
      labels: Array.from(b.labels.subarray(0, n)),
      logp: Array.from(b.logp.subarray(0, n)),
      values: Array.from(b.values.subarray(0, n)),
      rewards: Array.from(b.rewards.subarray(0, n)),
      next: Array.from(b.next.subarray(0, n)),
      nextValues: Array.from(b.nextValues.subarray(0, n)),
      truncated: Array.from(b.truncated.subarray(0, n)),
      uid: Array.from(b.uid.subarray(0, n)),
      obs: Array.from(b.obs.subarray(0, n * b.obsSize)),
    },
  };
}

describe("training on a sharded world", () => {
  let checkpoint = "";

  it("writes the same training log and the same policy on 1 and 2 worker threads (4 towns in 2 blocks)", async () => {
    const logs: Record<string, unknown>[][] = [];
    const hashes: string[] = [];
    for (const n of [1, 2]) {
      const out = path.join(dir, `train-${n}`);
      const c = capture();
      const code = await main([...TRAIN, "--workers", String(n), "--out", out], c.out);
      expect(c.errs.join("\n")).toBe("");
      expect(code).toBe(0);
      const summary = JSON.parse(c.lines.join("\n"));
      expect(summary.shards).toEqual({ blocks: 2, workers: n });
      expect(summary.agent_steps).toBeGreaterThan(0);
      expect(summary.bc.dagger_rows, "DAgger labelled the states the clone visited").toBeGreaterThan(0);
      hashes.push(summary.policy_hash);
      logs.push(logNumbers(path.join(out, "ppo_log.jsonl")));
      checkpoint = path.join(out, "checkpoints", "final");
    }
    // Cloning epochs, the DAgger epoch, then 3 PPO updates with their replay epochs.
    expect(logs[0].map((r) => r.data_mode)).toEqual(["replay", "replay", "replay", "mixed", "mixed", "mixed", "mixed", "mixed", "mixed"]);
    expect(logs[0][3].loss_value).not.toBe(logs[0][5].loss_value); // the numbers move
    expect(logs[1]).toEqual(logs[0]);
    expect(hashes[1]).toBe(hashes[0]);
  }, 300_000);

  it("runs a trained policy on the blocks with the same hash log on 1 and 2 worker threads", async () => {
    expect(checkpoint).not.toBe("");
    const logs: string[] = [];
    const summaries: Record<string, unknown>[] = [];
    for (const n of [1, 2]) {
      const log = path.join(dir, `neural-${n}.log`);
      const c = capture();
      const code = await main(["run", "--towns", "4", "--shards", "2", "--workers", String(n), "--policy", `neural:${checkpoint}`, "--ticks", "40", "--backend", "cpu", "--hash-log", log, "--json", "--quiet"], c.out);
      expect(c.errs.join("\n")).toBe("");
      expect(code).toBe(0);
      summaries.push(JSON.parse(c.lines[c.lines.length - 1]));
      logs.push(readFileSync(log, "utf8"));
    }
    expect(logs[0].trim().split("\n")).toHaveLength(40);
    expect(logs[1]).toBe(logs[0]);
    expect(summaries[1].state_hash).toBe(summaries[0].state_hash);
    expect(summaries[0]).toMatchObject({ blocks: 2, workers: 1, ticks: 40 });
    expect((summaries[0].kpis as { policy_decisions: number }).policy_decisions).toBeGreaterThan(0);
  }, 120_000);

  it("snapshots a neural run on 2 worker threads and resumes it on 1 with the same hash log", async () => {
    expect(checkpoint).not.toBe("");
    const snaps = path.join(dir, "snaps");
    const run = ["run", "--towns", "4", "--shards", "2", "--policy", `neural:${checkpoint}`, "--ticks", "30", "--backend", "cpu", "--json", "--quiet"];
    const full = path.join(dir, "full.log");
    const resumed = path.join(dir, "resumed.log");
    expect(await main([...run, "--workers", "2", "--snapshot-every", "10", "--snapshot-dir", snaps, "--hash-log", full], capture().out)).toBe(0);
    const c = capture();
    expect(await main([...run, "--workers", "1", "--resume", path.join(snaps, "townlet-default-v1-0000000010.shards"), "--hash-log", resumed], c.out)).toBe(0);
    expect(JSON.parse(c.lines[c.lines.length - 1])).toMatchObject({ resumed_from: 10, ticks: 30 });
    expect(readFileSync(resumed, "utf8").trim().split("\n")).toEqual(readFileSync(full, "utf8").trim().split("\n").slice(10));
  }, 120_000);

  it("records, through the sharded rollout of a one-block world, exactly the rows the plain world's policy system records (every mode)", async () => {
    let policy: NeuralPolicy | undefined;
    for (const mode of ["policy", "blend", "dagger", "scripted"] as const) {
      const plain = await rows("plain", mode, 60, policy);
      policy = plain.policy;
      const sharded = await rows("sharded", mode, 60, policy);
      expect(plain.rows.actions.length, mode).toBeGreaterThan(0);
      expect(plain.stats.exits, mode).toBeGreaterThan(0);
      expect(plain.rows.uid.some((u) => u >= 24), `${mode}: rows of agents that joined`).toBe(true);
      expect(sharded.stats, mode).toEqual(plain.stats);
      expect(sharded.rows, mode).toEqual(plain.rows);
    }
  }, 120_000);

  it("switches modes and starts episodes through the training session alike on a plain world and on one block of the sharded rollout", async () => {
    const build = { seed: 13, towns: 2, shards: 1, overrides: { "rewards.decay_rates.hunger": 0.03, "lifecycle.faint_hunger": 0.4 } };
    const settings = { seed: 13, episodeTicks: 25 } as TrainSettings;
    const log = {} as PpoLogWriter;
    const start = { steps: 0, cycle: 0, decisions: 0 };
    const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, build);
    const policy = await createNeuralPolicy(world, { hidden: [8], seed: 4, greedy: false });
    const plain = new TrainingSession(settings, world, new RolloutCollector(policy, 0.9), log, start);
    const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build, plugins: corePlugins, workers: 1 });
    const model = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, build).world;
    const sharded = new TrainingSession(settings, model, new RolloutCollector(policy, 0.9), log, start, sr);
    try {
      for (const [mode, ratio] of [["scripted", 0], ["blend", 0.5], ["dagger", 0], ["policy", 0]] as const) {
        const got = [];
        for (const run of [plain, sharded]) {
          run.use(mode, ratio);
          const conflict = await run.rollout(30);
          const b = run.collector.buffer;
          got.push({ conflict, stats: run.collector.stats, actions: Array.from(b.actions.subarray(0, b.count)), labels: Array.from(b.labels.subarray(0, b.count)), rewards: Array.from(b.rewards.subarray(0, b.count)), ids: [...run.liveIds()].length, seed: run.episodeSeed });
        }
        expect(got[0].labels.some((l) => l >= 0), `${mode}: labels`).toBe(mode !== "policy");
        expect(got[1], mode).toEqual(got[0]);
      }
      expect(plain.episodeSeed).toBeGreaterThan(13); // episodes began anew inside the rollouts
    } finally {
      await sr.close();
    }
  }, 120_000);

  it("runs a tick in two halves (World.stepTo before policy/act, then stepRest) to the same state as step(), and refuses another tick in between", () => {
    const a = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, { seed: 3, towns: 2 }).world;
    const b = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, { seed: 3, towns: 2 }).world;
    for (let t = 0; t < 30; t++) {
      a.step();
      b.stepTo("policy/act");
      if (t === 0) {
        expect(() => b.step()).toThrow(/while a tick is paused/);
        expect(() => b.reset()).toThrow(/inside a tick/);
      }
      b.stepRest();
      expect(b.stateHash(), `tick ${t + 1}`).toBe(a.stateHash());
    }
    expect(() => b.stepRest()).toThrow(/no tick is paused/);
    expect(() => b.stepTo("no/such")).toThrow(/no system "no\/such"/);
  });

  it("runs a neural policy on a one-block world through the per-tick policy step with the plain world's state hash", async () => {
    const build = { seed: 5, towns: 2, shards: 1 };
    const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, build);
    const policy = await createNeuralPolicy(world, { hidden: [8], seed: 9, greedy: false });
    setPolicy(world, policy);
    world.run(50);
    const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build, plugins: corePlugins, workers: 1 });
    try {
      sr.use("policy");
      // Each tick's second half runs on into the next tick's first half (one request per tick), but the last.
      while (sr.tick < 50) await sr.inferTick(policy, false, sr.tick + 1 < 50);
      expect(await sr.stateHash()).toBe(world.stateHash());
    } finally {
      await sr.close();
    }
  }, 60_000);

  it("stops with the failing block's error and tick on 1 and 2 worker threads, and refuses later calls instead of waiting", async () => {
    const { loadBuildConfig } = await import("../../engine/build.ts");
    const { resolvePlugins } = await import("../../engine/plugin-loader.ts");
    const plugins = await resolvePlugins(corePlugins, DEFAULT_CONFIG_FILE, [BOOM]);
    const build = { seed: 7, towns: 6, shards: 3 };
    loadBuildConfig(DEFAULT_CONFIG_FILE, plugins, build);
    for (const n of [1, 2]) {
      const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build, plugins, pluginSpecs: [BOOM], workers: n });
      const model = buildBlock(sr.config.settings, plugins, { ...sr.plans[0], towns: 1 });
      const policy = await createNeuralPolicy(model, { hidden: [8], seed: 1 });
      const c = new RolloutCollector(policy, 0.9);
      let err: unknown;
      try {
        for (let t = 0; t < 20; t++) await sr.collectTick(c, undefined);
      } catch (e) {
        err = e;
      }
      try {
        expect(err, `${n} thread(s)`).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/^block 2 \(towns 4\.\.5\) failed at tick 7: system "boom\/explode" failed in phase needs at tick 7: boom at tick 7$/);
        await expect(sr.collectTick(c, undefined)).rejects.toBe(err);
      } finally {
        await sr.close();
      }
    }
  }, 120_000);

  it("stops with an error naming the worker and the tick when a worker thread dies, instead of waiting for it", async () => {
    const { resolvePlugins } = await import("../../engine/plugin-loader.ts");
    const plugins = await resolvePlugins(corePlugins, DEFAULT_CONFIG_FILE, [CRASH]);
    const build = { seed: 7, towns: 6, shards: 3, overrides: { "crash.how": "exit" } };
    const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build, plugins, pluginSpecs: [CRASH], workers: 2 });
    try {
      const model = buildBlock(sr.config.settings, plugins, { ...sr.plans[0], towns: 1 });
      const c = new RolloutCollector(await createNeuralPolicy(model, { hidden: [8], seed: 1 }), 0.9);
      let err: unknown;
      try {
        for (let t = 0; t < 20; t++) await sr.collectTick(c, undefined);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toBe("training worker 1 (blocks 1..2) exited (code 3) while the world ran (at tick 5)");
      await expect(sr.collectTick(c, undefined)).rejects.toBe(err);
    } finally {
      await sr.close();
    }
  }, 60_000);

  it("refuses bad combinations with one line naming what and why", async () => {
    const tooMany = capture();
    expect(await main(["train", "--quick", "--towns", "2", "--shards", "3", "--out", path.join(dir, "x"), "--quiet"], tooMany.out)).toBe(1);
    expect(tooMany.errs.join("\n")).toMatch(/world\.shards \(3\) must be at most world\.towns \(2\)/);
    const zero = capture();
    expect(await main(["train", "--quick", "--workers", "0", "--out", path.join(dir, "x"), "--quiet"], zero.out)).toBe(1);
    expect(zero.errs.join("\n")).toMatch(/--workers/);
    const profile = capture();
    expect(await main(["run", "--towns", "4", "--shards", "2", "--policy", "neural", "--ticks", "5", "--profile", "--quiet"], profile.out)).toBe(1);
    expect(profile.errs.join("\n")).toMatch(/--profile: not supported with a neural policy on world\.shards > 1 yet/);
  }, 60_000);

  it("states the cap when asked for more workers than the training world's blocks", async () => {
    const c = capture();
    const code = await main(["train", "--quick", "--towns", "2", "--workers", "2", "--bc-ticks", "0", "--dagger", "0", "--updates", "1", "--rollout-ticks", "5", "--no-eval", "--backend", "cpu", "--out", path.join(dir, "capped")], c.out);
    expect(code).toBe(0);
    expect(c.errs.filter((l) => /--workers 2 capped at 1: this training world is one block/.test(l))).toHaveLength(1);
  }, 60_000);
});
