// The observations plug-in's resource: the embedding allocator (persistent), per-agent context
// tracking for ctx_reset_flag and episode_progress, the preallocated batches (one per variant),
// and the compact map's channel of each object type (rebuilt only when the registry changes).
import type { StateHasher } from "../../engine/hash.ts";
import type { PersistentState } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import type { AffordanceTable } from "../../components/affordances.ts";
import { EmbeddingAllocator } from "./embedding.ts";
import { FeatureWriters } from "./features.ts";
import { featureLayout, mapLayout, type FeatureLayout, type MapLayout, type ObservationVariant } from "./layout.ts";
import type { ObservationService, ObservationSpec } from "../../components/observations.ts";
import { AffordancesKey } from "../../components/affordances.ts";

export { unitHash } from "../../engine/observation.ts";

/**
 * One batch of observations for all agents of all towns, row-major with the agent first:
 * `map` is [count, C, W, W] and `features` [count, F], both float32. Storage is preallocated
 * and grows by doubling; `agents`, `map` and `features` are views of the first `count` rows,
 * renewed by each build (a build overwrites the previous one's values).
 */
export class ObservationBatch {
  readonly mapStride: number;
  capacity = 0;
  /** Rows filled by the last build. */
  count = 0;
  /** The tick the last build describes (the decision tick: world.tick + 1), -1 = never built. */
  tick = -1;
  agents = new Int32Array(0);
  map = new Float32Array(0);
  features = new Float32Array(0);
  private agentStore = new Int32Array(0);
  private mapStore = new Float32Array(0);
  private featureStore = new Float32Array(0);

  constructor(
    readonly variant: ObservationVariant,
    /** Map channels, window side and features per agent. */
    readonly channels: number,
    readonly window: number,
    readonly featureCount: number,
    capacity = 16,
  ) {
    this.mapStride = channels * window * window;
    this.ensure(capacity);
  }

  /** Grows storage (doubling) to hold `n` agents. */
  ensure(n: number): void {
    if (n <= this.capacity) return;
    let cap = Math.max(16, this.capacity);
    while (cap < n) cap *= 2;
    this.agentStore = new Int32Array(cap);
    this.mapStore = new Float32Array(cap * this.mapStride);
    this.featureStore = new Float32Array(cap * this.featureCount);
    this.capacity = cap;
  }

  /** Raw storage (capacity rows) for the builder. */
  get stores(): { agents: Int32Array; map: Float32Array; features: Float32Array } {
    return { agents: this.agentStore, map: this.mapStore, features: this.featureStore };
  }

  /** Sets the row count and renews the views. */
  setCount(n: number, tick: number): void {
    this.count = n;
    this.tick = tick;
    this.agents = this.agentStore.subarray(0, n);
    this.map = this.mapStore.subarray(0, n * this.mapStride);
    this.features = this.featureStore.subarray(0, n * this.featureCount);
  }
}

export class ObservationsState implements PersistentState, ObservationService {
  readonly allocator: EmbeddingAllocator;
  /**
   * Set by a consumer (the neural policy, the env) that reads `last`: the build system then
   * fills the batch every tick before policies decide. Off by default, so scripted runs pay
   * nothing.
   */
  want = false;
  /** Variant the build system fills (default: features.systems.observations). */
  variant: ObservationVariant;
  /** The batch the build system filled this tick (undefined until it ran with `want`). */
  last: ObservationBatch | undefined;
  private buildFn: ((v?: ObservationVariant) => ObservationBatch) | undefined;
  private specFn: ((v?: ObservationVariant) => ObservationSpec) | undefined;

