// Type feedback for a new shifts pass (issue #19): the generated pass runs every branch on one
// agent of the world under made-up inputs and puts back every value it may have changed. The
// world must not notice: every array the pass closes over is byte for byte as before, and a
// world whose passes are primed (again and again, mid-shift) hashes as one whose are not.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildWorld } from "../../engine/build.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import type { EmploymentState } from "../../systems/employment/state.ts";
import { ARRAY_KEYS, ShiftKernel } from "../../systems/employment/shifts.ts";

const MANY_TOWNS = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));

const build = (): World => buildWorld(MANY_TOWNS, corePlugins, { seed: 3, towns: 3, agentsPerTown: 8 }).world;
const employment = (w: World) => w.state<EmploymentState>("employment");
/** Forgets the generated pass: the next tick makes (and primes) a new one. */
const forget = (w: World) => ((employment(w).kernel as unknown as { made: unknown }).made = undefined);

function bytesOf(K: ShiftKernel): string[] {
  return ARRAY_KEYS.filter((k) => k !== "events").map((k) => Buffer.from(K[k].buffer, K[k].byteOffset, K[k].byteLength).toString("hex"));
}

describe("primed shifts pass", () => {
  it("leaves every array the pass closes over, and the kernel's inputs, as they were", () => {
    const w = build();
    while (w.tick < 215) w.step(); // inside the first window, absences kept
    const st = employment(w);
    const K = st.kernel!;
    const before = bytesOf(K);
    const inputs = { tick: K.tick, t: K.t, newDay: K.newDay, objects: K.objects, nEvents: K.nEvents, window: K.window };
    const hash = w.stateHash();
    forget(w);
    K.pass(w.agents);
    expect(bytesOf(K)).toEqual(before);
    expect({ tick: K.tick, t: K.t, newDay: K.newDay, objects: K.objects, nEvents: K.nEvents, window: K.window }).toEqual(inputs);
    expect(w.stateHash()).toBe(hash);
  });

  it("hashes every tick as a world whose passes are not primed, with passes remade mid-shift", () => {
    const a = build();
    const b = build();
    const plain = new ShiftKernel();
    plain.prime = false;
    employment(b).kernel = plain;
    a.step();
    b.step();
    expect(a.stateHash()).toBe(b.stateHash());
    const remake = new Set([150, 185, 200, 215, 300, 361, 405, 561, 700]);
    while (a.tick < 800) {
      if (remake.has(a.tick)) forget(a);
      a.step();
      b.step();
      expect(a.stateHash(), `tick ${a.tick}`).toBe(b.stateHash());
    }
    expect(employment(a).shiftAbsent + employment(a).jobLate).toBeGreaterThan(0);
  });
});
