// The scripted controller's decision pass (systems/behavior/decide.ts): its scan by option kind
// decides exactly the agents the rules open to a decision (compared with the plain rule check,
// BehaviorState.plainScan), and an agent whose inputs change is decided again at once: a need
// below its threshold (console setneed), a critical need during a shift, an affordance's end, a
// walk to a top-up broken by hunger. bestAffordance: the most restoring affordable, stocked one.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { Activity, Option, OptionKind } from "../../components/activity.ts";
import { Needs } from "../../components/needs.ts";
import { Obj } from "../../components/objects.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { SpaceKey } from "../../components/grid.ts";
import type { World } from "../../engine/world.ts";
import { buildWorld } from "../../engine/build.ts";
import { corePlugins } from "../../systems/index.ts";
import { affordanceRegistry, registerAffordance, registerObject } from "../../systems/affordances/index.ts";
import { bestAffordance, type BehaviorState } from "../../systems/behavior/index.ts";
import { candidates, firstOpen } from "../../systems/behavior/candidates.ts";
import type { AffordancesResource } from "../../systems/affordances/resource.ts";
import type { ConsoleService } from "../../systems/console/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { affordancesOnlyFile } from "../helpers/affordances.ts";

const MANY_TOWNS = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));

/** The core affordances without core.yaml's objects: every test places its own. */
const AFFORDANCES_ONLY = affordancesOnlyFile("townlet-decide-");

/** A 12x12 town with no agents, no objects and no need decay unless given. */
function town(o: { scripted?: Record<string, unknown>; jobs?: Record<string, unknown>; decay?: Record<string, number>; extra?: Record<string, unknown> } = {}): World {
  return makeWorld({
    scripted: { idle_recheck_ticks: 1, ...o.scripted },
    world: { agents_per_town: 0, grid_size: [12, 12] },
    affordances: { affordances_file: AFFORDANCES_ONLY },
    jobs: o.jobs ?? {},
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0, ...o.decay } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    conflict: { rivalry: { decay_per_tick: 0 } },
    ...o.extra,
  });
}

function furnish(w: World): void {
  registerObject(w, 0, { id: "fridge_1", object_type: "fridge", position: [4, 4] });
  registerObject(w, 0, { id: "shower_1", object_type: "shower", position: [7, 4] });
  registerObject(w, 0, { id: "bed_1", object_type: "bed", position: [4, 7] });
}

function agent(w: World, x: number, y: number, needs: { hunger?: number; hygiene?: number; energy?: number } = {}): number {
  return w.spawnAgent(0, {
    init: { Position: { x, y }, Needs: { hunger: needs.hunger ?? 0.9, hygiene: needs.hygiene ?? 0.9, energy: needs.energy ?? 0.9 }, Wallet: { money: 5 } },
  });
}

const aff = (w: World, id: string) => affordanceRegistry(w).affordanceIndex(id);

/** Submits a console command and applies it (one tick). */
async function command(w: World, name: string, args: Record<string, unknown>): Promise<void> {
  const svc = w.state<ConsoleService>("console");
  const p = svc.submit({ name, args, cmd_id: `${name}-${w.tick}` }, { role: "admin", label: "test" }, "local");
  w.step();
  const r = await p;
  expect(r.status, JSON.stringify(r.error)).toBe("ok");
}

type ScanMode = "kernel" | "generic" | "plain";

/** A world of many-towns.yaml deciding with the given scan (the generated kernel, its plain TypeScript twin, or the rule check agent by agent). */
function scanWorld(mode: ScanMode, towns = 5): World {
  const w = buildWorld(MANY_TOWNS, corePlugins, { seed: 11, towns, agentsPerTown: 8 }).world;
  const st = w.state<BehaviorState>("scripted");
  st.plainScan = mode === "plain";
  st.genericScan = mode === "generic";
  // Chunks of 7 agents: the kernel's calls end inside towns and spans, as at 100k agents.
  st.scan.chunk = 7;
  return w;
}

