// Names in a sharded world served by `townlet serve` (tools/serve-shards.ts): each block is its own
// World, whose telemetry and console results name towns 0..n-1, objects `key@town` (or `key` when
// the block has one town) and perturbation events `evt_N`. The served world names them globally:
// town = block's first town + local town, objects `key@<global town>`, events `evt_<block>_<N>`.
// Agent ids need nothing: every block has its own uid range, so `agent_<uid>` is already unique.
// toGlobal copies (the block publisher's own objects are never changed); toLocal turns a
// command's targets back into the block's names.
import type { BlockPlan } from "../engine/shard-blocks.ts";

/** Where a block sits in the world. */
export interface BlockFrame {
  block: number;
  /** Global id of the block's town 0. */
  offset: number;
  /** Towns of the block. */
  towns: number;
  /** Towns of the whole world. */
  worldTowns: number;
}

export function frameOf(plan: BlockPlan, worldTowns: number): BlockFrame {
  return { block: plan.index, offset: plan.townOffset, towns: plan.towns, worldTowns };
}

const AT_TOWN = /^(.+)@(\d+)$/;
const EVENT = /^evt_(\d+)$/;
const GLOBAL_EVENT = /^evt_(\d+)_(\d+)$/;
/** Keys whose string values are object ids (agent records, events, command results). */
const OBJECT_KEY = /^(holding|queued|object|object_id|.*_object)$/;
/** Keys whose mappings are keyed by town (the perturbations section). */
const TOWN_KEYED = new Set(["buckets", "last_town"]);
const TOWN_TEXT = /\btown (\d+)\b/g;

/** A block's object id as the world names it. */
export function objectToGlobal(id: string, f: BlockFrame): string {
  const m = AT_TOWN.exec(id);
  if (m) return `${m[1]}@${Number(m[2]) + f.offset}`;
  return f.worldTowns > 1 ? `${id}@${f.offset}` : id;
}

function toGlobalValue(v: unknown, key: string, f: BlockFrame): unknown {
  if (typeof v === "number") return key === "town" && Number.isInteger(v) ? v + f.offset : v;
  if (typeof v === "string") {
    const e = EVENT.exec(v);
    if (e) return `evt_${f.block}_${e[1]}`;
    if (OBJECT_KEY.test(key) || AT_TOWN.test(v)) return objectToGlobal(v, f);
    if (key === "message") return v.replace(TOWN_TEXT, (_, t: string) => `town ${Number(t) + f.offset}`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x) => toGlobalValue(x, key, f));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    const townKeyed = TOWN_KEYED.has(key);
    for (const [k, x] of Object.entries(v)) out[townKeyed && /^\d+$/.test(k) ? String(Number(k) + f.offset) : k] = toGlobalValue(x, k, f);
    return out;
  }
  return v;
}

/** Any value a block produced (a section, an event, a command's result), named as the world names things. */
export function toGlobal<T>(v: T, f: BlockFrame): T {
  return toGlobalValue(v, "", f) as T;
}

/** A collection of a telemetry payload (`agents`, `jobs`, `objects`: a mapping, or a diff of one), named globally. */
function collectionToGlobal(name: string, v: unknown, diff: boolean, f: BlockFrame): unknown {
  const recs = (m: unknown) => {
    const out: Record<string, unknown> = {};
    for (const [id, r] of Object.entries(m as Record<string, unknown>)) {
      const g = toGlobalValue(r, "", f) as Record<string, unknown>;
      const own = (r as { id?: unknown }).id;
      if (name === "objects" && typeof own === "string") g.id = objectToGlobal(own, f);
      out[name === "objects" ? objectToGlobal(id, f) : id] = g;
    }
    return out;
  };
  if (!diff) return recs(v);
  const d = v as { spawned?: unknown; changed?: unknown; removed?: string[] };
  const out: Record<string, unknown> = {};
  if (d.spawned) out.spawned = recs(d.spawned);
  if (d.changed) out.changed = recs(d.changed);
  if (d.removed) out.removed = name === "objects" ? d.removed.map((id) => objectToGlobal(id, f)) : [...d.removed];
  return out;
}

/** A block's telemetry payload (snapshot or diff) named globally: a copy. */
export function payloadToGlobal<T extends { payload_type: string }>(p: T, f: BlockFrame): T {
  const out: Record<string, unknown> = {};
  const diff = p.payload_type === "diff";
  for (const [k, v] of Object.entries(p)) {
    if (k === "agents" || k === "jobs" || k === "objects") out[k] = collectionToGlobal(k, v, diff, f);
    else if (k === "tick" || k === "seq" || k === "schema_version" || k === "payload_type" || k === "config_id" || k === "reason") out[k] = v;
    else out[k] = toGlobalValue(v, k, f);
  }
  return out as T;
}

/** The block and local town of a global town, or undefined when there is no such town. */
export function townToLocal(town: number, frames: readonly BlockFrame[]): { block: number; town: number } | undefined {
  for (const f of frames) if (town >= f.offset && town < f.offset + f.towns) return { block: f.block, town: town - f.offset };
  return undefined;
}

/** The block and local id of a global object id (`key@town`), or undefined. */
export function objectToLocal(id: string, frames: readonly BlockFrame[]): { block: number; id: string } | undefined {
  const m = AT_TOWN.exec(id);
  if (!m) return frames.length > 0 && frames[0].worldTowns === 1 ? { block: 0, id } : undefined;
  const t = townToLocal(Number(m[2]), frames);
  if (!t) return undefined;
  const f = frames[t.block];
  return { block: t.block, id: f.towns > 1 ? `${m[1]}@${t.town}` : m[1] };
}

/** The block and local id of a global event id (`evt_<block>_<N>`), or undefined. */
export function eventToLocal(id: string, blocks: number): { block: number; id: string } | undefined {
  const m = GLOBAL_EVENT.exec(id);
  if (!m || Number(m[1]) >= blocks) return undefined;
  return { block: Number(m[1]), id: `evt_${m[2]}` };
}
