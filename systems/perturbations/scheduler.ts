// The perturbation scheduler's state and tick (phase: scheduler; see index.ts for the rules):
// events ending, pending events starting, new events drawn per spec and town through the
// fairness buckets and gates, and the console's service (schedule, cancel, the queue's view).
import type { PersistentState } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import type { StateHasher } from "../../engine/hash.ts";
import { RngBank } from "../../engine/rng-bank.ts";
import {
  PerturbationBlackout,
  PerturbationOutage,
  PerturbationPriceSpike,
  PerturbationStarted,
} from "../../components/messages.ts";
import {
  type ManualPerturbation,
  type PerturbationEventView,
  type PerturbationService,
  type PerturbationStateView,
} from "../../components/perturbations.ts";
import type { PerturbationFileConfig } from "./config.ts";
import { applyTownEffects, economyOf } from "./effects.ts";
import { ArrangedMeets } from "./meets.ts";
import { hashPerturbations, loadPerturbations, savePerturbations } from "./persist.ts";
import { WindowRings } from "./windows.ts";
import { EndQueue, endEvents, recountActive } from "./ends.ts";
import { eventView, stateView } from "./views.ts";
import { cancelEvent, scheduleEvent } from "./service.ts";
import { NO_EVENTS, NO_UIDS, perturbationSettings, specTable, type PEvent, type Spec } from "./spec.ts";
import { ticksPerDay } from "../../engine/clock.ts";

/** Most credit a fairness bucket holds (credit beyond it is lost while the spec is blocked). */
export const BUCKET_CAPACITY = 3;
/** The cap as a float64 (read from a Float64Array): a Smi constant in the clamp made V8 box every credit. */
const CAP = Float64Array.of(BUCKET_CAPACITY);
/** An eligible bucket fires at a per-tick hazard of min(1, HAZARD_BOOST x p x credit). */
export const HAZARD_BOOST = 2;

/** A tick never reached (a small integer, so the fields holding it keep one representation). */
const NEVER = 0x3fffffff;

/** The scheduler's state (a PersistentState) and the perturbation service the console calls. */
export class PerturbationsState implements PersistentState, PerturbationService {
  readonly cfg: PerturbationFileConfig;
  /** Parsed specs, in config order. */
  readonly table: Spec[];
  readonly towns: number;
  readonly S: number;
  nextId = 1;
  /** Pending events, in creation order. */
  pending: PEvent[] = [];
  /** Active events per town, in activation order (NO_EVENTS until a town's first). */
  active: PEvent[][];
  /** The towns' streams `perturbations:town:<t>`, in one bank. */
  rngs: RngBank;
  /** Fairness credit per (town, spec): index town * S + spec. */
  credit: Float64Array;
  /** First tick the spec may fire again in the town, per (town, spec). */
  cooldownUntil: Int32Array;
  /** Start ticks within the window, per (town, spec), oldest first (typed rings: issue #19). */
  windows: WindowRings;
  /** Per-agent cooldowns: uid -> first tick the agent may be picked again. */
  agentCooldown = new Map<number, number>();
  /**
   * Not state: (until, uid) of every per-agent cooldown set, earliest first; one replaced by a
   * later until stays behind and is skipped when taken. Rebuilt from the map after a load.
   */
  readonly cooldownEnds = new EndQueue();
  /** Not state: no per-agent cooldown ends before this tick (0 = unknown: look). */
  cooldownNext = 0;
  /** Not state: no active event ends before this tick (0 = unknown: look; issue #19: the towns were walked every tick). */
  endNext = 0;
  /** Not state: active events in all towns (0 = recount; issue #19: activeCount walked the towns every tick). */
  activeN = -1;
  /**
   * Not state: the active events' (end tick, town), earliest first (issue #19: ending events walked
   * all the towns' lists on every tick where one could end). Rebuilt by recount() after a load.
   */
  readonly ends = new EndQueue();
  /** Not state: active events per town (active[t].length as a typed column, read by the gates; recount() after a load). */
  activeLen: Int32Array;
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
  // Scratch (not state): the towns judged, then the eligible ones, of one spec (in town order).
  private eligible: Int32Array;
  /**
   * Not state: per (town, spec), no tick before this one can open the gates (gatesOpen false
   * without side effects before it): set when the gates close for a count, a cooldown or the
   * window, which change on known ticks; 0 = look (issue #19: every bucket with credit was
   * re-judged every tick). Cleared for a town when one of its events is cancelled, and on load.
   */
  openAt: Int32Array;
  /**
   * Not state: per (town, spec) not a meet, the gates were found open and stay open before this
   * tick (drawPass draws without judging them again); 0 = judge. Cleared for a town when an event
   * starts in it, and on load.
   */
  openUntil: Int32Array;
  /** Not state: false = judge every bucket with credit and walk the cooldown map every tick (as before issue #19; tests compare). */
  skipClosed = true;
  /** Arranged meets and their caches (not state). */
  readonly meets: ArrangedMeets;

