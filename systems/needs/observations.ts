// The needs' observation features: one `need_<name>` per observed need of the world's table
// (components/needs.ts), in table order, the need's value.
import type { ObservationFeatures } from "../../engine/observation.ts";
import { needTable, type NeedsService } from "../../components/needs.ts";

export const needsObservations: ObservationFeatures<unknown, NeedsService> = {
  features: (settings) => needTable(settings).observed.map((n) => `need_${n.name}`),
  bind({ state }, at) {
    const cols = state.columns();
    const observed = state.table.observed;
    const K = observed.length;
    if (K === 0) return undefined;
    const src = observed.map((n) => cols[n.index]);
    // One need at a time: a column read in entity order, one slot per row.
    return (agents, n, f, stride) => {
      for (let k = 0; k < K; k++) {
        const c = src[k];
        for (let i = 0, o = at[k]; i < n; i++, o += stride) f[o] = c[agents[i]];
      }
    };
  },
};
