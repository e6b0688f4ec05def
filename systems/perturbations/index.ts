// Perturbations (phase: scheduler). Config-driven events per town: price spikes (the town's
// price multiplier), blackouts (power off), outages (water off) and arranged meets (two or more
// agents moved beside a meeting object). Every town is an independent environment: its own
// events, cooldowns, windows, fairness buckets and random stream (`perturbations:town:<t>`).
//
// Each tick, per town: active events that reached `ends_at` end (effect reverted,
// perturbation_ended); pending (manual) events whose start came are activated; then, per spec in
// config order, the scheduler may draw a new event (below). Activation sets the spec's cooldown
// in the town to ends_at + cooldown_ticks + global_cooldown_ticks, each participant's cooldown to
// ends_at + per_agent_cooldown_ticks, records the start in the spec's window, applies the effect
// and sends perturbation_started plus the kind's own message.
//
// Effects are recomputed for the whole town whenever one of its events starts, ends or is
// cancelled: price multiplier = (value before the first spike) x product of the active spikes'
// magnitudes (our economy has one multiplier per town, so a spike's `targets` name the event but
// every price of the town moves); power / water are off while any blackout / outage is active
// and return to their value from before the first one; TownEconomy.suppress_exit is 1 while an
// event with suppress_exits (default: blackout, outage) is active, and lifecycle then defers
// faints in the town.
//
// Drawing an event (random scheduling) for spec S in town t at tick T. S is *eligible* in t when
//   - T > grace_window_ticks (the first ticks of a run are quiet),
//   - t has fewer than max_concurrent_events active events,
//   - S is off cooldown in t, and S started fewer than max_events_per_window times in t within
//     the last window_ticks ticks (window counted per spec and town, as the original),
//   - t's fairness bucket for S holds at least one credit,
//   - (arranged meets) a meeting object matches `location` in t and at least two agents of t are
//     off per-agent cooldown and not running an affordance.
// FAIRNESS BUCKETS (the original only documents them; this is our rule): each (town, spec) bucket
// gains p = prob_per_day / ticks_per_day credit per tick (capped at BUCKET_CAPACITY; it starts
// with a random fraction of a credit, so towns are staggered), and an event fires only from a
// bucket with >= 1 credit, consuming one. So a town can never draw more than prob_per_day x days
// (+1) events of a spec, and since an eligible bucket fires at a per-tick hazard of
// min(1, 2 p credit) it rarely lags far behind: per-town counts stay within a few events of
// prob_per_day x days instead of spreading like independent coin flips. Across towns: the town
// that drew S last (`last_town`) is skipped while any other town is eligible for S this tick, so
// no town is hit twice in a row by S while another town has credit and could take it.
// Manual events (console) bypass every gate and use no credit, but they count as active events
// and set cooldowns and window entries like drawn ones.
//
// Arranged meets: participants are the town's pair with the strongest rivalry edge among agents
// off per-agent cooldown and not running an affordance (target top_rivals; any other target, or
// no rivalry yet: a random set), filled up randomly to max_participants. They are moved to the
// free tiles beside the object whose id (else type) is `location`, their option is marked done
// (the policy chooses again) and a context reset is requested from the observations service.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import type { StateHasher } from "../../engine/hash.ts";
import { createRng, isRngState, type Rng, type RngState } from "../../engine/rng.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import { EconomyKey, PRICE_MULTIPLIER_MAX, TownEconomy, clampPriceMultiplier, type EconomyService } from "../../components/economy.ts";
import { Position } from "../../components/space.ts";
import { Obj } from "../../components/objects.ts";
import { Activity, Option } from "../../components/activity.ts";
import { STEPS, SpaceKey } from "../../components/grid.ts";
import {
  ArrangedMeetRelocated,
  PerturbationArrangedMeet,
  PerturbationBlackout,
  PerturbationCancelled,
  PerturbationEnded,
  PerturbationOutage,
  PerturbationPriceSpike,
  PerturbationStarted,
} from "../../components/messages.ts";
import {
  PerturbationError,
  type ManualPerturbation,
  type PerturbationEventView,
  type PerturbationKind,
  type PerturbationService,
  type PerturbationStateView,
} from "../../components/perturbations.ts";
import { sections, PerturbationFile, type PerturbationFileConfig, type PerturbationsConfig } from "./config.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { SocialKey } from "../../components/social.ts";
import { ObservationsKey } from "../../components/observations.ts";
import { PerturbationsKey } from "../../components/perturbations.ts";
import { perturbationCommands } from "./commands.ts";

export { PerturbationError } from "../../components/perturbations.ts";
export type { ManualPerturbation, PerturbationEventView, PerturbationService, PerturbationStateView } from "../../components/perturbations.ts";

/** Most credit a fairness bucket holds (credit beyond it is lost while the spec is blocked). */
export const BUCKET_CAPACITY = 3;
/** An eligible bucket fires at a per-tick hazard of min(1, HAZARD_BOOST x p x credit). */
export const HAZARD_BOOST = 2;

