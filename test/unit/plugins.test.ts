// The plug-in API: component registration, spawn hooks, state resources, kpis, message
// visibility across phases and ticks, column growth, agent removal and agent ids, and the
// ARCHITECTURE.md §9 example plug-in (test/fixtures/graffiti.ts) running beside the core.
import { describe, expect, it } from "vitest";
import { Needs } from "../../components/needs.ts";
import { NeedsSets } from "../../components/sets.ts";
import { defineComponent, type Column } from "../../engine/component.ts";
import type { StateHasher } from "../../engine/hash.ts";
import { parseConfigObject } from "../../engine/config/loader.ts";
import { defineMessage } from "../../engine/message.ts";
import { PHASES, type Phase } from "../../engine/phases.ts";
import { definePlugin, type AnyPlugin, type PersistentState, type SystemDef } from "../../engine/plugin.ts";
import { defineResource, ResourceError } from "../../engine/resource.ts";
import { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { corePlugins } from "../../systems/index.ts";
import graffiti, { GraffitiSprayed } from "../fixtures/graffiti.ts";

/** A fresh world of `plugins` alone (no population), settings validated with the core sections. */
function bareWorld(plugins: AnyPlugin[], opts: { capacity?: number; towns?: number } = {}): World {
  const settings = parseConfigObject({ config_id: "t", world: { agents_per_town: 0 } }, corePlugins);
  return new World({ settings, plugins, ...opts });
}

const Mark = defineComponent("Mark", {
  value: Float64Array,
  level: { type: Uint8Array, default: 3, doc: "starts at 3" },
});

describe("components", () => {
  it("gives an inline component its own columns, named by its key, with field types and defaults", () => {
    let cols: Record<string, Column> | undefined;
    const p = definePlugin({
      name: "moods",
      components: { Mood: { joy: Float32Array, grudges: { type: Int16Array, default: -2 } } },
      setup({ components }) {
        cols = components.Mood;
      },
    });
    const w = bareWorld([p]);
    const def = w.components.byNameOrUndefined("Mood");
    expect(def).toBeDefined();
    expect(w.columns(def!)).toBe(cols);
    expect(cols!.joy).toBeInstanceOf(Float32Array);
    expect(cols!.grudges).toBeInstanceOf(Int16Array);
    const eid = w.spawnAgent(0);
    w.addComponent(eid, def!);
    expect(cols!.grudges[eid]).toBe(-2);
    expect(cols!.joy[eid]).toBe(0);
  });

  it("keeps one inline definition per plug-in object, so every world of it agrees", () => {
    const p = definePlugin({ name: "moods", components: { Mood: { joy: Float32Array } } });
    expect(bareWorld([p]).components.byNameOrUndefined("Mood")).toBe(bareWorld([p]).components.byNameOrUndefined("Mood"));
  });

  it("registers a shared ComponentDef once when two plug-ins declare it", () => {
    const seen: Record<string, Column>[] = [];
    const mk = (name: string) =>
      definePlugin({
        name,
        components: { M: Mark },
        setup({ components }) {
          seen.push(components.M);
        },
      });
    const w = bareWorld([mk("a"), mk("b")]);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(w.components.definitions().filter((d) => d.name === "Mark")).toEqual([Mark]);
  });

  it("fails naming both plug-ins when two different definitions share a name", () => {
    const a = definePlugin({ name: "alpha", components: { Tagged: { count: Uint16Array } } });
    const b = definePlugin({ name: "beta", components: { Tagged: { count: Uint8Array } } });
    expect(() => bareWorld([a, b])).toThrow(/component "Tagged" is declared twice: by plug-in "alpha" and by plug-in "beta"/);
  });

  it("fails when a plug-in name is registered twice, as the same object or another", () => {
    const a = definePlugin({ name: "alpha" });
    expect(() => bareWorld([a, a])).toThrow(/plug-in "alpha" is registered twice/);
    expect(() => bareWorld([a, definePlugin({ name: "alpha" })])).toThrow(/plug-in "alpha" is registered twice/);
  });

  it("gives town state one row per town, holding its defaults", () => {
    let rows: Record<string, Column> | undefined;
    const p = definePlugin({
      name: "weather",
      townState: { Weather: { rain: { type: Float32Array, default: 0.25 } } },
      setup({ townState }) {
        rows = townState.Weather;
      },
    });
    const w = bareWorld([p], { towns: 3 });
    expect(Array.from(rows!.rain.subarray(0, 3))).toEqual([0.25, 0.25, 0.25]);
  });
});

describe("spawning", () => {
  it("runs onAgentSpawn hooks in plug-in order, then applies init values over them", () => {
    const calls: string[] = [];
    const first = definePlugin({
      name: "first",
      components: { M: Mark },
      onAgentSpawn({ world, components: { M } }, eid) {
        calls.push(`first:${eid}`);
        world.addComponent(eid, Mark);
        M.value[eid] = 1;
      },
    });
    const second = definePlugin({
      name: "second",
      components: { M: Mark },
      onAgentSpawn({ components: { M } }, eid) {
        calls.push(`second:${eid}`);
        M.value[eid] = M.value[eid] * 10 + 2;
        M.level[eid] = 9;
      },
    });
    const w = bareWorld([first, second]);
    const a = w.spawnAgent(0);
    const b = w.spawnAgent(0, { init: { Mark: { level: 5 } } });
    expect(calls).toEqual([`first:${a}`, `second:${a}`, `first:${b}`, `second:${b}`]);
    const M = w.columns(Mark);
    expect([M.value[a], M.level[a]]).toEqual([12, 9]);
    expect([M.value[b], M.level[b]]).toEqual([12, 5]);
  });

  it("rejects init values for an unknown component or field", () => {
    const w = bareWorld([definePlugin({ name: "m", components: { M: Mark } })]);
    expect(() => w.spawnAgent(0, { init: { Nope: { x: 1 } } })).toThrow(/unknown component "Nope"/);
    expect(() => w.spawnAgent(0, { init: { Mark: { nope: 1 } } })).toThrow(/"Mark" has no field "nope"/);
  });

  it("rejects a town outside the world", () => {
    const w = bareWorld([], { towns: 2 });
    expect(() => w.spawnAgent(2)).toThrow(RangeError);
    expect(() => w.spawnAgent(-1)).toThrow(RangeError);
  });
});

describe("typed resources", () => {
  interface Counting {
    count(): number;
  }
  const CountingKey = defineResource<Counting>("counting", "counter");
  const counter = (name = "counter") =>
    definePlugin({ name, provides: [CountingKey], state: () => ({ n: 4, count() { return this.n; } }) });

  it("hands a plug-in's systems another plug-in's resource by its key", () => {
    let seen = -1;
    const reader = definePlugin({
      name: "reader",
      requires: [CountingKey],
      systems: [{ name: "reader/read", phase: "needs", run: (ctx) => void (seen = ctx.resource(CountingKey).count()) }],
    });
    const w = bareWorld([counter(), reader]);
    w.step();
    expect(seen).toBe(4);
    expect(w.resource(CountingKey)).toBe(w.state("counter"));
  });

  it("refuses to start when a required resource has no provider, naming both plug-ins", () => {
    const reader = definePlugin({ name: "reader", requires: [CountingKey] });
    expect(() => bareWorld([reader])).toThrow(ResourceError);
    expect(() => bareWorld([reader])).toThrow('plug-in "reader" requires resource "counting" from plug-in "counter", which is not in this world');
  });

  it("refuses a resource provided by two plug-ins, naming both", () => {
    expect(() => bareWorld([counter("one"), counter("two")])).toThrow('resource "counting" is provided twice (plug-ins "one" and "two")');
  });

  it("gives undefined for a missing optional resource and a clear error from resource()", () => {
    const w = bareWorld([definePlugin({ name: "reader", optional: [CountingKey] })]);
    expect(w.optionalResource(CountingKey)).toBeUndefined();
    expect(() => w.resource(CountingKey)).toThrow('no plug-in in this world provides resource "counting" (usually plug-in "counter")');
  });

  it("refuses the core plug-ins without space, naming the first plug-in that requires it", () => {
    expect(() => bareWorld(corePlugins.filter((p) => p.name !== "space"))).toThrow(
      /^plug-in "\w+" requires resource "space" from plug-in "space", which is not in this world$/,
    );
  });

  it("lets a later plug-in's state factory read an earlier plug-in's resource", () => {
    let got: number | undefined;
    const later = definePlugin({ name: "later", state: (world) => ({ n: (got = world.optionalResource(CountingKey)?.count()) }) });
    bareWorld([counter(), later]);
    expect(got).toBe(4);
  });
});

describe("state resources and kpis", () => {
  class Counter implements PersistentState {
    n = 0;
    save() {
      return { n: this.n };
    }
    load(d: unknown) {
      this.n = (d as { n: number }).n;
    }
    hash(h: StateHasher) {
      h.u32(this.n);
    }
  }

  it("enters a state resource implementing PersistentState into stateHash", () => {
    const p = definePlugin({ name: "counter", state: () => new Counter() });
    const w = bareWorld([p]);
    const before = w.stateHash();
    w.state<Counter>("counter").n = 5;
    const after = w.stateHash();
    expect(after).not.toBe(before);
    w.state<Counter>("counter").n = 0;
    expect(w.stateHash()).toBe(before);
  });

  it("leaves a plain state resource out of stateHash", () => {
    const p = definePlugin({ name: "scratch", state: () => ({ n: 0 }) });
    const w = bareWorld([p]);
    const before = w.stateHash();
    w.state<{ n: number }>("scratch").n = 5;
    expect(w.stateHash()).toBe(before);
  });

  it("hands the resource to the plug-in's systems and creates a new one on reset", () => {
    let seen: Counter | undefined;
    const p = definePlugin({
      name: "counter",
      state: () => new Counter(),
      systems: [{ name: "counter/inc", phase: "needs", run: ({ state }) => void (seen = state, state.n++) }],
    });
    const w = bareWorld([p]);
    w.run(3);
    expect(seen).toBe(w.state("counter"));
    expect(seen!.n).toBe(3);
    w.reset();
    expect(w.state<Counter>("counter").n).toBe(0);
    expect(() => w.state("nobody")).toThrow(/plug-in "nobody" has no state/);
  });

  it("merges kpis of every plug-in after the kernel's, in plug-in order", () => {
    const a = definePlugin({ name: "a", kpis: () => ({ zeta: 1 }) });
    const b = definePlugin({ name: "b", kpis: ({ world }) => ({ alpha: world.agents.length }) });
    const w = bareWorld([a, b]);
    w.spawnAgent(0);
    const k = w.kpis();
    expect(Object.keys(k)).toEqual(["alive_agents", "agents_spawned", "zeta", "alpha"]);
    expect(k).toEqual({ alive_agents: 1, agents_spawned: 1, zeta: 1, alpha: 1 });
  });

  it("fails when two plug-ins report the same kpi key, naming the key and the second plug-in", () => {
    const a = definePlugin({ name: "a", kpis: () => ({ wages_paid: 1 }) });
    const b = definePlugin({ name: "b", kpis: () => ({ wages_paid: 2 }) });
    expect(() => bareWorld([a, b]).kpis()).toThrow(/kpi "wages_paid" is reported twice \(second time by plug-in "b"\)/);
    const c = definePlugin({ name: "c", kpis: () => ({ alive_agents: 0 }) });
    expect(() => bareWorld([c]).kpis()).toThrow(/kpi "alive_agents"/);
  });
});

describe("messages", () => {
  const Ping = defineMessage("ping", { value: "int" });
  type Seen = Record<string, [number, number][]>; // reader -> [tick, value]

  function reader(name: string, phase: Phase, seen: Seen): SystemDef {
    seen[name] = [];
    return {
      name,
      phase,
      run({ tick, read }) {
        const v = read(Ping);
        for (let i = v.start; i < v.end; i++) seen[name].push([tick, v.value[i]]);
      },
    };
  }

  it("shows a message sent in phase P of tick t once to an earlier phase (tick t+1), a later one (tick t) and P itself (tick t+1)", () => {
    const seen: Seen = {};
    const p = definePlugin({
      name: "ping",
      messages: [Ping],
      systems: [
        reader("ping/early", "policy", seen),
        reader("ping/same-before", "affordances", seen),
        {
          name: "ping/send",
          phase: "affordances",
          after: ["ping/same-before"],
          run: ({ tick, send }) => {
            if (tick <= 3) send(Ping, tick * 10);
          },
        },
        reader("ping/same-after", "affordances", seen),
        reader("ping/late", "telemetry", seen),
      ],
    });
    const w = bareWorld([p]);
    w.run(6);
    expect(seen["ping/late"]).toEqual([[1, 10], [2, 20], [3, 30]]);
    expect(seen["ping/early"]).toEqual([[2, 10], [3, 20], [4, 30]]);
    expect(seen["ping/same-before"]).toEqual([[2, 10], [3, 20], [4, 30]]);
    expect(seen["ping/same-after"]).toEqual([[2, 10], [3, 20], [4, 30]]);
  });

  it("shows a message sent with world.send from outside a tick to every phase of the next tick, once", () => {
    const seen: Seen = {};
    const p = definePlugin({ name: "ping", messages: [Ping], systems: PHASES.map((ph) => reader(`ping/${ph}`, ph, seen)) });
    const w = bareWorld([p]);
    w.send(Ping, 42);
    w.run(1);
    w.send(Ping, 43);
    w.run(3);
    for (const ph of PHASES) expect(seen[`ping/${ph}`], ph).toEqual([[1, 42], [2, 43]]);
  });

  it("reports the tick's messages through lastTick, and none after a quiet tick", () => {
    const p = definePlugin({
      name: "ping",
      messages: [Ping],
      systems: [{ name: "ping/send", phase: "needs", run: ({ tick, send }) => (tick === 1 ? (send(Ping, 1), send(Ping, 2)) : undefined) }],
    });
    const w = bareWorld([p]);
    w.step();
    const v = w.lastTick(Ping);
    expect(v.count).toBe(2);
    expect([v.value[v.start], v.value[v.start + 1]]).toEqual([1, 2]);
    w.step();
    expect(w.lastTick(Ping).count).toBe(0);
  });

  it("keeps every message when a tick sends more than the buffer holds", () => {
    const seen: Seen = {};
    const p = definePlugin({
      name: "ping",
      messages: [Ping],
      systems: [
        { name: "ping/send", phase: "policy", run: ({ tick, send }) => { for (let i = 0; i < 100; i++) send(Ping, tick * 1000 + i); } },
        reader("ping/read", "needs", seen),
      ],
    });
    const w = bareWorld([p]);
    w.run(3);
    const values = seen["ping/read"].map(([, v]) => v);
    expect(values).toEqual([1, 2, 3].flatMap((t) => Array.from({ length: 100 }, (_, i) => t * 1000 + i)));
  });

  it("refuses a message with the wrong number of values, and one no plug-in declares", () => {
    const w = bareWorld([definePlugin({ name: "ping", messages: [Ping] })]);
    expect(() => w.send(Ping, 1, 2)).toThrow(/message "ping" takes 1 value\(s\) \(value\), got 2/);
    expect(() => w.send(defineMessage("pong", { v: "int" }), 1)).toThrow(/"pong" is not registered/);
  });

  it("fails when two plug-ins declare different messages with one name", () => {
    const a = definePlugin({ name: "a", messages: [defineMessage("hello", { x: "int" })] });
    const b = definePlugin({ name: "b", messages: [defineMessage("hello", { x: "int" })] });
    expect(() => bareWorld([a, b])).toThrow(/message "hello" is declared twice \(second time by plug-in "b"\)/);
  });
});

describe("columns and entities", () => {
  it("grows columns by a quarter beyond the initial capacity and keeps their values", () => {
    let cols: Record<string, Column> | undefined;
    const p = definePlugin({
      name: "m",
      components: { M: Mark },
      setup: ({ components }) => void (cols = components.M),
      onAgentSpawn: ({ world }, eid) => world.addComponent(eid, Mark, { value: eid * 1.5 }),
    });
    const w = bareWorld([p], { capacity: 16 });
    expect(w.components.capacity).toBe(16);
    const eids: number[] = [];
    for (let i = 0; i < 100; i++) eids.push(w.spawnAgent(0));
    // 16 -> 20 -> 25 -> 32 -> 40 -> 50 -> 63 -> 79 -> 99 -> 124: no doubling slack.
    expect(w.components.capacity).toBe(124);
    const M = w.columns(Mark);
    expect(cols).toBe(M); // the plug-in's view follows the growth
    expect(M.value.length).toBe(124);
    for (const eid of eids) {
      expect(M.value[eid]).toBe(eid * 1.5);
      expect(M.level[eid]).toBe(3);
    }
    expect(M.level[123]).toBe(3); // fresh rows hold the default, ready for the next entity
    expect(Array.from(w.agents)).toEqual(eids);
  });

  it("sizes columns up front from the plug-ins' entity counts: agents and objects of every town, nothing more", () => {
    const settings = parseConfigObject({ config_id: "t", world: { towns: 300, agents_per_town: 5 } }, corePlugins);
    const w = new World({ settings, plugins: corePlugins });
    const objectsPerTown = (w.maxEntityId() - 1500) / 300;
    expect(objectsPerTown).toBeGreaterThan(0);
    expect(w.maxEntityId()).toBeGreaterThan(1024); // above the floor small worlds get
    expect(w.agents.length).toBe(1500);
    expect(w.components.capacity).toBe(w.maxEntityId() + 1);
    // Agents take ids 1..1500 (issue #19: agents' ids first), objects the ids above: the agents'
    // columns hold the agents' ids only, the Town column every entity's.
    expect(w.agents[0]).toBe(1);
    expect(w.agents[1499]).toBe(1500);
    expect(w.columns(Needs).hunger.length).toBe(1501);
    expect(w.columns(Town).id.length).toBe(w.maxEntityId() + 1);
  });

  it("resets a removed agent's columns to defaults and keeps the agent list in entity order", () => {
    const p = definePlugin({ name: "m", components: { M: Mark }, onAgentSpawn: ({ world }, eid) => world.addComponent(eid, Mark, { value: 7, level: 8 }) });
    const w = bareWorld([p]);
    const eids = [0, 1, 2, 3, 4].map(() => w.spawnAgent(0));
    const gone = eids[2];
    w.removeEntity(gone);
    const M = w.columns(Mark);
    expect([M.value[gone], M.level[gone]]).toEqual([0, 3]);
    expect(w.isAgent(gone)).toBe(false);
    expect(w.components.has(Mark, gone)).toBe(false);
    expect(Array.from(w.agents)).toEqual([eids[0], eids[1], eids[3], eids[4]]);
    w.removeEntity(eids[0]);
    const again = w.spawnAgent(0);
    const list = Array.from(w.agents);
    expect(list).toHaveLength(4);
    expect(list).toContain(again);
    expect(list).toEqual([...list].sort((a, b) => a - b));
  });

  it("resets a removed agent's needs to their defaults", () => {
    const settings = parseConfigObject({ config_id: "t", world: { agents_per_town: 2 } }, corePlugins);
    const w = new World({ settings, plugins: corePlugins });
    const eid = w.agents[0];
    w.columns(Needs).hunger[eid] = 0.25;
    w.removeEntity(eid);
    expect(w.columns(Needs).hunger[eid]).toBe(1);
  });

  it("hands out agent ids agent_<uid>, or the given name, and looks them up both ways", () => {
    const w = bareWorld([]);
    const a = w.spawnAgent(0);
    const b = w.spawnAgent(0, { name: "alice" });
    const c = w.spawnAgent(0);
    expect([w.agentName(a), w.agentName(b), w.agentName(c)]).toEqual(["agent_0", "alice", "agent_2"]);
    expect([w.agentEid("agent_0"), w.agentEid("alice"), w.agentEid("agent_2")]).toEqual([a, b, c]);
    expect(w.agentEid("agent_1")).toBe(-1); // uid 1 is called alice
    expect(w.agentEid("bob")).toBe(-1);
    expect(w.agentEid("agent_")).toBe(-1);
    expect(w.agentEid("agent_00")).toBe(-1);
    expect(w.agentEid("agent_02")).toBe(-1);
    expect(() => w.spawnAgent(0, { name: "alice" })).toThrow(/an agent named "alice" already exists/);
  });

  it("never reuses a uid after removal, even when the entity id is recycled", () => {
    const w = bareWorld([]);
    const [a, b] = [w.spawnAgent(0), w.spawnAgent(0, { name: "bea" })];
    w.removeEntity(a);
    w.removeEntity(b);
    expect(w.agentEid("agent_0")).toBe(-1);
    expect(w.agentEid("bea")).toBe(-1);
    const c = w.spawnAgent(0);
    const d = w.spawnAgent(0);
    expect([c, d].sort()).toEqual([a, b].sort()); // entity ids are recycled ...
    expect([w.agentName(c), w.agentName(d)]).toEqual(["agent_2", "agent_3"]); // ... uids are not
    expect(w.agentEid("agent_2")).toBe(c);
    expect(w.agentsSpawned).toBe(4);
    expect(w.kpis()).toMatchObject({ alive_agents: 2, agents_spawned: 4 });
  });

  it("refuses a custom name that is another agent's default id", () => {
    const w = bareWorld([]);
    expect(() => w.spawnAgent(0, { name: "agent_1" })).toThrow(/reserved for default ids/);
    w.spawnAgent(0, { name: "alice" });
    const other = w.spawnAgent(0);
    expect(w.agentName(other)).toBe("agent_1");
  });
});

describe("the §9 graffiti plug-in", () => {
  function graffitiWorld(seed: number, section?: Record<string, unknown>): World {
    const plugins = [...corePlugins, graffiti];
    const cfg: Record<string, unknown> = { config_id: "t", world: { towns: 2, agents_per_town: 10 } };
    if (section) cfg.graffiti = section;
    return new World({ settings: parseConfigObject(cfg, plugins), plugins, seed });
  }

  function sprays(w: World): number[] {
    const { count } = w.columns(w.componentDef("Tagged")) as { count: Uint16Array };
    return Array.from(w.agents, (eid) => count[eid]);
  }

  it("runs after need decay in the needs phase", () => {
    const names = graffitiWorld(1).schedule.needs.map((s) => s.name);
    expect(names.indexOf("graffiti/spray")).toBeGreaterThan(names.indexOf("needs/decay"));
    expect(graffitiWorld(1).schedule.needs.find((s) => s.name === "graffiti/spray")!.after).toEqual([NeedsSets.Decay]);
  });

  it("counts exactly the sprays it announces, agent by agent", () => {
    const w = graffitiWorld(3, { spray_chance: 0.2 });
    const announced = new Map<number, number>();
    let total = 0;
    w.onTick((wt) => {
      const v = wt.lastTick(GraffitiSprayed);
      total += v.count;
      for (let i = v.start; i < v.end; i++) announced.set(v.agent[i], (announced.get(v.agent[i]) ?? 0) + 1);
    });
    w.run(50);
    const counts = sprays(w);
    expect(total).toBeGreaterThan(0);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(total);
    Array.from(w.agents).forEach((eid, i) => expect(counts[i]).toBe(announced.get(eid) ?? 0));
  });

  it("uses spray_chance's default when the config has no graffiti section", () => {
    const w = graffitiWorld(3);
    w.run(100);
    const total = sprays(w).reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(0); // 2000 tries at 1%
    expect(total).toBeLessThan(60);
  });

  it("enters its spray counts into the state hash", () => {
    const w = graffitiWorld(3);
    const base = w.stateHash();
    (w.columns(w.componentDef("Tagged")) as { count: Uint16Array }).count[w.agents[0]]++;
    expect(w.stateHash()).not.toBe(base);
  });

  it("agrees with itself across two runs of the same seed, and differs for another seed", () => {
    const a = graffitiWorld(11, { spray_chance: 0.1 });
    const b = graffitiWorld(11, { spray_chance: 0.1 });
    for (let t = 0; t < 60; t++) {
      a.step();
      b.step();
      expect(a.stateHash()).toBe(b.stateHash());
    }
    expect(sprays(a)).toEqual(sprays(b));
    const c = graffitiWorld(12, { spray_chance: 0.1 });
    c.run(60);
    expect(sprays(c)).not.toEqual(sprays(a));
  });
});
