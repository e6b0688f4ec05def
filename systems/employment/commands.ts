// The employment plug-in's console commands: the exit queue's status, and review, approve or
// defer an exit. approve/defer go through the operations the composer bound (townlet serve);
// without them the status is read from the columns.
import { z } from "zod";
import type { World } from "../../engine/world.ts";
import { AgentIdArg, CommandError, NoArgs, requireAgent, unavailable, type CommandDef } from "../../engine/command.ts";
import { Employment } from "../../components/people.ts";
import { consoleCommand } from "../../components/console.ts";

/** The exit queue read from the columns: pending in entity order; the day's exits are the plug-in's own. */
function employmentFallback(w: World) {
  const cfg = (w.settings as Partial<World["settings"]>).employment;
  const pending: string[] = [];
  if (w.components.isRegistered(Employment)) {
    const E = w.columns(Employment);
    for (const e of w.agents) if (E.exit_pending[e] === 1) pending.push(w.agentName(e));
  }
  return {
    pending,
    pending_count: pending.length,
    exits_today: null,
    daily_exit_cap: cfg?.daily_exit_cap ?? 0,
    queue_limit: cfg?.exit_queue_limit ?? 0,
    review_window: cfg?.exit_review_window ?? 0,
  };
}

export const employmentCommands: CommandDef[] = [
  consoleCommand({
    name: "employment_status",
    role: "viewer",
    doc: "the employment exit queue: pending agents, exits today, cap, queue limit, review window",
    args: NoArgs,
    run(w, _a, ctx) {
      return ctx.bindings.employment?.status(w) ?? employmentFallback(w);
    },
  }),
  consoleCommand({
    name: "employment_exit",
    role: "viewer",
    roleFor: (a) => (a.action === "review" ? "viewer" : "admin"),
    destructive: (a) => a.action !== "review",
    doc: "employment exits: {action: review} lists the queue; {action: approve|defer, agent_id} (admin)",
    args: z
      .strictObject({ action: z.enum(["review", "approve", "defer"]), agent_id: AgentIdArg.optional() })
      .refine((a) => a.action === "review" || a.agent_id !== undefined, { message: "expected an agent_id for approve and defer", path: ["agent_id"] }),
    run(w, a, ctx) {
      const emp = ctx.bindings.employment;
      if (a.action === "review") return emp ? emp.review(w) : { ...employmentFallback(w), entries: null };
      requireAgent(w, a.agent_id!);
      if (!emp) unavailable(`employment_exit ${a.action}`, "no employment operations are bound (townlet serve binds them)");
      const ok = a.action === "approve" ? emp.approve(w, a.agent_id!) : emp.defer(w, a.agent_id!);
      if (!ok) throw new CommandError("not_found", `agent_id: no live agent "${a.agent_id}"`);
      return { action: a.action, agent_id: a.agent_id, status: emp.status(w) };
    },
  }),
];
