// Invariants over random small worlds (the default config and its manifest, configs/affordances/
// town.yaml, with random seed, towns, agents per town and decay rates), checked after every tick:
//   - needs are finite and in [0, 1];
//   - queues: every waiter appears in exactly one object's queue list, which agrees with its
//     Activity.queued and the object's queue_len; nobody both holds and waits;
//   - holders: Obj.holder and Activity.holding agree both ways; a running affordance is on the
//     object its agent holds;
//   - stock (meals, raw_ingredients, sleep_slots) is never negative;
//   - wallets are never negative, and every wallet change between two ticks is explained by that
//     tick's messages and wage (see `checkWallets`);
// and determinism: two worlds from the same settings and seed have the same state hash every tick.
import fc from "fast-check";
import { describe, it } from "vitest";
import { Activity } from "../../components/activity.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { AffordanceFinish, AffordanceStart } from "../../components/messages.ts";
import { Needs } from "../../components/needs.ts";
import { Obj } from "../../components/objects.ts";
import { Employment, ShiftState } from "../../components/people.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { loadConfig, type LoadedConfig } from "../../engine/config/loader.ts";
import { World } from "../../engine/world.ts";
import { affordanceRegistry, affordancesState } from "../../systems/affordances/index.ts";
import { corePlugins } from "../../systems/index.ts";
import { DEFAULT_CONFIG } from "../../tools/cli.ts";

interface Params {
  seed: number;
  towns: number;
  agents: number;
  hunger: number;
  hygiene: number;
  energy: number;
  ticks: number;
}

const params = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  towns: fc.integer({ min: 1, max: 3 }),
  agents: fc.integer({ min: 1, max: 10 }),
  hunger: fc.double({ min: 0, max: 0.02, noNaN: true }),
  hygiene: fc.double({ min: 0, max: 0.02, noNaN: true }),
  energy: fc.double({ min: 0, max: 0.02, noNaN: true }),
  ticks: fc.integer({ min: 1, max: 300 }),
});

function settingsFor(p: Params) {
  const loaded: LoadedConfig = loadConfig(DEFAULT_CONFIG, corePlugins, {
    overrides: {
      "world.towns": p.towns,
      "world.agents_per_town": p.agents,
      "rewards.decay_rates.hunger": p.hunger,
      "rewards.decay_rates.hygiene": p.hygiene,
      "rewards.decay_rates.energy": p.energy,
    },
  });
  if (!loaded.settings.affordances.affordances_file.endsWith("town.yaml")) fail(`manifest is ${loaded.settings.affordances.affordances_file}`);
  return loaded.settings;
}

function fail(msg: string): never {
  throw new Error(msg);
}

function checkNeeds(w: World): void {
  const N = w.columns(Needs);
  for (const a of w.agents) {
    for (const k of ["hunger", "hygiene", "energy"] as const) {
      const v = N[k][a];
      if (!Number.isFinite(v) || v < 0 || v > 1) fail(`tick ${w.tick}: ${k} of ${w.agentName(a)} is ${v}`);
    }
  }
}

function checkQueuesAndHolders(w: World): void {
  const O = w.columns(Obj);
  const A = w.columns(Activity);
  const seen = new Set<number>();
  for (const obj of affordancesState(w).objects) {
    let n = 0;
    for (let cur = O.queue_head[obj]; cur !== 0; cur = A.queue_next[cur]) {
      if (!w.isAgent(cur)) fail(`tick ${w.tick}: object ${obj}'s queue holds non-agent ${cur}`);
      if (seen.has(cur)) fail(`tick ${w.tick}: ${w.agentName(cur)} waits in two queues (or twice in one)`);
      seen.add(cur);
      if (A.queued[cur] !== obj) fail(`tick ${w.tick}: ${w.agentName(cur)} is in ${obj}'s queue but says it waits at ${A.queued[cur]}`);
      if (A.holding[cur] !== 0) fail(`tick ${w.tick}: ${w.agentName(cur)} holds ${A.holding[cur]} and waits at ${obj}`);
      if (++n > 10_000) fail(`tick ${w.tick}: object ${obj}'s queue list has a cycle`);
    }
    if (n !== O.queue_len[obj]) fail(`tick ${w.tick}: object ${obj} has ${n} waiters in its list, queue_len ${O.queue_len[obj]}`);
    const h = O.holder[obj];
    if (h !== 0) {
      if (!w.isAgent(h)) fail(`tick ${w.tick}: object ${obj} is held by non-agent ${h}`);
      if (A.holding[h] !== obj) fail(`tick ${w.tick}: object ${obj} says ${w.agentName(h)} holds it; the agent says ${A.holding[h]}`);
      if (O.running[obj] !== A.running[h]) fail(`tick ${w.tick}: object ${obj} runs ${O.running[obj]}, its holder ${A.running[h]}`);
    } else if (O.running[obj] !== -1) fail(`tick ${w.tick}: free object ${obj} runs ${O.running[obj]}`);
    for (const k of ["meals", "raw_ingredients", "sleep_slots"] as const) {
      if (!(O[k][obj] >= 0)) fail(`tick ${w.tick}: object ${obj} has ${k} = ${O[k][obj]}`);
    }
  }
  for (const a of w.agents) {
    if (A.queued[a] !== 0 && !seen.has(a)) fail(`tick ${w.tick}: ${w.agentName(a)} says it waits at ${A.queued[a]} but is in no list`);
    const held = A.holding[a];
    if (held !== 0 && O.holder[held] !== a) fail(`tick ${w.tick}: ${w.agentName(a)} says it holds ${held}; the object says ${O.holder[held]}`);
    if (A.running[a] >= 0 && held === 0) fail(`tick ${w.tick}: ${w.agentName(a)} runs ${A.running[a]} without holding anything`);
  }
}

