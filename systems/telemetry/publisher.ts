// The telemetry publisher (the telemetry plug-in's resource): a dispatcher. Each tick, in the
// telemetry phase, it asks every plug-in for its part of the stream (their `telemetry` hooks:
// sections and record fields, dispatch.ts), reads the messages as events (events.ts), updates its
// copy of the published state and hands sinks one payload: a snapshot first, then diffs keyed by
// stable agent id. Above telemetry.stream.aggregate_above_agents live agents it keeps aggregates
// plus the agents and towns clients subscribed to. It never writes to the world. Idle (no sink)
// it costs almost nothing.
import { createHash } from "node:crypto";
import type { World } from "../../engine/world.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { agentsPerTown, type TelemetryOptions, type TelemetryPart } from "../../engine/telemetry.ts";
import { Obj } from "../../components/objects.ts";
import { jobTable, ticksPerDay } from "../../components/jobs.ts";
import type { TelemetryConfig } from "./config.ts";
import { DEFAULT_NARRATORS, NarrationLimiter, narrate, type Narrator } from "./narration.ts";
import { collectEvents, MealCounter } from "./events.ts";
import { collectParts, mergeSections, objectRecords, RecordBuilder } from "./dispatch.ts";
import {
  SCHEMA_VERSION,
  type AgentRecordT,
  type DiffPayloadT,
  type JobRecordT,
  type NarrationT,
  type ObjectRecordT,
  type SnapshotPayloadT,
  type SnapshotReason,
  type TelemetryEventT,
} from "./schema.ts";

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

type Collection = "agents" | "jobs" | "objects";
type Rec = Record<string, unknown>;
type CollectionDiff = { spawned?: Record<string, Rec>; changed?: Record<string, Rec>; removed?: string[] };

type Parts = { plugin: string; part: TelemetryPart }[];

/** Keys of a payload that are not state (a client's copy leaves them out). */
export const TRANSIENT_KEYS = new Set([
  "schema_version",
  "payload_type",
  "tick",
  "seq",
  "config_id",
  "reason",
  "events",
  "narrations",
  "dropped",
  "subscribed",
  "subscribed_towns",
  "changes",
  "removed",
  "agents",
  "jobs",
  "objects",
]);

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return false;
}

