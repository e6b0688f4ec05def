// Personality (spawn hooks only, no tick system): every new agent gets a profile — the
// `personalities.overrides` entry for its name, else a draw from `personalities.distribution`
// on this plug-in's stream — and that profile's traits and need multipliers. The multipliers are
// data: a profile's built-in ones (components/profiles.ts, for the default needs) under
// `personalities.need_multipliers.<profile>.<need>`, for any need of the world's table (a mod's
// need included; 1 where neither says), each written to the Personality column `<need>_mult`
// that the needs plug-in's decay reads. Writes Personality. The profile is the source of truth:
// a spawn whose `init` sets Personality.profile gets that profile's traits and multipliers.
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { ConfigCheckProblem } from "../../engine/plugin.ts";
import { didYouMean } from "../../engine/text.ts";
import { needTable } from "../../components/needs.ts";
import { Personality, PROFILE_NAMES } from "../../components/people.ts";
import { PROFILES, profileIndex } from "../../components/profiles.ts";
import { personalityObservations } from "./observations.ts";

export { PROFILES, profileIndex } from "../../components/profiles.ts";
export type { ProfileSpec } from "../../components/profiles.ts";

/** Derived from the config at world build; not persistent (the config rebuilds it). */
interface PersonalityTables {
  /** Cumulative weights over the profiles of `distribution`, in sorted name order. */
  cumulative: Float64Array;
  /** Profile index of each cumulative entry. */
  profile: Uint8Array;
  overrides: Map<string, number>;
  /** The need multipliers by profile (config over the built-in profiles). */
  mults: MultiplierTable;
  /** The profile written by onAgentSpawn to `spawnedEid`, to notice an `init` that changed it. */
  spawnedEid: number;
  spawnedProfile: number;
}

function buildTables(world: World): PersonalityTables {
  const cfg = (world.settings as Partial<typeof world.settings>).personalities;
  const dist: Record<string, number> = cfg?.distribution ?? { balanced: 1 };
  const names = Object.keys(dist).sort();
  const cumulative = new Float64Array(names.length);
  const profile = new Uint8Array(names.length);
  let total = 0;
  for (const n of names) total += dist[n];
  let acc = 0;
  names.forEach((n, i) => {
    acc += dist[n] / total;
    cumulative[i] = acc;
    const p = profileIndex(n);
    if (p < 0) throw new Error(`personalities.distribution: unknown profile "${n}" (expected one of ${PROFILE_NAMES.join(", ")})`);
    profile[i] = p;
  });
  const overrides = new Map<string, number>();
  for (const agent of Object.keys(cfg?.overrides ?? {}).sort()) {
    const name = cfg!.overrides[agent];
    const p = profileIndex(name);
    if (p < 0) throw new Error(`personalities.overrides.${agent}: unknown profile "${name}" (expected one of ${PROFILE_NAMES.join(", ")})`);
    overrides.set(agent, p);
  }
  const problem = needMultiplierProblems(world.settings)[0];
  if (problem !== undefined) throw new Error(`${problem.path.join(".")}: ${problem.message}`);
  return { cumulative, profile, overrides, mults: multiplierTable(world.settings), spawnedEid: -1, spawnedProfile: -1 };
}

/** The need multipliers of one world: the columns written, and each profile's values for them. */
export interface MultiplierTable {
  /** Personality columns `<need>_mult`, one per need of the table and per need a built-in profile scales. */
  readonly columns: readonly string[];
  /** By profile index: the value for each of `columns`. */
  readonly values: readonly Float64Array[];
}

/**
 * The multipliers of these settings: for each profile and need, `personalities.need_multipliers`
 * if it names them, else the profile's built-in value, else 1.
 */
export function multiplierTable(settings: ConfigSections): MultiplierTable {
  const given = (settings as Partial<ConfigSections>).personalities?.need_multipliers ?? {};
  const needs = [...new Set([...PROFILES.flatMap((p) => Object.keys(p.needs)), ...needTable(settings).names])];
  const values = PROFILES.map((spec) => {
    const own = (given as Record<string, Record<string, number> | undefined>)[spec.name] ?? {};
    return Float64Array.from(needs, (n) => own[n] ?? spec.needs[n] ?? 1);
  });
  return { columns: needs.map((n) => `${n}_mult`), values };
}

