// The needs plug-in's reward term (PluginDef.rewardTerms, engine/reward-term.ts): the need term
// Φ(s) = −Σ w·(1−need)² over the world's need table, in table order, w being each need's
// `reward_weight` (needs:, or the original's rewards.needs_weights). It is the shaping potential
// (`potential: true`): the rewards plug-in adds it with survival, records it in
// Reward.needs_penalty and shapes with γ·Φ(s′) − Φ(s). The term's update writes it when
// rewards/compute starts (where rewards summed the needs before) into a Float64 column of its
// own; weight 1, no bias. Where the rewards plug-in runs its fused kernel, the term is computed
// there instead (`inline`: the same sum, in the same order, as an expression; issue #19), and
// the column is neither written nor allocated.
import { defineRewardTerm, RewardColumn, type InlineRewardValue, type RewardTerm, type RewardTermContext } from "../../engine/reward-term.ts";
import type { World } from "../../engine/world.ts";
import { NeedsKey } from "../../components/needs.ts";

const phi = new RewardColumn();
/** Need weights in table order, per world (derived from the settings once). */
const weightsOf = new WeakMap<World, Float64Array>();

export const needsRewardTerms: RewardTerm[] = [
  defineRewardTerm({
    name: "needs",
    weight: () => 1,
    update: (ctx) => update(ctx),
    values: (world) => phi.get(world),
    inline: (world) => inline(world),
    breakdown: "needs_penalty",
    potential: true,
  }),
];

/** The need weights of `world`'s table, in table order. */
function weightsFor(world: World): Float64Array {
  let weights = weightsOf.get(world);
  if (weights === undefined) weightsOf.set(world, (weights = Float64Array.from(world.resource(NeedsKey).table.list, (n) => n.reward_weight)));
  return weights;
}

/** Every agent's Φ for this tick (the term's update: when rewards/compute starts). */
function update({ world, spans }: RewardTermContext): void {
  const out = phi.ensure(world);
  writePotential(spans, world.resource(NeedsKey).columns(), weightsFor(world), out);
}

/** The expression per need count, made once: −(w0·d0·d0 + w1·d1·d1 + ...), d = 1 − need, added left to right. */
const expressions: string[] = [];

/**
 * Φ as the fused reward kernel's expression: writePotential's arithmetic, term by term (w·d·d
 * is (w·d)·d; the sum left to right; then negated; no need: −0), so the same double to the bit.
 */
function inline(world: World): InlineRewardValue {
  const columns = world.resource(NeedsKey).columns();
  const n = columns.length;
  let expression = expressions[n];
  if (expression === undefined) {
    const terms = Array.from({ length: n }, (_, k) => `#${k} * (1 - $${k}[e]) * (1 - $${k}[e])`);
    expressions[n] = expression = n === 0 ? "-0" : `-(${terms.join(" + ")})`;
  }
  return { columns, constants: weightsFor(world), expression };
}

/**
 * out = −Σ w·(1−need)², added in table order at double precision, for every agent of `spans`
 * (runs of consecutive ids, SystemContext.spans): the needs before the last three in one pass
 * each, the last three and the negation in one pass (tables of fewer than three: a pass each,
 * then the negation; no need: −0).
 */
export function writePotential(spans: Int32Array, cols: readonly Float32Array[], weights: Float64Array, out: Float64Array): void {
  const count = cols.length;
  const inline = count >= 3;
  const before = inline ? count - 3 : count;
  for (let k = 0; k < before; k++) {
    const col = cols[k];
    const w = weights[k];
    for (let s = 0; s < spans.length; s += 2) {
      const end = spans[s + 1];
      for (let eid = spans[s]; eid < end; eid++) {
        const d = 1 - col[eid];
        out[eid] = k === 0 ? w * d * d : out[eid] + w * d * d;
      }
    }
  }
  if (!inline) {
    for (let s = 0; s < spans.length; s += 2) {
      const end = spans[s + 1];
      for (let eid = spans[s]; eid < end; eid++) out[eid] = -(count === 0 ? 0 : out[eid]);
    }
    return;
  }
  const carried = before > 0;
  const c0 = cols[before];
  const c1 = cols[before + 1];
  const c2 = cols[before + 2];
  const w0 = weights[before];
  const w1 = weights[before + 1];
  const w2 = weights[before + 2];
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let eid = spans[s]; eid < end; eid++) {
      let d = 1 - c0[eid];
      let acc = carried ? out[eid] + w0 * d * d : w0 * d * d;
      d = 1 - c1[eid];
      acc += w1 * d * d;
      d = 1 - c2[eid];
      acc += w2 * d * d;
      out[eid] = -acc;
    }
  }
}
