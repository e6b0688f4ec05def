// `townlet serve --shards K --policy neural:DIR`: a served world of blocks with a neural checkpoint
// runs through the runner of `townlet run --shards` (tools/shard-neural.ts: one network batch over
// every block's agents per tick on the main thread) and reaches the same per-tick state hashes as
// that run; the WebSocket telemetry names the policy (a `policy` section) and the console answers
// policy_status with it, promote_policy/rollback_policy without --checkpoints as a one-block world
// does (not enabled; test/unit/serve-shards-release.test.ts has them enabled); a missing
// checkpoint, one whose observation size does not match, or --checkpoints with scripted blocks
// refuses to start with a message naming it. Every server is closed and every loop bounded.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { buildWorld } from "../../engine/build.ts";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";
import { initTensorBackend } from "../../engine/tensor.ts";
import { corePlugins } from "../../systems/index.ts";
import { NeuralPolicy, checkpointExpectations, createNeuralPolicy } from "../../systems/policy/index.ts";
import { readCheckpoint, writeCheckpoint } from "../../systems/policy/checkpoint.ts";
import { TelemetryMirror, type TelemetryPayloadT } from "../../systems/telemetry/index.ts";
import { main } from "../../tools/cli.ts";
import { startShardedServe, type ShardServeHandle } from "../../tools/serve-shards.ts";
import type { ServeOptions } from "../../tools/serve.ts";
import { until } from "../helpers/until.ts";

const ADMIN_TOKEN = "admin-token-0123456789";
const BOOM = fileURLToPath(new URL("../fixtures/boom.ts", import.meta.url));
/** 4 towns in 2 blocks; the run's and the server's world alike. */
const WORLD = { towns: 4, shards: 2 } as const;
const TICKS = 24;

let dir: string;
let tokensFile: string;
let checkpoint: string;
let policyHash: string;
const handles: ShardServeHandle[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "townlet-serve-shards-neural-"));
  tokensFile = join(dir, "tokens.yaml");
  writeFileSync(tokensFile, `- {token: ${ADMIN_TOKEN}, role: admin, label: operator}\n`);
  // A small network saved as a checkpoint, its weights scaled up: a fresh network's near-uniform
  // choices sample what the random policy picks from the same draws; these do not.
  await initTensorBackend("cpu");
  const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, { towns: 1 });
  const p = await createNeuralPolicy(world, { hidden: [8], seed: 5, greedy: false });
  checkpoint = join(dir, "ck");
  p.save(checkpoint);
  p.dispose();
  const { meta, weights } = readCheckpoint(checkpoint);
  for (let i = 0; i < weights.length; i++) weights[i] *= 40;
  policyHash = writeCheckpoint(checkpoint, meta, meta.tensors, weights);
});
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const h of handles.splice(0)) await h.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const lines: string[] = [];
  const errs: string[] = [];
  return { out: { log: (l: string) => lines.push(l), err: (l: string) => errs.push(l) }, lines, errs };
}

async function serve(o: Partial<ServeOptions>): Promise<ShardServeHandle> {
  const h = await startShardedServe({
    configFile: DEFAULT_CONFIG_FILE,
    port: 0,
    tokensFile,
    audit: join(dir, `audit-${handles.length}.ndjson`),
    paused: true,
    ticks: TICKS,
    observer: false,
    ...WORLD,
    ...o,
  });
  handles.push(h);
  return h;
}

/** A WebSocket client that mirrors the stream and sends console commands. */
async function client(url: string) {
  const ws = new WebSocket(url, [], { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  sockets.push(ws);
  const messages: Record<string, unknown>[] = [];
  const mirror = new TelemetryMirror(() => ws.send(JSON.stringify({ type: "resync" })));
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as Record<string, unknown>;
    messages.push(m);
    if (typeof m.payload_type === "string") mirror.apply(m as unknown as TelemetryPayloadT);
  });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  const next = async (pred: (m: Record<string, unknown>) => boolean) => {
    let found: Record<string, unknown> | undefined;
    await until(() => (found = messages.find(pred)) !== undefined, "a message");
    return found!;
  };
  const command = (name: string, args: Record<string, unknown> = {}) => {
    const n = ++id;
    ws.send(JSON.stringify({ type: "command", id: n, name, args, cmd_id: `${name}-${n}` }));
    return next((m) => m.id === n && (m.type === "result" || m.type === "error"));
  };
  return { mirror, next, command };
}

