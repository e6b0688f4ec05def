// perturbations/schedule on events (issue #19): a (town, spec) bucket whose gates closed for the
// town's event count, a cooldown or the window is not judged again before the tick that can open
// it, and the per-agent cooldown map is walked only on a tick where a cooldown ends. Twin worlds,
// one skipping and one judging every bucket every tick (`skipClosed = false`, the behaviour
// before), must hash the same after every tick: a bucket judged late, a window pruned on another
// tick or a cooldown dropped late changes the scheduler's hashed state (windows, cooldowns, draws).
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildWorld } from "../../engine/build.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { cancel, latestState, perturbationsPlugin, perturbationsState, schedule } from "../../systems/perturbations/index.ts";
import { makeWorld } from "../helpers/world.ts";

const MANY_TOWNS = fileURLToPath(new URL("../../configs/many-towns.yaml", import.meta.url));

/** Frequent events in a short window: every gate (count, cooldown, window) closes often. */
const BUSY = {
  max_concurrent_events: 1,
  global_cooldown_ticks: 10,
  per_agent_cooldown_ticks: 0,
  grace_window_ticks: 20,
  window_ticks: 300,
  max_events_per_window: 2,
  events: {
    spike: { kind: "price_spike", prob_per_day: 30, cooldown_ticks: 20, duration: [10, 40], magnitude: [1.2, 1.8] },
    blackout: { kind: "blackout", prob_per_day: 20, cooldown_ticks: 40, duration: [5, 30] },
    outage: { kind: "outage", prob_per_day: 10, cooldown_ticks: 40, duration: [5, 30] },
  },
};

function judgeEveryTick(w: World): World {
  perturbationsState(w).skipClosed = false;
  return w;
}

/** Steps both worlds to `tick`, expecting the same state hash after every tick; calls `each` with the skipping world. */
function stepBoth(a: World, b: World, tick: number, each: (w: World) => void = () => {}): void {
  while (a.tick < tick) {
    a.step();
    b.step();
    expect(a.stateHash(), `tick ${a.tick}`).toBe(b.stateHash());
    each(a);
  }
}

describe("perturbation gates on events", () => {
  it("hashes every tick as a world that judges every bucket, through closed counts, cooldowns, windows and a cancel", () => {
    const lean = () => makeWorld({ seed: 5, world: { towns: 12, agents_per_town: 0 }, perturbations: BUSY }, [perturbationsPlugin]);
    const a = lean();
    const b = judgeEveryTick(lean());
    // Buckets skipped for a later tick at some point (the path under test ran).
    let skipped = 0;
    const countSkipped = (w: World) => {
      const st = perturbationsState(w);
      for (let k = 0; k < st.openAt.length; k++) if (st.openAt[k] > w.tick + 1) skipped++;
    };
    stepBoth(a, b, 700, countSkipped);
    // A cancel opens the town's count gate before the event's end: both worlds must judge the
    // town's other specs (given credit here) from the next tick on.
    while (!latestState(a).active.some((e) => e.ends_at > a.tick + 5)) stepBoth(a, b, a.tick + 1);
    const ev = latestState(a).active.find((e) => e.ends_at > a.tick + 5)!;
    expect(latestState(b).active.map((e) => e.id)).toContain(ev.id);
    for (const w of [a, b]) {
      const st = perturbationsState(w);
      const S = st.table.length;
      for (let s = 0; s < S; s++) {
        if (st.table[s].name === ev.spec) continue;
        // Only the count keeps the town's other specs closed.
        const k = ev.town * S + s;
        st.credit[k] = 3;
        st.cooldownUntil[k] = 0;
        st.windows.clear(k);
      }
    }
    // One tick judged (closed by the count: max_concurrent_events 1), then the cancel.
    stepBoth(a, b, a.tick + 1);
    for (const w of [a, b]) expect(cancel(w, ev.id)).toBe(true);
    for (const w of [a, b]) schedule(w, 3, "outage", { startsIn: 2, duration: 15 });
    stepBoth(a, b, 1600, countSkipped);
    expect(skipped).toBeGreaterThan(0);
    expect(perturbationsState(a).counts.started).toBeGreaterThan(50);
  });

  it("hashes every tick as a world that judges every bucket, with arranged meets and per-agent cooldowns", () => {
    const meets = {
      ...BUSY,
      per_agent_cooldown_ticks: 50,
      events: { meet: { kind: "arranged_meet", prob_per_day: 40, cooldown_ticks: 10, duration: [5, 15], target: "top_rivals", location: "fridge" } },
    };
    const build = () => buildWorld(MANY_TOWNS, corePlugins, { seed: 9, towns: 2, agentsPerTown: 8, overrides: { perturbations: meets } }).world;
    const a = build();
    const b = judgeEveryTick(build());
    let cooldowns = 0;
    stepBoth(a, b, 600, (w) => (cooldowns = Math.max(cooldowns, perturbationsState(w).agentCooldown.size)));
    expect(perturbationsState(a).counts.started).toBeGreaterThan(3);
    expect(cooldowns).toBeGreaterThan(0);
  });

  it("hashes every tick as a world that judges every bucket, with a meet whose meeting object no town has", () => {
    // As in the bench's towns (no cafe): the meet's buckets fill up and are never drawn. The
    // skipping world leaves them out of the gates unless their window holds a start, which the
    // gates must still prune on the same tick (a start left from before an object went away).
    const absent = { ...BUSY, events: { ...BUSY.events, meet: { kind: "arranged_meet", prob_per_day: 40, cooldown_ticks: 10, duration: [5, 15], location: "cafe" } } };
    const build = () => buildWorld(MANY_TOWNS, corePlugins, { seed: 4, towns: 6, agentsPerTown: 8, overrides: { perturbations: absent } }).world;
    const a = build();
    const b = judgeEveryTick(build());
    stepBoth(a, b, 200);
    for (const w of [a, b]) {
      const st = perturbationsState(w);
      const k = 2 * st.table.length + st.table.findIndex((x) => x.name === "meet");
      st.credit[k] = 3;
      st.windows.push(k, w.tick);
    }
    stepBoth(a, b, 700);
    const st = perturbationsState(a);
    const m = st.table.findIndex((x) => x.name === "meet");
    let full = 0;
    for (let t = 0; t < st.towns; t++) if (st.credit[t * st.table.length + m] >= 1) full++;
    expect(full).toBeGreaterThan(1);
    expect(st.windows.length(2 * st.table.length + m)).toBe(0);
    expect(st.counts.started).toBeGreaterThan(10);
  });
});

