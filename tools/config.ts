// `townlet config explain KEY` and `townlet config reference`: the config reference generated from
// the zod schemas (engine/config/reference.ts), for one key or all of them. docs/config.md is
// `townlet config reference --markdown`.
import { corePlugins } from "../systems/index.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { configReference, findKeys, formatKey, formatReferenceMarkdown, suggestKey } from "../engine/config/reference.ts";
import { FLAG, UsageError, parseCommand, type CommandSpec } from "./args.ts";

interface Out {
  log(line: string): void;
  err(line: string): void;
}

export const CONFIG_SPEC = {
  name: "config",
  summary: "the config reference: every key's type, default, range, description and plug-in",
  details: `townlet config explain KEY prints one key (a section or a mapping: every key under it; \`*\` matches any name, so
jobs.cook.wage finds jobs.*.wage). townlet config reference prints every key (--markdown: docs/config.md).
A mod's keys are listed with its plug-ins: --plugin PATH, or --config FILE for the plug-ins its \`plugins:\` lists.`,
  positionals: { name: "explain KEY | reference", min: 1, max: 2, help: "what to print" },
  flags: {
    markdown: { kind: "boolean", help: "reference: print docs/config.md" },
    json: FLAG.json,
    config: { kind: "string", arg: "FILE", help: "also list the keys of the plug-ins this config's `plugins:` loads" },
    plugin: FLAG.plugin,
  },
  examples: [
    "townlet config explain world.towns",
    "townlet config explain jobs",
    "townlet config reference --markdown",
    "townlet config explain thirst --config examples/mods/thirst/config.yaml",
  ],
} as const satisfies CommandSpec;

export async function cmdConfig(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommand(CONFIG_SPEC, argv);
  const [what, key] = positionals;
  const keys = configReference(await resolvePlugins(corePlugins, values.config, values.plugin ?? []));
  if (what === "reference") {
    if (key !== undefined) throw new UsageError(`townlet config reference: unexpected argument "${key}"`);
    if (values.json) out.log(JSON.stringify(keys));
    else if (values.markdown) out.log(formatReferenceMarkdown(keys));
    else out.log(keys.map(formatKey).join("\n\n"));
    return 0;
  }
  if (what !== "explain") throw new UsageError(`townlet config: expected "explain KEY" or "reference", got "${what}"`);
  if (key === undefined) throw new UsageError("townlet config explain: expected a KEY, e.g. world.towns");
  const found = findKeys(keys, key);
  if (!found.length) throw new UsageError(`townlet config explain: no config key "${key}"${suggestKey(keys, key)}`);
  out.log(values.json ? JSON.stringify(found) : found.map(formatKey).join("\n\n"));
  return 0;
}
