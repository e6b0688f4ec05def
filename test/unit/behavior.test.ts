// The scripted controller and the option executor: the most urgent need below its threshold is
// seen to; work in the shift window unless a need is critical; planning ahead before a shift;
// rivals' objects avoided (policy_guardrail_block) and rivals on the tile stepped away from; the
// object with the shortest distance + wait chosen; Use options ending on finish or failure; the
// option-switch count.
import { describe, expect, it } from "vitest";
import { Activity, Intent, IntentKind, Option, OptionKind } from "../../components/activity.ts";
import { Employment, ShiftState } from "../../components/people.ts";
import { AffordanceFail, AffordanceFinish, AffordanceStart, ChatSuccess, GuardrailBlock } from "../../components/messages.ts";
import { Position } from "../../components/space.ts";
import { SpaceKey } from "../../components/grid.ts";
import { Agent } from "../../engine/core-components.ts";
import type { World } from "../../engine/world.ts";
import { affordanceRegistry, registerObject } from "../../systems/affordances/index.ts";
import { setUtility } from "../../systems/economy/index.ts";
import { chooseOption } from "../../components/options.ts";
import type { SocialState } from "../../systems/social/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { affordancesOnlyFile } from "../helpers/affordances.ts";

/** The core affordances without core.yaml's objects: every test places its own. */
const AFFORDANCES_ONLY = affordancesOnlyFile("townlet-behavior-");

interface TownOpts {
  jobs?: Record<string, unknown>;
  decay?: { hunger?: number; hygiene?: number; energy?: number };
  extra?: Record<string, unknown>;
}

/**
 * A 12x12 town with no agents and no objects; no jobs and no need decay unless given. Idle
 * agents reconsider every tick here (the default, 5, spreads the controller's work).
 */
function town(o: TownOpts = {}): World {
  return makeWorld({
    scripted: { idle_recheck_ticks: 1 },
    world: { agents_per_town: 0, grid_size: [12, 12] },
    affordances: { affordances_file: AFFORDANCES_ONLY },
    jobs: o.jobs ?? {},
    rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0, ...o.decay } },
    lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
    conflict: { rivalry: { decay_per_tick: 0 } },
    ...o.extra,
  });
}

interface AgentInit {
  hunger?: number;
  hygiene?: number;
  energy?: number;
  money?: number;
  /** Driven by hand (the controller leaves it alone). */
  external?: boolean;
}

function agent(w: World, x: number, y: number, init: AgentInit = {}): number {
  const eid = w.spawnAgent(0, {
    init: {
      Position: { x, y },
      Needs: { hunger: init.hunger ?? 0.9, hygiene: init.hygiene ?? 0.9, energy: init.energy ?? 0.9 },
      Wallet: { money: init.money ?? 5 },
    },
  });
  if (init.external) {
    w.columns(Option).external[eid] = 1;
    w.columns(Intent).kind[eid] = IntentKind.Wait;
  }
  return eid;
}

const aff = (w: World, id: string) => affordanceRegistry(w).affordanceIndex(id);

/** The usual furniture: a fridge, a shower and a bed near the middle. */
function furnish(w: World): { fridge: number; shower: number; bed: number } {
  return {
    fridge: registerObject(w, 0, { id: "fridge_1", object_type: "fridge", position: [4, 4] }),
    shower: registerObject(w, 0, { id: "shower_1", object_type: "shower", position: [7, 4] }),
    bed: registerObject(w, 0, { id: "bed_1", object_type: "bed", position: [4, 7] }),
  };
}

/** Makes `a` see `b` as a rival (rivalry 0.9 >= the default avoid threshold 0.7). */
function rival(w: World, a: number, b: number): void {
  const L = w.state<SocialState>("social").ledger;
  L.rivalry[L.slot(a, w.columns(Agent).uid[b])] = 0.9;
}

