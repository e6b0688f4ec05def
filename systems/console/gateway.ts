// The console over HTTP and WebSocket: authentication of upgrades (bearer header, or a ticket as
// the subprotocol `townlet.ticket.<ticket>`, echoed), POST /auth/ticket, POST /commands,
// GET /commands, and `{"type":"command"}` frames. It plugs into the telemetry WebSocket server
// as its hooks (tools/serve.ts wires them); the shapes it needs are declared here.
import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken, TICKET_PROTOCOL, TicketBook, TicketLimitError, type Principal, type TokenTable } from "./auth.ts";
import type { ConsoleService } from "./service.ts";
import { jsonShapeProblem } from "../../engine/json-limits.ts";
import type { CommandResultT, ErrorCode } from "./protocol.ts";

/** What the gateway needs of a WebSocket connection (telemetry/websocket.ts Connection). */
export interface GatewayConnection {
  readonly id: number;
  readonly principal: Principal;
  readonly closed: boolean;
  send(obj: unknown): boolean;
  close(code: number, reason: string): void;
}

export interface GatewayOptions {
  /** Largest POST body, bytes (413 beyond). */
  maxBodyBytes?: number;
  /** How long POST /commands waits for the next tick before answering 504 (the command stays queued). */
  commandTimeoutMs?: number;
  /** Commands one WebSocket connection may have waiting. */
  maxPendingPerConnection?: number;
}

const STATUS: Record<ErrorCode, number> = {
  usage: 400,
  invalid_args: 400,
  unsupported: 400,
  forbidden: 403,
  unauthorized: 401,
  not_found: 404,
  unknown_spec: 404,
  conflict: 409,
  unavailable: 503,
  busy: 429,
  timeout: 504,
  internal: 500,
};

export const ANONYMOUS: Principal = Object.freeze({ role: "viewer", label: "anonymous" });

type Outcome = { ok: true; principal: Principal; protocol?: string } | { ok: false; status: number; code: string; message: string };

export class ConsoleGateway {
  readonly tickets: TicketBook;
  readonly messageTypes = ["command"] as const;
  private readonly pendingByConn = new Map<number, number>();
  private readonly maxBody: number;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private anonymousRequests = 0;

  constructor(
    readonly service: ConsoleService,
    readonly tokens: TokenTable,
    opts: GatewayOptions = {},
    tickets?: TicketBook,
  ) {
    this.tickets = tickets ?? new TicketBook();
    this.maxBody = opts.maxBodyBytes ?? 65_536;
    this.timeoutMs = opts.commandTimeoutMs ?? 30_000;
    this.maxPending = opts.maxPendingPerConnection ?? 32;
  }

  /** Who is asking: a valid bearer token, or anonymous when tokens allow it. */
  private fromBearer(header: string | string[] | undefined): Outcome {
    const token = bearerToken(header);
    if (token !== undefined) {
      const p = this.tokens.lookup(token);
      return p ? { ok: true, principal: p } : { ok: false, status: 401, code: "unauthorized", message: "invalid token" };
    }
    if (header !== undefined) return { ok: false, status: 401, code: "unauthorized", message: 'expected "Authorization: Bearer <token>"' };
    if (!this.tokens.enabled || !this.tokens.requireAuthForViewer) return { ok: true, principal: ANONYMOUS };
    return { ok: false, status: 401, code: "unauthorized", message: "missing bearer token (Authorization: Bearer <token>, or a ticket from POST /auth/ticket)" };
  }

  // ---- WebSocket ---------------------------------------------------------------------------------

  authenticate(req: IncomingMessage, offered: readonly string[]): Outcome {
    const ticketProto = offered.find((p) => p.startsWith(TICKET_PROTOCOL));
    if (ticketProto !== undefined) {
      const p = this.tickets.redeem(ticketProto.slice(TICKET_PROTOCOL.length));
      if (!p) return { ok: false, status: 401, code: "unauthorized", message: "invalid, used or expired ticket (get a new one: POST /auth/ticket)" };
      return { ok: true, principal: p, protocol: ticketProto };
    }
    const who = this.fromBearer(req.headers.authorization);
    if (!who.ok) return who;
    // A client that offered subprotocols must get one back.
    const proto = offered.includes("townlet.v1") ? "townlet.v1" : undefined;
    return { ...who, ...(proto ? { protocol: proto } : {}) };
  }

