// Snapshot files: names (<config_id>-<tick>.snapshot), atomic writes, retention, reading, and
// finding a folder's newest snapshot that verifies.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { World } from "../world.ts";
import { SNAPSHOT_EXTENSION, SnapshotError, type SnapshotData, type SnapshotMeta } from "./format.ts";
import { decodeSnapshot } from "./read.ts";
import { saveSnapshot } from "./write.ts";

/** `<config_id>-<tick, 10 digits>.snapshot`, with characters unsafe in file names replaced. */
export function snapshotFileName(configId: string, tick: number): string {
  return `${safeId(configId)}-${String(tick).padStart(10, "0")}${SNAPSHOT_EXTENSION}`;
}

function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "_") || "snapshot";
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (e) {
    // Some platforms (Windows) cannot open or fsync a folder; the rename is still atomic there.
    if (process.platform !== "win32") throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `bytes` to `path` atomically: a unique temporary file beside it, fsync, rename over
 * `path`, fsync of the folder. A crash at any moment leaves the old file or the new one whole.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const dir = join(path, "..");
  const tmp = join(dir, `.${path.slice(dir.length + 1)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o644);
    let at = 0;
    while (at < bytes.byteLength) at += writeSync(fd, bytes, at, Math.min(bytes.byteLength - at, 1 << 30));
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
    fsyncDir(dir);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already renamed or never created */
    }
    throw new SnapshotError("io", `cannot write: ${(e as Error).message}`, path);
  }
}

/**
 * Writes the world's snapshot to `dir/<config_id>-<tick>.snapshot` atomically; with `retain`,
 * then deletes the oldest snapshots of the same config_id beyond the newest `retain`.
 * Returns the file's path.
 */
export function writeSnapshotFile(dir: string, world: World, meta: SnapshotMeta = {}, opts: { retain?: number } = {}): string {
  const bytes = saveSnapshot(world, meta);
  const configId = meta.configId ?? String((world.settings as { config_id?: unknown }).config_id ?? "");
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new SnapshotError("io", `cannot create the folder: ${(e as Error).message}`, dir);
  }
  const path = join(dir, snapshotFileName(configId, world.tick));
  writeFileAtomic(path, bytes);
  if (opts.retain !== undefined) pruneSnapshots(dir, configId, opts.retain);
  return path;
}

/** Deletes the oldest `<config_id>-*.snapshot` files of `dir` beyond the newest `retain`. */
export function pruneSnapshots(dir: string, configId: string, retain: number): string[] {
  const re = new RegExp(`^${safeId(configId).replace(/[.]/g, "\\.")}-(\\d{10})\\${SNAPSHOT_EXTENSION}$`);
  const files = readdirSync(dir)
    .filter((f) => re.test(f))
    .sort()
    .reverse();
  const gone = files.slice(Math.max(0, retain));
  for (const f of gone) unlinkSync(join(dir, f));
  // Temporary files left by writers that died mid-write (their process is gone).
  const tmpRe = new RegExp(`^\\.${safeId(configId).replace(/[.]/g, "\\.")}-\\d{10}\\${SNAPSHOT_EXTENSION}\\.(\\d+)\\.[0-9a-f]+\\.tmp$`);
  for (const f of readdirSync(dir)) {
    const m = tmpRe.exec(f);
    if (m && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) {
      try {
        unlinkSync(join(dir, f));
      } catch {
        /* gone already */
      }
    }
  }
  if (gone.length) fsyncDir(dir);
  return gone.map((f) => join(dir, f));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads and verifies a snapshot file. */
export function readSnapshotFile(path: string): SnapshotData {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SnapshotError(code === "ENOENT" ? "not_found" : "io", code === "ENOENT" ? "no such file" : (e as Error).message, path);
  }
  return decodeSnapshot(bytes, path);
}

/**
 * The newest snapshot of `dir` that verifies (by the tick in its name, then its name), or
 * undefined when none does. Temporary files and files that fail to verify are skipped.
 */
export function newestValidSnapshot(dir: string, opts: { configId?: string } = {}): { path: string; snapshot: SnapshotData } | undefined {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SnapshotError(code === "ENOENT" ? "not_found" : "io", code === "ENOENT" ? "no such folder" : (e as Error).message, dir);
  }
  const tickOf = (f: string) => Number(/-(\d{10})\.snapshot$/.exec(f)?.[1] ?? -1);
  const candidates = names
    .filter((f) => f.endsWith(SNAPSHOT_EXTENSION) && !f.startsWith("."))
    .sort((a, b) => tickOf(b) - tickOf(a) || (a < b ? 1 : a > b ? -1 : 0));
  for (const f of candidates) {
    const path = join(dir, f);
    try {
      const snapshot = readSnapshotFile(path);
      if (opts.configId !== undefined && snapshot.header.config_id !== opts.configId) continue;
      return { path, snapshot };
    } catch (e) {
      if (!(e instanceof SnapshotError)) throw e;
    }
  }
  return undefined;
}