/** Steps and returns this run's affordance starts/finishes/fails of `eid` with their ticks. */
function trace(w: World, eid: number, n: number): { tick: number; kind: string; affordance: number }[] {
  const out: { tick: number; kind: string; affordance: number }[] = [];
  for (let i = 0; i < n; i++) {
    w.step();
    for (const [kind, def] of [
      ["start", AffordanceStart],
      ["finish", AffordanceFinish],
      ["fail", AffordanceFail],
    ] as const) {
      const v = w.lastTick(def);
      for (let k = v.start; k < v.end; k++) if (v.agent[k] === eid) out.push({ tick: w.tick, kind, affordance: v.affordance[k] });
    }
  }
  return out;
}

/** The option kind and affordance of an agent's first decision in a furnished town whose hunger decays at `rate`. */
function firstChoice(rate: number, init: AgentInit): [number, number] {
  const w = town({ decay: { hunger: rate } });
  furnish(w);
  const a = agent(w, 5, 5, init);
  w.step();
  const Op = w.columns(Option);
  return [Op.kind[a], Op.affordance[a]];
}

describe("needs", () => {
  it("sees to the most urgent need below its threshold first, then the next", () => {
    const w = town();
    furnish(w);
    const a = agent(w, 5, 5, { hunger: 0.3, hygiene: 0.1, energy: 0.35 });
    const Op = w.columns(Option);
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Use);
    expect(Op.affordance[a]).toBe(aff(w, "use_shower"));
    const starts = trace(w, a, 200).filter((e) => e.kind === "start");
    expect(starts.slice(0, 3).map((e) => e.affordance)).toEqual([aff(w, "use_shower"), aff(w, "eat_meal"), aff(w, "rest_sleep")]);
  });

  it("waits when every need is comfortably above its threshold", () => {
    const w = town();
    furnish(w);
    const a = agent(w, 5, 5);
    w.run(5);
    expect(w.columns(Option).kind[a]).toBe(OptionKind.Wait);
    expect(w.columns(Intent).kind[a]).toBe(IntentKind.Wait);
    expect(w.columns(Activity).holding[a]).toBe(0);
  });

  it("tops up a need within top_up_margin of its threshold when no shift is near", () => {
    const w = town();
    furnish(w);
    const a = agent(w, 5, 5, { hunger: 0.6 });
    w.step();
    expect(w.columns(Option).affordance[a]).toBe(aff(w, "eat_meal"));
  });

  it("eats first when seeing to the worst need would leave hunger critical by its end (issue #16)", () => {
    // Energy 0.2 is the worst need: rest_sleep (60 ticks, no food). Hunger 0.5 at 0.01 a tick
    // would be -0.1 when it ends, below critical_level 0.15: eat_meal first. At 0.001: 0.44.
    const choice = (rate: number) => firstChoice(rate, { energy: 0.2, hunger: 0.5 });
    expect(choice(0.01)).toEqual([OptionKind.Use, aff(town(), "eat_meal")]);
    expect(choice(0.001)).toEqual([OptionKind.Use, aff(town(), "rest_sleep")]);
  });

  it("tops up no need whose affordance would leave hunger below its threshold by its end (issue #16)", () => {
    // Energy 0.5 is within top_up_margin (0.25) of its threshold (0.4): rest_sleep, 60 ticks.
    // Hunger 0.7 at 0.01 a tick would be 0.1 by then, below its threshold 0.4: no top-up.
    const choice = (rate: number) => firstChoice(rate, { energy: 0.5, hunger: 0.7 });
    expect(choice(0.01)).toEqual([OptionKind.Wait, -1]);
    expect(choice(0.001)).toEqual([OptionKind.Use, aff(town(), "rest_sleep")]);
  });

  it("cooks instead of eating when the fridge is empty, and eats when it cannot pay for a meal but can for ingredients", () => {
    const w = town();
    registerObject(w, 0, { id: "fridge_1", object_type: "fridge", position: [4, 4], stock: { meals: 0 } });
    registerObject(w, 0, { id: "stove_1", object_type: "stove", position: [7, 4] });
    const a = agent(w, 5, 5, { hunger: 0.2 });
    const poor = agent(w, 6, 6, { hunger: 0.2, money: 0.2 });
    w.step();
    expect(w.columns(Option).affordance[a]).toBe(aff(w, "cook_meal"));
    expect(w.columns(Option).affordance[poor]).toBe(aff(w, "cook_meal"));
  });
});

