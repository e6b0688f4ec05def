// Broken configs, one per kind of mistake: each is refused with one line per problem,
// `FILE:LINE: key.path: message`, naming the line the user has to fix.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";

import { ConfigError, formatProblem, loadConfig, parseConfigText } from "../../engine/config/loader.ts";
import { definePlugin, type AnyPlugin } from "../../engine/plugin.ts";
import { checkScenarioAgents, corePlugins } from "../../systems/index.ts";

const REPO_MANIFEST = fileURLToPath(new URL("../../configs/affordances/core.yaml", import.meta.url));

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-config-errors-"));
  // The default `affordances.affordances_file` resolves against the config's folder and above.
  mkdirSync(join(dir, "configs", "affordances"), { recursive: true });
  copyFileSync(REPO_MANIFEST, join(dir, "configs", "affordances", "core.yaml"));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `text` as `name` in the temp folder; returns its path. */
function write(name: string, text: string): string {
  const file = join(dir, name);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** The problem lines of loading `name` (written from `text`), file names relative to the temp folder. */
function problems(name: string, text: string | undefined, plugins: readonly AnyPlugin[] = corePlugins, strict = false): string[] {
  const file = text === undefined ? join(dir, name) : write(name, text);
  try {
    loadConfig(file, plugins, { strict });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const lines = e.problems.map((p) => formatProblem({ ...p, file: p.file.startsWith(dir) ? p.file.slice(dir.length + 1) : p.file }));
    // The message is the same lines, so a CLI can print it as it is.
    expect(e.message.split("\n").length).toBe(lines.length);
    return lines;
  }
  throw new Error(`${name} loaded, expected a ConfigError`);
}

const yaml = (...lines: string[]) => lines.join("\n") + "\n";

describe("the loader accepts a minimal config", () => {
  it("loads config_id alone, every section defaulted", () => {
    const cfg = loadConfig(write("ok.yaml", yaml("config_id: ok")), corePlugins);
    expect(cfg.configId).toBe("ok");
    expect(cfg.settings.world.towns).toBe(1);
  });
});

describe("YAML-level mistakes", () => {
  it("reports a syntax error at its line", () => {
    const text = yaml("config_id: x", "world:", "  towns: 1", " agents_per_town: 2", "seed: 1");
    expect(problems("syntax.yaml", text)).toEqual(["syntax.yaml:4: invalid YAML: All mapping items must start at the same column"]);
  });

  it("reports a duplicate key at the second one, with its path and the first one's line", () => {
    const text = yaml("config_id: x", "seed: 1", "world:", "  towns: 2", "  towns: 3");
    expect(problems("dup.yaml", text)).toEqual(["dup.yaml:5: world.towns: duplicate key (first set on line 4)"]);
  });

  it("reports a duplicate key inside a list item with the item's index", () => {
    const text = yaml("config_id: x", "scenario:", "  ticks: 1", "  agents:", "    - id: a", "    - id: b", "      wallet: 1", "      wallet: 2");
    expect(problems("dup-item.yaml", text)).toEqual(["dup-item.yaml:8: scenario.agents[1].wallet: duplicate key (first set on line 7)"]);
  });

  it("refuses an empty file: config_id is required", () => {
    expect(problems("empty.yaml", "")).toEqual(["empty.yaml:1: config_id: required key is missing (expected a string)"]);
  });

  it("refuses a file that is a YAML list", () => {
    expect(problems("list.yaml", yaml("- config_id: x", "- seed: 1"))).toEqual([
      "list.yaml:1: expected a mapping of config sections, got a list of 2 items",
    ]);
  });

  it("refuses a file that is a bare scalar", () => {
    expect(problems("scalar.yaml", yaml("hello"))).toEqual(['scalar.yaml:1: expected a mapping of config sections, got "hello"']);
  });

  it("reports a file that does not exist", () => {
    expect(problems("nowhere.yaml", undefined)).toEqual(["nowhere.yaml:0: file not found"]);
  });
});

describe("values", () => {
  it("requires config_id", () => {
    expect(problems("no-id.yaml", yaml("seed: 1", "world:", "  towns: 2"))).toEqual([
      "no-id.yaml:1: config_id: required key is missing (expected a string)",
    ]);
  });

  it("refuses a string where a number is expected", () => {
    const text = yaml("config_id: x", "world:", '  towns: "four"');
    expect(problems("type.yaml", text)).toEqual(['type.yaml:3: world.towns: expected a number, got "four"']);
  });

  it("refuses a fraction where an integer is expected", () => {
    const text = yaml("config_id: x", "world:", "  towns: 1.5");
    expect(problems("int.yaml", text)).toEqual(["int.yaml:3: world.towns: expected an integer, got 1.5"]);
  });

  it("refuses a value below the minimum", () => {
    const text = yaml("config_id: x", "seed: 1", "", "world:", "  grid_size: [48, 48]", "", "  towns: 0");
    expect(problems("bad.yaml", text)).toEqual(["bad.yaml:7: world.towns: expected a number >= 1, got 0"]);
  });

  it("refuses a value above the maximum", () => {
    const text = yaml("config_id: x", "employment:", "  grace_ticks: 500");
    expect(problems("max.yaml", text)).toEqual(["max.yaml:3: employment.grace_ticks: expected a number <= 120, got 500"]);
  });

  it("refuses a value outside an enum, listing the choices", () => {
    const text = yaml("config_id: x", "features:", "  systems:", '    observations: "tiny"');
    expect(problems("enum.yaml", text)).toEqual([
      'enum.yaml:4: features.systems.observations: expected one of "full", "hybrid", "compact", got "tiny"',
    ]);
  });

  it("refuses a tuple of the wrong length", () => {
    const text = yaml("config_id: x", "world:", "  grid_size: [48]");
    expect(problems("tuple.yaml", text)).toEqual(["tuple.yaml:3: world.grid_size: expected a list of exactly 2 items, got a list of 1 item"]);
  });

  it("names a list item by its index", () => {
    const text = yaml("config_id: x", "scenario:", "  ticks: 10", "  agents:", "    - id: a", "    - id: b", "      needs:", "        hunger: 1.5");
    expect(problems("item.yaml", text)).toEqual(["item.yaml:8: scenario.agents[1].needs.hunger: expected a number <= 1, got 1.5"]);
  });
});

// Keys the original ignores load with a warning (test/unit/config-compat.test.ts); --strict
// (strict: true) refuses them as here. An unknown top-level section is an error either way
// (test/unit/config-unloaded-sections.test.ts).
const IGNORED = "(the original ignores it too; --strict refuses it)";
const UNKNOWN_SECTION = `unknown section (did you mean "rewards"?); if it is a plug-in's section, that plug-in is not loaded (add its module to plugins:, or pass --plugin PATH; or set allow_unknown_sections: true to run without it)`;
describe("unknown keys", () => {
  it("suggests the closest top-level section", () => {
    const text = yaml("config_id: x", "rewardz:", "  punctuality_bonus: 0.1");
    expect(problems("top.yaml", text)).toEqual([`top.yaml:2: rewardz: ${UNKNOWN_SECTION}`]);
  });

  it("suggests the closest key of a nested section", () => {
    const text = yaml("config_id: x", "rewards:", "  decay_rate:", "    hunger: 0.01");
    expect(problems("nested.yaml", text, corePlugins, true)).toEqual([
      `nested.yaml:3: rewards.decay_rate: unknown key (did you mean "decay_rates"?) ${IGNORED}`,
    ]);
  });

  it("suggests the closest key inside a record's value", () => {
    const text = yaml("config_id: x", "jobs:", "  grocer:", "    start_tik: 180", "    end_tick: 360");
    expect(problems("record.yaml", text, corePlugins, true)).toEqual([
      `record.yaml:4: jobs.grocer.start_tik: unknown key (did you mean "start_tick"?) ${IGNORED}`,
    ]);
  });

  it("gives no suggestion when nothing is close", () => {
    const text = yaml("config_id: x", "world:", "  zzzzzzzzzz: 1");
    expect(problems("far.yaml", text)).toEqual(["far.yaml:3: world.zzzzzzzzzz: unknown key"]);
  });
});

describe("rules across fields of a section", () => {
  it("keeps the rivalry avoid threshold within [min_value, max_value]", () => {
    const text = yaml("config_id: x", "conflict:", "  rivalry:", "    max_value: 0.5", "    avoid_threshold: 0.7");
    expect(problems("rivalry.yaml", text)).toEqual([
      "rivalry.yaml:5: conflict.rivalry.avoid_threshold: expected avoid_threshold within [min_value, max_value] = [0, 0.5], got 0.7",
    ]);
  });

  it("refuses a job whose shift ends before it starts", () => {
    const text = yaml("config_id: x", "jobs:", "  night:", "    start_tick: 300", "    end_tick: 100");
    expect(problems("shift.yaml", text)).toEqual(["shift.yaml:5: jobs.night.end_tick: expected end_tick >= start_tick (300), got 100"]);
  });

  it("requires a file_path for the file transport", () => {
    const text = yaml("config_id: x", "telemetry:", "  transport:", "    type: file");
    // The key is left out: the problem sits on the line of the mapping that should hold it.
    expect(problems("transport.yaml", text)).toEqual([
      "transport.yaml:3: telemetry.transport.file_path: expected a non-blank file_path for file transport, got null",
    ]);
  });
});

describe("referenced files", () => {
  it("reports a missing affordance manifest on the config's line naming it", () => {
    const text = yaml("config_id: x", "affordances:", "  affordances_file: missing/manifest.yaml");
    const lines = problems("aff-missing.yaml", text);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^aff-missing\.yaml:3: affordances\.affordances_file: affordance manifest "missing\/manifest\.yaml" not found/);
  });

  it("reports an invalid manifest in that file at its own line, then on the config's line", () => {
    write("manifests/broken.yaml", yaml("- type: object", "  id: fridge_1", "  object_type: fridge", "- id: eat", "  object_type: fridge", "  duration: 0"));
    const text = yaml("config_id: x", "seed: 3", "affordances:", "  affordances_file: manifests/broken.yaml");
    expect(problems("aff-invalid.yaml", text)).toEqual([
      "manifests/broken.yaml:6: [1].duration: expected a number >= 1, got 0",
      'aff-invalid.yaml:4: affordances.affordances_file: affordance manifest "manifests/broken.yaml" is invalid (see above)',
    ]);
  });

  it("reports a broken perturbation file at its own line, then on the config's line", () => {
    write("perturbations/bad.yaml", yaml("max_concurrent_events: 1", "events:", "  spike:", "    kind: price_spike", "    magnitude: [2, 1]"));
    const text = yaml("config_id: x", "perturbations: perturbations/bad.yaml");
    expect(problems("pert-file.yaml", text)).toEqual([
      "perturbations/bad.yaml:5: events.spike.magnitude: expected min <= max, got min 2 > max 1",
      'pert-file.yaml:2: perturbations: perturbation file "perturbations/bad.yaml" is invalid (see above)',
    ]);
  });

  it("reports a perturbation file with a misspelled key, with a suggestion", () => {
    write("perturbations/typo.yaml", yaml("max_concurent_events: 1"));
    const text = yaml("config_id: x", "perturbations: perturbations/typo.yaml");
    expect(problems("pert-file-typo.yaml", text)).toEqual([
      'perturbations/typo.yaml:1: max_concurent_events: unknown key (did you mean "max_concurrent_events"?)',
      'pert-file-typo.yaml:2: perturbations: perturbation file "perturbations/typo.yaml" is invalid (see above)',
    ]);
  });

  it("reports a perturbation file that does not exist", () => {
    const lines = problems("pert-missing.yaml", yaml("config_id: x", "perturbations: perturbations/none.yaml"));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^pert-missing\.yaml:2: perturbations: perturbation file "perturbations\/none\.yaml" not found/);
  });
});

