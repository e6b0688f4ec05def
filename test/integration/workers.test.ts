// Sharded worlds and --workers (issue #14 item 1): the per-tick state hash depends on the blocks
// (world.shards), never on the number of worker threads; a one-block world is today's world; a
// block that throws stops the run with its error, block, towns and tick.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildWorld } from "../../engine/build.ts";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { buildBlock, planBlocks } from "../../engine/shard-blocks.ts";
import { ShardedSim } from "../../engine/shards.ts";
import { decodeShardSnapshot, encodeShardSnapshot, type ShardSnapshot } from "../../engine/shard-snapshot.ts";
import { corePlugins } from "../../systems/index.ts";
import { preparePolicy } from "../../systems/policy/index.ts";
import { UsageError, parseCommand } from "../../tools/args.ts";
import { main } from "../../tools/cli.ts";
import { RUN_SPEC } from "../../tools/run.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../../tools/shard-host.ts";
import { MANY_TOWNS_CONFIG } from "../../bench/layouts.ts";

const BOOM = fileURLToPath(new URL("../fixtures/boom.ts", import.meta.url));
const SMALL = { towns: 6, agentsPerTown: 4, shards: 3 };

function open(workers: number, o: { build?: typeof SMALL; configFile?: string; plugins?: string[] } = {}): Promise<ShardedSim> {
  return ShardedSim.open({ configFile: o.configFile ?? MANY_TOWNS_CONFIG, build: o.build ?? SMALL, pluginSpecs: o.plugins, host: SHARD_HOST, hostModule: SHARD_HOST_MODULE, workers });
}

async function hashStream(sim: ShardedSim, ticks: number): Promise<string[]> {
  sim.hashEveryTick = true;
  const out = [await sim.stateHash()];
  for (let t = 0; t < ticks; t++) {
    await sim.step();
    out.push(sim.lastHash!);
  }
  return out;
}

