// The watchdog on worker threads (engine/watchdog.ts): a worker stuck in a system that never
// returns (an endless loop in a plug-in) sends no error and no exit, so the main thread would wait
// forever; instead the run fails with an error naming the worker, the block and the tick, the
// worker is stopped and the process goes on. A worker that keeps finishing ticks is never stopped.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { buildBlock } from "../../engine/shard-blocks.ts";
import { ShardedSim } from "../../engine/shards.ts";
import { initTensorBackend } from "../../engine/tensor.ts";
import { Watchdog, heartbeat, type Stall } from "../../engine/watchdog.ts";
import { corePlugins } from "../../systems/index.ts";
import { createNeuralPolicy } from "../../systems/policy/index.ts";
import { main } from "../../tools/cli.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../../tools/shard-host.ts";
import { RolloutCollector } from "../../training/rollout.ts";
import { ShardedRollout } from "../../training/sharded-rollout.ts";
import { MANY_TOWNS_CONFIG } from "../../bench/layouts.ts";
import { EnvWorkerDied, ShardedVectorEnv } from "../../env/sharded.ts";

const SPIN = fileURLToPath(new URL("../fixtures/spin.ts", import.meta.url));
const SMALL = { towns: 6, agentsPerTown: 4, shards: 3 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** What `f` throws (undefined when it returns). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("Watchdog", () => {
  it("reports a stall when the word stands still for its seconds while armed, with the beats since arm()", async () => {
    const stalls: Stall[] = [];
    const dog = new Watchdog(0.2, (s) => stalls.push(s));
    const word = new Int32Array(dog.buffer);
    heartbeat(word);
    dog.arm();
    heartbeat(word);
    heartbeat(word);
    await sleep(600);
    expect(stalls).toHaveLength(1);
    expect(stalls[0].beatsSinceArm).toBe(2);
    expect(stalls[0].stalledMs).toBeGreaterThanOrEqual(200);
  });

  it("stays quiet while the word moves, when disarmed, and with 0 seconds", async () => {
    // Here the beats come from this thread's timers (a worker beats from its own thread): 20 per limit.
    const stalls: Stall[] = [];
    const dog = new Watchdog(1, (s) => stalls.push(s));
    const word = new Int32Array(dog.buffer);
    dog.arm();
    for (let i = 0; i < 50; i++) {
      heartbeat(word);
      await sleep(50);
    }
    dog.arm(); // nested: one disarm leaves it armed
    dog.disarm();
    heartbeat(word);
    dog.disarm();
    await sleep(1500);
    const never = new Watchdog(0, (s) => stalls.push(s));
    never.arm();
    await sleep(300);
    never.disarm();
    expect(stalls).toEqual([]);
    expect(() => new Watchdog(Number.NaN, () => {})).toThrow(/finite number/);
  });
});

describe("a sharded world with a worker stuck in a plug-in's endless loop", () => {
  const open = (workers: number, watchdogSeconds?: number) =>
    ShardedSim.open({ configFile: MANY_TOWNS_CONFIG, build: SMALL, pluginSpecs: [SPIN], host: SHARD_HOST, hostModule: SHARD_HOST_MODULE, workers, watchdogSeconds });

  it("fails the step naming the worker, block and tick, stops the worker, and refuses later ticks with the same error", async () => {
    const sim = await open(2, 1);
    try {
      const t0 = Date.now();
      let err: unknown;
      try {
        for (let t = 0; t < 10; t++) await sim.step();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      // Worker 1 runs blocks 1 and 2; the spin plug-in loops in block 2 (uids from 2^31) at tick 3.
      expect((err as Error).message).toMatch(/^worker 1 \(blocks 1\.\.2\) finished no block's tick for 1\.\d s: block 2 is stuck in tick 3 \(a system that never returns, e\.g\. an endless loop in a plug-in\); the worker was stopped \(limit 1 s: --watchdog SECONDS, 0 for none\)$/);
      expect(Date.now() - t0).toBeLessThan(20_000);
      expect(sim.tick).toBe(2);
      await expect(sim.step()).rejects.toBe(err);
    } finally {
      await sim.close();
    }
  }, 60_000);

  it("names the same block and tick when the threads run on alone (advance)", async () => {
    const sim = await open(2, 1);
    try {
      await expect(sim.advance(10)).rejects.toThrow(/^worker 1 \(blocks 1\.\.2\) finished no block's tick for 1\.\d s: block 2 is stuck in tick 3 /);
    } finally {
      await sim.close();
    }
  }, 60_000);

  it("townlet run --watchdog 1 exits 1 with the error on one line instead of hanging", async () => {
    const errs: string[] = [];
    const code = await main(["run", MANY_TOWNS_CONFIG, "--towns", "6", "--agents", "4", "--shards", "3", "--workers", "2", "--plugin", SPIN, "--watchdog", "1", "--ticks", "10", "--quiet"], { log: () => {}, err: (l) => errs.push(l) });
    expect(code).toBe(1);
    expect(errs.join("\n")).toMatch(/worker 1 \(blocks 1\.\.2\) finished no block's tick for 1\.\d s: block 2 is stuck in tick 3/);
  }, 60_000);

  it("refuses a negative --watchdog with the range", async () => {
    const errs: string[] = [];
    expect(await main(["run", MANY_TOWNS_CONFIG, "--watchdog", "-1", "--quiet"], { log: () => {}, err: (l) => errs.push(l) })).toBe(1);
    expect(errs.join("\n")).toMatch(/--watchdog: expected a number >= 0, got "-1"/);
  });
});

describe("a sharded training rollout with a worker stuck in a plug-in's endless loop", () => {
  it("fails the tick naming the training worker and the tick, and refuses later calls with the same error", async () => {
    await initTensorBackend("cpu");
    const { resolvePlugins } = await import("../../engine/plugin-loader.ts");
    const plugins = await resolvePlugins(corePlugins, DEFAULT_CONFIG_FILE, [SPIN]);
    const build = { seed: 7, towns: 6, shards: 3 };
    const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG_FILE, build, plugins, pluginSpecs: [SPIN], workers: 2, watchdogSeconds: 1 });
    try {
      const model = buildBlock(sr.config.settings, plugins, { ...sr.plans[0], towns: 1 });
      const c = new RolloutCollector(await createNeuralPolicy(model, { hidden: [8], seed: 1 }), 0.9);
      let err: unknown;
      try {
        for (let t = 0; t < 10; t++) await sr.collectTick(c, undefined);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/^training worker 1 \(blocks 1\.\.2\) finished no block's half-tick for 1\.\d s during tick 3 \(a system that never returns/);
      await expect(sr.collectTick(c, undefined)).rejects.toBe(err);
    } finally {
      await sr.close();
    }
  }, 60_000);
});

describe("a sharded batch env (the Python bridge's) with a worker stuck in a plug-in's endless loop", () => {
  it("throws an EnvWorkerDied naming the worker, block, towns and step, and stays stopped (its threads ended)", async () => {
    const env = await ShardedVectorEnv.open({ config: MANY_TOWNS_CONFIG, overrides: { "world.towns": 6, "world.agents_per_town": 4, "world.shards": 3 }, maxCycles: 60, workers: 3, pluginSpecs: [SPIN], watchdogSeconds: 1 });
    try {
      // Ticks 1 and 2 step; block 2 spins in tick 3.
      const step = () => env.step(new Int32Array(env.rowIds.length));
      env.reset(3);
      step();
      step();
      const caught = thrown(step);
      expect(caught).toBeInstanceOf(EnvWorkerDied);
      expect((caught as Error).message).toMatch(
        /^env worker 2 \(block 2, towns 4\.\.5\) died during the step to tick 3: it finished no block's reset or step for 1\.\d s \(a system that never returns, e\.g\. an endless loop in a plug-in\) and was stopped \(limit 1 s: --watchdog SECONDS, 0 for none\); the env is stopped \(make a new one\)$/,
      );
      expect(() => env.step(new Int32Array(env.rowIds.length))).toThrow(caught as Error);
    } finally {
      env.close();
    }
  }, 60_000);
});
