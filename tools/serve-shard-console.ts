// The console of a sharded world served by `townlet serve` (tools/serve-shards.ts). One console
// in the main thread checks every request as a one-block world's would (tokens and roles,
// arguments, cmd_id idempotency, the queue limit, the audit trail), then routes what it applies:
// - to the block that owns the target: an agent (agent_<uid> by its block's uid range, any other
//   published id by the block that publishes it), a town (global id; the block gets its local
//   one), an object (`key@<global town>`), a perturbation event (`evt_<block>_<n>`);
// - to every block when there is no target (employment_status, perturbation_queue, debug_queues
//   without a town, telemetry_snapshot without agents, a mod's command), the answers merged
//   (mergeValues); telemetry_snapshot with agents asks each of their blocks;
// - or runs it here: help, status, pause/resume/speed (the loop), snapshot_save/snapshot_load (a
//   `.shards` file of every block); with a neural policy, policy_status, promote_policy and
//   rollback_policy (tools/shard-release.ts: the main thread's network, the release pointer of
//   --checkpoints, every block's promotion gate). With scripted or random blocks promote_policy
//   and rollback_policy answer `unavailable`, saying why.
// A routed command is applied in its block's console phase of the next tick (or at once while
// paused) and answered then, with the block's result named globally.
import { resolve, dirname } from "node:path";
import { mkdirSync, statSync } from "node:fs";
import { writeFileAtomic, SnapshotError } from "../engine/snapshot.ts";
import { mergeValues, type BlockPlan } from "../engine/shard-blocks.ts";
import { configCap, timingsAnswer } from "./serve-shard-exact.ts";
import { encodeShardSnapshot, newestShardSnapshot, readShardSnapshotFile, shardUpgradeNotes, writeShardSnapshotFile, SHARD_SNAPSHOT_EXTENSION } from "../engine/shard-snapshot.ts";
import type { AnyPlugin } from "../engine/plugin.ts";
import type { CommandDef } from "../engine/command.ts";
import type { World } from "../engine/world.ts";
import { NoArgs } from "../engine/command.ts";
import { builtinCommands, CommandError, ConsoleService, type CommandContext, type ConsoleCommand } from "../systems/console/index.ts";
import type { CommandResultT } from "../systems/console/protocol.ts";
import { eventToLocal, objectToLocal, townToLocal, type BlockFrame } from "./serve-shard-ids.ts";
import { insideRoot, snapshotFailure } from "./serve-bind.ts";
import type { ServeRequest, ServedBlocks } from "./serve-shard-host.ts";
import type { ShardedPolicyView } from "./shard-neural.ts";
import { PolicyReleaseError } from "../components/release.ts";
import type { ShardRelease } from "./shard-release.ts";
import type { ShardStream } from "./serve-shard-stream.ts";

export interface ShardConsoleOptions {
  sim: ServedBlocks;
  /** The neural policy the main thread runs over every block now (tools/shard-neural.ts); absent: each block runs its own scripted or random policy. */
  neural?: () => ShardedPolicyView;
  /** The release of that network (policy_status, promote_policy, rollback_policy); given with `neural`. */
  release?: ShardRelease;
  plugins: readonly AnyPlugin[];
  /** A world with no plug-ins and the served world's towns: the console's own (its tick follows the blocks'). */
  front: World;
  frames: readonly BlockFrame[];
  stream: ShardStream;
  /** Folder snapshot_save/snapshot_load use, and the other folders they may (snapshot.guardrails.allowed_paths). */
  snapshotRoots: readonly string[];
  /** Between ticks: every block applies what it queued and publishes (`force`: even if nothing ran). */
  flush(force: boolean): Promise<void>;
}

/** Commands whose arguments name agents. */
const AGENT_KEYS = ["agent_id", "speaker", "listener", "agents", "targets"] as const;

/** The router: the main thread's console and what it still waits for. */
export class ShardConsole {
  readonly service: ConsoleService;
  /** Commands sent to blocks and main-thread commands not answered yet. */
  private readonly waiting = new Set<Promise<unknown>>();
  /** Commands routed to blocks since the last flush (a paused loop flushes them at once). */
  routed = 0;
  /** Rejects every routed command still waiting for its block (abort). */
  private aborted: Promise<never>;
  private abortWith!: (e: Error) => void;

