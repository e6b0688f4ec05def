// A plug-in's affordance hook that spawns entities in the middle of affordances/act or
// affordances/run (test/fixtures/newcomers.ts: one call brings 24 agents and their litter, so the
// component store replaces the agents' columns while the pass runs). The agents the pass visits
// after the hook must be carried out in the columns the world has now: their starts, countdowns,
// need effects, walks and last_ok writes. The reference is a twin whose columns were all sized
// up front (ComponentStore.ensureAll: rows for every id the test hands out), where the same
// spawns move nothing; the state hash (Activity, Obj, Position, Needs, Litter, the entity index
// ...) is compared after every tick, for the generated kernels and the generic loops, and once
// more in a process where code generation from strings is not allowed.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Activity } from "../../components/activity.ts";
import { Needs } from "../../components/needs.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import { actPath } from "../../systems/affordances/index.ts";
import { objectsPath } from "../../systems/affordances/objects-loop.ts";
import { intend, Litter, NAPPER, newcomersTown, NEWCOMERS, type HookPath, type Scene } from "../fixtures/newcomers.ts";

type Loop = "kernel" | "generic";

const PATHS: readonly HookPath[] = ["start", "pending", "released", "finish", "outage"];
const TICKS = 8;

function rtOf(s: Scene) {
  return s.world.state<AffordancesResource>("affordances").rt;
}

/** The scenario's world, running `loop`, and its twin whose columns no spawn of the test moves. */
function twins(path: HookPath, loop: Loop): [Scene, Scene] {
  const [a, b] = [newcomersTown(path), newcomersTown(path)];
  for (const s of [a, b]) {
    rtOf(s).useActKernel = loop === "kernel";
    rtOf(s).useObjectKernels = loop === "kernel";
  }
  b.world.components.ensureAll(b.world.components.capacity);
  return [a, b];
}

/** Ticks 1..n of both, with the scenario's intents, expecting the same state hash after every tick. */
function stepBoth(a: Scene, b: Scene, path: HookPath, n: number): void {
  for (let t = 1; t <= n; t++) {
    for (const s of [a, b]) {
      intend(s, path, t);
      s.world.step();
    }
    expect(a.world.stateHash(), `tick ${t}`).toBe(b.world.stateHash());
  }
}

function litter(s: Scene): number {
  const has = s.world.components.flags(Litter);
  let n = 0;
  for (let e = 0; e < has.length; e++) n += has[e];
  return n;
}

describe("a plug-in hook that spawns entities mid-pass: the rest of the pass writes the world's columns", () => {
  for (const loop of ["kernel", "generic"] as const) {
    for (const path of PATHS) {
      it(`${loop}: ${path} hook, every tick as in a world whose columns the spawns cannot move`, () => {
        const [a, b] = twins(path, loop);
        const before = [a, b].map((s) => s.world.columns(Activity).running);
        stepBoth(a, b, path, TICKS);
        // The hook ran, and its spawns replaced the agents' columns in one world only.
        expect(litter(a)).toBeGreaterThanOrEqual(NEWCOMERS);
        expect(a.world.columns(Activity).running).not.toBe(before[0]);
        expect(b.world.columns(Activity).running).toBe(before[1]);
        expect(actPath(a.world)).toBe(loop);
        expect(objectsPath(rtOf(a))).toBe(loop);
      });
    }
  }

  it("starts the sitters after the greeter on the tick its start brings the newcomers, and counts their sits down", () => {
    const [a] = twins("start", "kernel");
    intend(a, "start", 1);
    a.world.step();
    expect(litter(a)).toBe(NEWCOMERS);
    const A = a.world.columns(Activity);
    expect(A.running[a.greeter]).toBe(a.welcome);
    for (const [i, eid] of a.sitters.entries()) {
      expect(A.running[eid], `sitter ${i}`).toBe(i === NAPPER ? a.nap : a.sit);
      expect(A.holding[eid], `sitter ${i}`).toBe(a.benches[i]);
      expect(A.last_ok[eid], `sitter ${i}`).toBe(1);
    }
    // sit lasts 4 ticks: started in tick 1, counted down in ticks 1..4, done in tick 4 (nap: done
    // in tick 3, started again in tick 4).
    const energy = a.sitters.map((e) => a.world.columns(Needs).energy[e]);
    for (let t = 2; t <= 4; t++) {
      intend(a, "start", t);
      a.world.step();
    }
    for (const [i, eid] of a.sitters.entries()) {
      expect(A.running[eid], `sitter ${i}`).toBe(i === NAPPER ? a.nap : -1);
      expect(a.world.columns(Needs).energy[eid], `sitter ${i}`).toBeCloseTo(energy[i] - (i === NAPPER ? 0.03 : 0.02), 6);
    }
  });

  it("gives the same hashes where code generation from strings is not allowed (the generic loops)", () => {
    const root = fileURLToPath(new URL("../..", import.meta.url));
    const script = `
      const { intend, newcomersTown } = await import(${JSON.stringify(root + "test/fixtures/newcomers.ts")});
      const { actPath } = await import(${JSON.stringify(root + "systems/affordances/index.ts")});
      const out = {};
      for (const path of ${JSON.stringify(PATHS)}) {
        const s = newcomersTown(path);
        for (let t = 1; t <= ${TICKS}; t++) { intend(s, path, t); s.world.step(); }
        out[path] = { loop: actPath(s.world), hash: s.world.stateHash() };
      }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ["--disallow-code-generation-from-strings", "--import", "tsx", "--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<HookPath, { loop: string; hash: string }>;
    for (const path of PATHS) {
      const [, b] = twins(path, "kernel");
      for (let t = 1; t <= TICKS; t++) {
        intend(b, path, t);
        b.world.step();
      }
      expect(out[path].loop, path).toBe("generic");
      expect(out[path].hash, path).toBe(b.world.stateHash());
    }
  }, 60_000);
});
