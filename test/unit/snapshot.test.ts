// Snapshots (engine/snapshot.ts, systems/persistence): a world restored at tick T and run on
// gives the same state hash at every later tick as the run that never stopped (RNG included),
// on the default town and on 20 many-towns; "heavy mode" saves and reloads every tick; damaged,
// foreign, newer and other-config files are refused with a typed error and change nothing;
// migrations are pure functions tested on a fixture snapshot; autosave, retention, the newest
// valid snapshot of a folder, and `townlet run --snapshot-every/--snapshot-dir/--resume`.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../engine/core-components.ts";
import { loadConfig, parseConfigObject, type LoadedConfig } from "../../engine/config/loader.ts";
import { defineMessage } from "../../engine/message.ts";
import { definePlugin, type AnyPlugin, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import {
  MigrationRegistry,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_SCHEMA_VERSION,
  SnapshotError,
  decodeSnapshot,
  encodeSnapshotData,
  loadSnapshot,
  newestValidSnapshot,
  readSnapshotFile,
  saveSnapshot,
  snapshotColumn,
  snapshotFileName,
  snapshotPluginState,
  withSnapshotColumn,
  withSnapshotPluginState,
  writeSnapshotFile,
  type SnapshotData,
} from "../../engine/snapshot.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { configureAutosave, snapshotMeta, type PersistenceState } from "../../systems/persistence/index.ts";
import { DEFAULT_CONFIG } from "../../tools/cli.ts";
import { runJson } from "../helpers/cli-run.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../fixtures/snapshots/", import.meta.url));

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), "townlet-snap-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fresh(config: LoadedConfig): World {
  return new World({ settings: config.settings, plugins: corePlugins });
}

/** State hashes of a plain run after each tick 1..ticks (index = tick). */
function plainHashes(config: LoadedConfig, ticks: number): { hashes: string[]; kpis: Record<string, unknown> } {
  const w = fresh(config);
  const hashes = [w.stateHash()];
  for (let t = 1; t <= ticks; t++) {
    w.step();
    hashes.push(w.stateHash());
  }
  return { hashes, kpis: w.kpis() };
}

/** Runs to `at`, saves, restores into a fresh world and checks every later tick's hash. */
function expectResumeMatches(config: LoadedConfig, plain: string[], at: number, ticks: number): World {
  const a = fresh(config);
  a.run(at);
  const bytes = saveSnapshot(a, { configHash: config.configHash });
  const b = fresh(config);
  loadSnapshot(b, bytes, { configHash: config.configHash });
  expect(b.tick).toBe(at);
  expect(b.stateHash()).toBe(plain[at]);
  for (let t = at + 1; t <= ticks; t++) {
    b.step();
    const h = b.stateHash();
    if (h !== plain[t]) expect(h, `state hash at tick ${t} after resuming from ${at}`).toBe(plain[t]);
  }
  return b;
}

