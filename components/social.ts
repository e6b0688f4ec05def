// Relationships between agents: a fixed number of edges per agent (conflict.rivalry.max_edges),
// each with rivalry, trust and familiarity toward another agent (by uid, stable across entity
// recycling). Owned by the social plug-in (`ctx.resource(SocialKey).ledger`); read by behaviour,
// observations and rewards.
import { defineResource } from "../engine/resource.ts";
import type { StateHasher } from "../engine/hash.ts";

export class SocialLedger {
  /** Edge k of entity e is at e*K + k. other = uid or -1. */
  other: Int32Array;
  rivalry: Float32Array;
  trust: Float32Array;
  familiarity: Float32Array;
  /** Edges in use per entity (loops skip agents with none). */
  count: Uint8Array;

  constructor(
    readonly maxEdges: number,
    capacity: number,
  ) {
    const n = capacity * maxEdges;
    this.other = new Int32Array(n).fill(-1);
    this.rivalry = new Float32Array(n);
    this.trust = new Float32Array(n);
    this.familiarity = new Float32Array(n);
    this.count = new Uint8Array(capacity);
  }

  ensure(entities: number): void {
    const n = entities * this.maxEdges;
    if (n <= this.other.length) return;
    let cap = Math.max(16 * this.maxEdges, this.other.length);
    while (cap < n) cap *= 2;
    const o = new Int32Array(cap).fill(-1);
    o.set(this.other);
    this.other = o;
    for (const k of ["rivalry", "trust", "familiarity"] as const) {
      const g = new Float32Array(cap);
      g.set(this[k]);
      this[k] = g;
    }
    const c = new Uint8Array(cap / this.maxEdges);
    c.set(this.count);
    this.count = c;
  }

  /** Forgets one edge (slot index). */
  evict(s: number): void {
    if (this.other[s] === -1) return;
    this.other[s] = -1;
    this.rivalry[s] = 0;
    this.trust[s] = 0;
    this.familiarity[s] = 0;
    this.count[Math.floor(s / this.maxEdges)]--;
  }

  /** Slot of the edge eid -> uid, or -1. */
  find(eid: number, uid: number): number {
    const K = this.maxEdges;
    const base = eid * K;
    if (base + K > this.other.length) return -1;
    for (let k = 0; k < K; k++) if (this.other[base + k] === uid) return base + k;
    return -1;
  }

  /**
   * Slot of the edge eid -> uid, created if missing. When all edges are taken, the weakest
   * (lowest rivalry + |trust| + |familiarity|, first on ties) is evicted, but only if the new
   * edge (of weight `strength`) would be stronger; otherwise -1 and nothing changes.
   */
  slot(eid: number, uid: number, strength = Infinity): number {
    this.ensure(eid + 1);
    const found = this.find(eid, uid);
    if (found >= 0) return found;
    const K = this.maxEdges;
    const base = eid * K;
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
    const K = this.maxEdges;
    const base = eid * K;
    let m = 0;
    if (base + K > this.other.length) return 0;
    for (let k = 0; k < K; k++) if (this.other[base + k] !== -1 && this.rivalry[base + k] > m) m = this.rivalry[base + k];
    return m;
  }

  /** Edges of eid with rivalry >= threshold. */
  countAbove(eid: number, threshold: number): number {
    const K = this.maxEdges;
    const base = eid * K;
    let n = 0;
    if (base + K > this.other.length) return 0;
    for (let k = 0; k < K; k++) if (this.other[base + k] !== -1 && this.rivalry[base + k] >= threshold) n++;
    return n;
  }

  /** Forgets every edge of eid (on exit). */
  clear(eid: number): void {
    const K = this.maxEdges;
    const base = eid * K;
    if (base + K > this.other.length) return;
    for (let k = 0; k < K; k++) {
      this.other[base + k] = -1;
      this.rivalry[base + k] = 0;
      this.trust[base + k] = 0;
      this.familiarity[base + k] = 0;
    }
    this.count[eid] = 0;
  }

  save(): unknown {
    const used: number[] = [];
    for (let s = 0; s < this.other.length; s++) if (this.other[s] !== -1) used.push(s, this.other[s], this.rivalry[s], this.trust[s], this.familiarity[s]);
    return { maxEdges: this.maxEdges, size: this.other.length, used };
  }

  load(data: unknown): void {
    const d = data as { size: number; used: number[] };
    this.other = new Int32Array(d.size).fill(-1);
    this.rivalry = new Float32Array(d.size);
    this.trust = new Float32Array(d.size);
    this.familiarity = new Float32Array(d.size);
    this.count = new Uint8Array(d.size / this.maxEdges);
    for (let i = 0; i < d.used.length; i += 5) {
      const s = d.used[i];
      this.count[Math.floor(s / this.maxEdges)]++;
      this.other[s] = d.used[i + 1];
      this.rivalry[s] = d.used[i + 2];
      this.trust[s] = d.used[i + 3];
      this.familiarity[s] = d.used[i + 4];
    }
  }

  hash(h: StateHasher): void {
    for (let s = 0; s < this.other.length; s++) {
      if (this.other[s] === -1) continue;
      h.u32(s).u32(this.other[s]).f32(this.rivalry[s]).f32(this.trust[s]).f32(this.familiarity[s]);
    }
  }
}

/** What the social plug-in offers other plug-ins. */
export interface SocialService {
  readonly ledger: SocialLedger;
}

/** The social plug-in's resource. */
export const SocialKey = defineResource<SocialService>("social");
