// Observations: shapes and metadata of the three variants, the map channels on a hand-built
// town (agents, objects, reservations, path vectors, compact walkable), the feature vector
// (needs, wallet, shift one-hot, time, context reset, path hints, social slots from a hand-set
// ledger), determinism of the batch, the build system's `want` switch, the manifest, and the
// embedding allocator (stable slots, cooldown, forced reuse, sharing beyond max_slots).
import { describe, expect, it } from "vitest";
import { Activity, Option, OptionKind } from "../../components/activity.ts";
import { Wallet } from "../../components/economy.ts";
import { Needs } from "../../components/needs.ts";
import { Obj } from "../../components/objects.ts";
import { Employment, ShiftState } from "../../components/people.ts";
import type { SpatialIndex } from "../../components/grid.ts";
import { Agent } from "../../engine/core-components.ts";
import { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { affordanceRegistry, objectById } from "../../systems/affordances/index.ts";
import {
  buildObservations,
  createObservationBatch,
  embeddingMetrics,
  embeddingSlot,
  manifest,
  observationSpec,
  observationsState,
  requestContextReset,
  uidEmbedding,
  WALLET_SCALE,
  type ObservationBatch,
  type ObservationVariant,
} from "../../systems/observations/index.ts";
import type { SocialState } from "../../systems/social/index.ts";
import { moveAgent } from "../../systems/space/index.ts";
import { makeWorld } from "../helpers/world.ts";

/** The feature order of the original's `_build_feature_names` (inventory 5.2), default config. */
const EXPECTED_NAMES = [
  "need_hunger", "need_hygiene", "need_energy", "wallet", "lateness_counter", "on_shift", "time_sin", "time_cos",
  "attendance_ratio", "wages_withheld", "shift_pre", "shift_on_time", "shift_late", "shift_absent", "shift_post",
  "embedding_slot_norm", "ctx_reset_flag", "episode_progress", "rivalry_max", "rivalry_avoid_count",
  "last_action_id_hash", "last_action_success", "last_action_duration", "reservation_active", "in_queue",
  "path_hint_north", "path_hint_south", "path_hint_east", "path_hint_west",
  "neighbor_agent_ratio", "neighbor_object_ratio", "reserved_tile_ratio", "nearest_agent_distance",
  ...Array.from({ length: 4 }, (_, s) => Array.from({ length: 11 }, (_, d) => `social_slot${s}_d${d}`)).flat(),
  "social_trust_mean", "social_trust_max", "social_rivalry_mean", "social_rivalry_max",
];

interface Obj0 {
  id: string;
  type: string;
  position: [number, number];
}

/**
 * A 16x16 town with the given objects only (a scenario, so no manifest objects and no default
 * population), no jobs, no need decay, no exits. Agents are spawned by hand.
 */
function town(objects: Obj0[] = [], overrides: Record<string, unknown> = {}): World {
  return makeWorld({
    world: { agents_per_town: 0, grid_size: [16, 16] },
    jobs: {},
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    scenario: { ticks: 100, objects, agents: [] },
    ...overrides,
  });
}

function spawnAt(w: World, x: number, y: number): number {
  return w.spawnAgent(0, { init: { Position: { x, y } } });
}

/** Value of channel `c` at window row `y`, column `x` of row `i` of the batch. */
function mapAt(w: World, b: ObservationBatch, i: number, c: number, y: number, x: number): number {
  const W = b.window;
  return b.map[((i * b.channels + c) * W + y) * W + x];
}

function feature(w: World, b: ObservationBatch, i: number, name: string): number {
  const idx = observationSpec(w, b.variant).feature_index[name];
  if (idx === undefined) throw new Error(`no feature ${name}`);
  return b.features[i * b.featureCount + idx];
}

describe("shapes and metadata", () => {
  it.each([
    ["hybrid", [4, 11, 11], ["self", "agents", "objects", "reservations"]],
    ["full", [6, 11, 11], ["self", "agents", "objects", "reservations", "path_dx", "path_dy"]],
    ["compact", [5, 7, 7], ["self", "agents", "objects", "reservations", "walkable"]],
  ] as const)("%s: map %j, 81 features in the original's order", (variant, shape, channels) => {
    const w = town();
    spawnAt(w, 3, 3);
    spawnAt(w, 4, 3);
    const spec = observationSpec(w, variant);
    expect(spec.map_shape).toEqual(shape);
    expect(spec.map_channels).toEqual(channels);
    expect(spec.feature_count).toBe(81);
    expect(spec.feature_names).toEqual(EXPECTED_NAMES);
    expect(spec.dtype).toBe("float32");
    const b = buildObservations(w, variant);
    expect(b.count).toBe(2);
    expect(b.agents).toEqual(Int32Array.from(w.agents));
    expect(b.map.length).toBe(2 * shape[0] * shape[1] * shape[2]);
    expect(b.features.length).toBe(2 * 81);
    expect(b.map).toBeInstanceOf(Float32Array);
  });

  it("adds 12 landmark and 3 personality features before the social block, and compact object channels", () => {
    const w = town([], {
      observations_config: { hybrid: { include_targets: true }, compact: { object_channels: ["stove", "Fridge", "stove"] } },
      features: { observations: { personality_channels: true } },
    });
    const spec = observationSpec(w, "hybrid");
    expect(spec.feature_count).toBe(96);
    expect(spec.feature_names.slice(33, 48)).toEqual([
      "fridge_dx", "fridge_dy", "fridge_dist", "stove_dx", "stove_dy", "stove_dist", "bed_dx", "bed_dy", "bed_dist",
      "shower_dx", "shower_dy", "shower_dist", "personality_extroversion", "personality_forgiveness", "personality_ambition",
    ]);
    expect(spec.feature_names[48]).toBe("social_slot0_d0");
    expect(observationSpec(w, "compact").map_channels).toEqual(["self", "agents", "objects", "reservations", "object:stove", "object:fridge", "walkable"]);
  });

  it("names its fields like the original's metadata sample", () => {
    const w = town();
    const spec = observationSpec(w);
    for (const k of ["variant", "map_shape", "map_channels", "feature_names"]) expect(spec).toHaveProperty(k);
    expect(spec.variant).toBe("hybrid");
  });

  it("lists every training array in the manifest with the batch's sizes", () => {
    const w = town();
    for (let i = 0; i < 5; i++) spawnAt(w, i, 2);
    const b = buildObservations(w);
    const size = (shape: (number | "agents")[]) => shape.reduce<number>((p, d) => p * (d === "agents" ? b.count : d), 1);
    const m = Object.fromEntries(manifest(w).map((e) => [e.name, e]));
    expect(Object.keys(m)).toEqual(["agents", "obs_map", "obs_features", "actions", "rewards"]);
    expect(size(m.agents.shape)).toBe(b.agents.length);
    expect(size(m.obs_map.shape)).toBe(b.map.length);
    expect(size(m.obs_features.shape)).toBe(b.features.length);
    expect(m.obs_map.shape).toEqual(["agents", 4, 11, 11]);
    expect(m.obs_map.dtype).toBe("float32");
  });
});

describe("map channels", () => {
  const r = 5;

  it("puts an agent two tiles east at [agents, r, r+2] and the observer at the centre", () => {
    const w = town();
    const a = spawnAt(w, 6, 6);
    spawnAt(w, 8, 6);
    const b = buildObservations(w, "hybrid");
    const i = b.agents.indexOf(a);
    expect(mapAt(w, b, i, 0, r, r)).toBe(1);
    expect(mapAt(w, b, i, 1, r, r + 2)).toBe(1);
    expect(mapAt(w, b, i, 1, r, r)).toBe(1); // hybrid counts the observer too
    expect(mapAt(w, b, i, 1, r, r + 1)).toBe(0);
    let agentsSeen = 0;
    for (let y = 0; y < 11; y++) for (let x = 0; x < 11; x++) agentsSeen += mapAt(w, b, i, 1, y, x);
    expect(agentsSeen).toBe(2);
    // And the other sees the observer two tiles west.
    expect(mapAt(w, b, 1 - i, 1, r, r - 2)).toBe(1);
    expect(feature(w, b, i, "nearest_agent_distance")).toBeCloseTo(2 / r, 6);
    expect(feature(w, b, i, "neighbor_agent_ratio")).toBeCloseTo(1 / 120, 6);
  });

  it("marks objects, and reservations where an object has a holder or a queue", () => {
    const w = town([
      { id: "stove_1", type: "stove", position: [6, 4] },
      { id: "fridge_1", type: "fridge", position: [4, 6] },
      { id: "bed_1", type: "bed", position: [7, 7] },
    ]);
    const a = spawnAt(w, 6, 6);
    const O = w.columns(Obj);
    O.holder[objectById(w, 0, "stove_1")] = a;
    O.queue_len[objectById(w, 0, "fridge_1")] = 2;
    const b = buildObservations(w, "hybrid");
    expect(mapAt(w, b, 0, 2, r - 2, r)).toBe(1); // stove two north
    expect(mapAt(w, b, 0, 3, r - 2, r)).toBe(1); // held
    expect(mapAt(w, b, 0, 2, r, r - 2)).toBe(1); // fridge two west
    expect(mapAt(w, b, 0, 3, r, r - 2)).toBe(1); // queued
    expect(mapAt(w, b, 0, 2, r + 1, r + 1)).toBe(1); // bed
    expect(mapAt(w, b, 0, 3, r + 1, r + 1)).toBe(0); // free
    expect(feature(w, b, 0, "neighbor_object_ratio")).toBeCloseTo(3 / 121, 6);
    expect(feature(w, b, 0, "reserved_tile_ratio")).toBeCloseTo(2 / 121, 6);
  });

  it("leaves tiles outside the grid empty", () => {
    const w = town([{ id: "stove_1", type: "stove", position: [0, 1] }]);
    spawnAt(w, 0, 0);
    const b = buildObservations(w, "hybrid");
    expect(mapAt(w, b, 0, 2, r + 1, r)).toBe(1);
    let objects = 0;
    for (let y = 0; y < 11; y++) for (let x = 0; x < 11; x++) objects += mapAt(w, b, 0, 2, y, x);
    expect(objects).toBe(1);
  });

  it("full adds per-tile unit vectors from the centre", () => {
    const w = town();
    spawnAt(w, 6, 6);
    const b = buildObservations(w, "full");
    expect(mapAt(w, b, 0, 4, r, r + 1)).toBeCloseTo(1, 6);
    expect(mapAt(w, b, 0, 5, r, r + 1)).toBeCloseTo(0, 6);
    expect(mapAt(w, b, 0, 5, r + 3, r)).toBeCloseTo(1, 6);
    expect(mapAt(w, b, 0, 4, r - 1, r - 1)).toBeCloseTo(-Math.SQRT1_2, 6);
    expect(mapAt(w, b, 0, 5, r - 1, r - 1)).toBeCloseTo(-Math.SQRT1_2, 6);
    expect(mapAt(w, b, 0, 4, r, r)).toBe(0);
    expect(mapAt(w, b, 0, 5, r, r)).toBe(0);
  });

  it("compact counts other agents only and marks walkable tiles (not own, occupied, object or off-grid)", () => {
    const w = town([{ id: "stove_1", type: "stove", position: [1, 0] }], { observations_config: { compact: { object_channels: ["stove"], normalize_counts: false } } });
    const a = spawnAt(w, 0, 0);
    spawnAt(w, 0, 1);
    spawnAt(w, 0, 1);
    const b = buildObservations(w, "compact");
    const i = b.agents.indexOf(a);
    const c = 3; // radius of the 7x7 window
    const walk = 5; // self, agents, objects, reservations, object:stove, walkable
    expect(b.channels).toBe(6);
    expect(mapAt(w, b, i, 1, c, c)).toBe(0);
    expect(mapAt(w, b, i, 1, c + 1, c)).toBe(2); // two others, counts not clamped
    expect(mapAt(w, b, i, 2, c, c + 1)).toBe(1);
    expect(mapAt(w, b, i, 4, c, c + 1)).toBe(1); // object:stove
    expect(mapAt(w, b, i, walk, c, c)).toBe(0);
    expect(mapAt(w, b, i, walk, c + 1, c)).toBe(0);
    expect(mapAt(w, b, i, walk, c, c + 1)).toBe(0);
    expect(mapAt(w, b, i, walk, c + 1, c + 1)).toBe(1);
    expect(mapAt(w, b, i, walk, c - 1, c)).toBe(0); // y = -1 is off the grid
    expect(mapAt(w, b, i, walk, c, c - 1)).toBe(0);
    let walkable = 0;
    for (let y = 0; y < 7; y++) for (let x = 0; x < 7; x++) walkable += mapAt(w, b, i, walk, y, x);
    expect(walkable).toBe(16 - 3);
  });
});

describe("features", () => {
  it("reads needs, wallet (scaled), employment, shift one-hot and the time of day", () => {
    const w = town([], { observations_config: { hybrid: { time_ticks_per_day: 40 } } });
    const a = spawnAt(w, 3, 3);
    const N = w.columns(Needs);
    [N.hunger[a], N.hygiene[a], N.energy[a]] = [0.25, 0.5, 0.75];
    w.run(9);
    // Set after the ticks: without a job, employment and economy would rewrite them.
    w.columns(Wallet).money[a] = 5;
    const E = w.columns(Employment);
    E.shift_state[a] = ShiftState.Late;
    E.lateness_counter[a] = 2;
    E.attendance_ratio[a] = 0.5;
    E.on_shift[a] = 1;
    const b = buildObservations(w);
    expect(b.tick).toBe(10);
    expect([0, 1, 2].map((k) => b.features[k])).toEqual([0.25, 0.5, 0.75]);
    expect(feature(w, b, 0, "wallet")).toBeCloseTo(5 / (5 + WALLET_SCALE), 6);
    expect(feature(w, b, 0, "lateness_counter")).toBe(2);
    expect(feature(w, b, 0, "attendance_ratio")).toBe(0.5);
    expect(feature(w, b, 0, "on_shift")).toBe(1);
    expect(["shift_pre", "shift_on_time", "shift_late", "shift_absent", "shift_post"].map((n) => feature(w, b, 0, n))).toEqual([0, 0, 1, 0, 0]);
    expect(feature(w, b, 0, "time_sin")).toBeCloseTo(Math.sin((2 * Math.PI * 10) / 40), 6);
    expect(feature(w, b, 0, "time_cos")).toBeCloseTo(Math.cos((2 * Math.PI * 10) / 40), 6);
    expect(feature(w, b, 0, "episode_progress")).toBeCloseTo(10 / 40, 6);
    E.shift_state[a] = ShiftState.AwaitStart;
    const b2 = buildObservations(w);
    expect(["shift_pre", "shift_on_time", "shift_late"].map((n) => feature(w, b2, 0, n))).toEqual([1, 0, 0]);
  });

  it("flags a context reset on the first observation, a teleport and a request, not on a walk", () => {
    const w = town();
    const a = spawnAt(w, 3, 3);
    const space = w.state<SpatialIndex>("space");
    const flag = () => feature(w, buildObservations(w), 0, "ctx_reset_flag");
    expect(flag()).toBe(1);
    expect(flag()).toBe(1); // the same decision tick, built again
    w.step();
    expect(flag()).toBe(0);
    moveAgent(w, space, a, 4, 3);
    w.step();
    expect(flag()).toBe(0);
    moveAgent(w, space, a, 12, 12);
    w.step();
    expect(flag()).toBe(1);
    w.step();
    expect(flag()).toBe(0);
    requestContextReset(w, a);
    expect(flag()).toBe(1);
    w.step();
    expect(flag()).toBe(0);
  });

  it("reports the embedding slot, holding and queue flags, and hashes the last action to [0, 1)", () => {
    const w = town([{ id: "fridge_1", type: "fridge", position: [9, 3] }]);
    const a = spawnAt(w, 3, 3);
    const b0 = spawnAt(w, 5, 5);
    const A = w.columns(Activity);
    A.holding[b0] = objectById(w, 0, "fridge_1");
    A.last_ok[b0] = 1;
    A.queued[a] = objectById(w, 0, "fridge_1");
    const Op = w.columns(Option);
    Op.kind[a] = OptionKind.Use;
    Op.affordance[a] = affordanceRegistry(w).affordanceIndex("eat_meal");
    const b = buildObservations(w);
    const slots = w.settings.embedding_allocator.max_slots;
    expect(feature(w, b, 0, "embedding_slot_norm")).toBe(embeddingSlot(w, a) / slots);
    expect(feature(w, b, 1, "embedding_slot_norm")).toBe(1 / slots);
    expect(feature(w, b, 0, "in_queue")).toBe(1);
    expect(feature(w, b, 1, "reservation_active")).toBe(1);
    expect(feature(w, b, 1, "last_action_success")).toBe(1);
    const h = feature(w, b, 0, "last_action_id_hash");
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h).toBeLessThan(1);
    expect(h).not.toBe(feature(w, b, 1, "last_action_id_hash")); // use:eat_meal vs wait
    // The Use option targets a fridge: the path hint points east to it.
    expect(["north", "south", "east", "west"].map((d) => feature(w, b, 0, `path_hint_${d}`))).toEqual([0, 0, 1, 0]);
  });

  it("points path hints at the nearest stove without a target, split by L1 distance", () => {
    const w = town([
      { id: "stove_far", type: "stove", position: [15, 15] },
      { id: "stove_1", type: "stove", position: [4, 6] },
    ]);
    spawnAt(w, 6, 3);
    const b = buildObservations(w);
    const hints = ["north", "south", "east", "west"].map((d) => feature(w, b, 0, `path_hint_${d}`));
    [0, 0.6, 0, 0.4].forEach((v, k) => expect(hints[k]).toBeCloseTo(v, 6));
  });

  it("fills landmark features (dx/d, dy/d, d) when include_targets is on", () => {
    const w = town([{ id: "bed_1", type: "bed", position: [6, 7] }], { observations_config: { hybrid: { include_targets: true } } });
    spawnAt(w, 3, 3);
    const b = buildObservations(w);
    expect(feature(w, b, 0, "bed_dx")).toBeCloseTo(0.6, 6);
    expect(feature(w, b, 0, "bed_dy")).toBeCloseTo(0.8, 6);
    expect(feature(w, b, 0, "bed_dist")).toBeCloseTo(5, 6);
    expect(feature(w, b, 0, "fridge_dist")).toBe(0);
  });

  it("fills social slots from the ledger: friends by trust + familiarity, then rivals by rivalry", () => {
    const w = town([], { conflict: { rivalry: { avoid_threshold: 0.7 } } });
    const a = spawnAt(w, 2, 2);
    const [bb, c, d, e] = [spawnAt(w, 9, 9), spawnAt(w, 10, 9), spawnAt(w, 11, 9), spawnAt(w, 12, 9)];
    const L = w.state<SocialState>("social").ledger;
    const uid = w.columns(Agent).uid;
    const set = (other: number, trust: number, fam: number, riv: number) => {
      const s = L.slot(a, uid[other]);
      [L.trust[s], L.familiarity[s], L.rivalry[s]] = [trust, fam, riv];
    };
    set(e, 0, 0, 0.3);
    set(bb, 0.5, 0.3, 0);
    set(c, 0, 0, 0.8);
    set(d, 0.1, 0, 0.2);
    const b = buildObservations(w);
    const spec = observationSpec(w);
    const row = b.features.subarray(0, spec.feature_count);
    const slot = (k: number) => Array.from(row.subarray(spec.social.offset + 11 * k, spec.social.offset + 11 * (k + 1)));
    const expected = (other: number, t: number, f: number, rv: number) => [...Array.from({ length: 8 }, (_, j) => uidEmbedding(uid[other], j)), t, f, rv];
    const close = (got: number[], want: number[]) => got.forEach((v, k) => expect(v).toBeCloseTo(want[k], 6));
    close(slot(0), expected(bb, 0.5, 0.3, 0));
    close(slot(1), expected(d, 0.1, 0, 0.2));
    close(slot(2), expected(c, 0, 0, 0.8));
    close(slot(3), expected(e, 0, 0, 0.3));
    for (const v of slot(0).slice(0, 8)) expect(v >= 0 && v <= 1).toBe(true);
    expect(slot(0).slice(0, 8)).not.toEqual(slot(2).slice(0, 8));
    expect(feature(w, b, 0, "social_trust_mean")).toBeCloseTo(0.6 / 4, 6);
    expect(feature(w, b, 0, "social_trust_max")).toBeCloseTo(0.5, 6);
    expect(feature(w, b, 0, "social_rivalry_mean")).toBeCloseTo(1.3 / 4, 6);
    expect(feature(w, b, 0, "social_rivalry_max")).toBeCloseTo(0.8, 6);
    expect(feature(w, b, 0, "rivalry_max")).toBeCloseTo(0.8, 6);
    expect(feature(w, b, 0, "rivalry_avoid_count")).toBe(1);
    // An agent without edges has empty slots and zero aggregates.
    const other = b.features.subarray(spec.feature_count, 2 * spec.feature_count);
    expect(Array.from(other.subarray(spec.social.offset))).toEqual(new Array(48).fill(0));
  });
});

