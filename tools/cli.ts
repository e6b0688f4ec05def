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
import { currentTensorBackend, describeTensorBackend, initTensorBackend, parseBackendName, TensorBackendError } from "../engine/tensor.ts";
import { preparePolicy, PolicySpecError, CheckpointError } from "../systems/policy/index.ts";
import { createProgress } from "./progress.ts";
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
  validate   check configs and the files they reference: townlet validate [FILE|DIR...]
  scenario   run a scenario config, printing its events: townlet scenario FILE [--ticks N]
             [--seed N] [--towns N] [--json] [--quiet]
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
  });
  const ticks = intFlag("ticks", values.ticks, 0) ?? 1000;
  const built = buildWorld(values.config ?? DEFAULT_CONFIG, corePlugins, {
    seed: intFlag("seed", values.seed, 0),
    towns: intFlag("towns", values.towns, 1),
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
  const tensorBackend = currentTensorBackend();
  if (tensorBackend && !values.json && !values.quiet) out.err(`tensor backend: ${describeTensorBackend(tensorBackend)}`);
  const hashes: string[] = [];
  if (values["hash-log"]) world.onTick((w) => hashes.push(`${w.tick} ${w.stateHash()}`));
  let steps = 0;
  world.onTick((w) => (steps += w.agents.length));
  if (values.profile) world.enableTiming();
  const progress = createProgress("run", ticks, { quiet: values.quiet });
  const t0 = performance.now();
  await runLoop(world, {
    until: ticks,
    realtime: values.realtime,
    onProgress: (w) => {
      const el = (performance.now() - t0) / 1000;
      progress.update(w.tick, `${w.agents.length} agents, ${el > 0 ? Math.round(w.tick / el) : 0} ticks/s`);
    },
  });
  const wall = (performance.now() - t0) / 1000;
  progress.stop();
  if (values["hash-log"]) writeFileSync(values["hash-log"], hashes.join("\n") + "\n");
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

/** Errors that are the user's to fix (exit 1), by class name: module copies compare by name. */
const USER_ERRORS = new Set([
  ConfigError.name,
  UsageError.name,
  ScheduleError.name,
  TensorBackendError.name,
  PolicySpecError.name,
  CheckpointError.name,
  "ScenarioError",
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
      case "scenario":
        return cmdScenario(rest, out);
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
