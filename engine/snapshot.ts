// Snapshots: the whole simulation state of a world in one binary file, restored bit for bit
// (a world restored at tick T and run on gives the same state hash at every later tick as the
// run that never stopped). Little-endian layout:
//
//   "TWNLSNAP"  u32 format version  u32 header length  header (canonical JSON, UTF-8)
//   sections: u32 name length, name (UTF-8), u32 byte length, bytes     (payload_bytes in all)
//   sha256 of everything before it (32 bytes)
//
// The header carries the identity (format and schema versions, config_id, config hash, tick,
// seed, RNG stream states, policy hash, observation variant, anneal ratio), the state hash the
// world had when saved, the payload's length and sha256, and the schema of what follows
// (components with their field types, town state, message channels, plug-in states). Sections:
//   kernel            JSON: custom agent names, interned strings
//   kernel/dense      u32: the entity index, engine/entities.ts (live ids first, then ids to recycle)
//   comp/<C>/<field>  raw column bytes over entity ids [0, max_id]; comp/<C>/$has: u8 flags
//   town/<C>/<field>  raw column bytes over town ids [0, towns); town/<C>/$has
//   msg/<name>/offsets  i32 [count, phase offsets...] and msg/<name>/data f64 (field-major):
//                     messages still in flight (the last tick's section of each channel)
//   state/<plug-in>   JSON of its PersistentState's save(); typed arrays inside it are stored
//                     as raw sections state/<plug-in>/<k>, non-finite numbers and -0 tagged.
// Files are written atomically: a unique temporary file, fsync, rename, fsync of the folder.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { canonicalJson } from "./config/loader.ts";
import type { Column } from "./component.ts";
import { PHASES } from "./phases.ts";
import { isPersistentState, type PersistentState } from "./plugin.ts";
import { isRngState, type RngState } from "./rng.ts";
import type { KernelState, World } from "./world.ts";

export const SNAPSHOT_MAGIC = "TWNLSNAP";
/** Version of the binary layout above. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** Version of the header's fields and the section names. */
export const SNAPSHOT_SCHEMA_VERSION = 1;
export const SNAPSHOT_EXTENSION = ".snapshot";

const MAGIC = new TextEncoder().encode(SNAPSHOT_MAGIC);
const PREFIX = MAGIC.length + 8;
const TRAILER = 32;
const NPHASE = PHASES.length;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

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
  kernel: { capacity: number; max_id: number; alive_count: number; next_uid: number };
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

// ---- encoding -------------------------------------------------------------------------------

function assertLittleEndian(): void {
  if (endianness() !== "LE") throw new SnapshotError("io", "snapshots are little-endian; this machine is big-endian");
}

function bytesOf(a: ArrayBufferView, byteLength = a.byteLength): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, byteLength);
}

const TYPED: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
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
function typedFrom(type: string, bytes: Uint8Array, what: string): ArrayBufferView {
  const C = TYPED[type];
  if (!C) throw new SnapshotError("corrupt", `${what}: unknown array type "${type}"`);
  const per = (C as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (bytes.byteLength % per !== 0) throw new SnapshotError("corrupt", `${what}: ${bytes.byteLength} bytes is not a whole number of ${type} elements`);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new C(copy.buffer);
}

/** JSON of a plug-in's saved state: typed arrays go to raw sections, odd numbers are tagged. */
function encodeState(plugin: string, value: unknown, out: [string, Uint8Array][]): Uint8Array {
  let k = 0;
  const text = JSON.stringify(value, function (_key, v: unknown) {
    if (typeof v === "number") {
      if (Number.isFinite(v) && !Object.is(v, -0)) return v;
      return { $num: Object.is(v, -0) ? "-0" : String(v) };
    }
    if (v !== null && typeof v === "object") {
      if (ArrayBuffer.isView(v)) {
        const name = `state/${plugin}/${k++}`;
        const type = v.constructor.name;
        if (!TYPED[type]) throw new Error(`plug-in "${plugin}": save() returned a ${type}, which snapshots cannot hold`);
        out.push([name, bytesOf(v)]);
        return { $bin: name, $type: type };
      }
      if (v instanceof Map || v instanceof Set) throw new Error(`plug-in "${plugin}": save() returned a ${v.constructor.name}; return arrays or plain objects`);
    }
    return v;
  });
  return utf8.encode(text ?? "null");
}

function decodeState(snap: SnapshotData, plugin: string): unknown {
  const name = `state/${plugin}`;
  const raw = snap.sections.get(name);
  if (!raw) throw new SnapshotError("schema", `the snapshot holds no state for plug-in "${plugin}"`);
  const text = fromUtf8.decode(raw);
  // The reviver costs a call per value: only when something is tagged.
  if (!text.includes('"$num"') && !text.includes('"$bin"')) return JSON.parse(text);
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$num === "string" && Object.keys(o).length === 1) return o.$num === "-0" ? -0 : Number(o.$num);
      if (typeof o.$bin === "string" && typeof o.$type === "string" && Object.keys(o).length === 2) {
        const bin = snap.sections.get(o.$bin);
        if (!bin) throw new SnapshotError("corrupt", `${name}: binary part ${o.$bin} is missing`);
        return typedFrom(o.$type, bin, o.$bin);
      }
    }
    return v;
  });
}

