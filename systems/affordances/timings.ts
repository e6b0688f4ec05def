// `affordances.runtime.instrumentation: "timings"` (the original's per-affordance timings of
// hooks and resolution, logged at debug level there): counts and wall time per affordance of its
// starts (preconditions, funds check and before hooks; a start that fails includes its fail),
// finishes (effects, after hooks, handover, release), failures (fail hooks, release) and of its hook
// calls by stage, read by the `affordance_timings` console command and telemetry's
// `affordance_timings` section. With "off" (the default) none of this exists: the world gets the
// plain Runtime and HookRegistry (the same code as before this file, no check per call); with
// "timings" it gets the subclasses below, which wrap the same methods. Timings are not state:
// neither saved nor hashed, and the simulation is the same either way (the hash stream too).
import type { World } from "../../engine/world.ts";
import type { AffordancesState } from "./state.ts";
import { HookRegistry, type HookCall, type HookFn } from "./hooks.ts";
import { Runtime } from "./runtime.ts";

/** One affordance's figures (times in milliseconds, wall clock). */
export interface AffordanceTiming {
  /** start() calls, and those that started it. */
  starts: number;
  started: number;
  start_ms: number;
  finishes: number;
  finish_ms: number;
  fails: number;
  fail_ms: number;
  /** Hook (and undo) calls and their time by stage; part of the start, finish and fail times. */
  hook_calls: number;
  hook_ms: { before: number; after: number; fail: number };
}

const now = () => performance.now();
const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** The figures by affordance index (rows made on first use). */
export class AffordanceTimings {
  private readonly rows: AffordanceTiming[] = [];
  /** Where a call with no affordance index (< 0) records: never reported. */
  private readonly none = AffordanceTimings.blank();

  private static blank(): AffordanceTiming {
    return { starts: 0, started: 0, start_ms: 0, finishes: 0, finish_ms: 0, fails: 0, fail_ms: 0, hook_calls: 0, hook_ms: { before: 0, after: 0, fail: 0 } };
  }

  row(aff: number): AffordanceTiming {
    if (!(aff >= 0)) return this.none;
    let r = this.rows[aff];
    if (r === undefined) {
      r = AffordanceTimings.blank();
      this.rows[aff] = r;
    }
    return r;
  }

  /** The figures by affordance id (registry order; times rounded to 4 decimals), affordances never used left out. */
  report(registry: { readonly affordances: readonly ({ readonly id: string } | undefined)[] }): Record<string, AffordanceTiming> {
    const out: Record<string, AffordanceTiming> = {};
    for (let i = 0; i < this.rows.length; i++) {
      const r = this.rows[i];
      if (r === undefined) continue;
      const h = r.hook_ms;
      out[registry.affordances[i]?.id ?? String(i)] = {
        ...r,
        start_ms: round(r.start_ms),
        finish_ms: round(r.finish_ms),
        fail_ms: round(r.fail_ms),
        hook_ms: { before: round(h.before), after: round(h.after), fail: round(h.fail) },
      };
    }
    return out;
  }
}

/**
 * Several reports as one (a sharded world's blocks', in block order: the merged telemetry section
 * and console answer, tools/serve-shard-exact.ts): every count and every time summed per
 * affordance and hook stage, the times rounded again to 4 decimals. Affordances in the order the
 * reports list them (block 0's first, then those only later blocks used).
 */
export function sumTimingReports(reports: readonly (Readonly<Record<string, AffordanceTiming>> | undefined)[]): Record<string, AffordanceTiming> {
  const out: Record<string, AffordanceTiming> = {};
  for (const rep of reports) {
    if (rep === null || typeof rep !== "object") continue;
    for (const [id, r] of Object.entries(rep)) {
      const t = (out[id] ??= { starts: 0, started: 0, start_ms: 0, finishes: 0, finish_ms: 0, fails: 0, fail_ms: 0, hook_calls: 0, hook_ms: { before: 0, after: 0, fail: 0 } });
      t.starts += r.starts;
      t.started += r.started;
      t.start_ms += r.start_ms;
      t.finishes += r.finishes;
      t.finish_ms += r.finish_ms;
      t.fails += r.fails;
      t.fail_ms += r.fail_ms;
      t.hook_calls += r.hook_calls;
      for (const k of ["before", "after", "fail"] as const) t.hook_ms[k] += r.hook_ms[k];
    }
  }
  for (const t of Object.values(out)) {
    t.start_ms = round(t.start_ms);
    t.finish_ms = round(t.finish_ms);
    t.fail_ms = round(t.fail_ms);
    for (const k of ["before", "after", "fail"] as const) t.hook_ms[k] = round(t.hook_ms[k]);
  }
  return out;
}

/** The runtime with its start, finish and fail timed (every loop calls these, kernels included). */
export class TimedRuntime extends Runtime {
  constructor(
    world: World,
    st: AffordancesState,
    readonly timings: AffordanceTimings,
  ) {
    super(world, st);
  }

  override start(agent: number, obj: number, aff: number): boolean {
    const t = now();
    const ok = super.start(agent, obj, aff);
    const r = this.timings.row(aff);
    r.starts++;
    if (ok) r.started++;
    r.start_ms += now() - t;
    return ok;
  }

  override finish(agent: number, obj: number): void {
    const aff = this.A.running[agent];
    const t = now();
    super.finish(agent, obj);
    const r = this.timings.row(aff);
    r.finishes++;
    r.finish_ms += now() - t;
  }

  override fail(agent: number, obj: number, aff: number, reason: string): false {
    const t = now();
    super.fail(agent, obj, aff, reason);
    const r = this.timings.row(aff);
    r.fails++;
    r.fail_ms += now() - t;
    return false;
  }
}

/** The hook registry whose functions (hooks and undos) come back timed, by the call's affordance and stage. */
export class TimedHookRegistry extends HookRegistry {
  private readonly wrapped = new Map<HookFn, HookFn>();

  constructor(private readonly timings: AffordanceTimings) {
    super();
  }

  private timed(fn: HookFn | undefined): HookFn | undefined {
    if (fn === undefined) return undefined;
    let w = this.wrapped.get(fn);
    if (w === undefined) {
      const timings = this.timings;
      w = (c: HookCall) => {
        const t = now();
        try {
          fn(c);
        } finally {
          const r = timings.row(c.affordance);
          r.hook_calls++;
          r.hook_ms[c.stage] += now() - t;
        }
      };
      this.wrapped.set(fn, w);
    }
    return w;
  }

  override get(name: string): HookFn | undefined {
    return this.timed(super.get(name));
  }

  override undo(name: string): HookFn | undefined {
    return this.timed(super.undo(name));
  }
}

/** The world's runtime and hook registry for its instrumentation setting (index.ts state). */
export function instrumentedRuntime(world: World, st: AffordancesState): { rt: Runtime; timings: AffordanceTimings | undefined } {
  if (world.settings.affordances.runtime.instrumentation !== "timings") return { rt: new Runtime(world, st), timings: undefined };
  const timings = new AffordanceTimings();
  st.hooks = new TimedHookRegistry(timings);
  return { rt: new TimedRuntime(world, st, timings), timings };
}