/** Fields of `next` that differ from `prev` (undefined when none). */
function recordChanges(prev: Rec, next: Rec): Rec | undefined {
  let out: Rec | undefined;
  for (const k in next) {
    if (!sameValue(prev[k], next[k])) (out ??= {})[k] = next[k];
  }
  return out;
}

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
  private sections = new Map<string, { value: unknown; json: string }>();
  private coll: Record<Collection, Map<string, Rec>> = { agents: new Map(), jobs: new Map(), objects: new Map() };
  private extraSections = new Map<string, (world: World) => unknown>();
  private sinks: TelemetrySink[] = [];
  private keepState = 0;
  /** The last diff published (for sinks that filter it per client). */
  lastDiff: DiffPayloadT | undefined;
  private lastEvents: TelemetryEventT[] = [];
  private lastNarrations: NarrationT[] = [];

  // Stable names per entity as of the last publish (events about agents removed since use them).
  private knownUid = new Int32Array(0);
  private knownName: (string | undefined)[] = [];
  private knownList = new Int32Array(0);
  private knownCount = 0;
  private namedUids = new Map<number, string>();
  private hashCache = new Map<string, string>();
  private unhash = new Map<string, string>();
  /** Agents clients subscribed to (aggregate mode), by published id, with a reference count. */
  private watched = new Map<string, number>();
  /** Records of agents watched since the last publish, read when they were subscribed to. */
  private early = new Map<string, { agent: AgentRecordT; job: JobRecordT }>();
  /** Towns clients subscribed to (aggregate mode: every agent and object of the town), with a reference count. */
  private watchedTowns = new Map<number, number>();
  /** Objects of towns watched since the last publish, read when they were subscribed to. */
  private earlyObjects = new Map<string, ObjectRecordT>();
  /** Town of each agent or object that left the published state at the last publish (per-client filters need it). */
  private goneTown = { agents: new Map<string, number>(), objects: new Map<string, number>() };
  private layoutCache: Rec | undefined;
  private readonly meals: MealCounter;
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
    this.meals = new MealCounter(world);
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
    if (!this.cfg.privacy.hash_agent_ids) return name;
    let h = this.hashCache.get(name);
    if (h === undefined) {
      h = "anon_" + createHash("sha256").update(`${this.cfg.privacy.salt}\u0000${name}`).digest("hex").slice(0, 16);
      this.hashCache.set(name, h);
      this.unhash.set(h, name);
    }
    return h;
  }

  /** The live agent entity behind a published id, or -1. */
  agentByPublicId(id: string): number {
    if (!this.cfg.privacy.hash_agent_ids) return this.world.agentEid(id);
    let name = this.unhash.get(id);
    if (name === undefined) {
      // Hash every live agent once (rare: a subscription to an agent not yet seen).
      const agents = this.world.agents;
      for (let i = 0; i < agents.length; i++) this.publicId(this.world.agentName(agents[i]));
      name = this.unhash.get(id);
    }
    return name === undefined ? -1 : this.world.agentEid(name);
  }

  private objectName(eid: number, O: { key: Int32Array }, townId: Uint32Array): string {
    const id = this.world.text(O.key[eid]);
    return this.world.towns > 1 ? `${id}@${townId[eid]}` : id;
  }

  /** Name of an agent entity in an event: the agent it was at the last publish, unless `uid` says otherwise. */
  private eventAgent(eid: number, uid: number | undefined): string | null {
    const w = this.world;
    const alive = w.isAgent(eid);
    const liveUid = alive ? w.columns(Agent).uid[eid] : -1;
    if (uid !== undefined) {
      if (eid < this.knownUid.length && this.knownUid[eid] === uid) return this.publicId(this.knownName[eid]!);
      if (alive && liveUid === uid) return this.publicId(w.agentName(eid));
      return this.publicId(this.namedUids.get(uid) ?? `agent_${uid}`);
    }
    if (eid < this.knownUid.length && this.knownUid[eid] >= 0) return this.publicId(this.knownName[eid]!);
    if (alive) return this.publicId(w.agentName(eid));
    return null;
  }

  /** Refreshes the names known per entity (after the events that may name agents gone since). */
  private refreshNames(): void {
    const w = this.world;
    const agents = w.agents;
    const uid = w.columns(Agent).uid;
    const max = w.maxEntityId() + 1;
    if (this.knownUid.length < max) {
      const g = new Int32Array(Math.max(16, max * 2)).fill(-1);
      g.set(this.knownUid);
      this.knownUid = g;
    }
    // Entities known before and no longer agents: forget them (a merge over two sorted lists).
    let j = 0;
    for (let i = 0; i < this.knownCount; i++) {
      const e = this.knownList[i];
      while (j < agents.length && agents[j] < e) j++;
      if (j < agents.length && agents[j] === e) continue;
      const name = this.knownName[e];
      if (name !== undefined) this.forget(name, this.knownUid[e]);
      this.knownUid[e] = -1;
      this.knownName[e] = undefined;
    }
    for (let i = 0; i < agents.length; i++) {
      const e = agents[i];
      const u = uid[e];
      if (this.knownUid[e] !== u) {
        const old = this.knownName[e];
        if (old !== undefined) this.forget(old, this.knownUid[e]);
        this.knownUid[e] = u;
        const name = w.agentName(e);
        this.knownName[e] = name;
        if (name !== `agent_${u}`) this.namedUids.set(u, name);
      }
    }
    if (this.knownList.length < agents.length) this.knownList = new Int32Array(Math.max(16, agents.length * 2));
    this.knownList.set(agents);
    this.knownCount = agents.length;
  }

  private forget(name: string, uid: number): void {
    const h = this.hashCache.get(name);
    if (h !== undefined) {
      this.hashCache.delete(name);
      this.unhash.delete(h);
    }
    this.namedUids.delete(uid);
  }

  /** This tick's messages as events (agents named as at the last publish, see eventAgent). */
  private events(tick: number): TelemetryEventT[] {
    const w = this.world;
    const townId = w.columns(Town).id;
    const O = w.components.isRegistered(Obj) ? w.columns(Obj) : undefined;
    const r = collectEvents(w, this.cfg, tick, {
      agent: (eid, uid) => this.eventAgent(eid, uid),
      object: (eid) => this.objectName(eid, O!, townId),
    });
    this.eventsDropped += r.dropped;
    return r.events;
  }

  // ---- the plug-ins' parts -----------------------------------------------------------------------

  /** What every plug-in's `telemetry` hook is told for this publish. */
  private options(mode: "full" | "aggregate", kpis: Record<string, unknown>): TelemetryOptions {
    const w = this.world;
    const townId = w.columns(Town).id;
    const O = w.components.isRegistered(Obj) ? w.columns(Obj) : undefined;
    const watched = this.watched;
    return {
      mode,
      maxTownsListed: this.cfg.stream.max_towns_listed,
      townOverview: this.townOverview,
      kpis,
      // Read when a part asks (after this publish's records dropped agents that left).
      get watched() {
        return [...watched.keys()].sort();
      },
      publicId: (name) => this.publicId(name),
      agentByPublicId: (id) => this.agentByPublicId(id),
      objectId: (eid) => this.objectName(eid, O!, townId),
    };
  }

  /** Every part: the plug-ins' in plug-in order, then the telemetry plug-in's own. */
  private parts(mode: "full" | "aggregate"): Parts {
    const kpis = this.world.kpis();
    const opts = this.options(mode, kpis);
    return [...collectParts(this.world, opts), { plugin: "telemetry", part: this.ownPart(opts) }];
  }

  /** The telemetry plug-in's own part: the mode, the towns, the kpis, the layout, agents per town, meals. */
  private ownPart(opts: TelemetryOptions): TelemetryPart {
    const w = this.world;
    const townId = w.columns(Town).id;
    const uid = w.columns(Agent).uid;
    return {
      sections: () => {
        const agents = w.agents;
        const out: Rec = { mode: opts.mode, towns: w.towns, kpis: opts.kpis, layout: this.layout() };
        const byTown = agentsPerTown(w.towns, agents, townId);
        out.aggregates = { agents: agents.length, ...(w.towns <= opts.maxTownsListed ? { by_town: byTown } : {}) };
        if (opts.townOverview) out.towns_overview = { agents: byTown };
        for (const [name, fn] of this.extraSections) {
          const v = fn(w);
          if (v !== undefined) out[name] = v;
        }
        return out;
      },
      agent: (eid, agent, job) => {
        agent.town = townId[eid];
        const [cooked, eaten] = this.meals.meals(eid, uid[eid]);
        job.meals_cooked = cooked;
        job.meals_consumed = eaten;
      },
    };
  }

  /** What does not change during a run: grid size, day length, workplaces (perturbation specs: their plug-in's). */
  private layout(): Rec {
    if (this.layoutCache) return this.layoutCache;
    const w = this.world;
    const settings = w.settings as Partial<World["settings"]>;
    const [width, height] = settings.world?.grid_size ?? [0, 0];
    const jobs: Rec[] = [];
    let perDay: number | null = null;
    try {
      const t = jobTable(w);
      t.names.forEach((job, j) => jobs.push({ job, x: t.x[j], y: t.y[j], start_tick: t.start[j], end_tick: t.end[j] }));
      perDay = ticksPerDay(w);
    } catch {
      // No `jobs` or observations section in this world's settings.
    }
    this.layoutCache = { grid: { width, height }, ticks_per_day: perDay, jobs };
    return this.layoutCache;
  }

  /** Counts meals cooked and eaten per agent (every tick, telemetry or not: cheap). */
  countMeals(): void {
    this.meals.count();
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
    const events = withEvents ? this.events(tick) : [];
    this.refreshNames();
    const parts = this.parts(mode);
    const records = new RecordBuilder(parts);
    const townId = w.columns(Town).id;

    // Collections: every agent (full) or the watched ones (aggregate).
    const nextAgents = new Map<string, Rec>();
    const nextJobs = new Map<string, Rec>();
    const put = (eid: number) => {
      const id = this.publicId(this.knownName[eid]!);
      const { agent, job } = records.build(eid);
      nextAgents.set(id, agent);
      nextJobs.set(id, job);
    };
    if (mode === "full") {
      const agents = w.agents;
      for (let i = 0; i < agents.length; i++) put(agents[i]);
    } else {
      // Watched towns first, in entity order; then agents watched one by one.
      const towns = this.townMask();
      if (towns) {
        const agents = w.agents;
        for (let i = 0; i < agents.length; i++) if (towns[townId[agents[i]]] === 1) put(agents[i]);
      }
      for (const id of [...this.watched.keys()].sort()) {
        const eid = this.agentByPublicId(id);
        if (eid < 0) this.watched.delete(id);
        else if (!nextAgents.has(id)) put(eid);
      }
    }
    const mask = mode === "full" ? undefined : this.townMask();
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
    const sections = mergeSections(parts, []);
    for (const [k, v] of sections) {
      const json = JSON.stringify(v);
      const prev = this.sections.get(k);
      if (!prev || prev.json !== json) {
        (diff.changes as Rec)[k] = v;
        this.sections.set(k, { value: v, json });
      }
    }
    for (const k of [...this.sections.keys()]) {
      if (!sections.has(k)) {
        this.sections.delete(k);
        diff.removed.push(k);
      }
    }
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
    this.early.clear();
    this.earlyObjects.clear();
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
    this.countMeals();
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
    const all = subs === null || this.mode === "full";
    const inTown = (t: unknown) => towns !== undefined && typeof t === "number" && towns.has(t);
    const pick = (name: Collection) => {
      const out: Record<string, Rec> = {};
      for (const [id, r] of this.coll[name]) {
        if (all || (name === "objects" ? inTown(r.town) : subs.has(id) || inTown(this.agentTown(id)))) out[id] = r;
      }
      if (!all && name !== "objects") {
        for (const [id, r] of this.early) if ((subs.has(id) || inTown(r.agent.town)) && !(id in out)) out[id] = name === "agents" ? r.agent : r.job;
      }
      if (!all && name === "objects") {
        for (const [id, r] of this.earlyObjects) if (inTown(r.town) && !(id in out)) out[id] = r;
      }
      return out;
    };
    const snap: Rec = {
      schema_version: SCHEMA_VERSION,
      payload_type: "snapshot",
      tick: this.tick,
      seq: this.seq,
      config_id: this.configId,
      reason,
    };
    for (const [k, v] of this.sections) snap[k] = v.value;
    snap.agents = pick("agents");
    snap.jobs = pick("jobs");
    snap.objects = pick("objects");
    if (this.mode === "aggregate" && subs !== null) snap.subscribed = [...subs].sort();
    if (this.mode === "aggregate" && subs !== null && towns?.size) snap.subscribed_towns = [...towns].sort((a, b) => a - b);
    snap.events = reason === "initial" ? this.lastEvents : [];
    snap.narrations = reason === "initial" ? this.lastNarrations : [];
    return snap as SnapshotPayloadT;
  }

  /** The diff as one aggregate-mode client sees it (its subscriptions only: agents, and towns). */
  filterDiff(diff: DiffPayloadT, subs: ReadonlySet<string>, towns?: ReadonlySet<number>): DiffPayloadT {
    if (this.mode === "full") return diff;
    const out: Rec = { ...diff };
    const inTown = (t: number) => towns !== undefined && towns.has(t);
    const sees = {
      agents: (id: string) => subs.has(id) || inTown(this.agentTown(id)),
      jobs: (id: string) => subs.has(id) || inTown(this.agentTown(id)),
      objects: (id: string) => inTown(this.objectTown(id)),
    };
    for (const name of ["agents", "jobs", "objects"] as const) {
      const d = diff[name] as CollectionDiff | undefined;
      if (!d) continue;
      const keep = sees[name];
      const f: CollectionDiff = {};
      if (d.spawned) for (const [id, r] of Object.entries(d.spawned)) if (keep(id)) (f.spawned ??= {})[id] = r;
      if (d.changed) for (const [id, r] of Object.entries(d.changed)) if (keep(id)) (f.changed ??= {})[id] = r;
      if (d.removed) for (const id of d.removed) if (keep(id)) (f.removed ??= []).push(id);
      if (f.spawned || f.changed || f.removed) out[name] = f;
      else delete out[name];
    }
    return out as DiffPayloadT;
  }

  /** Town of a published agent, or of one that left at the last publish; -1 when unknown. */
  private agentTown(id: string): number {
    const t = this.coll.agents.get(id)?.town;
    return typeof t === "number" ? t : (this.goneTown.agents.get(id) ?? -1);
  }

  private objectTown(id: string): number {
    const t = this.coll.objects.get(id)?.town;
    return typeof t === "number" ? t : (this.goneTown.objects.get(id) ?? -1);
  }

  /** 1 per town some client watches (undefined when none). */
  private townMask(): Uint8Array | undefined {
    if (this.watchedTowns.size === 0) return undefined;
    const m = new Uint8Array(this.world.towns);
    for (const t of this.watchedTowns.keys()) if (t < m.length) m[t] = 1;
    return m;
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
    const bad: number[] = [];
    const fresh: number[] = [];
    for (const t of towns) {
      if (!Number.isInteger(t) || t < 0 || t >= this.world.towns) {
        bad.push(t);
        continue;
      }
      if (!this.watchedTowns.has(t)) fresh.push(t);
      this.watchedTowns.set(t, (this.watchedTowns.get(t) ?? 0) + 1);
    }
    if (this.mode === "aggregate" && fresh.length > 0) {
      const parts = this.parts(this.mode);
      const records = new RecordBuilder(parts);
      const townId = this.world.columns(Town).id;
      const mask = new Uint8Array(this.world.towns);
      for (const t of fresh) mask[t] = 1;
      const agents = this.world.agents;
      for (let i = 0; i < agents.length; i++) {
        const eid = agents[i];
        if (mask[townId[eid]] !== 1) continue;
        const id = this.publicId(this.world.agentName(eid));
        if (!this.coll.agents.has(id)) this.early.set(id, records.build(eid) as { agent: AgentRecordT; job: JobRecordT });
      }
      for (const [id, r] of objectRecords(parts, mask)) if (!this.coll.objects.has(id)) this.earlyObjects.set(id, r as ObjectRecordT);
    }
    return bad;
  }

  unwatchTowns(towns: readonly number[]): void {
    for (const t of towns) {
      const n = (this.watchedTowns.get(t) ?? 0) - 1;
      if (n <= 0) this.watchedTowns.delete(t);
      else this.watchedTowns.set(t, n);
    }
  }

  /**
   * Adds agents to the watched set (aggregate mode). Their state is read now for the snapshot
   * of the client that subscribed; the published state takes them in at the next publish (a
   * diff that spawns them), so every other consumer stays consistent. Returns ids that name
   * no live agent.
   */
  watch(ids: readonly string[]): string[] {
    this.ensureState();
    const unknown: string[] = [];
    const records = this.mode === "aggregate" ? new RecordBuilder(this.parts(this.mode)) : undefined;
    for (const id of ids) {
      const eid = this.agentByPublicId(id);
      if (eid < 0) {
        unknown.push(id);
        continue;
      }
      this.watched.set(id, (this.watched.get(id) ?? 0) + 1);
      if (records && !this.coll.agents.has(id)) this.early.set(id, records.build(eid) as { agent: AgentRecordT; job: JobRecordT });
    }
    return unknown;
  }

  unwatch(ids: readonly string[]): void {
    for (const id of ids) {
      const n = (this.watched.get(id) ?? 0) - 1;
      if (n <= 0) this.watched.delete(id);
      else this.watched.set(id, n);
    }
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
    const w = this.world;
    const parts = this.parts("full");
    const records = new RecordBuilder(parts);
    const jobs: Record<string, JobRecordT> = {};
    const list: number[] = [];
    const unknown: string[] = [];
    if (agents) {
      for (const id of agents) {
        const eid = w.agentEid(id) >= 0 ? w.agentEid(id) : this.agentByPublicId(id);
        if (eid >= 0) list.push(eid);
        else unknown.push(id);
      }
    } else list.push(...w.agents);
    for (const eid of list) jobs[this.publicId(w.agentName(eid))] = records.build(eid).job as JobRecordT;
    const sections = mergeSections(parts, []);
    return {
      schema_version: SCHEMA_VERSION,
      tick: w.tick,
      config_id: this.configId,
      jobs,
      economy: sections.get("economy"),
      employment: sections.get("employment"),
      queue_metrics: sections.get("queue_metrics"),
      embedding_metrics: sections.get("embedding_metrics"),
      ...(unknown.length ? { unknown_agents: unknown } : {}),
    };
  }
}

function diffCollection(prev: Map<string, Rec>, next: Map<string, Rec>): CollectionDiff | undefined {
  const d: CollectionDiff = {};
  for (const [id, rec] of next) {
    const old = prev.get(id);
    if (!old) (d.spawned ??= {})[id] = rec;
    else {
      const ch = recordChanges(old, rec);
      if (ch) (d.changed ??= {})[id] = ch;
    }
  }
  for (const id of prev.keys()) if (!next.has(id)) (d.removed ??= []).push(id);
  return d.spawned || d.changed || d.removed ? d : undefined;
}

function once(fn: () => string): () => string {
  let v: string | undefined;
  return () => (v ??= fn());
}
