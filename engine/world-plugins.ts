// How the world holds its plug-ins (engine/world.ts): each system's runnable entry and context,
// inline component definitions, the plug-ins' own random streams, and the table of plug-in
// states and the resources they provide.
import { defineComponent, isComponentDef, type Column, type ComponentDef, type ComponentSchema } from "./component.ts";
import type { ComponentDecls } from "./plugin.ts";
import type { MessageDef, MessageFields, MessageView } from "./message.ts";
import type { Phase } from "./phases.ts";
import type { AnyPlugin, SystemContext, SystemDef } from "./plugin.ts";
import type { CoreStream, Rng } from "./rng.ts";
import { ResourceError, type ResourceKey } from "./resource.ts";
import type { World } from "./world.ts";

/** A system as the schedule runs it: its definition, its plug-in and its context. */
export interface RunnableSystem {
  name: string;
  phase: Phase;
  sets?: string[];
  before?: string[];
  after?: string[];
  plugin: string;
  def: SystemDef;
  ctx: MutableContext;
}

/** A system or plug-in context whose tick, agents, spans and phase the world updates. */
export type MutableContext = SystemContext & { tick: number; agents: Int32Array; spans: Int32Array; phase: number };

/** A plug-in and its own context (setup, hooks, kpis). */
export interface PluginRuntime {
  plugin: AnyPlugin;
  ctx: MutableContext;
}

/** Inline component schemas get one definition per plug-in object, shared by all its worlds. */
const inlineDefs = new WeakMap<object, Map<string, ComponentDef>>();
export function resolveDecl(plugin: AnyPlugin, key: string, decl: ComponentDef | ComponentSchema): ComponentDef {
  if (isComponentDef(decl)) return decl;
  let m = inlineDefs.get(plugin);
  if (!m) inlineDefs.set(plugin, (m = new Map()));
  let d = m.get(key);
  if (!d) m.set(key, (d = defineComponent(key, decl)));
  return d;
}

/** A plug-in's own random stream is named `plugin:<name>`, apart from the engine's streams. */
export function pluginStreamName(plugin: string): string {
  return `plugin:${plugin}`;
}

/** What a plug-in's contexts share: its config, streams, columns and town state. */
export interface ContextParts {
  config: unknown;
  rng: Rng;
  streams: Record<CoreStream, Rng>;
  components: Record<string, Record<string, Column>>;
  defs: Record<string, ComponentDef>;
  townState: Record<string, Record<string, Column>>;
}

/** A context of `world` for a plug-in's setup/hooks or one of its systems (agents: empty until the world sets them). */
export function makeSystemContext(world: World, parts: ContextParts, state?: unknown): MutableContext {
  const ctx: MutableContext = {
    world,
    tick: 0,
    phase: 0,
    agents: new Int32Array(0),
    spans: new Int32Array(0),
    towns: world.towns,
    config: parts.config,
    settings: world.settings,
    rng: parts.rng,
    streams: parts.streams,
    components: parts.components as never,
    defs: parts.defs as never,
    townState: parts.townState as never,
    state,
    // Fixed arity, no rest array: a message of up to 8 fields allocates nothing (arguments.length
    // is read without making the arguments object once optimised); more goes through an array.
    send(def: MessageDef, a?: number, b?: number, c?: number, d?: number, e?: number, f?: number, g?: number, h?: number) {
      const n = arguments.length - 1;
      // eslint-disable-next-line prefer-rest-params
      if (n > 8) world.messages.channel(def).push(Array.prototype.slice.call(arguments, 1) as number[]);
      else world.messages.channel(def).pushN(n, a, b, c, d, e, f, g, h);
    },
    read<F extends MessageFields>(def: MessageDef<F>): MessageView<F> {
      return world.messages.channel(def).read(ctx.phase);
    },
    resource<R>(key: ResourceKey<R>): R {
      return world.resource(key);
    },
    optionalResource<R>(key: ResourceKey<R>): R | undefined {
      return world.optionalResource(key);
    },
  };
  return ctx;
}

/** The plug-ins' states by plug-in name, and the resources they provide. */
export class PluginStates {
  /** State by plug-in name. */
  readonly states = new Map<string, unknown>();
  /** Providing plug-in's state by resource name (from the plug-ins' `provides`). */
  private readonly resources = new Map<string, unknown>();
  /** Providing plug-in's name by resource name. */
  private readonly providers = new Map<string, string>();

