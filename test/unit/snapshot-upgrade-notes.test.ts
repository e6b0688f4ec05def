// A snapshot written by an earlier build says how it was upgraded wherever it is loaded: the header's
// older schema version (1, before the agents' id reservation) and each layout upgrade
// (engine/snapshot/upgrade.ts) are named in loadSnapshot's `upgrades`, in townlet run's "resumed
// from" line (one-block and sharded worlds) and in the serve consoles' snapshot_load reply
// (`upgraded`, one-block and sharded). A schema 1 snapshot is made here from this build's own by
// taking the id reservation out of a world that reserved none (agents_per_town: 0), so it loads
// to the same state hash; the layout upgrade is the c8143e7 fixture's.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { loadConfig, type LoadedConfig } from "../../engine/config/loader.ts";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { loadBuildConfig } from "../../engine/build.ts";
import { ShardedSim } from "../../engine/shards.ts";
import { shardUpgradeNotes, writeShardSnapshotFile, type ShardSnapshot } from "../../engine/shard-snapshot.ts";
import { REWARD_BREAKDOWN_OUT, decodeSnapshot, encodeSnapshotData, loadSnapshot, readSnapshotFile, saveSnapshot, upgradeNotes } from "../../engine/snapshot.ts";
import { World } from "../../engine/world.ts";
import type { Principal } from "../../systems/console/index.ts";
import { corePlugins } from "../../systems/index.ts";
import { main } from "../../tools/cli.ts";
import { bindSystems } from "../../tools/serve.ts";
import { startShardedServe, type ShardServeHandle } from "../../tools/serve-shards.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../../tools/shard-host.ts";
import { WebSocket } from "ws";

const FIXTURE = fileURLToPath(new URL("../fixtures/snapshots/c8143e7-default-0000000300.snapshot", import.meta.url));
const SCHEMA_1 = "snapshot schema version 1 read as 2 (written before the agents' id reservation, issue #19)";
const ADMIN: Principal = { role: "admin", label: "ops" };
const ADMIN_TOKEN = "admin-token-0123456789";

let dir: string;
let configFile: string;
let config: LoadedConfig;
/** A one-block snapshot of schema version 1, at tick 20. */
let v1File: string;
/** A sharded snapshot (2 blocks) whose blocks are of schema version 1, at tick 20. */
let v1Shards: string;

/** This build's snapshot bytes as schema version 1 wrote them (no id reservation in the header). */
function asSchema1(bytes: Uint8Array): Uint8Array {
  const s = decodeSnapshot(bytes);
  expect(s.header.kernel).toMatchObject({ reserve_next: 1, reserve_end: 0 });
  s.header.schema_version = 1;
  delete s.header.kernel.reserve_next;
  delete s.header.kernel.reserve_end;
  return encodeSnapshotData(s);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "townlet-upgrade-notes-"));
  configFile = join(dir, "zero.yaml");
  // The serve test's snapshot folder is the config's own (an override would change the config hash).
  writeFileSync(configFile, `config_id: notes-zero\nseed: 3\nworld:\n  towns: 2\n  agents_per_town: 0\nsnapshot:\n  storage:\n    root: ${join(dir, "shards")}\n`);
  config = loadConfig(configFile, corePlugins);
  const w = new World({ settings: config.settings, plugins: corePlugins });
  w.run(20);
  mkdirSync(join(dir, "one"));
  v1File = join(dir, "one", "zero-v1.snapshot");
  writeFileSync(v1File, asSchema1(saveSnapshot(w, { configHash: config.configHash })));

  const sim = await ShardedSim.open({ configFile, build: { shards: 2 }, host: SHARD_HOST, hostModule: SHARD_HOST_MODULE, workers: 1 });
  try {
    await sim.advance(20);
    const s = await sim.snapshot();
    mkdirSync(join(dir, "shards"));
    v1Shards = writeShardSnapshotFile(join(dir, "shards"), { header: s.header, blocks: s.blocks.map(asSchema1) });
  } finally {
    await sim.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the upgrades of a snapshot", () => {
  it("are named by loadSnapshot: the header's older schema version, with the state hash still checked", () => {
    const w = new World({ settings: config.settings, plugins: corePlugins });
    const r = loadSnapshot(w, readSnapshotFile(v1File), { configHash: config.configHash });
    expect(r.upgrades).toEqual([SCHEMA_1]);
    expect(r.upgraded).toBeUndefined();
    const own = loadSnapshot(w, saveSnapshot(w, { configHash: config.configHash }), { configHash: config.configHash });
    expect(own.upgrades).toBeUndefined();
  });

  it("are named by loadSnapshot for a layout upgrade", () => {
    const c = loadConfig(DEFAULT_CONFIG_FILE, corePlugins);
    const r = loadSnapshot(new World({ settings: c.settings, plugins: corePlugins }), readSnapshotFile(FIXTURE), { configHash: c.configHash });
    expect(r.upgrades).toEqual([REWARD_BREAKDOWN_OUT.name]);
  });

  it("are read from a header alone, and once over the blocks of a sharded snapshot", () => {
    expect(upgradeNotes(readSnapshotFile(FIXTURE).header)).toEqual([REWARD_BREAKDOWN_OUT.name]);
    expect(upgradeNotes(readSnapshotFile(v1File).header)).toEqual([SCHEMA_1]);
    const w = new World({ settings: config.settings, plugins: corePlugins });
    expect(upgradeNotes(decodeSnapshot(saveSnapshot(w)).header)).toEqual([]);
    const fixture = readSnapshotFile(FIXTURE).header;
    const two: ShardSnapshot = {
      header: { config_id: "x", config_hash: null, tick: 0, seed: 0, towns: 2, blocks: 3, state_hash: "0" },
      blocks: [readFileSync(v1File), readFileSync(FIXTURE), readFileSync(v1File)].map((b) => new Uint8Array(b)),
    };
    expect(fixture.schema_version).toBe(2);
    expect(shardUpgradeNotes(two)).toEqual([SCHEMA_1, REWARD_BREAKDOWN_OUT.name]);
  });
});

