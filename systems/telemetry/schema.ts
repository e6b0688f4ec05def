// The telemetry stream's payloads as zod schemas: one snapshot, then one diff per tick, both
// stamped with schema_version, tick and seq. JSON Schemas in schemas/ are generated from these
// (`jsonSchemas()`; test/unit/telemetry-schema.test.ts keeps them current). Shapes follow the
// original's samples where the guide names the same fields (jobs, employment, queue_metrics).
import { z } from "zod";

/** Bumped whenever a payload's shape changes. */
export const SCHEMA_VERSION = "0.3.0";

const count = z.int().min(0);

/** One agent, keyed by its stable id (hashed in privacy mode). */
export const AgentRecord = z
  .looseObject({
    town: count.describe("town index"),
    x: z.int().describe("tile column"),
    y: z.int().describe("tile row"),
    hunger: z.number().optional().describe("satiety, 1 = sated, 0 = starving (4 decimals); each need of layout.needs has a field like it"),
    hygiene: z.number().optional().describe("cleanliness in [0,1] (a default need)"),
    energy: z.number().optional().describe("rest in [0,1] (a default need)"),
    wallet: z.number().describe("money held"),
    option: z.string().describe("option the agent's policy committed to (wait, work, use, chat, avoid, none)"),
    activity: z.string().nullable().describe("affordance running, null = none"),
    holding: z.string().nullable().describe("object id whose reservation the agent holds"),
    queued: z.string().nullable().describe("object id whose queue the agent waits in"),
    reward: z.number().describe("last tick's reward"),
  })
  .describe("an agent's live state");

/** One agent's job (architecture guide 2.9; the sample's `jobs` entries). */
export const JobRecord = z
  .looseObject({
    job_id: z.string().nullable(),
    on_shift: z.boolean(),
    wallet: z.number(),
    lateness_counter: count,
    wages_earned: z.number(),
    meals_cooked: count,
    meals_consumed: count,
    basket_cost: z.number(),
    shift_state: z.string(),
    attendance_ratio: z.number(),
    late_ticks_today: count,
    absent_shifts_7d: count,
    wages_withheld: z.number(),
    exit_pending: z.boolean(),
  })
  .describe("an agent's job snapshot");

/** One interactive object, keyed by its id (`<id>@<town>` when there are several towns). */
export const ObjectRecord = z
  .looseObject({
    id: z.string(),
    town: count,
    type: z.string(),
    x: z.int(),
    y: z.int(),
    holder: z.string().nullable().describe("agent holding the reservation"),
    queue: z.array(z.string()).describe("waiting agents, head first"),
    running: z.string().nullable().describe("affordance running on it"),
    meals: z.number(),
    raw_ingredients: z.number(),
    sleep_slots: z.number(),
    power_on: z.boolean(),
    water_on: z.boolean(),
  })
  .describe("an object's state and stock");

export const QueueMetrics = z
  .strictObject({ cooldown_events: count, ghost_step_events: count, rotation_events: count })
  .describe("queue manager counters since the run began");

export const EmploymentMetrics = z
  .looseObject({
    pending: z.array(z.string()).describe("agents queued to leave, in request order (several blocks: each block's queue, joined in block order)"),
    pending_count: count,
    exits_today: count.nullable().describe("null when the employment plug-in does not report it"),
    daily_exit_cap: count.describe("the config's cap; a world of several blocks enforces it per block (each has its own exit queue)"),
    queue_limit: count,
    review_window: count,
  })
  .describe("the employment exit queue");

export const TownEconomyRecord = z.strictObject({
  town: count,
  price_multiplier: z.number(),
  power: z.boolean(),
  water: z.boolean(),
  wages_paid: z.number(),
  basket_cost: z.number(),
});

export const Economy = z
  .looseObject({
    towns: z.array(TownEconomyRecord).describe("every town, or (beyond stream.max_towns_listed) the towns off baseline; over the whole world in a world of several blocks"),
    towns_listed: z.enum(["all", "off_baseline"]),
    summary: z.strictObject({
      towns: count,
      price_multiplier_mean: z.number(),
      price_multiplier_max: z.number(),
      towns_without_power: count,
      towns_without_water: count,
      wages_paid: z.number(),
    }),
  })
  .describe("per-town prices and utilities");

export const Aggregates = z
  .looseObject({
    agents: count,
    by_town: z.array(count).optional().describe("live agents per town (left out beyond stream.max_towns_listed towns)"),
    mean_needs: z.record(z.string(), z.number()),
    min_needs: z.record(z.string(), z.number()),
    wallet_mean: z.number(),
    wallet_total: z.number(),
    on_shift: count,
    exit_pending: count,
    holding: count,
    queued: count,
    running: count,
    shift_states: z.record(z.string(), count),
  })
  .describe("figures over every live agent (always present; the only agent data in aggregate mode)");

export const TelemetryEvent = z
  .looseObject({ event: z.string(), tick: count })
  .describe("one world event; agent fields hold agent ids, object fields object ids");

export const Narration = z.strictObject({
  tick: count,
  category: z.string(),
  message: z.string(),
  priority: z.boolean(),
  data: z.record(z.string(), z.unknown()),
});

