// Reward terms declared by the plug-in that computes them (PluginDef.rewardTerms,
// engine/reward-term.ts): the rewards plug-in adds weight × the plug-in's column to each agent's
// reward, with the declared bias and breakdown column (recorded when asked: the worlds here ask
// from their first tick), and refuses a bad declaration at start-up naming the plug-in.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import type { AnyPlugin } from "../../engine/plugin.ts";
import { resolvePlugins } from "../../engine/plugin-loader.ts";
import { loadConfig } from "../../engine/config/loader.ts";
import { PROJECT_ROOT } from "../../engine/paths.ts";
import { World } from "../../engine/world.ts";
import { defineRewardTerm, type ComponentRewardTerm, type RewardTerm } from "../../engine/reward-term.ts";
import { Needs } from "../../components/needs.ts";
import { Employment, Reward } from "../../components/people.ts";
import { corePlugins } from "../../systems/index.ts";
import { makeWorld } from "../helpers/world.ts";
import { pinPlugin } from "../helpers/pin.ts";
import { ChatSuccess } from "../../components/messages.ts";
import type { TelemetryPublisher } from "../../systems/telemetry/index.ts";
import { Bonus, bonusPlugin } from "../helpers/bonus.ts";
import { asked, part } from "../helpers/breakdown.ts";

const term = (extra: Partial<ComponentRewardTerm> = {}): RewardTerm =>
  defineRewardTerm({ name: "bonus", weight: () => 0.5, component: Bonus, field: "value", ...extra });

/** Full needs, no wage, no shaping, clip 1: each agent's raw reward is survival_tick plus the declared terms. */
function world(terms: RewardTerm[], value: (i: number) => number, overrides: Record<string, Record<string, unknown>> = {}): World {
  const base: Record<string, Record<string, unknown>> = {
    world: { agents_per_town: 4, grid_size: [8, 8] },
    rewards: { wage_rate: 0, decay_rates: { hunger: 0, hygiene: 0, energy: 0 }, clip: { clip_per_tick: 1 } },
    shaping: { use_potential: false },
  };
  for (const [k, v] of Object.entries(overrides)) base[k] = { ...base[k], ...v };
  const w = asked(makeWorld(base, corePlugins, [bonusPlugin(terms, value)]));
  const N = w.columns(Needs);
  for (const eid of w.agents) N.hunger[eid] = N.hygiene[eid] = N.energy[eid] = 1;
  return w;
}

const values = (i: number) => [0.01, -0.02, 0.125, 0][i];

describe("reward terms declared by plug-ins", () => {
  it("changes each agent's reward by exactly weight × its value", () => {
    const w = world([term()], values);
    w.step();
    const R = w.columns(Reward);
    w.agents.forEach((eid, i) => {
      expect(R.total[eid]).toBe(Math.fround(0.002 + 0.5 * Math.fround(values(i))));
      const [survival, needs, wage, punctuality, social] = ["survival", "needs_penalty", "wage", "punctuality", "social"].map((k) => part(w, k)[eid]);
      expect(survival + needs + wage + punctuality + social).toBe(Math.fround(0.002));
      expect(part(w, "bonus")[eid]).toBe(Math.fround(0.5 * Math.fround(values(i))));
    });
    // The same world without the declaration: survival alone.
    const plain = world([], values);
    plain.step();
    for (const eid of plain.agents) expect(plain.columns(Reward).total[eid]).toBe(Math.fround(0.002));
  });

  it("adds several terms in declaration order, the breakdown of each recorded where declared", () => {
    const wage = (eid: number, w: World) => w.columns(Employment).wage_this_tick[eid];
    const w = world([term(), term({ name: "malus", weight: () => -0.25 })], values, { rewards: { wage_rate: 0.01 } });
    w.step();
    const R = w.columns(Reward);
    w.agents.forEach((eid, i) => {
      const v = Math.fround(values(i));
      // survival, then employment's wage, then the fixture's two terms, in that order.
      expect(R.total[eid]).toBe(Math.fround(0.002 + wage(eid, w) + 0.5 * v + -0.25 * v));
      expect(part(w, "wage")[eid]).toBe(wage(eid, w));
    });
  });

  it("adds nothing with weight 0 and applies the declared profile bias with reward_multipliers on", () => {
    const off = world([term({ weight: () => 0 })], values);
    off.step();
    for (const eid of off.agents) expect(off.columns(Reward).total[eid]).toBe(Math.fround(0.002));
    const w = world([term({ weight: () => 2, bias: "employment" })], values, {
      world: { agents_per_town: 0 },
      personalities: { overrides: { ann: "industrious", bob: "industrious" } },
      features: { behavior: { reward_multipliers: true } },
    });
    const ann = w.spawnAgent(0, { name: "ann" });
    const bob = w.spawnAgent(0, { name: "bob" });
    const N = w.columns(Needs);
    for (const e of [ann, bob]) N.hunger[e] = N.hygiene[e] = N.energy[e] = 1;
    w.step();
    const R = w.columns(Reward);
    // An industrious agent's employment factor is 1.25: a gain grows by it, a loss shrinks by it.
    expect(R.total[ann]).toBe(Math.fround(0.002 + 2 * Math.fround(0.01) * 1.25));
    expect(R.total[bob]).toBe(Math.fround(0.002 + (2 * Math.fround(-0.02)) / 1.25));
  });

  it("records the employment plug-in's wage term in the breakdown's wage column", () => {
    const w = world([], () => 0, { rewards: { wage_rate: 0.01 } });
    w.step();
    const eid = w.agents[0];
    expect(w.plugins.find((p) => p.name === "employment")?.rewardTerms?.map((t) => [t.name, t.breakdown])).toEqual([
      ["wage", "wage"],
      ["punctuality", "punctuality"],
    ]);
    expect(part(w, "wage")[eid]).toBe(w.columns(Employment).wage_this_tick[eid]);
  });

  it("refuses a term that records into a field of the rewards plug-in, or reuses a name, naming the plug-in", () => {
    expect(() => world([term({ breakdown: "shaping" })], values).step()).toThrow(
      /reward term "bonus" of plug-in "bonus": breakdown "shaping" is not a breakdown column a term may record \(needs_penalty, wage, punctuality, social\)/,
    );
    expect(() => world([term({ breakdown: "social" })], values).step()).toThrow(/breakdown column social already records reward term "social"/);
    expect(() => world([term({ name: "wage" })], values).step()).toThrow(/reward term "wage" of plug-in "bonus": the name is already declared by plug-in "employment"/);
    expect(() => world([term({ breakdown: "wage" })], values).step()).toThrow(/breakdown column wage already records reward term "wage"/);
    expect(() => world([term({ weight: () => NaN })], values).step()).toThrow(/weight NaN is not a finite number/);
  });
});

