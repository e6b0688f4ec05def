// The bindings of `townlet serve` (tools/serve.ts): systems never import each other, so the
// employment, persistence and snapshot functions are bound here to the console of a world, with
// the path guard of the console's snapshot commands.
import { basename, dirname, join, resolve, relative, isAbsolute, sep } from "node:path";
import { mkdirSync, realpathSync, statSync } from "node:fs";
import type { World } from "../engine/world.ts";
import { loadSnapshot, newestValidSnapshot, readSnapshotFile, saveSnapshot, SnapshotError, writeFileAtomic, writeSnapshotFile } from "../engine/snapshot.ts";
import { approveExit, deferExit, employmentStatus, reviewExits } from "../systems/employment/index.ts";
import { EmploymentKey } from "../components/people.ts";
import { snapshotMeta, PersistenceKey } from "../systems/persistence/index.ts";
import { TelemetryPublisherKey, type TelemetryPublisher } from "../systems/telemetry/index.ts";
import { CommandError, ConsoleKey, type ConsoleBindings, type ConsoleService } from "../systems/console/index.ts";

export interface BindOptions {
  /** The config's hash, stamped on snapshots (and required to match on load). */
  configHash?: string | null;
  /** Folder snapshot_save/snapshot_load may use (default: snapshot.storage.root). */
  snapshotDir?: string;
}

/** `p` with every symlink of its existing part resolved (the part not yet created kept as written). */
function realPathOf(p: string): string {
  let head = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...rest.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return p;
      rest.push(basename(head));
      head = up;
    }
  }
}

const isInside = (root: string, p: string) => {
  const rel = relative(root, p);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel) && !rel.split(sep).includes(".."));
};

/**
 * A path the console may touch: relative to `roots[0]` (the snapshot folder), or absolute inside
 * one of `roots` (that folder and snapshot.guardrails.allowed_paths), after symlinks are
 * resolved: a link inside the folder that points out of it is refused like "../x".
 */
export function insideRoot(roots: readonly string[], path: string | undefined, arg = "path"): string {
  if (path !== undefined && path.includes("\0")) throw new CommandError("invalid_args", `${arg}: contains a NUL byte`);
  const p = resolve(roots[0], path ?? ".");
  const real = realPathOf(p);
  if (!roots.some((r) => isInside(r, p) && isInside(realPathOf(r), real))) {
    const where = roots.length > 1 ? `the snapshot folder ${roots[0]} or snapshot.guardrails.allowed_paths` : `the snapshot folder ${roots[0]}`;
    throw new CommandError("invalid_args", `${arg}: "${path}" is outside ${where}${real !== p ? ` (it leads to ${real})` : ""}`);
  }
  return p;
}

export function snapshotFailure(e: unknown): never {
  if (e instanceof SnapshotError) {
    const code = e.code === "not_found" ? "not_found" : e.code === "config_mismatch" || e.code === "schema" || e.code === "state_mismatch" ? "conflict" : e.code === "io" ? "internal" : "invalid_args";
    throw new CommandError(code, `snapshot ${e.code}: ${e.message}`);
  }
  throw e;
}

/**
 * Binds other plug-ins' operations to the console of `world`: employment exits, snapshot files,
 * and the publisher's console snapshot (telemetry sections come from each plug-in's own part).
 */
export function bindSystems(world: World, opts: BindOptions = {}): { console: ConsoleService; publisher: TelemetryPublisher } {
  const svc = world.resource(ConsoleKey);
  const pub = world.resource(TelemetryPublisherKey);
  const b: ConsoleBindings = {
    telemetry: { snapshot: (agents) => pub.consoleSnapshot(agents) },
  };
  if (world.optionalResource(EmploymentKey) !== undefined) {
    b.employment = {
      status: (w) => employmentStatus(w),
      review: (w) => reviewExits(w),
      approve: (w, id) => approveExit(w, id),
      defer: (w, id) => deferExit(w, id),
    };
  }
  const persistence = world.optionalResource(PersistenceKey);
  const root = resolve(opts.snapshotDir ?? persistence?.dir ?? "snapshots");
  const roots = [root, ...(world.settings.snapshot?.guardrails.allowed_paths ?? []).map((p) => resolve(p))];
  const configHash = opts.configHash ?? persistence?.configHash ?? null;
  b.snapshots = {
    save(w, path) {
      const target = insideRoot(roots, path);
      const meta = snapshotMeta(w, configHash);
      try {
        if (target.endsWith(".snapshot")) {
          mkdirSync(dirname(target), { recursive: true });
          const bytes = saveSnapshot(w, meta);
          writeFileAtomic(target, bytes);
          return { path: target, tick: w.tick, bytes: bytes.length };
        }
        const file = writeSnapshotFile(target, w, meta);
        return { path: file, tick: w.tick, bytes: statSync(file).size };
      } catch (e) {
        return snapshotFailure(e);
      }
    },
    load(w, path) {
      const target = insideRoot(roots, path);
      try {
        let file = target;
        if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) {
          // The newest of the running config; only when there is none, the newest of any config.
          const found = newestValidSnapshot(target, { configId: String(w.settings.config_id) }) ?? newestValidSnapshot(target);
          if (!found) throw new SnapshotError("not_found", "no snapshot in this folder verifies", target);
          file = found.path;
        }
        const before = w.tick;
        const r = loadSnapshot(w, readSnapshotFile(file), { configHash, path: file });
        return { path: file, from_tick: before, tick: w.tick, config_id: r.header.config_id, ...(r.migrated ? { migrated: r.migrated } : {}), ...(r.upgrades ? { upgraded: r.upgrades } : {}) };
      } catch (e) {
        return snapshotFailure(e);
      }
    },
  };
  svc.bind(b);
  return { console: svc, publisher: pub };
}

