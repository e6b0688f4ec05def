// The economy's observation feature: `wallet`, the agent's money squashed to [0, 1)
// (money / (money + WALLET_SCALE)).
import type { ObservationFeatures } from "../../engine/observation.ts";
import { Wallet, WALLET_SCALE } from "../../components/economy.ts";

export const economyObservations: ObservationFeatures = {
  features: () => ["wallet"],
  bind({ world }, at) {
    if (!world.components.isRegistered(Wallet)) return undefined;
    const money = world.columns(Wallet).money;
    const a = at[0];
    return (agents, n, f, stride) => {
      for (let i = 0, o = a; i < n; i++, o += stride) {
        const m = money[agents[i]];
        f[o] = m > 0 ? m / (m + WALLET_SCALE) : 0;
      }
    };
  },
};
