// ShardedSim.reset (engine/shards.ts): every block starts over with a new root seed on its own
// thread, and the world is then the one a fresh ShardedSim.open with that seed builds: the same
// per-tick hashes, on 1 and 2 workers, the host's extension made anew; train's evaluation on
// blocks uses it, so a scripted or random policy's threads start once for every seed.
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { ShardedSim, type ShardedOptions } from "../../engine/shards.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../../tools/shard-host.ts";
import { EVAL_SHARD_HOST, EVAL_SHARD_HOST_MODULE } from "../../training/eval-shard-host.ts";
import { evaluateOnBlocks } from "../../training/evaluate-blocks.ts";

/** Hungrier agents that faint sooner: some leave within a few dozen ticks, so exits count. */
const HUNGRY = { "rewards.decay_rates.hunger": 0.012, "lifecycle.faint_hunger": 0.3 };

function options(seed: number, workers: number, extra: Partial<ShardedOptions> = {}): ShardedOptions {
  return { configFile: DEFAULT_CONFIG_FILE, build: { seed, towns: 4, shards: 2, overrides: HUNGRY }, host: SHARD_HOST, hostModule: SHARD_HOST_MODULE, workers, policy: "random", ...extra };
}

/** The hash after each of `ticks` ticks (step by step). */
async function hashes(sim: ShardedSim, ticks: number): Promise<string[]> {
  sim.hashEveryTick = true;
  const out: string[] = [];
  for (let t = 0; t < ticks; t++) {
    await sim.step();
    out.push(sim.lastHash!);
  }
  return out;
}

const open: ShardedSim[] = [];
async function opened(o: ShardedOptions): Promise<ShardedSim> {
  const sim = await ShardedSim.open(o);
  open.push(sim);
  return sim;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  vi.restoreAllMocks();
});

describe("ShardedSim.reset", () => {
  for (const workers of [1, 2]) {
    it(`gives the per-tick hashes of a fresh world of the new seed (${workers} worker${workers > 1 ? "s" : ""})`, async () => {
      const fresh = await opened(options(9, workers));
      const start = { hash: await fresh.stateHash(), agents: fresh.agents };
      const want = await hashes(fresh, 25);

      const sim = await opened(options(5, workers));
      const five = await hashes(sim, 12);
      await sim.reset(9);
      expect({ tick: sim.tick, seed: sim.seed, workers: sim.workers }).toEqual({ tick: 0, seed: 9, workers });
      expect({ hash: await sim.stateHash(), agents: sim.agents }).toEqual(start);
      expect(await hashes(sim, 25)).toEqual(want);
      // Back to the seed it was opened with: its own first ticks again.
      await sim.reset(5);
      expect(await hashes(sim, 12)).toEqual(five);
      expect(five[0]).not.toBe(want[0]);
    }, 120_000);
  }

  it("makes the host's extension anew, as a fresh world's (the evaluation's tallies start from the reset world)", async () => {
    const eval6 = { host: EVAL_SHARD_HOST, hostModule: EVAL_SHARD_HOST_MODULE };
    const fresh = await opened(options(6, 2, eval6));
    for (let t = 0; t < 30; t++) await fresh.step();
    const want = await fresh.ext("eval:result", null);

    const sim = await opened(options(5, 2, eval6));
    for (let t = 0; t < 30; t++) await sim.step();
    await sim.reset(6);
    for (let t = 0; t < 30; t++) await sim.step();
    const got = await sim.ext("eval:result", null);
    expect(got).toEqual(want);
    expect((want.flat() as { ticks: { exits: number } }[]).some((b) => b.ticks.exits > 0)).toBe(true);
  }, 120_000);

  it("refuses a seed that is not an integer, naming it, and the world runs on", async () => {
    const sim = await opened(options(5, 1));
    await expect(sim.reset(1.5)).rejects.toThrow(/reset: seed must be an integer, got 1.5/);
    await sim.step();
    expect(sim.tick).toBe(1);
  });
});

describe("train's evaluation of scripted and random on blocks", () => {
  it("opens one sharded world per policy for every seed, with the numbers of a fresh world per seed", async () => {
    const opens = vi.spyOn(ShardedSim, "open");
    const got = [];
    for (const p of ["scripted", "random"] as const) {
      const { result, place } = await evaluateOnBlocks(p, p, { config: DEFAULT_CONFIG_FILE, overrides: HUNGRY, seeds: [5, 6, 7], ticks: 30, towns: 4, shards: 2, workers: 2 });
      expect(place).toEqual({ towns: 4, blocks: 2, workers: 2 });
      got.push({ ...result, wall_sec: 0 });
    }
    expect(opens).toHaveBeenCalledTimes(2);
    // Recorded at commit 775c869, when each seed opened a fresh sharded world (new threads).
    const before = [{"policy":"scripted","seeds":[5,6,7],"ticks":30,"agents":144,"return_mean":-5.271297540817715,"return_std_seeds":0.1248201262202716,"return_unclipped_mean":-5.271297482123698,"return_unclipped_std_seeds":0.12482012463670676,"agent_steps":4062,"survival":0.7291666666666666,"survival_std_seeds":0.05892556509887896,"exits_per_agent_day":13.825701624815363,"reward_per_step":-0.18797550702704705,"invalid_actions":0,"wall_sec":0},{"policy":"random","seeds":[5,6,7],"ticks":30,"agents":144,"return_mean":-5.177751867605669,"return_std_seeds":0.1320884300563858,"return_unclipped_mean":-5.177751810360377,"return_unclipped_std_seeds":0.1320884284082423,"agent_steps":4045,"survival":0.7083333333333334,"survival_std_seeds":0.05892556509887896,"exits_per_agent_day":14.951792336217553,"reward_per_step":-0.18541359573660093,"invalid_actions":0,"wall_sec":0}];
    expect(got).toEqual(before);
  }, 180_000);
});
