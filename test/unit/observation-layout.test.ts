// The observation row's layout and who writes it: with every optional block on, each feature of
// the original's order is written by exactly one owner (the observations plug-in for the clock,
// its own state and the map summary; every other feature by the plug-in that declares it), and
// a fresh small world's whole rows match, slot by slot, values derived from how it was set up;
// and docs/modding.md's example feature works on the thirst mod.
import { describe, expect, it } from "vitest";
import { Activity, INTENT_NAMES, Option, OptionKind } from "../../components/activity.ts";
import { Wallet, WALLET_SCALE } from "../../components/economy.ts";
import { Needs, NeedsKey } from "../../components/needs.ts";
import { Obj } from "../../components/objects.ts";
import { Employment, Personality, ShiftState } from "../../components/people.ts";
import { Agent } from "../../engine/core-components.ts";
import { loadConfig } from "../../engine/config/loader.ts";
import { uidEmbedding, unitHash, type ObservationFeatures } from "../../engine/observation.ts";
import { definePlugin } from "../../engine/plugin.ts";
import { resolvePlugins } from "../../engine/plugin-loader.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { affordanceRegistry, objectById } from "../../systems/affordances/index.ts";
import { buildObservations, observationSpec, observationsState } from "../../systems/observations/index.ts";
import { OWN_FEATURES } from "../../systems/observations/layout.ts";
import type { SocialState } from "../../systems/social/index.ts";
import { makeWorld } from "../helpers/world.ts";

const TPD = 40;

/** A 16x16 town with a stove, a fridge and a bed, no jobs, no decay; landmarks and personality on. */
function town() {
  return makeWorld({
    world: { agents_per_town: 0, grid_size: [16, 16] },
    jobs: {},
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    features: { observations: { personality_channels: true } },
    conflict: { rivalry: { avoid_threshold: 0.7 } },
    observations_config: { hybrid: { include_targets: true, time_ticks_per_day: TPD } },
    scenario: {
      ticks: 100,
      agents: [],
      objects: [
        { id: "stove_1", type: "stove", position: [6, 3] },
        { id: "fridge_1", type: "fridge", position: [3, 7] },
        { id: "bed_1", type: "bed", position: [0, 0] },
      ],
    },
  });
}

const landmark = (dx: number, dy: number) => {
  const d = Math.sqrt(dx * dx + dy * dy);
  return [dx / d, dy / d, d];
};