interface Spec {
  name: string;
  kind: PerturbationKind;
  /** Credit per tick (prob_per_day / ticks_per_day). */
  p: number;
  cooldown: number;
  duration: { min: number; max: number };
  magnitude: { min: number; max: number };
  keys: string[];
  target: string;
  location: string;
  participants: number;
  suppress: boolean;
}

interface PEvent {
  n: number;
  town: number;
  spec: number;
  manual: boolean;
  starts_at: number;
  ends_at: number;
  duration: number;
  magnitude: number;
  /** Arranged meet participants (uids); chosen at activation unless given. */
  agents: number[];
  keys: string[];
  location: string;
  active: boolean;
}

/** The scheduler's settings: the inline block, or the file a bare config path names. */
export function perturbationSettings(settings: ConfigSections): PerturbationFileConfig {
  const v = (settings as Partial<ConfigSections>).perturbations as PerturbationsConfig | undefined;
  if (v === undefined) return PerturbationFile.parse({});
  if (typeof v === "string") return PerturbationFile.parse(parseYaml(readFileSync(v, "utf8")) ?? {});
  return v;
}

function ticksPerDay(settings: ConfigSections): number {
  return (settings as Partial<ConfigSections>).observations_config?.hybrid?.time_ticks_per_day ?? 1440;
}

/** Writes prices and utilities through the economy plug-in when present, else the columns. */
function economyOf(world: World): EconomyService {
  const s = world.optionalResource(EconomyKey);
  if (s) return s;
  const cols = () => world.townColumns(TownEconomy);
  return {
    priceMultiplier: (t) => cols().price_multiplier[t],
    setPriceMultiplier: (t, m) => void (cols().price_multiplier[t] = clampPriceMultiplier(m)),
    utility: (t, u) => cols()[u][t] === 1,
    setUtility: (t, u, on) => void (cols()[u][t] = on ? 1 : 0),
  };
}

const EVENT_ID = /^evt_(\d+)$/;

export class PerturbationsState implements PersistentState, PerturbationService {
  readonly cfg: PerturbationFileConfig;
  /** Parsed specs, in config order. */
  readonly table: Spec[];
  readonly towns: number;
  private readonly S: number;
  nextId = 1;
  /** Pending events, in creation order. */
  pending: PEvent[] = [];
  /** Active events per town, in activation order. */
  active: PEvent[][];
  rngs: Rng[];
  /** Fairness credit per (town, spec): index town * S + spec. */
  credit: Float64Array;
  /** First tick the spec may fire again in the town, per (town, spec). */
  cooldownUntil: Int32Array;
  /** Start ticks within the window, per (town, spec). */
  windows: number[][];
  /** Per-agent cooldowns: uid -> first tick the agent may be picked again. */
  agentCooldown = new Map<number, number>();
  /** Town that drew each spec last, -1 = none. */
  lastTown: Int32Array;
  // Effect baselines, per town: the value before the first event of that effect, and whether held.
  priceBase: Float64Array;
  priceHeld: Uint8Array;
  powerBase: Uint8Array;
  powerHeld: Uint8Array;
  waterBase: Uint8Array;
  waterHeld: Uint8Array;
  startedByTown: Uint32Array;
  counts = { started: 0, ended: 0, cancelled: 0 };
  // Scratch (not state).
  private eligible: Uint8Array;
  private byTown: number[][] | undefined;
  private byTownTick = -1;
  private readonly hasAffordances: boolean;
  private meetCache = new Map<string, Int32Array>();
  private meetObjects: unknown;
  private meetCount = -1;
  private meetRegistry: unknown;
  private noObjects: Int32Array | undefined;

  constructor(readonly world: World) {
    this.cfg = perturbationSettings(world.settings);
    const perDay = ticksPerDay(world.settings);
    this.table = Object.entries(this.cfg.events).map(([name, e]) => ({
      name,
      kind: e.kind,
      p: e.probability_per_day / perDay,
      cooldown: e.cooldown_ticks,
      duration: e.duration,
      magnitude: e.kind === "price_spike" ? e.magnitude : { min: 1, max: 1 },
      keys: e.kind === "price_spike" ? [...e.targets] : [],
      target: e.kind === "arranged_meet" ? e.target : "",
      location: e.kind === "arranged_meet" ? e.location : "",
      participants: e.kind === "arranged_meet" ? e.max_participants : 0,
      suppress: e.suppress_exits ?? (e.kind === "blackout" || e.kind === "outage"),
    }));
    this.towns = world.towns;
    this.S = this.table.length;
    const n = this.towns * this.S;
    this.active = Array.from({ length: this.towns }, () => []);
    this.rngs = Array.from({ length: this.towns }, (_, t) => createRng(world.seed, `perturbations:town:${t}`));
    this.credit = new Float64Array(n);
    for (let t = 0; t < this.towns; t++) for (let s = 0; s < this.S; s++) this.credit[t * this.S + s] = this.table[s].p > 0 ? this.rngs[t].next() : 0;
    this.cooldownUntil = new Int32Array(n);
    this.windows = Array.from({ length: n }, () => []);
    this.lastTown = new Int32Array(this.S).fill(-1);
    this.priceBase = new Float64Array(this.towns).fill(1);
    this.priceHeld = new Uint8Array(this.towns);
    this.powerBase = new Uint8Array(this.towns).fill(1);
    this.powerHeld = new Uint8Array(this.towns);
    this.waterBase = new Uint8Array(this.towns).fill(1);
    this.waterHeld = new Uint8Array(this.towns);
    this.startedByTown = new Uint32Array(this.towns);
    this.eligible = new Uint8Array(this.towns);
    this.hasAffordances = world.hasPlugin("affordances");
  }

