// Social's relationship-event kernel (systems/social/relate.ts): the same ledger as the ledger's
// slot() followed by the clamped additions (social/update's steps before the kernel), event by
// event; edges left at rest stay off the hot list, which after the tick's decay is the same set;
// the kernel is remade and goes on when an entity's first edge grows the pool mid-channel.
import { describe, expect, it } from "vitest";
import { SocialLedger } from "../../components/social.ts";
import { freshCopy } from "../../engine/kernel-source.ts";
import { decayFactory } from "../../systems/social/decay.ts";
import { SocialState } from "../../systems/social/index.ts";
import { relateFactory } from "../../systems/social/relate.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

interface Events {
  src: Float64Array;
  dst: Float64Array;
  quality: Float64Array;
}

/** n events between entities [1, ids), some with a non-agent or the same entity, quality in [-0.5, 1.5]. */
function events(rnd: () => number, n: number, ids: number): Events {
  const src = new Float64Array(n);
  const dst = new Float64Array(n);
  const quality = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    src[i] = 1 + Math.floor(rnd() * (ids - 1));
    dst[i] = rnd() < 0.03 ? src[i] : 1 + Math.floor(rnd() * (ids - 1));
    quality[i] = rnd() * 2 - 0.5;
  }
  return { src, dst, quality };
}

/** A ledger with edges already: most at rest (rivalry at min, trust and familiarity set), some rivals, some full blocks. */
function ledger(K: number, capacity: number, withEdges: number, rnd: () => number, uid: Uint32Array, min: number): SocialLedger {
  const L = new SocialLedger(K, capacity);
  L.ensure(capacity);
  for (let e = 1; e < withEdges; e++) {
    const n = 1 + Math.floor(rnd() * K);
    for (let j = 0; j < n; j++) {
      const s = L.slot(e, uid[1 + Math.floor(rnd() * (withEdges - 1))], 1);
      if (s < 0) continue;
      const kind = rnd();
      L.rivalry[s] = kind < 0.15 ? min + 0.3 * rnd() : min;
      L.trust[s] = kind < 0.9 ? 0.2 * rnd() : 0;
      L.familiarity[s] = kind < 0.95 ? 0.3 * rnd() : 0;
    }
  }
  // As a decay pass leaves it: only entities with an edge off rest stay hot.
  const isAll = new Uint8Array(capacity).fill(1);
  decayOnce(L, isAll, 0, min, -1);
  return L;
}

function decayOnce(L: SocialLedger, isAgent: Uint8Array, decay: number, min: number, evictAt: number): void {
  const k = decayFactory(L, { other: L.other, rivalry: L.rivalry, trust: L.trust, familiarity: L.familiarity, count: L.count, hot: L.hot, hotList: L.hotList, isAgent });
  L.hotCount = k(L.hotCount, L.maxEdges, decay, min, Math.fround(min), evictAt);
}

/** social/update's steps before the kernel: slot() (marks hot), then the clamped additions, a's edge first. */
function reference(L: SocialLedger, isA: Uint8Array, uid: Uint32Array, ev: Events, useQ: boolean, tc: number, fc: number, rc: number, min: number, max: number): void {
  const edge = (x: number, y: number, t: number, f: number) => {
    const s = L.slot(x, uid[y], Math.abs(t) + Math.abs(f) + Math.max(0, rc));
    if (s < 0) return;
    L.trust[s] = clamp(L.trust[s] + t, -1, 1);
    L.familiarity[s] = clamp(L.familiarity[s] + f, -1, 1);
    L.rivalry[s] = clamp(L.rivalry[s] + rc, min, max);
  };
  for (let i = 0; i < ev.src.length; i++) {
    const a = ev.src[i];
    const b = ev.dst[i];
    if (isA[a] !== 1 || isA[b] !== 1 || a === b) continue;
    const q = clamp(ev.quality[i], 0, 1);
    const t = useQ ? tc * q : tc;
    const f = useQ ? fc * q : fc;
    edge(a, b, t, f);
    edge(b, a, t, f);
  }
}

const view = (L: SocialLedger) => ({
  other: [...L.other],
  rivalry: [...L.rivalry],
  trust: [...L.trust],
  familiarity: [...L.familiarity],
  count: [...L.count],
  base: Array.from({ length: L.count.length }, (_, e) => L.base(e)),
});
const hotSet = (L: SocialLedger) => [...L.hotList.subarray(0, L.hotCount)].sort((x, y) => x - y);

