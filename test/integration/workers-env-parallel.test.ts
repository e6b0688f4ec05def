// The dict env (TownletParallelEnv) and the conformance suite on sharded worlds (issue #14 item 1):
// a view over ShardedVectorEnv gives the same observations, rewards, terminations, truncations,
// infos and possible_agents on 1, 2 and 3 threads; the shipped suite passes on it; and
// `townlet env-check --shards K --workers N` runs the suite there, stating a worker cap.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MANY_TOWNS_CONFIG } from "../../bench/layouts.ts";
import { createRng } from "../../engine/rng.ts";
import { TownletParallelEnv, parallelApiTest, seedTest, type AgentObservation, type SuiteResult } from "../../env/index.ts";
import { ShardedVectorEnv } from "../../env/sharded.ts";
import { cmdEnvCheck } from "../../tools/env-check.ts";

/** 6 towns x 4 agents in 3 blocks; agents faint soon and are replaced soon, so agents leave and join. */
const THREE = {
  "world.towns": 6,
  "world.agents_per_town": 4,
  "world.shards": 3,
  "lifecycle.faint_hunger": 0.6,
  "lifecycle.respawn_delay_min": 0,
  "lifecycle.respawn_delay_max": 3,
};

function failed(r: SuiteResult): string[] {
  return r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
}

const sharded = (workers: number, maxCycles: number) => new TownletParallelEnv({ vector: new ShardedVectorEnv({ config: MANY_TOWNS_CONFIG, overrides: THREE, maxCycles, workers }) });

/** Every dict of a reset and the steps to the end of the episode, under a masked random policy (plain values, for toEqual). */
function episode(env: TownletParallelEnv, seed: number): unknown[] {
  const rng = createRng(3, "workers-env-parallel");
  const plain = (obs: Record<string, AgentObservation>) => Object.fromEntries(Object.entries(obs).map(([k, o]) => [k, [Array.from(o.observation), Array.from(o.action_mask)]]));
  const out: unknown[] = [];
  let [obs, infos] = env.reset({ seed });
  out.push([plain(obs), infos, [...env.possible_agents]]);
  while (env.agents.length > 0) {
    const actions: Record<string, number> = {};
    for (const a of env.agents) {
      const m = obs[a].action_mask;
      const allowed = [...m.keys()].filter((j) => m[j] === 1);
      actions[a] = allowed[rng.int(allowed.length)];
    }
    const [o, r, t, u, i] = env.step(actions);
    obs = o;
    infos = i;
    out.push([plain(o), r, t, u, i, [...env.agents], [...env.possible_agents]]);
  }
  return out;
}

describe("the dict env on a sharded world", () => {
  it("gives the same dicts on 1, 2 and 3 threads for 6 towns in 3 blocks, agents leaving and joining", () => {
    const runs: unknown[][] = [];
    for (const workers of [1, 2, 3]) {
      const env = sharded(workers, 40);
      try {
        expect((env.vector as ShardedVectorEnv).workers).toBe(workers);
        runs.push(episode(env, 5));
      } finally {
        env.close();
      }
    }
    expect(runs[0].length).toBe(41);
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    // The episode saw agents leave and join, in every block (uids of block b start at b * floor(2^32 / 3)).
    const last = runs[0][runs[0].length - 1] as unknown[];
    const possible = last[last.length - 1] as string[];
    expect(possible.length).toBeGreaterThan(24);
    const base = Math.floor(2 ** 32 / 3);
    expect(new Set(possible.slice(24).map((id) => Math.floor(Number(id.slice("agent_".length)) / base)))).toEqual(new Set([0, 1, 2]));
    const infos = runs[0].slice(1).flatMap((s) => Object.values((s as unknown[])[4] as Record<string, { joined?: boolean; replaces?: string; exit_reason?: string }>));
    expect(infos.some((i) => i.exit_reason !== undefined)).toBe(true);
    expect(infos.some((i) => i.joined === true && i.replaces !== undefined)).toBe(true);
  }, 180_000);

  it("passes the shipped conformance suite on 2 threads", () => {
    const make = () => sharded(2, 60);
    const api = parallelApiTest(make, { cycles: 60 });
    expect(failed(api)).toEqual([]);
    expect(api.checks.find((c) => c.name.startsWith("reset and step"))!.detail).toContain("up to 24 live agents");
    expect(failed(seedTest(make, { steps: 30 }))).toEqual([]);
  }, 180_000);

  it("has no single World to hand out: env.world names the blocks and threads", () => {
    const env = sharded(1, 5);
    expect(() => env.world).toThrow("TownletParallelEnv.world: this env views a sharded world of 3 blocks on 1 thread(s), which has no single World");
    env.close();
  });
});

