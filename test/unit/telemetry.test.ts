// Telemetry publisher: a snapshot then per-tick diffs keyed by stable agent id; a client
// applying them holds the server's state at every tick (agents spawned, removed and changed,
// console changes included); events name agents even after they left; aggregate mode above the
// threshold carries aggregates plus subscribed agents and towns; privacy mode hashes ids; narrations are
// rate-limited; the file sink rotates and every file starts with a snapshot; a stalled stream
// stops taking diffs and catches up with one snapshot.
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { Needs } from "../../components/needs.ts";
import { ExitReason, Lifecycle } from "../../components/people.ts";
import { TownEconomy } from "../../components/economy.ts";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import {
  createTransportSink,
  DiffPayload,
  FileSink,
  NarrationLimiter,
  SnapshotPayload,
  StreamSink,
  TelemetryMirror,
  TelemetryPublisher,
  type Published,
  type TelemetryPayloadT,
} from "../../systems/telemetry/index.ts";
import { TelemetrySection } from "../../systems/telemetry/config.ts";
import { makeWorld } from "../helpers/world.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world(over: Record<string, unknown> = {}, agents = 6): World {
  return makeWorld({ world: { agents_per_town: agents }, ...over });
}

const pubOf = (w: World) => w.state<TelemetryPublisher>("telemetry");

/** A sink that keeps every payload (parsed from its line, as a remote client gets it). */
function memorySink() {
  const payloads: TelemetryPayloadT[] = [];
  return {
    payloads,
    deliver(p: Published) {
      payloads.push(JSON.parse(p.line()) as TelemetryPayloadT);
    },
  };
}