describe("restore and continue", () => {
  let config: LoadedConfig;
  let plain: { hashes: string[]; kpis: Record<string, unknown> };
  const TICKS = 620;
  beforeAll(() => {
    config = loadConfig(DEFAULT_CONFIG, corePlugins);
    plain = plainHashes(config, TICKS);
  });

  it("default town, every core plug-in: resumed from 200 and from 400, same hash at every later tick", () => {
    for (const at of [200, 400]) {
      const b = expectResumeMatches(config, plain.hashes, at, TICKS);
      expect(b.kpis()).toEqual(plain.kpis);
    }
  });

  it("many-towns with 20 towns: resumed from 150, same hash at every later tick", () => {
    const many = loadConfig(join(ROOT, "configs/many-towns.yaml"), corePlugins, { overrides: { "world.towns": 20 } });
    const ref = plainHashes(many, 400);
    const b = expectResumeMatches(many, ref.hashes, 150, 400);
    expect(b.towns).toBe(20);
    expect(b.kpis()).toEqual(ref.kpis);
  });

  it("a random policy draws the same actions after a resume (RNG streams restored)", () => {
    const rnd = loadConfig(DEFAULT_CONFIG, corePlugins, { overrides: { "runtime.policy": "random" } });
    const ref = plainHashes(rnd, 300);
    expectResumeMatches(rnd, ref.hashes, 120, 300);
  });

  it("heavy mode: saved and reloaded into a fresh world every tick for 100 ticks, hashes equal a plain run", () => {
    let w = fresh(config);
    for (let t = 1; t <= 100; t++) {
      w.step();
      const bytes = saveSnapshot(w);
      w = fresh(config);
      loadSnapshot(w, bytes);
      const h = w.stateHash();
      if (h !== plain.hashes[t]) expect(h, `heavy mode, tick ${t}`).toBe(plain.hashes[t]);
    }
  });

  it("heavy mode on 20 many-towns with a random policy", () => {
    const many = loadConfig(join(ROOT, "configs/many-towns.yaml"), corePlugins, { overrides: { "world.towns": 20, "runtime.policy": "random" } });
    const ref = plainHashes(many, 100);
    let w = fresh(many);
    for (let t = 1; t <= 100; t++) {
      w.step();
      const bytes = saveSnapshot(w);
      w = fresh(many);
      loadSnapshot(w, bytes);
      if (w.stateHash() !== ref.hashes[t]) expect(w.stateHash(), `heavy mode, tick ${t}`).toBe(ref.hashes[t]);
    }
  });

  it("restores into a world that has run further (columns, flags and indexes beyond the snapshot are cleared)", () => {
    const a = fresh(config);
    a.run(120);
    const early = saveSnapshot(a);
    const b = fresh(config);
    b.run(330);
    b.spawnAgent(0, { name: "stray" });
    loadSnapshot(b, early);
    expect(b.tick).toBe(120);
    expect(b.agentEid("stray")).toBe(-1);
    for (let t = 121; t <= 220; t++) {
      b.step();
      if (b.stateHash() !== plain.hashes[t]) expect(b.stateHash(), `tick ${t}`).toBe(plain.hashes[t]);
    }
  });

  it("restores the entity index: the next spawned and recycled ids are the same as in the run that never stopped", () => {
    const a = fresh(config);
    a.run(50);
    const b = fresh(config);
    loadSnapshot(b, saveSnapshot(a));
    for (const w of [a, b]) {
      w.removeEntity(w.agents[3]);
      w.removeEntity(w.agents[0]);
    }
    const ids = (w: World) => [w.spawnAgent(0), w.spawnAgent(0, { name: "late_visitor" }), w.spawnAgent(0)];
    expect(ids(b)).toEqual(ids(a));
    expect(b.agentEid("late_visitor")).toBe(a.agentEid("late_visitor"));
    expect(b.stateHash()).toBe(a.stateHash());
    a.run(20);
    b.run(20);
    expect(b.stateHash()).toBe(a.stateHash());
  });

  it("saves the same bytes for the same state, and save(load(save(w))) reproduces them", () => {
    const a = fresh(config);
    a.run(30);
    const one = saveSnapshot(a, { configHash: config.configHash });
    expect(Buffer.from(saveSnapshot(a, { configHash: config.configHash })).equals(Buffer.from(one))).toBe(true);
    const b = fresh(config);
    loadSnapshot(b, one);
    expect(Buffer.from(saveSnapshot(b, { configHash: config.configHash })).equals(Buffer.from(one))).toBe(true);
  });

  it("stamps the header: versions, config_id, config hash, tick, RNG states, policy hash, variant, anneal ratio, checksum", () => {
    const a = fresh(config);
    a.run(10);
    const snap = decodeSnapshot(saveSnapshot(a, snapshotMeta(a, config.configHash)));
    const h = snap.header;
    expect(snap.formatVersion).toBe(SNAPSHOT_FORMAT_VERSION);
    expect(h.schema_version).toBe(SNAPSHOT_SCHEMA_VERSION);
    expect(h.config_id).toBe("townlet-default-v1");
    expect(h.config_hash).toBe(config.configHash);
    expect(h.tick).toBe(10);
    expect(h.seed).toBe(a.seed);
    expect(Object.keys(h.rng).sort()).toEqual([...a.rng.order].sort());
    expect(h.rng.world).toEqual(a.rng.get("world").state());
    expect(h.policy_hash).toBeNull(); // the scripted controller has no weights
    expect(h.observation_variant).toBe("hybrid");
    expect(h.anneal_ratio).toBeNull();
    expect(h.state_hash).toBe(a.stateHash());
    expect(h.payload_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(h.kernel.max_id).toBe(a.maxEntityId());
    expect(h.components.map((c) => c.name)).toContain("Needs");
    // Columns are raw bytes over [0, max_id], not JSON.
    const hunger = snapshotColumn(snap, "Needs", "hunger");
    expect(hunger).toBeInstanceOf(Float32Array);
    expect(hunger.length).toBe(a.maxEntityId() + 1);
  });
});

// ---- refusals ---------------------------------------------------------------------------------

describe("refused snapshots", () => {
  let config: LoadedConfig;
  let good: Uint8Array;
  beforeAll(() => {
    config = loadConfig(DEFAULT_CONFIG, corePlugins);
    const w = fresh(config);
    w.run(40);
    good = saveSnapshot(w, { configHash: config.configHash });
  });

  /** Loads `bytes` into a world at tick 7 and expects a SnapshotError with `code`, world unchanged. */
  function expectRefused(bytes: Uint8Array, code: string | string[], world?: World, opts: Parameters<typeof loadSnapshot>[2] = {}): SnapshotError {
    const w = world ?? fresh(config);
    if (!world) w.run(7);
    const before = w.stateHash();
    const tick = w.tick;
    let err: unknown;
    try {
      loadSnapshot(w, bytes, opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SnapshotError);
    expect([code].flat()).toContain((err as SnapshotError).code);
    expect(w.tick).toBe(tick);
    expect(w.stateHash()).toBe(before);
    return err as SnapshotError;
  }

  it("refuses truncated files (code truncated)", () => {
    for (const n of [0, 3, 12, 40, 200, good.length >> 1, good.length - 33, good.length - 1]) {
      expectRefused(good.subarray(0, n), "truncated");
    }
  });

  it("refuses bit-flipped files (code checksum, or the header's own check)", () => {
    const headerEnd = 16 + new DataView(good.buffer, good.byteOffset).getUint32(12, true);
    // Sections and the trailing sha256: the checksum says so.
    for (const p of [headerEnd + 5, good.length >> 2, good.length >> 1, good.length - 100, good.length - 40, good.length - 1]) {
      expect(p).toBeGreaterThan(headerEnd);
      const bad = good.slice();
      bad[p] ^= 0x10;
      expectRefused(bad, "checksum");
    }
    // The header and its length field: refused by the checksum, or earlier when the header no
    // longer parses or its lengths no longer fit.
    for (const p of [13, 20, 100, headerEnd >> 1, headerEnd - 2]) {
      const bad = good.slice();
      bad[p] ^= 0x10;
      expectRefused(bad, ["checksum", "truncated", "corrupt"]);
    }
  });

  it("refuses foreign files (code bad_magic)", () => {
    expectRefused(new TextEncoder().encode('{"config_id":"townlet-default-v1","tick":40}'), "bad_magic");
    expectRefused(new TextEncoder().encode("TWNLSNAX and then some more bytes"), "bad_magic");
    expectRefused(readFileSync(DEFAULT_CONFIG), "bad_magic");
  });

  it("refuses files of a newer format or schema version (code version)", () => {
    const newer = good.slice();
    new DataView(newer.buffer).setUint32(8, SNAPSHOT_FORMAT_VERSION + 1, true);
    const e = expectRefused(newer, "version");
    expect(e.message).toMatch(/newer/);
    const snap = decodeSnapshot(good);
    expectRefused(encodeSnapshotData({ ...snap, header: { ...snap.header, schema_version: SNAPSHOT_SCHEMA_VERSION + 1 } }), "version");
  });

  it("refuses a snapshot whose component layout differs, naming the component and each field that differs (code schema)", () => {
    // What a build that changed a column's type (Employment.absent_shifts_7d Uint16 -> Uint8 in
    // issue #19) or added a field finds in an older file.
    const snap = decodeSnapshot(good);
    const changed = snap.header.components.map((c) =>
      c.name !== "Employment"
        ? c
        : { ...c, fields: c.fields.map(([n, t]): [string, string] => (n === "absent_shifts_7d" ? [n, t === "Uint8Array" ? "Uint16Array" : "Uint8Array"] : [n, t])).filter(([n]) => n !== "flags").concat([["old_field", "Float32Array"]]) },
    );
    const here = snap.header.components.find((c) => c.name === "Employment")!.fields.find(([n]) => n === "absent_shifts_7d")![1];
    const e = expectRefused(encodeSnapshotData({ ...snap, header: { ...snap.header, components: changed } }), "schema");
    expect(e.message).toContain(
      `component "Employment": field absent_shifts_7d is ${here === "Uint8Array" ? "Uint16Array" : "Uint8Array"} in the snapshot, ${here} here; ` +
        "field old_field is only in the snapshot; field flags is not in the snapshot (written by a build with another layout of it: load it with that build, or write the snapshot again with this one)",
    );
  });

  it("refuses another config_id without a migration, and another config hash (code config_mismatch)", () => {
    const other = loadConfig(join(ROOT, "configs/many-towns.yaml"), corePlugins, { overrides: { "world.towns": 1 } });
    const w = new World({ settings: other.settings, plugins: corePlugins });
    w.run(3);
    expectRefused(good, "config_mismatch", w);
    expectRefused(good, "config_mismatch", undefined, { configHash: "0000000000000000" });
  });

  it("refuses a snapshot of other plug-ins (code schema) and a different town count (config_mismatch)", () => {
    const more = new World({ settings: config.settings, plugins: [...corePlugins, coinsPlugin] });
    more.run(2);
    expectRefused(good, "schema", more);
    const three = new World({ settings: config.settings, plugins: corePlugins, towns: 3 });
    three.run(2);
    expectRefused(good, "config_mismatch", three);
  });

  it("leaves files alone: a refused load overwrites nothing on disk", () => {
    const dir = join(tmp, "refused");
    const w = fresh(config);
    w.run(5);
    const path = writeSnapshotFile(dir, w);
    const bytes = readFileSync(path);
    const damaged = Uint8Array.from(bytes);
    damaged[damaged.length >> 1] ^= 1;
    writeFileSync(join(dir, snapshotFileName("townlet-default-v1", 9)), damaged);
    const before = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString("base64")]));
    expect(() => readSnapshotFile(join(dir, snapshotFileName("townlet-default-v1", 9)))).toThrow(SnapshotError);
    const newest = newestValidSnapshot(dir);
    expect(newest?.path).toBe(path); // the damaged newer one is skipped
    expect(Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString("base64")]))).toEqual(before);
  });
});