  constructor(readonly world: World) {
    this.cfg = perturbationSettings(world.settings);
    const perDay = ticksPerDay(world.settings);
    this.table = specTable(this.cfg, perDay);
    this.towns = world.towns;
    this.S = this.table.length;
    const n = this.towns * this.S;
    this.active = new Array<PEvent[]>(this.towns).fill(NO_EVENTS);
    this.rngs = new RngBank(world.seed, this.towns, (t) => `perturbations:town:${t}`);
    this.credit = new Float64Array(n);
    for (let t = 0; t < this.towns; t++) for (let s = 0; s < this.S; s++) this.credit[t * this.S + s] = this.table[s].p > 0 ? this.rngs.at(t).next() : 0;
    this.cooldownUntil = new Int32Array(n);
    this.windows = new WindowRings(n, this.cfg.max_events_per_window);
    this.lastTown = new Int32Array(this.S).fill(-1);
    this.priceBase = new Float64Array(this.towns).fill(1);
    this.priceHeld = new Uint8Array(this.towns);
    this.powerBase = new Uint8Array(this.towns).fill(1);
    this.powerHeld = new Uint8Array(this.towns);
    this.waterBase = new Uint8Array(this.towns).fill(1);
    this.waterHeld = new Uint8Array(this.towns);
    this.startedByTown = new Uint32Array(this.towns);
    this.activeLen = new Int32Array(this.towns);
    this.eligible = new Int32Array(this.towns);
    this.openAt = new Int32Array(n);
    this.openUntil = new Int32Array(n);
    this.meets = new ArrangedMeets(world, this.towns);
  }

  // ---- the tick --------------------------------------------------------------------------------

  step(tick: number): void {
    const cfg = this.cfg;
    // 1. Active events that reached their end (only on a tick where one can: issue #19).
    if (this.endNext <= tick || !this.skipClosed) endEvents(this, tick);
    // 2. Expired per-agent cooldowns: only on a tick where one has expired, the uids from the
    // queue (issue #19: the map was walked every tick, then on every such tick; skipClosed =
    // false: walked every tick, as before).
    if (this.agentCooldown.size > 0 && this.skipClosed && this.cooldownNext <= tick) {
      const q = this.cooldownEnds;
      q.takeDue(tick);
      for (let i = 0; i < q.dueN; i++) if ((this.agentCooldown.get(q.due[i]) ?? NEVER) <= tick) this.agentCooldown.delete(q.due[i]);
      this.cooldownNext = q.first(NEVER);
    } else if (this.agentCooldown.size > 0 && !this.skipClosed) {
      let next = NEVER;
      for (const [uid, until] of this.agentCooldown) {
        if (until <= tick) this.agentCooldown.delete(uid);
        else if (until < next) next = until;
      }
      this.cooldownNext = next;
    }
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
    const judge = tick > cfg.grace_window_ticks;
    for (let s = 0; s < S; s++) {
      const spec = this.table[s];
      const p = spec.p;
      if (!(p > 0)) continue;
      // Meeting objects of every town (cached), looked up once per pass; also during the grace
      // window, where nothing is judged (issue #19: the cache's first build, a walk of every
      // object, ran at the first judged tick, 61, at +2-3 ms at 100k).
      const meet = spec.kind === "arranged_meet" ? this.meetingObjects(spec.location) : undefined;
      if (meet === undefined && this.skipClosed) {
        this.drawPass(s, p, tick, judge);
        continue;
      }
      const nc = this.creditPass(s, p, tick, meet);
      if (judge && nc > 0) this.judgeSpec(s, p, nc, tick, meet);
    }
  }

  /**
   * Spec s (not a meet) in every town in one pass: the credit, then, past the grace window, the
   * gates of a bucket with a whole credit and its hazard draw; the same draws, fires and state as
   * creditPass + judgeSpec. Issue #19: by day 6 most buckets hold a credit with open gates, and
   * each was listed, then had its gates judged again (a call, the window ring read) on every tick
   * until it fired; a bucket whose gates were found open is known open until `openUntil` (its
   * window's oldest start leaving: the gates prune it then, on the same tick as before) or until
   * an event starts in its town (activate clears the town's marks). The town that drew the spec
   * last waits to the end of the pass, where it draws only if no other town was eligible.
   */
  private drawPass(s: number, p: number, tick: number, judge: boolean): void {
    const S = this.S;
    const cap = CAP[0];
    const credit = this.credit;
    const openAt = this.openAt;
    const openUntil = this.openUntil;
    const towns = this.towns;
    const last = this.lastTown[s];
    let eligible = 0;
    let fired = false;
    let lastWaits = false;
    for (let t = 0; t < towns; t++) {
      const k = t * S + s;
      const c = credit[k] + p;
      const v = c > cap ? cap : c;
      credit[k] = v;
      if (!(v >= 1) || tick < openAt[k] || !judge) continue;
      if (tick >= openUntil[k] && !this.gatesOpen(t, s, tick, undefined)) continue;
      eligible++;
      if (t === last && !fired) {
        lastWaits = true;
        continue;
      }
      if (this.rngs.next(t) >= Math.min(1, HAZARD_BOOST * p * v)) continue;
      this.fire(t, s, k, tick);
      fired = true;
    }
    if (lastWaits && eligible === 1) {
      const k = last * S + s;
      if (this.rngs.next(last) < Math.min(1, HAZARD_BOOST * p * credit[k])) this.fire(last, s, k, tick);
    }
  }

