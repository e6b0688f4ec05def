// The world: many towns (batched environments) and their entities (typed-array columns), the
// plug-ins' components, per-town state, messages, random streams and resources, and the tick
// that runs every system in phase order. Knows no game rule. Its parts: world-types.ts (options,
// SystemError, KernelState), world-plugins.ts (loading plug-ins, contexts, states and resources),
// world-tick.ts (the tick), agent-list.ts (live agents and their runs), agent-ids.ts (uids and names),
// interner.ts (interned strings), world-hash.ts (the state hash).
import { ComponentStore, type Column, type ComponentDef, type ComponentSchema } from "./component.ts";
import { Agent, Town } from "./core-components.ts";
import { EntityIndex } from "./entities.ts";
import { MessageBus, type MessageDef, type MessageFields, type MessageView } from "./message.ts";
import { PHASES, phaseIndex, type Phase } from "./phases.ts";
import type { AnyPlugin } from "./plugin.ts";
import { RngStreams, CORE_STREAMS, type CoreStream, type Rng } from "./rng.ts";
import { resolveSchedule, formatSchedule, type Schedule } from "./schedule.ts";
import type { ResourceKey } from "./resource.ts";
import type { ConfigSections } from "./config/sections.ts";
import { SystemError, type InitValues, type KernelState, type WorldOptions } from "./world-types.ts";
import { PluginStates, loadPlugin, pluginStreamName, type PluginRuntime, type RunnableSystem } from "./world-plugins.ts";
import { hashWorldState } from "./world-hash.ts";
import { AgentList } from "./agent-list.ts";
import { AgentIds, checkUidRange } from "./agent-ids.ts";
import { TickRunner, type TimingClock } from "./world-tick.ts";
import { Interner } from "./interner.ts";
import { arrayBufferBytes, collectAfterBuild, COLLECT_AFTER_BUILD_BYTES } from "./heap.ts";

