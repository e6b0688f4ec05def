// The personality plug-in's observation features (with features.observations.personality_channels):
// the agent's extroversion, forgiveness and ambition.
import type { ObservationFeatures } from "../../engine/observation.ts";
import { Personality } from "../../components/people.ts";

const FEATURES = ["personality_extroversion", "personality_forgiveness", "personality_ambition"] as const;

export const personalityObservations: ObservationFeatures = {
  features: (settings) => (settings.features.observations.personality_channels ? FEATURES : []),
  bind({ world }, at) {
    if (!world.components.isRegistered(Personality)) return undefined;
    const P = world.columns(Personality);
    const ex = P.extroversion;
    const fo = P.forgiveness;
    const am = P.ambition;
    const [aEx, aFo, aAm] = at;
    return (agents, n, f, stride) => {
      for (let i = 0, row = 0; i < n; i++, row += stride) {
        const eid = agents[i];
        f[row + aEx] = ex[eid];
        f[row + aFo] = fo[eid];
        f[row + aAm] = am[eid];
      }
    };
  },
};