describe("the batch", () => {
  /** A default-sized town (manifest objects, scripted agents) run with observations wanted. */
  function busy(variant: ObservationVariant): World {
    const w = makeWorld({ world: { agents_per_town: 12, towns: 3, grid_size: [14, 14] }, seed: 7, features: { systems: { observations: variant } } });
    observationsState(w).want = true;
    return w;
  }

  it.each(["hybrid", "full", "compact"] as const)("%s: identical when built twice, the same across runs, never NaN", (variant) => {
    const w1 = busy(variant);
    const w2 = busy(variant);
    w1.run(60);
    w2.run(60);
    const b1 = buildObservations(w1, variant);
    const map = b1.map.slice();
    const feats = b1.features.slice();
    const again = buildObservations(w1, variant);
    expect(again.map).toEqual(map);
    expect(again.features).toEqual(feats);
    const b2 = buildObservations(w2, variant);
    expect(b2.map).toEqual(map);
    expect(b2.features).toEqual(feats);
    expect(b1.count).toBe(w1.agents.length);
    expect(b1.count).toBeGreaterThan(30);
    for (const v of b1.map) expect(Number.isFinite(v)).toBe(true);
    for (const v of b1.features) expect(Number.isFinite(v)).toBe(true);
  });

  it("is built by the system only when a consumer wants it, before policies decide", () => {
    const w = makeWorld({ world: { agents_per_town: 3 } });
    const st = observationsState(w);
    w.run(2);
    expect(st.last).toBeUndefined();
    st.want = true;
    w.step();
    expect(st.last?.count).toBe(3);
    expect(st.last?.tick).toBe(w.tick);
    expect(w.formatSchedule()).toMatch(/observations\/build[\s\S]*scripted\/decide/);
  });

  it("grows past its capacity and writes into a caller's batch", () => {
    const w = town();
    const out = createObservationBatch(w, "hybrid", 16);
    for (let i = 0; i < 40; i++) spawnAt(w, i % 16, Math.floor(i / 16));
    const b = buildObservations(w, "hybrid", out);
    expect(b).toBe(out);
    expect(out.capacity).toBe(64);
    expect(out.count).toBe(40);
    expect(() => buildObservations(w, "compact", out)).toThrow(/createObservationBatch/);
  });
});

