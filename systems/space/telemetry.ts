// The space plug-in's part of the telemetry stream: each agent's tile.
import type { TelemetryContext, TelemetryPart } from "../../engine/telemetry.ts";
import { Position } from "../../components/space.ts";

export function spaceTelemetry({ world }: TelemetryContext): TelemetryPart | undefined {
  if (!world.components.isRegistered(Position)) return undefined;
  const P = world.columns(Position);
  return {
    agent(eid, agent) {
      agent.x = P.x[eid];
      agent.y = P.y[eid];
    },
  };
}
