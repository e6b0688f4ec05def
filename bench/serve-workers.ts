// What `townlet serve` of a sharded world costs per tick against the one-block serve of the same
// towns: wall ms per tick (flat out, a telemetry sink attached as a connected client would be),
// and the bytes of the blocks' telemetry payloads that cross from the worker threads to the main
// thread (their JSON length; structured clone copies about as much), next to the bytes of the
// stream the clients get. Run (the machine's other load changes the figures; repeat and alternate):
//
//   npx tsx bench/serve-workers.ts [--config configs/many-towns.yaml] [--shards 8] [--workers 1,2] [--ticks 200]
import { parseArgs } from "node:util";
import { startServe } from "../tools/serve.ts";
import { startShardedServe } from "../tools/serve-shards.ts";
import { MemoryAudit } from "../systems/console/index.ts";
import type { Published } from "../systems/telemetry/index.ts";

const { values } = parseArgs({
  options: {
    config: { type: "string", default: "configs/many-towns.yaml" },
    shards: { type: "string", default: "8" },
    workers: { type: "string", default: "1,2" },
    ticks: { type: "string", default: "200" },
    warmup: { type: "string", default: "20" },
    /** telemetry.stream.aggregate_above_agents (the config's when absent; 0: every agent in every frame). */
    aggregate: { type: "string" },
  },
});
const ticks = Number(values.ticks);
const warmup = Number(values.warmup);
const shards = Number(values.shards);
const overrides = values.aggregate !== undefined ? { "telemetry.stream.aggregate_above_agents": Number(values.aggregate) } : {};

interface Row {
  what: string;
  msPerTick: number;
  crossBytesPerTick: number | null;
  streamBytesPerTick: number;
}

/** Counts the stream's bytes from tick `from` on, and resolves when the loop reached its end. */
function sink(from: () => boolean): { bytes: number; sink: { deliver(p: Published): void } } {
  const s = { bytes: 0, sink: { deliver: (p: Published) => void (from() && (s.bytes += p.line().length)) } };
  return s;
}

async function one(): Promise<Row> {
  let reached!: () => void;
  const done = new Promise<void>((r) => (reached = r));
  const h = await startServe({ config: values.config, port: 0, audit: new MemoryAudit(), observer: false, ticks: warmup + ticks, paused: true, overrides, onReached: () => reached() });
  let t0 = 0;
  const s = sink(() => h.world.tick > warmup);
  h.publisher.addSink(s.sink);
  h.loop.onStep = () => {
    if (h.world.tick === warmup) t0 = performance.now();
  };
  h.loop.paused = false;
  await done;
  const ms = (performance.now() - t0) / ticks;
  await h.close();
  return { what: "one block (townlet serve)", msPerTick: ms, crossBytesPerTick: null, streamBytesPerTick: s.bytes / ticks };
}

async function sharded(workers: number): Promise<Row> {
  let reached!: () => void;
  const done = new Promise<void>((r) => (reached = r));
  const h = await startShardedServe({ configFile: values.config!, shards, workers, port: 0, audit: new MemoryAudit(), observer: false, ticks: warmup + ticks, paused: true, onReached: () => reached(), measureCrossing: true, overrides });
  let t0 = 0;
  let b0 = 0;
  const s = sink(() => h.sim.tick > warmup);
  h.publisher.addSink(s.sink);
  h.loop.onStep = () => {
    if (h.sim.tick === warmup) {
      t0 = performance.now();
      b0 = h.publisher.bytesIn;
    }
  };
  h.loop.paused = false;
  await done;
  const ms = (performance.now() - t0) / ticks;
  const cross = (h.publisher.bytesIn - b0) / ticks;
  await h.close();
  return { what: `${shards} blocks on ${workers} thread(s)`, msPerTick: ms, crossBytesPerTick: cross, streamBytesPerTick: s.bytes / ticks };
}

const rows: Row[] = [await one()];
for (const n of values.workers!.split(",").map(Number)) rows.push(await sharded(n));
const kb = (b: number | null) => (b === null ? "-" : `${(b / 1024).toFixed(1)} KB`);
console.log(`${values.config}${values.aggregate !== undefined ? ` (aggregate_above_agents ${values.aggregate})` : ""}, ${ticks} ticks after ${warmup}, flat out, one telemetry sink attached`);
console.log("| serve | ms/tick | block payloads crossing threads per tick | stream per tick |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(`| ${r.what} | ${r.msPerTick.toFixed(2)} | ${kb(r.crossBytesPerTick)} | ${kb(r.streamBytesPerTick)} |`);
