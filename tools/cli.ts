// The `townlet` command line: run, validate (more commands join as their systems land).
// Exit codes: 0 done, 1 bad input (the message names file and key path), 2 internal error.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { fileURLToPath } from "node:url";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ConfigError, formatProblem, validateFile } from "../engine/config/loader.ts";
import { runLoop } from "../engine/loop.ts";
import { ScheduleError } from "../engine/schedule.ts";
import { corePlugins } from "../systems/index.ts";
import { buildWorld } from "./build.ts";
import type { World } from "../engine/world.ts";
import { createTransportSink, type TelemetryPublisher } from "../systems/telemetry/index.ts";
import { affordancesState } from "../systems/affordances/index.ts";
import { currentTensorBackend, describeTensorBackend, initTensorBackend, parseBackendName, TensorBackendError } from "../engine/tensor.ts";
import { preparePolicy, PolicySpecError, CheckpointError } from "../systems/policy/index.ts";
import { createProgress } from "./progress.ts";
import { SnapshotError, loadSnapshot, newestValidSnapshot, readSnapshotFile, type SnapshotData } from "../engine/snapshot.ts";
import { configureAutosave, type PersistenceState } from "../systems/persistence/index.ts";
import { formatAgentStates, formatEvent, runScenario } from "./scenario.ts";
import { ScenarioError } from "../systems/scenario/index.ts";

export const DEFAULT_CONFIG = fileURLToPath(new URL("../configs/default.yaml", import.meta.url));

/** A mistake in the command line or its input: exit 1 with this message. */
export class UsageError extends Error {
  override name = "UsageError";
}

const USAGE = `usage: townlet <command> [options]

commands:
  run        run a town: townlet run [--config FILE] [--ticks N] [--seed N] [--towns N]
             [--agents N] [--policy scripted|random|neural[:fresh|:CHECKPOINT_DIR]]
             [--backend cuda|native|wasm|cpu] [--realtime] [--json] [--print-schedule]
             [--hash-log FILE] [--profile] [--quiet]
             [--snapshot-every N --snapshot-dir DIR] [--resume SNAPSHOT_FILE|DIR]
             [--telemetry stdout|file:PATH]
  validate   check configs and the files they reference: townlet validate [FILE|DIR...]
  train      PPO (after behaviour cloning of the scripted controller) on a town, with an NDJSON
             log, checkpoints, a learning-curve PNG and an evaluation against scripted and random:
             townlet train [--config FILE] [--out DIR] [--updates N] [--towns N] [--quick] ...
             (townlet train --help for every option)
  validate-ppo-log  check PPO telemetry NDJSON logs (each with its rotated FILE.1, FILE.2, ...)
             against telemetry_version 1.0/1.1: townlet validate-ppo-log FILE... [--json];
             exit 0 valid (warnings allowed), 1 errors found or a bad command line
  scenario   run a scenario config, printing its events: townlet scenario FILE [--ticks N]
             [--seed N] [--towns N] [--json] [--quiet]
  bench      agent-steps/s, ms/tick, bytes/agent per size: townlet bench [--agents 1000,10000,100000]
             [--ticks N] [--policy scripted|random|neural] [--backend B] [--layout towns|big]
             [--suite sim|policy] [--json] (see bench/README.md)
  env-check  run the env conformance suite (PettingZoo api and seed tests) on a config:
             townlet env-check [--config FILE] [--cycles N] [--json]
  serve      run a town with telemetry + console on one port: townlet serve [--config FILE]
             [--port N] [--host 127.0.0.1] [--tokens FILE] [--realtime|--speed X] [--ticks N];
             townlet serve --stdio [--config FILE]: the binary protocol for the Python bridge
             (python/, docs/python.md)
  console    send one console command: townlet console --url URL --token TOKEN COMMAND [JSON-ARGS]
  help       this text

exit codes: 0 done, 1 bad input, 2 internal error`;

function parse<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function intFlag(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`--${name}: expected an integer, got "${v}"`);
  const n = Number(v);
  if (n < min) throw new UsageError(`--${name}: expected an integer >= ${min}, got ${n}`);
  return n;
}

interface Out {
  log(line: string): void;
  err(line: string): void;
}