  /**
   * Spec s's credit in every town (p added, capped), and the towns whose bucket has a whole
   * credit and may be open (`meet`: meeting objects by town, for a meet), into `eligible` in
   * town order; returns how many. Also during the
   * grace window (nothing reads them then): the loop is the same on every tick, so nothing in it
   * first runs at the first judged tick (issue #19: step deoptimised at ticks 61-63, +7-9 ms at
   * 100k, in its pass over the towns). One pass per spec: a single pass over the towns for all
   * specs was slower (0.83 against 0.66 CPU ms/step on day 7).
   */
  private creditPass(s: number, p: number, tick: number, meet: Int32Array | undefined): number {
    const S = this.S;
    const cap = CAP[0];
    const credit = this.credit;
    const openAt = this.openAt;
    const towns = this.towns;
    const cand = this.eligible;
    const skip = this.skipClosed;
    const win = this.windows;
    let nc = 0;
    for (let t = 0; t < towns; t++) {
      const k = t * S + s;
      const c = credit[k] + p;
      const v = c > cap ? cap : c;
      credit[k] = v;
      if (v >= 1 && (tick >= openAt[k] || !skip)) {
        // A meet in a town without its meeting object is never drawn; with an empty window its
        // gates change nothing but openAt (issue #19: with no such object in any town, as in the
        // bench's towns, every town's bucket filled up and was judged on every tick).
        if (meet !== undefined && skip && meet[t] === 0 && win.length(k) === 0) continue;
        cand[nc++] = t;
      }
    }
    return nc;
  }

  /**
   * Spec s's draws among the `nc` candidate towns in `eligible` (creditPass): the gates of each
   * (in town order), then the fairness rule and the hazard draw of each town whose gates are open.
   */
  private judgeSpec(s: number, p: number, nc: number, tick: number, meet: Int32Array | undefined): void {
    const S = this.S;
    const cand = this.eligible;
    let eligibleTowns = 0;
    for (let i = 0; i < nc; i++) {
      const t = cand[i];
      if (this.gatesOpen(t, s, tick, meet)) cand[eligibleTowns++] = t;
    }
    if (eligibleTowns === 0) return;
    const credit = this.credit;
    for (let i = 0; i < eligibleTowns; i++) {
      const t = cand[i];
      // Fairness across towns: the town that drew this spec last waits while another can take it.
      if (this.lastTown[s] === t && eligibleTowns > 1) continue;
      const k = t * S + s;
      const rng = this.rngs.at(t);
      const hazard = Math.min(1, HAZARD_BOOST * p * credit[k]);
      if (rng.next() >= hazard) continue;
      this.fire(t, s, k, tick);
    }
  }

  /**
   * Draws spec s's event in town t (its duration and magnitude from the town's stream, selected)
   * and starts it, consuming a credit. Its own function, not inlined into step (issue #19): the
   * draw loop is optimised long before most of what an event does first runs, and each first
   * (a kind's effect, a message) deoptimised step in the middle of its pass over the towns.
   */
  private fire(t: number, s: number, k: number, tick: number): void {
    const spec = this.table[s];
    const rng = this.rngs.at(t);
    const duration = Math.max(1, rng.intBetween(spec.duration.min, spec.duration.max));
    const magnitude = spec.magnitude.min === spec.magnitude.max ? spec.magnitude.min : rng.uniform(spec.magnitude.min, spec.magnitude.max);
    const ev = this.newEvent(t, s, false, tick, duration, magnitude);
    this.credit[k] -= 1;
    this.lastTown[s] = t;
    this.activate(ev, tick);
  }

  /** Rebuilds what is derived from the active lists (after a load): counts per town, the end queue, the total. */
  recount(): void {
    recountActive(this);
  }

