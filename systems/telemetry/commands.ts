// The telemetry plug-in's console command: `telemetry_snapshot`, per-agent job and economy
// payloads and the employment queue read now (the publisher's consoleSnapshot, or a bound one).
import { z } from "zod";
import { AgentIdArg, type CommandDef } from "../../engine/command.ts";
import { TelemetryKey } from "../../components/telemetry.ts";
import { consoleCommand } from "../../components/console.ts";

export const telemetryCommands: CommandDef[] = [
  consoleCommand({
    name: "telemetry_snapshot",
    role: "viewer",
    doc: "per-agent job and economy payloads and the employment queue: {agents?}",
    args: z.strictObject({ agents: z.array(AgentIdArg).max(100_000).optional() }),
    run(w, a, ctx) {
      if (ctx.bindings.telemetry) return ctx.bindings.telemetry.snapshot(a.agents);
      return w.resource(TelemetryKey).consoleSnapshot(a.agents);
    },
  }),
];