describe("snapshot and diffs", () => {
  it("lets a client that applies the snapshot and then every diff hold the server's state at every tick", () => {
    const w = world();
    const pub = pubOf(w);
    const sink = memorySink();
    const mirror = new TelemetryMirror();
    pub.addSink(sink);
    let checked = 0;
    let spawned = 0;
    let removed = 0;
    for (let t = 1; t <= 400; t++) {
      if (t === 50) w.spawnAgent(0, { name: "visitor" });
      if (t === 120) w.columns(Lifecycle).exit_reason[w.agentEid("visitor")] = ExitReason.Console;
      w.step();
      for (const p of sink.payloads.splice(0)) {
        expect(mirror.apply(p)).not.toBe("gap");
        if (p.payload_type === "diff") {
          spawned += Object.keys(p.agents?.spawned ?? {}).length;
          removed += (p.agents?.removed ?? []).length;
        }
      }
      expect(mirror.seq).toBe(pub.seq);
      expect(mirror.tick).toBe(w.tick);
      expect(mirror.state).toEqual(pub.state());
      checked++;
    }
    expect(checked).toBe(400);
    // The run saw agents come and go (faints, replacements, the visitor).
    expect(spawned).toBeGreaterThan(0);
    expect(removed).toBeGreaterThan(0);
  });

  it("starts with a snapshot, then sends one diff per tick with consecutive seq, each naming its tick", () => {
    const w = world();
    const sink = memorySink();
    pubOf(w).addSink(sink);
    w.run(5);
    const [first, ...rest] = sink.payloads;
    expect(first.payload_type).toBe("snapshot");
    expect(first).toMatchObject({ schema_version: "0.3.0", tick: 0, seq: 1, reason: "initial" });
    expect(rest.map((p) => [p.payload_type, p.tick, p.seq])).toEqual([1, 2, 3, 4, 5].map((t) => ["diff", t, t + 1]));
  });

  it("keys agents by stable id and sends only the fields that changed", () => {
    const w = world({ rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } }, 3);
    const sink = memorySink();
    pubOf(w).addSink(sink);
    w.step();
    const eid = w.agents[1];
    const id = w.agentName(eid);
    w.columns(Needs).hygiene[eid] = 0.25;
    w.step();
    const d = sink.payloads.at(-1)!;
    if (d.payload_type !== "diff") throw new Error("expected a diff");
    expect(d.agents?.changed?.[id]).toMatchObject({ hygiene: 0.25 });
    expect(Object.keys(d.agents?.changed?.[id] ?? {})).not.toContain("town");
  });

  it("reports jobs, economy, employment and queue counters in the guide's shapes", () => {
    const w = world();
    const snap = pubOf(w).snapshot("request");
    const id = w.agentName(w.agents[0]);
    expect(Object.keys(snap.jobs[id]).sort()).toEqual(
      [
        "job_id",
        "on_shift",
        "wallet",
        "lateness_counter",
        "wages_earned",
        "meals_cooked",
        "meals_consumed",
        "basket_cost",
        "shift_state",
        "attendance_ratio",
        "late_ticks_today",
        "absent_shifts_7d",
        "wages_withheld",
        "exit_pending",
      ].sort(),
    );
    expect(snap.employment).toMatchObject({ pending: [], pending_count: 0 });
    expect(snap.queue_metrics).toEqual({ cooldown_events: 0, ghost_step_events: 0, rotation_events: 0 });
    expect(snap.economy.towns[0]).toMatchObject({ town: 0, price_multiplier: 1, power: true, water: true });
    expect(snap.embedding_metrics.allocations_total).toBeGreaterThan(0);
    expect(Object.values(snap.objects).some((o) => o.type === "fridge")).toBe(true);
    expect(snap.kpis.alive_agents).toBe(w.agents.length);
  });

  it("names the agent of an event even when it left the town in that tick", () => {
    const w = world({ rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } }, 3);
    const sink = memorySink();
    pubOf(w).addSink(sink);
    w.step();
    const eid = w.agents[0];
    const id = w.agentName(eid);
    w.columns(Lifecycle).exit_reason[eid] = ExitReason.Console;
    w.step();
    const d = sink.payloads.at(-1)!;
    expect(d.events.find((e) => e.event === "agent_exit")).toMatchObject({ agent: id, reason: "console", tick: 2 });
    if (d.payload_type !== "diff") throw new Error("expected a diff");
    expect(d.agents?.removed).toContain(id);
    expect(d.narrations.map((n) => n.message)).toContain(`${id} left town (console)`);
  });

  it("costs nothing and keeps no state while no sink listens, and catches up when one arrives", () => {
    const w = world();
    const pub = pubOf(w);
    w.run(10);
    expect(pub.seq).toBe(0);
    const sink = memorySink();
    const detach = pub.addSink(sink);
    w.run(3);
    detach();
    w.run(5);
    const again = memorySink();
    pub.addSink(again);
    const snap = again.payloads[0];
    expect(snap).toMatchObject({ payload_type: "snapshot", tick: 18 });
    expect(snap.seq).toBeGreaterThan(sink.payloads.at(-1)!.seq);
  });

  it("validates every payload of a long run against its zod schema", () => {
    const w = world({}, 8);
    const sink = memorySink();
    pubOf(w).addSink(sink);
    w.spawnAgent(0, { name: "zed" });
    w.run(300);
    for (const p of sink.payloads) {
      const r = (p.payload_type === "snapshot" ? SnapshotPayload : DiffPayload).safeParse(p);
      expect(r.success, r.success ? "" : JSON.stringify(r.error.issues.slice(0, 3))).toBe(true);
    }
  });
});

