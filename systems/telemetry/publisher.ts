// The telemetry publisher (the telemetry plug-in's resource). Each tick, in the telemetry phase,
// it reads the columns, messages and world.kpis(), updates its copy of the published state and
// hands sinks one payload: a snapshot first, then diffs keyed by stable agent id. Above
// telemetry.stream.aggregate_above_agents live agents it keeps aggregates plus the agents that
// clients subscribed to, one by one or by town. It never writes to the world. Idle (no sink) it
// costs almost nothing.
import { createHash } from "node:crypto";
import type { World } from "../../engine/world.ts";
import type { MessageChannel } from "../../engine/message.ts";
import type { ComponentDef, Columns } from "../../engine/component.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { Needs, NEED_NAMES } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Obj } from "../../components/objects.ts";
import { Activity, Option, OPTION_NAMES } from "../../components/activity.ts";
import { Employment, Reward, SHIFT_STATE_NAMES } from "../../components/people.ts";
import { AffordanceFinish } from "../../components/messages.ts";
import { jobTable, ticksPerDay } from "../../components/jobs.ts";
import type { AffordanceTable } from "../../components/affordances.ts";
import type { TelemetryConfig } from "./config.ts";
import { DEFAULT_NARRATORS, NarrationLimiter, narrate, type Narrator } from "./narration.ts";
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
import { AffordancesKey } from "../../components/affordances.ts";
import { PerturbationsKey } from "../../components/perturbations.ts";
import { StabilityKey } from "../../components/stability.ts";

/** The employment queue as the stream's `employment` section. */
export interface EmploymentStatusLike {
  pending: string[];
  pending_count: number;
  exits_today: number | null;
  daily_exit_cap: number;
  queue_limit: number;
  review_window: number;
}

/**
 * Figures other plug-ins own, handed in by whoever composes the world (tools/serve.ts binds the
 * employment, social, perturbation and stability plug-ins' functions). Each is optional: without
 * one the section is read from columns (employment) or left out (the others).
 */
export interface TelemetrySources {
  employment?(world: World): EmploymentStatusLike;
  rivalry?(world: World): Record<string, Record<string, number>>;
  /** Extension point: the perturbation scheduler's {active, pending, cooldowns}. */
  perturbations?(world: World): Record<string, unknown> | undefined;
  /** Extension point: the stability monitor's {metrics, alerts, inputs}. */
  stability?(world: World): Record<string, unknown> | undefined;
}

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

/** Reward columns published in `reward_breakdown` (the shaping potential is internal). */
const REWARD_COMPONENTS = ["total", "survival", "needs_penalty", "wage", "punctuality", "social", "shaping", "curiosity", "terminal", "clip_adjustment", "episode"] as const;

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

