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
  /** Published ids of the agents clients watch one by one, sorted. */
  readonly watched: readonly string[];
  /** The id published for an agent name (a salted hash in privacy mode). */
  publicId(name: string): string;
  /** The live agent behind a published id, or -1. */
  agentByPublicId(id: string): number;
  /** The id published for an object entity (`<id>@<town>` when there are several towns). */
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
}
