// The policy plug-in's console commands (guide 3.3: promotion and rollback): the live policy and
// the release pointer, promote a checkpoint, roll back. Both changes happen between ticks.
import { z } from "zod";
import type { World } from "../../engine/world.ts";
import { CommandError, NoArgs, unavailable, type CommandContext, type CommandDef } from "../../engine/command.ts";
import { PolicyKey, PolicyReleaseError, type PolicyReleaseService } from "../../components/release.ts";
import { consoleCommand } from "../../components/console.ts";

/** The policy plug-in's release service (components/release.ts), or `unavailable`. */
function releaseOps(world: World, command: string): PolicyReleaseService {
  const svc = world.optionalResource(PolicyKey);
  if (!svc) unavailable(command, "the policy plug-in is not in this world");
  return svc;
}

/** Runs a release call, turning its PolicyReleaseError into the console's error codes. */
function viaRelease<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PolicyReleaseError) throw new CommandError(e.code, e.message);
    throw e;
  }
}

const Checkpoint = z.string().min(1).max(1024).describe("checkpoint folder, relative to the checkpoint root");
const who = (ctx: CommandContext) => ({ by: ctx.principal.label, role: ctx.principal.role, cmdId: ctx.cmdId, tick: ctx.tick });

export const policyCommands: CommandDef[] = [
  consoleCommand({
    name: "policy_status",
    role: "viewer",
    doc: "the live policy (checkpoint, policy hash), the release pointer and the promotion gate",
    args: NoArgs,
    run(w) {
      return releaseOps(w, "policy_status").policyStatus();
    },
  }),
  consoleCommand({
    name: "promote_policy",
    role: "admin",
    destructive: true,
    at: "boundary",
    doc: "makes a checkpoint the live policy between ticks once the promotion gate is ready (force: true skips the gate, recorded): {checkpoint, force?}",
    args: z.strictObject({
      checkpoint: Checkpoint,
      force: z.boolean().default(false).describe("promote although the promotion gate is not ready"),
    }),
    run(w, a, ctx) {
      const svc = releaseOps(w, "promote_policy");
      return viaRelease(() => svc.promotePolicy({ ...who(ctx), checkpoint: a.checkpoint, force: a.force }));
    },
  }),
  consoleCommand({
    name: "rollback_policy",
    role: "admin",
    destructive: true,
    at: "boundary",
    doc: "makes an earlier policy live again between ticks: {to?} (left out: the policy live before the current release)",
    args: z.strictObject({ to: Checkpoint.optional() }),
    run(w, a, ctx) {
      const svc = releaseOps(w, "rollback_policy");
      return viaRelease(() => svc.rollbackPolicy({ ...who(ctx), ...(a.to !== undefined ? { to: a.to } : {}) }));
    },
  }),
];
