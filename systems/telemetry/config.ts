// Config section owned by the telemetry system: `telemetry` (narration throttles, transport,
// diffs, transform pipeline, worker). Read at start by the telemetry phase.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

export const NarrationThrottle = z
  .strictObject({
    global_cooldown_ticks: z.int().min(0).max(10_000).default(30).describe("ticks between any two narrations"),
    category_cooldown_ticks: z
      .record(z.string().min(1), z.int().min(0))
      .default({})
      .describe("category -> ticks between narrations of that category (default: global_cooldown_ticks)"),
    dedupe_window_ticks: z.int().min(0).max(10_000).default(20).describe("ticks within which an identical narration is dropped"),
    global_window_ticks: z.int().min(1).max(10_000).default(600).describe("length of the rate-limit window, ticks"),
    global_window_limit: z.int().min(1).max(1_000).default(10).describe("narrations allowed per window"),
    priority_categories: z.array(z.string().min(1)).default([]).describe("categories that bypass the throttles"),
  })
  .prefault({})
  .describe("narration rate limits");

export const RelationshipNarration = z
  .strictObject({
    friendship_trust_threshold: z.number().min(-1).max(1).default(0.6).describe("trust at which a friendship is narrated"),
    friendship_delta_threshold: z.number().min(0).max(2).default(0.25).describe("trust change in one update that is narrated"),
    friendship_priority_threshold: z
      .number()
      .min(-1)
      .max(1)
      .default(0.85)
      .describe("trust at which a friendship narration is priority (>= friendship_trust_threshold)"),
    rivalry_avoid_threshold: z.number().min(0).max(1).default(0.7).describe("rivalry at which avoidance is narrated"),
    rivalry_escalation_threshold: z
      .number()
      .min(0)
      .max(1)
      .default(0.9)
      .describe("rivalry at which an escalation is narrated (>= rivalry_avoid_threshold)"),
  })
  .superRefine((r, ctx) => {
    if (r.friendship_priority_threshold < r.friendship_trust_threshold) {
      ctx.addIssue({
        code: "custom",
        path: ["friendship_priority_threshold"],
        message: `expected friendship_priority_threshold >= friendship_trust_threshold (${r.friendship_trust_threshold}), got ${r.friendship_priority_threshold}`,
      });
    }
    if (r.rivalry_escalation_threshold < r.rivalry_avoid_threshold) {
      ctx.addIssue({
        code: "custom",
        path: ["rivalry_escalation_threshold"],
        message: `expected rivalry_escalation_threshold >= rivalry_avoid_threshold (${r.rivalry_avoid_threshold}), got ${r.rivalry_escalation_threshold}`,
      });
    }
  })
  .prefault({})
  .describe("relationship narration thresholds");

export const PersonalityNarration = z
  .strictObject({
    enabled: z.boolean().default(true).describe("narrate personality-driven events"),
    chat_extroversion_threshold: z.number().min(-1).max(1).default(0.5).describe("extroversion above which a chat is narrated"),
    chat_priority_threshold: z.number().min(-1).max(1).default(0.75).describe("extroversion above which a chat narration is priority"),
    chat_quality_threshold: z.number().min(0).max(1).default(0.3).describe("chat quality needed for a narration, 0..1"),
    conflict_tolerance_threshold: z.number().min(0).max(5).default(0.95).describe("conflict tolerance bias below which avoidance is narrated"),
  })
  .prefault({})
  .describe("personality narration toggles");

export const TelemetryRetryPolicy = z
  .strictObject({
    max_attempts: z.int().min(0).max(10).default(3).describe("send retries before a batch is dropped"),
    backoff_seconds: z.number().min(0).max(30).default(0.5).describe("wait between retries, seconds"),
  })
  .prefault({})
  .describe("transport retry policy");

