// `GET /metrics` for townlet serve, in the Prometheus text exposition format (version 0.0.4):
// tick rate and tick time quantiles, agents, the world's KPIs, WebSocket clients, payloads
// dropped for slow clients, console commands by result, and the process's own figures. Outside
// the tick: the loop reports each step's duration (tickDone), the console's audit sink reports
// each command (countCommands); a scrape reads everything else at that moment. It imports no
// other system: what it reads comes through the narrow interfaces below (tools/serve.ts wires them).
import type { IncomingMessage, ServerResponse } from "node:http";

/** What the metrics read of the world (engine/world.ts World has these). */
export interface MetricsWorld {
  readonly tick: number;
  readonly towns: number;
  readonly agents: ArrayLike<number>;
  kpis(): Record<string, unknown>;
}

/** What a scrape reads besides the world; each part optional. */
export interface MetricsSources {
  world: MetricsWorld;
  /** The serve loop: paused or not, its target rate (null = as fast as possible). */
  loop?(): { state: string; ticks_per_second: number | null };
  /** Roles of the WebSocket clients connected now. */
  clients?(): Iterable<{ principal: { role: string } }>;
  /** The telemetry server's counters since start (systems/telemetry/websocket.ts stats). */
  server?(): { closed_slow: number; dropped_payloads: number; resyncs: number; bad_frames: number };
  /** Events left out by stream.max_events_per_tick since start. */
  eventsDropped?(): number;
  /** Console commands waiting for a tick. */
  consoleQueue?(): number;
  configId?: string;
}

/** What the console's audit trail hands each command's outcome to (systems/console/audit.ts AuditSink). */
export interface CommandRecordSink<R extends CommandRecord = CommandRecord> {
  write(rec: R): void;
}

interface CommandRecord {
  status: "ok" | "error";
  error?: { code: string };
  replayed?: boolean;
}

/** Who may scrape: tokens as the console knows them (systems/console/auth.ts TokenTable has this shape). */
export interface MetricsTokens {
  readonly enabled: boolean;
  lookup(token: string): unknown;
}

