// The scenario plug-in on tiny hand-made scenarios: spawning, the cursor rules of each schedule
// entry kind, affordance name resolution and stubs, and the errors for unknown names.
import { describe, expect, it } from "vitest";

import { makeWorld } from "../helpers/world.ts";
import { ConfigError } from "../../engine/config/loader.ts";
import { Town } from "../../engine/core-components.ts";
import { Activity, Intent, IntentKind, Option } from "../../components/activity.ts";
import { Position } from "../../components/space.ts";
import { Needs } from "../../components/needs.ts";
import { Wallet } from "../../components/economy.ts";
import { Employment, Personality } from "../../components/people.ts";
import { AffordanceFail, ChatSuccess } from "../../components/messages.ts";
import { affordanceRegistry, objectById } from "../../systems/affordances/index.ts";
import { ScenarioError, scenarioCursor, type ScenarioState } from "../../systems/scenario/index.ts";
import type { World } from "../../engine/world.ts";

type Json = Record<string, unknown>;

/** A 10x10 town without need decay, with the given scenario (ticks default 50). */
function scenarioWorld(scenario: Json, extra: Json = {}): World {
  return makeWorld({
    world: { grid_size: [10, 10], agents_per_town: 4 },
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    jobs: { cafe: { start_tick: 500, end_tick: 520 } },
    scenario: { ticks: 50, ...scenario },
    ...extra,
  });
}

const shower = { id: "s", type: "shower", position: [3, 0] };
const cursor = (w: World, name: string) => scenarioCursor(w, name)?.entry;
const intent = (w: World, name: string) => w.columns(Intent).kind[w.agentEid(name)];

describe("scenario agents", () => {
  it("spawns only the scenario's agents, with their tile, needs and wallet", () => {
    const w = scenarioWorld({ agents: [{ id: "ada", position: [4, 5], needs: { hunger: 0.3, hygiene: 0.4, energy: 0.9 }, wallet: 2.5 }] });
    expect(w.agents.length).toBe(1);
    const eid = w.agentEid("ada");
    expect([w.columns(Position).x[eid], w.columns(Position).y[eid]]).toEqual([4, 5]);
    expect(w.columns(Needs).hunger[eid]).toBeCloseTo(0.3);
    expect(w.columns(Needs).hygiene[eid]).toBeCloseTo(0.4);
    expect(w.columns(Needs).energy[eid]).toBeCloseTo(0.9);
    expect(w.columns(Wallet).money[eid]).toBeCloseTo(2.5);
    expect(w.has(eid, Wallet)).toBe(true);
  });

  it("spawns the same agents in every town, named id@town beyond town 0", () => {
    const w = scenarioWorld({ objects: [shower], agents: [{ id: "ada", position: [2, 0], schedule: [{ kind: "request", object: "s" }] }] }, { world: { grid_size: [10, 10], towns: 3 } });
    expect(w.agents.length).toBe(3);
    expect(["ada", "ada@1", "ada@2"].map((n) => w.columns(Town).id[w.agentEid(n)])).toEqual([0, 1, 2]);
    w.run(1);
    // Each town's copy requests its own town's object.
    for (let t = 0; t < 3; t++) expect(w.columns(Activity).holding[w.agentEid(t ? `ada@${t}` : "ada")]).toBe(objectById(w, t, "s"));
  });

  it("gives a job by name and a personality profile (any case)", () => {
    const w = scenarioWorld({ agents: [{ id: "ada", job: "cafe", personality_profile: "Stoic" }] });
    const eid = w.agentEid("ada");
    expect(w.columns(Employment).job[eid]).toBe(0);
    expect(w.columns(Personality).profile[eid]).toBe(3);
    expect(w.columns(Personality).forgiveness[eid]).toBeCloseTo(0.5);
  });

  it("marks scheduled agents as externally driven and leaves agents without a schedule to the policy", () => {
    const w = scenarioWorld({ agents: [{ id: "ada", schedule: [{ kind: "wait" }] }, { id: "bob" }] });
    expect(w.columns(Option).external[w.agentEid("ada")]).toBe(1);
    expect(w.columns(Option).external[w.agentEid("bob")]).toBe(0);
    expect(scenarioCursor(w, "bob")).toEqual({ entry: 0, since: 1 });
  });
});