describe("a sharded world", () => {
  it("gives the same per-tick state hash on 1, 2 and 3 worker threads (6 towns in 3 blocks, 50 ticks)", async () => {
    const streams: string[][] = [];
    for (const n of [1, 2, 3]) {
      const sim = await open(n);
      try {
        expect(sim.blocks).toBe(3);
        expect(sim.workers).toBe(n);
        expect(sim.agents).toBe(24); // spawned when the blocks were built, before any tick
        streams.push(await hashStream(sim, 50));
        expect(sim.agents).toBeGreaterThan(0);
      } finally {
        await sim.close();
      }
    }
    expect(new Set(streams[0]).size).toBeGreaterThan(40); // the state moves every tick
    expect(streams[1]).toEqual(streams[0]);
    expect(streams[2]).toEqual(streams[0]);
  }, 120_000);

  it("hashes differently with another block count: the blocks are part of the world", async () => {
    const two = await open(1, { build: { ...SMALL, shards: 2 } });
    const three = await open(1);
    try {
      await two.step();
      await three.step();
      expect(await two.stateHash()).not.toBe(await three.stateHash());
    } finally {
      await two.close();
      await three.close();
    }
  });

  it("is, block by block, a World of the block's towns: block 0 uses the root seed, the others derived seeds and their own agent ids", async () => {
    const whole = buildWorld(MANY_TOWNS_CONFIG, corePlugins, { towns: 6, agentsPerTown: 4, shards: 3 }).config.settings;
    const plans = planBlocks(6, 3, whole.seed);
    expect(plans.map((p) => [p.townOffset, p.towns])).toEqual([[0, 2], [2, 2], [4, 2]]);
    expect(plans[0].seed).toBe(whole.seed);
    expect(new Set(plans.map((p) => p.seed)).size).toBe(3);
    // Block 0 equals a plain world of its two towns with the root seed.
    const block0 = buildBlock(whole, corePlugins, plans[0]);
    const plain = buildWorld(MANY_TOWNS_CONFIG, corePlugins, { towns: 2, agentsPerTown: 4 }).world;
    await preparePolicy(block0);
    await preparePolicy(plain);
    for (let t = 0; t < 20; t++) {
      block0.step();
      plain.step();
    }
    expect(block0.stateHash()).toBe(plain.stateHash());
    // Agent ids never collide between blocks.
    const block2 = buildBlock(whole, corePlugins, plans[2]);
    const names0 = Array.from(block0.agents, (e) => block0.agentName(e));
    const names2 = Array.from(block2.agents, (e) => block2.agentName(e));
    expect(names0.filter((n) => names2.includes(n))).toEqual([]);
    expect(block2.agentEid(names2[0])).toBe(block2.agents[0]);
  });

  it("keeps the default town's hash stream: one block through the sharded path equals the plain World, tick by tick", async () => {
    const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins);
    await preparePolicy(world);
    const plain = [world.stateHash()];
    for (let t = 0; t < 200; t++) {
      world.step();
      plain.push(world.stateHash());
    }
    const sim = await open(1, { configFile: DEFAULT_CONFIG_FILE, build: {} as typeof SMALL });
    try {
      expect(sim.blocks).toBe(1);
      expect(await hashStream(sim, 200)).toEqual(plain);
    } finally {
      await sim.close();
    }
  }, 60_000);

  it("stops with the failing block's error, towns and tick, the same on 1 and 3 threads, and never hangs", async () => {
    for (const n of [1, 3]) {
      const sim = await open(n, { plugins: [BOOM] });
      try {
        let err: unknown;
        try {
          for (let t = 0; t < 20; t++) await sim.step();
        } catch (e) {
          err = e;
        }
        expect(err, `${n} thread(s)`).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/^block 2 \(towns 4\.\.5\) failed at tick 7: system "boom\/explode" failed in phase needs at tick 7: boom at tick 7$/);
        expect(sim.tick).toBe(6);
        // A stopped world refuses further ticks (and hashes) with the same error instead of waiting.
        await expect(sim.step()).rejects.toBe(err);
        await expect(sim.stateHash()).rejects.toBe(err);
      } finally {
        await sim.close();
      }
    }
    // Threads that run on alone (advance) report the same first failure.
    const sim = await open(3, { plugins: [BOOM] });
    try {
      await expect(sim.advance(20)).rejects.toThrow(/^block 2 \(towns 4\.\.5\) failed at tick 7: /);
    } finally {
      await sim.close();
    }
  }, 120_000);
});

