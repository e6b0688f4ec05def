// The console's wire format: a command request (WebSocket frame `{"type":"command", ...}` or the
// body of POST /commands) and its result. JSON Schemas in schemas/ are generated from these.
import { z } from "zod";
import { ROLES, ERROR_CODES } from "../../engine/command.ts";

export { ROLES, ERROR_CODES, type Role, type ErrorCode } from "../../engine/command.ts";

export const CommandRequest = z
  .strictObject({
    type: z.literal("command").optional().describe('"command" on the WebSocket; may be left out over HTTP'),
    name: z.string().min(1).max(64).describe("command name (see the help command)"),
    args: z.record(z.string(), z.unknown()).default({}).describe("named arguments"),
    cmd_id: z
      .string()
      .min(1)
      .max(128)
      .optional()
      .describe("idempotency key: required for destructive commands; repeated with the same command and args it returns the first result, with others it is refused (conflict)"),
    id: z.union([z.string().max(128), z.number()]).optional().describe("request id echoed in the result (WebSocket correlation)"),
  })
  .describe("one console command");
export type CommandRequestT = z.output<typeof CommandRequest>;

export const CommandErrorBody = z.strictObject({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  details: z.unknown().optional(),
});

export const CommandResult = z
  .strictObject({
    type: z.literal("result"),
    id: z.union([z.string(), z.number()]).optional(),
    name: z.string(),
    status: z.enum(["ok", "error"]),
    result: z.unknown().optional(),
    error: CommandErrorBody.optional(),
    cmd_id: z.string().nullable(),
    role: z.enum(ROLES).nullable().describe("role of the issuer, null when unauthenticated"),
    issuer: z.string().nullable().describe("label of the issuer's token"),
    tick: z.int().min(0).describe("tick at which it was applied (or refused)"),
    latency_ms: z.number().min(0),
    replayed: z.boolean().optional().describe("true when this is the stored result of an earlier request with the same cmd_id"),
  })
  .describe("the answer to one command");
export type CommandResultT = z.output<typeof CommandResult>;

/** One line of the audit file (never the token). */
export const AuditRecord = z.strictObject({
  ts: z.string().describe("wall-clock time, ISO 8601"),
  tick: z.int().min(0),
  via: z.enum(["ws", "http", "local"]),
  cmd_id: z.string().nullable(),
  role: z.enum(ROLES).nullable(),
  label: z.string().nullable(),
  command: z.string(),
  args: z.unknown(),
  status: z.enum(["ok", "error"]),
  error: CommandErrorBody.optional(),
  result: z.unknown().optional(),
  replayed: z.boolean().optional(),
});
export type AuditRecordT = z.output<typeof AuditRecord>;

export function consoleJsonSchemas(): Record<string, unknown> {
  const gen = (id: string, s: z.ZodType, io: "input" | "output" = "output") => ({
    $id: `https://townlet.dev/schemas/${id}`,
    ...z.toJSONSchema(s, { target: "draft-2020-12", io, unrepresentable: "any" }),
  });
  return {
    "console-command.schema.json": gen("console-command.schema.json", CommandRequest, "input"),
    "console-result.schema.json": gen("console-result.schema.json", CommandResult),
    "console-audit.schema.json": gen("console-audit.schema.json", AuditRecord),
  };
}
