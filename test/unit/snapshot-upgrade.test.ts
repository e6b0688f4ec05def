// Snapshots written by an earlier build load in this one (engine/snapshot/upgrade.ts): the
// fixture test/fixtures/snapshots/c8143e7-default-0000000300.snapshot was written by a
// `git archive c8143e7` build (schema version 2, the Reward layout with the per-term breakdown and
// the RewardMemo component, both changed by a7baac6) with
//   townlet run configs/default.yaml --ticks 300 --snapshot-every 300 --snapshot-dir DIR
// It loads with Reward.total/episode/potential and RewardMemo.primed carried over, resumes into the
// state this build's own run has at that tick, and runs on the same way every time; any other
// layout difference is still refused naming the component and field; the CLI resumes from it.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig, type LoadedConfig } from "../../engine/config/loader.ts";
import {
  REWARD_BREAKDOWN_OUT,
  SNAPSHOT_SCHEMA_VERSION,
  decodeSnapshot,
  encodeSnapshotData,
  loadSnapshot,
  readSnapshotFile,
  saveSnapshot,
  snapshotColumn,
  upgradeLayouts,
  type SnapshotData,
} from "../../engine/snapshot.ts";
import { World } from "../../engine/world.ts";
import { Reward } from "../../components/people.ts";
import { ShardedSim } from "../../engine/shards.ts";
import { ShardedRollout } from "../../training/sharded-rollout.ts";
import { corePlugins } from "../../systems/index.ts";
import { DEFAULT_CONFIG, main } from "../../tools/cli.ts";
import { runJson } from "../helpers/cli-run.ts";
import { SHARD_HOST, SHARD_HOST_MODULE } from "../../tools/shard-host.ts";

const FIXTURE = fileURLToPath(new URL("../fixtures/snapshots/c8143e7-default-0000000300.snapshot", import.meta.url));
const BREAKDOWN = ["survival", "needs_penalty", "wage", "punctuality", "social", "shaping", "curiosity", "terminal", "clip_adjustment"];

