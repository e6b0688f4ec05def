// The default town (configs/default.yaml, scripted agents) for 2000 ticks with seed 3: every core
// affordance is used, wages are paid, late arrivals counted, exited agents replaced, needs stay in
// [0, 1], no KPI is NaN, and a second run gives the same state hash at every tick.
import { beforeAll, describe, expect, it } from "vitest";
import { NEED_NAMES, Needs } from "../../components/needs.ts";
import { AgentExit, AgentSpawn, JobLate } from "../../components/messages.ts";
import { loadConfig, type LoadedConfig } from "../../engine/config/loader.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";
import { DEFAULT_CONFIG } from "../../tools/cli.ts";

const TICKS = 2000;
const SEED = 3;

interface Run {
  kpis: Record<string, unknown>;
  hashes: string[];
  jobLateMessages: number;
  exits: { uid: number; tick: number; reason: string }[];
  spawns: { uid: number; replaces: number; tick: number }[];
  needsOutOfRange: string[];
}

let config: LoadedConfig;
let first: Run;
let second: Run;

function run(): Run {
  const w = new World({ settings: config.settings, plugins: corePlugins, seed: SEED });
  const r: Run = { kpis: {}, hashes: [], jobLateMessages: 0, exits: [], spawns: [], needsOutOfRange: [] };
  for (let t = 1; t <= TICKS; t++) {
    w.step();
    r.hashes.push(w.stateHash());
    r.jobLateMessages += w.lastTick(JobLate).count;
    const ex = w.lastTick(AgentExit);
    for (let i = ex.start; i < ex.end; i++) r.exits.push({ uid: ex.uid[i], tick: w.tick, reason: w.text(ex.reason[i]) });
    const sp = w.lastTick(AgentSpawn);
    for (let i = sp.start; i < sp.end; i++) r.spawns.push({ uid: sp.uid[i], replaces: sp.replaces_uid[i], tick: w.tick });
    const N = w.columns(Needs);
    for (const a of w.agents) {
      for (const n of NEED_NAMES) {
        const v = N[n][a];
        if (!(v >= 0 && v <= 1)) r.needsOutOfRange.push(`tick ${t}: ${n} of ${w.agentName(a)} = ${v}`);
      }
    }
  }
  r.kpis = w.kpis();
  return r;
}

/** Paths of every number in `v` that is not finite. */
function nonFinite(v: unknown, path = "kpis"): string[] {
  if (typeof v === "number") return Number.isFinite(v) ? [] : [`${path} = ${v}`];
  if (Array.isArray(v)) return v.flatMap((x, i) => nonFinite(x, `${path}[${i}]`));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => nonFinite(x, `${path}.${k}`));
  return [];
}

beforeAll(() => {
  config = loadConfig(DEFAULT_CONFIG, corePlugins);
  first = run();
  second = run();
});

describe(`the default town, ${TICKS} ticks, seed ${SEED}`, () => {
  it("completes every core affordance at least once", () => {
    const done = first.kpis.affordances_completed as Record<string, number>;
    for (const id of ["use_shower", "eat_meal", "cook_meal", "rest_sleep"]) expect(done[id], id).toBeGreaterThan(0);
  });

  it("pays wages and counts late arrivals (the KPI equals the job_late messages)", () => {
    expect(first.kpis.wages_paid as number).toBeGreaterThan(0);
    expect(first.kpis.job_late as number).toBeGreaterThan(0);
    expect(first.kpis.job_late).toBe(first.jobLateMessages);
  });

  it("replaces exited agents: every replacement follows the exit of the agent it replaces", () => {
    const exits = first.kpis.exits as Record<string, number>;
    expect(exits.total).toBe(first.exits.length);
    const replacements = first.spawns.filter((s) => s.replaces >= 0);
    expect(first.kpis.spawns).toBe(replacements.length);
    expect(replacements.length).toBeLessThanOrEqual(first.exits.length);
    if (first.exits.length > 0) expect(replacements.length).toBeGreaterThan(0);
    for (const s of replacements) {
      const exit = first.exits.find((e) => e.uid === s.replaces);
      expect(exit, `replacement ${s.uid} of ${s.replaces}`).toBeDefined();
      expect(s.tick).toBeGreaterThanOrEqual(exit!.tick);
    }
    expect(first.kpis.alive_agents).toBe(12 - first.exits.length + replacements.length);
  });

  it("keeps every need in [0, 1] and every KPI a finite number", () => {
    expect(first.needsOutOfRange).toEqual([]);
    expect(nonFinite(first.kpis)).toEqual([]);
  });

  it("gives the same state hash at every tick in a second run", () => {
    expect(second.hashes).toHaveLength(TICKS);
    const firstDiff = first.hashes.findIndex((h, i) => h !== second.hashes[i]);
    expect(firstDiff, "first tick whose hash differs (index)").toBe(-1);
    expect(new Set(first.hashes).size).toBeGreaterThan(TICKS / 2);
    expect(second.kpis).toEqual(first.kpis);
  });
});
