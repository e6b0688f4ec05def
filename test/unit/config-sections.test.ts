// Section schemas beside each system: the original's config files load as they are, absent sections
// fill with defaults, and bad values are refused with an issue path pointing at the offending key.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { describe, expect, it } from "vitest";

import { sections as affordances, AffordanceManifest } from "../../systems/affordances/config.ts";
import { sections as consoleAuth } from "../../systems/console/config.ts";
import { sections as economy, ECONOMY_DEFAULTS } from "../../systems/economy/config.ts";
import { sections as employment } from "../../systems/employment/config.ts";
import { sections as lifecycle } from "../../systems/lifecycle/config.ts";
import { sections as observations } from "../../systems/observations/config.ts";
import { sections as persistence } from "../../systems/persistence/config.ts";
import { sections as perturbations, PerturbationFile } from "../../systems/perturbations/config.ts";
import { sections as policy } from "../../systems/policy/config.ts";
import { sections as queues } from "../../systems/affordances/queue-config.ts";
import { sections as rewards } from "../../systems/rewards/config.ts";
import { sections as scenario } from "../../systems/scenario/config.ts";
import { sections as stability } from "../../systems/stability/config.ts";
import { sections as telemetry } from "../../systems/telemetry/config.ts";

const allSections = {
  ...affordances,
  ...consoleAuth,
  ...economy,
  ...employment,
  ...lifecycle,
  ...observations,
  ...persistence,
  ...perturbations,
  ...policy,
  ...queues,
  ...rewards,
  ...scenario,
  ...stability,
  ...telemetry,
};

// Core keys owned by the engine's own schema; stubbed here so only the section schemas are under test.
const WholeConfig = z.strictObject({
  ...allSections,
  config_id: z.unknown().optional(),
  seed: z.unknown().optional(),
  features: z.unknown().optional(),
  runtime: z.unknown().optional(),
  world: z.unknown().optional(),
  docs: z.unknown().optional(),
});

const ORIGINAL_CONFIGS = [
  process.env.TOWNLET_ORIGINAL_CONFIGS,
  fileURLToPath(new URL("../../../shared/townlet-original/configs", import.meta.url)),
].find((dir): dir is string => dir !== undefined && existsSync(dir));

const readYaml = (relative: string): unknown => parseYaml(readFileSync(join(ORIGINAL_CONFIGS!, relative), "utf8"));

/** The issues of a failed parse as "path: message" lines, for readable failures. */
function issuesOf(schema: z.ZodType, input: unknown): { path: PropertyKey[]; message: string; code: string }[] {
  const result = schema.safeParse(input);
  expect(result.success, "expected the input to be refused").toBe(false);
  return result.error!.issues.map(({ path, message, code }) => ({ path, message, code }));
}

function expectIssueAt(schema: z.ZodType, input: unknown, path: PropertyKey[], message?: RegExp): void {
  const issues = issuesOf(schema, input);
  const hit = issues.find((issue) => JSON.stringify(issue.path) === JSON.stringify(path));
  expect(hit, `no issue at ${JSON.stringify(path)}; got ${JSON.stringify(issues)}`).toBeDefined();
  if (message) expect(hit!.message).toMatch(message);
}