describe("aggregate mode", () => {
  it("carries aggregates plus the subscribed agents only above the agent threshold", () => {
    const w = world({ telemetry: { stream: { aggregate_above_agents: 4 } } }, 8);
    const pub = pubOf(w);
    const sink = memorySink();
    pub.addSink(sink);
    const first = sink.payloads[0];
    if (first.payload_type !== "snapshot") throw new Error("expected a snapshot");
    expect(first.mode).toBe("aggregate");
    expect(first.agents).toEqual({});
    expect(first.aggregates.agents).toBe(8);
    const id = w.agentName(w.agents[2]);
    expect(pub.watch([id, "nobody"])).toEqual(["nobody"]);
    const mine = new Set([id]);
    const snap = pub.snapshot("subscribe", mine);
    expect(Object.keys(snap.agents)).toEqual([id]);
    expect(snap.subscribed).toEqual([id]);
    const mirror = new TelemetryMirror();
    mirror.apply(snap);
    for (let t = 0; t < 50; t++) {
      w.step();
      const d = pub.lastDiff!;
      mirror.apply(JSON.parse(JSON.stringify(pub.filterDiff(d, mine))));
      // Only the subscribed agent is ever sent, even though the publisher tracks the union.
      expect(Object.keys(d.agents?.changed ?? {}).every((k) => k === id)).toBe(true);
      const server = pub.state();
      expect(mirror.state).toEqual({ ...server, agents: pick(server.agents, mine), jobs: pick(server.jobs, mine) });
    }
    // The unfiltered stream (stdout, file) carries the agents some client watches, consistently.
    const fileMirror = new TelemetryMirror();
    for (const p of sink.payloads) expect(fileMirror.apply(p)).not.toBe("gap");
    expect(Object.keys(fileMirror.state!.agents as object)).toEqual([id]);
    expect(fileMirror.state).toEqual(pub.state());
    pub.unwatch([id]);
    w.step();
    expect(pub.lastDiff!.agents?.removed).toEqual([id]);
  });

  it("lists only towns off baseline, with a summary, beyond max_towns_listed towns", () => {
    const w = makeWorld({ world: { towns: 80, agents_per_town: 1, grid_size: [12, 12] }, telemetry: { stream: { max_towns_listed: 16 } } });
    w.townColumns(TownEconomy).price_multiplier[7] = 2;
    w.townColumns(TownEconomy).power[9] = 0;
    const snap = pubOf(w).snapshot("request");
    expect(snap.economy.towns_listed).toBe("off_baseline");
    expect(snap.economy.towns.map((t) => t.town)).toEqual([7, 9]);
    expect(snap.economy.summary).toMatchObject({ towns: 80, price_multiplier_max: 2, towns_without_power: 1, towns_without_water: 0 });
    expect(snap.aggregates.by_town).toBeUndefined();
    expect(SnapshotPayload.safeParse(snap).success).toBe(true);
  });

  it("carries every agent and object of a subscribed town, to the clients that subscribed to it only", () => {
    const w = makeWorld({ world: { towns: 3, agents_per_town: 3 }, telemetry: { stream: { aggregate_above_agents: 4 } } });
    const pub = pubOf(w);
    const sink = memorySink();
    pub.addSink(sink);
    w.step();
    expect(pub.mode).toBe("aggregate");
    const townOf = (id: string) => w.columns(Town).id[w.agentEid(id)];
    const inTown1 = Array.from(w.agents, (e) => w.agentName(e)).filter((id) => townOf(id) === 1);
    expect(inTown1.length).toBe(3);
    expect(pub.watchTowns([1, 7])).toEqual([7]);
    const none = new Set<string>();
    const towns = new Set([1]);
    const snap = pub.snapshot("subscribe", none, towns);
    expect(Object.keys(snap.agents).sort()).toEqual([...inTown1].sort());
    expect(Object.keys(snap.jobs).sort()).toEqual([...inTown1].sort());
    const objects = Object.values(snap.objects);
    expect(objects.length).toBeGreaterThan(0);
    expect(objects.every((o) => o.town === 1)).toBe(true);
    expect(snap.subscribed_towns).toEqual([1]);
    // A client that applies its filtered diffs holds the server's town-1 state at every tick.
    const mirror = new TelemetryMirror();
    mirror.apply(snap);
    const other = new TelemetryMirror();
    other.apply(pub.snapshot("subscribe", none));
    for (let t = 0; t < 30; t++) {
      w.step();
      const d = pub.lastDiff!;
      expect(mirror.apply(JSON.parse(JSON.stringify(pub.filterDiff(d, none, towns))))).toBe("applied");
      other.apply(JSON.parse(JSON.stringify(pub.filterDiff(d, none))));
      const server = pub.state() as { agents: Record<string, { town: number }>; objects: Record<string, { town: number }> };
      const mine = mirror.state as typeof server;
      expect(Object.values(mine.agents).every((a) => a.town === 1)).toBe(true);
      expect(mine.agents).toEqual(Object.fromEntries(Object.entries(server.agents).filter(([, a]) => a.town === 1)));
      expect(mine.objects).toEqual(Object.fromEntries(Object.entries(server.objects).filter(([, o]) => o.town === 1)));
      // A client without the subscription gets no agents and no objects.
      expect(other.state!.agents).toEqual({});
      expect(other.state!.objects).toEqual({});
    }
    // The unfiltered stream stays consistent too.
    const fileMirror = new TelemetryMirror();
    for (const p of sink.payloads) expect(fileMirror.apply(p)).not.toBe("gap");
    expect(fileMirror.state).toEqual(pub.state());
    pub.unwatchTowns([1]);
    w.step();
    expect(pub.lastDiff!.agents?.removed?.length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(pub.state().objects as object)).toEqual([]);
  });

  it("publishes the layout, figures per town when asked, and the watched agents' rewards by component", () => {
    const w = makeWorld({ world: { towns: 2, agents_per_town: 3 } });
    const pub = pubOf(w);
    pub.addSink(memorySink());
    pub.townOverview = true;
    const id = w.agentName(w.agents[0]);
    pub.watch([id]);
    w.step();
    const snap = pub.snapshot("request");
    expect(snap.layout).toMatchObject({ grid: { width: expect.any(Number), height: expect.any(Number) } });
    expect(snap.towns_overview).toMatchObject({ agents: [3, 3] });
    expect(snap.towns_overview!.hunger).toHaveLength(2);
    expect(Object.keys(snap.reward_breakdown ?? {})).toEqual([id]);
    expect(snap.reward_breakdown![id]).toMatchObject({ total: expect.any(Number), needs_penalty: expect.any(Number), wage: expect.any(Number) });
    expect(SnapshotPayload.safeParse(snap).success).toBe(true);
    pub.unwatch([id]);
    w.step();
    expect(pub.lastDiff!.removed).toContain("reward_breakdown");
  });

  it("switches mode with a snapshot when the population crosses the threshold", () => {
    const w = world({ telemetry: { stream: { aggregate_above_agents: 6 } }, rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } }, 6);
    const sink = memorySink();
    pubOf(w).addSink(sink);
    w.step();
    w.spawnAgent(0, { name: "seventh" });
    w.step();
    const p = sink.payloads.at(-1)!;
    expect(p).toMatchObject({ payload_type: "snapshot", reason: "mode", mode: "aggregate" });
  });
});