  // ---- the tick --------------------------------------------------------------------------------

  step(tick: number): void {
    const cfg = this.cfg;
    // 1. Active events that reached their end.
    for (let t = 0; t < this.towns; t++) {
      const list = this.active[t];
      if (list.length === 0) continue;
      let changed = false;
      for (let i = 0; i < list.length; i++) {
        const ev = list[i];
        if (ev.ends_at > tick) continue;
        list.splice(i--, 1);
        ev.active = false;
        changed = true;
        this.counts.ended++;
        this.world.send(PerturbationEnded, ev.n, t, this.world.intern(this.table[ev.spec].kind), this.world.intern(this.table[ev.spec].name));
      }
      if (changed) this.applyTown(t);
    }
    // 2. Expired per-agent cooldowns.
    if (this.agentCooldown.size > 0) for (const [uid, until] of this.agentCooldown) if (until <= tick) this.agentCooldown.delete(uid);
    // 3. Pending events whose start came, in creation order.
    if (this.pending.length > 0) {
      const due = this.pending.filter((ev) => ev.starts_at <= tick);
      if (due.length > 0) {
        this.pending = this.pending.filter((ev) => ev.starts_at > tick);
        for (const ev of due) this.activate(ev, tick);
      }
    }
    // 4. Drawing new events, spec by spec.
    const S = this.S;
    for (let s = 0; s < S; s++) {
      const spec = this.table[s];
      const p = spec.p;
      if (!(p > 0)) continue;
      for (let t = 0; t < this.towns; t++) {
        const k = t * S + s;
        const c = this.credit[k] + p;
        this.credit[k] = c > BUCKET_CAPACITY ? BUCKET_CAPACITY : c;
      }
      if (tick <= cfg.grace_window_ticks) continue;
      // Meeting objects of every town (cached), looked up once per pass.
      const meet = spec.kind === "arranged_meet" ? this.meetingObjects(spec.location) : undefined;
      let eligibleTowns = 0;
      for (let t = 0; t < this.towns; t++) {
        const ok = this.credit[t * S + s] >= 1 && this.gatesOpen(t, s, tick, meet);
        this.eligible[t] = ok ? 1 : 0;
        if (ok) eligibleTowns++;
      }
      if (eligibleTowns === 0) continue;
      for (let t = 0; t < this.towns; t++) {
        if (this.eligible[t] === 0) continue;
        // Fairness across towns: the town that drew this spec last waits while another can take it.
        if (this.lastTown[s] === t && eligibleTowns > 1) continue;
        const k = t * S + s;
        const rng = this.rngs[t];
        const hazard = Math.min(1, HAZARD_BOOST * p * this.credit[k]);
        if (rng.next() >= hazard) continue;
        const duration = Math.max(1, rng.intBetween(spec.duration.min, spec.duration.max));
        const magnitude = spec.magnitude.min === spec.magnitude.max ? spec.magnitude.min : rng.uniform(spec.magnitude.min, spec.magnitude.max);
        const ev = this.newEvent(t, s, false, tick, duration, magnitude);
        this.credit[k] -= 1;
        this.lastTown[s] = t;
        this.activate(ev, tick);
      }
    }
  }

  /** Whether spec s may be drawn in town t now (everything but the credit); `meet`: meeting objects by town. */
  private gatesOpen(t: number, s: number, tick: number, meet: Int32Array | undefined): boolean {
    const cfg = this.cfg;
    if (this.active[t].length >= cfg.max_concurrent_events) return false;
    const k = t * this.S + s;
    if (tick < this.cooldownUntil[k]) return false;
    const w = this.windows[k];
    while (w.length > 0 && w[0] <= tick - cfg.window_ticks) w.shift();
    if (w.length >= cfg.max_events_per_window) return false;
    if (meet !== undefined) {
      if (meet[t] === 0) return false;
      if (this.candidates(t, tick).length < 2) return false;
    }
    return true;
  }

  private newEvent(town: number, s: number, manual: boolean, startsAt: number, duration: number, magnitude: number): PEvent {
    const spec = this.table[s];
    return {
      n: this.nextId++,
      town,
      spec: s,
      manual,
      starts_at: startsAt,
      ends_at: startsAt + duration,
      duration,
      magnitude: spec.kind === "price_spike" ? magnitude : 1,
      agents: [],
      keys: [...spec.keys],
      location: spec.location,
      active: false,
    };
  }

