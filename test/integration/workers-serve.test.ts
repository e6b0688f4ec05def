// `townlet serve` of a sharded world (world.shards / --shards K) on worker threads, over a real
// WebSocket: clients rebuild the merged stream at every tick and see every town and agent, the
// same on 1 and 2 threads; console commands reach the block that owns their agent, town, object
// or event (bad targets get a clear error); snapshot_save/snapshot_load write and restore every
// block; a block that throws stops the loop with its error and tick, which clients see and the
// CLI reports (exit 2). Every server is closed and every loop bounded.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { TelemetryMirror, type Published, type TelemetryPayloadT } from "../../systems/telemetry/index.ts";
import { startShardedServe, type ShardServeHandle } from "../../tools/serve-shards.ts";
import type { ServeOptions } from "../../tools/serve.ts";
import { DEFAULT_CONFIG_FILE } from "../../engine/paths.ts";

const BIN = fileURLToPath(new URL("../../bin/townlet.mjs", import.meta.url));
const BOOM = fileURLToPath(new URL("../fixtures/boom.ts", import.meta.url));
const ADMIN_TOKEN = "admin-token-0123456789";
const VIEWER_TOKEN = "viewer-token-0123456789";
/** 5 towns in 3 blocks: towns 0 | 1..2 | 3..4 (a one-town block names its objects without @town). */
const WORLD = { towns: 5, agents: 3, shards: 3 } as const;

