// The telemetry stream of a sharded world served by `townlet serve` (tools/serve-shards.ts): each
// block publishes its own stream in its own thread (a snapshot, then one diff per tick, named
// globally: tools/serve-shard-ids.ts); this main-thread merge keeps a mirror of each block's
// state and publishes one stream that looks like a one-block world's: the blocks' collection
// diffs joined (their agent and object ids never collide), their events in block order (the
// world's narrations made here from them), and each section that changed in some block merged
// over every block (per-town lists joined in town order, counts added, means weighted by live
// agents: mergeValues; the keys that rule gets wrong set by the one-block rules:
// tools/serve-shard-exact.ts). The WebSocket server streams from it as from a TelemetryPublisher (StreamSource).
//
// Aggregate mode (more live agents than telemetry.stream.aggregate_above_agents, counted over the
// whole world) is decided here and passed on to the blocks (onMode), which then publish sections
// and the agents and towns clients subscribed to only: subscriptions go to the block of the
// agent or town (onWatch, onWatchTowns). The stream keeps the union of what blocks publish and
// filters it per client as a one-block publisher does (views.ts pickCollections, filterDiff).
// Unlike a one-block world, an agent or town just subscribed to arrives with the block's next
// payload (published at once by the block), not in the subscriber's snapshot, unless another
// client already watched it; an agent_<uid> that does not exist is not reported as unknown.
import { mergeValues } from "../engine/shard-blocks.ts";
import { SCHEMA_VERSION, TelemetryMirror, type Published, type StreamSource, type TelemetrySink } from "../systems/telemetry/index.ts";
import { once } from "../systems/telemetry/dispatch.ts";
import type { DiffPayloadT, NarrationT, SnapshotPayloadT, SnapshotReason, TelemetryEventT } from "../systems/telemetry/index.ts";
import type { TelemetryConfig } from "../systems/telemetry/config.ts";
import type { BlockPayloads } from "./serve-shard-host.ts";
import { dropSections, filterDiff, pickCollections, putSection, type PublishedCollections, type SectionCopies } from "../systems/telemetry/views.ts";
import { townToLocal, type BlockFrame } from "./serve-shard-ids.ts";
import { ExactMerge } from "./serve-shard-exact.ts";

type Rec = Record<string, unknown>;
type Collection = "agents" | "jobs" | "objects";
const COLLECTIONS: readonly Collection[] = ["agents", "jobs", "objects"];
/** Sections every block publishes alike (its config): block 0's is the world's. */
const SAME_IN_EVERY_BLOCK = new Set(["mode", "layout"]);

export class ShardStream implements StreamSource {
  seq = 0;
  mode: "full" | "aggregate" = "full";
  /** What the server reads of the world: the tick published last, the towns. */
  readonly world: { tick: number; readonly towns: number };
  /** Bytes of block payloads received since the start (structured-clone size estimated as their JSON). */
  bytesIn = 0;
  private readonly mirrors: TelemetryMirror[];
  private sections: SectionCopies = new Map();
  private extra = new Map<string, () => unknown>();
  private sinks: TelemetrySink[] = [];
  private lastEvents: TelemetryEventT[] = [];
  /**
   * Events left out of payloads since start (stream.max_events_per_tick): what the blocks left out
   * of theirs, and what the merged payload left out past the same limit (blocks in order).
   */
  eventsDropped = 0;
  private lastNarrations: NarrationT[] = [];
  /** Count payload bytes (JSON length) as they arrive: off unless measuring (it serialises every payload). */
  measure = false;
  /** Aggregate mode above this many live agents (0: never), read from the config at start. */
  private readonly threshold: number;
  /** Every block's published collections joined (records shared with the mirrors), and what client filters need. */
  private pub: PublishedCollections = { coll: { agents: new Map(), jobs: new Map(), objects: new Map() }, goneTown: { agents: new Map(), objects: new Map() }, early: new Map(), earlyObjects: new Map() };
  /** Block of each published agent. */
  private agentBlocks = new Map<string, number>();
  /** Per block, payloads that arrived ahead of their turn (inOrder). */
  private held: BlockPayloads[] = [];
  private watched = new Map<string, number>();
  private watchedTowns = new Map<number, number>();
  /** Told the agents clients start or stop watching, by block (aggregate mode publishes them; reward_breakdown follows them in either mode). */
  onWatch: ((block: number, ids: string[], on: boolean) => void) | undefined;
  /** Told the towns clients start or stop watching, by block, as the block's own towns. */
  onWatchTowns: ((block: number, towns: number[], on: boolean) => void) | undefined;
  /** Told when the world's mode changes (every block then publishes in it). */
  onMode: ((mode: "full" | "aggregate") => void) | undefined;
  /** The block of an agent id the blocks may not have published (agent_<uid> by uid range), or -1. */
  routeAgent: (id: string) => number = () => -1;
  private readonly frames: readonly BlockFrame[];
  /** The keys the generic merge gets wrong, and the world's narrations (tools/serve-shard-exact.ts). */
  private readonly exact: ExactMerge;

