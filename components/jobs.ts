// Jobs as columns by job index (config order of `jobs`): shift ticks, wages, lateness penalty
// and workplace tile, read by employment, the option executor, the scripted controller, the
// console and telemetry; and the length of a day.
import type { World } from "../engine/world.ts";
import type { ConfigSections } from "../engine/config/sections.ts";

export interface JobTable {
  readonly names: readonly string[];
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** The job's own wage_rate (0 = use economy.wage_income, read each tick). */
  readonly wage: Float64Array;
  readonly latenessPenalty: Float64Array;
  /** Workplace tile, -1 = anywhere. */
  readonly x: Int32Array;
  readonly y: Int32Array;
}

const cache = new WeakMap<object, JobTable>();

/** The jobs of a config (cached: settings never change during a run). */
export function compileJobs(settings: ConfigSections): JobTable {
  const known = cache.get(settings);
  if (known) return known;
  const names = Object.keys(settings.jobs);
  const n = names.length;
  const t: JobTable = {
    names,
    start: new Int32Array(n),
    end: new Int32Array(n),
    wage: new Float64Array(n),
    latenessPenalty: new Float64Array(n),
    x: new Int32Array(n).fill(-1),
    y: new Int32Array(n).fill(-1),
  };
  names.forEach((name, j) => {
    const spec = settings.jobs[name];
    t.start[j] = spec.start_tick;
    t.end[j] = Math.max(spec.start_tick, spec.end_tick);
    t.wage[j] = spec.wage_rate;
    t.latenessPenalty[j] = spec.lateness_penalty;
    if (spec.location) {
      t.x[j] = spec.location[0];
      t.y[j] = spec.location[1];
    }
  });
  cache.set(settings, t);
  return t;
}

/** The jobs of a world's config. */
export function jobTable(world: World): JobTable {
  return compileJobs(world.settings);
}
