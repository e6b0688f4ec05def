// Observation builder benchmark (not a test): observations per second for the hybrid variant at
// 1k and 10k agents, in two layouts: many small towns (8 agents on 16x16, the many-towns
// config) and one big town (density as the default town). The world first runs some scripted
// ticks so agents spread, queue and hold objects. Also checks that a build allocates nothing
// per agent (heap growth per build). Run: node --expose-gc --import tsx bench/observations.ts
// [-- --sizes 1000,10000 --builds 200 --variant hybrid --json]
import { parseArgs } from "node:util";
import { parseConfigObject } from "../engine/config/loader.ts";
import { World } from "../engine/world.ts";
import { corePlugins } from "../systems/index.ts";
import { buildObservations, createObservationBatch, type ObservationVariant } from "../systems/observations/index.ts";

const { values } = parseArgs({
  options: {
    sizes: { type: "string", default: "1000,10000" },
    builds: { type: "string", default: "200" },
    variant: { type: "string", default: "hybrid" },
    warmup: { type: "string", default: "30" },
    json: { type: "boolean" },
  },
});
const sizes = values.sizes!.split(",").map(Number);
const builds = Number(values.builds);
const variant = values.variant as ObservationVariant;
const warmupTicks = Number(values.warmup);
const gc = (globalThis as { gc?: () => void }).gc;

function world(agents: number, layout: "many-towns" | "one-town"): World {
  const many = layout === "many-towns";
  const towns = many ? Math.max(1, Math.round(agents / 8)) : 1;
  const side = many ? 16 : Math.max(16, Math.round(Math.sqrt(agents * 24)));
  const settings = parseConfigObject(
    {
      config_id: `bench-observations-${layout}`,
      seed: 7,
      features: { stages: { relationships: "B" }, systems: { observations: variant } },
      world: { towns, agents_per_town: Math.round(agents / towns), grid_size: [side, side] },
    },
    corePlugins,
  );
  return new World({ settings, plugins: corePlugins, capacity: agents * 2 + 1024 });
}

const rows: Record<string, number | string>[] = [];
for (const n of sizes) {
  for (const layout of ["many-towns", "one-town"] as const) {
    const w = world(n, layout);
    w.run(warmupTicks);
    const out = createObservationBatch(w, variant, w.agents.length);
    for (let i = 0; i < 10; i++) buildObservations(w, variant, out);
    gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    for (let i = 0; i < builds; i++) buildObservations(w, variant, out);
    const ms = (performance.now() - t0) / builds;
    const heapPerBuild = (process.memoryUsage().heapUsed - heap0) / builds;
    rows.push({
      layout,
      agents: out.count,
      towns: w.towns,
      variant,
      ms_per_build: +ms.toFixed(3),
      obs_per_sec: Math.round((out.count * 1000) / ms),
      heap_bytes_per_build: Math.round(heapPerBuild),
      batch_mb: +((out.capacity * (out.mapStride + out.featureCount) * 4) / 2 ** 20).toFixed(1),
    });
  }
}
if (values.json) console.log(JSON.stringify({ bench: "observations", results: rows }));
else {
  console.log(`observation builder: ${variant}, ${builds} builds per size${gc ? "" : " (run with --expose-gc for the heap column)"}`);
  console.table(rows);
}
