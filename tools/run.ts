// `townlet run [CONFIG]`: builds a town, runs it to --ticks and prints its summary (text or JSON).
import { statSync, writeFileSync } from "node:fs";
import { runLoop } from "../engine/loop.ts";
import { corePlugins } from "../systems/index.ts";
import { buildWorld, loadBuildConfig } from "../engine/build.ts";
import { shardsOf } from "../engine/shard-blocks.ts";
import { findShardResume, runSharded } from "./run-sharded.ts";
import { loadConfig } from "../engine/config/loader.ts";
import type { World } from "../engine/world.ts";
import { createTransportSink, TelemetryPublisherKey } from "../systems/telemetry/index.ts";
import { affordancesState } from "../systems/affordances/index.ts";
import { currentTensorBackend, describeTensorBackend, initTensorBackend, parseBackendName } from "../engine/tensor.ts";
import { preparePolicy } from "../systems/policy/index.ts";
import { createProgress } from "./progress.ts";
import { SnapshotError, loadSnapshot, newestValidSnapshot, readSnapshotFile, type SnapshotData } from "../engine/snapshot.ts";
import { configureAutosave, PersistenceKey } from "../systems/persistence/index.ts";
import { DEFAULT_CONFIG_FILE } from "../engine/paths.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { DEFAULT_WATCHDOG_SECONDS } from "../engine/watchdog.ts";
import { startTickWatchdog } from "../engine/tick-watchdog.ts";
import { FLAG, UsageError, configArg, parseCommand, type CommandSpec, type FlagValues } from "./args.ts";

interface Out {
  log(line: string): void;
  err(line: string): void;
}

export const RUN_SPEC = {
  name: "run",
  summary: "run a town to a tick and print its summary (state hash, speed, KPIs)",
  positionals: { name: "CONFIG", min: 0, max: 1, help: "the config file (default configs/default.yaml); same as --config" },
  flags: {
    config: FLAG.config,
    ticks: { ...FLAG.ticks, default: 1000 },
    seed: FLAG.seed,
    towns: FLAG.towns,
    agents: FLAG.agents,
    policy: { kind: "string", arg: "SPEC", help: "who decides: scripted, random, neural, neural:fresh or neural:CHECKPOINT_DIR (default: the config's)" },
    backend: { kind: "string", arg: "NAME", help: "tensor backend for a neural policy (webgpu, cuda, native, wasm, cpu)" },
    realtime: { kind: "boolean", help: "pace ticks in real time (and hot-reload the affordance manifest)" },
    "print-schedule": { kind: "boolean", help: "print the system schedule and exit" },
    "hash-log": { kind: "string", arg: "FILE", help: "write `TICK STATE_HASH` per tick to FILE" },
    profile: { kind: "boolean", help: "time each system and print ms per tick" },
    "snapshot-every": { kind: "int", min: 1, help: "write a snapshot every N ticks" },
    "snapshot-dir": { kind: "string", arg: "DIR", help: "folder for snapshots (default: the config's snapshot.storage.root)" },
    resume: { kind: "string", arg: "FILE|DIR", help: "resume from a snapshot file, or the newest valid one in DIR" },
    telemetry: { kind: "string", arg: "stdout|file:PATH", help: "stream the telemetry (NDJSON snapshot + diffs) of this run" },
    plugin: FLAG.plugin,
    workers: FLAG.workers,
    shards: FLAG.shards,
    watchdog: FLAG.watchdog,
    json: FLAG.json,
    quiet: FLAG.quiet,
  },
  examples: ["townlet run", "townlet run configs/many-towns.yaml --shards 8 --workers 2 --ticks 200 --quiet", "townlet run configs/many-towns.yaml --ticks 500 --json", "townlet run --seed 7 --towns 4 --agents 10 --ticks 200 --quiet"],
} as const satisfies CommandSpec;

type RunValues = FlagValues<typeof RUN_SPEC.flags>;
type Plugins = Awaited<ReturnType<typeof resolvePlugins>>;
type Resume = { path: string; snapshot: SnapshotData };