describe("the observation row's layout", () => {
  it("gives each feature exactly one owner: the observations plug-in or the one plug-in that declares it", () => {
    const w = town();
    const fl = observationsState(w).features;
    const owner = new Map<string, string>();
    for (const name of OWN_FEATURES) owner.set(name, "observations");
    for (const { plugin, at } of fl.declared) {
      for (const slot of at) {
        const name = fl.names[slot];
        expect(owner.get(name), `${name} declared by ${plugin.name}`).toBeUndefined();
        owner.set(name, plugin.name);
      }
    }
    expect(fl.names.filter((n) => !owner.has(n))).toEqual([]);
    const byOwner: Record<string, string[]> = {};
    for (const name of fl.names) (byOwner[owner.get(name)!] ??= []).push(name);
    const snippet = Array.from({ length: 4 }, (_, s) => Array.from({ length: 11 }, (_, d) => `social_slot${s}_d${d}`)).flat();
    expect(byOwner).toEqual({
      needs: ["need_hunger", "need_hygiene", "need_energy"],
      economy: ["wallet"],
      employment: ["lateness_counter", "on_shift", "attendance_ratio", "wages_withheld", "shift_pre", "shift_on_time", "shift_late", "shift_absent", "shift_post"],
      observations: [
        "time_sin", "time_cos", "embedding_slot_norm", "ctx_reset_flag", "episode_progress",
        "neighbor_agent_ratio", "neighbor_object_ratio", "reserved_tile_ratio", "nearest_agent_distance",
      ],
      social: ["rivalry_max", "rivalry_avoid_count", ...snippet, "social_trust_mean", "social_trust_max", "social_rivalry_mean", "social_rivalry_max"],
      options: ["last_action_id_hash", "last_action_success", "last_action_duration"],
      affordances: [
        "reservation_active", "in_queue", "path_hint_north", "path_hint_south", "path_hint_east", "path_hint_west",
        ...["fridge", "stove", "bed", "shower"].flatMap((l) => [`${l}_dx`, `${l}_dy`, `${l}_dist`]),
      ],
      personality: ["personality_extroversion", "personality_forgiveness", "personality_ambition"],
    });
    expect(fl.count).toBe(96);
  });

  it("fills a fresh small world's rows, every slot, with the values its set-up implies", () => {
    const w = town();
    const a = w.spawnAgent(0, { init: { Position: { x: 3, y: 3 } } });
    const b = w.spawnAgent(0, { init: { Position: { x: 5, y: 3 } } });
    const fridge = objectById(w, 0, "fridge_1");
    const N = w.columns(Needs);
    [N.hunger[a], N.hygiene[a], N.energy[a]] = [0.25, 0.5, 0.75];
    [N.hunger[b], N.hygiene[b], N.energy[b]] = [1, 0.125, 0.375];
    w.columns(Wallet).money[a] = 5;
    w.columns(Wallet).money[b] = 0;
    const E = w.columns(Employment);
    E.shift_state[a] = ShiftState.Late;
    E.lateness_counter[a] = 2;
    E.attendance_ratio[a] = 0.5;
    E.on_shift[a] = 1;
    E.shift_state[b] = ShiftState.Idle;
    E.attendance_ratio[b] = 1;
    const Pe = w.columns(Personality);
    [Pe.extroversion[a], Pe.forgiveness[a], Pe.ambition[a]] = [0.25, -0.5, 0.75];
    [Pe.extroversion[b], Pe.forgiveness[b], Pe.ambition[b]] = [0, 0, 0];
    const Op = w.columns(Option);
    Op.kind[a] = OptionKind.Use;
    Op.affordance[a] = affordanceRegistry(w).affordanceIndex("eat_meal");
    Op.object[a] = 0;
    Op.since[a] = 0;
    Op.kind[b] = OptionKind.None;
    const A = w.columns(Activity);
    A.queued[a] = fridge;
    A.holding[b] = fridge;
    A.last_ok[b] = 1;
    A.last_intent[b] = 2;
    w.columns(Obj).holder[fridge] = b;
    const L = w.state<SocialState>("social").ledger;
    const uid = w.columns(Agent).uid;
    const friend = L.slot(a, uid[b]);
    [L.trust[friend], L.familiarity[friend], L.rivalry[friend]] = [0.5, 0.25, 0];
    const rival = L.slot(a, 999);
    L.rivalry[rival] = 0.75;

    const batch = buildObservations(w);
    expect(batch.tick).toBe(1);
    const spec = observationSpec(w);
    const F = spec.feature_count;
    const phase = (1 % TPD) / TPD;
    const shared = {
      time_sin: Math.sin(2 * Math.PI * phase),
      time_cos: Math.cos(2 * Math.PI * phase),
      ctx_reset_flag: 1,
      episode_progress: 1 / TPD,
      // Each sees the other 2 tiles away, the three objects and the held fridge in its 11x11 summary.
      neighbor_agent_ratio: 1 / 120,
      neighbor_object_ratio: 3 / 121,
      reserved_tile_ratio: 1 / 121,
      nearest_agent_distance: 2 / 5,
    };
    const slot = (other: number, t: number, f: number, r: number) => [...Array.from({ length: 8 }, (_, j) => uidEmbedding(other, j)), t, f, r];
    const rowA: Record<string, number | number[]> = {
      ...shared,
      need_hunger: 0.25, need_hygiene: 0.5, need_energy: 0.75,
      wallet: 5 / (5 + WALLET_SCALE),
      lateness_counter: 2, on_shift: 1, attendance_ratio: 0.5, shift_late: 1,
      embedding_slot_norm: 0,
      rivalry_max: 0.75, rivalry_avoid_count: 1,
      last_action_id_hash: unitHash("use:eat_meal"), last_action_duration: 1 / TPD,
      in_queue: 1,
      // The option's affordance (eat_meal) is at the fridge, 4 tiles south.
      path_hint_south: 1,
      fridge: landmark(0, 4), stove: landmark(3, 0), bed: landmark(-3, -3),
      personality_extroversion: 0.25, personality_forgiveness: -0.5, personality_ambition: 0.75,
      // Friend (trust + familiarity > 0) first, then the rival among the rest.
      social_slots: [...slot(uid[b], 0.5, 0.25, 0), ...slot(999, 0, 0, 0.75)],
      social_trust_mean: 0.25, social_trust_max: 0.5, social_rivalry_mean: 0.375, social_rivalry_max: 0.75,
    };
    const rowB: Record<string, number | number[]> = {
      ...shared,
      need_hunger: 1, need_hygiene: 0.125, need_energy: 0.375,
      shift_pre: 1, attendance_ratio: 1,
      embedding_slot_norm: 1 / w.settings.embedding_allocator.max_slots,
      last_action_id_hash: unitHash(`intent:${INTENT_NAMES[2]}`), last_action_success: 1,
      reservation_active: 1,
      // No option: toward the nearest stove, one tile east.
      path_hint_east: 1,
      fridge: landmark(-2, 4), stove: landmark(1, 0), bed: landmark(-5, -3),
    };
    const expected = (values: Record<string, number | number[]>) => {
      const row = new Float32Array(F);
      for (const [name, v] of Object.entries(values)) {
        if (name === "social_slots") row.set(v as number[], spec.social.offset);
        else if (Array.isArray(v)) v.forEach((x, k) => (row[spec.feature_index[`${name}_${["dx", "dy", "dist"][k]}`]] = x));
        else {
          expect(spec.feature_index[name], name).toBeDefined();
          row[spec.feature_index[name]] = v;
        }
      }
      return row;
    };
    const named = (row: Float32Array) => Object.fromEntries(spec.feature_names.map((n, k) => [n, row[k]]));
    expect(Array.from(batch.agents)).toEqual([a, b]);
    expect(named(batch.features.subarray(0, F))).toEqual(named(expected(rowA)));
    expect(named(batch.features.subarray(F, 2 * F))).toEqual(named(expected(rowB)));
  });
});

