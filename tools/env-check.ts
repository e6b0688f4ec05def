// `townlet env-check [CONFIG]`: the shipped conformance suite (env/conformance.ts) on a world built
// from the config with every core plug-in: the parallel api test over --cycles steps (the env
// truncating there) and the seed test over min(cycles, 200) steps. Prints each check (✓/✗ and
// detail), or one JSON object with --json; exit 1 when a check fails.
import { relative } from "node:path";
import { DEFAULT_CONFIG_FILE } from "../engine/paths.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { needTable } from "../components/needs.ts";
import { FLAG, configArg, parseCommand, type CommandSpec } from "./args.ts";

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
    json: FLAG.json,
  },
  examples: ["townlet env-check", "townlet env-check configs/many-towns.yaml --cycles 50 --json"],
} as const satisfies CommandSpec;

export async function cmdEnvCheck(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommand(ENV_CHECK_SPEC, argv);
  const cycles = values.cycles ?? 200;
  const config = configArg("env-check", values.config, positionals) ?? DEFAULT_CONFIG_FILE;
  const { TownletParallelEnv, parallelApiTest, seedTest, ENV_NAME } = await import("../env/index.ts");
  const { corePlugins } = await import("../systems/index.ts");
  const plugins = await resolvePlugins(corePlugins, config, values.plugin);
  const makeEnv = () => new TownletParallelEnv({ config, maxCycles: cycles, plugins });
  const probe = makeEnv(); // a config mistake is reported here, as a user error, rather than as a failed check
  // The observation's shape, and which features are needs (a mod's need adds one: need_<name>).
  probe.reset({ seed: 0 });
  const first = probe.possible_agents[0] ?? "";
  const space = probe.observation_space(first);
  const { features, map } = space.layout;
  const needFeatures = needTable(probe.world.settings).observed.map((n) => `need_${n.name}`);
  const observation = { size: space.spaces.observation.shape[0], features, map, need_features: needFeatures, actions: probe.action_space(first).n };
  const suites = [
    { name: `parallel api test (${cycles} cycles)`, result: parallelApiTest(makeEnv, { cycles }) },
    { name: `seed test (${Math.min(cycles, 200)} steps)`, result: seedTest(makeEnv, { steps: Math.min(cycles, 200) }) },
  ];
  const ok = suites.every((s) => s.result.ok);
  if (values.json) {
    out.log(JSON.stringify({ env: ENV_NAME, config: relative(process.cwd(), config) || config, cycles, ok, observation, suites }));
    return ok ? 0 : 1;
  }
  out.log(`townlet env-check: ${ENV_NAME} on ${relative(process.cwd(), config) || config}`);
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
