// The social plug-in's observation features (`PluginDef.observations`, engine/observation.ts): the
// agent's strongest rivalry and how many of its edges reach conflict.rivalry.avoid_threshold; and
// the social snippet (observations_config.social_snippet): top_friends slots (highest trust +
// familiarity, > 0), then top_rivals slots (highest rivalry, > 0, among the rest), each the other
// agent's identity embedding (embed_dim values) then trust, familiarity and rivalry; with
// include_aggregates, the mean and max trust and rivalry over the filled slots. One writer call
// fills a whole batch.
import { uidEmbedding, type ObservationFeatures } from "../../engine/observation.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { SocialLedger } from "../../components/social.ts";

const RIVALRY = ["rivalry_max", "rivalry_avoid_count"] as const;
const AGGREGATES = ["social_trust_mean", "social_trust_max", "social_rivalry_mean", "social_rivalry_max"] as const;

function features(settings: ConfigSections): string[] {
  const s = settings.observations_config.social_snippet;
  const names: string[] = [...RIVALRY];
  const slotDim = s.embed_dim + 3;
  for (let k = 0; k < s.top_friends + s.top_rivals; k++) for (let d = 0; d < slotDim; d++) names.push(`social_slot${k}_d${d}`);
  if (s.include_aggregates) names.push(...AGGREGATES);
  return names;
}

/** Scratch: the edges of one agent already placed in a slot (grown to the ledger's max_edges). */
let taken = new Uint8Array(8);

export const socialObservations: ObservationFeatures<unknown, { ledger: SocialLedger }> = {
  features,
  bind({ state, settings }, at) {
    const L = state.ledger;
    const avoid = settings.conflict.rivalry.avoid_threshold;
    const s = settings.observations_config.social_snippet;
    const [aMax, aAvoid] = at;
    return (agents, n, f, stride) => {
      for (let i = 0, row = 0; i < n; i++, row += stride) {
        const eid = agents[i];
        if (L.base(eid) < 0) continue;
        f[row + aMax] = L.maxRivalry(eid);
        f[row + aAvoid] = L.countAbove(eid, avoid);
      }
      if (s.top_friends + s.top_rivals > 0) writeSnippet(L, s.top_friends, s.top_rivals, s.embed_dim, s.include_aggregates, at, agents, n, f, stride);
    };
  },
};

/** Fills the snippet's slots and aggregates of the first `n` agents. */
function writeSnippet(
  L: SocialLedger,
  friends: number,
  rivals: number,
  embedDim: number,
  aggregates: boolean,
  at: Int32Array,
  agents: Int32Array,
  n: number,
  f: Float32Array,
  stride: number,
): void {
  const K = L.maxEdges;
  if (taken.length < K) taken = new Uint8Array(K);
  const slotDim = embedDim + 3;
  const first = RIVALRY.length;
  const agg = aggregates ? first + (friends + rivals) * slotDim : -1;
  for (let i = 0, row = 0; i < n; i++, row += stride) {
    const base = L.base(agents[i]);
    if (base < 0) continue;
    const other = L.other;
    const tr = L.trust;
    const fa = L.familiarity;
    const rv = L.rivalry;
    for (let k = 0; k < K; k++) taken[k] = 0;
    let filled = 0;
    let tSum = 0;
    let tMax = -Infinity;
    let rSum = 0;
    let rMax = -Infinity;
    // Friends: highest trust + familiarity (> 0); then rivals: highest rivalry (> 0) among the rest.
    for (let pass = 0; pass < 2; pass++) {
      const want = pass === 0 ? friends : rivals;
      for (let c = 0; c < want; c++) {
        let best = -1;
        let bestV = 0;
        for (let k = 0; k < K; k++) {
          const e = base + k;
          if (other[e] === -1 || taken[k] === 1) continue;
          const v = pass === 0 ? tr[e] + fa[e] : rv[e];
          if (v > bestV) {
            bestV = v;
            best = k;
          }
        }
        if (best < 0) break;
        taken[best] = 1;
        const e = base + best;
        const o = first + filled * slotDim;
        const u = other[e];
        for (let j = 0; j < embedDim; j++) f[row + at[o + j]] = uidEmbedding(u, j);
        f[row + at[o + embedDim]] = tr[e];
        f[row + at[o + embedDim + 1]] = fa[e];
        f[row + at[o + embedDim + 2]] = rv[e];
        tSum += tr[e];
        if (tr[e] > tMax) tMax = tr[e];
        rSum += rv[e];
        if (rv[e] > rMax) rMax = rv[e];
        filled++;
      }
    }
    if (agg >= 0 && filled > 0) {
      f[row + at[agg]] = tSum / filled;
      f[row + at[agg + 1]] = tMax;
      f[row + at[agg + 2]] = rSum / filled;
      f[row + at[agg + 3]] = rMax;
    }
  }
}