/** Needs set low by hand (critical for workers, below the threshold for the others) and one agent driven from outside. */
function disturb(w: World, external: number): void {
  const N = w.columns(Needs);
  const Op = w.columns(Option);
  const agents = w.agents;
  for (let i = 0; i < agents.length; i += 3) N.energy[agents[i]] = Op.kind[agents[i]] === OptionKind.Work ? 0.1 : 0.3;
  Op.external[agents[external]] = 1;
  Op.done[agents[external]] = 1;
}

describe("the scan by option kind", () => {
  it("decides exactly as the plain rule check, tick by tick, through shifts, chats, meals and changed needs, generated or not", () => {
    // Three copies of one world: the generated scan, the same scan in plain TypeScript (where
    // code generation is refused), and every agent's rules checked one after the other. All pass
    // through the first shift end (tick 360) and, at ticks 120 and 250 (before and during
    // shifts), needs set low by hand and an agent driven from outside.
    const worlds = (["kernel", "generic", "plain"] as const).map((m) => scanWorld(m));
    const [kernel, generic, plain] = worlds;
    const chosen = new Map<number, number>();
    for (let t = 1; t <= 420; t++) {
      if (t === 120 || t === 250) for (const w of worlds) disturb(w, t === 120 ? 1 : 2);
      for (const w of worlds) w.step();
      expect(kernel.stateHash(), `tick ${t}`).toBe(plain.stateHash());
      expect(generic.stateHash(), `tick ${t}`).toBe(plain.stateHash());
      const Op = kernel.columns(Option);
      for (const e of kernel.agents) if (Op.since[e] === kernel.tick) chosen.set(Op.kind[e], (chosen.get(Op.kind[e]) ?? 0) + 1);
    }
    expect(worlds.map((w) => w.state<BehaviorState>("scripted").scanPath)).toEqual(["kernel", "generic", "plain"]);
    // The run did decide, and every kind of option was chosen.
    for (const k of [OptionKind.Wait, OptionKind.Work, OptionKind.Use, OptionKind.Chat]) expect(chosen.get(k) ?? 0, `option kind ${k}`).toBeGreaterThan(0);
  });

  it("follows the columns when the entity store grows mid-run (the generated scan is made again)", () => {
    const [kernel, plain] = (["kernel", "plain"] as const).map((m) => scanWorld(m, 2));
    for (let t = 0; t < 40; t++) for (const w of [kernel, plain]) w.step();
    const before = kernel.columns(Option).kind;
    // Enough agents to outgrow every column: a scan still reading the old arrays would see none
    // of them and miss the changed needs below.
    for (const w of [kernel, plain]) for (let k = 0; k < 200; k++) w.spawnAgent(0);
    expect(kernel.columns(Option).kind).not.toBe(before);
    for (let t = 0; t < 80; t++) {
      if (t === 30) for (const w of [kernel, plain]) disturb(w, 3);
      for (const w of [kernel, plain]) w.step();
      expect(kernel.stateHash(), `tick ${kernel.tick}`).toBe(plain.stateHash());
    }
    expect(kernel.state<BehaviorState>("scripted").scanPath).toBe("kernel");
  });

  it("falls back to the plain TypeScript scan where code generation from strings is not allowed, with the same hashes", () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const script = `
      const { buildWorld } = await import(${JSON.stringify(root + "engine/build.ts")});
      const { corePlugins } = await import(${JSON.stringify(root + "systems/index.ts")});
      const w = buildWorld(${JSON.stringify(MANY_TOWNS)}, corePlugins, { seed: 11, towns: 2, agentsPerTown: 8 }).world;
      for (let t = 0; t < 150; t++) w.step();
      console.log(JSON.stringify({ path: w.state("scripted").scanPath, hash: w.stateHash() }));`;
    const r = spawnSync(process.execPath, ["--disallow-code-generation-from-strings", "--import", "tsx", "--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { path: string; hash: string };
    expect(out.path).toBe("generic");
    const w = scanWorld("kernel", 2);
    for (let t = 0; t < 150; t++) w.step();
    expect(w.state<BehaviorState>("scripted").scanPath).toBe("kernel");
    expect(out.hash).toBe(w.stateHash());
  }, 60_000);
});

describe("an agent whose inputs change is decided again", () => {
  it("a waiting agent, as soon as console setneed puts a need below its threshold, not at its next recheck", async () => {
    const w = town({ scripted: { idle_recheck_ticks: 50 } });
    furnish(w);
    const a = agent(w, 5, 5);
    const Op = w.columns(Option);
    w.run(3);
    expect(Op.kind[a]).toBe(OptionKind.Wait);
    const since = Op.since[a];
    w.run(5);
    expect(Op.since[a]).toBe(since); // nothing changed: not decided again
    await command(w, "setneed", { agent_id: w.agentName(a), need: "hunger", value: 0.2 });
    expect(Op.kind[a]).toBe(OptionKind.Use);
    expect(Op.affordance[a]).toBe(aff(w, "eat_meal"));
    expect(Op.since[a]).toBe(w.tick);
  });

  it("a waiting agent looks again when its idle recheck is due, with nothing changed", () => {
    const w = town({ scripted: { idle_recheck_ticks: 7 } });
    furnish(w);
    const a = agent(w, 5, 5);
    const Op = w.columns(Option);
    w.run(2);
    expect(Op.kind[a]).toBe(OptionKind.Wait);
    const first = Op.since[a];
    w.run(first + 6 - w.tick);
    expect(Op.since[a]).toBe(first);
    w.step();
    expect(Op.since[a]).toBe(first + 7);
    expect(Op.kind[a]).toBe(OptionKind.Wait);
  });

  it("a worker, when a need falls below the critical level during its shift (and not for one below its threshold)", () => {
    const w = town({ jobs: { grocer: { start_tick: 10, end_tick: 300, wage_rate: 0.05, location: [10, 10] } }, extra: { behavior: { job_arrival_buffer: 5 } } });
    furnish(w);
    const a = agent(w, 9, 10);
    const Op = w.columns(Option);
    w.run(30);
    expect(Op.kind[a]).toBe(OptionKind.Work);
    const since = Op.since[a];
    w.columns(Needs).hunger[a] = 0.3; // below the threshold, above critical_level (0.15)
    w.run(3);
    expect([Op.kind[a], Op.since[a]]).toEqual([OptionKind.Work, since]);
    w.columns(Needs).hunger[a] = 0.1;
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Use);
    expect(Op.affordance[a]).toBe(aff(w, "eat_meal"));
  });

  it("an agent running an affordance keeps it whatever its needs, and decides the tick after it ends", () => {
    const w = town();
    furnish(w);
    const a = agent(w, 7, 5, { hygiene: 0.3 });
    const Op = w.columns(Option);
    const running = w.columns(Activity).running;
    let t = 0;
    while (running[a] < 0 && t++ < 40) w.step();
    expect(running[a]).toBeGreaterThanOrEqual(0);
    const since = Op.since[a];
    w.columns(Needs).hunger[a] = 0.1; // critical, but the shower is under way
    while (Op.done[a] === 0 && t++ < 80) {
      w.step();
      if (Op.done[a] === 0) expect([Op.kind[a], Op.since[a]]).toEqual([OptionKind.Use, since]);
    }
    expect(Op.done[a]).toBe(1);
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Use);
    expect(Op.affordance[a]).toBe(aff(w, "eat_meal"));
    expect(Op.since[a]).toBe(w.tick);
  });

  it("an agent walking to a top-up that does not feed, when hunger falls below its threshold with meals in town", () => {
    const w = town();
    furnish(w);
    const a = agent(w, 0, 11, { hygiene: 0.3 }); // far from the shower
    const Op = w.columns(Option);
    w.step();
    expect([Op.kind[a], Op.affordance[a]]).toEqual([OptionKind.Use, aff(w, "use_shower")]);
    const since = Op.since[a];
    w.step();
    expect(Op.since[a]).toBe(since); // on its way: kept
    w.columns(Needs).hunger[a] = 0.3; // hunger's threshold is above 0.3; the fridge is stocked
    w.step();
    expect([Op.kind[a], Op.affordance[a]]).toEqual([OptionKind.Use, aff(w, "eat_meal")]);
  });

  it("never an agent driven from outside, even with its option done", () => {
    const w = town();
    furnish(w);
    const a = agent(w, 5, 5, { hunger: 0.1 });
    const Op = w.columns(Option);
    Op.external[a] = 1;
    Op.done[a] = 1;
    const before = [Op.kind[a], Op.affordance[a], Op.since[a]];
    w.run(5);
    expect([Op.kind[a], Op.affordance[a], Op.since[a]]).toEqual(before);
    // The same agent, not driven from outside: eats at once.
    Op.external[a] = 0;
    w.step();
    expect([Op.kind[a], Op.affordance[a]]).toEqual([OptionKind.Use, aff(w, "eat_meal")]);
  });
});