describe("social's relationship-event kernel", () => {
  // The three kinds social/update applies: handovers, chats (by quality), failed chats.
  const kinds = [
    { useQ: 0, tc: 0.05, fc: 0.05, rc: -0.05 },
    { useQ: 1, tc: 0.05, fc: 0.1, rc: 0 },
    { useQ: 0, tc: 0, fc: -0.05, rc: 0.05 },
  ];

  for (const min of [0, 0.2]) {
    it(`leaves the same ledger as slot() and the clamped additions, and after the decay the same hot list (min_value ${min})`, () => {
      const N = 300;
      const run = (mode: "reference" | "factory" | "generated") => {
        const rnd = lcg(5);
        const uid = Uint32Array.from({ length: N }, (_, e) => 1000 + e * 3);
        const isA = Uint8Array.from({ length: N }, (_, e) => (e % 17 === 5 ? 0 : 1));
        const L = ledger(4, N, 200, rnd, uid, min);
        const max = 0.9;
        let marked = 0;
        for (const k of kinds) {
          const ev = events(rnd, 400, N);
          if (mode === "reference") reference(L, isA, uid, ev, k.useQ === 1, k.tc, k.fc, k.rc, min, max);
          else {
            const make = mode === "generated" ? freshCopy(relateFactory) : relateFactory;
            let at = 0;
            while (at < 2 * ev.src.length) {
              const kernel = make(L, { other: L.other, rivalry: L.rivalry, trust: L.trust, familiarity: L.familiarity, count: L.count, hot: L.hot, isAgent: isA, uid });
              at = kernel(ev.src, ev.dst, ev.quality, k.useQ, at, ev.src.length, k.tc, k.fc, k.rc, min, max, Math.fround(min), 1);
            }
          }
          marked += L.hotCount;
          decayOnce(L, isA, 0.01, min, min + 0.02);
        }
        return { ledger: view(L), hot: hotSet(L), marked };
      };
      const ref = run("reference");
      const plain = run("factory");
      const gen = run("generated");
      expect(plain.ledger).toEqual(ref.ledger);
      expect(plain.hot).toEqual(ref.hot);
      expect(gen).toEqual(plain);
      // Edges left at rest were not marked: the decay had fewer entities to visit.
      expect(plain.marked).toBeLessThan(ref.marked);
      expect(ref.ledger.other.filter((u) => u === -1).length).toBeGreaterThan(0);
    });
  }

  it("marks every touched entity when the decay would not leave the rest value as it is (settles 0)", () => {
    const N = 64;
    const uid = Uint32Array.from({ length: N }, (_, e) => e + 1);
    const isA = new Uint8Array(N).fill(1);
    const L = new SocialLedger(3, N);
    const ev: Events = { src: Float64Array.of(1, 2, 3), dst: Float64Array.of(4, 5, 6), quality: Float64Array.of(1, 1, 1) };
    const k = relateFactory(L, { other: L.other, rivalry: L.rivalry, trust: L.trust, familiarity: L.familiarity, count: L.count, hot: L.hot, isAgent: isA, uid });
    expect(k(ev.src, ev.dst, ev.quality, 1, 0, 3, 0.05, 0.1, 0, 0, 1, 0, 1)).toBe(6);
    expect(L.hotCount).toBe(6); // first edges go through slot(), which marks
    decayOnce(L, isA, 0.01, 0, 0.05);
    expect(L.hotCount).toBe(0);
    k(ev.src, ev.dst, ev.quality, 1, 0, 3, 0.05, 0.1, 0, 0, 1, 0, 1);
    expect(L.hotCount).toBe(0); // found edges left at rest
    k(ev.src, ev.dst, ev.quality, 1, 0, 3, 0.05, 0.1, 0, 0, 1, 0, 0);
    expect(hotSet(L)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(L.trust[L.find(1, uid[4])]).toBeCloseTo(0.15, 6);
  });

  it("is remade and goes on where it stopped when first edges grow the pool mid-channel", () => {
    const N = 3000;
    const st = new SocialState(2, N);
    const L = st.ledger;
    L.ensure(N);
    const uid = Uint32Array.from({ length: N }, (_, e) => 7 + e);
    const isA = new Uint8Array(N).fill(1);
    // 1,400 pairs of distinct entities: 2,800 first edges, past the first pool of 1,024 blocks;
    // then the same pairs again (their edges found in the moved arrays).
    const n = 1400;
    const src = Float64Array.from({ length: 2 * n }, (_, i) => 1 + 2 * (i % n));
    const dst = Float64Array.from({ length: 2 * n }, (_, i) => 2 + 2 * (i % n));
    const quality = new Float64Array(2 * n).fill(0.5);
    const first = st.relate(isA, uid);
    const pool = L.other;
    st.relateAll(isA, uid, src, dst, quality, 1, 0, 2 * n, 0.05, 0.1, 0, st.bounds({ min_value: 0, max_value: 1, decay_per_tick: 0.005 }));
    expect(L.other).not.toBe(pool);
    expect(st.relate(isA, uid)).not.toBe(first);
    for (let i = 0; i < n; i++) {
      for (const [x, y] of [
        [src[i], dst[i]],
        [dst[i], src[i]],
      ]) {
        const s = L.find(x, uid[y]);
        expect(s, `edge ${x} -> ${y}`).toBeGreaterThanOrEqual(0);
        expect(L.trust[s]).toBe(Math.fround(Math.fround(0.025) + 0.025));
        expect(L.familiarity[s]).toBe(Math.fround(Math.fround(0.05) + 0.05));
      }
    }
  });
});