describe("inline perturbations (a section validated by a transform)", () => {
  it("suggests the closest key for a misspelled top-level key", () => {
    const text = yaml("config_id: x", "perturbations:", "  max_concurent_events: 2");
    expect(problems("pert-inline.yaml", text, corePlugins, true)).toEqual([
      `pert-inline.yaml:3: perturbations.max_concurent_events: unknown key (did you mean "max_concurrent_events"?) ${IGNORED}`,
    ]);
  });

  it("suggests the closest key inside an event spec", () => {
    const text = yaml("config_id: x", "perturbations:", "  events:", "    dark:", "      kind: blackout", "      prob_per_dya: 0.1");
    expect(problems("pert-event.yaml", text)).toEqual([
      'pert-event.yaml:6: perturbations.events.dark.prob_per_dya: unknown key (did you mean "prob_per_day"?)',
    ]);
  });

  it("lists the event kinds for an unknown kind", () => {
    const text = yaml("config_id: x", "perturbations:", "  events:", "    dark:", "      kind: blakout");
    expect(problems("pert-kind.yaml", text)).toEqual([
      'pert-kind.yaml:5: perturbations.events.dark.kind: expected one of "price_spike", "blackout", "outage", "arranged_meet", got "blakout" (did you mean "blackout"?)',
    ]);
  });
});

