// Loading a snapshot into a world: config and migration checks, the schema and section-size
// checks made before anything changes, then the restore itself, rolled back when it fails.
import { canonicalJson } from "../config/loader.ts";
import { isRngState } from "../rng.ts";
import type { KernelState, World } from "../world.ts";
import {
  NPHASE,
  SnapshotError,
  TYPED,
  assertLittleEndian,
  bytesOf,
  fromUtf8,
  persistentStates,
  schemaOf,
  typedFrom,
  type ComponentSchemaEntry,
  type FieldSchema,
  type SnapshotData,
  type SnapshotErrorCode,
  type SnapshotHeader,
} from "./format.ts";
import { migrations, type MigrationRegistry } from "./migrate.ts";
import { decodeState } from "./plugin-state.ts";
import { checkHeader, decodeSnapshot } from "./read.ts";
import { schemaUpgradeNote, upgradeLayouts } from "./upgrade.ts";
import { saveSnapshot } from "./write.ts";

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
  /** Layout upgrades applied (a snapshot written by an earlier build, upgrade.ts), when any: the saved state hash was not compared. */
  upgraded?: string[];
  /**
   * Everything done to read a snapshot an earlier build wrote, one line each for users (the CLI's
   * "resumed from" line, the console's snapshot_load reply), when anything: the header's older
   * schema version (upgrade.ts: schemaUpgradeNote), then the layout upgrades of `upgraded`.
   */
  upgrades?: string[];
}

/**
 * What differs between a component's fields in a snapshot and here, field by field (a build that
 * changed a column's type or added a field wrote it), and what to do about it.
 */
function fieldDifferences(saved: FieldSchema[], here: FieldSchema[]): string {
  const mine = new Map(here);
  const theirs = new Map(saved);
  const out: string[] = [];
  for (const [name, type] of saved) {
    const t = mine.get(name);
    if (t === undefined) out.push(`field ${name} is only in the snapshot`);
    else if (t !== type) out.push(`field ${name} is ${type} in the snapshot, ${t} here`);
  }
  for (const [name] of here) if (!theirs.has(name)) out.push(`field ${name} is not in the snapshot`);
  if (!out.length) out.push(`fields in another order (${saved.map(([n]) => n).join(", ")} in the snapshot)`);
  return `${out.join("; ")} (written by a build with another layout of it: load it with that build, or write the snapshot again with this one)`;
}

function sameSchema(a: ComponentSchemaEntry[], b: ComponentSchemaEntry[], what: string): string | undefined {
  const byName = new Map(b.map((e) => [e.name, e]));
  for (const e of a) {
    const o = byName.get(e.name);
    if (!o) return `${what} "${e.name}" is in the snapshot but not in this world`;
    if (JSON.stringify(o.fields) !== JSON.stringify(e.fields)) return `${what} "${e.name}": ${fieldDifferences(e.fields, o.fields)}`;
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
  const [rn, re] = reserveOf(h);
  if (!(re <= k.max_id && rn >= 1 && rn <= re + 1) || snap.sections.get("kernel/dense")!.byteLength / 4 !== k.max_id - (re + 1 - rn)) {
    throw fail("corrupt", `inconsistent entity index (max_id ${k.max_id}, reserved agent ids ${rn}..${re}, ${snap.sections.get("kernel/dense")!.byteLength / 4} ids listed)`);
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

/** The agents' id reservation of a snapshot: [next, end]; [1, 0] (none) in schema 1 snapshots. */
function reserveOf(h: SnapshotHeader): [number, number] {
  return [h.kernel.reserve_next ?? 1, h.kernel.reserve_end ?? 0];
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
  world.components.ensureAll(Math.max(h.kernel.capacity, h.kernel.max_id + 1));
  restoreColumns(world.components, snap, "comp", h.kernel.max_id + 1);
  // As after a build: components held by low ids only (objects) shrink back to them.
  world.components.trim();
  restoreColumns(world.townStore, snap, "town", h.towns);
  const kernel: KernelState = {
    tick: h.tick,
    seed: h.seed,
    capacity: h.kernel.capacity,
    nextUid: h.kernel.next_uid,
    aliveCount: h.kernel.alive_count,
    maxId: h.kernel.max_id,
    dense: typedFrom("Uint32Array", snap.sections.get("kernel/dense")!, "kernel/dense") as Uint32Array,
    reserve: reserveOf(h),
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
  const schemaNote = schemaUpgradeNote(snap.header.schema_version);
  // An earlier build's component layout (upgrade.ts) first: migrations and checks see this build's.
  const up = upgradeLayouts(world, snap, opts.path);
  snap = up.snap;
  const upgraded = up.applied.length ? up.applied : undefined;
  const upgrades = schemaNote ? [schemaNote, ...up.applied] : upgraded;
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
    // The saved hash covers the earlier layout's columns (an upgrade drops some): not comparable.
    if (!migrated && !upgraded && opts.verifyStateHash !== false) {
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
  return { header: snap.header, migrated, ...(upgraded ? { upgraded } : {}), ...(upgrades ? { upgrades } : {}) };
}
