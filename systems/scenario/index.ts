// Scenario (setup; phase policy, set PolicySets.Decide): when `scenario` is set, spawns its agents
// in every town and replays each agent's schedule as one Intent per tick. Reads Activity,
// Position, affordance_start; writes Intent, Option.external, the per-agent schedule cursors.
import { definePlugin, type ConfigCheckProblem, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { World, InitValues } from "../../engine/world.ts";
import type { ComponentDef } from "../../engine/component.ts";
import { formatPath } from "../../engine/config/loader.ts";
import { didYouMean } from "../../engine/text.ts";
import { Agent } from "../../engine/core-components.ts";
import { Activity, Intent, IntentKind, Option } from "../../components/activity.ts";
import { Position } from "../../components/space.ts";
import { Needs, needTable, type NeedTable } from "../../components/needs.ts";
import { Wallet } from "../../components/economy.ts";
import { Obj } from "../../components/objects.ts";
import { Personality, EmploymentKey } from "../../components/people.ts";
import { profileIndex } from "../../components/profiles.ts";
import { AffordanceStart } from "../../components/messages.ts";
import { PolicySets } from "../../components/sets.ts";
import { PROFILE_NAMES as PERSONALITY_PROFILES } from "../../components/people.ts";
import { sections, SCENARIO_INTENT_KINDS, type ScenarioConfig } from "./config.ts";
import { AffordancesKey } from "../../components/affordances.ts";

/** A scenario that cannot be set up (an object id no town has, ...): a user's mistake, exit 1. */
export class ScenarioError extends Error {
  override name = "ScenarioError";
}

/** Schedule entry kinds, indexed like SCENARIO_INTENT_KINDS. */
const Kind = { move: 0, request: 1, start: 2, release: 3, wait: 4, chat: 5, blocked: 6 } as const;
for (const [name, k] of Object.entries(Kind)) {
  if (SCENARIO_INTENT_KINDS[k] !== name) throw new Error(`internal error: scenario kind ${k} is "${SCENARIO_INTENT_KINDS[k]}", expected "${name}" (please report a bug)`);
}

/** Ticks a stub affordance runs for an agent without a job (the original's default). */
export const STUB_DURATION = 30;

type Entry = NonNullable<ConfigSections["scenario"]>["agents"][number]["schedule"][number];

// ---- config rules -------------------------------------------------------------------------------

const NEEDS_OBJECT: ReadonlySet<string> = new Set(["request", "start", "blocked"]);

/**
 * Rules on scenario agents and their schedules: a job must be a key of `jobs`, a personality
 * profile a known one (any case); move needs a position inside the grid, request/start/blocked
 * an object, chat a target that is another scenario agent. Object ids are checked against
 * `objects` (the scenario's when it lists any; at setup, the objects the towns really have).
 */
export function scenarioProblems(settings: ConfigSections, objects?: ReadonlySet<string>): ConfigCheckProblem[] {
  const problems: ConfigCheckProblem[] = [];
  const sc = settings.scenario;
  if (!sc) return problems;
  const jobs = Object.keys(settings.jobs);
  const [w, h] = settings.world.grid_size;
  const outside = (p: readonly [number, number]) => p[0] >= w || p[1] >= h;
  const tileMsg = (p: readonly [number, number]) => `expected a tile inside the ${w}x${h} grid, got [${p[0]}, ${p[1]}]`;
  const agentIds = sc.agents.map((a) => a.id);
  const known = objects ?? (sc.objects.length > 0 ? new Set(sc.objects.map((o) => o.id)) : undefined);
  sc.objects.forEach((o, i) => {
    if (o.position && outside(o.position)) problems.push({ path: ["scenario", "objects", i, "position"], message: tileMsg(o.position) });
  });
  sc.agents.forEach((agent, i) => {
    const at = ["scenario", "agents", i];
    if (outside(agent.position)) problems.push({ path: [...at, "position"], message: tileMsg(agent.position) });
    if (agent.job !== undefined && !Object.hasOwn(settings.jobs, agent.job)) {
      const list = jobs.length ? jobs.map((j) => `"${j}"`).join(", ") : "none";
      problems.push({
        path: [...at, "job"],
        message: `expected a job from the jobs section (${list}), got "${agent.job}"${didYouMean(agent.job, jobs)}`,
      });
    }
    const profile = agent.personality_profile;
    if (profile !== undefined && !(PERSONALITY_PROFILES as readonly string[]).includes(profile.toLowerCase())) {
      problems.push({
        path: [...at, "personality_profile"],
        message: `expected a known personality profile (${PERSONALITY_PROFILES.join(", ")}), got "${profile}"${didYouMean(profile, PERSONALITY_PROFILES)}`,
      });
    }
    agent.schedule.forEach((e, j) => {
      const ep = [...at, "schedule", j];
      if (e.kind === "move") {
        if (!e.position) problems.push({ path: [...ep, "position"], message: "expected a tile [x, y] to move to" });
        else if (outside(e.position)) problems.push({ path: [...ep, "position"], message: tileMsg(e.position) });
      }
      if (NEEDS_OBJECT.has(e.kind) && (e.object === undefined || e.object === null)) {
        problems.push({ path: [...ep, "object"], message: `expected an object id for a ${e.kind}` });
      } else if (e.object && known && !known.has(e.object)) {
        const list = [...known].sort();
        problems.push({
          path: [...ep, "object"],
          message: `unknown object "${e.object}" (objects: ${list.map((o) => `"${o}"`).join(", ") || "none"})${didYouMean(e.object, list)}`,
        });
      }
      if (e.kind === "chat") {
        if (e.target === undefined) problems.push({ path: [...ep, "target"], message: "expected an agent id to chat with" });
        else if (!agentIds.includes(e.target) || e.target === agent.id) {
          const others = agentIds.filter((a) => a !== agent.id);
          problems.push({
            path: [...ep, "target"],
            message: `unknown agent "${e.target}" (other scenario agents: ${others.map((a) => `"${a}"`).join(", ") || "none"})${didYouMean(e.target, others)}`,
          });
        }
      }
    });
  });
  return problems;
}

/** The scenario plug-in's cross-section check (kept under its historical name). */
export function checkScenarioAgents(settings: ConfigSections): ConfigCheckProblem[] {
  return [...scenarioProblems(settings), ...scenarioNeedProblems(settings)];
}

/** Every starting need a scenario agent names is a need of the world. */
function scenarioNeedProblems(settings: ConfigSections): ConfigCheckProblem[] {
  const sc = settings.scenario;
  if (!sc) return [];
  const table = needTable(settings);
  const problems: ConfigCheckProblem[] = [];
  sc.agents.forEach((agent, a) => {
    for (const name of Object.keys(agent.needs)) {
      if (table.index(name) < 0) problems.push({ path: ["scenario", "agents", a, "needs", name], message: `expected a need of this world (${table.names.join(", ")})${didYouMean(name, table.names)}` });
    }
  });
  return problems;
}

/** A scenario agent's starting needs: each need of the table, 0.5 unless the agent names it. */
function startingNeeds(table: NeedTable, given: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of table.list) out[n.name] = given[n.name] ?? 0.5;
  return out;
}

