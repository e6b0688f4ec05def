// The day: how many ticks one simulated day lasts. One owner for every plug-in that counts in
// days (job shifts, daily respawn caps, perturbation probabilities per day, time-of-day
// observation features, the observer's clock, training's per-day rates).
//
// The key is `world.ticks_per_day` (engine/config/core.ts). When it is absent the day is the
// original's `observations_config.hybrid.time_ticks_per_day` (an observation setting there, read
// here for compatibility; its default is 1440), and 1440 when no section gives one. A config
// setting both to different values is refused by the loader (dayLengthProblems), so the two
// can never disagree silently.
import type { ConfigSections } from "./config/sections.ts";

/** Ticks per simulated day when no config key gives one (a minute a tick). */
export const DEFAULT_TICKS_PER_DAY = 1440;

/** The keys the day is read from, in order (for messages and docs). */
export const DAY_KEYS = ["world.ticks_per_day", "observations_config.hybrid.time_ticks_per_day"] as const;

/** The shape read here; plug-in sections are looked at structurally, never imported. */
export interface DaySettings {
  world?: { ticks_per_day?: number };
  observations_config?: { hybrid?: { time_ticks_per_day?: number } };
}

/** Ticks per simulated day of these settings: world.ticks_per_day, else the original's key, else 1440. */
export function ticksPerDay(settings: ConfigSections | DaySettings): number {
  const s = settings as DaySettings;
  return s.world?.ticks_per_day ?? s.observations_config?.hybrid?.time_ticks_per_day ?? DEFAULT_TICKS_PER_DAY;
}

/**
 * The day-length conflict in a config as written (before defaults fill anything in): both keys
 * given with different values. Returns the problem at world.ticks_per_day, naming both keys, or
 * nothing. Values that are not numbers are left to the schema's own messages.
 */
export function dayLengthProblems(raw: unknown): { path: string[]; message: string }[] {
  const r = raw as { world?: { ticks_per_day?: unknown }; observations_config?: { hybrid?: { time_ticks_per_day?: unknown } } } | null;
  const own = r?.world?.ticks_per_day;
  const original = r?.observations_config?.hybrid?.time_ticks_per_day;
  if (typeof own !== "number" || typeof original !== "number" || own === original) return [];
  return [
    {
      path: ["world", "ticks_per_day"],
      message: `${DAY_KEYS[0]} (${own}) and ${DAY_KEYS[1]} (${original}) give different day lengths; set one of them (${DAY_KEYS[0]} is the day; the other is the original's key, read only when it is absent)`,
    },
  ];
}