describe.skipIf(ORIGINAL_CONFIGS === undefined)("the original's config files", () => {
  const simulationConfigs = () => [
    "examples/poc_hybrid.yaml",
    ...readdirSync(join(ORIGINAL_CONFIGS!, "scenarios"))
      .filter((name) => name.endsWith(".yaml"))
      .sort()
      .map((name) => `scenarios/${name}`),
  ];

  it("finds the example config and every scenario, the template included", () => {
    expect(simulationConfigs()).toEqual(
      expect.arrayContaining(["examples/poc_hybrid.yaml", "scenarios/_template.yaml", "scenarios/queue_conflict.yaml"]),
    );
  });

  it("validates every section of every simulation config as written", () => {
    for (const file of simulationConfigs()) {
      const result = WholeConfig.safeParse(readYaml(file));
      expect(result.success ? [] : result.error.issues, file).toEqual([]);
    }
  });

  it("fills rewards.decay_rates, social and clip when a scenario leaves them out", () => {
    const config = WholeConfig.parse(readYaml("scenarios/_template.yaml"));
    expect(config.rewards.decay_rates).toEqual({ hunger: 0.01, hygiene: 0.005, energy: 0.008 });
    expect(config.rewards.social.C1_coeff_trust).toBe(0.3);
    expect(config.rewards.clip.clip_per_episode).toBe(50);
    expect(config.rewards.needs_weights).toEqual({ hunger: 1.0, hygiene: 0.5, energy: 0.6 });
  });

  it("keeps a scenario's own jobs instead of the default grocer and barista", () => {
    const config = WholeConfig.parse(readYaml("scenarios/employment_punctuality.yaml"));
    expect(Object.keys(config.jobs)).toEqual(["cafe_shift"]);
    expect(config.scenario?.agents.map((agent) => agent.job)).toEqual(["cafe_shift", "cafe_shift"]);
  });

  it("reads the scenario block with null objects and affordances in wait intents", () => {
    const config = WholeConfig.parse(readYaml("scenarios/kitchen_breakfast.yaml"));
    expect(config.scenario?.ticks).toBe(40);
    expect(config.scenario?.agents[0]?.schedule[2]).toEqual({ kind: "wait", object: null, affordance: null, blocked: false });
  });

  it("validates the core affordance manifest: 3 objects and 4 affordances", () => {
    const manifest = AffordanceManifest.parse(readYaml("affordances/core.yaml"));
    expect(manifest.filter((entry) => entry.type === "object").map((entry) => entry.id)).toEqual(["shower_1", "bed_1", "fridge_1"]);
    const shower = manifest.find((entry) => entry.id === "use_shower");
    expect(shower).toMatchObject({ type: "affordance", object_type: "shower", duration: 30, effects: { hygiene: 0.45, money: -0.2 } });
    expect(manifest.find((entry) => entry.id === "rest_sleep")).toMatchObject({ preconds: [], hooks: { fail: [] } });
  });

  it("reads the default perturbation file with ranges normalised to {min, max}", () => {
    const file = PerturbationFile.parse(readYaml("perturbations/default.yaml"));
    expect(file.max_concurrent_events).toBe(2);
    expect(file.events.price_spike).toMatchObject({
      kind: "price_spike",
      probability_per_day: 0.3,
      duration: { min: 60, max: 120 },
      magnitude: { min: 1.2, max: 1.8 },
      targets: ["grocer", "cafe"],
    });
    expect(file.events.blackout).toMatchObject({ utility: "power", duration: { min: 20, max: 60 } });
    expect(file.events.arranged_meet).toMatchObject({ target: "top_rivals", location: "cafe", max_participants: 2 });
    expect(file.events.price_spike).not.toHaveProperty("prob_per_day");
  });

  it("accepts the perturbation file pasted inline under perturbations:", () => {
    const config = WholeConfig.parse({ perturbations: readYaml("perturbations/default.yaml") });
    expect(typeof config.perturbations === "object" && Object.keys(config.perturbations.events)).toEqual([
      "price_spike",
      "blackout",
      "outage",
      "arranged_meet",
    ]);
  });
});

