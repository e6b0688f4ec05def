// Console authentication: bearer tokens mapped to a role and a label, from a tokens file
// (YAML/JSON: a list of {token, role, label}, or {tokens: [...]}, or {console_auth: {tokens}})
// or the config's console_auth section. Tokens are kept only as SHA-256 digests and compared in
// constant time against every entry; they are never logged. Browsers, which cannot set headers
// on a WebSocket, trade a token for a short-lived single-use ticket (POST /auth/ticket).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ROLES, type Role } from "./protocol.ts";
import type { ConsoleAuthConfig } from "./config.ts";

export interface Principal {
  role: Role;
  label: string;
}

/** A tokens file or section that cannot be used: names the file and the entry. */
export class ConsoleAuthError extends Error {
  override name = "ConsoleAuthError";
}

const TokenEntry = z
  .strictObject({
    token: z.string().min(8, "expected a token of at least 8 characters").optional(),
    token_env: z.string().min(1).optional(),
    role: z.enum(ROLES).default("viewer"),
    label: z.string().min(1).max(64).optional(),
  })
  .refine((t) => (t.token === undefined) !== (t.token_env === undefined), {
    message: "expected exactly one of token / token_env",
    path: ["token"],
  });

const TokensFile = z.union([
  z.array(TokenEntry),
  z.strictObject({ require_auth_for_viewer: z.boolean().optional(), tokens: z.array(TokenEntry) }),
  z.looseObject({ console_auth: z.looseObject({ require_auth_for_viewer: z.boolean().optional(), tokens: z.array(TokenEntry) }) }),
]);

interface Entry extends Principal {
  digest: Buffer;
}

const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest();

export class TokenTable {
  private readonly entries: Entry[];

  constructor(
    entries: readonly { token: string; role: Role; label?: string | null }[],
    /** With tokens configured, whether a request without one may still act as a viewer. */
    readonly requireAuthForViewer = true,
  ) {
    const seen = new Set<string>();
    this.entries = entries.map((e, i) => {
      const d = digest(e.token);
      const hex = d.toString("hex");
      if (seen.has(hex)) throw new ConsoleAuthError(`tokens[${i}]: the same token appears twice (labels must map to distinct tokens)`);
      seen.add(hex);
      return { role: e.role, label: e.label ?? `${e.role}-${i + 1}`, digest: d };
    });
  }

  /** True when tokens are configured (otherwise everyone is an anonymous viewer). */
  get enabled(): boolean {
    return this.entries.length > 0;
  }

  get size(): number {
    return this.entries.length;
  }

