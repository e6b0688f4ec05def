// `townlet parity FILE`: runs the original Python Townlet (tools/parity/original_driver.py, a
// child process) and ours on the same config, with the same objects, agents and controller, and
// compares what happened per agent and in total, each metric within a stated tolerance.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../engine/config/loader.ts";
import { Employment } from "../components/people.ts";
import { Needs, NEED_NAMES } from "../components/needs.ts";
import { Wallet } from "../components/economy.ts";
import { corePlugins } from "../systems/index.ts";
import { rivalrySnapshot } from "../systems/social/index.ts";
import { FLAG, UsageError, configArg, parseCommand, type CommandSpec } from "./args.ts";
import { runScenario, type ScenarioEvent } from "./scenario.ts";

const DRIVER = fileURLToPath(new URL("./parity/original_driver.py", import.meta.url));
/** The original's source when neither --original nor $TOWNLET_ORIGINAL names it: beside the project. */
const DEFAULT_ORIGINAL = fileURLToPath(new URL("../../shared/townlet-original/src", import.meta.url));

/** What one side reports for one agent (the Python driver prints the same shape). */
export interface AgentOutcome {
  alive: boolean;
  exit: { reason: string; tick: number } | null;
  /** Affordances finished, by affordance id. */
  completed: Record<string, number>;
  /** Affordances failed, by reason. */
  failures: Record<string, number>;
  needs: Record<string, number>;
  wallet: number;
  job: string | null;
  /** Money earned as wages. */
  wages: number;
  /** Late arrivals at work. */
  late: number;
  /** Queue conflicts with this agent as the actor; ghost steps among them. */
  conflicts: number;
  ghost_steps: number;
  rivalry: Record<string, number>;
}

export interface SideOutcome {
  ticks: number;
  wall_s: number;
  agent_steps_per_sec: number;
  agents: Record<string, AgentOutcome>;
  totals: { ghost_steps: number; rotations: number; conflicts: number };
}

/** One compared figure: the scope (an agent id or "total"), both values and the tolerance. */
export interface ParityRow {
  scope: string;
  metric: string;
  original: number | string;
  ours: number | string;
  tolerance: string;
  ok: boolean;
  /** For a figure outside its tolerance: the key of the kept difference that explains it (KEPT). */
  kept?: KeptDifference;
}

export interface ParityReport {
  file: string;
  ticks: number;
  /** How the objects and agents were placed: the scenario's, or the parity layout. */
  placement: string;
  rows: ParityRow[];
  /** Figures outside their tolerance; `unexplained` of them have no kept difference behind them. */
  differences: number;
  unexplained: number;
  original: SideOutcome;
  ours: SideOutcome;
}

/** The original cannot run (no python3, no pydantic, no source): exit 2. */
export class OriginalUnavailable extends Error {
  override name = "OriginalUnavailable";
}

/** The original ran and refused the config (its own error, last line in `message`): exit 1. */
export class OriginalRefused extends Error {
  override name = "OriginalRefused";
}

export interface ParityOptions {
  ticks?: number;
  /** The original's `src` folder (holds the `townlet` package). */
  original?: string;
  /** Agents in the parity layout (a config without a scenario); default 10. */
  agents?: number;
  python?: string;
}

// ---- the layout for a config without a scenario ------------------------------------------------

interface LayoutObject {
  id: string;
  type: string;
  position: [number, number];
}
interface LayoutAgent {
  id: string;
  position: [number, number];
  needs: { hunger: number; hygiene: number; energy: number };
  wallet: number;
  job?: string;
}
export interface Layout {
  description: string;
  ticks: number;
  objects: LayoutObject[];
  agents: LayoutAgent[];
}

/**
 * The same town for both sides when a config has no scenario: one fridge, stove, shower and bed
 * per 4 agents in a row through the grid's centre (2 tiles apart), the agents in a row 2 tiles
 * below, needs spread over 0.55..0.95 by a fixed sequence, wallet 2, jobs round-robin over
 * `jobs` (the original's own assignment rule). No schedules: each side's scripted controller decides.
 */