describe("townlet serve of a sharded world with a neural policy", () => {
  it("reaches the per-tick state hashes of townlet run --shards with the same checkpoint, and streams the policy", async () => {
    const log = join(dir, "run.hash");
    const c = capture();
    const code = await main(["run", "--towns", "4", "--shards", "2", "--workers", "1", "--policy", `neural:${checkpoint}`, "--ticks", String(TICKS), "--backend", "cpu", "--hash-log", log, "--json", "--quiet"], c.out);
    expect(c.errs.join("\n")).toBe("");
    expect(code).toBe(0);
    const runHashes = readFileSync(log, "utf8").trim().split("\n");
    expect(runHashes).toHaveLength(TICKS);
    // The network's choices show in the hashes: the random policy's differ.
    const randomLog = join(dir, "random.hash");
    expect(await main(["run", "--towns", "4", "--shards", "2", "--workers", "1", "--policy", "random", "--ticks", String(TICKS), "--hash-log", randomLog, "--quiet"], capture().out)).toBe(0);
    expect(readFileSync(randomLog, "utf8").trim().split("\n").at(-1)).not.toBe(runHashes.at(-1));

    // The server on 2 threads: its hash after every tick, read as each tick's payload is published.
    const h = await serve({ workers: 2, policy: `neural:${checkpoint}` });
    expect(h.sim.workers).toBe(2);
    h.sim.hashEveryTick = true;
    const served = new Map<number, string>();
    h.publisher.addSink({ deliver: () => void (h.sim.lastHash !== undefined && served.set(h.sim.tick, h.sim.lastHash)) });
    const admin = await client(h.wsUrl);
    await admin.next((m) => m.payload_type === "snapshot");
    // The telemetry names the network that decides, and where it runs.
    expect(admin.mirror.state!.policy).toEqual({ policy: "neural", spec: `neural:${checkpoint}`, checkpoint, policy_hash: policyHash, greedy: false, batch: "main thread" });
    expect(await admin.command("resume")).toMatchObject({ status: "ok" });
    await until(() => admin.mirror.tick === TICKS && (admin.mirror.state?.loop as { state?: string } | undefined)?.state === "finished", `the client to reach tick ${TICKS}`);
    expect([...served].map(([t, x]) => `${t} ${x}`)).toEqual(runHashes);
    expect(await h.sim.stateHash()).toBe(runHashes[TICKS - 1].split(" ")[1]);
    const kpis = admin.mirror.state!.kpis as { policy_decisions: number; alive_agents: number };
    expect(kpis.policy_decisions).toBeGreaterThan(0);
    expect(kpis.alive_agents).toBeGreaterThan(0);

    // policy_status names the main thread's network; promotion is not enabled without --checkpoints, as on one block.
    const status = await admin.command("policy_status");
    expect(status).toMatchObject({ status: "ok", result: { live: { policy: "neural", path: checkpoint, policy_hash: policyHash }, tensor_backend: "cpu", sharded: { blocks: 2, batch: "main thread" } } });
    const promote = await admin.command("promote_policy", { checkpoint: "other" });
    expect(promote).toMatchObject({ status: "error", error: { code: "unavailable" } });
    expect(JSON.stringify(promote)).toMatch(/policy promotion is not enabled in this world: no checkpoint root is configured \(serve with --checkpoints DIR\)/);
    expect(await admin.command("rollback_policy")).toMatchObject({ status: "error", error: { code: "unavailable" } });
  }, 180_000);

  it("saves the served neural blocks with snapshot_save and goes on from them in another server on the run's hashes", async () => {
    const log = join(dir, "run16.hash");
    expect(await main(["run", "--towns", "4", "--shards", "2", "--policy", `neural:${checkpoint}`, "--ticks", "16", "--backend", "cpu", "--hash-log", log, "--quiet"], capture().out)).toBe(0);
    const run = readFileSync(log, "utf8").trim().split("\n").map((l) => l.split(" ")[1]);
    const overrides = { "snapshot.storage.root": join(dir, "snapshots") };
    const a = await serve({ workers: 2, policy: `neural:${checkpoint}`, ticks: 8, overrides });
    const first = await client(a.wsUrl);
    await first.next((m) => m.payload_type === "snapshot");
    expect(await first.command("resume")).toMatchObject({ status: "ok" });
    await until(() => a.sim.tick === 8 && a.loop.status().state === "finished", "tick 8");
    expect(await first.command("snapshot_save", { path: "neural.shards" })).toMatchObject({ status: "ok", result: { tick: 8, blocks: 2 } });
    expect(await a.sim.stateHash()).toBe(run[7]);
    // Another server of the same world, on one thread, loads it and runs on to tick 16.
    const b = await serve({ workers: 1, policy: `neural:${checkpoint}`, ticks: 16, overrides });
    const second = await client(b.wsUrl);
    await second.next((m) => m.payload_type === "snapshot");
    expect(await second.command("snapshot_load", { path: "neural.shards" })).toMatchObject({ status: "ok", result: { tick: 8 } });
    expect(await second.command("resume")).toMatchObject({ status: "ok" });
    await until(() => b.sim.tick === 16 && b.loop.status().state === "finished", "tick 16");
    expect(await b.sim.stateHash()).toBe(run[15]);
  }, 180_000);

  it("stops the loop when a block throws under the neural policy, with the block's error and tick, and stays up", async () => {
    const h = await serve({ workers: 2, policy: `neural:${checkpoint}`, ticks: 40, pluginSpecs: [BOOM] });
    const admin = await client(h.wsUrl);
    await admin.next((m) => m.payload_type === "snapshot");
    expect(await admin.command("resume")).toMatchObject({ status: "ok" });
    await until(() => (admin.mirror.state?.loop as { state?: string } | undefined)?.state === "stopped", "the stopped loop in the stream");
    // Block 1 (towns 2..3) holds the uids from 2^31, which the fixture throws on at tick 7.
    expect((admin.mirror.state!.loop as { error: string }).error).toMatch(/^block 1 \(towns 2\.\.3\) failed at tick 7: .*boom at tick 7$/);
    expect(h.sim.tick).toBe(6);
    expect(await admin.command("status")).toMatchObject({ status: "ok", result: { tick: 6 } });
    const set = await admin.command("setneed", { agent_id: "agent_0", need: "hunger", value: 0.5 });
    expect(set).toMatchObject({ status: "error" });
    expect(JSON.stringify(set)).toMatch(/block 1 \(towns 2\.\.3\) failed at tick 7/);
  }, 60_000);

  it("says from the CLI which network decides and where it runs, and stops at --ticks with --exit", async () => {
    const c = capture();
    const args = ["serve", "--towns", "4", "--shards", "2", "--workers", "2", "--policy", `neural:${checkpoint}`, "--ticks", "3", "--exit", "--port", "0", "--audit", join(dir, "cli-ok.ndjson")];
    expect(await main(args, c.out)).toBe(0);
    const err = c.errs.join("\n");
    expect(err).toContain(`48 agents in 4 town(s) in 2 blocks of towns on 2 threads, policy neural:${checkpoint}: one batch per tick on this thread`);
    expect(err).toMatch(/stopped at tick 3/);
  }, 60_000);

  it("names the scripted policy of each block in the policy section", async () => {
    const h = await serve({ workers: 1, policy: "scripted" });
    const admin = await client(h.wsUrl);
    await admin.next((m) => m.payload_type === "snapshot");
    expect(admin.mirror.state!.policy).toEqual({ policy: "scripted", batch: "each block" });
    const promote = await admin.command("promote_policy", { checkpoint: "other" });
    expect(JSON.stringify(promote)).toMatch(/each block runs the scripted or random policy the server started with/);
  }, 60_000);

  it("refuses to start on a missing checkpoint, or one whose observations do not match, naming it", async () => {
    const missing = join(dir, "no-such-checkpoint");
    await expect(serve({ workers: 2, policy: `neural:${missing}` })).rejects.toThrow(new RegExp(`cannot read policy checkpoint ${missing}/policy.json`));
    // A network that reads 3 floats more than this world's observations hold.
    const { tf } = await initTensorBackend("cpu");
    const { world } = buildWorld(DEFAULT_CONFIG_FILE, corePlugins, { towns: 1 });
    const want = checkpointExpectations(world);
    const wide = new NeuralPolicy(tf, { inputSize: want.inputSize + 3, actionCount: want.actionNames.length, hidden: [4], seed: 1, greedy: false, variant: want.variant, configId: want.configId, actionNames: want.actionNames });
    const bad = join(dir, "wide");
    wide.save(bad);
    wide.dispose();
    await expect(serve({ workers: 2, policy: `neural:${bad}` })).rejects.toThrow(`the policy reads ${want.inputSize + 3} floats per agent, this run's observations hold ${want.inputSize}`);
    // From the CLI: exit 1 with the message, no server left listening.
    const c = capture();
    expect(await main(["serve", "--towns", "4", "--shards", "2", "--workers", "2", "--policy", `neural:${missing}`, "--port", "0", "--audit", join(dir, "cli-audit.ndjson")], c.out)).toBe(1);
    expect(c.errs.join("\n")).toMatch(/cannot read policy checkpoint .*no-such-checkpoint\/policy\.json/);
    expect(c.lines.join("\n")).not.toMatch(/listening/);
  }, 120_000);

  it("refuses --checkpoints on scripted or random blocks instead of ignoring it, saying why", async () => {
    await expect(serve({ workers: 1, policy: "random", checkpointRoot: dir })).rejects.toThrow(/--checkpoints: promote_policy\/rollback_policy swap the network the main thread runs over every block .*with --policy random each block runs its own policy/);
    const c = capture();
    expect(await main(["serve", "--towns", "4", "--shards", "2", "--checkpoints", dir, "--port", "0", "--audit", join(dir, "cli-audit.ndjson")], c.out)).toBe(1);
    expect(c.errs.join("\n")).toMatch(/--checkpoints: .*--policy neural\[:DIR\] --checkpoints DIR/);
  }, 60_000);
});
