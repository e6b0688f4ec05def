// Relationships between agents: at most conflict.rivalry.max_edges edges per agent,
// each with rivalry, trust and familiarity toward another agent (by uid, stable across entity
// recycling). Owned by the social plug-in (`ctx.resource(SocialKey).ledger`); read by behaviour,
// observations and rewards.
import { defineResource } from "../engine/resource.ts";
import type { StateHasher } from "../engine/hash.ts";

/**
 * Edge k of entity e is at `base(e) + k` in `other`, `rivalry`, `trust` and `familiarity`, or
 * nowhere while e has never had an edge (base -1). The K slots of an entity (a block) are taken
 * from a pool on its first edge and given back when it leaves (issue #19: memory by use, not
 * K x 16 bytes for every entity id, objects included). Slot numbers in snapshots and the state
 * hash are the logical e * K + k as before, so both are unchanged.
 */
export class SocialLedger {
  /** uid of each slot's other agent, -1 = free. */
  other: Int32Array;
  rivalry: Float32Array;
  trust: Float32Array;
  familiarity: Float32Array;
  /** Edges in use per entity (loops skip agents with none). */
  count: Uint8Array;
  /** First slot of each entity's block, -1 = none (index: entity). */
  private blockOf: Int32Array;
  /** Entity of each block (index: slot / K), -1 = free. */
  private owner: Int32Array;
  /** Blocks handed out so far and the free ones given back (a stack). */
  private blocks = 0;
  private free: number[] = [];
  /** Logical slots (entities x K) as snapshots number them; grows by doubling like before. */
  private logical: number;
  /**
   * Entities whose edges may change by decay alone (`hotList[0, hotCount)`, flagged in `hot`):
   * every entity slot() returned an edge of, or whose edge the relate kernel (systems/social/
   * relate.ts) left off rest, since the social pass last found all its edges at rest (rivalry at
   * min_value with trust or familiarity non-zero): an entity off the list has every edge at rest.
   * Storage, not state: neither saved nor hashed (a load marks every entity with edges).
   */
  hot: Uint8Array;
  hotList: Int32Array;
  hotCount = 0;

  constructor(
    readonly maxEdges: number,
    capacity: number,
  ) {
    this.logical = capacity * maxEdges;
    this.count = new Uint8Array(capacity);
    this.blockOf = new Int32Array(capacity).fill(-1);
    this.hot = new Uint8Array(capacity);
    this.hotList = new Int32Array(Math.min(capacity, 1024));
    // A first pool of up to 1,024 blocks (a small world never grows it); then see block().
    const first = Math.min(capacity, 1024) * maxEdges;
    this.other = new Int32Array(first).fill(-1);
    this.rivalry = new Float32Array(first);
    this.trust = new Float32Array(first);
    this.familiarity = new Float32Array(first);
    this.owner = new Int32Array(first / Math.max(1, maxEdges)).fill(-1);
  }

  /** Makes room for entity ids below `entities`. */
  ensure(entities: number): void {
    const n = entities * this.maxEdges;
    if (n <= this.logical) return;
    // A quarter more at least (issue #19: doubling left up to 2x slack per entity id).
    const cap = Math.max(16, entities, Math.ceil((this.logical / this.maxEdges) * 1.25)) * this.maxEdges;
    this.logical = cap;
    const c = new Uint8Array(cap / this.maxEdges);
    c.set(this.count);
    this.count = c;
    const b = new Int32Array(cap / this.maxEdges).fill(-1);
    b.set(this.blockOf);
    this.blockOf = b;
    const h = new Uint8Array(cap / this.maxEdges);
    h.set(this.hot);
    this.hot = h;
  }

  /** Puts eid on the hot list (no-op when it is on it). */
  markHot(eid: number): void {
    if (this.hot[eid] === 1) return;
    this.hot[eid] = 1;
    if (this.hotCount === this.hotList.length) {
      const l = new Int32Array(Math.max(16, this.hotList.length * 2));
      l.set(this.hotList);
      this.hotList = l;
    }
    this.hotList[this.hotCount++] = eid;
  }