  /** The principal of a token, or undefined. Compares against every entry in constant time. */
  lookup(token: string): Principal | undefined {
    const d = digest(token);
    let found: Entry | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(d, e.digest) && !found) found = e;
    }
    return found ? { role: found.role, label: found.label } : undefined;
  }

  /** Reads a tokens file (YAML or JSON). `env` resolves token_env entries. */
  static fromFile(path: string, env: NodeJS.ProcessEnv = process.env): TokenTable {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new ConsoleAuthError(`${path}: cannot read the tokens file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let raw: unknown;
    try {
      raw = parseYaml(text);
    } catch (e) {
      throw new ConsoleAuthError(`${path}: not valid YAML/JSON: ${(e as Error).message.split("\n")[0]}`);
    }
    const r = TokensFile.safeParse(raw);
    if (!r.success) {
      // Report against the list shape the file seems to use.
      const list = Array.isArray(raw) ? raw : ((raw as { tokens?: unknown; console_auth?: { tokens?: unknown } } | null)?.tokens ?? (raw as { console_auth?: { tokens?: unknown } } | null)?.console_auth?.tokens);
      const prefix = Array.isArray(raw) ? "" : (raw as { tokens?: unknown } | null)?.tokens !== undefined ? "tokens" : "console_auth.tokens";
      const inner = z.array(TokenEntry).safeParse(list);
      const issues = inner.success ? r.error.issues : inner.error.issues;
      const where = (p: PropertyKey[]) => [prefix, ...p.map((k) => (typeof k === "number" ? `[${k}]` : String(k)))].filter(Boolean).join(".").replace(/\.\[/g, "[");
      throw new ConsoleAuthError(
        `${path}: ${issues.map((i) => `${where(i.path) || "(file)"}: ${i.message}`).join("; ")} ` +
          "(expected a list of {token, role: viewer|admin, label}, or {tokens: [...]}, or {console_auth: {tokens: [...]}})",
      );
    }
    type Entries = z.output<typeof TokenEntry>[];
    const data = r.data as Entries | { tokens: Entries; require_auth_for_viewer?: boolean } | { console_auth: { tokens: Entries; require_auth_for_viewer?: boolean } };
    const block = Array.isArray(data) ? { tokens: data, require_auth_for_viewer: true } : "tokens" in data ? data : data.console_auth;
    return new TokenTable(resolveEnv(block.tokens, env, path), block.require_auth_for_viewer ?? true);
  }

  /** From the config's console_auth section (tokens only when enabled). */
  static fromConfig(cfg: ConsoleAuthConfig | undefined, env: NodeJS.ProcessEnv = process.env): TokenTable {
    if (!cfg || !cfg.enabled) return new TokenTable([]);
    const list = cfg.tokens.map((t) => ({ token: t.token ?? undefined, token_env: t.token_env ?? undefined, role: t.role, label: t.label ?? undefined }));
    return new TokenTable(resolveEnv(list, env, "console_auth"), cfg.require_auth_for_viewer);
  }
}

function resolveEnv(
  list: readonly { token?: string; token_env?: string; role: Role; label?: string }[],
  env: NodeJS.ProcessEnv,
  where: string,
): { token: string; role: Role; label?: string }[] {
  return list.map((t, i) => {
    if (t.token !== undefined) return { token: t.token, role: t.role, label: t.label };
    const v = env[t.token_env!];
    if (!v) throw new ConsoleAuthError(`${where}: tokens[${i}].token_env: environment variable ${t.token_env} is not set`);
    return { token: v, role: t.role, label: t.label };
  });
}

/** "Bearer <token>" from an Authorization header, or undefined. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const h = Array.isArray(header) ? header[0] : header;
  if (!h) return undefined;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

/** The subprotocol prefix that carries a ticket: `townlet.ticket.<ticket>`. */
export const TICKET_PROTOCOL = "townlet.ticket.";

/** Every ticket slot is taken (by other tokens): answered 429. */
export class TicketLimitError extends Error {
  override name = "TicketLimitError";
}

/**
 * Short-lived single-use tickets for browsers: at most `perToken` outstanding per token (a new
 * one replaces that token's oldest, never another token's) and `max` in all (beyond that,
 * issue refuses until some are used or expire).
 */
export class TicketBook {
  private readonly tickets = new Map<string, { principal: Principal; expires: number }>();

  constructor(
    readonly ttlMs = 30_000,
    private readonly max = 1024,
    private readonly now: () => number = Date.now,
    private readonly perToken = Math.min(16, max),
  ) {}

  /** A new ticket for `principal`; throws TicketLimitError when `max` are outstanding. */
  issue(principal: Principal): { ticket: string; expires_in_ms: number } {
    this.purge();
    let mine = 0;
    let oldestMine: string | undefined;
    for (const [k, v] of this.tickets) {
      if (v.principal.label === principal.label && v.principal.role === principal.role) {
        mine++;
        oldestMine ??= k;
      }
    }
    // Map keeps insertion order: the first of this token's tickets is its oldest.
    if (mine >= this.perToken && oldestMine !== undefined) this.tickets.delete(oldestMine);
    else if (this.tickets.size >= this.max) throw new TicketLimitError(`too many tickets outstanding (${this.max}); use or let expire the ones issued, then ask again`);
    const ticket = randomBytes(24).toString("base64url");
    this.tickets.set(ticket, { principal: { ...principal }, expires: this.now() + this.ttlMs });
    return { ticket, expires_in_ms: this.ttlMs };
  }

  /** The ticket's principal if it is known and fresh; it cannot be used again. */
  redeem(ticket: string): Principal | undefined {
    const t = this.tickets.get(ticket);
    if (!t) return undefined;
    this.tickets.delete(ticket);
    return t.expires > this.now() ? t.principal : undefined;
  }

  get outstanding(): number {
    this.purge();
    return this.tickets.size;
  }

  private purge(): void {
    const now = this.now();
    for (const [k, v] of this.tickets) if (v.expires <= now) this.tickets.delete(k);
  }
}
