// The engine's collection after a large build (engine/heap.ts, World.init): a world whose build grew
// ArrayBuffer bytes past World.collectAfterBuildBytes is followed by one full GC, which V8 reports
// to a perf_hooks observer as a forced major collection; a small world's build is not. The threshold is
// lowered for the tests (a real large world takes seconds to build).
import { afterEach, describe, expect, it } from "vitest";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { World } from "../../engine/world.ts";
import { collectAfterBuild, COLLECT_AFTER_BUILD_BYTES, fullGc, HEAP_GROWING_PERCENT } from "../../engine/heap.ts";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { makeWorld } from "../helpers/world.ts";

/**
 * Forced major GCs (a gc() call, not V8's own schedule) that V8 reports while `fn` runs; entries
 * arrive asynchronously, so it waits for them.
 */
async function majorGcsDuring(fn: () => void): Promise<number> {
  let majors = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const d = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail;
      if (d?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && ((d.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) majors++;
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  try {
    fn();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    obs.disconnect();
  }
  return majors;
}

afterEach(() => {
  World.collectAfterBuildBytes = COLLECT_AFTER_BUILD_BYTES;
});

describe("collection after a world's build", () => {
  it("does not collect after a small world's build (far below 16 MB of buffers)", async () => {
    let world: World | undefined;
    const majors = await majorGcsDuring(() => (world = makeWorld({ world: { towns: 1, agents_per_town: 4 } })));
    expect(world!.collectedAfterBuild).toBe(false);
    expect(majors).toBe(0);
  });

  it("collects once, a forced major GC V8 reports, after a build at or over the threshold", async () => {
    World.collectAfterBuildBytes = Number.NEGATIVE_INFINITY; // every build is "large"
    let world: World | undefined;
    const majors = await majorGcsDuring(() => (world = makeWorld({ world: { towns: 1, agents_per_town: 4 } })));
    expect(world!.collectedAfterBuild).toBe(true);
    expect(majors).toBeGreaterThanOrEqual(1);
  });

  it("decides again on reset(): the flag follows the latest build", () => {
    const world = makeWorld({ world: { towns: 1, agents_per_town: 4 } });
    expect(world.collectedAfterBuild).toBe(false);
    World.collectAfterBuildBytes = Number.NEGATIVE_INFINITY;
    world.reset();
    expect(world.collectedAfterBuild).toBe(true);
    World.collectAfterBuildBytes = COLLECT_AFTER_BUILD_BYTES;
    world.reset();
    expect(world.collectedAfterBuild).toBe(false);
  });

  it("leaves the simulation as it was: a collected build runs the same hash stream", () => {
    const a = makeWorld({ world: { towns: 2, agents_per_town: 6 } });
    World.collectAfterBuildBytes = Number.NEGATIVE_INFINITY;
    const b = makeWorld({ world: { towns: 2, agents_per_town: 6 } });
    expect([a.collectedAfterBuild, b.collectedAfterBuild]).toEqual([false, true]);
    for (let t = 0; t < 30; t++) {
      a.step();
      b.step();
      expect(b.stateHash()).toBe(a.stateHash());
    }
  });
});

describe("collectAfterBuild and fullGc", () => {
  it("compares the growth of ArrayBuffer bytes since `before` with the threshold", async () => {
    const now = process.memoryUsage().arrayBuffers;
    expect(collectAfterBuild(now + 1e12)).toBe(false); // grew by a negative amount
    let collected = false;
    const majors = await majorGcsDuring(() => (collected = collectAfterBuild(now - 64 * 1024 * 1024)));
    expect(collected).toBe(true);
    expect(majors).toBeGreaterThanOrEqual(1);
  });

  it("finds V8's full collection without node --expose-gc (or uses the exposed one) and does not leave gc on new contexts", async () => {
    const gc = fullGc();
    expect(typeof gc).toBe("function");
    expect(await majorGcsDuring(() => gc!())).toBeGreaterThanOrEqual(1);
    const { runInNewContext } = await import("node:vm");
    expect(runInNewContext("typeof gc")).toBe(typeof (globalThis as { gc?: unknown }).gc === "function" ? "function" : "undefined");
  });
});

/**
 * The factor V8 applied to the old generation's next limit after a forced full GC in a fresh node
 * process (node --trace-gc-verbose prints "[HeapController] Limit: ... (3.0)") that calls tuneHeap().
 */
function factorInChild(nodeFlags: string[]): { set: boolean; factor: number } {
  const heap = fileURLToPath(new URL("../../engine/heap.ts", import.meta.url));
  const script = `const { tuneHeap } = await import(${JSON.stringify(heap)}); const set = tuneHeap(); const keep = []; for (let i = 0; i < 100000; i++) keep.push({ i }); globalThis.gc(); console.log("SET " + set + " " + keep.length);`;
  const out = execFileSync(process.execPath, ["--expose-gc", "--trace-gc-verbose", ...nodeFlags, "--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
  const limits = [...out.matchAll(/\[HeapController\] Limit: .*\((\d+(?:\.\d+)?)\)/g)];
  return { set: /SET true/.test(out), factor: Number(limits.at(-1)?.[1]) };
}

describe("tuneHeap (what townlet's CLI and the bench's child set)", () => {
  it("sets V8's old-generation growing factor to 1 + HEAP_GROWING_PERCENT / 100 for the next limit", () => {
    const r = factorInChild([]);
    expect(r.set).toBe(true);
    expect(r.factor).toBeCloseTo(1 + HEAP_GROWING_PERCENT / 100, 5);
  });

  it("keeps a --heap-growing-percent the process was started with", () => {
    const r = factorInChild(["--heap-growing-percent=50"]);
    expect(r.set).toBe(false);
    expect(r.factor).toBeCloseTo(1.5, 5);
  });
});
