// Lifecycle: exit rules (faint, unemployment, reasons set by others), AgentExit with the final
// reward, replacements as new agents after 5–20 ticks within the town's cooldown and daily cap,
// the nightly reset, AgentSpawn for every spawn, and the console's killAgent.
import { describe, expect, it } from "vitest";
import { Needs } from "../../components/needs.ts";
import { Wallet } from "../../components/economy.ts";
import { ExitReason, Lifecycle, Reward } from "../../components/people.ts";
import { AgentExit, AgentSpawn } from "../../components/messages.ts";
import { NeedsSets } from "../../components/sets.ts";
import { Agent } from "../../engine/core-components.ts";
import { definePlugin, type AnyPlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { killAgent, LifecycleState, setMortality } from "../../systems/lifecycle/index.ts";
import { compileRaise, primeRaise, raiseSpans } from "../../systems/lifecycle/kernels.ts";
import { pinPlugin, record } from "../helpers/pin.ts";
import { makeWorld } from "../helpers/world.ts";

/** Needs that never decay, so only the test decides who faints. */
const STILL = { rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } };

function world(overrides: Record<string, unknown> = {}, extra: AnyPlugin[] = []): World {
  const { lifecycle, ...rest } = overrides as { lifecycle?: Record<string, unknown> };
  return makeWorld({ world: { agents_per_town: 3, grid_size: [8, 8] }, ...STILL, lifecycle: { ...lifecycle }, ...rest }, corePlugins, extra);
}

/** A pin that sets the hunger of the listed entities to 0 on one tick. */
function starveAt(tick: number, eids: () => number[]) {
  return pinPlugin(({ tick: t, world: w }) => {
    if (t !== tick) return;
    const N = w.columns(Needs);
    for (const eid of eids()) N.hunger[eid] = 0;
  });
}

const uidOf = (w: World, eid: number) => w.columns(Agent).uid[eid];

describe("exits", () => {
  it("removes an agent whose hunger falls to faint_hunger and announces it with reason faint", () => {
    let victim = 0;
    const w = world({}, [starveAt(1, () => [victim])]);
    victim = w.agents[0];
    const name = w.agentName(victim);
    const uid = uidOf(w, victim);
    const exits = record(w, AgentExit);
    w.step();
    expect(exits).toHaveLength(1);
    expect(exits[0]).toMatchObject({ tick: 1, uid, town: 0 });
    expect(w.text(exits[0].reason)).toBe("faint");
    expect(w.agentEid(name)).toBe(-1);
    expect(w.agents.length).toBe(2);
    expect(w.kpis().exits).toEqual({ faint: 1, eviction: 0, unemployment: 0, console: 0, total: 1 });
  });

  it("does not faint anyone while mortality is off", () => {
    let victim = 0;
    const w = world({ lifecycle: { mortality: false } }, [starveAt(1, () => [victim])]);
    victim = w.agents[0];
    w.run(3);
    expect(w.agents.length).toBe(3);
    setMortality(w, true);
    expect(w.state<LifecycleState>("lifecycle").mortality).toBe(true);
  });

  it("applies no exit rule of its own when features.systems.lifecycle is off", () => {
    let victim = 0;
    const w = world({ features: { systems: { lifecycle: "off" } } }, [starveAt(1, () => [victim])]);
    victim = w.agents[0];
    w.run(3);
    expect(w.agents.length).toBe(3);
  });

  it("carries out an exit reason set earlier in the tick (eviction by employment) under its own name", () => {
    let victim = 0;
    const evict = pinPlugin(({ tick, world: w }) => {
      if (tick === 2) w.columns(Lifecycle).exit_reason[victim] = ExitReason.Eviction;
    });
    const w = world({}, [evict]);
    victim = w.agents[1];
    const exits = record(w, AgentExit);
    w.run(2);
    expect(exits.map((e) => [e.tick, w.text(e.reason)])).toEqual([[2, "eviction"]]);
    expect(w.isAgent(victim)).toBe(false);
    expect((w.kpis().exits as Record<string, number>).eviction).toBe(1);
  });

  it("keeps the first reason when a starving agent was already marked for eviction", () => {
    let victim = 0;
    const both = pinPlugin(({ tick, world: w }) => {
      if (tick !== 1) return;
      w.columns(Lifecycle).exit_reason[victim] = ExitReason.Eviction;
      w.columns(Needs).hunger[victim] = 0;
    });
    const w = world({}, [both]);
    victim = w.agents[0];
    const exits = record(w, AgentExit);
    w.step();
    expect(exits.map((e) => w.text(e.reason))).toEqual(["eviction"]);
  });

  it("lets an agent with no money and no wage for unemployment_grace_ticks leave for unemployment", () => {
    let broke = 0;
    const w = world({ lifecycle: { unemployment_grace_ticks: 10 } });
    broke = w.agents[2];
    w.columns(Wallet).money[broke] = 0;
    const exits = record(w, AgentExit);
    w.run(9);
    expect(exits).toEqual([]);
    expect(w.columns(Lifecycle).broke_ticks[broke]).toBe(9);
    w.step();
    expect(exits.map((e) => [e.tick, w.text(e.reason), e.uid])).toEqual([[10, "unemployment", 2]]);
  });

  it("starts the unemployment count over when the agent has money again", () => {
    const w = world({ lifecycle: { unemployment_grace_ticks: 10 } });
    const eid = w.agents[0];
    const W = w.columns(Wallet);
    W.money[eid] = 0;
    w.run(8);
    W.money[eid] = 1;
    w.step();
    expect(w.columns(Lifecycle).broke_ticks[eid]).toBe(0);
    W.money[eid] = 0;
    w.run(9);
    expect(w.isAgent(eid)).toBe(true);
  });

  it("sends AgentExit with the agent's final reward of the tick, terminal penalty included", () => {
    let victim = 0;
    const seen: number[] = [];
    // Reads the reward in Finalize's own tick, just before the agent is removed.
    const spy = definePlugin({
      name: "spy",
      systems: [
        {
          name: "spy/reward",
          phase: "needs",
          after: [NeedsSets.Rewards],
          before: [NeedsSets.Finalize],
          run: ({ world: w }) => void seen.push(w.columns(Reward).total[victim]),
        },
      ],
    });
    const w = world({}, [starveAt(1, () => [victim]), spy]);
    victim = w.agents[0];
    const exits = record(w, AgentExit);
    w.step();
    expect(exits[0].reward).toBe(seen[0]);
    expect(exits[0].reward).toBeCloseTo(-0.2 + -1.0, 6);
  });
});

