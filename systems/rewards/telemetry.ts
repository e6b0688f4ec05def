// The rewards plug-in's part of the telemetry stream: each agent's last reward, and the reward by
// component for the agents clients watch (`reward_breakdown`, the observer's agent panel): the
// Reward fields, then each declared term that records into none of them, under its name.
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { round4 } from "../../engine/telemetry.ts";
import { Reward } from "../../components/people.ts";
import type { RewardsState } from "./index.ts";

/** Reward columns published in `reward_breakdown` (the shaping potential is internal). */
const REWARD_COMPONENTS = ["total", "survival", "needs_penalty", "wage", "punctuality", "social", "shaping", "curiosity", "terminal", "clip_adjustment", "episode"] as const;

export function rewardsTelemetry({ world, state }: TelemetryContext<unknown, RewardsState>, opts: TelemetryOptions): TelemetryPart | undefined {
  if (!world.components.isRegistered(Reward)) return undefined;
  const R = world.columns(Reward);
  // The declared terms without a Reward field are recorded only while someone watches an agent.
  state.wantBreakdown("telemetry", () => opts.watched.length > 0);
  return {
    sections() {
      if (opts.watched.length === 0) return undefined;
      const out: Record<string, Record<string, number>> = {};
      for (const id of opts.watched) {
        const e = opts.agentByPublicId(id);
        if (e < 0) continue;
        const row: Record<string, number> = {};
        for (const k of REWARD_COMPONENTS) row[k] = round4(R[k][e]);
        // Declared terms that record into no Reward field, under their names (after the fixed ones).
        // Recorded from the first tick that started with an agent watched.
        const named = state.pass?.namedAt(world.tick);
        if (named !== undefined) for (const [name, col] of named) row[name] = e < col.length ? round4(col[e]) : 0;
        out[id] = row;
      }
      return { reward_breakdown: out };
    },
    agent(eid, agent) {
      agent.reward = round4(R.total[eid]);
    },
  };
}
