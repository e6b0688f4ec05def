// The console's service of the scheduler (PerturbationService): a manual event queued, an event
// cancelled. Moved out of scheduler.ts (issue #19: the file passed 500 lines); same behaviour.
import { Agent, Town } from "../../engine/core-components.ts";
import { PRICE_MULTIPLIER_MAX } from "../../components/economy.ts";
import { PerturbationCancelled } from "../../components/messages.ts";
import { PerturbationError, type ManualPerturbation, type PerturbationEventView } from "../../components/perturbations.ts";
import type { PerturbationsState } from "./scheduler.ts";

const EVENT_ID = /^evt_(\d+)$/;

/** Queues an event of spec `specName` in `town` (console perturbation_trigger); see ManualPerturbation. */
export function scheduleEvent(s: PerturbationsState, town: number, specName: string, opts: ManualPerturbation = {}): PerturbationEventView {
  const w = s.world;
  if (!Number.isInteger(town) || town < 0 || town >= s.towns) {
    throw new PerturbationError("invalid_args", `town must be an integer in [0, ${s.towns - 1}], got ${town}`);
  }
  const x = s.table.findIndex((x) => x.name === specName);
  if (x < 0) throw new PerturbationError("unknown_spec", `unknown perturbation spec "${specName}" (known: ${s.table.map((x) => x.name).join(", ") || "none"})`);
  const spec = s.table[x];
  const startsIn = opts.startsIn ?? 0;
  if (!Number.isInteger(startsIn) || startsIn < 0) throw new PerturbationError("invalid_args", `starts_in must be an integer >= 0, got ${startsIn}`);
  const rng = s.rngs.at(town);
  const duration = opts.duration ?? Math.max(1, rng.intBetween(spec.duration.min, spec.duration.max));
  if (!Number.isInteger(duration) || duration < 1) throw new PerturbationError("invalid_args", `duration must be an integer >= 1, got ${duration}`);
  let magnitude = 1;
  if (spec.kind === "price_spike") {
    magnitude = opts.magnitude ?? (spec.magnitude.min === spec.magnitude.max ? spec.magnitude.min : rng.uniform(spec.magnitude.min, spec.magnitude.max));
    if (!Number.isFinite(magnitude) || magnitude < 0 || magnitude > PRICE_MULTIPLIER_MAX) {
      throw new PerturbationError("invalid_args", `magnitude must be a number in [0, ${PRICE_MULTIPLIER_MAX}] (the highest price multiplier), got ${magnitude}`);
    }
  }
  // Between ticks world.tick is the last tick completed; inside a tick it is the one before the
  // running tick: either way the next scheduler pass is world.tick + 1.
  const ev = s.newEvent(town, x, true, w.tick + 1 + startsIn, duration, magnitude);
  if (spec.kind === "arranged_meet") {
    if (opts.location !== undefined) {
      if (typeof opts.location !== "string" || opts.location === "") throw new PerturbationError("invalid_args", "location must be a non-empty object id or type");
      ev.location = opts.location;
    }
    if (s.meetingObject(town, ev.location) === 0) {
      throw new PerturbationError("invalid_args", `no object with id or type "${ev.location}" in town ${town}`);
    }
    if (opts.targets !== undefined) {
      const uid = w.columns(Agent).uid;
      const townOf = w.columns(Town).id;
      const seen = new Set<number>();
      for (const name of opts.targets) {
        const eid = w.agentEid(name);
        if (eid < 0) throw new PerturbationError("invalid_args", `unknown agent "${name}"`);
        if (townOf[eid] !== town) throw new PerturbationError("invalid_args", `agent "${name}" lives in town ${townOf[eid]}, not ${town}`);
        seen.add(uid[eid]);
      }
      if (seen.size < 2) throw new PerturbationError("invalid_args", `an arranged meet needs at least 2 distinct agents, got ${seen.size}`);
      ev.agents = [...seen];
    }
  } else if (spec.kind === "price_spike" && opts.targets !== undefined) {
    ev.keys = [...opts.targets];
  }
  s.nextId = Math.max(s.nextId, ev.n + 1);
  s.pending.push(ev);
  return s.view(ev);
}

/** Cancels a pending or active event by id ("evt_N"); false when there is none. */
export function cancelEvent(s: PerturbationsState, eventId: string): boolean {
  const m = EVENT_ID.exec(eventId);
  if (!m) return false;
  const n = Number(m[1]);
  const w = s.world;
  const pi = s.pending.findIndex((e) => e.n === n);
  if (pi >= 0) {
    const ev = s.pending[pi];
    s.pending.splice(pi, 1);
    s.counts.cancelled++;
    const spec = s.table[ev.spec];
    w.send(PerturbationCancelled, ev.n, ev.town, w.intern(spec.kind), w.intern(spec.name), 1);
    return true;
  }
  for (let t = 0; t < s.towns; t++) {
    const ai = s.active[t].findIndex((e) => e.n === n);
    if (ai < 0) continue;
    const ev = s.active[t][ai];
    s.active[t].splice(ai, 1);
    s.activeLen[t]--;
    if (s.activeN > 0) s.activeN--;
    s.openAt.fill(0, t * s.S, (t + 1) * s.S);
    s.openUntil.fill(0, t * s.S, (t + 1) * s.S);
    ev.active = false;
    s.applyTown(t);
    s.counts.cancelled++;
    const spec = s.table[ev.spec];
    w.send(PerturbationCancelled, ev.n, t, w.intern(spec.kind), w.intern(spec.name), 0);
    return true;
  }
  return false;
}

