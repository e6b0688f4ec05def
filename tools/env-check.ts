// `townlet env-check [CONFIG]`: the shipped conformance suite (env/conformance.ts) on a world built
// from the config with every core plug-in: the parallel api test over --cycles steps (the env
// truncating there) and the seed test over min(cycles, 200) steps. Prints each check (✓/✗ and
// detail), or one JSON object with --json; exit 1 when a check fails. A world of several blocks
// (world.shards or --shards K) is checked through the sharded env (env/sharded.ts), its blocks on
// --workers N threads (default: the machine's cores; capped by the blocks, said on stderr): the same dicts for every N.
import { relative } from "node:path";
import { DEFAULT_CONFIG_FILE } from "../engine/paths.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { needTable } from "../components/needs.ts";
import { FLAG, configArg, parseCommand, threadsLine, type CommandSpec } from "./args.ts";
import { loadConfig } from "../engine/config/loader.ts";
import { shardsOf } from "../engine/shard-blocks.ts";
import { defaultWorkers } from "../engine/shards.ts";

interface Out {
  log(line: string): void;
  err(line: string): void;
}

export const ENV_CHECK_SPEC = {
  name: "env-check",
  summary: "run the env conformance suite (PettingZoo parallel api and seed tests) on a config",
  positionals: { name: "CONFIG", min: 0, max: 1, help: "the config file (default configs/default.yaml); same as --config" },
  flags: {
    config: FLAG.config,
    cycles: { kind: "int", min: 1, default: 200, help: "steps of the parallel api test (the seed test takes min(N, 200))" },
    plugin: FLAG.plugin,
    workers: { ...FLAG.workers, help: "threads running the world's blocks (default: the machine's cores, capped by the blocks, see world.shards; 1 = one thread); the checks do not depend on it" },
    shards: FLAG.shards,
    json: FLAG.json,
  },
  examples: ["townlet env-check", "townlet env-check configs/many-towns.yaml --cycles 50 --json", "townlet env-check configs/many-towns.yaml --shards 4 --workers 2 --cycles 50"],
} as const satisfies CommandSpec;

export async function cmdEnvCheck(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommand(ENV_CHECK_SPEC, argv);
  const cycles = values.cycles ?? 200;
  const config = configArg("env-check", values.config, positionals) ?? DEFAULT_CONFIG_FILE;
  const { TownletParallelEnv, parallelApiTest, seedTest, ENV_NAME } = await import("../env/index.ts");
  const { ShardedVectorEnv } = await import("../env/sharded.ts");
  const { corePlugins } = await import("../systems/index.ts");
  const plugins = await resolvePlugins(corePlugins, config, values.plugin);
  const overrides = values.shards !== undefined ? { "world.shards": values.shards } : undefined;
  const settings = loadConfig(config, plugins, { overrides }).settings;
  const blocks = shardsOf(settings);
  const asked = values.workers ?? defaultWorkers(blocks);
  const workers = Math.min(asked, blocks);
  if (asked > workers) {
    out.err(
      blocks === 1
        ? `--workers ${asked}: capped at 1: this world is one block (set world.shards or --shards to split its towns)`
        : `--workers ${asked}: capped at ${blocks}: the world has ${blocks} blocks`,
    );
  }
  const makeEnv = () =>
    blocks > 1
      ? new TownletParallelEnv({ vector: new ShardedVectorEnv({ config, overrides, maxCycles: cycles, workers, pluginSpecs: values.plugin ?? [] }, plugins) })
      : new TownletParallelEnv({ config, overrides, maxCycles: cycles, plugins });
  const probe = makeEnv(); // a config mistake is reported here, as a user error, rather than as a failed check
  // The observation's shape, and which features are needs (a mod's need adds one: need_<name>).
  let space;
  let actions;
  try {
    probe.reset({ seed: 0 });
    const first = probe.possible_agents[0] ?? "";
    space = probe.observation_space(first);
    actions = probe.action_space(first).n;
  } finally {
    probe.close();
  }
  const { features, map } = space.layout;
  const needFeatures = needTable(settings).observed.map((n) => `need_${n.name}`);
  const observation = { size: space.spaces.observation.shape[0], features, map, need_features: needFeatures, actions };
  const suites = [
    { name: `parallel api test (${cycles} cycles)`, result: parallelApiTest(makeEnv, { cycles }) },
    { name: `seed test (${Math.min(cycles, 200)} steps)`, result: seedTest(makeEnv, { steps: Math.min(cycles, 200) }) },
  ];
  const ok = suites.every((s) => s.result.ok);
  if (values.json) {
    out.log(JSON.stringify({ env: ENV_NAME, config: relative(process.cwd(), config) || config, cycles, blocks, workers, workers_default: values.workers === undefined, ok, observation, suites }));
    return ok ? 0 : 1;
  }
  out.log(`townlet env-check: ${ENV_NAME} on ${relative(process.cwd(), config) || config}${blocks > 1 ? ` (${threadsLine(blocks, workers, values.workers === undefined)})` : ""}`);
  out.log(
    `  observation: ${observation.size} floats = ${features} features (${needFeatures.length} needs: ${needFeatures.join(", ")}) + map ${map.join("x")}; ${observation.actions} actions`,
  );
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