export const TelemetryBufferSettings = z
  .strictObject({
    max_batch_size: z.int().min(1).max(500).default(32).describe("payloads per send"),
    max_buffer_bytes: z.int().min(1024).max(16_777_216).default(256_000).describe("bytes buffered before the oldest are aggregated or dropped"),
    flush_interval_ticks: z.int().min(1).max(10_000).default(1).describe("ticks between flushes"),
  })
  .prefault({})
  .describe("transport buffering");

export const TRANSPORT_TYPES = ["stdout", "file", "tcp", "http", "websocket", "prometheus"] as const;
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "::1"]);

/** Host part of "host:port", "[v6]:port", a bare host or a bare IPv6 address. */
function endpointHost(endpoint: string): string {
  if (endpoint.startsWith("[")) {
    const close = endpoint.indexOf("]");
    return close < 0 ? endpoint.slice(1) : endpoint.slice(1, close);
  }
  const colons = endpoint.split(":").length - 1;
  return colons === 1 ? endpoint.slice(0, endpoint.indexOf(":")) : endpoint;
}

const OptionalPath = z.string().nullable().default(null);

export const TelemetryTransportSettings = z
  .strictObject({
    type: z.enum(TRANSPORT_TYPES).default("stdout").describe("where telemetry goes"),
    endpoint: z.string().nullable().default(null).describe('tcp "host:port" or http(s) URL; only for tcp and http'),
    file_path: OptionalPath.describe("output file; required for file and prometheus, refused elsewhere"),
    connect_timeout_seconds: z.number().min(0).max(60).default(5).describe("connect timeout, seconds"),
    send_timeout_seconds: z.number().min(0).max(60).default(1).describe("send timeout, seconds"),
    enable_tls: z
      .boolean()
      .optional()
      .describe("TLS for tcp (default on unless allow_plaintext); only tcp may set it true; resolved to a boolean"),
    verify_hostname: z.boolean().default(true).describe("check the server certificate's host name (tcp + TLS)"),
    ca_file: OptionalPath.describe("CA bundle for tcp + TLS"),
    cert_file: OptionalPath.describe("client certificate for tcp + TLS; needs key_file"),
    key_file: OptionalPath.describe("client key for tcp + TLS; needs cert_file"),
    allow_plaintext: z.boolean().default(false).describe("allow tcp without TLS (also needs dev_allow_plaintext and a localhost endpoint)"),
    dev_allow_plaintext: z.boolean().default(false).describe("second switch for plaintext tcp, development only"),
    websocket_url: z.string().nullable().default(null).describe("ws(s):// URL; required for websocket"),
    retry: TelemetryRetryPolicy,
    buffer: TelemetryBufferSettings,
    worker_poll_seconds: z.number().min(0.01).max(10).default(0.5).describe("worker queue poll interval, seconds"),
  })
  .superRefine((t, ctx) => {
    const refuse = (key: string, expected: string, got: unknown): void => {
      ctx.addIssue({ code: "custom", path: [key], message: `expected ${expected}, got ${JSON.stringify(got)}` });
    };
    const blank = (v: string | null): boolean => v === null || v.trim() === "";
    const refuseCertificates = (why: string): void => {
      for (const key of ["ca_file", "cert_file", "key_file"] as const) {
        if (t[key] !== null) refuse(key, `no ${key} (${why})`, t[key]);
      }
    };
    const refusePlaintextFlags = (why: string): void => {
      if (t.allow_plaintext) refuse("allow_plaintext", `allow_plaintext false (${why})`, true);
      if (t.dev_allow_plaintext) refuse("dev_allow_plaintext", `dev_allow_plaintext false (${why})`, true);
    };
    const refuseTls = (why: string): void => {
      if (t.enable_tls === true) refuse("enable_tls", `enable_tls unset or false (${why})`, true);
    };
    const onlyTcp = "TLS and plaintext switches are for tcp only";
    switch (t.type) {
      case "stdout":
      case "file":
        refuseTls(onlyTcp);
        refuseCertificates(onlyTcp);
        refusePlaintextFlags(onlyTcp);
        if (t.type === "stdout") {
          if (t.endpoint) refuse("endpoint", "no endpoint for stdout transport", t.endpoint);
          if (t.file_path !== null) refuse("file_path", "no file_path for stdout transport", t.file_path);
        } else if (blank(t.file_path)) {
          refuse("file_path", "a non-blank file_path for file transport", t.file_path);
        }
        break;
      case "tcp": {
        const endpoint = (t.endpoint ?? "").trim();
        if (!endpoint) refuse("endpoint", 'a "host:port" endpoint for tcp transport', t.endpoint);
        if (t.file_path !== null) refuse("file_path", "no file_path for tcp transport", t.file_path);
        const tls = t.enable_tls ?? !t.allow_plaintext;
        if (tls) {
          if (t.key_file !== null && t.cert_file === null) refuse("cert_file", "a cert_file alongside key_file", null);
          if (t.cert_file !== null && t.key_file === null) refuse("key_file", "a key_file alongside cert_file", null);
          for (const key of ["ca_file", "cert_file", "key_file"] as const) {
            if (t[key] !== null && t[key].trim() === "") refuse(key, `a non-blank ${key} or null`, t[key]);
          }
        } else {
          if (!t.allow_plaintext) refuse("allow_plaintext", "allow_plaintext true when enable_tls is false", false);
          else if (!t.dev_allow_plaintext) refuse("dev_allow_plaintext", "dev_allow_plaintext true for plaintext tcp", false);
          else if (endpoint && !LOCAL_HOSTS.has(endpointHost(endpoint))) {
            refuse("endpoint", "a localhost, 127.0.0.1 or ::1 endpoint for plaintext tcp", endpoint);
          }
        }
        break;
      }
      case "http": {
        const url = (t.endpoint ?? "").trim();
        if (!/^https?:\/\//.test(url)) refuse("endpoint", "an http:// or https:// URL for http transport", t.endpoint);
        if (t.file_path !== null) refuse("file_path", "no file_path for http transport", t.file_path);
        refuseTls("http takes TLS from the URL");
        refuseCertificates("http takes TLS from the URL");
        refusePlaintextFlags("http takes TLS from the URL");
        break;
      }
      case "websocket":
        if (t.endpoint !== null) refuse("endpoint", "no endpoint for websocket transport (use websocket_url)", t.endpoint);
        if (t.file_path !== null) refuse("file_path", "no file_path for websocket transport", t.file_path);
        if (blank(t.websocket_url)) refuse("websocket_url", "a websocket_url for websocket transport", t.websocket_url);
        refuseTls("websocket takes TLS from the URL");
        refuseCertificates("websocket takes TLS from the URL");
        refusePlaintextFlags("websocket takes TLS from the URL");
        break;
      case "prometheus":
        if (t.endpoint !== null) refuse("endpoint", "no endpoint for prometheus transport", t.endpoint);
        if (blank(t.file_path)) refuse("file_path", "a non-blank file_path for prometheus transport", t.file_path);
        refuseTls(onlyTcp);
        refuseCertificates(onlyTcp);
        break;
    }
  })
  .transform((t) => {
    // As in the original: only tcp keeps TLS/plaintext switches; strings are trimmed.
    const tcp = t.type === "tcp";
    const enable_tls = tcp ? (t.enable_tls ?? !t.allow_plaintext) : false;
    return {
      ...t,
      endpoint: t.endpoint === null ? null : t.endpoint.trim(),
      websocket_url: t.websocket_url === null ? null : t.websocket_url.trim(),
      enable_tls,
      allow_plaintext: tcp && !enable_tls && t.allow_plaintext,
      dev_allow_plaintext: tcp && !enable_tls && t.dev_allow_plaintext,
    };
  })
  .prefault({})
  .describe("telemetry transport");

export const TELEMETRY_TRANSFORMS = ["snapshot_normalizer", "redact_fields", "ensure_fields", "schema_validator"] as const;

const TransformId = z.enum(TELEMETRY_TRANSFORMS).describe("transform to run");

export const TelemetryTransformEntry = z
  .union([
    z.strictObject({
      id: TransformId,
      options: z.record(z.string(), z.unknown()).default({}).describe("options for this transform"),
    }),
    TransformId.transform((id) => ({ id, options: {} as Record<string, unknown> })),
  ])
  .describe("one transform: {id, options} or a bare id");

export const TelemetryWorkerSettings = z
  .strictObject({
    backpressure: z.enum(["drop_oldest", "block", "fan_out"]).default("drop_oldest").describe("what a full buffer does"),
    block_timeout_seconds: z.number().min(0.05).max(5).default(0.5).describe("longest wait under block backpressure, seconds"),
    restart_limit: z.int().min(1).max(10).default(3).describe("worker restarts before telemetry is disabled"),
  })
  .prefault({})
  .describe("telemetry worker");

export const TelemetryPrivacy = z
  .strictObject({
    hash_agent_ids: z.boolean().default(false).describe("replace agent ids in telemetry by salted hashes (stable within a run)"),
    salt: z.string().default("").describe("salt mixed into agent id hashes; change it to unlink runs"),
  })
  .prefault({})
  .describe("privacy mode");

export const TelemetryStream = z
  .strictObject({
    aggregate_above_agents: z
      .int()
      .min(0)
      .default(2000)
      .describe("above this many live agents diffs carry aggregates plus subscribed agents only; 0 = always every agent"),
    max_subscriptions: z.int().min(1).max(100_000).default(256).describe("agents one client may subscribe to in aggregate mode"),
    max_towns_listed: z
      .int()
      .min(1)
      .max(100_000)
      .default(64)
      .describe("towns listed one by one in economy and aggregates; beyond it only towns off baseline (price, utilities) and a summary"),
    max_events_per_tick: z.int().min(0).max(1_000_000).default(2000).describe("events per payload; the rest are counted in dropped.events"),
    hard_limit_bytes: z
      .int()
      .min(4096)
      .max(1_073_741_824)
      .default(4_194_304)
      .describe("unacknowledged bytes at which a WebSocket client is closed (code 4008); transport.buffer.max_buffer_bytes is the high-water mark"),
    ping_interval_ms: z.int().min(100).max(600_000).default(15_000).describe("WebSocket ping period; a peer that missed one pong is dropped"),
    max_clients: z.int().min(1).max(10_000).default(64).describe("concurrent WebSocket clients"),
    file_rotate_bytes: z.int().min(1024).max(1_073_741_824 * 4).default(16_777_216).describe("file transport: rotate the NDJSON file beyond this size"),
    file_keep: z.int().min(1).max(1000).default(5).describe("file transport: rotated files kept (.1 newest)"),
    exclude_events: z.array(z.string().min(1)).default([]).describe("event names left out of payloads"),
  })
  .prefault({})
  .describe("telemetry stream limits (aggregation, backpressure, rotation)");

export const TelemetrySection = z
  .strictObject({
    narration: NarrationThrottle,
    relationship_narration: RelationshipNarration,
    personality_narration: PersonalityNarration,
    transport: TelemetryTransportSettings,
    diff_enabled: z.boolean().default(true).describe("send diffs after the first snapshot instead of full snapshots"),
    transforms: z
      .strictObject({
        pipeline: z.array(TelemetryTransformEntry).default([]).describe("transforms applied to each payload, in order"),
      })
      .prefault({})
      .describe("payload transform pipeline"),
    worker: TelemetryWorkerSettings,
    privacy: TelemetryPrivacy,
    stream: TelemetryStream,
  })
  .prefault({})
  .describe("telemetry output");

export type TelemetryConfig = z.output<typeof TelemetrySection>;
export type TelemetryTransportConfig = z.output<typeof TelemetryTransportSettings>;

export const sections = {
  telemetry: TelemetrySection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    telemetry: TelemetryConfig;
  }
}