// ---- migrations on the fixture ------------------------------------------------------------------

const Coins = { amount: Float32Array, flips: Uint16Array };
const Payday = defineMessage("snapfix_payday", { agent: "eid", amount: "float" });

class Bank implements PersistentState {
  paid = 0;
  history: number[] = [];
  save(): unknown {
    return { paid: this.paid, history: Float64Array.from(this.history) };
  }
  load(d: unknown): void {
    const s = d as { paid: number; history: Float64Array };
    this.paid = s.paid;
    this.history = Array.from(s.history);
  }
  hash(h: StateHasher): void {
    h.f64(this.paid).u32(this.history.length);
  }
}

/** The fixture's own plug-in (the core plug-ins may change; the fixture must not). */
const coinsPlugin = definePlugin({
  name: "snapfix_coins",
  components: { Coins },
  messages: [Payday],
  state: () => new Bank(),
  setup({ world }) {
    for (let i = 0; i < 5; i++) world.spawnAgent(0, i === 2 ? { name: "banker" } : {});
  },
  onAgentSpawn({ world, defs }, eid) {
    world.addComponent(eid, defs.Coins, { amount: 1 });
  },
  systems: [
    {
      name: "snapfix_coins/pay",
      phase: "needs",
      run({ agents, rng, components: { Coins: C }, send, state, tick }) {
        for (let i = 0; i < agents.length; i++) {
          const eid = agents[i];
          if (rng.next() < 0.3) {
            const amount = Math.round(rng.uniform(0, 10) * 4) / 4;
            C.amount[eid] += amount;
            C.flips[eid]++;
            state.paid += amount;
            send(Payday, eid, amount);
          }
        }
        state.history.push(tick);
      },
    },
  ],
});
const FIXTURE_PLUGINS: AnyPlugin[] = [coinsPlugin];
const FIXTURE_FILE = join(FIXTURES, "snapfix-v1-0000000010.snapshot");

