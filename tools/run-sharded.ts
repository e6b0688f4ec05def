// `townlet run` on a world of several blocks (world.shards > 1, engine/shards.ts): the blocks run
// on --workers threads (default: the machine's cores, capped by the blocks) and the summary and
// --hash-log are the same for any number of workers.
import { statSync, writeFileSync } from "node:fs";
import { SnapshotError } from "../engine/snapshot.ts";
import { SHARD_SNAPSHOT_EXTENSION, newestShardSnapshot, readShardSnapshotFile, shardUpgradeNotes, writeShardSnapshotFile, type ShardSnapshot } from "../engine/shard-snapshot.ts";
import type { BuildOverrides } from "../engine/build.ts";
import { ShardedSim, ShardPlanError, defaultWorkers, type ShardedOptions } from "../engine/shards.ts";
import { createProgress } from "./progress.ts";
import { SHARD_HOST, SHARD_HOST_MODULE, ShardPolicyError } from "./shard-host.ts";
import { UsageError, threadsLine } from "./args.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { loadShardedConfig } from "../engine/shard-blocks.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import { initTensorBackend, parseBackendName } from "../engine/tensor.ts";
import { corePlugins } from "../systems/index.ts";
import { ShardedInference, isNeuralSpec } from "./shard-neural.ts";
import { formatSummary, resumedLine } from "./run.ts";

interface Out {
  log(line: string): void;
  err(line: string): void;
}

/** The run flags that sharded worlds do not take yet, with what to do instead. */
const NOT_YET: [flag: string, what: string][] = [
  ["telemetry", "telemetry of sharded worlds is not streamed yet"],
  ["realtime", "sharded worlds run flat out"],
  ["backend", "only a neural policy uses a tensor backend"],
];

export interface ShardedRunValues {
  ticks?: number;
  workers?: number;
  watchdog?: number;
  policy?: string;
  plugin?: string[];
  "hash-log"?: string;
  "snapshot-every"?: number;
  "snapshot-dir"?: string;
  "print-schedule"?: boolean;
  profile?: boolean;
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

/**
 * The sharded snapshot a --resume FILE|DIR names: a `.shards` file, or the newest of `configId`
 * in a folder; undefined when it names a plain snapshot (or a folder without sharded ones).
 */
export function findShardResume(from: string, configId: () => string): { path: string; snapshot: ShardSnapshot } | undefined {
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof SnapshotError) throw new UsageError(e.message);
      throw e;
    }
  };
  if (statSync(from, { throwIfNoEntry: false })?.isDirectory()) return guard(() => newestShardSnapshot(from, configId()));
  if (from.endsWith(SHARD_SNAPSHOT_EXTENSION)) return guard(() => ({ path: from, snapshot: readShardSnapshotFile(from) }));
  return undefined;
}

/** Milliseconds per tick of each system, summed over every block (CPU time across threads). */
async function profileTable(sim: ShardedSim, ticks: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, ms] of Object.entries(await sim.systemTimes())) out[name] = Math.round((ms / Math.max(1, ticks)) * 1e4) / 1e4;
  return out;
}

