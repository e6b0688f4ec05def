// Embedding allocator (guide 2.6, inventory 3.11): a stable slot in [0, max_slots) per agent,
// taken on spawn and given back on removal. A released slot rests `cooldown_ticks` before it is
// handed out again; when none has rested long enough, the oldest released slot is reused early
// and the reuse is counted (forced reuse). Part of the observations plug-in's resource.
import type { StateHasher } from "../../engine/hash.ts";
import type { EmbeddingAllocatorConfig } from "./config.ts";

/** Metrics the telemetry publisher and the stability monitor read (names as the original's). */
export interface EmbeddingMetrics {
  allocations_total: number;
  forced_reuse_count: number;
  /** forced_reuse_count / allocations_total (0 before any allocation). */
  forced_reuse_rate: number;
  /** forced_reuse_rate > reuse_warning_threshold (never with a threshold of 0). */
  reuse_warning: boolean;
  /** Allocations that found every slot held and shared one (slot = uid mod max_slots). */
  shared_allocations: number;
  /** Slots held by at least one live agent. */
  slots_in_use: number;
}

/** One forced reuse, kept when `log_forced_reuse` is on (the last 32). */
export interface ForcedReuse {
  tick: number;
  slot: number;
  uid: number;
  /** Ticks the slot had rested (< cooldown_ticks). */
  rested: number;
}

const MAX_LOG = 32;

export class EmbeddingAllocator {
  readonly maxSlots: number;
  readonly cooldown: number;
  readonly threshold: number;
  readonly logForced: boolean;
  /** Slot of each entity, -1 = none (index: entity id). */
  slotOf: Int16Array;
  /** Live agents holding each slot (more than one only when agents outnumber slots). */
  readonly holders: Int32Array;
  /** Tick each slot was last released, -1 = never released. */
  readonly releasedAt: Int32Array;
  allocationsTotal = 0;
  forcedReuseCount = 0;
  sharedAllocations = 0;
  forcedLog: ForcedReuse[] = [];

  constructor(cfg: EmbeddingAllocatorConfig, capacity: number) {
    this.maxSlots = cfg.max_slots;
    this.cooldown = cfg.cooldown_ticks;
    this.threshold = cfg.reuse_warning_threshold;
    this.logForced = cfg.log_forced_reuse;
    // Slots are < max_slots <= 256 (the config's bound): Int16 holds them and -1 (issue #19).
    this.slotOf = new Int16Array(Math.max(16, capacity)).fill(-1);
    this.holders = new Int32Array(this.maxSlots);
    this.releasedAt = new Int32Array(this.maxSlots).fill(-1);
  }

  ensure(n: number): void {
    if (n <= this.slotOf.length) return;
    const cap = Math.max(n, Math.ceil(this.slotOf.length * 1.25));
    const g = new Int16Array(cap).fill(-1);
    g.set(this.slotOf);
    this.slotOf = g;
  }

  /**
   * The agent's slot, allocating one if it has none: the lowest never-used free slot, else the
   * free slot released longest ago among those rested `cooldown_ticks`, else (forced reuse,
   * counted) the free slot released longest ago. Ties go to the lower slot. When every slot is
   * held, the agent shares slot `uid mod max_slots` instead of failing as the original does.
   */
  allocate(eid: number, uid: number, tick: number): number {
    this.ensure(eid + 1);
    const have = this.slotOf[eid];
    if (have >= 0) return have;
    const S = this.maxSlots;
    let ready = -1;
    let oldest = -1;
    let pick = -1;
    for (let s = 0; s < S; s++) {
      if (this.holders[s] !== 0) continue;
      const rel = this.releasedAt[s];
      if (rel < 0) {
        pick = s;
        break;
      }
      if (tick - rel >= this.cooldown && (ready < 0 || rel < this.releasedAt[ready])) ready = s;
      if (oldest < 0 || rel < this.releasedAt[oldest]) oldest = s;
    }
    if (pick < 0) pick = ready;
    if (pick < 0 && oldest >= 0) {
      pick = oldest;
      this.forcedReuseCount++;
      if (this.logForced) {
        this.forcedLog.push({ tick, slot: pick, uid, rested: tick - this.releasedAt[pick] });
        if (this.forcedLog.length > MAX_LOG) this.forcedLog.shift();
      }
    }
    if (pick < 0) {
      pick = uid % S;
      this.sharedAllocations++;
    }
    this.holders[pick]++;
    this.slotOf[eid] = pick;
    this.allocationsTotal++;
    return pick;
  }

  /** Gives the agent's slot back; the slot's cooldown starts when its last holder leaves. */
  release(eid: number, tick: number): void {
    if (eid >= this.slotOf.length) return;
    const s = this.slotOf[eid];
    if (s < 0) return;
    this.slotOf[eid] = -1;
    if (--this.holders[s] === 0) this.releasedAt[s] = tick;
  }

  metrics(): EmbeddingMetrics {
    const rate = this.forcedReuseCount / Math.max(1, this.allocationsTotal);
    let inUse = 0;
    for (let s = 0; s < this.maxSlots; s++) if (this.holders[s] > 0) inUse++;
    return {
      allocations_total: this.allocationsTotal,
      forced_reuse_count: this.forcedReuseCount,
      forced_reuse_rate: rate,
      reuse_warning: this.threshold > 0 && rate > this.threshold,
      shared_allocations: this.sharedAllocations,
      slots_in_use: inUse,
    };
  }

  save(): unknown {
    const assigned: number[] = [];
    for (let e = 0; e < this.slotOf.length; e++) if (this.slotOf[e] >= 0) assigned.push(e, this.slotOf[e]);
    return {
      assigned,
      released_at: Array.from(this.releasedAt),
      allocations_total: this.allocationsTotal,
      forced_reuse_count: this.forcedReuseCount,
      shared_allocations: this.sharedAllocations,
      forced_log: this.forcedLog.map((f) => ({ ...f })),
    };
  }

  load(data: unknown): void {
    const d = data as {
      assigned: number[];
      released_at: number[];
      allocations_total: number;
      forced_reuse_count: number;
      shared_allocations: number;
      forced_log?: ForcedReuse[];
    };
    this.slotOf.fill(-1);
    this.holders.fill(0);
    this.releasedAt.fill(-1);
    for (let i = 0; i < d.assigned.length; i += 2) {
      this.ensure(d.assigned[i] + 1);
      this.slotOf[d.assigned[i]] = d.assigned[i + 1];
      this.holders[d.assigned[i + 1]]++;
    }
    for (let s = 0; s < this.maxSlots && s < d.released_at.length; s++) this.releasedAt[s] = d.released_at[s];
    this.allocationsTotal = d.allocations_total;
    this.forcedReuseCount = d.forced_reuse_count;
    this.sharedAllocations = d.shared_allocations;
    this.forcedLog = (d.forced_log ?? []).map((f) => ({ ...f }));
  }

  hash(h: StateHasher): void {
    h.u32(this.allocationsTotal).u32(this.forcedReuseCount).u32(this.sharedAllocations);
    for (let s = 0; s < this.maxSlots; s++) h.u32(this.holders[s]).u32(this.releasedAt[s]);
    for (let e = 0; e < this.slotOf.length; e++) if (this.slotOf[e] >= 0) h.u32(e).u32(this.slotOf[e]);
  }
}
