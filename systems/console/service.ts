// The console service (the console plug-in's resource, `world.resource(ConsoleKey)`):
// the command registry (built-ins, every plug-in's `commands`, and `register`), the queue that
// the console phase drains, idempotency by cmd_id, and the audit trail. Requests are checked
// at once (unknown command, role, arguments, cmd_id) and answered without waiting for a tick;
// accepted ones are applied in the console phase of the next tick (or, for `boundary` commands,
// right after it) and answered then.
import { z } from "zod";
import type { World } from "../../engine/world.ts";
import type { CommandDef, CommandContext as PluginCommandContext } from "../../engine/command.ts";
import { CommandError } from "../../engine/command.ts";
import type { ConsoleBindings } from "../../components/console.ts";
import { didYouMean } from "../../engine/text.ts";
import { canonicalJson } from "../../engine/config/loader.ts";
import { jsonShapeProblem } from "../../engine/json-limits.ts";
import type { AuditSink } from "./audit.ts";
import type { Principal } from "./auth.ts";
import { CommandRequest, type CommandResultT, type ErrorCode, type Role } from "./protocol.ts";

export type Via = "ws" | "http" | "local";

export { CommandError };
export type { ConsoleBindings, PerturbationTriggerArgs, ArrangeMeetArgs } from "../../components/console.ts";

/** What a console command sees: the plug-in command's context, and the console service. */
export interface CommandContext extends PluginCommandContext<ConsoleBindings> {
  readonly service: ConsoleService;
}

/**
 * The core plug-ins' commands and the plug-in that owns each: a command of a plug-in not in this
 * world is answered "unavailable: the X plug-in is not in this world", not "unknown command".
 *
 * Why a hand-kept list, when every other command comes from its plug-in's `commands`: it names
 * the commands of plug-ins that are NOT loaded, which therefore cannot declare anything. Deriving
 * it would mean the console importing every core plug-in's commands.ts (or systems/index.ts,
 * which imports the console: a cycle), the coupling issue #15 removed. Only the names and owners
 * live here, for that one message; the commands themselves stay with their plug-ins, and
 * test/unit/console-core-commands.test.ts fails when this list and the core plug-ins' commands
 * drift apart. A modder's command of an absent plug-in is `unsupported`, as any unknown name.
 */
export const CORE_COMMANDS: Readonly<Record<string, string>> = {
  spawn: "population",
  teleport: "space",
  arrange_meet: "space",
  kill: "lifecycle",
  setneed: "needs",
  force_chat: "social",
  price: "economy",
  debug_queues: "affordances",
  remove_object: "affordances",
  affordance_timings: "affordances",
  employment_status: "employment",
  employment_exit: "employment",
  perturbation_queue: "perturbations",
  perturbation_trigger: "perturbations",
  perturbation_cancel: "perturbations",
  telemetry_snapshot: "telemetry",
  snapshot_save: "persistence",
  snapshot_load: "persistence",
  policy_status: "policy",
  promote_policy: "policy",
  rollback_policy: "policy",
};

/** A console command: a plug-in's `commands` entry (engine/command.ts CommandDef), adapted to run with the console's context. */
export type ConsoleCommand<A = any> = Omit<CommandDef<A>, "run"> & {
  run(ctx: CommandContext, args: A): unknown;
};

interface Queued {
  cmd: ConsoleCommand;
  args: unknown;
  rawArgs: unknown;
  principal: Principal;
  via: Via;
  cmdId: string | null;
  key: string | undefined;
  /** What the cmd_id was used for (name and canonical args): a reuse must match it. */
  fingerprint: string;
  t0: number;
  resolve(r: CommandResultT): void;
}

const CACHE_SIZE = 512;

/** "agent_id: expected string, got number; unknown argument "agnet" (did you mean "agent")". */
export function formatIssues(error: z.ZodError, keys: readonly string[] = []): string {
  return error.issues
    .map((i) => {
      const path = i.path.map(String).join(".");
      if (i.code === "unrecognized_keys") {
        return i.keys.map((k) => `${path ? `${path}.` : ""}${k}: unknown argument${didYouMean(k, keys)}${keys.length ? `; known: ${keys.join(", ")}` : ""}`).join("; ");
      }
      return `${path || "(args)"}: ${i.message}`;
    })
    .join("; ");
}

function argKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape ? Object.keys(shape) : [];
}

const roleRank = (r: Role) => (r === "admin" ? 1 : 0);

export class ConsoleService {
  readonly commands = new Map<string, ConsoleCommand>();
  bindings: ConsoleBindings = {};
  audit: AuditSink | undefined;
  /** Most commands waiting for a tick. */
  maxQueue = 1024;
  private queue: Queued[] = [];
  private readonly cache = new Map<string, { res: CommandResultT; fingerprint: string }>();
  private readonly pending = new Map<string, { p: Promise<CommandResultT>; fingerprint: string }>();
  /** Audit writes that failed (the command still ran or was refused; stderr says why). */
  auditFailures = 0;
  /** Commands applied, refused and replayed since the start. */
  readonly counts = { applied: 0, refused: 0, replayed: 0 };

  constructor(readonly world: World) {}

  /** Adds a command (plug-ins, tools). A name may be registered once. */
  register(cmd: ConsoleCommand): void {
    if (!/^[a-z][a-z0-9_]*$/.test(cmd.name)) throw new Error(`console command name "${cmd.name}" must be snake_case`);
    if (this.commands.has(cmd.name)) throw new Error(`console command "${cmd.name}" is registered twice`);
    this.commands.set(cmd.name, cmd);
  }

  /** Adapts a plug-in's CommandDef. */
  registerPluginCommand(def: CommandDef): void {
    this.register({
      name: def.name,
      role: def.role,
      ...(def.roleFor ? { roleFor: def.roleFor } : {}),
      destructive: def.destructive ?? false,
      args: def.args,
      doc: def.doc,
      ...(def.at ? { at: def.at } : {}),
      run: (ctx, args) => def.run(ctx.world, args, ctx),
    });
  }

  bind(b: ConsoleBindings): this {
    this.bindings = { ...this.bindings, ...b };
    return this;
  }