describe("schedule cursor", () => {
  it("move: walks a tile per tick and advances the tick after it stands on the position; replays cyclically", () => {
    const w = scenarioWorld({ agents: [{ id: "ada", position: [0, 0], schedule: [{ kind: "move", position: [2, 0] }, { kind: "wait" }] }] });
    const P = w.columns(Position);
    const eid = w.agentEid("ada");
    w.step();
    expect([P.x[eid], P.y[eid], cursor(w, "ada")]).toEqual([1, 0, 0]);
    w.step();
    expect([P.x[eid], P.y[eid], cursor(w, "ada")]).toEqual([2, 0, 0]);
    w.step();
    expect(cursor(w, "ada")).toBe(1);
    expect(intent(w, "ada")).toBe(IntentKind.Wait);
    w.step();
    expect(cursor(w, "ada")).toBe(0);
    expect(intent(w, "ada")).toBe(IntentKind.Move);
  });

  it("request: walks until adjacent, requests, and advances after the tick of the attempt", () => {
    const w = scenarioWorld({ objects: [shower], agents: [{ id: "ada", position: [0, 0], wallet: 1, schedule: [{ kind: "request", object: "s", affordance: "use_shower" }, { kind: "release", object: "s" }] }] });
    const A = w.columns(Activity);
    const eid = w.agentEid("ada");
    const s = objectById(w, 0, "s");
    w.run(2); // (0,0) -> (1,0) -> (2,0): adjacent, no attempt yet
    expect(A.holding[eid]).toBe(0);
    expect(cursor(w, "ada")).toBe(0);
    w.step(); // the attempt: granted
    expect(A.holding[eid]).toBe(s);
    expect(A.pending[eid]).toBe(affordanceRegistry(w).affordanceIndex("use_shower"));
    expect(cursor(w, "ada")).toBe(0);
    w.step();
    expect(cursor(w, "ada")).toBe(1);
    expect(intent(w, "ada")).toBe(IntentKind.Release);
    expect(A.holding[eid]).toBe(0);
  });

  it("request: a waiter in the queue advances too; a blocked request counts toward the ghost step", () => {
    const w = scenarioWorld(
      {
        objects: [shower],
        agents: [
          { id: "ada", position: [2, 0], schedule: [{ kind: "request", object: "s" }, { kind: "blocked", object: "s" }] },
          { id: "bob", position: [4, 0], schedule: [{ kind: "request", object: "s", blocked: true }, { kind: "blocked", object: "s" }] },
        ],
      },
      { queue_fairness: { ghost_step_after: 2 } },
    );
    const A = w.columns(Activity);
    const s = objectById(w, 0, "s");
    w.step();
    expect(A.holding[w.agentEid("ada")]).toBe(s);
    expect(A.queued[w.agentEid("bob")]).toBe(s);
    w.step();
    expect([cursor(w, "ada"), cursor(w, "bob")]).toEqual([1, 1]);
    expect(intent(w, "bob")).toBe(IntentKind.Blocked);
    expect(w.columns(Intent).object[w.agentEid("bob")]).toBe(s);
    // ada holds without using it: bob's blocked attempts ghost-step her.
    w.run(2);
    expect(w.kpis().queue_ghost_steps).toBeGreaterThan(0);
  });

  it("start: advances once the affordance runs, then holds (writing Wait) while the agent is busy", () => {
    const w = scenarioWorld({
      objects: [shower],
      agents: [{ id: "ada", position: [2, 0], wallet: 1, schedule: [{ kind: "start", object: "s", affordance: "use_shower" }, { kind: "wait" }, { kind: "wait" }] }],
    });
    const A = w.columns(Activity);
    const eid = w.agentEid("ada");
    w.step();
    expect(A.running[eid]).toBe(affordanceRegistry(w).affordanceIndex("use_shower"));
    expect(cursor(w, "ada")).toBe(0);
    w.step();
    expect(cursor(w, "ada")).toBe(1);
    for (let t = 0; t < 10; t++) {
      w.step();
      expect(cursor(w, "ada")).toBe(1);
      expect(intent(w, "ada")).toBe(IntentKind.Wait);
    }
    w.run(30 - w.tick); // use_shower runs 30 ticks: it finishes at tick 30
    expect(A.running[eid]).toBe(-1);
    expect(cursor(w, "ada")).toBe(1);
    w.step(); // the wait entry is written once the agent is free ...
    expect(cursor(w, "ada")).toBe(1);
    w.step(); // ... and takes one tick
    expect(cursor(w, "ada")).toBe(2);
  });

  it("start: advances after a failed attempt (Activity.last_fail_tick)", () => {
    const w = scenarioWorld({ objects: [shower], agents: [{ id: "ada", position: [2, 0], wallet: 0, schedule: [{ kind: "start", object: "s", affordance: "use_shower" }, { kind: "wait" }] }] });
    w.step();
    expect(w.lastTick(AffordanceFail).count).toBe(1);
    expect(w.columns(Activity).last_fail_tick[w.agentEid("ada")]).toBe(1);
    w.step();
    expect(cursor(w, "ada")).toBe(1);
  });

  it("release: interrupts the running affordance on that object", () => {
    const w = scenarioWorld({
      objects: [shower],
      agents: [{ id: "ada", position: [2, 0], wallet: 1, schedule: [{ kind: "start", object: "s", affordance: "use_shower" }, { kind: "release", object: "s" }, { kind: "wait" }] }],
    });
    w.run(2);
    const fail = w.lastTick(AffordanceFail);
    expect(fail.count).toBe(1);
    expect(w.text(fail.reason[fail.start])).toBe("released");
    expect(w.columns(Activity).holding[w.agentEid("ada")]).toBe(0);
    w.step();
    expect(cursor(w, "ada")).toBe(2);
  });

  it("chat: talks to the named agent of the same town with quality 0.5, one tick", () => {
    const w = scenarioWorld({
      agents: [
        { id: "ada", position: [1, 1], schedule: [{ kind: "chat", target: "bob" }, { kind: "wait" }] },
        { id: "bob", position: [1, 2] },
      ],
    });
    w.step();
    const I = w.columns(Intent);
    const ada = w.agentEid("ada");
    expect(I.kind[ada]).toBe(IntentKind.Chat);
    expect(I.target[ada]).toBe(w.agentEid("bob"));
    expect(I.quality[ada]).toBeCloseTo(0.5);
    expect(w.lastTick(ChatSuccess).count).toBe(1);
    w.step();
    expect(cursor(w, "ada")).toBe(1);
  });

  it("keeps its cursors in the state hash and snapshots", () => {
    const scenario = { agents: [{ id: "ada", position: [0, 0], schedule: [{ kind: "move", position: [3, 0] }, { kind: "wait" }] }] };
    const a = scenarioWorld(scenario);
    const b = scenarioWorld(scenario);
    a.run(4);
    b.run(4);
    expect(a.stateHash()).toBe(b.stateHash());
    const sa = a.state<ScenarioState>("scenario");
    const fresh = scenarioWorld(scenario);
    const sf = fresh.state<ScenarioState>("scenario");
    sf.load(JSON.parse(JSON.stringify(sa.save())));
    expect(scenarioCursor(fresh, "ada")).toEqual(scenarioCursor(a, "ada"));
    const before = sa.cursor[0];
    sa.cursor[0] = before + 1;
    expect(a.stateHash()).not.toBe(b.stateHash());
    sa.cursor[0] = before;
  });
});

