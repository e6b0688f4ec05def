// What one client sees of the published state: its snapshot's collections and each diff filtered
// to its subscriptions (aggregate mode: agents one by one, and whole towns).
import type { World } from "../../engine/world.ts";
import type { TelemetryPart } from "../../engine/telemetry.ts";
import { SCHEMA_VERSION, type DiffPayloadT, type AgentRecordT, type JobRecordT, type ObjectRecordT } from "./schema.ts";
import { mergeSections, RecordBuilder, type CollectionDiff } from "./dispatch.ts";

export type Collection = "agents" | "jobs" | "objects";
type Rec = Record<string, unknown>;

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

/** The publisher's copy of the collections, with what a client's filter needs beside them. */
export interface PublishedCollections {
  coll: Record<Collection, Map<string, Rec>>;
  /** Town of each agent or object that left the published state at the last publish. */
  goneTown: { agents: Map<string, number>; objects: Map<string, number> };
  /** Records of agents and objects watched since the last publish, read when they were subscribed to. */
  early: Map<string, { agent: AgentRecordT; job: JobRecordT }>;
  earlyObjects: Map<string, ObjectRecordT>;
}

/** Town of a published agent, or of one that left at the last publish; -1 when unknown. */
export function agentTown(c: PublishedCollections, id: string): number {
  const t = c.coll.agents.get(id)?.town;
  return typeof t === "number" ? t : (c.goneTown.agents.get(id) ?? -1);
}

export function objectTown(c: PublishedCollections, id: string): number {
  const t = c.coll.objects.get(id)?.town;
  return typeof t === "number" ? t : (c.goneTown.objects.get(id) ?? -1);
}

/** The collections a client sees: everything (`subs` null), or its agents and towns. */
export function pickCollections(c: PublishedCollections, subs: ReadonlySet<string> | null, towns?: ReadonlySet<number>): Record<Collection, Record<string, Rec>> {
  const inTown = (t: unknown) => towns !== undefined && typeof t === "number" && towns.has(t);
  const pick = (name: Collection) => {
    const out: Record<string, Rec> = {};
    for (const [id, r] of c.coll[name]) {
      if (subs === null || (name === "objects" ? inTown(r.town) : subs.has(id) || inTown(agentTown(c, id)))) out[id] = r;
    }
    if (subs !== null && name !== "objects") {
      for (const [id, r] of c.early) if ((subs.has(id) || inTown(r.agent.town)) && !(id in out)) out[id] = name === "agents" ? r.agent : r.job;
    }
    if (subs !== null && name === "objects") {
      for (const [id, r] of c.earlyObjects) if (inTown(r.town) && !(id in out)) out[id] = r;
    }
    return out;
  };
  return { agents: pick("agents"), jobs: pick("jobs"), objects: pick("objects") };
}

/** The diff as one aggregate-mode client sees it (its subscriptions only: agents, and towns). */
export function filterDiff(c: PublishedCollections, diff: DiffPayloadT, subs: ReadonlySet<string>, towns?: ReadonlySet<number>): DiffPayloadT {
  const out: Rec = { ...diff };
  const inTown = (t: number) => towns !== undefined && towns.has(t);
  const sees = {
    agents: (id: string) => subs.has(id) || inTown(agentTown(c, id)),
    jobs: (id: string) => subs.has(id) || inTown(agentTown(c, id)),
    objects: (id: string) => inTown(objectTown(c, id)),
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

/**
 * The console's `telemetry_snapshot`: per-agent job and economy payloads and the employment
 * queue, read from the world now (every agent, or `agents`), in the original's shapes.
 */
export function consoleSnapshotOf(
  w: World,
  parts: readonly { plugin: string; part: TelemetryPart }[],
  ids: { publicId(name: string): string; agentByPublicId(id: string): number },
  configId: string,
  agents?: readonly string[],
): Rec {
  const records = new RecordBuilder(parts);
  const jobs: Record<string, JobRecordT> = {};
  const list: number[] = [];
  const unknown: string[] = [];
  if (agents) {
    for (const id of agents) {
      const eid = w.agentEid(id) >= 0 ? w.agentEid(id) : ids.agentByPublicId(id);
      if (eid >= 0) list.push(eid);
      else unknown.push(id);
    }
  } else list.push(...w.agents);
  for (const eid of list) jobs[ids.publicId(w.agentName(eid))] = records.build(eid).job as JobRecordT;
  const sections = mergeSections(parts);
  return {
    schema_version: SCHEMA_VERSION,
    tick: w.tick,
    config_id: configId,
    jobs,
    economy: sections.get("economy"),
    employment: sections.get("employment"),
    queue_metrics: sections.get("queue_metrics"),
    embedding_metrics: sections.get("embedding_metrics"),
    ...(unknown.length ? { unknown_agents: unknown } : {}),
  };
}

/** Published top-level sections, each with its JSON (what the last diff sent). */
export type SectionCopies = Map<string, { value: unknown; json: string }>;

/** Puts section `k` into `diff.changes` and the copies when its JSON differs from what was published (the publisher's and the sharded stream's rule). */
export function putSection(copies: SectionCopies, diff: DiffPayloadT, k: string, v: unknown): void {
  const json = JSON.stringify(v);
  const prev = copies.get(k);
  if (!prev || prev.json !== json) {
    (diff.changes as Rec)[k] = v;
    copies.set(k, { value: v, json });
  }
}

/** Drops the published sections that `keep` no longer has, listing them in `diff.removed`. */
export function dropSections(copies: SectionCopies, diff: DiffPayloadT, keep: (k: string) => boolean): void {
  for (const k of [...copies.keys()]) {
    if (!keep(k)) {
      copies.delete(k);
      diff.removed.push(k);
    }
  }
}