function schemaOf(store: World["components"]): ComponentSchemaEntry[] {
  return store.definitions().map((d) => ({ name: d.name, fields: d.fields.map((f): FieldSchema => [f.name, f.type.name]) }));
}

function persistentStates(world: World): [string, PersistentState][] {
  const out: [string, PersistentState][] = [];
  for (const p of world.plugins) {
    if (!p.state) continue;
    const st = world.state<unknown>(p.name);
    if (isPersistentState(st)) out.push([p.name, st]);
  }
  return out;
}

/** The world's state as snapshot bytes (between ticks). */
export function saveSnapshot(world: World, meta: SnapshotMeta = {}): Uint8Array {
  assertLittleEndian();
  const k = world.kernelState();
  const max = k.maxId;
  const parts: [string, Uint8Array][] = [];
  parts.push(["kernel", utf8.encode(JSON.stringify({ names: k.names, interned: k.interned }))]);
  parts.push(["kernel/dense", bytesOf(k.dense)]);
  world.components.forEach((def, cols, has) => {
    for (const f of def.fields) {
      const col = cols[f.name];
      parts.push([`comp/${def.name}/${f.name}`, bytesOf(col, (max + 1) * col.BYTES_PER_ELEMENT)]);
    }
    parts.push([`comp/${def.name}/$has`, bytesOf(has, max + 1)]);
  });
  world.townStore.forEach((def, cols, has) => {
    for (const f of def.fields) {
      const col = cols[f.name];
      parts.push([`town/${def.name}/${f.name}`, bytesOf(col, world.towns * col.BYTES_PER_ELEMENT)]);
    }
    parts.push([`town/${def.name}/$has`, bytesOf(has, world.towns)]);
  });
  for (const ch of world.messages.channels) {
    const v = ch.lastTick();
    const offsets = new Int32Array(NPHASE + 2);
    offsets[0] = v.count;
    offsets.set(ch.curOffsets, 1);
    const data = new Float64Array(ch.cols.length * v.count);
    ch.cols.forEach((c, f) => data.set(c.subarray(v.start, v.end), f * v.count));
    parts.push([`msg/${ch.def.name}/offsets`, bytesOf(offsets)]);
    parts.push([`msg/${ch.def.name}/data`, bytesOf(data)]);
  }
  const plugins: string[] = [];
  for (const [name, st] of persistentStates(world)) {
    plugins.push(name);
    const bins: [string, Uint8Array][] = [];
    parts.push([`state/${name}`, encodeState(name, st.save(), bins)]);
    parts.push(...bins);
  }
  const header: Omit<SnapshotHeader, "payload_bytes" | "payload_sha256"> = {
    format_version: SNAPSHOT_FORMAT_VERSION,
    schema_version: SNAPSHOT_SCHEMA_VERSION,
    config_id: meta.configId ?? String((world.settings as { config_id?: unknown }).config_id ?? ""),
    config_hash: meta.configHash ?? null,
    tick: k.tick,
    seed: k.seed,
    towns: world.towns,
    agents: world.agents.length,
    rng: world.rng.save(),
    policy_hash: meta.policyHash ?? null,
    observation_variant: meta.observationVariant ?? null,
    anneal_ratio: meta.annealRatio ?? null,
    state_hash: world.stateHash(),
    kernel: { capacity: k.capacity, max_id: k.maxId, alive_count: k.aliveCount, next_uid: k.nextUid },
    components: schemaOf(world.components),
    town_state: schemaOf(world.townStore),
    messages: world.messages.channels.map((c) => ({ name: c.def.name, fields: [...c.def.keys] })),
    plugins,
  };
  return encodeSnapshot(header, parts);
}