function fixtureWorld(configId: string): World {
  const settings = parseConfigObject({ config_id: configId, seed: 3, world: { agents_per_town: 0 } }, corePlugins);
  return new World({ settings, plugins: FIXTURE_PLUGINS });
}

describe("migrations on fixture snapshots", () => {
  beforeAll(() => {
    if (process.env.UPDATE_SNAPSHOT_FIXTURES || !existsSync(FIXTURE_FILE)) {
      const w = fixtureWorld("snapfix-v1");
      w.run(10);
      writeSnapshotFile(FIXTURES, w);
    }
  });

  it("reads the fixture written by an earlier build, bit for bit", () => {
    const snap = readSnapshotFile(FIXTURE_FILE);
    expect(snap.header.config_id).toBe("snapfix-v1");
    expect(snap.header.tick).toBe(10);
    const w = fixtureWorld("snapfix-v1");
    loadSnapshot(w, snap);
    const ref = fixtureWorld("snapfix-v1");
    ref.run(10);
    expect(w.stateHash()).toBe(ref.stateHash());
    expect(w.agentEid("banker")).toBe(ref.agentEid("banker"));
    w.run(15);
    ref.run(15);
    expect(w.stateHash()).toBe(ref.stateHash());
  });

  it("refuses the fixture in a world of another config_id when no migration is registered", () => {
    const w = fixtureWorld("snapfix-v2");
    expect(() => loadSnapshot(w, readSnapshotFile(FIXTURE_FILE), { migrations: new MigrationRegistry() })).toThrow(
      expect.objectContaining({ code: "config_mismatch" }),
    );
    expect(w.tick).toBe(0);
  });

  it("applies a registered chain of pure migrations (v1 -> v2 -> v3) and leaves its input unchanged", () => {
    const reg = new MigrationRegistry();
    // v2 pays everyone double; v3 forgets the payment history.
    reg.register("snapfix-v1", "snapfix-v2", (s) => {
      const amount = snapshotColumn(s, "Coins", "amount") as Float32Array;
      for (let i = 0; i < amount.length; i++) amount[i] *= 2;
      return withSnapshotColumn(s, "Coins", "amount", amount);
    });
    reg.register("snapfix-v2", "snapfix-v3", (s) => {
      const bank = snapshotPluginState(s, "snapfix_coins") as { paid: number; history: Float64Array };
      return withSnapshotPluginState(s, "snapfix_coins", { paid: bank.paid, history: new Float64Array(0) });
    });
    const input = readSnapshotFile(FIXTURE_FILE);
    const inputCopy = encodeSnapshotData(input);
    const v1 = fixtureWorld("snapfix-v1");
    loadSnapshot(v1, input);
    const w = fixtureWorld("snapfix-v3");
    const r = loadSnapshot(w, input, { migrations: reg });
    expect(r.migrated).toEqual(["snapfix-v1", "snapfix-v2", "snapfix-v3"]);
    expect(r.header.config_id).toBe("snapfix-v3");
    const C = w.columns(w.componentDef("Coins"));
    const C1 = v1.columns(v1.componentDef("Coins"));
    for (const eid of v1.agents) expect(C.amount[eid]).toBe(C1.amount[eid] * 2);
    expect(w.state<Bank>("snapfix_coins").history).toEqual([]);
    expect(w.state<Bank>("snapfix_coins").paid).toBe(v1.state<Bank>("snapfix_coins").paid);
    // Pure: the input snapshot is byte-for-byte what it was.
    expect(Buffer.from(encodeSnapshotData(input)).equals(Buffer.from(inputCopy))).toBe(true);
    // The migrated world runs on.
    w.run(5);
    expect(w.tick).toBe(15);
  });

  it("reports a failing migration with code migration and changes nothing", () => {
    const reg = new MigrationRegistry();
    reg.register("snapfix-v1", "snapfix-v2", () => {
      throw new Error("no");
    });
    const w = fixtureWorld("snapfix-v2");
    const before = w.stateHash();
    expect(() => loadSnapshot(w, readSnapshotFile(FIXTURE_FILE), { migrations: reg })).toThrow(expect.objectContaining({ code: "migration" }));
    expect(w.stateHash()).toBe(before);
  });

  it("rejects registering the same migration twice", () => {
    const reg = new MigrationRegistry();
    const id = (s: SnapshotData) => s;
    reg.register("a", "b", id);
    expect(() => reg.register("a", "b", id)).toThrow(/already registered/);
  });
});

