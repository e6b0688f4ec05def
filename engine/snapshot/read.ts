// Reading a snapshot: verifies the bytes (magic, versions, lengths, checksum, header field
// types) and splits the payload into its sections. Nothing about a world is checked here.
import { createHash } from "node:crypto";
import { z } from "zod";
import {
  MAGIC,
  PREFIX,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_MAGIC,
  SNAPSHOT_SCHEMA_VERSION,
  SnapshotError,
  TRAILER,
  fromUtf8,
  type SnapshotData,
  type SnapshotErrorCode,
  type SnapshotHeader,
} from "./format.ts";
import { encodeSnapshot } from "./write.ts";

const Count = z.int().min(0);
const Schema = z.array(z.looseObject({ name: z.string(), fields: z.array(z.tuple([z.string(), z.string()])) }));
/** The header's types (SnapshotHeader); fields added by later schema versions pass through. */
const HeaderSchema = z.looseObject({
  format_version: Count,
  schema_version: Count,
  config_id: z.string(),
  config_hash: z.string().nullable(),
  tick: Count,
  seed: z.number().finite(),
  towns: z.int().min(1),
  agents: Count,
  rng: z.record(z.string(), z.unknown()),
  policy_hash: z.string().nullable().optional(),
  observation_variant: z.string().nullable().optional(),
  anneal_ratio: z.number().nullable().optional(),
  state_hash: z.string(),
  kernel: z.looseObject({ capacity: Count, max_id: Count, alive_count: Count, next_uid: Count, reserve_next: Count.optional(), reserve_end: Count.optional() }),
  components: Schema,
  town_state: Schema,
  messages: z.array(z.looseObject({ name: z.string(), fields: z.array(z.string()) })),
  plugins: z.array(z.string()),
  payload_bytes: Count,
  payload_sha256: z.string(),
});

const PartialHeaderSchema = HeaderSchema.partial();

/** Refuses a header whose fields have the wrong types (`present`), or lack one a load needs (`full`). */
export function checkHeader(header: unknown, fields: "present" | "full", path?: string): void {
  const shape = (fields === "full" ? HeaderSchema : PartialHeaderSchema).safeParse(header);
  if (shape.success) return;
  const i = shape.error.issues[0];
  const more = shape.error.issues.length > 1 ? ` (and ${shape.error.issues.length - 1} more)` : "";
  throw new SnapshotError("corrupt", `header field ${i.path.map(String).join(".") || "(header)"}: ${i.message}${more}`, path);
}

/** Verifies and parses snapshot bytes: magic, versions, length, checksum, section table. */
export function decodeSnapshot(input: Uint8Array, path?: string): SnapshotData {
  // A plain view (a Node Buffer's slice() would share memory where a copy is meant).
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const fail = (code: SnapshotErrorCode, msg: string) => new SnapshotError(code, msg, path);
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= bytes.length) {
      throw bytes.length === 0 || bytes.subarray(0, i).every((b, j) => b === MAGIC[j])
        ? fail("truncated", `${bytes.length} bytes: shorter than a snapshot's first line`)
        : fail("bad_magic", `not a Townlet snapshot (expected it to start with "${SNAPSHOT_MAGIC}")`);
    }
    if (bytes[i] !== MAGIC[i]) throw fail("bad_magic", `not a Townlet snapshot (expected it to start with "${SNAPSHOT_MAGIC}")`);
  }
  if (bytes.length < PREFIX) throw fail("truncated", `${bytes.length} bytes: the header is cut off`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(MAGIC.length, true);
  if (version > SNAPSHOT_FORMAT_VERSION || version < 1) {
    throw fail("version", `format version ${version}; this build reads version ${SNAPSHOT_FORMAT_VERSION} (written by a newer Townlet?)`);
  }
  const hlen = dv.getUint32(MAGIC.length + 4, true);
  const checksumOk = () =>
    bytes.length >= TRAILER &&
    createHash("sha256")
      .update(bytes.subarray(0, bytes.length - TRAILER))
      .digest()
      .equals(bytes.subarray(bytes.length - TRAILER));
  if (PREFIX + hlen + TRAILER > bytes.length) {
    throw checksumOk() ? fail("corrupt", `header length ${hlen} runs past the end`) : fail("truncated", `${bytes.length} bytes: the header (${hlen} bytes) is cut off`);
  }
  let header: SnapshotHeader;
  try {
    header = JSON.parse(fromUtf8.decode(bytes.subarray(PREFIX, PREFIX + hlen))) as SnapshotHeader;
  } catch {
    throw checksumOk() ? fail("corrupt", "the header is not valid JSON") : fail("checksum", "sha256 mismatch (the header is damaged)");
  }
  if (typeof header !== "object" || header === null || typeof header.payload_bytes !== "number") {
    throw checksumOk() ? fail("corrupt", "the header lacks payload_bytes") : fail("checksum", "sha256 mismatch (the header is damaged)");
  }
  const expected = PREFIX + hlen + header.payload_bytes + TRAILER;
  if (bytes.length < expected) throw fail("truncated", `${bytes.length} bytes, expected ${expected}`);
  if (bytes.length > expected) throw fail("corrupt", `${bytes.length} bytes, expected ${expected} (trailing data)`);
  if (!checksumOk()) throw fail("checksum", "sha256 mismatch: the file was changed after it was written");
  if (typeof header.schema_version !== "number" || header.schema_version > SNAPSHOT_SCHEMA_VERSION) {
    throw fail("version", `schema version ${header.schema_version}; this build reads up to ${SNAPSHOT_SCHEMA_VERSION}`);
  }
  // A header that verifies may still have been written by something else (or by hand): the
  // types of the fields it has are checked here, so a bad one is named against this file, never
  // a TypeError later (loadSnapshot also requires every field a world needs).
  checkHeader(header, "present", path);
  const sections = new Map<string, Uint8Array>();
  let at = PREFIX + hlen;
  const end = at + header.payload_bytes;
  while (at < end) {
    if (at + 4 > end) throw fail("corrupt", "section table runs past the payload");
    const nlen = dv.getUint32(at, true);
    if (at + 8 + nlen > end) throw fail("corrupt", "section name runs past the payload");
    const name = fromUtf8.decode(bytes.subarray(at + 4, at + 4 + nlen));
    const blen = dv.getUint32(at + 4 + nlen, true);
    const start = at + 8 + nlen;
    if (start + blen > end) throw fail("corrupt", `section "${name}" runs past the payload`);
    if (sections.has(name)) throw fail("corrupt", `section "${name}" appears twice`);
    sections.set(name, bytes.subarray(start, start + blen));
    at = start + blen;
  }
  return { formatVersion: version, header, sections };
}

/**
 * The header of snapshot bytes, parsed without verifying the payload or its checksum: for bytes a
 * load has already verified (decodeSnapshot), where only the header is wanted again.
 */
export function peekSnapshotHeader(input: Uint8Array): SnapshotHeader {
  const dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const hlen = dv.getUint32(MAGIC.length + 4, true);
  return JSON.parse(fromUtf8.decode(input.subarray(PREFIX, PREFIX + hlen))) as SnapshotHeader;
}

/** Re-encodes decoded (possibly migrated) snapshot data as file bytes. */
export function encodeSnapshotData(snap: SnapshotData): Uint8Array {
  const { payload_bytes: _b, payload_sha256: _s, ...header } = snap.header;
  return encodeSnapshot({ ...header, format_version: SNAPSHOT_FORMAT_VERSION }, snap.sections);
}
