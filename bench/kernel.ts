// Kernel benchmark: the need-decay pass through the engine (world.step with the needs plug-in)
// against a bare Float32Array loop doing the same arithmetic, at 10k, 100k and 1M agents; plus
// engine memory per agent. Run: npm run bench:kernel [-- --sizes 10000,100000 --ticks 200]
import { parseArgs } from "node:util";
import { parseConfigObject } from "../engine/config/loader.ts";
import { World } from "../engine/world.ts";
import { corePlugins, needsPlugin } from "../systems/index.ts";
import { decayNeeds } from "../systems/needs/index.ts";
import { NeedsKey, needTable } from "../components/needs.ts";

const { values } = parseArgs({
  options: { sizes: { type: "string", default: "10000,100000,1000000" }, ticks: { type: "string", default: "200" }, json: { type: "boolean" } },
});
const sizes = values.sizes!.split(",").map(Number);
const ticks = Number(values.ticks);
const gc = (globalThis as { gc?: () => void }).gc;
const mem = () => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
function bare(n: number, reps: number, rates: Float64Array): number {
  const cols = Array.from(rates, () => new Float32Array(n).fill(1));
  const t0 = performance.now();
  for (let r = 0; r < reps; r++) {
    if (r % 50 === 0) for (const c of cols) c.fill(1);
    for (let k = 0; k < cols.length; k++) {
      const col = cols[k];
      const rk = rates[k];
      for (let i = 0; i < n; i++) {
        const a = col[i] - rk;
        col[i] = a < 0 ? 0 : a > 1 ? 1 : a;
      }
    }
  }
  return (performance.now() - t0) / reps;
}

// Only the decay system: settings come validated with every core section.
const plugins = [needsPlugin];
// The default needs at the default rates (configs/default.yaml's table).
const settings = parseConfigObject({ config_id: "bench-kernel" }, corePlugins);
const rates = Float64Array.from(needTable(settings).list, (need) => need.decay);
const rows: Record<string, number>[] = [];
for (const n of sizes) {
  const before = mem();
  const t0 = performance.now();
  const world = new World({ settings, plugins, capacity: n + 1 });
  for (let i = 0; i < n; i++) world.spawnAgent(0);
  const buildS = (performance.now() - t0) / 1000;
  const bytes = (mem() - before) / n;
  const reps = Math.max(60, Math.min(ticks, Math.round(2e9 / n / 10)));
  // Warm up both, then time; refill needs every 50 ticks so the clamps keep doing real work.
  const cols = world.resource(NeedsKey).columns();
  const refill = () => {
    for (const c of cols) c.fill(1);
  };
  for (let r = 0; r < 20; r++) world.step();
  bare(n, 60, rates);
  let t = performance.now();
  for (let r = 0; r < reps; r++) {
    if (r % 50 === 0) refill();
    world.step();
  }
  const tickMs = (performance.now() - t) / reps;
  const spans = world.spans;
  t = performance.now();
  for (let r = 0; r < reps; r++) {
    if (r % 50 === 0) refill();
    decayNeeds(spans, cols, rates);
  }
  const passMs = (performance.now() - t) / reps;
  const bareMs = bare(n, reps, rates);
  rows.push({
    agents: n,
    ticks: reps,
    ms_per_tick: +tickMs.toFixed(4),
    pass_ms: +passMs.toFixed(4),
    bare_ms: +bareMs.toFixed(4),
    baseline_ratio: +(tickMs / bareMs).toFixed(3),
    pass_ratio: +(passMs / bareMs).toFixed(3),
    agent_steps_per_sec: Math.round((n * 1000) / tickMs),
    bytes_per_agent: Math.round(bytes),
    column_bytes_per_agent: Math.round(world.columnBytes() / n),
    build_s: +buildS.toFixed(2),
  });
}
if (values.json) console.log(JSON.stringify({ bench: "kernel-need-decay", gc_exposed: !!gc, results: rows }));
else {
  console.log(`kernel benchmark: need decay (3 needs), ${gc ? "gc exposed" : "run with --expose-gc for exact memory"}`);
  console.table(rows);
}
