// Config section owned by the console system: `console_auth` (bearer tokens and roles).
// Read at start by the console phase and the WebSocket gateway.
import { z } from "zod";
import type { SectionSchemas } from "../../engine/config/sections.ts";

export const ConsoleAuthToken = z
  .strictObject({
    label: z.string().nullable().default(null).describe("name shown in the audit log for this token"),
    role: z.enum(["viewer", "admin"]).default("viewer").describe("role granted to this token"),
    token: z.string().nullable().default(null).describe("the bearer token itself; exactly one of token / token_env"),
    token_env: z.string().nullable().default(null).describe("environment variable holding the token; exactly one of token / token_env"),
  })
  .superRefine((t, ctx) => {
    const given = (t.token ? 1 : 0) + (t.token_env ? 1 : 0);
    if (given !== 1) {
      ctx.addIssue({
        code: "custom",
        path: given === 0 ? ["token"] : ["token_env"],
        message: `expected exactly one of token / token_env, got ${given === 0 ? "neither" : "both"}`,
      });
    }
    for (const key of ["token", "token_env"] as const) {
      const value = t[key];
      if (value !== null && value.trim() === "") {
        ctx.addIssue({ code: "custom", path: [key], message: `expected a non-blank ${key}, got ${JSON.stringify(value)}` });
      }
    }
  })
  .describe("one console token");

export const ConsoleAuthSection = z
  .strictObject({
    enabled: z.boolean().default(false).describe("require a bearer token on console commands"),
    require_auth_for_viewer: z.boolean().default(true).describe("viewer commands also need a token when auth is enabled"),
    tokens: z.array(ConsoleAuthToken).default([]).describe("accepted tokens; at least one when enabled"),
  })
  .superRefine((a, ctx) => {
    if (a.enabled && a.tokens.length === 0) {
      ctx.addIssue({ code: "custom", path: ["tokens"], message: "expected at least one token when console_auth.enabled is true, got none" });
    }
  })
  .prefault({})
  .describe("console authentication");

export type ConsoleAuthConfig = z.output<typeof ConsoleAuthSection>;

export const sections = {
  console_auth: ConsoleAuthSection,
} satisfies SectionSchemas;

declare module "../../engine/config/sections.ts" {
  interface ConfigSections {
    console_auth: ConsoleAuthConfig;
  }
}
