// chooseObject (choose.ts) generated for one world's columns and affordance table (issue #19:
// an object choice is the executor's event work, ~49k of them on the tick after a shift's end
// in the 100k bench world and 4-7k per busy-hour tick). The generic function looks the spec up
// by index, the stock column by the affordance's id (a keyed load by a string) and reads every
// column through the world's column objects; the generated one reads per-affordance tables
// (type, stock column, power, water, duration) and closes over the columns as constants (the
// lead's finding, systems/needs/decay-kernel.ts): ~130 -> ~70-100 ns a choice in a micro run
// of the 49k choices of tick 561.
//
// The steps and their order are chooseObject's (the same objects, the same scores with the same
// floating-point operations, the same rival checks and queue_rival guardrail messages), for a town
// whose list of objects of the type is short; a longer list (the distance field is tried first:
// big towns) goes to `slow`, the generic choice. Where code generation from strings is not
// allowed, compileChooser returns undefined and the generic choice runs
// (test/unit/options-kernel.test.ts compares the two through a day).
import { compileKernel, sameArrays } from "../../engine/kernel-source.ts";
import type { SocialLedger } from "../../components/social.ts";
import type { AffordanceSpec } from "../../components/affordances.ts";
import type { TownTypeIndex } from "../affordances/type-index.ts";
import { NEAREST_FIRST_ABOVE, STOCK_NEED } from "./choose.ts";

/** What the generated choice closes over (one world's). */
export interface ChooseArrays {
  readonly town: Uint32Array;
  readonly px: Int16Array;
  readonly py: Int16Array;
  /** The (town, type) index; its `items` are read from begin to end. */
  readonly types: TownTypeIndex;
  readonly items: Int32Array;
  readonly meals: Float32Array;
  readonly raw: Float32Array;
  readonly powerOn: Uint8Array;
  readonly waterOn: Uint8Array;
  readonly holder: Int32Array;
  readonly queueHead: Int32Array;
  readonly queueLen: Uint16Array;
  readonly running: Int16Array;
  readonly remaining: Int16Array;
  readonly queued: Int32Array;
  readonly queueNext: Int32Array;
  readonly uid: Uint32Array;
  /** The towns' power and water (TownEconomy), undefined without the economy plug-in. */
  readonly townPower: Uint8Array | undefined;
  readonly townWater: Uint8Array | undefined;
  /** The social ledger, undefined without the social plug-in (no rival checks). */
  readonly ledger: SocialLedger | undefined;
  /** The affordance table's specs the per-affordance tables were made from (by index). */
  readonly specs: readonly (AffordanceSpec | undefined)[];
}

const NAMES = [
  "town",
  "px",
  "py",
  "types",
  "items",
  "meals",
  "raw",
  "powerOn",
  "waterOn",
  "holder",
  "queueHead",
  "queueLen",
  "running",
  "remaining",
  "queued",
  "queueNext",
  "uid",
  "townPower",
  "townWater",
  "ledger",
] as const satisfies readonly (keyof ChooseArrays)[];

/** True when a chooser made for `a` serves `b` (no column moved, the same index, ledger and specs). */
export function sameChooseArrays(a: ChooseArrays, b: ChooseArrays): boolean {
  for (const k of NAMES) if (a[k] !== b[k]) return false;
  return sameArrays(a.specs, b.specs);
}

/**
 * The object an agent's Use of `aff` goes to, or 0 (then, when a rival ruled an object out,
 * `blocked(eid)` was called: the queue_rival guardrail). `avoid`: the rivalry threshold; `calm`
 * 1 when an edge at rest is below it (`calmAt`): an agent off the ledger's hot list has no rival.
 */
export type Chooser = (eid: number, aff: number, avoid: number, calm: number) => number;

/**
 * 1 when an edge at rest (rivalry at most min_value, as the social pass leaves an entity it takes
 * off its hot list) is below the avoid threshold, else 0.
 */
export function calmAt(avoid: number, minValue: number): number {
  return avoid > 0 && Math.max(0, Math.fround(minValue)) < avoid ? 1 : 0;
}

