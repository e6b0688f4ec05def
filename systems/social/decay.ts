// social/update's rivalry decay over the ledger's hot entities (issue #19), as a kernel made per
// world: a fresh copy of decayFactory's source (new Function) closing over the ledger's arrays and
// the Agent flags as constants. V8 specialises a loop over the arrays of the only closure of a
// function literal (base pointers and lengths embedded, bounds checks dropped; the lead's finding,
// systems/needs/decay-kernel.ts). Remade when one of the arrays moves (the ledger's pool or the
// entity stores grew). Where code generation from strings is not allowed, decayFactory itself is
// used (the same steps, unspecialised).

/** What the decay needs of the ledger besides its arrays (components/social.ts SocialLedger). */
export interface LedgerOps {
  /** First slot of eid's edges, -1 = none. */
  base(eid: number): number;
  /** Forgets one edge. */
  evict(s: number): void;
}

/** The ledger's arrays the kernel is made for. */
export interface DecayArrays {
  other: Int32Array;
  rivalry: Float32Array;
  trust: Float32Array;
  familiarity: Float32Array;
  count: Uint8Array;
  hot: Uint8Array;
  hotList: Int32Array;
  /** Agent membership flags (1 = a live agent). */
  isAgent: Uint8Array;
}

/** One decay pass over hotList[0, hotCount): returns how many entities stay hot (compacted to the front). */
export type DecayKernel = (hotCount: number, K: number, decay: number, minValue: number, rest: number, evictAt: number) => number;

/**
 * Decays rivalry on every edge of each hot entity that is a live agent (an entity that is not
 * one keeps its place on the list); an edge with nothing left (rivalry at or below the eviction
 * threshold, no trust, no familiarity) is forgotten. An entity stays hot while one of its edges
 * can still change by decay alone (rivalry above the rest value `rest`, or neither trust nor
 * familiarity). Self-contained (no module bindings): compiled per world from its source.
 */
export function decayFactory(L: LedgerOps, a: DecayArrays): DecayKernel {
  const { other, rivalry, trust, familiarity, count, hot, hotList, isAgent } = a;
  /** Decays entity eid's edges from `base`; returns 1 when one can still change by decay alone. */
  function edges(base: number, K: number, decay: number, minValue: number, rest: number, evictAt: number): number {
    let warm = 0;
    for (let k = 0; k < K; k++) {
      const s = base + k;
      if (other[s] === -1) continue;
      const v = rivalry[s] - decay;
      rivalry[s] = v < minValue ? minValue : v;
      if (rivalry[s] <= evictAt && trust[s] === 0 && familiarity[s] === 0) L.evict(s);
      else if (rivalry[s] > rest || (trust[s] === 0 && familiarity[s] === 0)) warm = 1;
    }
    return warm;
  }
  return function decayHot(hotCount: number, K: number, decay: number, minValue: number, rest: number, evictAt: number): number {
    let kept = 0;
    for (let i = 0; i < hotCount; i++) {
      const eid = hotList[i];
      if (count[eid] === 0) {
        hot[eid] = 0;
        continue;
      }
      let warm = isAgent[eid] !== 1;
      const base = warm ? -1 : L.base(eid);
      if (base >= 0 && edges(base, K, decay, minValue, rest, evictAt) === 1) warm = true;
      if (warm) hotList[kept++] = eid;
      else hot[eid] = 0;
    }
    return kept;
  };
}