describe("work", () => {
  const JOBS = { grocer: { start_tick: 30, end_tick: 80, wage_rate: 0.05, lateness_penalty: 0.1, location: [10, 10] } };
  const EXTRA = { behavior: { job_arrival_buffer: 10 } };

  it("leaves for work job_arrival_buffer ticks plus the walk before the shift, is on shift on time, and stops at the end", () => {
    const w = town({ jobs: JOBS, extra: EXTRA });
    furnish(w);
    const a = agent(w, 5, 5); // 10 tiles from the workplace: leaves at 30 - 10 - 10 = tick 10
    const Op = w.columns(Option);
    const E = w.columns(Employment);
    const P = w.columns(Position);
    w.run(9);
    expect(Op.kind[a]).toBe(OptionKind.Wait);
    expect([P.x[a], P.y[a]]).toEqual([5, 5]);
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Work);
    expect(w.columns(Intent).kind[a]).toBe(IntentKind.Move);
    w.run(10);
    expect(Math.abs(P.x[a] - 10) + Math.abs(P.y[a] - 10)).toBeLessThanOrEqual(1);
    w.run(10); // waiting at work through the buffer
    expect(Op.kind[a]).toBe(OptionKind.Work);
    w.step(); // tick 31
    expect(E.shift_state[a]).toBe(ShiftState.OnTime);
    expect(E.on_shift[a]).toBe(1);
    expect(E.wage_this_tick[a]).toBeCloseTo(0.05, 6);
    w.run(50); // tick 81: the shift is over
    expect(Op.kind[a]).not.toBe(OptionKind.Work);
  });

  it("sees to a critical need before going to work, then goes", () => {
    const w = town({ jobs: JOBS, extra: EXTRA });
    furnish(w);
    w.run(19);
    const a = agent(w, 5, 5, { hunger: 0.1 }); // first decision at tick 20, in the window
    w.step();
    const Op = w.columns(Option);
    expect(Op.kind[a]).toBe(OptionKind.Use);
    expect(Op.affordance[a]).toBe(aff(w, "eat_meal"));
    const events = trace(w, a, 25);
    expect(events.map((e) => e.kind)).toEqual(["start", "finish"]);
    w.step();
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Work);
  });

  it("works through a need below its threshold that is not critical", () => {
    const w = town({ jobs: JOBS, extra: EXTRA });
    furnish(w);
    w.run(19);
    const a = agent(w, 5, 5, { hunger: 0.3 });
    w.step();
    expect(w.columns(Option).kind[a]).toBe(OptionKind.Work);
  });

  it("plans ahead: before a shift it sees to a need that would turn critical before the shift ends", () => {
    // Shift 100..200, buffer 5, pre_shift_guard_ticks 60: from tick 35 on no top-ups, but a
    // need projected below critical_level (0.15) by the end of the shift is seen to now.
    const jobs = { grocer: { start_tick: 100, end_tick: 200, wage_rate: 0.05, location: [10, 10] } };
    const choice = (rate: number) => {
      const w = town({ jobs, decay: { hunger: rate }, extra: { behavior: { job_arrival_buffer: 5 } } });
      furnish(w);
      w.run(40);
      const a = agent(w, 5, 5, { hunger: 0.6 });
      w.step();
      const Op = w.columns(Option);
      return [Op.kind[a], Op.affordance[a]];
    };
    // 0.6 - 0.003 * 159 = 0.123 < 0.15: eat now.
    expect(choice(0.003)).toEqual([OptionKind.Use, aff(town(), "eat_meal")]);
    // No decay: 0.6 is above the threshold and too close to the shift for a top-up.
    expect(choice(0)).toEqual([OptionKind.Wait, -1]);
  });
});

