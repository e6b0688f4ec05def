// GET /metrics of `townlet serve` (systems/telemetry/metrics.ts): the Prometheus text format read
// back by a strict parser (every sample under its family's HELP and TYPE, counters named _total,
// units in names, a summary's quantiles, _sum and _count), who may scrape (the viewer token, an
// admin's, no token with --metrics-public or without tokens), and values that follow the server:
// ticks, tick time, agents, console commands by result, WebSocket clients and diffs dropped for a
// client that stopped reading. Every server is closed and every loop bounded.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { startServe, type ServeHandle, type ServeOptions } from "../../tools/serve.ts";
import { kpiSamples } from "../../systems/telemetry/metrics.ts";

const VIEWER_TOKEN = "viewer-token-metrics-0123456789";
const ADMIN_TOKEN = "admin-token-metrics-0123456789";

let dir: string;
let tokensFile: string;
const handles: ServeHandle[] = [];
const sockets: WebSocket[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "townlet-metrics-"));
  tokensFile = join(dir, "tokens.yaml");
  writeFileSync(tokensFile, `- {token: ${VIEWER_TOKEN}, role: viewer, label: watcher}\n- {token: ${ADMIN_TOKEN}, role: admin, label: operator}\n`);
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  for (const h of handles.splice(0)) await h.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serve(o: ServeOptions = {}): Promise<ServeHandle> {
  const h = await startServe({
    port: 0,
    tokensFile,
    audit: join(dir, `audit-${handles.length}.ndjson`),
    paused: true,
    ticks: 2000,
    observer: false,
    overrides: { "world.agents_per_town": 6 },
    ...o,
  });
  handles.push(h);
  return h;
}

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function scrape(h: ServeHandle, token: string | null = VIEWER_TOKEN): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${h.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

// ---- a strict reader of the text exposition format (0.0.4) -------------------------------------

interface Family {
  type: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Parses the exposition; throws naming the line on anything the format does not allow. */
function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: string | undefined;
  text
    .slice(0, -1)
    .split("\n")
    .forEach((line, i) => {
      const where = `line ${i + 1} "${line}"`;
      if (line.startsWith("# HELP ")) {
        const m = /^# HELP (\S+) (.*)$/.exec(line);
        if (!m || !NAME.test(m[1])) throw new Error(`${where}: bad HELP`);
        if (families.has(m[1])) throw new Error(`${where}: family ${m[1]} declared twice`);
        families.set(m[1], { type: "", help: m[2], samples: [] });
        current = m[1];
        return;
      }
      if (line.startsWith("# TYPE ")) {
        const m = /^# TYPE (\S+) (counter|gauge|summary|histogram|untyped)$/.exec(line);
        if (!m || m[1] !== current) throw new Error(`${where}: TYPE must follow its HELP`);
        families.get(m[1])!.type = m[2];
        return;
      }
      if (line.startsWith("#") || line.trim() === "") throw new Error(`${where}: unexpected comment or blank line`);
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`${where}: not a sample`);
      const [, name, labelText, valueText] = m;
      const fam = current ? families.get(current) : undefined;
      const suffixes = fam?.type === "summary" ? ["", "_sum", "_count"] : [""];
      if (!fam || !suffixes.some((s) => `${current}${s}` === name)) throw new Error(`${where}: sample outside its family's HELP/TYPE block`);
      const labels: Record<string, string> = {};
      if (labelText) {
        const re = /([^=,]+)="((?:[^"\\]|\\[\\"n])*)"(,|$)/y;
        let pos = 0;
        while (pos < labelText.length) {
          re.lastIndex = pos;
          const l = re.exec(labelText);
          if (!l || !LABEL.test(l[1])) throw new Error(`${where}: bad label at ${pos}`);
          labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
          pos = re.lastIndex;
        }
      }
      const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
      if (valueText !== "NaN" && Number.isNaN(value)) throw new Error(`${where}: value is not a number`);
      const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
      if (seen.has(series)) throw new Error(`${where}: series repeated`);
      seen.add(series);
      fam.samples.push({ name, labels, value });
    });
  for (const [name, f] of families) if (!f.type) throw new Error(`family ${name} has no TYPE`);
  return families;
}

