// Arranged meets: who may join (off per-agent cooldown, not running an affordance), who is
// picked (the town's top rival pair, filled up randomly), the meeting object of each town (by
// object id, else type; cached) and moving the participants beside it.
import type { World } from "../../engine/world.ts";
import type { Rng } from "../../engine/rng.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { Position } from "../../components/space.ts";
import { Obj } from "../../components/objects.ts";
import { Activity, Option } from "../../components/activity.ts";
import { STEPS, SpaceKey } from "../../components/grid.ts";
import { ArrangedMeetRelocated, PerturbationArrangedMeet } from "../../components/messages.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { SocialKey } from "../../components/social.ts";
import { ObservationsKey } from "../../components/observations.ts";
import type { PEvent, Spec } from "./spec.ts";

/** The arranged meets of a world's scheduler, with their per-tick and per-location caches (not state). */
export class ArrangedMeets {
  private byTownTick = -1;
  private readonly hasAffordances: boolean;
  private meetCache = new Map<string, Int32Array>();
  private meetObjects: unknown;
  private meetCount = -1;
  private meetRegistry: unknown;
  private noObjects: Int32Array | undefined;

  constructor(
    private readonly world: World,
    private readonly towns: number,
  ) {
    this.hasAffordances = world.hasPlugin("affordances");
  }

  /** Forgets the caches (after a load). */
  reset(): void {
    this.byTownBuilt = false;
    this.meetCache.clear();
  }

  /**
   * Live agents by town, in agent-list order, rebuilt once per tick when needed: town t's are
   * townAgents[townStart[t]..townStart[t + 1]) (a counting sort into reused typed arrays; issue
   * #19: an array per town every tick was ~0.5 ms and 12,500 arrays of garbage at 100k agents).
   */
  private townStart = new Int32Array(0);
  private townAgents = new Int32Array(0);

  private byTown(tick: number): void {
    if (this.byTownTick === tick && this.byTownBuilt) return;
    const agents = this.world.agents;
    const town = this.world.columns(Town).id;
    const T = this.towns;
    if (this.townStart.length < T + 1) this.townStart = new Int32Array(T + 1);
    if (this.townAgents.length < agents.length) this.townAgents = new Int32Array(Math.max(16, Math.ceil(agents.length * 1.25)));
    this.byTownTick = tick;
    this.byTownBuilt = true;
    countingSortByTown(agents, town, T, this.townStart, this.townAgents);
  }
  private byTownBuilt = false;

  /** Whether agent eid may join a meet now: off per-agent cooldown, not running an affordance. */
  private free(eid: number, tick: number, uid: Uint32Array, running: Int16Array | undefined, agentCooldown: ReadonlyMap<number, number>): boolean {
    // The running check first (a column read): in busy hours most agents fail it without a map lookup (issue #19).
    if (running !== undefined && running[eid] >= 0) return false;
    return !(agentCooldown.size > 0 && (agentCooldown.get(uid[eid]) ?? -1) > tick);
  }

  /** Agents of t that may join a meet: off per-agent cooldown, not running an affordance. */
  candidates(t: number, tick: number, agentCooldown: ReadonlyMap<number, number>): number[] {
    const w = this.world;
    const uid = w.columns(Agent).uid;
    const running = w.components.isRegistered(Activity) ? w.columns(Activity).running : undefined;
    const out: number[] = [];
    this.byTown(tick);
    const ids = this.townAgents;
    for (let i = this.townStart[t]; i < this.townStart[t + 1]; i++) if (this.free(ids[i], tick, uid, running, agentCooldown)) out.push(ids[i]);
    return out;
  }

  /** Whether town t has at least `need` candidates (candidates(...).length >= need, without the list). */
  hasCandidates(t: number, tick: number, agentCooldown: ReadonlyMap<number, number>, need: number): boolean {
    const w = this.world;
    const uid = w.columns(Agent).uid;
    const running = w.components.isRegistered(Activity) ? w.columns(Activity).running : undefined;
    this.byTown(tick);
    const ids = this.townAgents;
    let n = 0;
    for (let i = this.townStart[t]; i < this.townStart[t + 1] && n < need; i++) if (this.free(ids[i], tick, uid, running, agentCooldown)) n++;
    return n >= need;
  }

  /** Participants (uids): the town's top rival pair (target top_rivals), else a random set; filled up randomly. */
  pickParticipants(t: number, spec: Spec, tick: number, rng: Rng, agentCooldown: ReadonlyMap<number, number>): number[] {
    const w = this.world;
    const pool = this.candidates(t, tick, agentCooldown);
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
        const base = ledger.base(eid);
        if (base < 0) continue;
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

  /** Moves an arranged meet's participants beside its meeting object (perturbation_arranged_meet, arranged_meet_relocated). */
  relocate(ev: PEvent): void {
    const w = this.world;
    const t = ev.town;
    let obj = this.meetingObject(t, ev.location);
    if (obj !== 0 && !w.components.has(Obj, obj)) {
      // The object list changed under the cache (a removal and an addition): look again.
      this.meetCache.clear();
      obj = this.meetingObject(t, ev.location);
    }
    const eids: number[] = [];
    for (const u of ev.agents) {
      const eid = this.eidInTown(u, t, ev.starts_at);
      if (eid > 0) eids.push(eid);
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
      if (space && (!space.inBounds(x, y) || space.objectAt(t, x, y) !== 0)) continue;
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

  /**
   * The live agent of town t with this uid at `tick`, -1 = none: eidOfUid's agent when it lives in
   * t, looked up among t's agents only (issue #19: relocate scanned every agent of the world for
   * each participant, ~35% of the scheduler in a meet-heavy 1,250-town world).
   */
  private eidInTown(u: number, t: number, tick: number): number {
    const uid = this.world.columns(Agent).uid;
    this.byTown(tick);
    const ids = this.townAgents;
    for (let i = this.townStart[t]; i < this.townStart[t + 1]; i++) if (uid[ids[i]] === u) return ids[i];
    return -1;
  }

  /** The live agent with this uid, -1 = none. */
  eidOfUid(u: number): number {
    const uid = this.world.columns(Agent).uid;
    const agents = this.world.agents;
    for (let i = 0; i < agents.length; i++) if (uid[agents[i]] === u) return agents[i];
    return -1;
  }
}

/** Marks a context reset through the observations service when present. */
function requestContextReset(world: World, eid: number): void {
  world.optionalResource(ObservationsKey)?.requestContextReset?.(eid);
}

/** Agents grouped by town (stable: agent-list order within a town) into start/out. */
function countingSortByTown(agents: Int32Array, town: Uint32Array, towns: number, start: Int32Array, out: Int32Array): void {
  start.fill(0, 0, towns + 1);
  for (let i = 0; i < agents.length; i++) start[town[agents[i]] + 1]++;
  for (let t = 0; t < towns; t++) start[t + 1] += start[t];
  // start[t] is now town t's first slot; fill, advancing start[t], then shift back.
  for (let i = 0; i < agents.length; i++) {
    const eid = agents[i];
    out[start[town[eid]]++] = eid;
  }
  for (let t = towns; t > 0; t--) start[t] = start[t - 1];
  start[0] = 0;
}
