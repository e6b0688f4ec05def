// Runs a scenario config (`townlet scenario FILE`): builds the world, runs it to the scenario's
// tick count, collects the notable events of every tick and the final state of each agent.
// Shared by the CLI and the scenario tests, so both take the same path.
import { ConfigError, type LoadedConfig } from "../engine/config/loader.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import type { World } from "../engine/world.ts";
import type { MessageDef } from "../engine/message.ts";
import { Agent, Town } from "../engine/core-components.ts";
import { Needs, needTable } from "../components/needs.ts";
import { Wallet } from "../components/economy.ts";
import { Position } from "../components/space.ts";
import { Obj } from "../components/objects.ts";
import { Employment, SHIFT_STATE_NAMES } from "../components/people.ts";
import {
  AffordanceFail,
  AffordanceFinish,
  AffordanceStart,
  AgentExit,
  AgentSpawn,
  ChatFailure,
  ChatSuccess,
  JobLate,
  QueueConflict,
  ShiftAbsent,
  ShiftOnTime,
} from "../components/messages.ts";
import { corePlugins } from "../systems/index.ts";
import { affordanceRegistry } from "../systems/affordances/index.ts";
import { buildWorld } from "../engine/build.ts";
import { resolvePlugins } from "../engine/plugin-loader.ts";
import { FLAG, UsageError, configArg, parseCommand, type CommandSpec } from "./args.ts";
import { formatSummary } from "./run.ts";

/** The messages printed as they happen, in this order within a tick. */
const EVENTS: readonly MessageDef[] = [
  AffordanceStart,
  AffordanceFinish,
  AffordanceFail,
  QueueConflict,
  ChatSuccess,
  ChatFailure,
  ShiftOnTime,
  JobLate,
  ShiftAbsent,
  AgentExit,
  AgentSpawn,
];

/** One notable event: the message's name, its tick and its fields with names instead of ids. */
export interface ScenarioEvent {
  event: string;
  tick: number;
  [field: string]: string | number | null;
}

export interface AgentFinalState {
  id: string;
  town: number;
  alive: boolean;
  position: [number, number] | null;
  needs: Record<string, number> | null;
  wallet: number | null;
  job: string | null;
  shift_state: string | null;
  /** Affordances this agent finished, by affordance id. */
  completed: Record<string, number>;
}

export interface ScenarioSummary {
  ticks: number;
  towns: number;
  agents: number;
  seed: number;
  config_id: string;
  config_hash: string;
  state_hash: string;
  wall_s: number;
  agent_steps_per_sec: number;
  tensor_backend: string;
  kpis: Record<string, unknown>;
  /** The scenario's description. */
  scenario: string;
  agent_states: AgentFinalState[];
}

export interface ScenarioOptions {
  /** Tick to stop at (default: the scenario's `ticks`). */
  ticks?: number;
  seed?: number;
  towns?: number;
  /** Config values replaced before validation, e.g. { "scenario.ticks": 10 } (tests, tools). */
  overrides?: Record<string, unknown>;
  plugins?: readonly AnyPlugin[];
  /** Called for every event as it happens (after its tick). */
  onEvent?: (e: ScenarioEvent) => void;
  /** Called after every tick, after the tick's events. */
  onTick?: (world: World) => void;
}

export interface ScenarioRun {
  world: World;
  config: LoadedConfig;
  events: ScenarioEvent[];
  summary: ScenarioSummary;
}