// ---- state --------------------------------------------------------------------------------------

/**
 * Compiled schedules (from the config at setup, not persistent) and each scenario agent's cursor
 * (persistent). Instance k = town * agents + agent index.
 */
export class ScenarioState implements PersistentState {
  /** Scenario agents per town. */
  agents = 0;
  towns = 0;
  names: string[] = [];
  // Per instance.
  eid = new Int32Array(0);
  uid = new Int32Array(0);
  /** Index of the current entry in the agent's schedule. */
  cursor = new Int32Array(0);
  /** Tick the current entry became current. */
  since = new Int32Array(0);
  /** The current entry took effect (one-tick kinds written, request made, start seen). */
  issued = new Uint8Array(0);
  // Schedules, entries of agent a at offset[a] .. offset[a+1].
  offset = new Int32Array(1);
  kind = new Uint8Array(0);
  aff = new Int16Array(0);
  x = new Int16Array(0);
  y = new Int16Array(0);
  blocked = new Uint8Array(0);
  /** Chat partner: scenario agent index, -1 = none. */
  target = new Int32Array(0);
  /** Object entity per town and entry: [town * entries + e], 0 = none. */
  obj = new Int32Array(0);
  /** Instance + 1 of an agent entity, 0 = not a scenario agent. */
  slot = new Int32Array(0);