  /** First slot of eid's edges, -1 when it has no block (then it has no edge). */
  base(eid: number): number {
    return eid < this.blockOf.length ? this.blockOf[eid] : -1;
  }

  /** Bytes held (for memory reports). */
  bytes(): number {
    return this.other.byteLength * 4 + this.owner.byteLength + this.count.byteLength + this.blockOf.byteLength;
  }

  /** A block for eid (its own when it has one). */
  private block(eid: number): number {
    const held = this.blockOf[eid];
    if (held >= 0) return held;
    const K = this.maxEdges;
    let blk = this.free.pop();
    if (blk === undefined) {
      blk = this.blocks++;
      if (this.blocks > this.owner.length) {
        // Doubling up to a block per entity row (count.length: the agents' id range, as most
        // agents get an edge within a day), a quarter beyond: growing by a quarter all the way
        // copied ~5x the final pool (54.7 MB of ArrayBuffer garbage in the first ~120 ticks at
        // 100k agents, F's finding: V8 starts a major GC per 64 MB of it); doubling copies about
        // as much as it keeps, and the cap bounds the slack by the most the agents can hold.
        const own = this.owner.length;
        const nb = Math.max(16, this.blocks, Math.ceil(own * 1.25), Math.min(own * 2, this.count.length));
        const o = new Int32Array(nb * K).fill(-1);
        o.set(this.other);
        this.other = o;
        for (const k of ["rivalry", "trust", "familiarity"] as const) {
          const g = new Float32Array(nb * K);
          g.set(this[k]);
          this[k] = g;
        }
        const w = new Int32Array(nb).fill(-1);
        w.set(this.owner);
        this.owner = w;
      }
    }
    this.owner[blk] = eid;
    this.blockOf[eid] = blk * K;
    return blk * K;
  }

  /** Forgets one edge (slot index). */
  evict(s: number): void {
    if (this.other[s] === -1) return;
    this.other[s] = -1;
    this.rivalry[s] = 0;
    this.trust[s] = 0;
    this.familiarity[s] = 0;
    this.count[this.owner[Math.floor(s / this.maxEdges)]]--;
  }

  /** Slot of the edge eid -> uid, or -1. */
  find(eid: number, uid: number): number {
    const base = this.base(eid);
    if (base < 0) return -1;
    const K = this.maxEdges;
    for (let k = 0; k < K; k++) if (this.other[base + k] === uid) return base + k;
    return -1;
  }

  /**
   * Slot of the edge eid -> uid, created if missing. When all edges are taken, the weakest
   * (lowest rivalry + |trust| + |familiarity|, first on ties) is evicted, but only if the new
   * edge (of weight `strength`) would be stronger; otherwise -1 and nothing changes. The first
   * edge of an entity may grow the pool, replacing the arrays: read them after the call.
   */
  slot(eid: number, uid: number, strength = Infinity): number {
    this.ensure(eid + 1);
    const found = this.find(eid, uid);
    if (found >= 0) {
      this.markHot(eid);
      return found;
    }
    const K = this.maxEdges;
    const base = this.block(eid);
    let pick = -1;
    let weakest = Infinity;
    for (let k = 0; k < K; k++) {
      const s = base + k;
      if (this.other[s] === -1) {
        pick = s;
        break;
      }
      const w = this.rivalry[s] + Math.abs(this.trust[s]) + Math.abs(this.familiarity[s]);
      if (w < weakest) {
        weakest = w;
        pick = s;
      }
    }
    if (this.other[pick] !== -1 && weakest >= strength) return -1;
    this.markHot(eid);
    if (this.other[pick] === -1) this.count[eid]++;
    this.other[pick] = uid;
    this.rivalry[pick] = 0;
    this.trust[pick] = 0;
    this.familiarity[pick] = 0;
    return pick;
  }