export const Stability = z
  .looseObject({ metrics: z.record(z.string(), z.unknown()).optional(), alerts: z.array(z.string()).optional(), inputs: z.record(z.string(), z.unknown()).optional() })
  .describe("stability monitor output (when the stability plug-in reports it; several blocks: figures pooled, alerts raised by each block's monitor on its own figures)");

export const Dropped = z
  .strictObject({
    events: count.describe("events left out of this payload (max_events_per_tick, exclude_events not counted)"),
    payloads: count.describe("diffs this client did not get (slow consumer), since it connected"),
  })
  .describe("what was left out");

export const Layout = z
  .looseObject({
    grid: z.strictObject({ width: count, height: count }).describe("tiles per town"),
    ticks_per_day: count.nullable(),
    jobs: z.array(z.strictObject({ job: z.string(), x: z.int().describe("-1 = anywhere"), y: z.int(), start_tick: z.int(), end_tick: z.int() })).describe("workplaces and shifts"),
    perturbation_specs: z.array(z.string()).describe("spec names perturbation_trigger accepts"),
    needs: z
      .array(z.strictObject({ name: z.string(), label: z.string(), colour: z.string().describe("#rrggbb") }))
      .optional()
      .describe("the world's needs in order (config needs:); each agent record and towns_overview carry one field per need"),
  })
  .describe("what does not change during a run (sent in snapshots only)");

export const TownsOverview = z
  .strictObject({
    agents: z.array(count),
    hunger: z.array(z.number()).optional().describe("mean, 3 decimals (each need of layout.needs has an array like it)"),
    hygiene: z.array(z.number()).optional(),
    energy: z.array(z.number()).optional(),
    wallet: z.array(z.number()).describe("mean, 2 decimals"),
    late: z.array(count).describe("agents whose shift state is late"),
    queued: z.array(count).describe("agents waiting in a queue"),
  })
  .catchall(z.array(z.number()).describe("mean of a further need of layout.needs, 3 decimals"))
  .describe("figures per town, index = town (townlet serve publishes it for the observer's overview)");

export const LoopStatus = z
  .looseObject({
    state: z.enum(["running", "paused", "finished", "stopped"]),
    until: count.nullable().describe("tick the loop stops at"),
    ticks_per_second: z.number().nullable().describe("null = as fast as possible"),
    speed: z.number().nullable().describe("multiple of real time"),
  })
  .describe("townlet serve's loop (published by serve)");

/** Top-level state sections: a diff's `changes` replaces them whole. Plug-ins may add more. */
export const StateSections = {
  mode: z.enum(["full", "aggregate"]).describe("full: every agent; aggregate: aggregates plus subscribed agents"),
  towns: count,
  kpis: z.record(z.string(), z.unknown()).describe("world.kpis()"),
  queue_metrics: QueueMetrics,
  embedding_metrics: z.record(z.string(), z.number()),
  employment: EmploymentMetrics,
  economy: Economy,
  aggregates: Aggregates,
  conflict: z.looseObject({ rivalry: z.record(z.string(), z.record(z.string(), z.number())).optional() }).optional(),
  perturbations: z.record(z.string(), z.unknown()).optional(),
  stability: Stability.optional(),
  layout: Layout.optional(),
  towns_overview: TownsOverview.optional(),
  reward_breakdown: z
    .record(z.string(), z.record(z.string(), z.number()))
    .optional()
    .describe("last tick's reward by component (total, survival, needs_penalty, wage, ...), for the agents clients subscribed to"),
  loop: LoopStatus.optional(),
};

const header = {
  schema_version: z.literal(SCHEMA_VERSION),
  tick: count.describe("ticks completed when the payload was built"),
  seq: z.int().min(1).describe("state version: +1 per published tick; a diff applies to the state of seq - 1"),
  config_id: z.string(),
};

export const SnapshotPayload = z
  .looseObject({
    ...header,
    payload_type: z.literal("snapshot"),
    reason: z.enum(["initial", "resync", "stale", "subscribe", "mode", "rotate", "request"]).describe("why this snapshot was sent"),
    ...StateSections,
    agents: z.record(z.string(), AgentRecord),
    jobs: z.record(z.string(), JobRecord),
    objects: z.record(z.string(), ObjectRecord),
    subscribed: z.array(z.string()).optional().describe("agents this client subscribed to (aggregate mode)"),
    subscribed_towns: z.array(count).optional().describe("towns this client subscribed to (aggregate mode)"),
    events: z.array(TelemetryEvent),
    narrations: z.array(Narration).describe("lines narrated from the events under telemetry.narration (several blocks: once over the merged events)"),
    dropped: Dropped.optional(),
  })
  .describe("the whole state: a client starts from it");

const collectionDiff = <T extends z.ZodObject>(record: T) =>
  z.strictObject({
    spawned: z.record(z.string(), record).optional().describe("entries that entered the view, whole"),
    changed: z.record(z.string(), record.partial()).optional().describe("changed fields only"),
    removed: z.array(z.string()).optional().describe("entries that left the view"),
  });

