// Layout upgrades: a component layout an earlier build wrote, turned into this build's before the
// schema check, so users' saved towns survive an upgrade of Townlet. Each upgrade names the exact
// layouts it reads and the exact layouts it makes; it applies only when the snapshot holds the
// former and this world registers the latter, so any other difference is still refused by the
// schema check, naming the component and field. Not config migrations (migrate.ts): those change
// a town's data between config_ids; these change nothing a simulation reads.
import { SNAPSHOT_SCHEMA_VERSION, SnapshotError, schemaOf, type ComponentSchemaEntry, type FieldSchema, type SnapshotData, type SnapshotHeader } from "./format.ts";
import type { World } from "../world.ts";

/** An upgrade of component layouts written by an earlier build (pure: returns new data). */
export interface LayoutUpgrade {
  /** Says what it does (in the load result and errors). */
  name: string;
  /** Components exactly as the earlier build wrote them (every one must be in the snapshot). */
  from: ComponentSchemaEntry[];
  /** Components exactly as this build registers them (every one must be in the world; absent: dropped). */
  to: ComponentSchemaEntry[];
  /** Where each field of `to` comes from: "Component.field" of `from` (same type); fields of `from` not named are dropped. */
  sources: Record<string, string>;
}

const f32 = (name: string): FieldSchema => [name, "Float32Array"];

/**
 * Commit a7baac6 (issue #19): the per-term breakdown left the Reward component (it is derived:
 * recomputed when a consumer asks, systems/rewards/breakdown.ts) and RewardMemo.primed moved into
 * Reward.primed. total, episode and potential carry over; the nine breakdown columns are dropped.
 */
export const REWARD_BREAKDOWN_OUT: LayoutUpgrade = {
  name: "Reward breakdown out of the component (a7baac6)",
  from: [
    {
      name: "Reward",
      fields: [
        f32("total"),
        ...["survival", "needs_penalty", "wage", "punctuality", "social", "shaping", "curiosity", "terminal", "clip_adjustment"].map(f32),
        f32("episode"),
        f32("potential"),
      ],
    },
    { name: "RewardMemo", fields: [["primed", "Uint8Array"]] },
  ],
  to: [{ name: "Reward", fields: [f32("total"), f32("episode"), f32("potential"), ["primed", "Uint8Array"]] }],
  sources: { "Reward.total": "Reward.total", "Reward.episode": "Reward.episode", "Reward.potential": "Reward.potential", "Reward.primed": "RewardMemo.primed" },
};

/** The upgrades every load tries, oldest first. */
export const LAYOUT_UPGRADES: readonly LayoutUpgrade[] = [REWARD_BREAKDOWN_OUT];

const sameEntry = (a: ComponentSchemaEntry | undefined, b: ComponentSchemaEntry): boolean => a !== undefined && JSON.stringify(a.fields) === JSON.stringify(b.fields);

/** Whether `u` turns this snapshot's layout into the world's (`here`: the world's component schema). */
function applies(u: LayoutUpgrade, snap: SnapshotData, here: ComponentSchemaEntry[]): boolean {
  const saved = new Map(snap.header.components.map((c) => [c.name, c]));
  const mine = new Map(here.map((c) => [c.name, c]));
  if (!u.from.every((c) => sameEntry(saved.get(c.name), c))) return false;
  if (!u.to.every((c) => sameEntry(mine.get(c.name), c))) return false;
  // A component the upgrade drops must be gone from this build.
  return u.from.every((c) => u.to.some((t) => t.name === c.name) || !mine.has(c.name));
}