describe("several problems", () => {
  it("reports every problem of a file, in line order", () => {
    const text = yaml(
      "config_id: x",
      "scenario:",
      "  ticks: 0",
      "world:",
      "  towns: 0",
      "  grid_size: [48]",
      "rewardz: {}",
      "features:",
      "  systems:",
      "    observations: tiny",
    );
    expect(problems("many.yaml", text, corePlugins, true)).toEqual([
      "many.yaml:3: scenario.ticks: expected a number >= 1, got 0",
      "many.yaml:5: world.towns: expected a number >= 1, got 0",
      "many.yaml:6: world.grid_size: expected a list of exactly 2 items, got a list of 1 item",
      `many.yaml:7: rewardz: ${UNKNOWN_SECTION}`,
      'many.yaml:10: features.systems.observations: expected one of "full", "hybrid", "compact", got "tiny"',
    ]);
  });
});

describe("overrides", () => {
  it("reports a bad override by its key path, at the line of that key", () => {
    const text = yaml("config_id: x", "world:", "  towns: 2");
    try {
      parseConfigText("over.yaml", text, corePlugins, { overrides: { "world.towns": 0 } });
      expect.unreachable("expected a ConfigError");
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).problems.map(formatProblem)).toEqual(["over.yaml:3: world.towns: expected a number >= 1, got 0"]);
    }
  });

  it("applies a good override", () => {
    const cfg = parseConfigText(join(dir, "over-ok.yaml"), yaml("config_id: x"), corePlugins, { overrides: { "world.towns": 4 } });
    expect(cfg.settings.world.towns).toBe(4);
  });
});