  save(): unknown {
    return { cursor: [...this.cursor], since: [...this.since], issued: [...this.issued] };
  }

  load(data: unknown): void {
    const d = data as { cursor: number[]; since: number[]; issued: number[] };
    if (d.cursor.length !== this.cursor.length) {
      throw new Error(`scenario state: snapshot has ${d.cursor.length} scenario agents, this world ${this.cursor.length}`);
    }
    this.cursor.set(d.cursor);
    this.since.set(d.since);
    this.issued.set(d.issued);
  }

  hash(h: StateHasher): void {
    h.u32(this.cursor.length);
    for (let k = 0; k < this.cursor.length; k++) h.u32(this.cursor[k]).u32(this.since[k]).u32(this.issued[k]);
  }

  /** Instance index of a live scenario agent entity, or -1. */
  instanceOf(eid: number): number {
    return eid > 0 && eid < this.slot.length ? this.slot[eid] - 1 : -1;
  }
}

/** The scenario cursor of an agent (by external id): entry index and the tick it became current. */
export function scenarioCursor(world: World, name: string): { entry: number; since: number } | undefined {
  const s = world.state<ScenarioState>("scenario");
  const k = s.instanceOf(world.agentEid(name));
  return k < 0 ? undefined : { entry: s.cursor[k], since: s.since[k] };
}

// ---- setup --------------------------------------------------------------------------------------

/** Name of scenario agent `id` in `town`: as written in town 0, `id@town` beyond. */
export function scenarioAgentName(id: string, town: number): string {
  return town === 0 ? id : `${id}@${town}`;
}

/**
 * The affordance a schedule entry names on an object type. Beyond the original's rule (an
 * unknown name is stub-registered), two rules of ours, listed in docs/differences.md:
 * - a name that is a prefix of an affordance the type offers resolves to the first such one
 *   (manifest order): "cook" on a stove is cook_meal;
 * - a request naming an affordance the type does not offer falls back to the type's first
 *   affordance (a request only queues; what then starts is what the object offers).
 * A stub runs `duration` ticks (the entry's `duration`, else the agent's shift length, else 30)
 * and has no effects; the first entry that registers a (type, name) fixes its duration. A stub
 * whose name is an affordance of another type is registered as `name@type`, so the other
 * type keeps its own. A hot reload of the manifest retires stubs.
 */
function resolveAffordance(world: World, type: number, name: string | null | undefined, kind: number, duration: number): number {
  if (name === null || name === undefined) return -1;
  const reg = world.resource(AffordancesKey).registry;
  const offered = reg.ofType(type).filter((i) => reg.affordances[i]?.active);
  for (const i of offered) if (reg.affordances[i].id === name) return i;
  for (const i of offered) if (reg.affordances[i].id.startsWith(name)) return i;
  if (kind === Kind.request && offered.length > 0) return offered[0];
  const typeName = reg.types[type];
  const clash = reg.affordanceIndex(name);
  const id = clash >= 0 && reg.affordances[clash].type !== type ? `${name}@${typeName}` : name;
  const prior = reg.affordanceIndex(id);
  if (prior >= 0 && reg.affordances[prior].type === type && reg.affordances[prior].active) return prior;
  return world.resource(AffordancesKey).registerAffordance({ id, object_type: typeName, duration });
}

