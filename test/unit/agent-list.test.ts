// The world's agent list (engine/agent-list.ts) kept in place as agents come and go: after any
// sequence of adds and removes it holds the same ids and runs as a rebuild from the flags, and a
// world's list after exits and replacements is the one a rebuild gives.
import { describe, expect, it } from "vitest";
import { AgentList } from "../../engine/agent-list.ts";
import { Agent } from "../../engine/core-components.ts";
import { buildWorld } from "../../engine/build.ts";
import { CONFIGS_DIR } from "../../engine/paths.ts";
import { corePlugins } from "../../systems/index.ts";
import { join } from "node:path";

const MANY_TOWNS = join(CONFIGS_DIR, "many-towns.yaml");

/** A rebuilt list's ids and runs for the flags `has` of entities 1..max. */
function rebuilt(max: number, has: Uint8Array): { agents: number[]; spans: number[] } {
  const l = new AgentList();
  l.rebuild(max, has);
  return { agents: Array.from(l.agents()), spans: Array.from(l.spans()) };
}

describe("AgentList in place", () => {
  it("extends, merges, splits, makes and drops runs as a rebuild would", () => {
    const max = 20;
    const has = new Uint8Array(max + 1);
    for (const e of [2, 3, 4, 7, 8, 12]) has[e] = 1;
    const list = new AgentList();
    list.rebuild(max, has);
    const steps: [number, boolean][] = [
      [5, true], // extends 2..4 to 2..5
      [6, true], // joins 2..5 and 7..8
      [3, false], // splits 2..8
      [12, false], // drops the run of one
      [1, true], // before the first run: joins 2
      [20, true], // a new run at the end
      [10, true], // a new run in the middle
      [2, false], // shortens a run at its start
      [8, false], // at its end
    ];
    for (const [e, came] of steps) {
      has[e] = came ? 1 : 0;
      list.note(e, came);
      expect({ agents: Array.from(list.agents()), spans: Array.from(list.spans()) }, `after ${came ? "adding" : "removing"} ${e}`).toEqual(rebuilt(max, has));
    }
    expect(list.dirty).toBe(false);
  });

  it("matches a rebuild after 3,000 random comings and goings, growing its arrays as needed", () => {
    const max = 400;
    const has = new Uint8Array(max + 1);
    for (let e = 1; e <= 64; e++) has[e] = 1;
    const list = new AgentList();
    list.rebuild(max, has);
    let x = 12345;
    const rand = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n);
    for (let i = 0; i < 3000; i++) {
      const e = 1 + rand(max);
      if (has[e]) {
        has[e] = 0;
        list.note(e, false);
      } else {
        has[e] = 1;
        list.note(e, true);
      }
      // A read after every few changes, as the world's systems read it each tick.
      if (i % 3 === 0) list.agents();
      if (i % 97 === 0) expect({ agents: Array.from(list.agents()), spans: Array.from(list.spans()) }).toEqual(rebuilt(max, has));
    }
    expect({ agents: Array.from(list.agents()), spans: Array.from(list.spans()) }).toEqual(rebuilt(max, has));
  });

  it("leaves a list not built yet, one with too many changes waiting, or one told of an unlisted agent's exit to its rebuild", () => {
    const fresh = new AgentList();
    fresh.note(3, true);
    fresh.note(3, false);
    expect(fresh.dirty).toBe(true);
    const has = new Uint8Array(201).fill(1);
    has[0] = 0;
    const busy = new AgentList();
    busy.rebuild(200, has);
    for (let e = 1; e <= 64; e++) busy.note(e, false);
    expect(busy.dirty).toBe(false);
    busy.note(65, false);
    expect(busy.dirty).toBe(true);
    const wrong = new AgentList();
    wrong.rebuild(200, has);
    has[7] = 0;
    wrong.rebuild(200, has);
    wrong.note(7, false);
    wrong.settle();
    expect(wrong.dirty).toBe(true);
  });
});

describe("world.agents as agents leave and are replaced", () => {
  it("holds the live agents in entity order, the same as a rebuild from the Agent flags, without rebuilding", () => {
    const { world } = buildWorld(MANY_TOWNS, corePlugins, { seed: 3, towns: 2, agentsPerTown: 6 });
    world.step();
    const list = (world as unknown as { agentList: AgentList }).agentList;
    let rebuilds = 0;
    const rebuild = list.rebuild.bind(list);
    list.rebuild = (max, has) => {
      rebuilds++;
      rebuild(max, has);
    };
    const before = world.agents;
    expect(before.length).toBe(12);
    const gone = [before[2], before[3], before[9]];
    for (const e of gone) world.removeEntity(e);
    const a = world.spawnAgent(1);
    const b = world.spawnAgent(0);
    const max = world.maxEntityId();
    const has = world.components.flags(Agent);
    const want = rebuilt(max, has.subarray(0, max + 1));
    expect(Array.from(world.agents)).toEqual(want.agents);
    expect(Array.from(world.spans)).toEqual(want.spans);
    expect(world.agents).toContain(a);
    expect(world.agents).toContain(b);
    expect(world.agents.length).toBe(11);
    expect(rebuilds).toBe(0);
    for (let t = 0; t < 30; t++) world.step();
    expect(Array.from(world.agents)).toEqual(rebuilt(world.maxEntityId(), world.components.flags(Agent).subarray(0, world.maxEntityId() + 1)).agents);
  });
});
