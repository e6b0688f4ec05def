// The default --workers (issue #14 item 1): a world of K > 1 blocks given no --workers runs on
// min(the machine's cores, K) threads in every entry point (engine/shards.ts defaultWorkers): the
// env, serve --stdio, env-check and run; K = 1 stays one thread; --workers 1 forces one thread; the
// replies and hashes are those of an explicit count. The cores are read here from
// os.availableParallelism(), never assumed.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MANY_TOWNS_CONFIG } from "../../bench/layouts.ts";
import { defaultWorkers } from "../../engine/shards.ts";
import { ShardedVectorEnv } from "../../env/sharded.ts";
import { TownletVectorEnv, type VectorStep } from "../../env/vector.ts";
import { parseCommand, threadsLine, type CommandSpec } from "../../tools/args.ts";
import { BRIDGE_SPEC, openBridgeEnv } from "../../tools/bridge.ts";
import { main } from "../../tools/cli.ts";
import { cmdEnvCheck, ENV_CHECK_SPEC } from "../../tools/env-check.ts";
import { RUN_SPEC } from "../../tools/run.ts";
import { SERVE_SPEC } from "../../tools/serve.ts";
import { TRAIN_SPEC } from "../../tools/train.ts";

const CORES = availableParallelism();
/** 6 towns x 4 agents in 3 blocks; agents faint and are replaced soon, so rows leave and join. */
const THREE = {
  "world.towns": 6,
  "world.agents_per_town": 4,
  "world.shards": 3,
  "lifecycle.faint_hunger": 0.6,
  "lifecycle.respawn_delay_min": 0,
  "lifecycle.respawn_delay_max": 3,
};

/** Steps the env `steps` times (each row's first allowed action) and digests every reply's arrays. */
function digest(env: ShardedVectorEnv, steps: number): string {
  const h = createHash("sha256");
  const add = (r: VectorStep) => {
    for (const a of [r.uids, r.obs, r.masks, r.rewards, r.terminated, r.truncated]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  };
  let r = env.reset(5);
  add(r);
  for (let t = 0; t < steps && !env.done; t++) {
    const A = env.actionCount;
    const actions = new Int32Array(r.count);
    for (let i = 0; i < r.count; i++) actions[i] = Math.max(0, r.masks.subarray(i * A, (i + 1) * A).indexOf(1));
    r = env.step(actions);
    add(r);
  }
  return h.digest("hex");
}

describe("the default number of worker threads", () => {
  it("is the machine's cores capped by the blocks, and one thread for one block", () => {
    for (const K of [1, 2, 3, 8, 64]) expect(defaultWorkers(K)).toBe(Math.min(CORES, K));
    expect(defaultWorkers(1)).toBe(1);
  });

  it("is said in one line with how it was chosen, and an explicit count is said plainly", () => {
    expect(threadsLine(3, Math.min(CORES, 3), true)).toBe(`3 blocks of towns on ${Math.min(CORES, 3)} ${Math.min(CORES, 3) === 1 ? "thread" : "threads"} (default --workers: ${CORES} cores, 3 blocks)`);
    expect(threadsLine(3, 1, false)).toBe("3 blocks of towns on 1 thread");
  });

  it("leaves --workers unset on every command that takes it, and takes an explicit 1", () => {
    const specs: CommandSpec[] = [RUN_SPEC, TRAIN_SPEC, SERVE_SPEC, BRIDGE_SPEC, ENV_CHECK_SPEC];
    for (const spec of specs) {
      expect(parseCommand(spec, []).values.workers, spec.name).toBeUndefined();
      expect(parseCommand(spec, ["--workers", "1"]).values.workers, spec.name).toBe(1);
    }
  });
});

describe("the sharded env without workers", () => {
  it("runs 3 blocks on min(cores, 3) threads with the replies of workers: 1", () => {
    const auto = new ShardedVectorEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles: 40 });
    const one = new ShardedVectorEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles: 40, workers: 1 });
    try {
      expect(auto.workers).toBe(Math.min(CORES, 3));
      expect(one.workers).toBe(1);
      expect(digest(auto, 40)).toBe(digest(one, 40));
    } finally {
      auto.close();
      one.close();
    }
  }, 120_000);
});

