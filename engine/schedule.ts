// Orders the systems of each phase by their before/after constraints (names of systems or of
// public sets). Ties keep registration order, so the schedule is the same in every process.
// A constraint that names nothing, or that cannot be met, fails with both names.
import { PHASES, phaseIndex, type Phase } from "./phases.ts";
import { didYouMean } from "./text.ts";

export interface SchedulableSystem {
  name: string;
  phase: Phase;
  sets?: string[];
  before?: string[];
  after?: string[];
  /** Plug-in that brought it, for messages. */
  plugin?: string;
}

export class ScheduleError extends Error {
  override name = "ScheduleError";
}

export type Schedule<S extends SchedulableSystem> = Record<Phase, S[]>;

export function resolveSchedule<S extends SchedulableSystem>(systems: readonly S[]): Schedule<S> {
  const byName = new Map<string, S>();
  const setMembers = new Map<string, S[]>();
  for (const s of systems) {
    if (phaseIndex(s.phase) < 0) {
      throw new ScheduleError(`system "${s.name}" names phase "${s.phase}"; phases are ${PHASES.join(", ")}`);
    }
    const prior = byName.get(s.name);
    if (prior) {
      throw new ScheduleError(
        `system "${s.name}" is declared twice (plug-ins "${prior.plugin ?? "?"}" and "${s.plugin ?? "?"}")`,
      );
    }
    byName.set(s.name, s);
    for (const set of s.sets ?? []) {
      const m = setMembers.get(set) ?? [];
      m.push(s);
      setMembers.set(set, m);
    }
  }
  for (const set of setMembers.keys()) {
    if (byName.has(set)) throw new ScheduleError(`"${set}" names both a system and a set`);
  }
  const known = [...byName.keys(), ...setMembers.keys()];

  // Targets of a constraint: the named system, or every member of the named set.
  const targets = (from: S, name: string, rel: "before" | "after"): S[] => {
    const sys = byName.get(name);
    const members = sys ? [sys] : setMembers.get(name);
    if (!members) {
      throw new ScheduleError(
        `system "${from.name}" must run ${rel} "${name}", which names no system or set${didYouMean(name, known)}`,
      );
    }
    const same: S[] = [];
    for (const t of members) {
      if (t === from) continue;
      const dt = phaseIndex(t.phase) - phaseIndex(from.phase);
      if (dt === 0) same.push(t);
      else if ((rel === "after" && dt > 0) || (rel === "before" && dt < 0)) {
        throw new ScheduleError(
          `system "${from.name}" (phase ${from.phase}) must run ${rel} "${t.name}" (phase ${t.phase}), which the phase order forbids`,
        );
      }
    }
    return same;
  };

  const out = {} as Schedule<S>;
  for (const phase of PHASES) {
    const nodes = systems.filter((s) => s.phase === phase);
    const index = new Map(nodes.map((s, i) => [s, i]));
    const succ: number[][] = nodes.map(() => []);
    const indeg = new Int32Array(nodes.length);
    const edge = (a: S, b: S) => {
      const ia = index.get(a)!;
      const ib = index.get(b)!;
      if (!succ[ia].includes(ib)) {
        succ[ia].push(ib);
        indeg[ib]++;
      }
    };
    for (const s of nodes) {
      for (const n of s.after ?? []) for (const t of targets(s, n, "after")) edge(t, s);
      for (const n of s.before ?? []) for (const t of targets(s, n, "before")) edge(s, t);
    }
    // Kahn's algorithm, always taking the earliest-registered ready system.
    const done = new Uint8Array(nodes.length);
    const order: S[] = [];
    for (let k = 0; k < nodes.length; k++) {
      let pick = -1;
      for (let i = 0; i < nodes.length; i++) {
        if (!done[i] && indeg[i] === 0) {
          pick = i;
          break;
        }
      }
      if (pick < 0) throw new ScheduleError(cycleMessage(phase, nodes, succ, done));
      done[pick] = 1;
      order.push(nodes[pick]);
      for (const j of succ[pick]) indeg[j]--;
    }
    out[phase] = order;
  }
  return out;
}

function cycleMessage(phase: Phase, nodes: SchedulableSystem[], succ: number[][], done: Uint8Array): string {
  // Every unscheduled system still waits on an unscheduled predecessor; walking predecessors
  // must therefore revisit a system, and the loop it closes is a real cycle.
  const pred: number[][] = nodes.map(() => []);
  succ.forEach((list, i) => list.forEach((j) => pred[j].push(i)));
  let i = done.indexOf(0);
  const seen = new Map<number, number>();
  const path: number[] = [];
  while (!seen.has(i)) {
    seen.set(i, path.length);
    path.push(i);
    i = pred[i].find((j) => !done[j])!;
  }
  const cycle = path.slice(seen.get(i)).reverse();
  cycle.push(cycle[0]);
  return `ordering cycle in phase "${phase}": ${cycle.map((j) => `"${nodes[j].name}"`).join(" -> ")} (each must run before the next)`;
}

/** The resolved schedule as text, one line per system, for `townlet run --print-schedule`. */
export function formatSchedule(schedule: Schedule<SchedulableSystem>): string {
  const lines: string[] = [];
  PHASES.forEach((phase, p) => {
    lines.push(`${p + 1}. ${phase}`);
    const list = schedule[phase];
    if (list.length === 0) lines.push("   (no systems)");
    for (const s of list) {
      const extra: string[] = [];
      if (s.sets?.length) extra.push(`sets: ${s.sets.join(", ")}`);
      if (s.after?.length) extra.push(`after: ${s.after.join(", ")}`);
      if (s.before?.length) extra.push(`before: ${s.before.join(", ")}`);
      lines.push(`   - ${s.name}${s.plugin ? ` [${s.plugin}]` : ""}${extra.length ? `  (${extra.join("; ")})` : ""}`);
    }
  });
  return lines.join("\n");
}
