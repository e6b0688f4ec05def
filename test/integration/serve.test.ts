// `townlet serve` on loopback: WebSocket clients rebuild the server's state at every tick from
// a snapshot and diffs; a client that stops reading keeps server memory bounded (stale, drops
// counted, one snapshot when it drains) and one past the hard limit is closed with 4008; a
// dropped connection and a seq gap resync; dead peers are dropped by ping/pong; the auth matrix
// (no token, wrong token, viewer sending admin commands, tickets as subprotocols) over WebSocket
// and HTTP; idempotency by cmd_id; bad frames answered without disturbing other clients; and
// the real `townlet serve` + `townlet console` processes end to end. Every server is closed and
// every loop bounded.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { TelemetryMirror, type Published, type TelemetryPayloadT } from "../../systems/telemetry/index.ts";
import { startServe, type ServeHandle, type ServeOptions } from "../../tools/serve.ts";
import { main } from "../../tools/cli.ts";

const BIN = fileURLToPath(new URL("../../bin/townlet.mjs", import.meta.url));
const VIEWER_TOKEN = "viewer-token-0123456789";
const ADMIN_TOKEN = "admin-token-0123456789";

let dir: string;
let tokensFile: string;
const handles: ServeHandle[] = [];
const clients: Client[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-serve-"));
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

interface Serve {
  h: ServeHandle;
  /** The server's published state by seq (canonical JSON). */
  states: Map<number, string>;
}

async function serve(o: ServeOptions = {}): Promise<Serve> {
  const h = await startServe({
    port: 0,
    tokensFile,
    audit: join(dir, `audit-${handles.length}-${Date.now()}.ndjson`),
    paused: true,
    ticks: 400,
    overrides: { "world.agents_per_town": 6, ...o.overrides },
    ...o,
  });
  handles.push(h);
  const states = new Map<number, string>();
  h.publisher.addSink({ deliver: (p: Published) => void states.set(p.payload.seq, key(h.publisher.state())) });
  return { h, states };
}

class Client {
  readonly messages: Record<string, unknown>[] = [];
  readonly mirror: TelemetryMirror;
  closed: { code: number; reason: string } | undefined;
  /** seq of every telemetry payload applied, with whether it matched the server's state. */
  readonly checked: { seq: number; ok: boolean; kind: string }[] = [];
  private waiters: (() => void)[] = [];
  private nextId = 1;
  /** Drop the next diff (to provoke a gap). */
  skipNextDiff = false;

  constructor(
    readonly ws: WebSocket,
    private readonly states?: Map<number, string>,
  ) {
    this.mirror = new TelemetryMirror(() => this.send({ type: "resync" }));
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as Record<string, unknown>;
      this.messages.push(m);
      if (typeof m.payload_type === "string") {
        const p = m as unknown as TelemetryPayloadT;
        if (p.payload_type === "diff" && this.skipNextDiff) {
          this.skipNextDiff = false;
        } else if (this.mirror.apply(p) !== "gap" && this.states && this.mirror.state) {
          const want = this.states.get(this.mirror.seq);
          this.checked.push({ seq: this.mirror.seq, ok: want === key(this.mirror.state), kind: p.payload_type });
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(url: string, o: { token?: string; protocols?: string[]; stream?: boolean; states?: Map<number, string> } = {}): Promise<Client> {
    const u = o.stream === false ? `${url}?stream=0` : url;
    const ws = new WebSocket(u, o.protocols ?? [], { headers: o.token ? { authorization: `Bearer ${o.token}` } : {} });
    const c = new Client(ws, o.states);
    clients.push(c);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(c));
      ws.once("unexpected-response", (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
      ws.once("error", reject);
    });
  }

  send(obj: unknown): void {
    this.ws.send(typeof obj === "string" ? obj : JSON.stringify(obj));
  }

  /** Resolves with the first message (from `from` on) that satisfies `pred`. */
  async next(pred: (m: Record<string, unknown>) => boolean, timeoutMs = 10_000, from = 0): Promise<Record<string, unknown>> {
    const t0 = Date.now();
    for (;;) {
      const m = this.messages.slice(from).find(pred);
      if (m) return m;
      if (this.closed) throw new Error(`closed (${this.closed.code} ${this.closed.reason}) while waiting`);
      if (Date.now() - t0 > timeoutMs) throw new Error("timed out waiting for a message");
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  async command(name: string, args: Record<string, unknown> = {}, cmdId?: string): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    this.send({ type: "command", id, name, args, ...(cmdId ? { cmd_id: cmdId } : {}) });
    return this.next((m) => m.id === id && (m.type === "result" || m.type === "error"));
  }

  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    const t0 = Date.now();
    while (!this.closed) {
      if (Date.now() - t0 > timeoutMs) throw new Error("timed out waiting for close");
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.closed;
  }
}

async function until(cond: () => boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function post(url: string, path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe("telemetry over WebSocket", () => {
  it("lets a client rebuild the server's state at every tick from the snapshot and the diffs", async () => {
    const { h, states } = await serve({ ticks: 300 });
    const c = await Client.open(h.wsUrl, { token: VIEWER_TOKEN, states });
    const admin = await Client.open(h.wsUrl, { token: ADMIN_TOKEN, stream: false });
    expect(await c.next((m) => m.type === "hello")).toMatchObject({ role: "viewer", label: "watcher", schema_version: "0.3.0" });
    await c.next((m) => m.payload_type === "snapshot");
    h.loop.paused = false;
    await until(() => h.world.tick >= 100, 20_000, "tick 100");
    expect(await admin.command("spawn", { name: "visitor" }, "spawn-visitor")).toMatchObject({ status: "ok" });
    expect(await admin.command("kill", { agent_id: "agent_1" }, "kill-1")).toMatchObject({ status: "ok" });
    await until(() => c.mirror.tick === 300, 30_000, "the client to reach tick 300");
    expect(c.checked.length).toBeGreaterThanOrEqual(300);
    expect(c.checked.filter((x) => !x.ok)).toEqual([]);
    expect(c.mirror.gaps).toBe(0);
    expect(Object.keys(c.mirror.state!.agents as object)).toContain("visitor");
    expect(Object.keys(c.mirror.state!.agents as object)).not.toContain("agent_1");
    // The console-only connection got no telemetry.
    expect(admin.messages.some((m) => "payload_type" in m)).toBe(false);
  });

  it("keeps memory bounded for a client that stops reading, then catches it up with one snapshot", async () => {
    const { h, states } = await serve({
      ticks: 2500,
      overrides: { "world.agents_per_town": 40 },
      server: { highWaterBytes: 64_000, hardLimitBytes: 8_000_000 },
    });
    const slow = await Client.open(h.wsUrl, { token: VIEWER_TOKEN, states });
    const steady = await Client.open(h.wsUrl, { token: VIEWER_TOKEN, states });
    await slow.next((m) => m.payload_type === "snapshot");
    const socket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();
    let maxInFlight = 0;
    const stop = h.world.onTick(() => {
      for (const c of h.server.conns) maxInFlight = Math.max(maxInFlight, c.inFlight);
    });
    const heap0 = process.memoryUsage().heapUsed;
    h.loop.paused = false;
    await until(() => h.world.tick >= 2500, 60_000, "tick 2500");
    stop();
    const conn = [...h.server.conns].find((c) => c.stale);
    expect(conn, "the slow client is marked stale").toBeDefined();
    expect(conn!.dropped).toBeGreaterThan(100);
    expect(maxInFlight).toBeLessThanOrEqual(h.server.hardLimit);
    expect(maxInFlight).toBeLessThan(h.server.highWater + 1_000_000);
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(200_000_000);
    // The steady client never missed a diff.
    await until(() => steady.mirror.tick === 2500, 20_000, "the steady client");
    expect(steady.mirror.gaps).toBe(0);
    expect(steady.checked.every((x) => x.ok)).toBe(true);
    // Reading again: what was in flight, then one fresh snapshot (reason stale, drops counted
    // since connecting), and the state is right.
    const droppedBefore = conn!.dropped;
    socket.resume();
    await until(() => slow.mirror.seq === h.publisher.seq, 20_000, "the slow client to catch up");
    const stale = slow.messages.filter((m) => m.payload_type === "snapshot" && m.reason === "stale");
    expect(stale.length).toBeGreaterThan(0);
    expect((stale.at(-1)!.dropped as { payloads: number }).payloads).toBeGreaterThanOrEqual(droppedBefore);
    expect(key(slow.mirror.state)).toBe(key(h.publisher.state()));
    expect(slow.checked.every((x) => x.ok)).toBe(true);
    expect(h.server.stats.dropped_payloads).toBeGreaterThan(100);
  });

  it("closes a client past the hard limit with 4008", async () => {
    const { h } = await serve({ server: { highWaterBytes: 1024, hardLimitBytes: 4096 } });
    const c = await Client.open(h.wsUrl, { token: VIEWER_TOKEN });
    // The first snapshot alone is larger than the hard limit.
    const closed = await c.waitClosed();
    expect(closed.code).toBe(4008);
    expect(closed.reason).toMatch(/slow consumer/);
    await until(() => h.server.stats.closed_slow === 1, 5000, "the close to be counted");
  });

  it("resyncs after a dropped connection and after a seq gap", async () => {
    const { h, states } = await serve({ ticks: 200 });
    const c = await Client.open(h.wsUrl, { token: VIEWER_TOKEN, states });
    await c.next((m) => m.payload_type === "snapshot");
    h.loop.paused = false;
    await until(() => c.mirror.tick >= 40, 20_000, "tick 40");
    // A gap: the client drops one diff, sees the next one's seq, asks for a resync.
    c.skipNextDiff = true;
    const snap = await c.next((m) => m.payload_type === "snapshot" && m.reason === "resync");
    expect(c.mirror.gaps).toBe(1);
    expect(snap.seq as number).toBeGreaterThan(40);
    // A dropped connection: a new one starts from a snapshot of the current state.
    const lastSeq = c.mirror.seq;
    c.ws.terminate();
    await until(() => h.world.tick >= Math.min(200, c.mirror.tick + 30), 20_000, "ticks to pass");
    const again = await Client.open(h.wsUrl, { token: VIEWER_TOKEN, states });
    const first = await again.next((m) => m.payload_type === "snapshot");
    expect(first.seq as number).toBeGreaterThan(lastSeq);
    await until(() => again.mirror.tick === 200, 20_000, "tick 200");
    expect(again.checked.every((x) => x.ok)).toBe(true);
    expect(c.checked.every((x) => x.ok)).toBe(true);
  });

  it("drops a peer that stops answering pings", async () => {
    const { h } = await serve({ server: { pingIntervalMs: 100 } });
    const c = await Client.open(h.wsUrl, { token: VIEWER_TOKEN });
    await c.next((m) => m.payload_type === "snapshot");
    await until(() => h.server.conns.size === 1, 5000, "the connection");
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await until(() => h.server.conns.size === 0, 5000, "the dead peer to be dropped");
  });

  it("sends subscribed agents in aggregate mode", async () => {
    const { h } = await serve({ ticks: 100, overrides: { "world.agents_per_town": 10, "telemetry.stream.aggregate_above_agents": 5 } });
    const c = await Client.open(h.wsUrl, { token: VIEWER_TOKEN });
    const snap = await c.next((m) => m.payload_type === "snapshot");
    expect(snap).toMatchObject({ mode: "aggregate", agents: {} });
    c.send({ type: "subscribe", agents: ["agent_3", "nobody"] });
    expect(await c.next((m) => m.type === "subscribed")).toEqual({ type: "subscribed", agents: ["agent_3"], unknown: ["nobody"] });
    const sub = await c.next((m) => m.payload_type === "snapshot" && m.reason === "subscribe");
    expect(Object.keys(sub.agents as object)).toEqual(["agent_3"]);
    h.loop.paused = false;
    await until(() => c.mirror.tick === 100, 20_000, "tick 100");
    expect(Object.keys(c.mirror.state!.agents as object).every((k) => k === "agent_3")).toBe(true);
    expect((c.mirror.state!.aggregates as { agents: number }).agents).toBe(h.world.agents.length);
    c.send({ type: "subscribe", agents: "agent_1" });
    expect(await c.next((m) => m.type === "error")).toMatchObject({ code: "invalid_args", message: expect.stringMatching(/agents/) });
  });
});

describe("bad frames", () => {
  it("get a clear error or close code and never disturb other clients", async () => {
    const { h, states } = await serve({ ticks: 300, server: { maxPayload: 4096 } });
    const good = await Client.open(h.wsUrl, { token: VIEWER_TOKEN, states });
    const bad = await Client.open(h.wsUrl, { token: ADMIN_TOKEN, stream: false });
    h.loop.paused = false;
    const from = () => bad.messages.length;
    let n = from();
    bad.send("{not json");
    expect(await bad.next((m) => m.type === "error", 5000, n)).toMatchObject({ code: "bad_json", message: expect.stringMatching(/invalid JSON/) });
    n = from();
    bad.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await bad.next((m) => m.type === "error", 5000, n)).toMatchObject({ code: "bad_frame", message: expect.stringMatching(/text frame/) });
    n = from();
    bad.send([1, 2]);
    expect(await bad.next((m) => m.type === "error", 5000, n)).toMatchObject({ code: "bad_frame" });
    n = from();
    bad.send({ type: "resyn" });
    expect(await bad.next((m) => m.type === "error", 5000, n)).toMatchObject({ code: "unknown_type", message: expect.stringMatching(/did you mean "resync"/) });
    expect(await bad.command("spwan")).toMatchObject({ status: "error", error: { code: "unsupported", message: expect.stringMatching(/did you mean "spawn"/) } });
    expect(await bad.command("teleport", { agent_id: "agent_1", x: "left", y: 2 }, "t1")).toMatchObject({
      status: "error",
      error: { code: "invalid_args", message: expect.stringMatching(/^teleport: x: .*expected number, received string/) },
    });
    n = from();
    bad.send({ type: "command", name: 7 });
    expect(await bad.next((m) => m.type === "result", 5000, n)).toMatchObject({ status: "error", error: { code: "usage", message: expect.stringMatching(/name/) } });
    // Oversize: ws closes the connection with 1009.
    bad.send({ type: "command", name: "status", args: { pad: "x".repeat(10_000) } });
    expect((await bad.waitClosed()).code).toBe(1009);
    await until(() => good.mirror.tick === 300, 30_000, "tick 300");
    expect(good.mirror.gaps).toBe(0);
    expect(good.checked.every((x) => x.ok)).toBe(true);
    expect(good.closed).toBeUndefined();
  });

  it("close a connection that sends only bad frames with 4000", async () => {
    const { h } = await serve();
    const c = await Client.open(h.wsUrl, { token: VIEWER_TOKEN, stream: false });
    for (let i = 0; i < 25; i++) c.send("nope");
    expect((await c.waitClosed()).code).toBe(4000);
  });
});

describe("console auth", () => {
  it("over WebSocket: no token and wrong token are refused, a viewer gets forbidden for admin commands", async () => {
    const { h } = await serve();
    await expect(Client.open(h.wsUrl)).rejects.toMatchObject({ status: 401 });
    await expect(Client.open(h.wsUrl, { token: "not-a-real-token" })).rejects.toMatchObject({ status: 401 });
    const viewer = await Client.open(h.wsUrl, { token: VIEWER_TOKEN, stream: false });
    expect(await viewer.command("status")).toMatchObject({ status: "ok", role: "viewer", issuer: "watcher" });
    expect(await viewer.command("spawn", {}, "v1")).toMatchObject({ status: "error", error: { code: "forbidden" } });
    expect(await viewer.command("pause")).toMatchObject({ status: "error", error: { code: "forbidden" } });
    const admin = await Client.open(h.wsUrl, { token: ADMIN_TOKEN, stream: false });
    expect(await admin.command("spawn", { name: "ann" }, "a1")).toMatchObject({ status: "ok", role: "admin", result: { agent_id: "ann" } });
  });

  it("over HTTP: 401 without or with a wrong token, 403 for a viewer's admin command, 200 for an admin", async () => {
    const { h } = await serve();
    expect(await post(h.url, "/commands", { name: "status" })).toMatchObject({ status: 401, body: { error: { code: "unauthorized" } } });
    expect(await post(h.url, "/commands", { name: "status" }, "wrong-token-000")).toMatchObject({ status: 401 });
    expect(await post(h.url, "/commands", { name: "status" }, VIEWER_TOKEN)).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await post(h.url, "/commands", { name: "spawn", cmd_id: "x" }, VIEWER_TOKEN)).toMatchObject({ status: 403, body: { error: { code: "forbidden" } } });
    expect(await post(h.url, "/commands", { name: "spawn" }, ADMIN_TOKEN)).toMatchObject({ status: 400, body: { error: { code: "usage" } } });
    expect(await post(h.url, "/commands", { name: "spawn", cmd_id: "h1" }, ADMIN_TOKEN)).toMatchObject({ status: 200, body: { status: "ok" } });
    expect(await post(h.url, "/commands", "{oops", ADMIN_TOKEN)).toMatchObject({ status: 400, body: { error: { code: "usage", message: expect.stringMatching(/invalid JSON/) } } });
    expect(await post(h.url, "/commands", { name: "teleport", args: { agent_id: 1 } }, ADMIN_TOKEN)).toMatchObject({ status: 400, body: { error: { code: "invalid_args" } } });
    expect((await post(h.url, "/commands", { name: "status", args: { pad: "x".repeat(100_000) } }, VIEWER_TOKEN)).status).toBe(413);
    const list = await fetch(h.url + "/commands", { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
    expect(((await list.json()) as { commands: unknown[] }).commands.length).toBeGreaterThan(15);
    expect((await fetch(h.url + "/nowhere")).status).toBe(404);
    expect(((await (await fetch(h.url + "/health")).json()) as { status: string }).status).toBe("ok");
  });

  it("lets a browser trade its token for a single-use ticket passed as the subprotocol", async () => {
    const { h } = await serve();
    expect(await post(h.url, "/auth/ticket", {})).toMatchObject({ status: 401 });
    const { body } = await post(h.url, "/auth/ticket", {}, VIEWER_TOKEN);
    expect(body).toMatchObject({ role: "viewer", label: "watcher", expires_in_ms: expect.any(Number) });
    const proto = body.protocol as string;
    expect(proto).toBe(`townlet.ticket.${body.ticket as string}`);
    const c = await Client.open(h.wsUrl, { protocols: ["townlet.v1", proto], stream: false });
    expect(c.ws.protocol).toBe(proto);
    expect(await c.command("status")).toMatchObject({ status: "ok", issuer: "watcher" });
    await expect(Client.open(h.wsUrl, { protocols: [proto] })).rejects.toMatchObject({ status: 401 });
    await expect(Client.open(h.wsUrl, { protocols: ["townlet.ticket.made-up"] })).rejects.toMatchObject({ status: 401 });
    expect((await fetch(h.url + "/auth/ticket")).status).toBe(405);
  });

  it("never writes a token to the audit file", async () => {
    const audit = join(dir, "audit-tokens.ndjson");
    const { h } = await serve({ audit });
    await post(h.url, "/commands", { name: "status" }, VIEWER_TOKEN);
    await post(h.url, "/commands", { name: "spawn", cmd_id: "s" }, ADMIN_TOKEN);
    await post(h.url, "/commands", { name: "status" }, "wrong-token-000");
    const c = await Client.open(h.wsUrl, { token: ADMIN_TOKEN, stream: false });
    await c.command("kill", { agent_id: "agent_0" }, "k");
    const text = readFileSync(audit, "utf8");
    const lines = text.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.command, l.status, l.label, l.via])).toEqual([
      ["status", "ok", "watcher", "http"],
      ["spawn", "ok", "operator", "http"],
      ["?", "error", null, "http"],
      ["kill", "ok", "operator", "ws"],
    ]);
    expect(text).not.toContain(VIEWER_TOKEN);
    expect(text).not.toContain(ADMIN_TOKEN);
    expect(text).not.toContain("wrong-token-000");
  });
});

describe("idempotency", () => {
  it("returns the first result for a repeated cmd_id over HTTP and WebSocket, and applies it once", async () => {
    const { h } = await serve();
    const first = await post(h.url, "/commands", { name: "spawn", args: { name: "once" }, cmd_id: "same" }, ADMIN_TOKEN);
    expect(first.body.status).toBe("ok");
    const again = await post(h.url, "/commands", { name: "spawn", args: { name: "once" }, cmd_id: "same" }, ADMIN_TOKEN);
    expect(again).toMatchObject({ status: 200, body: { replayed: true, result: first.body.result, tick: first.body.tick } });
    const c = await Client.open(h.wsUrl, { token: ADMIN_TOKEN, stream: false });
    expect(await c.command("spawn", { name: "once" }, "same")).toMatchObject({ replayed: true, result: first.body.result });
    expect(h.world.agents.length).toBe(7);
  });
});

describe("townlet serve + townlet console", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    child = undefined;
  });

  it("serves on loopback, prints the URL, answers viewer and admin commands, and stops on SIGTERM", async () => {
    const audit = join(dir, "e2e-audit.ndjson");
    child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--host", "127.0.0.1", "--tokens", tokensFile, "--audit", audit, "--tps", "50", "--ticks", "5000", "--agents", "5"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    await until(() => /http:\/\/127\.0\.0\.1:\d+/.test(stdout), 60_000, "the URL on stdout");
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(stdout)![0];
    const cli = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await main(["console", ...args], { log: (l) => out.push(l), err: (l) => err.push(l) });
      return { code, json: out.length ? (JSON.parse(out.join("\n")) as Record<string, unknown>) : undefined, err: err.join("\n") };
    };
    expect(await cli("--url", url, "--token", VIEWER_TOKEN, "status")).toMatchObject({ code: 0, json: { status: "ok", role: "viewer" } });
    expect(await cli("--url", url, "--token", VIEWER_TOKEN, "spawn", '{"name":"zed"}')).toMatchObject({ code: 1, json: { error: { code: "forbidden" } } });
    expect(await cli("--url", url, "--token", ADMIN_TOKEN, "spawn", '{"name":"zed"}')).toMatchObject({ code: 0, json: { status: "ok", result: { agent_id: "zed" } } });
    const ws = url.replace("http", "ws") + "/ws";
    expect(await cli("--url", ws, "--token", ADMIN_TOKEN, "teleport", '{"agent_id":"zed","x":2,"y":3}')).toMatchObject({ code: 0, json: { result: { to: [2, 3] } } });
    expect(await cli("--url", url, "--token", "wrong-token-000", "status")).toMatchObject({ code: 1, json: { error: { code: "unauthorized" } } });
    expect(await cli("--url", url, "--token", ADMIN_TOKEN, "teleport", "{bad")).toMatchObject({ code: 1 });
    expect(await cli("--url", url, "--token", ADMIN_TOKEN, "teleport", '{"agent_id":"zed","x":"a","y":1}')).toMatchObject({
      code: 1,
      json: { error: { code: "invalid_args", message: expect.stringMatching(/x: /) } },
    });
    // The real client process, once.
    const proc = spawn(process.execPath, [BIN, "console", "--url", url, "--token", ADMIN_TOKEN, "employment_status"], { stdio: ["ignore", "pipe", "pipe"] });
    let procOut = "";
    proc.stdout!.on("data", (d: Buffer) => (procOut += d.toString()));
    const procCode = await new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
    expect(procCode).toBe(0);
    expect(JSON.parse(procOut.trim().split("\n").pop()!)).toMatchObject({ status: "ok", name: "employment_status", result: { pending: [] } });
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => child!.on("exit", (c) => r(c)));
    expect(code).toBe(0);
    expect(stderr).toMatch(/stopped at tick \d+/);
    const lines = readFileSync(audit, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.command)).toEqual(["status", "spawn", "spawn", "teleport", "?", "teleport", "employment_status"]);
    expect(readFileSync(audit, "utf8")).not.toContain(ADMIN_TOKEN);
  }, 120_000);

  it("refuses bad flags and an unreadable tokens file with exit 1", async () => {
    const err: string[] = [];
    const o = { log: () => {}, err: (l: string) => err.push(l) };
    expect(await main(["serve", "--port", "x"], o)).toBe(1);
    expect(err.join("\n")).toMatch(/--port: expected an integer/);
    expect(await main(["serve", "--realtime", "--speed", "2"], o)).toBe(1);
    expect(await main(["serve", "--tokens", join(dir, "missing.yaml"), "--port", "0"], o)).toBe(1);
    expect(err.join("\n")).toMatch(/cannot read the tokens file/);
    expect(await main(["console", "status"], o)).toBe(1);
    expect(err.join("\n")).toMatch(/--url: required/);
    expect(await main(["console", "--url", "http://127.0.0.1:9", "status"], o)).toBe(2);
  });
});
