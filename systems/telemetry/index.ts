// Telemetry (phase: telemetry): the dispatcher of every plug-in's `telemetry` part (sections and
// record fields, engine/telemetry.ts). Reads every message channel (events) and world.kpis();
// writes nothing in the world. Its resource,
// the TelemetryPublisher (`world.resource(TelemetryPublisherKey)`), keeps the published
// state and hands a snapshot, then one diff per tick, to its sinks (stdout, file, WebSocket).
import { definePlugin } from "../../engine/plugin.ts";
import { defineResource } from "../../engine/resource.ts";
import type { World } from "../../engine/world.ts";
import { sections, TelemetrySection, type TelemetryConfig } from "./config.ts";
import { TelemetryPublisher } from "./publisher.ts";
import { TelemetryKey } from "../../components/telemetry.ts";
import { telemetryCommands } from "./commands.ts";

export { TelemetryPublisher, TRANSIENT_KEYS } from "./publisher.ts";
export type { TelemetrySink, Published } from "./publisher.ts";
export { TelemetryMirror } from "./client.ts";
export type { ApplyResult } from "./client.ts";
export { StreamSink, FileSink, createTransportSink } from "./transports.ts";
export type { FileSinkOptions } from "./transports.ts";
export { TelemetryServer, Connection } from "./websocket.ts";
export type { Principal, Role, AuthOutcome, ServerHooks, TelemetryServerOptions, StreamSource } from "./websocket.ts";
export { NarrationLimiter, DEFAULT_NARRATORS, narrate } from "./narration.ts";
export type { Narrator } from "./narration.ts";
export * from "./schema.ts";

/**
 * The telemetry resource (TelemetryKey, the service other plug-ins use) typed as the whole
 * TelemetryPublisher, for the composer (tools/) that adds its sinks: the same resource name, so it
 * resolves to the same state; not listed in `provides` again.
 */
export const TelemetryPublisherKey = defineResource<TelemetryPublisher>(TelemetryKey.name, TelemetryKey.plugin);

/** The telemetry section of a world's settings (defaults when the world was built without it). */
function telemetryConfig(world: World): TelemetryConfig {
  const s = (world.settings as Partial<World["settings"]>).telemetry;
  return s ?? TelemetrySection.parse(undefined);
}

export const telemetryPlugin = definePlugin({
  name: "telemetry",
  commands: telemetryCommands,
  provides: [TelemetryKey],
  doc: "snapshot + per-tick diffs, events, narrations, KPIs to stdout, files and WebSocket clients",
  sections,
  state: (world: World) => {
    const configId = (world.settings as { config_id?: unknown }).config_id;
    return new TelemetryPublisher(world, telemetryConfig(world), typeof configId === "string" ? configId : "unknown");
  },
  systems: [
    {
      name: "telemetry/publish",
      phase: "telemetry",
      reads: ["every component column", "every message", "world.kpis()"],
      writes: ["telemetry sinks"],
      run({ state }) {
        state.publish();
      },
    },
  ],
});