  constructor(private readonly o: ShardConsoleOptions) {
    this.aborted = new Promise<never>((_, reject) => (this.abortWith = reject));
    this.aborted.catch(() => {});
    const svc = new ConsoleService(o.front);
    this.service = svc;
    for (const c of builtinCommands(svc)) svc.register(c.name === "status" ? this.status(c) : c);
    for (const p of o.plugins) {
      for (const def of p.commands ?? []) {
        if (def.name === "snapshot_save") svc.register(this.local(def, (a: { path?: string }) => this.save(a.path)));
        else if (def.name === "snapshot_load") svc.register(this.local(def, (a: { path: string }) => this.load(a.path)));
        else if (def.name === "promote_policy" || def.name === "rollback_policy" || (def.name === "policy_status" && o.release)) {
          svc.register(this.local(def, (a, ctx) => this.policyCommand(def.name, a as Record<string, unknown>, ctx)));
        }
        else svc.register(this.local(def, (a, ctx) => this.route(def.name, a as Record<string, unknown>, ctx)));
      }
    }
  }

  /**
   * The world stopped (a block failed) or the server closes: commands still waiting for a block
   * are answered `unavailable` with `why`, and so is every later one.
   */
  abort(why: string): void {
    this.abortWith(new CommandError("unavailable", why));
  }

