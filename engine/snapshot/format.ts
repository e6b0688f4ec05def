// Snapshot format: the file layout (see engine/snapshot.ts), its header and error types, and the
// byte helpers the writer, the reader and the loader share. No I/O, no world state changed here.
import { endianness } from "node:os";
import { PHASES } from "../phases.ts";
import { isPersistentState, type PersistentState } from "../plugin.ts";
import type { RngState } from "../rng.ts";
import type { World } from "../world.ts";

export const SNAPSHOT_MAGIC = "TWNLSNAP";
/** Version of the binary layout above. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/**
 * Version of the header's fields and the section names. 2 (issue #19): kernel.reserve_next and
 * reserve_end, the agents' id reservation (engine/entities.ts); kernel/dense then lists the ids
 * handed out (max_id less the reserved ids not yet given). Version 1 snapshots (no reservation)
 * still load; a build that reads version 1 only refuses version 2 by its version.
 * Not bumped for a component's layout: the header lists every component's fields, so a build with
 * another layout refuses the file by its schema check, naming the component and fields, and this
 * build upgrades the earlier layouts it knows (upgrade.ts: the Reward of a7baac6). A bump is for a
 * header field or section an older reader would misread silently (version 2's reservation).
 */
export const SNAPSHOT_SCHEMA_VERSION = 2;
export const SNAPSHOT_EXTENSION = ".snapshot";

export const MAGIC = new TextEncoder().encode(SNAPSHOT_MAGIC);
/** Magic, u32 format version, u32 header length. */
export const PREFIX = MAGIC.length + 8;
/** The sha256 at the end. */
export const TRAILER = 32;
export const NPHASE = PHASES.length;
export const utf8 = new TextEncoder();
export const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

export type SnapshotErrorCode =
  /** Not a snapshot: the file does not start with "TWNLSNAP". */
  | "bad_magic"
  /** Shorter than its header says (an interrupted copy or write). */
  | "truncated"
  /** The sha256 does not match: bits changed on disk or in transit. */
  | "checksum"
  /** Written by a newer (or unknown) format or schema version. */
  | "version"
  /** Verifies but its structure is inconsistent (a writer bug). */
  | "corrupt"
  /** Another config (config_id or config hash) and no migration registered for it. */
  | "config_mismatch"
  /** Components, town state, messages, RNG streams or plug-ins differ from the world's. */
  | "schema"
  /** Restored, but the world's state hash differs from the one saved (nothing was changed). */
  | "state_mismatch"
  /** A migration failed. */
  | "migration"
  /** No such file or folder, or no snapshot in a folder verifies. */
  | "not_found"
  /** Reading or writing the file failed. */
  | "io";

/** Why a snapshot was refused; `code` says what kind of problem it is. */
export class SnapshotError extends Error {
  override name = "SnapshotError";
  constructor(
    readonly code: SnapshotErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(path ? `${path}: ${message}` : message);
  }
}

/** Identity stamped on a snapshot beside the world's own state (all optional). */
export interface SnapshotMeta {
  /** Default: the world's `config_id` setting. */
  configId?: string;
  configHash?: string | null;
  policyHash?: string | null;
  observationVariant?: string | null;
  annealRatio?: number | null;
}

/** [field name, typed array name] */
export type FieldSchema = [string, string];
export interface ComponentSchemaEntry {
  name: string;
  fields: FieldSchema[];
}

export interface SnapshotHeader {
  format_version: number;
  schema_version: number;
  config_id: string;
  config_hash: string | null;
  tick: number;
  seed: number;
  towns: number;
  /** Live agents (for listings; the columns are what counts). */
  agents: number;
  rng: Record<string, RngState>;
  policy_hash: string | null;
  observation_variant: string | null;
  anneal_ratio: number | null;
  /** world.stateHash() when saved; checked after a load. */
  state_hash: string;
  kernel: {
    capacity: number;
    max_id: number;
    alive_count: number;
    next_uid: number;
    /** Schema 2: the next reserved agent id not yet handed out and the last reserved id (0 = none). */
    reserve_next?: number;
    reserve_end?: number;
  };
  components: ComponentSchemaEntry[];
  town_state: ComponentSchemaEntry[];
  messages: { name: string; fields: string[] }[];
  /** Plug-ins whose PersistentState is saved, in plug-in order. */
  plugins: string[];
  payload_bytes: number;
  payload_sha256: string;
}

/** A decoded, verified snapshot: its header and its sections (views into the file's bytes). */
export interface SnapshotData {
  formatVersion: number;
  header: SnapshotHeader;
  sections: Map<string, Uint8Array>;
}

export function assertLittleEndian(): void {
  if (endianness() !== "LE") throw new SnapshotError("io", "snapshots are little-endian; this machine is big-endian");
}

export function bytesOf(a: ArrayBufferView, byteLength = a.byteLength): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, byteLength);
}

export const TYPED: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
};

/** A typed array of `type` holding a copy of `bytes` (copied, so aligned whatever the offset). */
export function typedFrom(type: string, bytes: Uint8Array, what: string): ArrayBufferView {
  const C = TYPED[type];
  if (!C) throw new SnapshotError("corrupt", `${what}: unknown array type "${type}"`);
  const per = (C as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (bytes.byteLength % per !== 0) throw new SnapshotError("corrupt", `${what}: ${bytes.byteLength} bytes is not a whole number of ${type} elements`);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new C(copy.buffer);
}

export function schemaOf(store: World["components"]): ComponentSchemaEntry[] {
  return store.definitions().map((d) => ({ name: d.name, fields: d.fields.map((f): FieldSchema => [f.name, f.type.name]) }));
}

/** The plug-ins whose state a snapshot holds, in plug-in order. */
export function persistentStates(world: World): [string, PersistentState][] {
  const out: [string, PersistentState][] = [];
  for (const p of world.plugins) {
    if (!p.state) continue;
    const st = world.state<unknown>(p.name);
    if (isPersistentState(st)) out.push([p.name, st]);
  }
  return out;
}
