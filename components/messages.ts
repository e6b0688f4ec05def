// Messages (events) that several systems send or read. Declared once; the plug-in that sends
// a message lists it in its `messages`. Fields in order are the arguments of `send`.
// `str` fields hold interned strings (world.intern / world.text).
import { defineMessage } from "../engine/message.ts";

export const AffordanceStart = defineMessage("affordance_start", { agent: "eid", object: "eid", affordance: "int", duration: "int" });
export const AffordanceFinish = defineMessage("affordance_finish", { agent: "eid", object: "eid", affordance: "int" });
/** reason: precondition_failed, hook_cancelled, insufficient_funds, insufficient_stock, no_ingredients, bed_unavailable, power_off, ghost_step, released, outage, reservation_timeout, agent_exit, ... */
export const AffordanceFail = defineMessage("affordance_fail", { agent: "eid", object: "eid", affordance: "int", reason: "str" });
/** reason: ghost_step | reservation_timeout ...; intensity in [0.1, 5]. */
export const QueueConflict = defineMessage("queue_conflict", {
  object: "eid",
  actor: "eid",
  rival: "eid",
  reason: "str",
  queue_length: "int",
  intensity: "float",
});
/** A polite handover: the releasing agent passed the object to a waiter. */
export const QueueHandover = defineMessage("queue_interaction", { object: "eid", actor: "eid", rival: "eid" });
export const ChatSuccess = defineMessage("chat_success", { speaker: "eid", listener: "eid", quality: "float" });
/** reason: rival | too_far | busy */
export const ChatFailure = defineMessage("chat_failure", { speaker: "eid", listener: "eid", reason: "str" });
/** An agent's policy choice was refused by a guardrail (e.g. a rival in the queue): C2 avoidance reward. */
export const GuardrailBlock = defineMessage("policy_guardrail_block", { agent: "eid", reason: "str" });

export const JobLate = defineMessage("job_late", { agent: "eid", job: "int", ticks_late: "int" });
export const ShiftAbsent = defineMessage("shift_absent", { agent: "eid", job: "int" });
export const ShiftOnTime = defineMessage("shift_on_time", { agent: "eid", job: "int" });
export const EmploymentExitPending = defineMessage("employment_exit_pending", { agent: "eid", job: "int" });
/** reason: manual_approve | auto_review | daily_cap */
export const EmploymentExitProcessed = defineMessage("employment_exit_processed", { agent: "eid", job: "int", reason: "str" });

/** Sent by lifecycle when an agent leaves (before its entity is removed). reason: faint | eviction | unemployment | console. */
export const AgentExit = defineMessage("agent_exit", { agent: "eid", uid: "int", town: "int", reason: "str", reward: "float" });
export const AgentSpawn = defineMessage("agent_spawn", { agent: "eid", uid: "int", town: "int", replaces_uid: "int" });

export const StockReplenish = defineMessage("stock_replenish", { object: "eid", amount: "float" });
/** The affordance manifest was swapped in (ok = 1) or a changed file was refused (ok = 0, message names the problem). */
export const AffordanceReload = defineMessage("affordance_registry_reload", { ok: "int", message: "str" });

// Perturbations (scheduler phase). `event` is the event's number N (its id is "evt_N"); `kind`
// and `spec` are interned strings (kind: price_spike | blackout | outage | arranged_meet).
/** An event became active in a town (after its effect was applied). ends_at: first tick it is no longer active. */
export const PerturbationStarted = defineMessage("perturbation_started", {
  event: "int",
  town: "int",
  kind: "str",
  spec: "str",
  ends_at: "int",
  magnitude: "float",
  manual: "int",
});
/** An event was cancelled (pending = 1: before it started; 0: while active, its effect reverted). */
export const PerturbationCancelled = defineMessage("perturbation_cancelled", { event: "int", town: "int", kind: "str", spec: "str", pending: "int" });
/** An active event reached its end; its effect was reverted. */
export const PerturbationEnded = defineMessage("perturbation_ended", { event: "int", town: "int", kind: "str", spec: "str" });
/** A price spike started: the town's price multiplier is now `multiplier` (product of its active spikes). */
export const PerturbationPriceSpike = defineMessage("perturbation_price_spike", { event: "int", town: "int", magnitude: "float", multiplier: "float" });
/** A blackout started: the town has no power until it ends. */
export const PerturbationBlackout = defineMessage("perturbation_blackout", { event: "int", town: "int" });
/** An outage started: the town has no water until it ends. */
export const PerturbationOutage = defineMessage("perturbation_outage", { event: "int", town: "int" });
/** An arranged meet started at `object` (0 = no object matched its location) with `participants` agents. */
export const PerturbationArrangedMeet = defineMessage("perturbation_arranged_meet", { event: "int", town: "int", object: "eid", participants: "int" });
/** One participant of an arranged meet was moved to (x, y), beside the meeting object. */
export const ArrangedMeetRelocated = defineMessage("arranged_meet_relocated", { event: "int", agent: "eid", x: "int", y: "int" });
