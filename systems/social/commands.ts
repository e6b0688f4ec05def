// The social plug-in's console command: `force_chat` makes two agents of one town chat (a
// chat_success message, handled like any other chat).
import { z } from "zod";
import { Town } from "../../engine/core-components.ts";
import { AgentIdArg, CommandError, UnitArg, requireAgent, unavailable, type CommandDef } from "../../engine/command.ts";
import { ChatSuccess } from "../../components/messages.ts";
import { consoleCommand } from "../../components/console.ts";

export const socialCommands: CommandDef[] = [
  consoleCommand({
    name: "force_chat",
    role: "admin",
    destructive: true,
    doc: "makes two agents of the same town chat: {speaker, listener, quality?}",
    args: z
      .strictObject({ speaker: AgentIdArg, listener: AgentIdArg, quality: UnitArg.default(0.8) })
      .refine((a) => a.speaker !== a.listener, { message: "expected two different agents", path: ["listener"] }),
    run(w, a) {
      const s = requireAgent(w, a.speaker, "speaker");
      const l = requireAgent(w, a.listener, "listener");
      const town = w.columns(Town).id;
      if (town[s] !== town[l]) throw new CommandError("invalid_args", `listener: "${a.listener}" lives in town ${town[l]}, "${a.speaker}" in town ${town[s]}`);
      if (!w.messages.has(ChatSuccess)) unavailable("force_chat", "no plug-in in this world handles chats (chat_success)");
      w.send(ChatSuccess, s, l, a.quality);
      return { speaker: a.speaker, listener: a.listener, quality: a.quality };
    },
  }),
];