function pick(m: unknown, ids: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(m as Record<string, unknown>).filter(([k]) => ids.has(k)));
}

describe("privacy mode", () => {
  it("hashes agent ids everywhere: records, events, narrations and employment", () => {
    const w = world({ telemetry: { privacy: { hash_agent_ids: true, salt: "s1" } } }, 4);
    const pub = pubOf(w);
    const sink = memorySink();
    pub.addSink(sink);
    const eid = w.agents[0];
    const name = w.agentName(eid);
    w.columns(Lifecycle).exit_reason[eid] = ExitReason.Console;
    w.run(3);
    const text = sink.payloads.map((p) => JSON.stringify(p)).join("\n");
    expect(text).not.toMatch(/"agent_\d+"/);
    const hashed = pub.publicId(name);
    expect(hashed).toMatch(/^anon_[0-9a-f]{16}$/);
    expect(text).toContain(hashed);
    // Stable within a run, different with another salt.
    const other = makeWorld({ world: { agents_per_town: 4 }, telemetry: { privacy: { hash_agent_ids: true, salt: "s2" } } });
    expect(pubOf(other).publicId(name)).not.toBe(hashed);
    // Subscriptions take hashed ids.
    const live = w.agentName(w.agents[0]);
    expect(pub.agentByPublicId(pub.publicId(live))).toBe(w.agents[0]);
  });
});