describe("serve --stdio's env without --workers", () => {
  it("runs a sharded world on min(cores, blocks) threads with no note, and --workers 1 on one", () => {
    const notes: string[] = [];
    const io = { log: () => {}, err: (l: string) => notes.push(l) };
    const auto = openBridgeEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles: 5 }, io);
    const one = openBridgeEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles: 5, workers: 1 }, io);
    try {
      expect(auto).toBeInstanceOf(ShardedVectorEnv);
      expect((auto as ShardedVectorEnv).workers).toBe(Math.min(CORES, 3));
      expect((one as ShardedVectorEnv).workers).toBe(1);
      expect(notes).toEqual([]);
    } finally {
      auto.close();
      one.close();
    }
  }, 60_000);

  it("serves a one-block world as before, on one thread, with no note", () => {
    const notes: string[] = [];
    const env = openBridgeEnv({ config: MANY_TOWNS_CONFIG, overrides: { ...THREE, "world.shards": 1 }, maxCycles: 5 }, { log: () => {}, err: (l) => notes.push(l) });
    try {
      expect(env).toBeInstanceOf(TownletVectorEnv);
      expect(notes).toEqual([]);
    } finally {
      env.close();
    }
  });
});

describe("env-check and run without --workers", () => {
  it("env-check runs the suite on min(cores, 2) threads for 2 blocks, saying it is the default", async () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-workers-default-"));
    try {
      const file = join(dir, "six-towns.yaml");
      const text = readFileSync(MANY_TOWNS_CONFIG, "utf8").replace(/^  towns: 1000$/m, "  towns: 6").replace(/^  agents_per_town: 8$/m, "  agents_per_town: 4");
      expect(text).toContain("  towns: 6\n");
      writeFileSync(file, text);
      const check = async (args: string[]) => {
        const log: string[] = [];
        const err: string[] = [];
        const code = await cmdEnvCheck([file, "--shards", "2", "--cycles", "5", ...args], { log: (l) => log.push(l), err: (l) => err.push(l) });
        expect(err).toEqual([]);
        expect(code).toBe(0);
        return log;
      };
      const json = JSON.parse((await check(["--json"]))[0]) as { ok: boolean; blocks: number; workers: number; workers_default: boolean };
      expect([json.ok, json.blocks, json.workers, json.workers_default]).toEqual([true, 2, Math.min(CORES, 2), true]);
      const text1 = await check(["--workers", "1"]);
      expect(text1[0]).toMatch(/\(2 blocks of towns on 1 thread\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("run takes min(cores, 3) threads for 3 blocks, says so, and ends on the hash of --workers 1", async () => {
    const run = async (args: string[]) => {
      const logs: string[] = [];
      const errs: string[] = [];
      const code = await main(["run", MANY_TOWNS_CONFIG, "--towns", "6", "--agents", "3", "--shards", "3", "--ticks", "12", ...args], { log: (l) => logs.push(l), err: (l) => errs.push(l) });
      expect(code, errs.join("\n")).toBe(0);
      return { logs, errs };
    };
    const auto = await run(["--json"]);
    const one = await run(["--json", "--workers", "1"]);
    const a = JSON.parse(auto.logs.at(-1)!) as { workers: number; state_hash: string };
    const b = JSON.parse(one.logs.at(-1)!) as { workers: number; state_hash: string };
    expect([a.workers, b.workers]).toEqual([Math.min(CORES, 3), 1]);
    expect(a.state_hash).toBe(b.state_hash);
    const text = await run([]);
    const n = Math.min(CORES, 3);
    expect(text.errs).toContain(`townlet run: 3 blocks of towns on ${n} ${n === 1 ? "thread" : "threads"} (default --workers: ${CORES} cores, 3 blocks)`);
  }, 180_000);
});
