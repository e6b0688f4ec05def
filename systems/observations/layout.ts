// Observation layout: map channels and window per variant, and the feature vector's names and
// offsets (inventory 5.1-5.2, the original's `_build_feature_names`). Derived from settings once
// per world; the builder writes by these offsets and the spec hands the names to consumers.
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { AnyPlugin } from "../../engine/plugin.ts";
import { NEED_NAMES, needTable } from "../../components/needs.ts";

export const VARIANTS = ["full", "hybrid", "compact"] as const;
export type ObservationVariant = (typeof VARIANTS)[number];

/** Channels of the hybrid map; full adds path_dx, path_dy; compact adds object:<type>… and walkable. */
export const MAP_CHANNELS = ["self", "agents", "objects", "reservations"] as const;
export const CH_SELF = 0;
export const CH_AGENTS = 1;
export const CH_OBJECTS = 2;
export const CH_RESERVATIONS = 3;
export const CH_PATH_DX = 4;

/**
 * The base features after the needs, in order. A row starts with one `need_<name>` feature per
 * observed need of the world's table (components/needs.ts), then these.
 */
export const AGENT_FEATURES = [
  "wallet",
  "lateness_counter",
  "on_shift",
  "time_sin",
  "time_cos",
  "attendance_ratio",
  "wages_withheld",
  "shift_pre",
  "shift_on_time",
  "shift_late",
  "shift_absent",
  "shift_post",
  "embedding_slot_norm",
  "ctx_reset_flag",
  "episode_progress",
  "rivalry_max",
  "rivalry_avoid_count",
  "last_action_id_hash",
  "last_action_success",
  "last_action_duration",
  "reservation_active",
  "in_queue",
  "path_hint_north",
  "path_hint_south",
  "path_hint_east",
  "path_hint_west",
  "neighbor_agent_ratio",
  "neighbor_object_ratio",
  "reserved_tile_ratio",
  "nearest_agent_distance",
] as const;

/** The 33 base features of the default needs (NEED_NAMES), in order. */
export const BASE_FEATURES: readonly string[] = [...NEED_NAMES.map((n) => `need_${n}`), ...AGENT_FEATURES];

// Indices of the agent features the observations plug-in writes, counted from the first one after
// the needs (FeatureLayout.agent).
export const F_TIME_SIN = 3;
export const F_TIME_COS = 4;
export const F_SLOT = 12;
export const F_CTX_RESET = 13;
export const F_EPISODE = 14;
export const F_AGENT_RATIO = 26;

/** Object types with landmark features when include_targets is on, in order. */
export const LANDMARKS = ["fridge", "stove", "bed", "shower"] as const;
export const PERSONALITY_FEATURES = ["personality_extroversion", "personality_forgiveness", "personality_ambition"] as const;
export const SOCIAL_AGGREGATES = ["social_trust_mean", "social_trust_max", "social_rivalry_mean", "social_rivalry_max"] as const;

/**
 * The features of the original's order that the observations plug-in writes itself: the time of
 * day, its own state (embedding slot, context reset, episode progress) and the local summary of
 * the map walk. Every other feature is declared and written by the plug-in that computes it
 * (`PluginDef.observations`, engine/observation.ts): the need features (needs), wallet (economy),
 * the employment features (employment), the last action (options), reservation, queue, path
 * hints and landmarks (affordances), rivalry and the social snippet (social), personality.
 */
export const OWN_FEATURES: ReadonlySet<string> = new Set([
  ...AGENT_FEATURES.slice(F_TIME_SIN, F_TIME_COS + 1),
  ...AGENT_FEATURES.slice(F_SLOT, F_EPISODE + 1),
  ...AGENT_FEATURES.slice(F_AGENT_RATIO),
]);

/** Features of the original's order that read 1 when no loaded plug-in declares them (an agent without employment is before its shift). */
const DEFAULT_ONE: ReadonlySet<string> = new Set(["shift_pre"]);

/** A plug-in's declared features: the plug-in and the offset in a row of each of its features, in its order. */
export interface DeclaredFeatures {
  plugin: AnyPlugin;
  at: Int32Array;
}

/** Where everything sits in one agent's feature row. */
export interface FeatureLayout {
  names: readonly string[];
  /** Features per agent. */
  count: number;
  /** Table index of the need of each need feature (features 0 .. needs.length - 1). */
  needs: Int32Array;
  /** First agent feature (wallet): the number of need features. */
  agent: number;
  /** First landmark feature (fridge_dx), -1 without include_targets. */
  landmarks: number;
  /** First personality feature, -1 without features.observations.personality_channels. */
  personality: number;
  /** First social feature. */
  social: number;
  friends: number;
  rivals: number;
  embedDim: number;
  /** embed_dim + 3: the embedding, then trust, familiarity, rivalry. */
  slotDim: number;
  /** First aggregate feature, -1 without aggregates. */
  aggregates: number;
  /** The plug-ins that declare features, in plug-in order, with their slots. */
  declared: DeclaredFeatures[];
  /** Slots of the original's order no plug-in declares that read 1 (shift_pre without employment). */
  ones: Int32Array;
}


