// The config reference (engine/config/reference.ts): generated from the schemas, printed by
// `townlet config explain`, and docs/config.md kept equal to it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configReference, findKeys, formatKey, formatReferenceMarkdown } from "../../engine/config/reference.ts";
import { PROJECT_ROOT } from "../../engine/paths.ts";
import { corePlugins } from "../../systems/index.ts";
import { main } from "../../tools/cli.ts";

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { log: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const keys = configReference(corePlugins);

describe("config reference", () => {
  it("docs/config.md is the generated reference (regenerate: townlet config reference --markdown > docs/config.md)", () => {
    expect(readFileSync(join(PROJECT_ROOT, "docs", "config.md"), "utf8")).toBe(formatReferenceMarkdown(keys) + "\n");
  });

  it("gives each key its type, default, range and the plug-in that reads it", () => {
    expect(keys.find((k) => k.key === "world.towns")).toMatchObject({ type: "integer", default: "1", range: ">= 1, <= 10000000", plugin: "engine" });
    expect(keys.find((k) => k.key === "config_id")).toMatchObject({ type: "string", required: true, range: "length >= 1" });
    const plugins = new Set(keys.map((k) => k.plugin));
    for (const p of corePlugins) if (p.config || p.sections) expect(plugins).toContain(p.name);
  });

  it("describes every key", () => {
    expect(keys.filter((k) => !k.description).map((k) => k.key)).toEqual([]);
  });

  it("finds a key under a mapping by any name, and every key under a section", () => {
    const wage = findKeys(keys, "jobs.cook.wage_rate");
    expect(wage.map((k) => k.key)).toEqual(["jobs.*.wage_rate"]);
    const world = findKeys(keys, "world").map((k) => k.key);
    expect(world[0]).toBe("world");
    expect(world).toContain("world.agents_per_town");
  });

  it("townlet config explain KEY prints the entry; an unknown key exits 1 with a suggestion", async () => {
    const r = await cli("config", "explain", "world.towns");
    expect(r.code).toBe(0);
    expect(r.out).toBe(formatKey(keys.find((k) => k.key === "world.towns")!));
    const bad = await cli("config", "explain", "wrld.towns");
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/no config key "wrld.towns" \(did you mean "world.towns"\?\)/);
  });

  it("lists a mod's keys with its plug-ins (--plugin PATH, or --config FILE's plugins:), and only then", async () => {
    const mod = join(PROJECT_ROOT, "examples", "mods", "thirst");
    const byPlugin = await cli("config", "explain", "thirst.work_extra_decay", "--plugin", join(mod, "thirst.ts"));
    expect(byPlugin.code, byPlugin.err).toBe(0);
    expect(byPlugin.out).toMatch(/^thirst\.work_extra_decay\n  type +number\n  default +0\.001\n[\s\S]*read by +the thirst plug-in$/);
    const byConfig = await cli("config", "explain", "thirst.work_extra_decay", "--config", join(mod, "config.yaml"));
    expect(byConfig).toEqual(byPlugin);
    const without = await cli("config", "explain", "thirst.work_extra_decay");
    expect(without.code).toBe(1);
    expect(without.err).toMatch(/no config key "thirst.work_extra_decay"/);
    const missing = await cli("config", "reference", "--plugin", "./no-such-mod.ts");
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('--plugin: plug-in "./no-such-mod.ts" not found');
  });
});