  private activate(ev: PEvent, tick: number): void {
    const w = this.world;
    const spec = this.table[ev.spec];
    const t = ev.town;
    ev.starts_at = tick;
    ev.ends_at = tick + ev.duration;
    ev.active = true;
    if (spec.kind === "arranged_meet" && ev.agents.length === 0) ev.agents = this.pickParticipants(t, spec, tick);
    const k = t * this.S + ev.spec;
    const until = ev.ends_at + spec.cooldown + this.cfg.global_cooldown_ticks;
    if (until > this.cooldownUntil[k]) this.cooldownUntil[k] = until;
    this.windows[k].push(tick);
    const agentUntil = ev.ends_at + this.cfg.per_agent_cooldown_ticks;
    for (const uid of ev.agents) if ((this.agentCooldown.get(uid) ?? -1) < agentUntil) this.agentCooldown.set(uid, agentUntil);
    this.active[t].push(ev);
    this.startedByTown[t]++;
    this.counts.started++;
    this.applyTown(t);
    w.send(PerturbationStarted, ev.n, t, w.intern(spec.kind), w.intern(spec.name), ev.ends_at, ev.magnitude, ev.manual ? 1 : 0);
    switch (spec.kind) {
      case "price_spike":
        w.send(PerturbationPriceSpike, ev.n, t, ev.magnitude, economyOf(w).priceMultiplier(t));
        break;
      case "blackout":
        w.send(PerturbationBlackout, ev.n, t);
        break;
      case "outage":
        w.send(PerturbationOutage, ev.n, t);
        break;
      case "arranged_meet":
        this.relocate(ev);
        break;
    }
  }

  /** Recomputes a town's prices, utilities and exit suppression from its active events. */
  private applyTown(t: number): void {
    const econ = economyOf(this.world);
    let spikes = 0;
    let mult = 1;
    let blackout = false;
    let outage = false;
    let suppress = false;
    for (const ev of this.active[t]) {
      const spec = this.table[ev.spec];
      if (spec.kind === "price_spike") {
        spikes++;
        // Bounded as it grows, so that 0 x Infinity can never make it NaN.
        mult = clampPriceMultiplier(mult * ev.magnitude);
      } else if (spec.kind === "blackout") blackout = true;
      else if (spec.kind === "outage") outage = true;
      if (spec.suppress) suppress = true;
    }
    if (spikes > 0) {
      if (this.priceHeld[t] === 0) {
        this.priceBase[t] = econ.priceMultiplier(t);
        this.priceHeld[t] = 1;
      }
      econ.setPriceMultiplier(t, this.priceBase[t] * mult);
    } else if (this.priceHeld[t] === 1) {
      econ.setPriceMultiplier(t, this.priceBase[t]);
      this.priceHeld[t] = 0;
    }
    if (blackout) {
      if (this.powerHeld[t] === 0) {
        this.powerBase[t] = econ.utility(t, "power") ? 1 : 0;
        this.powerHeld[t] = 1;
      }
      econ.setUtility(t, "power", false);
    } else if (this.powerHeld[t] === 1) {
      econ.setUtility(t, "power", this.powerBase[t] === 1);
      this.powerHeld[t] = 0;
    }
    if (outage) {
      if (this.waterHeld[t] === 0) {
        this.waterBase[t] = econ.utility(t, "water") ? 1 : 0;
        this.waterHeld[t] = 1;
      }
      econ.setUtility(t, "water", false);
    } else if (this.waterHeld[t] === 1) {
      econ.setUtility(t, "water", this.waterBase[t] === 1);
      this.waterHeld[t] = 0;
    }
    this.world.townColumns(TownEconomy).suppress_exit[t] = suppress ? 1 : 0;
  }

  // ---- arranged meets ------------------------------------------------------------------------

  /** Live agents of town t (entity order), rebuilt once per tick when needed. */
  private agentsOf(t: number, tick: number): number[] {
    if (this.byTown === undefined || this.byTownTick !== tick) {
      const byTown: number[][] = Array.from({ length: this.towns }, () => []);
      const agents = this.world.agents;
      const town = this.world.columns(Town).id;
      for (let i = 0; i < agents.length; i++) byTown[town[agents[i]]].push(agents[i]);
      this.byTown = byTown;
      this.byTownTick = tick;
    }
    return this.byTown[t];
  }

  /** Agents of t that may join a meet: off per-agent cooldown, not running an affordance. */
  private candidates(t: number, tick: number): number[] {
    const w = this.world;
    const uid = w.columns(Agent).uid;
    const running = w.components.isRegistered(Activity) ? w.columns(Activity).running : undefined;
    const out: number[] = [];
    for (const eid of this.agentsOf(t, tick)) {
      if ((this.agentCooldown.get(uid[eid]) ?? -1) > tick) continue;
      if (running !== undefined && running[eid] >= 0) continue;
      out.push(eid);
    }
    return out;
  }

