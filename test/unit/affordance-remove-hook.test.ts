// A plug-in's affordance hook that removes objects in the middle of affordances/act or
// affordances/run (test/fixtures/removals.ts: the hook brings newcomers, then removes two idle
// spare benches, one in front of the objects the pass has yet to visit). The pass must go on over
// the objects it started with (a removal replaces the object list, never changes it in place), and
// the removed object's cleared columns must read as free and idle there. The reference is a twin
// that removes the same spares at the end of the affordances phase; the state hash is compared
// after every tick, for the generated kernels and the generic loops.
import { describe, expect, it } from "vitest";
import { SpaceKey } from "../../components/grid.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import { actPath, affordanceRegistry, objectById, objectsOfType } from "../../systems/affordances/index.ts";
import { objectsPath } from "../../systems/affordances/objects-loop.ts";
import { intend, type HookPath } from "../fixtures/newcomers.ts";
import { removalTown, SPAWNS, type RemovalScene } from "../fixtures/removals.ts";

type Loop = "kernel" | "generic";

const PATHS: readonly HookPath[] = ["start", "pending", "released", "finish", "outage"];
const TICKS = 8;

function resOf(s: RemovalScene) {
  return s.world.state<AffordancesResource>("affordances");
}

/** The world whose hook removes in the pass, running `loop`, and its twin that removes after the passes. */
function twins(path: HookPath, loop: Loop): [RemovalScene, RemovalScene] {
  const [a, b] = [removalTown(path, "now"), removalTown(path, "deferred")];
  for (const s of [a, b]) {
    resOf(s).rt.useActKernel = loop === "kernel";
    resOf(s).rt.useObjectKernels = loop === "kernel";
  }
  return [a, b];
}

describe("a plug-in hook that removes objects mid-pass: the pass goes on over the objects it started with", () => {
  for (const loop of ["kernel", "generic"] as const) {
    for (const path of PATHS) {
      it(`${loop}: ${path} hook, every tick as in a world that removes them after the passes`, () => {
        const [a, b] = twins(path, loop);
        for (let t = 1; t <= TICKS; t++) {
          for (const s of [a, b]) {
            intend(s, path, t);
            s.world.step();
          }
          expect(a.world.stateHash(), `tick ${t}`).toBe(b.world.stateHash());
        }
        expect(a.r.calls).toBeGreaterThan(0);
        expect(b.r.removed && !b.r.due).toBe(true);
        expect(a.world.maxEntityId()).toBeGreaterThan(SPAWNS);
        expect(resOf(a).st.objects).toEqual(resOf(b).st.objects);
        expect(actPath(a.world)).toBe(loop);
        expect(objectsPath(resOf(a).rt)).toBe(loop);
      });
    }
  }

  it("takes both spares out of every index at once, in the hook", () => {
    for (const path of PATHS) {
      const s = removalTown(path, "now");
      const w = s.world;
      const bench = affordanceRegistry(w).typeIndex("bench");
      for (let t = 1; t <= TICKS && !s.r.removed; t++) {
        intend(s, path, t);
        w.step();
      }
      expect(s.r.removed, path).toBe(true);
      const st = resOf(s).st;
      for (const e of s.r.spares) expect(st.objects.includes(e), path).toBe(false);
      expect(objectById(w, 0, "spare_1"), path).toBe(0);
      expect(objectById(w, 0, "spare_2"), path).toBe(0);
      const benches = objectsOfType(w, 0, bench);
      expect([...benches].filter((_, i) => i % 3 === 0), path).toEqual(s.benches);
      const space = w.resource(SpaceKey);
      expect([space.objectAt(0, 11, 0), space.objectAt(0, 11, 2)], path).toEqual([0, 0]);
      expect([...st.removed.keys()].sort(), path).toEqual(["0:spare_1", "0:spare_2"]);
    }
  });
});