describe("rivals", () => {
  it("does not queue where a rival holds the object: policy_guardrail_block 'queue_rival'", () => {
    const w = town();
    const shower = registerObject(w, 0, { id: "shower_1", object_type: "shower", position: [5, 5] });
    const r = agent(w, 5, 5, { external: true, hygiene: 0.1 });
    const I = w.columns(Intent);
    I.kind[r] = IntentKind.Start;
    I.object[r] = shower;
    I.affordance[r] = aff(w, "use_shower");
    w.step();
    expect(w.columns(Activity).running[r]).toBe(aff(w, "use_shower"));
    const a = agent(w, 5, 6, { hygiene: 0.1 });
    rival(w, a, r);
    w.step();
    const g = w.lastTick(GuardrailBlock);
    expect(g.count).toBe(1);
    expect(g.agent[g.start]).toBe(a);
    expect(w.text(g.reason[g.start])).toBe("queue_rival");
    expect(w.columns(Activity).queued[a]).toBe(0);
    expect(w.columns(Option).done[a]).toBe(1);
    // Another shower, even a farther one, is fine.
    const other = registerObject(w, 0, { id: "shower_2", object_type: "shower", position: [10, 10] });
    w.step();
    expect(w.lastTick(GuardrailBlock).count).toBe(0);
    expect(w.columns(Option).object[a]).toBe(other);
  });

  it("does not queue behind a rival waiting in the queue", () => {
    const w = town();
    const shower = registerObject(w, 0, { id: "shower_1", object_type: "shower", position: [5, 5] });
    const h = agent(w, 5, 5, { external: true });
    const r = agent(w, 5, 4, { external: true });
    const I = w.columns(Intent);
    for (const x of [h, r]) {
      I.kind[x] = IntentKind.Start;
      I.object[x] = shower;
      I.affordance[x] = aff(w, "use_shower");
    }
    w.step();
    expect(w.columns(Activity).queued[r]).toBe(shower);
    const a = agent(w, 6, 5, { hygiene: 0.1 });
    rival(w, a, r);
    w.step();
    expect(w.lastTick(GuardrailBlock).count).toBe(1);
    expect(w.columns(Activity).queued[a]).toBe(0);
  });

  it("steps away from a rival on its tile, to the first 4-neighbour without a rival (W, E, N, S)", () => {
    const w = town();
    const r = agent(w, 5, 5, { external: true });
    const r2 = agent(w, 4, 5, { external: true });
    const a = agent(w, 5, 5);
    rival(w, a, r);
    rival(w, a, r2);
    const P = w.columns(Position);
    w.step();
    expect(w.columns(Option).kind[a]).toBe(OptionKind.Avoid);
    expect([P.x[a], P.y[a]]).toEqual([6, 5]);
    w.step();
    expect(w.columns(Option).kind[a]).toBe(OptionKind.Wait);
    expect([P.x[a], P.y[a]]).toEqual([6, 5]);
  });

  it("does not step away from a rival on the next tile while alone on its own, and does once the rival joins it", () => {
    const w = town();
    const r = agent(w, 6, 5, { external: true });
    const a = agent(w, 5, 5);
    rival(w, a, r);
    const P = w.columns(Position);
    w.step();
    expect(w.columns(Option).kind[a]).toBe(OptionKind.Wait);
    expect([P.x[a], P.y[a]]).toEqual([5, 5]);
    w.resource(SpaceKey).place(r, 0, 5, 5);
    P.x[r] = 5;
    w.step();
    expect(w.columns(Option).kind[a]).toBe(OptionKind.Avoid);
  });

  it("steps away from a rival whose edge is at rest (off the ledger's hot list) when min_value reaches the avoid threshold", () => {
    const w = town({ extra: { conflict: { rivalry: { min_value: 0.75, avoid_threshold: 0.75, eviction_threshold: 0.75, decay_per_tick: 0.01 } } } });
    const r = agent(w, 5, 5, { external: true });
    const a = agent(w, 5, 5);
    const L = w.state<SocialState>("social").ledger;
    const s = L.slot(a, w.columns(Agent).uid[r]);
    // 0.75: exact in the ledger's Float32 (0.7 is stored as 0.69999999, below a threshold of 0.7).
    L.rivalry[s] = 0.75;
    L.trust[s] = 0.5;
    const Op = w.columns(Option);
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Avoid);
    for (let i = 0; i < 5 && Op.kind[a] !== OptionKind.Wait; i++) w.step();
    expect(Op.kind[a]).toBe(OptionKind.Wait);
    // The social pass found the edge at rest (rivalry at min_value, trust non-zero): a is off the list.
    expect(L.hot[a]).toBe(0);
    expect(L.rivalryOf(a, w.columns(Agent).uid[r])).toBe(0.75);
    const P = w.columns(Position);
    w.resource(SpaceKey).place(a, 0, 5, 5);
    P.x[a] = 5;
    P.y[a] = 5;
    w.step();
    expect(Op.kind[a]).toBe(OptionKind.Avoid);
  });

  it("does not step away from an agent it is not a rival of", () => {
    const w = town();
    agent(w, 5, 5, { external: true });
    const a = agent(w, 5, 5);
    w.run(3);
    expect([w.columns(Position).x[a], w.columns(Position).y[a]]).toEqual([5, 5]);
  });
});

