// What console commands of several plug-ins share: the operations a composer binds to the console
// (tools/serve.ts: employment exits, snapshot files, the loop, the telemetry snapshot), the
// arguments of the perturbation commands, and the perturbation operations those commands (and
// arrange_meet) use. Plug-ins' commands read the bindings as `ctx.bindings` (engine/command.ts).
import type { World } from "../engine/world.ts";
import { Town } from "../engine/core-components.ts";
import { CommandError, type CommandContext, type CommandDef } from "../engine/command.ts";
import { PerturbationsKey } from "./perturbations.ts";

export interface PerturbationTriggerArgs {
  spec: string;
  starts_in?: number;
  duration?: number;
  magnitude?: number;
  targets?: string[];
  location?: string;
  town?: number;
}

export interface ArrangeMeetArgs {
  agents: string[];
  x?: number;
  y?: number;
  object_id?: string;
  spec?: string;
  starts_in?: number;
  duration?: number;
}

/** The perturbation operations the console's commands call. */
export interface PerturbationOps {
  queue(world: World): unknown;
  trigger(world: World, args: PerturbationTriggerArgs): unknown;
  cancel(world: World, eventId: string): unknown;
  /** Schedules an arranged meet; undefined = not handled (the agents are then moved now). */
  arrangeMeet?(world: World, args: ArrangeMeetArgs): unknown;
}

/**
 * Operations other plug-ins own, bound by whoever composes the world (tools/serve.ts binds the
 * employment, snapshot and loop functions). A command whose binding is missing answers
 * `unavailable` or, where it can, reads the columns instead.
 */
export interface ConsoleBindings {
  employment?: {
    status(world: World): unknown;
    review(world: World): unknown;
    approve(world: World, agentId: string): boolean;
    defer(world: World, agentId: string): boolean;
  };
  /** The telemetry publisher's console snapshot (jobs, economy, employment queue). */
  telemetry?: { snapshot(agents?: readonly string[]): unknown };
  /** Overrides the perturbation scheduler's service (components/perturbations.ts), used by default. */
  perturbations?: PerturbationOps;
  /** Snapshot files (engine/snapshot.ts). */
  snapshots?: { save(world: World, path?: string): unknown; load(world: World, path: string): unknown };
  /** The loop that steps the world (townlet serve): pause, resume, speed. */
  loop?: { pause(): unknown; resume(): unknown; speed(ticksPerSecond: number | null): unknown; status(): unknown };
}

/** The context console commands get. */
export type ConsoleCommandContext = CommandContext<ConsoleBindings>;

/** Runs a scheduler call, turning its PerturbationError into the console's error codes. */
function viaScheduler<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && e.name === "PerturbationError") {
      const code = (e as Error & { code?: string }).code;
      throw new CommandError(code === "unknown_spec" ? "unknown_spec" : code === "unknown_event" ? "not_found" : "invalid_args", e.message);
    }
    throw e;
  }
}

/** The perturbation operations: bound ones, else the scheduler's service; undefined without either. */
export function perturbationOps(ctx: ConsoleCommandContext): PerturbationOps | undefined {
  if (ctx.bindings.perturbations) return ctx.bindings.perturbations;
  const svc = ctx.world.optionalResource(PerturbationsKey);
  if (!svc) return undefined;
  return {
    queue: () => svc.latestState(),
    trigger: (_w, a) =>
      viaScheduler(() =>
        svc.schedule(a.town ?? 0, a.spec, {
          startsIn: a.starts_in,
          duration: a.duration,
          magnitude: a.magnitude,
          targets: a.targets,
          location: a.location,
        }),
      ),
    cancel: (_w, id) => {
      if (!viaScheduler(() => svc.cancel(id))) throw new CommandError("not_found", `event_id: no pending or active event "${id}"`);
      return { event_id: id, cancelled: true };
    },
    arrangeMeet: (w, a) => {
      if (a.spec === undefined) return undefined;
      const town = w.columns(Town).id[w.agentEid(a.agents[0])];
      return viaScheduler(() =>
        svc.schedule(town, a.spec!, { startsIn: a.starts_in, duration: a.duration, targets: a.agents, location: a.object_id }),
      );
    },
  };
}

/** Identity function that types a console command: its arguments from the schema, its bindings. */
export function consoleCommand<A>(def: CommandDef<A, ConsoleBindings>): CommandDef<A, ConsoleBindings> {
  return def;
}
