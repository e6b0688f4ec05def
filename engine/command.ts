// Console commands as plug-ins write them: the command shape (`PluginDef.commands`), the error a
// command throws for a user's mistake, and the argument checks most commands share. The console
// plug-in dispatches them (auth, cmd_id, audit, queue); each plug-in owns the commands on its data.
import { z } from "zod";
import type { World } from "./world.ts";
import { didYouMean } from "./text.ts";

export const ROLES = ["viewer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Error codes a command result may carry (the original's, plus transport-level ones). */
export const ERROR_CODES = [
  "usage",
  "invalid_args",
  "forbidden",
  "unauthorized",
  "unsupported",
  "not_found",
  "unknown_spec",
  "conflict",
  "unavailable",
  "busy",
  "timeout",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A user's mistake or a refusal with its error code (anything else thrown is `internal`). */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Who sent a command: the role and label of its token. */
export interface CommandIssuer {
  role: Role;
  label: string;
}

/**
 * What a command sees besides the world. `B` is the operations the composer bound to the console
 * (tools/serve.ts binds snapshot files, the loop, employment exits: components/console.ts).
 */
export interface CommandContext<B = unknown> {
  readonly world: World;
  readonly principal: CommandIssuer;
  /** The tick the command is applied in (the tick being run, or world.tick between ticks). */
  readonly tick: number;
  readonly via: "ws" | "http" | "local";
  readonly cmdId: string | null;
  readonly bindings: B;
}

/** A console command a plug-in adds (`PluginDef.commands`); the console plug-in dispatches it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface CommandDef<A = any, B = any> {
  /** snake_case, unique in a world. */
  name: string;
  /** The least role that may run it. */
  role: Role;
  /** A stricter role for some arguments (employment_exit approve needs admin, review does not). */
  roleFor?(args: A): Role;
  /** Destructive commands require a cmd_id and are idempotent by it. */
  destructive?: boolean | ((args: A) => boolean);
  args: z.ZodType<A>;
  doc?: string;
  /** "tick" (default): in the console phase; "boundary": between ticks (snapshots, loop control). */
  at?: "tick" | "boundary";
  run(world: World, args: A, ctx: CommandContext<B>): unknown;
}

/** Identity function that types a command's arguments from its schema. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function defineCommand<A, B = any>(def: CommandDef<A, B>): CommandDef<A, B> {
  return def;
}

// ---- argument pieces and checks shared by commands ----------------------------------------------

export const AgentIdArg = z.string().min(1).max(128).describe("agent id (agent_<n> or a scenario name)");
export const TownArg = z.int().min(0).default(0).describe("town index");
export const CoordArg = z.int().min(0).describe("tile coordinate");
export const UnitArg = z.number().min(0).max(1);
export const NoArgs = z.strictObject({});

/** The live agent with that id, or a not_found error naming close ids. */
export function requireAgent(world: World, id: string, arg = "agent_id"): number {
  const eid = world.agentEid(id);
  if (eid >= 0) return eid;
  const agents = world.agents;
  const names: string[] = [];
  for (let i = 0; i < agents.length && i < 10_000; i++) names.push(world.agentName(agents[i]));
  throw new CommandError("not_found", `${arg}: no live agent "${id}"${didYouMean(id, names)}`);
}

/** Tiles per town (world.grid_size; 48x48 without a `world` section). */
export function gridSize(world: World): [number, number] {
  const g = (world.settings as Partial<World["settings"]>).world?.grid_size;
  return g ? [g[0], g[1]] : [48, 48];
}

export function checkTile(world: World, x: number, y: number, what = "x, y"): void {
  const [w, h] = gridSize(world);
  if (x >= w || y >= h) throw new CommandError("invalid_args", `${what}: [${x}, ${y}] is outside the ${w}x${h} grid`);
}

export function checkTown(world: World, town: number): void {
  if (town >= world.towns) throw new CommandError("invalid_args", `town: expected an integer in [0, ${world.towns - 1}], got ${town}`);
}

/** Refuses a command whose operation this world cannot do: "WHAT is unavailable: WHY". */
export function unavailable(what: string, why: string): never {
  throw new CommandError("unavailable", `${what} is unavailable: ${why}`);
}