describe("rules across sections (plug-in checks)", () => {
  const scenario = (...agent: string[]) =>
    yaml("config_id: x", "jobs:", "  cafe_shift:", "    start_tick: 10", "    end_tick: 20", "scenario:", "  ticks: 5", "  agents:", "    - id: a", ...agent);

  it("refuses a scenario agent whose job is not a key of jobs", () => {
    expect(problems("job.yaml", scenario("      job: cafe_shfit"))).toEqual([
      'job.yaml:10: scenario.agents[0].job: expected a job from the jobs section ("cafe_shift"), got "cafe_shfit" (did you mean "cafe_shift"?)',
    ]);
  });

  it("checks jobs against the default jobs when the config has no jobs section", () => {
    const text = yaml("config_id: x", "scenario:", "  ticks: 5", "  agents:", "    - id: a", "      job: grocer", "    - id: b", "      job: cook");
    expect(problems("job-default.yaml", text)).toEqual([
      'job-default.yaml:8: scenario.agents[1].job: expected a job from the jobs section ("grocer", "barista"), got "cook"',
    ]);
  });

  it("refuses an unknown personality profile and accepts a known one in any case", () => {
    expect(problems("profile.yaml", scenario("      personality_profile: socialit", "    - id: b", "      personality_profile: Stoic"))).toEqual([
      'profile.yaml:10: scenario.agents[0].personality_profile: expected a known personality profile (balanced, socialite, industrious, stoic), got "socialit" (did you mean "socialite"?)',
    ]);
    const ok = loadConfig(write("profile-ok.yaml", scenario("      job: cafe_shift", "      personality_profile: Stoic")), corePlugins);
    expect(ok.settings.scenario?.agents[0]?.personality_profile).toBe("Stoic");
  });

  it("is registered on the scenario plug-in", () => {
    expect(corePlugins.find((p) => p.name === "scenario")?.checks).toBe(checkScenarioAgents);
  });

  it("runs any plug-in's checks once the sections are valid, locating problems by path", () => {
    const seen: unknown[] = [];
    const limits = definePlugin({
      name: "limits",
      sections: { limits: z.strictObject({ max_towns: z.int().min(1) }).prefault({ max_towns: 1 }) },
      checks: (settings) => {
        seen.push(settings);
        const s = settings as unknown as { world: { towns: number }; limits: { max_towns: number } };
        return s.world.towns > s.limits.max_towns ? [{ path: ["world", "towns"], message: `expected at most limits.max_towns (${s.limits.max_towns}) towns, got ${s.world.towns}` }] : [];
      },
    });
    const plugins = [...corePlugins, limits];
    const text = yaml("config_id: x", "limits:", "  max_towns: 2", "world:", "  towns: 3");
    expect(problems("limits.yaml", text, plugins)).toEqual(["limits.yaml:5: world.towns: expected at most limits.max_towns (2) towns, got 3"]);
    expect(seen).toHaveLength(1);

    // Not run while a section is invalid: the section's own problem is reported instead.
    expect(problems("limits-bad.yaml", yaml("config_id: x", "limits:", "  max_towns: 0", "world:", "  towns: 3"), plugins)).toEqual([
      "limits-bad.yaml:3: limits.max_towns: expected a number >= 1, got 0",
    ]);
    expect(seen).toHaveLength(1);
  });

  it("reports a check's problem at the nearest line when its key was left to a default", () => {
    const check = definePlugin({
      name: "always",
      checks: () => [{ path: ["world", "towns"], message: "expected something else" }],
    });
    expect(problems("default-line.yaml", yaml("config_id: x", "seed: 1", "world:", "  agents_per_town: 3"), [...corePlugins, check])).toEqual([
      "default-line.yaml:3: world.towns: expected something else",
    ]);
  });
});