/** Tick durations kept for the quantiles (a sliding window: the last this many ticks). */
const WINDOW = 1024;
/** Seconds over which ticks_per_second is measured. */
const RATE_WINDOW_S = 10;

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export class ServeMetrics {
  private readonly durations = new Float64Array(WINDOW);
  /** performance.now() at the end of each of the last WINDOW ticks. */
  private readonly ends = new Float64Array(WINDOW);
  private count = 0;
  /** performance.now() when the first tick recorded began. */
  private firstStart = 0;
  private sumSeconds = 0;
  /** Console commands by "result\u0000code". */
  private readonly commands = new Map<string, number>();
  private readonly started = Date.now();

  constructor(private readonly sources: MetricsSources) {}

  /** One tick ran and took `ms` milliseconds (called by the loop after each step). */
  tickDone(ms: number, now = performance.now()): void {
    const i = this.count % WINDOW;
    if (this.count === 0) this.firstStart = now - ms;
    this.durations[i] = ms / 1000;
    this.ends[i] = now;
    this.count++;
    this.sumSeconds += ms / 1000;
  }

  /** Counts one console command's outcome. */
  command(rec: CommandRecord): void {
    const result = rec.replayed ? "replayed" : rec.status;
    const code = rec.status === "error" ? (rec.error?.code ?? "unknown") : "";
    const key = `${result}\u0000${code}`;
    this.commands.set(key, (this.commands.get(key) ?? 0) + 1);
  }

  /** An audit sink that counts each command, then hands it on to `inner` (the audit file). */
  countingSink<R extends CommandRecord>(inner: CommandRecordSink<R> | undefined): CommandRecordSink<R> {
    return {
      write: (rec) => {
        this.command(rec);
        inner?.write(rec);
      },
    };
  }

  /** Ticks per second over the last RATE_WINDOW_S seconds (0 when none ran in it). */
  tickRate(now = performance.now()): number {
    const n = Math.min(this.count, WINDOW);
    if (n === 0) return 0;
    const from = now - RATE_WINDOW_S * 1000;
    let inWindow = 0;
    let oldest = Infinity;
    for (let k = 0; k < n; k++) {
      const t = this.ends[k];
      if (t >= from) {
        inWindow++;
        if (t < oldest) oldest = t;
      }
    }
    if (inWindow === 0) return 0;
    // Before the ring wraps, the window starts no earlier than the first tick; a wrapped ring
    // whose every tick is in the window (a fast loop) measures the span it holds.
    if (this.count <= WINDOW) return (inWindow * 1000) / Math.max(1e-3, now - Math.max(from, this.firstStart));
    if (inWindow === WINDOW) return ((WINDOW - 1) * 1000) / Math.max(1e-3, now - oldest);
    return (inWindow * 1000) / (RATE_WINDOW_S * 1000);
  }

  /** The q-quantile (0..1) of the tick durations in the window, seconds; NaN before the first tick. */
  tickQuantile(q: number): number {
    const n = Math.min(this.count, WINDOW);
    if (n === 0) return NaN;
    const sorted = this.durations.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  }

  /** The whole exposition, every family with HELP and TYPE lines. */
  render(now = performance.now()): string {
    const s = this.sources;
    const out = new Exposition();
    out.family("townlet_info", "gauge", "Always 1; the labels name the running config", [[{ config_id: s.configId ?? "" }, 1]]);
    out.family("townlet_world_tick", "gauge", "Ticks the world has completed (goes back when a snapshot is loaded)", [[{}, s.world.tick]]);
    out.family("townlet_ticks_total", "counter", "Ticks this process has run", [[{}, this.count]]);
    out.family("townlet_ticks_per_second", "gauge", `Ticks run per second over the last ${RATE_WINDOW_S} seconds`, [[{}, this.tickRate(now)]]);
    out.summary("townlet_tick_duration_seconds", `Wall time of one tick; quantiles over the last ${WINDOW} ticks`, [
      [0.5, this.tickQuantile(0.5)],
      [0.99, this.tickQuantile(0.99)],
    ], this.sumSeconds, this.count);
    const loop = s.loop?.();
    if (loop) {
      out.family("townlet_loop_paused", "gauge", "1 while the serve loop is paused by an operator", [[{}, loop.state === "paused" ? 1 : 0]]);
      if (loop.ticks_per_second !== null) out.family("townlet_loop_target_ticks_per_second", "gauge", "The pace the loop aims at (absent: as fast as possible)", [[{}, loop.ticks_per_second]]);
    }
    out.family("townlet_towns", "gauge", "Towns in the world", [[{}, s.world.towns]]);
    out.family("townlet_agents_alive", "gauge", "Live agents in every town", [[{}, s.world.agents.length]]);
    out.family("townlet_kpi", "gauge", "The world's KPIs (world.kpis(), contributed by plug-ins), by dotted path; booleans are 0 or 1", kpiSamples(s.world.kpis()));
    if (s.clients) {
      const byRole = new Map<string, number>([["viewer", 0], ["admin", 0]]);
      for (const c of s.clients()) byRole.set(c.principal.role, (byRole.get(c.principal.role) ?? 0) + 1);
      out.family("townlet_websocket_clients", "gauge", "WebSocket clients connected now, by role", [...byRole].map(([role, n]) => [{ role }, n]));
    }
    const st = s.server?.();
    if (st) {
      out.family("townlet_telemetry_dropped_payloads_total", "counter", "Telemetry diffs not sent to a slow client (it gets a fresh snapshot once drained)", [[{}, st.dropped_payloads]]);
      out.family("townlet_websocket_slow_consumer_closes_total", "counter", "Clients closed for leaving too many bytes unacknowledged (close code 4008)", [[{}, st.closed_slow]]);
      out.family("townlet_telemetry_resyncs_total", "counter", "Snapshots clients asked for after a seq gap", [[{}, st.resyncs]]);
      out.family("townlet_websocket_bad_frames_total", "counter", "Client frames refused as malformed or unknown", [[{}, st.bad_frames]]);
    }
    if (s.eventsDropped) out.family("townlet_telemetry_events_dropped_total", "counter", "Events left out of payloads by stream.max_events_per_tick", [[{}, s.eventsDropped()]]);
    const cmds: Sample[] = [];
    for (const result of ["ok", "error", "replayed"]) if (![...this.commands.keys()].some((k) => k.startsWith(`${result}\u0000`))) cmds.push([{ result }, 0]);
    for (const [key, n] of [...this.commands].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const [result, code] = key.split("\u0000");
      cmds.push([code ? { result, code } : { result }, n]);
    }
    out.family("townlet_console_commands_total", "counter", "Console commands answered, by result (ok, error with its code, replayed by cmd_id)", cmds);
    if (s.consoleQueue) out.family("townlet_console_queued_commands", "gauge", "Console commands waiting for a tick", [[{}, s.consoleQueue()]]);
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    out.family("process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds", [[{}, (cpu.user + cpu.system) / 1e6]]);
    out.family("process_resident_memory_bytes", "gauge", "Resident memory size, bytes", [[{}, mem.rss]]);
    out.family("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, seconds", [[{}, Math.floor(this.started / 1000)]]);
    out.family("nodejs_heap_used_bytes", "gauge", "V8 heap in use, bytes", [[{}, mem.heapUsed]]);
    return out.text();
  }

  /**
   * The HTTP route: GET (or HEAD) /metrics answers the exposition; resolves false for any other
   * path. Unless `public`, a server with tokens wants one (viewer or admin) as a bearer header.
   */
  route(auth: { tokens: MetricsTokens; public?: boolean }): (req: IncomingMessage, res: ServerResponse) => boolean {
    return (req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (path !== "/metrics") return false;
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "usage", message: `${req.method} /metrics: use GET` } }));
        return true;
      }
      if (!auth.public && auth.tokens.enabled) {
        const h = req.headers.authorization;
        const m = typeof h === "string" ? /^\s*Bearer\s+(\S+)\s*$/i.exec(h) : null;
        if (!m || auth.tokens.lookup(m[1]) === undefined) {
          const message = m ? "invalid token" : "GET /metrics wants a viewer or admin token (Authorization: Bearer <token>), or start townlet serve with --metrics-public";
          res.writeHead(401, { "content-type": "application/json", "www-authenticate": 'Bearer realm="townlet"' });
          res.end(JSON.stringify({ error: { code: "unauthorized", message } }));
          return true;
        }
      }
      const body = Buffer.from(this.render());
      res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE, "content-length": body.length, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
      return true;
    };
  }
}