async function cmdRun(argv: string[], out: Out): Promise<number> {
  const { values } = parse(argv, {
    config: { type: "string" },
    ticks: { type: "string" },
    seed: { type: "string" },
    towns: { type: "string" },
    agents: { type: "string" },
    realtime: { type: "boolean" },
    json: { type: "boolean" },
    "print-schedule": { type: "boolean" },
    "hash-log": { type: "string" },
    quiet: { type: "boolean" },
    profile: { type: "boolean" },
    policy: { type: "string" },
    backend: { type: "string" },
    "snapshot-every": { type: "string" },
    "snapshot-dir": { type: "string" },
    resume: { type: "string" },
    telemetry: { type: "string" },
  });
  const ticks = intFlag("ticks", values.ticks, 0) ?? 1000;
  const snapshotEvery = intFlag("snapshot-every", values["snapshot-every"], 1);
  // Snapshot problems (damaged, foreign, other config, unwritable folder) are the user's to fix.
  const snapshotGuard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof SnapshotError) throw new UsageError(e.message);
      throw e;
    }
  };
  // --resume FILE|DIR: a folder resumes from its newest snapshot that verifies. The run is rebuilt
  // with the snapshot's seed and town count unless given again.
  let resume: { path: string; snapshot: SnapshotData } | undefined;
  if (values.resume !== undefined) {
    const from = values.resume;
    resume = snapshotGuard(() => {
      if (statSync(from, { throwIfNoEntry: false })?.isDirectory()) {
        const found = newestValidSnapshot(from);
        if (!found) throw new SnapshotError("not_found", "no snapshot in this folder verifies", from);
        return found;
      }
      return { path: from, snapshot: readSnapshotFile(from) };
    });
  }
  const built = buildWorld(values.config ?? DEFAULT_CONFIG, corePlugins, {
    seed: intFlag("seed", values.seed, 0) ?? resume?.snapshot.header.seed,
    towns: intFlag("towns", values.towns, 1) ?? resume?.snapshot.header.towns,
    agentsPerTown: intFlag("agents", values.agents, 0),
  });
  const { world, config } = built;
  if (values["print-schedule"]) {
    out.log(world.formatSchedule());
    return 0;
  }
  const backend = values.backend !== undefined ? parseBackendName(values.backend) : undefined;
  if (backend) await initTensorBackend(backend);
  const policy = await preparePolicy(world, values.policy);
  if (resume) {
    const r = resume;
    snapshotGuard(() => loadSnapshot(world, r.snapshot, { configHash: config.configHash, path: r.path }));
    if (!values.json && !values.quiet) out.err(`resumed from ${r.path} at tick ${world.tick}`);
  }
  if (snapshotEvery !== undefined || values["snapshot-dir"] !== undefined) {
    const every = snapshotEvery ?? world.settings.snapshot.autosave.cadence_ticks;
    if (every === null) throw new UsageError("--snapshot-dir: give --snapshot-every N (or set snapshot.autosave.cadence_ticks in the config)");
    configureAutosave(world, { every, dir: values["snapshot-dir"], configHash: config.configHash });
  } else configureAutosave(world, { every: world.state<PersistenceState>("persistence").every, configHash: config.configHash });
  // --telemetry stdout|file:PATH: the snapshot + diff stream (NDJSON) of this run.
  let closeTelemetry: (() => void) | undefined;
  if (values.telemetry !== undefined) {
    if (values.telemetry === "stdout" && values.json) throw new UsageError("--telemetry stdout and --json both write to stdout; use --telemetry file:PATH");
    const publisher = world.state<TelemetryPublisher>("telemetry");
    let sink: ReturnType<typeof createTransportSink>;
    try {
      sink = createTransportSink(publisher, values.telemetry);
    } catch (e) {
      throw new UsageError(`--telemetry: ${(e as Error).message}`);
    }
    const detach = publisher.addSink(sink!);
    closeTelemetry = () => {
      detach();
      (sink as { close?: () => void }).close?.();
    };
  }
  // A paced run is long-lived: the affordance manifest is watched and hot-reloaded.
  const stopWatching = values.realtime ? affordancesState(world).watch() : undefined;
  const startTick = world.tick;
  const tensorBackend = currentTensorBackend();
  if (tensorBackend && !values.json && !values.quiet) out.err(`tensor backend: ${describeTensorBackend(tensorBackend)}`);
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
    closeTelemetry?.();
    stopWatching?.();
  }
  const wall = (performance.now() - t0) / 1000;
  progress.stop();
  if (values["hash-log"]) writeFileSync(values["hash-log"], hashes.join("\n") + "\n");
  const written = world.state<PersistenceState>("persistence").written;
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
    policy: policy.name,
    kpis: world.kpis(),
    ...(resume ? { resumed_from: startTick, resumed_snapshot: resume.path } : {}),
    ...(written.length ? { snapshots_written: written.length, last_snapshot: written[written.length - 1] } : {}),
    ...(values.profile ? { system_ms: profileTable(world) } : {}),
  };
  if (values.json) out.log(JSON.stringify(summary));
  else {
    out.log(formatSummary(summary));
    if (values.profile) {
      out.log("  system times (ms per tick):");
      for (const [name, ms] of Object.entries(summary.system_ms ?? {})) out.log(`    ${name.padEnd(28)} ${ms}`);
    }
  }
  return 0;
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