  /** Commands waiting to be applied. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Checks a request and queues it. Resolves with its result: at once when it is refused or
   * replayed, after it was applied otherwise. `scope` is the cmd_id space (default: the
   * principal's label; the gateway gives each anonymous connection its own).
   */
  submit(raw: unknown, principal: Principal, via: Via, scope: string = principal.label): Promise<CommandResultT> {
    const t0 = performance.now();
    const idOf = (r: unknown) => {
      const id = (r as { id?: unknown } | null)?.id;
      return typeof id === "string" || typeof id === "number" ? id : undefined;
    };
    const nameOf = (r: unknown) => {
      const n = (r as { name?: unknown } | null)?.name;
      return typeof n === "string" ? n.slice(0, 64) : "?";
    };
    const refuse = (name: string, code: ErrorCode, message: string, extra: { cmdId?: string | null; args?: unknown; id?: string | number; details?: unknown } = {}) => {
      const res: CommandResultT = {
        type: "result",
        ...(extra.id !== undefined ? { id: extra.id } : {}),
        name,
        status: "error",
        error: { code, message, ...(extra.details !== undefined ? { details: extra.details } : {}) },
        cmd_id: extra.cmdId ?? null,
        role: principal.role,
        issuer: principal.label,
        tick: this.world.tick,
        latency_ms: round(performance.now() - t0),
      };
      this.counts.refused++;
      this.record(res, via, extra.args);
      return Promise.resolve(res);
    };

    // Before anything walks it recursively (schemas, the audit's JSON, fingerprints).
    const shape = jsonShapeProblem(raw);
    if (shape !== undefined) {
      return refuse(nameOf(raw), "usage", `command refused: the request ${shape}`, { id: idOf(raw), args: { omitted: `the request ${shape}` } });
    }
    const env = CommandRequest.safeParse(raw);
    if (!env.success) {
      return refuse(nameOf(raw), "usage", `bad command envelope: ${formatIssues(env.error, argKeys(CommandRequest))}`, { id: idOf(raw) });
    }
    const req = env.data;
    const base = { cmdId: req.cmd_id ?? null, args: req.args, id: req.id };
    const cmd = this.commands.get(req.name);
    if (!cmd && Object.hasOwn(CORE_COMMANDS, req.name)) {
      return refuse(req.name, "unavailable", `${req.name} is unavailable: the ${CORE_COMMANDS[req.name]} plug-in is not in this world`, base);
    }
    if (!cmd) {
      const hint = didYouMean(req.name, this.commands.keys());
      return refuse(req.name, "unsupported", `unknown command "${req.name}"${hint}; the help command lists them`, base);
    }
    const forbidden = (need: Role) =>
      refuse(req.name, "forbidden", `command "${req.name}"${need !== cmd.role ? " with these arguments" : ""} requires the ${need} role (you are ${principal.role})`, base);
    if (roleRank(principal.role) < roleRank(cmd.role)) return forbidden(cmd.role);
    const parsed = cmd.args.safeParse(req.args);
    if (!parsed.success) {
      return refuse(req.name, "invalid_args", `${req.name}: ${formatIssues(parsed.error, argKeys(cmd.args))}`, {
        ...base,
        details: parsed.error.issues.map((i) => ({ path: i.path.map(String), code: i.code, message: i.message })),
      });
    }
    const args = parsed.data;
    const need = cmd.roleFor?.(args) ?? cmd.role;
    if (roleRank(principal.role) < roleRank(need)) return forbidden(need);
    const destructive = typeof cmd.destructive === "function" ? cmd.destructive(args) : (cmd.destructive ?? false);
    if (destructive && req.cmd_id === undefined) {
      return refuse(req.name, "usage", `command "${req.name}" changes the world: send a cmd_id (any unique string; repeating it returns the first result)`, base);
    }

    const key = req.cmd_id !== undefined ? `${scope}\u0000${req.cmd_id}` : undefined;
    const fingerprint = `${req.name}\u0000${canonicalJson(req.args)}`;
    if (key !== undefined) {
      const seen = this.cache.get(key) ?? this.pending.get(key);
      if (seen && seen.fingerprint !== fingerprint) {
        const was = seen.fingerprint.slice(0, seen.fingerprint.indexOf("\u0000"));
        return refuse(req.name, "conflict", `cmd_id "${req.cmd_id}" was already used for ${was === req.name ? "the same command with other arguments" : `the command "${was}"`}; send a new cmd_id`, base);
      }
      const done = this.cache.get(key);
      if (done) return Promise.resolve(this.replay(done.res, req.id, t0, via, req.args));
      const waiting = this.pending.get(key);
      if (waiting) return waiting.p.then((r) => this.replay(r, req.id, t0, via, req.args));
    }
    if (this.queue.length >= this.maxQueue) {
      return refuse(req.name, "busy", `the console queue is full (${this.maxQueue} commands wait for the next tick); try again`, base);
    }
    const p = new Promise<CommandResultT>((resolve) => {
      this.queue.push({ cmd, args, rawArgs: req.args, principal, via, cmdId: req.cmd_id ?? null, key, fingerprint, t0, resolve });
    }).then((r) => (req.id !== undefined ? { ...r, id: req.id } : r));
    if (key !== undefined) {
      this.pending.set(key, { p, fingerprint });
      void p.then(() => this.pending.delete(key));
    }
    return p;
  }

  private replay(first: CommandResultT, id: string | number | undefined, t0: number, via: Via, args: unknown): CommandResultT {
    const { id: _drop, ...rest } = first;
    void _drop;
    const res: CommandResultT = { ...rest, ...(id !== undefined ? { id } : {}), replayed: true, latency_ms: round(performance.now() - t0) };
    this.counts.replayed++;
    this.record(res, via, args);
    return res;
  }

  /**
   * Applies queued commands in arrival order: those of phase `at` ("all": every one, for a
   * paused loop). `tick` is the tick they are applied in. Returns how many ran.
   */
  drain(at: "tick" | "boundary" | "all", tick: number = this.world.tick): number {
    if (this.queue.length === 0) return 0;
    const run: Queued[] = [];
    const keep: Queued[] = [];
    for (const q of this.queue) (at === "all" || (q.cmd.at ?? "tick") === at ? run : keep).push(q);
    if (run.length === 0) return 0;
    this.queue = keep;
    for (const q of run) this.apply(q, tick);
    return run.length;
  }

