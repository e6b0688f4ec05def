// The needs plug-in's part of the telemetry stream: each agent's needs, their mean and minimum
// over every live agent (`aggregates`) and per town (`towns_overview`), and the needs list
// itself (`layout.needs`: name, label, colour, for the observer's bars). Every need of the
// world's table (components/needs.ts) is published the same way.
import { Town } from "../../engine/core-components.ts";
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { agentsPerTown, round4, townMeans } from "../../engine/telemetry.ts";
import { Needs, needTable } from "../../components/needs.ts";

type Column = ArrayLike<number>;

export function needsTelemetry({ world }: TelemetryContext, opts: TelemetryOptions): TelemetryPart | undefined {
  if (!world.components.isRegistered(Needs)) return undefined;
  const N = world.columns(Needs) as unknown as Record<string, Column>;
  const table = needTable(world.settings);
  const names = table.names;
  const layout = { needs: table.list.map((n) => ({ name: n.name, label: n.label, colour: n.colour })) };
  const cols = names.map((n) => N[n]);
  return {
    sections() {
      const agents = world.agents;
      const count = agents.length;
      const mean_needs: Record<string, number> = {};
      const min_needs: Record<string, number> = {};
      for (let k = 0; k < cols.length; k++) {
        const col = cols[k];
        let sum = 0;
        let min = Infinity;
        for (let i = 0; i < count; i++) {
          const v = col[agents[i]];
          sum += v;
          if (v < min) min = v;
        }
        mean_needs[names[k]] = count ? round4(sum / count) : 0;
        min_needs[names[k]] = count ? round4(min) : 0;
      }
      const out: Record<string, unknown> = { aggregates: { mean_needs, min_needs }, layout };
      if (opts.townOverview) out.towns_overview = overview(world.towns, agents, world.columns(Town).id, names, cols);
      return out;
    },
    agent(eid, agent) {
      for (let k = 0; k < cols.length; k++) agent[names[k]] = round4(cols[k][eid]);
    },
  };
}

/** Mean of each need per town, 3 decimals (1,000 towns stay near 26 KB a tick). */
function overview(towns: number, agents: Int32Array, townId: Column, names: readonly string[], cols: Column[]): Record<string, number[]> {
  const counts = agentsPerTown(towns, agents, townId);
  const out: Record<string, number[]> = {};
  for (let k = 0; k < cols.length; k++) {
    const sums = new Float64Array(towns);
    const col = cols[k];
    for (let i = 0; i < agents.length; i++) sums[townId[agents[i]]] += col[agents[i]];
    out[names[k]] = townMeans(sums, counts, 1e3);
  }
  return out;
}
