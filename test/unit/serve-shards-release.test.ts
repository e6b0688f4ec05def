// promote_policy and rollback_policy on a served sharded world (`townlet serve --shards K
// --policy neural[:DIR] --checkpoints DIR`, tools/shard-release.ts): the network the main thread
// runs over every block changes between ticks and decides from the next tick, on 2 threads as on
// 1, with a one-block world's replies, release file, history and events; an unforced promotion
// needs every block's promotion gate; a bad checkpoint leaves the running network; a restart
// with --adopt-release serves the release file's live checkpoint; a snapshot records the hash of
// the network that decided. Worlds of 4 towns in 2 blocks, 24 ticks at most; every server closed.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ReleaseFile } from "../../components/release.ts";
import { STABILITY_ALERTS, type PromotionStatus } from "../../components/stability.ts";
import { buildWorld } from "../../engine/build.ts";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { readShardSnapshotFile, type ShardSnapshot } from "../../engine/shard-snapshot.ts";
import { peekSnapshotHeader } from "../../engine/snapshot.ts";
import { initTensorBackend } from "../../engine/tensor.ts";
import { corePlugins } from "../../systems/index.ts";
import type { CommandResultT, Principal } from "../../systems/console/index.ts";
import { NeuralPolicy, checkpointExpectations, createNeuralPolicy } from "../../systems/policy/index.ts";
import { readCheckpoint, writeCheckpoint } from "../../systems/policy/checkpoint.ts";
import { main } from "../../tools/cli.ts";
import { ShardedInference } from "../../tools/shard-neural.ts";
import { combineGates } from "../../tools/shard-release.ts";
import { startShardedServe, type ShardServeHandle } from "../../tools/serve-shards.ts";
import type { ServeOptions } from "../../tools/serve.ts";
import { until } from "../helpers/until.ts";

const ADMIN_TOKEN = "admin-token-0123456789";
const WORLD = { towns: 4, shards: 2 } as const;

let dir: string;
let tokensFile: string;
/** The baseline network (outside the checkpoint roots) and the candidate "b" (copied into each root). */
let baseDir: string;
let baseHash: string;
let candDir: string;
let candHash: string;
let wideDir: string;
const handles: ShardServeHandle[] = [];