export function parityLayout(grid: readonly [number, number], jobs: readonly string[], agents: number, ticks: number): Layout {
  const [w, h] = grid;
  const cx = Math.floor(w / 2);
  const cy = Math.floor(h / 2);
  const clampX = (x: number) => Math.max(0, Math.min(w - 1, x));
  const clampY = (y: number) => Math.max(0, Math.min(h - 1, y));
  const sets = Math.ceil(agents / 4);
  const types = ["fridge", "stove", "shower", "bed"];
  const objects: LayoutObject[] = [];
  const row = types.length * sets;
  for (let s = 0; s < sets; s++) {
    types.forEach((type, k) => {
      const i = s * types.length + k;
      objects.push({ id: `${type}_${s + 1}`, type, position: [clampX(cx - row + 1 + 2 * i), cy] });
    });
  }
  const spread = (i: number, salt: number) => Math.round((0.55 + 0.4 * (((i * 7 + salt * 3) % 11) / 10)) * 100) / 100;
  const people: LayoutAgent[] = [];
  for (let i = 0; i < agents; i++) {
    people.push({
      id: `p${i}`, // agent_<n> is reserved for our default agents
      position: [clampX(cx - agents + 1 + 2 * i), clampY(cy + 2)],
      needs: { hunger: spread(i, 0), hygiene: spread(i, 1), energy: spread(i, 2) },
      wallet: 2,
      ...(jobs.length ? { job: jobs[i % jobs.length] } : {}),
    });
  }
  return { description: `parity layout: ${agents} agents, ${sets} of each of ${types.join("/")}`, ticks, objects, agents: people };
}

// ---- our side ---------------------------------------------------------------------------------

function runOurs(file: string, ticks: number, layout: Layout | undefined): SideOutcome {
  const agents = new Map<string, AgentOutcome>();
  const blank = (): AgentOutcome => ({ alive: true, exit: null, completed: {}, failures: {}, needs: {}, wallet: 0, job: null, wages: 0, late: 0, conflicts: 0, ghost_steps: 0, rivalry: {} });
  const of = (id: unknown) => {
    const k = String(id);
    let a = agents.get(k);
    if (!a) agents.set(k, (a = blank()));
    return a;
  };
  const bump = (r: Record<string, number>, k: unknown) => (r[String(k)] = (r[String(k)] ?? 0) + 1);
  const onEvent = (e: ScenarioEvent) => {
    if (e.event === "affordance_finish") bump(of(e.agent).completed, e.affordance);
    // An affordance cut short because its agent left is not a failure the original counts (it drops it).
    else if (e.event === "affordance_fail" && e.reason !== "agent_exit") bump(of(e.agent).failures, e.reason);
    else if (e.event === "queue_conflict") {
      of(e.actor).conflicts++;
      if (e.reason === "ghost_step") of(e.actor).ghost_steps++;
    } else if (e.event === "job_late") of(e.agent).late++;
    else if (e.event === "agent_exit") {
      const a = of(e.agent);
      a.alive = false;
      a.exit ??= { reason: String(e.reason), tick: e.tick };
    }
  };
  // Needs, money, wages and rivalry are read after every tick: an agent that exits keeps its last.
  const wages = new Map<string, number>();
  const last = new Map<string, { needs: Record<string, number>; wallet: number; job: string | null }>();
  let rivalry: Record<string, Record<string, number>> = {};
  const run = runScenario(file, {
    ticks,
    towns: 1,
    overrides: layout ? { scenario: layout } : undefined,
    onEvent,
    onTick: (w) => {
      const N = w.columns(Needs);
      const W = w.components.isRegistered(Wallet) ? w.columns(Wallet) : undefined;
      const E = w.components.isRegistered(Employment) ? w.columns(Employment) : undefined;
      const jobNames = Object.keys(w.settings.jobs);
      for (const eid of w.agents) {
        const job = E && w.has(eid, Employment) && E.job[eid] >= 0 ? (jobNames[E.job[eid]] ?? null) : null;
        last.set(w.agentName(eid), { needs: Object.fromEntries(NEED_NAMES.map((n) => [n, Math.round(N[n][eid] * 1e4) / 1e4])), wallet: W ? Math.round(W.money[eid] * 1e4) / 1e4 : 0, job });
      }
      rivalry = rivalrySnapshot(w);
      if (E) for (const eid of w.agents) if (w.has(eid, Employment)) wages.set(w.agentName(eid), E.wages_earned[eid]);
    },
  });
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  for (const s of run.summary.agent_states) {
    const a = of(s.id);
    a.alive = s.alive;
    a.needs = s.needs ?? last.get(s.id)?.needs ?? {};
    a.wallet = s.wallet ?? last.get(s.id)?.wallet ?? 0;
    a.job = s.job ?? last.get(s.id)?.job ?? null;
    a.wages = round(wages.get(s.id) ?? 0);
    a.rivalry = Object.fromEntries(Object.entries(rivalry[s.id] ?? {}).map(([k, v]) => [k, round(v)]).sort());
  }
  const k = run.summary.kpis as { queue_ghost_steps?: number; queue_rotations?: number; queue_conflicts?: number };
  return {
    ticks: run.summary.ticks,
    wall_s: run.summary.wall_s,
    agent_steps_per_sec: run.summary.agent_steps_per_sec,
    agents: Object.fromEntries(agents),
    totals: { ghost_steps: k.queue_ghost_steps ?? 0, rotations: k.queue_rotations ?? 0, conflicts: k.queue_conflicts ?? 0 },
  };
}