/** docs/modding.md's example (section "Observation features"): thirst felt at work. */
const thirstAtWork: ObservationFeatures = {
  // Names, from the settings: the layout is known before any state exists.
  features: () => ["thirst_at_work"],
  // Once per build: fetch columns here. at[k] is the row offset of features()[k].
  bind({ world, resource }, at) {
    if (!world.components.isRegistered(Employment)) return undefined; // the feature stays 0
    const needs = resource(NeedsKey);
    const thirst = needs.columns()[needs.table.index("thirst")];
    const onShift = world.columns(Employment).on_shift;
    const slot = at[0];
    // Once per batch: agents[i]'s row starts at i * stride; rows start at 0.
    return (agents, n, f, stride) => {
      for (let i = 0; i < n; i++) {
        const eid = agents[i];
        if (onShift[eid] === 1) f[i * stride + slot] = 1 - thirst[eid];
      }
    };
  },
};

describe("a mod's observation feature (docs/modding.md)", () => {
  it("widens the thirst mod's row by one feature, after need_thirst and the original's features", async () => {
    const MOD = "examples/mods/thirst/config.yaml";
    const plugins = [...(await resolvePlugins(corePlugins, MOD)), definePlugin({ name: "fixture_thirst_at_work", requires: [NeedsKey], observations: thirstAtWork })];
    const w = new World({ settings: loadConfig(MOD, plugins).settings, plugins });
    const spec = observationSpec(w);
    expect(spec.feature_count).toBe(83);
    expect(spec.feature_index.need_thirst).toBe(3);
    expect(spec.feature_names.at(-1)).toBe("thirst_at_work");
    const [a, b] = w.agents;
    const needs = w.resource(NeedsKey);
    needs.columns()[needs.table.index("thirst")][a] = 0.25;
    const E = w.columns(Employment);
    E.on_shift[a] = 1;
    E.on_shift[b] = 0;
    const batch = buildObservations(w);
    expect(batch.features[spec.feature_index.thirst_at_work]).toBe(0.75);
    expect(batch.features[spec.feature_count + spec.feature_index.thirst_at_work]).toBe(0);
  });
});
