// Need decay (phase: needs, set NeedsSets.Decay). Reads rewards.decay_rates, Personality need
// multipliers (when features.behavior.reward_multipliers is on); writes Needs.
// Every need of every agent falls by its rate (times its profile multiplier) each tick, clamped to [0,1].
import { definePlugin } from "../../engine/plugin.ts";
import { Needs } from "../../components/needs.ts";
import { Personality } from "../../components/people.ts";
import { NeedsSets } from "../../components/sets.ts";
import { needsCommands } from "./commands.ts";

export const needsPlugin = definePlugin({
  name: "needs",
  commands: needsCommands,
  doc: "need decay: each need falls by rewards.decay_rates per tick, clamped to [0,1]",
  components: { Needs, Personality },
  onAgentSpawn({ world, rng, components: { Needs: N } }, eid) {
    world.addComponent(eid, Needs);
    // New agents start between half and fully satisfied (the original's default is 0.5).
    N.hunger[eid] = 0.5 + 0.5 * rng.next();
    N.hygiene[eid] = 0.5 + 0.5 * rng.next();
    N.energy[eid] = 0.5 + 0.5 * rng.next();
  },
  kpis({ world, components: { Needs } }) {
    const agents = world.agents;
    const sum = { hunger: 0, hygiene: 0, energy: 0 };
    for (let i = 0; i < agents.length; i++) {
      const eid = agents[i];
      sum.hunger += Needs.hunger[eid];
      sum.hygiene += Needs.hygiene[eid];
      sum.energy += Needs.energy[eid];
    }
    const n = Math.max(1, agents.length);
    return { mean_needs: { hunger: sum.hunger / n, hygiene: sum.hygiene / n, energy: sum.energy / n } };
  },
  systems: [
    {
      name: "needs/decay",
      phase: "needs",
      sets: [NeedsSets.Decay],
      reads: ["rewards.decay_rates", "features.behavior.reward_multipliers", "Personality.*_mult"],
      writes: ["Needs"],
      run({ spans, settings, components: { Needs, Personality: P } }) {
        const rates = settings.rewards.decay_rates;
        if (settings.features.behavior.reward_multipliers) {
          decayNeedsScaled(spans, Needs.hunger, rates.hunger, P.hunger_mult, Needs.hygiene, rates.hygiene, P.hygiene_mult, Needs.energy, rates.energy, P.energy_mult);
        } else {
          decayNeeds(spans, Needs.hunger, rates.hunger, Needs.hygiene, rates.hygiene, Needs.energy, rates.energy);
        }
      },
    },
  ],
});

/** The decay pass, exported for the kernel benchmark. */
export function decayNeeds(
  spans: Int32Array,
  hunger: Float32Array,
  rh: number,
  hygiene: Float32Array,
  ry: number,
  energy: Float32Array,
  re: number,
): void {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let eid = spans[s]; eid < end; eid++) {
      const a = hunger[eid] - rh;
      hunger[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
      const b = hygiene[eid] - ry;
      hygiene[eid] = b < 0 ? 0 : b > 1 ? 1 : b;
      const c = energy[eid] - re;
      energy[eid] = c < 0 ? 0 : c > 1 ? 1 : c;
    }
  }
}

/**
 * The decay pass with per-agent multipliers (the original applies the profile's need multiplier
 * to the rate). An agent without Personality has the columns' default multiplier, 1.
 */
export function decayNeedsScaled(
  spans: Int32Array,
  hunger: Float32Array,
  rh: number,
  mh: Float32Array,
  hygiene: Float32Array,
  ry: number,
  my: Float32Array,
  energy: Float32Array,
  re: number,
  me: Float32Array,
): void {
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let eid = spans[s]; eid < end; eid++) {
      const a = hunger[eid] - rh * mh[eid];
      hunger[eid] = a < 0 ? 0 : a > 1 ? 1 : a;
      const b = hygiene[eid] - ry * my[eid];
      hygiene[eid] = b < 0 ? 0 : b > 1 ? 1 : b;
      const c = energy[eid] - re * me[eid];
      energy[eid] = c < 0 ? 0 : c > 1 ? 1 : c;
    }
  }
}
