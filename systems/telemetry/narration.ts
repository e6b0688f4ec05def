// Narrations: one short line for a notable event (a queue conflict, an exit, a lost job, a
// perturbation), rate-limited by telemetry.narration: a global cooldown, per-category cooldowns,
// a dedupe window for identical lines and a limit per window. Priority categories bypass them.
// Deterministic: everything is counted in ticks.
import type { TelemetryConfig } from "./config.ts";
import type { NarrationT, TelemetryEventT } from "./schema.ts";

type Throttle = TelemetryConfig["narration"];

export class NarrationLimiter {
  private lastAny = -Infinity;
  private readonly lastByCategory = new Map<string, number>();
  /** Message -> tick last narrated, pruned to the dedupe window. */
  private readonly recent = new Map<string, number>();
  /** Ticks of narrations inside the rate-limit window (at most global_window_limit entries). */
  private readonly window: number[] = [];
  /** Lines refused since the start, by cause. */
  readonly suppressed = { cooldown: 0, category: 0, dedupe: 0, window: 0 };

  constructor(private readonly cfg: Throttle) {}

  /** Forgets what fell out of the dedupe and rate-limit windows (once per tick). */
  prune(tick: number): void {
    const cfg = this.cfg;
    for (const [m, t] of this.recent) if (tick - t >= cfg.dedupe_window_ticks) this.recent.delete(m);
    while (this.window.length > 0 && tick - this.window[0] >= cfg.global_window_ticks) this.window.shift();
  }

  /** True when a line may be narrated now; records it if so. */
  allow(tick: number, category: string, message: string, priority: boolean): boolean {
    const cfg = this.cfg;
    const bypass = priority || cfg.priority_categories.includes(category);
    if (!bypass) {
      if (this.recent.has(message)) return this.refuse("dedupe");
      if (tick - this.lastAny < cfg.global_cooldown_ticks) return this.refuse("cooldown");
      const cat = cfg.category_cooldown_ticks[category] ?? cfg.global_cooldown_ticks;
      const last = this.lastByCategory.get(category);
      if (last !== undefined && tick - last < cat) return this.refuse("category");
      if (this.window.length >= cfg.global_window_limit) return this.refuse("window");
    }
    this.lastAny = tick;
    this.lastByCategory.set(category, tick);
    if (cfg.dedupe_window_ticks > 0) this.recent.set(message, tick);
    if (!bypass) this.window.push(tick);
    return true;
  }

  private refuse(why: keyof NarrationLimiter["suppressed"]): false {
    this.suppressed[why]++;
    return false;
  }
}

/** Turns an event into a narration candidate, or undefined when it is not notable. */
export type Narrator = (e: TelemetryEventT) => { category: string; message: string; priority?: boolean; data?: Record<string, unknown> } | undefined;

const str = (v: unknown): string => (v === null || v === undefined ? "someone" : String(v));

/** The built-in narrators, by event name. */
export const DEFAULT_NARRATORS: Record<string, Narrator> = {
  queue_conflict: (e) => ({
    category: "queue_conflict",
    message: `${str(e.actor)} and ${str(e.rival)} are contesting the ${str(e.object)}`,
    priority: typeof e.intensity === "number" && e.intensity >= 2,
    data: { object_id: e.object, intensity: e.intensity, reason: e.reason },
  }),
  agent_exit: (e) => ({
    category: "lifecycle",
    message: `${str(e.agent)} left town (${str(e.reason)})`,
    priority: e.reason === "faint",
    data: { agent_id: e.agent, reason: e.reason },
  }),
  agent_spawn: (e) =>
    typeof e.replaces_uid === "number" && e.replaces_uid >= 0
      ? { category: "lifecycle", message: `${str(e.agent)} moved into town`, data: { agent_id: e.agent } }
      : undefined,
  job_late: (e) => ({ category: "employment", message: `${str(e.agent)} is late for work`, data: { agent_id: e.agent } }),
  shift_absent: (e) => ({ category: "employment", message: `${str(e.agent)} missed a shift`, data: { agent_id: e.agent } }),
  employment_exit_pending: (e) => ({
    category: "employment",
    message: `${str(e.agent)} may lose their job`,
    data: { agent_id: e.agent },
  }),
  employment_exit_processed: (e) => ({
    category: "employment",
    message: `${str(e.agent)} lost their job (${str(e.reason)})`,
    priority: true,
    data: { agent_id: e.agent, reason: e.reason },
  }),
  chat_success: (e) => ({
    category: "social",
    message: `${str(e.speaker)} had a chat with ${str(e.listener)}`,
    data: { speaker: e.speaker, listener: e.listener },
  }),
  affordance_fail: (e) =>
    e.reason === "power_off" || e.reason === "outage"
      ? {
          category: "utilities",
          message: `${str(e.agent)} could not use the ${str(e.object)}: ${e.reason === "power_off" ? "no power" : "outage"}`,
          data: { agent_id: e.agent, object_id: e.object },
        }
      : undefined,
};

/** Narrator for perturbation_* events (any shape): "price spike started in town 0". */
export function perturbationNarrator(e: TelemetryEventT): ReturnType<Narrator> {
  const what = String(e.event).replace(/^perturbation_/, "");
  const spec = e.spec ?? e.kind ?? e.name;
  return {
    category: "perturbation",
    message: `perturbation ${what}${spec !== undefined ? `: ${String(spec)}` : ""}${typeof e.town === "number" ? ` in town ${e.town}` : ""}`,
    priority: true,
    data: { ...e },
  };
}

/** Narrates this tick's events through the limiter. */
export function narrate(
  tick: number,
  events: readonly TelemetryEventT[],
  narrators: Readonly<Record<string, Narrator>>,
  limiter: NarrationLimiter,
): NarrationT[] {
  const out: NarrationT[] = [];
  limiter.prune(tick);
  for (const e of events) {
    const fn = narrators[e.event] ?? (e.event.startsWith("perturbation_") ? perturbationNarrator : undefined);
    const n = fn?.(e);
    if (!n) continue;
    const priority = n.priority ?? false;
    if (!limiter.allow(tick, n.category, n.message, priority)) continue;
    out.push({ tick, category: n.category, message: n.message, priority, data: n.data ?? {} });
  }
  return out;
}
