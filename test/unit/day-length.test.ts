// The day (engine/clock.ts): world.ticks_per_day is the one day length every plug-in counts in
// (job shifts, daily respawn caps, perturbation credits, time-of-day features, telemetry's
// layout); absent, the original's observations_config.hybrid.time_ticks_per_day is read; both
// set to different values is a config error naming both keys.
import { describe, expect, it } from "vitest";
import { Needs } from "../../components/needs.ts";
import { Employment } from "../../components/people.ts";
import { Position } from "../../components/space.ts";
import { AgentSpawn } from "../../components/messages.ts";
import { PolicySets } from "../../components/sets.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { ConfigError, loadConfig, parseConfigObject } from "../../engine/config/loader.ts";
import { CONFIGS_DIR } from "../../engine/paths.ts";
import { definePlugin, type AnyPlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { assignJob } from "../../systems/employment/index.ts";
import { buildObservations, observationSpec } from "../../systems/observations/index.ts";
import { latestState, perturbationsPlugin } from "../../systems/perturbations/index.ts";
import { layoutOf } from "../../systems/telemetry/dispatch.ts";
import { pinPlugin, record } from "../helpers/pin.ts";
import { makeWorld, runTo } from "../helpers/world.ts";
import { join } from "node:path";

/** A 100-tick day through the engine's key; the observation key stays at its default, 1440. */
const DAY = 100;
const OWN_DAY = { ticks_per_day: DAY };
const NO_DECAY = { rewards: { decay_rates: { hunger: 0, hygiene: 0, energy: 0 } } };

/** The core plug-ins with a policy that decides nothing: agents stay where a test puts them. */
const STILL: AnyPlugin[] = [
  ...corePlugins.filter((p) => p.name !== "scripted"),
  definePlugin({ name: "stand_still", systems: [{ name: "stand_still/decide", phase: "policy", sets: [PolicySets.Decide], run() {} }] }),
];

describe("world.ticks_per_day sets the day of every plug-in", () => {
  it("is the day ticksPerDay reads and telemetry's layout publishes, over the observation key's default", () => {
    const w = makeWorld({ world: { agents_per_town: 1, grid_size: [8, 8], ...OWN_DAY }, ...NO_DECAY });
    expect(w.settings.observations_config.hybrid.time_ticks_per_day).toBe(1440);
    expect(ticksPerDay(w.settings)).toBe(DAY);
    expect(layoutOf(w).ticks_per_day).toBe(DAY);
  });

  it("starts a job's shift again on the next 100-tick day", () => {
    const w = makeWorld(
      {
        world: { agents_per_town: 0, grid_size: [12, 12], ...OWN_DAY },
        ...NO_DECAY,
        lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
        jobs: { grocer: { start_tick: 10, end_tick: 19, wage_rate: 0.1, lateness_penalty: 0, location: [5, 5] } },
      },
      STILL,
    );
    const eid = w.spawnAgent(0);
    assignJob(w, eid, "grocer");
    w.addComponent(eid, Position, { x: 5, y: 6 });
    const E = w.columns(Employment);
    const onShift = (tick: number) => (runTo(w, tick), E.on_shift[eid]);
    // Day 1's shift, the gap after it, and day 2's shift (a 1440-tick day has no shift at 115).
    expect([onShift(15), onShift(60), onShift(115), onShift(160)]).toEqual([1, 0, 1, 0]);
  });

  it("opens the daily respawn cap again every 100 ticks", () => {
    let victims: number[] = [];
    const starve = pinPlugin(({ tick, world: w }) => {
      if (tick !== 1) return;
      for (const eid of victims) w.columns(Needs).hunger[eid] = 0;
    });
    const w = makeWorld(
      {
        world: { agents_per_town: 3, grid_size: [8, 8], ...OWN_DAY },
        ...NO_DECAY,
        lifecycle: { respawn_delay_min: 5, respawn_delay_max: 5, exit_cooldown_ticks: 0, daily_respawn_cap: 1 },
      },
      corePlugins,
      [starve],
    );
    victims = Array.from(w.agents);
    const spawns = record(w, AgentSpawn);
    w.run(200);
    expect(spawns.map((s) => s.tick)).toEqual([6, DAY, 2 * DAY]);
  });

  it("credits prob_per_day / 100 to a town's perturbation bucket each tick", () => {
    const w = makeWorld(
      {
        world: { agents_per_town: 0, ...OWN_DAY },
        perturbations: {
          grace_window_ticks: 1000,
          events: { blackout: { kind: "blackout", prob_per_day: 2, cooldown_ticks: 10, duration: [5, 5] } },
        },
      },
      [perturbationsPlugin],
    );
    const credit = () => latestState(w).buckets["0"].blackout;
    w.run(1);
    const before = credit();
    w.run(10);
    expect(credit() - before).toBeCloseTo((10 * 2) / DAY, 9);
  });

  it("turns the time-of-day features once every 100 ticks", () => {
    const w = makeWorld(
      {
        world: { agents_per_town: 1, grid_size: [8, 8], ...OWN_DAY },
        ...NO_DECAY,
        lifecycle: { mortality: false, unemployment_grace_ticks: 65535, daily_respawn_cap: 0 },
      },
      STILL,
    );
    const time = () => {
      const b = buildObservations(w);
      const at = observationSpec(w, b.variant).feature_index;
      return [b.tick, b.features[at.time_sin], b.features[at.time_cos]];
    };
    w.run(24);
    const [t1, sin1, cos1] = time();
    w.run(100);
    const [t2, sin2, cos2] = time();
    // A quarter of the day in: sin 1, cos 0, and the same a day later.
    expect([t1, t2]).toEqual([25, 125]);
    expect(sin1).toBeCloseTo(1, 6);
    expect(cos1).toBeCloseTo(0, 6);
    expect([sin2, cos2]).toEqual([sin1, cos1]);
  });

  it("runs the same world, hash for hash, as the original's key set to the same day; another day differs", () => {
    const hashes = (day: Record<string, unknown>) => {
      const { world, ...rest } = day as { world?: Record<string, unknown> };
      const w = makeWorld({ seed: 7, world: { agents_per_town: 3, grid_size: [12, 12], ...world }, ...rest });
      const out: string[] = [];
      for (let i = 0; i < 250; i++) {
        w.step();
        out.push(w.stateHash());
      }
      return out;
    };
    const own = hashes({ world: OWN_DAY });
    expect(own).toEqual(hashes({ observations_config: { hybrid: { time_ticks_per_day: DAY } } }));
    expect(own).not.toEqual(hashes({}));
  });
});

describe("the day's keys in a config", () => {
  it("refuses world.ticks_per_day and the original's key set to different values, naming both", () => {
    const both = { config_id: "t", world: { ticks_per_day: DAY }, observations_config: { hybrid: { time_ticks_per_day: 1440 } } };
    expect(() => parseConfigObject(both, corePlugins, "day.yaml")).toThrow(ConfigError);
    expect(() => parseConfigObject(both, corePlugins, "day.yaml")).toThrow(
      /day\.yaml:\d+: world\.ticks_per_day: world\.ticks_per_day \(100\) and observations_config\.hybrid\.time_ticks_per_day \(1440\) give different day lengths/,
    );
  });

  it("accepts both keys set to the same day", () => {
    const s = parseConfigObject({ config_id: "t", world: { ticks_per_day: DAY }, observations_config: { hybrid: { time_ticks_per_day: DAY } } }, corePlugins);
    expect(ticksPerDay(s)).toBe(DAY);
  });

  it("adds no key to the settings when world.ticks_per_day is absent, so config hashes stay as they were", () => {
    const loaded = loadConfig(join(CONFIGS_DIR, "default.yaml"), corePlugins, { onWarning: () => {} });
    expect(Object.keys(loaded.settings.world)).not.toContain("ticks_per_day");
    expect(ticksPerDay(loaded.settings)).toBe(loaded.settings.observations_config.hybrid.time_ticks_per_day);
  });
});