async function cli(...argv: string[]): Promise<{ code: number; errs: string }> {
  const errs: string[] = [];
  const code = await main(argv, { log: () => {}, err: (l) => errs.push(l) });
  return { code, errs: errs.join("\n") };
}

describe("townlet run --resume", () => {
  it("names the schema upgrade on its resumed line (one block)", async () => {
    const r = await cli("run", "--config", configFile, "--resume", v1File, "--ticks", "25");
    expect(r.code, r.errs).toBe(0);
    expect(r.errs).toContain(`resumed from ${v1File} at tick 20 (written by an earlier build, upgraded: ${SCHEMA_1})`);
  });

  it("names the schema upgrade on its resumed line (sharded)", async () => {
    const r = await cli("run", "--config", configFile, "--resume", v1Shards, "--ticks", "25", "--workers", "1");
    expect(r.code, r.errs).toBe(0);
    expect(r.errs).toContain(`resumed from ${v1Shards} at tick 20 (written by an earlier build, upgraded: ${SCHEMA_1})`);
  });

  it("names the layout upgrade of a sharded snapshot's block on its resumed line", async () => {
    // The fixture as the block of a one-block sharded run (whose config hash covers world.shards: 1).
    const block = readSnapshotFile(FIXTURE);
    const h = block.header;
    h.config_hash = loadBuildConfig(DEFAULT_CONFIG_FILE, corePlugins, { shards: 1 }).configHash;
    const file = writeShardSnapshotFile(join(dir, "fixture-shards"), {
      header: { config_id: h.config_id, config_hash: h.config_hash, tick: h.tick, seed: h.seed, towns: h.towns, blocks: 1, state_hash: h.state_hash },
      blocks: [encodeSnapshotData(block)],
    });
    const r = await cli("run", "--resume", file, "--ticks", "305", "--workers", "1");
    expect(r.code, r.errs).toBe(0);
    expect(r.errs).toContain(`resumed from ${file} at tick 300 (written by an earlier build, upgraded: ${REWARD_BREAKDOWN_OUT.name})`);
  });
});

describe("the console's snapshot_load reply", () => {
  it("lists the upgrades in `upgraded` (one-block serve)", async () => {
    const w = new World({ settings: config.settings, plugins: corePlugins });
    const { console: svc } = bindSystems(w, { snapshotDir: join(dir, "one"), configHash: config.configHash });
    const p = svc.submit({ name: "snapshot_load", args: { path: "zero-v1.snapshot" }, cmd_id: "load-1" }, ADMIN, "local");
    w.step();
    const r = await p;
    expect(r.status, JSON.stringify(r.error)).toBe("ok");
    expect(r.result).toMatchObject({ tick: 20, upgraded: [SCHEMA_1] });
  });

  it("lists the upgrades in `upgraded` (sharded serve)", async () => {
    const tokensFile = join(dir, "tokens.yaml");
    writeFileSync(tokensFile, `- {token: ${ADMIN_TOKEN}, role: admin, label: operator}\n`);
    const h: ShardServeHandle = await startShardedServe({
      configFile,
      port: 0,
      tokensFile,
      audit: join(dir, "audit.ndjson"),
      paused: true,
      ticks: 40,
      observer: false,
      shards: 2,
      workers: 1,
    });
    const ws = new WebSocket(h.wsUrl, [], { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    try {
      await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
      const reply = new Promise<Record<string, unknown>>((resolve) =>
        ws.on("message", (d) => {
          const m = JSON.parse(d.toString()) as Record<string, unknown>;
          if (m.id === 1 && (m.type === "result" || m.type === "error")) resolve(m);
        }),
      );
      ws.send(JSON.stringify({ type: "command", id: 1, name: "snapshot_load", args: { path: v1Shards }, cmd_id: "load-1" }));
      const m = await reply;
      expect(m.status, JSON.stringify(m.error)).toBe("ok");
      expect(m.result).toMatchObject({ tick: 20, upgraded: [SCHEMA_1] });
    } finally {
      ws.terminate();
      await h.close();
    }
  });
});
