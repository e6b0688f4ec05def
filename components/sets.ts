// Public schedule sets: names that plug-ins order their systems against
// (`after: [NeedsSets.Decay]`), so nobody depends on another plug-in's private system names.
// Within the needs phase the core order is Decay -> Economy -> Employment -> Social -> Exits
// -> Rewards -> Finalize; each core system declares `after` the set before its own.

/** Sets of the `policy` phase. */
export const PolicySets = {
  /** Observations are built into the batch (only when a consumer asked for them), before policies decide. */
  Observe: "policy:observe",
  /** Policies choose options (scripted controller, neural policy) or write intents directly (scenario). */
  Decide: "policy:decide",
  /** The option executor turns each agent's option into this tick's Intent. */
  Execute: "policy:execute",
} as const;

/** Sets of the `affordances` phase, in order. */
export const AffordanceSets = {
  /** Intents carried out: walking, queue requests, releases, chats. */
  Act: "affordances:act",
  /** Queue bookkeeping: grants, reservation timeouts, ghost steps. */
  Queues: "affordances:queues",
  /** Running affordances advance; finished ones apply effects and hooks. */
  Run: "affordances:run",
} as const;

/** Sets of the `needs` phase, in order. */
export const NeedsSets = {
  /** Need decay: every need falls by its rate, clamped to [0,1]. */
  Decay: "needs:decay",
  /** Prices, stock restocking. */
  Economy: "needs:economy",
  /** Shifts, punctuality, wages, the exit queue. */
  Employment: "needs:employment",
  /** Rivalry and relationships from this tick's conflicts and chats. */
  Social: "needs:social",
  /** Exit decisions (needs collapse, eviction, unemployment): marks Lifecycle.exit_reason. */
  Exits: "needs:exits",
  /** Per-agent rewards, including terminal penalties of this tick's exits. */
  Rewards: "needs:rewards",
  /** Removes exited agents, spawns their replacements when due. */
  Finalize: "needs:finalize",
} as const;