  /** The plug-in binds its builder here so other plug-ins reach it through ObservationService. */
  bindService(build: (v?: ObservationVariant) => ObservationBatch, spec: (v?: ObservationVariant) => ObservationSpec): void {
    this.buildFn = build;
    this.specFn = spec;
  }
  build(v?: ObservationVariant): ObservationBatch {
    return this.buildFn!(v);
  }
  requestContextReset(eid: number): void {
    this.ensure(eid + 1);
    this.pendingReset[eid] = 1;
  }
  embeddingMetrics() {
    return this.allocator.metrics();
  }
  spec(v?: ObservationVariant): ObservationSpec {
    return this.specFn!(v);
  }

  // Per-entity tracking (index: entity id).
  /** Tick the agent's episode began (Lifecycle.spawned_tick when present). */
  spawnTick = new Int32Array(0);
  // lastTick, lastX, lastY and resetTick are empty until the first observation is built
  // (track()): a run whose policy never observes (scripted) holds none of them (issue #19
  // memory: 12 bytes per agent). Empty reads as never observed (-1, 0, 0, -1).
  /** Decision tick of the agent's last observation, -1 = never observed. */
  lastTick = new Int32Array(0);
  lastX = new Int16Array(0);
  lastY = new Int16Array(0);
  /** Decision tick whose observation carries ctx_reset_flag = 1. */
  resetTick = new Int32Array(0);
  /** 1 = a context reset was requested (teleport, possession) and is not yet observed. */
  pendingReset = new Uint8Array(0);

  readonly features: FeatureLayout;
  private readonly maps = new Map<ObservationVariant, MapLayout>();
  private readonly batches = new Map<ObservationVariant, ObservationBatch>();

  // Derived from the registry (rebuilt when it changes).
  registry: AffordanceTable | undefined;
  private registrySig = "";
  /** Compact map channel of each object type, -1 = none. */
  compactChannel = new Int16Array(0);
  /** The plug-ins' feature writers, bound once per build. */
  readonly writers = new FeatureWriters();

  constructor(world: World) {
    const s = world.settings;
    // Per-agent arrays: agents take the low entity ids (engine/entities.ts).
    const cap = Math.max(16, world.agentIdLimit());
    this.allocator = new EmbeddingAllocator(s.embedding_allocator, cap);
    this.variant = s.features.systems.observations;
    this.features = featureLayout(s, world.plugins);
    this.ensure(cap);
  }

  /** Grows the per-entity arrays to hold ids below `n` (the observed tracking only once track() made it). */
  ensure(n: number): void {
    this.allocator.ensure(n);
    if (n <= this.spawnTick.length) return;
    // Sized up front from the world's capacity, then by a quarter (issue #19: doubling from 16
    // left up to 2x slack: 2.6 entries per agent at 200k).
    const cap = this.spawnTick.length === 0 ? Math.max(16, n) : Math.max(n, Math.ceil(this.spawnTick.length * 1.25));
    this.grow(cap, this.lastTick.length > 0);
  }

  /** Makes the observed tracking (lastTick, lastX, lastY, resetTick) as long as spawnTick; before a build. */
  track(): void {
    if (this.lastTick.length < this.spawnTick.length) this.grow(this.spawnTick.length, true);
  }

  /** Copies the per-entity arrays into `cap` rows (the observed tracking only when `tracked`). */
  private grow(cap: number, tracked: boolean): void {
    const i32 = (a: Int32Array, fill: number) => {
      const g = new Int32Array(cap).fill(fill);
      g.set(a);
      return g;
    };
    const i16 = (a: Int16Array) => {
      const g = new Int16Array(cap);
      g.set(a);
      return g;
    };
    if (this.pendingReset.length !== cap) {
      const u8 = new Uint8Array(cap);
      u8.set(this.pendingReset);
      this.pendingReset = u8;
      this.spawnTick = i32(this.spawnTick, 0);
    }
    if (!tracked) return;
    this.lastTick = i32(this.lastTick, -1);
    this.resetTick = i32(this.resetTick, -1);
    this.lastX = i16(this.lastX);
    this.lastY = i16(this.lastY);
  }

