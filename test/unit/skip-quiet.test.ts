// Quiet agents (issue #19): options/execute and affordances/act skip the agents for which they
// would write the values already there. Every test runs twin worlds, one skipping and one
// looking at every agent every tick (`skipQuiet = false`), and compares their state hash after
// every tick: an agent picked up a tick late (or never) changes Intent, Activity.last_intent /
// last_ok, queues or positions, which are all hashed.
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import { Employment } from "../../components/people.ts";
import { TownEconomy } from "../../components/economy.ts";
import { jobTable } from "../../components/jobs.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { buildWorld } from "../../engine/build.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import type { OptionsState } from "../../systems/options/quiet.ts";
import type { ConsoleService } from "../../systems/console/index.ts";
import { registerAffordance, registerObject } from "../../systems/affordances/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { intendAt } from "../helpers/affordances.ts";

const MANY_TOWNS = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));

function town(towns = 2, seed = 7): World {
  return buildWorld(MANY_TOWNS, corePlugins, { seed, towns, agentsPerTown: 8 }).world;
}

function lookAtEveryone(w: World): World {
  w.state<AffordancesResource>("affordances").rt.skipQuiet = false;
  w.state<OptionsState>("options").skipQuiet = false;
  return w;
}

/** A skipping world and one that looks at every agent, from the same config and seed. */
function twins(towns = 2, seed = 7): [World, World] {
  return [town(towns, seed), lookAtEveryone(town(towns, seed))];
}

/** Steps both worlds `n` ticks, expecting the same state hash after every tick. */
function stepBoth(a: World, b: World, n: number): void {
  for (let t = 0; t < n; t++) {
    a.step();
    b.step();
    expect(a.stateHash(), `tick ${a.tick}`).toBe(b.stateHash());
  }
}

function isQuiet(bits: Uint32Array, eid: number): boolean {
  return (bits[eid >>> 5] & (1 << (eid & 31))) === 0;
}

/** An agent at its job's post, its Wait skipped by the executor, or -1. */
function quietWorker(w: World): number {
  const Op = w.columns(Option);
  const bits = w.state<OptionsState>("options").bits;
  for (const eid of w.agents) if (Op.kind[eid] === OptionKind.Work && Op.done[eid] === 0 && isQuiet(bits, eid)) return eid;
  return -1;
}

let seq = 0;
/** Submits a console command to both worlds (applied in the console phase of their next tick). */
function command(ws: World[], name: string, args: Record<string, unknown>): void {
  for (const w of ws) void w.state<ConsoleService>("console").submit({ name, args, cmd_id: `q${++seq}` }, { role: "admin", label: "test" }, "local");
}

/** A 12x12 town of hand-driven agents (Option.external, intents written by the test). */
function handTown(): World {
  return makeWorld({
    world: { agents_per_town: 0, grid_size: [12, 12] },
    jobs: {},
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
  });
}

function handAgent(w: World, x: number, y: number): number {
  const eid = w.spawnAgent(0, { init: { Position: { x, y }, Wallet: { money: 5 } } });
  w.columns(Option).external[eid] = 1;
  return eid;
}

const intend = intendAt;

