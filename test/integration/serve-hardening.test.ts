// Issue #18 against a real `townlet serve` on loopback: nothing a client sends stops it. A
// 5,000-level command over WebSocket or POST /commands is refused (400) and audited; deep frames
// of the server's own types too; a fuzz of random frames leaves it answering; pause and speed
// apply between ticks of a slow pace, and paces slower than 0.1 ticks/s are refused; snapshot
// paths are confined after symlinks, a NUL byte is a 400, allowed_paths are honoured; a viewer's
// tickets never evict an admin's; anonymous connections do not share cmd_ids; a cmd_id reused for
// another command is a 409; and the real process stops on SIGTERM while pacing at 0.1 ticks/s.
// Every server is closed and every wait bounded.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startServe, type ServeHandle, type ServeOptions } from "../../tools/serve.ts";

const BIN = fileURLToPath(new URL("../../bin/townlet.mjs", import.meta.url));
const VIEWER = "viewer-token-0123456789";
const ADMIN = "admin-token-0123456789";

let dir: string;
let tokensFile: string;
const handles: ServeHandle[] = [];
const sockets: WebSocket[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-serve-hardening-"));
  tokensFile = join(dir, "tokens.yaml");
  writeFileSync(tokensFile, `- {token: ${VIEWER}, role: viewer, label: watcher}\n- {token: ${ADMIN}, role: admin, label: operator}\n`);
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const h of handles.splice(0)) await h.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function serve(o: ServeOptions = {}): Promise<{ h: ServeHandle; audit: string }> {
  const audit = join(dir, `audit-${++n}.ndjson`);
  const h = await startServe({ port: 0, audit, paused: true, observer: false, overrides: { "world.agents_per_town": 4, ...o.overrides }, ...o });
  handles.push(h);
  return { h, audit };
}

