// The world: many towns (batched environments) and their entities (typed-array columns), the
// plug-ins' components, per-town state, messages, random streams and resources, and the tick
// that runs every system in phase order. Knows no game rule.
import { ComponentStore, defineComponent, isComponentDef, type Column, type ComponentDef, type ComponentSchema } from "./component.ts";
import { Agent, Town } from "./core-components.ts";
import { EntityIndex } from "./entities.ts";
import { StateHasher } from "./hash.ts";
import { MessageBus, type MessageDef, type MessageFields, type MessageView } from "./message.ts";
import { PHASES, phaseIndex, type Phase } from "./phases.ts";
import { isPersistentState, type AnyPlugin, type ComponentDecls, type SystemContext, type SystemDef } from "./plugin.ts";
import { RngStreams, CORE_STREAMS, type CoreStream, type Rng } from "./rng.ts";
import { resolveSchedule, formatSchedule, type Schedule } from "./schedule.ts";
import { ResourceError, type ResourceKey } from "./resource.ts";
import type { ConfigSections } from "./config/sections.ts";

export interface WorldOptions {
  /** Validated configuration (see engine/config); plug-in sections keyed by plug-in name. */
  settings: ConfigSections | Record<string, unknown>;
  plugins: readonly AnyPlugin[];
  /** Root seed; defaults to `settings.seed`, then 0. */
  seed?: number;
  /** Number of towns; defaults to `settings.world.towns`, then 1. */
  towns?: number;
  /**
   * Initial entity capacity; default: the entities the plug-ins create at start (their
   * `entities` hints) plus id 0, and at least 1024 (small worlds keep room to spawn without
   * regrowing). Columns grow by a quarter beyond it.
   */
  capacity?: number;
  /**
   * First agent uid of this world (default 0) and how many uids it may hand out (default 2^32):
   * a block of a sharded world (engine/shards.ts) numbers its agents from its own base, so
   * agent ids stay unique across blocks. Neither is hashed: the defaults give today's uids.
   */
  uidBase?: number;
  uidLimit?: number;
}

/** Initial field values by component name, for `spawnAgent`/`spawnEntity`. */
export type InitValues = Record<string, Record<string, number>>;

