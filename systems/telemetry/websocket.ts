// The WebSocket transport: one HTTP server whose upgrades stream telemetry to each client, and
// whose other requests and frames go to hooks (the console gateway rides on it: tools/serve.ts
// wires them). Per client it counts bytes in flight with ws send callbacks (not bufferedAmount,
// which ws keeps differently from browsers): above the high-water mark a client gets no diffs
// and is marked stale; once drained it gets one fresh snapshot; past the hard limit it is closed
// with 4008. Memory per client is bounded by the hard limit, whatever the client does. GET
// requests the hooks do not answer may go to a static site (the observer page: tools/web.ts).
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { didYouMean } from "../../engine/text.ts";
import { jsonShapeProblem } from "../../engine/json-limits.ts";
import type { Published, TelemetryPublisher, TelemetrySink } from "./publisher.ts";
import { CLOSE_CODES, SCHEMA_VERSION, SubscribeRequest, type DiffPayloadT, type SnapshotReason } from "./schema.ts";

export type Role = "viewer" | "admin";

/** Who a connection belongs to (never the token). */
export interface Principal {
  role: Role;
  label: string;
}

export type AuthOutcome = { ok: true; principal: Principal; protocol?: string } | { ok: false; status: number; code: string; message: string };

/** What the server asks of whoever rides on it (the console gateway). */
export interface ServerHooks {
  /** Decides an upgrade from its headers and the subprotocols offered. */
  authenticate(req: IncomingMessage, offered: readonly string[]): AuthOutcome;
  /** Handles an HTTP request; resolves true when it answered. */
  http?(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
  /** Frame types the hooks own (e.g. "command"), for did-you-mean on unknown types. */
  readonly messageTypes?: readonly string[];
  /** A frame of one of those types. */
  message?(conn: Connection, msg: Record<string, unknown>): void;
  /** A connection closed. */
  closed?(conn: Connection): void;
}

export interface TelemetryServerOptions {
  host?: string;
  /** 0 = any free port. */
  port?: number;
  /** Bytes in flight above which a client is stale (default telemetry.transport.buffer.max_buffer_bytes). */
  highWaterBytes?: number;
  /** Bytes in flight at which a client is closed with 4008 (default telemetry.stream.hard_limit_bytes). */
  hardLimitBytes?: number;
  pingIntervalMs?: number;
  maxClients?: number;
  /** Largest frame a client may send, bytes (ws closes with 1009 beyond it). */
  maxPayload?: number;
  /** Bad frames in a row before the connection is closed with 4000. */
  maxBadFrames?: number;
  /** GET/HEAD requests nobody else answered (a static site); resolves true when it answered. */
  site?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
}

/**
 * What the server streams: a world's TelemetryPublisher, or (townlet serve of a sharded world)
 * the main thread's merge of every block's stream (tools/serve-shard-stream.ts).
 */
export type StreamSource = Pick<TelemetryPublisher, "cfg" | "mode" | "seq" | "addSink" | "snapshot" | "filterDiff" | "watch" | "unwatch" | "watchTowns" | "unwatchTowns" | "agentsPerTown"> & {
  readonly world: { readonly tick: number; readonly towns: number };
};

const OWN_TYPES = ["resync", "subscribe", "unsubscribe", "ping"] as const;

let nextConnId = 1;

/** One client. `send` counts bytes until ws reports them written. */
export class Connection {
  readonly id = nextConnId++;
  inFlight = 0;
  /** Diffs skipped while stale, since the client connected. */
  dropped = 0;
  stale = false;
  /** A snapshot is owed (resync, subscribe, stale) and goes out when the client has room. */
  owed: SnapshotReason | undefined;
  /** Seq of the last telemetry payload sent. */
  lastSeq = 0;
  subs = new Set<string>();
  /** Towns subscribed to (aggregate mode: all their agents and objects). */
  towns = new Set<number>();
  alive = true;
  badFrames = 0;
  closed = false;
  /** Whether this connection receives the telemetry stream (`?stream=0` turns it off). */
  streaming: boolean;