describe("embedding allocator", () => {
  function alloc(cfg: Record<string, unknown>): World {
    return town([], { embedding_allocator: cfg });
  }

  it("gives each agent a stable slot, the lowest never-used first", () => {
    const w = alloc({ max_slots: 4, cooldown_ticks: 0 });
    const a = spawnAt(w, 1, 1);
    const b = spawnAt(w, 2, 1);
    expect([embeddingSlot(w, a), embeddingSlot(w, b)]).toEqual([0, 1]);
    w.run(3);
    expect(embeddingSlot(w, a)).toBe(0);
    w.removeEntity(a);
    const c = spawnAt(w, 3, 1);
    expect(embeddingSlot(w, c)).toBe(2); // never-used before a released one
    expect(embeddingSlot(w, b)).toBe(1);
  });

  it("reuses a slot only after cooldown_ticks, else forces the oldest release and warns", () => {
    const w = alloc({ max_slots: 3, cooldown_ticks: 5, reuse_warning_threshold: 0.1 });
    const [a, b] = [spawnAt(w, 1, 1), spawnAt(w, 2, 1), spawnAt(w, 3, 1)];
    w.removeEntity(a); // slot 0 released at tick 0
    w.run(3);
    w.removeEntity(b); // slot 1 released at tick 3
    w.run(2);
    const d = spawnAt(w, 4, 1);
    expect(embeddingSlot(w, d)).toBe(0); // rested 5 ticks
    expect(embeddingMetrics(w)).toMatchObject({ allocations_total: 4, forced_reuse_count: 0, reuse_warning: false });
    const e = spawnAt(w, 5, 1);
    expect(embeddingSlot(w, e)).toBe(1); // rested 2 ticks: forced
    const m = embeddingMetrics(w);
    expect(m).toMatchObject({ allocations_total: 5, forced_reuse_count: 1, reuse_warning: true });
    expect(m.forced_reuse_rate).toBeCloseTo(0.2, 9);
    expect(observationsState(w).allocator.forcedLog).toEqual([{ tick: 5, slot: 1, uid: 4, rested: 2 }]);
    expect(w.kpis().embedding).toMatchObject({ forced_reuse_count: 1 });
  });

  it("shares slots modulo max_slots when agents outnumber them", () => {
    const w = alloc({ max_slots: 2 });
    const ids = [spawnAt(w, 1, 1), spawnAt(w, 2, 1), spawnAt(w, 3, 1)];
    expect(ids.map((e) => embeddingSlot(w, e))).toEqual([0, 1, 2 % 2]);
    expect(embeddingMetrics(w)).toMatchObject({ allocations_total: 3, shared_allocations: 1, slots_in_use: 2 });
    w.removeEntity(ids[0]);
    expect(embeddingMetrics(w).slots_in_use).toBe(2); // slot 0 still held by the third agent
    w.removeEntity(ids[2]);
    expect(embeddingMetrics(w).slots_in_use).toBe(1);
    expect(observationsState(w).allocator.releasedAt[0]).toBe(w.tick);
  });

  it("saves, loads and hashes its state", () => {
    const w = alloc({ max_slots: 3, cooldown_ticks: 5 });
    const a = spawnAt(w, 1, 1);
    spawnAt(w, 2, 1);
    w.removeEntity(a);
    const st = observationsState(w);
    const w2 = alloc({ max_slots: 3, cooldown_ticks: 5 });
    const st2 = observationsState(w2);
    st2.load(JSON.parse(JSON.stringify(st.save())));
    expect(st2.allocator.metrics()).toEqual(st.allocator.metrics());
    expect(Array.from(st2.allocator.releasedAt)).toEqual(Array.from(st.allocator.releasedAt));
    const h1 = new StateHasher();
    const h2 = new StateHasher();
    st.hash(h1);
    st2.hash(h2);
    expect(h2.digest()).toBe(h1.digest());
  });
});
