// The needs plug-in's console command: `setneed` sets one or several needs of an agent in [0, 1].
// Any need of the world's table (config needs:) is settable: the names are checked against the
// table when the command runs (the argument schema is the same for every world).
import { z } from "zod";
import { AgentIdArg, CommandError, UnitArg, requireAgent, unavailable, type CommandDef } from "../../engine/command.ts";
import { Needs, needTable } from "../../components/needs.ts";
import { consoleCommand } from "../../components/console.ts";

const NeedName = z.string().min(1).max(64).describe("a need of this world (config needs:)");

export const needsCommands: CommandDef[] = [
  consoleCommand({
    name: "setneed",
    role: "admin",
    destructive: true,
    doc: "sets needs in [0,1]: {agent_id, need, value} or {agent_id, needs: {<need>: value, ...}}, for any need of the world's needs: list",
    args: z
      .strictObject({
        agent_id: AgentIdArg,
        need: NeedName.optional(),
        value: UnitArg.optional(),
        needs: z.record(NeedName, UnitArg).optional(),
      })
      .superRefine((a, c) => {
        const pair = a.need !== undefined || a.value !== undefined;
        if (pair && a.needs !== undefined) c.addIssue({ code: "custom", path: ["needs"], message: "expected either need + value or needs, not both" });
        else if (!pair && a.needs === undefined) c.addIssue({ code: "custom", path: ["need"], message: "expected need + value, or needs" });
        else if (pair && a.need === undefined) c.addIssue({ code: "custom", path: ["need"], message: "expected a need's name alongside value" });
        else if (pair && a.value === undefined) c.addIssue({ code: "custom", path: ["value"], message: "expected a number in [0, 1] alongside need" });
        else if (a.needs !== undefined && Object.keys(a.needs).length === 0) c.addIssue({ code: "custom", path: ["needs"], message: "expected at least one need" });
      }),
    run(w, a) {
      const eid = requireAgent(w, a.agent_id);
      if (!w.has(eid, Needs)) unavailable("setneed", "agents have no Needs component in this world");
      const table = needTable(w.settings);
      const values: Record<string, number> = a.needs ? a.needs : { [a.need!]: a.value! };
      for (const k of Object.keys(values)) {
        if (table.index(k) < 0) throw new CommandError("invalid_args", `${a.needs ? `needs.${k}` : "need"}: expected one of ${table.names.join(", ")}, got "${k}"`);
      }
      const N = w.columns(Needs) as unknown as Record<string, Float32Array>;
      const before: Record<string, number> = {};
      for (const [k, v] of Object.entries(values)) {
        const col = N[k];
        before[k] = col[eid];
        col[eid] = v;
      }
      return { agent_id: a.agent_id, before, after: values };
    },
  }),
];