describe("the pass's inputs", () => {
  it("the pantry counts a fridge registered mid-run and its meals, from the next pass on", () => {
    const w = town();
    furnish(w);
    agent(w, 5, 5);
    const st = w.state<BehaviorState>("scripted");
    const O = () => w.columns(Obj);
    const fridges = () => w.state<{ st: { objects: number[] } }>("affordances").st.objects.filter((e) => O().type[e] === affordanceRegistry(w).typeIndex("fridge"));
    w.step();
    const [first] = fridges();
    expect(st.pantry[0]).toBe(O().meals[first]);
    registerObject(w, 0, { id: "fridge_2", object_type: "fridge", position: [9, 9] });
    const second = fridges().find((e) => e !== first)!;
    O().meals[second] = 3;
    w.step();
    expect(fridges()).toHaveLength(2);
    expect(st.pantry[0]).toBe(Math.fround(O().meals[first] + 3));
    expect(st.pantry[0]).toBeGreaterThanOrEqual(3);
  });

  it("a stove looked at empty in one pass is looked at again in the next: the agent cooks once it is filled", () => {
    const w = town();
    furnish(w);
    const stove = registerObject(w, 0, { id: "stove_1", object_type: "stove", position: [9, 4] });
    const O = w.columns(Obj);
    O.meals[w.resource(AffordancesKey).objectById(0, "fridge_1")] = 0;
    O.raw_ingredients[stove] = 0;
    const a = agent(w, 5, 5);
    const Op = w.columns(Option);
    w.step();
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Wait);
    O.raw_ingredients[stove] = 5;
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Use);
    expect(Op.affordance[a]).toBe(aff(w, "cook_meal"));
  });

  it("a waiting agent chats with the first other agent in its tile's list, whether it heads the list, stands near its head or deep in it", () => {
    const w = town({ extra: { features: { stages: { relationships: "B" } } } });
    furnish(w);
    // Seven: the head is found back along the list within four steps, beyond that through the tile.
    const agents = Array.from({ length: 7 }, () => agent(w, 6, 6));
    w.step();
    const space = w.resource(SpaceKey);
    const order: number[] = [];
    for (let o = space.agentsAt(0, 6, 6); o !== 0; o = space.next[o]) order.push(o);
    expect([...order].sort((a, b) => a - b)).toEqual(agents);
    const Op = w.columns(Option);
    // The first tick: every agent off its chat cooldown, so each chats with the first other one.
    for (const e of agents) {
      expect(Op.kind[e], `agent ${e}`).toBe(OptionKind.Chat);
      expect(Op.target[e], `agent ${e}`).toBe(order.find((o) => o !== e));
    }
  });
});