  /**
   * Records a plug-in's state and maps the resources it provides to it, as soon as the state
   * exists (so later plug-ins' `state` factories can read them, as they could read earlier
   * states). A resource provided twice fails naming both plug-ins.
   */
  add(plugin: AnyPlugin, st: unknown): void {
    this.states.set(plugin.name, st);
    for (const key of plugin.provides ?? []) {
      const prior = this.providers.get(key.name);
      if (prior !== undefined) throw new ResourceError(`resource "${key.name}" is provided twice (plug-ins "${prior}" and "${plugin.name}")`);
      this.providers.set(key.name, plugin.name);
      this.resources.set(key.name, st);
    }
  }

  /** Every `requires` needs a provider: one missing fails at start naming both plug-ins. */
  checkRequires(plugins: readonly AnyPlugin[]): void {
    for (const p of plugins) {
      for (const key of p.provides ?? []) {
        if (!this.states.has(p.name)) throw new ResourceError(`plug-in "${p.name}" provides resource "${key.name}" but has no state`);
      }
      for (const key of p.requires ?? []) {
        if (this.providers.has(key.name)) continue;
        throw new ResourceError(
          `plug-in "${p.name}" requires resource "${key.name}" from plug-in "${key.plugin}", which is not in this world` +
            (plugins.some((q) => q.name === key.plugin) ? ` (plug-in "${key.plugin}" is, but does not provide "${key.name}")` : ""),
        );
      }
    }
  }

  /** A resource by its typed key; throws naming the resource and its usual provider. */
  resource<T>(key: ResourceKey<T>): T {
    if (!this.resources.has(key.name)) {
      throw new ResourceError(`no plug-in in this world provides resource "${key.name}" (usually plug-in "${key.plugin}")`);
    }
    return this.resources.get(key.name) as T;
  }

  /** A resource by its typed key, or undefined when no plug-in provides it. */
  optionalResource<T>(key: ResourceKey<T>): T | undefined {
    return this.resources.get(key.name) as T | undefined;
  }

  /** A plug-in's state by name; throws when it has none. */
  state<S>(pluginName: string): S {
    if (!this.states.has(pluginName)) throw new Error(`plug-in "${pluginName}" has no state in this world`);
    return this.states.get(pluginName) as S;
  }

  /** A plug-in's state when it has a function `method`, else undefined. */
  service<T>(plugin: string, method: string): T | undefined {
    if (!this.states.has(plugin)) return undefined;
    const st = this.states.get(plugin) as Record<string, unknown> | undefined;
    return st && typeof st[method] === "function" ? (st as T) : undefined;
  }
}

/**
 * Loads one plug-in into a world being built: registers its components, town state and
 * messages, makes its context (pushed on `runtimes` before its state is made, as plug-ins
 * expect) and its state (recorded in `plugs`), and returns its systems' runnable entries.
 */
export function loadPlugin(world: World, plugin: AnyPlugin, streams: Record<CoreStream, Rng>, runtimes: PluginRuntime[], plugs: PluginStates): RunnableSystem[] {
  const rng = world.rng.add(pluginStreamName(plugin.name));
  const comps: Record<string, Record<string, Column>> = {};
  const defs: Record<string, ComponentDef> = {};
  for (const [key, decl] of Object.entries((plugin.components ?? {}) as ComponentDecls)) {
    defs[key] = resolveDecl(plugin, key, decl);
    comps[key] = world.components.register(defs[key], plugin.name, world.settings);
  }
  const town: Record<string, Record<string, Column>> = {};
  for (const [key, decl] of Object.entries((plugin.townState ?? {}) as ComponentDecls)) {
    const def = resolveDecl(plugin, key, decl);
    town[key] = world.townStore.register(def, plugin.name);
    for (let t = 0; t < world.towns; t++) world.townStore.add(def, t);
  }
  for (const m of plugin.messages ?? []) world.messages.register(m, plugin.name);
  const sections = world.settings as unknown as Record<string, unknown>;
  let config = sections[plugin.name];
  if (config === undefined && plugin.config) config = plugin.config.parse(plugin.config.safeParse(undefined).success ? undefined : {});
  const parts = { config, rng, streams, components: comps, defs, townState: town };
  const ctx = makeSystemContext(world, parts);
  runtimes.push({ plugin, ctx });
  if (plugin.state) {
    const st = plugin.state(world);
    (ctx as { state: unknown }).state = st;
    plugs.add(plugin, st);
  }
  const systems: RunnableSystem[] = [];
  for (const def of plugin.systems ?? []) {
    systems.push({
      name: def.name,
      phase: def.phase,
      sets: def.sets,
      before: def.before,
      after: def.after,
      plugin: plugin.name,
      def: def as SystemDef,
      ctx: makeSystemContext(world, parts, ctx.state),
    });
  }
  return systems;
}
