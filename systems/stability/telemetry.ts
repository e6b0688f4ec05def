// The stability monitor's part of the telemetry stream: its metrics and alerts (`stability`).
import type { TelemetryContext, TelemetryPart } from "../../engine/telemetry.ts";
import { StabilityKey } from "../../components/stability.ts";

export function stabilityTelemetry({ world }: TelemetryContext): TelemetryPart | undefined {
  const svc = world.optionalResource(StabilityKey);
  if (!svc) return undefined;
  return {
    sections: () => ({ stability: { metrics: svc.latestMetrics(), alerts: svc.latestAlerts() } }),
  };
}
