// Personality: profile draws follow personalities.distribution, overrides by agent name win,
// each profile writes its traits and need multipliers, and need multipliers change decay only
// with features.behavior.reward_multipliers.
import { describe, expect, it } from "vitest";
import { Needs } from "../../components/needs.ts";
import { Personality, PROFILE_NAMES } from "../../components/people.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { pickProfile, PROFILES } from "../../systems/personality/index.ts";
import { pinPlugin } from "../helpers/pin.ts";
import { makeWorld } from "../helpers/world.ts";

function empty(overrides: Record<string, unknown> = {}): World {
  return makeWorld({ world: { agents_per_town: 0, grid_size: [8, 8] }, ...overrides }, corePlugins);
}

function profileCounts(w: World, n: number): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(PROFILE_NAMES.map((p) => [p, 0]));
  for (let i = 0; i < n; i++) {
    const eid = w.spawnAgent(0);
    // Columns are fetched after the spawn: they move when the store grows.
    counts[PROFILE_NAMES[w.columns(Personality).profile[eid]]]++;
  }
  return counts;
}

describe("profile assignment", () => {
  it("draws profiles in proportion to personalities.distribution over many spawns", () => {
    const n = 4000;
    const w = empty({ world: { agents_per_town: 0, grid_size: [64, 64] }, personalities: { distribution: { stoic: 2, Balanced: 1, socialite: 1 } } });
    const c = profileCounts(w, n);
    expect(c.industrious).toBe(0);
    expect(c.balanced / n).toBeCloseTo(0.25, 1);
    expect(c.socialite / n).toBeCloseTo(0.25, 1);
    expect(c.stoic / n).toBeCloseTo(0.5, 1);
    expect(Math.abs(c.stoic / n - 0.5)).toBeLessThan(0.03);
  });

  it("gives every agent the balanced profile under the default distribution", () => {
    const c = profileCounts(empty(), 50);
    expect(c.balanced).toBe(50);
  });

  it("gives an agent named in personalities.overrides its profile, whatever the draw", () => {
    const w = empty({ personalities: { distribution: { socialite: 1 }, overrides: { ann: "Industrious" } } });
    const ann = w.spawnAgent(0, { name: "ann" });
    const bob = w.spawnAgent(0, { name: "bob" });
    const P = w.columns(Personality);
    expect(PROFILE_NAMES[P.profile[ann]]).toBe("industrious");
    expect(PROFILE_NAMES[P.profile[bob]]).toBe("socialite");
  });

  it("draws the same profiles for the same seed, and overrides do not shift other agents' draws", () => {
    const draw = (seed: number, overrides: Record<string, string>) => {
      const w = empty({ seed, personalities: { distribution: { balanced: 1, socialite: 1, industrious: 1, stoic: 1 }, overrides } });
      const ids = Array.from({ length: 20 }, (_, i) => w.spawnAgent(0, { name: `a${i}` }));
      const P = w.columns(Personality);
      return ids.map((eid) => P.profile[eid]);
    };
    const plain = draw(5, {});
    expect(draw(5, {})).toEqual(plain);
    const withOverride = draw(5, { a3: "stoic" });
    expect(withOverride.filter((_, i) => i !== 3)).toEqual(plain.filter((_, i) => i !== 3));
    expect(withOverride[3]).toBe(3);
  });

  it("never picks a profile of weight 0 and gives the last weighted profile a draw rounding left over", () => {
    const cumulative = Float64Array.from([0, 0.5, 0.9999999999]);
    const profile = Uint8Array.from([0, 1, 3]);
    expect(pickProfile(cumulative, profile, 0)).toBe(1);
    expect(pickProfile(cumulative, profile, 0.5)).toBe(3);
    expect(pickProfile(cumulative, profile, 0.99999999999)).toBe(3);
  });
});

describe("profile values", () => {
  it("writes the profile's traits and need multipliers", () => {
    const w = empty({ personalities: { overrides: { ivy: "industrious", sam: "socialite", sol: "stoic" } } });
    const ivy = w.spawnAgent(0, { name: "ivy" });
    const sam = w.spawnAgent(0, { name: "sam" });
    const sol = w.spawnAgent(0, { name: "sol" });
    const P = w.columns(Personality);
    expect([P.extroversion[ivy], P.forgiveness[ivy], P.ambition[ivy]]).toEqual([-0.2, -0.1, 0.5].map(Math.fround));
    expect([P.hunger_mult[ivy], P.hygiene_mult[ivy], P.energy_mult[ivy]]).toEqual([1, 1, Math.fround(0.9)]);
    expect(P.hygiene_mult[sam]).toBe(Math.fround(1.1));
    expect(P.hunger_mult[sol]).toBe(Math.fround(0.95));
  });

  it("follows a profile set through a spawn's init", () => {
    const w = empty();
    const eid = w.spawnAgent(0, { init: { Personality: { profile: 1 } } });
    const P = w.columns(Personality);
    expect(P.extroversion[eid]).toBe(Math.fround(0.6));
    expect(P.hygiene_mult[eid]).toBe(Math.fround(1.1));
  });

  it("lists the original's reward and behaviour bias per profile", () => {
    expect(PROFILES.map((p) => p.name)).toEqual([...PROFILE_NAMES]);
    expect(PROFILES[1].reward.social).toBe(1.2);
    expect(PROFILES[2].reward.employment).toBe(1.25);
    expect(PROFILES[3].reward.survival).toBe(1.1);
    expect(PROFILES[1].behaviour.chat_preference).toBe(1.3);
    expect(PROFILES[2].behaviour.work_affinity).toBe(1.4);
    expect(PROFILES[3].behaviour.conflict_tolerance).toBe(0.6);
  });
});

