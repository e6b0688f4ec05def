// A training rollout on a sharded world on 1 and N worker threads (not a test): configs/many-towns.yaml
// at --agents (towns of 8) in --shards blocks, a fresh network (--hidden), PPO's collect mode
// (the network samples every decision); per tick the blocks run up to the policy on the threads,
// the main thread runs one batch over every block's rows, the blocks finish the tick
// (training/sharded-rollout.ts). Rows are interleaved (1, N, 1, N, ...) --reps times, each a new
// world with a warm-up of --warmup ticks, then --ticks timed ticks. Prints per row agent-steps/s
// (wall), CPU seconds of the whole process (every thread) per 1,000 agent-steps, the main thread's
// share in the policy batch, and the rollout's reward sum (the same on every N: a determinism check).
// Run: node --import tsx bench/rollout-workers.ts [--agents 20000] [--shards 8] [--workers 1,2]
//   [--ticks 60] [--warmup 10] [--reps 3] [--hidden 64,64] [--backend wasm] [--json]
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { describeTensorBackend, initTensorBackend, parseBackendName } from "../engine/tensor.ts";
import { buildBlock } from "../engine/shard-blocks.ts";
import { corePlugins } from "../systems/index.ts";
import { createNeuralPolicy } from "../systems/policy/index.ts";
import { RolloutCollector } from "../training/rollout.ts";
import { ShardedRollout } from "../training/sharded-rollout.ts";
import { AGENTS_PER_SMALL_TOWN, MANY_TOWNS_CONFIG } from "./layouts.ts";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "20000" },
    shards: { type: "string", default: "8" },
    workers: { type: "string", default: "1,2" },
    ticks: { type: "string", default: "60" },
    warmup: { type: "string", default: "10" },
    reps: { type: "string", default: "3" },
    hidden: { type: "string", default: "64,64" },
    backend: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const agents = Number(values.agents);
const shards = Number(values.shards);
const workerList = values.workers!.split(",").map(Number);
const ticks = Number(values.ticks);
const warmup = Number(values.warmup);
const reps = Number(values.reps);
const hidden = values.hidden!.split(",").map(Number);
const tb = await initTensorBackend(values.backend ? parseBackendName(values.backend) : undefined);
const towns = Math.ceil(agents / AGENTS_PER_SMALL_TOWN);
const build = { seed: 1, towns, agentsPerTown: AGENTS_PER_SMALL_TOWN, shards };

interface Row {
  workers: number;
  rep: number;
  agent_steps: number;
  wall_s: number;
  agent_steps_per_sec: number;
  cpu_s: number;
  cpu_ms_per_1k_steps: number;
  policy_s: number;
  reward_sum: number;
  decisions: number;
  load_before: number;
}

async function one(workers: number, rep: number): Promise<Row> {
  const sr = await ShardedRollout.open({ configFile: MANY_TOWNS_CONFIG, build, plugins: corePlugins, workers });
  try {
    const model = buildBlock(sr.config.settings, corePlugins, { ...sr.plans[0], towns: 1 });
    const policy = await createNeuralPolicy(model, { hidden, seed: 1, greedy: false });
    const c = new RolloutCollector(policy, 0.99);
    c.mode = "policy";
    sr.use("policy");
    c.begin();
    for (let t = 0; t < warmup; t++) await sr.collectTick(c, undefined, t + 1 < warmup);
    c.begin();
    const load = loadavg()[0];
    // Time in the policy batch (main thread): the network's decide, wrapped.
    let policyMs = 0;
    const decide = policy.decide.bind(policy);
    policy.decide = ((...a: Parameters<typeof decide>) => {
      const p0 = performance.now();
      const r = decide(...a);
      policyMs += performance.now() - p0;
      return r;
    }) as typeof policy.decide;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let t = 0; t < ticks; t++) await sr.collectTick(c, undefined, t + 1 < ticks);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const steps = c.stats.agentSteps;
    return {
      workers: sr.workers,
      rep,
      agent_steps: steps,
      wall_s: round(wall),
      agent_steps_per_sec: Math.round(steps / wall),
      cpu_s: round(cpuS),
      cpu_ms_per_1k_steps: round((1e6 * cpuS) / steps),
      policy_s: round(policyMs / 1000),
      reward_sum: c.stats.rewardSum,
      decisions: c.stats.decisions,
      load_before: round(load),
    };
  } finally {
    await sr.close();
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

const rows: Row[] = [];
for (let r = 0; r < reps; r++) for (const w of workerList) rows.push(await one(w, r));
const head = { agents: towns * AGENTS_PER_SMALL_TOWN, towns, shards, ticks, warmup, hidden, cores: cpus().length, tensor_backend: describeTensorBackend(tb) };
if (values.json) console.log(JSON.stringify({ ...head, rows }));
else {
  console.log(`rollout on ${head.agents} agents (${towns} towns in ${shards} blocks), ${ticks} ticks after ${warmup}, network ${hidden.join("x")}, ${head.tensor_backend}, ${head.cores} cores`);
  console.log("workers rep  agent-steps/s  wall s  CPU s  CPU ms/1k steps  policy s  load  reward sum");
  for (const x of rows) {
    console.log(
      `${String(x.workers).padStart(7)} ${String(x.rep).padStart(3)}  ${String(x.agent_steps_per_sec).padStart(13)}  ${x.wall_s.toFixed(2).padStart(6)}  ${x.cpu_s.toFixed(2).padStart(5)}  ${x.cpu_ms_per_1k_steps.toFixed(2).padStart(15)}  ${x.policy_s.toFixed(2).padStart(8)}  ${x.load_before.toFixed(1).padStart(4)}  ${x.reward_sum.toFixed(4)}`,
    );
  }
  const same = new Set(rows.map((x) => x.reward_sum.toFixed(6))).size === 1;
  console.log(`reward sums ${same ? "equal in every row" : "DIFFER between rows (a determinism failure)"}`);
  if (!same) process.exitCode = 2;
}
