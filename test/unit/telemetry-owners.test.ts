// What the telemetry plug-in no longer reads from other plug-ins itself (issue #15 item 2): event
// fields a plug-in gives meaning to are published through its part's `eventFields` (the
// affordance's id, the job's name), the meals an agent cooked and ate are counted by the
// affordances plug-in, and `layout` is the engine's grid and day plus employment's workplaces.
import { describe, expect, it } from "vitest";
import { AffordanceFinish } from "../../components/messages.ts";
import { defineMessage } from "../../engine/message.ts";
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { affordanceRegistry } from "../../systems/affordances/index.ts";
import type { TelemetryPublisher } from "../../systems/telemetry/index.ts";
import { makeWorld } from "../helpers/world.ts";

const pubOf = (w: World) => w.state<TelemetryPublisher>("telemetry");

/** A bell rung by the first agent on tick 2: `bell` is an index only this plug-in can name. */
const BellRang = defineMessage("bell_rang", { agent: "eid", bell: "int", strokes: "int" });
const bells = definePlugin({
  name: "bells",
  messages: [BellRang],
  systems: [
    {
      name: "bells/ring",
      phase: "needs",
      run({ tick, agents, send }) {
        if (tick === 2) send(BellRang, agents[0], 1, 7);
      },
    },
  ],
  telemetry: () => ({ eventFields: { bell: (v) => ["small", "big"][v] } }),
});

describe("event fields", () => {
  it("publish a message's integer field as the plug-in that owns it names it, other fields as numbers", () => {
    const w = makeWorld({ world: { agents_per_town: 2 } }, corePlugins, [bells]);
    const pub = pubOf(w);
    pub.retain();
    w.run(2);
    const rang = pub.lastDiff?.events?.filter((e) => e.event === "bell_rang");
    expect(rang).toEqual([{ event: "bell_rang", tick: 2, agent: pub.publicId(w.agentName(w.agents[0])), bell: "big", strokes: 7 }]);
  });

  it("refuse a field two plug-ins both name, naming both", () => {
    const rival = definePlugin({ name: "rival_jobs", telemetry: () => ({ eventFields: { job: (v) => `job ${v}` } }) });
    const w = makeWorld({ world: { agents_per_town: 2 } }, corePlugins, [rival]);
    pubOf(w).retain();
    expect(() => w.step()).toThrow('telemetry event field "job" is published by plug-ins "employment" and "rival_jobs"');
  });
});

describe("the core plug-ins' parts", () => {
  it("count each agent's cooked and eaten meals (affordances) as its finished cook_meal and eat_meal, and name affordances and jobs in events", () => {
    // No exits and no respawns: every finish belongs to an agent alive at the end, in its entity.
    const w = makeWorld({
      world: { agents_per_town: 6 },
      affordances: { affordances_file: "configs/affordances/town.yaml" },
      lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    });
    const reg = affordanceRegistry(w);
    const cook = reg.affordanceIndex("cook_meal");
    const eat = reg.affordanceIndex("eat_meal");
    const expected = new Map<number, [number, number]>();
    const pub = pubOf(w);
    pub.retain();
    const named = new Set<unknown>();
    let jobEvents = 0;
    w.onTick(() => {
      const v = w.lastTick(AffordanceFinish);
      for (let i = v.start; i < v.end; i++) {
        const m = expected.get(v.agent[i]) ?? [0, 0];
        if (v.affordance[i] === cook) m[0]++;
        if (v.affordance[i] === eat) m[1]++;
        expected.set(v.agent[i], m);
      }
      for (const e of pub.lastDiff?.events ?? []) {
        if (e.event.startsWith("affordance_")) named.add(e.affordance);
        if ("job" in e) {
          jobEvents++;
          expect(typeof e.job === "string" || e.job === null).toBe(true);
        }
      }
    });
    w.run(600);
    expect(w.agents.length).toBe(6);
    const jobs = pub.collection("jobs");
    let cooked = 0;
    let eaten = 0;
    for (const eid of w.agents) {
      const rec = jobs.get(pub.publicId(w.agentName(eid)))!;
      const [c, e] = expected.get(eid) ?? [0, 0];
      expect([rec.meals_cooked, rec.meals_consumed]).toEqual([c, e]);
      cooked += c;
      eaten += e;
    }
    // The run did cook and eat, so the comparison compared something.
    expect(cooked).toBeGreaterThan(0);
    expect(eaten).toBeGreaterThan(0);
    expect([...named].every((a) => typeof a === "string" && reg.affordanceIndex(a) >= 0)).toBe(true);
    expect(named).toContain("eat_meal");
    expect(jobEvents).toBeGreaterThan(0);
  });

  it("publish the layout's grid and day (engine) before the workplaces (employment), as the schema orders them", () => {
    const w = makeWorld({
      world: { agents_per_town: 1, grid_size: [12, 10], ticks_per_day: 100 },
      jobs: { grocer: { start_tick: 10, end_tick: 19, wage_rate: 0.1, lateness_penalty: 0, location: [5, 5] }, courier: { start_tick: 60, end_tick: 69, wage_rate: 0, lateness_penalty: 0 } },
    });
    const pub = pubOf(w);
    pub.retain();
    w.step();
    const layout = pub.state().layout as Record<string, unknown>;
    expect(Object.keys(layout).slice(0, 3)).toEqual(["grid", "ticks_per_day", "jobs"]);
    expect(layout.grid).toEqual({ width: 12, height: 10 });
    expect(layout.ticks_per_day).toBe(100);
    expect(layout.jobs).toEqual([
      { job: "grocer", x: 5, y: 5, start_tick: 10, end_tick: 19 },
      { job: "courier", x: -1, y: -1, start_tick: 60, end_tick: 69 },
    ]);
  });
});