describe("the choice of affordance", () => {
  it("reads the (town, type) index by range with the same answer as objectsOfType's lists, stocked, empty, dear or not", () => {
    const w = scanWorld("kernel", 5);
    w.run(3);
    const st = w.resource(AffordancesKey);
    const reg = st.registry;
    const state = w.state<BehaviorState>("scripted");
    const c = candidates(reg, state.names, w.settings.economy as Record<string, number>);
    // Town 1's fridge empty, town 3's stove without ingredients; town 2 has a second fridge, full
    // behind an empty first one: the stocked columns decide there.
    const fridge = reg.typeIndex("fridge");
    const stove = reg.typeIndex("stove");
    const second = registerObject(w, 2, { id: "fridge_2", object_type: "fridge", position: [1, 14] });
    const O = w.columns(Obj);
    O.meals[st.objectsOfType(1, fridge)[0]] = 0;
    O.meals[st.objectsOfType(2, fridge)[0]] = 0;
    O.meals[second] = 5;
    O.raw_ingredients[st.objectsOfType(3, stove)[0]] = 0;
    expect(st.objectsOfType(2, fridge)).toHaveLength(6);
    expect(st.objectsOfType(2, fridge)[3]).toBe(second);
    const types = (st as AffordancesResource).st.byTownType;
    const answers = new Set<number>();
    let compared = 0;
    for (let town = 0; town < 5; town++)
      for (let k = 0; k < state.names.length; k++)
        for (const money of [0, 0.1, 0.3, 0.5, 5])
          for (const mult of [1, 2]) {
            const byRange = firstOpen(c, c.start[k], c.start[k + 1], st, types, O, town, Float64Array.of(money, mult));
            const byList = firstOpen(c, c.start[k], c.start[k + 1], st, undefined, O, town, Float64Array.of(money, mult));
            expect(byRange, `town ${town} need ${state.names[k]} money ${money} x${mult}`).toBe(byList);
            answers.add(byRange);
            compared++;
          }
    expect(compared).toBe(5 * state.names.length * 10);
    // Not one answer everywhere: free, priced, empty-fridge and no-answer cases all occur.
    expect(answers.size).toBeGreaterThanOrEqual(4);
    expect(answers.has(-1)).toBe(true);
    const hunger = state.names.indexOf("hunger");
    const eat = firstOpen(c, c.start[hunger], c.start[hunger + 1], st, types, O, 0, Float64Array.of(5, 1));
    expect(eat).toBe(reg.affordanceIndex("eat_meal"));
    expect(firstOpen(c, c.start[hunger], c.start[hunger + 1], st, types, O, 1, Float64Array.of(5, 1))).not.toBe(eat);
    expect(firstOpen(c, c.start[hunger], c.start[hunger + 1], st, types, O, 2, Float64Array.of(5, 1))).toBe(eat);
  });
});