  constructor(
    readonly cfg: TelemetryConfig,
    readonly configId: string,
    blocks: number,
    towns: number,
    frames: readonly BlockFrame[] = [],
  ) {
    this.world = { tick: 0, towns };
    this.threshold = cfg.stream.aggregate_above_agents;
    this.frames = frames;
    this.exact = new ExactMerge(cfg, towns);
    this.mirrors = Array.from({ length: blocks }, () => new TelemetryMirror(() => {}, { own: true }));
  }

  /** A top-level section computed by the main thread at each publish (the serve loop's state). */
  addSection(name: string, fn: () => unknown): void {
    this.extra.set(name, fn);
  }

  /** The block that publishes agent `id` (by the published id), or -1. */
  blockOfAgent(id: string): number {
    return this.agentBlocks.get(id) ?? -1;
  }

  /** The mode the world's live agents call for. */
  wantedMode(agents = this.agents): "full" | "aggregate" {
    return this.threshold > 0 && agents > this.threshold ? "aggregate" : "full";
  }

  /** Live agents per block, as last published (the weights of merged means). */
  private weights(): number[] {
    return this.mirrors.map((m) => {
      const k = m.state?.kpis as Rec | undefined;
      return typeof k?.alive_agents === "number" ? k.alive_agents : Object.keys((m.state?.agents as Rec | undefined) ?? {}).length;
    });
  }

  /** Live agents of the world, as last published. */
  get agents(): number {
    return this.weights().reduce((a, b) => a + b, 0);
  }

  /** The world's KPIs, merged (GET /metrics). */
  kpis(): Record<string, unknown> {
    return (this.sections.get("kpis")?.value as Record<string, unknown> | undefined) ?? {};
  }

  private merged(name: string, weights: number[]): unknown {
    if (name === "towns") return this.world.towns;
    if (name === "mode") return this.sections.get("mode")?.value ?? "full";
    const values = this.mirrors.map((m) => m.state?.[name]);
    if (SAME_IN_EVERY_BLOCK.has(name)) return values.find((v) => v !== undefined);
    const towns = this.mirrors.map((m) => (typeof m.state?.towns === "number" ? m.state.towns : 0));
    return this.exact.section(name, mergeValues(values, weights), values, towns, weights);
  }

  /** Section names in publish order: block 0's (then any other block's), then the main thread's. */
  private sectionNames(): string[] {
    const names: string[] = [];
    for (const m of this.mirrors) for (const k of Object.keys(m.state ?? {})) if (!COLLECTIONS.includes(k as Collection) && !names.includes(k)) names.push(k);
    for (const k of this.extra.keys()) if (!names.includes(k)) names.push(k);
    return names;
  }