describe("narrations", () => {
  const cfg = (over: Record<string, unknown> = {}) => TelemetrySection.parse({ narration: over }).narration;

  it("applies the global cooldown, per-category cooldowns, the dedupe window and the window limit", () => {
    const lim = new NarrationLimiter(cfg({ global_cooldown_ticks: 5, category_cooldown_ticks: { social: 20 }, dedupe_window_ticks: 50, global_window_ticks: 100, global_window_limit: 3 }));
    const say = (t: number, cat: string, msg: string) => {
      lim.prune(t);
      return lim.allow(t, cat, msg, false);
    };
    expect(say(0, "social", "a")).toBe(true);
    expect(say(2, "lifecycle", "b")).toBe(false); // global cooldown
    expect(say(6, "social", "c")).toBe(false); // social's own cooldown (20)
    expect(say(6, "lifecycle", "a")).toBe(false); // same line within the dedupe window
    expect(say(6, "lifecycle", "d")).toBe(true);
    expect(say(30, "social", "e")).toBe(true);
    expect(say(40, "lifecycle", "f")).toBe(false); // 3 per 100 ticks
    expect(say(101, "lifecycle", "f")).toBe(true);
    expect(lim.suppressed).toEqual({ cooldown: 1, category: 1, dedupe: 1, window: 1 });
  });

  it("lets priority lines and priority categories through", () => {
    const lim = new NarrationLimiter(cfg({ global_cooldown_ticks: 100, priority_categories: ["perturbation"] }));
    expect(lim.allow(0, "social", "x", false)).toBe(true);
    expect(lim.allow(1, "social", "y", false)).toBe(false);
    expect(lim.allow(1, "perturbation", "blackout", false)).toBe(true);
    expect(lim.allow(2, "lifecycle", "faint", true)).toBe(true);
  });
});

describe("sinks", () => {
  it("rotates the NDJSON file by size, keeps `keep` files, and starts each file with a snapshot", () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-tel-"));
    dirs.push(dir);
    const w = world({}, 4);
    const pub = pubOf(w);
    const path = join(dir, "telemetry.ndjson");
    const sink = new FileSink(pub, path, { rotateBytes: 20_000, keep: 2 });
    pub.addSink(sink);
    w.run(120);
    sink.close();
    expect(sink.rotations).toBeGreaterThan(2);
    expect(readdirSync(dir).sort()).toEqual(["telemetry.ndjson", "telemetry.ndjson.1", "telemetry.ndjson.2"]);
    for (const f of readdirSync(dir)) {
      const lines = readFileSync(join(dir, f), "utf8").trim().split("\n").map((l) => JSON.parse(l) as TelemetryPayloadT);
      expect(lines[0].payload_type).toBe("snapshot");
      // Each file replays on its own.
      const m = new TelemetryMirror();
      for (const p of lines) expect(m.apply(p)).not.toBe("gap");
      if (f === "telemetry.ndjson") expect(m.state).toEqual(pub.state());
    }
  });

  it("builds the sink a --telemetry spec or the config's transport names", () => {
    const dir = mkdtempSync(join(tmpdir(), "townlet-tel-"));
    dirs.push(dir);
    const pub = pubOf(world({}, 2));
    expect(createTransportSink(pub, "stdout")).toBeInstanceOf(StreamSink);
    const f = createTransportSink(pub, `file:${join(dir, "t.ndjson")}`);
    expect(f).toBeInstanceOf(FileSink);
    (f as FileSink).close();
    expect(() => createTransportSink(pub, "tcp:1.2.3.4")).toThrow(/expected "stdout" or "file:PATH"/);
    expect(createTransportSink(pub)).toBeInstanceOf(StreamSink);
    const filed = pubOf(world({ telemetry: { transport: { type: "file", file_path: join(dir, "c.ndjson") } } }, 2));
    const g = createTransportSink(filed);
    expect(g).toBeInstanceOf(FileSink);
    (g as FileSink).close();
  });

  it("stops writing diffs to a stalled stream, counts them, and writes one snapshot once it drained", async () => {
    const w = world({}, 4);
    const pub = pubOf(w);
    // A writable that holds every write until released: the backlog is what the sink counts.
    const held: (() => void)[] = [];
    const lines: string[] = [];
    const stream = {
      write(chunk: string, cb: () => void) {
        lines.push(chunk);
        held.push(cb);
        return false;
      },
    } as unknown as Writable;
    const sink = new StreamSink(pub, stream, 10_000);
    pub.addSink(sink);
    w.run(200);
    expect(sink.dropped).toBeGreaterThan(100);
    const sent = lines.length;
    const bytesHeld = lines.reduce((n, l) => n + Buffer.byteLength(l), 0);
    expect(bytesHeld).toBeLessThan(10_000 + 20_000);
    for (const cb of held.splice(0)) cb();
    await new Promise((r) => setImmediate(r));
    const after = lines.slice(sent).map((l) => JSON.parse(l) as TelemetryPayloadT);
    expect(after[0]).toMatchObject({ payload_type: "snapshot", reason: "stale", dropped: { payloads: sink.dropped } });
  });
});
