// `townlet run` on a world of several blocks (world.shards > 1, engine/shards.ts): the blocks run
// on --workers threads (default: the machine's cores, capped by the blocks) and the summary and
// --hash-log are the same for any number of workers.
import { writeFileSync } from "node:fs";
import type { BuildOverrides } from "../engine/build.ts";
import { ShardedSim, ShardPlanError, defaultWorkers, type ShardedOptions } from "../engine/shards.ts";
import { createProgress } from "./progress.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "./shard-host.ts";
import { UsageError } from "./args.ts";
import { formatSummary } from "./run.ts";

interface Out {
  log(line: string): void;
  err(line: string): void;
}

/** The run flags that sharded worlds do not take yet, with what to do instead. */
const NOT_YET: [flag: string, what: string][] = [
  ["resume", "snapshots of sharded worlds are not written yet"],
  ["snapshot-every", "snapshots of sharded worlds are not written yet"],
  ["snapshot-dir", "snapshots of sharded worlds are not written yet"],
  ["telemetry", "telemetry of sharded worlds is not streamed yet"],
  ["realtime", "sharded worlds run flat out"],
  ["profile", "per-system times are not gathered from blocks yet"],
  ["backend", "a neural policy does not run in a sharded world yet"],
];

export interface ShardedRunValues {
  ticks?: number;
  workers?: number;
  policy?: string;
  plugin?: string[];
  "hash-log"?: string;
  "print-schedule"?: boolean;
  json?: boolean;
  quiet?: boolean;
  [flag: string]: unknown;
}

/** Opens a sharded world for a command, turning the user's mistakes into UsageErrors. */
export async function openSharded(o: Omit<ShardedOptions, "host" | "hostModule">, command: string, out: Out, quiet: boolean | undefined): Promise<ShardedSim> {
  let sim: ShardedSim;
  try {
    sim = await ShardedSim.open({ ...o, host: SHARD_HOST, hostModule: SHARD_HOST_MODULE });
  } catch (e) {
    if (e instanceof ShardPlanError || (e instanceof Error && e.name === "ShardPolicyError")) throw new UsageError(`townlet ${command}: ${e.message}`);
    throw e;
  }
  if (sim.requestedWorkers > sim.workers && !quiet) {
    out.err(`townlet ${command}: --workers ${sim.requestedWorkers} capped at ${sim.workers}: the world has ${sim.blocks} blocks (world.shards)`);
  }
  return sim;
}

export async function runSharded(values: ShardedRunValues, configFile: string, build: BuildOverrides, out: Out): Promise<number> {
  for (const [flag, why] of NOT_YET) {
    if (values[flag] !== undefined && values[flag] !== false) throw new UsageError(`--${flag}: not supported with world.shards > 1 yet (${why}); run with --shards 1`);
  }
  const ticks = values.ticks ?? 1000;
  const sim = await openSharded({ configFile, build, pluginSpecs: values.plugin ?? [], workers: values.workers, policy: values.policy }, "run", out, values.quiet);
  try {
    if (values["print-schedule"]) {
      out.log(await sim.schedule());
      return 0;
    }
    if (!values.json && !values.quiet) out.err(`townlet run: ${sim.blocks} blocks of towns on ${sim.workers} thread(s)${values.workers === undefined ? ` (default: ${defaultWorkers(sim.blocks)})` : ""}`);
    const hashes: string[] = [];
    sim.hashEveryTick = values["hash-log"] !== undefined;
    let steps = 0;
    const progress = createProgress("run", ticks, { quiet: values.quiet });
    const t0 = performance.now();
    let last = t0;
    try {
      while (sim.tick < ticks) {
        await sim.step();
        steps += sim.agents;
        if (sim.hashEveryTick) hashes.push(`${sim.tick} ${sim.lastHash}`);
        const now = performance.now();
        if (now - last >= 100) {
          last = now;
          progress.update(sim.tick, `${sim.agents} agents, ${Math.round(sim.tick / ((now - t0) / 1000))} ticks/s`);
        }
      }
    } finally {
      progress.stop();
    }
    const wall = (performance.now() - t0) / 1000;
    if (values["hash-log"] !== undefined) writeFileSync(values["hash-log"], hashes.join("\n") + (hashes.length ? "\n" : ""));
    const summary = {
      ticks: sim.tick,
      towns: sim.towns,
      agents: sim.agents,
      seed: sim.seed,
      config_id: sim.config.configId,
      config_hash: sim.config.configHash,
      state_hash: await sim.stateHash(),
      wall_s: Math.round(wall * 1e4) / 1e4,
      agent_steps_per_sec: wall > 0 ? Math.round(steps / wall) : 0,
      tensor_backend: "none",
      tensor_device: "none",
      policy: values.policy ?? sim.config.settings.runtime.policy.provider,
      blocks: sim.blocks,
      workers: sim.workers,
      kpis: await sim.kpis(),
    };
    if (values.json) out.log(JSON.stringify(summary));
    else out.log(formatSummary(summary));
    return 0;
  } finally {
    await sim.close();
  }
}