  message(conn: GatewayConnection, msg: Record<string, unknown>): void {
    const n = this.pendingByConn.get(conn.id) ?? 0;
    if (n >= this.maxPending) {
      const res = this.service.auditRefusal(typeof msg.name === "string" ? msg.name.slice(0, 64) : "?", "busy", `too many commands waiting on this connection (${this.maxPending})`, conn.principal, "ws", jsonShapeProblem(msg) === undefined ? msg.args : { omitted: "too deep or too large" });
      conn.send(withId(res, msg.id));
      return;
    }
    this.pendingByConn.set(conn.id, n + 1);
    // Anonymous viewers are not one issuer: each connection has its own cmd_id space.
    const scope = conn.principal === ANONYMOUS ? `anonymous#ws${conn.id}` : conn.principal.label;
    let submitted: Promise<CommandResultT>;
    try {
      submitted = this.service.submit(msg, conn.principal, "ws", scope);
    } catch (e) {
      // The service answers every request it can; anything else is a bug, never a dead server.
      submitted = Promise.resolve(this.service.auditRefusal(typeof msg.name === "string" ? msg.name.slice(0, 64) : "?", "internal", `command failed: ${e instanceof Error ? e.message : String(e)} (please report a bug)`, conn.principal, "ws", { omitted: "not written" }));
    }
    void submitted.then((res) => {
      const left = (this.pendingByConn.get(conn.id) ?? 1) - 1;
      if (left > 0) this.pendingByConn.set(conn.id, left);
      else this.pendingByConn.delete(conn.id);
      if (!conn.closed) conn.send(res);
    });
  }

  closed(conn: GatewayConnection): void {
    this.pendingByConn.delete(conn.id);
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  async http(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/auth/ticket") {
      if (req.method !== "POST") return methodNotAllowed(res, "POST");
      const who = this.fromBearer(req.headers.authorization);
      if (!who.ok || who.principal === ANONYMOUS) {
        send(res, 401, { error: { code: "unauthorized", message: who.ok ? "a ticket needs a bearer token" : who.message } });
        return true;
      }
      let t: { ticket: string; expires_in_ms: number };
      try {
        t = this.tickets.issue(who.principal);
      } catch (e) {
        if (!(e instanceof TicketLimitError)) throw e;
        send(res, 429, { error: { code: "busy", message: e.message } });
        return true;
      }
      send(res, 200, { ...t, protocol: `${TICKET_PROTOCOL}${t.ticket}`, role: who.principal.role, label: who.principal.label });
      return true;
    }
    if (path !== "/commands") return false;
    const who = this.fromBearer(req.headers.authorization);
    if (req.method === "GET") {
      if (!who.ok) {
        send(res, who.status, { error: { code: who.code, message: who.message } });
        return true;
      }
      const list = [...this.service.commands.values()]
        .map((c) => ({ name: c.name, role: c.role, destructive: typeof c.destructive === "function" ? "depends on arguments" : (c.destructive ?? false), doc: c.doc ?? "" }))
        .sort((a, b) => a.name.localeCompare(b.name));
      send(res, 200, { role: who.principal.role, commands: list });
      return true;
    }
    if (req.method !== "POST") return methodNotAllowed(res, "GET, POST");
    if (!who.ok) {
      const r = this.service.auditRefusal("?", "unauthorized", who.message, null, "http");
      send(res, who.status, r);
      return true;
    }
    let body: string;
    try {
      body = await readBody(req, this.maxBody);
    } catch (e) {
      const tooBig = (e as Error).message === "too_big";
      if (tooBig) res.setHeader("connection", "close");
      const r = this.service.auditRefusal("?", "usage", tooBig ? `request body larger than ${this.maxBody} bytes` : "could not read the request body", who.principal, "http");
      send(res, tooBig ? 413 : 400, r);
      return true;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(body);
    } catch (e) {
      const r = this.service.auditRefusal("?", "usage", `invalid JSON: ${(e as Error).message}`, who.principal, "http");
      send(res, 400, r);
      return true;
    }
    // Anonymous HTTP requests share no identity, so none replays another's cmd_id.
    const scope = who.principal === ANONYMOUS ? `anonymous#http${++this.anonymousRequests}` : who.principal.label;
    const result = this.service.submit(msg, who.principal, "http", scope);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), this.timeoutMs);
      timer.unref();
    });
    const out = await Promise.race([result, timeout]);
    clearTimeout(timer);
    if (out === "timeout") {
      send(res, 504, {
        type: "result",
        name: typeof (msg as { name?: unknown }).name === "string" ? (msg as { name: string }).name : "?",
        status: "error",
        error: { code: "timeout", message: `no tick applied the command within ${this.timeoutMs} ms; it stays queued (repeat it with the same cmd_id for its result)` },
        cmd_id: typeof (msg as { cmd_id?: unknown }).cmd_id === "string" ? (msg as { cmd_id: string }).cmd_id : null,
        role: who.principal.role,
        issuer: who.principal.label,
        tick: this.service.world.tick,
        latency_ms: this.timeoutMs,
      } satisfies CommandResultT);
      return true;
    }
    send(res, out.status === "ok" ? 200 : STATUS[out.error!.code], out);
    return true;
  }
}

function withId(res: CommandResultT, id: unknown): CommandResultT {
  return typeof id === "string" || typeof id === "number" ? { ...res, id } : res;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

function methodNotAllowed(res: ServerResponse, allow: string): true {
  res.setHeader("allow", allow);
  send(res, 405, { error: { code: "usage", message: `method not allowed; use ${allow}` } });
  return true;
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > max) {
        failed = true;
        reject(new Error("too_big"));
        // Stop reading; the response closes the connection.
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.on("error", (e) => {
      if (!failed) reject(e);
    });
  });
}