  /**
   * Takes what the blocks published (one list per block, in block order; undefined or empty: the
   * block published nothing) and publishes the merged payload: a diff, or a snapshot when this is
   * the first publish or a block sent a snapshot (its mode changed). `tick`: the world's tick.
   */
  ingest(perBlock: readonly (BlockPayloads | undefined)[], tick: number): void {
    let snapshotReason: SnapshotReason | undefined = this.seq === 0 ? "initial" : undefined;
    const changed = new Set<string>();
    const coll: Record<Collection, { spawned?: Rec; changed?: Rec; removed?: string[] }> = { agents: {}, jobs: {}, objects: {} };
    const events: TelemetryEventT[] = [];
    let rebuild = false;
    this.pub.goneTown.agents.clear();
    this.pub.goneTown.objects.clear();
    for (let b = 0; b < this.mirrors.length; b++) {
      for (const p of this.inOrder(b, perBlock[b])) {
        if (this.measure) this.bytesIn += JSON.stringify(p).length;
        if (p.payload_type === "diff") this.forget(p);
        this.mirrors[b].apply(p);
        if (p.payload_type === "snapshot") {
          snapshotReason ??= "mode";
          rebuild = true;
          for (const k of Object.keys(this.mirrors[b].state ?? {})) changed.add(k);
        } else {
          this.remember(b, p);
          for (const k of Object.keys(p.changes)) changed.add(k);
          for (const k of p.removed) changed.add(k);
          for (const name of COLLECTIONS) {
            const d = p[name];
            if (!d) continue;
            const into = coll[name];
            if (d.spawned) Object.assign((into.spawned ??= {}), d.spawned);
            if (d.changed) Object.assign((into.changed ??= {}), d.changed);
            if (d.removed) (into.removed ??= []).push(...d.removed);
          }
        }
        events.push(...(p.events as TelemetryEventT[]));
        this.eventsDropped += p.dropped?.events ?? 0;
      }
    }
    const limit = this.cfg.stream.max_events_per_tick;
    if (events.length > limit) {
      this.eventsDropped += events.length - limit;
      events.length = limit;
    }
    // The world's narrations, from the merged events (the blocks' own, each limited alone, are dropped).
    const narrations = this.exact.narrations(tick, events);
    if (rebuild) this.rebuild();
    this.world.tick = tick;
    const was = this.mode;
    const diff = this.refresh(changed, snapshotReason !== undefined, tick, events, narrations);
    if (this.mode !== was) {
      snapshotReason ??= "mode";
      this.onMode?.(this.mode);
    }
    for (const name of COLLECTIONS) {
      const c = coll[name];
      if (c.spawned || c.changed || c.removed) (diff as Rec)[name] = c;
    }
    this.emit(diff, snapshotReason);
  }

  /**
   * Block `b`'s payloads to apply now, in its seq order: those that follow on from its mirror. A
   * payload that came ahead of one still on its way (a subscription's, answered while a tick's
   * report was in flight from another thread) waits for it.
   */
  private inOrder(b: number, fresh: BlockPayloads | undefined): BlockPayloads {
    const pool = [...(this.held[b] ?? []), ...(fresh ?? [])].sort((x, y) => x.seq - y.seq);
    const m = this.mirrors[b];
    const out: BlockPayloads = [];
    let seq = m.state === undefined ? -1 : m.seq;
    const keep: BlockPayloads = [];
    for (const p of pool) {
      if (seq >= 0 && p.seq <= seq) continue;
      if (p.seq === seq + 1 || (p.payload_type === "snapshot" && (seq < 0 || p.seq > seq))) {
        out.push(p);
        seq = p.seq;
      } else keep.push(p);
    }
    this.held[b] = keep;
    return out;
  }

  /** Before a block's diff: what it removes leaves the joined collections (with its town, for client filters). */
  private forget(p: DiffPayloadT): void {
    for (const name of COLLECTIONS) {
      for (const id of p[name]?.removed ?? []) {
        const t = this.pub.coll[name].get(id)?.town;
        if (name !== "jobs" && typeof t === "number") this.pub.goneTown[name].set(id, t);
        this.pub.coll[name].delete(id);
        if (name === "agents") this.agentBlocks.delete(id);
      }
    }
  }

