// What the telemetry plug-in offers other plug-ins (the console's `snapshot` command).
import { defineResource } from "../engine/resource.ts";

export interface TelemetryService {
  /** The world's telemetry snapshot record, or (`agents`) one limited to those agents. */
  consoleSnapshot(agents?: readonly string[]): unknown;
}

/** The telemetry plug-in's resource. */
export const TelemetryKey = defineResource<TelemetryService>("telemetry");