describe("the option executor", () => {
  it("picks the object with the shortest distance + wait", () => {
    const setup = (busy: boolean) => {
      const w = town();
      const near = registerObject(w, 0, { id: "shower_near", object_type: "shower", position: [5, 7] });
      const far = registerObject(w, 0, { id: "shower_far", object_type: "shower", position: [5, 11] });
      if (busy) {
        const h = agent(w, 5, 7, { external: true, hygiene: 0.1 });
        const I = w.columns(Intent);
        I.kind[h] = IntentKind.Start;
        I.object[h] = near;
        I.affordance[h] = aff(w, "use_shower");
        w.step();
      }
      const a = agent(w, 5, 5, { hygiene: 0.1 });
      w.step();
      return { chosen: w.columns(Option).object[a], near, far };
    };
    // Near (distance 2) but busy for ~29 more ticks: the free one at distance 6 wins.
    const busy = setup(true);
    expect(busy.chosen).toBe(busy.far);
    const free = setup(false);
    expect(free.chosen).toBe(free.near);
  });

  it("skips empty fridges and unpowered showers", () => {
    const w = town();
    registerObject(w, 0, { id: "fridge_empty", object_type: "fridge", position: [5, 6], stock: { meals: 0 } });
    const full = registerObject(w, 0, { id: "fridge_full", object_type: "fridge", position: [5, 10] });
    const dark = registerObject(w, 0, { id: "shower_dark", object_type: "shower", position: [6, 5], stock: { power_on: 0 } });
    const lit = registerObject(w, 0, { id: "shower_lit", object_type: "shower", position: [10, 5] });
    const hungry = agent(w, 5, 5, { hunger: 0.1 });
    const dirty = agent(w, 5, 5, { hygiene: 0.1 });
    w.step();
    const Op = w.columns(Option);
    expect(Op.object[hungry]).toBe(full);
    expect(Op.object[dirty]).toBe(lit);
    void dark;
  });

  it("ends a Use option when its affordance finishes: the next tick waits, then a new option is chosen", () => {
    const w = town();
    furnish(w);
    const a = agent(w, 7, 5, { hygiene: 0.3 });
    const Op = w.columns(Option);
    let finished = false;
    for (let t = 0; t < 40 && !finished; t++) {
      finished = trace(w, a, 1).some((e) => e.kind === "finish" && e.affordance === aff(w, "use_shower"));
      if (!finished) expect(Op.kind[a]).toBe(OptionKind.Use);
    }
    expect(finished).toBe(true);
    expect(Op.done[a]).toBe(0);
    w.step();
    expect(Op.done[a]).toBe(1);
    expect(w.columns(Intent).kind[a]).toBe(IntentKind.Wait);
    w.step();
    // Hygiene 0.75 now: nothing to do.
    expect(Op.kind[a]).toBe(OptionKind.Wait);
    expect(w.columns(Activity).holding[a]).toBe(0);
    expect(w.columns(Activity).last_ok[a]).toBe(1);
  });

  it("ends a Use option when its affordance fails", () => {
    const w = town();
    furnish(w);
    const a = agent(w, 7, 5, { hygiene: 0.1 });
    let events = trace(w, a, 5);
    expect(events.map((e) => e.kind)).toEqual(["start"]);
    setUtility(w, 0, "water", false);
    events = trace(w, a, 1);
    expect(events.map((e) => e.kind)).toEqual(["fail"]);
    const Op = w.columns(Option);
    expect(Op.done[a]).toBe(0);
    w.step();
    expect(Op.done[a]).toBe(1);
    expect(w.columns(Activity).holding[a]).toBe(0);
    // With the water off no shower can be chosen: the agent does not stand in a queue.
    w.run(5);
    expect(w.columns(Activity).queued[a]).toBe(0);
    expect(w.columns(Activity).holding[a]).toBe(0);
  });

  it("chats with a non-rival on its tile when the relationships stage is on, once per chat_cooldown_ticks", () => {
    const w = town({ extra: { features: { stages: { relationships: "B" } }, scripted: { idle_recheck_ticks: 1, chat_cooldown_ticks: 10 } } });
    const a = agent(w, 5, 5);
    agent(w, 5, 5, { external: true });
    let chats = 0;
    for (let t = 0; t < 25; t++) {
      w.step();
      const v = w.lastTick(ChatSuccess);
      for (let i = v.start; i < v.end; i++) if (v.speaker[i] === a) chats++;
    }
    expect(chats).toBe(3);
  });
});

