// The perturbation scheduler's console commands: its queue, a manual trigger and a cancel.
// They call the scheduler's service (components/perturbations.ts) or the bound override.
import { z } from "zod";
import { AgentIdArg, NoArgs, checkTown, unavailable, type CommandDef } from "../../engine/command.ts";
import { PRICE_MULTIPLIER_MAX } from "../../components/economy.ts";
import { consoleCommand, perturbationOps } from "../../components/console.ts";

const noScheduler = "the perturbations plug-in is not in this world";

export const perturbationCommands: CommandDef[] = [
  consoleCommand({
    name: "perturbation_queue",
    role: "viewer",
    doc: "active, pending and cooling-down perturbations",
    args: NoArgs,
    run(world, _a, ctx) {
      const p = perturbationOps(ctx);
      if (!p) unavailable("perturbation_queue", noScheduler);
      return p.queue(world);
    },
  }),
  consoleCommand({
    name: "perturbation_trigger",
    role: "admin",
    destructive: true,
    doc: "schedules a perturbation now: {spec, starts_in?, duration?, magnitude?, targets?, location?, town?}",
    args: z.strictObject({
      spec: z.string().min(1),
      starts_in: z.int().min(0).optional(),
      duration: z.int().min(1).optional(),
      magnitude: z.number().min(0).max(PRICE_MULTIPLIER_MAX).optional(),
      targets: z.array(AgentIdArg).max(1000).optional(),
      location: z.string().min(1).optional(),
      town: z.int().min(0).optional(),
    }),
    run(world, a, ctx) {
      const p = perturbationOps(ctx);
      if (!p) unavailable("perturbation_trigger", noScheduler);
      if (a.town !== undefined) checkTown(world, a.town);
      return p.trigger(world, a);
    },
  }),
  consoleCommand({
    name: "perturbation_cancel",
    role: "admin",
    destructive: true,
    doc: "cancels a pending or active perturbation: {event_id}",
    args: z.strictObject({ event_id: z.union([z.string().min(1), z.int().min(0)]).transform(String) }),
    run(world, a, ctx) {
      const p = perturbationOps(ctx);
      if (!p) unavailable("perturbation_cancel", noScheduler);
      return p.cancel(world, a.event_id);
    },
  }),
];
