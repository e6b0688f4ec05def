// `townlet bench --workers N --policy neural`: the workers bench's sharded world stepped by the
// runner of `townlet run --shards K --policy neural` (tools/shard-neural.ts): the same final state
// hash on every worker count, and the hash of that run of the same world and ticks.
import { describe, expect, it } from "vitest";
import { main } from "../../tools/cli.ts";

function capture() {
  const lines: string[] = [];
  const errs: string[] = [];
  return { out: { log: (l: string) => lines.push(l), err: (l: string) => errs.push(l) }, lines, errs };
}

describe("townlet bench --workers with a neural policy", () => {
  it("times the neural policy on 1 and 2 threads with the final state hash of townlet run --shards", async () => {
    // 32 agents: 4 towns of 8 (many-towns.yaml) in 4 blocks; 2 warm-up and 5 timed ticks.
    const b = capture();
    const code = await main(["bench", "--workers", "1,2", "--agents", "32", "--ticks", "5", "--warmup", "2", "--policy", "neural", "--backend", "cpu", "--in-process", "--json", "--quiet"], b.out);
    expect(code).toBe(0);
    const bench = JSON.parse(b.lines[b.lines.length - 1]) as { policy: string; same_state_hash: boolean; results: { workers: number; blocks: number; ticks: number; warmup_ticks: number; state_hash: string; agent_steps_per_sec: number }[] };
    expect(bench.policy).toBe("neural");
    expect(bench.results.map((r) => [r.workers, r.blocks, r.warmup_ticks + r.ticks])).toEqual([
      [1, 4, 7],
      [2, 4, 7],
    ]);
    expect(bench.same_state_hash).toBe(true);
    expect(bench.results[0].agent_steps_per_sec).toBeGreaterThan(0);

    const r = capture();
    expect(await main(["run", "configs/many-towns.yaml", "--towns", "4", "--agents", "8", "--shards", "4", "--policy", "neural", "--ticks", "7", "--backend", "cpu", "--json", "--quiet"], r.out)).toBe(0);
    const run = JSON.parse(r.lines[r.lines.length - 1]) as { state_hash: string; blocks: number };
    expect(run.blocks).toBe(4);
    expect(bench.results[0].state_hash).toBe(run.state_hash);
  }, 120_000);
});
