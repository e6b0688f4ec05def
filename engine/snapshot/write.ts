// Writing a snapshot: the world's columns, entity index, messages in flight and plug-in states as
// sections, and the file layout around them (header, payload checksum, trailer).
import { createHash } from "node:crypto";
import { canonicalJson } from "../config/loader.ts";
import type { World } from "../world.ts";
import type { Column } from "../component.ts";
import {
  MAGIC,
  NPHASE,
  PREFIX,
  SNAPSHOT_FORMAT_VERSION,
  SNAPSHOT_SCHEMA_VERSION,
  TRAILER,
  assertLittleEndian,
  bytesOf,
  fromUtf8,
  persistentStates,
  schemaOf,
  utf8,
  type SnapshotHeader,
  type SnapshotMeta,
} from "./format.ts";
import { encodeState } from "./plugin-state.ts";

/** The world's state as snapshot bytes (between ticks). */
export function saveSnapshot(world: World, meta: SnapshotMeta = {}): Uint8Array {
  assertLittleEndian();
  const k = world.kernelState();
  const max = k.maxId;
  const parts: [string, Uint8Array][] = [];
  parts.push(["kernel", utf8.encode(JSON.stringify({ names: k.names, interned: k.interned }))]);
  parts.push(["kernel/dense", bytesOf(k.dense)]);
  world.components.forEach((def, cols, has, base) => {
    for (const f of def.fields) {
      const col = cols[f.name];
      parts.push([`comp/${def.name}/${f.name}`, bytesOf(rows(col, max + 1, f.default, base), (max + 1) * col.BYTES_PER_ELEMENT)]);
    }
    parts.push([`comp/${def.name}/$has`, bytesOf(rows(has, max + 1, 0, 0), max + 1)]);
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
    kernel: {
      capacity: k.capacity,
      max_id: k.maxId,
      alive_count: k.aliveCount,
      next_uid: k.nextUid,
      reserve_next: k.reserve?.[0] ?? 1,
      reserve_end: k.reserve?.[1] ?? 0,
    },
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

/**
 * `col` itself when it has `n` rows of its own, else a copy padded with `fill` (a trimmed
 * component's column) whose rows below `base` (a pooled component's, engine/component.ts) hold
 * `fill` too: the bytes of the column it would be without pooling.
 */
function rows<C extends Column>(col: C, n: number, fill: number, base: number): C {
  if (col.length >= n && base === 0) return col;
  const out = new (col.constructor as new (n: number) => C)(n);
  const from = Math.min(base, col.length);
  out.set(col.subarray(from, Math.min(n, col.length)) as never, from);
  out.fill(fill, 0, from);
  out.fill(fill, col.length);
  return out;
}
