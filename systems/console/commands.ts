// The console's own commands: help, status and the loop (pause, resume, speed). Every other
// command belongs to the plug-in that owns its data and comes through that plug-in's `commands`.
import { z } from "zod";
import { didYouMean } from "../../engine/text.ts";
import { NoArgs, unavailable } from "../../engine/command.ts";
import { MIN_TICKS_PER_SECOND, REALTIME_TICK_MS } from "../../engine/loop.ts";
import { CommandError, type ConsoleCommand, type ConsoleService } from "./service.ts";

export { requireAgent } from "../../engine/command.ts";

const describe = (c: ConsoleCommand) => ({
  name: c.name,
  role: c.role,
  destructive: typeof c.destructive === "function" ? "depends on arguments" : (c.destructive ?? false),
  doc: c.doc ?? "",
});

/** help and status: what the console itself knows. */
function infoCommands(service: ConsoleService): ConsoleCommand[] {
  const help: ConsoleCommand<{ command?: string }> = {
    name: "help",
    role: "viewer",
    doc: "lists the commands (or one command's arguments as a JSON Schema)",
    args: z.strictObject({ command: z.string().min(1).optional().describe("a command name") }),
    run(ctx, a) {
      const list = [...service.commands.values()].sort((x, y) => x.name.localeCompare(y.name));
      if (a.command === undefined) return { role: ctx.principal.role, commands: list.map(describe) };
      const c = service.commands.get(a.command);
      if (!c) throw new CommandError("not_found", `command: no command "${a.command}"${didYouMean(a.command, service.commands.keys())}`);
      return { ...describe(c), args: z.toJSONSchema(c.args, { io: "input", unrepresentable: "any" }) };
    },
  };
  const status: ConsoleCommand = {
    name: "status",
    role: "viewer",
    doc: "tick, agents, towns, config_id, the loop's state and the console queue",
    args: NoArgs,
    run(ctx) {
      const w = ctx.world;
      return {
        tick: w.tick,
        agents: w.agents.length,
        towns: w.towns,
        config_id: (w.settings as { config_id?: string }).config_id ?? null,
        loop: ctx.bindings.loop?.status() ?? null,
        queued_commands: service.queued,
        you: ctx.principal,
      };
    },
  };
  return [help as ConsoleCommand, status];
}

const noLoop = "no loop is bound (only townlet serve steps the world on its own)";

/** pause, resume and speed: the loop the composer bound (townlet serve). */
function loopCommands(): ConsoleCommand[] {
  const speed: ConsoleCommand<{ multiplier?: number; ticks_per_second?: number | null }> = {
    name: "speed",
    role: "admin",
    at: "boundary",
    doc: `pace of the loop: {multiplier: X} (1 = real time, ${REALTIME_TICK_MS} ms a tick), {ticks_per_second: N}, or {ticks_per_second: null} (as fast as possible)`,
    args: z
      .strictObject({
        multiplier: z
          .number()
          .min((MIN_TICKS_PER_SECOND * REALTIME_TICK_MS) / 1000)
          .max(10_000)
          .optional(),
        ticks_per_second: z.number().min(MIN_TICKS_PER_SECOND).max(100_000).nullable().optional(),
      })
      .refine((a) => (a.multiplier === undefined) !== (a.ticks_per_second === undefined), {
        message: "expected exactly one of multiplier / ticks_per_second",
        path: ["multiplier"],
      }),
    run(ctx, a) {
      const l = ctx.bindings.loop;
      if (!l) unavailable("speed", noLoop);
      return l.speed(a.multiplier !== undefined ? (a.multiplier * 1000) / REALTIME_TICK_MS : a.ticks_per_second!);
    },
  };
  return [
    {
      name: "pause",
      role: "admin",
      at: "boundary",
      doc: "stops ticking after the current tick (commands still apply)",
      args: NoArgs,
      run(ctx) {
        const l = ctx.bindings.loop;
        if (!l) unavailable("pause", noLoop);
        return l.pause();
      },
    },
    {
      name: "resume",
      role: "admin",
      at: "boundary",
      doc: "ticks again",
      args: NoArgs,
      run(ctx) {
        const l = ctx.bindings.loop;
        if (!l) unavailable("resume", noLoop);
        return l.resume();
      },
    },
    speed as ConsoleCommand,
  ];
}

/** The console's own commands (the rest come from the plug-ins' `commands`). */
export function builtinCommands(service: ConsoleService): ConsoleCommand[] {
  return [...infoCommands(service), ...loopCommands()];
}