// drawPass (issue #19, tenth session): a bucket whose gates were found open is drawn on later
// ticks without judging its gates again, until its window's oldest start leaves (the gates prune
// it on that tick, as before) or an event starts in its town; the town that drew a spec last
// waits to the end of the pass. Both against the world that judges every bucket on every tick.
describe("perturbation draws of buckets known open", () => {
  it("hashes every tick as a world that judges every bucket, while open buckets wait and their window starts leave", () => {
    // Slow credit, a short window holding several starts: buckets hold a credit with open gates
    // for many ticks, and window starts leave while they wait.
    const waiting = {
      max_concurrent_events: 3,
      global_cooldown_ticks: 0,
      per_agent_cooldown_ticks: 0,
      grace_window_ticks: 20,
      window_ticks: 120,
      max_events_per_window: 3,
      events: {
        spike: { kind: "price_spike", prob_per_day: 12, cooldown_ticks: 5, duration: [5, 20], magnitude: [1.2, 1.8] },
        blackout: { kind: "blackout", prob_per_day: 8, cooldown_ticks: 5, duration: [5, 20] },
      },
    };
    const lean = () => makeWorld({ seed: 21, world: { towns: 30, agents_per_town: 0 }, perturbations: waiting }, [perturbationsPlugin]);
    const a = lean();
    const b = judgeEveryTick(lean());
    // Buckets known open past the tick (drawn without their gates), and those whose mark ends
    // when a window start leaves (gates judged again to prune it).
    let knownOpen = 0;
    let untilLeave = 0;
    stepBoth(a, b, 1500, (w) => {
      const st = perturbationsState(w);
      for (let k = 0; k < st.openUntil.length; k++) {
        if (st.openUntil[k] <= w.tick + 1) continue;
        knownOpen++;
        if (st.openUntil[k] < 0x3fffffff) untilLeave++;
      }
    });
    expect(knownOpen).toBeGreaterThan(1000);
    expect(untilLeave).toBeGreaterThan(100);
    expect(perturbationsState(a).counts.started).toBeGreaterThan(200);
  });

  it("hashes every tick as a world that judges every bucket, when the town that drew a spec last is the only one eligible", () => {
    // Two towns, one event at a time each, frequent draws: often the other town's event is still
    // running when the town that drew last is open again, and it draws (the fairness rule lets it).
    const two = {
      max_concurrent_events: 1,
      global_cooldown_ticks: 0,
      per_agent_cooldown_ticks: 0,
      grace_window_ticks: 10,
      window_ticks: 100,
      max_events_per_window: 100,
      events: { spike: { kind: "price_spike", prob_per_day: 100, cooldown_ticks: 0, duration: [1, 8], magnitude: [1.2, 1.8] } },
    };
    const lean = () => makeWorld({ seed: 3, world: { towns: 2, agents_per_town: 0 }, perturbations: two }, [perturbationsPlugin]);
    const a = lean();
    const b = judgeEveryTick(lean());
    let again = 0;
    while (a.tick < 2400) {
      const st = perturbationsState(a);
      const last = st.lastTown[0];
      const started = st.startedByTown[last] ?? 0;
      stepBoth(a, b, a.tick + 1);
      if (last >= 0 && st.lastTown[0] === last && st.startedByTown[last] > started) again++;
    }
    expect(again).toBeGreaterThan(10);
  });
});
