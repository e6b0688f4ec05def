// Policy release (guide 3.3) through the console: promote_policy and rollback_policy are admin
// only, need a cmd_id, wait for the promotion gate unless forced, swap the live policy between
// ticks without touching the policy stream, and record each change in the release pointer and
// the audit; checkpoints outside the root, or trained for another variant or config, are refused.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { STABILITY_ALERTS } from "../../components/stability.ts";
import type { ReleaseFile } from "../../components/release.ts";
import { initTensorBackend, type TF } from "../../engine/tensor.ts";
import type { World } from "../../engine/world.ts";
import { MemoryAudit, TokenTable, type CommandResultT, type ConsoleService, type Principal } from "../../systems/console/index.ts";
import { snapshotMeta } from "../../systems/persistence/index.ts";
import type { Published, TelemetryPublisher } from "../../systems/telemetry/index.ts";
import {
  NeuralPolicy,
  PolicyPromoted,
  PolicyRolledBack,
  checkpointExpectations,
  createNeuralPolicy,
  enablePolicyRelease,
  getPolicy,
  scriptedPolicy,
  type Policy,
} from "../../systems/policy/index.ts";
import { makeWorld } from "../helpers/world.ts";

let tf: TF;
beforeAll(async () => {
  tf = (await initTensorBackend()).tf;
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "townlet-release-"));
  dirs.push(d);
  return d;
}

const TOKENS = [
  { token: "viewer-token-1", role: "viewer", label: "eve" },
  { token: "admin-token-1", role: "admin", label: "ops" },
];

/** A small town whose console knows a viewer and an admin token; the release enabled on a fresh root unless `enable` is false. */
async function setup(over: Record<string, unknown> = {}, enable = true) {
  const w = makeWorld({
    world: { agents_per_town: 4, grid_size: [12, 12] },
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    console_auth: { enabled: true, tokens: TOKENS },
    ...over,
  });
  const tokens = TokenTable.fromConfig(w.settings.console_auth);
  const admin = tokens.lookup("admin-token-1")!;
  const viewer = tokens.lookup("viewer-token-1")!;
  expect([admin.role, viewer.role]).toEqual(["admin", "viewer"]);
  const svc = w.state<ConsoleService>("console");
  const audit = new MemoryAudit();
  svc.audit = audit;
  const root = tmp();
  if (enable) await enablePolicyRelease(w, { checkpointRoot: root });
  return { w, svc, audit, root, admin, viewer };
}

/** Saves a small fresh network for `w` as `root/name`; returns its policy hash. */
async function checkpoint(w: World, root: string, name: string, seed: number): Promise<string> {
  const p = await createNeuralPolicy(w, { hidden: [8], seed });
  const hash = p.save(join(root, name));
  p.dispose();
  return hash;
}

function hashOf(p: Policy): string | null {
  return p instanceof NeuralPolicy ? p.hash() : null;
}