describe("plug-ins of a sharded env", () => {
  it("loads the config's plugins: list in every worker thread (the thirst mod), with the same arrays on 1 and 2 threads", async () => {
    const THIRST = fileURLToPath(new URL("../../examples/mods/thirst/config.yaml", import.meta.url));
    const runs: string[][] = [];
    for (const workers of [1, 2]) {
      const env = await ShardedVectorEnv.open({ config: THIRST, overrides: { "world.towns": 2, "world.shards": 2 }, maxCycles: 20, workers });
      try {
        expect(env.workers).toBe(workers);
        const out: string[] = [];
        let r = env.reset(2);
        for (let t = 0; t < 10; t++) {
          out.push(Buffer.from(r.obs.buffer, r.obs.byteOffset, r.obs.byteLength).toString("base64") + Array.from(r.rewards).join(","));
          r = env.step(new Int32Array(r.count));
        }
        runs.push(out);
      } finally {
        env.close();
      }
    }
    expect(runs[1]).toEqual(runs[0]);
  }, 120_000);
});

describe("townlet env-check on a sharded world", () => {
  /** configs/many-towns.yaml cut down to 6 towns of 4 agents (its paths are relative to the project). */
  function smallConfig(dir: string): string {
    const file = join(dir, "six-towns.yaml");
    const text = readFileSync(MANY_TOWNS_CONFIG, "utf8").replace(/^  towns: 1000$/m, "  towns: 6").replace(/^  agents_per_town: 8$/m, "  agents_per_town: 4");
    expect(text).toContain("  towns: 6\n");
    writeFileSync(file, text);
    return file;
  }

  it("runs the suite over 2 blocks, capping --workers 3 at the blocks and saying so", async () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-env-check-"));
    try {
      const log: string[] = [];
      const err: string[] = [];
      const code = await cmdEnvCheck([smallConfig(dir), "--shards", "2", "--workers", "3", "--cycles", "20", "--json"], { log: (l) => log.push(l), err: (l) => err.push(l) });
      expect(err).toEqual(["--workers 3: capped at 2: the world has 2 blocks"]);
      const r = JSON.parse(log[0]) as { ok: boolean; blocks: number; workers: number; suites: { result: SuiteResult }[] };
      expect(r.suites.flatMap((s) => failed(s.result))).toEqual([]);
      expect([code, r.ok, r.blocks, r.workers]).toEqual([0, true, 2, 2]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("checks a one-block world on one thread whatever --workers says, and says so", async () => {
    const log: string[] = [];
    const err: string[] = [];
    expect(await cmdEnvCheck(["--workers", "4", "--cycles", "5"], { log: (l) => log.push(l), err: (l) => err.push(l) })).toBe(0);
    expect(err).toEqual(["--workers 4: capped at 1: this world is one block (set world.shards or --shards to split its towns)"]);
    expect(log[0]).toBe("townlet env-check: townlet_v1 on configs/default.yaml");
  }, 60_000);

  it("refuses --workers 0 and a non-number, naming the flag", async () => {
    for (const bad of ["0", "two", "1.5"]) {
      await expect(cmdEnvCheck(["--workers", bad], { log: () => {}, err: () => {} })).rejects.toThrow(/--workers/);
    }
  });
});