describe("need multipliers", () => {
  /** Hunger of a stoic (0.95) and a socialite's hygiene (1.1) after one tick from 1, with decay 0.01/0.005. */
  function decayOnce(flag: boolean): [number, number] {
    // Needs start at 1; the probe reads them after decay, before anything else of the tick changes them.
    let seen: [number, number] = [0, 0];
    let sol = 0;
    let sam = 0;
    const probe = pinPlugin(({ world: ww, tick }) => {
      if (tick === 1) seen = [ww.columns(Needs).hunger[sol], ww.columns(Needs).hygiene[sam]];
    });
    const w = makeWorld(
      {
        world: { agents_per_town: 0, grid_size: [8, 8] },
        rewards: { decay_rates: { hunger: 0.01, hygiene: 0.005, energy: 0 } },
        personalities: { overrides: { sol: "stoic", sam: "socialite" } },
        features: { behavior: { reward_multipliers: flag } },
      },
      corePlugins,
      [probe],
    );
    sol = w.spawnAgent(0, { name: "sol", init: { Needs: { hunger: 1, hygiene: 1, energy: 1 } } });
    sam = w.spawnAgent(0, { name: "sam", init: { Needs: { hunger: 1, hygiene: 1, energy: 1 } } });
    w.step();
    return seen;
  }

  it("scales need decay by the profile's multipliers with features.behavior.reward_multipliers on", () => {
    expect(decayOnce(true)).toEqual([Math.fround(1 - 0.01 * Math.fround(0.95)), Math.fround(1 - 0.005 * Math.fround(1.1))]);
  });

  it("decays every agent at the configured rate with the flag off", () => {
    expect(decayOnce(false)).toEqual([Math.fround(1 - 0.01), Math.fround(1 - 0.005)]);
  });
});

describe("need multipliers as data (personalities.need_multipliers)", () => {
  /** A world with a fourth need, thirst (decay 0.01), and the given multipliers; sam is a socialite, bo balanced. */
  function thirsty(multipliers: Record<string, unknown> | undefined, flag = true) {
    let seen: [number, number] = [0, 0];
    let sam = 0;
    let bo = 0;
    // Reads thirst after the decay of tick 1, before anything else of the tick changes it.
    const probe = pinPlugin(({ world: ww, tick }) => {
      if (tick === 1) {
        const thirst = (ww.columns(Needs) as unknown as Record<string, Float32Array>).thirst;
        seen = [thirst[sam], thirst[bo]];
      }
    });
    const w = makeWorld(
      {
        world: { agents_per_town: 0, grid_size: [8, 8] },
        needs: { thirst: { decay: 0.01 } },
        personalities: { overrides: { sam: "socialite", bo: "balanced" }, ...(multipliers ? { need_multipliers: multipliers } : {}) },
        features: { behavior: { reward_multipliers: flag } },
      },
      corePlugins,
      [probe],
    );
    const full = { Needs: { hunger: 1, hygiene: 1, energy: 1, thirst: 1 } };
    sam = w.spawnAgent(0, { name: "sam", init: full });
    bo = w.spawnAgent(0, { name: "bo", init: full });
    const P = w.columns(Personality) as unknown as Record<string, Float32Array>;
    w.step();
    return { w, P, sam, bo, seen };
  }

  it("gives a mod need its per-profile multiplier from config, and decay applies it", () => {
    const { P, sam, bo, seen } = thirsty({ socialite: { thirst: 1.5 } });
    expect(P.thirst_mult[sam]).toBe(Math.fround(1.5));
    expect(P.thirst_mult[bo]).toBe(1);
    expect(seen).toEqual([Math.fround(1 - 0.01 * Math.fround(1.5)), Math.fround(1 - 0.01)]);
  });

  it("decays a mod need at its plain rate for a profile the config does not name, and with the flag off", () => {
    const none = thirsty(undefined);
    expect(none.P.thirst_mult[none.sam]).toBe(1);
    expect(none.seen).toEqual([Math.fround(1 - 0.01), Math.fround(1 - 0.01)]);
    const off = thirsty({ socialite: { thirst: 1.5 } }, false);
    expect(off.seen).toEqual([Math.fround(1 - 0.01), Math.fround(1 - 0.01)]);
  });

  it("lets the config override a built-in profile's multiplier of a default need, names case-insensitive", () => {
    const { P, sam } = thirsty({ Socialite: { hygiene: 1.3 } });
    expect(P.hygiene_mult[sam]).toBe(Math.fround(1.3));
    expect(P.energy_mult[sam]).toBe(1);
  });

  it("refuses an unknown need naming the profile and the need, with the world's needs", () => {
    expect(() => thirsty({ socialite: { thrist: 1.2 } })).toThrow(
      /personalities\.need_multipliers\.socialite\.thrist: profile "socialite": "thrist" is not a need of this world \(needs: hunger, hygiene, energy, thirst; add it under needs:\) \(did you mean "thirst"\?\)/,
    );
  });

  it("refuses an unknown profile and a multiplier that is not positive, naming where", () => {
    expect(() => thirsty({ socialight: { thirst: 1.2 } })).toThrow(/need_multipliers\.socialight.*expected a known personality profile/s);
    expect(() => thirsty({ stoic: { thirst: 0 } })).toThrow(/need_multipliers\.stoic\.thirst/);
  });

  it("keeps the Personality component of a world with only the default needs as it was", () => {
    const w = empty();
    expect(Object.keys(w.columns(Personality))).toEqual(["profile", "extroversion", "forgiveness", "ambition", "hunger_mult", "hygiene_mult", "energy_mult"]);
  });
});
