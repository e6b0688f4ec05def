// Observation features declared by the plug-ins that compute them (`PluginDef.observations`,
// engine/observation.ts): a plug-in's new feature widens the row and its writer fills the
// declared slot; the original's features keep their slots whichever plug-in writes them; a name
// declared twice, or one the observations plug-in writes itself, is refused naming the plug-in.
import { describe, expect, it } from "vitest";
import { NeedsKey } from "../../components/needs.ts";
import { Employment, ShiftState } from "../../components/people.ts";
import { definePlugin } from "../../engine/plugin.ts";
import { BASE_FEATURES, buildObservations, observationSpec } from "../../systems/observations/index.ts";
import { makeWorld } from "../helpers/world.ts";

const small = {
  world: { agents_per_town: 0, grid_size: [16, 16] },
  jobs: {},
  lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
  scenario: { ticks: 100, objects: [], agents: [] },
};

/** A mod's plug-in with one feature: twice the agent's energy, read through the needs resource. */
const doubleEnergy = definePlugin({
  name: "fixture_double_energy",
  requires: [NeedsKey],
  observations: {
    features: () => ["energy_twice"],
    bind(ctx, at) {
      const needs = ctx.resource(NeedsKey);
      const energy = needs.columns()[needs.table.list.findIndex((n) => n.name === "energy")];
      const slot = at[0];
      return (agents, n, f, stride) => {
        for (let i = 0; i < n; i++) f[i * stride + slot] = 2 * energy[agents[i]];
      };
    },
  },
});

describe("observation features declared by plug-ins", () => {
  it("a plug-in's new feature widens the row by one and its value sits in the declared slot", () => {
    const plain = makeWorld(small);
    const w = makeWorld(small, undefined, [doubleEnergy]);
    const base = observationSpec(plain).feature_names;
    const spec = observationSpec(w);
    expect(spec.feature_count).toBe(base.length + 1);
    expect(spec.feature_names.slice(0, base.length)).toEqual(base);
    const slot = spec.feature_index.energy_twice;
    expect(slot).toBe(base.length);

    const a = w.spawnAgent(0, { init: { Position: { x: 3, y: 3 } } });
    const b = w.spawnAgent(0, { init: { Position: { x: 9, y: 9 } } });
    const needs = w.resource(NeedsKey);
    const energy = needs.columns()[needs.table.list.findIndex((n) => n.name === "energy")];
    energy[a] = 0.25;
    energy[b] = 0.375;
    const batch = buildObservations(w);
    const F = batch.featureCount;
    expect(F).toBe(base.length + 1);
    expect(Array.from(batch.agents.subarray(0, 2))).toEqual([a, b]);
    expect(batch.features[slot]).toBe(0.5);
    expect(batch.features[F + slot]).toBe(0.75);
    // The row before the new slot is what the world without the plug-in observes.
    expect(batch.features[spec.feature_index.need_energy]).toBe(0.25);
  });

  it("the original's features keep their order and slots although their plug-ins write them", () => {
    const w = makeWorld(small);
    const spec = observationSpec(w);
    expect(spec.feature_names.slice(0, BASE_FEATURES.length)).toEqual([...BASE_FEATURES]);
    const a = w.spawnAgent(0, { init: { Position: { x: 3, y: 3 } } });
    w.columns(Employment).shift_state[a] = ShiftState.Late;
    w.columns(Employment).attendance_ratio[a] = 0.5;
    const batch = buildObservations(w);
    const at = spec.feature_index;
    expect(batch.features[at.shift_late]).toBe(1);
    expect(batch.features[at.shift_pre]).toBe(0);
    expect(batch.features[at.attendance_ratio]).toBe(0.5);
  });

  it("a feature two plug-ins declare is refused naming both", () => {
    const wallet = definePlugin({ name: "fixture_wallet", observations: { features: () => ["wallet"], bind: () => undefined } });
    expect(() => makeWorld(small, undefined, [wallet])).toThrow(/observation feature "wallet" is declared by plug-ins "economy" and "fixture_wallet"/);
  });

  it("a feature the observations plug-in writes itself cannot be declared", () => {
    const clock = definePlugin({ name: "fixture_clock", observations: { features: () => ["time_sin"], bind: () => undefined } });
    expect(() => makeWorld(small, undefined, [clock])).toThrow(/observation feature "time_sin" of plug-in "fixture_clock": the observations plug-in writes it/);
  });
});