/**
 * Lays out a header and sections as a snapshot file (payload length and sha256 filled in).
 * Used by saveSnapshot and to write a migrated snapshot back.
 */
export function encodeSnapshot(
  header: Omit<SnapshotHeader, "payload_bytes" | "payload_sha256"> & Partial<SnapshotHeader>,
  sections: Iterable<[string, Uint8Array]>,
): Uint8Array {
  const list = [...sections].map(([name, bytes]) => [utf8.encode(name), bytes] as const);
  const seen = new Set<string>();
  const ph = createHash("sha256");
  let payload = 0;
  const u32 = new Uint8Array(4);
  const u32v = new DataView(u32.buffer);
  for (const [name, bytes] of list) {
    const n = fromUtf8.decode(name);
    if (seen.has(n)) throw new Error(`snapshot section "${n}" appears twice`);
    seen.add(n);
    if (bytes.byteLength > 0xffffffff) throw new Error(`snapshot section "${n}" is over 4 GiB`);
    u32v.setUint32(0, name.byteLength, true);
    ph.update(u32);
    ph.update(name);
    u32v.setUint32(0, bytes.byteLength, true);
    ph.update(u32);
    ph.update(bytes);
    payload += 8 + name.byteLength + bytes.byteLength;
  }
  const full = { ...header, payload_bytes: payload, payload_sha256: ph.digest("hex") };
  const head = utf8.encode(canonicalJson(full));
  const total = PREFIX + head.byteLength + payload + TRAILER;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(MAGIC, 0);
  dv.setUint32(MAGIC.length, full.format_version, true);
  dv.setUint32(MAGIC.length + 4, head.byteLength, true);
  out.set(head, PREFIX);
  let at = PREFIX + head.byteLength;
  for (const [name, bytes] of list) {
    dv.setUint32(at, name.byteLength, true);
    out.set(name, at + 4);
    at += 4 + name.byteLength;
    dv.setUint32(at, bytes.byteLength, true);
    out.set(bytes, at + 4);
    at += 4 + bytes.byteLength;
  }
  out.set(createHash("sha256").update(out.subarray(0, at)).digest(), at);
  return out;
}

// ---- decoding -------------------------------------------------------------------------------

/** Verifies and parses snapshot bytes: magic, versions, length, checksum, section table. */
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
  kernel: z.looseObject({ capacity: Count, max_id: Count, alive_count: Count, next_uid: Count }),
  components: Schema,
  town_state: Schema,
  messages: z.array(z.looseObject({ name: z.string(), fields: z.array(z.string()) })),
  plugins: z.array(z.string()),
  payload_bytes: Count,
  payload_sha256: z.string(),
});

const PartialHeaderSchema = HeaderSchema.partial();

/** Refuses a header whose fields have the wrong types (`present`), or lack one a load needs (`full`). */
function checkHeader(header: unknown, fields: "present" | "full", path?: string): void {
  const shape = (fields === "full" ? HeaderSchema : PartialHeaderSchema).safeParse(header);
  if (shape.success) return;
  const i = shape.error.issues[0];
  const more = shape.error.issues.length > 1 ? ` (and ${shape.error.issues.length - 1} more)` : "";
  throw new SnapshotError("corrupt", `header field ${i.path.map(String).join(".") || "(header)"}: ${i.message}${more}`, path);
}

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