  /** Participants (uids): the town's top rival pair (target top_rivals), else a random set; filled up randomly. */
  private pickParticipants(t: number, spec: Spec, tick: number): number[] {
    const w = this.world;
    const rng = this.rngs[t];
    const pool = this.candidates(t, tick);
    const want = Math.min(spec.participants, pool.length);
    if (want < 2) return [];
    const uid = w.columns(Agent).uid;
    const chosen: number[] = [];
    const ledger = spec.target === "top_rivals" ? w.optionalResource(SocialKey)?.ledger : undefined;
    if (ledger) {
      const byUid = new Map<number, number>();
      for (const eid of pool) byUid.set(uid[eid], eid);
      let best = 0;
      let a = 0;
      let b = 0;
      const K = ledger.maxEdges;
      for (const eid of pool) {
        const base = eid * K;
        if (base + K > ledger.other.length) continue;
        for (let k = 0; k < K; k++) {
          const other = ledger.other[base + k];
          if (other === -1 || ledger.rivalry[base + k] <= best) continue;
          const e2 = byUid.get(other);
          if (e2 === undefined || e2 === eid) continue;
          best = ledger.rivalry[base + k];
          a = eid;
          b = e2;
        }
      }
      if (best > 0) chosen.push(a, b);
    }
    const rest = pool.filter((e) => !chosen.includes(e));
    // Partial Fisher-Yates: the first slots of `rest` become a uniform random sample.
    for (let i = 0; chosen.length < want && i < rest.length; i++) {
      const j = i + rng.int(rest.length - i);
      const tmp = rest[i];
      rest[i] = rest[j];
      rest[j] = tmp;
      chosen.push(rest[i]);
    }
    return chosen.map((eid) => uid[eid]);
  }

  /**
   * The object of town t whose id (first) or type is `location`, 0 = none. Cached per location
   * until the affordance plug-in's object list or registry changes.
   */
  meetingObject(t: number, location: string): number {
    return this.meetingObjects(location)[t];
  }

  /** meetingObject for every town (index: town id); do not keep it across ticks. */
  meetingObjects(location: string): Int32Array {
    const w = this.world;
    if (!this.hasAffordances || !w.components.isRegistered(Obj)) return (this.noObjects ??= new Int32Array(this.towns));
    const aff = w.resource(AffordancesKey);
    const objects = aff.objects;
    if (objects !== this.meetObjects || objects.length !== this.meetCount || aff.registry !== this.meetRegistry) {
      this.meetCache.clear();
      this.meetObjects = objects;
      this.meetCount = objects.length;
      this.meetRegistry = aff.registry;
    }
    let per = this.meetCache.get(location);
    if (per === undefined) {
      per = new Int32Array(this.towns);
      const byType = new Int32Array(this.towns);
      const O = w.columns(Obj);
      const town = w.columns(Town).id;
      const types = aff.registry.types;
      for (const obj of objects) {
        const ot = town[obj];
        if (per[ot] === 0 && w.text(O.key[obj]) === location) per[ot] = obj;
        if (byType[ot] === 0 && types[O.type[obj]] === location) byType[ot] = obj;
      }
      for (let k = 0; k < this.towns; k++) if (per[k] === 0) per[k] = byType[k];
      this.meetCache.set(location, per);
    }
    return per;
  }

  private relocate(ev: PEvent): void {
    const w = this.world;
    const t = ev.town;
    let obj = this.meetingObject(t, ev.location);
    if (obj !== 0 && !w.components.has(Obj, obj)) {
      // The object list changed under the cache (a removal and an addition): look again.
      this.meetCache.clear();
      obj = this.meetingObject(t, ev.location);
    }
    const eids: number[] = [];
    const town = w.columns(Town).id;
    for (const u of ev.agents) {
      const eid = this.eidOfUid(u);
      if (eid > 0 && town[eid] === t) eids.push(eid);
    }
    w.send(PerturbationArrangedMeet, ev.n, t, obj, obj === 0 ? 0 : eids.length);
    if (obj === 0 || eids.length === 0 || !w.components.isRegistered(Position)) return;
    const P = w.columns(Position);
    const ox = P.x[obj];
    const oy = P.y[obj];
    const space = w.optionalResource(SpaceKey);
    const tiles: [number, number][] = [];
    for (const [dx, dy] of STEPS) {
      const x = ox + dx;
      const y = oy + dy;
      if (space && (!space.inBounds(x, y) || space.objectAt[space.tile(t, x, y)] !== 0)) continue;
      if (!space && (x < 0 || y < 0)) continue;
      tiles.push([x, y]);
    }
    if (tiles.length === 0) tiles.push([ox, oy]);
    const Op = w.components.isRegistered(Option) ? w.columns(Option) : undefined;
    eids.forEach((eid, i) => {
      const [x, y] = tiles[i % tiles.length];
      P.x[eid] = x;
      P.y[eid] = y;
      if (space) space.place(eid, t, x, y);
      // The agent's plan no longer fits where it stands: its policy chooses again.
      if (Op && Op.external[eid] === 0) Op.done[eid] = 1;
      requestContextReset(w, eid);
      w.send(ArrangedMeetRelocated, ev.n, eid, x, y);
    });
  }