  /** Forgets an entity's tracking (its id is new or recycled). */
  resetAgent(eid: number, spawnTick: number): void {
    this.ensure(eid + 1);
    this.spawnTick[eid] = spawnTick;
    if (eid < this.lastTick.length) {
      this.lastTick[eid] = -1;
      this.resetTick[eid] = -1;
    }
    this.pendingReset[eid] = 0;
  }

  mapLayout(world: World, variant: ObservationVariant): MapLayout {
    let m = this.maps.get(variant);
    if (!m) this.maps.set(variant, (m = mapLayout(world.settings, variant)));
    return m;
  }

  /** The plug-in's own batch for a variant. */
  batch(world: World, variant: ObservationVariant): ObservationBatch {
    let b = this.batches.get(variant);
    if (!b) {
      const m = this.mapLayout(world, variant);
      b = new ObservationBatch(variant, m.channels.length, m.window, this.features.count, Math.max(16, world.agents.length));
      this.batches.set(variant, b);
    }
    return b;
  }

  /** Rebuilds the compact map's channel of each object type when the registry changed. */
  refresh(world: World, compact: MapLayout | undefined): void {
    const registry = world.optionalResource(AffordancesKey)?.registry;
    if (!registry) {
      this.registry = undefined;
      return;
    }
    const sig = `${registry.types.length}:${registry.affordances.length}:${compact ? compact.objectChannels.join(",") : ""}`;
    if (registry === this.registry && sig === this.registrySig) return;
    this.registry = registry;
    this.registrySig = sig;
    this.compactChannel = new Int16Array(registry.types.length).fill(-1);
    if (compact) {
      compact.objectChannels.forEach((name, k) => {
        const t = registry.types.findIndex((n) => n.toLowerCase() === name);
        if (t >= 0) this.compactChannel[t] = 4 + k;
      });
    }
  }

  save(): unknown {
    const agents: number[] = [];
    const tracked = this.lastTick.length > 0;
    for (let e = 0; e < this.spawnTick.length; e++) {
      const last = tracked ? this.lastTick[e] : -1;
      if (last < 0 && this.spawnTick[e] === 0 && this.pendingReset[e] === 0) continue;
      if (tracked) agents.push(e, this.spawnTick[e], last, this.lastX[e], this.lastY[e], this.resetTick[e], this.pendingReset[e]);
      else agents.push(e, this.spawnTick[e], -1, 0, 0, -1, this.pendingReset[e]);
    }
    return { allocator: this.allocator.save(), agents };
  }

  load(data: unknown): void {
    const d = data as { allocator: unknown; agents: number[] };
    this.allocator.load(d.allocator);
    this.spawnTick.fill(0);
    this.lastTick.fill(-1);
    this.resetTick.fill(-1);
    this.lastX.fill(0);
    this.lastY.fill(0);
    this.pendingReset.fill(0);
    // The observed tracking is made when the saved run had observed (a row not "never observed").
    for (let i = 0; i < d.agents.length && this.lastTick.length === 0; i += 7) {
      const a = d.agents;
      if (a[i + 2] !== -1 || a[i + 3] !== 0 || a[i + 4] !== 0 || a[i + 5] !== -1) this.track();
    }
    for (let i = 0; i < d.agents.length; i += 7) {
      const e = d.agents[i];
      this.ensure(e + 1);
      this.spawnTick[e] = d.agents[i + 1];
      if (this.lastTick.length === 0) {
        this.pendingReset[e] = d.agents[i + 6];
        continue;
      }
      this.lastTick[e] = d.agents[i + 2];
      this.lastX[e] = d.agents[i + 3];
      this.lastY[e] = d.agents[i + 4];
      this.resetTick[e] = d.agents[i + 5];
      this.pendingReset[e] = d.agents[i + 6];
    }
  }

  /**
   * Only the allocator enters the state hash: the tracking above changes when observations are
   * built, and building them (a consumer's choice) must not change the hash of a run.
   */
  hash(h: StateHasher): void {
    this.allocator.hash(h);
  }
}