export async function cmdRun(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommand(RUN_SPEC, argv);
  const configFile = configArg("run", values.config, positionals) ?? DEFAULT_CONFIG_FILE;
  const ticks = values.ticks ?? 1000;
  // A sharded world's snapshot (a `.shards` file, or a folder holding this config's) resumes sharded.
  // The config's own plug-ins are loaded first: a config with plugins: has their sections.
  const plugins = await resolvePlugins(corePlugins, configFile, values.plugin);
  const shardResume = values.resume !== undefined ? findShardResume(values.resume, () => loadConfig(configFile, plugins).configId) : undefined;
  if (shardResume) {
    const h = shardResume.snapshot.header;
    const overrides = { seed: values.seed ?? h.seed, towns: values.towns ?? h.towns, agentsPerTown: values.agents, shards: values.shards ?? h.blocks };
    loadBuildConfig(configFile, plugins, overrides);
    return runSharded(values, configFile, overrides, out, shardResume);
  }
  // --resume FILE|DIR: the run is rebuilt with the snapshot's seed and town count unless given again.
  const resume = values.resume !== undefined ? findResume(values.resume, configFile, plugins) : undefined;
  const overrides = {
    seed: values.seed ?? resume?.snapshot.header.seed,
    towns: values.towns ?? resume?.snapshot.header.towns,
    agentsPerTown: values.agents,
    shards: values.shards,
  };
  const loaded = loadBuildConfig(configFile, plugins, overrides);
  // A world of several blocks (world.shards) runs sharded, on --workers threads.
  if (shardsOf(loaded.settings) > 1) {
    if (resume) throw new UsageError(`--resume: ${resume.path} is a snapshot of a one-block world; this world has ${shardsOf(loaded.settings)} blocks (world.shards)`);
    return runSharded(values, configFile, overrides, out);
  }
  if (values.workers !== undefined && values.workers > 1 && !values.quiet) {
    out.err(`townlet run: --workers ${values.workers} capped at 1: this world is one block (set world.shards or --shards to split its towns)`);
  }
  const built = buildWorld(configFile, plugins, overrides, loaded);
  const { world, config } = built;
  if (values["print-schedule"]) {
    out.log(world.formatSchedule());
    return 0;
  }
  const backend = values.backend !== undefined ? parseBackendName(values.backend) : undefined;
  if (backend) await initTensorBackend(backend);
  const policy = await preparePolicy(world, values.policy);
  if (resume) {
    const r = snapshotGuard(() => loadSnapshot(world, resume.snapshot, { configHash: config.configHash, path: resume.path }));
    if (!values.json && !values.quiet) out.err(resumedLine(resume.path, world.tick, r.upgrades));
  }
  configureSnapshots(world, values, config.configHash);
  const closeTelemetry = attachTelemetry(world, values);
  // A paced run is long-lived: the affordance manifest is watched and hot-reloaded.
  const stopWatching = values.realtime ? affordancesState(world).watch() : undefined;
  const startTick = world.tick;
  const tensorBackend = currentTensorBackend();
  if (tensorBackend && !values.json && !values.quiet) out.err(`tensor backend: ${describeTensorBackend(tensorBackend)}`);
  // The world ticks on this thread: a system that never returns ends the process naming it (engine/tick-watchdog.ts).
  const watch = startTickWatchdog(values.watchdog ?? DEFAULT_WATCHDOG_SECONDS);
  if (watch.note && !values.json && !values.quiet) out.err(`townlet run: ${watch.note}`);
  const { wall, steps } = await runTicks(world, values, ticks, () => {
    watch.stop();
    closeTelemetry?.();
    stopWatching?.();
  });
  const written = world.resource(PersistenceKey).written;
  const summary = {
    ticks: world.tick,
    towns: world.towns,
    agents: world.agents.length,
    seed: world.seed,
    config_id: config.configId,
    config_hash: config.configHash,
    state_hash: world.stateHash(),
    wall_s: round(wall, 4),
    agent_steps_per_sec: wall > 0 ? Math.round(steps / wall) : 0,
    tensor_backend: tensorBackend?.name ?? "none",
    tensor_device: tensorBackend?.device ?? "none",
    policy: policy.name,
    kpis: world.kpis(),
    ...(resume ? { resumed_from: startTick, resumed_snapshot: resume.path } : {}),
    ...(written.length ? { snapshots_written: written.length, last_snapshot: written[written.length - 1] } : {}),
    ...(values.profile ? { system_ms: profileTable(world) } : {}),
  };
  printSummary(out, summary, values);
  return 0;
}

/** Snapshot problems (damaged, foreign, other config, unwritable folder) are the user's to fix. */
function snapshotGuard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SnapshotError) throw new UsageError(e.message);
    throw e;
  }
}

/** --resume FILE|DIR: the snapshot file, or a folder's newest snapshot that verifies. */
function findResume(from: string, configFile: string, plugins: Plugins): Resume {
  return snapshotGuard(() => {
    if (statSync(from, { throwIfNoEntry: false })?.isDirectory()) {
      // A folder may hold snapshots of several configs: the newest of this run's config is taken.
      // (Only when it holds none, the newest of any config: a registered migration may take it.)
      const configId = loadConfig(configFile, plugins).configId;
      const found = newestValidSnapshot(from, { configId }) ?? newestValidSnapshot(from);
      if (!found) throw new SnapshotError("not_found", "no snapshot in this folder verifies", from);
      return found;
    }
    return { path: from, snapshot: readSnapshotFile(from) };
  });
}

