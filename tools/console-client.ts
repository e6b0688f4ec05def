// `townlet console --url URL --token TOKEN COMMAND [JSON-ARGS]`: sends one console command to a
// `townlet serve` (POST /commands for http(s) URLs, a WebSocket frame for ws(s) URLs) and prints
// the JSON result. A cmd_id is generated unless --cmd-id is given (repeat it to retry safely).
// The token may come from --token or the environment (--token-env VAR, default TOWNLET_TOKEN),
// which keeps it out of the process list. Exit 0: ok; 1: the command or its input was refused;
// 2: no answer (connection, timeout, server error).
import { randomUUID } from "node:crypto";
import { WebSocket } from "ws";
import { UsageError, parseCommand, type CommandSpec } from "./args.ts";

interface Out {
  log(line: string): void;
  err(line: string): void;
}

export const CONSOLE_SPEC = {
  name: "console",
  summary: "send one console command to a running `townlet serve` and print the JSON answer",
  details: `URL: http://host:port (POST /commands) or ws://host:port/ws (WebSocket). TOKEN: bearer token (default: $TOWNLET_TOKEN);
none = anonymous viewer, where the server allows it. JSON-ARGS: the command's arguments as one JSON object, e.g.
'{"agent_id": "agent_1", "x": 3, "y": 4}'. The command help lists the commands; help '{"command": "spawn"}' shows one
command's arguments. Exit 0: ok; 1: the command or its input was refused; 2: no answer.`,
  positionals: { name: "COMMAND [JSON-ARGS]", min: 1, max: 2, help: "a console command and its arguments as one JSON object" },
  flags: {
    url: { kind: "string", arg: "URL", help: "the address townlet serve printed (required)" },
    token: { kind: "string", arg: "TOKEN", help: "bearer token (default: $TOWNLET_TOKEN)" },
    "token-env": { kind: "string", arg: "VAR", help: "read the token from this environment variable" },
    "cmd-id": { kind: "string", arg: "ID", help: "the command's id (repeat it to retry safely; default: generated)" },
    timeout: { kind: "int", min: 1, arg: "MS", default: 60000, help: "give up after MS milliseconds" },
    pretty: { kind: "boolean", help: "indent the JSON answer" },
  },
  examples: ["townlet console --url http://127.0.0.1:8765 help", `townlet console --url http://127.0.0.1:8765 --token-env TOWNLET_TOKEN pause '{}'`],
} as const satisfies CommandSpec;

export interface ConsoleCall {
  url: string;
  token?: string;
  name: string;
  args?: Record<string, unknown>;
  cmdId?: string;
  timeoutMs?: number;
}

/** The server's JSON answer with its HTTP status (0 over WebSocket). */
export interface ConsoleAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Sends one command; resolves with the server's answer, rejects when no answer came. */
export async function sendCommand(c: ConsoleCall): Promise<ConsoleAnswer> {
  const url = new URL(c.url);
  const req = { name: c.name, args: c.args ?? {}, ...(c.cmdId !== undefined ? { cmd_id: c.cmdId } : {}) };
  const timeoutMs = c.timeoutMs ?? 60_000;
  if (url.protocol === "http:" || url.protocol === "https:") {
    if (url.pathname === "/" || url.pathname === "") url.pathname = "/commands";
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(c.token ? { authorization: `Bearer ${c.token}` } : {}) },
      body: JSON.stringify(req),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { status: "error", error: { code: "internal", message: `the server answered ${res.status} with non-JSON: ${text.slice(0, 200)}` } };
    }
    return { status: res.status, body };
  }
  if (url.protocol === "ws:" || url.protocol === "wss:") {
    if (url.pathname === "/" || url.pathname === "") url.pathname = "/ws";
    url.searchParams.set("stream", "0");
    const id = randomUUID();
    return await new Promise<ConsoleAnswer>((resolve, reject) => {
      const ws = new WebSocket(url, { headers: c.token ? { authorization: `Bearer ${c.token}` } : {}, handshakeTimeout: timeoutMs });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      ws.on("unexpected-response", (_req, res) => {
        let text = "";
        res.on("data", (d: Buffer) => (text += d.toString()));
        res.on("end", () => {
          clearTimeout(timer);
          let body: Record<string, unknown>;
          try {
            const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
            body = { type: "result", name: c.name, status: "error", error: { code: e?.code ?? "unauthorized", message: e?.message ?? text } };
          } catch {
            body = { type: "result", name: c.name, status: "error", error: { code: "internal", message: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` } };
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      ws.on("open", () => ws.send(JSON.stringify({ type: "command", id, ...req })));
      ws.on("message", (data) => {
        let m: Record<string, unknown>;
        try {
          m = JSON.parse(data.toString()) as Record<string, unknown>;
        } catch {
          return;
        }
        if ((m.type === "result" || m.type === "error") && m.id === id) {
          clearTimeout(timer);
          ws.close(1000);
          resolve({ status: 0, body: m });
        }
      });
      ws.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      ws.on("close", (code, reason) => {
        clearTimeout(timer);
        reject(new Error(`connection closed (${code}${reason.length ? `: ${reason.toString()}` : ""}) before an answer`));
      });
    });
  }
  throw new UsageError(`--url: expected an http://, https://, ws:// or wss:// URL, got "${c.url}"`);
}

/** `townlet console ...` */
export async function cmdConsole(argv: string[], out: Out, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals } = parseCommand(CONSOLE_SPEC, argv);
  if (!values.url) throw new UsageError("townlet console: --url: required (the address townlet serve printed)");
  const [name, rawArgs] = positionals;
  let args: Record<string, unknown> = {};
  if (rawArgs !== undefined) {
    let v: unknown;
    try {
      v = JSON.parse(rawArgs);
    } catch (e) {
      throw new UsageError(`JSON-ARGS: invalid JSON (${(e as Error).message}); expected an object like '{"agent_id": "agent_1"}'`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UsageError(`JSON-ARGS: expected a JSON object, got ${Array.isArray(v) ? "an array" : JSON.stringify(v)}`);
    args = v as Record<string, unknown>;
  }
  const timeoutMs = values.timeout ?? 60_000;
  const token = values.token ?? env[values["token-env"] ?? "TOWNLET_TOKEN"];
  if (values["token-env"] && !token) throw new UsageError(`--token-env: environment variable ${values["token-env"]} is not set`);
  const cmdId = values["cmd-id"] ?? `cli-${randomUUID()}`;
  let answer: ConsoleAnswer;
  try {
    answer = await sendCommand({ url: values.url, token, name, args, cmdId, timeoutMs });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    out.err(`townlet console: no answer from ${values.url}: ${(e as Error).message}${cause ? ` (${cause})` : ""}`);
    return 2;
  }
  out.log(values.pretty ? JSON.stringify(answer.body, null, 2) : JSON.stringify(answer.body));
  if (answer.body.status === "ok") return 0;
  const code = (answer.body.error as { code?: string } | undefined)?.code;
  return code === "internal" || code === "timeout" ? 2 : 1;
}