function value(f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = f.get(name) ?? f.get(name.replace(/_(sum|count)$/, ""));
  return family?.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;
}

// ---- tests ----------------------------------------------------------------------------------------

describe("GET /metrics", () => {
  it("answers the Prometheus text format: every family with HELP and TYPE, counters named _total, units in names", async () => {
    const h = await serve();
    h.loop.paused = false;
    await until(() => h.world.tick >= 20, "tick 20");
    const r = await scrape(h);
    expect(r.status).toBe(200);
    expect(r.type).toBe("text/plain; version=0.0.4; charset=utf-8");
    const f = parseExposition(r.text);
    for (const [name, fam] of f) {
      expect(name, "names are snake_case and prefixed").toMatch(/^(townlet|process|nodejs)_[a-z0-9_]+$/);
      if (fam.type === "counter") expect(name, `${name} is a counter`).toMatch(/_total$/);
      else expect(name, `${name} is a ${fam.type}`).not.toMatch(/_total$/);
      expect(fam.help.length, `${name} has a description`).toBeGreaterThan(10);
    }
    for (const name of [
      "townlet_ticks_total",
      "townlet_ticks_per_second",
      "townlet_tick_duration_seconds",
      "townlet_agents_alive",
      "townlet_kpi",
      "townlet_websocket_clients",
      "townlet_telemetry_dropped_payloads_total",
      "townlet_console_commands_total",
      "process_resident_memory_bytes",
    ]) {
      expect(f.has(name), name).toBe(true);
    }
    const summary = f.get("townlet_tick_duration_seconds")!;
    expect(summary.type).toBe("summary");
    expect(summary.samples.map((s) => s.labels.quantile ?? s.name)).toEqual(["0.5", "0.99", "townlet_tick_duration_seconds_sum", "townlet_tick_duration_seconds_count"]);
    const p50 = value(f, "townlet_tick_duration_seconds", { quantile: "0.5" })!;
    const p99 = value(f, "townlet_tick_duration_seconds", { quantile: "0.99" })!;
    expect(p50).toBeGreaterThan(0);
    expect(p99).toBeGreaterThanOrEqual(p50);
    // Seconds, not milliseconds: one tick of six agents is far under a second.
    expect(p99).toBeLessThan(1);
    expect(value(f, "townlet_agents_alive")).toBe(6);
    expect(value(f, "townlet_kpi", { kpi: "alive_agents" })).toBe(6);
    expect(value(f, "townlet_kpi", { kpi: "exits.total" })).toBe(0);
    expect(value(f, "townlet_info", { config_id: h.publisher.configId })).toBe(1);
  });

  it("flattens the KPI tree into labelled samples: numbers and booleans, nested paths dotted, arrays left out", () => {
    expect(kpiSamples({ b: { y: 2, x: true }, a: 1, list: [1, 2], s: "text" })).toEqual([
      [{ kpi: "a" }, 1],
      [{ kpi: "b.x" }, 1],
      [{ kpi: "b.y" }, 2],
    ]);
  });

  it("wants the viewer token (or an admin's) when the server has tokens", async () => {
    const h = await serve();
    const none = await scrape(h, null);
    expect(none.status).toBe(401);
    expect(JSON.parse(none.text)).toMatchObject({ error: { code: "unauthorized", message: expect.stringMatching(/--metrics-public/) } });
    expect((await scrape(h, "wrong-token-0000000000")).status).toBe(401);
    expect(none.text).not.toContain("townlet_");
    expect((await scrape(h, VIEWER_TOKEN)).status).toBe(200);
    expect((await scrape(h, ADMIN_TOKEN)).status).toBe(200);
  });

  it("is open with --metrics-public, and on a server without tokens", async () => {
    const open = await serve({ metricsPublic: true });
    expect((await scrape(open, null)).status).toBe(200);
    const noTokens = await serve({ tokensFile: undefined });
    expect(noTokens.tokens.enabled).toBe(false);
    expect((await scrape(noTokens, null)).status).toBe(200);
  });

  it("follows the server: ticks and their rate, console commands by result, clients, and diffs dropped for a client that stopped reading", async () => {
    const h = await serve({ server: { highWaterBytes: 4_000, hardLimitBytes: 8_000_000 }, overrides: { "world.agents_per_town": 30 } });
    const f0 = parseExposition((await scrape(h)).text);
    expect(value(f0, "townlet_ticks_total")).toBe(0);
    expect(value(f0, "townlet_loop_paused")).toBe(1);
    expect(value(f0, "townlet_websocket_clients", { role: "viewer" })).toBe(0);
    expect(value(f0, "townlet_console_commands_total", { result: "ok" })).toBe(0);

    // Commands: one applied, one refused (a viewer may not pause), one replayed by cmd_id.
    const post = (body: unknown, token: string) =>
      fetch(`${h.url}/commands`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    expect((await post({ name: "status" }, VIEWER_TOKEN)).status).toBe(200);
    expect((await post({ name: "pause" }, VIEWER_TOKEN)).status).toBe(403);
    expect((await post({ name: "spawn", cmd_id: "m1" }, ADMIN_TOKEN)).status).toBe(200);
    expect((await post({ name: "spawn", cmd_id: "m1" }, ADMIN_TOKEN)).status).toBe(200);

    // A viewer that stops reading: its diffs are dropped once its bytes in flight pass the mark.
    const ws = new WebSocket(`${h.wsUrl}`, { headers: { authorization: `Bearer ${VIEWER_TOKEN}` } });
    sockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once("message", () => resolve());
      ws.once("error", reject);
    });
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    h.loop.paused = false;
    await until(() => h.server.stats.dropped_payloads >= 5 && h.world.tick >= 60, "diffs dropped for the paused client");
    h.loop.paused = true;
    await until(async () => value(parseExposition((await scrape(h)).text), "townlet_loop_paused") === 1, "the loop to pause");

    const f1 = parseExposition((await scrape(h)).text);
    const ticks = value(f1, "townlet_ticks_total")!;
    expect(ticks).toBe(h.world.tick);
    expect(value(f1, "townlet_world_tick")).toBe(h.world.tick);
    expect(value(f1, "townlet_tick_duration_seconds_count")).toBe(ticks);
    expect(value(f1, "townlet_tick_duration_seconds_sum")).toBeGreaterThan(0);
    expect(value(f1, "townlet_ticks_per_second")).toBeGreaterThan(0);
    expect(value(f1, "townlet_agents_alive")).toBe(h.world.agents.length);
    expect(value(f1, "townlet_console_commands_total", { result: "ok" })).toBe(2);
    expect(value(f1, "townlet_console_commands_total", { result: "error", code: "forbidden" })).toBe(1);
    expect(value(f1, "townlet_console_commands_total", { result: "replayed" })).toBe(1);
    expect(value(f1, "townlet_websocket_clients", { role: "viewer" })).toBe(1);
    expect(value(f1, "townlet_telemetry_dropped_payloads_total")).toBe(h.server.stats.dropped_payloads);
    expect(value(f1, "townlet_telemetry_dropped_payloads_total")).toBeGreaterThanOrEqual(5);
    expect(value(f1, "townlet_kpi", { kpi: "alive_agents" })).toBe(h.world.agents.length);

    // The client leaves: the gauge follows.
    ws.terminate();
    await until(() => h.server.conns.size === 0, "the client to go");
    expect(value(parseExposition((await scrape(h)).text), "townlet_websocket_clients", { role: "viewer" })).toBe(0);
  });
});
