// The affordance registry's public shape: object types and affordances interned to indices,
// owned by the affordances plug-in (`ctx.resource(AffordancesKey).registry`). Other systems (the
// scripted controller, observations, masks) look affordances up through this interface.
import { defineResource } from "../engine/resource.ts";

export interface AffordanceSpec {
  /** Index in the registry (stable for a manifest; the same id keeps its index across reloads). */
  readonly index: number;
  readonly id: string;
  /** Object type index. */
  readonly type: number;
  /** Ticks it runs (>= 1). */
  readonly duration: number;
  /** Need deltas applied on finish, by need name (money apart; a need not named: 0). */
  readonly effects: Readonly<Record<string, number>>;
  /** The hunger delta (effects.hunger ?? 0): the original's rules about eating read it. */
  readonly hunger: number;
  /** Money delta on finish (negative = a cost; scaled by the town's price multiplier). */
  readonly money: number;
  readonly preconds: readonly string[];
  /** False for an id a hot reload removed: it can no longer start. */
  readonly active: boolean;
  /** True when a precondition names power_on / water_on (an outage stops it). */
  readonly needsPower: boolean;
  readonly needsWater: boolean;
  readonly hooks: { readonly before: readonly string[]; readonly after: readonly string[]; readonly fail: readonly string[] };
}

export interface AffordanceTable {
  /** Object type names by index (fridge, stove, shower, bed, ...). */
  readonly types: readonly string[];
  readonly affordances: readonly AffordanceSpec[];
  typeIndex(name: string): number;
  affordanceIndex(id: string): number;
  /** Affordance indices offered by an object type, in manifest order. */
  ofType(type: number): readonly number[];
  /** Checksum of the manifest bytes (sha256 hex). */
  readonly checksum: string;
}

/** An affordance to register programmatically (tests, scenarios, plug-ins). */
export interface AffordanceInput {
  id: string;
  object_type: string;
  duration: number;
  /** Need deltas by need name, and `money`. */
  effects?: Readonly<Record<string, number>>;
  preconds?: readonly string[];
  hooks?: { before?: readonly string[]; after?: readonly string[]; fail?: readonly string[] };
}

/** What the affordances plug-in offers other plug-ins: `ctx.resource(AffordancesKey)`. */
export interface AffordanceService {
  readonly registry: AffordanceTable;
  /** Object entities, in entity order. */
  readonly objects: readonly number[];
  /** [eid, x, y, ...] of the objects of `type` in `town` (empty when none). Read only. */
  objectsOfType(town: number, type: number): Int32Array;
  /** Adds or replaces an affordance; returns its index. */
  registerAffordance(a: AffordanceInput): number;
  /** The object entity of a town with the given id, or 0. */
  objectById(town: number, id: string): number;
}

/** The affordances plug-in's resource. */
export const AffordancesKey = defineResource<AffordanceService>("affordances");
