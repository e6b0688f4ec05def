// Snapshots of a sharded world (engine/shards.ts): one file holding every block's snapshot (each
// a complete engine/snapshot.ts snapshot with its own sha256), in block order, so a run resumed
// from it with any number of workers gives the same per-tick state hash as the run that never
// stopped. Little-endian layout:
//
//   "TWNLSHRD"  u32 format version  u32 header length  header (JSON, UTF-8)
//   per block: u32 byte length, the block's snapshot bytes
//   sha256 of everything before it (32 bytes)
//
// Files are `<config_id>-<tick, 10 digits>.shards`, written atomically (writeFileAtomic).
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { SnapshotError, peekSnapshotHeader, upgradeNotes, writeFileAtomic } from "./snapshot.ts";

export const SHARD_SNAPSHOT_EXTENSION = ".shards";
export const SHARD_SNAPSHOT_FORMAT_VERSION = 1;
const MAGIC = "TWNLSHRD";

export interface ShardSnapshotHeader {
  config_id: string;
  config_hash: string | null;
  tick: number;
  seed: number;
  towns: number;
  blocks: number;
  /** The sharded world's state hash when saved (checked again after a restore). */
  state_hash: string;
  /** The network that decided when saved (a neural policy on the main thread), as a one-block snapshot's policy_hash; absent otherwise. */
  policy_hash?: string | null;
}

export interface ShardSnapshot {
  header: ShardSnapshotHeader;
  /** Each block's snapshot, in block order. */
  blocks: Uint8Array[];
}

/**
 * What this build did to read the blocks of a sharded snapshot it restored (engine/snapshot.ts:
 * upgradeNotes), each line once, in block order: for the "resumed from" line and snapshot_load's
 * reply, whichever runner restored the blocks.
 */
export function shardUpgradeNotes(s: ShardSnapshot): string[] {
  const out = new Set<string>();
  for (const b of s.blocks) for (const n of upgradeNotes(peekSnapshotHeader(b))) out.add(n);
  return [...out];
}

export function encodeShardSnapshot(s: ShardSnapshot): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify({ ...s.header, block_bytes: s.blocks.map((b) => b.byteLength) }));
  const total = 8 + 4 + 4 + head.byteLength + s.blocks.reduce((n, b) => n + 4 + b.byteLength, 0) + 32;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(MAGIC), 0);
  dv.setUint32(8, SHARD_SNAPSHOT_FORMAT_VERSION, true);
  dv.setUint32(12, head.byteLength, true);
  out.set(head, 16);
  let at = 16 + head.byteLength;
  for (const b of s.blocks) {
    dv.setUint32(at, b.byteLength, true);
    out.set(b, at + 4);
    at += 4 + b.byteLength;
  }
  out.set(createHash("sha256").update(out.subarray(0, at)).digest(), at);
  return out;
}

export function decodeShardSnapshot(bytes: Uint8Array, path?: string): ShardSnapshot {
  if (bytes.byteLength < 16 + 32 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new SnapshotError("bad_magic", `not a sharded-world snapshot (no "${MAGIC}")`, path);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== SHARD_SNAPSHOT_FORMAT_VERSION) throw new SnapshotError("version", `sharded-world snapshot format ${version}; this build reads ${SHARD_SNAPSHOT_FORMAT_VERSION}`, path);
  const sum = createHash("sha256").update(bytes.subarray(0, bytes.byteLength - 32)).digest();
  if (!Buffer.from(bytes.subarray(bytes.byteLength - 32)).equals(sum)) throw new SnapshotError("checksum", "sha256 mismatch: the file changed or was cut short", path);
  const headLen = dv.getUint32(12, true);
  let header: ShardSnapshotHeader & { block_bytes: number[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headLen))) as typeof header;
  } catch (e) {
    throw new SnapshotError("corrupt", `header is not JSON: ${(e as Error).message}`, path);
  }
  const blocks: Uint8Array[] = [];
  let at = 16 + headLen;
  for (let b = 0; b < header.blocks; b++) {
    const n = dv.getUint32(at, true);
    if (n !== header.block_bytes[b]) throw new SnapshotError("corrupt", `block ${b}: ${n} bytes, the header says ${header.block_bytes[b]}`, path);
    blocks.push(bytes.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (at !== bytes.byteLength - 32) throw new SnapshotError("corrupt", `${bytes.byteLength - 32 - at} bytes after the last block`, path);
  const { block_bytes: _, ...h } = header;
  return { header: h, blocks };
}

export function shardSnapshotFileName(configId: string, tick: number): string {
  return `${configId}-${String(tick).padStart(10, "0")}${SHARD_SNAPSHOT_EXTENSION}`;
}

/** Writes a sharded snapshot into `dir` atomically; with `retain`, deletes this config's oldest beyond the newest `retain`. */
export function writeShardSnapshotFile(dir: string, s: ShardSnapshot, opts: { retain?: number } = {}): string {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new SnapshotError("io", `cannot create the folder: ${(e as Error).message}`, dir);
  }
  const path = join(dir, shardSnapshotFileName(s.header.config_id, s.header.tick));
  writeFileAtomic(path, encodeShardSnapshot(s));
  if (opts.retain !== undefined) {
    const mine = listShardSnapshots(dir, s.header.config_id);
    for (const old of mine.slice(0, Math.max(0, mine.length - opts.retain))) unlinkSync(join(dir, old));
  }
  return path;
}

/** This config's sharded snapshots in `dir`, oldest first (by the tick in the name). */
function listShardSnapshots(dir: string, configId?: string): string[] {
  const re = /^(.*)-(\d{10})\.shards$/;
  return readdirSync(dir)
    .filter((n) => {
      const m = re.exec(n);
      return m !== null && (configId === undefined || m[1] === configId);
    })
    .sort((a, b) => Number(re.exec(a)![2]) - Number(re.exec(b)![2]));
}

export function readShardSnapshotFile(path: string): ShardSnapshot {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new SnapshotError("io", `cannot read: ${(e as Error).message}`, path);
  }
  return decodeShardSnapshot(bytes, path);
}

/** The newest sharded snapshot of `dir` that verifies (of `configId` when given). */
export function newestShardSnapshot(dir: string, configId?: string): { path: string; snapshot: ShardSnapshot } | undefined {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  for (const name of listShardSnapshots(dir, configId).reverse()) {
    const path = join(dir, name);
    try {
      return { path, snapshot: readShardSnapshotFile(path) };
    } catch {
      // a damaged file: try the one before it
    }
  }
  return undefined;
}