/** A small network for this world, its weights scaled up (an untrained one samples what random picks). */
async function network(path: string, seed: number): Promise<string> {
  const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, { towns: 1 });
  const p = await createNeuralPolicy(world, { hidden: [8], seed, greedy: false });
  p.save(path);
  p.dispose();
  const { meta, weights } = readCheckpoint(path);
  for (let i = 0; i < weights.length; i++) weights[i] *= 40;
  return writeCheckpoint(path, meta, meta.tensors, weights);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "townlet-serve-shards-release-"));
  tokensFile = join(dir, "tokens.yaml");
  writeFileSync(tokensFile, `- {token: ${ADMIN_TOKEN}, role: admin, label: operator}\n`);
  const { tf } = await initTensorBackend("cpu");
  baseDir = join(dir, "base");
  baseHash = await network(baseDir, 5);
  candDir = join(dir, "cand");
  candHash = await network(candDir, 6);
  // A network that reads 3 floats more than this world's observations hold.
  const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, { towns: 1 });
  const want = checkpointExpectations(world);
  const wide = new NeuralPolicy(tf, { inputSize: want.inputSize + 3, actionCount: want.actionNames.length, hidden: [4], seed: 1, greedy: false, variant: want.variant, configId: want.configId, actionNames: want.actionNames });
  wideDir = join(dir, "wide");
  wide.save(wideDir);
  wide.dispose();
});
afterEach(async () => {
  for (const h of handles.splice(0)) await h.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let roots = 0;
/** A fresh checkpoint root holding "b" (the candidate) and "wide" (a misfit). */
function root(): string {
  const r = join(dir, `root-${++roots}`);
  cpSync(candDir, join(r, "b"), { recursive: true });
  cpSync(wideDir, join(r, "wide"), { recursive: true });
  return r;
}

async function serve(o: Partial<ServeOptions>): Promise<ShardServeHandle> {
  const h = await startShardedServe({
    configFile: DEFAULT_CONFIG_FILE,
    port: 0,
    tokensFile,
    audit: join(dir, `audit-${roots}-${handles.length}.ndjson`),
    paused: true,
    observer: false,
    policy: `neural:${baseDir}`,
    ...WORLD,
    ...o,
  });
  handles.push(h);
  return h;
}

let ids = 0;
/** A console command as the admin, answered when applied (at once while paused). */
function command(h: ShardServeHandle, name: string, args: Record<string, unknown> = {}): Promise<CommandResultT> {
  const admin = h.tokens.lookup(ADMIN_TOKEN) as Principal;
  return h.console.submit({ name, args, cmd_id: `c${++ids}` }, admin, "local");
}
const ok = (r: CommandResultT) => {
  expect(r.status, JSON.stringify(r.error)).toBe("ok");
  return r.result as Record<string, any>;
};
const err = (r: CommandResultT, code: string, mentions: RegExp | string) => {
  expect(r.status).toBe("error");
  expect(r.error?.code, r.error?.message).toBe(code);
  expect(r.error?.message).toMatch(mentions);
};
const pointer = (r: string) => JSON.parse(readFileSync(join(r, "release.json"), "utf8")) as ReleaseFile;

/** Each block's own state hash in a sharded snapshot (a block's world, not the world's combined hash). */
const blockHashes = (s: ShardSnapshot) => s.blocks.map((b) => peekSnapshotHeader(b).state_hash);

describe("promote_policy and rollback_policy on a served sharded world with a neural policy", () => {
  it("swap the main thread's network between ticks: the candidate decides from the next tick, the baseline again after the rollback, on 2 threads as on 1", async () => {
    // Reference, without any release: the baseline for ticks 1..8, the candidate for 9..16 (a
    // snapshot restored into a runner opened with it), the baseline again for 17..24.
    const build = { towns: 4, shards: 2 };
    const open = (spec: string) => ShardedInference.open({ configFile: DEFAULT_CONFIG_FILE, build, plugins: corePlugins, pluginSpecs: [], workers: 1, spec });
    const a = await open(`neural:${baseDir}`);
    const b = await open(`neural:${candDir}`);
    const ref: string[] = [];
    let ref16: ShardSnapshot, ref24: ShardSnapshot;
    try {
      a.hashEveryTick = true;
      for (let t = 0; t < 8; t++) ref.push((await a.step())!);
      await b.restore(await a.snapshot());
      for (let t = 0; t < 8; t++) await b.step();
      ref16 = await b.snapshot();
      await a.restore(ref16);
      for (let t = 0; t < 8; t++) await a.step();
      ref24 = await a.snapshot();
    } finally {
      await a.close();
      await b.close();
    }

    const served: string[][] = [];
    for (const workers of [2, 1]) {
      const r = root();
      const snaps = join(r, "snapshots");
      const h = await serve({ workers, ticks: 24, checkpointRoot: r, overrides: { "snapshot.storage.root": snaps } });
      expect(h.sim.workers).toBe(workers);
      h.sim.hashEveryTick = true;
      const hashes: string[] = [];
      const events: Record<string, unknown>[] = [];
      const replies: Promise<CommandResultT>[] = [];
      // Queued while tick 8 (16) is published: applied at that tick's boundary, as an operator's command would be.
      h.publisher.addSink({
        deliver: (p) => {
          if (h.sim.tick > 0) hashes[h.sim.tick - 1] = h.sim.lastHash!;
          const d = JSON.parse(p.line()) as { events?: Record<string, unknown>[] };
          for (const e of d.events ?? []) if (String(e.event).startsWith("policy_")) events.push(e);
          if (h.sim.tick === 8 && replies.length === 0) replies.push(command(h, "promote_policy", { checkpoint: "b", force: true }));
          if (h.sim.tick === 16 && replies.length === 1) replies.push(command(h, "snapshot_save", { path: "t16.shards" }), command(h, "rollback_policy"));
        },
      });
      ok(await command(h, "resume"));
      await until(() => h.loop.status().state === "finished", "tick 24");
      const [promoted, saved, rolled] = await Promise.all(replies);
      expect(ok(promoted)).toMatchObject({
        action: "promote",
        seq: 1,
        tick: 8,
        effective_tick: 9,
        forced: true,
        previous: { policy: "neural", checkpoint: null, policy_hash: baseHash, seq: 0 },
        live: { policy: "neural", checkpoint: "b", path: join(r, "b"), policy_hash: candHash, seq: 1 },
        note: expect.stringMatching(/^forced: the promotion gate was not ready in 2 of 2 blocks/),
      });
      expect(ok(rolled)).toMatchObject({ action: "rollback", seq: 2, tick: 16, live: { checkpoint: null, policy_hash: baseHash, seq: 0 }, note: expect.stringMatching(/back to the baseline/) });
      // The candidate decided ticks 9..16 and the baseline 17..24: block 1 (which the events do not touch) is the reference's.
      expect(blockHashes(readShardSnapshotFile(ok(saved).path))[1]).toBe(blockHashes(ref16!)[1]);
      expect(blockHashes(await h.sim.snapshot())[1]).toBe(blockHashes(ref24!)[1]);
      expect(hashes.slice(0, 8)).toEqual(ref);
      // The world's one event each (block 0's), on the tick after the swap, as on one block.
      expect(events).toEqual([
        { event: "policy_promoted", tick: 9, seq: 1, checkpoint: "b", policy_hash: candHash, previous_checkpoint: "", previous_hash: baseHash, forced: 1 },
        { event: "policy_rolled_back", tick: 17, seq: 2, checkpoint: "", policy_hash: baseHash, previous_checkpoint: "b", previous_hash: candHash, baseline: 1 },
      ]);
      const file = pointer(r);
      expect(file.history.map((e) => [e.seq, e.action, e.checkpoint, e.policy_hash, e.previous_seq, e.by])).toEqual([
        [1, "promote", "b", candHash, 0, "operator"],
        [2, "rollback", null, baseHash, 0, "operator"],
      ]);
      expect(file.live?.seq).toBe(2);
      expect(h.policy).toMatchObject({ policy: "neural", checkpoint: baseDir, policy_hash: baseHash, release: { seq: 0, checkpoint: null, policy_hash: baseHash } });
      served.push(hashes);
    }
    expect(served[1]).toEqual(served[0]);
    expect(served[0]).toHaveLength(24);
  }, 240_000);

  it("refuse an unforced promotion while any block's gate is not ready, naming the blocks, and allow it once every block's is", async () => {
    const r = root();
    const h = await serve({ workers: 1, checkpointRoot: r });
    err(await command(h, "promote_policy", { checkpoint: "b" }), "conflict", /gate is not ready in 2 of 2 blocks: block 0 \(towns 0\.\.1\) pass_streak 0 of 2, block 1 \(towns 2\.\.3\) pass_streak 0 of 2 .*every block's gate is ready.*send force: true/);
    expect(existsSync(join(r, "release.json"))).toBe(false);
    const st = ok(await command(h, "policy_status"));
    expect(st).toMatchObject({ live: { seq: 0, policy_hash: baseHash }, release: { pointer: null, in_sync: true, history_length: 0 }, gate: { candidate_ready: false, blocks: 2, blocks_ready: 0 }, tensor_backend: "cpu", sharded: { blocks: 2, batch: "main thread" } });
    expect(st.gate_by_block.map((g: { block: number; towns: string }) => [g.block, g.towns])).toEqual([
      [0, "0..1"],
      [1, "2..3"],
    ]);

    // A gate judged every 2 ticks, one pass needed, no alert blocking: ready in both blocks (2 passes by tick 4).
    const r2 = root();
    const g = await serve({ workers: 2, ticks: 4, checkpointRoot: r2, overrides: { "stability.promotion.window_ticks": 2, "stability.promotion.required_passes": 1, "stability.promotion.allowed_alerts": [...STABILITY_ALERTS] } });
    ok(await command(g, "resume"));
    await until(() => g.loop.status().state === "finished", "tick 4");
    const res = ok(await command(g, "promote_policy", { checkpoint: "b" }));
    expect(res).toMatchObject({ forced: false, gate: { candidate_ready: true, pass_streak: 2, required_passes: 1 }, live: { policy_hash: candHash, seq: 1 } });
    expect(res.note).toBeUndefined();
    expect(res.gate_by_block.map((x: PromotionStatus) => x.candidate_ready)).toEqual([true, true]);
  }, 120_000);

  it("combine the blocks' gates: ready only when every block's is, the refusal naming the blocks that are not", () => {
    const gate = (pass_streak: number): PromotionStatus => ({ window_start: 4, window_end: 6, window_ticks: 2, pass_streak, required_passes: 2, candidate_ready: pass_streak >= 2, last_result: "pass", last_evaluated_tick: 4, window_alerts: [] });
    const c = combineGates([gate(2), gate(1), gate(3)], ["0..1", "2..3", "4..5"]);
    expect(c.ready).toBe(false);
    expect(c.gate).toMatchObject({ candidate_ready: false, pass_streak: 1, blocks_ready: 2, blocks: 3 });
    expect(c.refusal).toMatch(/not ready in 1 of 3 blocks: block 1 \(towns 2\.\.3\) pass_streak 1 of 2 \(/);
    expect(c.forced).toBe("forced: the promotion gate was not ready in 1 of 3 blocks (block 1 (towns 2..3) pass_streak 1 of 2)");
    expect(combineGates([gate(2), gate(2)], ["0..1", "2..3"])).toMatchObject({ ready: true, gate: { candidate_ready: true, pass_streak: 2 } });
    expect(combineGates([null, null], ["0..1", "2..3"])).toMatchObject({ ready: false, gate: null, refusal: expect.stringMatching(/no stability monitor/) });
  });

  it("leave the running network in place when a checkpoint is bad, with the loader's error, and go on", async () => {
    const r = root();
    const h = await serve({ workers: 2, ticks: 3, checkpointRoot: r });
    const want = checkpointExpectations(buildWorld(DEFAULT_CONFIG_FILE, corePlugins, { towns: 1 }).world);
    err(await command(h, "promote_policy", { checkpoint: "wide", force: true }), "conflict", `checkpoint: ${join(r, "wide")}: the policy reads ${want.inputSize + 3} floats per agent, this run's observations hold ${want.inputSize}`);
    err(await command(h, "promote_policy", { checkpoint: "nope", force: true }), "not_found", /no checkpoint folder "nope"/);
    err(await command(h, "promote_policy", { checkpoint: "../base", force: true }), "invalid_args", /is outside the checkpoint folder/);
    err(await command(h, "rollback_policy", { to: "wide" }), "conflict", /to: .*floats per agent/);
    err(await command(h, "rollback_policy"), "conflict", /nothing to roll back: the baseline policy \(neural\) is live/);
    expect(existsSync(join(r, "release.json"))).toBe(false);
    expect(h.policy).toMatchObject({ checkpoint: baseDir, policy_hash: baseHash });
    ok(await command(h, "resume"));
    await until(() => h.loop.status().state === "finished", "tick 3");
    expect(h.sim.stoppedBy).toBeUndefined();
    expect(ok(await command(h, "policy_status")).live).toMatchObject({ seq: 0, policy_hash: baseHash });
    // Without --checkpoints: not enabled, as on one block.
    const bare = await serve({ workers: 1 });
    err(await command(bare, "promote_policy", { checkpoint: "b" }), "unavailable", /not enabled in this world: no checkpoint root .*--checkpoints DIR/);
  }, 120_000);

  it("serve the release file's live checkpoint again after a restart with --adopt-release, and stamp snapshots with it", async () => {
    const r = root();
    const first = await serve({ workers: 1, checkpointRoot: r });
    ok(await command(first, "promote_policy", { checkpoint: "b", force: true }));
    await first.close();
    const snaps = join(r, "snapshots");
    const again = await serve({ workers: 2, checkpointRoot: r, adoptRelease: true, overrides: { "snapshot.storage.root": snaps } });
    const st = ok(await command(again, "policy_status"));
    expect(st.live).toMatchObject({ checkpoint: "b", policy_hash: candHash, seq: 1 });
    expect(st.release).toMatchObject({ in_sync: true, history_length: 1 });
    expect(again.policy).toMatchObject({ checkpoint: join(r, "b"), policy_hash: candHash, release: { seq: 1, checkpoint: "b" } });
    const saved = ok(await command(again, "snapshot_save", { path: "adopted.shards" }));
    expect(readShardSnapshotFile(saved.path).header.policy_hash).toBe(candHash);
    // Without --adopt-release the baseline decides and the pointer is out of sync, as on one block.
    const plain = await serve({ workers: 1, checkpointRoot: r });
    expect(ok(await command(plain, "policy_status"))).toMatchObject({ live: { seq: 0, policy_hash: baseHash }, release: { in_sync: false } });
    // From the CLI: accepted with a neural policy; refused, with the reason, for scripted blocks.
    const out = () => ({ lines: [] as string[], errs: [] as string[] });
    const c = out();
    const args = ["serve", "--towns", "4", "--shards", "2", "--workers", "1", "--port", "0", "--ticks", "2", "--exit", "--checkpoints", r, "--audit", join(dir, "cli.ndjson")];
    expect(await main([...args, "--policy", `neural:${baseDir}`, "--adopt-release"], { log: (l) => c.lines.push(l), err: (l) => c.errs.push(l) })).toBe(0);
    // The start line names the adopted release, not only the --policy spec it started from.
    expect(c.errs.join("\n")).toMatch(/policy neural:\S+ \(release 1 live: b\): one batch per tick on this thread/);
    const s = out();
    expect(await main([...args, "--policy", "scripted"], { log: (l) => s.lines.push(l), err: (l) => s.errs.push(l) })).toBe(1);
    expect(s.errs.join("\n")).toMatch(/--checkpoints: promote_policy\/rollback_policy swap the network the main thread runs over every block .*with --policy scripted each block runs its own policy/);
  }, 180_000);
});
