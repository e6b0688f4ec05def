// The scheduler's state as the console and telemetry see it: an event's view and the
// `perturbations` block (active, pending, cooldowns, fairness buckets). Moved out of
// scheduler.ts (issue #19: the file passed 500 lines); same views as before.
import type { PerturbationEventView, PerturbationStateView } from "../../components/perturbations.ts";
import type { PEvent } from "./spec.ts";
import type { PerturbationsState } from "./scheduler.ts";

/** One event as the console shows it (arranged meets name their participants). */
export function eventView(s: PerturbationsState, ev: PEvent): PerturbationEventView {
  const spec = s.table[ev.spec];
  const names: string[] = [];
  if (spec.kind === "arranged_meet") {
    for (const u of ev.agents) {
      const eid = s.meets.eidOfUid(u);
      names.push(eid > 0 ? s.world.agentName(eid) : `agent_${u}`);
    }
  }
  return {
    id: `evt_${ev.n}`,
    spec: spec.name,
    kind: spec.kind,
    town: ev.town,
    starts_at: ev.starts_at,
    ends_at: ev.ends_at,
    duration: ev.duration,
    magnitude: ev.magnitude,
    targets: spec.kind === "arranged_meet" ? names : [...ev.keys],
    location: ev.location,
    manual: ev.manual,
  };
}

/** The `perturbations` block: active and pending events, cooldowns, buckets, last towns. */
export function stateView(s: PerturbationsState): PerturbationStateView {
  const tick = s.world.tick;
  const S = s.table.length;
  const active: PerturbationEventView[] = [];
  for (let t = 0; t < s.towns; t++) for (const ev of s.active[t]) active.push(eventView(s, ev));
  active.sort((a, b) => Number(a.id.slice(4)) - Number(b.id.slice(4)));
  const spec: Record<string, Record<string, number>> = {};
  const buckets: Record<string, Record<string, number>> = {};
  for (let t = 0; t < s.towns; t++) {
    for (let x = 0; x < S; x++) {
      const k = t * S + x;
      if (s.cooldownUntil[k] > tick) (spec[t] ??= {})[s.table[x].name] = s.cooldownUntil[k];
      if (s.table[x].p > 0) (buckets[t] ??= {})[s.table[x].name] = s.credit[k];
    }
  }
  const agents: Record<string, number> = {};
  for (const [u, until] of [...s.agentCooldown].sort((a, b) => a[0] - b[0])) {
    if (until <= tick) continue;
    const eid = s.meets.eidOfUid(u);
    agents[eid > 0 ? s.world.agentName(eid) : `agent_${u}`] = until;
  }
  const last_town: Record<string, number> = {};
  for (let x = 0; x < S; x++) if (s.lastTown[x] >= 0) last_town[s.table[x].name] = s.lastTown[x];
  return {
    tick,
    active,
    pending: s.pending.map((ev) => eventView(s, ev)),
    cooldowns: { spec, agents },
    buckets,
    last_town,
    started_by_town: [...s.startedByTown],
  };
}
