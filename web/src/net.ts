// The page's link to townlet serve: trades a token for a short-lived ticket (POST /auth/ticket),
// opens the WebSocket with the ticket as its subprotocol (never in the URL), keeps a telemetry
// mirror (snapshot, diffs, a resync on a seq gap), reconnects with a fresh ticket, sends console
// commands and matches their results by id. The token stays in memory only.
import { TelemetryMirror, type ApplyResult } from "../../systems/telemetry/client.ts";
import type { TelemetryPayloadT } from "../../systems/telemetry/schema.ts";
import type { CommandOutcome } from "./api.ts";
import type { TownState } from "./model.ts";

export interface Hello {
  role: "viewer" | "admin";
  label: string;
  tick: number;
}

export interface SessionEvents {
  /** A payload was applied (or refused for a gap). */
  payload(p: TelemetryPayloadT, result: ApplyResult): void;
  hello(h: Hello): void;
  /** Connected or not, with a reason when not. */
  link(up: boolean, why: string): void;
  /** The server refused the credentials: log in again. */
  unauthorized(message: string): void;
  /** A non-command error frame (a refused subscription, a bad frame). */
  error(code: string, message: string): void;
}

/** Which ticket protocol prefix the server expects (systems/console/auth.ts TICKET_PROTOCOL). */
const TICKET_PROTOCOL = "townlet.ticket.";