  rivalryOf(eid: number, uid: number): number {
    const s = this.find(eid, uid);
    return s < 0 ? 0 : this.rivalry[s];
  }

  maxRivalry(eid: number): number {
    const base = this.base(eid);
    if (base < 0) return 0;
    const K = this.maxEdges;
    let m = 0;
    for (let k = 0; k < K; k++) if (this.other[base + k] !== -1 && this.rivalry[base + k] > m) m = this.rivalry[base + k];
    return m;
  }

  /** Edges of eid with rivalry >= threshold. */
  countAbove(eid: number, threshold: number): number {
    const base = this.base(eid);
    if (base < 0) return 0;
    const K = this.maxEdges;
    let n = 0;
    for (let k = 0; k < K; k++) if (this.other[base + k] !== -1 && this.rivalry[base + k] >= threshold) n++;
    return n;
  }

  /** Forgets every edge of eid (on exit) and gives its block back. */
  clear(eid: number): void {
    const base = this.base(eid);
    if (base < 0) return;
    const K = this.maxEdges;
    for (let k = 0; k < K; k++) {
      this.other[base + k] = -1;
      this.rivalry[base + k] = 0;
      this.trust[base + k] = 0;
      this.familiarity[base + k] = 0;
    }
    this.count[eid] = 0;
    this.blockOf[eid] = -1;
    this.owner[base / K] = -1;
    this.free.push(base / K);
  }

  /** Entities with a block, ascending (the logical order of snapshots and the hash). */
  private *withBlocks(): Generator<number> {
    for (let e = 0; e < this.blockOf.length; e++) if (this.blockOf[e] >= 0) yield e;
  }

  save(): unknown {
    const used: number[] = [];
    const K = this.maxEdges;
    for (const e of this.withBlocks()) {
      const base = this.blockOf[e];
      for (let k = 0; k < K; k++) {
        const s = base + k;
        if (this.other[s] !== -1) used.push(e * K + k, this.other[s], this.rivalry[s], this.trust[s], this.familiarity[s]);
      }
    }
    return { maxEdges: this.maxEdges, size: this.logical, used };
  }

  load(data: unknown): void {
    const d = data as { size: number; used: number[] };
    const K = this.maxEdges;
    this.logical = d.size;
    this.count = new Uint8Array(d.size / K);
    this.blockOf = new Int32Array(d.size / K).fill(-1);
    this.hot = new Uint8Array(d.size / K);
    this.hotCount = 0;
    this.blocks = 0;
    this.free = [];
    this.other.fill(-1);
    this.rivalry.fill(0);
    this.trust.fill(0);
    this.familiarity.fill(0);
    this.owner.fill(-1);
    for (let i = 0; i < d.used.length; i += 5) {
      const e = Math.floor(d.used[i] / K);
      const s = this.block(e) + (d.used[i] % K);
      this.markHot(e);
      this.count[e]++;
      this.other[s] = d.used[i + 1];
      this.rivalry[s] = d.used[i + 2];
      this.trust[s] = d.used[i + 3];
      this.familiarity[s] = d.used[i + 4];
    }
  }

  hash(h: StateHasher): void {
    const K = this.maxEdges;
    const blockOf = this.blockOf;
    for (let e = 0; e < blockOf.length; e++) {
      const base = blockOf[e];
      if (base < 0) continue;
      for (let k = 0; k < K; k++) {
        const s = base + k;
        if (this.other[s] === -1) continue;
        h.u32(e * K + k).u32(this.other[s]).f32(this.rivalry[s]).f32(this.trust[s]).f32(this.familiarity[s]);
      }
    }
  }
}

/** What the social plug-in offers other plug-ins. */
export interface SocialService {
  readonly ledger: SocialLedger;
}

/** The social plug-in's resource. */
export const SocialKey = defineResource<SocialService>("social");