/** Applies `u` to a snapshot (a new SnapshotData; section bytes shared, the input unchanged). */
export function applyLayoutUpgrade(u: LayoutUpgrade, snap: SnapshotData, path?: string): SnapshotData {
  const sections = new Map(snap.sections);
  const fromTypes = new Map<string, string>(u.from.flatMap((c) => c.fields.map(([f, t]): [string, string] => [`${c.name}.${f}`, t])));
  const made = new Map<string, Uint8Array>();
  for (const c of u.to) {
    for (const [f, type] of c.fields) {
      const src = u.sources[`${c.name}.${f}`];
      if (src === undefined || fromTypes.get(src) !== type) throw new Error(`layout upgrade "${u.name}": ${c.name}.${f} (${type}) has no source of that type`);
      const [sc, sf] = src.split(".");
      const bytes = snap.sections.get(`comp/${sc}/${sf}`);
      if (!bytes) throw new SnapshotError("corrupt", `section "comp/${sc}/${sf}" is missing`, path);
      made.set(`comp/${c.name}/${f}`, bytes);
    }
    const has = snap.sections.get(`comp/${c.name}/$has`);
    if (!has) throw new SnapshotError("corrupt", `section "comp/${c.name}/$has" is missing`, path);
    made.set(`comp/${c.name}/$has`, has);
  }
  for (const c of u.from) {
    for (const [f] of c.fields) sections.delete(`comp/${c.name}/${f}`);
    sections.delete(`comp/${c.name}/$has`);
  }
  for (const [name, bytes] of made) sections.set(name, bytes);
  const dropped = new Set(u.from.map((c) => c.name));
  const components: ComponentSchemaEntry[] = [];
  for (const c of snap.header.components) {
    const to = u.to.find((t) => t.name === c.name);
    if (to) components.push({ name: to.name, fields: to.fields.map(([n, t]): FieldSchema => [n, t]) });
    else if (!dropped.has(c.name)) components.push(c);
  }
  return { formatVersion: snap.formatVersion, header: { ...snap.header, components }, sections };
}

/**
 * The snapshot with every upgrade that applies to it (in LAYOUT_UPGRADES order) applied, and their
 * names; the input itself when none applies.
 */
export function upgradeLayouts(world: World, snap: SnapshotData, path?: string, upgrades: readonly LayoutUpgrade[] = LAYOUT_UPGRADES): { snap: SnapshotData; applied: string[] } {
  const here = schemaOf(world.components);
  const applied: string[] = [];
  let cur = snap;
  for (const u of upgrades) {
    if (!applies(u, cur, here)) continue;
    cur = applyLayoutUpgrade(u, cur, path);
    applied.push(u.name);
  }
  return { snap: cur, applied };
}

/** What each header schema version added (format.ts: SNAPSHOT_SCHEMA_VERSION), for the notes. */
const SCHEMA_ADDED: Record<number, string> = { 2: "the agents' id reservation, issue #19" };

/** The note for a header of an older schema version (read as this build's), else undefined. */
export function schemaUpgradeNote(schemaVersion: number): string | undefined {
  if (schemaVersion >= SNAPSHOT_SCHEMA_VERSION) return undefined;
  const added: string[] = [];
  for (let v = schemaVersion + 1; v <= SNAPSHOT_SCHEMA_VERSION; v++) if (SCHEMA_ADDED[v]) added.push(SCHEMA_ADDED[v]);
  return `snapshot schema version ${schemaVersion} read as ${SNAPSHOT_SCHEMA_VERSION}${added.length ? ` (written before ${added.join("; ")})` : ""}`;
}

/**
 * What this build does to read a snapshot with this header, one line each for users: its older
 * schema version, then each layout upgrade whose earlier layouts the header lists exactly. For a
 * snapshot that a load accepted these are the upgrades applied (a component in an upgrade's
 * earlier layout is refused by the schema check unless the upgrade turned it into this build's).
 * loadSnapshot's `upgrades` gives the same lines from the load itself.
 */
export function upgradeNotes(header: Pick<SnapshotHeader, "schema_version" | "components">, upgrades: readonly LayoutUpgrade[] = LAYOUT_UPGRADES): string[] {
  const out: string[] = [];
  const schema = schemaUpgradeNote(header.schema_version);
  if (schema) out.push(schema);
  const saved = new Map(header.components.map((c) => [c.name, c]));
  for (const u of upgrades) if (u.from.every((c) => sameEntry(saved.get(c.name), c))) out.push(u.name);
  return out;
}