function round(x: number, d = 4): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/** Runs the scenario in `file`. Throws ConfigError for a bad file or one without a scenario. */
export function runScenario(file: string, opts: ScenarioOptions = {}): ScenarioRun {
  const { world, config } = buildWorld(file, opts.plugins ?? corePlugins, { seed: opts.seed, towns: opts.towns, overrides: opts.overrides });
  const sc = config.settings.scenario;
  if (!sc) {
    throw new ConfigError([
      {
        file,
        line: 1,
        path: "",
        message: "expected a `scenario` section (description, ticks, objects, agents); this config has none. Add one, or run it with `townlet run`",
      },
    ]);
  }
  const until = opts.ticks ?? sc.ticks;
  const events: ScenarioEvent[] = [];
  const completed = new Map<string, Record<string, number>>();
  const jobs = Object.keys(config.settings.jobs);
  const registry = affordanceRegistry(world);
  const channels = EVENTS.filter((d) => world.messages.has(d));
  // Names of agents as of the previous tick: an agent that left this tick is gone from the world.
  let known = new Map<number, string>();
  const nameByUid = new Map<number, string>();
  const remember = (w: World) => {
    known = new Map();
    const uid = w.columns(Agent).uid;
    for (const eid of w.agents) {
      const n = w.agentName(eid);
      known.set(eid, n);
      nameByUid.set(uid[eid], n);
    }
  };
  remember(world);
  const entityName = (w: World, eid: number): string => {
    if (eid <= 0) return "";
    if (w.isAgent(eid)) return w.agentName(eid);
    if (w.has(eid, Obj)) return w.text(w.columns(Obj).key[eid]);
    return known.get(eid) ?? `entity_${eid}`;
  };

  const listener = (w: World) => {
    const tick = w.tick;
    for (const def of channels) {
      const v = w.lastTick(def);
      const cols = v as unknown as Record<string, Float64Array>;
      for (let i = v.start; i < v.end; i++) {
        const ev: ScenarioEvent = { event: def.name, tick };
        for (const key of def.keys) {
          const x = cols[key][i];
          const kind = def.fields[key];
          if (kind === "eid") ev[key] = entityName(w, x);
          else if (kind === "str") ev[key] = w.text(x);
          else if (key === "affordance") ev[key] = registry.affordances[x]?.id ?? x;
          else if (key === "job") ev[key] = jobs[x] ?? null;
          else ev[key] = kind === "float" ? round(x) : x;
        }
        if (def === AgentExit || def === AgentSpawn) ev.agent = nameByUid.get(cols.uid[i]) ?? (def === AgentSpawn ? entityName(w, cols.agent[i]) : `agent_${cols.uid[i]}`);
        if (def === AffordanceFinish) {
          const who = String(ev.agent);
          const c = completed.get(who) ?? {};
          c[String(ev.affordance)] = (c[String(ev.affordance)] ?? 0) + 1;
          completed.set(who, c);
        }
        events.push(ev);
        opts.onEvent?.(ev);
      }
    }
    remember(w);
    opts.onTick?.(w);
  };
  const off = world.onTick(listener);
  let steps = 0;
  const t0 = performance.now();
  try {
    while (world.tick < until) {
      world.step();
      steps += world.agents.length;
    }
  } finally {
    off();
  }
  const wall = (performance.now() - t0) / 1000;

  const agent_states = finalAgentStates(world, sc.agents, jobs, completed);
  const summary: ScenarioSummary = {
    ticks: world.tick,
    towns: world.towns,
    agents: world.agents.length,
    seed: world.seed,
    config_id: config.configId,
    config_hash: config.configHash,
    state_hash: world.stateHash(),
    wall_s: round(wall),
    agent_steps_per_sec: wall > 0 ? Math.round(steps / wall) : 0,
    tensor_backend: "none",
    kpis: world.kpis(),
    scenario: sc.description,
    agent_states,
  };
  return { world, config, events, summary };
}

