// The persistence plug-in's console commands: write or restore a snapshot between ticks, through
// the snapshot files the composer bound (townlet serve binds them, confined to its folder).
import { z } from "zod";
import { unavailable, type CommandDef } from "../../engine/command.ts";
import { consoleCommand } from "../../components/console.ts";

const noSnapshots = "snapshot files are not bound in this world (the persistence plug-in provides them)";

export const persistenceCommands: CommandDef[] = [
  consoleCommand({
    name: "snapshot_save",
    role: "admin",
    destructive: true,
    at: "boundary",
    doc: "writes a snapshot between ticks: {path?}",
    args: z.strictObject({ path: z.string().min(1).optional() }),
    run(w, a, ctx) {
      const s = ctx.bindings.snapshots;
      if (!s) unavailable("snapshot_save", noSnapshots);
      return s.save(w, a.path);
    },
  }),
  consoleCommand({
    name: "snapshot_load",
    role: "admin",
    destructive: true,
    at: "boundary",
    doc: "restores a snapshot between ticks: {path}",
    args: z.strictObject({ path: z.string().min(1) }),
    run(w, a, ctx) {
      const s = ctx.bindings.snapshots;
      if (!s) unavailable("snapshot_load", noSnapshots);
      return s.load(w, a.path);
    },
  }),
];