type Labels = Record<string, string>;
type Sample = [Labels, number];

/** Flattens the KPI tree into samples labelled by dotted path (numbers and booleans only). */
export function kpiSamples(kpis: Record<string, unknown>): Sample[] {
  const out: Sample[] = [];
  const walk = (v: unknown, path: string) => {
    if (typeof v === "number") out.push([{ kpi: path }, v]);
    else if (typeof v === "boolean") out.push([{ kpi: path }, v ? 1 : 0]);
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const k of Object.keys(v).sort()) walk((v as Record<string, unknown>)[k], path ? `${path}.${k}` : k);
    }
  };
  walk(kpis, "");
  return out;
}

/** Builds the text format: families in order, each with its HELP and TYPE lines. */
class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: "gauge" | "counter", help: string, samples: Sample[]): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) this.lines.push(`${name}${labelText(labels)} ${num(v)}`);
  }

  summary(name: string, help: string, quantiles: [number, number][], sum: number, count: number): void {
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} summary`);
    for (const [q, v] of quantiles) this.lines.push(`${name}{quantile="${q}"} ${num(v)}`);
    this.lines.push(`${name}_sum ${num(sum)}`, `${name}_count ${num(count)}`);
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${labels[k].replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`).join(",")}}`;
}

function escapeHelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