/** A random id for cmd_id (crypto.randomUUID needs a secure context; plain HTTP on a LAN is not one). */
export function randomId(prefix: string): string {
  const b = new Uint8Array(8);
  crypto.getRandomValues(b);
  return prefix + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export class Session {
  mirror: TelemetryMirror;
  ws: WebSocket | undefined;
  role: "viewer" | "admin" | null = null;
  label: string | null = null;
  connected = false;
  /** The next diff is dropped on purpose (tests of the resync path). */
  dropNext = false;
  readonly results: CommandOutcome[] = [];
  /** Milliseconds spent parsing and applying frames, and bytes received, since the page started. */
  readonly load = { ms: 0, bytes: 0, frames: 0 };
  private pending = new Map<string, (r: CommandOutcome) => void>();
  private nextId = 1;
  private closedByUs = false;
  private retry = 0;
  private retryTimer: number | undefined;
  /** Subscriptions to restore after a reconnect. */
  private towns = new Set<number>();
  private agents = new Set<string>();

  constructor(
    private readonly token: string | null,
    private readonly on: SessionEvents,
  ) {
    this.mirror = this.newMirror();
  }

  get state(): TownState {
    return (this.mirror.state ?? {}) as TownState;
  }

  private newMirror(): TelemetryMirror {
    return new TelemetryMirror(() => this.send({ type: "resync" }), { own: true });
  }

  /** Trades the token for a ticket; null without a token (anonymous viewer). */
  private async ticket(): Promise<string | null> {
    if (this.token === null) return null;
    const res = await fetch("/auth/ticket", { method: "POST", headers: { authorization: `Bearer ${this.token}` }, cache: "no-store" });
    const body = (await res.json().catch(() => ({}))) as { ticket?: string; error?: { message?: string } };
    if (res.status === 401) throw new Unauthorized(body.error?.message ?? "invalid token");
    if (!res.ok || typeof body.ticket !== "string") throw new Error(`POST /auth/ticket answered ${res.status}: ${body.error?.message ?? "no ticket"}`);
    return body.ticket;
  }

  /** Connects (and keeps reconnecting until close()). Rejects on bad credentials at the first try. */
  async open(): Promise<void> {
    this.closedByUs = false;
    let ticket: string | null;
    try {
      ticket = await this.ticket();
    } catch (e) {
      if (e instanceof Unauthorized) {
        this.on.unauthorized(e.message);
        throw e;
      }
      this.scheduleRetry(e instanceof Error ? e.message : String(e));
      return;
    }
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const ws = ticket === null ? new WebSocket(url, ["townlet.v1"]) : new WebSocket(url, [TICKET_PROTOCOL + ticket]);
    this.ws = ws;
    this.mirror = this.newMirror();
    ws.onopen = () => {
      this.connected = true;
      this.retry = 0;
      this.on.link(true, "connected");
      if (this.towns.size || this.agents.size) this.send({ type: "subscribe", towns: [...this.towns], agents: [...this.agents] });
    };
    ws.onmessage = (ev) => {
      const t0 = performance.now();
      this.onMessage(ev.data);
      this.load.ms += performance.now() - t0;
      this.load.frames++;
      if (typeof ev.data === "string") this.load.bytes += ev.data.length;
    };
    ws.onclose = (ev) => {
      const was = this.connected;
      this.connected = false;
      for (const [, resolve] of this.pending) resolve({ name: "?", status: "error", error: { code: "unavailable", message: "connection closed" } });
      this.pending.clear();
      if (this.closedByUs || this.ws !== ws) return;
      // A refused upgrade (bad or expired ticket, anonymous viewing off) closes before opening.
      if (!was && this.token === null) {
        this.on.unauthorized("this server wants a token");
        return;
      }
      this.scheduleRetry(ev.reason || `closed (${ev.code})`);
    };
  }

  private scheduleRetry(why: string): void {
    this.on.link(false, why);
    if (this.closedByUs) return;
    const wait = Math.min(10_000, 500 * 2 ** this.retry++);
    clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => void this.open().catch(() => {}), wait);
  }

  close(): void {
    this.closedByUs = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000, "logged out");
    this.ws = undefined;
    this.connected = false;
  }

  send(frame: Record<string, unknown>): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends a console command; every command carries a fresh cmd_id (destructive ones need it). */
  command(name: string, args: Record<string, unknown> = {}): Promise<CommandOutcome> {
    const id = `c${this.nextId++}`;
    const frame = { type: "command", name, args, id, cmd_id: randomId("observer-") };
    return new Promise((resolve) => {
      if (!this.send(frame)) {
        resolve({ name, status: "error", error: { code: "unavailable", message: "not connected" } });
        return;
      }
      this.pending.set(id, resolve);
    });
  }

  subscribeTown(town: number | null, previous: number | null): void {
    if (previous !== null && previous !== town) {
      this.towns.delete(previous);
      this.send({ type: "unsubscribe", towns: [previous] });
    }
    if (town !== null && !this.towns.has(town)) {
      this.towns.add(town);
      this.send({ type: "subscribe", towns: [town] });
    }
  }

  subscribeAgent(id: string | null, previous: string | null): void {
    if (previous !== null && previous !== id) {
      this.agents.delete(previous);
      this.send({ type: "unsubscribe", agents: [previous] });
    }
    if (id !== null && !this.agents.has(id)) {
      this.agents.add(id);
      this.send({ type: "subscribe", agents: [id] });
    }
  }

  private onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof m.payload_type === "string") {
      const p = m as unknown as TelemetryPayloadT;
      if (p.payload_type === "diff" && this.dropNext) {
        this.dropNext = false;
        return;
      }
      this.on.payload(p, this.mirror.apply(p));
      return;
    }
    switch (m.type) {
      case "hello":
        this.role = m.role as "viewer" | "admin";
        this.label = String(m.label);
        this.on.hello({ role: this.role, label: this.label, tick: Number(m.tick) });
        return;
      case "result": {
        const r = m as unknown as CommandOutcome;
        this.results.push(r);
        if (this.results.length > 200) this.results.shift();
        const id = typeof r.id === "string" ? r.id : undefined;
        const resolve = id !== undefined ? this.pending.get(id) : undefined;
        if (id !== undefined && resolve) {
          this.pending.delete(id);
          resolve(r);
        }
        return;
      }
      case "error": {
        const id = typeof m.id === "string" ? m.id : undefined;
        const resolve = id !== undefined ? this.pending.get(id) : undefined;
        if (id !== undefined && resolve) {
          this.pending.delete(id);
          resolve({ name: "?", status: "error", error: { code: String(m.code), message: String(m.message) } });
        } else this.on.error(String(m.code), String(m.message));
        return;
      }
      default:
        return;
    }
  }
}

export class Unauthorized extends Error {
  override name = "Unauthorized";
}
