// Determinism: the same config and seed give the same state at every tick, in one process or
// two; reset(seed) equals a fresh world; needs decay exactly by rewards.decay_rates (Float32).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { NEED_NAMES, Needs } from "../../components/needs.ts";
import { loadConfig, type LoadedConfig } from "../../engine/config/loader.ts";
import { World } from "../../engine/world.ts";
import { corePlugins, needsPlugin, populationPlugin } from "../../systems/index.ts";
import { DEFAULT_CONFIG, main } from "../../tools/cli.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let config: LoadedConfig;
beforeAll(() => {
  config = loadConfig(DEFAULT_CONFIG, corePlugins, { overrides: { "world.towns": 3 } });
});

function world(seed?: number): World {
  return new World({ settings: config.settings, plugins: corePlugins, seed });
}

/** Every agent's needs, in entity order (compared beside the hash, which must agree anyway). */
function needs(w: World): number[] {
  const N = w.columns(Needs);
  return Array.from(w.agents).flatMap((eid) => NEED_NAMES.map((n) => N[n][eid]));
}

async function runCli(args: string[]): Promise<Record<string, unknown>> {
  const logs: string[] = [];
  const errs: string[] = [];
  const code = await main(["run", ...args], { log: (l) => logs.push(l), err: (l) => errs.push(l) });
  expect(errs).toEqual([]);
  expect(code).toBe(0);
  return JSON.parse(logs.join("\n").trim().split("\n").at(-1)!) as Record<string, unknown>;
}

describe("same config, same seed", () => {
  it("gives two worlds the same state hash at every one of 500 ticks, over several towns", () => {
    const a = world();
    const b = world();
    expect(a.towns).toBe(3);
    expect(a.agents.length).toBe(36);
    expect(a.stateHash()).toBe(b.stateHash());
    for (let t = 1; t <= 500; t++) {
      a.step();
      b.step();
      const [ha, hb] = [a.stateHash(), b.stateHash()];
      if (ha !== hb) expect(hb, `tick ${t}`).toBe(ha);
      if (t % 50 === 0) expect(needs(b), `needs at tick ${t}`).toEqual(needs(a));
    }
    expect(a.tick).toBe(500);
  });

  it("gives different state for different seeds", () => {
    const a = world(7);
    const b = world(8);
    expect(b.stateHash()).not.toBe(a.stateHash());
    expect(needs(b)).not.toEqual(needs(a));
    a.run(10);
    b.run(10);
    expect(b.stateHash()).not.toBe(a.stateHash());
  });

  it("takes the seed from the config unless one is given", () => {
    expect(world().seed).toBe(7);
    expect(world().stateHash()).toBe(world(7).stateHash());
  });

  it("makes reset(seed) equal a fresh world of that seed, tick by tick, after running another seed", () => {
    const reused = world(3);
    reused.run(137);
    reused.spawnAgent(2, { name: "visitor" });
    reused.run(5);
    reused.reset(11);
    const fresh = world(11);
    expect(reused.seed).toBe(11);
    expect(reused.tick).toBe(0);
    expect(reused.stateHash()).toBe(fresh.stateHash());
    expect(reused.agentEid("visitor")).toBe(-1);
    for (let t = 1; t <= 100; t++) {
      reused.step();
      fresh.step();
      const [hr, hf] = [reused.stateHash(), fresh.stateHash()];
      if (hr !== hf) expect(hr, `tick ${t}`).toBe(hf);
    }
    expect(needs(reused)).toEqual(needs(fresh));
  });

  it("makes reset() without a seed start over from the current one", () => {
    const w = world(5);
    const start = w.stateHash();
    w.run(20);
    w.reset();
    expect(w.stateHash()).toBe(start);
  });
});

describe("the CLI", () => {
  it("prints the same state_hash for two runs of one seed and another for a different seed", async () => {
    const a = await runCli(["--ticks", "300", "--seed", "7", "--json", "--quiet"]);
    const b = await runCli(["--ticks", "300", "--seed", "7", "--json", "--quiet"]);
    const c = await runCli(["--ticks", "300", "--seed", "8", "--json", "--quiet"]);
    expect(a).toMatchObject({ ticks: 300, seed: 7, towns: 1, agents: 12, config_id: "townlet-default-v1" });
    expect(a.state_hash).toMatch(/^[0-9a-f]{16}$/);
    expect(b.state_hash).toBe(a.state_hash);
    expect(c.seed).toBe(8);
    expect(c.state_hash).not.toBe(a.state_hash);
  });

  it("prints the same state_hash in a child process as in this one", async () => {
    const inProcess = await runCli(["--ticks", "300", "--seed", "7", "--json", "--quiet"]);
    const stdout = execFileSync(process.execPath, ["bin/townlet.mjs", "run", "--ticks", "300", "--seed", "7", "--json", "--quiet"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    const child = JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
    expect(child.state_hash).toBe(inProcess.state_hash);
    expect(child.config_hash).toBe(inProcess.config_hash);
  });
});

describe("need decay", () => {
  it("keeps needs in [0,1] and lowers each by its rate per tick, in Float32 arithmetic", () => {
    // Decay alone: no affordance, wage or policy moves a need (the original's rates).
    const settings = loadConfig(DEFAULT_CONFIG, corePlugins, {
      overrides: { "rewards.decay_rates": { hunger: 0.01, hygiene: 0.005, energy: 0.008 } },
    }).settings;
    const w = new World({ settings, plugins: [needsPlugin, populationPlugin] });
    const rates = settings.rewards.decay_rates as Record<(typeof NEED_NAMES)[number], number>;
    const N = w.columns(Needs);
    const agents = Array.from(w.agents);
    const reached0 = new Set<string>();
    // Long enough for the slowest need (hygiene, 0.005 per tick) to reach the floor from 1.
    for (let t = 1; t <= 210; t++) {
      const expected = agents.map((eid) =>
        NEED_NAMES.map((n) => {
          const x = N[n][eid] - rates[n];
          return Math.fround(x < 0 ? 0 : x > 1 ? 1 : x);
        }),
      );
      w.step();
      agents.forEach((eid, i) =>
        NEED_NAMES.forEach((n, k) => {
          const v = N[n][eid];
          if (v !== expected[i][k]) expect(v, `${n} of ${eid} at tick ${t}`).toBe(expected[i][k]);
          if (!(v >= 0 && v <= 1)) expect.fail(`${n} of ${eid} at tick ${t} is ${v}, outside [0,1]`);
          if (v === 0) reached0.add(n);
        }),
      );
    }
    expect([...reached0].sort()).toEqual([...NEED_NAMES].sort());
  });

  it("starts every agent's needs between half and fully satisfied", () => {
    const v = needs(world());
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...v)).toBeLessThanOrEqual(1);
  });
});