describe("defaults", () => {
  it("gives every section its full default object when absent, except scenario (none) and jobs (grocer, barista)", () => {
    for (const [name, schema] of Object.entries(allSections)) {
      const absent = schema.parse(undefined);
      if (name === "scenario") expect(absent).toBeUndefined();
      else if (name === "jobs") expect(Object.keys(absent as object)).toEqual(["grocer", "barista"]);
      else expect(absent, name).toEqual(schema.parse({}));
    }
    // An explicit empty jobs section means a town without jobs.
    expect(employment.jobs.parse({})).toEqual({});
  });

  it("fills an empty config with the original's defaults", () => {
    const config = WholeConfig.parse({});
    expect(config.rewards.needs_weights).toEqual({ hunger: 1.0, hygiene: 0.6, energy: 0.8 });
    expect(config.rewards.punctuality_bonus).toBe(0.05);
    expect(config.economy).toEqual(ECONOMY_DEFAULTS);
    expect(config.jobs.grocer).toEqual({ start_tick: 180, end_tick: 360, wage_rate: 0.02, lateness_penalty: 0.1, location: [0, 0] });
    expect(Object.keys(config.jobs)).toEqual(["grocer", "barista"]);
    expect(config.queue_fairness).toEqual({
      cooldown_ticks: 60,
      ghost_step_after: 3,
      age_priority_weight: 0.1,
      reservation_timeout_ticks: 30,
    });
    expect(config.conflict.rivalry.max_edges).toBe(6);
    expect(config.observations_config.hybrid.local_window).toBe(11);
    expect(config.personalities).toEqual({ distribution: { balanced: 1 }, overrides: {} });
    expect(config.telemetry.transport).toMatchObject({ type: "stdout", enable_tls: false });
    expect(config.snapshot.autosave.cadence_ticks).toBeNull();
    expect(config.stability.promotion.allowed_alerts).toEqual([]);
    expect(config.affordances.affordances_file).toBe("configs/affordances/core.yaml");
    expect(config.perturbations).toMatchObject({ max_concurrent_events: 1, events: {} });
    expect(config.scenario).toBeUndefined();
  });

  it("merges given economy keys over the defaults", () => {
    expect(economy.economy.parse({ meal_cost: 0.9, coffee_cost: 0.1 })).toEqual({ ...ECONOMY_DEFAULTS, meal_cost: 0.9, coffee_cost: 0.1 });
  });

  it("normalises personality weights and coerces a single allowed alert to a list", () => {
    expect(policy.personalities.parse({ distribution: { stoic: 1, Balanced: 3 } }).distribution).toEqual({ balanced: 0.75, stoic: 0.25 });
    expect(stability.stability.parse({ promotion: { allowed_alerts: "starvation" } }).promotion.allowed_alerts).toEqual(["starvation"]);
  });

  it("turns social aggregates off when there are no friend or rival slots", () => {
    const parsed = observations.observations_config.parse({ social_snippet: { top_friends: 0, top_rivals: 0 } });
    expect(parsed.social_snippet.include_aggregates).toBe(false);
  });
});