describe("affordance names in schedules", () => {
  it("resolves a prefix to the type's affordance, a request's unknown name to the type's first, and stubs the rest", () => {
    const w = scenarioWorld({
      objects: [
        { id: "stove", type: "stove", position: [5, 5] },
        { id: "fridge", type: "fridge", position: [5, 6] },
        { id: "desk", type: "checkout", position: [7, 7] },
        { id: "till", type: "till", position: [8, 8] },
      ],
      agents: [
        {
          id: "ada",
          position: [4, 5],
          job: "cafe",
          schedule: [
            { kind: "start", object: "stove", affordance: "cook" },
            { kind: "request", object: "fridge", affordance: "cook" },
            { kind: "request", object: "desk", affordance: "work_shift" },
            { kind: "start", object: "till", affordance: "count", duration: 7 },
          ],
        },
        { id: "bob", position: [6, 7], schedule: [{ kind: "start", object: "desk", affordance: "tidy" }, { kind: "start", object: "stove", affordance: "eat_meal" }] },
      ],
    });
    const reg = affordanceRegistry(w);
    const s = w.state<ScenarioState>("scenario");
    const id = (e: number) => reg.affordances[s.aff[e]]?.id;
    expect(id(0)).toBe("cook_meal");
    expect(id(1)).toBe("eat_meal");
    expect(id(2)).toBe("work_shift");
    expect(reg.affordances[s.aff[2]].duration).toBe(20); // ada's shift: 520 - 500
    expect(reg.types[reg.affordances[s.aff[2]].type]).toBe("checkout");
    expect(reg.affordances[s.aff[3]].duration).toBe(7); // the entry's own duration
    expect(id(4)).toBe("tidy");
    expect(reg.affordances[s.aff[4]].duration).toBe(30); // no job
    // eat_meal is the fridge's: the stove gets a stub of its own.
    expect(id(5)).toBe("eat_meal@stove");
    expect(reg.types[reg.affordances[reg.affordanceIndex("eat_meal")].type]).toBe("fridge");
    const stub = reg.affordances[s.aff[2]];
    expect([stub.effects, stub.hunger, stub.money]).toEqual([{}, 0, 0]);
  });
});