let dir: string;
let tokensFile: string;
const handles: ShardServeHandle[] = [];
const clients: Client[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-workers-serve-"));
  tokensFile = join(dir, "tokens.yaml");
  writeFileSync(tokensFile, `- {token: ${VIEWER_TOKEN}, role: viewer, label: watcher}\n- {token: ${ADMIN_TOKEN}, role: admin, label: operator}\n`);
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.ws.terminate();
  for (const h of handles.splice(0)) await h.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function canon(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(canon);
  if (x && typeof x === "object") return Object.fromEntries(Object.keys(x).sort().map((k) => [k, canon((x as Record<string, unknown>)[k])]));
  return x;
}
const key = (x: unknown) => JSON.stringify(canon(x));

async function serve(workers: number, o: Partial<ServeOptions> = {}): Promise<{ h: ShardServeHandle; states: Map<number, string> }> {
  const h = await startShardedServe({
    configFile: DEFAULT_CONFIG_FILE,
    port: 0,
    tokensFile,
    audit: join(dir, `audit-${handles.length}-${workers}.ndjson`),
    paused: true,
    ticks: 60,
    observer: false,
    ...WORLD,
    workers,
    overrides: { "snapshot.storage.root": join(dir, "snapshots") },
    ...o,
  });
  handles.push(h);
  // The server's published state after every payload (what a client must rebuild).
  const states = new Map<number, string>();
  h.publisher.addSink({ deliver: (p: Published) => void states.set(p.payload.seq, key(h.publisher.state())) });
  return { h, states };
}

class Client {
  readonly messages: Record<string, unknown>[] = [];
  readonly mirror = new TelemetryMirror(() => this.send({ type: "resync" }));
  /** Payloads (full mode) whose rebuilt state differed from the server's at the same seq. */
  readonly mismatches: number[] = [];
  applied = 0;
  private nextId = 1;

  constructor(
    readonly ws: WebSocket,
    states?: Map<number, string>,
  ) {
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      this.messages.push(m);
      if (typeof m.payload_type === "string" && this.mirror.apply(m as unknown as TelemetryPayloadT) !== "gap" && states && this.mirror.state) {
        this.applied++;
        // In aggregate mode a client sees its subscriptions only, not the server's whole copy.
        if (this.mirror.state.mode === "full" && states.get(this.mirror.seq) !== key(this.mirror.state)) this.mismatches.push(this.mirror.seq);
      }
    });
  }

  static open(url: string, token: string, states?: Map<number, string>): Promise<Client> {
    const ws = new WebSocket(url, [], { headers: { authorization: `Bearer ${token}` } });
    const c = new Client(ws, states);
    clients.push(c);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(c));
      ws.once("error", reject);
    });
  }

  send(obj: unknown): void {
    this.ws.send(JSON.stringify(obj));
  }

  async next(pred: (m: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const t0 = Date.now();
    for (;;) {
      const m = this.messages.find(pred);
      if (m) return m;
      if (Date.now() - t0 > timeoutMs) throw new Error("timed out waiting for a message");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async command(name: string, args: Record<string, unknown> = {}, cmdId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.send({ type: "command", id, name, args, ...(cmdId ? { cmd_id: cmdId } : {}) });
    return this.next((m) => m.id === id && (m.type === "result" || m.type === "error"));
  }
}

async function until(cond: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Rec = Record<string, unknown>;
const agentsOf = (c: Client) => c.mirror.state!.agents as Record<string, Rec>;

/** Runs a paused server to its last tick with a streaming client; returns the client's final state. */
async function runToEnd(workers: number): Promise<{ state: Rec; client: Client }> {
  const { h, states } = await serve(workers);
  const c = await Client.open(h.wsUrl, ADMIN_TOKEN, states);
  await c.next((m) => m.payload_type === "snapshot");
  expect(await c.command("resume")).toMatchObject({ status: "ok" });
  await until(() => c.mirror.tick === 60 && (c.mirror.state?.loop as Rec | undefined)?.state === "finished", "the client to reach tick 60");
  return { state: c.mirror.state!, client: c };
}

describe("townlet serve of a sharded world on worker threads", () => {
  it("streams every town and agent of every block, rebuilt exactly by a client, the same on 1 and 2 threads", async () => {
    const one = await runToEnd(1);
    const two = await runToEnd(2);
    for (const { client } of [one, two]) {
      expect(client.applied).toBeGreaterThanOrEqual(60);
      expect(client.mismatches).toEqual([]);
      expect(client.mirror.gaps).toBe(0);
    }
    expect(key(two.state)).toBe(key(one.state));
    const s = two.state;
    expect(s.towns).toBe(5);
    const agents = Object.entries(s.agents as Record<string, Rec>);
    expect(agents.length).toBe(15);
    expect(new Set(agents.map(([, a]) => a.town))).toEqual(new Set([0, 1, 2, 3, 4]));
    // Agents keep their block's uids: block 2's start at 2 * floor(2^32 / 3).
    expect(agents.filter(([id]) => Number(id.slice("agent_".length)) >= 2 * Math.floor(2 ** 32 / 3)).map(([, a]) => a.town).sort()).toEqual([3, 3, 3, 4, 4, 4]);
    const overview = s.towns_overview as Record<string, number[]>;
    expect(overview.agents).toEqual([3, 3, 3, 3, 3]);
    // Objects are named by their global town, whatever their block.
    const objects = Object.entries(s.objects as Record<string, Rec>);
    expect(new Set(objects.map(([, o]) => o.town))).toEqual(new Set([0, 1, 2, 3, 4]));
    for (const [id, o] of objects) {
      expect(id).toBe(o.id);
      expect(id.endsWith(`@${o.town}`), id).toBe(true);
    }
    expect((s.kpis as Rec).alive_agents).toBe(15);
    expect((s.economy as { towns: { town: number }[] }).towns.map((t) => t.town)).toEqual([0, 1, 2, 3, 4]);
  }, 120_000);

  it("routes a console command to the block that owns its agent, town or event, and names bad targets", async () => {
    const { h } = await serve(2);
    const admin = await Client.open(h.wsUrl, ADMIN_TOKEN);
    await admin.next((m) => m.payload_type === "snapshot");
    const agents = agentsOf(admin);
    const [last] = Object.entries(agents).filter(([, a]) => a.town === 4).map(([id]) => id);
    const [first] = Object.entries(agents).filter(([, a]) => a.town === 0).map(([id]) => id);
    // An agent of the last block (uids from 2 * floor(2^32 / 3)) changes there, and the stream shows it.
    const set = await admin.command("setneed", { agent_id: last, need: "hunger", value: 0.123 }, "set-1");
    expect(set).toMatchObject({ status: "ok", result: { agent_id: last, after: { hunger: 0.123 } } });
    await until(() => agentsOf(admin)[last].hunger === 0.123, "the stream to show the new hunger");
    expect(agentsOf(admin)[first].hunger).not.toBe(0.123);
    // A global town reaches its block as the block's own town; the answer names it globally.
    const price = await admin.command("price", { town: 3, multiplier: 2.5 }, "price-3");
    expect(price).toMatchObject({ status: "ok", result: { town: 3, multiplier: 2.5 } });
    await until(() => (admin.mirror.state!.economy as { towns: { town: number; price_multiplier: number }[] }).towns[3].price_multiplier === 2.5, "town 3's price");
    expect((admin.mirror.state!.economy as { towns: { price_multiplier: number }[] }).towns.map((t) => t.price_multiplier)).toEqual([1, 1, 1, 2.5, 1]);
    // A perturbation in town 2 (block 1) is named evt_1_<n>, and cancelled through that name.
    const trig = await admin.command("perturbation_trigger", { spec: "blackout", town: 2, starts_in: 5 }, "trig-2");
    expect(trig).toMatchObject({ status: "ok" });
    const evt = JSON.stringify(trig.result).match(/evt_1_\d+/)?.[0];
    expect(evt, JSON.stringify(trig.result)).toBeDefined();
    expect(await admin.command("perturbation_cancel", { event_id: evt }, "cancel-2")).toMatchObject({ status: "ok", result: { event_id: evt, cancelled: true } });
    // Untargeted commands ask every block; status is the world's.
    expect(await admin.command("status")).toMatchObject({ status: "ok", result: { towns: 5, agents: 15, blocks: 3, workers: 2 } });
    const queue = await admin.command("employment_status");
    // The config's exit cap (employment.daily_exit_cap, default 2), not its sum over the 3 blocks.
    expect(queue).toMatchObject({ status: "ok", result: { pending_count: 0, daily_exit_cap: 2 } });
    // Bad targets.
    const ghost = await admin.command("setneed", { agent_id: "agent_4000000000", need: "hunger", value: 0.5 }, "set-ghost");
    expect(ghost).toMatchObject({ status: "error", error: { code: "not_found" } });
    expect(String((ghost.error as Rec).message)).toMatch(/agent_4000000000/);
    const far = await admin.command("price", { town: 9, multiplier: 2 }, "price-9");
    expect(far).toMatchObject({ status: "error", error: { code: "invalid_args", message: "town: expected an integer in [0, 4], got 9" } });
    const apart = await admin.command("force_chat", { speaker: first, listener: last }, "chat-apart");
    expect(apart).toMatchObject({ status: "error", error: { code: "invalid_args" } });
    expect(String((apart.error as Rec).message)).toMatch(/^listener: in towns 3\.\.4, while speaker is in towns 0\.\.0/);
    expect(await admin.command("perturbation_cancel", { event_id: "evt_7_1" }, "cancel-7")).toMatchObject({ status: "error", error: { code: "not_found" } });
    // Roles are checked before routing: a viewer may not.
    const viewer = await Client.open(h.wsUrl, VIEWER_TOKEN);
    expect(await viewer.command("setneed", { agent_id: last, need: "hunger", value: 0.9 }, "v-1")).toMatchObject({ status: "error", error: { code: "forbidden" } });
  }, 120_000);

  it("streams aggregates over every block above aggregate_above_agents, and the agents and towns a client subscribed to", async () => {
    const { h } = await serve(2, { ticks: 40, overrides: { "snapshot.storage.root": join(dir, "snapshots"), "telemetry.stream.aggregate_above_agents": 10 } });
    const c = await Client.open(h.wsUrl, VIEWER_TOKEN);
    const snap = await c.next((m) => m.payload_type === "snapshot");
    expect(snap).toMatchObject({ mode: "aggregate", agents: {}, objects: {}, towns: 5 });
    expect((snap.aggregates as { agents: number }).agents).toBe(15);
    // A town of the last block and an agent of the first, and one that does not exist.
    const admin = await Client.open(h.wsUrl, ADMIN_TOKEN);
    await admin.next((m) => m.payload_type === "snapshot");
    c.send({ type: "subscribe", towns: [4], agents: ["agent_0", "nobody"] });
    expect(await c.next((m) => m.type === "subscribed")).toEqual({ type: "subscribed", agents: ["agent_0"], unknown: ["nobody"], towns: [4] });
    // The blocks publish them at once (while paused too): they follow the subscriber's snapshot.
    await c.next((m) => m.payload_type === "snapshot" && m.reason === "subscribe");
    await until(() => Object.keys(agentsOf(c)).length === 4, "the subscribed agents");
    const seen = agentsOf(c);
    expect(Object.keys(seen)).toContain("agent_0");
    expect(Object.values(seen).filter((a) => a.town === 4).length).toBe(3);
    const objects = c.mirror.state!.objects as Record<string, Rec>;
    expect(Object.keys(objects).length).toBeGreaterThan(0);
    expect(Object.values(objects).every((o) => o.town === 4)).toBe(true);
    // Only the subscribed agents crossed from the blocks: the other client sees none of them.
    expect(Object.keys(admin.mirror.state!.agents as object)).toEqual([]);
    expect(await admin.command("resume")).toMatchObject({ status: "ok" });
    await until(() => c.mirror.tick === 40, "tick 40");
    const st = c.mirror.state!;
    expect(c.mirror.gaps).toBe(0);
    expect(Object.keys(st.agents as object).sort()).toEqual(Object.keys(seen).sort());
    expect(Object.values(st.objects as Record<string, Rec>).every((o) => o.town === 4)).toBe(true);
    // The agent's own block publishes its reward breakdown for the client that watches it.
    expect(Object.keys((st.reward_breakdown as Rec | undefined) ?? {})).toContain("agent_0");
    // A client without subscriptions still gets no agents.
    expect(Object.keys(admin.mirror.state!.agents as object)).toEqual([]);
  }, 120_000);

  it("switches to aggregate mode when the world's agents pass the threshold, and back, with a client rebuilding the stream exactly", async () => {
    const { h, states } = await serve(2, { overrides: { "snapshot.storage.root": join(dir, "snapshots"), "telemetry.stream.aggregate_above_agents": 15 } });
    const c = await Client.open(h.wsUrl, ADMIN_TOKEN, states);
    const first = await c.next((m) => m.payload_type === "snapshot");
    expect(first).toMatchObject({ mode: "full" });
    expect(Object.keys(first.agents as object).length).toBe(15);
    // A 16th agent (in town 4, the last block) puts the world above 15: aggregate mode.
    expect(await c.command("spawn", { town: 4, name: "visitor" }, "spawn-1")).toMatchObject({ status: "ok", result: { agent_id: "visitor", town: 4 } });
    await until(() => c.mirror.state?.mode === "aggregate", "aggregate mode");
    expect(Object.keys(agentsOf(c))).toEqual([]);
    // The spawned agent is named by its block: a subscription to it reaches that block.
    c.send({ type: "subscribe", agents: ["visitor"] });
    await until(() => agentsOf(c).visitor?.town === 4, "the subscribed visitor");
    // Two leave: 14, full mode again, every agent back.
    const ids = Object.keys(first.agents as object);
    expect(await c.command("kill", { agent_id: ids[0] }, "kill-1")).toMatchObject({ status: "ok" });
    expect(await c.command("kill", { agent_id: ids[14] }, "kill-2")).toMatchObject({ status: "ok" });
    expect(await c.command("resume")).toMatchObject({ status: "ok" });
    await until(() => c.mirror.state?.mode === "full" && Object.keys(agentsOf(c)).length > 1, "full mode again");
    // In full mode, before and after, the client's copy is the server's at every seq.
    expect(c.applied).toBeGreaterThan(5);
    expect(c.mismatches).toEqual([]);
    expect(c.mirror.gaps).toBe(0);
  }, 120_000);

  it("leaves events past max_events_per_tick out of each merged payload and counts every one left out in /metrics", async () => {
    /** The events a client got in each diff up to tick 60, and the server's dropped-events counter. */
    async function stream(workers: number, max: number): Promise<{ perDiff: number[]; dropped: number }> {
      const overrides = { "snapshot.storage.root": join(dir, "snapshots"), "telemetry.stream.max_events_per_tick": max };
      const { h } = await serve(workers, { overrides });
      const c = await Client.open(h.wsUrl, ADMIN_TOKEN);
      await c.next((m) => m.payload_type === "snapshot");
      expect(await c.command("resume")).toMatchObject({ status: "ok" });
      await until(() => c.mirror.tick === 60 && (c.mirror.state?.loop as Rec | undefined)?.state === "finished", "tick 60");
      expect(c.mirror.gaps).toBe(0);
      const perDiff = c.messages.filter((m) => m.payload_type === "diff").map((m) => (m.events as unknown[]).length);
      const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
      const line = (await res.text()).split("\n").find((l) => l.startsWith("townlet_telemetry_events_dropped_total "));
      return { perDiff, dropped: Number(line?.split(" ")[1]) };
    }
    const all = await stream(1, 100_000);
    const total = all.perDiff.reduce((a, b) => a + b, 0);
    expect(all.dropped).toBe(0);
    // A limit under what a tick's blocks publish together: each block keeps up to 3, the merge keeps 3.
    const capped = await stream(2, 3);
    expect(Math.max(...all.perDiff)).toBeGreaterThan(3);
    expect(Math.max(...capped.perDiff)).toBeLessThanOrEqual(3);
    expect(capped.dropped).toBeGreaterThan(0);
    expect(capped.perDiff.reduce((a, b) => a + b, 0) + capped.dropped).toBe(total);
  }, 120_000);

  it("saves every block with snapshot_save and restores them with snapshot_load", async () => {
    const { h } = await serve(2, { ticks: 100 });
    const admin = await Client.open(h.wsUrl, ADMIN_TOKEN);
    await admin.next((m) => m.payload_type === "snapshot");
    expect(await admin.command("resume")).toMatchObject({ status: "ok" });
    await until(() => h.sim.tick >= 20, "tick 20");
    expect(await admin.command("pause")).toMatchObject({ status: "ok" });
    const saved = await admin.command("snapshot_save", { path: "s1.shards" }, "save-1");
    expect(saved).toMatchObject({ status: "ok", result: { blocks: 3 } });
    const at = (saved.result as { tick: number }).tick;
    await until(() => admin.mirror.tick === at && (admin.mirror.state?.loop as Rec).state === "paused", "the paused state");
    const before = key(admin.mirror.state!.agents);
    expect(readdirSync(join(dir, "snapshots"))).toContain("s1.shards");
    expect(await admin.command("resume")).toMatchObject({ status: "ok" });
    await until(() => h.sim.tick >= at + 15, "15 more ticks");
    expect(await admin.command("pause")).toMatchObject({ status: "ok" });
    expect(key(admin.mirror.state!.agents)).not.toBe(before);
    const loaded = await admin.command("snapshot_load", { path: "s1.shards" }, "load-1");
    expect(loaded).toMatchObject({ status: "ok", result: { tick: at } });
    await until(() => h.sim.tick === at && key(admin.mirror.state!.agents) === before, "the restored agents in the stream");
    const escape = await admin.command("snapshot_save", { path: "../outside.shards" }, "save-out");
    expect(escape).toMatchObject({ status: "error", error: { code: "invalid_args" } });
  }, 120_000);

  it("stops the loop when a block throws, with the block's error and tick, which clients see", async () => {
    const { h } = await serve(2, { pluginSpecs: [BOOM], ticks: 40 });
    const c = await Client.open(h.wsUrl, ADMIN_TOKEN);
    await c.next((m) => m.payload_type === "snapshot");
    expect(await c.command("resume")).toMatchObject({ status: "ok" });
    await until(() => (c.mirror.state?.loop as Rec | undefined)?.state === "stopped", "the stopped loop in the stream");
    const loop = c.mirror.state!.loop as Rec;
    expect(loop.error).toMatch(/^block 2 \(towns 3\.\.4\) failed at tick 7: system "boom\/explode" failed in phase needs at tick 7: boom at tick 7$/);
    expect(h.sim.tick).toBe(6);
    expect((h.loop.error as Error).name).toBe("ShardError");
    // The server is still up: it answers, and commands that need the world say why they cannot run.
    expect(await c.command("status")).toMatchObject({ status: "ok", result: { tick: 6 } });
    const set = await c.command("setneed", { agent_id: "agent_0", need: "hunger", value: 0.5 }, "after-stop");
    expect(set).toMatchObject({ status: "error" });
    expect(String((set.error as Rec).message)).toMatch(/block 2 \(towns 3\.\.4\) failed at tick 7/);
  }, 60_000);

  it("exits 2 from the CLI naming the failing block, its towns and the tick", async () => {
    const args = [BIN, "serve", DEFAULT_CONFIG_FILE, "--towns", "5", "--agents", "3", "--shards", "3", "--workers", "2", "--plugin", BOOM, "--port", "0", "--ticks", "40", "--audit", join(dir, "cli-audit.ndjson")];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, err).toBe(2);
    expect(err).toMatch(/15 agents in 5 town\(s\) in 3 blocks of towns on 2 threads/);
    expect(err).toMatch(/townlet serve: the world stopped: block 2 \(towns 3\.\.4\) failed at tick 7: system "boom\/explode" failed in phase needs at tick 7: boom at tick 7/);
  }, 60_000);
});
