// The telemetry dispatcher's side of the plug-ins' `telemetry` hooks: it asks every plug-in for
// its part (engine/telemetry.ts), merges the sections several plug-ins fill, orders keys as the
// wire schema lists them (schema.ts: a client sees the same bytes whichever plug-in wrote a
// field), and builds the agent, job and object records from the plug-ins' fields.
import type { World } from "../../engine/world.ts";
import type { AnyPlugin } from "../../engine/plugin.ts";
import { Town } from "../../engine/core-components.ts";
import { agentsPerTown, type EventField, type TelemetryContext, type TelemetryOptions, type TelemetryPart } from "../../engine/telemetry.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { AgentRecord, Aggregates, JobRecord, Layout, StateSections, TownsOverview } from "./schema.ts";

type Rec = Record<string, unknown>;

const keysOf = (schema: { shape: Record<string, unknown> }): readonly string[] => Object.keys(schema.shape);

/** Top-level sections in the schema's order; sections it does not list follow in plug-in order. */
const SECTION_ORDER = Object.keys(StateSections);
/** Key order inside the sections several plug-ins fill. */
const MERGED_ORDER: Readonly<Record<string, readonly string[]>> = {
  aggregates: keysOf(Aggregates),
  layout: keysOf(Layout),
  towns_overview: keysOf(TownsOverview),
};
const AGENT_KEYS = keysOf(AgentRecord);
const JOB_KEYS = keysOf(JobRecord);

/** `obj`'s keys in `order` first, then the rest as they came. */
function ordered(obj: Rec, order: readonly string[]): Rec {
  const out: Rec = {};
  for (const k of order) if (k in obj) out[k] = obj[k];
  for (const k in obj) if (!(k in out)) out[k] = obj[k];
  return out;
}

const isPlain = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v);

/** Every plug-in's part (its `telemetry` hook), in plug-in order. */
export function collectParts(world: World, opts: TelemetryOptions): { plugin: string; part: TelemetryPart }[] {
  const out: { plugin: string; part: TelemetryPart }[] = [];
  for (const plugin of world.plugins as readonly AnyPlugin[]) {
    if (!plugin.telemetry) continue;
    const ctx: TelemetryContext = {
      world,
      config: (world.settings as unknown as Record<string, unknown>)[plugin.name],
      settings: world.settings,
      state: plugin.state ? world.state(plugin.name) : undefined,
      resource: (key) => world.resource(key),
      optionalResource: (key) => world.optionalResource(key),
    };
    const part = plugin.telemetry(ctx, opts);
    if (part) out.push({ plugin: plugin.name, part });
  }
  return out;
}

/**
 * The sections of every part, merged and ordered. A section two plug-ins give is merged key by
 * key when both are objects; a key given twice is an error naming both plug-ins.
 */
export function mergeSections(parts: readonly { plugin: string; part: TelemetryPart }[]): Map<string, unknown> {
  const got = new Map<string, unknown>();
  const owner = new Map<string, string>();
  const put = (plugin: string, name: string, v: unknown) => {
    if (v === undefined) return;
    const prev = got.get(name);
    if (prev === undefined) {
      got.set(name, v);
      owner.set(name, plugin);
      return;
    }
    if (!isPlain(prev) || !isPlain(v)) throw new Error(`telemetry section "${name}" is given by plug-ins "${owner.get(name)}" and "${plugin}"`);
    for (const k of Object.keys(v)) {
      if (k in prev) throw new Error(`telemetry field "${name}.${k}" is given twice (second time by plug-in "${plugin}")`);
    }
    got.set(name, { ...prev, ...v });
  };
  for (const { plugin, part } of parts) {
    const s = part.sections?.();
    if (s) for (const [name, v] of Object.entries(s)) put(plugin, name, v);
  }
  const out = new Map<string, unknown>();
  for (const name of SECTION_ORDER) if (got.has(name)) out.set(name, got.get(name));
  for (const [name, v] of got) if (!out.has(name)) out.set(name, v);
  for (const [name, order] of Object.entries(MERGED_ORDER)) {
    const v = out.get(name);
    if (isPlain(v)) out.set(name, ordered(v, order));
  }
  return out;
}

/**
 * Builds agent and job records from the plug-ins' `agent` writers. Records start from a template
 * with the schema's keys in order (so the bytes do not depend on plug-in order); keys no
 * plug-in wrote are dropped after the first record.
 */
