// The telemetry hook's shapes (`PluginDef.telemetry`): what the telemetry plug-in hands each
// plug-in when it publishes, and what a plug-in gives back (its sections and its fields of the
// agent, job and object records). The telemetry plug-in only collects, diffs and sends them.
import type { ConfigSections } from "./config/sections.ts";
import type { ResourceSource } from "./resource.ts";
import type { World } from "./world.ts";

/** What a plug-in's `telemetry` hook reads: the world, its own config section and its own state. */
export interface TelemetryContext<Cfg = unknown, S = unknown> extends ResourceSource {
  readonly world: World;
  readonly config: Cfg;
  readonly settings: ConfigSections;
  readonly state: S;
}

/** What the telemetry dispatcher tells a plug-in's `telemetry` hook, once per publish. */
export interface TelemetryOptions {
  /** "full": every agent is published; "aggregate": aggregates plus the agents and towns clients watch. */
  readonly mode: "full" | "aggregate";
  /** telemetry.stream.max_towns_listed: per-town lists longer than this are cut or left out. */
  readonly maxTownsListed: number;
  /** Publish figures per town (`towns_overview`; townlet serve turns it on for the observer). */
  readonly townOverview: boolean;
  /** world.kpis() of this publish (computed once for every part). */
  readonly kpis: Readonly<Record<string, unknown>>;
  /** Published ids of the agents clients watch one by one, sorted. */
  readonly watched: readonly string[];
  /** The id published for an agent name (a salted hash in privacy mode). */
  publicId(name: string): string;
  /** The live agent behind a published id, or -1. */
  agentByPublicId(id: string): number;
  /** The id published for an object entity (`<id>@<town>` when there are several towns); "" for an entity that is not an object. */
  objectId(eid: number): string;
}

type Rec = Record<string, unknown>;

/**
 * One plug-in's part of the telemetry stream. Every member is optional. Sections several
 * plug-ins fill (`aggregates`, `layout`, `towns_overview`) are merged key by key; the dispatcher
 * orders keys as the wire schema lists them (systems/telemetry/schema.ts), others after.
 */
export interface TelemetryPart {
  /** Top-level sections by name (values JSON-serialisable; undefined values are left out). */
  sections?(): Rec | undefined;
  /** Writes this plug-in's fields of one live agent into its `agents` and `jobs` records. */
  agent?(eid: number, agent: Rec, job: Rec): void;
  /** The `objects` records this plug-in publishes, by object id; `only`: towns set to 1 in it. */
  objects?(only?: Uint8Array): Map<string, Rec>;
  /**
   * How events publish the integer message fields this plug-in gives meaning to, by field name
   * (`job`: the job's name for its index). Called with the value and the message's name; its
   * result is published instead of the number, unless it is undefined (then the number stays).
   * One plug-in per field name.
   */
  readonly eventFields?: Readonly<Record<string, EventField>>;
}

/** A message field's published value (see TelemetryPart.eventFields). */
export type EventField = (value: number, message: string) => unknown;

/** A value rounded to 4 decimals, as the stream publishes fractions. */
export const round4 = (v: number): number => Math.round(v * 1e4) / 1e4;

/** Live agents per town (index: town id). */
export function agentsPerTown(towns: number, agents: Int32Array, townId: ArrayLike<number>): number[] {
  const out = new Array<number>(towns).fill(0);
  for (let i = 0; i < agents.length; i++) out[townId[agents[i]]]++;
  return out;
}

/** Per-town means of `sums` over `counts`, rounded to `1 / scale` (0 for a town without agents). */
export function townMeans(sums: Float64Array, counts: readonly number[], scale: number): number[] {
  return Array.from(sums, (v, t) => (counts[t] ? Math.round((v / counts[t]) * scale) / scale : 0));
}