// The world's parts live beside it; every name it exported is still exported here.
export { SystemError, pluginStreamName };
export type { InitValues, KernelState, WorldOptions };

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
  /** The plug-ins' states and the resources they provide. */
  private plugs = new PluginStates();
  /** Live agents (and their runs of ids), rebuilt when agents come or go. */
  private agentList = new AgentList();
  /** Its views as of the last rebuild, made once per rebuild (every system of a tick reads both). */
  private agentsView: Int32Array = new Int32Array(0);
  private spansView: Int32Array = new Int32Array(0);
  /** Agent uids, the live uid -> entity index and agents' names (engine/agent-ids.ts). */
  private ids!: AgentIds;
  private strings = new Interner();
  private readonly initialCapacity: number | undefined;
  /** First uid and number of uids of this world (see WorldOptions.uidBase). */
  readonly uidBase: number;
  readonly uidLimit: number;
  /** Runs the ticks: systems by phase, end-of-tick tasks, listeners, timing (engine/world-tick.ts). */
  private readonly ticker = new TickRunner();
  private spawnHooks: PluginRuntime[] = [];
  private readyHooks: PluginRuntime[] = [];
  private removeHooks: PluginRuntime[] = [];
  /** Whether the last build (constructor, reset) was followed by one full GC: it grew ArrayBuffer bytes by collectAfterBuildBytes or more (engine/heap.ts). */
  collectedAfterBuild = false;
  static collectAfterBuildBytes = COLLECT_AFTER_BUILD_BYTES;

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
    checkUidRange(this.uidBase, this.uidLimit);
    const seen = new Set<string>();
    for (const p of this.plugins) {
      if (seen.has(p.name)) throw new Error(`plug-in "${p.name}" is registered twice`);
      seen.add(p.name);
    }
    this.init();
  }

  /** Rebuilds every piece of state from the seed: a reset world equals a fresh one. */
  private init(): void {
    const buffers = arrayBufferBytes();
    this.tick = 0;
    const capacity = this.startCapacity();
    this.entities = new EntityIndex(capacity);
    // Agents' ids first (issue #19 memory): the agents the settings ask for get ids 1..n, objects
    // the ids above, so agent-only columns (trimmed below) and per-agent arrays skip the objects.
    this.entities.reserve(this.agentReserve());
    this.rng = new RngStreams(this.seed);
    this.components = new ComponentStore(capacity, "component");
    this.townStore = new ComponentStore(this.towns, "town state");
    this.messages = new MessageBus();
    this.plugs = new PluginStates();
    this.runtimes = [];
    this.agentList = new AgentList();
    this.ids = new AgentIds(this.uidBase, this.uidLimit, this.agentHint());
    this.strings = new Interner();
    this.ticker.tickEndTasks = [];
    this.components.register(Town, "engine");
    this.components.register(Agent, "engine");

    const streams = {} as Record<CoreStream, Rng>;
    for (const n of CORE_STREAMS) streams[n] = this.rng.get(n);
    const all: RunnableSystem[] = [];
    for (const plugin of this.plugins) all.push(...loadPlugin(this, plugin, streams, this.runtimes, this.plugs));
    this.plugs.checkRequires(this.plugins);
    this.spawnHooks = this.runtimes.filter((r) => r.plugin.onAgentSpawn);
    this.readyHooks = this.runtimes.filter((r) => r.plugin.onAgentReady);
    this.removeHooks = this.runtimes.filter((r) => r.plugin.onAgentRemove);
    this.schedule = resolveSchedule(all);
    this.ticker.setSystems(PHASES.map((p) => this.schedule[p]));
    for (const s of all) s.ctx.phase = phaseIndex(s.phase);
    for (const { plugin, ctx } of this.runtimes) {
      if (plugin.setup) {
        ctx.agents = this.agents;
        plugin.setup(ctx);
      }
    }
    // Components held by low ids only (the objects, made before the agents) shrink to them.
    this.components.trim();
    this.collectedAfterBuild = collectAfterBuild(buffers, World.collectAfterBuildBytes);
  }

  /** Entity capacity at start: the option, else the plug-ins' `entities` hints (ids start at 1), at least 1024. */
  private startCapacity(): number {
    if (this.initialCapacity !== undefined) return Math.max(16, this.initialCapacity);
    let hint = 0;
    for (const p of this.plugins) if (p.entities) hint += p.entities(this.settings, this.towns);
    return Math.max(1024, hint + 1);
  }

  /** Ids reserved for agents: world.agents_per_town x towns (0 when unknown). */
  private agentReserve(): number {
    const perTown = (this.settings as { world?: { agents_per_town?: unknown } }).world?.agents_per_town;
    return typeof perTown === "number" && Number.isInteger(perTown) && perTown > 0 ? perTown * this.towns : 0;
  }

  /**
   * Entity ids below this are expected to be agents' (sizing hint for per-agent arrays, which
   * grow beyond it when needed): the ids reserved for agents + 1, else the entity capacity.
   */
  agentIdLimit(): number {
    return this.entities.reserveEnd > 0 ? this.entities.reserveEnd + 1 : this.components.capacity;
  }

  /** Agents the settings ask for at start (world.agents_per_town x towns), for up-front sizing; 16 when unknown. */
  private agentHint(): number {
    const perTown = (this.settings as { world?: { agents_per_town?: unknown } }).world?.agents_per_town;
    return typeof perTown === "number" && perTown > 0 ? Math.min(perTown * this.towns, this.uidLimit) : 16;
  }

  // ---- running -----------------------------------------------------------------------------

  /** Runs one tick: every phase, every system in schedule order. */
  step(): void {
    this.ticker.step(this);
  }

  /** Runs a tick up to (not including) system `system`, leaving it open; stepTo + stepRest = one step(). */
  stepTo(system: string): void {
    this.ticker.stepTo(this, system);
  }

  /** Finishes a tick paused by stepTo(). */
  stepRest(): void {
    this.ticker.stepRest(this);
  }

  /** Runs `n` ticks. */
  run(n: number): void {
    for (let i = 0; i < n; i++) this.step();
  }

  /** (Re)starts timing each system (bench, --profile); `rows`: also per tick (systemTickTimes); "cpu": process CPU time. */
  enableTiming(rows = 0, clock: TimingClock = "wall"): void {
    this.ticker.enableTiming(rows, clock);
  }

  /** Each system's ms per recorded tick since enableTiming(rows) (engine/world-tick.ts), or undefined. */
  systemTickTimes(): { systems: string[]; ticks: Int32Array; ms: Float64Array } | undefined {
    return this.ticker.systemTickTimes();
  }

  /** Milliseconds per system since enableTiming, in schedule order. */
  systemTimes(): { system: string; phase: Phase; ms: number }[] {
    return this.ticker.systemTimes();
  }

  /** Calls `fn` after every completed tick (tools, tests; not systems). Returns an unsubscribe. */
  onTick(fn: (w: World) => void): () => void {
    return this.ticker.onTick(fn);
  }

  /**
   * Runs `fn` once when the current tick has completed (tick counter advanced, messages
   * closed), before the onTick listeners: a system that must see the tick's final state (the
   * persistence phase's snapshots) defers its work here. Outside a tick it runs at once.
   */
  atTickEnd(fn: () => void): void {
    this.ticker.atTickEnd(fn);
  }

  /** Starts over with `seed` (default: the current one): the result equals a fresh world. */
  reset(seed?: number): void {
    if (this.ticker.inTick) throw new Error("world.reset() called from inside a tick");
    if (seed !== undefined) this.seed = seed;
    this.init();
  }

  /** The current phase index while a tick runs. */
  get phase(): number {
    return this.ticker.phase;
  }

  // ---- entities ------------------------------------------------------------------------------

  /** Live agents of every town, in entity order (a view; do not keep it across structural changes). */
  get agents(): Int32Array {
    if (this.agentList.changed) this.rebuildAgents();
    return this.agentsView;
  }

  /**
   * Live agents as runs of consecutive entity ids: pairs [start, end) in entity order. Loops
   * that touch each agent's columns independently run fastest over these (no index gather).
   */
  get spans(): Int32Array {
    if (this.agentList.changed) this.rebuildAgents();
    return this.spansView;
  }

  private rebuildAgents(): void {
    this.agentList.refresh(this.maxEntityId(), this.components.flags(Agent));
    this.agentsView = this.agentList.agents();
    this.spansView = this.agentList.spans();
  }

  /** The largest entity id ever handed out. */
  maxEntityId(): number { return this.entities.maxId; }

  /** Creates an entity in `town` with the given components (defaults, then `init` values). */
  spawnEntity(town: number, defs: readonly ComponentDef[], init?: InitValues): number {
    const eid = this.newEntity(town, false);
    for (const d of defs) this.attach(eid, d, init?.[d.name]);
    return eid;
  }

  /** A new entity in `town` with its Town component (an agent's id from the agents' range). */
  private newEntity(town: number, agent: boolean): number {
    if (!Number.isInteger(town) || town < 0 || town >= this.towns) {
      throw new RangeError(`town must be an integer in [0, ${this.towns - 1}], got ${town}`);
    }
    const eid = this.entities.add(agent);
    this.components.ensure(eid + 1);
    this.attach(eid, Town, { id: town });
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
    const uid = this.ids.claim(opts.name);
    const eid = this.newEntity(town, true);
    this.attach(eid, Agent, { uid });
    this.ids.place(uid, eid, opts.name);
    this.agentList.note(eid, true); // applied in place at the next read, not rebuilt
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
      this.ids.forget(this.components.columns(Agent).uid[eid]);
      this.agentList.note(eid, false);
    } else for (const r of this.runtimes) r.plugin.onEntityRemove?.(r.ctx, eid);
    this.components.removeAll(eid);
    this.entities.remove(eid);
  }

  isAgent(eid: number): boolean {
    return this.components.has(Agent, eid);
  }

  /** The stable external id of an agent: its name, or `agent_<uid>`. */
  agentName(eid: number): string {
    return this.ids.name(this.components.columns(Agent).uid[eid]);
  }

  /** The entity of a live agent by external id, or -1. */
  agentEid(name: string): number {
    return this.ids.eid(name);
  }

  /** Number of agents ever spawned (the next agent's uid). */
  get agentsSpawned(): number {
    return this.ids.next;
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
    return this.plugs.resource(key);
  }

  /** A resource by its typed key, or undefined when no plug-in in this world provides it. */
  optionalResource<T>(key: ResourceKey<T>): T | undefined {
    return this.plugs.optionalResource(key);
  }

  /** A plug-in's resource by the plug-in's name (untyped; between plug-ins use `resource(Key)`). */
  state<S>(pluginName: string): S {
    return this.plugs.state<S>(pluginName);
  }

  /**
   * A plug-in's service: its resource when the plug-in is present and the resource has
   * `method` (services are typed by interfaces in components/), else undefined.
   */
  service<T>(plugin: string, method: string): T | undefined {
    return this.plugs.service<T>(plugin, method);
  }

  hasPlugin(name: string): boolean { return this.plugins.some((p) => p.name === name); }

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
    return this.strings.intern(s);
  }
  text(id: number): string {
    return this.strings.text(id);
  }

  /** Key figures from the kernel (alive_agents) and every plug-in's `kpis`, in plug-in order. */
  kpis(): Record<string, unknown> {
    const out: Record<string, unknown> = { alive_agents: this.agents.length, agents_spawned: this.ids.next };
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
    if (this.ticker.inTick) throw new Error("snapshots are taken between ticks (a system defers its snapshot with world.atTickEnd)");
    const ix = this.entities;
    return {
      tick: this.tick,
      seed: this.seed,
      capacity: this.components.capacity,
      nextUid: this.ids.next,
      aliveCount: ix.aliveCount,
      maxId: ix.maxId,
      dense: ix.dense.slice(),
      reserve: [ix.reserveNext, ix.reserveEnd],
      names: this.ids.namedList(),
      interned: [...this.strings.list],
    };
  }

  /**
   * Replaces the kernel's state with a saved one. The component columns and membership flags
   * must already hold the saved values; the entity index is restored as saved (so the next new
   * entity gets the same id), and the agent ids are re-derived from the Agent columns.
   */
  restoreKernelState(k: KernelState): void {
    if (this.ticker.inTick) throw new Error("world.restoreKernelState() called from inside a tick");
    const ix = new EntityIndex(this.components.capacity);
    ix.restore(k.dense, k.aliveCount, k.maxId, k.reserve);
    this.entities = ix;
    this.tick = k.tick;
    this.seed = k.seed;
    this.strings = new Interner(k.interned);
    this.ids.restore(k.nextUid, k.names, this.components.flags(Agent), this.components.columns(Agent).uid, k.maxId);
    this.agentList.dirty = true;
    this.ticker.tickEndTasks = [];
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
    const { tick, towns, entities, components, townStore, rng, messages, plugins } = this;
    const { next: nextUid, names } = this.ids;
    return hashWorldState({ tick, towns, nextUid, entities, components, townStore, rng, messages, interned: this.strings.list, names, plugins, states: this.plugs.states });
  }
}

/** Builds a world from validated settings and plug-ins. */
export function createWorld(opts: WorldOptions): World {
  return new World(opts);
}
