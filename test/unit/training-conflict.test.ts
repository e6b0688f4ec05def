// The training log's conflict sums (training/session.ts conflictSums and the sampler): read
// through the social plug-in's typed resource; a world without the social plug-in has none.
import { describe, expect, it } from "vitest";
import { Agent } from "../../engine/core-components.ts";
import { SocialKey } from "../../components/social.ts";
import { World } from "../../engine/world.ts";
import { conflictSums, newConflictSampler } from "../../training/session.ts";
import { makeSettings, makeWorld } from "../helpers/world.ts";

const config = { world: { agents_per_town: 3, grid_size: [8, 8] }, conflict: { rivalry: { avoid_threshold: 0.5 } } };

describe("conflict sums for the training log", () => {
  it("sum and max the largest rivalry and the rivals at or above the avoid threshold, from the social ledger", () => {
    const w = makeWorld(config);
    const ledger = w.resource(SocialKey).ledger;
    const [a, b, c] = w.agents;
    const uid = w.columns(Agent).uid;
    ledger.rivalry[ledger.slot(a, uid[b])] = 0.75;
    ledger.rivalry[ledger.slot(a, uid[c])] = 0.25;
    ledger.rivalry[ledger.slot(b, uid[a])] = 0.5;
    expect(conflictSums(w)).toEqual([1.25, 0.75, 2, 1, 3]);
    const sampler = newConflictSampler();
    sampler.sample(w);
    expect(sampler.result()).toMatchObject({ "conflict.rivalry_max_mean_avg": 1.25 / 3, "conflict.rivalry_max_max_avg": 0.75 });
  });

  it("are zeros, and the sampler records nothing, in a world without the social plug-in", () => {
    // The engine alone (the core plug-ins order lifecycle after social's set, so they need it).
    const w = new World({ settings: makeSettings(config), plugins: [] });
    for (let i = 0; i < 3; i++) w.spawnAgent(0);
    expect(w.hasPlugin("social")).toBe(false);
    expect(w.agents.length).toBe(3);
    expect(conflictSums(w)).toEqual([0, 0, 0, 0, 0]);
    const sampler = newConflictSampler();
    sampler.sample(w);
    expect(sampler.result()).toEqual({});
  });
});
