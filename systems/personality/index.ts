// Personality (spawn hooks only, no tick system): every new agent gets a profile — the
// `personalities.overrides` entry for its name, else a draw from `personalities.distribution`
// on this plug-in's stream — and that profile's traits and need multipliers (components/profiles.ts).
// Writes Personality. The profile is the source of truth: a spawn whose `init` sets
// Personality.profile gets that profile's traits and multipliers.
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
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
  return { cumulative, profile, overrides, spawnedEid: -1, spawnedProfile: -1 };
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

/** Personality column of each need a profile scales (built once, not per spawn). */
const MULT_COLUMN: Record<string, string> = Object.fromEntries(PROFILES.flatMap((p) => Object.keys(p.needs)).map((n) => [n, `${n}_mult`]));

/** Writes a profile's index, traits and need multipliers to an agent's Personality columns. */
export function applyProfile(P: PersonalityCols, eid: number, p: number): void {
  const spec = PROFILES[p];
  P.profile[eid] = p;
  P.extroversion[eid] = spec.traits.extroversion;
  P.forgiveness[eid] = spec.traits.forgiveness;
  P.ambition[eid] = spec.traits.ambition;
  // Each need the profile scales has a Personality column `<need>_mult` (the needs plug-in reads it).
  const cols = P as unknown as Record<string, Float32Array>;
  for (const need in spec.needs) cols[MULT_COLUMN[need] ?? `${need}_mult`][eid] = spec.needs[need];
}

export const personalityPlugin = definePlugin({
  name: "personality",
  doc: "assigns each new agent a personality profile (override by name, else a weighted draw)",
  components: { Personality },
  state: buildTables,
  observations: personalityObservations,
  onAgentSpawn({ world, rng, state, components: { Personality: P } }, eid) {
    world.addComponent(eid, Personality);
    // Always draw, so an override does not shift the draws of the agents after it.
    const u = rng.next();
    const override = state.overrides.size > 0 ? state.overrides.get(world.agentName(eid)) : undefined;
    const p = override ?? pickProfile(state.cumulative, state.profile, u);
    applyProfile(P, eid, p);
    state.spawnedEid = eid;
    state.spawnedProfile = p;
  },
  onAgentReady({ state, components: { Personality: P } }, eid) {
    if (state.spawnedEid === eid && P.profile[eid] !== state.spawnedProfile && P.profile[eid] < PROFILES.length) {
      applyProfile(P, eid, P.profile[eid]);
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
