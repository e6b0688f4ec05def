// affordances.runtime.instrumentation "timings" on a sharded world (world.shards > 1): the merged
// telemetry's affordance_timings section (tools/serve-shard-stream.ts, serve-shard-exact.ts) and
// the console's affordance_timings answer (tools/serve-shard-console.ts) are the sums over the
// blocks, per affordance and stage: counts added, milliseconds added and rounded again. The
// manifest names the shower's affordance "hydrate": the generic merge reads a key path holding
// "rate" as a mean (over live agents in the stream, over blocks in the console), which a sum must
// not be.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { World } from "../../engine/world.ts";
import type { AffordanceTiming } from "../../systems/affordances/timings.ts";
import type { CommandResultT, Principal } from "../../systems/console/index.ts";
import type { TelemetryPublisher } from "../../systems/telemetry/index.ts";
import { TelemetrySection } from "../../systems/telemetry/config.ts";
import { ShardStream } from "../../tools/serve-shard-stream.ts";
import { payloadToGlobal, type BlockFrame } from "../../tools/serve-shard-ids.ts";
import type { BlockPayloads } from "../../tools/serve-shard-host.ts";
import { startShardedServe, type ShardServeHandle } from "../../tools/serve-shards.ts";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { makeWorld } from "../helpers/world.ts";

type Report = Record<string, AffordanceTiming>;
const TOWN_YAML = fileURLToPath(new URL("../../configs/affordances/town.yaml", import.meta.url));

/** configs/affordances/town.yaml with use_shower named "hydrate", in a new temp file. */
function hydrateManifest(): string {
  const text = readFileSync(TOWN_YAML, "utf8");
  expect(text).toContain("- id: use_shower\n");
  const file = join(mkdtempSync(join(tmpdir(), "townlet-timings-shards-")), "town.yaml");
  writeFileSync(file, text.replace("- id: use_shower\n", "- id: hydrate\n"));
  return file;
}

const FIELDS = ["starts", "started", "finishes", "fails", "hook_calls"] as const;
const MS = ["start_ms", "finish_ms", "fail_ms"] as const;
const STAGES = ["before", "after", "fail"] as const;

/** `got` is the blocks' reports summed: counts exactly, times to the 4 decimals they are rounded to. */
function expectSum(got: Report, blocks: readonly (Report | undefined)[]): void {
  const ids = [...new Set(blocks.flatMap((b) => Object.keys(b ?? {})))];
  expect(Object.keys(got)).toEqual(ids);
  for (const id of ids) {
    const rows = blocks.map((b) => b?.[id]).filter((r): r is AffordanceTiming => r !== undefined);
    for (const f of FIELDS) expect(got[id][f], `${id}.${f}`).toBe(rows.reduce((a, r) => a + r[f], 0));
    for (const f of MS) expect(got[id][f], `${id}.${f}`).toBe(Math.round(rows.reduce((a, r) => a + r[f], 0) * 1e4) / 1e4);
    for (const s of STAGES) expect(got[id].hook_ms[s], `${id}.hook_ms.${s}`).toBe(Math.round(rows.reduce((a, r) => a + r.hook_ms[s], 0) * 1e4) / 1e4);
  }
}

const handles: ShardServeHandle[] = [];
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
});

describe('instrumentation "timings" on a sharded world', () => {
  it("publishes affordance_timings in the merged telemetry as the sum over the blocks", () => {
    const file = hydrateManifest();
    const over = { affordances: { affordances_file: file, runtime: { instrumentation: "timings" } } };
    const cfg = TelemetrySection.parse({});
    // Two blocks of one town each, unequal live agents (the weights of a mean).
    const frames: BlockFrame[] = [0, 1].map((b) => ({ block: b, offset: b, towns: 1, worldTowns: 2 }));
    const worlds: World[] = [3, 6].map((agents) => makeWorld({ ...over, world: { towns: 1, agents_per_town: agents } }));
    const out: BlockPayloads[] = worlds.map(() => []);
    const pub = (w: World) => w.state<TelemetryPublisher>("telemetry");
    worlds.forEach((w, b) => pub(w).addSink({ deliver: (p) => out[b].push(payloadToGlobal(p.payload, frames[b])) }));
    const stream = new ShardStream(cfg, "test", 2, 2, frames);
    const take = () => out.map((o) => o.splice(0, o.length));
    stream.ingest(take(), 0);
    for (let t = 0; t < 150; t++) {
      for (const w of worlds) w.step();
      stream.ingest(take(), worlds[0].tick);
    }
    const blocks = worlds.map((w) => (pub(w).state() as { affordance_timings?: Report }).affordance_timings);
    const merged = (stream.state() as { affordance_timings?: Report }).affordance_timings!;
    expect(blocks.every((b) => (b?.hydrate?.starts ?? 0) > 0)).toBe(true);
    expectSum(merged, blocks);
  });

  it("answers the console's affordance_timings with the sum over the blocks, as the merged telemetry (2 blocks, serve --shards 2)", async () => {
    const file = hydrateManifest();
    const h = await startShardedServe({
      configFile: DEFAULT_CONFIG_FILE,
      port: 0,
      paused: true,
      ticks: 150,
      observer: false,
      towns: 2,
      agents: 4,
      shards: 2,
      workers: 1,
      overrides: { "affordances.affordances_file": file, "affordances.runtime.instrumentation": "timings", "snapshot.storage.root": mkdtempSync(join(tmpdir(), "townlet-timings-shards-snap-")) },
    });
    handles.push(h);
    const admin: Principal = { role: "admin", label: "operator" };
    const run = (name: string) => h.console.submit({ name, args: {} }, admin, "local") as Promise<CommandResultT>;
    expect(await run("resume")).toMatchObject({ status: "ok" });
    while (h.loop.status().state !== "finished") await new Promise((r) => setTimeout(r, 20));
    expect(h.sim.tick).toBe(150);
    const r = await run("affordance_timings");
    expect(r.status, JSON.stringify(r.error)).toBe("ok");
    const body = r.result as { tick: number; instrumentation: string; affordances: Report };
    expect(body.instrumentation).toBe("timings");
    expect(body.tick).toBe(150);
    const merged = (h.publisher.state() as { affordance_timings?: Report }).affordance_timings!;
    expect(merged.hydrate.starts).toBeGreaterThan(0);
    // The blocks ran no tick since they published: the same figures as the merged section.
    expect(body.affordances).toEqual(merged);
  }, 120_000);
});