export const AgentsDiff = collectionDiff(AgentRecord);
export const JobsDiff = collectionDiff(JobRecord);
export const ObjectsDiff = collectionDiff(ObjectRecord);

const partialSections = Object.fromEntries(Object.entries(StateSections).map(([k, v]) => [k, (v as z.ZodType).optional()])) as {
  [K in keyof typeof StateSections]: z.ZodOptional<(typeof StateSections)[K]>;
};

export const DiffPayload = z
  .looseObject({
    ...header,
    payload_type: z.literal("diff"),
    changes: z.looseObject(partialSections).describe("top-level sections whose value changed, whole"),
    removed: z.array(z.string()).describe("top-level sections that disappeared"),
    agents: AgentsDiff.optional(),
    jobs: JobsDiff.optional(),
    objects: ObjectsDiff.optional(),
    events: z.array(TelemetryEvent),
    narrations: z.array(Narration).describe("lines narrated from the events under telemetry.narration (several blocks: once over the merged events)"),
    dropped: Dropped.optional(),
  })
  .describe("what changed since the payload of seq - 1");

export const TelemetryPayload = z.discriminatedUnion("payload_type", [SnapshotPayload, DiffPayload]);

export type AgentRecordT = z.infer<typeof AgentRecord>;
export type JobRecordT = z.infer<typeof JobRecord>;
export type ObjectRecordT = z.infer<typeof ObjectRecord>;
export type SnapshotPayloadT = z.infer<typeof SnapshotPayload>;
export type DiffPayloadT = z.infer<typeof DiffPayload>;
export type TelemetryPayloadT = SnapshotPayloadT | DiffPayloadT;
export type TelemetryEventT = z.infer<typeof TelemetryEvent>;
export type NarrationT = z.infer<typeof Narration>;
export type SnapshotReason = SnapshotPayloadT["reason"];

// ---- the WebSocket protocol (telemetry side) ------------------------------------------------------

/** Frames a client sends that the telemetry server handles; other `type`s go to the console. */
export const ResyncRequest = z.strictObject({ type: z.literal("resync") }).describe("send me a fresh snapshot (after a seq gap)");
export const SubscribeRequest = z
  .strictObject({
    type: z.enum(["subscribe", "unsubscribe"]),
    agents: z.array(z.string().min(1)).max(100_000).optional().describe("agent ids"),
    towns: z.array(count).max(1_000).optional().describe("towns: every agent and object of each (a town may bring at most max(stream.max_subscriptions, stream.aggregate_above_agents) agents)"),
  })
  .describe("add or remove agents or towns from the per-agent part of aggregate-mode diffs (the reward_breakdown section follows agent subscriptions in either mode)");
export const PingRequest = z.strictObject({ type: z.literal("ping") });

/** Frames the server sends besides telemetry payloads. */
export const HelloMessage = z.strictObject({
  type: z.literal("hello"),
  schema_version: z.literal(SCHEMA_VERSION),
  protocol: z.literal("townlet.v1"),
  role: z.enum(["viewer", "admin"]),
  label: z.string(),
  tick: count,
  high_water_bytes: count,
  hard_limit_bytes: count,
});
export const SubscribedMessage = z.strictObject({
  type: z.literal("subscribed"),
  agents: z.array(z.string()),
  unknown: z.array(z.string()),
  towns: z.array(count).optional().describe("towns this client subscribed to"),
});
export const ErrorMessage = z.strictObject({
  type: z.literal("error"),
  code: z.string(),
  message: z.string(),
  id: z.union([z.string(), z.number()]).optional(),
});
export const PongMessage = z.strictObject({ type: z.literal("pong"), tick: count });

/** Close codes of the WebSocket server (1009 = frame larger than maxPayload, from `ws`). */
export const CLOSE_CODES = {
  /** The server is shutting down. */
  going_away: 1001,
  /** A frame exceeded maxPayload. */
  too_big: 1009,
  /** Too many bad frames in a row. */
  protocol_error: 4000,
  /** Unacknowledged bytes passed the hard limit (a client that stopped reading). */
  slow_consumer: 4008,
  /** Pending commands or requests beyond the per-client limit, repeatedly. */
  flood: 4029,
} as const;

/** The schemas written to schemas/, by file name. */
export function telemetryJsonSchemas(): Record<string, unknown> {
  const gen = (id: string, s: z.ZodType) => ({
    $id: `https://townlet.dev/schemas/${id}`,
    ...z.toJSONSchema(s, { target: "draft-2020-12", io: "output", unrepresentable: "any" }),
  });
  return {
    "telemetry-snapshot.schema.json": gen("telemetry-snapshot.schema.json", SnapshotPayload),
    "telemetry-diff.schema.json": gen("telemetry-diff.schema.json", DiffPayload),
    "ws-telemetry-client.schema.json": gen("ws-telemetry-client.schema.json", z.union([ResyncRequest, SubscribeRequest, PingRequest])),
    "ws-telemetry-server.schema.json": gen(
      "ws-telemetry-server.schema.json",
      z.union([HelloMessage, SubscribedMessage, ErrorMessage, PongMessage]),
    ),
  };
}
