// The plug-in API. A plug-in brings config schema, components, per-town state, messages,
// a state resource, console commands and systems. The engine's own systems use exactly this.
import type { z } from "zod";
import type { ComponentDef, ComponentSchema, Columns } from "./component.ts";
import type { MessageDef, MessageFields, MessageView } from "./message.ts";
import type { Phase } from "./phases.ts";
import type { Rng, CoreStream } from "./rng.ts";
import type { ConfigSections, SectionSchemas } from "./config/sections.ts";
import type { StateHasher } from "./hash.ts";
import type { World } from "./world.ts";
import type { ResourceKey, ResourceSource } from "./resource.ts";
import type { CommandDef } from "./command.ts";
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "./telemetry.ts";
import type { ObservationFeatures } from "./observation.ts";
import type { RewardTerm } from "./reward-term.ts";

export type { CommandDef } from "./command.ts";

/** A component a plug-in uses: a shared definition or an inline schema (named by its key). */
export type ComponentDecl = ComponentDef | ComponentSchema;
export type ComponentDecls = Record<string, ComponentDecl>;
type SchemaOf<D> = D extends ComponentDef<infer S> ? S : D extends ComponentSchema ? D : never;
export type ColumnsOf<C extends ComponentDecls> = { [K in keyof C]: Columns<SchemaOf<C[K]>> };
export type DefsOf<C extends ComponentDecls> = { [K in keyof C]: ComponentDef<SchemaOf<C[K]>> };

/** State that survives snapshots and enters the state hash. */
export interface PersistentState {
  /** JSON-serialisable copy of the state. */
  save(): unknown;
  /** Replaces the state with a saved copy. */
  load(data: unknown): void;
  /** Feeds the state to the world's hash in a canonical order. */
  hash(h: StateHasher): void;
}

export function isPersistentState(x: unknown): x is PersistentState {
  return (
    typeof x === "object" &&
    x !== null &&
    typeof (x as PersistentState).save === "function" &&
    typeof (x as PersistentState).load === "function" &&
    typeof (x as PersistentState).hash === "function"
  );
}

/** What a system sees. One object per system per world, refreshed before each run. */
export interface SystemContext<Cfg = unknown, C extends ComponentDecls = ComponentDecls, T extends ComponentDecls = ComponentDecls, S = unknown>
  extends ResourceSource {
  readonly world: World;
  /** The tick being run (the first tick is 1). */
  tick: number;
  /** Live agents of every town, in entity order. Refreshed before each system runs. */
  agents: Int32Array;
  /**
   * The same agents as runs of consecutive ids, pairs [start, end): `for (let s = 0; s <
   * spans.length; s += 2) for (let eid = spans[s]; eid < spans[s + 1]; eid++)`. Fastest for
   * element-wise passes.
   */
  spans: Int32Array;
  /** Number of towns. */
  readonly towns: number;
  /** This plug-in's own config section. */
  readonly config: Cfg;
  /** Every validated config section. */
  readonly settings: ConfigSections;
  /** This plug-in's own random stream. */
  readonly rng: Rng;
  /** The engine's streams: world, events, policy. */
  readonly streams: Readonly<Record<CoreStream, Rng>>;
  /** Columns of the components this plug-in declared. */
  readonly components: ColumnsOf<C>;
  /** Definitions of those components (inline ones included), for `world.addComponent`. */
  readonly defs: DefsOf<C>;
  /** Per-town columns of the town state this plug-in declared (index: town id). */
  readonly townState: ColumnsOf<T>;
  /** This plug-in's resource (from `state`). */
  readonly state: S;
  /** Sends a message; values in the order of the message's fields. */
  send(def: MessageDef, ...values: number[]): void;
  /** Messages visible to this system now (see engine/message.ts). */
  read<F extends MessageFields>(def: MessageDef<F>): MessageView<F>;
}

export interface SystemDef<Cfg = unknown, C extends ComponentDecls = ComponentDecls, T extends ComponentDecls = ComponentDecls, S = unknown> {
  /** Unique name, by convention `<plugin>/<system>`. */
  name: string;
  phase: Phase;
  /** Public sets (groups) this system belongs to, for others to order against. */
  sets?: string[];
  /** Names of systems or sets of the same phase this one must run before / after. */
  before?: string[];
  after?: string[];
  /** Documentation only: what it reads and writes (components, messages, state). */
  reads?: string[];
  writes?: string[];
  run(ctx: SystemContext<Cfg, C, T, S>): void;
}

export interface SetupContext<Cfg = unknown, C extends ComponentDecls = ComponentDecls, T extends ComponentDecls = ComponentDecls, S = unknown>
  extends Omit<SystemContext<Cfg, C, T, S>, "tick" | "agents" | "spans"> {}

/** A config value that names another file (an affordance manifest, a perturbation file). */
export interface FileReference {
  /** Key path of the value, e.g. ["affordances", "affordances_file"]. */
  path: string[];
  /** What the file holds, for messages and `townlet validate`. */
  kind: string;
  schema: z.ZodType;
  /** "path": keep the path (made absolute); "inline": the validated content replaces it. */
  mode: "path" | "inline";
  /** Recognises a standalone document of this kind (for `townlet validate FILE`). */
  detect?(raw: unknown): boolean;
}