describe("option switches", () => {
  it("counts a change of option kind, but not a change to or from Wait", () => {
    const w = town();
    const a = agent(w, 5, 5, { external: true });
    const Op = w.columns(Option);
    Op.switches[a] = 0;
    const steps: [number, number][] = [
      [OptionKind.Use, 0], // from Wait
      [OptionKind.Use, 0], // same kind
      [OptionKind.Work, 1],
      [OptionKind.Wait, 1],
      [OptionKind.Chat, 1],
      [OptionKind.Avoid, 2],
      [OptionKind.Use, 3],
    ];
    for (const [kind, expected] of steps) {
      chooseOption(Op, a, kind, kind === OptionKind.Use ? 1 : -1, 0, w.tick);
      expect(Op.switches[a]).toBe(expected);
      expect(Op.kind[a]).toBe(kind);
      expect(Op.done[a]).toBe(0);
      expect(Op.object[a]).toBe(0);
    }
  });

  it("counts the controller's own switches (Use -> Work)", () => {
    const w = town({ jobs: { grocer: { start_tick: 30, end_tick: 80, wage_rate: 0.05, location: [10, 10] } }, extra: { behavior: { job_arrival_buffer: 10 } } });
    furnish(w);
    w.run(19);
    const a = agent(w, 5, 5, { hunger: 0.1 });
    w.run(40);
    expect(w.columns(Option).kind[a]).toBe(OptionKind.Work);
    expect(w.columns(Option).switches[a]).toBe(1);
  });
});