/** Re-encodes decoded (possibly migrated) snapshot data as file bytes. */
export function encodeSnapshotData(snap: SnapshotData): Uint8Array {
  const { payload_bytes: _b, payload_sha256: _s, ...header } = snap.header;
  return encodeSnapshot({ ...header, format_version: SNAPSHOT_FORMAT_VERSION }, snap.sections);
}

// ---- migrations -----------------------------------------------------------------------------

/**
 * Turns a snapshot of one config into one of another: a pure function (it must not change its
 * argument; return a new SnapshotData, sharing the sections it leaves alone).
 */
export type Migration = (snap: SnapshotData) => SnapshotData;

export class MigrationRegistry {
  private readonly edges = new Map<string, Map<string, Migration>>();

  register(fromConfigId: string, toConfigId: string, fn: Migration): void {
    if (fromConfigId === toConfigId) throw new Error(`a migration must change the config_id (got "${fromConfigId}" twice)`);
    let m = this.edges.get(fromConfigId);
    if (!m) this.edges.set(fromConfigId, (m = new Map()));
    if (m.has(toConfigId)) throw new Error(`a migration from "${fromConfigId}" to "${toConfigId}" is already registered`);
    m.set(toConfigId, fn);
  }

  /** The shortest chain of migrations from one config_id to another, or undefined. */
  path(from: string, to: string): { from: string; to: string; fn: Migration }[] | undefined {
    if (from === to) return [];
    const prev = new Map<string, string>([[from, ""]]);
    const queue = [from];
    while (queue.length) {
      const cur = queue.shift()!;
      for (const next of [...(this.edges.get(cur)?.keys() ?? [])].sort()) {
        if (prev.has(next)) continue;
        prev.set(next, cur);
        if (next === to) {
          const chain: { from: string; to: string; fn: Migration }[] = [];
          for (let n = to; n !== from; n = prev.get(n)!) {
            const p = prev.get(n)!;
            chain.unshift({ from: p, to: n, fn: this.edges.get(p)!.get(n)! });
          }
          return chain;
        }
        queue.push(next);
      }
    }
    return undefined;
  }