/**
 * Generates the choice for these arrays. `slow(eid, aff)` is the generic choice with its guardrail
 * message (for a long list of objects); `blocked(eid)` sends the guardrail message. Returns
 * undefined where code generation from strings is not allowed.
 */
export function compileChooser(a: ChooseArrays, slow: (eid: number, aff: number) => number, blocked: (eid: number) => void): Chooser | undefined {
  const n = a.specs.length;
  const affType = new Int32Array(n).fill(-1);
  const affStock = new Int8Array(n);
  const affPower = new Uint8Array(n);
  const affWater = new Uint8Array(n);
  const affDuration = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = a.specs[i];
    if (s === undefined) continue;
    affType[i] = s.type;
    const stock = STOCK_NEED[s.id];
    affStock[i] = stock === "meals" ? 1 : stock === "raw_ingredients" ? 2 : 0;
    affPower[i] = s.needsPower ? 1 : 0;
    affWater[i] = s.needsWater ? 1 : 0;
    affDuration[i] = s.duration;
  }
  const econ = a.townPower !== undefined && a.townWater !== undefined;
  const rivals = a.ledger !== undefined;
  // The generic `unsuitable` (choose.ts) for affordance `aff`, object `obj` of town `t`.
  const unsuitable = `(affStock[aff] === 1 ? meals[obj] < 1 : affStock[aff] === 2 ? raw[obj] < 1 : false) ||
      (affPower[aff] === 1 && (powerOn[obj] === 0${econ ? " || townPower[t] === 0" : ""})) ||
      (affWater[aff] === 1 && (waterOn[obj] === 0${econ ? " || townWater[t] === 0" : ""}))`;
  const source = `"use strict";
function rival(eid, obj, avoid, calm) {
  // Off the ledger's hot list, every edge of eid is at rest, below the threshold when calm is 1
  // (systems/social/index.ts; scripted/decide's meetNeighbours reads the same): no rival, and
  // its block of the ledger (a place of its own, a cache miss) is not read.
  if (calm === 1 && ledger.hot[eid] === 0) return false;
  const h = holder[obj];
  if (h !== 0 && h !== eid && ledger.rivalryOf(eid, uid[h]) >= avoid) return true;
  for (let q = queueHead[obj]; q !== 0; q = queueNext[q]) if (q !== eid && ledger.rivalryOf(eid, uid[q]) >= avoid) return true;
  return false;
}
return function choose(eid, aff, avoid, calm) {
  if (!(aff >= 0 && aff < ${n}) || affType[aff] < 0) return 0;
  const t = town[eid];
  const from = types.begin(t, affType[aff]);
  const to = types.end(t, affType[aff]);
  if (to - from > ${3 * NEAREST_FIRST_ABOVE}) return slow(eid, aff);
  if (to - from === 3) {
    const obj = items[from];
    if (${unsuitable}) return 0;
    ${rivals ? "if (rival(eid, obj, avoid, calm)) { blocked(eid); return 0; }" : ""}
    return obj;
  }
  let best = 0;
  let bestScore = Infinity;
  let ruledOut = false;
  const dur = affDuration[aff];
  for (let i = from; i < to; i += 3) {
    const obj = items[i];
    if (${unsuitable}) continue;
    ${rivals ? "if (rival(eid, obj, avoid, calm)) { ruledOut = true; continue; }" : ""}
    const dist = Math.abs(px[eid] - items[i + 1]) + Math.abs(py[eid] - items[i + 2]);
    const hd = holder[obj];
    let wait = queueLen[obj] * dur;
    if (hd !== 0 && hd !== eid) wait += running[hd] >= 0 ? remaining[hd] : dur;
    if (queued[eid] === obj) wait = 0;
    const score = dist + wait;
    if (score < bestScore) {
      bestScore = score;
      best = obj;
    }
  }
  if (best === 0 && ruledOut) blocked(eid);
  return best;
};`;
  const params = NAMES.filter((k) => a[k] !== undefined);
  const tables = { affType, affStock, affPower, affWater, affDuration };
  return compileKernel<Chooser>(
    [...params, ...Object.keys(tables), "slow", "blocked"],
    source,
    [...params.map((k) => a[k]), ...Object.values(tables), slow, blocked],
  );
}