// ---- files, autosave, CLI ---------------------------------------------------------------------------

describe("snapshot files and autosave", () => {
  it("names files <config_id>-<tick, 10 digits>.snapshot and keeps the newest `retain`", () => {
    const dir = join(tmp, "retain");
    const config = loadConfig(DEFAULT_CONFIG, corePlugins);
    const w = fresh(config);
    for (let i = 0; i < 5; i++) {
      w.run(3);
      writeSnapshotFile(dir, w, {}, { retain: 2 });
    }
    expect(readdirSync(dir).sort()).toEqual(["townlet-default-v1-0000000012.snapshot", "townlet-default-v1-0000000015.snapshot"]);
    expect(newestValidSnapshot(dir)?.snapshot.header.tick).toBe(15);
  });

  it("autosaves at snapshot.autosave.cadence_ticks from the persistence phase, at the end of the tick", () => {
    const dir = join(tmp, "autosave");
    const config = loadConfig(DEFAULT_CONFIG, corePlugins, {
      overrides: { snapshot: { storage: { root: dir }, autosave: { cadence_ticks: 100, retain: 2 } } },
    });
    const w = fresh(config);
    const hashes: Record<number, string> = {};
    w.onTick((x) => (hashes[x.tick] = x.stateHash()));
    w.run(300);
    expect(readdirSync(dir).sort()).toEqual(["townlet-default-v1-0000000200.snapshot", "townlet-default-v1-0000000300.snapshot"]);
    const snap = readSnapshotFile(join(dir, "townlet-default-v1-0000000200.snapshot"));
    expect(snap.header.tick).toBe(200);
    expect(snap.header.state_hash).toBe(hashes[200]);
    expect(w.state<PersistenceState>("persistence").written).toHaveLength(3);
  });

  it("configureAutosave overrides the cadence and folder (what --snapshot-every does)", () => {
    const dir = join(tmp, "configured");
    const config = loadConfig(DEFAULT_CONFIG, corePlugins);
    const w = fresh(config);
    configureAutosave(w, { every: 7, dir, retain: 10, configHash: config.configHash });
    w.run(21);
    expect(readdirSync(dir).length).toBe(3);
    expect(readSnapshotFile(join(dir, snapshotFileName("townlet-default-v1", 14))).header.config_hash).toBe(config.configHash);
  });

  it("says not_found for a missing file or folder", () => {
    expect(() => readSnapshotFile(join(tmp, "nope.snapshot"))).toThrow(expect.objectContaining({ code: "not_found" }));
    expect(() => newestValidSnapshot(join(tmp, "nope"))).toThrow(expect.objectContaining({ code: "not_found" }));
  });
});

