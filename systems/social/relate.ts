// social/update's relationship events (queue handovers, chats, failed chats) as a kernel made per
// world (issue #19): a fresh copy of relateFactory's source (new Function) closing over the
// ledger's arrays and the Agent flags and uids as constants (the lead's finding: V8 specialises
// the only closure of a function literal; systems/needs/decay-kernel.ts). The per-event work is
// one loop over typed arrays: no closure per direction, no double passed to a call (each was a
// boxed HeapNumber), the edge found, created or replaced in place as SocialLedger.slot does.
//
// Hot list: an edge the event leaves at rest (rivalry at the rest value, trust or familiarity
// non-zero) does not put its entity on the ledger's hot list when the tick's decay would leave
// the rest value as it is (`settles`). Off the list every other edge of the entity is at rest
// already (the ledger's invariant), so the old mark only made the decay visit the entity, rewrite
// the same values and drop it again in the same tick: every value and every later read of `hot`
// is the same without it (only the order of the hot list may differ, and no value depends on
// that order: edges decay independently). Evening ticks at 100k have ~1,500 chats between agents
// whose edges are at rest; the decay visited ~2,000 entities for nothing.
//
// An entity without a block (its first edge) goes through the ledger's own slot(), which may grow
// the edge pool and move the arrays: then the kernel returns where it stopped and the caller
// remakes it (SocialState.relate) and goes on. Where code generation from strings is not allowed,
// relateFactory itself is used (the same steps, unspecialised).

/** What the kernel needs of the ledger besides its arrays (components/social.ts SocialLedger). */
import type { DecayArrays } from "./decay.ts";
export interface LedgerSlots {
  readonly maxEdges: number;
  /** The arrays now (compared after slot() to see whether they moved). */
  readonly other: Int32Array;
  readonly rivalry: Float32Array;
  readonly trust: Float32Array;
  readonly familiarity: Float32Array;
  readonly count: Uint8Array;
  readonly hot: Uint8Array;
  /** First slot of eid's edges, -1 = none. */
  base(eid: number): number;
  /** Puts eid on the hot list. */
  markHot(eid: number): void;
  /** Slot of the edge eid -> uid, created if missing (may grow the pool), -1 when not kept. */
  slot(eid: number, uid: number, strength: number): number;
}

/** The arrays the kernel is made for: the decay kernel's, less the hot list, and the agents' uids. */
export interface RelateArrays extends Omit<DecayArrays, "hotList"> {
  /** Agent uids (Agent.uid). */
  uid: Uint32Array;
}

/**
 * Applies events [from >> 1, end) of one channel: event i relates src[i] and dst[i] (both live
 * agents, not the same) by trust tc, familiarity fc and rivalry rc in both directions, src's edge
 * first; with useQ = 1, trust and familiarity are tc and fc times quality[i] clamped to [0, 1].
 * A position is 2 x event + direction (from = 2 x start to begin). Returns 2 x end when done, or
 * the position to go on from after an edge whose first slot moved the ledger's arrays (remake the
 * kernel, call again from there).
 */
export type RelateKernel = (
  src: Float64Array,
  dst: Float64Array,
  quality: Float64Array,
  useQ: number,
  from: number,
  end: number,
  tc: number,
  fc: number,
  rc: number,
  minValue: number,
  maxValue: number,
  rest: number,
  settles: number,
) => number;

/**
 * The kernel over `a` (self-contained: no module bindings; compiled per world from its source).
 * Same steps as systems/social/index.ts's generic relate (SocialLedger.slot, then the clamped
 * additions), event by event, src's edge first; only the hot-list marks of edges left at rest
 * are left out when `settles` is 1 (see the file comment).
 */
export function relateFactory(L: LedgerSlots, a: RelateArrays): RelateKernel {
  const { other, rivalry, trust, familiarity, count, hot, isAgent, uid } = a;
  const K = L.maxEdges;
  return function relateEvents(src, dst, quality, useQ, from, end, tc, fc, rc, minValue, maxValue, rest, settles) {
    let d0 = from & 1;
    for (let i = from >> 1; i < end; i++) {
      // Entity ids as int32 (the channel holds them as doubles; one passed to a call was boxed).
      const ea = src[i] | 0;
      const eb = dst[i] | 0;
      if (isAgent[ea] !== 1 || isAgent[eb] !== 1 || ea === eb) {
        d0 = 0;
        continue;
      }
      // Without quality, tc x 1 and fc x 1: the same numbers, bit for bit.
      const q0 = useQ === 1 ? quality[i] : 1;
      const q = q0 < 0 ? 0 : q0 > 1 ? 1 : q0;
      const t = tc * q;
      const f = fc * q;
      const strength = Math.abs(t) + Math.abs(f) + Math.max(0, rc);
      for (let d = d0; d < 2; d++) {
        const x = d === 0 ? ea : eb;
        const uy = d === 0 ? uid[eb] : uid[ea];
        let s = -1;
        const base = x < count.length ? L.base(x) : -1;
        if (base >= 0) {
          for (let k = 0; k < K; k++) {
            if (other[base + k] === uy) {
              s = base + k;
              break;
            }
          }
          if (s < 0) {
            // slot()'s miss: a free slot, else the weakest edge if the new one is stronger.
            let pick = -1;
            let weakest = Infinity;
            for (let k = 0; k < K; k++) {
              const c = base + k;
              if (other[c] === -1) {
                pick = c;
                break;
              }
              const wgt = rivalry[c] + Math.abs(trust[c]) + Math.abs(familiarity[c]);
              if (wgt < weakest) {
                weakest = wgt;
                pick = c;
              }
            }
            if (other[pick] !== -1 && weakest >= strength) continue;
            if (other[pick] === -1) count[x]++;
            other[pick] = uy;
            rivalry[pick] = 0;
            trust[pick] = 0;
            familiarity[pick] = 0;
            s = pick;
          }
        } else {
          // The entity's first edge: the ledger's slot (marks it hot; may move the arrays).
          s = L.slot(x, uy, strength);
          if (s < 0) continue;
          if (L.other !== other || L.rivalry !== rivalry || L.trust !== trust || L.familiarity !== familiarity || L.count !== count || L.hot !== hot) {
            const tv = L.trust[s] + t;
            L.trust[s] = tv < -1 ? -1 : tv > 1 ? 1 : tv;
            const fv = L.familiarity[s] + f;
            L.familiarity[s] = fv < -1 ? -1 : fv > 1 ? 1 : fv;
            const rv = L.rivalry[s] + rc;
            L.rivalry[s] = rv < minValue ? minValue : rv > maxValue ? maxValue : rv;
            return 2 * i + d + 1;
          }
        }
        const tv = trust[s] + t;
        trust[s] = tv < -1 ? -1 : tv > 1 ? 1 : tv;
        const fv = familiarity[s] + f;
        familiarity[s] = fv < -1 ? -1 : fv > 1 ? 1 : fv;
        const rv = rivalry[s] + rc;
        rivalry[s] = rv < minValue ? minValue : rv > maxValue ? maxValue : rv;
        // At rest: the rest value itself (not -0 where it is 0), trust or familiarity non-zero
        // (just written: in cache). Only an edge off rest reads x's hot flag (a place of its own).
        const r = rivalry[s];
        const atRest = settles === 1 && r === rest && (r !== 0 || 1 / r > 0) && (trust[s] !== 0 || familiarity[s] !== 0);
        if (!atRest && hot[x] !== 1) L.markHot(x);
      }
      d0 = 0;
    }
    return 2 * end;
  };
}