/** Raised when a system throws during a tick: names the system, tick and phase. */
export class SystemError extends Error {
  override name = "SystemError";
  constructor(
    readonly system: string,
    readonly tick: number,
    readonly phase: Phase,
    override readonly cause: unknown,
  ) {
    super(`system "${system}" failed in phase ${phase} at tick ${tick}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

interface RunnableSystem {
  name: string;
  phase: Phase;
  sets?: string[];
  before?: string[];
  after?: string[];
  plugin: string;
  def: SystemDef;
  ctx: MutableContext;
}

type MutableContext = SystemContext & { tick: number; agents: Int32Array; spans: Int32Array; phase: number };

interface PluginRuntime {
  plugin: AnyPlugin;
  ctx: MutableContext;
}

/** Inline component schemas get one definition per plug-in object, shared by all its worlds. */
const inlineDefs = new WeakMap<object, Map<string, ComponentDef>>();
function resolveDecl(plugin: AnyPlugin, key: string, decl: ComponentDef | ComponentSchema): ComponentDef {
  if (isComponentDef(decl)) return decl;
  let m = inlineDefs.get(plugin);
  if (!m) inlineDefs.set(plugin, (m = new Map()));
  let d = m.get(key);
  if (!d) m.set(key, (d = defineComponent(key, decl)));
  return d;
}

export class World {
  readonly plugins: readonly AnyPlugin[];
  readonly settings: ConfigSections;
  readonly towns: number;
  seed: number;
  /** Ticks completed. */
  tick = 0;
  /** Entity ids: live ones and those waiting to be recycled. */
  entities!: EntityIndex;
  rng!: RngStreams;
  components!: ComponentStore;
  townStore!: ComponentStore;
  messages!: MessageBus;
  schedule!: Schedule<RunnableSystem>;
  private runtimes: PluginRuntime[] = [];
  private states = new Map<string, unknown>();
  /** Providing plug-in's state by resource name (from the plug-ins' `provides`). */
  private resources = new Map<string, unknown>();
  /** Providing plug-in's name by resource name. */
  private providers = new Map<string, string>();
  private systemsFlat: RunnableSystem[][] = [];
  private agentList = new Int32Array(0);
  private agentCount = 0;
  private spanList = new Int32Array(0);
  private spanCount = 0;
  private agentsDirty = true;
  private nextUid = 0;
  private uidToEid = new Map<number, number>();
  private names = new Map<number, string>();
  private nameToUid = new Map<string, number>();
  private interned: string[] = [];
  private internIds = new Map<string, number>();
  private inTick = false;
  private currentPhase = 0;
  private readonly initialCapacity: number | undefined;
  /** First uid and number of uids of this world (see WorldOptions.uidBase). */
  readonly uidBase: number;
  readonly uidLimit: number;
  private readonly tickListeners: ((w: World) => void)[] = [];
  private tickEndTasks: (() => void)[] = [];
  /** Milliseconds spent in each system since timing was enabled, by system name. */
  private timing: Map<string, number> | undefined;
  private spawnHooks: PluginRuntime[] = [];
  private readyHooks: PluginRuntime[] = [];
  private removeHooks: PluginRuntime[] = [];

  constructor(opts: WorldOptions) {
    this.plugins = opts.plugins;
    this.settings = opts.settings as ConfigSections;
    const s = opts.settings as Record<string, unknown> & { seed?: unknown; world?: { towns?: unknown } };
    this.towns = opts.towns ?? (typeof s.world?.towns === "number" ? s.world.towns : 1);
    if (!Number.isInteger(this.towns) || this.towns < 1) throw new RangeError(`towns must be an integer >= 1, got ${this.towns}`);
    this.seed = opts.seed ?? (typeof s.seed === "number" ? s.seed : 0);
    this.initialCapacity = opts.capacity;
    this.uidBase = opts.uidBase ?? 0;
    this.uidLimit = opts.uidLimit ?? 2 ** 32 - this.uidBase;
    if (!Number.isInteger(this.uidBase) || this.uidBase < 0 || !Number.isInteger(this.uidLimit) || this.uidLimit < 1 || this.uidBase + this.uidLimit > 2 ** 32) {
      throw new RangeError(`uidBase/uidLimit must be integers with 0 <= base and base + limit <= 2^32, got ${this.uidBase}/${this.uidLimit}`);
    }
    const seen = new Set<string>();
    for (const p of this.plugins) {
      if (seen.has(p.name)) throw new Error(`plug-in "${p.name}" is registered twice`);
      seen.add(p.name);
    }
    this.init();
  }

  /** Rebuilds every piece of state from the seed: a reset world equals a fresh one. */
  private init(): void {
    this.tick = 0;
    const capacity = this.startCapacity();
    this.entities = new EntityIndex(capacity);
    this.rng = new RngStreams(this.seed);
    this.components = new ComponentStore(capacity, "component");
    this.townStore = new ComponentStore(this.towns, "town state");
    this.messages = new MessageBus();
    this.states = new Map();
    this.resources = new Map();
    this.providers = new Map();
    this.runtimes = [];
    this.agentList = new Int32Array(0);
    this.agentCount = 0;
    this.spanList = new Int32Array(0);
    this.spanCount = 0;
    this.agentsDirty = true;
    this.nextUid = 0;
    this.uidToEid = new Map();
    this.names = new Map();
    this.nameToUid = new Map();
    this.interned = [];
    this.internIds = new Map();
    this.tickEndTasks = [];
    this.components.register(Town, "engine");
    this.components.register(Agent, "engine");

    const streams = {} as Record<CoreStream, Rng>;
    for (const n of CORE_STREAMS) streams[n] = this.rng.get(n);
    const all: RunnableSystem[] = [];
    for (const plugin of this.plugins) {
      const rng = this.rng.add(pluginStreamName(plugin.name));
      const comps: Record<string, Record<string, Column>> = {};
      const defs: Record<string, ComponentDef> = {};
      for (const [key, decl] of Object.entries((plugin.components ?? {}) as ComponentDecls)) {
        defs[key] = resolveDecl(plugin, key, decl);
        comps[key] = this.components.register(defs[key], plugin.name, this.settings);
      }
      const town: Record<string, Record<string, Column>> = {};
      for (const [key, decl] of Object.entries((plugin.townState ?? {}) as ComponentDecls)) {
        const def = resolveDecl(plugin, key, decl);
        town[key] = this.townStore.register(def, plugin.name);
        for (let t = 0; t < this.towns; t++) this.townStore.add(def, t);
      }
      for (const m of plugin.messages ?? []) this.messages.register(m, plugin.name);
      const sections = this.settings as unknown as Record<string, unknown>;
      let config = sections[plugin.name];
      if (config === undefined && plugin.config) config = plugin.config.parse(plugin.config.safeParse(undefined).success ? undefined : {});
      const ctx = this.makeContext(plugin, config, rng, streams, comps, defs, town);
      this.runtimes.push({ plugin, ctx });
      if (plugin.state) {
        const st = plugin.state(this);
        this.states.set(plugin.name, st);
        (ctx as { state: unknown }).state = st;
        this.provide(plugin, st);
      }
      for (const def of plugin.systems ?? []) {
        all.push({
          name: def.name,
          phase: def.phase,
          sets: def.sets,
          before: def.before,
          after: def.after,
          plugin: plugin.name,
          def: def as SystemDef,
          ctx: this.makeContext(plugin, config, rng, streams, comps, defs, town, ctx.state),
        });
      }
    }
    this.checkRequires();
    this.spawnHooks = this.runtimes.filter((r) => r.plugin.onAgentSpawn);
    this.readyHooks = this.runtimes.filter((r) => r.plugin.onAgentReady);
    this.removeHooks = this.runtimes.filter((r) => r.plugin.onAgentRemove);
    this.schedule = resolveSchedule(all);
    this.systemsFlat = PHASES.map((p) => this.schedule[p]);
    for (const s of all) s.ctx.phase = phaseIndex(s.phase);
    for (const { plugin, ctx } of this.runtimes) {
      if (plugin.setup) {
        ctx.agents = this.agents;
        plugin.setup(ctx);
      }
    }
  }

  /**
   * Maps the resources a plug-in provides to its state, as soon as the state exists (so later
   * plug-ins' `state` factories can read them, as they could read earlier states). A resource
   * provided twice fails naming both plug-ins.
   */
  private provide(plugin: AnyPlugin, st: unknown): void {
    for (const key of plugin.provides ?? []) {
      const prior = this.providers.get(key.name);
      if (prior !== undefined) throw new ResourceError(`resource "${key.name}" is provided twice (plug-ins "${prior}" and "${plugin.name}")`);
      this.providers.set(key.name, plugin.name);
      this.resources.set(key.name, st);
    }
  }

  /** Every `requires` needs a provider: one missing fails at start naming both plug-ins. */
  private checkRequires(): void {
    for (const p of this.plugins) {
      for (const key of p.provides ?? []) {
        if (!this.states.has(p.name)) throw new ResourceError(`plug-in "${p.name}" provides resource "${key.name}" but has no state`);
      }
      for (const key of p.requires ?? []) {
        if (this.providers.has(key.name)) continue;
        throw new ResourceError(
          `plug-in "${p.name}" requires resource "${key.name}" from plug-in "${key.plugin}", which is not in this world` +
            (this.hasPlugin(key.plugin) ? ` (plug-in "${key.plugin}" is, but does not provide "${key.name}")` : ""),
        );
      }
    }
  }

  /** Entity capacity at start: the option, else the plug-ins' `entities` hints (ids start at 1), at least 1024. */
  private startCapacity(): number {
    if (this.initialCapacity !== undefined) return Math.max(16, this.initialCapacity);
    let hint = 0;
    for (const p of this.plugins) if (p.entities) hint += p.entities(this.settings, this.towns);
    return Math.max(1024, hint + 1);
  }

  private makeContext(
    plugin: AnyPlugin,
    config: unknown,
    rng: Rng,
    streams: Record<CoreStream, Rng>,
    components: Record<string, Record<string, Column>>,
    defs: Record<string, ComponentDef>,
    townState: Record<string, Record<string, Column>>,
    state?: unknown,
  ): MutableContext {
    const world = this;
    const ctx: MutableContext = {
      world,
      tick: 0,
      phase: 0,
      agents: this.agentList.subarray(0, 0),
      spans: this.spanList.subarray(0, 0),
      towns: this.towns,
      config,
      settings: this.settings,
      rng,
      streams,
      components: components as never,
      defs: defs as never,
      townState: townState as never,
      state,
      send(def: MessageDef, ...values: number[]) {
        world.messages.channel(def).push(values);
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
    void plugin;
    return ctx;
  }

  // ---- running -----------------------------------------------------------------------------

  /** Runs one tick: every phase, every system in schedule order. */
  step(): void {
    if (this.inTick) throw new Error("world.step() called from inside a tick");
    const tick = this.tick + 1;
    this.inTick = true;
    this.messages.beginTick();
    let sys: RunnableSystem | undefined;
    try {
      for (let p = 0; p < this.systemsFlat.length; p++) {
        this.currentPhase = p;
        this.messages.beginPhase(p);
        const list = this.systemsFlat[p];
        for (let i = 0; i < list.length; i++) {
          sys = list[i];
          const ctx = sys.ctx;
          ctx.tick = tick;
          ctx.agents = this.agents;
          ctx.spans = this.spans;
          if (this.timing === undefined) sys.def.run(ctx);
          else {
            const t0 = performance.now();
            sys.def.run(ctx);
            this.timing.set(sys.name, (this.timing.get(sys.name) ?? 0) + performance.now() - t0);
          }
        }
      }
      sys = undefined;
      this.messages.endTick();
      this.tick = tick;
    } catch (err) {
      if (sys) throw new SystemError(sys.name, tick, sys.phase, err);
      throw err;
    } finally {
      this.inTick = false;
    }
    if (this.tickEndTasks.length > 0) {
      const tasks = this.tickEndTasks;
      this.tickEndTasks = [];
      for (const t of tasks) t();
    }
    for (let i = 0; i < this.tickListeners.length; i++) this.tickListeners[i](this);
  }

  /** Runs `n` ticks. */
  run(n: number): void {
    for (let i = 0; i < n; i++) this.step();
  }

  /** Starts (or restarts) recording the time each system takes (for benchmarks and --profile). */
  enableTiming(): void {
    this.timing = new Map();
  }

  /** Milliseconds per system since enableTiming, in schedule order. */
  systemTimes(): { system: string; phase: Phase; ms: number }[] {
    const out: { system: string; phase: Phase; ms: number }[] = [];
    for (const list of this.systemsFlat) for (const s of list) out.push({ system: s.name, phase: s.phase, ms: this.timing?.get(s.name) ?? 0 });
    return out;
  }

  /** Calls `fn` after every completed tick (tools, tests; not systems). Returns an unsubscribe. */
  onTick(fn: (w: World) => void): () => void {
    this.tickListeners.push(fn);
    return () => {
      const i = this.tickListeners.indexOf(fn);
      if (i >= 0) this.tickListeners.splice(i, 1);
    };
  }

  /**
   * Runs `fn` once when the current tick has completed (tick counter advanced, messages
   * closed), before the onTick listeners: a system that must see the tick's final state (the
   * persistence phase's snapshots) defers its work here. Outside a tick it runs at once.
   */
  atTickEnd(fn: () => void): void {
    if (!this.inTick) fn();
    else this.tickEndTasks.push(fn);
  }

  /** Starts over with `seed` (default: the current one): the result equals a fresh world. */
  reset(seed?: number): void {
    if (this.inTick) throw new Error("world.reset() called from inside a tick");
    if (seed !== undefined) this.seed = seed;
    this.init();
  }

  /** The current phase index while a tick runs. */
  get phase(): number {
    return this.currentPhase;
  }

  // ---- entities ------------------------------------------------------------------------------

  /** Live agents of every town, in entity order (a view; do not keep it across structural changes). */
  get agents(): Int32Array {
    if (this.agentsDirty) this.rebuildAgents();
    return this.agentList.subarray(0, this.agentCount);
  }

  /**
   * Live agents as runs of consecutive entity ids: pairs [start, end) in entity order. Loops
   * that touch each agent's columns independently run fastest over these (no index gather).
   */
  get spans(): Int32Array {
    if (this.agentsDirty) this.rebuildAgents();
    return this.spanList.subarray(0, 2 * this.spanCount);
  }

  private rebuildAgents(): void {
    const max = this.maxEntityId();
    if (this.agentList.length < max + 1) this.agentList = new Int32Array(Math.max(16, max + 1, Math.ceil(this.agentList.length * 1.25)));
    let n = 0;
    let runs = 0;
    const list = this.agentList;
    const has = this.components.flags(Agent);
    // Scan the Agent membership flags: linear, ordered by entity id, no sort.
    let prev = -2;
    for (let eid = 1; eid <= max; eid++) {
      if (has[eid] !== 1) continue;
      list[n++] = eid;
      if (eid !== prev + 1) runs++;
      prev = eid;
    }
    if (this.spanList.length < 2 * runs) this.spanList = new Int32Array(Math.max(16, 2 * runs, Math.ceil(this.spanList.length * 1.25)));
    const spans = this.spanList;
    let k = -1;
    prev = -2;
    for (let i = 0; i < n; i++) {
      const eid = list[i];
      if (eid !== prev + 1) {
        k++;
        spans[2 * k] = eid;
      }
      spans[2 * k + 1] = eid + 1;
      prev = eid;
    }
    this.agentCount = n;
    this.spanCount = runs;
    this.agentsDirty = false;
  }

  /** The largest entity id ever handed out. */
  maxEntityId(): number {
    return this.entities.maxId;
  }

  /** Creates an entity in `town` with the given components (defaults, then `init` values). */
  spawnEntity(town: number, defs: readonly ComponentDef[], init?: InitValues): number {
    if (!Number.isInteger(town) || town < 0 || town >= this.towns) {
      throw new RangeError(`town must be an integer in [0, ${this.towns - 1}], got ${town}`);
    }
    const eid = this.entities.add();
    this.components.ensure(eid + 1);
    this.attach(eid, Town, { id: town });
    for (const d of defs) this.attach(eid, d, init?.[d.name]);
    return eid;
  }

  private attach(eid: number, def: ComponentDef, init?: Record<string, number>): void {
    this.components.add(def, eid, init);
  }

  /**
   * Adds a component to a live entity (defaults, then `init`). If the entity already has it,
   * only `init` is written, so two plug-ins may both ensure a shared component.
   */
  addComponent(eid: number, def: ComponentDef, init?: Record<string, number>): void {
    if (def === Agent) throw new Error("use spawnAgent to create agents");
    if (this.components.has(def, eid)) {
      if (!init) return;
      const cols = this.components.columns(def) as Record<string, Column>;
      for (const [k, v] of Object.entries(init)) {
        if (!cols[k]) throw new Error(`component "${def.name}" has no field "${k}"`);
        cols[k][eid] = v;
      }
      return;
    }
    this.attach(eid, def, init);
  }

  /** True when the entity has the component. */
  has(eid: number, def: ComponentDef): boolean {
    return this.components.has(def, eid);
  }

  /**
   * Creates an agent in `town`. Every plug-in's `onSpawn` runs in plug-in order (initial needs,
   * job, ...), then `init` overrides fields. `name` replaces the default id `agent_<uid>`.
   */
  spawnAgent(town: number, opts: { name?: string; init?: InitValues } = {}): number {
    if (opts.name !== undefined) {
      if (this.nameToUid.has(opts.name)) throw new Error(`an agent named "${opts.name}" already exists`);
      if (/^agent_\d+$/.test(opts.name)) throw new Error(`agent name "${opts.name}" is reserved for default ids (agent_<n>); choose another`);
    }
    if (this.nextUid >= this.uidLimit) throw new RangeError(`this world has handed out all of its ${this.uidLimit} agent ids`);
    const uid = this.uidBase + this.nextUid++;
    const eid = this.spawnEntity(town, []);
    this.attach(eid, Agent, { uid });
    this.uidToEid.set(uid, eid);
    if (opts.name !== undefined) {
      this.names.set(uid, opts.name);
      this.nameToUid.set(opts.name, uid);
    }
    this.agentsDirty = true;
    for (const r of this.spawnHooks) r.plugin.onAgentSpawn!(r.ctx, eid);
    if (opts.init) {
      for (const [comp, values] of Object.entries(opts.init)) {
        const def = this.components.byNameOrUndefined(comp);
        if (!def) throw new Error(`spawnAgent: unknown component "${comp}"`);
        const cols = this.components.columns(def) as Record<string, Column>;
        for (const [k, v] of Object.entries(values)) {
          if (!cols[k]) throw new Error(`spawnAgent: component "${comp}" has no field "${k}"`);
          cols[k][eid] = v;
        }
      }
    }
    for (const r of this.readyHooks) r.plugin.onAgentReady!(r.ctx, eid);
    return eid;
  }


  /** Removes an entity (agent or object); its columns return to defaults and its id may be reused. */
  removeEntity(eid: number): void {
    if (this.components.has(Agent, eid)) {
      for (const r of this.removeHooks) r.plugin.onAgentRemove!(r.ctx, eid);
      const uid = this.components.columns(Agent).uid[eid];
      this.uidToEid.delete(uid);
      this.agentsDirty = true;
    }
    this.components.removeAll(eid);
    this.entities.remove(eid);
  }

  isAgent(eid: number): boolean {
    return this.components.has(Agent, eid);
  }

  /** The stable external id of an agent: its name, or `agent_<uid>`. */
  agentName(eid: number): string {
    const uid = this.components.columns(Agent).uid[eid];
    return this.names.get(uid) ?? `agent_${uid}`;
  }

  /** The entity of a live agent by external id, or -1. */
  agentEid(name: string): number {
    let uid = this.nameToUid.get(name);
    if (uid === undefined) {
      const m = /^agent_(0|[1-9]\d*)$/.exec(name);
      if (!m) return -1;
      uid = Number(m[1]);
      if (this.names.has(uid)) return -1;
    }
    return this.uidToEid.get(uid) ?? -1;
  }

  /** Number of agents ever spawned (the next agent's uid). */
  get agentsSpawned(): number {
    return this.nextUid;
  }

  // ---- access for tools and plug-ins ----------------------------------------------------------

  /** Columns of a registered component. */
  columns<S extends ComponentSchema>(def: ComponentDef<S>) {
    return this.components.columns(def);
  }

  /** A registered component's definition by name (inline plug-in components included). */
  componentDef(name: string): ComponentDef {
    const d = this.components.byNameOrUndefined(name);
    if (!d) throw new Error(`no component named "${name}" in this world`);
    return d;
  }

  /** Per-town columns of registered town state. */
  townColumns<S extends ComponentSchema>(def: ComponentDef<S>) {
    return this.townStore.columns(def);
  }

  /** A resource by its typed key (engine/resource.ts): the state of the plug-in that provides it. */
  resource<T>(key: ResourceKey<T>): T {
    if (!this.resources.has(key.name)) {
      throw new ResourceError(`no plug-in in this world provides resource "${key.name}" (usually plug-in "${key.plugin}")`);
    }
    return this.resources.get(key.name) as T;
  }

  /** A resource by its typed key, or undefined when no plug-in in this world provides it. */
  optionalResource<T>(key: ResourceKey<T>): T | undefined {
    return this.resources.get(key.name) as T | undefined;
  }

  /** A plug-in's resource by the plug-in's name (untyped; between plug-ins use `resource(Key)`). */
  state<S>(pluginName: string): S {
    if (!this.states.has(pluginName)) throw new Error(`plug-in "${pluginName}" has no state in this world`);
    return this.states.get(pluginName) as S;
  }

  /**
   * A plug-in's service: its resource when the plug-in is present and the resource has
   * `method` (services are typed by interfaces in components/), else undefined.
   */
  service<T>(plugin: string, method: string): T | undefined {
    if (!this.states.has(plugin)) return undefined;
    const st = this.states.get(plugin) as Record<string, unknown> | undefined;
    return st && typeof st[method] === "function" ? (st as T) : undefined;
  }

  hasPlugin(name: string): boolean {
    return this.plugins.some((p) => p.name === name);
  }

  /** Messages of the tick that just completed (for tools and tests). */
  lastTick<F extends MessageFields>(def: MessageDef<F>): MessageView<F> {
    return this.messages.channel(def).lastTick();
  }

  /** Sends a message from outside a tick (console, tools): every phase of the next tick sees it. */
  send(def: MessageDef, ...values: number[]): void {
    this.messages.channel(def).push(values);
  }

  /** Interns a string for a `str` message field or a column; the same string always gets the same id in a run. */
  intern(s: string): number {
    let id = this.internIds.get(s);
    if (id === undefined) {
      id = this.interned.length;
      this.interned.push(s);
      this.internIds.set(s, id);
    }
    return id;
  }
  text(id: number): string {
    const s = this.interned[id];
    if (s === undefined) throw new RangeError(`no interned string with id ${id}`);
    return s;
  }

  /** Key figures from the kernel (alive_agents) and every plug-in's `kpis`, in plug-in order. */
  kpis(): Record<string, unknown> {
    const out: Record<string, unknown> = { alive_agents: this.agents.length, agents_spawned: this.nextUid };
    for (const { plugin, ctx } of this.runtimes) {
      if (!plugin.kpis) continue;
      ctx.agents = this.agents;
      for (const [k, v] of Object.entries(plugin.kpis(ctx))) {
        if (k in out) throw new Error(`kpi "${k}" is reported twice (second time by plug-in "${plugin.name}")`);
        out[k] = v;
      }
    }
    return out;
  }

  /** The resolved schedule as text. */
  formatSchedule(): string {
    return formatSchedule(this.schedule);
  }

  /** Bytes of engine state held in columns (components and town state). */
  columnBytes(): number {
    return this.components.bytes() + this.townStore.bytes();
  }

  // ---- snapshots (engine/snapshot.ts) ---------------------------------------------------------

  /** The kernel's state beside the columns: what a snapshot carries apart from them. */
  kernelState(): KernelState {
    if (this.inTick) throw new Error("snapshots are taken between ticks (a system defers its snapshot with world.atTickEnd)");
    const ix = this.entities;
    return {
      tick: this.tick,
      seed: this.seed,
      capacity: this.components.capacity,
      nextUid: this.nextUid,
      aliveCount: ix.aliveCount,
      maxId: ix.maxId,
      dense: ix.dense.slice(),
      names: [...this.names.entries()].sort((a, b) => a[0] - b[0]),
      interned: [...this.interned],
    };
  }

  /**
   * Replaces the kernel's state with a saved one. The component columns and membership flags
   * must already hold the saved values; the entity index is restored as saved (so the next new
   * entity gets the same id), and the agent ids are re-derived from the Agent columns.
   */
  restoreKernelState(k: KernelState): void {
    if (this.inTick) throw new Error("world.restoreKernelState() called from inside a tick");
    const ix = new EntityIndex(this.components.capacity);
    ix.restore(k.dense, k.aliveCount, k.maxId);
    this.entities = ix;
    this.tick = k.tick;
    this.seed = k.seed;
    this.nextUid = k.nextUid;
    this.names = new Map(k.names);
    this.nameToUid = new Map(k.names.map(([uid, n]) => [n, uid]));
    this.interned = [...k.interned];
    this.internIds = new Map(this.interned.map((s, i) => [s, i]));
    this.uidToEid = new Map();
    const isAgent = this.components.flags(Agent);
    const uid = this.components.columns(Agent).uid;
    for (let eid = 1; eid <= k.maxId; eid++) if (isAgent[eid] === 1) this.uidToEid.set(uid[eid], eid);
    this.agentsDirty = true;
    this.tickEndTasks = [];
  }

  /** Calls every plug-in's `onLoad` hook, in plug-in order, after a snapshot was restored. */
  runLoadHooks(): void {
    for (const { plugin, ctx } of this.runtimes) {
      if (!plugin.onLoad) continue;
      ctx.agents = this.agents;
      plugin.onLoad(ctx);
    }
  }

  // ---- the state hash ----------------------------------------------------------------------

  /**
   * A canonical 64-bit hash of the whole simulation state: tick, every component column in
   * entity order, per-town state, entity allocator, agent ids, random stream states, messages
   * still in flight, interned strings and every plug-in's persistent state.
   */
  stateHash(): string {
    const h = new StateHasher();
    h.u32(this.tick).u32(this.towns).u32(this.nextUid);
    const ix = this.entities;
    const dense = ix.dense;
    h.u32(ix.aliveCount).u32(ix.maxId).u32(dense.length);
    for (let i = 0; i < dense.length; i++) h.u32(dense[i]);
    const max = ix.maxId;
    this.components.forEach((def, cols, has) => hashColumns(h, def, cols, has, 1, max));
    this.townStore.forEach((def, cols, has) => hashColumns(h, def, cols, has, 0, this.towns - 1));
    for (const name of this.rng.order) {
      const s = this.rng.get(name).state();
      h.str(name).f64(s.c).f64(s.s0).f64(s.s1).f64(s.s2);
    }
    for (const ch of this.messages.channels) {
      const v = ch.lastTick();
      h.str(ch.def.name).u32(v.count);
      for (const c of ch.cols) for (let i = v.start; i < v.end; i++) h.f64(c[i]);
    }
    h.u32(this.interned.length);
    for (const s of this.interned) h.str(s);
    const named = [...this.names.entries()].sort((a, b) => a[0] - b[0]);
    for (const [uid, n] of named) h.u32(uid).str(n);
    for (const p of this.plugins) {
      const st = this.states.get(p.name);
      if (isPersistentState(st)) {
        h.str(p.name);
        st.hash(h);
      }
    }
    return h.digest();
  }
}

function hashColumns(h: StateHasher, def: ComponentDef, cols: Record<string, Column>, has: Uint8Array, from: number, to: number): void {
  h.str(def.name);
  for (const f of def.fields) {
    const col = cols[f.name];
    h.str(f.name);
    if (col instanceof Float32Array) {
      const w = new Uint32Array(col.buffer, col.byteOffset, col.length);
      for (let id = from; id <= to; id++) if (has[id] === 1) h.u32(id).u32(w[id]);
    } else if (col instanceof Float64Array) {
      const w = new Uint32Array(col.buffer, col.byteOffset, col.length * 2);
      for (let id = from; id <= to; id++) if (has[id] === 1) h.u32(id).u32(w[2 * id]).u32(w[2 * id + 1]);
    } else {
      for (let id = from; id <= to; id++) if (has[id] === 1) h.u32(id).u32(col[id]);
    }
  }
}

/** The kernel's own state (see World.kernelState). */
export interface KernelState {
  tick: number;
  seed: number;
  /** Entity capacity of the component columns. */
  capacity: number;
  nextUid: number;
  /** Entity index: live ids are dense[0, aliveCount); the rest wait to be recycled. */
  aliveCount: number;
  maxId: number;
  dense: Uint32Array;
  /** Custom agent names by uid, ascending uid. */
  names: [number, string][];
  interned: string[];
}

/** A plug-in's own random stream is named `plugin:<name>`, apart from the engine's streams. */
export function pluginStreamName(plugin: string): string {
  return `plugin:${plugin}`;
}

/** Builds a world from validated settings and plug-ins. */
export function createWorld(opts: WorldOptions): World {
  return new World(opts);
}
