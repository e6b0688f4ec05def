// The social plug-in's part of the telemetry stream: rivalry between agents (`conflict`), in full
// mode only (it is per pair of agents).
import type { TelemetryContext, TelemetryOptions, TelemetryPart } from "../../engine/telemetry.ts";
import { round4 } from "../../engine/telemetry.ts";
import { rivalrySnapshot } from "./index.ts";

export function socialTelemetry({ world }: TelemetryContext, opts: TelemetryOptions): TelemetryPart {
  return {
    sections() {
      if (opts.mode !== "full") return undefined;
      const out: Record<string, Record<string, number>> = {};
      for (const [a, m] of Object.entries(rivalrySnapshot(world))) {
        const row: Record<string, number> = {};
        for (const [b, v] of Object.entries(m)) row[opts.publicId(b)] = round4(v);
        out[opts.publicId(a)] = row;
      }
      return { conflict: { rivalry: out } };
    },
  };
}