function setupScenario(world: World, sc: NonNullable<ScenarioConfig>, s: ScenarioState): void {
  const settings = world.settings;
  const towns = world.towns;
  // Objects: the scenario's, or the manifest's when it lists none (the affordances plug-in placed them).
  const objectIds = new Set<string>();
  const O = world.columns(Obj);
  for (const e of world.resource(AffordancesKey).objects) objectIds.add(world.text(O.key[e]));
  const problems = scenarioProblems(settings, objectIds);
  if (problems.length) throw new ScenarioError(problems.map((p) => `${formatPath(p.path)}: ${p.message}`).join("\n"));

  const nA = sc.agents.length;
  const entries = sc.agents.reduce((n, a) => n + a.schedule.length, 0);
  s.agents = nA;
  s.towns = towns;
  s.names = sc.agents.map((a) => a.id);
  const nI = nA * towns;
  s.eid = new Int32Array(nI);
  s.uid = new Int32Array(nI).fill(-1);
  s.cursor = new Int32Array(nI);
  s.since = new Int32Array(nI).fill(1);
  s.issued = new Uint8Array(nI);
  s.offset = new Int32Array(nA + 1);
  s.kind = new Uint8Array(entries);
  s.aff = new Int16Array(entries).fill(-1);
  s.x = new Int16Array(entries);
  s.y = new Int16Array(entries);
  s.blocked = new Uint8Array(entries);
  s.target = new Int32Array(entries).fill(-1);
  s.obj = new Int32Array(entries * towns);

  const index = new Map(sc.agents.map((a, i) => [a.id, i]));
  let e = 0;
  sc.agents.forEach((agent, a) => {
    s.offset[a] = e;
    const job = agent.job !== undefined ? settings.jobs[agent.job] : undefined;
    const shift = job ? Math.max(1, job.end_tick - job.start_tick) : STUB_DURATION;
    for (const entry of agent.schedule as Entry[]) {
      const kind = Kind[entry.kind];
      s.kind[e] = kind;
      s.blocked[e] = entry.blocked || kind === Kind.blocked ? 1 : 0;
      if (entry.position) {
        s.x[e] = entry.position[0];
        s.y[e] = entry.position[1];
      }
      if (kind === Kind.chat && entry.target !== undefined) s.target[e] = index.get(entry.target) ?? -1;
      if (entry.object) {
        for (let t = 0; t < towns; t++) s.obj[t * entries + e] = world.resource(AffordancesKey).objectById(t, entry.object);
        if (kind === Kind.request || kind === Kind.start) {
          s.aff[e] = resolveAffordance(world, O.type[s.obj[e]], entry.affordance, kind, entry.duration ?? shift);
        }
      }
      e++;
    }
  });
  s.offset[nA] = e;

  const uidCol = () => world.columns(Agent).uid;
  const needs = needTable(world.settings);
  for (let t = 0; t < towns; t++) {
    sc.agents.forEach((agent, a) => {
      const init: InitValues = {
        Position: { x: agent.position[0], y: agent.position[1] },
        Needs: startingNeeds(needs, agent.needs),
        Wallet: { money: agent.wallet },
      };
      if (agent.personality_profile !== undefined) init.Personality = { profile: profileIndex(agent.personality_profile) };
      // Scheduled agents are driven by their schedule: policies leave them alone.
      if (agent.schedule.length > 0) init.Option = { external: 1 };
      const defs: Record<string, ComponentDef> = { Position, Needs, Wallet, Personality, Option };
      for (const name of Object.keys(init)) if (!world.components.isRegistered(defs[name])) delete init[name];
      const eid = world.spawnAgent(t, { name: scenarioAgentName(agent.id, t), init });
      // A component no plug-in attached on spawn (a world without that plug-in) still gets the values.
      for (const [name, values] of Object.entries(init)) if (!world.has(eid, defs[name])) world.addComponent(eid, defs[name], values);
      if (agent.job !== undefined) world.optionalResource(EmploymentKey)?.assignJob(eid, agent.job);
      const k = t * nA + a;
      s.eid[k] = eid;
      s.uid[k] = uidCol()[eid];
      if (s.slot.length <= eid) {
        const g = new Int32Array(Math.max(16, (eid + 1) * 2));
        g.set(s.slot);
        s.slot = g;
      }
      s.slot[eid] = k + 1;
    });
  }
}

// ---- the plug-in -------------------------------------------------------------------------------

