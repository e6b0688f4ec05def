// Needs as data (issue #15 item 3): the needs: list over the defaults, the original's spellings
// of rates, weights and thresholds, the Needs columns built from the list (the shared definition
// for the default list), decay per need, and a need dropped or added reaching every consumer.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Needs, NeedsKey, needTable } from "../../components/needs.ts";
import { ConfigError } from "../../engine/config/loader.ts";
import { observationSpec } from "../../systems/observations/index.ts";
import { makeSettings, makeWorld } from "../helpers/world.ts";

const small = { world: { agents_per_town: 3, grid_size: [12, 12] } };

// A manifest whose effects name hunger only (core.yaml's name hygiene: a world without it refuses them).
const dir = mkdtempSync(join(tmpdir(), "townlet-needs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const HUNGER_ONLY = join(dir, "hunger-only.yaml");
writeFileSync(HUNGER_ONLY, "- {type: object, id: fridge_1, object_type: fridge}\n- {id: eat_meal, object_type: fridge, duration: 5, effects: {hunger: 0.4}}\n");

describe("the needs list", () => {
  it("defaults to hunger, hygiene, energy with the original's decay rates, weights and thresholds", () => {
    const s = makeSettings({ rewards: { decay_rates: { hunger: 0.02 }, needs_weights: { energy: 1.2 } }, behavior: { hygiene_threshold: 0.3 } });
    const t = needTable(s);
    expect(t.names).toEqual(["hunger", "hygiene", "energy"]);
    expect(t.list.map((n) => n.decay)).toEqual([0.02, s.rewards.decay_rates.hygiene, s.rewards.decay_rates.energy]);
    expect(t.list[2].reward_weight).toBe(1.2);
    expect(t.list.map((n) => n.threshold)).toEqual([s.behavior.hunger_threshold, 0.3, s.behavior.energy_threshold]);
    expect(t.list.map((n) => n.urgency)).toEqual([2, 1, 1]);
  });

  it("lets needs.<need> override the original's spelling, and appends a new need in the file's order", () => {
    const t = needTable(makeSettings({ rewards: { decay_rates: { hunger: 0.02 } }, needs: { stress: { decay: 0.004 }, hunger: { decay: 0.05 }, boredom: { decay: 0.001, observe: false } } }));
    expect(t.names).toEqual(["hunger", "hygiene", "energy", "stress", "boredom"]);
    expect(t.list[0].decay).toBe(0.05);
    expect(t.observed.map((n) => n.name)).toEqual(["hunger", "hygiene", "energy", "stress"]);
  });

  it("refuses a need the original does not have without a decay rate, a need named money, and an effect on a need the world lacks", () => {
    const problems = (o: Record<string, unknown>) => {
      try {
        makeSettings(o);
      } catch (e) {
        return (e as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
      }
      return [];
    };
    expect(problems({ needs: { stress: { threshold: 0.2 } } })).toEqual(['needs.stress.decay: expected the decay rate of need "stress" (need units per tick, >= 0)']);
    expect(problems({ needs: { money: { decay: 0.1 } } })).toEqual([expect.stringMatching(/^needs.money: .*"money" is the wallet/)]);
    expect(problems({ needs: { hygiene: { enabled: false } } })).toContainEqual(expect.stringMatching(/affordance "use_shower": effect "hygiene" is not a need of this world \(needs: hunger, energy;/));
  });
});

describe("worlds built from the list", () => {
  it("register the shared Needs definition for the default list (same columns, same hash layout)", () => {
    const w = makeWorld(small);
    const def = w.components.definitions().find((d) => d.name === "Needs")!;
    expect(def).toBe(Needs);
    expect(def.fields.map((f) => f.name)).toEqual(["hunger", "hygiene", "energy"]);
  });

  it("give a further need its own column, decaying at its rate, and drop a disabled one everywhere", () => {
    const w = makeWorld({
      ...small,
      features: { systems: { lifecycle: "off" } },
      affordances: { affordances_file: HUNGER_ONLY },
      needs: { hygiene: { enabled: false }, stress: { decay: 0.01, initial: [1, 1] } },
    });
    const needs = w.resource(NeedsKey);
    expect(needs.table.names).toEqual(["hunger", "energy", "stress"]);
    expect(w.components.definitions().find((d) => d.name === "Needs")!.fields.map((f) => f.name)).toEqual(["hunger", "energy", "stress"]);
    const a = w.agents[0];
    expect(needs.columns()[2][a]).toBe(1);
    for (let t = 0; t < 10; t++) w.step();
    expect(needs.columns()[2][a]).toBeCloseTo(0.9, 5);
    expect(Object.keys(w.kpis().mean_needs as Record<string, number>)).toEqual(["hunger", "energy", "stress"]);
    expect(observationSpec(w).feature_names.slice(0, 4)).toEqual(["need_hunger", "need_energy", "need_stress", "wallet"]);
  });

  it("keeps the columns found through NeedsKey current when the world grows", () => {
    const w = makeWorld({ world: { agents_per_town: 1, grid_size: [12, 12] } });
    const needs = w.resource(NeedsKey);
    const before = needs.columns()[0];
    for (let i = 0; i < 2000; i++) w.spawnAgent(0);
    const after = needs.columns()[0];
    expect(after).not.toBe(before);
    expect(after).toBe((w.columns(Needs) as unknown as Record<string, Float32Array>).hunger);
  });
});
