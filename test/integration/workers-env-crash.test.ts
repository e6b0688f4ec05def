// A worker thread of the sharded env that dies (issue #14 item 1, "never a hang"): V8's heap limit
// stops it without running any exit handler, or a plug-in calls process.exit. The env's supervisor
// thread sees the end: reset/step throw an EnvWorkerDied naming the worker, its block, its towns
// and the tick, the bridge answers it as an error reply, and every later call answers the same.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MANY_TOWNS_CONFIG } from "../../bench/layouts.ts";
import { EnvWorkerDied, ShardedVectorEnv } from "../../env/sharded.ts";
import { SUPERVISOR_SILENCE_MS } from "../../env/shard-groups.ts";
import { Bridge, encodeFrame, PROTOCOL_VERSION } from "../../tools/bridge.ts";

const CRASH = fileURLToPath(new URL("../fixtures/crash.ts", import.meta.url));
/** 6 towns x 4 agents in 3 blocks; the crash plug-in picks block 2 (towns 4..5), on worker 2 of 3. */
const THREE = { "world.towns": 6, "world.agents_per_town": 4, "world.shards": 3 };

function send(bridge: Bridge, header: Record<string, unknown>, actions?: Int32Array): Record<string, unknown> {
  const frame = Buffer.concat(encodeFrame({ v: PROTOCOL_VERSION, id: 1, ...header }, actions ? [["actions", actions, [actions.length]]] : []));
  const parsed = JSON.parse(frame.subarray(8, 8 + frame.readUInt32LE(4)).toString("utf8")) as Record<string, unknown>;
  const out = Buffer.concat(bridge.handle(parsed, frame).reply);
  return JSON.parse(out.subarray(8, 8 + out.readUInt32LE(4)).toString("utf8")) as Record<string, unknown>;
}

describe("a worker of the sharded env that dies", () => {
  it("stops the env with an error naming the worker, its block, towns and tick when V8's heap limit kills it (no exit handler runs)", async () => {
    const env = await ShardedVectorEnv.open({ config: MANY_TOWNS_CONFIG, overrides: { ...THREE, "crash.at_tick": 4 }, maxCycles: 60, workers: 3, pluginSpecs: [CRASH], workerHeapMb: 128 });
    const bridge = new Bridge(env);
    try {
      let r = send(bridge, { type: "reset" });
      for (let t = 1; t < 4; t++) {
        r = send(bridge, { type: "step" }, new Int32Array(r.count as number));
        expect(r).toMatchObject({ type: "step", tick: t });
      }
      const err = send(bridge, { type: "step" }, new Int32Array(r.count as number));
      expect(err).toMatchObject({ type: "error", fatal: false, error: "EnvWorkerDied" });
      expect(err.message).toMatch(
        /^env worker 2 \(block 2, towns 4\.\.5\) died during the step to tick 4: Worker terminated due to reaching memory limit: JS heap out of memory \(ERR_WORKER_OUT_OF_MEMORY\), exit code 1; the env is stopped \(make a new one\)$/,
      );
      // Stopped: the next step and reset give the same error at once.
      expect(send(bridge, { type: "step" }, new Int32Array(r.count as number)).message).toBe(err.message);
      expect(send(bridge, { type: "reset" }).message).toBe(err.message);
    } finally {
      bridge.shutdown();
    }
  }, 120_000);

  it("stops the env with the exit code when a plug-in calls process.exit in a worker", async () => {
    const env = await ShardedVectorEnv.open({ config: MANY_TOWNS_CONFIG, overrides: { ...THREE, "crash.how": "exit", "crash.at_tick": 2, "crash.min_uid": 0 }, maxCycles: 60, workers: 2, pluginSpecs: [CRASH] });
    try {
      const r = env.reset(3);
      env.step(new Int32Array(r.count));
      let caught: unknown;
      try {
        env.step(new Int32Array(env.rowIds.length));
      } catch (e) {
        caught = e;
      }
      // Block 0 on worker 0, blocks 1 and 2 on worker 1: both exit at tick 2; worker 0 is waited for first.
      expect(caught).toBeInstanceOf(EnvWorkerDied);
      const died = caught as EnvWorkerDied;
      expect(died.message).toBe("env worker 0 (block 0, towns 0..1) died during the step to tick 2: it exited with code 3; the env is stopped (make a new one)");
      expect([died.worker, died.blocks, died.towns, died.during]).toEqual([0, [0], [0, 1], "the step to tick 2"]);
      expect(() => env.reset(3)).toThrow(died.message);
    } finally {
      env.close();
    }
  }, 120_000);

  it("stops the env, after SUPERVISOR_SILENCE_MS, when the supervisor thread itself is gone (its workers go with it)", async () => {
    const env = new ShardedVectorEnv({ config: MANY_TOWNS_CONFIG, overrides: { ...THREE, "world.shards": 2 }, maxCycles: 60, workers: 2 });
    try {
      const r = env.reset(1);
      env.step(new Int32Array(r.count));
      // The supervisor (private) stopped from outside, and waited for: no exit event will ever report the workers.
      await (env as unknown as { supervisor: { worker: { terminate(): Promise<number> } } }).supervisor.worker.terminate();
      expect(() => env.step(new Int32Array(env.rowIds.length))).toThrow(
        `env worker 0 (block 0, towns 0..2) died during the step to tick 2: its supervisor thread gave no sign of life for ${SUPERVISOR_SILENCE_MS / 1000} s; the env is stopped (make a new one)`,
      );
    } finally {
      env.close();
    }
  }, 120_000);

  it("refuses a worker count that is not an integer of at least 1, naming the value", () => {
    for (const [bad, shown] of [[0, "0"], [-1, "-1"], [1.5, "1.5"], ["2", '"2"'], [Number.NaN, "NaN"]] as const) {
      expect(() => new ShardedVectorEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, workers: bad as number })).toThrow(`workers: expected an integer >= 1, got ${shown}`);
    }
  });

  it("refuses a worker heap limit that is not an integer of at least 16 MiB", () => {
    expect(() => new ShardedVectorEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, workers: 2, workerHeapMb: 8 })).toThrow("workerHeapMb: expected an integer >= 16 (MiB), got 8");
  });
});
