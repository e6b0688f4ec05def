// The options plug-in's part of the telemetry stream: the option each agent's policy committed to.
import type { TelemetryContext, TelemetryPart } from "../../engine/telemetry.ts";
import { Option, OPTION_NAMES } from "../../components/activity.ts";

export function optionsTelemetry({ world }: TelemetryContext): TelemetryPart | undefined {
  if (!world.components.isRegistered(Option)) return undefined;
  const Op = world.columns(Option);
  return {
    agent(eid, agent) {
      agent.option = OPTION_NAMES[Op.kind[eid]] ?? "none";
    },
  };
}