  /** After block `b`'s diff: what it spawned or changed, as the block's mirror now holds it. */
  private remember(b: number, p: DiffPayloadT): void {
    const st = this.mirrors[b].state!;
    for (const name of COLLECTIONS) {
      const d = p[name];
      if (!d) continue;
      const recs = st[name] as Record<string, Rec>;
      for (const part of [d.spawned, d.changed]) {
        if (!part) continue;
        for (const id of Object.keys(part)) {
          this.pub.coll[name].set(id, recs[id]);
          if (name === "agents") this.agentBlocks.set(id, b);
        }
      }
    }
  }

  /** The joined collections rebuilt from every mirror (after a block's snapshot). */
  private rebuild(): void {
    for (const name of COLLECTIONS) this.pub.coll[name].clear();
    this.agentBlocks.clear();
    this.mirrors.forEach((m, b) => {
      for (const name of COLLECTIONS) {
        for (const [id, r] of Object.entries((m.state?.[name] as Record<string, Rec> | undefined) ?? {})) {
          this.pub.coll[name].set(id, r);
          if (name === "agents") this.agentBlocks.set(id, b);
        }
      }
    });
  }

  /** Publishes between ticks with nothing from the blocks (the loop's state changed). */
  publishNow(): void {
    this.ingest([], this.world.tick);
  }

  private refresh(changed: Set<string>, all: boolean, tick: number, events: TelemetryEventT[], narrations: NarrationT[]): DiffPayloadT {
    const diff: DiffPayloadT = {
      schema_version: SCHEMA_VERSION,
      payload_type: "diff",
      tick,
      seq: this.seq + 1,
      config_id: this.configId,
      changes: {},
      removed: [],
      events,
      narrations,
    };
    const weights = this.weights();
    const names = this.sectionNames();
    for (const k of names) {
      if (!all && !changed.has(k) && !this.extra.has(k)) continue;
      putSection(this.sections, diff, k, this.extra.get(k)?.() ?? this.merged(k, weights));
    }
    dropSections(this.sections, diff, (k) => names.includes(k));
    // The world's mode, by its live agents (each block publishes all of its agents here).
    const mode = this.wantedMode();
    if (this.sections.get("mode")?.value !== mode) {
      (diff.changes as Rec).mode = mode;
      this.sections.set("mode", { value: mode, json: JSON.stringify(mode) });
    }
    this.mode = mode;
    this.seq = diff.seq;
    this.lastEvents = events;
    this.lastNarrations = narrations;
    return diff;
  }

  private emit(diff: DiffPayloadT, snapshotReason: SnapshotReason | undefined): void {
    let p: Published;
    if (snapshotReason !== undefined) {
      const snap = this.snapshot(snapshotReason);
      snap.events = diff.events;
      snap.narrations = diff.narrations;
      p = { payload: snap, line: once(() => JSON.stringify(snap)) };
    } else p = { payload: diff, line: once(() => JSON.stringify(diff)) };
    for (const s of [...this.sinks]) s.deliver(p);
  }

  addSink(sink: TelemetrySink, reason: SnapshotReason = "initial"): () => void {
    this.sinks.push(sink);
    const snap = this.snapshot(reason);
    sink.deliver({ payload: snap, line: once(() => JSON.stringify(snap)) });
    return () => {
      const i = this.sinks.indexOf(sink);
      if (i >= 0) this.sinks.splice(i, 1);
    };
  }

  /** Closes every sink. */
  async close(): Promise<void> {
    const sinks = this.sinks;
    this.sinks = [];
    for (const s of sinks) await s.close?.();
  }

  /**
   * The merged state as a snapshot: every agent, job and object of every block, block after block
   * (full mode); in aggregate mode what is published, or what one client sees of it (`subs`, `towns`).
   */
  snapshot(reason: SnapshotReason, subs: ReadonlySet<string> | null = null, towns?: ReadonlySet<number>): SnapshotPayloadT {
    const snap: Rec = { schema_version: SCHEMA_VERSION, payload_type: "snapshot", tick: this.world.tick, seq: this.seq, config_id: this.configId, reason };
    for (const [k, v] of this.sections) snap[k] = v.value;
    if (this.mode === "full") {
      for (const name of COLLECTIONS) {
        const all: Rec = {};
        for (const m of this.mirrors) Object.assign(all, (m.state?.[name] as Rec | undefined) ?? {});
        snap[name] = all;
      }
    } else {
      Object.assign(snap, pickCollections(this.pub, subs, towns));
      if (subs !== null) snap.subscribed = [...subs].sort();
      if (subs !== null && towns?.size) snap.subscribed_towns = [...towns].sort((a, b) => a - b);
    }
    snap.events = reason === "initial" ? this.lastEvents : [];
    snap.narrations = reason === "initial" ? this.lastNarrations : [];
    return snap as SnapshotPayloadT;
  }

