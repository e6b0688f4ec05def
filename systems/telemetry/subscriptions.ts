// What clients of an aggregate-mode stream subscribed to (the publisher's part): agents by
// published id and whole towns, each with a reference count, and the records of those watched
// since the last publish (read when subscribed to, so the subscriber's snapshot holds them).
// Reads the world through the plug-ins' parts; writes nothing in the world.
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import type { TelemetryPart } from "../../engine/telemetry.ts";
import type { AgentIds } from "./identities.ts";
import type { Collection } from "./views.ts";
import { objectRecords, RecordBuilder } from "./dispatch.ts";
import type { AgentRecordT, JobRecordT, ObjectRecordT } from "./schema.ts";

type Rec = Record<string, unknown>;
type Parts = { plugin: string; part: TelemetryPart }[];

export class Subscriptions {
  /** Agents clients subscribed to, by published id, with a reference count. */
  readonly agents = new Map<string, number>();
  /** Towns clients subscribed to (every agent and object of the town), with a reference count. */
  readonly towns = new Map<number, number>();
  /** Records of agents watched since the last publish, read when they were subscribed to. */
  readonly early = new Map<string, { agent: AgentRecordT; job: JobRecordT }>();
  /** Objects of towns watched since the last publish, read when they were subscribed to. */
  readonly earlyObjects = new Map<string, ObjectRecordT>();

  /** `published`: the publisher's copy of the collections (what is published already needs no early record). */
  constructor(
    private readonly world: World,
    private readonly ids: AgentIds,
    private readonly published: Readonly<Record<Collection, Map<string, Rec>>>,
  ) {}

  /** The watched agents' ids, sorted. */
  agentIds(): string[] {
    return [...this.agents.keys()].sort();
  }

  /** 1 per town some client watches (undefined when none). */
  townMask(): Uint8Array | undefined {
    if (this.towns.size === 0) return undefined;
    const m = new Uint8Array(this.world.towns);
    for (const t of this.towns.keys()) if (t < m.length) m[t] = 1;
    return m;
  }

  /**
   * The agents an aggregate-mode publish holds, handed to `put`: those of watched towns first, in
   * entity order; then agents watched one by one (sorted ids) that `has` does not hold yet. Ids
   * that name no live agent any more are dropped.
   */
  selectAgents(put: (eid: number) => void, has: (id: string) => boolean): void {
    const towns = this.townMask();
    if (towns) {
      const townId = this.world.columns(Town).id;
      const agents = this.world.agents;
      for (let i = 0; i < agents.length; i++) if (towns[townId[agents[i]]] === 1) put(agents[i]);
    }
    for (const id of this.agentIds()) {
      const eid = this.ids.agentByPublicId(id);
      if (eid < 0) this.agents.delete(id);
      else if (!has(id)) put(eid);
    }
  }

  /** Forgets the early records (the publish that just ran took them in). */
  clearEarly(): void {
    this.early.clear();
    this.earlyObjects.clear();
  }

  /**
   * Adds towns to the watched set. `read` (aggregate mode only) gives the parts to read the
   * fresh towns' agents and objects now. Returns the towns that do not exist.
   */
  watchTowns(towns: readonly number[], read: (() => Parts) | undefined): number[] {
    const bad: number[] = [];
    const fresh: number[] = [];
    for (const t of towns) {
      if (!Number.isInteger(t) || t < 0 || t >= this.world.towns) {
        bad.push(t);
        continue;
      }
      if (!this.towns.has(t)) fresh.push(t);
      this.towns.set(t, (this.towns.get(t) ?? 0) + 1);
    }
    if (read && fresh.length > 0) {
      const parts = read();
      const records = new RecordBuilder(parts);
      const townId = this.world.columns(Town).id;
      const mask = new Uint8Array(this.world.towns);
      for (const t of fresh) mask[t] = 1;
      const agents = this.world.agents;
      for (let i = 0; i < agents.length; i++) {
        const eid = agents[i];
        if (mask[townId[eid]] !== 1) continue;
        const id = this.ids.publicId(this.world.agentName(eid));
        if (!this.published.agents.has(id)) this.early.set(id, records.build(eid) as { agent: AgentRecordT; job: JobRecordT });
      }
      for (const [id, r] of objectRecords(parts, mask)) if (!this.published.objects.has(id)) this.earlyObjects.set(id, r as ObjectRecordT);
    }
    return bad;
  }

  unwatchTowns(towns: readonly number[]): void {
    for (const t of towns) {
      const n = (this.towns.get(t) ?? 0) - 1;
      if (n <= 0) this.towns.delete(t);
      else this.towns.set(t, n);
    }
  }

  /**
   * Adds agents to the watched set. `read` (aggregate mode only) gives the parts to read their
   * records now. Returns ids that name no live agent.
   */
  watch(ids: readonly string[], read: (() => Parts) | undefined): string[] {
    const unknown: string[] = [];
    const records = read ? new RecordBuilder(read()) : undefined;
    for (const id of ids) {
      const eid = this.ids.agentByPublicId(id);
      if (eid < 0) {
        unknown.push(id);
        continue;
      }
      this.agents.set(id, (this.agents.get(id) ?? 0) + 1);
      if (records && !this.published.agents.has(id)) this.early.set(id, records.build(eid) as { agent: AgentRecordT; job: JobRecordT });
    }
    return unknown;
  }

  unwatch(ids: readonly string[]): void {
    for (const id of ids) {
      const n = (this.agents.get(id) ?? 0) - 1;
      if (n <= 0) this.agents.delete(id);
      else this.agents.set(id, n);
    }
  }
}
