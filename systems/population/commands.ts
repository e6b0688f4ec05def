// The population's console command: `spawn` adds an agent (its name, tile, job, wallet and needs
// given or drawn as at start-up). Other plug-ins initialise their components in onAgentSpawn.
import { z } from "zod";
import { CommandError, CoordArg, TownArg, UnitArg, checkTile, checkTown, unavailable, type CommandDef } from "../../engine/command.ts";
import { didYouMean } from "../../engine/text.ts";
import { Needs, needTable } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { Wallet } from "../../components/economy.ts";
import { EmploymentKey } from "../../components/people.ts";
import { jobTable } from "../../components/jobs.ts";
import { consoleCommand } from "../../components/console.ts";

/**
 * `{<need>: number in [0, 1]}`: any need of the world's table (config needs:, a mod's need
 * included). The schema is the same for every world; the names are checked when the command runs.
 */
const NeedName = z.string().min(1).max(64).describe("a need of this world (config needs:)");

export const populationCommands: CommandDef[] = [
  consoleCommand({
    name: "spawn",
    role: "admin",
    destructive: true,
    doc: "adds an agent: {town?, name?, x?, y?, job?, wallet?, needs?}",
    args: z
      .strictObject({
        town: TownArg,
        name: z.string().min(1).max(64).regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, "expected a name of letters, digits, _ . -").optional(),
        x: CoordArg.optional(),
        y: CoordArg.optional(),
        job: z.string().min(1).optional().describe("a key of `jobs`"),
        wallet: z.number().min(0).max(1e9).optional(),
        needs: z.record(NeedName, UnitArg).optional(),
      })
      .refine((a) => (a.x === undefined) === (a.y === undefined), { message: "expected both x and y, or neither", path: ["y"] }),
    run(w, a) {
      checkTown(w, a.town);
      if (a.x !== undefined) checkTile(w, a.x, a.y!);
      if (a.name !== undefined && w.agentEid(a.name) >= 0) throw new CommandError("conflict", `name: an agent named "${a.name}" already exists`);
      if (a.name !== undefined && /^agent_\d+$/.test(a.name)) throw new CommandError("invalid_args", `name: "${a.name}" is reserved for default ids (agent_<n>)`);
      if (a.needs !== undefined) {
        const names = needTable(w.settings).names;
        for (const k of Object.keys(a.needs)) {
          if (!names.includes(k)) throw new CommandError("invalid_args", `needs.${k}: expected one of ${names.join(", ")}, got "${k}"${didYouMean(k, names)}`);
        }
      }
      if (a.job !== undefined) {
        const names = jobTable(w).names;
        if (!names.includes(a.job)) {
          throw new CommandError("invalid_args", `job: unknown job "${a.job}"${didYouMean(a.job, names)}; jobs are ${names.join(", ") || "none"}`);
        }
      }
      const init: Record<string, Record<string, number>> = {};
      if (a.x !== undefined) init.Position = { x: a.x, y: a.y! };
      if (a.wallet !== undefined && w.components.isRegistered(Wallet)) init.Wallet = { money: a.wallet };
      if (a.needs && w.components.isRegistered(Needs)) init.Needs = { ...a.needs } as Record<string, number>;
      const eid = w.spawnAgent(a.town, { name: a.name, init });
      if (a.job !== undefined) {
        const jobs = w.optionalResource(EmploymentKey);
        if (!jobs) unavailable("job", "the employment plug-in is not in this world");
        jobs.assignJob(eid, a.job);
      }
      const P = w.has(eid, Position) ? w.columns(Position) : undefined;
      return { agent_id: w.agentName(eid), town: a.town, x: P ? P.x[eid] : null, y: P ? P.y[eid] : null, job: a.job ?? null };
    },
  }),
];
