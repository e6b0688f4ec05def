// Jobs as the options executor and the scripted controller read them: shift ticks and
// locations by job index (config order of `jobs`), and the length of a day.
import type { World } from "../engine/world.ts";

export interface JobTable {
  start: Int32Array;
  end: Int32Array;
  x: Int32Array;
  y: Int32Array;
  names: string[];
}

/** Jobs in config order with their shift ticks and location (-1 = anywhere). */
const cache = new WeakMap<object, JobTable>();

/** The jobs of a world's config (cached: settings never change during a run). */
export function jobTable(world: World): JobTable {
  const known = cache.get(world.settings);
  if (known) return known;
  const names = Object.keys(world.settings.jobs);
  const t: JobTable = {
    start: new Int32Array(names.length),
    end: new Int32Array(names.length),
    x: new Int32Array(names.length).fill(-1),
    y: new Int32Array(names.length).fill(-1),
    names,
  };
  names.forEach((n, i) => {
    const j = world.settings.jobs[n];
    t.start[i] = j.start_tick;
    t.end[i] = j.end_tick;
    if (j.location) {
      t.x[i] = j.location[0];
      t.y[i] = j.location[1];
    }
  });
  cache.set(world.settings, t);
  return t;
}

export function ticksPerDay(world: World): number {
  return world.settings.observations_config.hybrid.time_ticks_per_day;
}

