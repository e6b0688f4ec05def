// The perturbation scheduler's part of the telemetry stream: what is active, pending and cooling
// down (`perturbations`), and the spec names perturbation_trigger accepts (`layout`).
import type { TelemetryContext, TelemetryPart } from "../../engine/telemetry.ts";
import { PerturbationsKey } from "../../components/perturbations.ts";

export function perturbationsTelemetry({ world }: TelemetryContext): TelemetryPart | undefined {
  const svc = world.optionalResource(PerturbationsKey);
  if (!svc) return undefined;
  return {
    sections() {
      const { tick: _tick, ...rest } = svc.latestState();
      void _tick;
      const pert = (world.settings as { perturbations?: { events?: unknown } }).perturbations;
      const specs = typeof pert === "object" && pert !== null && typeof pert.events === "object" && pert.events !== null ? Object.keys(pert.events) : [];
      return { perturbations: rest, layout: { perturbation_specs: specs } };
    },
  };
}