let seq = 0;
/** Submits a command and steps one tick unless it was answered at once (refused or replayed). */
async function run(w: World, svc: ConsoleService, name: string, args: Record<string, unknown>, who: Principal, cmdId: string | null = `r${++seq}`): Promise<CommandResultT> {
  const p = svc.submit({ name, args, ...(cmdId !== null ? { cmd_id: cmdId } : {}) }, who, "local");
  const settled = await Promise.race([p, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
  if (settled) return settled;
  w.step();
  return p;
}

const ok = (r: CommandResultT) => {
  expect(r.status, JSON.stringify(r.error)).toBe("ok");
  return r.result as Record<string, any>;
};
const err = (r: CommandResultT, code: string, mentions?: string | RegExp) => {
  expect(r.status).toBe("error");
  expect(r.error?.code, r.error?.message).toBe(code);
  if (mentions !== undefined) expect(r.error?.message).toMatch(mentions);
};

const pointer = (root: string) => JSON.parse(readFileSync(join(root, "release.json"), "utf8")) as ReleaseFile;

describe("promote_policy and rollback_policy", () => {
  it("answer forbidden to a viewer token and usage to an admin without cmd_id; policy_status is for viewers", async () => {
    const { w, svc, root, admin, viewer } = await setup();
    await checkpoint(w, root, "a", 1);
    err(await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, viewer), "forbidden", /requires the admin role \(you are viewer\)/);
    err(await run(w, svc, "rollback_policy", {}, viewer), "forbidden", /requires the admin role/);
    err(await run(w, svc, "rollback_policy", { to: "a" }, viewer), "forbidden");
    err(await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, admin, null), "usage", /send a cmd_id/);
    err(await run(w, svc, "rollback_policy", {}, admin, null), "usage", /send a cmd_id/);
    expect(getPolicy(w)).toBe(scriptedPolicy);
    const st = ok(await run(w, svc, "policy_status", {}, viewer, null));
    expect(st.live).toMatchObject({ policy: "scripted", checkpoint: null, policy_hash: null, seq: 0 });
    expect(st.release).toMatchObject({ checkpoint_root: expect.any(String), pointer: null, in_sync: true, history_length: 0 });
    expect(st.gate).toMatchObject({ candidate_ready: false, required_passes: 2 });
    expect(st.tensor_backend).toEqual(expect.any(String));
  });

  it("refuse a promotion while the gate is not ready; with force the checkpoint decides from the next tick", async () => {
    const { w, svc, root, admin } = await setup();
    const hash = await checkpoint(w, root, "a", 1);
    err(await run(w, svc, "promote_policy", { checkpoint: "a" }, admin), "conflict", /promotion gate is not ready \(pass_streak 0 of 2 .*send force: true/);
    expect(getPolicy(w)).toBe(scriptedPolicy);
    w.run(2);
    expect(w.kpis().policy_decisions).toBe(0);

    // Queued during tick 4, applied when it has completed: the policy stream is left as it was.
    const p = svc.submit({ name: "promote_policy", args: { checkpoint: "a", force: true }, cmd_id: "p1" }, admin, "local");
    w.step();
    const r = ok(await p);
    expect(r).toMatchObject({
      action: "promote",
      seq: 1,
      tick: 4,
      effective_tick: 5,
      forced: true,
      previous: { policy: "scripted", checkpoint: null, policy_hash: null, seq: 0 },
      live: { policy: "neural", checkpoint: "a", path: join(root, "a"), policy_hash: hash, seq: 1 },
      gate: { candidate_ready: false, pass_streak: 0, required_passes: 2 },
      note: expect.stringMatching(/forced: the promotion gate was not ready/),
    });
    const live = getPolicy(w);
    expect(live).toBeInstanceOf(NeuralPolicy);
    expect(hashOf(live)).toBe(hash);
    expect(snapshotMeta(w).policyHash).toBe(hash);
    expect(w.lastTick(PolicyPromoted).count).toBe(1);
    expect(w.kpis().policy_release).toEqual({ seq: 1, checkpoint: "a", policy_hash: hash });

    w.step();
    expect(w.kpis().policy_decisions).toBeGreaterThan(0); // the checkpoint chose options on tick 5

    // The same cmd_id again: the first answer, and no second swap.
    const again = await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, admin, "p1");
    expect(again).toMatchObject({ status: "ok", replayed: true, tick: 4 });
    expect(getPolicy(w)).toBe(live);
    err(await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, admin), "conflict", /holds the policy that is live now/);
  });

  it("swap between ticks without drawing from the policy stream", async () => {
    const { w, svc, root, admin } = await setup();
    await checkpoint(w, root, "a", 1);
    w.run(3);
    const before = w.rng.get("policy").state();
    const hashBefore = w.stateHash();
    const p = svc.submit({ name: "promote_policy", args: { checkpoint: "a", force: true }, cmd_id: "p1" }, admin, "local");
    expect(svc.drain("tick")).toBe(0); // a boundary command waits for the end of a tick
    expect(svc.drain("boundary")).toBe(1);
    ok(await p);
    expect(w.tick).toBe(3);
    expect(w.rng.get("policy").state()).toEqual(before);
    expect(w.stateHash()).not.toBe(hashBefore); // the policy_promoted event is in flight
  });

  it("reach telemetry as policy_promoted and policy_rolled_back events on the next tick", async () => {
    const { w, svc, root, admin } = await setup();
    const hash = await checkpoint(w, root, "a", 1);
    const diffs: Record<string, any>[] = [];
    w.state<TelemetryPublisher>("telemetry").addSink({ deliver: (p: Published) => diffs.push(JSON.parse(p.line())) });
    ok(await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, admin));
    w.step();
    ok(await run(w, svc, "rollback_policy", {}, admin));
    w.step();
    const events = diffs.flatMap((d) => (d.events as Record<string, unknown>[]).filter((e) => String(e.event).startsWith("policy_")));
    expect(events).toEqual([
      { event: "policy_promoted", tick: 2, seq: 1, checkpoint: "a", policy_hash: hash, previous_checkpoint: "", previous_hash: "", forced: 1 },
      { event: "policy_rolled_back", tick: 4, seq: 2, checkpoint: "", policy_hash: "", previous_checkpoint: "a", previous_hash: hash, baseline: 1 },
    ]);
    const releaseKpis = diffs.map((d) => (d.payload_type === "snapshot" ? d.kpis : d.changes?.kpis)?.policy_release).filter((k) => k !== undefined);
    expect(releaseKpis.at(-1)).toEqual({ seq: 0, checkpoint: null, policy_hash: null });
    expect(releaseKpis).toContainEqual({ seq: 1, checkpoint: "a", policy_hash: hash });
  });

  it("promote without force once the stability monitor's gate is ready", async () => {
    const { w, svc, root, admin } = await setup({ stability: { promotion: { window_ticks: 2, required_passes: 1, allowed_alerts: [...STABILITY_ALERTS] } } });
    const hash = await checkpoint(w, root, "a", 1);
    w.run(2);
    const r = ok(await run(w, svc, "promote_policy", { checkpoint: "a" }, admin));
    expect(r).toMatchObject({ forced: false, gate: { candidate_ready: true, pass_streak: 1 }, live: { policy_hash: hash } });
    expect(r.note).toBeUndefined();
  });

  it("record each change in the release pointer file", async () => {
    const { w, svc, root, admin } = await setup();
    const a = await checkpoint(w, root, "runs/a", 1);
    ok(await run(w, svc, "promote_policy", { checkpoint: "runs/a", force: true }, admin, "p1"));
    let file = pointer(root);
    expect(file).toMatchObject({ format: "townlet-release/1", config_id: "test" });
    expect(file.history).toHaveLength(1);
    expect(file.live).toEqual(file.history[0]);
    expect(file.live).toMatchObject({
      seq: 1,
      action: "promote",
      policy: "neural",
      checkpoint: "runs/a",
      policy_hash: a,
      previous_seq: 0,
      replaced: { policy: "scripted", checkpoint: null, policy_hash: null },
      tick: 1,
      by: "ops",
      role: "admin",
      cmd_id: "p1",
      forced: true,
      gate: { candidate_ready: false },
    });
    expect(Date.parse(file.live!.at)).not.toBeNaN();
    ok(await run(w, svc, "rollback_policy", {}, admin, "r1"));
    file = pointer(root);
    expect(file.history.map((e) => [e.seq, e.action, e.checkpoint, e.cmd_id])).toEqual([
      [1, "promote", "runs/a", "p1"],
      [2, "rollback", null, "r1"],
    ]);
    expect(file.live?.seq).toBe(2);
    const st = ok(await run(w, svc, "policy_status", {}, admin, null));
    expect(st.release).toMatchObject({ in_sync: true, history_length: 2, pointer: { seq: 2, checkpoint: null } });
  });

  it("roll back to the previous release, then to the baseline, then refuse", async () => {
    const { w, svc, root, admin } = await setup();
    const a = await checkpoint(w, root, "a", 1);
    const b = await checkpoint(w, root, "b", 2);
    expect(a).not.toBe(b);
    ok(await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, admin));
    ok(await run(w, svc, "promote_policy", { checkpoint: "b", force: true }, admin));
    expect(hashOf(getPolicy(w))).toBe(b);

    const back = ok(await run(w, svc, "rollback_policy", {}, admin));
    expect(back).toMatchObject({ action: "rollback", seq: 3, previous: { checkpoint: "b", policy_hash: b, seq: 2 }, live: { checkpoint: "a", policy_hash: a, seq: 3 }, note: "back to release #1" });
    expect(hashOf(getPolicy(w))).toBe(a);
    expect(w.lastTick(PolicyRolledBack).count).toBe(1);

    const base = ok(await run(w, svc, "rollback_policy", {}, admin));
    expect(base).toMatchObject({ seq: 4, live: { policy: "scripted", checkpoint: null, seq: 0 }, note: expect.stringMatching(/no earlier release: back to the baseline.*\(scripted\)/) });
    expect(getPolicy(w)).toBe(scriptedPolicy);
    expect(w.kpis().policy_release).toEqual({ seq: 0, checkpoint: null, policy_hash: null });

    err(await run(w, svc, "rollback_policy", {}, admin), "conflict", /nothing to roll back: the baseline policy \(scripted\) is live/);
    expect(pointer(root).history).toHaveLength(4);
  });

  it("roll back --to a checkpoint, which a plain rollback then undoes", async () => {
    const { w, svc, root, admin } = await setup();
    const a = await checkpoint(w, root, "a", 1);
    const b = await checkpoint(w, root, "b", 2);
    ok(await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, admin));
    const to = ok(await run(w, svc, "rollback_policy", { to: "b" }, admin));
    expect(to).toMatchObject({ action: "rollback", seq: 2, live: { checkpoint: "b", policy_hash: b }, note: 'checkpoint "b" was never live before (not in the release history)' });
    expect(hashOf(getPolicy(w))).toBe(b);
    const toA = ok(await run(w, svc, "rollback_policy", { to: "./a" }, admin));
    expect(toA).toMatchObject({ seq: 3, live: { checkpoint: "a", policy_hash: a } });
    expect(toA.note).toBeUndefined();
    const undo = ok(await run(w, svc, "rollback_policy", {}, admin));
    expect(undo).toMatchObject({ seq: 4, live: { checkpoint: "b", policy_hash: b }, note: "back to release #2" });
  });

  it("refuse a checkpoint outside the checkpoint root, through a link, or missing", async () => {
    const { w, svc, root, admin } = await setup();
    const outside = tmp();
    await checkpoint(w, outside, "x", 1);
    const escape = join("..", outside.split("/").pop()!, "x");
    err(await run(w, svc, "promote_policy", { checkpoint: escape, force: true }, admin), "invalid_args", /checkpoint: ".*" is outside the checkpoint folder/);
    err(await run(w, svc, "promote_policy", { checkpoint: join(outside, "x"), force: true }, admin), "invalid_args", /is outside the checkpoint folder/);
    err(await run(w, svc, "promote_policy", { checkpoint: "a/../../x", force: true }, admin), "invalid_args", /is outside/);
    err(await run(w, svc, "promote_policy", { checkpoint: ".", force: true }, admin), "invalid_args", /"\." is the checkpoint folder/);
    err(await run(w, svc, "rollback_policy", { to: escape }, admin), "invalid_args", /to: ".*" is outside the checkpoint folder/);
    symlinkSync(join(outside, "x"), join(root, "linked"));
    err(await run(w, svc, "promote_policy", { checkpoint: "linked", force: true }, admin), "invalid_args", /"linked" leads to .*, outside the checkpoint folder/);
    err(await run(w, svc, "promote_policy", { checkpoint: "nope", force: true }, admin), "not_found", /no checkpoint folder "nope" in /);
    mkdirSync(join(root, "empty"));
    err(await run(w, svc, "promote_policy", { checkpoint: "empty", force: true }, admin), "not_found", /cannot read policy checkpoint/);
    expect(getPolicy(w)).toBe(scriptedPolicy);
    expect(() => pointer(root)).toThrow(/ENOENT/); // nothing was written
  });

  it("refuse a checkpoint for another observation variant or config, naming both, and a corrupt one", async () => {
    const { w, svc, root, admin } = await setup();
    const exp = checkpointExpectations(w);
    const save = (name: string, variant: string, configId: string) => {
      const p = new NeuralPolicy(tf, { inputSize: exp.inputSize, actionCount: exp.actionNames.length, actionNames: exp.actionNames, hidden: [8], variant, configId });
      p.save(join(root, name));
      p.dispose();
    };
    save("compact", "compact/40", "test");
    save("other-config", exp.variant, "other");
    err(
      await run(w, svc, "promote_policy", { checkpoint: "compact", force: true }, admin),
      "conflict",
      new RegExp(`trained on observation variant "compact/40", this run builds "${exp.variant.replace(/[+/]/g, "\\$&")}"`),
    );
    err(await run(w, svc, "rollback_policy", { to: "other-config" }, admin), "conflict", /trained under config_id "other", this run's config_id is "test"/);
    await checkpoint(w, root, "bad", 1);
    const bin = readFileSync(join(root, "bad", "weights.bin"));
    bin[3] ^= 0xff;
    writeFileSync(join(root, "bad", "weights.bin"), bin);
    err(await run(w, svc, "promote_policy", { checkpoint: "bad", force: true }, admin), "invalid_args", /does not match the policy hash/);
    expect(getPolicy(w)).toBe(scriptedPolicy);
  });

  it("audit every request with issuer, cmd_id and result", async () => {
    const { w, svc, audit, root, admin, viewer } = await setup();
    const a = await checkpoint(w, root, "a", 1);
    await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, viewer, "v1");
    await run(w, svc, "promote_policy", { checkpoint: "a" }, admin, "p0");
    await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, admin, "p1");
    await run(w, svc, "rollback_policy", {}, admin, "r1");
    const rows = audit.records.filter((r) => r.command === "promote_policy" || r.command === "rollback_policy");
    expect(rows.map((r) => [r.command, r.label, r.role, r.cmd_id, r.status, r.error?.code ?? null])).toEqual([
      ["promote_policy", "eve", "viewer", "v1", "error", "forbidden"],
      ["promote_policy", "ops", "admin", "p0", "error", "conflict"],
      ["promote_policy", "ops", "admin", "p1", "ok", null],
      ["rollback_policy", "ops", "admin", "r1", "ok", null],
    ]);
    expect(rows[2]).toMatchObject({ args: { checkpoint: "a", force: true }, result: { forced: true, live: { checkpoint: "a", policy_hash: a } } });
    expect(rows[3]).toMatchObject({ result: { previous: { checkpoint: "a" }, live: { policy: "scripted" } } });
    expect(JSON.stringify(rows)).not.toContain("admin-token-1");
  });

  it("answer unavailable until the release is enabled", async () => {
    const { w, svc, admin, viewer } = await setup({}, false);
    err(await run(w, svc, "promote_policy", { checkpoint: "a", force: true }, admin), "unavailable", /enablePolicyRelease/);
    err(await run(w, svc, "rollback_policy", {}, admin), "unavailable", /not enabled/);
    const st = ok(await run(w, svc, "policy_status", {}, viewer, null));
    expect(st).toMatchObject({ live: { policy: "scripted" }, release: null });
    expect(w.kpis().policy_release).toBeUndefined();
  });

  it("let a restarted server adopt the pointer's live checkpoint, or report it out of sync", async () => {
    const first = await setup();
    const a = await checkpoint(first.w, first.root, "a", 1);
    ok(await run(first.w, first.svc, "promote_policy", { checkpoint: "a", force: true }, first.admin));

    const stale = await setup({}, false);
    const st0 = await enablePolicyRelease(stale.w, { checkpointRoot: first.root });
    expect(st0.release).toMatchObject({ in_sync: false, pointer: { seq: 1, checkpoint: "a" } });
    expect(getPolicy(stale.w)).toBe(scriptedPolicy);
    err(await run(stale.w, stale.svc, "rollback_policy", {}, stale.admin), "conflict", /the release file names #1 "a", but this process runs the policy it started with/);

    const again = await setup({}, false);
    const st = await enablePolicyRelease(again.w, { checkpointRoot: first.root, adoptLive: true });
    expect(st.live).toMatchObject({ checkpoint: "a", policy_hash: a, seq: 1 });
    expect(st.release?.in_sync).toBe(true);
    expect(hashOf(getPolicy(again.w))).toBe(a);
    const base = ok(await run(again.w, again.svc, "rollback_policy", {}, again.admin));
    expect(base).toMatchObject({ seq: 2, live: { policy: "scripted" } });

    const wrong = await setup({ config_id: "elsewhere" }, false);
    await expect(enablePolicyRelease(wrong.w, { checkpointRoot: first.root })).rejects.toThrow(/belongs to config_id "test", this run's is "elsewhere"/);
  });
});