/** Final state of every scenario agent of every town (agents that left: alive false). */
function finalAgentStates(world: World, agents: readonly { id: string }[], jobs: readonly string[], completed: ReadonlyMap<string, Record<string, number>>): AgentFinalState[] {
  const agent_states: AgentFinalState[] = [];
  const N = world.columns(Needs) as unknown as Record<string, Float32Array>;
  const needNames = needTable(world.settings).names;
  const P = world.columns(Position);
  const W = world.components.isRegistered(Wallet) ? world.columns(Wallet) : undefined;
  const E = world.components.isRegistered(Employment) ? world.columns(Employment) : undefined;
  const T = world.columns(Town).id;
  for (let t = 0; t < world.towns; t++) {
    for (const a of agents) {
      const id = t === 0 ? a.id : `${a.id}@${t}`;
      const eid = world.agentEid(id);
      const alive = eid > 0 && world.isAgent(eid) && T[eid] === t;
      agent_states.push({
        id,
        town: t,
        alive,
        position: alive ? [P.x[eid], P.y[eid]] : null,
        needs: alive ? Object.fromEntries(needNames.map((n) => [n, round(N[n][eid])])) : null,
        wallet: alive && W ? round(W.money[eid]) : null,
        job: alive && E && E.job[eid] >= 0 ? (jobs[E.job[eid]] ?? null) : null,
        shift_state: alive && E && world.has(eid, Employment) ? (SHIFT_STATE_NAMES[E.shift_state[eid]] ?? null) : null,
        completed: completed.get(id) ?? {},
      });
    }
  }
  return agent_states;
}

/** One event as a line of text: `tick    3  affordance_start  agent=anna object=shower_1 ...`. */
export function formatEvent(e: ScenarioEvent): string {
  const fields = Object.entries(e)
    .filter(([k]) => k !== "event" && k !== "tick")
    .map(([k, v]) => `${k}=${v === null ? "-" : v}`)
    .join(" ");
  return `tick ${String(e.tick).padStart(5)}  ${e.event.padEnd(18)} ${fields}`;
}

/** The per-agent lines of a scenario summary. */
export function formatAgentStates(states: readonly AgentFinalState[]): string[] {
  return states.map((s) => {
    if (!s.alive) return `  ${s.id.padEnd(12)} left the town`;
    const needs = Object.entries(s.needs ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    const done = Object.entries(s.completed)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    return `  ${s.id.padEnd(12)} at [${s.position!.join(", ")}] ${needs} wallet=${s.wallet ?? "-"} job=${s.job ?? "-"} shift=${s.shift_state ?? "-"} completed: ${done || "none"}`;
  });
}

export const SCENARIO_SPEC = {
  name: "scenario",
  summary: "run a scenario config (a scripted situation), printing its events and each agent's final state",
  positionals: { name: "FILE", min: 0, max: 1, help: "the scenario config (a config with a `scenario` section); same as --config" },
  flags: {
    config: FLAG.config,
    ticks: { ...FLAG.ticks, help: "the tick to stop at (default: the scenario's ticks)" },
    seed: FLAG.seed,
    towns: FLAG.towns,
    plugin: FLAG.plugin,
    json: FLAG.json,
    quiet: { ...FLAG.quiet, help: "no event lines (the summary is still printed)" },
  },
  examples: ["townlet scenario configs/scenarios/shower-queue.yaml", "townlet scenario configs/scenarios/shower-queue.yaml --ticks 40 --json --quiet"],
} as const satisfies CommandSpec;

/**
 * `townlet scenario FILE`: runs a scenario config to its `ticks` (or --ticks), printing each
 * notable event as it happens (one line, or one NDJSON object with --json; none with --quiet),
 * then the run summary with the scenario's description and each agent's final state.
 */
export async function cmdScenario(argv: string[], out: { log(line: string): void; err(line: string): void }): Promise<number> {
  const { values, positionals } = parseCommand(SCENARIO_SPEC, argv);
  const file = configArg("scenario", values.config, positionals);
  if (file === undefined) throw new UsageError("townlet scenario: expected a scenario file (townlet scenario FILE)");
  const plugins = await resolvePlugins(corePlugins, file, values.plugin);
  const { summary } = runScenario(file, {
    plugins,
    ticks: values.ticks,
    seed: values.seed,
    towns: values.towns,
    onEvent: values.quiet ? undefined : (e) => out.log(values.json ? JSON.stringify(e) : formatEvent(e)),
  });
  if (values.json) out.log(JSON.stringify(summary));
  else {
    const { agent_states, scenario, ...rest } = summary;
    out.log(formatSummary(rest, "scenario"));
    out.log(`  scenario     ${scenario}`);
    for (const line of formatAgentStates(agent_states)) out.log(line);
  }
  return 0;
}