describe("bestAffordance", () => {
  it("is the affordance restoring the need most among those the agent can afford and find stocked; the first registered on ties", () => {
    const w = town();
    furnish(w);
    registerObject(w, 0, { id: "tub_1", object_type: "tub", position: [2, 2] });
    const st = w.resource(AffordancesKey);
    const reg = st.registry;
    const O = w.columns(Obj);
    const soak = registerAffordance(w, { id: "soak", object_type: "tub", duration: 5, effects: { hygiene: 0.9, money: -3 } });
    const rinse = registerAffordance(w, { id: "rinse", object_type: "tub", duration: 5, effects: { hygiene: 0.6 } });
    const splash = registerAffordance(w, { id: "splash", object_type: "tub", duration: 5, effects: { hygiene: 0.6 } });
    const best = (need: string, money: number, mult = 1) => bestAffordance(w, reg, st, O, 0, need, money, mult);
    expect(reg.affordances[aff(w, "use_shower")].effects.hygiene).toBeLessThan(0.6);
    expect(best("hygiene", 5)).toBe(soak);
    // Too dear at twice the price (6 > 5): the next best, of two equal ones the first registered.
    expect(best("hygiene", 5, 2)).toBe(rinse);
    expect(splash).toBeGreaterThan(rinse);
    // An empty fridge is no place to eat.
    const eat = aff(w, "eat_meal");
    expect(best("hunger", 5)).toBe(eat);
    const fridge = st.objectById(0, "fridge_1");
    O.meals[fridge] = 0;
    expect(best("hunger", 5)).not.toBe(eat);
  });
});
