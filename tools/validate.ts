// `townlet validate [FILE|DIR...]` (configs and the files they reference) and
// `townlet validate-ppo-log FILE...` (PPO telemetry NDJSON logs).
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { formatProblem, validateFile } from "../engine/config/loader.ts";
import { corePlugins } from "../systems/index.ts";
import { CONFIGS_DIR } from "../engine/paths.ts";
import { PluginLoadError, resolvePlugins } from "../engine/plugin-loader.ts";
import { FLAG, parseCommand, type CommandSpec } from "./args.ts";

interface Out {
  log(line: string): void;
  err(line: string): void;
}

export const VALIDATE_SPEC = {
  name: "validate",
  summary: "check configs (and the files they reference) without running them",
  positionals: { name: "FILE|DIR...", min: 0, max: Infinity, help: "config files or folders of them (default: the project's configs/)" },
  flags: {
    strict: { kind: "boolean", help: "keys the original Townlet ignores are errors, not warnings" },
    plugin: FLAG.plugin,
    json: FLAG.json,
  },
  examples: ["townlet validate", "townlet validate configs/default.yaml --strict --json"],
} as const satisfies CommandSpec;

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

export async function cmdValidate(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommand(VALIDATE_SPEC, argv);
  const targets = positionals.length ? positionals : [CONFIGS_DIR];
  const files = targets.flatMap(yamlFilesIn);
  let bad = 0;
  const results: { file: string; kind: string; ok: boolean; problems: string[] }[] = [];
  for (const f of files) {
    // Each config with its own `plugins:` (and --plugin); a plug-in that fails to load is this file's problem.
    let r: ReturnType<typeof validateFile>;
    try {
      r = validateFile(f, await resolvePlugins(corePlugins, /\.ya?ml$/.test(f) ? f : undefined, values.plugin), { strict: values.strict });
    } catch (e) {
      if (!(e instanceof PluginLoadError)) throw e;
      r = { kind: "config", problems: [{ file: f, line: 1, path: "plugins", message: e.message }] };
    }
    const shown = relative(process.cwd(), f) || f;
    for (const w of r.warnings ?? []) out.err(`warning: ${formatProblem({ ...w, file: relative(process.cwd(), w.file) || w.file })}`);
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

export const VALIDATE_PPO_LOG_SPEC = {
  name: "validate-ppo-log",
  summary: "check PPO telemetry NDJSON logs (with their rotated FILE.1, FILE.2, ...) against telemetry_version 1.0/1.1",
  details: "Exit 0: valid (warnings allowed); 1: errors found or a bad command line. One FILE:LINE: field: message per problem on stderr.",
  positionals: { name: "FILE...", min: 1, max: Infinity, help: "the log files (rotated parts are found next to each)" },
  flags: { json: FLAG.json },
  examples: ["townlet validate-ppo-log runs/train/ppo_log.ndjson"],
} as const satisfies CommandSpec;

/**
 * `townlet validate-ppo-log FILE... [--json]`: training/validate-log.ts on each stream; one
 * `FILE:LINE: field: message` per problem on stderr. Exit 1 for a bad log or a bad command line.
 */
export async function cmdValidatePpoLog(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommand(VALIDATE_PPO_LOG_SPEC, argv);
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