describe("refusals", () => {
  it("refuses an unknown key, naming it", () => {
    const issues = issuesOf(queues.queue_fairness, { cooldown_tick: 5 });
    expect(issues).toEqual([expect.objectContaining({ code: "unrecognized_keys", path: [], message: expect.stringContaining("cooldown_tick") })]);
    expectIssueAt(WholeConfig, { rewards: { clip: { clip_per_tik: 1 } } }, ["rewards", "clip"]);
    expectIssueAt(WholeConfig, { queue_fairnes: {} }, []);
  });

  it("refuses values outside the original's ranges", () => {
    expectIssueAt(employment.employment, { grace_ticks: 121 }, ["grace_ticks"]);
    expectIssueAt(rewards.rewards, { needs_weights: { hunger: 0.4 } }, ["needs_weights", "hunger"]);
    expectIssueAt(rewards.rewards, { decay_rates: { energy: -0.1 } }, ["decay_rates", "energy"]);
    expectIssueAt(telemetry.telemetry, { transport: { buffer: { max_buffer_bytes: 10 } } }, ["transport", "buffer", "max_buffer_bytes"]);
  });

  it("refuses a wrong type and a fractional tick count", () => {
    expectIssueAt(policy.behavior, { hunger_threshold: "high" }, ["hunger_threshold"]);
    expectIssueAt(queues.queue_fairness, { cooldown_ticks: 2.5 }, ["cooldown_ticks"]);
  });

  it("refuses rivalry thresholds outside [min_value, max_value] and min above max", () => {
    expectIssueAt(queues.conflict, { rivalry: { max_value: 0.5 } }, ["rivalry", "avoid_threshold"], /within \[min_value, max_value\]/);
    expectIssueAt(queues.conflict, { rivalry: { min_value: 0.8, max_value: 0.6 } }, ["rivalry", "min_value"]);
  });

  it("refuses an even observation window and too many social slots", () => {
    expectIssueAt(observations.observations_config, { hybrid: { local_window: 10 } }, ["hybrid", "local_window"], /odd/);
    expectIssueAt(observations.observations_config, { social_snippet: { top_friends: 5, top_rivals: 4 } }, ["social_snippet", "top_rivals"]);
  });

  it("refuses unknown personality profiles by name and weights that sum to zero", () => {
    expectIssueAt(policy.personalities, { distribution: { chaotic: 1 } }, ["distribution", "chaotic"], /"chaotic"/);
    expectIssueAt(policy.personalities, { overrides: { alice: "grumpy" } }, ["overrides", "alice"], /"grumpy"/);
    expectIssueAt(policy.personalities, { distribution: { balanced: 0 } }, ["distribution"], /positive sum/);
  });

  it("applies the transport rules per type", () => {
    expectIssueAt(telemetry.telemetry, { transport: { type: "file" } }, ["transport", "file_path"]);
    expectIssueAt(telemetry.telemetry, { transport: { type: "stdout", endpoint: "x:1" } }, ["transport", "endpoint"]);
    expectIssueAt(telemetry.telemetry, { transport: { type: "http", endpoint: "ftp://x" } }, ["transport", "endpoint"]);
    expectIssueAt(telemetry.telemetry, { transport: { type: "websocket" } }, ["transport", "websocket_url"]);
    expectIssueAt(
      telemetry.telemetry,
      { transport: { type: "tcp", endpoint: "example.com:9000", allow_plaintext: true, dev_allow_plaintext: true } },
      ["transport", "endpoint"],
      /localhost/,
    );
    expectIssueAt(telemetry.telemetry, { transport: { type: "tcp", endpoint: "example.com:9000", key_file: "k.pem" } }, ["transport", "cert_file"]);
    const plaintext = telemetry.telemetry.parse({
      transport: { type: "tcp", endpoint: "localhost:9000", allow_plaintext: true, dev_allow_plaintext: true },
    });
    expect(plaintext.transport.enable_tls).toBe(false);
    expect(telemetry.telemetry.parse({ transport: { type: "websocket", websocket_url: "ws://localhost:8080" } }).transport.type).toBe("websocket");
  });

  it("refuses an autosave cadence under 100 ticks but accepts null", () => {
    expectIssueAt(persistence.snapshot, { autosave: { cadence_ticks: 50 } }, ["autosave", "cadence_ticks"], /null .* >= 100/);
    expect(persistence.snapshot.parse({ autosave: { cadence_ticks: null } }).autosave.cadence_ticks).toBeNull();
  });

  it("refuses a job that ends before it starts, and console auth enabled without tokens", () => {
    expectIssueAt(employment.jobs, { cafe: { start_tick: 30, end_tick: 10 } }, ["cafe", "end_tick"]);
    expectIssueAt(consoleAuth.console_auth, { enabled: true }, ["tokens"]);
    expectIssueAt(consoleAuth.console_auth, { tokens: [{ token: "a", token_env: "B" }] }, ["tokens", 0, "token_env"]);
  });

  it("refuses duplicate manifest ids at the duplicate's index, and unknown hooks or effects", () => {
    const object = { type: "object", id: "bed_1", object_type: "bed" };
    const sleep = { id: "bed_1", object_type: "bed", duration: 60, effects: { energy: 0.8 } };
    expectIssueAt(AffordanceManifest, [object, sleep], [1, "id"], /unique id/);
    expectIssueAt(AffordanceManifest, [{ ...sleep, id: "nap", hooks: { during: ["x"] } }], [0, "hooks"]);
    // An effect is a need name or money (which needs a world has is checked against its needs: at load).
    expectIssueAt(AffordanceManifest, [{ ...sleep, id: "nap", effects: { "Energy!": 1 } }], [0, "effects", "Energy!"]);
    expectIssueAt(AffordanceManifest, [{ ...sleep, id: "nap", duration: 0 }], [0, "duration"]);
  });

  it("refuses a perturbation range with min above max and a spec giving both alias spellings", () => {
    const spec = { kind: "blackout", prob_per_day: 0.1 };
    expectIssueAt(perturbations.perturbations, { events: { b: { ...spec, duration: [60, 20] } } }, ["events", "b", "duration"], /min <= max/);
    expectIssueAt(perturbations.perturbations, { events: { b: { ...spec, probability_per_day: 0.2 } } }, ["events", "b", "prob_per_day"]);
    expectIssueAt(perturbations.perturbations, { events: { b: { ...spec, magnitude: 2 } } }, ["events", "b"]);
    expect(perturbations.perturbations.parse("configs/perturbations/default.yaml")).toBe("configs/perturbations/default.yaml");
  });

  it("refuses scenario needs outside [0, 1] and an unknown intent kind", () => {
    const agent = { id: "a", position: [1, 1], needs: { hunger: 1.5 } };
    expectIssueAt(scenario.scenario, { ticks: 10, agents: [agent] }, ["agents", 0, "needs", "hunger"]);
    expectIssueAt(scenario.scenario, { ticks: 10, agents: [{ id: "a", schedule: [{ kind: "dance" }] }] }, ["agents", 0, "schedule", 0, "kind"]);
  });
});