  /**
   * Whether spec s may be drawn in town t now (everything but the credit); `meet`: meeting objects
   * by town. Closed by a count, a cooldown or the window: openAt says from when to look again.
   */
  private gatesOpen(t: number, s: number, tick: number, meet: Int32Array | undefined): boolean {
    const cfg = this.cfg;
    const k = t * this.S + s;
    if (this.activeLen[t] >= cfg.max_concurrent_events) {
      // Until the first of the town's events ends (a cancel clears openAt).
      const active = this.active[t];
      let first = NEVER;
      for (let i = 0; i < active.length; i++) if (active[i].ends_at < first) first = active[i].ends_at;
      this.openAt[k] = first;
      return false;
    }
    if (tick < this.cooldownUntil[k]) {
      this.openAt[k] = this.cooldownUntil[k];
      return false;
    }
    const w = this.windows;
    while (w.length(k) > 0 && w.at(k, 0) <= tick - cfg.window_ticks) w.shift(k);
    if (w.length(k) >= cfg.max_events_per_window) {
      // Until the oldest start leaves the window (pruned then, as on every tick before).
      this.openAt[k] = w.at(k, 0) + cfg.window_ticks;
      return false;
    }
    if (meet !== undefined) {
      if (meet[t] === 0) return false;
      if (!this.meets.hasCandidates(t, tick, this.agentCooldown, 2)) return false;
    } else {
      // Open until the oldest start leaves the window (or an event starts in the town).
      this.openUntil[k] = w.length(k) > 0 ? w.at(k, 0) + cfg.window_ticks : NEVER;
    }
    return true;
  }

  /** A new event of spec s (not yet pending or active). */
  newEvent(town: number, s: number, manual: boolean, startsAt: number, duration: number, magnitude: number): PEvent {
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
      // Shared, never mutated (replaced by a meet's pick, a manual event's targets): issue #19.
      agents: NO_UIDS,
      keys: spec.keys,
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
    if (spec.kind === "arranged_meet" && ev.agents.length === 0) ev.agents = this.meets.pickParticipants(t, spec, tick, this.rngs.at(t), this.agentCooldown);
    const k = t * this.S + ev.spec;
    const until = ev.ends_at + spec.cooldown + this.cfg.global_cooldown_ticks;
    if (until > this.cooldownUntil[k]) this.cooldownUntil[k] = until;
    this.windows.push(k, tick);
    this.openUntil.fill(0, t * this.S, (t + 1) * this.S);
    const agentUntil = ev.ends_at + this.cfg.per_agent_cooldown_ticks;
    for (const uid of ev.agents) {
      if ((this.agentCooldown.get(uid) ?? -1) >= agentUntil) continue;
      this.agentCooldown.set(uid, agentUntil);
      this.cooldownEnds.push(agentUntil, uid);
    }
    if (ev.agents.length > 0 && agentUntil < this.cooldownNext) this.cooldownNext = agentUntil;
    if (this.active[t] === NO_EVENTS) this.active[t] = [];
    this.active[t].push(ev);
    this.activeLen[t]++;
    this.ends.push(ev.ends_at, t);
    if (ev.ends_at < this.endNext) this.endNext = ev.ends_at;
    if (this.activeN >= 0) this.activeN++;
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
        this.meets.relocate(ev);
        break;
    }
  }

  /** Recomputes a town's prices, utilities and exit suppression from its active events. */
  applyTown(t: number): void {
    applyTownEffects(this.world, this, t, this.active[t], this.table);
  }

  /**
   * The object of town t whose id (first) or type is `location`, 0 = none. Cached per location
   * until the affordance plug-in's object list or registry changes.
   */
  meetingObject(t: number, location: string): number {
    return this.meets.meetingObject(t, location);
  }

  /** meetingObject for every town (index: town id); do not keep it across ticks. */
  meetingObjects(location: string): Int32Array {
    return this.meets.meetingObjects(location);
  }

  // ---- the service -----------------------------------------------------------------------------

  specs(): string[] {
    return this.table.map((s) => s.name);
  }

  schedule(town: number, specName: string, opts: ManualPerturbation = {}): PerturbationEventView {
    return scheduleEvent(this, town, specName, opts);
  }

  cancel(eventId: string): boolean {
    return cancelEvent(this, eventId);
  }

  view(ev: PEvent): PerturbationEventView {
    return eventView(this, ev);
  }

  activeCount(): number {
    if (this.activeN >= 0) return this.activeN;
    let n = 0;
    for (let t = 0; t < this.towns; t++) n += this.active[t].length;
    this.activeN = n;
    return n;
  }

  latestState(): PerturbationStateView {
    return stateView(this);
  }

  // ---- persistence (persist.ts) --------------------------------------------------------------------

  save(): unknown {
    return savePerturbations(this);
  }

  load(data: unknown): void {
    loadPerturbations(this, data);
  }

  hash(h: StateHasher): void {
    hashPerturbations(this, h);
  }
}
