// The reward terms other plug-ins declare (`PluginDef.rewardTerms`, engine/reward-term.ts),
// resolved once per world: weight from the settings, bias table, breakdown column, checked with
// errors naming the plug-in. Columns are fetched again every tick (they move when the store
// grows, and a plug-in's own column may be replaced when it grows).
import type { World } from "../../engine/world.ts";
import type { AnyPlugin } from "../../engine/plugin.ts";
import type { RewardBias, RewardTerm } from "../../engine/reward-term.ts";
import { Reward } from "../../components/people.ts";
import { PROFILES } from "../../components/profiles.ts";
import { OWN_BREAKDOWN, TERM_BREAKDOWN } from "./breakdown.ts";

/** Names a term recorded under its own name may not take: the Reward fields and every fixed breakdown column. */
const TAKEN = new Set<string>([...Object.keys(Reward.schema), ...OWN_BREAKDOWN, ...TERM_BREAKDOWN]);
const TERM_COLUMNS = new Set<string>(TERM_BREAKDOWN);
const BIASES: readonly RewardBias[] = ["survival", "employment", "social"];

/** A declared term as the pass uses it. */
export interface ResolvedTerm {
  readonly name: string;
  readonly plugin: string;
  readonly weight: number;
  readonly term: RewardTerm;
  /** Bias factor by profile index, or null (unbiased). */
  readonly bias: Float64Array | null;
  /** The breakdown column that records the term (breakdown.ts): its `breakdown` field, else its name. */
  readonly column: string;
  /** The term is the shaping potential Φ. */
  readonly potential: boolean;
}

/** Every plug-in's declared reward terms, in plug-in order then declaration order (the potential among them). */
export function resolveTerms(world: World): ResolvedTerm[] {
  const out: ResolvedTerm[] = [];
  const names = new Map<string, string>();
  const recorded = new Map<string, string>();
  let potential: string | undefined;
  for (const plugin of world.plugins as readonly AnyPlugin[]) {
    for (const term of (plugin.rewardTerms ?? []) as RewardTerm[]) {
      const where = `reward term "${term.name}" of plug-in "${plugin.name}"`;
      const prior = names.get(term.name);
      if (prior !== undefined) throw new Error(`${where}: the name is already declared by plug-in "${prior}"`);
      names.set(term.name, plugin.name);
      if (term.component !== undefined) {
        const decl = term.component.schema[term.field] as { type?: unknown } | undefined;
        if (!decl || (decl.type !== Float32Array && decl.type !== Float64Array))
          throw new Error(`${where}: ${term.component.name}.${term.field} is not a Float32Array or Float64Array field`);
        if (!world.components.isRegistered(term.component)) throw new Error(`${where}: component ${term.component.name} is not registered in this world`);
      } else if (typeof term.values !== "function") throw new Error(`${where}: declares neither a component and field nor values(world)`);
      const weight = term.weight(world.settings);
      if (!Number.isFinite(weight)) throw new Error(`${where}: weight ${weight} is not a finite number`);
      if (term.potential === true) {
        if (potential !== undefined) throw new Error(`${where}: reward term "${potential}" is already the shaping potential (at most one term may be)`);
        if (term.bias !== undefined) throw new Error(`${where}: the shaping potential takes no profile bias`);
        potential = term.name;
      }
      if (term.bias !== undefined && !BIASES.includes(term.bias)) throw new Error(`${where}: bias "${term.bias}" is not one of ${BIASES.join(", ")}`);
      const b = term.breakdown ?? null;
      // A term without a breakdown field is recorded (and published) under its name.
      if (b === null && TAKEN.has(term.name))
        throw new Error(`${where}: without a breakdown field, the term is recorded under its name, which is a Reward field or breakdown column: name it otherwise`);
      if (b !== null) {
        if (!TERM_COLUMNS.has(b)) throw new Error(`${where}: breakdown "${b}" is not a breakdown column a term may record (${TERM_BREAKDOWN.join(", ")})`);
        const other = recorded.get(b);
        if (other !== undefined) throw new Error(`${where}: breakdown column ${b} already records reward term "${other}"`);
        recorded.set(b, term.name);
      }
      const bias = term.bias === undefined ? null : Float64Array.from(PROFILES, (p) => p.reward[term.bias as RewardBias]);
      out.push({ name: term.name, plugin: plugin.name, weight, term, bias, column: b ?? term.name, potential: term.potential === true });
    }
  }
  return out;
}
