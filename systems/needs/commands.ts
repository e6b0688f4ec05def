// The needs plug-in's console command: `setneed` sets one or several needs of an agent in [0, 1].
// The need names come from components/needs.ts (NEED_NAMES), so a new need is settable as is.
import { z } from "zod";
import { AgentIdArg, UnitArg, requireAgent, unavailable, type CommandDef } from "../../engine/command.ts";
import { Needs, NEED_NAMES } from "../../components/needs.ts";
import { consoleCommand } from "../../components/console.ts";

/** `{<need>?: number in [0, 1]}` for every need. */
const NeedValues = z.strictObject(Object.fromEntries(NEED_NAMES.map((n) => [n, UnitArg.optional()])) as Record<string, z.ZodOptional<typeof UnitArg>>);

export const needsCommands: CommandDef[] = [
  consoleCommand({
    name: "setneed",
    role: "admin",
    destructive: true,
    doc: `sets needs in [0,1]: {agent_id, need, value} or {agent_id, needs: {${NEED_NAMES.map((n) => `${n}?`).join(", ")}}}`,
    args: z
      .strictObject({
        agent_id: AgentIdArg,
        need: z.enum(NEED_NAMES as unknown as [string, ...string[]]).optional(),
        value: UnitArg.optional(),
        needs: NeedValues.optional(),
      })
      .superRefine((a, c) => {
        const pair = a.need !== undefined || a.value !== undefined;
        if (pair && a.needs !== undefined) c.addIssue({ code: "custom", path: ["needs"], message: "expected either need + value or needs, not both" });
        else if (!pair && a.needs === undefined) c.addIssue({ code: "custom", path: ["need"], message: "expected need + value, or needs" });
        else if (pair && a.need === undefined) c.addIssue({ code: "custom", path: ["need"], message: `expected one of ${NEED_NAMES.join(", ")} alongside value` });
        else if (pair && a.value === undefined) c.addIssue({ code: "custom", path: ["value"], message: "expected a number in [0, 1] alongside need" });
        else if (a.needs !== undefined && Object.keys(a.needs).length === 0) c.addIssue({ code: "custom", path: ["needs"], message: "expected at least one need" });
      }),
    run(w, a) {
      const eid = requireAgent(w, a.agent_id);
      if (!w.has(eid, Needs)) unavailable("setneed", "agents have no Needs component in this world");
      const N = w.columns(Needs) as unknown as Record<string, Float32Array | Float64Array>;
      const values: Record<string, number> = a.needs ? (a.needs as Record<string, number>) : { [a.need!]: a.value! };
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
