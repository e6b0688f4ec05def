// The reward terms the employment plug-in computes (PluginDef.rewardTerms, engine/reward-term.ts):
//  - wage: the wage paid this tick, which its payroll writes to Employment.wage_this_tick.
//    rewards.wage_rate > 0 switches the term on (the original's rule: the reward is the wage
//    itself, weight 1).
//  - punctuality: rewards.punctuality_bonus × the on-time share of the shift, while on shift
//    (on_time_ticks / scheduled_ticks), written by the term's update when rewards/compute starts
//    (where rewards read the shift counters before). The column holds bonus·on_time/scheduled, computed as the original's
//    expression, and the term's weight is 1 (so the reward is that expression to the bit).
// Both take the employment profile bias and record into their breakdown columns. Where the
// rewards plug-in runs its fused kernel, punctuality is computed there (`inline`: the same
// expression; issue #19) and its column is neither written nor allocated.
import { defineRewardTerm, RewardColumn, type InlineRewardValue, type RewardTerm, type RewardTermContext } from "../../engine/reward-term.ts";
import type { World } from "../../engine/world.ts";
import { Employment } from "../../components/people.ts";

const punctuality = new RewardColumn();

export const employmentRewardTerms: RewardTerm[] = [
  defineRewardTerm({
    name: "wage",
    weight: (settings) => (settings.rewards.wage_rate > 0 ? 1 : 0),
    component: Employment,
    field: "wage_this_tick",
    bias: "employment",
    breakdown: "wage",
  }),
  defineRewardTerm({
    name: "punctuality",
    weight: () => 1,
    update: writePunctuality,
    values: (world) => punctuality.get(world),
    inline: inlinePunctuality,
    bias: "employment",
    breakdown: "punctuality",
  }),
];

/** Each agent's punctuality reward for this tick (the term's update: when rewards/compute starts). */
function writePunctuality({ world, spans, settings }: RewardTermContext): void {
  const out = punctuality.ensure(world);
  const E = world.columns(Employment);
  const onShift = E.on_shift;
  const onTime = E.on_time_ticks;
  const sched = E.scheduled_ticks;
  const bonus = settings.rewards.punctuality_bonus;
  // Over runs of consecutive ids: no agent-list read per agent.
  for (let k = 0; k < spans.length; k += 2) {
    const end = spans[k + 1];
    for (let eid = spans[k]; eid < end; eid++) {
      const s = sched[eid];
      out[eid] = onShift[eid] === 1 && s > 0 ? (bonus * onTime[eid]) / s : 0;
    }
  }
}

/** On shift, on time 3 of 5 ticks: every operation of the expression. */
const SAMPLES = [[1, 3, 5]] as const;

/** Constants per world (the bonus from the settings). */
const bonusOf = new WeakMap<World, readonly number[]>();

/**
 * writePunctuality's expression for the fused reward kernel: on_shift, on_time_ticks, scheduled_ticks;
 * the bonus. Its sample (an agent on shift, on time 3 of 5 ticks) runs the bonus's arithmetic when
 * the kernel is made: first run when the first shift started, it deoptimised the kernel there
 * (+7-10 ms in that tick at 100k, issue #19).
 */
function inlinePunctuality(world: World): InlineRewardValue {
  const E = world.columns(Employment);
  let constants = bonusOf.get(world);
  if (constants === undefined) bonusOf.set(world, (constants = [world.settings.rewards.punctuality_bonus]));
  return { columns: [E.on_shift, E.on_time_ticks, E.scheduled_ticks], constants, expression: "($0[e] === 1 && $2[e] > 0 ? (#0 * $1[e]) / $2[e] : 0)", samples: SAMPLES };
}