  /** Resolves when every command sent so far is answered. */
  async idle(): Promise<void> {
    while (this.waiting.size > 0) await Promise.allSettled([...this.waiting]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.waiting.add(p);
    void p.then(
      () => this.waiting.delete(p),
      () => this.waiting.delete(p),
    );
    return p;
  }

  /** A plug-in's command run here instead of in the blocks (same name, role, arguments, phase). */
  private local(def: CommandDef, run: (args: any, ctx: CommandContext) => unknown): ConsoleCommand {
    return {
      name: def.name,
      role: def.role,
      ...(def.roleFor ? { roleFor: def.roleFor } : {}),
      destructive: def.destructive ?? false,
      args: def.args,
      doc: def.doc,
      ...(def.at ? { at: def.at } : {}),
      run: (ctx, args) => {
        const out = run(args, ctx);
        return out instanceof Promise ? this.track(out) : out;
      },
    };
  }

  private status(c: ConsoleCommand): ConsoleCommand {
    return {
      ...c,
      args: NoArgs,
      run: (ctx) => ({
        tick: this.o.sim.tick,
        agents: this.o.stream.agents,
        towns: this.o.front.towns,
        config_id: this.o.sim.config.configId,
        blocks: this.o.sim.blocks,
        workers: this.o.sim.workers,
        loop: ctx.bindings.loop?.status() ?? null,
        queued_commands: this.service.queued,
        you: ctx.principal,
      }),
    };
  }

  /** Why promote_policy / rollback_policy cannot apply on scripted or random blocks, and what to do instead. */
  private noRelease(name: string): string {
    return `${name} is unavailable on this sharded world (world.shards > 1): each block runs the scripted or random policy the server started with, and promotion swaps the one network the main thread runs over every block; serve with --policy neural[:DIR] --checkpoints DIR to promote and roll back on blocks, or with --shards 1`;
  }

  /**
   * policy_status, promote_policy and rollback_policy of the main thread's network
   * (tools/shard-release.ts), with a one-block world's replies and error codes; policy_status
   * adds `sharded` (who decides, where) and `gate_by_block`. Scripted or random blocks: unavailable.
   */
  private async policyCommand(name: string, a: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
    const rel = this.o.release;
    if (!rel) throw new CommandError("unavailable", this.noRelease(name));
    const stopped = this.o.sim.stoppedBy;
    if (stopped) throw new CommandError("unavailable", `${name} is unavailable: the world stopped: ${stopped.message}`);
    const who = { by: ctx.principal.label, role: ctx.principal.role, cmdId: ctx.cmdId, tick: ctx.tick };
    try {
      if (name === "promote_policy") return await rel.promote({ ...who, checkpoint: a.checkpoint as string, force: a.force === true });
      if (name === "rollback_policy") return await rel.rollback({ ...who, ...(typeof a.to === "string" ? { to: a.to } : {}) });
      const v = this.o.neural!();
      return { ...(await rel.status()), sharded: { blocks: this.o.sim.blocks, spec: v.spec, greedy: v.greedy, batch: v.batch } };
    } catch (e) {
      if (e instanceof PolicyReleaseError) throw new CommandError(e.code, e.message);
      throw e;
    }
  }

  /** The block owning agent `id`, or a not_found error naming the argument. */
  private agentBlock(id: string, arg: string): number {
    const m = /^agent_(\d+)$/.exec(id);
    if (m) {
      const uid = Number(m[1]);
      const plan = this.o.sim.plans.find((p: BlockPlan) => uid >= p.uidBase && uid < p.uidBase + p.uidLimit);
      if (plan) return plan.index;
    }
    const b = this.o.stream.blockOfAgent(id);
    if (b < 0) throw new CommandError("not_found", `${arg}: no live agent "${id}"`);
    return b;
  }

  /** Where a command goes: one block with its arguments in the block's names, or every block. */
  private target(name: string, a: Record<string, unknown>): { block: number; args: Record<string, unknown> } | "all" {
    const args = { ...a };
    let block: number | undefined;
    let by = "";
    const pin = (b: number, what: string) => {
      if (block !== undefined && block !== b) {
        throw new CommandError("invalid_args", `${what}: in towns ${this.range(b)}, while ${by} is in towns ${this.range(block)}; one command reaches one block of this sharded world (world.shards)`);
      }
      block = b;
      by ||= what;
    };
    for (const key of AGENT_KEYS) {
      const v = a[key];
      if (typeof v === "string") pin(this.agentBlock(v, key), key);
      else if (Array.isArray(v)) v.forEach((id, i) => typeof id === "string" && pin(this.agentBlock(id, `${key}.${i}`), `${key}.${i}`));
    }
    // perturbation_trigger's town defaults to town 0 (as in a one-block world).
    if (name === "perturbation_trigger" && args.town === undefined && args.targets === undefined) args.town = 0;
    if (typeof args.town === "number") {
      const t = townToLocal(args.town, this.o.frames);
      if (!t) throw new CommandError("invalid_args", `town: expected an integer in [0, ${this.o.front.towns - 1}], got ${args.town}`);
      pin(t.block, "town");
      args.town = t.town;
    }
    if (typeof a.object_id === "string") {
      const ob = objectToLocal(a.object_id, this.o.frames);
      if (!ob) throw new CommandError("not_found", `object_id: no object "${a.object_id}" (objects are named key@town)`);
      pin(ob.block, "object_id");
      args.object_id = ob.id;
    }
    if (typeof a.event_id === "string") {
      const ev = eventToLocal(a.event_id, this.o.sim.blocks);
      if (!ev) throw new CommandError("not_found", `event_id: no pending or active event "${a.event_id}" (a sharded world names them evt_<block>_<n>)`);
      pin(ev.block, "event_id");
      args.event_id = ev.id;
    }
    if (block === undefined) return name === "policy_status" ? { block: 0, args } : "all";
    return { block, args };
  }

  private range(b: number): string {
    const f = this.o.frames[b];
    return `${f.offset}..${f.offset + f.towns - 1}`;
  }

  /** Sends one command to one block; resolves with its result (named globally) or throws its error. */
  private async send(block: number, name: string, args: unknown, ctx: CommandContext): Promise<unknown> {
    const stopped = this.o.sim.stoppedBy;
    if (stopped) throw new CommandError("unavailable", `${name} is unavailable: the world stopped: ${stopped.message}`);
    const req: ServeRequest = { op: "command", block, name, args, principal: { role: ctx.principal.role, label: ctx.principal.label }, via: ctx.via };
    this.routed++;
    // A block that stopped with its command still queued never applies it: abort() answers it.
    const sent = this.o.sim.ext("command", req, block);
    sent.catch(() => {}); // when abort() answered first
    const [res] = (await Promise.race([sent, this.aborted])) as CommandResultT[];
    if (res.status === "ok") return res.result;
    throw new CommandError(res.error!.code, res.error!.message, res.error!.details);
  }

  private route(name: string, a: Record<string, unknown>, ctx: CommandContext): Promise<unknown> {
    const t = this.target(name, a);
    if (t !== "all") return this.send(t.block, name, t.args, ctx);
    const agents = a.agents;
    if (name === "telemetry_snapshot" && Array.isArray(agents)) {
      // Each block answers for its own agents.
      const by = new Map<number, string[]>();
      agents.forEach((id: string, i) => {
        const b = this.agentBlock(id, `agents.${i}`);
        by.set(b, [...(by.get(b) ?? []), id]);
      });
      return this.merge([...by].sort((x, y) => x[0] - y[0]).map(([b, ids]) => [b, this.send(b, name, { ...a, agents: ids }, ctx)]));
    }
    // employment_status: the exit cap is the config's (each block enforces it on its own queue), not a sum;
    // affordance_timings: every count and time summed per affordance (serve-shard-exact.ts).
    const fix = name === "employment_status" ? configCap : name === "affordance_timings" ? timingsAnswer : undefined;
    return this.merge(
      this.o.frames.map((f) => [f.block, this.send(f.block, name, a, ctx)]),
      fix,
    );
  }

  /** The answers of several blocks as one (the first error in block order, if any). */
  private async merge(parts: [number, Promise<unknown>][], fix?: (merged: Record<string, unknown>, values: Record<string, unknown>[]) => void): Promise<unknown> {
    const rs = await Promise.allSettled(parts.map((p) => p[1]));
    const bad = rs.find((r) => r.status === "rejected");
    if (bad) throw (bad as PromiseRejectedResult).reason;
    const values = rs.map((r) => (r as PromiseFulfilledResult<unknown>).value);
    if (values.length === 1) return values[0];
    const merged = mergeValues(values, values.map(() => 1));
    if (fix && merged !== null && typeof merged === "object") fix(merged as Record<string, unknown>, values as Record<string, unknown>[]);
    return merged;
  }

  private async save(path: string | undefined): Promise<unknown> {
    const target = insideRoot(this.o.snapshotRoots, path);
    try {
      const snap = await this.o.sim.snapshot();
      if (target.endsWith(SHARD_SNAPSHOT_EXTENSION)) {
        mkdirSync(dirname(target), { recursive: true });
        const bytes = encodeShardSnapshot(snap);
        writeFileAtomic(target, bytes);
        return { path: target, tick: snap.header.tick, bytes: bytes.length, blocks: snap.header.blocks };
      }
      const file = writeShardSnapshotFile(target, snap);
      return { path: file, tick: snap.header.tick, bytes: statSync(file).size, blocks: snap.header.blocks };
    } catch (e) {
      return snapshotFailure(e);
    }
  }

  private async load(path: string): Promise<unknown> {
    const target = insideRoot(this.o.snapshotRoots, path);
    const sim = this.o.sim;
    try {
      let file = resolve(target);
      let snap;
      if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) {
        const found = newestShardSnapshot(target, sim.config.configId) ?? newestShardSnapshot(target);
        if (!found) throw new SnapshotError("not_found", `no sharded snapshot (${SHARD_SNAPSHOT_EXTENSION}) in this folder verifies`, target);
        file = found.path;
        snap = found.snapshot;
      } else snap = readShardSnapshotFile(target);
      const before = sim.tick;
      await sim.restore(snap, file);
      this.o.front.tick = sim.tick;
      await this.o.flush(true);
      // What was upgraded to read blocks an earlier build wrote, named as the one-block reply does.
      const upgraded = shardUpgradeNotes(snap);
      return { path: file, from_tick: before, tick: sim.tick, config_id: snap.header.config_id, ...(upgraded.length ? { upgraded } : {}) };
    } catch (e) {
      return snapshotFailure(e);
    }
  }
}