  /** The published state as a client rebuilds it (sections and collections). */
  state(): Rec {
    const s = this.snapshot("resync");
    const out: Rec = {};
    for (const [k, v] of Object.entries(s)) if (!["schema_version", "payload_type", "tick", "seq", "config_id", "reason", "events", "narrations"].includes(k)) out[k] = v;
    return out;
  }

  /** The diff as one aggregate-mode client sees it (its agents and towns). */
  filterDiff(diff: DiffPayloadT, subs: ReadonlySet<string>, towns?: ReadonlySet<number>): DiffPayloadT {
    return this.mode === "full" ? diff : filterDiff(this.pub, diff, subs, towns);
  }

  /**
   * Agents clients watch (reference counted), passed on to their blocks. Returns the ids that name
   * no agent: neither published nor agent_<uid> of a block's uids.
   */
  watch(ids: readonly string[]): string[] {
    const unknown: string[] = [];
    const by = new Map<number, string[]>();
    for (const id of ids) {
      const b = this.agentBlocks.get(id) ?? this.routeAgent(id);
      if (b < 0) {
        unknown.push(id);
        continue;
      }
      this.watched.set(id, (this.watched.get(id) ?? 0) + 1);
      by.set(b, [...(by.get(b) ?? []), id]);
    }
    for (const [b, list] of by) this.onWatch?.(b, list, true);
    return unknown;
  }

  unwatch(ids: readonly string[]): void {
    const by = new Map<number, string[]>();
    for (const id of ids) {
      const n = (this.watched.get(id) ?? 0) - 1;
      if (n <= 0) this.watched.delete(id);
      else this.watched.set(id, n);
      const b = this.agentBlocks.get(id) ?? this.routeAgent(id);
      if (b >= 0) by.set(b, [...(by.get(b) ?? []), id]);
    }
    for (const [b, list] of by) this.onWatch?.(b, list, false);
  }

  /** Towns clients watch (aggregate mode: every agent and object of each), passed on to their blocks. Returns the towns that do not exist. */
  watchTowns(towns: readonly number[]): number[] {
    const bad = towns.filter((t) => !Number.isInteger(t) || t < 0 || t >= this.world.towns);
    this.townsTo(
      towns.filter((t) => !bad.includes(t)),
      true,
    );
    return bad;
  }

  unwatchTowns(towns: readonly number[]): void {
    this.townsTo(towns, false);
  }

  private townsTo(towns: readonly number[], on: boolean): void {
    const by = new Map<number, number[]>();
    for (const t of towns) {
      const n = (this.watchedTowns.get(t) ?? 0) + (on ? 1 : -1);
      if (n <= 0) this.watchedTowns.delete(t);
      else this.watchedTowns.set(t, n);
      const local = townToLocal(t, this.frames);
      if (local) by.set(local.block, [...(by.get(local.block) ?? []), local.town]);
    }
    for (const [b, list] of by) this.onWatchTowns?.(b, list, on);
  }

  /** Live agents per town, from the towns_overview section (blocks publish it in either mode). */
  agentsPerTown(): Uint32Array {
    const out = new Uint32Array(this.world.towns);
    const overview = (this.sections.get("towns_overview")?.value as { agents?: number[] } | undefined)?.agents;
    if (overview && overview.length === out.length) {
      out.set(overview);
      return out;
    }
    for (const m of this.mirrors) {
      for (const r of Object.values((m.state?.agents as Record<string, Rec> | undefined) ?? {})) {
        const t = r.town;
        if (typeof t === "number" && t >= 0 && t < out.length) out[t]++;
      }
    }
    return out;
  }
}
