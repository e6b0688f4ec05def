// The lifecycle's console command: `kill` makes an agent leave (exit reason console); it is
// replaced like any other exit.
import { z } from "zod";
import { AgentIdArg, requireAgent, unavailable, type CommandDef } from "../../engine/command.ts";
import { ExitReason, Lifecycle } from "../../components/people.ts";
import { consoleCommand } from "../../components/console.ts";

export const lifecycleCommands: CommandDef[] = [
  consoleCommand({
    name: "kill",
    role: "admin",
    destructive: true,
    doc: "makes an agent leave (exit reason console); it is replaced like any other exit",
    args: z.strictObject({ agent_id: AgentIdArg }),
    run(w, a) {
      const eid = requireAgent(w, a.agent_id);
      if (!w.has(eid, Lifecycle)) unavailable("kill", "the lifecycle plug-in is not in this world");
      const L = w.columns(Lifecycle);
      const already = L.exit_reason[eid] !== ExitReason.None;
      if (!already) L.exit_reason[eid] = ExitReason.Console;
      return { agent_id: a.agent_id, leaving: true, already_leaving: already };
    },
  }),
];
