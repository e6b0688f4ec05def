// What an agent is doing: its reservation, queue place, running affordance and the intent its
// policy chose this tick. Intents are written in the policy phase and carried out in the
// affordances phase (movement, queues, start/release).
import { defineComponent } from "../engine/component.ts";

/** Intent kinds: primitive actions an option or a scenario schedule turns into. */
export const IntentKind = {
  /** Nothing chosen this tick (agent keeps doing what it does). */
  None: 0,
  Wait: 1,
  /** Walk one tile toward (x, y). */
  Move: 2,
  /** Walk to the object, then queue for it (or take it when free) with `affordance` pending. */
  Request: 3,
  /** As Request, and start `affordance` as soon as the agent holds the object. */
  Start: 4,
  /** Give up the held object (abandoning a running affordance) or leave its queue. */
  Release: 5,
  /** Talk to `target` (an agent on the same or an adjacent tile). */
  Chat: 6,
  /** Declare being blocked at `object` (counts toward the ghost step of an idle holder). */
  Blocked: 7,
} as const;
export type IntentKindValue = (typeof IntentKind)[keyof typeof IntentKind];
export const INTENT_NAMES = ["none", "wait", "move", "request", "start", "release", "chat", "blocked"] as const;

export const Intent = defineComponent(
  "Intent",
  {
    kind: { type: Uint8Array, doc: "IntentKind chosen by the policy this tick" },
    object: { type: Int32Array, doc: "target object entity (Request/Start/Release/Blocked), 0 = none" },
    affordance: { type: Int16Array, default: -1, doc: "affordance index for Request/Start, -1 = the object's first" },
    x: { type: Int16Array, doc: "Move target column" },
    y: { type: Int16Array, doc: "Move target row" },
    target: { type: Int32Array, doc: "Chat partner entity, 0 = none" },
    quality: { type: Float32Array, default: 0.5, doc: "Chat quality in [0,1]" },
    blocked: { type: Uint8Array, doc: "1 = a refused Request counts as a blocked attempt" },
  },
  "the primitive action an agent's policy chose this tick",
);

export const Activity = defineComponent(
  "Activity",
  {
    holding: { type: Int32Array, doc: "object entity this agent holds the reservation of, 0 = none" },
    queued: { type: Int32Array, doc: "object entity whose queue this agent waits in, 0 = none (never both)" },
    queue_next: { type: Int32Array, doc: "next agent in the same queue, 0 = last" },
    joined_tick: { type: Int32Array, doc: "tick the agent joined its queue" },
    pending: { type: Int16Array, default: -1, doc: "affordance index to start once holding, -1 = none" },
    running: { type: Int16Array, default: -1, doc: "affordance index running, -1 = none" },
    remaining: { type: Int16Array, doc: "ticks left of the running affordance" },
    charged: { type: Uint8Array, doc: "1 = a before hook already charged money for the running affordance" },
    cooldown_obj: { type: Int32Array, doc: "object the agent may not queue for again before cooldown_until" },
    cooldown_until: { type: Int32Array, doc: "tick the cooldown on cooldown_obj ends" },
    last_intent: { type: Uint8Array, doc: "IntentKind carried out last tick" },
    last_ok: { type: Uint8Array, doc: "1 = last intent succeeded" },
    last_fail_tick: { type: Int32Array, default: -1, doc: "tick of the last affordance failure" },
  },
  "an agent's reservation, queue place and running affordance",
);

/**
 * Options: what an agent's policy commits to for several ticks (guide 2.7). A policy chooses an
 * option; the option executor turns it into one Intent per tick (navigation, queueing,
 * starting). `Use` names an affordance; the executor picks the object.
 */
export const OptionKind = {
  /** No option: the agent's Intent is written directly (scenario schedules, external control). */
  None: 0,
  Wait: 1,
  /** Go to the job's location and stay there through the shift. */
  Work: 2,
  /** Use `affordance` at a suitable object of its type. */
  Use: 3,
  /** Talk to a non-rival agent on the same or an adjacent tile. */
  Chat: 4,
  /** Step away from a rival sharing the tile. */
  Avoid: 5,
} as const;
export type OptionKindValue = (typeof OptionKind)[keyof typeof OptionKind];
export const OPTION_NAMES = ["none", "wait", "work", "use", "chat", "avoid"] as const;

export const Option = defineComponent(
  "Option",
  {
    kind: { type: Uint8Array, doc: "OptionKind the agent is committed to" },
    affordance: { type: Int16Array, default: -1, doc: "affordance index for Use, -1 otherwise" },
    object: { type: Int32Array, doc: "object chosen for Use (sticky until the option ends), 0 = not chosen" },
    target: { type: Int32Array, doc: "agent chosen for Chat, 0 = none" },
    since: { type: Int32Array, doc: "tick the option was chosen" },
    done: { type: Uint8Array, doc: "1 when the option finished or became impossible: the policy chooses again" },
    switches: { type: Uint32Array, doc: "times the option kind changed (option-thrash canary)" },
    external: { type: Uint8Array, doc: "1 = intents come from outside (scenario schedule); policies leave the agent alone" },
  },
  "the option an agent's policy committed to",
);
