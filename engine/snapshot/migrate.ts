// Snapshot migrations between config_ids (a registry of pure functions, shortest chain first) and
// the helpers a migration uses to read and replace columns and plug-in states.
import type { Column } from "../component.ts";
import { SnapshotError, bytesOf, typedFrom, type SnapshotData } from "./format.ts";
import { decodeState, encodeState } from "./plugin-state.ts";

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
