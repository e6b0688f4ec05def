// The rewards plug-in's part of the telemetry stream: each agent's last reward, and the reward by
// term for the agents clients watch (`reward_breakdown`, the observer's agent panel): total, the
// breakdown columns (breakdown.ts), episode, then each declared term recorded under its name.
// The breakdown is recorded only in ticks that start with an agent watched (telemetry asks for it
// while it watches any); a tick without it publishes total and episode alone.
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { round4 } from "../../engine/telemetry.ts";
import { Reward } from "../../components/people.ts";
import type { RewardsState } from "./index.ts";
import { BREAKDOWN_ORDER } from "./breakdown.ts";

/** The fixed columns: published for every watched agent (0 where no term records into one). */
const FIXED = new Set<string>(BREAKDOWN_ORDER);

export function rewardsTelemetry({ world, state }: TelemetryContext<unknown, RewardsState>, opts: TelemetryOptions): TelemetryPart | undefined {
  if (!world.components.isRegistered(Reward)) return undefined;
  const R = world.columns(Reward);
  state.wantBreakdown("telemetry", () => opts.watched.length > 0);
  return {
    sections() {
      if (opts.watched.length === 0) return undefined;
      const bd = state.lastBreakdown();
      const out: Record<string, Record<string, number>> = {};
      for (const id of opts.watched) {
        const e = opts.agentByPublicId(id);
        if (e < 0) continue;
        const row: Record<string, number> = { total: round4(R.total[e]) };
        if (bd !== undefined) {
          for (const k of BREAKDOWN_ORDER) row[k] = bd.names.includes(k) ? round4(bd.column(k)[e]) : 0;
        }
        row.episode = round4(R.episode[e]);
        // Declared terms recorded under their own names, after the fixed ones.
        if (bd !== undefined) for (const k of bd.names) if (!FIXED.has(k)) row[k] = round4(bd.column(k)[e]);
        out[id] = row;
      }
      return { reward_breakdown: out };
    },
    agent(eid, agent) {
      agent.reward = round4(R.total[eid]);
    },
  };
}
