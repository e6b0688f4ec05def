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
    return (eid, f, row) => {
      const m = money[eid];
      f[row + a] = m > 0 ? m / (m + WALLET_SCALE) : 0;
    };
  },
};
