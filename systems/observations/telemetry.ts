// The observations plug-in's part of the telemetry stream: the embedding figures it reports as
// the `embedding` kpi, as numbers (`embedding_metrics`).
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { round4 } from "../../engine/telemetry.ts";

export function observationsTelemetry(_ctx: TelemetryContext, opts: TelemetryOptions): TelemetryPart {
  return {
    sections() {
      const emb: Record<string, number> = {};
      const k = opts.kpis.embedding;
      if (k && typeof k === "object") {
        for (const [name, v] of Object.entries(k as Record<string, unknown>)) {
          if (typeof v === "number") emb[name] = round4(v);
          else if (typeof v === "boolean") emb[name] = v ? 1 : 0;
        }
      }
      return { embedding_metrics: emb };
    },
  };
}