describe("townlet run --snapshot-every / --resume", () => {
  const run = runJson;

  it("resumes from the tick-200 snapshot (folder or file) to the same final state hash as an uninterrupted 300-tick run", async () => {
    const dir = join(tmp, "cli");
    const whole = await run(["--ticks", "300"]);
    expect(whole.code).toBe(0);
    const saved = await run(["--snapshot-every", "100", "--snapshot-dir", dir, "--ticks", "300"]);
    expect(saved.code).toBe(0);
    expect(saved.json.state_hash).toBe(whole.json.state_hash);
    expect(readdirSync(dir).sort()).toEqual(["100", "200", "300"].map((t) => `townlet-default-v1-0000000${t}.snapshot`));
    const file200 = join(dir, "townlet-default-v1-0000000200.snapshot");
    const fromFile = await run(["--resume", file200, "--ticks", "300"]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.json.resumed_from).toBe(200);
    expect(fromFile.json.state_hash).toBe(whole.json.state_hash);
    expect(fromFile.json.ticks).toBe(300);
    unlinkSync(join(dir, "townlet-default-v1-0000000300.snapshot"));
    const fromDir = await run(["--resume", dir, "--ticks", "300"]);
    expect(fromDir.code).toBe(0);
    expect(fromDir.json.resumed_from).toBe(200);
    expect(fromDir.json.state_hash).toBe(whole.json.state_hash);
    expect(fromDir.json.kpis).toEqual(whole.json.kpis);
  });

  it("exits 1 with the reason for a damaged or missing snapshot", async () => {
    const dir = join(tmp, "cli-bad");
    const ok = await run(["--snapshot-every", "50", "--snapshot-dir", dir, "--ticks", "50"]);
    expect(ok.code).toBe(0);
    const file = join(dir, "townlet-default-v1-0000000050.snapshot");
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 4;
    writeFileSync(file, bytes);
    const bad = await run(["--resume", file, "--ticks", "100"]);
    expect(bad.code).toBe(1);
    expect(bad.errs.join("\n")).toMatch(/checksum|sha256/);
    const none = await run(["--resume", dir, "--ticks", "100"]);
    expect(none.code).toBe(1);
    expect(none.errs.join("\n")).toMatch(/no snapshot/);
    expect((await run(["--resume", join(dir, "missing.snapshot")])).code).toBe(1);
  });
});
