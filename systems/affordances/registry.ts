// The affordance registry: object types and affordances from a manifest, interned to indices,
// with preconditions compiled once. Indices are stable across hot reloads: an id keeps its
// index, new ids are appended, removed ids stay as retired entries that can no longer start.
import { createHash } from "node:crypto";
import type { AffordanceInput, AffordanceSpec, AffordanceTable } from "../../components/affordances.ts";
import { compilePrecondition, type CompiledPrecondition } from "./preconditions.ts";
import type { AffordanceManifestEntries, ManifestAffordanceEntry, ManifestObjectEntry } from "./config.ts";

export interface RegisteredAffordance extends AffordanceSpec {
  readonly compiled: readonly CompiledPrecondition[];
  /** False for an id that a reload removed: it can no longer start. */
  readonly active: boolean;
  /** True when a precondition names power_on / water_on: an outage interrupts it. */
  readonly needsPower: boolean;
  readonly needsWater: boolean;
}

export type { AffordanceInput };

/** Raised when a manifest cannot be turned into a registry (bad precondition, ...). */
export class ManifestError extends Error {
  override name = "ManifestError";
}

export class AffordanceRegistry implements AffordanceTable {
  types: string[] = [];
  affordances: RegisteredAffordance[] = [];
  /** Objects the manifest declares, in manifest order. */
  objects: ManifestObjectEntry[] = [];
  checksum = "";
  /** Ids of the affordances a manifest declared (not those registered by code), for messages. */
  readonly manifestIds = new Set<string>();
  private typeIdx = new Map<string, number>();
  private affIdx = new Map<string, number>();
  private byType: number[][] = [];
  private objectIdx = new Map<string, number>();

  typeIndex(name: string): number {
    return this.typeIdx.get(name) ?? -1;
  }
  affordanceIndex(id: string): number {
    return this.affIdx.get(id) ?? -1;
  }
  ofType(type: number): readonly number[] {
    return this.byType[type] ?? [];
  }

  /** Interns an object type (new types are appended). */
  ensureType(name: string): number {
    let i = this.typeIdx.get(name);
    if (i === undefined) {
      i = this.types.length;
      this.types.push(name);
      this.typeIdx.set(name, i);
      this.byType.push([]);
    }
    return i;
  }

  /** Adds or replaces one affordance (programmatic registration for tests and plug-ins). */
  registerAffordance(a: AffordanceInput): RegisteredAffordance {
    const compiled = (a.preconds ?? []).map((src, i) => {
      try {
        return compilePrecondition(src);
      } catch (e) {
        throw new ManifestError(`affordance "${a.id}": preconds[${i}]: ${(e as Error).message}`);
      }
    });
    const names = compiled.flatMap((c) => c.names.map((n) => n.join(".")));
    const type = this.ensureType(a.object_type);
    const prior = this.affIdx.get(a.id);
    const index = prior ?? this.affordances.length;
    const spec: RegisteredAffordance = {
      index,
      id: a.id,
      type,
      duration: Math.max(1, Math.floor(a.duration)),
      effects: Object.freeze(Object.fromEntries(Object.entries(a.effects ?? {}).filter(([k]) => k !== "money"))),
      hunger: a.effects?.hunger ?? 0,
      money: a.effects?.money ?? 0,
      preconds: [...(a.preconds ?? [])],
      hooks: { before: [...(a.hooks?.before ?? [])], after: [...(a.hooks?.after ?? [])], fail: [...(a.hooks?.fail ?? [])] },
      compiled,
      active: true,
      needsPower: names.includes("power_on"),
      needsWater: names.includes("water_on"),
    };
    if (prior !== undefined) {
      const old = this.affordances[prior];
      this.byType[old.type] = this.byType[old.type].filter((i) => i !== prior);
    }
    this.affordances[index] = spec;
    this.affIdx.set(a.id, index);
    this.byType[type].push(index);
    return spec;
  }

  /** Registers an object entry (programmatic or from a manifest). */
  registerObject(o: ManifestObjectEntry): void {
    this.ensureType(o.object_type);
    const i = this.objectIdx.get(o.id);
    if (i !== undefined) this.objects[i] = o;
    else {
      this.objectIdx.set(o.id, this.objects.length);
      this.objects.push(o);
    }
  }

  /**
   * Builds a registry from a validated manifest. With `previous`, indices of known ids and
   * types are kept (hot reload); ids missing from the new manifest are retired.
   */
  static fromManifest(entries: AffordanceManifestEntries, bytes: string, previous?: AffordanceRegistry): AffordanceRegistry {
    const r = new AffordanceRegistry();
    if (previous) {
      for (const t of previous.types) r.ensureType(t);
      for (const a of previous.affordances) {
        r.affordances[a.index] = { ...a, active: false };
        r.affIdx.set(a.id, a.index);
      }
    }
    for (const e of entries) {
      if (e.type === "object") r.registerObject(e as ManifestObjectEntry);
      else {
        r.registerAffordance(e as ManifestAffordanceEntry);
        r.manifestIds.add(e.id);
      }
    }
    r.checksum = createHash("sha256").update(bytes).digest("hex");
    return r;
  }
}