function formatSummary(s: Record<string, unknown> & { kpis: Record<string, unknown> }, command = "run"): string {
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

/**
 * `townlet scenario FILE`: runs a scenario config to its `ticks` (or --ticks), printing each
 * notable event as it happens (one line, or one NDJSON object with --json; none with --quiet),
 * then the run summary with the scenario's description and each agent's final state.
 */
function cmdScenario(argv: string[], out: Out): number {
  const { values, positionals } = parse(argv, {
    ticks: { type: "string" },
    seed: { type: "string" },
    towns: { type: "string" },
    json: { type: "boolean" },
    quiet: { type: "boolean" },
  });
  if (positionals.length !== 1) throw new UsageError(`townlet scenario: expected one scenario file, got ${positionals.length}`);
  const { summary } = runScenario(positionals[0], {
    ticks: intFlag("ticks", values.ticks, 0),
    seed: intFlag("seed", values.seed, 0),
    towns: intFlag("towns", values.towns, 1),
    onEvent: values.quiet ? undefined : (e) => out.log(values.json ? JSON.stringify(e) : formatEvent(e)),
  });
  if (values.json) out.log(JSON.stringify(summary));
  else {
    const { agent_states, scenario, ...rest } = summary;
    out.log(formatSummary(rest, "scenario"));
    out.log(`  scenario     ${scenario}`);
    for (const line of formatAgentStates(agent_states)) out.log(line);
  }
  return 0;
}

function yamlFilesIn(path: string): string[] {
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return [path];
  const out: string[] = [];
  for (const name of readdirSync(path).sort()) {
    const p = join(path, name);
    if (statSync(p).isDirectory()) out.push(...yamlFilesIn(p));
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

function cmdValidate(argv: string[], out: Out): number {
  const { values, positionals } = parse(argv, { json: { type: "boolean" } });
  const targets = positionals.length ? positionals : [fileURLToPath(new URL("../configs", import.meta.url))];
  const files = targets.flatMap(yamlFilesIn);
  let bad = 0;
  const results: { file: string; kind: string; ok: boolean; problems: string[] }[] = [];
  for (const f of files) {
    const r = validateFile(f, corePlugins);
    const shown = relative(process.cwd(), f) || f;
    const problems = r.problems.map((p) => formatProblem({ ...p, file: relative(process.cwd(), p.file) || p.file }));
    results.push({ file: shown, kind: r.kind, ok: problems.length === 0, problems });
    if (problems.length) {
      bad++;
      for (const p of problems) out.err(p);
    } else if (!values.json) out.log(`ok  ${shown} (${r.kind}${r.config ? `, config_id ${r.config.configId}` : ""})`);
  }
  if (values.json) out.log(JSON.stringify({ files: results.length, invalid: bad, results }));
  else out.log(`${files.length - bad}/${files.length} file(s) valid`);
  return bad ? 1 : 0;
}

/**
 * `townlet validate-ppo-log FILE... [--json]`: training/validate-log.ts on each stream; one
 * `FILE:LINE: field: message` per problem on stderr. Exit 1 for a bad log or a bad command line,
 * as every command (2 stays "internal error").
 */
async function cmdValidatePpoLog(argv: string[], out: Out): Promise<number> {
  let values: { json?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv, { json: { type: "boolean" } }));
    if (!positionals.length) throw new UsageError("townlet validate-ppo-log: expected one or more log files");
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    out.err(`${e.message}\nusage: townlet validate-ppo-log FILE... [--json]`);
    return 1;
  }
  const { validatePpoLog, formatPpoLogProblem } = await import("../training/validate-log.ts");
  const r = validatePpoLog(positionals);
  for (const p of r.problems) out.err(formatPpoLogProblem(p));
  const streams = r.streams.map((s) => {
    const mine = r.problems.filter((p) => p.file === s.path || s.files.includes(p.file));
    const errors = mine.filter((p) => p.severity === "error").length;
    return { ...s, errors, warnings: mine.length - errors };
  });
  const errors = streams.reduce((n, s) => n + s.errors, 0);
  if (values.json) {
    out.log(JSON.stringify({ streams, records: r.records, errors, warnings: r.problems.length - errors, problems: r.problems }));
  } else {
    for (const s of streams) {
      if (s.errors) continue;
      const rotated = s.files.length > 1 ? `, files ${s.files.join(", ")}` : "";
      const warned = s.warnings ? `, ${s.warnings} warning(s)` : "";
      out.log(`ok  ${s.path} (${s.records} record(s), telemetry_version ${s.version}${rotated}${warned})`);
    }
    out.log(`${streams.filter((s) => !s.errors).length}/${streams.length} log(s) valid`);
  }
  return errors ? 1 : 0;
}

/**
 * `townlet env-check`: the shipped conformance suite (env/conformance.ts) on a world built from
 * the config with every core plug-in: the parallel api test over --cycles steps (default 200,
 * the env truncating there) and the seed test over min(cycles, 200) steps. Prints each check
 * (✓/✗ and detail), or one JSON object with --json; exit 1 when a check fails.
 */
async function cmdEnvCheck(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parse(argv, { config: { type: "string" }, cycles: { type: "string" }, json: { type: "boolean" } });
  if (positionals.length) throw new UsageError(`townlet env-check: unexpected argument "${positionals[0]}" (the config goes after --config)`);
  const cycles = intFlag("cycles", values.cycles, 1) ?? 200;
  const config = values.config ?? DEFAULT_CONFIG;
  const { TownletParallelEnv, parallelApiTest, seedTest, ENV_NAME } = await import("../env/index.ts");
  const makeEnv = () => new TownletParallelEnv({ config, maxCycles: cycles });
  makeEnv(); // a config mistake is reported here, as a user error, rather than as a failed check
  const suites = [
    { name: `parallel api test (${cycles} cycles)`, result: parallelApiTest(makeEnv, { cycles }) },
    { name: `seed test (${Math.min(cycles, 200)} steps)`, result: seedTest(makeEnv, { steps: Math.min(cycles, 200) }) },
  ];
  const ok = suites.every((s) => s.result.ok);
  if (values.json) {
    out.log(JSON.stringify({ env: ENV_NAME, config: relative(process.cwd(), config) || config, cycles, ok, suites }));
    return ok ? 0 : 1;
  }
  out.log(`townlet env-check: ${ENV_NAME} on ${relative(process.cwd(), config) || config}`);
  let passed = 0;
  let total = 0;
  for (const s of suites) {
    out.log(`  ${s.name}`);
    for (const c of s.result.checks) {
      total++;
      if (c.ok) passed++;
      out.log(`    ${c.ok ? "✓" : "✗"} ${c.name}${c.detail ? ` — ${c.detail}` : ""}`);
    }
  }
  out.log(`${passed}/${total} checks passed`);
  return ok ? 0 : 1;
}

/** Errors that are the user's to fix (exit 1), by class name: module copies compare by name. */
const USER_ERRORS = new Set([
  ConfigError.name,
  UsageError.name,
  ScheduleError.name,
  TensorBackendError.name,
  PolicySpecError.name,
  CheckpointError.name,
  "ScenarioError",
  "DatasetError",
  "PpoLogError",
]);
function isUserError(e: unknown): e is Error {
  return e instanceof Error && USER_ERRORS.has(e.name);
}

export async function main(argv: string[], out: Out = { log: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "run":
        return await cmdRun(rest, out);
      case "validate":
        return cmdValidate(rest, out);
      case "train":
        return await (await import("./train.ts")).cmdTrain(rest, out);
      case "validate-ppo-log":
        return await cmdValidatePpoLog(rest, out);
      case "scenario":
        return cmdScenario(rest, out);
      case "bench":
        return await (await import("./bench.ts")).cmdBench(rest, out);
      case "serve":
        if (rest.includes("--stdio")) return await (await import("./bridge.ts")).cmdBridge(rest.filter((a) => a !== "--stdio"), out);
        return await (await import("./serve.ts")).cmdServe(rest, out);
      case "console":
        return await (await import("./console-client.ts")).cmdConsole(rest, out);
      case "env-check":
        return await cmdEnvCheck(rest, out);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        out.log(USAGE);
        return cmd === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command "${cmd}"\n${USAGE}`);
    }
  } catch (e) {
    if (isUserError(e)) {
      out.err(e.message);
      return 1;
    }
    out.err(`internal error (please report a bug): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