async function post(h: ServeHandle, body: string, token?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${h.url}/commands`, { method: "POST", body, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** A WebSocket client that keeps every message; `next` waits (bounded) for one that matches. */
async function connect(h: ServeHandle, opts: { token?: string; protocols?: string[] } = {}) {
  const ws = new WebSocket(`${h.wsUrl}?stream=0`, opts.protocols ?? [], { headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {} });
  sockets.push(ws);
  const messages: Record<string, unknown>[] = [];
  let closed: number | undefined;
  ws.on("message", (d) => messages.push(JSON.parse(String(d)) as Record<string, unknown>));
  ws.on("close", (code) => (closed = code));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const next = async (match: (m: Record<string, unknown>) => boolean, what: string) => {
    for (let i = 0; i < 500; i++) {
      const m = messages.find(match);
      if (m) {
        messages.splice(messages.indexOf(m), 1);
        return m;
      }
      if (closed !== undefined) throw new Error(`closed (${closed}) while waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${what} within 5 s`);
  };
  return { ws, next, closed: () => closed };
}

function deep(levels: number): string {
  return "{\"a\":".repeat(levels) + "1" + "}".repeat(levels);
}

const auditLines = (path: string) => readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);

describe("client JSON", () => {
  it("refuses a 5,000-level command over WebSocket and HTTP with 400, audits both, and keeps serving", async () => {
    const { h, audit } = await serve({ tokensFile });
    const c = await connect(h, { token: VIEWER });
    c.ws.send(`{"type":"command","id":1,"name":"status","args":${deep(5000)}}`);
    const r = await c.next((m) => m.type === "result" && m.id === 1, "the result");
    expect(r).toMatchObject({ status: "error", error: { code: "usage", message: expect.stringMatching(/nests deeper than 32 levels/) } });
    const http = await post(h, `{"name":"status","args":${deep(5000)}}`, VIEWER);
    expect(http.status).toBe(400);
    expect(http.json).toMatchObject({ error: { code: "usage" } });
    const lines = auditLines(audit);
    expect(lines.filter((l) => l.command === "status" && l.status === "error").map((l) => l.via)).toEqual(["ws", "http"]);
    c.ws.send(JSON.stringify({ type: "ping" }));
    await c.next((m) => m.type === "pong", "a pong");
    expect((await post(h, JSON.stringify({ name: "status" }), VIEWER)).status).toBe(200);
  });

  it("answers a deep frame of the server's own types with an error", async () => {
    const { h } = await serve();
    const c = await connect(h);
    c.ws.send(`{"type":"subscribe","agents":${"[".repeat(3000)}${"]".repeat(3000)}}`);
    const e = await c.next((m) => m.type === "error", "an error");
    expect(e).toMatchObject({ code: "too_large", message: expect.stringMatching(/nests deeper/) });
  });

  it("stays up through 150 random frames (fuzz), answering a fresh client afterwards", async () => {
    const { h } = await serve({ tokensFile });
    const frame = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 40 }).map((v) => JSON.stringify(v)),
      fc.record({ type: fc.constantFrom("command", "subscribe", "unsubscribe", "resync", "ping", "x"), name: fc.string({ maxLength: 20 }), args: fc.jsonValue({ maxDepth: 40 }), cmd_id: fc.string({ maxLength: 10 }), agents: fc.jsonValue({ maxDepth: 5 }) }).map((v) => JSON.stringify(v)),
      fc.integer({ min: 33, max: 4000 }).map((d) => `{"type":"command","name":"status","args":${deep(d)}}`),
    );
    const frames = fc.sample(frame, { numRuns: 150, seed: 18 });
    let c = await connect(h, { token: ADMIN });
    for (const f of frames) {
      if (c.closed() !== undefined || c.ws.readyState !== WebSocket.OPEN) c = await connect(h, { token: ADMIN });
      c.ws.send(f);
    }
    await new Promise((r) => setTimeout(r, 100));
    const fresh = await connect(h, { token: VIEWER });
    fresh.ws.send(JSON.stringify({ type: "ping" }));
    await fresh.next((m) => m.type === "pong", "a pong");
    expect((await post(h, JSON.stringify({ name: "status" }), VIEWER)).status).toBe(200);
  });
});

describe("the loop", () => {
  it("applies pause and speed between ticks of a slow pace, and refuses paces slower than 0.1 ticks/s", async () => {
    const { h } = await serve({ tokensFile, paused: false, ticksPerSecond: 0.1 });
    const slow = await post(h, JSON.stringify({ name: "speed", args: { ticks_per_second: 0.001 }, cmd_id: "s0" }), ADMIN);
    expect(slow.status).toBe(400);
    expect(JSON.stringify(slow.json)).toMatch(/ticks_per_second/);
    expect((await post(h, JSON.stringify({ name: "speed", args: { multiplier: 1e-9 }, cmd_id: "s1" }), ADMIN)).status).toBe(400);
    const tick = h.world.tick;
    // At 0.1 ticks/s the next tick is up to 10 s away; pause and speed must not wait for it.
    const paused = await post(h, JSON.stringify({ name: "pause", args: {}, cmd_id: "p" }), ADMIN);
    expect(paused).toMatchObject({ status: 200, json: { status: "ok", result: { state: "paused" } } });
    expect(h.world.tick).toBe(tick);
    const sped = await post(h, JSON.stringify({ name: "speed", args: { ticks_per_second: 1000 }, cmd_id: "s2" }), ADMIN);
    expect(sped).toMatchObject({ status: 200, json: { result: { ticks_per_second: 1000 } } });
  });
});

describe("snapshot paths", () => {
  it("refuses symlinks out of the snapshot folder and NUL bytes with 400, and honours allowed_paths", async () => {
    const root = join(dir, "snaps");
    const outside = join(dir, "outside");
    const allowed = join(dir, "allowed");
    for (const d of [root, outside, allowed]) mkdirSync(d, { recursive: true });
    symlinkSync(outside, join(root, "escape"));
    const { h } = await serve({ tokensFile, overrides: { "snapshot.storage.root": root, "snapshot.guardrails.allowed_paths": [allowed] } });
    const cmd = async (name: string, path: string, id: string) => post(h, JSON.stringify({ name, args: { path }, cmd_id: id }), ADMIN);
    const out = await cmd("snapshot_save", "escape/x.snapshot", "a");
    expect(out.status).toBe(400);
    expect(JSON.stringify(out.json)).toMatch(/outside the snapshot folder .* \(it leads to/);
    writeFileSync(join(outside, "y.snapshot"), "not a snapshot");
    expect((await cmd("snapshot_load", "escape/y.snapshot", "b")).status).toBe(400);
    const nul = await cmd("snapshot_load", "a\u0000b.snapshot", "c");
    expect(nul.status).toBe(400);
    expect(JSON.stringify(nul.json)).toMatch(/NUL byte/);
    expect((await cmd("snapshot_save", join(allowed, "z.snapshot"), "d")).status).toBe(200);
    expect((await cmd("snapshot_save", join(outside, "z.snapshot"), "e")).status).toBe(400);
    expect((await cmd("snapshot_save", "in.snapshot", "f")).status).toBe(200);
  });
});

describe("tickets and cmd_ids", () => {
  it("lets a viewer's many tickets evict only its own, never an admin's", async () => {
    const { h } = await serve({ tokensFile });
    const ticket = async (token: string) => (await (await fetch(`${h.url}/auth/ticket`, { method: "POST", headers: { authorization: `Bearer ${token}` } })).json()) as { protocol: string };
    const admin = await ticket(ADMIN);
    // Before: 1,024 outstanding in all, the oldest evicted, whoever's it was.
    for (let i = 0; i < 1030; i += 103) await Promise.all(Array.from({ length: 103 }, () => ticket(VIEWER)));
    const c = await connect(h, { protocols: [admin.protocol] });
    c.ws.send(JSON.stringify({ type: "command", id: 1, name: "pause", cmd_id: "t" }));
    expect(await c.next((m) => m.id === 1, "the result")).toMatchObject({ status: "ok", role: "admin" });
  });

  it("gives each anonymous connection its own cmd_ids, and refuses a cmd_id reused for another command with 409", async () => {
    const { h } = await serve();
    const a = await connect(h);
    const b = await connect(h);
    a.ws.send(JSON.stringify({ type: "command", id: 1, name: "status", cmd_id: "same" }));
    b.ws.send(JSON.stringify({ type: "command", id: 2, name: "help", cmd_id: "same" }));
    expect(await a.next((m) => m.id === 1, "a's result")).toMatchObject({ status: "ok", name: "status" });
    const rb = await b.next((m) => m.id === 2, "b's result");
    expect(rb).toMatchObject({ status: "ok", name: "help" });
    expect(rb.replayed).toBeUndefined();
    const { h: h2 } = await serve({ tokensFile });
    expect((await post(h2, JSON.stringify({ name: "status", cmd_id: "k" }), VIEWER)).status).toBe(200);
    const again = await post(h2, JSON.stringify({ name: "help", cmd_id: "k" }), VIEWER);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ error: { code: "conflict" } });
  });
});

describe("townlet serve (the process)", () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    child = undefined;
  });

  it("stops on SIGTERM while pacing at 0.1 ticks per second", async () => {
    child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--tps", "0.1", "--agents", "3", "--audit", join(dir, "sig-audit.ndjson")], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    for (let i = 0; i < 600 && !/http:\/\/127\.0\.0\.1:\d+/.test(stdout); i++) await new Promise((r) => setTimeout(r, 100));
    expect(stdout).toMatch(/listening on/);
    const exited = new Promise<number | null>((r) => child!.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    // Before: the loop slept out its 10 s tick interval. Bounded wait, not a timing assertion.
    const code = await Promise.race([exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), 5000))]);
    expect(code).toBe(0);
  }, 90_000);
});
