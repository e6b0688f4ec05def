// Console (phase: console): the dispatcher of every plug-in's `commands`. Drains the operator
// commands queued since the last tick, applies them and answers; commands marked `boundary`
// (snapshots, loop control) run right after the tick. Auth, cmd_id idempotency, the audit and
// the queue limit are here; what a command does is its plug-in's. Its resource is the
// ConsoleService (`world.resource(ConsoleKey)`); the HTTP/WebSocket gateway and the
// tokens live beside it. Reads `console_auth`.
import { definePlugin } from "../../engine/plugin.ts";
import { defineResource } from "../../engine/resource.ts";
import type { World } from "../../engine/world.ts";
import { sections } from "./config.ts";
import { ConsoleService } from "./service.ts";
import { builtinCommands } from "./commands.ts";

export { ConsoleService, CommandError, formatIssues, CORE_COMMANDS } from "./service.ts";
export type { ConsoleCommand, ConsoleBindings, CommandContext, Via, PerturbationTriggerArgs, ArrangeMeetArgs } from "./service.ts";
export { builtinCommands, requireAgent } from "./commands.ts";
export { TokenTable, TicketBook, TicketLimitError, ConsoleAuthError, bearerToken, TICKET_PROTOCOL } from "./auth.ts";
export type { Principal } from "./auth.ts";
export { AuditLog, MemoryAudit } from "./audit.ts";
export type { AuditSink, AuditLogOptions } from "./audit.ts";
export { ConsoleGateway, ANONYMOUS } from "./gateway.ts";
export type { GatewayOptions, GatewayConnection } from "./gateway.ts";
export * from "./protocol.ts";

/** The console plug-in's resource: its ConsoleService (the composer binds it to the gateway). */
export const ConsoleKey = defineResource<ConsoleService>("console");

/** Worlds whose boundary commands are drained after each tick (listeners survive world.reset). */
const hooked = new WeakSet<World>();

export const consolePlugin = definePlugin({
  name: "console",
  provides: [ConsoleKey],
  doc: "operator commands: queued, checked, applied in the console phase, answered and audited",
  sections,
  state: (world: World) => {
    const svc = new ConsoleService(world);
    for (const c of builtinCommands(svc)) svc.register(c);
    for (const p of world.plugins) for (const c of p.commands ?? []) svc.registerPluginCommand(c);
    return svc;
  },
  setup({ world }) {
    if (hooked.has(world)) return;
    hooked.add(world);
    world.onTick((w) => w.state<ConsoleService>("console").drain("boundary", w.tick));
  },
  systems: [
    {
      name: "console/apply",
      phase: "console",
      reads: ["queued console commands"],
      writes: ["whatever the plug-ins' commands change (Position, Needs, TownEconomy, Lifecycle, messages, ...)"],
      run({ state, tick }) {
        state.drain("tick", tick);
      },
    },
  ],
});
