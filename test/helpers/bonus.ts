// A test plug-in with one reward term's column: Bonus.value, written for every agent each tick
// before the rewards (reward-terms and reward-fused tests).
import { defineComponent } from "../../engine/component.ts";
import { definePlugin } from "../../engine/plugin.ts";
import type { RewardTerm } from "../../engine/reward-term.ts";
import { NeedsSets } from "../../components/sets.ts";

export const Bonus = defineComponent("Bonus", { value: { type: Float32Array, doc: "this tick's bonus" } });

/** A plug-in that writes value(i, tick) to the i-th live agent's Bonus.value every tick before rewards, and declares `terms`. */
export function bonusPlugin(terms: RewardTerm[], value: (i: number, tick: number) => number) {
  return definePlugin({
    name: "bonus",
    components: { Bonus },
    rewardTerms: terms,
    onAgentSpawn({ world }, eid) {
      world.addComponent(eid, Bonus);
    },
    systems: [
      {
        name: "bonus/write",
        phase: "needs",
        before: [NeedsSets.Rewards],
        run({ agents, tick, components }) {
          for (let i = 0; i < agents.length; i++) components.Bonus.value[agents[i]] = value(i, tick);
        },
      },
    ],
  });
}