  constructor(
    readonly ws: WebSocket,
    readonly principal: Principal,
    private readonly server: TelemetryServer,
    streaming: boolean,
  ) {
    this.streaming = streaming;
  }

  /** Sends a JSON object (a console result, an error). False when the connection is gone. */
  send(obj: unknown): boolean {
    return this.sendLine(JSON.stringify(obj));
  }

  sendLine(line: string): boolean {
    if (this.closed) return false;
    const bytes = Buffer.byteLength(line);
    if (this.inFlight + bytes > this.server.hardLimit) {
      this.close(CLOSE_CODES.slow_consumer, `slow consumer: ${this.inFlight + bytes} bytes unacknowledged (limit ${this.server.hardLimit})`);
      return false;
    }
    this.inFlight += bytes;
    this.ws.send(line, (err) => {
      this.inFlight -= bytes;
      if (!err) this.server.drained(this);
    });
    return true;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    // Close reasons are limited to 123 bytes.
    this.ws.close(code, reason.slice(0, 120));
    // A peer that does not answer the close handshake is cut off.
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}

/** The telemetry WebSocket server (and HTTP host for the hooks). */
export class TelemetryServer implements TelemetrySink {
  readonly http: Server;
  readonly wss: WebSocketServer;
  readonly conns = new Set<Connection>();
  readonly highWater: number;
  readonly hardLimit: number;
  private readonly maxClients: number;
  private readonly maxBadFrames: number;
  private pinger: NodeJS.Timeout | undefined;
  private detach: (() => void) | undefined;
  private streamingClients = 0;
  private snapCache: { seq: number; reason: string; line: string } | undefined;
  private diffCache: { seq: number; line: string } | undefined;
  /** Clients closed for backpressure, diffs dropped, since start. */
  readonly stats = { closed_slow: 0, dropped_payloads: 0, resyncs: 0, bad_frames: 0 };
  url = "";