export class RecordBuilder {
  private agentTpl: Rec;
  private jobTpl: Rec;
  private pruned = false;
  private readonly writers: NonNullable<TelemetryPart["agent"]>[];

  constructor(parts: readonly { part: TelemetryPart }[]) {
    this.writers = parts.flatMap(({ part }) => (part.agent ? [part.agent] : []));
    this.agentTpl = Object.fromEntries(AGENT_KEYS.map((k) => [k, undefined]));
    this.jobTpl = Object.fromEntries(JOB_KEYS.map((k) => [k, undefined]));
  }

  build(eid: number): { agent: Rec; job: Rec } {
    let agent: Rec = { ...this.agentTpl };
    let job: Rec = { ...this.jobTpl };
    for (let i = 0; i < this.writers.length; i++) this.writers[i](eid, agent, job);
    if (!this.pruned) {
      this.pruned = true;
      this.agentTpl = prune(this.agentTpl, agent);
      this.jobTpl = prune(this.jobTpl, job);
      agent = dropUndefined(agent);
      job = dropUndefined(job);
    }
    return { agent, job };
  }
}

function prune(tpl: Rec, sample: Rec): Rec {
  const out: Rec = {};
  for (const k in tpl) if (sample[k] !== undefined) out[k] = undefined;
  return out;
}

function dropUndefined(r: Rec): Rec {
  const out: Rec = {};
  for (const k in r) if (r[k] !== undefined) out[k] = r[k];
  return out;
}

/** The objects records of every part that publishes objects, merged in plug-in order. */
export function objectRecords(parts: readonly { part: TelemetryPart }[], only?: Uint8Array): Map<string, Rec> {
  let out: Map<string, Rec> | undefined;
  for (const { part } of parts) {
    if (!part.objects) continue;
    const m = part.objects(only);
    if (!out) out = m;
    else for (const [id, r] of m) out.set(id, r);
  }
  return out ?? new Map();
}

/** The publishers of integer event fields of every part, by field name; a name given twice is an error naming both plug-ins. */
export function eventFieldsOf(parts: readonly { plugin: string; part: TelemetryPart }[]): Map<string, EventField> {
  const out = new Map<string, EventField>();
  const owner = new Map<string, string>();
  for (const { plugin, part } of parts) {
    for (const [name, fn] of Object.entries(part.eventFields ?? {})) {
      const prior = owner.get(name);
      if (prior !== undefined) throw new Error(`telemetry event field "${name}" is published by plug-ins "${prior}" and "${plugin}"`);
      owner.set(name, plugin);
      out.set(name, fn);
    }
  }
  return out;
}

/** The telemetry plug-in's own part: the mode, the towns, the kpis, the layout's grid and day, agents per town, added sections. */
export function ownPart(w: World, opts: TelemetryOptions, extra: ReadonlyMap<string, (world: World) => unknown>, layout: Rec): TelemetryPart {
  const townId = w.columns(Town).id;
  return {
    sections: () => {
      const agents = w.agents;
      const out: Rec = { mode: opts.mode, towns: w.towns, kpis: opts.kpis, layout };
      const byTown = agentsPerTown(w.towns, agents, townId);
      out.aggregates = { agents: agents.length, ...(w.towns <= opts.maxTownsListed ? { by_town: byTown } : {}) };
      if (opts.townOverview) out.towns_overview = { agents: byTown };
      for (const [name, fn] of extra) {
        const v = fn(w);
        if (v !== undefined) out[name] = v;
      }
      return out;
    },
    agent: (eid, agent) => {
      agent.town = townId[eid];
    },
  };
}

/**
 * The engine's part of what does not change during a run: grid size and the day (engine/clock.ts).
 * The rest of `layout` is the plug-ins': workplaces (employment), perturbation specs, needs.
 */
export function layoutOf(w: World): Rec {
  const settings = w.settings as Partial<World["settings"]>;
  const [width, height] = settings.world?.grid_size ?? [0, 0];
  return { grid: { width, height }, ticks_per_day: ticksPerDay(w.settings) };
}

// ---- diffs ------------------------------------------------------------------------------------------

export type CollectionDiff = { spawned?: Record<string, Rec>; changed?: Record<string, Rec>; removed?: string[] };

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

export function diffCollection(prev: Map<string, Rec>, next: Map<string, Rec>): CollectionDiff | undefined {
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

export function once(fn: () => string): () => string {
  let v: string | undefined;
  return () => (v ??= fn());
}
