// The social plug-in's observation features: the agent's strongest rivalry and how many of its
// edges reach conflict.rivalry.avoid_threshold. (The social snippet, friends and rivals by
// identity embedding, is the observations plug-in's own: it holds the embeddings.)
import type { ObservationFeatures } from "../../engine/observation.ts";
import type { SocialLedger } from "../../components/social.ts";

export const socialObservations: ObservationFeatures<unknown, { ledger: SocialLedger }> = {
  features: () => ["rivalry_max", "rivalry_avoid_count"],
  bind({ state, settings }, at) {
    const L = state.ledger;
    const avoid = settings.conflict.rivalry.avoid_threshold;
    const [aMax, aAvoid] = at;
    return (agents, n, f, stride) => {
      for (let i = 0, row = 0; i < n; i++, row += stride) {
        const eid = agents[i];
        if (L.base(eid) < 0) continue;
        f[row + aMax] = L.maxRivalry(eid);
        f[row + aAvoid] = L.countAbove(eid, avoid);
      }
    };
  },
};