interface WalletSnapshot {
  uid: Map<number, number>;
  money: Map<number, number>;
}

function snapshotWallets(w: World): WalletSnapshot {
  const uid = w.columns(Agent).uid;
  const W = w.columns(Wallet);
  const s: WalletSnapshot = { uid: new Map(), money: new Map() };
  for (const a of w.agents) {
    s.uid.set(a, uid[a]);
    s.money.set(a, W.money[a]);
  }
  return s;
}

const EPS = 1e-4;

/**
 * Wallet accounting for one tick, for every agent alive before and after it (same entity, same
 * uid; replacements start with economy.starting_wallet and are skipped):
 *   charges = meal_cost x price multiplier per affordance_start of eat_meal
 *           + ingredients_cost x price multiplier per affordance_start of cook_meal (charged by
 *             their before hooks)
 *           + -money effect x price multiplier per affordance_finish of an affordance whose
 *             before hooks do not charge (use_shower);
 *   wage    = Employment.wage_this_tick;
 *   penalty = 0, or in [0, lateness_penalty + late_tick_penalty + absence_penalty] when the
 *             agent's shift state after the tick is late or absent.
 * Then   before - charges + wage - max penalty - eps  <=  after  <=  max(0, before - charges) + wage + eps
 * (clamps at 0 only ever raise a wallet), and after >= 0.
 */
function checkWallets(w: World, before: WalletSnapshot): void {
  const uid = w.columns(Agent).uid;
  const W = w.columns(Wallet);
  const E = w.columns(Employment);
  const T = w.columns(Town).id;
  const mult = w.townColumns(TownEconomy).price_multiplier;
  const reg = affordanceRegistry(w);
  const econ = w.settings.economy;
  const emp = w.settings.employment;
  const jobNames = Object.keys(w.settings.jobs);
  const charges = new Map<number, number>();
  const add = (a: number, v: number) => charges.set(a, (charges.get(a) ?? 0) + v);
  const hookCharge: Record<string, number> = { on_attempt_eat: econ.meal_cost, on_attempt_cook: econ.ingredients_cost };
  const s = w.lastTick(AffordanceStart);
  for (let i = s.start; i < s.end; i++) {
    const spec = reg.affordances[s.affordance[i]];
    for (const h of spec.hooks.before) if (h in hookCharge) add(s.agent[i], hookCharge[h] * mult[T[s.agent[i]]]);
  }
  const f = w.lastTick(AffordanceFinish);
  for (let i = f.start; i < f.end; i++) {
    const spec = reg.affordances[f.affordance[i]];
    const charged = spec.hooks.before.some((h) => h in hookCharge);
    if (!charged && spec.money < 0) add(f.agent[i], -spec.money * mult[T[f.agent[i]]]);
    if (spec.money > 0) add(f.agent[i], -spec.money);
  }
  for (const a of w.agents) {
    const after = W.money[a];
    if (!(after >= 0) || !Number.isFinite(after)) fail(`tick ${w.tick}: wallet of ${w.agentName(a)} is ${after}`);
    if (before.uid.get(a) !== uid[a]) continue;
    const prev = before.money.get(a)!;
    const c = charges.get(a) ?? 0;
    const wage = E.wage_this_tick[a];
    const st = E.shift_state[a];
    const job = E.job[a];
    const lateness = job >= 0 ? w.settings.jobs[jobNames[job]].lateness_penalty : 0;
    const maxPenalty = st === ShiftState.Late || st === ShiftState.Absent ? lateness + emp.late_tick_penalty + emp.absence_penalty : 0;
    const hi = Math.max(0, prev - c) + wage + EPS;
    const lo = prev - c + wage - maxPenalty - EPS;
    if (after > hi || after < lo) {
      fail(
        `tick ${w.tick}: wallet of ${w.agentName(a)} went ${prev} -> ${after}; explained: charges ${c}, wage ${wage}, ` +
          `penalty up to ${maxPenalty} (shift state ${st})`,
      );
    }
  }
}

describe("invariants over random small worlds", () => {
  it("keeps needs, queues, holders, stock and wallets consistent every tick", () => {
    fc.assert(
      fc.property(params, (p) => {
        const w = new World({ settings: settingsFor(p), plugins: corePlugins, seed: p.seed });
        checkNeeds(w);
        checkQueuesAndHolders(w);
        for (let t = 0; t < p.ticks; t++) {
          const before = snapshotWallets(w);
          w.step();
          checkNeeds(w);
          checkQueuesAndHolders(w);
          checkWallets(w, before);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("is deterministic: two worlds from the same settings and seed agree on the state hash every tick", () => {
    fc.assert(
      fc.property(params, (p) => {
        const settings = settingsFor(p);
        const a = new World({ settings, plugins: corePlugins, seed: p.seed });
        const b = new World({ settings: settingsFor(p), plugins: corePlugins, seed: p.seed });
        if (a.stateHash() !== b.stateHash()) fail("the fresh worlds differ");
        const ticks = Math.min(p.ticks, 200);
        for (let t = 1; t <= ticks; t++) {
          a.step();
          b.step();
          const [ha, hb] = [a.stateHash(), b.stateHash()];
          if (ha !== hb) fail(`tick ${t}: ${ha} != ${hb}`);
        }
      }),
      { numRuns: 12 },
    );
  });
});