describe("replacements", () => {
  it("spawns a new agent (new uid, new name) 5 to 20 ticks after a faint", () => {
    let victim = 0;
    const w = world({}, [starveAt(1, () => [victim])]);
    victim = w.agents[0];
    const oldName = w.agentName(victim);
    const oldUid = uidOf(w, victim);
    const spawns = record(w, AgentSpawn);
    w.run(25);
    expect(spawns).toHaveLength(1);
    const s = spawns[0];
    expect(s.tick - 1).toBeGreaterThanOrEqual(5);
    expect(s.tick - 1).toBeLessThanOrEqual(20);
    expect(s.replaces_uid).toBe(oldUid);
    expect(s.uid).not.toBe(oldUid);
    expect(s.uid).toBe(3);
    const name = w.agentName(s.agent);
    expect(name).not.toBe(oldName);
    expect(w.agentEid(name)).toBe(s.agent);
    expect(w.columns(Lifecycle).replaces_uid[s.agent]).toBe(oldUid);
    expect(w.columns(Lifecycle).spawned_tick[s.agent]).toBe(s.tick);
    expect(w.agents.length).toBe(3);
    expect(w.kpis()).toMatchObject({ spawns: 1, pending_respawns: 0 });
  });

  it("adds respawn_delay_ticks to the random delay", () => {
    let victim = 0;
    const w = world({ lifecycle: { respawn_delay_ticks: 30, respawn_delay_min: 2, respawn_delay_max: 2 } }, [starveAt(1, () => [victim])]);
    victim = w.agents[0];
    const spawns = record(w, AgentSpawn);
    w.run(40);
    expect(spawns.map((s) => s.tick)).toEqual([33]);
  });

  it("keeps exit_cooldown_ticks between two respawns in a town, deferring the later one", () => {
    let victims: number[] = [];
    const w = world({ lifecycle: { respawn_delay_min: 5, respawn_delay_max: 5, exit_cooldown_ticks: 50, daily_respawn_cap: 10 } }, [
      starveAt(1, () => victims),
    ]);
    victims = [w.agents[0], w.agents[1]];
    const spawns = record(w, AgentSpawn);
    w.run(30);
    expect(spawns.map((s) => s.tick)).toEqual([6]);
    expect(w.kpis()).toMatchObject({ spawns: 1, pending_respawns: 1 });
    w.run(40);
    expect(spawns.map((s) => s.tick)).toEqual([6, 56]);
    expect(w.kpis()).toMatchObject({ spawns: 2, pending_respawns: 0 });
  });

  it("counts the cooldown per town: another town respawns on its own clock", () => {
    let victims: number[] = [];
    const w = world({ world: { towns: 2, agents_per_town: 2, grid_size: [8, 8] }, lifecycle: { respawn_delay_min: 5, respawn_delay_max: 5, exit_cooldown_ticks: 50 } }, [
      starveAt(1, () => victims),
    ]);
    victims = [w.agents[0], w.agents[2]];
    const spawns = record(w, AgentSpawn);
    w.run(10);
    expect(spawns.map((s) => [s.tick, s.town])).toEqual([
      [6, 0],
      [6, 1],
    ]);
  });

  it("defers respawns beyond daily_respawn_cap to the next day", () => {
    let victims: number[] = [];
    const w = world(
      {
        observations_config: { hybrid: { time_ticks_per_day: 100 } },
        lifecycle: { respawn_delay_min: 5, respawn_delay_max: 5, exit_cooldown_ticks: 0, daily_respawn_cap: 1 },
      },
      [starveAt(1, () => victims)],
    );
    victims = [w.agents[0], w.agents[1], w.agents[2]];
    const spawns = record(w, AgentSpawn);
    w.run(99);
    expect(spawns.map((s) => s.tick)).toEqual([6]);
    expect(w.kpis().pending_respawns).toBe(2);
    w.run(101);
    expect(spawns.map((s) => s.tick)).toEqual([6, 100, 200]);
  });

  it("never respawns with daily_respawn_cap 0, keeping the replacement pending", () => {
    let victim = 0;
    const w = world({ lifecycle: { daily_respawn_cap: 0 } }, [starveAt(1, () => [victim])]);
    victim = w.agents[0];
    w.run(30);
    expect(w.agents.length).toBe(2);
    expect(w.kpis().pending_respawns).toBe(1);
  });

  it("draws the same delays for the same seed", () => {
    const ticks = (seed: number) => {
      let victims: number[] = [];
      const w = makeWorld(
        { seed, world: { agents_per_town: 3, grid_size: [8, 8] }, ...STILL, lifecycle: { exit_cooldown_ticks: 0, daily_respawn_cap: 5 } },
        corePlugins,
        [starveAt(1, () => victims)],
      );
      victims = Array.from(w.agents);
      const spawns = record(w, AgentSpawn);
      w.run(25);
      return spawns.map((s) => s.tick);
    };
    expect(ticks(3)).toEqual(ticks(3));
    expect(ticks(3)).toHaveLength(3);
  });

  it("keeps the replacement's agent free of positive reward for no_positive_within_death_ticks", () => {
    let victim = 0;
    const w = world({ lifecycle: { respawn_delay_min: 5, respawn_delay_max: 5 }, rewards: { clip: { no_positive_within_death_ticks: 4 }, decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } }, [
      starveAt(1, () => [victim]),
      pinPlugin(({ tick, world: ww, agents }) => {
        if (tick < 2) return;
        const N = ww.columns(Needs);
        for (let i = 0; i < agents.length; i++) N.hunger[agents[i]] = N.hygiene[agents[i]] = N.energy[agents[i]] = 1;
      }),
    ]);
    victim = w.agents[0];
    const spawns = record(w, AgentSpawn);
    w.run(6);
    const fresh = spawns[0].agent;
    const R = w.columns(Reward);
    const totals: number[] = [];
    for (let t = 7; t <= 12; t++) {
      w.step();
      totals.push(R.total[fresh]);
    }
    expect(totals.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(totals[4]).toBeGreaterThan(0);
  });
});

describe("spawn announcements", () => {
  it("announces every agent of the initial population to the first tick", () => {
    const seen: number[][] = [];
    const reader = definePlugin({
      name: "reader",
      systems: [
        {
          name: "reader/spawns",
          phase: "console",
          run: ({ read, tick }) => {
            const m = read(AgentSpawn);
            for (let i = m.start; i < m.end; i++) seen.push([tick, m.uid[i], m.replaces_uid[i]]);
          },
        },
      ],
    });
    const w = world({}, [reader]);
    w.run(2);
    expect(seen).toEqual([
      [1, 0, -1],
      [1, 1, -1],
      [1, 2, -1],
    ]);
  });
});

describe("nightly reset", () => {
  it("raises every need to at least 0.5 at the turn of the day and leaves higher needs alone", () => {
    const pin = pinPlugin(({ tick, world: w, agents }) => {
      if (tick !== 50) return;
      const N = w.columns(Needs);
      N.hunger[agents[0]] = 0.2;
      N.hygiene[agents[0]] = 0.9;
      N.energy[agents[0]] = 0.05;
    });
    const w = world({ observations_config: { hybrid: { time_ticks_per_day: 50 } } }, [pin]);
    const eid = w.agents[0];
    w.run(50);
    const N = w.columns(Needs);
    expect([N.hunger[eid], N.hygiene[eid], N.energy[eid]]).toEqual([0.5, Math.fround(0.9), 0.5]);
  });
});

describe("nightly reset kernel", () => {
  it("raises every agent of every run of ids at midnight, a replacement's too, and no other entity", () => {
    let low: number[] = [];
    const pin = pinPlugin(({ tick, world: w, agents }) => {
      if (tick !== 50) return;
      const N = w.columns(Needs);
      low = [...agents];
      for (const eid of agents) N.hunger[eid] = N.hygiene[eid] = N.energy[eid] = 0.1;
    });
    const w = world({ observations_config: { hybrid: { time_ticks_per_day: 50 } }, lifecycle: { respawn_delay_ticks: 0, respawn_delay_min: 1, respawn_delay_max: 1 } }, [pin]);
    // An entity that is not an agent between agents: the agents are more than one run of ids.
    const other = w.spawnEntity(0, []);
    w.spawnAgent(0);
    killAgent(w, w.agents[1]);
    w.run(10);
    expect(w.spans.length).toBeGreaterThan(2);
    const N = w.columns(Needs);
    expect(other).toBeLessThan(N.hunger.length);
    N.hunger[other] = 0.1;
    w.run(40);
    expect(low.length).toBe(w.agents.length);
    for (const eid of low) expect([N.hunger[eid], N.hygiene[eid], N.energy[eid]], `agent ${eid}`).toEqual([0.5, 0.5, 0.5]);
    expect(N.hunger[other]).toBe(Math.fround(0.1));
  });

  it("is primed without changing a value, and raises what the generic pass raises", () => {
    const n = 300;
    const cols = [0, 1, 2].map((k) => Float32Array.from({ length: n }, (_, i) => ((i * 37 + k * 11) % 100) / 100));
    const before = cols.map((c) => Uint8Array.from(new Uint8Array(c.buffer)));
    const spans = Int32Array.of(3, 40, 41, 200, 250, 300);
    const kernel = compileRaise(cols);
    expect(kernel).toBeDefined();
    primeRaise(kernel!, cols, spans);
    cols.forEach((c, k) => expect(new Uint8Array(c.buffer), `column ${k}`).toEqual(before[k]));
    const copy = cols.map((c) => c.slice());
    kernel!(spans, 0.5);
    raiseSpans(copy, spans, 0.5);
    cols.forEach((c, k) => expect(c, `column ${k}`).toEqual(copy[k]));
    // Ids outside the runs (0-2, 40, 200-249) keep their values; inside, nothing is below 0.5.
    expect(cols[0][40]).toBe(Math.fround(((40 * 37) % 100) / 100));
    expect(cols[0][0]).toBe(0);
    for (let s = 0; s < spans.length; s += 2) for (let e = spans[s]; e < spans[s + 1]; e++) expect(cols[1][e]).toBeGreaterThanOrEqual(0.5);
  });
});

describe("killAgent", () => {
  it("removes the agent at the next Finalize with reason console and no terminal penalty", () => {
    const w = world();
    const eid = w.agents[1];
    expect(killAgent(w, eid)).toBe(true);
    const exits = record(w, AgentExit);
    w.step();
    expect(exits.map((e) => [e.tick, w.text(e.reason)])).toEqual([[1, "console"]]);
    expect(exits[0].reward).toBeLessThanOrEqual(0);
    expect(w.isAgent(eid)).toBe(false);
    expect(killAgent(w, eid)).toBe(false);
  });

  it("keeps a reason already set", () => {
    const w = world();
    const eid = w.agents[0];
    w.columns(Lifecycle).exit_reason[eid] = ExitReason.Eviction;
    killAgent(w, eid);
    expect(w.columns(Lifecycle).exit_reason[eid]).toBe(ExitReason.Eviction);
  });
});

describe("state", () => {
  it("saves and loads pending replacements and counters, and hashes them", () => {
    let victims: number[] = [];
    const w = world({ lifecycle: { daily_respawn_cap: 0 } }, [starveAt(1, () => victims)]);
    victims = [w.agents[0]];
    w.run(2);
    const st = w.state<LifecycleState>("lifecycle");
    const saved = JSON.parse(JSON.stringify(st.save()));
    const copy = new LifecycleState(true);
    copy.load(saved);
    expect(copy.save()).toEqual(saved);
    expect(copy.pendingReplaces).toEqual([0]);
    const hashOf = (s: LifecycleState) => {
      const h = new (class {
        words: number[] = [];
        u32(x: number) {
          this.words.push(x);
          return this;
        }
      })();
      s.hash(h as never);
      return h.words;
    };
    expect(hashOf(copy)).toEqual(hashOf(st));
  });
});