/** A problem a cross-section check finds: the key path it is about, and what was expected. */
export interface ConfigCheckProblem {
  /** Key path from the config's root, e.g. ["scenario", "agents", 1, "job"]. */
  path: (string | number)[];
  message: string;
}

export interface PluginDef<Cfg = unknown, C extends ComponentDecls = ComponentDecls, T extends ComponentDecls = ComponentDecls, S = unknown> {
  /** Unique plug-in name; also its random stream's name and its config section's key. */
  name: string;
  doc?: string;
  /** Schema of this plug-in's own section (key: `name`). */
  config?: z.ZodType<Cfg>;
  /** Further top-level sections this plug-in owns (the engine's systems own the guide's sections). */
  sections?: SectionSchemas;
  /** Config values that name files the loader resolves and validates. */
  files?: FileReference[];
  /**
   * Rules across sections (e.g. an agent's job must be a key of `jobs`), run by the loader once
   * every section is valid; each problem is reported at its path's line like any other.
   */
  checks?: (settings: ConfigSections) => ConfigCheckProblem[];
  components?: C;
  townState?: T;
  messages?: MessageDef[];
  /**
   * Entities this plug-in creates when a world is built (its `setup`: agents, objects), from the
   * validated settings and the number of towns. The world sums these to size every column (and
   * the resources sized from `world.components.capacity`) once, instead of growing by doubling.
   */
  entities?(settings: ConfigSections, towns: number): number;
  /** Creates this plug-in's resource for a world. A PersistentState is hashed and snapshotted. */
  state?: (world: World) => S;
  /** Resource keys this plug-in's `state` answers (see engine/resource.ts); at most one provider per key. */
  provides?: ResourceKey<unknown>[];
  /** Resources this plug-in cannot run without: a world without their provider refuses to start. */
  requires?: ResourceKey<unknown>[];
  /** Resources this plug-in uses when present (read with `optionalResource`); documentation only. */
  optional?: ResourceKey<unknown>[];
  /** Console commands on this plug-in's data (engine/command.ts); the console plug-in dispatches them. */
  commands?: CommandDef[];
  /** Runs once when a world is built or reset, after every plug-in registered, in plug-in order. */
  setup?(ctx: SetupContext<Cfg, C, T, S>): void;
  /**
   * Key figures for run summaries and telemetry (e.g. mean needs, wages paid). Called outside
   * the tick; values must be JSON-serialisable. Keys are global: two plug-ins must not share one.
   */
  kpis?(ctx: SetupContext<Cfg, C, T, S>): Record<string, unknown>;
  /**
   * This plug-in's part of the telemetry stream (engine/telemetry.ts): its top-level sections and
   * its fields of the agent, job and object records. Called by the telemetry plug-in outside the
   * tick's systems, once per publish; it must not change the world.
   */
  telemetry?(ctx: TelemetryContext<NoInfer<Cfg>, NoInfer<S>>, opts: TelemetryOptions): TelemetryPart | undefined;
  /**
   * The observation features this plug-in computes (engine/observation.ts): their names and a
   * writer of an agent's slots; the observations plug-in lays them out and calls the writers.
   */
  observations?: ObservationFeatures<NoInfer<Cfg>, NoInfer<S>>;
  /**
   * The reward terms this plug-in computes (engine/reward-term.ts): weight × a column it writes;
   * the rewards plug-in resolves them once at start-up and adds them in its pass.
   */
  rewardTerms?: RewardTerm[];
  /** Initialises this plug-in's components on every new agent (runs in plug-in order). */
  onAgentSpawn?(ctx: SetupContext<Cfg, C, T, S>, eid: number): void;
  /** Runs after every onAgentSpawn and the caller's `init` values: the agent is complete. */
  onAgentReady?(ctx: SetupContext<Cfg, C, T, S>, eid: number): void;
  /** Cleans up this plug-in's own state before an agent is removed. */
  onAgentRemove?(ctx: SetupContext<Cfg, C, T, S>, eid: number): void;
  /** Cleans up before an entity that is not an agent (an object, ...) is removed; its columns still hold its values. */
  onEntityRemove?(ctx: SetupContext<Cfg, C, T, S>, eid: number): void;
  /**
   * Runs after a snapshot was restored (columns, kernel and every PersistentState loaded), in
   * plug-in order: rebuild derived data that is not PersistentState (indexes, caches) here.
   */
  onLoad?(ctx: SetupContext<Cfg, C, T, S>): void;
  systems?: SystemDef<Cfg, C, T, S>[];
}

/** Identity function that gives a plug-in its types. */
export function definePlugin<Cfg = unknown, C extends ComponentDecls = {}, T extends ComponentDecls = {}, S = undefined>(
  def: PluginDef<Cfg, C, T, S>,
): PluginDef<Cfg, C, T, S> {
  return def;
}

// A plug-in of any shape, as the world stores them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlugin = PluginDef<any, any, any, any>;