// ---- the original's side ------------------------------------------------------------------------

function runOriginal(file: string, ticks: number, layout: Layout | undefined, src: string, python: string): SideOutcome {
  const probe = spawnSync(python, ["-c", "import pydantic, numpy, yaml; assert pydantic.VERSION[0] == '2', pydantic.VERSION"], { encoding: "utf8" });
  if (probe.error) throw new OriginalUnavailable(`cannot run the original: ${python} not found (${(probe.error as NodeJS.ErrnoException).code ?? probe.error.message})`);
  if (probe.status !== 0) {
    throw new OriginalUnavailable(`cannot run the original: ${python} lacks pydantic 2, numpy or PyYAML (pip install pydantic numpy pyyaml): ${probe.stderr.trim().split("\n").at(-1)}`);
  }
  if (!existsSync(join(src, "townlet", "__init__.py"))) {
    throw new OriginalUnavailable(`the original's source is not at ${src} (expected ${join(src, "townlet")}; give --original SRC or set TOWNLET_ORIGINAL)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "townlet-parity-"));
  try {
    const args = [DRIVER, "--src", src, "--config", resolve(file), "--ticks", String(ticks)];
    if (layout) {
      writeFileSync(join(dir, "layout.json"), JSON.stringify(layout));
      args.push("--layout", join(dir, "layout.json"));
    }
    // Compiled modules go to a cache of our own: the original's folder may be read-only.
    const env = { ...process.env, PYTHONPYCACHEPREFIX: join(tmpdir(), "townlet-parity-pycache"), PYTHONDONTWRITEBYTECODE: "" };
    const r = spawnSync(python, args, { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 });
    if (r.status === 2) throw new OriginalUnavailable(`cannot run the original: ${r.stderr.trim().split("\n").at(-1)}`);
    if (r.status !== 0) throw new OriginalRefused(`the original refuses ${file}: ${r.stderr.trim().split("\n").at(-1)}`);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as SideOutcome;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- comparison ---------------------------------------------------------------------------------

/**
 * The tolerances, one per metric (stated in every row): counts within max(abs, rel × the
 * original's figure); needs, wallet and wages as absolute differences; alive and exit reasons exact.
 */
export const TOLERANCES = {
  completed: { abs: 1, rel: 0.25 },
  failures: { abs: 2, rel: 0.25 },
  late: { abs: 1, rel: 0 },
  conflicts: { abs: 2, rel: 0.25 },
  ghost_steps: { abs: 2, rel: 0.25 },
  rotations: { abs: 2, rel: 0.25 },
  exit_tick: { abs: 20, rel: 0.1 },
  need: { abs: 0.15 },
  wallet: { abs: 0.5 },
  wages: { abs: 0.1 },
  rivalry: { abs: 0.25 },
} as const;

function countRow(scope: string, metric: string, o: number, u: number, t: { abs: number; rel: number }): ParityRow {
  const limit = Math.max(t.abs, t.rel * Math.abs(o));
  return { scope, metric, original: o, ours: u, tolerance: t.rel ? `±max(${t.abs}, ${t.rel * 100}%)` : `±${t.abs}`, ok: Math.abs(o - u) <= limit + 1e-9 };
}
function absRow(scope: string, metric: string, o: number, u: number, abs: number): ParityRow {
  const r = (x: number) => Math.round(x * 1e4) / 1e4;
  return { scope, metric, original: r(o), ours: r(u), tolerance: `±${abs}`, ok: Math.abs(o - u) <= abs + 1e-9 };
}
function exactRow(scope: string, metric: string, o: string, u: string): ParityRow {
  return { scope, metric, original: o, ours: u, tolerance: "exact", ok: o === u };
}
const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const maxOf = (r: Record<string, number>) => Object.values(r).reduce((a, b) => Math.max(a, b), 0);

/**
 * Differences kept on purpose, each listed with its reason in docs/differences.md ("Parity with
 * the original"). A figure outside its tolerance is put down to one of them only by the rule in
 * `explain`; any other is unexplained and fails the run.
 */
export const KEPT = {
  preemption:
    "the original's ghost step pre-empts the holder in the middle of its affordance every ghost_step_after ticks while anyone waits (a livelock: nothing finishes); ours steps only an idle holder",
  preemption_effect:
    "follows from the original's pre-emption (at least one ghost step per agent): fewer of its affordances finished, so its needs, money, failures and exits moved differently",
  revival: "the original revives a fainted agent at once as {id}#n with no cooldown or daily cap; ours spawns a new agent (agent_<n>) after a delay, with a per-town cooldown and cap",
  at_work:
    "ours walks an agent to the object it requests, so a worker at the workplace counter is at work and paid; the original teleports only on `move`, and the scenario's worker never moves onto the job tile",
} as const;
export type KeptDifference = keyof typeof KEPT;

function explain(row: ParityRow, original: SideOutcome, ours: SideOutcome): KeptDifference | undefined {
  const m = row.metric;
  const agentOrig = original.agents[row.scope];
  if (/#\d+$/.test(row.scope) || (m === "present" && !agentOrig) || (row.scope === "total" && m === "alive agents")) return "revival";
  if (/^exits /.test(m) && row.scope === "total") return "revival";
  const preempted = original.totals.ghost_steps > ours.totals.ghost_steps;
  if (preempted && ["ghost steps", "rotations", "queue conflicts", "max rivalry"].includes(m)) return "preemption";
  // Pervasive pre-emption (at least one ghost step per agent) that let the original finish less.
  const finished = (s: SideOutcome) => Object.values(s.agents).reduce((n, a) => n + sum(a.completed), 0);
  const pervasive = original.totals.ghost_steps >= Object.keys(original.agents).length && finished(original) < finished(ours);
  if (preempted && pervasive && (/^(completed|need) /.test(m) || ["wallet", "failures", "exit tick"].includes(m))) return "preemption_effect";
  const agentOurs = ours.agents[row.scope];
  // An agent the pre-emption starved that ours fed: alive here, or fainted later.
  const life = (s: SideOutcome, a: AgentOutcome | undefined) => a?.exit?.tick ?? s.ticks + 1;
  if (preempted && pervasive && ["alive", "exit reason"].includes(m) && life(ours, agentOurs) > life(original, agentOrig)) return "preemption_effect";
  if (agentOrig?.job && agentOrig.wages === 0 && (agentOurs?.wages ?? 0) > 0 && ["wages", "wallet", "late arrivals"].includes(m)) return "at_work";
  return undefined;
}

export function compare(original: SideOutcome, ours: SideOutcome): ParityRow[] {
  const rows = compareRows(original, ours);
  for (const r of rows) if (!r.ok) r.kept = explain(r, original, ours);
  return rows;
}

function compareRows(original: SideOutcome, ours: SideOutcome): ParityRow[] {
  const rows: ParityRow[] = [];
  const T = TOLERANCES;
  const ids = [...new Set([...Object.keys(original.agents), ...Object.keys(ours.agents)])];
  const totals = { o: { completed: {} as Record<string, number>, exits: {} as Record<string, number> }, u: { completed: {} as Record<string, number>, exits: {} as Record<string, number> } };
  const add = (r: Record<string, number>, k: string, n: number) => (r[k] = (r[k] ?? 0) + n);
  for (const id of ids) {
    const o = original.agents[id];
    const u = ours.agents[id];
    if (!o || !u) {
      rows.push(exactRow(id, "present", o ? "yes" : "no", u ? "yes" : "no"));
      continue;
    }
    rows.push(exactRow(id, "alive", String(o.alive), String(u.alive)));
    rows.push(exactRow(id, "exit reason", o.exit?.reason ?? "-", u.exit?.reason ?? "-"));
    rows.push(exactRow(id, "job", o.job ?? "-", u.job ?? "-"));
    if (o.exit && u.exit) rows.push(countRow(id, "exit tick", o.exit.tick, u.exit.tick, T.exit_tick));
    if (o.exit) add(totals.o.exits, o.exit.reason, 1);
    if (u.exit) add(totals.u.exits, u.exit.reason, 1);
    for (const aff of [...new Set([...Object.keys(o.completed), ...Object.keys(u.completed)])].sort()) {
      rows.push(countRow(id, `completed ${aff}`, o.completed[aff] ?? 0, u.completed[aff] ?? 0, T.completed));
      add(totals.o.completed, aff, o.completed[aff] ?? 0);
      add(totals.u.completed, aff, u.completed[aff] ?? 0);
    }
    rows.push(countRow(id, "failures", sum(o.failures), sum(u.failures), T.failures));
    for (const n of Object.keys(o.needs).sort()) if (u.needs[n] !== undefined) rows.push(absRow(id, `need ${n}`, o.needs[n], u.needs[n], T.need.abs));
    rows.push(absRow(id, "wallet", o.wallet, u.wallet, T.wallet.abs));
    rows.push(absRow(id, "wages", o.wages, u.wages, T.wages.abs));
    rows.push(countRow(id, "late arrivals", o.late, u.late, T.late));
    rows.push(countRow(id, "queue conflicts", o.conflicts, u.conflicts, T.conflicts));
    rows.push(countRow(id, "ghost steps", o.ghost_steps, u.ghost_steps, T.ghost_steps));
    rows.push(absRow(id, "max rivalry", maxOf(o.rivalry), maxOf(u.rivalry), T.rivalry.abs));
  }
  const alive = (s: SideOutcome) => Object.values(s.agents).filter((a) => a.alive).length;
  rows.push(countRow("total", "alive agents", alive(original), alive(ours), { abs: 0, rel: 0 }));
  for (const aff of [...new Set([...Object.keys(totals.o.completed), ...Object.keys(totals.u.completed)])].sort()) {
    rows.push(countRow("total", `completed ${aff}`, totals.o.completed[aff] ?? 0, totals.u.completed[aff] ?? 0, T.completed));
  }
  for (const reason of [...new Set([...Object.keys(totals.o.exits), ...Object.keys(totals.u.exits)])].sort()) {
    rows.push(countRow("total", `exits ${reason}`, totals.o.exits[reason] ?? 0, totals.u.exits[reason] ?? 0, { abs: 0, rel: 0 }));
  }
  const failures = (s: SideOutcome) => Object.values(s.agents).reduce((n, a) => n + sum(a.failures), 0);
  rows.push(countRow("total", "failures", failures(original), failures(ours), T.failures));
  rows.push(countRow("total", "ghost steps", original.totals.ghost_steps, ours.totals.ghost_steps, T.ghost_steps));
  rows.push(countRow("total", "rotations", original.totals.rotations, ours.totals.rotations, T.rotations));
  rows.push(countRow("total", "queue conflicts", original.totals.conflicts, ours.totals.conflicts, T.conflicts));
  return rows;
}

/** Runs both sides on `file` and compares them. Throws OriginalUnavailable when the original cannot run. */
export function runParity(file: string, opts: ParityOptions = {}): ParityReport {
  const config = loadConfig(file, corePlugins, { onWarning: () => {} });
  const s = config.settings;
  const ticks = opts.ticks ?? s.scenario?.ticks ?? 200;
  const layout = s.scenario ? undefined : parityLayout(s.world.grid_size, Object.keys(s.jobs), opts.agents ?? 10, ticks);
  const src = resolve(opts.original ?? process.env.TOWNLET_ORIGINAL ?? DEFAULT_ORIGINAL);
  const original = runOriginal(file, ticks, layout, src, opts.python ?? "python3");
  const ours = runOurs(file, ticks, layout);
  const rows = compare(original, ours);
  return {
    file,
    ticks,
    placement: layout ? layout.description : "the scenario's objects and agents (schedules replayed by both)",
    rows,
    differences: rows.filter((r) => !r.ok).length,
    unexplained: rows.filter((r) => !r.ok && !r.kept).length,
    original,
    ours,
  };
}

/**
 * The table: every row, unexplained differences marked `≠`, kept ones `~` with their reason's key
 * (the reasons follow the table); `onlyDifferences` keeps the marked rows.
 */
export function formatParity(r: ParityReport, onlyDifferences = false): string[] {
  const rows = onlyDifferences ? r.rows.filter((x) => !x.ok) : r.rows;
  const head = ["", "scope", "metric", "original", "ours", "tolerance", "kept"];
  const cells = rows.map((x) => [x.ok ? " " : x.kept ? "~" : "≠", x.scope, x.metric, String(x.original), String(x.ours), x.tolerance, x.kept ?? ""]);
  const reasons = [...new Set(rows.map((x) => x.kept).filter((k): k is KeptDifference => k !== undefined))];
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(width[i])).join("  ").trimEnd();
  return [
    `parity ${r.file}: ${r.ticks} ticks; ${r.placement}`,
    `original ${r.original.agent_steps_per_sec} agent-steps/s, ours ${r.ours.agent_steps_per_sec} agent-steps/s`,
    line(head),
    ...cells.map(line),
    ...reasons.map((k) => `~ ${k}: ${KEPT[k]}`),
    r.differences
      ? `${r.differences} of ${r.rows.length} figures differ beyond their tolerance; ${r.unexplained} unexplained, ${r.differences - r.unexplained} by a kept difference (docs/differences.md)`
      : `all ${r.rows.length} figures within tolerance`,
  ];
}

export const PARITY_SPEC = {
  name: "parity",
  summary: "run the original Python Townlet and ours on one config side by side and compare what happened",
  details:
    "The config's scenario places objects and agents in both (its schedules replayed by both); a config without one gets the same layout in both: one fridge, stove, shower and bed per 4 agents in a row through the grid's centre, the agents 2 tiles below, fixed needs, wallet 2, jobs round-robin, and each side's scripted controller. Exit 0: every figure within its tolerance, or outside it only by a difference kept on purpose (docs/differences.md; shown with its reason; --strict counts these too); 1: the table of differences, or the original refuses the config; 2: the original cannot run (python3 with pydantic 2 and numpy, and its source, are needed).",
  positionals: { name: "FILE", min: 0, max: 1, help: "the config or scenario file; same as --config" },
  flags: {
    config: FLAG.config,
    original: { kind: "string", arg: "SRC", help: "the original's src folder, holding its townlet package (default: $TOWNLET_ORIGINAL, else shared/townlet-original/src beside the project)" },
    ticks: { ...FLAG.ticks, help: "ticks to run (default: the scenario's ticks, else 200)" },
    agents: { ...FLAG.agents, help: "agents in the layout for a config without a scenario (default 10)" },
    all: { kind: "boolean", help: "print every compared figure, not only the differences" },
    strict: { kind: "boolean", help: "exit 1 for differences kept on purpose too" },
    json: FLAG.json,
  },
  examples: ["townlet parity my-scenario.yaml --ticks 100", "townlet parity configs/default.yaml --agents 8 --ticks 300 --json"],
} as const satisfies CommandSpec;

interface Out {
  log(line: string): void;
  err(line: string): void;
}

export async function cmdParity(argv: string[], out: Out): Promise<number> {
  const { values, positionals } = parseCommand(PARITY_SPEC, argv);
  const file = configArg("parity", values.config, positionals);
  if (file === undefined) throw new UsageError("townlet parity: expected a config file (townlet parity FILE)");
  let report: ParityReport;
  try {
    report = runParity(file, { ticks: values.ticks, original: values.original, agents: values.agents });
  } catch (e) {
    if (e instanceof OriginalUnavailable) {
      out.err(`townlet parity: ${e.message}`);
      return 2;
    }
    if (e instanceof OriginalRefused) {
      out.err(`townlet parity: ${e.message} (townlet runs it: see docs/differences.md)`);
      return 1;
    }
    throw e;
  }
  if (values.json) out.log(JSON.stringify(report));
  else for (const l of formatParity(report, !values.all)) out.log(l);
  return (values.strict ? report.differences : report.unexplained) ? 1 : 0;
}
