// How `townlet serve` of a sharded world names things (tools/serve-shard-ids.ts) and merges the
// blocks' sections (mergeValues): a block's towns, objects and perturbation events become the
// world's, a command's targets go back to the block's own, and sections merge town by town.
import { describe, expect, it } from "vitest";
import { mergeValues, planBlocks } from "../../engine/shard-blocks.ts";
import { eventToLocal, frameOf, objectToGlobal, objectToLocal, payloadToGlobal, toGlobal, townToLocal } from "../../tools/serve-shard-ids.ts";

/** 5 towns in 3 blocks: 0 | 1..2 | 3..4. */
const frames = planBlocks(5, 3, 7).map((p) => frameOf(p, 5));

describe("names in a sharded world's stream and console", () => {
  it("names a block's towns, objects and events as the world does, and back", () => {
    expect(frames.map((f) => [f.offset, f.towns])).toEqual([
      [0, 1],
      [1, 2],
      [3, 2],
    ]);
    // A one-town block names objects without their town; the world always adds it.
    expect(objectToGlobal("fridge_1", frames[0])).toBe("fridge_1@0");
    expect(objectToGlobal("fridge_1@1", frames[2])).toBe("fridge_1@4");
    expect(objectToLocal("fridge_1@4", frames)).toEqual({ block: 2, id: "fridge_1@1" });
    expect(objectToLocal("fridge_1@0", frames)).toEqual({ block: 0, id: "fridge_1" });
    expect(objectToLocal("fridge_1@9", frames)).toBeUndefined();
    expect(townToLocal(2, frames)).toEqual({ block: 1, town: 1 });
    expect(townToLocal(5, frames)).toBeUndefined();
    expect(eventToLocal("evt_2_7", 3)).toEqual({ block: 2, id: "evt_7" });
    expect(eventToLocal("evt_3_7", 3)).toBeUndefined();
    expect(eventToLocal("evt_7", 3)).toBeUndefined();
    const r = toGlobal({ town: 1, event_id: "evt_3", holding: "bed_2", queue: ["stove_1@0"], message: "blackout in town 1", buckets: { "0": 1, "1": 2 } }, frames[2]);
    expect(r).toEqual({ town: 4, event_id: "evt_2_3", holding: "bed_2@3", queue: ["stove_1@3"], message: "blackout in town 4", buckets: { "3": 1, "4": 2 } });
  });

  it("renames a block's payload without touching the block's own objects", () => {
    const diff = {
      schema_version: "0.3.0",
      payload_type: "diff",
      tick: 3,
      seq: 4,
      config_id: "c",
      changes: { economy: { towns: [{ town: 0 }, { town: 1 }] } },
      removed: [],
      events: [{ event: "perturbation_started", town: 1, object: "shower_1@1" }],
      narrations: [],
      agents: { changed: { agent_9: { town: 1, holding: "bed_1@1" } } },
      objects: { spawned: { "bed_1@1": { id: "bed_1@1", town: 1 } }, removed: ["bed_2@0"] },
    };
    const before = JSON.stringify(diff);
    const g = payloadToGlobal(diff, frames[1]) as unknown as typeof diff;
    expect(JSON.stringify(diff)).toBe(before);
    expect(g.tick).toBe(3);
    expect(g.changes.economy.towns).toEqual([{ town: 1 }, { town: 2 }]);
    expect(g.events[0]).toEqual({ event: "perturbation_started", town: 2, object: "shower_1@2" });
    expect(g.agents.changed.agent_9).toEqual({ town: 2, holding: "bed_1@2" });
    expect(g.objects).toEqual({ spawned: { "bed_1@2": { id: "bed_1@2", town: 2 } }, removed: ["bed_2@1"] });
  });

  it("merges sections town by town: lists joined, counts added, means weighted, extremes and settings kept", () => {
    const merged = mergeValues(
      [
        { agents: 2, by_town: [2], mean_needs: { hunger: 0.2 }, min_needs: { hunger: 0.1 }, metrics: { tick: 9, starvation_window_ticks: 1000 }, only: undefined },
        { agents: 6, by_town: [3, 3], mean_needs: { hunger: 0.6 }, min_needs: { hunger: 0.3 }, metrics: { tick: 9, starvation_window_ticks: 1000 }, only: { agent_5: { total: 0.25 } } },
      ],
      [2, 6],
    );
    expect(merged).toEqual({
      agents: 8,
      by_town: [2, 3, 3],
      mean_needs: { hunger: (2 * 0.2 + 6 * 0.6) / 8 },
      min_needs: { hunger: 0.1 },
      metrics: { tick: 9, starvation_window_ticks: 1000 },
      only: { agent_5: { total: 0.25 } },
    });
  });
});