  constructor(
    readonly publisher: StreamSource,
    readonly hooks: ServerHooks,
    private readonly opts: TelemetryServerOptions = {},
  ) {
    const cfg = publisher.cfg;
    this.highWater = opts.highWaterBytes ?? cfg.transport.buffer.max_buffer_bytes;
    this.hardLimit = Math.max(this.highWater * 2, opts.hardLimitBytes ?? cfg.stream.hard_limit_bytes);
    this.maxClients = opts.maxClients ?? cfg.stream.max_clients;
    this.maxBadFrames = opts.maxBadFrames ?? 20;
    this.http = createServer((req, res) => void this.onRequest(req, res));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayload ?? 65_536,
      clientTracking: false,
      handleProtocols: (_offered, req) => (req as IncomingMessage & { townletProtocol?: string }).townletProtocol ?? false,
    });
    this.http.on("upgrade", (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  /** Starts listening; resolves with the base URL (http://host:port). */
  async listen(): Promise<string> {
    const host = this.opts.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(this.opts.port ?? 0, host, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    const addr = this.http.address();
    const port = typeof addr === "object" && addr ? addr.port : 0;
    this.url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    const every = this.opts.pingIntervalMs ?? this.publisher.cfg.stream.ping_interval_ms;
    this.pinger = setInterval(() => this.heartbeat(), every);
    this.pinger.unref();
    return this.url;
  }

  /** Closes every client (1001) and the server. */
  async close(): Promise<void> {
    if (this.pinger) clearInterval(this.pinger);
    this.detach?.();
    this.detach = undefined;
    for (const c of this.conns) c.close(CLOSE_CODES.going_away, "server shutting down");
    await new Promise<void>((r) => this.wss.close(() => r()));
    await new Promise<void>((r) => {
      this.http.close(() => r());
      this.http.closeAllConnections();
    });
    for (const c of this.conns) c.ws.terminate();
    this.conns.clear();
  }

  private heartbeat(): void {
    for (const c of this.conns) {
      if (!c.alive) {
        c.closed = true;
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        c.ws.terminate();
      }
    }
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (req.method === "GET" && path === "/health") {
        return json(res, 200, { status: "ok", schema_version: SCHEMA_VERSION, tick: this.publisher.world.tick, clients: this.conns.size });
      }
      if (this.hooks.http && (await this.hooks.http(req, res))) return;
      if (this.opts.site && (req.method === "GET" || req.method === "HEAD") && (await this.opts.site(req, res))) return;
      json(res, 404, { error: { code: "not_found", message: `no endpoint ${req.method} ${path}` } });
    } catch (e) {
      if (!res.headersSent) json(res, 500, { error: { code: "internal", message: e instanceof Error ? e.message : String(e) } });
      else res.destroy();
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://x");
    const reject = (status: number, code: string, message: string) => {
      const body = JSON.stringify({ error: { code, message } });
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    };
    if (url.pathname !== "/ws" && url.pathname !== "/") return reject(404, "not_found", `no WebSocket endpoint at ${url.pathname} (use /ws)`);
    if (this.conns.size >= this.maxClients) return reject(503, "busy", `too many clients (${this.maxClients})`);
    const offered = (req.headers["sec-websocket-protocol"] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    let auth: AuthOutcome;
    try {
      auth = this.hooks.authenticate(req, offered);
    } catch (e) {
      return reject(500, "internal", e instanceof Error ? e.message : String(e));
    }
    if (!auth.ok) return reject(auth.status, auth.code, auth.message);
    (req as IncomingMessage & { townletProtocol?: string }).townletProtocol = auth.protocol;
    const streaming = url.searchParams.get("stream") !== "0";
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, auth.principal, streaming));
  }

  // ---- connections -------------------------------------------------------------------------------

  private onConnection(ws: WebSocket, principal: Principal, streaming: boolean): void {
    const conn = new Connection(ws, principal, this, streaming);
    this.conns.add(conn);
    ws.on("pong", () => (conn.alive = true));
    ws.on("error", () => {
      conn.closed = true;
      ws.terminate();
    });
    ws.on("close", (code) => {
      conn.closed = true;
      if (code === CLOSE_CODES.slow_consumer) this.stats.closed_slow++;
      this.conns.delete(conn);
      if (conn.subs.size) this.publisher.unwatch([...conn.subs]);
      if (conn.towns.size) this.publisher.unwatchTowns([...conn.towns]);
      this.hooks.closed?.(conn);
      if (conn.streaming && --this.streamingClients === 0) {
        // Nobody listens: the publisher goes idle (it catches up when a client returns).
        this.detach?.();
        this.detach = undefined;
      }
    });
    ws.on("message", (data, isBinary) => this.onFrame(conn, data, isBinary));
    conn.send({
      type: "hello",
      schema_version: SCHEMA_VERSION,
      protocol: "townlet.v1",
      role: principal.role,
      label: principal.label,
      tick: this.publisher.world.tick,
      high_water_bytes: this.highWater,
      hard_limit_bytes: this.hardLimit,
    });
    if (!streaming) return;
    this.streamingClients++;
    conn.owed = "initial";
    // The first streaming client makes the publisher keep its state; addSink delivers a snapshot,
    // which pays what this client is owed.
    if (!this.detach) this.detach = this.publisher.addSink(this, "initial");
    this.flushOwed(conn);
  }

  private onFrame(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.closed) return;
    const fail = (code: string, message: string, id?: unknown) => {
      this.stats.bad_frames++;
      conn.send({ type: "error", code, message, ...(typeof id === "string" || typeof id === "number" ? { id } : {}) });
      if (++conn.badFrames >= this.maxBadFrames) conn.close(CLOSE_CODES.protocol_error, `${conn.badFrames} bad frames in a row`);
    };
    if (isBinary) return fail("bad_frame", "expected a text frame holding one JSON object");
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString());
    } catch (e) {
      return fail("bad_json", `invalid JSON: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) return fail("bad_frame", 'expected a JSON object with a "type"');
    const m = msg as Record<string, unknown>;
    const type = m.type;
    if (typeof type !== "string") return fail("bad_frame", `expected "type" to be a string, got ${typeof type === "object" ? describeShape(type) : JSON.stringify(type ?? null)}`, m.id);
    // Frames the hooks own (commands) are checked and audited there; the rest here, before any
    // recursive reader (schemas, JSON.stringify) sees them.
    const shape = this.hooks.messageTypes?.includes(type) ? undefined : jsonShapeProblem(m);
    if (shape !== undefined) return fail("too_large", `frame refused: it ${shape}`, typeof m.id === "object" ? undefined : m.id);
    switch (type) {
      case "resync":
        conn.badFrames = 0;
        if (!conn.streaming) return fail("bad_frame", "this connection does not stream telemetry (?stream=0)");
        this.stats.resyncs++;
        conn.owed = "resync";
        this.flushOwed(conn);
        return;
      case "subscribe":
      case "unsubscribe": {
        const r = SubscribeRequest.safeParse(m);
        if (!r.success) {
          return fail("invalid_args", r.error.issues.map((i) => `${i.path.join(".") || "(frame)"}: ${i.message}`).join("; "));
        }
        conn.badFrames = 0;
        this.subscribe(conn, r.data.type, r.data.agents ?? [], r.data.towns ?? []);
        return;
      }
      case "ping":
        conn.badFrames = 0;
        conn.send({ type: "pong", tick: this.publisher.world.tick });
        return;
      default:
        if (this.hooks.message && this.hooks.messageTypes?.includes(type)) {
          conn.badFrames = 0;
          try {
            this.hooks.message(conn, m);
          } catch (e) {
            // A hook that throws is a bug; the server and the other clients carry on.
            fail("internal", `the ${type} frame failed: ${e instanceof Error ? e.message : String(e)} (please report a bug)`, m.id);
          }
          return;
        }
        {
          const known = [...OWN_TYPES, ...(this.hooks.messageTypes ?? [])];
          const hint = didYouMean(type, known);
          fail("unknown_type", `unknown frame type "${type}"${hint}; known: ${known.join(", ")}`, m.id);
        }
    }
  }

  private subscribe(conn: Connection, type: "subscribe" | "unsubscribe", agents: readonly string[], towns: readonly number[]): void {
    let unknown: string[] = [];
    const p = this.publisher;
    if (type === "subscribe") {
      const fresh = [...new Set(agents)].filter((a) => !conn.subs.has(a));
      const limit = p.cfg.stream.max_subscriptions;
      if (conn.subs.size + fresh.length > limit) {
        conn.send({ type: "error", code: "invalid_args", message: `agents: at most ${limit} subscriptions per client, got ${conn.subs.size + fresh.length}` });
        return;
      }
      const freshTowns = [...new Set(towns)].filter((t) => !conn.towns.has(t));
      if (freshTowns.length > 0) {
        const bad = freshTowns.find((t) => t >= p.world.towns);
        if (bad !== undefined) {
          conn.send({ type: "error", code: "invalid_args", message: `towns: town ${bad} does not exist (towns are 0..${p.world.towns - 1})` });
          return;
        }
        // A town may bring as many agents as full mode would send, or max_subscriptions if more.
        const cap = Math.max(limit, p.cfg.stream.aggregate_above_agents || Infinity);
        const perTown = p.agentsPerTown();
        const agentsIn = [...conn.towns, ...freshTowns].reduce((n, t) => n + perTown[t], 0);
        if (agentsIn > cap) {
          conn.send({ type: "error", code: "invalid_args", message: `towns: ${freshTowns.join(", ")} would stream ${agentsIn} agents, more than ${cap}; subscribe to agents instead` });
          return;
        }
        p.watchTowns(freshTowns);
        for (const t of freshTowns) conn.towns.add(t);
      }
      unknown = p.watch(fresh);
      for (const a of fresh) if (!unknown.includes(a)) conn.subs.add(a);
    } else {
      const gone = agents.filter((a) => conn.subs.has(a));
      for (const a of gone) conn.subs.delete(a);
      p.unwatch(gone);
      const goneTowns = [...new Set(towns)].filter((t) => conn.towns.has(t));
      for (const t of goneTowns) conn.towns.delete(t);
      p.unwatchTowns(goneTowns);
    }
    conn.send({ type: "subscribed", agents: [...conn.subs].sort(), unknown, ...(conn.towns.size || towns.length ? { towns: [...conn.towns].sort((a, b) => a - b) } : {}) });
    if (conn.streaming && this.publisher.mode === "aggregate") {
      conn.owed = "subscribe";
      this.flushOwed(conn);
    }
  }

  /** Sends an owed snapshot if the client has room; otherwise it waits for `drained`. */
  private flushOwed(conn: Connection): void {
    if (!conn.owed || conn.closed || conn.inFlight > this.highWater) return;
    const reason = conn.owed;
    conn.owed = undefined;
    conn.stale = false;
    this.sendSnapshot(conn, reason);
  }

  private sendSnapshot(conn: Connection, reason: SnapshotReason): void {
    const p = this.publisher;
    let line: string;
    const filtered = p.mode === "aggregate" && (conn.subs.size > 0 || conn.towns.size > 0);
    if (!filtered && conn.dropped === 0) {
      const c = this.snapCache;
      if (c && c.seq === p.seq && c.reason === reason) line = c.line;
      else {
        line = JSON.stringify(p.snapshot(reason, p.mode === "aggregate" ? conn.subs : null));
        this.snapCache = { seq: p.seq, reason, line };
      }
    } else {
      const snap = p.snapshot(reason, p.mode === "aggregate" ? conn.subs : null, conn.towns);
      if (conn.dropped > 0) snap.dropped = { events: 0, payloads: conn.dropped };
      line = JSON.stringify(snap);
    }
    if (conn.sendLine(line)) conn.lastSeq = p.seq;
  }

  /** Called by a connection when ws wrote one of its messages. */
  drained(conn: Connection): void {
    if ((conn.stale || conn.owed) && conn.inFlight <= this.highWater / 2) {
      if (conn.stale && !conn.owed) conn.owed = "stale";
      this.flushOwed(conn);
    }
  }

  // ---- the sink ----------------------------------------------------------------------------------

  deliver(p: Published): void {
    const pub = this.publisher;
    const payload = p.payload;
    for (const conn of this.conns) {
      if (!conn.streaming || conn.closed) continue;
      if (conn.owed) {
        // Owed snapshot still waiting for room: this payload is covered by it.
        if (conn.inFlight > this.highWater) {
          conn.dropped++;
          this.stats.dropped_payloads++;
        } else this.flushOwed(conn);
        continue;
      }
      if (conn.stale || conn.inFlight > this.highWater) {
        conn.stale = true;
        conn.dropped++;
        this.stats.dropped_payloads++;
        continue;
      }
      if (payload.payload_type === "snapshot") {
        this.sendSnapshot(conn, payload.reason);
        continue;
      }
      let line: string;
      if (pub.mode === "aggregate") {
        if (conn.subs.size === 0 && conn.towns.size === 0) {
          const c = this.diffCache;
          if (c && c.seq === payload.seq) line = c.line;
          else {
            line = JSON.stringify(pub.filterDiff(payload as DiffPayloadT, conn.subs));
            this.diffCache = { seq: payload.seq, line };
          }
        } else line = JSON.stringify(pub.filterDiff(payload as DiffPayloadT, conn.subs, conn.towns));
      } else line = p.line();
      if (conn.sendLine(line)) conn.lastSeq = payload.seq;
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** "a list" / "a mapping": what a non-scalar is, without writing it out (it may be huge). */
function describeShape(v: object | null): string {
  return v === null ? "null" : Array.isArray(v) ? "a list" : "a mapping";
}