/** Sets needs (by name) and shift counters of agents (by index) every tick before exits and rewards. */
function pinned(pins: Record<number, { needs?: Record<string, number>; onShift?: [number, number] }>) {
  return pinPlugin(({ world: w, agents }) => {
    const N = w.columns(Needs) as unknown as Record<string, Float32Array>;
    const E = w.columns(Employment);
    for (const [i, p] of Object.entries(pins)) {
      const eid = agents[Number(i)];
      for (const [need, v] of Object.entries(p.needs ?? {})) N[need][eid] = v;
      if (p.onShift) {
        E.on_shift[eid] = 1;
        [E.on_time_ticks[eid], E.scheduled_ticks[eid]] = p.onShift;
      }
    }
  });
}

const QUIET = {
  rewards: { wage_rate: 0, decay_rates: { hunger: 0, hygiene: 0, energy: 0 }, clip: { clip_per_tick: 1 } },
  shaping: { use_potential: false },
};

describe("the core terms, each declared by the plug-in that computes it", () => {
  it("gives a late agent less punctuality than one on time (employment's term, employment bias)", () => {
    const settings = { world: { agents_per_town: 3, grid_size: [8, 8] }, ...QUIET };
    const full = { hunger: 1, hygiene: 1, energy: 1 };
    const pins = pinned({ 0: { needs: full, onShift: [4, 4] }, 1: { needs: full, onShift: [1, 4] }, 2: { needs: full } });
    const w = asked(makeWorld(settings, corePlugins, [pins]));
    w.step();
    const R = w.columns(Reward);
    const [onTime, late, off] = w.agents;
    const punctuality = part(w, "punctuality");
    expect(punctuality[onTime]).toBe(Math.fround(0.05));
    expect(punctuality[late]).toBe(Math.fround((0.05 * 1) / 4));
    expect(punctuality[off]).toBe(0);
    expect(R.total[late]).toBe(Math.fround(0.002 + (0.05 * 1) / 4));
    // An industrious agent's employment bias applies to the declared term.
    const biased = makeWorld(
      { ...settings, personalities: { distribution: { industrious: 1 } }, features: { behavior: { reward_multipliers: true } } },
      corePlugins,
      [pinned({ 0: { needs: full, onShift: [1, 4] } })],
    );
    asked(biased);
    biased.step();
    expect(part(biased, "punctuality")[biased.agents[0]]).toBe(Math.fround(((0.05 * 1) / 4) * 1.25));
  });

  it("gives both sides of a chat the social reward through the social plug-in's term, for that tick only", () => {
    const settings = { world: { agents_per_town: 2, grid_size: [8, 8] }, ...QUIET, features: { stages: { social_rewards: "C1", relationships: "OFF" } } };
    const full = { hunger: 1, hygiene: 1, energy: 1 };
    const w = asked(makeWorld(settings, corePlugins, [pinned({ 0: { needs: full }, 1: { needs: full } })]));
    const [a, b] = w.agents;
    // A message sent between ticks is read by the next tick's systems.
    w.send(ChatSuccess, a, b, 0.5);
    w.step();
    const R = w.columns(Reward);
    expect([part(w, "social")[a], part(w, "social")[b]]).toEqual([Math.fround(0.01 * 0.5), Math.fround(0.01 * 0.5)]);
    expect(R.total[a]).toBe(Math.fround(0.002 + 0.01 * 0.5));
    // The next tick has no chat: the term's column was reset.
    w.step();
    expect([part(w, "social")[a], part(w, "social")[b]]).toEqual([0, 0]);
  });

  it("takes the need term from the needs plug-in: every need of the table, a mod need included, in the needs_penalty column", () => {
    const settings = { world: { agents_per_town: 1, grid_size: [8, 8] }, ...QUIET, needs: { thirst: { decay: 0, reward_weight: 0.7 } } };
    const w = asked(makeWorld(settings, corePlugins, [pinned({ 0: { needs: { hunger: 1, hygiene: 0.5, energy: 1, thirst: 0.25 } } })]));
    w.step();
    const R = w.columns(Reward);
    const eid = w.agents[0];
    const phi = -(0.6 * 0.25 + 0.7 * 0.5625);
    expect(part(w, "needs_penalty")[eid]).toBe(Math.fround(phi));
    expect(R.total[eid]).toBe(Math.fround(0.002 + phi));
  });

  it("shapes with the declared potential, and refuses a second one naming both", () => {
    const settings = { world: { agents_per_town: 1, grid_size: [8, 8] }, ...QUIET, shaping: { use_potential: true }, ppo: { gamma: 1 } };
    const w = asked(makeWorld(settings, corePlugins, [pinned({ 0: { needs: { hunger: 0.5, hygiene: 1, energy: 1 } } })]));
    w.step();
    w.step();
    const eid = w.agents[0];
    // Φ constant over both ticks: with γ = 1 the second tick's shaping is Φ − Φ = 0, the first's 0 by rule.
    expect(part(w, "shaping")[eid]).toBe(0);
    expect(w.columns(Reward).potential[eid]).toBe(Math.fround(-0.25));
    const second = defineRewardTerm({ name: "calm", weight: () => 1, component: Bonus, field: "value", potential: true });
    expect(() => makeWorld(settings, corePlugins, [bonusPlugin([second], () => 0)]).step()).toThrow(
      /reward term "calm" of plug-in "bonus": reward term "needs" is already the shaping potential/,
    );
  });

  it("publishes a mod's term that names no breakdown column in reward_breakdown under its name", () => {
    const hydration = defineRewardTerm({ name: "hydration", weight: () => 0.5, component: Bonus, field: "value" });
    const w = world([hydration], (i) => (i === 0 ? 0.02 : 0));
    const pub = w.state<TelemetryPublisher>("telemetry");
    const id = w.agentName(w.agents[0]);
    pub.watch([id]);
    w.step();
    const row = pub.snapshot("request").reward_breakdown![id];
    expect(row.hydration).toBe(0.01);
    expect(row.total).toBeCloseTo(0.012, 4);
    // A name that is a breakdown column (or Reward field) would shadow it there: refused.
    expect(() => world([defineRewardTerm({ name: "curiosity", weight: () => 1, component: Bonus, field: "value" })], values).step()).toThrow(
      /reward term "curiosity" of plug-in "bonus": without a breakdown field, the term is recorded under its name, which is a Reward field or breakdown column/,
    );
  });
});