/**
 * Places every plug-in's declared features: a name of the original's order keeps its slot, a new
 * name goes after them (plug-in order, then each plug-in's order). A name two plug-ins declare,
 * or one the observations plug-in writes itself, is an error naming the plug-in.
 */
function placeDeclared(names: string[], plugins: readonly AnyPlugin[], settings: ConfigSections): { declared: DeclaredFeatures[]; ones: Int32Array } {
  const original = new Map<string, number>();
  names.forEach((n, i) => original.set(n, i));
  const owner = new Map<string, string>();
  const declared: DeclaredFeatures[] = [];
  for (const plugin of plugins) {
    const list = plugin.observations?.features(settings);
    if (!list || list.length === 0) continue;
    const at = new Int32Array(list.length);
    list.forEach((name, k) => {
      if (OWN_FEATURES.has(name)) throw new Error(`observation feature "${name}" of plug-in "${plugin.name}": the observations plug-in writes it`);
      const prev = owner.get(name);
      if (prev !== undefined) throw new Error(`observation feature "${name}" is declared by plug-ins "${prev}" and "${plugin.name}"`);
      owner.set(name, plugin.name);
      let slot = original.get(name);
      if (slot === undefined) {
        slot = names.length;
        names.push(name);
      }
      at[k] = slot;
    });
    declared.push({ plugin, at });
  }
  const ones: number[] = [];
  for (const [name, i] of original) if (DEFAULT_ONE.has(name) && !owner.has(name)) ones.push(i);
  return { declared, ones: Int32Array.from(ones) };
}

/**
 * The feature row of a world: the original's order (needs, agent features, landmarks,
 * personality, social snippet, aggregates), then the features `plugins` declare that it lacks.
 * Without `plugins`, the original's names only and no writers.
 */
export function featureLayout(settings: ConfigSections, plugins: readonly AnyPlugin[] = []): FeatureLayout {
  const oc = settings.observations_config;
  const observed = needTable(settings).observed;
  const names: string[] = [...observed.map((n) => `need_${n.name}`), ...AGENT_FEATURES];
  let landmarks = -1;
  // As the original: either variant's include_targets adds the landmarks to every variant.
  if (oc.hybrid.include_targets || oc.compact.include_targets) {
    landmarks = names.length;
    for (const l of LANDMARKS) names.push(`${l}_dx`, `${l}_dy`, `${l}_dist`);
  }
  let personality = -1;
  if (settings.features.observations.personality_channels) {
    personality = names.length;
    names.push(...PERSONALITY_FEATURES);
  }
  const s = oc.social_snippet;
  const social = names.length;
  const slotDim = s.embed_dim + 3;
  for (let k = 0; k < s.top_friends + s.top_rivals; k++) for (let d = 0; d < slotDim; d++) names.push(`social_slot${k}_d${d}`);
  let aggregates = -1;
  if (s.include_aggregates) {
    aggregates = names.length;
    names.push(...SOCIAL_AGGREGATES);
  }
  const { declared, ones } = placeDeclared(names, plugins, settings);
  return {
    names,
    count: names.length,
    needs: Int32Array.from(observed, (n) => n.index),
    agent: observed.length,
    landmarks,
    personality,
    social,
    friends: s.top_friends,
    rivals: s.top_rivals,
    embedDim: s.embed_dim,
    slotDim,
    aggregates,
    declared,
    ones,
  };
}

/** Map shape of a variant. */
export interface MapLayout {
  variant: ObservationVariant;
  channels: readonly string[];
  /** Window side (odd); the agent sits at [radius, radius]. */
  window: number;
  radius: number;
  /** Compact: the object types with their own channel (lower-cased, deduplicated), from channel 4. */
  objectChannels: readonly string[];
  /** Compact: counts clamped to 1. */
  normalizeCounts: boolean;
}

export function mapLayout(settings: ConfigSections, variant: ObservationVariant): MapLayout {
  const oc = settings.observations_config;
  if (variant === "compact") {
    const objectChannels: string[] = [];
    for (const n of oc.compact.object_channels) {
      const t = n.trim().toLowerCase();
      if (t && !objectChannels.includes(t)) objectChannels.push(t);
    }
    const window = oc.compact.map_window;
    return {
      variant,
      channels: [...MAP_CHANNELS, ...objectChannels.map((t) => `object:${t}`), "walkable"],
      window,
      radius: (window - 1) / 2,
      objectChannels,
      normalizeCounts: oc.compact.normalize_counts,
    };
  }
  const window = oc.hybrid.local_window;
  return {
    variant,
    channels: variant === "full" ? [...MAP_CHANNELS, "path_dx", "path_dy"] : [...MAP_CHANNELS],
    window,
    radius: (window - 1) / 2,
    objectChannels: [],
    normalizeCounts: false,
  };
}

export function isVariant(v: string): v is ObservationVariant {
  return (VARIANTS as readonly string[]).includes(v);
}