  private apply(q: Queued, tick: number): void {
    const ctx: CommandContext = {
      world: this.world,
      service: this,
      principal: q.principal,
      tick,
      via: q.via,
      cmdId: q.cmdId,
      bindings: this.bindings,
    };
    let out: unknown;
    try {
      out = q.cmd.run(ctx, q.args);
    } catch (e) {
      this.settle(q, tick, { error: e });
      return;
    }
    // A command that answers later (townlet serve's sharded world routes it to a worker thread)
    // is answered when its promise settles; the queue moves on meanwhile.
    if (out instanceof Promise) out.then((v: unknown) => this.settle(q, tick, { value: v }), (e: unknown) => this.settle(q, tick, { error: e }));
    else this.settle(q, tick, { value: out });
  }

  private settle(q: Queued, tick: number, outcome: { value: unknown } | { error: unknown }): void {
    let res: CommandResultT;
    const base = {
      type: "result" as const,
      name: q.cmd.name,
      cmd_id: q.cmdId,
      role: q.principal.role,
      issuer: q.principal.label,
      tick,
    };
    try {
      if ("error" in outcome) throw outcome.error;
      const out = outcome.value;
      // A deep copy that is certainly JSON (a command must not hand out live arrays).
      const result = out === undefined ? null : JSON.parse(JSON.stringify(out));
      res = { ...base, status: "ok", result, latency_ms: round(performance.now() - q.t0) };
      this.counts.applied++;
    } catch (e) {
      const err =
        e instanceof CommandError
          ? { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) }
          : e instanceof RangeError
            ? { code: "invalid_args" as const, message: `${q.cmd.name}: ${e.message}` }
            : e instanceof z.ZodError
              ? { code: "invalid_args" as const, message: `${q.cmd.name}: ${formatIssues(e)}` }
              : { code: "internal" as const, message: `${q.cmd.name} failed: ${e instanceof Error ? e.message : String(e)} (please report a bug)` };
      res = { ...base, status: "error", error: err, latency_ms: round(performance.now() - q.t0) };
      this.counts.refused++;
    }
    if (q.key !== undefined) {
      this.cache.set(q.key, { res, fingerprint: q.fingerprint });
      if (this.cache.size > CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    }
    this.record(res, q.via, q.rawArgs);
    q.resolve(res);
  }

  private record(res: CommandResultT, via: Via, args: unknown): void {
    if (!this.audit) return;
    try {
      this.writeAudit(res, via, args);
    } catch (e) {
      // A full disk or an unwritable file must not stop the server; the operator hears of it.
      if (this.auditFailures++ === 0) console.error(`townlet console: audit record not written: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private writeAudit(res: CommandResultT, via: Via, args: unknown): void {
    this.audit!.write({
      ts: new Date().toISOString(),
      tick: res.tick,
      via,
      cmd_id: res.cmd_id,
      role: res.role,
      label: res.issuer,
      command: res.name,
      args: args ?? {},
      status: res.status,
      ...(res.error ? { error: res.error } : {}),
      ...(res.status === "ok" ? { result: res.result } : {}),
      ...(res.replayed ? { replayed: true } : {}),
    });
  }

  /** Refuses every queued command (shutdown); each gets an `unavailable` result. */
  cancelAll(message = "the server is shutting down"): void {
    const q = this.queue;
    this.queue = [];
    for (const item of q) {
      const res: CommandResultT = {
        type: "result",
        name: item.cmd.name,
        status: "error",
        error: { code: "unavailable", message },
        cmd_id: item.cmdId,
        role: item.principal.role,
        issuer: item.principal.label,
        tick: this.world.tick,
        latency_ms: round(performance.now() - item.t0),
      };
      this.record(res, item.via, item.rawArgs);
      item.resolve(res);
    }
  }

  /** Records a refusal that happened before a command reached the service (bad auth, bad JSON). */
  auditRefusal(name: string, code: ErrorCode, message: string, principal: Principal | null, via: Via, args: unknown = {}): CommandResultT {
    const res: CommandResultT = {
      type: "result",
      name,
      status: "error",
      error: { code, message },
      cmd_id: null,
      role: principal?.role ?? null,
      issuer: principal?.label ?? null,
      tick: this.world.tick,
      latency_ms: 0,
    };
    this.counts.refused++;
    this.record(res, via, args);
    return res;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