export const scenarioPlugin = definePlugin({
  name: "scenario",
  optional: [AffordancesKey, EmploymentKey],
  doc: "scenario agents and their scripted schedules",
  sections,
  checks: checkScenarioAgents,
  components: { Intent, Activity, Position },
  state: (): ScenarioState => new ScenarioState(),
  setup({ world, settings, state }) {
    if (settings.scenario) setupScenario(world, settings.scenario, state);
  },
  systems: [
    {
      name: "scenario/schedule",
      phase: "policy",
      sets: [PolicySets.Decide],
      reads: ["Activity", "Position", "affordance_start"],
      writes: ["Intent", "scenario cursors"],
      run({ world, tick, read, state: s, components: { Intent: I, Activity: A, Position: P } }) {
        const nA = s.agents;
        if (nA === 0) return;
        const entries = s.kind.length;
        // An affordance started on a start entry's object last tick completes that entry, even
        // one that finished in the same tick.
        const started = read(AffordanceStart);
        for (let i = started.start; i < started.end; i++) {
          const k = s.instanceOf(started.agent[i]);
          if (k < 0 || s.eid[k] !== started.agent[i]) continue;
          const a = k % nA;
          const e = s.offset[a] + s.cursor[k];
          if (s.kind[e] === Kind.start && s.obj[((k - a) / nA) * entries + e] === started.object[i]) s.issued[k] = 1;
        }
        const uid = world.columns(Agent).uid;
        for (let k = 0; k < s.eid.length; k++) {
          const eid = s.eid[k];
          if (!world.isAgent(eid) || uid[eid] !== s.uid[k]) continue;
          const a = k % nA;
          const base = s.offset[a];
          const n = s.offset[a + 1] - base;
          if (n === 0) continue;
          const town = (k - a) / nA;
          let e = base + s.cursor[k];
          let obj = s.obj[town * entries + e];
          let done = false;
          switch (s.kind[e]) {
            case Kind.move:
              done = P.x[eid] === s.x[e] && P.y[eid] === s.y[e];
              break;
            case Kind.request:
              // The attempt was made: it then holds, waits in the queue, or was refused.
              done = s.issued[k] === 1 && (A.holding[eid] === obj || A.queued[eid] === obj || A.last_ok[eid] === 0);
              break;
            case Kind.start:
              done = s.issued[k] === 1 || (A.running[eid] >= 0 && A.holding[eid] === obj) || A.last_fail_tick[eid] >= s.since[k];
              break;
            default:
              done = s.issued[k] === 1;
          }
          if (done) {
            s.cursor[k] = (s.cursor[k] + 1) % n;
            s.since[k] = tick;
            s.issued[k] = 0;
            e = base + s.cursor[k];
            obj = s.obj[town * entries + e];
          }
          const kind = s.kind[e];
          I.object[eid] = 0;
          I.affordance[eid] = -1;
          I.target[eid] = 0;
          I.quality[eid] = 0.5;
          I.blocked[eid] = 0;
          // Busy: the cursor holds, unless the entry lets go of the object in use.
          if (A.running[eid] >= 0 && !(kind === Kind.release && (obj === 0 || obj === A.holding[eid]))) {
            I.kind[eid] = IntentKind.Wait;
            continue;
          }
          switch (kind) {
            case Kind.move:
              I.kind[eid] = IntentKind.Move;
              I.x[eid] = s.x[e];
              I.y[eid] = s.y[e];
              break;
            case Kind.request:
            case Kind.start:
              I.kind[eid] = kind === Kind.request ? IntentKind.Request : IntentKind.Start;
              I.object[eid] = obj;
              I.affordance[eid] = s.aff[e];
              I.blocked[eid] = s.blocked[e];
              // A request is made this tick when the agent stands on or beside the object.
              if (kind === Kind.request) s.issued[k] = Math.abs(P.x[eid] - P.x[obj]) + Math.abs(P.y[eid] - P.y[obj]) <= 1 ? 1 : 0;
              break;
            case Kind.release:
              I.kind[eid] = IntentKind.Release;
              I.object[eid] = obj;
              s.issued[k] = 1;
              break;
            case Kind.blocked:
              I.kind[eid] = IntentKind.Blocked;
              I.object[eid] = obj;
              I.blocked[eid] = 1;
              s.issued[k] = 1;
              break;
            case Kind.chat: {
              const other = s.target[e] < 0 ? -1 : town * nA + s.target[e];
              const oe = other < 0 ? 0 : s.eid[other];
              I.kind[eid] = IntentKind.Chat;
              I.target[eid] = oe !== 0 && world.isAgent(oe) && uid[oe] === s.uid[other] ? oe : 0;
              s.issued[k] = 1;
              break;
            }
            default:
              I.kind[eid] = IntentKind.Wait;
              s.issued[k] = 1;
          }
        }
      },
    },
  ],
});