  private eidOfUid(u: number): number {
    const uid = this.world.columns(Agent).uid;
    const agents = this.world.agents;
    for (let i = 0; i < agents.length; i++) if (uid[agents[i]] === u) return agents[i];
    return -1;
  }

  // ---- the service -----------------------------------------------------------------------------

  specs(): string[] {
    return this.table.map((s) => s.name);
  }

  schedule(town: number, specName: string, opts: ManualPerturbation = {}): PerturbationEventView {
    const w = this.world;
    if (!Number.isInteger(town) || town < 0 || town >= this.towns) {
      throw new PerturbationError("invalid_args", `town must be an integer in [0, ${this.towns - 1}], got ${town}`);
    }
    const s = this.table.findIndex((x) => x.name === specName);
    if (s < 0) throw new PerturbationError("unknown_spec", `unknown perturbation spec "${specName}" (known: ${this.table.map((x) => x.name).join(", ") || "none"})`);
    const spec = this.table[s];
    const startsIn = opts.startsIn ?? 0;
    if (!Number.isInteger(startsIn) || startsIn < 0) throw new PerturbationError("invalid_args", `starts_in must be an integer >= 0, got ${startsIn}`);
    const rng = this.rngs[town];
    const duration = opts.duration ?? Math.max(1, rng.intBetween(spec.duration.min, spec.duration.max));
    if (!Number.isInteger(duration) || duration < 1) throw new PerturbationError("invalid_args", `duration must be an integer >= 1, got ${duration}`);
    let magnitude = 1;
    if (spec.kind === "price_spike") {
      magnitude = opts.magnitude ?? (spec.magnitude.min === spec.magnitude.max ? spec.magnitude.min : rng.uniform(spec.magnitude.min, spec.magnitude.max));
      if (!Number.isFinite(magnitude) || magnitude < 0 || magnitude > PRICE_MULTIPLIER_MAX) {
        throw new PerturbationError("invalid_args", `magnitude must be a number in [0, ${PRICE_MULTIPLIER_MAX}] (the highest price multiplier), got ${magnitude}`);
      }
    }
    // Between ticks world.tick is the last tick completed; inside a tick it is the one before the
    // running tick: either way the next scheduler pass is world.tick + 1.
    const ev = this.newEvent(town, s, true, w.tick + 1 + startsIn, duration, magnitude);
    if (spec.kind === "arranged_meet") {
      if (opts.location !== undefined) {
        if (typeof opts.location !== "string" || opts.location === "") throw new PerturbationError("invalid_args", "location must be a non-empty object id or type");
        ev.location = opts.location;
      }
      if (this.meetingObject(town, ev.location) === 0) {
        throw new PerturbationError("invalid_args", `no object with id or type "${ev.location}" in town ${town}`);
      }
      if (opts.targets !== undefined) {
        const uid = w.columns(Agent).uid;
        const townOf = w.columns(Town).id;
        const seen = new Set<number>();
        for (const name of opts.targets) {
          const eid = w.agentEid(name);
          if (eid < 0) throw new PerturbationError("invalid_args", `unknown agent "${name}"`);
          if (townOf[eid] !== town) throw new PerturbationError("invalid_args", `agent "${name}" lives in town ${townOf[eid]}, not ${town}`);
          seen.add(uid[eid]);
        }
        if (seen.size < 2) throw new PerturbationError("invalid_args", `an arranged meet needs at least 2 distinct agents, got ${seen.size}`);
        ev.agents = [...seen];
      }
    } else if (spec.kind === "price_spike" && opts.targets !== undefined) {
      ev.keys = [...opts.targets];
    }
    this.nextId = Math.max(this.nextId, ev.n + 1);
    this.pending.push(ev);
    return this.view(ev);
  }

  cancel(eventId: string): boolean {
    const m = EVENT_ID.exec(eventId);
    if (!m) return false;
    const n = Number(m[1]);
    const w = this.world;
    const pi = this.pending.findIndex((e) => e.n === n);
    if (pi >= 0) {
      const ev = this.pending[pi];
      this.pending.splice(pi, 1);
      this.counts.cancelled++;
      const spec = this.table[ev.spec];
      w.send(PerturbationCancelled, ev.n, ev.town, w.intern(spec.kind), w.intern(spec.name), 1);
      return true;
    }
    for (let t = 0; t < this.towns; t++) {
      const ai = this.active[t].findIndex((e) => e.n === n);
      if (ai < 0) continue;
      const ev = this.active[t][ai];
      this.active[t].splice(ai, 1);
      ev.active = false;
      this.applyTown(t);
      this.counts.cancelled++;
      const spec = this.table[ev.spec];
      w.send(PerturbationCancelled, ev.n, t, w.intern(spec.kind), w.intern(spec.name), 0);
      return true;
    }
    return false;
  }