/** `personalities.need_multipliers` naming a need the world does not have (profiles are checked by the section). */
export function needMultiplierProblems(settings: ConfigSections): ConfigCheckProblem[] {
  const given = (settings as Partial<ConfigSections>).personalities?.need_multipliers;
  if (given === undefined) return [];
  const table = needTable(settings);
  const problems: ConfigCheckProblem[] = [];
  for (const [profile, needs] of Object.entries(given)) {
    for (const need of Object.keys(needs ?? {})) {
      if (table.index(need) >= 0) continue;
      problems.push({
        path: ["personalities", "need_multipliers", profile, need],
        message: `profile "${profile}": "${need}" is not a need of this world (needs: ${table.names.join(", ")}; add it under needs:)${didYouMean(need, table.names)}`,
      });
    }
  }
  return problems;
}

/**
 * The profile a draw `u` in [0, 1) picks: the first profile (sorted by name) whose cumulative
 * weight exceeds `u`; zero-weight profiles are never picked.
 */
export function pickProfile(cumulative: Float64Array, profile: Uint8Array, u: number): number {
  let last = -1;
  for (let i = 0; i < cumulative.length; i++) {
    const w = i === 0 ? cumulative[0] : cumulative[i] - cumulative[i - 1];
    if (w <= 0) continue;
    last = i;
    if (u < cumulative[i]) return profile[i];
  }
  // Rounding can leave the final cumulative a hair under 1: the last weighted profile takes it.
  return last >= 0 ? profile[last] : 0;
}

type PersonalityCols = { [K in keyof typeof Personality.schema]: Float32Array | Uint8Array };

/**
 * Writes a profile's index, traits and need multipliers to an agent's Personality columns;
 * `mults` (multiplierTable of the world's settings) gives the multipliers, the built-in ones without it.
 */
export function applyProfile(P: PersonalityCols, eid: number, p: number, mults: MultiplierTable = BUILT_IN): void {
  const spec = PROFILES[p];
  P.profile[eid] = p;
  P.extroversion[eid] = spec.traits.extroversion;
  P.forgiveness[eid] = spec.traits.forgiveness;
  P.ambition[eid] = spec.traits.ambition;
  // Each need has a Personality column `<need>_mult` (the needs plug-in reads it).
  const cols = P as unknown as Record<string, Float32Array | undefined>;
  const values = mults.values[p];
  for (let k = 0; k < mults.columns.length; k++) {
    const col = cols[mults.columns[k]];
    if (col !== undefined) col[eid] = values[k];
  }
}

/** The built-in profiles' multipliers for the default needs. */
const BUILT_IN: MultiplierTable = (() => {
  const needs = [...new Set(PROFILES.flatMap((p) => Object.keys(p.needs)))];
  return { columns: needs.map((n) => `${n}_mult`), values: PROFILES.map((spec) => Float64Array.from(needs, (n) => spec.needs[n] ?? 1)) };
})();

export const personalityPlugin = definePlugin({
  name: "personality",
  doc: "assigns each new agent a personality profile (override by name, else a weighted draw)",
  components: { Personality },
  state: buildTables,
  checks: needMultiplierProblems,
  observations: personalityObservations,
  onAgentSpawn({ world, rng, state, components: { Personality: P } }, eid) {
    world.addComponent(eid, Personality);
    // Always draw, so an override does not shift the draws of the agents after it.
    const u = rng.next();
    const override = state.overrides.size > 0 ? state.overrides.get(world.agentName(eid)) : undefined;
    const p = override ?? pickProfile(state.cumulative, state.profile, u);
    applyProfile(P, eid, p, state.mults);
    state.spawnedEid = eid;
    state.spawnedProfile = p;
  },
  onAgentReady({ state, components: { Personality: P } }, eid) {
    if (state.spawnedEid === eid && P.profile[eid] !== state.spawnedProfile && P.profile[eid] < PROFILES.length) {
      applyProfile(P, eid, P.profile[eid], state.mults);
    }
    state.spawnedEid = -1;
  },
  kpis({ world, components: { Personality: P } }) {
    const counts: Record<string, number> = {};
    for (const n of PROFILE_NAMES) counts[n] = 0;
    const agents = world.agents;
    for (let i = 0; i < agents.length; i++) counts[PROFILE_NAMES[P.profile[agents[i]]] ?? "balanced"]++;
    return { personality_profiles: counts };
  },
});
