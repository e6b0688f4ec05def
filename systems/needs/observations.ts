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
    if (K === 3) {
      // The default table: three columns, no inner loop.
      const c0 = cols[observed[0].index];
      const c1 = cols[observed[1].index];
      const c2 = cols[observed[2].index];
      const [a0, a1, a2] = at;
      return (eid, f, row) => {
        f[row + a0] = c0[eid];
        f[row + a1] = c1[eid];
        f[row + a2] = c2[eid];
      };
    }
    const src = observed.map((n) => cols[n.index]);
    return (eid, f, row) => {
      for (let k = 0; k < K; k++) f[row + at[k]] = src[k][eid];
    };
  },
};