  private view(ev: PEvent): PerturbationEventView {
    const spec = this.table[ev.spec];
    const names: string[] = [];
    if (spec.kind === "arranged_meet") {
      for (const u of ev.agents) {
        const eid = this.eidOfUid(u);
        names.push(eid > 0 ? this.world.agentName(eid) : `agent_${u}`);
      }
    }
    return {
      id: `evt_${ev.n}`,
      spec: spec.name,
      kind: spec.kind,
      town: ev.town,
      starts_at: ev.starts_at,
      ends_at: ev.ends_at,
      duration: ev.duration,
      magnitude: ev.magnitude,
      targets: spec.kind === "arranged_meet" ? names : [...ev.keys],
      location: ev.location,
      manual: ev.manual,
    };
  }

  activeCount(): number {
    let n = 0;
    for (let t = 0; t < this.towns; t++) n += this.active[t].length;
    return n;
  }

  latestState(): PerturbationStateView {
    const tick = this.world.tick;
    const active: PerturbationEventView[] = [];
    for (let t = 0; t < this.towns; t++) for (const ev of this.active[t]) active.push(this.view(ev));
    active.sort((a, b) => Number(a.id.slice(4)) - Number(b.id.slice(4)));
    const spec: Record<string, Record<string, number>> = {};
    const buckets: Record<string, Record<string, number>> = {};
    for (let t = 0; t < this.towns; t++) {
      for (let s = 0; s < this.S; s++) {
        const k = t * this.S + s;
        if (this.cooldownUntil[k] > tick) (spec[t] ??= {})[this.table[s].name] = this.cooldownUntil[k];
        if (this.table[s].p > 0) (buckets[t] ??= {})[this.table[s].name] = this.credit[k];
      }
    }
    const agents: Record<string, number> = {};
    for (const [u, until] of [...this.agentCooldown].sort((a, b) => a[0] - b[0])) {
      if (until <= tick) continue;
      const eid = this.eidOfUid(u);
      agents[eid > 0 ? this.world.agentName(eid) : `agent_${u}`] = until;
    }
    const last_town: Record<string, number> = {};
    for (let s = 0; s < this.S; s++) if (this.lastTown[s] >= 0) last_town[this.table[s].name] = this.lastTown[s];
    return {
      tick,
      active,
      pending: this.pending.map((ev) => this.view(ev)),
      cooldowns: { spec, agents },
      buckets,
      last_town,
      started_by_town: [...this.startedByTown],
    };
  }

  // ---- persistence -----------------------------------------------------------------------------

  private static saveEvent(ev: PEvent): unknown {
    return { ...ev, agents: [...ev.agents], keys: [...ev.keys] };
  }

  save(): unknown {
    const active: unknown[] = [];
    for (let t = 0; t < this.towns; t++) for (const ev of this.active[t]) active.push(PerturbationsState.saveEvent(ev));
    return {
      specs: this.table.map((s) => s.name),
      next_id: this.nextId,
      pending: this.pending.map(PerturbationsState.saveEvent),
      active,
      credit: this.credit.slice(),
      cooldown_until: this.cooldownUntil.slice(),
      windows: this.windows.map((w) => [...w]),
      agent_cooldowns: [...this.agentCooldown].sort((a, b) => a[0] - b[0]),
      last_town: [...this.lastTown],
      price: { base: [...this.priceBase], held: [...this.priceHeld] },
      power: { base: [...this.powerBase], held: [...this.powerHeld] },
      water: { base: [...this.waterBase], held: [...this.waterHeld] },
      started_by_town: [...this.startedByTown],
      counts: { ...this.counts },
      rngs: this.rngs.map((r) => r.state()),
    };
  }

  load(data: unknown): void {
    const d = data as {
      specs: string[];
      next_id: number;
      pending: PEvent[];
      active: PEvent[];
      credit: ArrayLike<number>;
      cooldown_until: ArrayLike<number>;
      windows: number[][];
      agent_cooldowns: [number, number][];
      last_town: number[];
      price: { base: number[]; held: number[] };
      power: { base: number[]; held: number[] };
      water: { base: number[]; held: number[] };
      started_by_town: number[];
      counts: { started: number; ended: number; cancelled: number };
      rngs: RngState[];
    };
    const names = this.table.map((s) => s.name);
    if (JSON.stringify(d.specs) !== JSON.stringify(names)) {
      throw new Error(`perturbations: saved specs [${d.specs.join(", ")}] differ from the configured ones [${names.join(", ")}]`);
    }
    if (d.rngs.length !== this.towns || !d.rngs.every(isRngState)) throw new Error(`perturbations: saved state is for ${d.rngs.length} towns, this world has ${this.towns}`);
    const copy = (ev: PEvent): PEvent => ({ ...ev, agents: [...ev.agents], keys: [...ev.keys] });
    this.nextId = d.next_id;
    this.pending = d.pending.map(copy);
    this.active = Array.from({ length: this.towns }, () => []);
    for (const ev of d.active) this.active[ev.town].push(copy(ev));
    this.credit.set(d.credit);
    this.cooldownUntil.set(d.cooldown_until);
    this.windows = d.windows.map((w) => [...w]);
    this.agentCooldown = new Map(d.agent_cooldowns);
    this.lastTown.set(d.last_town);
    this.priceBase.set(d.price.base);
    this.priceHeld.set(d.price.held);
    this.powerBase.set(d.power.base);
    this.powerHeld.set(d.power.held);
    this.waterBase.set(d.water.base);
    this.waterHeld.set(d.water.held);
    this.startedByTown.set(d.started_by_town);
    this.counts = { ...d.counts };
    d.rngs.forEach((r, t) => this.rngs[t].restore(r));
    this.byTown = undefined;
    this.meetCache.clear();
  }

