// A plug-in's affordance hook that removes an agent in the middle of affordances/act or
// affordances/run (test/fixtures/evictions.ts: the hook brings newcomers, then evicts an idle
// lodger). The affordances runtime's onAgentRemove must not re-bind the runtime of the pass that
// runs (its tick, its wake bitset, which the act loops hold): the rest of the pass goes on as if
// the lodger had left after it. The reference is a twin whose lodger leaves at the end of the
// affordances phase, and whose columns were sized up front (no spawn moves them); the state
// hash is compared after every tick, for the generated kernels and the generic loops.
import { describe, expect, it } from "vitest";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import { actPath } from "../../systems/affordances/index.ts";
import { objectsPath } from "../../systems/affordances/objects-loop.ts";
import { evictionTown, intend, SPAWNS, type EvictionScene } from "../fixtures/evictions.ts";
import type { HookPath } from "../fixtures/newcomers.ts";

type Loop = "kernel" | "generic";

const PATHS: readonly HookPath[] = ["start", "pending", "released", "finish", "outage"];
const TICKS = 8;

function rtOf(s: EvictionScene) {
  return s.world.state<AffordancesResource>("affordances").rt;
}

/** The world whose hook evicts in the pass, running `loop`, and its twin that evicts after the passes. */
function twins(path: HookPath, loop: Loop): [EvictionScene, EvictionScene] {
  const [a, b] = [evictionTown(path, "now"), evictionTown(path, "deferred")];
  for (const s of [a, b]) {
    rtOf(s).useActKernel = loop === "kernel";
    rtOf(s).useObjectKernels = loop === "kernel";
  }
  b.world.components.ensureAll(b.world.components.capacity);
  return [a, b];
}

describe("a plug-in hook that removes an agent mid-pass: the pass keeps its tick and wake bitset", () => {
  for (const loop of ["kernel", "generic"] as const) {
    for (const path of PATHS) {
      it(`${loop}: ${path} hook, every tick as in a world whose agent leaves after the passes`, () => {
        const [a, b] = twins(path, loop);
        for (let t = 1; t <= TICKS; t++) {
          for (const s of [a, b]) {
            intend(s, path, t);
            s.world.step();
          }
          expect(a.world.stateHash(), `tick ${t}`).toBe(b.world.stateHash());
        }
        // The lodger was evicted mid-pass, after newcomers past the wake bitset's first word.
        expect(a.ev.wakes).toHaveLength(1);
        expect(b.ev.evicted).toBe(true);
        expect(a.world.maxEntityId()).toBeGreaterThan(SPAWNS);
        expect(actPath(a.world)).toBe(loop);
        expect(objectsPath(rtOf(a))).toBe(loop);
      });
    }
  }

  it("leaves the runtime's tick and the act pass's wake bitset as they were", () => {
    for (const path of PATHS) {
      const a = evictionTown(path, "now");
      for (let t = 1; t <= TICKS; t++) {
        intend(a, path, t);
        a.world.step();
      }
      expect(a.ev.ticks, path).toHaveLength(1);
      const [[before, after]] = a.ev.ticks;
      expect(after, path).toBe(before);
      const [[w0, w1]] = a.ev.wakes;
      expect(w1, path).toBe(w0);
      // The bitset has room for every id after the next bind (the pass's own grows it then).
      expect(rtOf(a).actWake.length * 32, path).toBeGreaterThan(a.world.maxEntityId());
    }
  });
});