describe("quiet agents are skipped with the same results", () => {
  it("a waiter whose intent turned Wait starts its pending affordance on the tick the object is handed to it", () => {
    const ws = [handTown(), lookAtEveryone(handTown())];
    const ids = ws.map((w) => {
      const obj = registerObject(w, 0, { id: "bench_1", object_type: "bench", position: [5, 5] });
      const sit = registerAffordance(w, { id: "sit", object_type: "bench", duration: 6, effects: { energy: 0.1 } });
      const h = handAgent(w, 5, 5);
      const b = handAgent(w, 5, 4);
      intend(w, h, IntentKind.Start, obj, sit);
      intend(w, b, IntentKind.Request, obj, sit);
      return { obj, sit, h, b };
    });
    const [a, b] = ws;
    stepBoth(a, b, 2);
    // b waits in the queue with `sit` pending; its intent turns Wait: quiet for affordances/act.
    for (const [k, w] of ws.entries()) intend(w, ids[k].b, IntentKind.Wait);
    stepBoth(a, b, 2);
    const A = a.state<AffordancesResource>("affordances").rt.A;
    expect(A.queued[ids[0].b]).toBe(ids[0].obj);
    expect(isQuiet(a.state<AffordancesResource>("affordances").rt.actWake, ids[0].b)).toBe(true);
    // The holder finishes; the object goes to b, who starts `sit` (the same tick in both).
    while (A.running[ids[0].h] >= 0) stepBoth(a, b, 1);
    stepBoth(a, b, 1);
    expect(A.running[ids[0].b]).toBe(ids[0].sit);
  });

  it("keeps every tick's state hash through a day: shift ends, finishes, failures, handovers", () => {
    const [a, b] = twins(3);
    stepBoth(a, b, 620);
    const c = a.state<AffordancesResource>("affordances").st.counters;
    // The day covered what wakes agents: finished affordances, queue handovers.
    expect(c.handovers).toBeGreaterThan(0);
    const done = a.state<AffordancesResource>("affordances").st.completed;
    expect(done.reduce((s, n) => s + (n ?? 0), 0)).toBeGreaterThan(100);
    // And the skip was in effect: most agents were quiet for the executor at the end.
    const bits = a.state<OptionsState>("options").bits;
    expect(Array.from(a.agents).filter((e) => isQuiet(bits, e)).length).toBeGreaterThan(a.agents.length / 2);
  });

  it("an outage fails running affordances and their agents choose again on the right tick", () => {
    const [a, b] = twins(2, 11);
    stepBoth(a, b, 250);
    for (const w of [a, b]) {
      const econ = w.townColumns(TownEconomy);
      econ.power[0] = 0;
      econ.water[0] = 0;
    }
    const before = a.state<AffordancesResource>("affordances").st.failReasons.outage ?? 0;
    stepBoth(a, b, 40);
    expect(a.state<AffordancesResource>("affordances").st.failReasons.outage ?? 0).toBeGreaterThan(before);
  });

  it("a quiet agent at its post that is teleported walks back from the tick of the command", () => {
    const [a, b] = twins();
    stepBoth(a, b, 230);
    const eid = quietWorker(a);
    expect(eid).toBeGreaterThan(0);
    expect(a.columns(Intent).kind[eid]).toBe(IntentKind.Wait);
    const job = a.columns(Employment).job[eid];
    const jobs = jobTable(a);
    const x = jobs.x[job] > 8 ? 0 : 15;
    command([a, b], "teleport", { agent_id: a.agentName(eid), x, y: 15 });
    stepBoth(a, b, 1);
    // Moved away in the console phase, it is sent back to work in the same tick.
    expect(a.columns(Intent).kind[eid]).toBe(IntentKind.Move);
    stepBoth(a, b, 30);
  });

  it("an agent killed in the middle of its affordance frees the object for the next waiter", () => {
    const [a, b] = twins();
    stepBoth(a, b, 120);
    const running = a.state<AffordancesResource>("affordances").rt.A.running;
    const busy = Array.from(a.agents).find((e) => running[e] >= 0);
    expect(busy).toBeDefined();
    const name = a.agentName(busy!);
    command([a, b], "kill", { agent_id: name });
    stepBoth(a, b, 60);
    expect(a.agentEid(name)).toBe(-1);
  });

  it("a shift's end wakes its quiet workers on the tick it ends", () => {
    const [a, b] = twins();
    const day = ticksPerDay(a.settings);
    const jobs = jobTable(a);
    stepBoth(a, b, 230);
    const eid = quietWorker(a);
    expect(eid).toBeGreaterThan(0);
    const end = jobs.end[a.columns(Employment).job[eid]];
    const Op = a.columns(Option);
    while (Op.kind[eid] === OptionKind.Work && Op.done[eid] === 0) stepBoth(a, b, 1);
    // Its Work option ended on the tick its shift ended, not later.
    expect(a.tick % day).toBe(end);
    stepBoth(a, b, 20);
  });

  it("an option written without chooseOption is seen after wakeAll (the contract for other writers)", () => {
    const a = town();
    for (let t = 0; t < 230; t++) a.step();
    const eid = quietWorker(a);
    expect(eid).toBeGreaterThan(0);
    // Written behind the executor's back: a quiet agent's option is not read again...
    a.columns(Option).done[eid] = 0;
    a.columns(Option).kind[eid] = OptionKind.Avoid;
    a.step();
    expect(a.columns(Option).kind[eid]).toBe(OptionKind.Avoid);
    expect(a.columns(Option).done[eid]).toBe(0);
    // ...until the writer says so: then the Avoid option runs (and ends) on the next tick.
    a.state<OptionsState>("options").wakeAll();
    a.step();
    expect(a.columns(Option).done[eid] === 1 || a.columns(Option).kind[eid] !== OptionKind.Avoid).toBe(true);
  });
});