  hash(h: StateHasher): void {
    const ev = (e: PEvent) => {
      h.u32(e.n).u32(e.town).u32(e.spec).u32(e.manual ? 1 : 0).u32(e.starts_at).u32(e.ends_at).u32(e.duration).f64(e.magnitude).u32(e.agents.length);
      for (const u of e.agents) h.u32(u);
      h.str(e.location).u32(e.keys.length);
      for (const k of e.keys) h.str(k);
    };
    h.u32(this.nextId).u32(this.pending.length);
    for (const e of this.pending) ev(e);
    for (let t = 0; t < this.towns; t++) {
      h.u32(this.active[t].length);
      for (const e of this.active[t]) ev(e);
    }
    for (let i = 0; i < this.credit.length; i++) h.f64(this.credit[i]).u32(this.cooldownUntil[i]).u32(this.windows[i].length);
    for (const w of this.windows) for (const x of w) h.u32(x);
    const ac = [...this.agentCooldown].sort((a, b) => a[0] - b[0]);
    h.u32(ac.length);
    for (const [u, until] of ac) h.u32(u).u32(until);
    for (let s = 0; s < this.S; s++) h.u32(this.lastTown[s]);
    for (let t = 0; t < this.towns; t++) {
      h.f64(this.priceBase[t]).u32(this.priceHeld[t]).u32(this.powerBase[t]).u32(this.powerHeld[t]).u32(this.waterBase[t]).u32(this.waterHeld[t]).u32(this.startedByTown[t]);
    }
    h.u32(this.counts.started).u32(this.counts.ended).u32(this.counts.cancelled);
    for (const r of this.rngs) {
      const s = r.state();
      h.f64(s.c).f64(s.s0).f64(s.s1).f64(s.s2);
    }
  }
}

/** Marks a context reset through the observations service when present. */
function requestContextReset(world: World, eid: number): void {
  world.optionalResource(ObservationsKey)?.requestContextReset?.(eid);
}

export const perturbationsPlugin = definePlugin({
  name: "perturbations",
  commands: perturbationCommands,
  provides: [PerturbationsKey],
  optional: [AffordancesKey, EconomyKey, SocialKey, SpaceKey, ObservationsKey],
  doc: "perturbation scheduler: price spikes, blackouts, outages, arranged meets per town, with cooldowns, windows and fairness buckets",
  sections,
  files: [
    {
      path: ["perturbations"],
      kind: "perturbation file",
      schema: PerturbationFile,
      mode: "inline",
      detect: (raw) => typeof raw === "object" && raw !== null && !Array.isArray(raw) && "events" in raw,
    },
  ],
  townState: { TownEconomy },
  messages: [
    PerturbationStarted,
    PerturbationCancelled,
    PerturbationEnded,
    PerturbationPriceSpike,
    PerturbationBlackout,
    PerturbationOutage,
    PerturbationArrangedMeet,
    ArrangedMeetRelocated,
  ],
  state: (world: World) => new PerturbationsState(world),
  kpis({ state }) {
    return { perturbations: { ...state.counts, active: state.activeCount(), pending: state.pending.length } };
  },
  systems: [
    {
      name: "perturbations/schedule",
      phase: "scheduler",
      reads: ["perturbations", "Agent", "Town", "Activity.running", "Obj", "Position", "social ledger"],
      writes: ["TownEconomy (price_multiplier, power, water, suppress_exit)", "Position (arranged meets)", "Option.done", "perturbation_* messages"],
      run({ tick, state }) {
        state.step(tick);
      },
    },
  ],
});

/** The scheduler's resource of a world (throws when the plug-in is absent). */
export function perturbationsState(world: World): PerturbationsState {
  return world.state<PerturbationsState>("perturbations");
}

/** Queues an event of `spec` in `town` (console perturbation_trigger); see ManualPerturbation. */
export function schedule(world: World, town: number, spec: string, opts: ManualPerturbation = {}): PerturbationEventView {
  return perturbationsState(world).schedule(town, spec, opts);
}

/** Cancels a pending or active event by id ("evt_N"); false when there is none. */
export function cancel(world: World, eventId: string): boolean {
  return perturbationsState(world).cancel(eventId);
}

/** The `perturbations` block: active, pending, cooldowns (and fairness buckets). */
export function latestState(world: World): PerturbationStateView {
  return perturbationsState(world).latestState();
}