export async function runSharded(values: ShardedRunValues, configFile: string, build: BuildOverrides, out: Out, resume?: { path: string; snapshot: ShardSnapshot }): Promise<number> {
  const plugins = await resolvePlugins(corePlugins, configFile, values.plugin ?? []);
  const spec = values.policy ?? loadShardedConfig(configFile, plugins, build).settings.runtime.policy.provider;
  if (isNeuralSpec(spec)) return runShardedNeural(values, configFile, build, out, plugins, spec, resume);
  for (const [flag, why] of NOT_YET) {
    if (values[flag] !== undefined && values[flag] !== false) throw new UsageError(`--${flag}: not supported with world.shards > 1 yet (${why}); run with --shards 1`);
  }
  const ticks = values.ticks ?? 1000;
  const sim = await openSharded({ configFile, build, pluginSpecs: values.plugin ?? [], workers: values.workers, policy: values.policy, watchdogSeconds: values.watchdog }, "run", out, values.quiet);
  const userError = (e: unknown) => (e instanceof Error && e.name === "SnapshotError" ? new UsageError(e.message) : e);
  try {
    if (resume) {
      try {
        await sim.restore(resume.snapshot, resume.path);
      } catch (e) {
        throw userError(e);
      }
      // What was upgraded to read blocks an earlier build wrote (engine/snapshot/upgrade.ts), named.
      if (!values.json && !values.quiet) out.err(resumedLine(resume.path, sim.tick, shardUpgradeNotes(resume.snapshot)));
    }
    // Snapshots: --snapshot-every N (or the config's autosave cadence) into --snapshot-dir (or the config's root).
    const autosave = sim.config.settings.snapshot.autosave;
    const every = values["snapshot-every"] ?? autosave.cadence_ticks ?? undefined;
    if (values["snapshot-dir"] !== undefined && every === undefined) throw new UsageError("--snapshot-dir: give --snapshot-every N (or set snapshot.autosave.cadence_ticks in the config)");
    const snapDir = values["snapshot-dir"] ?? sim.config.settings.snapshot.storage.root;
    const written: string[] = [];
    if (values["print-schedule"]) {
      out.log(await sim.schedule());
      return 0;
    }
    if (!values.json && !values.quiet) out.err(`townlet run: ${threadsLine(sim.blocks, sim.workers, values.workers === undefined)}`);
    const hashes: string[] = [];
    sim.hashEveryTick = values["hash-log"] !== undefined;
    let steps = 0;
    const startTick = sim.tick;
    if (values.profile) await sim.enableTiming();
    const progress = createProgress("run", ticks, { quiet: values.quiet });
    const t0 = performance.now();
    // Threads run chunks of ticks on alone (blocks do not interact); a chunk ends at each
    // snapshot tick and is sized for about 10 progress updates a second.
    let chunk = 1;
    try {
      while (sim.tick < ticks) {
        let n = Math.min(chunk, ticks - sim.tick);
        if (every !== undefined) n = Math.min(n, every - (sim.tick % every));
        const c0 = performance.now();
        const from = sim.tick;
        const r = await sim.advance(n);
        for (let i = 0; i < n; i++) {
          steps += r.agents[i];
          if (r.hashes) hashes.push(`${from + i + 1} ${r.hashes[i]}`);
        }
        const dt = performance.now() - c0;
        chunk = Math.max(1, Math.min(1000, Math.round((n * 100) / Math.max(dt, 1))));
        if (every !== undefined && sim.tick % every === 0) {
          try {
            written.push(writeShardSnapshotFile(snapDir, await sim.snapshot(), { retain: autosave.retain }));
          } catch (e) {
            throw userError(e);
          }
        }
        const el = (performance.now() - t0) / 1000;
        progress.update(sim.tick, `${sim.agents} agents, ${el > 0 ? Math.round((sim.tick - startTick) / el) : 0} ticks/s`);
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
      ...(resume ? { resumed_from: startTick, resumed_snapshot: resume.path } : {}),
      ...(written.length ? { snapshots_written: written.length, last_snapshot: written[written.length - 1] } : {}),
      ...(values.profile ? { system_ms: await profileTable(sim, sim.tick - startTick) } : {}),
    };
    if (values.json) out.log(JSON.stringify(summary));
    else {
      out.log(formatSummary(summary));
      if (values.profile) {
        out.log("  system times (ms per tick, summed over the blocks of every thread):");
        for (const [name, ms] of Object.entries(summary.system_ms ?? {})) out.log(`    ${name.padEnd(28)} ${ms}`);
      }
    }
    return 0;
  } finally {
    await sim.close();
  }
}

/** What a neural policy on a sharded world does not do yet, with the reason. */
const NOT_YET_NEURAL: [flag: string, what: string][] = [
  ...NOT_YET.filter(([f]) => f !== "backend"),
  ["profile", "system times of a neural run on blocks are not gathered yet"],
  ["print-schedule", "print the schedule with --policy scripted"],
];

/**
 * `townlet run --policy neural[:DIR]` on a sharded world: every tick the blocks run up to the
 * policy on --workers threads, this thread runs the network once over every block's rows
 * (tools/shard-neural.ts, the runner townlet serve uses too), and the blocks finish the tick. Sampling draws come from each
 * block's own `policy` stream, so the state hash is the same for any number of workers.
 */
async function runShardedNeural(
  values: ShardedRunValues,
  configFile: string,
  build: BuildOverrides,
  out: Out,
  plugins: readonly AnyPlugin[],
  spec: string,
  resume: { path: string; snapshot: ShardSnapshot } | undefined,
): Promise<number> {
  for (const [flag, why] of NOT_YET_NEURAL) {
    if (values[flag] !== undefined && values[flag] !== false) throw new UsageError(`--${flag}: not supported with a neural policy on world.shards > 1 yet (${why})`);
  }
  const ticks = values.ticks ?? 1000;
  if (typeof values.backend === "string") {
    try {
      await initTensorBackend(parseBackendName(values.backend));
    } catch (e) {
      throw new UsageError(`--backend: ${(e as Error).message}`);
    }
  }
  const blocks = shardsOfBuild(configFile, plugins, build);
  let sr: ShardedInference;
  try {
    sr = await ShardedInference.open({ configFile, build, plugins, pluginSpecs: values.plugin ?? [], workers: values.workers ?? defaultWorkers(blocks), watchdogSeconds: values.watchdog, spec });
  } catch (e) {
    if (e instanceof ShardPlanError || e instanceof ShardPolicyError) throw new UsageError(`townlet run: ${e.message}`);
    throw e;
  }
  try {
    if (sr.requestedWorkers > sr.workers && !values.quiet) out.err(`townlet run: --workers ${sr.requestedWorkers} capped at ${sr.workers}: the world has ${sr.blocks} blocks (world.shards)`);
    const settings = sr.config.settings;
    const policy = sr.policy;
    const userError = (e: unknown) => (e instanceof Error && e.name === "SnapshotError" ? new UsageError(e.message) : e);
    if (resume) {
      try {
        await sr.restore(resume.snapshot, resume.path);
      } catch (e) {
        throw userError(e);
      }
      // What was upgraded to read blocks an earlier build wrote (engine/snapshot/upgrade.ts), named.
      if (!values.json && !values.quiet) out.err(resumedLine(resume.path, sr.tick, shardUpgradeNotes(resume.snapshot)));
    }
    // Snapshots: --snapshot-every N (or the config's autosave cadence) into --snapshot-dir (or the config's root).
    const autosave = settings.snapshot.autosave;
    const every = values["snapshot-every"] ?? autosave.cadence_ticks ?? undefined;
    if (values["snapshot-dir"] !== undefined && every === undefined) throw new UsageError("--snapshot-dir: give --snapshot-every N (or set snapshot.autosave.cadence_ticks in the config)");
    const snapDir = values["snapshot-dir"] ?? settings.snapshot.storage.root;
    const written: string[] = [];
    const startTick = sr.tick;
    const { currentTensorBackend, describeTensorBackend } = await import("../engine/tensor.ts");
    const tb = currentTensorBackend();
    if (!values.json && !values.quiet) {
      out.err(`townlet run: ${threadsLine(sr.blocks, sr.workers, values.workers === undefined)}, one ${policy.greedy ? "greedy" : "sampled"} policy batch per tick on this thread`);
      if (tb) out.err(`tensor backend: ${describeTensorBackend(tb)}`);
    }
    const wantHashes = values["hash-log"] !== undefined;
    sr.hashEveryTick = wantHashes;
    const hashes: string[] = [];
    let steps = 0;
    const progress = createProgress("run", ticks, { quiet: values.quiet });
    const t0 = performance.now();
    try {
      while (sr.tick < ticks) {
        // Blocks run on into the next tick unless this is the last one or a snapshot is due.
        const next = sr.tick + 1 < ticks && !(every !== undefined && (sr.tick + 1) % every === 0);
        const h = await sr.step(next);
        steps += sr.agents;
        if (h !== undefined) hashes.push(`${sr.tick} ${h}`);
        if (every !== undefined && sr.tick % every === 0) {
          try {
            written.push(writeShardSnapshotFile(snapDir, await sr.snapshot(), { retain: autosave.retain }));
          } catch (e) {
            throw userError(e);
          }
        }
        if (sr.tick % 10 === 0) {
          const el = (performance.now() - t0) / 1000;
          progress.update(sr.tick, `${sr.agents} agents, ${el > 0 ? Math.round((sr.tick - startTick) / el) : 0} ticks/s`);
        }
      }
    } finally {
      progress.stop();
    }
    const wall = (performance.now() - t0) / 1000;
    if (wantHashes) writeFileSync(values["hash-log"]!, hashes.join("\n") + (hashes.length ? "\n" : ""));
    const summary = {
      ticks: sr.tick,
      towns: settings.world.towns,
      agents: sr.agents,
      seed: settings.seed,
      config_id: sr.config.configId,
      config_hash: sr.config.configHash,
      state_hash: await sr.stateHash(),
      wall_s: Math.round(wall * 1e4) / 1e4,
      agent_steps_per_sec: wall > 0 ? Math.round(steps / wall) : 0,
      tensor_backend: tb?.name ?? "none",
      tensor_device: tb?.device ?? "none",
      policy: spec,
      blocks: sr.blocks,
      workers: sr.workers,
      kpis: await sr.kpis(),
      ...(resume ? { resumed_from: startTick, resumed_snapshot: resume.path } : {}),
      ...(written.length ? { snapshots_written: written.length, last_snapshot: written[written.length - 1] } : {}),
    };
    if (values.json) out.log(JSON.stringify(summary));
    else out.log(formatSummary(summary));
    return 0;
  } finally {
    await sr.close();
  }
}

/** Blocks of the world a run's config and overrides give. */
function shardsOfBuild(configFile: string, plugins: readonly AnyPlugin[], build: BuildOverrides): number {
  return loadShardedConfig(configFile, plugins, build).settings.world.shards ?? 1;
}
