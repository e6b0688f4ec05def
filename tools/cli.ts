// The `townlet` command line: a table of commands, each in its own file with its own flag table
// (tools/args.ts parses them all). Exit codes: 0 done, 1 bad input (the message names file and key
// path, or the flag), 2 internal error.
//
// Adding a command: one entry in COMMANDS (its summary and a loader that imports its file only
// when the command runs, which keeps `townlet --help` and start-up light).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HelpRequested, UsageError, closest, formatHelp, type CommandSpec } from "./args.ts";
import { DEFAULT_CONFIG_FILE, PROJECT_ROOT } from "../engine/paths.ts";
import { tuneHeap } from "../engine/heap.ts";

export { UsageError } from "./args.ts";
export const DEFAULT_CONFIG = DEFAULT_CONFIG_FILE;

export interface Out {
  log(line: string): void;
  err(line: string): void;
}

/** A loaded command: its spec (flags, help) and what runs it. */
export interface Command {
  spec: CommandSpec;
  run(argv: string[], out: Out): number | Promise<number>;
}

interface Entry {
  summary: string;
  load(): Promise<Command>;
}

/** Every command, in the order `townlet help` lists them. */
export const COMMANDS: Record<string, Entry> = {
  run: {
    summary: "run a town to a tick and print its summary (state hash, speed, KPIs)",
    load: async () => {
      const m = await import("./run.ts");
      return { spec: m.RUN_SPEC, run: m.cmdRun };
    },
  },
  serve: {
    summary: "run a town and serve the observer page, telemetry and the console on one port",
    load: async () => {
      const m = await import("./serve.ts");
      return {
        spec: m.SERVE_SPEC,
        // `serve --stdio`: the Python bridge, with its own flags.
        run: async (argv, out) => {
          if (!argv.includes("--stdio")) return m.cmdServe(argv, out);
          return (await import("./bridge.ts")).cmdBridge(
            argv.filter((a) => a !== "--stdio"),
            out,
          );
        },
      };
    },
  },
  console: {
    summary: "send one console command to a running `townlet serve` and print the JSON answer",
    load: async () => {
      const m = await import("./console-client.ts");
      return { spec: m.CONSOLE_SPEC, run: (argv, out) => m.cmdConsole(argv, out) };
    },
  },
  train: {
    summary: "PPO after behaviour cloning of the scripted controller, with a log, checkpoints, a learning curve and an evaluation",
    load: async () => {
      const m = await import("./train.ts");
      return { spec: m.TRAIN_SPEC, run: m.cmdTrain };
    },
  },
  bench: {
    summary: "agent-steps/s, ms/tick, bytes/agent and GC counts at several sizes (see bench/README.md)",
    load: async () => {
      const m = await import("./bench.ts");
      return { spec: m.BENCH_SPEC, run: m.cmdBench };
    },
  },
  scenario: {
    summary: "run a scenario config (a scripted situation), printing its events and each agent's final state",
    load: async () => {
      const m = await import("./scenario.ts");
      return { spec: m.SCENARIO_SPEC, run: m.cmdScenario };
    },
  },
  "env-check": {
    summary: "run the env conformance suite (PettingZoo parallel api and seed tests) on a config",
    load: async () => {
      const m = await import("./env-check.ts");
      return { spec: m.ENV_CHECK_SPEC, run: m.cmdEnvCheck };
    },
  },
  parity: {
    summary: "run the original Python Townlet and ours on one config side by side and compare what happened",
    load: async () => {
      const m = await import("./parity.ts");
      return { spec: m.PARITY_SPEC, run: m.cmdParity };
    },
  },
  config: {
    summary: "the config reference: every key's type, default, range, description and plug-in",
    load: async () => {
      const m = await import("./config.ts");
      return { spec: m.CONFIG_SPEC, run: m.cmdConfig };
    },
  },
  validate: {
    summary: "check configs (and the files they reference) without running them",
    load: async () => {
      const m = await import("./validate.ts");
      return { spec: m.VALIDATE_SPEC, run: m.cmdValidate };
    },
  },
  "validate-ppo-log": {
    summary: "check PPO telemetry NDJSON logs (with their rotated FILE.1, FILE.2, ...) against telemetry_version 1.0/1.1",
    load: async () => {
      const m = await import("./validate.ts");
      return { spec: m.VALIDATE_PPO_LOG_SPEC, run: m.cmdValidatePpoLog };
    },
  },
};

export function version(): string {
  try {
    return (JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  return [
    "usage: townlet <command> [flags]",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, e]) => `  ${name.padEnd(width)}${e.summary}`),
    `  ${"help".padEnd(width)}this text; townlet help COMMAND (or townlet COMMAND --help) shows a command's flags`,
    "",
    "townlet --version prints the version. Exit codes: 0 done, 1 bad input, 2 internal error.",
  ].join("\n");
}

/** Errors that are the user's to fix (exit 1), by class name: module copies compare by name. */
const USER_ERRORS = new Set([
  "ConfigError",
  UsageError.name,
  "ScheduleError",
  "TensorBackendError",
  "PolicySpecError",
  "CheckpointError",
  "ScenarioError",
  "DatasetError",
  "PpoLogError",
  "PluginLoadError",
  "WorkerStallError",
]);
function isUserError(e: unknown): e is Error {
  return e instanceof Error && USER_ERRORS.has(e.name);
}

function unknownCommand(cmd: string): UsageError {
  const near = closest(cmd, [...Object.keys(COMMANDS), "help"]);
  return new UsageError(`townlet: unknown command "${cmd}"${near ? `; did you mean ${near}?` : ""} (townlet help lists the commands)`);
}

export async function main(argv: string[], out: Out = { log: (l) => console.log(l), err: (l) => console.error(l) }): Promise<number> {
  tuneHeap(); // V8's old-generation growing factor for a simulation (engine/heap.ts, bench/README.md)
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined) {
      out.err(usage());
      return 1;
    }
    if (cmd === "--version" || cmd === "-V" || cmd === "version") {
      out.log(`townlet ${version()}`);
      return 0;
    }
    if (cmd === "help" || cmd === "--help" || cmd === "-h") {
      const topic = rest[0];
      if (topic === undefined) {
        out.log(usage());
        return 0;
      }
      const entry = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
      if (!entry) throw unknownCommand(topic);
      out.log(formatHelp((await entry.load()).spec));
      return 0;
    }
    const entry = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
    if (!entry) throw unknownCommand(cmd);
    const command = await entry.load();
    return await command.run(rest, out);
  } catch (e) {
    if (e instanceof HelpRequested || (e instanceof Error && e.name === "HelpRequested")) {
      out.log(formatHelp((e as HelpRequested).spec));
      return 0;
    }
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