describe("docs/modding.md's reward term example", () => {
  it("runs as written on the thirst mod: 0.001 to each agent whose thirst is above 0.8, in reward_breakdown as hydrated", async () => {
    const doc = readFileSync(join(PROJECT_ROOT, "docs", "modding.md"), "utf8");
    const block = /```ts\n((?:(?!```)[\s\S])*name: "hydration"(?:(?!```)[\s\S])*)```/.exec(doc)?.[1];
    expect(block).toBeDefined();
    mkdirSync(join(PROJECT_ROOT, ".tmp"), { recursive: true });
    const dir = mkdtempSync(join(PROJECT_ROOT, ".tmp", "reward-doc-"));
    try {
      // The example's imports are relative to examples/mods/thirst/.
      const file = join(dir, "hydration.ts");
      writeFileSync(file, block!.replaceAll('"../../../', `"${pathToFileURL(PROJECT_ROOT).href}/`));
      const hydration = ((await import(pathToFileURL(file).href)) as { default: AnyPlugin }).default;
      const mod = join(PROJECT_ROOT, "examples", "mods", "thirst", "config.yaml");
      const plugins = [...(await resolvePlugins(corePlugins, mod)), hydration];
      const w = new World({ settings: loadConfig(mod, plugins).settings, plugins, seed: 3 });
      const pub = w.state<TelemetryPublisher>("telemetry");
      w.step();
      pub.watch(Array.from(w.agents, (e) => w.agentName(e)));
      w.step();
      const rows = pub.snapshot("request").reward_breakdown!;
      const thirst = (w.columns(Needs) as unknown as Record<string, Float32Array>).thirst;
      const seen = new Set<number>();
      for (const eid of w.agents) {
        const v = rows[w.agentName(eid)].hydrated;
        expect(v).toBe(thirst[eid] > 0.8 ? 0.001 : 0);
        seen.add(v);
      }
      expect([...seen].sort()).toEqual([0, 0.001]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
