// The reward terms the employment plug-in computes (PluginDef.rewardTerms, engine/reward-term.ts):
// the wage paid this tick, which its payroll writes to Employment.wage_this_tick before
// rewards/compute runs. rewards.wage_rate > 0 switches the term on (the original's rule: the
// reward is the wage itself, weight 1); the employment profile bias applies.
import { defineRewardTerm, type RewardTerm } from "../../engine/reward-term.ts";
import { Employment } from "../../components/people.ts";

export const employmentRewardTerms: RewardTerm[] = [
  defineRewardTerm({
    name: "wage",
    weight: (settings) => (settings.rewards.wage_rate > 0 ? 1 : 0),
    component: Employment,
    field: "wage_this_tick",
    bias: "employment",
    breakdown: "wage",
  }),
];