describe("a sharded world run in chunks and snapshotted", () => {
  it("gives the same hashes ticking in chunks without a barrier (advance) as tick by tick", async () => {
    const stepped = await open(1);
    const chunked = await open(3);
    try {
      const want = await hashStream(stepped, 30);
      chunked.hashEveryTick = true;
      const got = [await chunked.stateHash()];
      for (const n of [1, 7, 12, 10]) got.push(...(await chunked.advance(n)).hashes!);
      expect(got).toEqual(want);
      expect(chunked.tick).toBe(30);
      expect(chunked.agents).toBe(stepped.agents);
    } finally {
      await stepped.close();
      await chunked.close();
    }
  }, 120_000);

  it("resumes from a snapshot of every block on another number of workers with the same hash stream", async () => {
    const full = await open(2);
    let later: string[];
    let snap: ShardSnapshot;
    try {
      await full.advance(15);
      snap = decodeShardSnapshot(encodeShardSnapshot(await full.snapshot()));
      later = (await hashStream(full, 15)).slice(1);
    } finally {
      await full.close();
    }
    expect(snap.header).toMatchObject({ tick: 15, blocks: 3, towns: 6 });
    expect(snap.blocks).toHaveLength(3);
    for (const n of [1, 3]) {
      const resumed = await open(n);
      try {
        await resumed.restore(snap);
        expect(resumed.tick).toBe(15);
        expect((await hashStream(resumed, 15)).slice(1)).toEqual(later);
      } finally {
        await resumed.close();
      }
    }
  }, 120_000);

  it("refuses a snapshot of another block count, and a damaged one, naming what differs", async () => {
    const a = await open(1);
    const b = await open(1, { build: { ...SMALL, shards: 2 } });
    try {
      await a.advance(2);
      const bytes = encodeShardSnapshot(await a.snapshot());
      await expect(b.restore(decodeShardSnapshot(bytes))).rejects.toThrow(/3 blocks|hash/);
      bytes[bytes.length - 40] ^= 1;
      expect(() => decodeShardSnapshot(bytes, "x.shards")).toThrow(/x\.shards: sha256 mismatch/);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("townlet run --workers", () => {
  it("refuses 0 and a non-number with one line naming the flag", () => {
    for (const v of ["0", "two", "-1", "1.5"]) {
      expect(() => parseCommand(RUN_SPEC, ["--workers", v])).toThrow(UsageError);
      expect(() => parseCommand(RUN_SPEC, ["--workers", v])).toThrow(/--workers/);
    }
  });

  it("states the cap once when asked for more workers than blocks, and prints the same summary hash for 1 and 2 workers", async () => {
    const run = async (args: string[]) => {
      const logs: string[] = [];
      const errs: string[] = [];
      const code = await main(["run", MANY_TOWNS_CONFIG, "--towns", "4", "--agents", "3", "--ticks", "15", "--json", ...args], { log: (l) => logs.push(l), err: (l) => errs.push(l) });
      expect(code, errs.join("\n")).toBe(0);
      return { summary: JSON.parse(logs.at(-1)!) as Record<string, unknown>, errs };
    };
    const one = await run(["--shards", "2", "--workers", "1"]);
    const capped = await run(["--shards", "2", "--workers", "5", "--profile"]);
    expect(capped.errs.filter((l) => /capped at 2/.test(l))).toHaveLength(1);
    expect(capped.summary.workers).toBe(2);
    expect(capped.summary.state_hash).toBe(one.summary.state_hash);
    expect(capped.summary.agents).toBe(one.summary.agents);
    // --profile: each system's time summed over the blocks of both threads.
    expect((capped.summary.system_ms as Record<string, number>)["needs/decay"]).toBeGreaterThan(0);
    const plain = await run(["--workers", "3"]);
    expect(plain.errs.filter((l) => /capped at 1: this world is one block/.test(l))).toHaveLength(1);
  }, 120_000);

  it("writes .shards snapshots and resumes from the folder on another number of workers with the same hash log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-workers-"));
    try {
      const io = { log: () => {}, err: () => {} };
      const base = ["run", MANY_TOWNS_CONFIG, "--towns", "6", "--agents", "3", "--shards", "3", "--ticks", "30", "--quiet"];
      expect(await main([...base, "--workers", "3", "--snapshot-every", "10", "--snapshot-dir", join(dir, "snaps"), "--hash-log", join(dir, "full.log")], io)).toBe(0);
      expect(readdirSync(join(dir, "snaps")).sort()).toEqual([10, 20, 30].map((t) => `townlet-many-towns-v1-${String(t).padStart(10, "0")}.shards`));
      rmSync(join(dir, "snaps", "townlet-many-towns-v1-0000000030.shards"));
      expect(await main([...base, "--workers", "1", "--resume", join(dir, "snaps"), "--hash-log", join(dir, "resumed.log")], io)).toBe(0);
      const full = readFileSync(join(dir, "full.log"), "utf8").trim().split("\n");
      expect(readFileSync(join(dir, "resumed.log"), "utf8").trim().split("\n")).toEqual(full.slice(20));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("refuses world.shards above the towns, and flags sharded worlds do not take yet, naming them", async () => {
    const errs: string[] = [];
    const io = { log: () => {}, err: (l: string) => errs.push(l) };
    expect(await main(["run", MANY_TOWNS_CONFIG, "--towns", "2", "--shards", "3", "--ticks", "1", "--quiet"], io)).toBe(1);
    expect(errs.join("\n")).toMatch(/world\.shards \(3\) must be at most world\.towns \(2\)/);
    errs.length = 0;
    expect(await main(["run", MANY_TOWNS_CONFIG, "--towns", "2", "--shards", "2", "--telemetry", "stdout", "--quiet"], io)).toBe(1);
    expect(errs.join("\n")).toMatch(/--telemetry: not supported with world\.shards > 1 yet/);
  });
});