  /** Applies the chain from the snapshot's config_id to `to`; throws config_mismatch when there is none. */
  migrate(snap: SnapshotData, to: string): { snap: SnapshotData; chain: string[] } {
    const chain = this.path(snap.header.config_id, to);
    if (!chain) {
      throw new SnapshotError("config_mismatch", `snapshot of config "${snap.header.config_id}", this world runs "${to}", and no migration is registered between them`);
    }
    let cur = snap;
    for (const step of chain) {
      let next: SnapshotData;
      try {
        next = step.fn(cloneSnapshot(cur));
      } catch (e) {
        throw new SnapshotError("migration", `migration ${step.from} -> ${step.to} failed: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (!next || typeof next !== "object" || !(next.sections instanceof Map) || typeof next.header !== "object") {
        throw new SnapshotError("migration", `migration ${step.from} -> ${step.to} did not return snapshot data`);
      }
      cur = { ...next, header: { ...next.header, config_id: step.to } };
    }
    return { snap: cur, chain: [snap.header.config_id, ...chain.map((c) => c.to)] };
  }
}

/** Migrations every load consults unless given its own registry. */
export const migrations = new MigrationRegistry();

/** Registers a migration in the default registry. */
export function registerMigration(fromConfigId: string, toConfigId: string, fn: Migration): void {
  migrations.register(fromConfigId, toConfigId, fn);
}

/** A copy whose header and section map may be changed freely (section bytes are shared). */
export function cloneSnapshot(snap: SnapshotData): SnapshotData {
  return { formatVersion: snap.formatVersion, header: structuredClone(snap.header), sections: new Map(snap.sections) };
}

/** Migration helper: a copy of one component column over [0, max_id]. */
export function snapshotColumn(snap: SnapshotData, component: string, field: string): Column {
  const entry = snap.header.components.find((c) => c.name === component);
  const f = entry?.fields.find((x) => x[0] === field);
  const bytes = snap.sections.get(`comp/${component}/${field}`);
  if (!f || !bytes) throw new SnapshotError("schema", `the snapshot has no column ${component}.${field}`);
  return typedFrom(f[1], bytes, `${component}.${field}`) as Column;
}

/** Migration helper: a new snapshot with one component column replaced (same length and type). */
export function withSnapshotColumn(snap: SnapshotData, component: string, field: string, values: Column): SnapshotData {
  const old = snapshotColumn(snap, component, field);
  if (old.constructor !== values.constructor || old.length !== values.length) {
    throw new Error(`column ${component}.${field}: expected a ${old.constructor.name} of ${old.length}, got a ${values.constructor.name} of ${values.length}`);
  }
  const out = cloneSnapshot(snap);
  out.sections.set(`comp/${component}/${field}`, bytesOf(values).slice());
  return out;
}

/** Migration helper: a plug-in's saved state (as its save() returned it). */
export function snapshotPluginState(snap: SnapshotData, plugin: string): unknown {
  return decodeState(snap, plugin);
}

/** Migration helper: a new snapshot with a plug-in's saved state replaced. */
export function withSnapshotPluginState(snap: SnapshotData, plugin: string, value: unknown): SnapshotData {
  const out = cloneSnapshot(snap);
  for (const name of [...out.sections.keys()]) if (name.startsWith(`state/${plugin}/`)) out.sections.delete(name);
  const bins: [string, Uint8Array][] = [];
  out.sections.set(`state/${plugin}`, encodeState(plugin, value, bins));
  for (const [n, b] of bins) out.sections.set(n, b.slice());
  if (!out.header.plugins.includes(plugin)) out.header.plugins.push(plugin);
  return out;
}

// ---- loading --------------------------------------------------------------------------------

export interface LoadSnapshotOptions {
  /** Migrations to consult when the config_id differs (default: the registry of registerMigration). */
  migrations?: MigrationRegistry;
  /** The running config's hash: a snapshot with another hash (same config_id) is refused. */
  configHash?: string | null;
  /** Accept another config_id without a migration (snapshot.guardrails.require_exact_config: false). */
  allowConfigMismatch?: boolean;
  /** Check the restored world's state hash against the saved one (default true; skipped after a migration). */
  verifyStateHash?: boolean;
  /** Put the world back as it was when a plug-in's load or the hash check fails (default true). */
  rollback?: boolean;
  /** Names the file in errors. */
  path?: string;
}

export interface LoadSnapshotResult {
  header: SnapshotHeader;
  /** config_ids the snapshot went through, when migrated. */
  migrated?: string[];
}

function sameSchema(a: ComponentSchemaEntry[], b: ComponentSchemaEntry[], what: string): string | undefined {
  const byName = new Map(b.map((e) => [e.name, e]));
  for (const e of a) {
    const o = byName.get(e.name);
    if (!o) return `${what} "${e.name}" is in the snapshot but not in this world`;
    if (JSON.stringify(o.fields) !== JSON.stringify(e.fields)) {
      return `${what} "${e.name}" has fields ${JSON.stringify(e.fields)} in the snapshot, ${JSON.stringify(o.fields)} here`;
    }
    byName.delete(e.name);
  }
  const extra = [...byName.keys()];
  return extra.length ? `${what} ${extra.map((n) => `"${n}"`).join(", ")} of this world ${extra.length > 1 ? "are" : "is"} not in the snapshot` : undefined;
}

/**
 * Checks everything that can be checked before the world is touched: config, schema, RNG
 * streams, plug-ins and section sizes. Throws a SnapshotError.
 */
function checkCompatible(world: World, snap: SnapshotData, path?: string): void {
  const h = snap.header;
  const fail = (code: SnapshotErrorCode, msg: string) => new SnapshotError(code, msg, path);
  if (h.towns !== world.towns) throw fail("config_mismatch", `the snapshot has ${h.towns} town(s), this world ${world.towns}`);
  const problem =
    sameSchema(h.components, schemaOf(world.components), "component") ?? sameSchema(h.town_state, schemaOf(world.townStore), "town state");
  if (problem) throw fail("schema", problem);
  const msgs = world.messages.channels.map((c) => ({ name: c.def.name, fields: [...c.def.keys] }));
  const msgKey = (l: { name: string; fields: string[] }[]) => canonicalJson([...l].sort((x, y) => (x.name < y.name ? -1 : 1)));
  if (msgKey(msgs) !== msgKey(h.messages)) throw fail("schema", "the snapshot's message channels differ from this world's");
  const streams = world.rng.order;
  const saved = Object.keys(h.rng ?? {});
  if (streams.length !== saved.length || streams.some((s) => !isRngState(h.rng[s]))) {
    throw fail("schema", `RNG streams differ: snapshot ${saved.join(", ")}; this world ${streams.join(", ")}`);
  }
  const plugins = persistentStates(world).map(([n]) => n);
  if (JSON.stringify([...plugins].sort()) !== JSON.stringify([...h.plugins].sort())) {
    throw fail("schema", `plug-in states differ: snapshot ${h.plugins.join(", ") || "none"}; this world ${plugins.join(", ") || "none"}`);
  }
  const k = h.kernel;
  if (!(Number.isInteger(k.max_id) && k.max_id >= 0 && k.alive_count >= 0 && k.alive_count <= k.max_id && k.capacity > k.max_id)) {
    throw fail("corrupt", `inconsistent entity index (max_id ${k.max_id}, alive ${k.alive_count}, capacity ${k.capacity})`);
  }
  const need = (name: string, bytes: number) => {
    const s = snap.sections.get(name);
    if (!s) throw fail("corrupt", `section "${name}" is missing`);
    if (bytes >= 0 && s.byteLength !== bytes) throw fail("corrupt", `section "${name}" has ${s.byteLength} bytes, expected ${bytes}`);
  };
  need("kernel", -1);
  need("kernel/dense", -1);
  if (snap.sections.get("kernel/dense")!.byteLength % 4 !== 0 || snap.sections.get("kernel/dense")!.byteLength / 4 < k.alive_count) {
    throw fail("corrupt", "the entity index is shorter than its live count");
  }
  for (const [store, prefix, n] of [
    [h.components, "comp", k.max_id + 1],
    [h.town_state, "town", h.towns],
  ] as const) {
    for (const c of store) {
      for (const [f, type] of c.fields) need(`${prefix}/${c.name}/${f}`, n * ((TYPED[type] as unknown as { BYTES_PER_ELEMENT: number })?.BYTES_PER_ELEMENT ?? NaN));
      need(`${prefix}/${c.name}/$has`, n);
    }
  }
  for (const m of h.messages) {
    need(`msg/${m.name}/offsets`, 4 * (NPHASE + 2));
    const count = new DataView(snap.sections.get(`msg/${m.name}/offsets`)!.slice().buffer).getInt32(0, true);
    need(`msg/${m.name}/data`, 8 * m.fields.length * count);
  }
  for (const p of h.plugins) need(`state/${p}`, -1);
}

function restoreColumns(store: World["components"], snap: SnapshotData, prefix: string, n: number): void {
  store.forEach((def, cols, has) => {
    for (const f of def.fields) {
      const col = cols[f.name];
      const bytes = snap.sections.get(`${prefix}/${def.name}/${f.name}`)!;
      bytesOf(col, n * col.BYTES_PER_ELEMENT).set(bytes);
      col.fill(f.default, n);
    }
    has.set(snap.sections.get(`${prefix}/${def.name}/$has`)!);
    has.fill(0, n);
  });
}

function apply(world: World, snap: SnapshotData): void {
  const h = snap.header;
  const kernelJson = JSON.parse(fromUtf8.decode(snap.sections.get("kernel")!)) as { names: [number, string][]; interned: string[] };
  // Plug-in states are decoded first: a bad one fails before anything changes.
  const states = persistentStates(world).map(([name, st]) => [st, decodeState(snap, name)] as const);
  world.components.ensure(Math.max(h.kernel.capacity, h.kernel.max_id + 1));
  restoreColumns(world.components, snap, "comp", h.kernel.max_id + 1);
  restoreColumns(world.townStore, snap, "town", h.towns);
  const kernel: KernelState = {
    tick: h.tick,
    seed: h.seed,
    capacity: h.kernel.capacity,
    nextUid: h.kernel.next_uid,
    aliveCount: h.kernel.alive_count,
    maxId: h.kernel.max_id,
    dense: typedFrom("Uint32Array", snap.sections.get("kernel/dense")!, "kernel/dense") as Uint32Array,
    names: kernelJson.names,
    interned: kernelJson.interned,
  };
  world.restoreKernelState(kernel);
  world.rng.restore(h.rng);
  for (const ch of world.messages.channels) {
    const offsets = typedFrom("Int32Array", snap.sections.get(`msg/${ch.def.name}/offsets`)!, "offsets") as Int32Array;
    const data = typedFrom("Float64Array", snap.sections.get(`msg/${ch.def.name}/data`)!, "data") as Float64Array;
    const count = offsets[0];
    const nf = ch.def.keys.length;
    ch.len = 0;
    ch.prevCount = 0;
    ch.prevOffsets.fill(0);
    const row = new Array<number>(nf);
    for (let i = 0; i < count; i++) {
      for (let f = 0; f < nf; f++) row[f] = data[f * count + i];
      ch.push(row);
    }
    ch.curOffsets.set(offsets.subarray(1));
  }
  for (const [st, data] of states) st.load(data);
  world.runLoadHooks();
}

/**
 * Restores a world from snapshot bytes (or decoded data): verifies the file, refuses another
 * config unless a migration is registered, checks that components, messages, RNG streams and
 * plug-ins match, then replaces the world's state and runs the plug-ins' onLoad hooks. A refused
 * snapshot leaves the world as it was. The world must have been built with the same plug-ins
 * (and, for a bit-exact resume, the same config).
 */
export function loadSnapshot(world: World, input: Uint8Array | SnapshotData, opts: LoadSnapshotOptions = {}): LoadSnapshotResult {
  assertLittleEndian();
  let snap = input instanceof Uint8Array ? decodeSnapshot(input, opts.path) : input;
  checkHeader(snap.header, "full", opts.path);
  const target = String((world.settings as { config_id?: unknown }).config_id ?? "");
  let migrated: string[] | undefined;
  if (snap.header.config_id !== target) {
    const registry = opts.migrations ?? migrations;
    const allow = opts.allowConfigMismatch ?? (world.settings as { snapshot?: { guardrails?: { require_exact_config?: boolean } } }).snapshot?.guardrails?.require_exact_config === false;
    if (registry.path(snap.header.config_id, target)) {
      const r = registry.migrate(snap, target);
      snap = r.snap;
      migrated = r.chain;
    } else if (!allow) {
      throw new SnapshotError(
        "config_mismatch",
        `snapshot of config "${snap.header.config_id}", this world runs "${target}" (register a migration with registerMigration)`,
        opts.path,
      );
    }
  } else if (opts.configHash && snap.header.config_hash && opts.configHash !== snap.header.config_hash) {
    throw new SnapshotError(
      "config_mismatch",
      `config "${target}" has hash ${opts.configHash} here, ${snap.header.config_hash} in the snapshot (the config file or the run's --seed/--towns/--agents differ from the run that wrote it)`,
      opts.path,
    );
  }
  if (migrated) checkHeader(snap.header, "full", opts.path);
  checkCompatible(world, snap, opts.path);
  const backup = opts.rollback === false ? undefined : saveSnapshot(world);
  try {
    apply(world, snap);
    if (!migrated && opts.verifyStateHash !== false) {
      const now = world.stateHash();
      if (now !== snap.header.state_hash) {
        throw new SnapshotError(
          "state_mismatch",
          `restored state hash ${now} differs from the saved ${snap.header.state_hash} (the config or plug-ins differ from the run that wrote it)`,
          opts.path,
        );
      }
    }
  } catch (e) {
    if (backup) apply(world, decodeSnapshot(backup));
    if (e instanceof SnapshotError) throw e;
    throw new SnapshotError("schema", `restoring failed: ${e instanceof Error ? e.message : String(e)}`, opts.path);
  }
  return { header: snap.header, migrated };
}

// ---- files ----------------------------------------------------------------------------------

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
