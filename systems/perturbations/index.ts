// Perturbations (phase: scheduler). Config-driven events per town: price spikes (the town's
// price multiplier), blackouts (power off), outages (water off) and arranged meets (two or more
// agents moved beside a meeting object). Every town is an independent environment: its own
// events, cooldowns, windows, fairness buckets and random stream (`perturbations:town:<t>`).
//
// Each tick, per town: active events that reached `ends_at` end (effect reverted,
// perturbation_ended); pending (manual) events whose start came are activated; then, per spec in
// config order, the scheduler may draw a new event (below). Activation sets the spec's cooldown
// in the town to ends_at + cooldown_ticks + global_cooldown_ticks, each participant's cooldown to
// ends_at + per_agent_cooldown_ticks, records the start in the spec's window, applies the effect
// and sends perturbation_started plus the kind's own message.
//
// Effects are recomputed for the whole town whenever one of its events starts, ends or is
// cancelled: price multiplier = (value before the first spike) x product of the active spikes'
// magnitudes (our economy has one multiplier per town, so a spike's `targets` name the event but
// every price of the town moves); power / water are off while any blackout / outage is active
// and return to their value from before the first one; TownEconomy.suppress_exit is 1 while an
// event with suppress_exits (default: blackout, outage) is active, and lifecycle then defers
// faints in the town.
//
// Drawing an event (random scheduling) for spec S in town t at tick T. S is *eligible* in t when
//   - T > grace_window_ticks (the first ticks of a run are quiet),
//   - t has fewer than max_concurrent_events active events,
//   - S is off cooldown in t, and S started fewer than max_events_per_window times in t within
//     the last window_ticks ticks (window counted per spec and town, as the original),
//   - t's fairness bucket for S holds at least one credit,
//   - (arranged meets) a meeting object matches `location` in t and at least two agents of t are
//     off per-agent cooldown and not running an affordance.
// FAIRNESS BUCKETS (the original only documents them; this is our rule): each (town, spec) bucket
// gains p = prob_per_day / ticks_per_day credit per tick (capped at BUCKET_CAPACITY; it starts
// with a random fraction of a credit, so towns are staggered), and an event fires only from a
// bucket with >= 1 credit, consuming one. So a town can never draw more than prob_per_day x days
// (+1) events of a spec, and since an eligible bucket fires at a per-tick hazard of
// min(1, 2 p credit) it rarely lags far behind: per-town counts stay within a few events of
// prob_per_day x days instead of spreading like independent coin flips. Across towns: the town
// that drew S last (`last_town`) is skipped while any other town is eligible for S this tick, so
// no town is hit twice in a row by S while another town has credit and could take it.
// Manual events (console) bypass every gate and use no credit, but they count as active events
// and set cooldowns and window entries like drawn ones.
//
// Arranged meets: participants are the town's pair with the strongest rivalry edge among agents
// off per-agent cooldown and not running an affordance (target top_rivals; any other target, or
// no rivalry yet: a random set), filled up randomly to max_participants. They are moved to the
// free tiles beside the object whose id (else type) is `location`, their option is marked done
// (the policy chooses again) and a context reset is requested from the observations service.//
// The parts: spec.ts (settings, specs, events), scheduler.ts (the state, the tick and the
// console's service), effects.ts, meets.ts (arranged meets), persist.ts (save, load, hash).
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { EconomyKey, TownEconomy } from "../../components/economy.ts";
import { SpaceKey } from "../../components/grid.ts";
import {
  ArrangedMeetRelocated,
  PerturbationArrangedMeet,
  PerturbationBlackout,
  PerturbationCancelled,
  PerturbationEnded,
  PerturbationOutage,
  PerturbationPriceSpike,
  PerturbationStarted,
} from "../../components/messages.ts";
import type { ManualPerturbation, PerturbationEventView, PerturbationStateView } from "../../components/perturbations.ts";
import { sections, PerturbationFile } from "./config.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { SocialKey } from "../../components/social.ts";
import { ObservationsKey } from "../../components/observations.ts";
import { PerturbationsKey } from "../../components/perturbations.ts";
import { perturbationCommands } from "./commands.ts";

export { PerturbationError } from "../../components/perturbations.ts";
export type { ManualPerturbation, PerturbationEventView, PerturbationService, PerturbationStateView } from "../../components/perturbations.ts";
export { BUCKET_CAPACITY, HAZARD_BOOST, PerturbationsState } from "./scheduler.ts";
export { perturbationSettings } from "./spec.ts";
import { PerturbationsState } from "./scheduler.ts";
import { perturbationsTelemetry } from "./telemetry.ts";

export const perturbationsPlugin = definePlugin({
  name: "perturbations",
  telemetry: perturbationsTelemetry,
  commands: perturbationCommands,
  provides: [PerturbationsKey],
  optional: [AffordancesKey, EconomyKey, SocialKey, SpaceKey, ObservationsKey],
  doc: "perturbation scheduler: price spikes, blackouts, outages, arranged meets per town, with cooldowns, windows and fairness buckets",
  sections,
  files: [
    {
      path: ["perturbations"],
      kind: "perturbation file",
      schema: PerturbationFile,
      mode: "inline",
      detect: (raw) => typeof raw === "object" && raw !== null && !Array.isArray(raw) && "events" in raw,
    },
  ],
  townState: { TownEconomy },
  messages: [
    PerturbationStarted,
    PerturbationCancelled,
    PerturbationEnded,
    PerturbationPriceSpike,
    PerturbationBlackout,
    PerturbationOutage,
    PerturbationArrangedMeet,
    ArrangedMeetRelocated,
  ],
  state: (world: World) => new PerturbationsState(world),
  kpis({ state }) {
    return { perturbations: { ...state.counts, active: state.activeCount(), pending: state.pending.length } };
  },
  systems: [
    {
      name: "perturbations/schedule",
      phase: "scheduler",
      reads: ["perturbations", "Agent", "Town", "Activity.running", "Obj", "Position", "social ledger"],
      writes: ["TownEconomy (price_multiplier, power, water, suppress_exit)", "Position (arranged meets)", "Option.done", "perturbation_* messages"],
      run({ tick, state }) {
        state.step(tick);
      },
    },
  ],
});

/** The scheduler's resource of a world (throws when the plug-in is absent). */
export function perturbationsState(world: World): PerturbationsState {
  return world.state<PerturbationsState>("perturbations");
}

/** Queues an event of `spec` in `town` (console perturbation_trigger); see ManualPerturbation. */
export function schedule(world: World, town: number, spec: string, opts: ManualPerturbation = {}): PerturbationEventView {
  return perturbationsState(world).schedule(town, spec, opts);
}

/** Cancels a pending or active event by id ("evt_N"); false when there is none. */
export function cancel(world: World, eventId: string): boolean {
  return perturbationsState(world).cancel(eventId);
}

/** The `perturbations` block: active, pending, cooldowns (and fairness buckets). */
export function latestState(world: World): PerturbationStateView {
  return perturbationsState(world).latestState();
}