describe("scenario errors", () => {
  it("refuses an unknown object at setup, with the entry's path", () => {
    // No scenario objects: the manifest's (shower_1, fridge_1, bed_1) are the town's.
    const build = () => scenarioWorld({ agents: [{ id: "ada", schedule: [{ kind: "wait" }, { kind: "request", object: "fridge_2" }] }] });
    expect(build).toThrow(ScenarioError);
    expect(build).toThrow(/scenario\.agents\[0\]\.schedule\[1\]\.object: unknown object "fridge_2" .*did you mean "fridge_1"/);
  });

  it("refuses at load, with the line, an object the scenario does not list, an unknown chat partner and a move without a tile", () => {
    let err: unknown;
    try {
      scenarioWorld({
        objects: [shower],
        agents: [
          { id: "ada", schedule: [{ kind: "start", object: "x" }, { kind: "chat", target: "nobody" }] },
          { id: "bob", schedule: [{ kind: "move" }, { kind: "request" }] },
        ],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/<config>:\d+: scenario\.agents\[0\]\.schedule\[0\]\.object: unknown object "x" \(objects: "s"\)/);
    expect(msg).toMatch(/scenario\.agents\[0\]\.schedule\[1\]\.target: unknown agent "nobody" \(other scenario agents: "bob"\)/);
    expect(msg).toMatch(/scenario\.agents\[1\]\.schedule\[0\]\.position: expected a tile \[x, y\] to move to/);
    expect(msg).toMatch(/scenario\.agents\[1\]\.schedule\[1\]\.object: expected an object id for a request/);
  });

  it("refuses a tile outside the grid", () => {
    expect(() => scenarioWorld({ agents: [{ id: "ada", position: [10, 0] }] })).toThrow(/scenario\.agents\[0\]\.position: expected a tile inside the 10x10 grid, got \[10, 0\]/);
  });
});
