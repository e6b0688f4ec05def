// Per-agent employment, personality, lifecycle and reward state.
import { defineResource } from "../engine/resource.ts";
import { defineComponent, type ComponentDef, type ComponentSchema } from "../engine/component.ts";
import type { ConfigSections } from "../engine/config/sections.ts";
import { needTable } from "./needs.ts";

/** Shift states (Employment.shift_state). */
export const ShiftState = { Idle: 0, PreShift: 1, AwaitStart: 2, OnTime: 3, Late: 4, Absent: 5, PostShift: 6 } as const;
export const SHIFT_STATE_NAMES = ["idle", "pre_shift", "await_start", "on_time", "late", "absent", "post_shift"] as const;

export const Employment = defineComponent(
  "Employment",
  {
    job: { type: Int16Array, default: -1, doc: "job index in config order of `jobs`, -1 = none" },
    shift_state: { type: Uint8Array, doc: "ShiftState" },
    on_shift: { type: Uint8Array, doc: "1 while working at the job location during the shift" },
    ever_on_time: { type: Uint8Array, doc: "1 once the agent arrived within grace this shift" },
    on_time_ticks: { type: Uint16Array, doc: "ticks worked on time this shift" },
    scheduled_ticks: { type: Uint16Array, doc: "shift ticks elapsed this shift" },
    late_ticks_today: { type: Uint16Array, doc: "late ticks today" },
    lateness_counter: { type: Uint16Array, doc: "late arrivals since spawn" },
    last_present_tick: { type: Int32Array, default: -1, doc: "last tick at the job location during a shift" },
    attendance_ratio: { type: Float32Array, default: 1, doc: "mean of on_time/scheduled over the last attendance_window shifts, [0,1]" },
    wages_withheld: { type: Float32Array, doc: "money withheld for lateness/absence this day" },
    wages_earned: { type: Float32Array, doc: "money earned as wages since spawn" },
    wage_this_tick: { type: Float32Array, doc: "wage paid this tick (for rewards)" },
    absent_shifts_7d: { type: Uint8Array, doc: "absences in the last 7 review windows, at most the absence ring's 32 slots (employment's ABSENCE_SLOTS)" },
    exit_pending: { type: Uint8Array, doc: "1 while in the employment exit queue" },
    flags: { type: Uint8Array, doc: "bit 0 late emitted, bit 1 absent emitted, bit 2 departed emitted (this shift)" },
  },
  "an agent's job and shift bookkeeping",
);

/** Personality profiles (Personality.profile), as the original's agents/models.py. */
export const PROFILE_NAMES = ["balanced", "socialite", "industrious", "stoic"] as const;

const personalityTemplate = defineComponent(
  "Personality",
  {
    profile: { type: Uint8Array, doc: "index into PROFILE_NAMES" },
    extroversion: { type: Float32Array, doc: "[-1,1]" },
    forgiveness: { type: Float32Array, doc: "[-1,1]" },
    ambition: { type: Float32Array, doc: "[-1,1]" },
    hunger_mult: { type: Float32Array, default: 1, doc: "need decay multiplier (profile), 1 = neutral" },
    hygiene_mult: { type: Float32Array, default: 1, doc: "need decay multiplier" },
    energy_mult: { type: Float32Array, default: 1, doc: "need decay multiplier" },
  },
  "an agent's personality profile and traits",
);

const personalityPerWorld = new WeakMap<object, ComponentDef>();

/**
 * An agent's personality. Its need multipliers are per world: a `<need>_mult` column (default 1)
 * for each need of the world's table (components/needs.ts) besides the default three, which the
 * needs plug-in's decay reads. A world with no other need registers this very definition (the
 * state hash and snapshots are the same as before needs were data).
 */
export const Personality: typeof personalityTemplate = {
  ...personalityTemplate,
  perWorld(settings: unknown): ComponentDef {
    const extra = needTable(settings as ConfigSections).names.filter((n) => !(`${n}_mult` in personalityTemplate.schema));
    if (extra.length === 0) return Personality;
    let def = personalityPerWorld.get(settings as object);
    if (!def) {
      const fields: ComponentSchema = { ...personalityTemplate.schema };
      for (const n of extra) fields[`${n}_mult`] = { type: Float32Array, default: 1, doc: `${n} decay multiplier (profile, personalities.need_multipliers), 1 = neutral` };
      def = defineComponent("Personality", fields, personalityTemplate.doc);
      personalityPerWorld.set(settings as object, def);
    }
    return def;
  },
};

/** Exit reasons (Lifecycle.exit_reason). */
export const ExitReason = { None: 0, Faint: 1, Eviction: 2, Unemployment: 3, Console: 4 } as const;
export const EXIT_REASON_NAMES = ["none", "faint", "eviction", "unemployment", "console"] as const;

export const Lifecycle = defineComponent(
  "Lifecycle",
  {
    spawned_tick: { type: Int32Array, doc: "tick the agent appeared" },
    exit_reason: { type: Uint8Array, doc: "ExitReason set this tick by the exit rules; the agent is removed in Finalize" },
    replaces_uid: { type: Int32Array, default: -1, doc: "uid of the agent this one replaced, -1 = original" },
    broke_ticks: { type: Uint16Array, doc: "consecutive ticks with no money and no job income" },
  },
  "an agent's life: when it came, why it leaves",
);

export const Reward = defineComponent(
  "Reward",
  {
    total: { type: Float32Array, doc: "this tick's reward after clips" },
    episode: { type: Float32Array, doc: "running episode sum (clamped to +-clip_per_episode)" },
    potential: { type: Float32Array, doc: "last shaping potential" },
    primed: { type: Uint8Array, doc: "1 after the agent's first rewarded tick (it has a shaping potential)" },
  },
  "per-agent reward of the last tick and what the next one needs; the breakdown by term is recorded on request (systems/rewards/breakdown.ts)",
);

/** What the employment plug-in offers other plug-ins: `ctx.resource(EmploymentKey)`. */
export interface EmploymentService {
  /** Gives an agent a job by name; throws a clear error for an unknown job. */
  assignJob(eid: number, jobName: string): void;
}

/** The employment plug-in's resource. */
export const EmploymentKey = defineResource<EmploymentService>("employment");