/** --snapshot-every / --snapshot-dir, else the config's autosave cadence. */
function configureSnapshots(world: World, values: RunValues, configHash: string): void {
  const snapshotEvery = values["snapshot-every"];
  if (snapshotEvery !== undefined || values["snapshot-dir"] !== undefined) {
    const every = snapshotEvery ?? world.settings.snapshot.autosave.cadence_ticks;
    if (every === null) throw new UsageError("--snapshot-dir: give --snapshot-every N (or set snapshot.autosave.cadence_ticks in the config)");
    configureAutosave(world, { every, dir: values["snapshot-dir"], configHash });
  } else configureAutosave(world, { every: world.resource(PersistenceKey).every, configHash });
}

/** --telemetry stdout|file:PATH: the snapshot + diff stream (NDJSON) of this run; returns its closer. */
function attachTelemetry(world: World, values: RunValues): (() => void) | undefined {
  if (values.telemetry === undefined) return undefined;
  if (values.telemetry === "stdout" && values.json) throw new UsageError("--telemetry stdout and --json both write to stdout; use --telemetry file:PATH");
  const publisher = world.resource(TelemetryPublisherKey);
  let sink: ReturnType<typeof createTransportSink>;
  try {
    sink = createTransportSink(publisher, values.telemetry);
  } catch (e) {
    throw new UsageError(`--telemetry: ${(e as Error).message}`);
  }
  const detach = publisher.addSink(sink!);
  return () => {
    detach();
    (sink as { close?: () => void }).close?.();
  };
}

/**
 * Runs `world` to `ticks` with the run's hash log, profile and progress line; `finish` (telemetry,
 * manifest watch) runs however the loop ends. Returns the wall time (s) and the agent-steps taken.
 */
async function runTicks(world: World, values: RunValues, ticks: number, finish: () => void): Promise<{ wall: number; steps: number }> {
  const startTick = world.tick;
  const hashes: string[] = [];
  if (values["hash-log"]) world.onTick((w) => hashes.push(`${w.tick} ${w.stateHash()}`));
  let steps = 0;
  world.onTick((w) => (steps += w.agents.length));
  if (values.profile) world.enableTiming();
  const progress = createProgress("run", ticks, { quiet: values.quiet });
  const t0 = performance.now();
  try {
    await runLoop(world, {
      until: ticks,
      realtime: values.realtime,
      onProgress: (w) => {
        const el = (performance.now() - t0) / 1000;
        progress.update(w.tick, `${w.agents.length} agents, ${el > 0 ? Math.round((w.tick - startTick) / el) : 0} ticks/s`);
      },
    });
  } catch (e) {
    progress.stop();
    if (e instanceof SnapshotError) throw new UsageError(e.message);
    throw e;
  } finally {
    finish();
  }
  const wall = (performance.now() - t0) / 1000;
  progress.stop();
  if (values["hash-log"]) writeFileSync(values["hash-log"], hashes.join("\n") + "\n");
  return { wall, steps };
}

/** The summary as one JSON line (--json) or as text, with the profile's table (--profile). */
function printSummary(out: Out, summary: Record<string, unknown> & { kpis: Record<string, unknown>; system_ms?: Record<string, number> }, values: RunValues): void {
  if (values.json) out.log(JSON.stringify(summary));
  else {
    out.log(formatSummary(summary));
    if (values.profile) {
      out.log("  system times (ms per tick):");
      for (const [name, ms] of Object.entries(summary.system_ms ?? {})) out.log(`    ${name.padEnd(28)} ${ms}`);
    }
  }
}

/** Milliseconds per tick of each system, in schedule order. */
function profileTable(world: World): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of world.systemTimes()) out[s.system] = round(s.ms / Math.max(1, world.tick), 4);
  return out;
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** The text summary of a run (or a scenario): ticks, config, state hash, speed and KPIs. */
export function formatSummary(s: Record<string, unknown> & { kpis: Record<string, unknown> }, command = "run"): string {
  const lines = [
    `townlet ${command}: ${s.ticks} ticks, ${s.towns} town(s), ${s.agents} agents alive, seed ${s.seed}`,
    `  config       ${s.config_id} (hash ${s.config_hash})`,
    `  state hash   ${s.state_hash}`,
    `  wall time    ${s.wall_s} s (${Number(s.agent_steps_per_sec).toLocaleString("en-US")} agent-steps/s)`,
  ];
  for (const [k, v] of Object.entries(s.kpis)) {
    const val =
      typeof v === "number"
        ? String(round(v, 4))
        : v && typeof v === "object"
          ? Object.entries(v as Record<string, unknown>)
              .map(([a, b]) => `${a}=${typeof b === "number" ? round(b, 4) : JSON.stringify(b)}`)
              .join(" ")
          : JSON.stringify(v);
    lines.push(`  ${k.padEnd(12)} ${val}`);
  }
  return lines.join("\n");
}

/** The line a resumed run prints: the snapshot, its tick, and what was upgraded to read it (an earlier build's). */
export function resumedLine(path: string, tick: number, upgrades: readonly string[] = []): string {
  return `resumed from ${path} at tick ${tick}${upgrades.length ? ` (written by an earlier build, upgraded: ${upgrades.join("; ")})` : ""}`;
}
