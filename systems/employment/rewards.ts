// The reward terms the employment plug-in computes (PluginDef.rewardTerms, engine/reward-term.ts):
//  - wage: the wage paid this tick, which its payroll writes to Employment.wage_this_tick.
//    rewards.wage_rate > 0 switches the term on (the original's rule: the reward is the wage
//    itself, weight 1).
//  - punctuality: rewards.punctuality_bonus × the on-time share of the shift, while on shift
//    (on_time_ticks / scheduled_ticks), written each tick by employment/punctuality just before
//    rewards/compute. The column holds bonus·on_time/scheduled, computed as the original's
//    expression, and the term's weight is 1 (so the reward is that expression to the bit).
// Both take the employment profile bias and keep their Reward breakdown fields.
import { defineRewardTerm, RewardColumn, type RewardTerm } from "../../engine/reward-term.ts";
import type { SystemContext } from "../../engine/plugin.ts";
import { Employment, Reward } from "../../components/people.ts";
import { NeedsSets } from "../../components/sets.ts";

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
    values: (world) => punctuality.get(world),
    bias: "employment",
    breakdown: "punctuality",
  }),
];

/** The system that writes each agent's punctuality reward for this tick (after exits, before rewards/compute). */
export const punctualitySystem = {
  name: "employment/punctuality",
  phase: "needs" as const,
  after: [NeedsSets.Exits],
  before: [NeedsSets.Rewards],
  reads: ["Employment.on_shift", "Employment.on_time_ticks", "Employment.scheduled_ticks", "rewards.punctuality_bonus"],
  writes: ["the punctuality term's column"],
  run({ world, agents, settings }: Pick<SystemContext, "world" | "agents" | "settings">): void {
    const out = punctuality.ensure(world);
    // Without the rewards plug-in nobody reads the term (and there is no rewards section).
    if (!world.components.isRegistered(Reward)) return;
    const E = world.columns(Employment);
    const onShift = E.on_shift;
    const onTime = E.on_time_ticks;
    const sched = E.scheduled_ticks;
    const bonus = settings.rewards.punctuality_bonus;
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      const s = sched[eid];
      out[eid] = onShift[eid] === 1 && s > 0 ? (bonus * onTime[eid]) / s : 0;
    }
  },
};