let config: LoadedConfig;
let tmp: string;
beforeAll(() => {
  config = loadConfig(DEFAULT_CONFIG, corePlugins);
  tmp = mkdtempSync(join(tmpdir(), "townlet-upgrade-"));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const fresh = () => new World({ settings: config.settings, plugins: corePlugins });

/** A world loaded from the fixture, and what the load said. */
function loaded(): { w: World; upgraded: string[] | undefined } {
  const w = fresh();
  const r = loadSnapshot(w, readSnapshotFile(FIXTURE), { configHash: config.configHash });
  return { w, upgraded: r.upgraded };
}

/** The fixture with its header's components and sections changed by `edit` (checksum redone). */
function edited(edit: (s: SnapshotData) => void): Uint8Array {
  const s = readSnapshotFile(FIXTURE);
  const copy: SnapshotData = { formatVersion: s.formatVersion, header: structuredClone(s.header), sections: new Map(s.sections) };
  edit(copy);
  return encodeSnapshotData(copy);
}

describe("a snapshot written before a7baac6 (Reward breakdown, RewardMemo)", () => {
  it("is the earlier layout: schema 2 with the breakdown columns and RewardMemo", () => {
    const h = readSnapshotFile(FIXTURE).header;
    expect(h.schema_version).toBe(2);
    expect(h.tick).toBe(300);
    expect(h.components.find((c) => c.name === "Reward")?.fields.map(([n]) => n)).toEqual(["total", ...BREAKDOWN, "episode", "potential"]);
    expect(h.components.some((c) => c.name === "RewardMemo")).toBe(true);
  });

  it("loads with Reward.total, episode and potential as saved and primed from RewardMemo.primed", () => {
    const snap = readSnapshotFile(FIXTURE);
    const { w, upgraded } = loaded();
    expect(upgraded).toEqual([REWARD_BREAKDOWN_OUT.name]);
    expect(w.tick).toBe(300);
    const R = w.columns(Reward);
    const saved = {
      total: snapshotColumn(snap, "Reward", "total"),
      episode: snapshotColumn(snap, "Reward", "episode"),
      potential: snapshotColumn(snap, "Reward", "potential"),
      primed: snapshotColumn(snap, "RewardMemo", "primed"),
    };
    expect(w.agents.length).toBe(12);
    let primed = 0;
    let nonZero = 0;
    for (const eid of w.agents) {
      for (const f of ["total", "episode", "potential", "primed"] as const) expect(R[f][eid]).toBe(saved[f][eid]);
      primed += R.primed[eid];
      if (R.episode[eid] !== 0) nonZero++;
    }
    // Not a fixture of zeros: every agent has been rewarded (primed) and has an episode sum.
    expect(primed).toBe(12);
    expect(nonZero).toBe(12);
  });

  it("resumes into the state this build's own run has at tick 300, and runs on the same way twice", () => {
    const ref = fresh();
    ref.run(300);
    const a = loaded().w;
    const b = loaded().w;
    expect(a.stateHash()).toBe(ref.stateHash());
    const same = [];
    for (let t = 301; t <= 450; t++) {
      a.step();
      b.step();
      ref.step();
      expect(b.stateHash()).toBe(a.stateHash());
      same.push(a.stateHash() === ref.stateHash());
    }
    expect(same.every(Boolean)).toBe(true);
    expect(a.kpis()).toEqual(ref.kpis());
  });

  it("resumes as a snapshot this build wrote at the same tick does (same hashes and KPIs)", () => {
    const ref = fresh();
    ref.run(300);
    const own = fresh();
    loadSnapshot(own, saveSnapshot(ref, { configHash: config.configHash }), { configHash: config.configHash });
    const old = loaded().w;
    old.run(100);
    own.run(100);
    expect(old.stateHash()).toBe(own.stateHash());
    expect(old.kpis()).toEqual(own.kpis());
  });

  it("writes it again in this build's layout, same schema version, and that file verifies its hash", () => {
    const { w } = loaded();
    const bytes = saveSnapshot(w, { configHash: config.configHash });
    const h = decodeSnapshot(bytes).header;
    expect(h.schema_version).toBe(SNAPSHOT_SCHEMA_VERSION);
    expect(h.components.some((c) => c.name === "RewardMemo")).toBe(false);
    const again = fresh();
    const r = loadSnapshot(again, bytes, { configHash: config.configHash });
    expect(r.upgraded).toBeUndefined();
    expect(again.stateHash()).toBe(w.stateHash());
  });

  it("still refuses another layout of Reward, naming the component and the field", () => {
    const w = fresh();
    const missingWage = edited((s) => {
      const r = s.header.components.find((c) => c.name === "Reward")!;
      r.fields = r.fields.filter(([n]) => n !== "wage");
      s.sections.delete("comp/Reward/wage");
    });
    expect(() => loadSnapshot(w, missingWage)).toThrow(expect.objectContaining({ code: "schema", message: expect.stringMatching(/component "Reward": field survival is only in the snapshot/) }));
    const floatPrimed = edited((s) => {
      s.header.components.find((c) => c.name === "RewardMemo")!.fields = [["primed", "Float32Array"]];
      const n = s.header.kernel.max_id + 1;
      s.sections.set("comp/RewardMemo/primed", new Uint8Array(4 * n));
    });
    expect(() => loadSnapshot(w, floatPrimed)).toThrow(expect.objectContaining({ code: "schema", message: expect.stringMatching(/component "Reward":.*field primed is not in the snapshot/) }));
    expect(w.tick).toBe(0);
  });

  it("is upgraded only into this world's exact layout, leaving its input unchanged", () => {
    const snap = readSnapshotFile(FIXTURE);
    const before = JSON.stringify(snap.header);
    const w = fresh();
    const up = upgradeLayouts(w, snap);
    expect(up.applied).toEqual([REWARD_BREAKDOWN_OUT.name]);
    expect([...up.snap.sections.keys()].filter((k) => k.startsWith("comp/Reward")).sort()).toEqual(
      ["$has", "episode", "potential", "primed", "total"].map((f) => `comp/Reward/${f}`),
    );
    expect(JSON.stringify(snap.header)).toBe(before);
    expect(snap.sections.has("comp/RewardMemo/primed")).toBe(true);
    // A world whose Reward has one more field is not the layout this upgrade makes: nothing applied.
    const other = { ...REWARD_BREAKDOWN_OUT, to: [{ name: "Reward", fields: [...REWARD_BREAKDOWN_OUT.to[0].fields, ["extra", "Float32Array"]] as [string, string][] }] };
    expect(upgradeLayouts(w, snap, undefined, [other]).applied).toEqual([]);
    expect(upgradeLayouts(w, up.snap).applied).toEqual([]);
  });
});

describe("a sharded snapshot whose blocks were written before a7baac6", () => {
  it("restores (the saved combined hash is not compared) into this build's state at that tick", async () => {
    const file = readFileSync(FIXTURE);
    const h = readSnapshotFile(FIXTURE).header;
    const sim = await ShardedSim.open({ configFile: DEFAULT_CONFIG, host: SHARD_HOST, hostModule: SHARD_HOST_MODULE, workers: 1 });
    try {
      expect(sim.blocks).toBe(1);
      const header = { config_id: h.config_id, config_hash: h.config_hash, tick: h.tick, seed: h.seed, towns: h.towns, blocks: 1, state_hash: h.state_hash };
      await sim.restore({ header, blocks: [new Uint8Array(file)] });
      expect(sim.tick).toBe(300);
      const ref = fresh();
      ref.run(300);
      expect(await sim.stateHash()).toBe(ref.stateHash());
      // A block of this build's own layout is still checked against the saved hash.
      const own = saveSnapshot(ref, { configHash: config.configHash });
      await expect(sim.restore({ header: { ...header, state_hash: "0000000000000000" }, blocks: [own] })).rejects.toMatchObject({ code: "state_mismatch" });
    } finally {
      await sim.close();
    }
  });

  it("restores the same way into the neural policy's sharded runner, which says it upgraded", async () => {
    const file = readFileSync(FIXTURE);
    const h = readSnapshotFile(FIXTURE).header;
    const sr = await ShardedRollout.open({ configFile: DEFAULT_CONFIG, build: {}, plugins: corePlugins, workers: 1 });
    try {
      const header = { config_id: h.config_id, config_hash: h.config_hash, tick: h.tick, seed: h.seed, towns: h.towns, blocks: 1, state_hash: h.state_hash };
      expect(await sr.restore({ header, blocks: [new Uint8Array(file)] })).toEqual({ upgraded: true });
      expect(sr.tick).toBe(300);
      const ref = fresh();
      ref.run(300);
      expect(await sr.stateHash()).toBe(ref.stateHash());
      const own = saveSnapshot(ref, { configHash: config.configHash });
      expect(await sr.restore({ header: { ...header, state_hash: ref.stateHash() }, blocks: [own] })).toEqual({ upgraded: false });
      await expect(sr.restore({ header: { ...header, state_hash: "0000000000000000" }, blocks: [own] })).rejects.toMatchObject({ code: "state_mismatch" });
    } finally {
      await sr.close();
    }
  });
});

describe("townlet run --resume on a snapshot written before a7baac6", () => {
  const run = runJson;

  it("resumes to the same state hash and KPIs as an uninterrupted run of this build", async () => {
    const whole = await run(["--ticks", "400"]);
    const resumed = await run(["--resume", FIXTURE, "--ticks", "400"]);
    expect(resumed.code).toBe(0);
    expect(resumed.json.resumed_from).toBe(300);
    expect(resumed.json.state_hash).toBe(whole.json.state_hash);
    expect(resumed.json.kpis).toEqual(whole.json.kpis);
  });

  it("says on its resumed line that the snapshot was written by an earlier build and upgraded", async () => {
    const errs: string[] = [];
    const code = await main(["run", "--resume", FIXTURE, "--ticks", "305"], { log: () => {}, err: (l) => errs.push(l) });
    expect(code).toBe(0);
    expect(errs.join("\n")).toContain(`resumed from ${FIXTURE} at tick 300 (written by an earlier build, upgraded: ${REWARD_BREAKDOWN_OUT.name})`);
  });

  it("exits 1 naming the damage for a corrupted copy of it", async () => {
    const bytes = readFileSync(FIXTURE);
    bytes[bytes.length >> 1] ^= 4;
    const file = join(tmp, "damaged.snapshot");
    writeFileSync(file, bytes);
    const bad = await run(["--resume", file, "--ticks", "400"]);
    expect(bad.code).toBe(1);
    expect(bad.errs.join("\n")).toMatch(/damaged\.snapshot: sha256 mismatch/);
  });
});
