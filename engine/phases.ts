// The tick's phases, in order. Written once, here; every system names one of them.
//
// 1. console      drain queued operator commands, validate, apply, answer (idempotent by cmd_id).
// 2. scheduler    perturbations: fire, extend, end; fairness buckets and cooldowns.
// 3. policy       observations into one batch for all agents of all towns, one policy call,
//                 action masks, options committed.
// 4. affordances  queues and reservations; start, advance, finish or fail affordances; hooks.
// 5. needs        need decay, economy, jobs and wages, lifecycle (exits, respawns), rewards.
// 6. telemetry    diffs and KPIs to transports; the stability monitor.
// 7. persistence  snapshots when due, stamped with config_id and observation variant.
export const PHASES = ["console", "scheduler", "policy", "affordances", "needs", "telemetry", "persistence"] as const;
export type Phase = (typeof PHASES)[number];

export function phaseIndex(p: string): number {
  return (PHASES as readonly string[]).indexOf(p);
}
