// Determinism where rivals avoid each other and arranged meets run (issue #19's audit): the shipped
// configs keep rivalry at 0 and have no cafe, so decide's avoid branch, chooseObject's rival checks
// and queue_rival, the social ledger's hot list and a started meet's agents were reached by no
// hash-stream comparison. Here test/helpers/rival-world.ts's world runs with the generated kernels
// in this process and, in a child process, without code generation from strings (every generic
// path), and a snapshot taken mid-run while events are active resumes into a fresh world: each
// must give the same state hash on every tick.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadSnapshot } from "../../engine/snapshot/load.ts";
import { saveSnapshot } from "../../engine/snapshot/write.ts";
import { rivalWorld } from "../helpers/rival-world.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const TOWNS = 6;
const SEED = 5;
const TICKS = 600;

/** The state hash after every tick of `rivalWorld(TOWNS, SEED)` stepped TICKS ticks here. */
function hashesHere(): { hashes: string[]; kpis: Record<string, unknown> } {
  const w = rivalWorld(TOWNS, SEED);
  const hashes: string[] = [];
  for (let t = 0; t < TICKS; t++) {
    w.step();
    hashes.push(w.stateHash());
  }
  return { hashes, kpis: w.kpis() };
}

describe("a world of rivals and arranged meets hashes the same", () => {
  it("reaches the rival and meet paths it is here to pin", () => {
    const { kpis } = hashesHere();
    const rivalry = kpis.rivalry as { avoid_count_mean: number; max_max: number; conflicts: number };
    const perturbations = kpis.perturbations as { started: number };
    // Agents' edges at rest sit at the avoid threshold (rivals), and a queue conflict raised one above it.
    expect(rivalry.avoid_count_mean).toBeGreaterThan(1);
    expect(rivalry.conflicts).toBeGreaterThan(0);
    expect(rivalry.max_max).toBeGreaterThan(0.2);
    expect(perturbations.started).toBeGreaterThan(20);
  });

  it("on every tick without code generation from strings (the generic paths) as with the generated kernels", () => {
    const here = hashesHere().hashes;
    const script = `
      const { rivalWorld } = await import(${JSON.stringify(ROOT + "test/helpers/rival-world.ts")});
      const { actPath } = await import(${JSON.stringify(ROOT + "systems/affordances/index.ts")});
      const { executePath } = await import(${JSON.stringify(ROOT + "systems/options/index.ts")});
      const w = rivalWorld(${TOWNS}, ${SEED});
      const hashes = [];
      for (let t = 0; t < ${TICKS}; t++) { w.step(); hashes.push(w.stateHash()); }
      console.log(JSON.stringify({ paths: [actPath(w), executePath(w)], hashes }));`;
    const r = spawnSync(process.execPath, ["--disallow-code-generation-from-strings", "--import", "tsx", "--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const child = JSON.parse(r.stdout.trim().split("\n").pop()!) as { paths: string[]; hashes: string[] };
    expect(child.paths).toEqual(["generic", "generic"]);
    const first = child.hashes.findIndex((h, i) => h !== here[i]);
    expect(first, `first differing tick ${first + 1}`).toBe(-1);
    expect(child.hashes).toHaveLength(TICKS);
  });

  it("after a snapshot taken with events active, resumed into a fresh world", () => {
    const a = rivalWorld(TOWNS, SEED);
    let snap: Uint8Array | undefined;
    const after: string[] = [];
    for (let t = 0; t < TICKS; t++) {
      a.step();
      if (a.tick === 300) snap = saveSnapshot(a);
      if (a.tick > 300) after.push(a.stateHash());
    }
    const b = rivalWorld(TOWNS, SEED);
    loadSnapshot(b, snap!);
    expect(b.tick).toBe(300);
    for (let t = 0; t < TICKS - 300; t++) {
      b.step();
      expect(b.stateHash(), `tick ${b.tick}`).toBe(after[t]);
    }
  });
});
