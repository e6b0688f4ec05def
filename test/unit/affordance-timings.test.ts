// affordances.runtime.instrumentation (systems/affordances/timings.ts): "timings" records counts
// and milliseconds per affordance (starts, finishes, failures, hooks by stage), read by the
// affordance_timings console command and telemetry's affordance_timings section, without changing
// the simulation; "off" (the default) builds the plain runtime and hook registry, nothing timed.
import { describe, expect, it } from "vitest";
import type { World } from "../../engine/world.ts";
import { HookRegistry } from "../../systems/affordances/hooks.ts";
import { Runtime } from "../../systems/affordances/runtime.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import type { AffordanceTiming } from "../../systems/affordances/timings.ts";
import type { CommandResultT, ConsoleService, Principal } from "../../systems/console/index.ts";
import type { TelemetryPublisher } from "../../systems/telemetry/index.ts";
import { makeWorld } from "../helpers/world.ts";

const TICKS = 400;

/** Six agents of the default town (the scripted controller), instrumentation as given. */
function town(instrumentation: "off" | "timings"): World {
  return makeWorld({ world: { agents_per_town: 6 }, affordances: { runtime: { instrumentation } } });
}

const resOf = (w: World) => w.state<AffordancesResource>("affordances");

async function command(w: World, name: string): Promise<CommandResultT> {
  const who: Principal = { role: "viewer", label: "eve" };
  const p = w.state<ConsoleService>("console").submit({ name, args: {} }, who, "local");
  const settled = await Promise.race([p, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
  if (settled) return settled;
  w.step();
  return p;
}

describe("affordances.runtime.instrumentation", () => {
  it('"timings": counts per affordance that match the completion and failure counters, and the same hash stream as "off"', () => {
    const [off, on] = [town("off"), town("timings")];
    for (let t = 1; t <= TICKS; t++) {
      off.step();
      on.step();
      expect(on.stateHash(), `tick ${t}`).toBe(off.stateHash());
    }
    const { st, timings } = resOf(on);
    const report = timings!.report(st.registry);
    const rows = Object.entries(report);
    expect(rows.length).toBeGreaterThan(0);
    let fails = 0;
    let finished = 0;
    for (const [id, r] of rows) {
      const aff = st.registry.affordanceIndex(id);
      expect(r.finishes, id).toBe(st.completed[aff] ?? 0);
      expect(r.started, id).toBeLessThanOrEqual(r.starts);
      for (const ms of [r.start_ms, r.finish_ms, r.fail_ms, r.hook_ms.before, r.hook_ms.after, r.hook_ms.fail]) expect(ms, id).toBeGreaterThanOrEqual(0);
      if (r.starts > 0) expect(r.start_ms, id).toBeGreaterThan(0);
      fails += r.fails;
      finished += r.finishes;
    }
    expect(finished).toBeGreaterThan(0);
    expect(fails).toBe(st.counters.failures);
    // The core affordances run the built-in hooks (before on every start that passes its checks).
    expect(rows.some(([, r]) => r.hook_calls > 0 && r.hook_ms.before > 0)).toBe(true);
  });

  it('"off": the plain runtime and hook registry, nothing recorded', () => {
    const w = town("off");
    w.run(50);
    const res = resOf(w);
    expect(res.rt.constructor).toBe(Runtime);
    expect(res.st.hooks.constructor).toBe(HookRegistry);
    expect(res.timings).toBeUndefined();
  });

  it("the console's affordance_timings answers with the figures, or says how to turn them on", async () => {
    const on = town("timings");
    on.run(TICKS);
    const r = await command(on, "affordance_timings");
    expect(r.status, JSON.stringify(r.error)).toBe("ok");
    const body = r.result as { instrumentation: string; affordances: Record<string, AffordanceTiming> };
    expect(body.instrumentation).toBe("timings");
    expect(Object.keys(body.affordances).length).toBeGreaterThan(0);
    const off = await command(town("off"), "affordance_timings");
    expect(off.status).toBe("error");
    expect(off.error?.code).toBe("unavailable");
    expect(off.error?.message).toMatch(/affordances\.runtime\.instrumentation: "timings"/);
  });

  it("telemetry carries an affordance_timings section with timings, none without", () => {
    const on = town("timings");
    const off = town("off");
    on.run(TICKS);
    off.run(10);
    const section = (w: World) => (w.state<TelemetryPublisher>("telemetry").state() as Record<string, unknown>).affordance_timings;
    const s = section(on) as Record<string, AffordanceTiming>;
    expect(Object.values(s).some((r) => r.finishes > 0)).toBe(true);
    expect(section(off)).toBeUndefined();
  });
});