const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;

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
  readonly sources: TelemetrySources = {};
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
  /**
   * Publish `towns_overview` (figures per town) each tick. Off by default: at 1,000 towns it adds
   * ~26 KB a tick to every NDJSON file; townlet serve turns it on for the observer's overview.
   */
  townOverview = false;
  /** Meals per entity (cook / eat affordances finished), reset when the entity's agent changes. */
  private mealsCooked = new Uint32Array(0);
  private mealsEaten = new Uint32Array(0);
  private mealUid = new Int32Array(0);
  private cookIdx = -1;
  private eatIdx = -1;
  private mealRegistry: AffordanceTable | undefined;
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

  // ---- events ------------------------------------------------------------------------------------

  /** Every message of every channel visible to the telemetry phase, as event objects. */
  private collectEvents(tick: number): TelemetryEventT[] {
    const w = this.world;
    const out: TelemetryEventT[] = [];
    const limit = this.cfg.stream.max_events_per_tick;
    const exclude = this.cfg.stream.exclude_events;
    const O = w.components.isRegistered(Obj) ? w.columns(Obj) : undefined;
    const objFlags = O ? w.components.flags(Obj) : undefined;
    const townId = w.columns(Town).id;
    const registry = this.registry();
    let jobs: readonly string[] = [];
    try {
      jobs = jobTable(w).names;
    } catch {
      // No `jobs` section: job fields stay numbers.
    }
    for (const ch of w.messages.channels as MessageChannel[]) {
      const def = ch.def;
      if (exclude.includes(def.name)) continue;
      const v = ch.read(w.phase);
      if (v.count === 0) continue;
      const cols = ch.cols;
      const uidCol = def.keys.indexOf("uid");
      for (let i = v.start; i < v.end; i++) {
        if (out.length >= limit) {
          this.eventsDropped += v.end - i;
          break;
        }
        const e: TelemetryEventT = { event: def.name, tick };
        for (let k = 0; k < def.keys.length; k++) {
          const field = def.keys[k];
          // `event` and `tick` name the event object itself: a message field of that name is
          // kept as event_id ("evt_N", as perturbation ids are written) or msg_tick.
          const key = field === "event" ? "event_id" : field === "tick" ? "msg_tick" : field;
          const val = cols[k][i];
          if (field === "event" && def.fields[field] === "int") {
            e[key] = `evt_${val}`;
            continue;
          }
          switch (def.fields[field]) {
            case "eid":
              if (key === "object" || key.endsWith("_object")) {
                e[key] = O && objFlags![val] === 1 ? this.objectName(val, O, townId) : val === 0 ? null : val;
              } else {
                e[key] = val === 0 ? null : this.eventAgent(val, uidCol >= 0 ? cols[uidCol][i] : undefined);
              }
              break;
            case "str":
              e[key] = w.text(val);
              break;
            default:
              if (key === "job" && def.fields[field] === "int") e[key] = val >= 0 ? (jobs[val] ?? val) : null;
              else e[key] = Number.isInteger(val) ? val : r4(val);
          }
        }
        if (registry && typeof e.affordance === "number" && def.name.startsWith("affordance_")) {
          e.affordance = registry.affordances[e.affordance]?.id ?? e.affordance;
        }
        out.push(e);
      }
    }
    return out;
  }

  private registry(): AffordanceTable | undefined {
    return this.world.optionalResource(AffordancesKey)?.registry;
  }

  /** Counts meals cooked and eaten per agent (every tick, telemetry or not: cheap). */
  countMeals(): void {
    const w = this.world;
    if (!w.messages.has(AffordanceFinish)) return;
    const reg = this.registry();
    if (reg !== this.mealRegistry) {
      this.mealRegistry = reg;
      this.cookIdx = reg ? reg.affordanceIndex("cook_meal") : -1;
      this.eatIdx = reg ? reg.affordanceIndex("eat_meal") : -1;
    }
    const v = w.messages.channel(AffordanceFinish).read(w.phase);
    if (v.count === 0) return;
    const max = w.maxEntityId() + 1;
    if (this.mealUid.length < max) {
      const n = Math.max(16, max * 2);
      const grow = <T extends Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const g = make(n);
        g.set(a);
        return g;
      };
      this.mealsCooked = grow(this.mealsCooked, (k) => new Uint32Array(k));
      this.mealsEaten = grow(this.mealsEaten, (k) => new Uint32Array(k));
      const u = new Int32Array(n).fill(-1);
      u.set(this.mealUid);
      this.mealUid = u;
    }
    const uid = w.columns(Agent).uid;
    for (let i = v.start; i < v.end; i++) {
      const a = v.affordance[i];
      if (a !== this.cookIdx && a !== this.eatIdx) continue;
      const eid = v.agent[i];
      if (!w.isAgent(eid)) continue;
      this.syncMeals(eid, uid[eid]);
      if (a === this.cookIdx) this.mealsCooked[eid]++;
      else this.mealsEaten[eid]++;
    }
  }

  private syncMeals(eid: number, uid: number): void {
    if (this.mealUid[eid] !== uid) {
      this.mealUid[eid] = uid;
      this.mealsCooked[eid] = 0;
      this.mealsEaten[eid] = 0;
    }
  }

  private meals(eid: number, uid: number): [number, number] {
    if (eid >= this.mealUid.length || this.mealUid[eid] !== uid) return [0, 0];
    return [this.mealsCooked[eid], this.mealsEaten[eid]];
  }

  // ---- building the state ------------------------------------------------------------------------

  private agentRecords(eid: number, ctx: BuildCtx): { agent: AgentRecordT; job: JobRecordT } {
    const { N, P, W, A, Op, E, R, townId, reg, O, uid } = ctx;
    const objName = (o: number) => (o !== 0 && O ? this.objectName(o, O, townId) : null);
    const money = W ? r4(W.money[eid]) : 0;
    const agent: AgentRecordT = {
      town: townId[eid],
      x: P ? P.x[eid] : 0,
      y: P ? P.y[eid] : 0,
      hunger: N ? r4(N.hunger[eid]) : 1,
      hygiene: N ? r4(N.hygiene[eid]) : 1,
      energy: N ? r4(N.energy[eid]) : 1,
      wallet: money,
      option: Op ? (OPTION_NAMES[Op.kind[eid]] ?? "none") : "none",
      activity: A && A.running[eid] >= 0 ? (reg?.affordances[A.running[eid]]?.id ?? String(A.running[eid])) : null,
      holding: A ? objName(A.holding[eid]) : null,
      queued: A ? objName(A.queued[eid]) : null,
      reward: R ? r4(R.total[eid]) : 0,
    };
    const [cooked, eaten] = this.meals(eid, uid[eid]);
    const job = E ? E.job[eid] : -1;
    const jobRec: JobRecordT = {
      job_id: job >= 0 ? (ctx.jobNames[job] ?? null) : null,
      on_shift: E ? E.on_shift[eid] === 1 : false,
      wallet: money,
      lateness_counter: E ? E.lateness_counter[eid] : 0,
      wages_earned: E ? r4(E.wages_earned[eid]) : 0,
      meals_cooked: cooked,
      meals_consumed: eaten,
      basket_cost: ctx.basket[townId[eid]] ?? 0,
      shift_state: E ? (SHIFT_STATE_NAMES[E.shift_state[eid]] ?? "idle") : "idle",
      attendance_ratio: E ? r4(E.attendance_ratio[eid]) : 1,
      late_ticks_today: E ? E.late_ticks_today[eid] : 0,
      absent_shifts_7d: E ? E.absent_shifts_7d[eid] : 0,
      wages_withheld: E ? r4(E.wages_withheld[eid]) : 0,
      exit_pending: E ? E.exit_pending[eid] === 1 : false,
    };
    return { agent, job: jobRec };
  }

  private buildCtx(): BuildCtx {
    const w = this.world;
    const reg = (def: ComponentDef) => w.components.isRegistered(def);
    const basket: number[] = [];
    const e = (w.settings as Partial<World["settings"]>).economy;
    const TE = w.townStore.isRegistered(TownEconomy) ? w.townColumns(TownEconomy) : undefined;
    for (let t = 0; t < w.towns; t++) {
      const base = e ? e.meal_cost + e.cook_energy_cost + e.cook_hygiene_cost + e.ingredients_cost : 0;
      basket.push(r4(base * (TE ? TE.price_multiplier[t] : 1)));
    }
    let jobNames: readonly string[] = [];
    try {
      jobNames = jobTable(w).names;
    } catch {
      // No `jobs` section in this world's settings.
    }
    return {
      N: reg(Needs) ? w.columns(Needs) : undefined,
      P: reg(Position) ? w.columns(Position) : undefined,
      W: reg(Wallet) ? w.columns(Wallet) : undefined,
      A: reg(Activity) ? w.columns(Activity) : undefined,
      Op: reg(Option) ? w.columns(Option) : undefined,
      E: reg(Employment) ? w.columns(Employment) : undefined,
      R: reg(Reward) ? w.columns(Reward) : undefined,
      O: reg(Obj) ? w.columns(Obj) : undefined,
      townId: w.columns(Town).id,
      uid: w.columns(Agent).uid,
      reg: this.registry(),
      basket,
      jobNames,
      TE,
    };
  }

  private buildSections(ctx: BuildCtx, mode: "full" | "aggregate"): Map<string, unknown> {
    const w = this.world;
    const s = new Map<string, unknown>();
    const kpis = w.kpis();
    s.set("mode", mode);
    s.set("towns", w.towns);
    s.set("kpis", kpis);
    const n = (k: string) => (typeof kpis[k] === "number" ? (kpis[k] as number) : 0);
    s.set("queue_metrics", {
      cooldown_events: n("queue_cooldown_refusals"),
      ghost_step_events: n("queue_ghost_steps"),
      rotation_events: n("queue_rotations"),
    });
    const emb: Record<string, number> = {};
    if (kpis.embedding && typeof kpis.embedding === "object") {
      for (const [k, v] of Object.entries(kpis.embedding as Rec)) {
        if (typeof v === "number") emb[k] = r4(v);
        else if (typeof v === "boolean") emb[k] = v ? 1 : 0;
      }
    }
    s.set("embedding_metrics", emb);
    s.set("employment", this.employment(ctx));
    s.set("economy", this.economy(ctx));
    s.set("aggregates", this.aggregates(ctx));
    if (mode === "full" && this.sources.rivalry) {
      const riv = this.sources.rivalry(w);
      const out: Record<string, Record<string, number>> = {};
      for (const [a, m] of Object.entries(riv)) {
        const row: Record<string, number> = {};
        for (const [b, v] of Object.entries(m)) row[this.publicId(b)] = r4(v);
        out[this.publicId(a)] = row;
      }
      s.set("conflict", { rivalry: out });
    }
    const pert = this.sources.perturbations ? this.sources.perturbations(w) : defaultPerturbations(w);
    if (pert !== undefined) s.set("perturbations", pert);
    const stab = this.sources.stability ? this.sources.stability(w) : defaultStability(w);
    if (stab !== undefined) s.set("stability", stab);
    s.set("layout", this.layout());
    if (this.townOverview) s.set("towns_overview", this.townsOverview(ctx));
    const rewards = this.rewardBreakdown(ctx);
    if (rewards) s.set("reward_breakdown", rewards);
    for (const [name, fn] of this.extraSections) {
      const v = fn(w);
      if (v !== undefined) s.set(name, v);
    }
    return s;
  }

  /** What does not change during a run: grid size, day length, workplaces, perturbation specs. */
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
    const pert = settings.perturbations;
    const specs = typeof pert === "object" && pert !== null && typeof pert.events === "object" ? Object.keys(pert.events) : [];
    this.layoutCache = { grid: { width, height }, ticks_per_day: perDay, jobs, perturbation_specs: specs };
    return this.layoutCache;
  }

  /** Per town: live agents, mean needs and wallet, agents late for work, agents in a queue. */
  private townsOverview(ctx: BuildCtx) {
    const n = this.world.towns;
    const agents = new Array<number>(n).fill(0);
    const late = new Array<number>(n).fill(0);
    const queued = new Array<number>(n).fill(0);
    const sums = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    const lateState = SHIFT_STATE_NAMES.indexOf("late");
    const { N, W, E, A, townId } = ctx;
    const list = this.world.agents;
    for (let i = 0; i < list.length; i++) {
      const e = list[i];
      const t = townId[e];
      agents[t]++;
      if (N) {
        sums[0][t] += N.hunger[e];
        sums[1][t] += N.hygiene[e];
        sums[2][t] += N.energy[e];
      }
      if (W) sums[3][t] += W.money[e];
      if (E && E.shift_state[e] === lateState) late[t]++;
      if (A && A.queued[e] !== 0) queued[t]++;
    }
    // Three decimals: 1,000 towns stay near 26 KB a tick.
    const mean = (k: number, digits: number) => Array.from(sums[k], (v, t) => (agents[t] ? Math.round((v / agents[t]) * digits) / digits : 0));
    return { agents, hunger: mean(0, 1e3), hygiene: mean(1, 1e3), energy: mean(2, 1e3), wallet: mean(3, 1e2), late, queued };
  }

  /** Last tick's reward by component, for the agents clients watch (the observer's agent panel). */
  private rewardBreakdown(ctx: BuildCtx): Record<string, Record<string, number>> | undefined {
    const R = ctx.R;
    if (!R || this.watched.size === 0) return undefined;
    const out: Record<string, Record<string, number>> = {};
    for (const id of [...this.watched.keys()].sort()) {
      const e = this.agentByPublicId(id);
      if (e < 0) continue;
      const row: Record<string, number> = {};
      for (const k of REWARD_COMPONENTS) row[k] = r4(R[k][e]);
      out[id] = row;
    }
    return out;
  }

  /** Every town, or beyond max_towns_listed the towns off baseline; a summary either way. */
  private economy(ctx: BuildCtx) {
    const w = this.world;
    const TE = ctx.TE;
    const all = w.towns <= this.cfg.stream.max_towns_listed;
    const towns = [];
    let sum = 0;
    let max = 0;
    let dark = 0;
    let dry = 0;
    let wages = 0;
    for (let t = 0; t < w.towns; t++) {
      const m = TE ? TE.price_multiplier[t] : 1;
      const power = TE ? TE.power[t] === 1 : true;
      const water = TE ? TE.water[t] === 1 : true;
      sum += m;
      if (m > max) max = m;
      if (!power) dark++;
      if (!water) dry++;
      if (TE) wages += TE.wages_paid[t];
      if (all || ((m !== 1 || !power || !water) && towns.length < this.cfg.stream.max_towns_listed)) {
        towns.push({ town: t, price_multiplier: r4(m), power, water, wages_paid: TE ? r4(TE.wages_paid[t]) : 0, basket_cost: ctx.basket[t] });
      }
    }
    return {
      towns,
      towns_listed: all ? "all" : "off_baseline",
      summary: {
        towns: w.towns,
        price_multiplier_mean: r4(sum / w.towns),
        price_multiplier_max: r4(max),
        towns_without_power: dark,
        towns_without_water: dry,
        wages_paid: r4(wages),
      },
    };
  }

  private employment(ctx: BuildCtx): EmploymentStatusLike {
    const w = this.world;
    const cfg = (w.settings as Partial<World["settings"]>).employment;
    if (this.sources.employment) {
      const st = this.sources.employment(w);
      return { ...st, pending: st.pending.map((id) => this.publicId(id)) };
    }
    // From the columns: pending in entity order (the queue order is the employment plug-in's).
    const pending: string[] = [];
    if (ctx.E) {
      const agents = w.agents;
      for (let i = 0; i < agents.length; i++) if (ctx.E.exit_pending[agents[i]] === 1) pending.push(this.publicId(w.agentName(agents[i])));
    }
    return {
      pending,
      pending_count: pending.length,
      exits_today: null,
      daily_exit_cap: cfg?.daily_exit_cap ?? 0,
      queue_limit: cfg?.exit_queue_limit ?? 0,
      review_window: cfg?.exit_review_window ?? 0,
    };
  }

  private aggregates(ctx: BuildCtx) {
    const w = this.world;
    const agents = w.agents;
    const byTown = new Array<number>(w.towns).fill(0);
    const sums = [0, 0, 0];
    const mins = [Infinity, Infinity, Infinity];
    let wallet = 0;
    let onShift = 0;
    let pending = 0;
    let holding = 0;
    let queued = 0;
    let running = 0;
    const states = new Array<number>(SHIFT_STATE_NAMES.length).fill(0);
    const { N, W, E, A, townId } = ctx;
    for (let i = 0; i < agents.length; i++) {
      const e = agents[i];
      byTown[townId[e]]++;
      if (N) {
        const h = N.hunger[e];
        const g = N.hygiene[e];
        const y = N.energy[e];
        sums[0] += h;
        sums[1] += g;
        sums[2] += y;
        if (h < mins[0]) mins[0] = h;
        if (g < mins[1]) mins[1] = g;
        if (y < mins[2]) mins[2] = y;
      }
      if (W) wallet += W.money[e];
      if (E) {
        onShift += E.on_shift[e];
        pending += E.exit_pending[e];
        states[E.shift_state[e]]++;
      }
      if (A) {
        if (A.holding[e] !== 0) holding++;
        if (A.queued[e] !== 0) queued++;
        if (A.running[e] >= 0) running++;
      }
    }
    const count = agents.length;
    const mean_needs: Record<string, number> = {};
    const min_needs: Record<string, number> = {};
    NEED_NAMES.forEach((k, i) => {
      mean_needs[k] = count ? r4(sums[i] / count) : 0;
      min_needs[k] = count && N ? r4(mins[i]) : 0;
    });
    const shift_states: Record<string, number> = {};
    SHIFT_STATE_NAMES.forEach((k, i) => (shift_states[k] = states[i]));
    return {
      agents: count,
      ...(w.towns <= this.cfg.stream.max_towns_listed ? { by_town: byTown } : {}),
      mean_needs,
      min_needs,
      wallet_mean: count ? r4(wallet / count) : 0,
      wallet_total: r4(wallet),
      on_shift: onShift,
      exit_pending: pending,
      holding,
      queued,
      running,
      shift_states,
    };
  }

  /** Every object's record, or (`only`) those of the towns set to 1 in it. */
  private objectRecords(ctx: BuildCtx, only?: Uint8Array): Map<string, ObjectRecordT> {
    const out = new Map<string, ObjectRecordT>();
    const w = this.world;
    const O = ctx.O;
    const svc = w.optionalResource(AffordancesKey);
    if (!O || !svc) return out;
    const has = w.components.flags(Obj);
    const A = ctx.A;
    for (const eid of svc.objects) {
      if (has[eid] !== 1) continue;
      if (only && only[ctx.townId[eid]] !== 1) continue;
      const id = this.objectName(eid, O, ctx.townId);
      const queue: string[] = [];
      if (A) {
        let q = O.queue_head[eid];
        for (let k = 0; q !== 0 && k < 256; k++) {
          queue.push(this.publicId(w.agentName(q)));
          q = A.queue_next[q];
        }
      }
      const holder = O.holder[eid];
      out.set(id, {
        id,
        town: ctx.townId[eid],
        type: ctx.reg?.types[O.type[eid]] ?? String(O.type[eid]),
        x: ctx.P ? ctx.P.x[eid] : 0,
        y: ctx.P ? ctx.P.y[eid] : 0,
        holder: holder !== 0 && w.isAgent(holder) ? this.publicId(w.agentName(holder)) : null,
        queue,
        running: O.running[eid] >= 0 ? (ctx.reg?.affordances[O.running[eid]]?.id ?? String(O.running[eid])) : null,
        meals: r4(O.meals[eid]),
        raw_ingredients: r4(O.raw_ingredients[eid]),
        sleep_slots: r4(O.sleep_slots[eid]),
        power_on: O.power_on[eid] === 1,
        water_on: O.water_on[eid] === 1,
      });
    }
    return out;
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
    const events = withEvents ? this.collectEvents(tick) : [];
    this.refreshNames();
    const ctx = this.buildCtx();

    // Collections: every agent (full) or the watched ones (aggregate).
    const nextAgents = new Map<string, Rec>();
    const nextJobs = new Map<string, Rec>();
    const put = (eid: number) => {
      const id = this.publicId(this.knownName[eid]!);
      const { agent, job } = this.agentRecords(eid, ctx);
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
        for (let i = 0; i < agents.length; i++) if (towns[ctx.townId[agents[i]]] === 1) put(agents[i]);
      }
      for (const id of [...this.watched.keys()].sort()) {
        const eid = this.agentByPublicId(id);
        if (eid < 0) this.watched.delete(id);
        else if (!nextAgents.has(id)) put(eid);
      }
    }
    const mask = mode === "full" ? undefined : this.townMask();
    const nextObjects = mode === "full" || mask ? (this.objectRecords(ctx, mask) as Map<string, Rec>) : new Map<string, Rec>();

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
    const sections = this.buildSections(ctx, mode);
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
      const ctx = this.buildCtx();
      const mask = new Uint8Array(this.world.towns);
      for (const t of fresh) mask[t] = 1;
      const agents = this.world.agents;
      for (let i = 0; i < agents.length; i++) {
        const eid = agents[i];
        if (mask[ctx.townId[eid]] !== 1) continue;
        const id = this.publicId(this.world.agentName(eid));
        if (!this.coll.agents.has(id)) this.early.set(id, this.agentRecords(eid, ctx));
      }
      for (const [id, r] of this.objectRecords(ctx, mask)) if (!this.coll.objects.has(id)) this.earlyObjects.set(id, r);
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
    const ctx = this.mode === "aggregate" ? this.buildCtx() : undefined;
    for (const id of ids) {
      const eid = this.agentByPublicId(id);
      if (eid < 0) {
        unknown.push(id);
        continue;
      }
      this.watched.set(id, (this.watched.get(id) ?? 0) + 1);
      if (ctx && !this.coll.agents.has(id)) this.early.set(id, this.agentRecords(eid, ctx));
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
    const ctx = this.buildCtx();
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
    for (const eid of list) jobs[this.publicId(w.agentName(eid))] = this.agentRecords(eid, ctx).job;
    const sections = this.buildSections(ctx, "full");
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

/** The perturbation scheduler's block, through its service (components/perturbations.ts). */
function defaultPerturbations(world: World): Record<string, unknown> | undefined {
  const svc = world.optionalResource(PerturbationsKey);
  if (!svc) return undefined;
  const { tick: _tick, ...rest } = svc.latestState();
  void _tick;
  return rest as unknown as Record<string, unknown>;
}

/** The stability monitor's metrics and alerts, through its service (components/stability.ts). */
function defaultStability(world: World): Record<string, unknown> | undefined {
  const svc = world.optionalResource(StabilityKey);
  if (!svc) return undefined;
  const metrics = svc.latestMetrics() as unknown as Record<string, unknown>;
  return { metrics, alerts: svc.latestAlerts() };
}

type ColsOf<D> = D extends ComponentDef<infer S> ? Columns<S> : never;

interface BuildCtx {
  N: ColsOf<typeof Needs> | undefined;
  P: ColsOf<typeof Position> | undefined;
  W: ColsOf<typeof Wallet> | undefined;
  A: ColsOf<typeof Activity> | undefined;
  Op: ColsOf<typeof Option> | undefined;
  E: ColsOf<typeof Employment> | undefined;
  R: ColsOf<typeof Reward> | undefined;
  O: ColsOf<typeof Obj> | undefined;
  TE: ColsOf<typeof TownEconomy> | undefined;
  townId: Uint32Array;
  uid: Uint32Array;
  reg: AffordanceTable | undefined;
  basket: number[];
  jobNames: readonly string[];
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
