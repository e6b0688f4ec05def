// The telemetry publisher (the telemetry plug-in's resource): a dispatcher. Each tick, in the
// telemetry phase, it asks every plug-in for its part of the stream (their `telemetry` hooks:
// sections and record fields, dispatch.ts), reads the messages as events (events.ts), updates its
// copy of the published state and hands sinks one payload: a snapshot first, then diffs keyed by
// stable agent id. Above telemetry.stream.aggregate_above_agents live agents it keeps aggregates
// plus the agents and towns clients subscribed to. It never writes to the world. Idle (no sink)
// it costs almost nothing.
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import type { TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { Obj } from "../../components/objects.ts";
import type { TelemetryConfig } from "./config.ts";
import { DEFAULT_NARRATORS, NarrationLimiter, narrate, type Narrator } from "./narration.ts";
import { collectEvents } from "./events.ts";
import { AgentIds } from "./identities.ts";
import { Subscriptions } from "./subscriptions.ts";
import { consoleSnapshotOf, dropSections, filterDiff, pickCollections, putSection, TRANSIENT_KEYS, type Collection, type PublishedCollections, type SectionCopies } from "./views.ts";
import { collectParts, diffCollection, eventFieldsOf, mergeSections, objectRecords, once, ownPart, layoutOf, RecordBuilder } from "./dispatch.ts";
import { SCHEMA_VERSION, type DiffPayloadT, type NarrationT, type SnapshotPayloadT, type SnapshotReason, type TelemetryEventT } from "./schema.ts";

/** What a sink receives after every publish: a diff, or a snapshot (first payload, mode change). */
export interface Published {
  payload: SnapshotPayloadT | DiffPayloadT;
  /** The payload as one JSON line (serialised once, on first use). */
  line(): string;
}

/** Where payloads go: stdout, a file, the WebSocket clients. */
export interface TelemetrySink {
  deliver(p: Published): void;
  close?(): void | Promise<void>;
}

type Rec = Record<string, unknown>;

type Parts = { plugin: string; part: TelemetryPart }[];

export { TRANSIENT_KEYS } from "./views.ts";

export class TelemetryPublisher {
  /** Narration lines by event name; `perturbation_*` events have a generic narrator. */
  readonly narrators: Record<string, Narrator> = { ...DEFAULT_NARRATORS };
  readonly limiter: NarrationLimiter;

  /** State version; 0 = nothing published yet. */
  seq = 0;
  /** Tick of the published state. */
  tick = 0;
  mode: "full" | "aggregate" = "full";
  /** Copy of the published state: top-level sections (with their JSON) and the collections. */
  private sections: SectionCopies = new Map();
  private coll: Record<Collection, Map<string, Rec>> = { agents: new Map(), jobs: new Map(), objects: new Map() };
  private extraSections = new Map<string, (world: World) => unknown>();
  private sinks: TelemetrySink[] = [];
  private keepState = 0;
  /** The last diff published (for sinks that filter it per client). */
  lastDiff: DiffPayloadT | undefined;
  private lastEvents: TelemetryEventT[] = [];
  private lastNarrations: NarrationT[] = [];

  private readonly ids: AgentIds;
  /** What aggregate-mode clients subscribed to (agents, towns) and the records read for them. */
  private readonly subs: Subscriptions;
  /** Town of each agent or object that left the published state at the last publish (per-client filters need it). */
  private goneTown = { agents: new Map<string, number>(), objects: new Map<string, number>() };
  private layoutCache: Rec | undefined;
  /**
   * Publish `towns_overview` (figures per town) each tick. Off by default: at 1,000 towns it adds
   * ~26 KB a tick to every NDJSON file; townlet serve turns it on for the observer's overview.
   */
  townOverview = false;
  /** Events left out by max_events_per_tick since the start. */
  eventsDropped = 0;
  /** True when ticks ran while no sink listened: the copy of the state is out of date. */
  private behind = false;

  constructor(
    readonly world: World,
    readonly cfg: TelemetryConfig,
    readonly configId: string,
  ) {
    this.limiter = new NarrationLimiter(cfg.narration);
    this.ids = new AgentIds(world, cfg);
    this.subs = new Subscriptions(world, this.ids, this.coll);
  }

  // ---- wiring ------------------------------------------------------------------------------------

  /** Adds a top-level section computed each tick (a plug-in's telemetry field). */
  addSection(name: string, fn: (world: World) => unknown): void {
    if (TRANSIENT_KEYS.has(name)) throw new Error(`telemetry section "${name}" is reserved`);
    if (this.extraSections.has(name)) throw new Error(`telemetry section "${name}" is added twice`);
    this.extraSections.set(name, fn);
  }

  /** Attaches a sink; it gets a snapshot of the current state at once, then every publish. */
  addSink(sink: TelemetrySink, reason: SnapshotReason = "initial"): () => void {
    this.sinks.push(sink);
    this.ensureState();
    const snap = this.snapshot(reason);
    sink.deliver({ payload: snap, line: once(() => JSON.stringify(snap)) });
    return () => {
      const i = this.sinks.indexOf(sink);
      if (i >= 0) this.sinks.splice(i, 1);
    };
  }

  /** Keeps the state current even without sinks (a WebSocket server with no clients yet). */
  retain(): () => void {
    this.keepState++;
    let done = false;
    return () => {
      if (!done) this.keepState--;
      done = true;
    };
  }

  get active(): boolean {
    return this.sinks.length > 0 || this.keepState > 0;
  }

  /** Closes every sink. */
  async close(): Promise<void> {
    const sinks = this.sinks;
    this.sinks = [];
    for (const s of sinks) await s.close?.();
  }

  // ---- identities --------------------------------------------------------------------------------

  /** The id published for an agent name (a salted hash in privacy mode). */
  publicId(name: string): string {
    return this.ids.publicId(name);
  }

  /** The live agent entity behind a published id, or -1. */
  agentByPublicId(id: string): number {
    return this.ids.agentByPublicId(id);
  }

  private objectName(eid: number, O: { key: Int32Array }, townId: Uint32Array): string {
    const id = this.world.text(O.key[eid]);
    return this.world.towns > 1 ? `${id}@${townId[eid]}` : id;
  }

  /** This tick's messages as events (agents named as at the last publish, see eventAgent); `parts` name their fields. */
  private events(tick: number, parts: Parts): TelemetryEventT[] {
    const w = this.world;
    const townId = w.columns(Town).id;
    const O = w.components.isRegistered(Obj) ? w.columns(Obj) : undefined;
    const r = collectEvents(w, this.cfg, tick, {
      agent: (eid, uid) => this.ids.eventAgent(eid, uid),
      object: (eid) => this.objectName(eid, O!, townId),
    }, eventFieldsOf(parts));
    this.eventsDropped += r.dropped;
    return r.events;
  }

  // ---- the plug-ins' parts -----------------------------------------------------------------------

  /** What every plug-in's `telemetry` hook is told for this publish. */
  private options(mode: "full" | "aggregate", kpis: Record<string, unknown>): TelemetryOptions {
    const w = this.world;
    const townId = w.columns(Town).id;
    const O = w.components.isRegistered(Obj) ? w.columns(Obj) : undefined;
    const subs = this.subs;
    return {
      mode,
      maxTownsListed: this.cfg.stream.max_towns_listed,
      townOverview: this.townOverview,
      kpis,
      // Read when a part asks (after this publish's records dropped agents that left).
      get watched() {
        return subs.agentIds();
      },
      publicId: (name) => this.publicId(name),
      agentByPublicId: (id) => this.agentByPublicId(id),
      // Objects' columns are pooled views (engine/component.ts trim): only an object's own rows are its values.
      objectId: (eid) => (O !== undefined && w.has(eid, Obj) ? this.objectName(eid, O, townId) : ""),
    };
  }

  /** Every part: the plug-ins' in plug-in order, then the telemetry plug-in's own. */
  private parts(mode: "full" | "aggregate"): Parts {
    const kpis = this.world.kpis();
    const opts = this.options(mode, kpis);
    this.layoutCache ??= layoutOf(this.world);
    const own = ownPart(this.world, opts, this.extraSections, this.layoutCache);
    return [...collectParts(this.world, opts), { plugin: "telemetry", part: own }];
  }

  /**
   * Rebuilds the state from the world and returns what changed. `events` only inside the
   * telemetry phase (messages are read per phase).
   */
  private refresh(withEvents: boolean): DiffPayloadT {
    const w = this.world;
    const tick = w.tick + (withEvents ? 1 : 0);
    const threshold = this.cfg.stream.aggregate_above_agents;
    const mode = threshold > 0 && w.agents.length > threshold ? "aggregate" : "full";
    // Parts first (their hooks only gather; nothing reads names yet): events name fields with them.
    const parts = this.parts(mode);
    const events = withEvents ? this.events(tick, parts) : [];
    this.ids.refresh();
    const records = new RecordBuilder(parts);

    // Collections: every agent (full) or the watched ones (aggregate).
    const nextAgents = new Map<string, Rec>();
    const nextJobs = new Map<string, Rec>();
    const put = (eid: number) => {
      const id = this.ids.known(eid);
      const { agent, job } = records.build(eid);
      nextAgents.set(id, agent);
      nextJobs.set(id, job);
    };
    if (mode === "full") {
      const agents = w.agents;
      for (let i = 0; i < agents.length; i++) put(agents[i]);
    } else {
      this.subs.selectAgents(put, (id) => nextAgents.has(id));
    }
    const mask = mode === "full" ? undefined : this.subs.townMask();
    const nextObjects = mode === "full" || mask ? objectRecords(parts, mask) : new Map<string, Rec>();

    const diff: DiffPayloadT = {
      schema_version: SCHEMA_VERSION,
      payload_type: "diff",
      tick,
      seq: this.seq + 1,
      config_id: this.configId,
      changes: {},
      removed: [],
      events,
      narrations: [],
    };
    const sections = mergeSections(parts);
    for (const [k, v] of sections) putSection(this.sections, diff, k, v);
    dropSections(this.sections, diff, (k) => sections.has(k));
    const cd = (name: Collection, next: Map<string, Rec>) => {
      const d = diffCollection(this.coll[name], next);
      if (name !== "jobs") {
        const gone = this.goneTown[name];
        gone.clear();
        for (const id of d?.removed ?? []) {
          const t = this.coll[name].get(id)?.town;
          if (typeof t === "number") gone.set(id, t);
        }
      }
      this.coll[name] = next;
      if (d) (diff as Rec)[name] = d;
    };
    cd("agents", nextAgents);
    cd("jobs", nextJobs);
    cd("objects", nextObjects);
    this.subs.clearEarly();
    if (this.eventsDropped > 0 || events.length > 0) {
      diff.narrations = narrate(tick, events, this.narrators, this.limiter);
    }
    this.seq = diff.seq;
    this.tick = tick;
    const modeChanged = mode !== this.mode;
    this.mode = mode;
    this.lastDiff = diff;
    this.lastEvents = events;
    this.lastNarrations = diff.narrations;
    if (modeChanged) (diff as Rec)["__mode_changed"] = true;
    return diff;
  }

  /**
   * Builds the state if nothing was published yet, or if ticks ran while nobody listened (a sink
   * or client arrived between ticks). The state version moves on in the second case.
   */
  ensureState(): void {
    if (this.seq === 0 || this.behind) {
      this.behind = false;
      this.refresh(false);
    }
  }

  /** The telemetry phase: refresh and hand the diff (or a snapshot) to every sink. */
  publish(): void {
    if (!this.active) {
      if (this.seq > 0) this.behind = true;
      return;
    }
    // Ticks that ran unpublished are spanned by this diff (it compares whole states).
    this.behind = false;
    const first = this.seq === 0;
    const diff = this.refresh(true);
    this.emit(diff, first);
  }

  /**
   * Publishes between ticks (a paused loop applied console commands): the state version moves
   * on, the tick stays. Events are left for the next tick.
   */
  publishNow(): void {
    if (!this.active) return;
    const first = this.seq === 0;
    const diff = this.refresh(false);
    this.emit(diff, first);
  }

  private emit(diff: DiffPayloadT, first: boolean): void {
    const modeChanged = (diff as Rec)["__mode_changed"] === true;
    delete (diff as Rec)["__mode_changed"];
    let p: Published;
    if (first || modeChanged) {
      const snap = this.snapshot(first ? "initial" : "mode");
      snap.events = diff.events;
      snap.narrations = diff.narrations;
      p = { payload: snap, line: once(() => JSON.stringify(snap)) };
    } else {
      p = { payload: diff, line: once(() => JSON.stringify(diff)) };
    }
    for (const s of [...this.sinks]) s.deliver(p);
  }

  // ---- views for clients -------------------------------------------------------------------------

  /**
   * A snapshot of the published state. `subs` and `towns`: in aggregate mode, the agents and the
   * towns (their agents and objects) this client sees (subs null = everything the publisher keeps).
   */
  snapshot(reason: SnapshotReason, subs: ReadonlySet<string> | null = null, towns?: ReadonlySet<number>): SnapshotPayloadT {
    this.ensureState();
    const snap: Rec = {
      schema_version: SCHEMA_VERSION,
      payload_type: "snapshot",
      tick: this.tick,
      seq: this.seq,
      config_id: this.configId,
      reason,
    };
    for (const [k, v] of this.sections) snap[k] = v.value;
    const seen = pickCollections(this.published(), subs === null || this.mode === "full" ? null : subs, towns);
    snap.agents = seen.agents;
    snap.jobs = seen.jobs;
    snap.objects = seen.objects;
    if (this.mode === "aggregate" && subs !== null) snap.subscribed = [...subs].sort();
    if (this.mode === "aggregate" && subs !== null && towns?.size) snap.subscribed_towns = [...towns].sort((a, b) => a - b);
    snap.events = reason === "initial" ? this.lastEvents : [];
    snap.narrations = reason === "initial" ? this.lastNarrations : [];
    return snap as SnapshotPayloadT;
  }

  /** The diff as one aggregate-mode client sees it (its subscriptions only: agents, and towns). */
  filterDiff(diff: DiffPayloadT, subs: ReadonlySet<string>, towns?: ReadonlySet<number>): DiffPayloadT {
    return this.mode === "full" ? diff : filterDiff(this.published(), diff, subs, towns);
  }

  private published(): PublishedCollections {
    return { coll: this.coll, goneTown: this.goneTown, early: this.subs.early, earlyObjects: this.subs.earlyObjects };
  }

  /** The parts to read subscribed records with now (aggregate mode only; full mode publishes every record anyway). */
  private reader(): (() => Parts) | undefined {
    return this.mode === "aggregate" ? () => this.parts(this.mode) : undefined;
  }

  /** Live agents per town (a subscription's cost, checked before it is accepted). */
  agentsPerTown(): Uint32Array {
    const w = this.world;
    const out = new Uint32Array(w.towns);
    const townId = w.columns(Town).id;
    const agents = w.agents;
    for (let i = 0; i < agents.length; i++) out[townId[agents[i]]]++;
    return out;
  }

  /**
   * Adds towns to the watched set: in aggregate mode their agents and objects are published as
   * if each agent were watched. Read now for the snapshot of the client that subscribed (as
   * `watch` does). Returns the towns that do not exist.
   */
  watchTowns(towns: readonly number[]): number[] {
    this.ensureState();
    return this.subs.watchTowns(towns, this.reader());
  }

  unwatchTowns(towns: readonly number[]): void {
    this.subs.unwatchTowns(towns);
  }

  /**
   * Adds agents to the watched set (aggregate mode). Their state is read now for the snapshot
   * of the client that subscribed; the published state takes them in at the next publish (a
   * diff that spawns them), so every other consumer stays consistent. Returns ids that name
   * no live agent.
   */
  watch(ids: readonly string[]): string[] {
    this.ensureState();
    return this.subs.watch(ids, this.reader());
  }

  unwatch(ids: readonly string[]): void {
    this.subs.unwatch(ids);
  }

  /** The published copy of one collection (tests and tools; do not modify). */
  collection(name: Collection): ReadonlyMap<string, Rec> {
    return this.coll[name];
  }

  /** The published state as a client rebuilds it: sections and collections, no header or events. */
  state(): Rec {
    this.ensureState();
    const out: Rec = {};
    for (const [k, v] of this.sections) out[k] = v.value;
    for (const name of ["agents", "jobs", "objects"] as const) out[name] = Object.fromEntries(this.coll[name]);
    return out;
  }

  /**
   * The console's `telemetry_snapshot`: per-agent job and economy payloads and the employment
   * queue, read from the world now (every agent, or `agents`), in the original's shapes.
   */
  consoleSnapshot(agents?: readonly string[]): Rec {
    return consoleSnapshotOf(this.world, this.parts("full"), this, this.configId, agents);
  }
}
