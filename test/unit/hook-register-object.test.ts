// A plug-in's affordance hook that registers objects in the middle of affordances/run
// (test/fixtures/kiosks.ts: the hook opens kiosks; the first takes a recycled id below every other
// object's). The run pass must go on over the objects it started with: a registration must not
// shift the objects it has already visited under its index (a running affordance counted down
// twice, or one skipped). The reference is a twin that registers the same kiosks at the end of
// the affordances phase; the state hash is compared after every tick, for the generated kernels
// and the generic loops, with as many kiosks per call as there are recycled ids and with eight (those outgrow the Obj columns).
import { describe, expect, it } from "vitest";
import { Activity } from "../../components/activity.ts";
import { Obj } from "../../components/objects.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import { objectById, objectsOfType, affordanceRegistry } from "../../systems/affordances/index.ts";
import { objectsPath } from "../../systems/affordances/objects-loop.ts";
import { intend, type HookPath } from "../fixtures/newcomers.ts";
import { kioskTown, PLACEHOLDERS, type KioskScene } from "../fixtures/kiosks.ts";

type Loop = "kernel" | "generic";

const PATHS: readonly HookPath[] = ["finish", "outage"];
const TICKS = 8;

function stOf(s: KioskScene) {
  return s.world.state<AffordancesResource>("affordances");
}

/** The world whose hook registers in the pass, running `loop`, and its twin that registers after the passes. */
function twins(path: HookPath, loop: Loop, perCall: number): [KioskScene, KioskScene] {
  const [a, b] = [kioskTown(path, "now", perCall), kioskTown(path, "deferred", perCall)];
  for (const s of [a, b]) {
    stOf(s).rt.useActKernel = loop === "kernel";
    stOf(s).rt.useObjectKernels = loop === "kernel";
  }
  return [a, b];
}

describe("a plug-in hook that registers an object mid-pass: the pass goes on over the objects it started with", () => {
  for (const loop of ["kernel", "generic"] as const) {
    for (const path of PATHS) {
      for (const perCall of [PLACEHOLDERS, 8]) {
        it(`${loop}: ${path} hook opening ${perCall} kiosk(s), every tick as in a world that registers them after the passes`, () => {
          const [a, b] = twins(path, loop, perCall);
          const obj0 = a.world.columns(Obj).running;
          for (let t = 1; t <= TICKS; t++) {
            for (const s of [a, b]) {
              intend(s, path, t);
              s.world.step();
            }
            expect(a.world.stateHash(), `tick ${t}`).toBe(b.world.stateHash());
          }
          // The hook ran in the pass; its first kiosks took the recycled ids, in front of the benches.
          expect(a.k.calls).toBeGreaterThan(0);
          expect(a.k.eids).toEqual(b.k.eids);
          expect(a.k.eids[0]).toBeLessThan(a.hall);
          const list = stOf(a).st.objects;
          for (const e of a.k.eids.slice(0, PLACEHOLDERS)) expect(list.indexOf(e)).toBeLessThan(list.indexOf(a.benches[0]));
          expect(stOf(a).st.objects).toEqual(stOf(b).st.objects);
          if (perCall > PLACEHOLDERS) expect(a.world.columns(Obj).running).not.toBe(obj0);
          expect(objectsPath(stOf(a).rt)).toBe(loop);
        });
      }
    }
  }

  it("counts each sitter down once on the tick welcome's finish opens a kiosk, and the kiosk is in the world at once", () => {
    for (const loop of ["kernel", "generic"] as const) {
      const [a] = twins("finish", loop, PLACEHOLDERS);
      const A = a.world.columns(Activity);
      let seen: number[] = [];
      const remaining = () => a.sitters.map((e) => A.remaining[e]);
      for (let t = 1; t <= TICKS && a.k.calls === 0; t++) {
        seen = remaining();
        intend(a, "finish", t);
        a.world.step();
      }
      expect(a.k.calls, loop).toBe(1);
      // welcome (3 ticks) and sit (4) started together; nap (3) finished with welcome and started again.
      const now = remaining();
      for (let i = 0; i < a.sitters.length; i++) if (seen[i] > 1) expect(now[i], `${loop} sitter ${i}`).toBe(seen[i] - 1);
      const kiosk = a.k.eids[0];
      expect(objectById(a.world, 0, "kiosk_1")).toBe(kiosk);
      const kiosks = [...objectsOfType(a.world, 0, affordanceRegistry(a.world).typeIndex("kiosk"))];
      expect(kiosks).toHaveLength(3 * PLACEHOLDERS);
      const at = kiosks.indexOf(kiosk);
      expect(kiosks.slice(at, at + 3)).toEqual([kiosk, 0, 8]);
    }
  });
});
