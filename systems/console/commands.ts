// The built-in console commands. Each reads and writes components (columns), messages and
// plug-in services through the interfaces in components/; operations another plug-in owns
// (employment exits, perturbations, snapshots, the loop) go through the service's bindings and
// answer `unavailable` when nothing is bound.
import { z } from "zod";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { Needs, NEED_NAMES } from "../../components/needs.ts";
import { Position } from "../../components/space.ts";
import { PRICE_MULTIPLIER_MAX, Wallet, TownEconomy } from "../../components/economy.ts";
import { Obj } from "../../components/objects.ts";
import { Activity } from "../../components/activity.ts";
import { Employment, ExitReason, Lifecycle } from "../../components/people.ts";
import { ChatSuccess } from "../../components/messages.ts";
import { jobTable } from "../../components/jobs.ts";
import type { SpatialIndex } from "../../components/grid.ts";
import type { AffordanceService } from "../../components/affordances.ts";
import { PolicyReleaseError, type PolicyReleaseService } from "../../components/release.ts";
import { didYouMean } from "../../engine/text.ts";
import { MIN_TICKS_PER_SECOND, REALTIME_TICK_MS } from "../../engine/loop.ts";
import { CommandError, type CommandContext, type ConsoleBindings, type ConsoleCommand, type ConsoleService } from "./service.ts";
import { SpaceKey } from "../../components/grid.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { PerturbationsKey } from "../../components/perturbations.ts";
import { ObservationsKey } from "../../components/observations.ts";
import { PolicyKey } from "../../components/release.ts";
import { EconomyKey } from "../../components/economy.ts";
import { EmploymentKey } from "../../components/people.ts";
import { TelemetryKey } from "../../components/telemetry.ts";

const AgentId = z.string().min(1).max(128).describe("agent id (agent_<n> or a scenario name)");
const TownIndex = z.int().min(0).default(0).describe("town index");
const Coord = z.int().min(0).describe("tile coordinate");
const Unit = z.number().min(0).max(1);
const NoArgs = z.strictObject({});

/** The live agent with that id, or a not_found error naming close ids. */
export function requireAgent(world: World, id: string, arg = "agent_id"): number {
  const eid = world.agentEid(id);
  if (eid >= 0) return eid;
  const agents = world.agents;
  const names: string[] = [];
  for (let i = 0; i < agents.length && i < 10_000; i++) names.push(world.agentName(agents[i]));
  throw new CommandError("not_found", `${arg}: no live agent "${id}"${didYouMean(id, names)}`);
}

function gridSize(world: World): [number, number] {
  const g = (world.settings as Partial<World["settings"]>).world?.grid_size;
  return g ? [g[0], g[1]] : [48, 48];
}

function checkTile(world: World, x: number, y: number, what = "x, y"): void {
  const [w, h] = gridSize(world);
  if (x >= w || y >= h) throw new CommandError("invalid_args", `${what}: [${x}, ${y}] is outside the ${w}x${h} grid`);
}

function checkTown(world: World, town: number): void {
  if (town >= world.towns) throw new CommandError("invalid_args", `town: expected an integer in [0, ${world.towns - 1}], got ${town}`);
}

function spaceIndex(world: World): SpatialIndex | undefined {
  return world.optionalResource(SpaceKey);
}

function affordances(world: World): AffordanceService | undefined {
  return world.optionalResource(AffordancesKey);
}

/** Moves an agent to a tile: Position, the spatial index, and a context reset for its observations. */
function place(world: World, eid: number, x: number, y: number): void {
  if (!world.has(eid, Position)) throw new CommandError("unavailable", "agents have no Position component in this world");
  const P = world.columns(Position);
  P.x[eid] = x;
  P.y[eid] = y;
  spaceIndex(world)?.place(eid, world.columns(Town).id[eid], x, y);
  world.optionalResource(ObservationsKey)?.requestContextReset?.(eid);
}

/** Runs a scheduler call, turning its PerturbationError into the console's error codes. */
function viaScheduler<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error && e.name === "PerturbationError") {
      const code = (e as Error & { code?: string }).code;
      throw new CommandError(code === "unknown_spec" ? "unknown_spec" : code === "unknown_event" ? "not_found" : "invalid_args", e.message);
    }
    throw e;
  }
}

/** The perturbation operations: bound ones, else the scheduler's service (components/perturbations.ts). */
function perturbationOps(ctx: CommandContext): ConsoleBindings["perturbations"] {
  if (ctx.bindings.perturbations) return ctx.bindings.perturbations;
  const svc = ctx.world.optionalResource(PerturbationsKey);
  if (!svc) return undefined;
  return {
    queue: () => svc.latestState(),
    trigger: (_w, a) =>
      viaScheduler(() =>
        svc.schedule(a.town ?? 0, a.spec, {
          startsIn: a.starts_in,
          duration: a.duration,
          magnitude: a.magnitude,
          targets: a.targets,
          location: a.location,
        }),
      ),
    cancel: (_w, id) => {
      if (!viaScheduler(() => svc.cancel(id))) throw new CommandError("not_found", `event_id: no pending or active event "${id}"`);
      return { event_id: id, cancelled: true };
    },
    arrangeMeet: (w, a) => {
      if (a.spec === undefined) return undefined;
      const town = w.columns(Town).id[w.agentEid(a.agents[0])];
      return viaScheduler(() =>
        svc.schedule(town, a.spec!, { startsIn: a.starts_in, duration: a.duration, targets: a.agents, location: a.object_id }),
      );
    },
  };
}

/** The policy plug-in's release service (components/release.ts), or `unavailable`. */
function releaseOps(ctx: CommandContext, command: string): PolicyReleaseService {
  const svc = ctx.world.optionalResource(PolicyKey);
  if (!svc) unavailable(command, "the policy plug-in is not in this world");
  return svc;
}

/** Runs a release call, turning its PolicyReleaseError into the console's error codes. */
function viaRelease<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PolicyReleaseError) throw new CommandError(e.code, e.message);
    throw e;
  }
}

function objectName(world: World, eid: number): string {
  const id = world.text(world.columns(Obj).key[eid]);
  return world.towns > 1 ? `${id}@${world.columns(Town).id[eid]}` : id;
}

function unavailable(what: string, extension: string): never {
  throw new CommandError("unavailable", `${what} is unavailable: ${extension}`);
}

export function builtinCommands(service: ConsoleService): ConsoleCommand[] {
  const cmds: ConsoleCommand[] = [];
  const add = <A>(c: ConsoleCommand<A>) => cmds.push(c as ConsoleCommand);

  // ---- help and status ---------------------------------------------------------------------------

  add({
    name: "help",
    role: "viewer",
    doc: "lists the commands (or one command's arguments as a JSON Schema)",
    args: z.strictObject({ command: z.string().min(1).optional().describe("a command name") }),
    run(ctx, a) {
      const list = [...service.commands.values()].sort((x, y) => x.name.localeCompare(y.name));
      const describe = (c: ConsoleCommand) => ({
        name: c.name,
        role: c.role,
        destructive: typeof c.destructive === "function" ? "depends on arguments" : (c.destructive ?? false),
        doc: c.doc ?? "",
      });
      if (a.command === undefined) return { role: ctx.principal.role, commands: list.map(describe) };
      const c = service.commands.get(a.command);
      if (!c) throw new CommandError("not_found", `command: no command "${a.command}"${didYouMean(a.command, service.commands.keys())}`);
      return { ...describe(c), args: z.toJSONSchema(c.args, { io: "input", unrepresentable: "any" }) };
    },
  });

  add({
    name: "status",
    role: "viewer",
    doc: "tick, agents, towns, config_id, the loop's state and the console queue",
    args: NoArgs,
    run(ctx) {
      const w = ctx.world;
      return {
        tick: w.tick,
        agents: w.agents.length,
        towns: w.towns,
        config_id: (w.settings as { config_id?: string }).config_id ?? null,
        loop: ctx.bindings.loop?.status() ?? null,
        queued_commands: service.queued,
        you: ctx.principal,
      };
    },
  });

  // ---- agents ------------------------------------------------------------------------------------

  const NeedValues = z.strictObject({ hunger: Unit.optional(), hygiene: Unit.optional(), energy: Unit.optional() });

  add({
    name: "spawn",
    role: "admin",
    destructive: true,
    doc: "adds an agent: {town?, name?, x?, y?, job?, wallet?, needs?}",
    args: z
      .strictObject({
        town: TownIndex,
        name: z.string().min(1).max(64).regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, "expected a name of letters, digits, _ . -").optional(),
        x: Coord.optional(),
        y: Coord.optional(),
        job: z.string().min(1).optional().describe("a key of `jobs`"),
        wallet: z.number().min(0).max(1e9).optional(),
        needs: NeedValues.optional(),
      })
      .refine((a) => (a.x === undefined) === (a.y === undefined), { message: "expected both x and y, or neither", path: ["y"] }),
    run(ctx, a) {
      const w = ctx.world;
      checkTown(w, a.town);
      if (a.x !== undefined) checkTile(w, a.x, a.y!);
      if (a.name !== undefined && w.agentEid(a.name) >= 0) throw new CommandError("conflict", `name: an agent named "${a.name}" already exists`);
      if (a.name !== undefined && /^agent_\d+$/.test(a.name)) throw new CommandError("invalid_args", `name: "${a.name}" is reserved for default ids (agent_<n>)`);
      if (a.job !== undefined) {
        const names = jobTable(w).names;
        if (!names.includes(a.job)) {
          throw new CommandError("invalid_args", `job: unknown job "${a.job}"${didYouMean(a.job, names)}; jobs are ${names.join(", ") || "none"}`);
        }
      }
      const init: Record<string, Record<string, number>> = {};
      if (a.x !== undefined) init.Position = { x: a.x, y: a.y! };
      if (a.wallet !== undefined && w.components.isRegistered(Wallet)) init.Wallet = { money: a.wallet };
      if (a.needs && w.components.isRegistered(Needs)) init.Needs = { ...a.needs } as Record<string, number>;
      const eid = w.spawnAgent(a.town, { name: a.name, init });
      if (a.job !== undefined) {
        const jobs = w.optionalResource(EmploymentKey);
        if (!jobs) unavailable("job", "the employment plug-in is not in this world");
        jobs.assignJob(eid, a.job);
      }
      const P = w.has(eid, Position) ? w.columns(Position) : undefined;
      return { agent_id: w.agentName(eid), town: a.town, x: P ? P.x[eid] : null, y: P ? P.y[eid] : null, job: a.job ?? null };
    },
  });

  add({
    name: "teleport",
    role: "admin",
    destructive: true,
    doc: "moves an agent to a tile: {agent_id, x, y}",
    args: z.strictObject({ agent_id: AgentId, x: Coord, y: Coord }),
    run(ctx, a) {
      const w = ctx.world;
      const eid = requireAgent(w, a.agent_id);
      checkTile(w, a.x, a.y);
      const P = w.has(eid, Position) ? w.columns(Position) : undefined;
      const from = P ? [P.x[eid], P.y[eid]] : null;
      place(w, eid, a.x, a.y);
      return { agent_id: a.agent_id, from, to: [a.x, a.y] };
    },
  });

  add({
    name: "setneed",
    role: "admin",
    destructive: true,
    doc: "sets needs in [0,1]: {agent_id, need, value} or {agent_id, needs: {hunger?, hygiene?, energy?}}",
    args: z
      .strictObject({
        agent_id: AgentId,
        need: z.enum(NEED_NAMES).optional(),
        value: Unit.optional(),
        needs: NeedValues.optional(),
      })
      .superRefine((a, c) => {
        const pair = a.need !== undefined || a.value !== undefined;
        if (pair && a.needs !== undefined) c.addIssue({ code: "custom", path: ["needs"], message: "expected either need + value or needs, not both" });
        else if (!pair && a.needs === undefined) c.addIssue({ code: "custom", path: ["need"], message: "expected need + value, or needs" });
        else if (pair && a.need === undefined) c.addIssue({ code: "custom", path: ["need"], message: `expected one of ${NEED_NAMES.join(", ")} alongside value` });
        else if (pair && a.value === undefined) c.addIssue({ code: "custom", path: ["value"], message: "expected a number in [0, 1] alongside need" });
        else if (a.needs !== undefined && Object.keys(a.needs).length === 0) c.addIssue({ code: "custom", path: ["needs"], message: "expected at least one need" });
      }),
    run(ctx, a) {
      const w = ctx.world;
      const eid = requireAgent(w, a.agent_id);
      if (!w.has(eid, Needs)) unavailable("setneed", "agents have no Needs component in this world");
      const N = w.columns(Needs);
      const values: Record<string, number> = a.needs ? (a.needs as Record<string, number>) : { [a.need!]: a.value! };
      const before: Record<string, number> = {};
      for (const [k, v] of Object.entries(values)) {
        const col = N[k as keyof typeof N];
        before[k] = col[eid];
        col[eid] = v;
      }
      return { agent_id: a.agent_id, before, after: values };
    },
  });

  add({
    name: "kill",
    role: "admin",
    destructive: true,
    doc: "makes an agent leave (exit reason console); it is replaced like any other exit",
    args: z.strictObject({ agent_id: AgentId }),
    run(ctx, a) {
      const w = ctx.world;
      const eid = requireAgent(w, a.agent_id);
      if (!w.has(eid, Lifecycle)) unavailable("kill", "the lifecycle plug-in is not in this world");
      const L = w.columns(Lifecycle);
      const already = L.exit_reason[eid] !== ExitReason.None;
      if (!already) L.exit_reason[eid] = ExitReason.Console;
      return { agent_id: a.agent_id, leaving: true, already_leaving: already };
    },
  });

  add({
    name: "force_chat",
    role: "admin",
    destructive: true,
    doc: "makes two agents of the same town chat: {speaker, listener, quality?}",
    args: z
      .strictObject({ speaker: AgentId, listener: AgentId, quality: Unit.default(0.8) })
      .refine((a) => a.speaker !== a.listener, { message: "expected two different agents", path: ["listener"] }),
    run(ctx, a) {
      const w = ctx.world;
      const s = requireAgent(w, a.speaker, "speaker");
      const l = requireAgent(w, a.listener, "listener");
      const town = w.columns(Town).id;
      if (town[s] !== town[l]) throw new CommandError("invalid_args", `listener: "${a.listener}" lives in town ${town[l]}, "${a.speaker}" in town ${town[s]}`);
      if (!w.messages.has(ChatSuccess)) unavailable("force_chat", "no plug-in in this world handles chats (chat_success)");
      w.send(ChatSuccess, s, l, a.quality);
      return { speaker: a.speaker, listener: a.listener, quality: a.quality };
    },
  });

  add({
    name: "arrange_meet",
    role: "admin",
    destructive: true,
    doc: "brings agents together: {agents, x?, y? | object_id?} (through the perturbation scheduler when it offers arranged meets)",
    args: z
      .strictObject({
        agents: z.array(AgentId).min(2).max(16),
        x: Coord.optional(),
        y: Coord.optional(),
        object_id: z.string().min(1).optional(),
        spec: z.string().min(1).optional(),
        starts_in: z.int().min(0).optional(),
        duration: z.int().min(1).optional(),
      })
      .refine((a) => (a.x === undefined) === (a.y === undefined), { message: "expected both x and y, or neither", path: ["y"] })
      .refine((a) => new Set(a.agents).size === a.agents.length, { message: "expected distinct agents", path: ["agents"] }),
    run(ctx, a) {
      const w = ctx.world;
      const eids = a.agents.map((id, i) => requireAgent(w, id, `agents.${i}`));
      // With a spec, the scheduler arranges the meeting (an arranged_meet perturbation);
      // without one the agents are moved next to each other now.
      const pert = a.spec !== undefined ? perturbationOps(ctx) : undefined;
      if (a.spec !== undefined && !pert?.arrangeMeet) unavailable("arrange_meet with a spec", "no perturbation scheduler in this world");
      if (pert?.arrangeMeet) {
        const r = pert.arrangeMeet(w, a);
        if (r !== undefined) return { via: "perturbation", event: r };
      }
      const town = w.columns(Town).id;
      const t = town[eids[0]];
      eids.forEach((e, i) => {
        if (town[e] !== t) throw new CommandError("invalid_args", `agents.${i}: "${a.agents[i]}" lives in town ${town[e]}, not ${t}`);
      });
      let tx: number;
      let ty: number;
      if (a.object_id !== undefined) {
        const svc = affordances(w);
        const o = svc ? svc.objectById(t, a.object_id) : 0;
        if (!o) throw new CommandError("not_found", `object_id: no object "${a.object_id}" in town ${t}`);
        tx = w.columns(Position).x[o];
        ty = w.columns(Position).y[o];
      } else if (a.x !== undefined) {
        checkTile(w, a.x, a.y!);
        tx = a.x;
        ty = a.y!;
      } else {
        const P = w.columns(Position);
        tx = P.x[eids[0]];
        ty = P.y[eids[0]];
      }
      // The meeting point and the tiles around it, nearest first, inside the grid.
      const [gw, gh] = gridSize(w);
      const spots: [number, number][] = [];
      for (let r = 0; spots.length < eids.length && r < Math.max(gw, gh); r++) {
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            if (Math.max(Math.abs(dx), Math.abs(dy)) !== r) continue;
            const x = tx + dx;
            const y = ty + dy;
            if (x >= 0 && y >= 0 && x < gw && y < gh) spots.push([x, y]);
          }
        }
      }
      const placed = eids.map((e, i) => {
        const [x, y] = spots[Math.min(i, spots.length - 1)];
        place(w, e, x, y);
        return { agent_id: a.agents[i], x, y };
      });
      return { via: "teleport", location: [tx, ty], agents: placed };
    },
  });

  // ---- economy and queues ------------------------------------------------------------------------

  add({
    name: "price",
    role: "admin",
    destructive: true,
    doc: "sets a town's price multiplier (1 = baseline): {town?, multiplier} or {town?, factor} (multiplies the current one)",
    args: z
      .strictObject({ town: TownIndex, multiplier: z.number().min(0).max(100).optional(), factor: z.number().min(0).max(100).optional() })
      .refine((a) => (a.multiplier === undefined) !== (a.factor === undefined), { message: "expected exactly one of multiplier / factor", path: ["multiplier"] }),
    run(ctx, a) {
      const w = ctx.world;
      checkTown(w, a.town);
      if (!w.townStore.isRegistered(TownEconomy)) unavailable("price", "the economy plug-in is not in this world");
      const col = w.townColumns(TownEconomy).price_multiplier;
      const previous = col[a.town];
      const next = a.multiplier ?? previous * a.factor!;
      if (!(next <= 100)) throw new CommandError("invalid_args", `factor: the multiplier would be ${next}, above 100`);
      const econ = w.optionalResource(EconomyKey);
      if (econ) econ.setPriceMultiplier(a.town, next);
      else col[a.town] = next;
      return { town: a.town, previous: Math.round(previous * 1e6) / 1e6, multiplier: Math.round(col[a.town] * 1e6) / 1e6 };
    },
  });

  add({
    name: "debug_queues",
    role: "viewer",
    doc: "objects with their holder, running affordance and queue: {town?, object_id?, limit?}",
    args: z.strictObject({
      town: z.int().min(0).optional(),
      object_id: z.string().min(1).optional(),
      limit: z.int().min(1).max(10_000).default(100),
      nonempty: z.boolean().default(false).describe("only objects that are held or have a queue"),
    }),
    run(ctx, a) {
      const w = ctx.world;
      const svc = affordances(w);
      if (!svc || !w.components.isRegistered(Obj)) unavailable("debug_queues", "the affordances plug-in is not in this world");
      if (a.town !== undefined) checkTown(w, a.town);
      const O = w.columns(Obj);
      const town = w.columns(Town).id;
      const A = w.components.isRegistered(Activity) ? w.columns(Activity) : undefined;
      const reg = svc.registry;
      const out = [];
      let total = 0;
      for (const o of svc.objects) {
        if (!w.has(o, Obj)) continue;
        if (a.town !== undefined && town[o] !== a.town) continue;
        const id = w.text(O.key[o]);
        if (a.object_id !== undefined && id !== a.object_id && objectName(w, o) !== a.object_id) continue;
        if (a.nonempty && O.holder[o] === 0 && O.queue_head[o] === 0) continue;
        total++;
        if (out.length >= a.limit) continue;
        const queue: { agent_id: string; waiting_ticks: number }[] = [];
        let q = O.queue_head[o];
        for (let k = 0; q !== 0 && k < 1000; k++) {
          queue.push({ agent_id: w.agentName(q), waiting_ticks: A ? w.tick - A.joined_tick[q] : 0 });
          q = A ? A.queue_next[q] : 0;
        }
        out.push({
          object_id: objectName(w, o),
          town: town[o],
          type: reg.types[O.type[o]] ?? String(O.type[o]),
          holder: O.holder[o] !== 0 && w.isAgent(O.holder[o]) ? w.agentName(O.holder[o]) : null,
          running: O.running[o] >= 0 ? (reg.affordances[O.running[o]]?.id ?? O.running[o]) : null,
          queue_len: O.queue_len[o],
          queue,
          stall_ticks: O.stall[o],
          power_on: O.power_on[o] === 1,
          water_on: O.water_on[o] === 1,
        });
      }
      if (a.object_id !== undefined && total === 0) {
        const ids = svc.objects.filter((o) => w.has(o, Obj)).map((o) => objectName(w, o));
        throw new CommandError("not_found", `object_id: no object "${a.object_id}"${didYouMean(a.object_id, ids)}`);
      }
      const kpis = w.kpis();
      return {
        tick: w.tick,
        objects: out,
        total,
        truncated: total > out.length,
        counters: {
          cooldown_events: kpis.queue_cooldown_refusals ?? 0,
          ghost_step_events: kpis.queue_ghost_steps ?? 0,
          rotation_events: kpis.queue_rotations ?? 0,
          queue_conflicts: kpis.queue_conflicts ?? 0,
          reservation_timeouts: kpis.reservation_timeouts ?? 0,
        },
      };
    },
  });

  // ---- employment --------------------------------------------------------------------------------

  const employmentFallback = (w: World) => {
    // Read from the columns: pending in entity order; the day's exits are the plug-in's own.
    const cfg = (w.settings as Partial<World["settings"]>).employment;
    const pending: string[] = [];
    if (w.components.isRegistered(Employment)) {
      const E = w.columns(Employment);
      for (const e of w.agents) if (E.exit_pending[e] === 1) pending.push(w.agentName(e));
    }
    return {
      pending,
      pending_count: pending.length,
      exits_today: null,
      daily_exit_cap: cfg?.daily_exit_cap ?? 0,
      queue_limit: cfg?.exit_queue_limit ?? 0,
      review_window: cfg?.exit_review_window ?? 0,
    };
  };

  add({
    name: "employment_status",
    role: "viewer",
    doc: "the employment exit queue: pending agents, exits today, cap, queue limit, review window",
    args: NoArgs,
    run(ctx) {
      return ctx.bindings.employment?.status(ctx.world) ?? employmentFallback(ctx.world);
    },
  });

  add({
    name: "employment_exit",
    role: "viewer",
    roleFor: (a) => (a.action === "review" ? "viewer" : "admin"),
    destructive: (a) => a.action !== "review",
    doc: "employment exits: {action: review} lists the queue; {action: approve|defer, agent_id} (admin)",
    args: z
      .strictObject({ action: z.enum(["review", "approve", "defer"]), agent_id: AgentId.optional() })
      .refine((a) => a.action === "review" || a.agent_id !== undefined, { message: "expected an agent_id for approve and defer", path: ["agent_id"] }),
    run(ctx, a) {
      const w = ctx.world;
      const emp = ctx.bindings.employment;
      if (a.action === "review") return emp ? emp.review(w) : { ...employmentFallback(w), entries: null };
      requireAgent(w, a.agent_id!);
      if (!emp) unavailable(`employment_exit ${a.action}`, "no employment operations are bound (townlet serve binds them)");
      const ok = a.action === "approve" ? emp.approve(w, a.agent_id!) : emp.defer(w, a.agent_id!);
      if (!ok) throw new CommandError("not_found", `agent_id: no live agent "${a.agent_id}"`);
      return { action: a.action, agent_id: a.agent_id, status: emp.status(w) };
    },
  });

  // ---- perturbations (extension point: the perturbation scheduler binds these) -------------------

  const noScheduler = "the perturbations plug-in is not in this world";
  add({
    name: "perturbation_queue",
    role: "viewer",
    doc: "active, pending and cooling-down perturbations",
    args: NoArgs,
    run(ctx) {
      const p = perturbationOps(ctx);
      if (!p) unavailable("perturbation_queue", noScheduler);
      return p.queue(ctx.world);
    },
  });
  add({
    name: "perturbation_trigger",
    role: "admin",
    destructive: true,
    doc: "schedules a perturbation now: {spec, starts_in?, duration?, magnitude?, targets?, location?, town?}",
    args: z.strictObject({
      spec: z.string().min(1),
      starts_in: z.int().min(0).optional(),
      duration: z.int().min(1).optional(),
      magnitude: z.number().min(0).max(PRICE_MULTIPLIER_MAX).optional(),
      targets: z.array(AgentId).max(1000).optional(),
      location: z.string().min(1).optional(),
      town: z.int().min(0).optional(),
    }),
    run(ctx, a) {
      const p = perturbationOps(ctx);
      if (!p) unavailable("perturbation_trigger", noScheduler);
      if (a.town !== undefined) checkTown(ctx.world, a.town);
      return p.trigger(ctx.world, a);
    },
  });
  add({
    name: "perturbation_cancel",
    role: "admin",
    destructive: true,
    doc: "cancels a pending or active perturbation: {event_id}",
    args: z.strictObject({ event_id: z.union([z.string().min(1), z.int().min(0)]).transform(String) }),
    run(ctx, a) {
      const p = perturbationOps(ctx);
      if (!p) unavailable("perturbation_cancel", noScheduler);
      return p.cancel(ctx.world, a.event_id);
    },
  });

  // ---- telemetry and snapshots -------------------------------------------------------------------

  add({
    name: "telemetry_snapshot",
    role: "viewer",
    doc: "per-agent job and economy payloads and the employment queue: {agents?}",
    args: z.strictObject({ agents: z.array(AgentId).max(100_000).optional() }),
    run(ctx, a) {
      const t = ctx.bindings.telemetry ?? telemetryService(ctx.world);
      if (!t) unavailable("telemetry_snapshot", "the telemetry plug-in is not in this world");
      return t.snapshot(a.agents);
    },
  });

  const noSnapshots = "snapshot files are not bound in this world (the persistence plug-in provides them)";
  add({
    name: "snapshot_save",
    role: "admin",
    destructive: true,
    at: "boundary",
    doc: "writes a snapshot between ticks: {path?}",
    args: z.strictObject({ path: z.string().min(1).optional() }),
    run(ctx, a) {
      const s = ctx.bindings.snapshots;
      if (!s) unavailable("snapshot_save", noSnapshots);
      return s.save(ctx.world, a.path);
    },
  });
  add({
    name: "snapshot_load",
    role: "admin",
    destructive: true,
    at: "boundary",
    doc: "restores a snapshot between ticks: {path}",
    args: z.strictObject({ path: z.string().min(1) }),
    run(ctx, a) {
      const s = ctx.bindings.snapshots;
      if (!s) unavailable("snapshot_load", noSnapshots);
      return s.load(ctx.world, a.path);
    },
  });

  // ---- policy release (guide 3.3: promotion and rollback) ----------------------------------------

  const Checkpoint = z.string().min(1).max(1024).describe("checkpoint folder, relative to the checkpoint root");
  const who = (ctx: CommandContext) => ({ by: ctx.principal.label, role: ctx.principal.role, cmdId: ctx.cmdId, tick: ctx.tick });
  add({
    name: "policy_status",
    role: "viewer",
    doc: "the live policy (checkpoint, policy hash), the release pointer and the promotion gate",
    args: NoArgs,
    run(ctx) {
      return releaseOps(ctx, "policy_status").policyStatus();
    },
  });
  add({
    name: "promote_policy",
    role: "admin",
    destructive: true,
    at: "boundary",
    doc: "makes a checkpoint the live policy between ticks once the promotion gate is ready (force: true skips the gate, recorded): {checkpoint, force?}",
    args: z.strictObject({
      checkpoint: Checkpoint,
      force: z.boolean().default(false).describe("promote although the promotion gate is not ready"),
    }),
    run(ctx, a) {
      const svc = releaseOps(ctx, "promote_policy");
      return viaRelease(() => svc.promotePolicy({ ...who(ctx), checkpoint: a.checkpoint, force: a.force }));
    },
  });
  add({
    name: "rollback_policy",
    role: "admin",
    destructive: true,
    at: "boundary",
    doc: "makes an earlier policy live again between ticks: {to?} (left out: the policy live before the current release)",
    args: z.strictObject({ to: Checkpoint.optional() }),
    run(ctx, a) {
      const svc = releaseOps(ctx, "rollback_policy");
      return viaRelease(() => svc.rollbackPolicy({ ...who(ctx), ...(a.to !== undefined ? { to: a.to } : {}) }));
    },
  });

  // ---- the loop ----------------------------------------------------------------------------------

  const noLoop = "no loop is bound (only townlet serve steps the world on its own)";
  add({
    name: "pause",
    role: "admin",
    at: "boundary",
    doc: "stops ticking after the current tick (commands still apply)",
    args: NoArgs,
    run(ctx) {
      const l = ctx.bindings.loop;
      if (!l) unavailable("pause", noLoop);
      return l.pause();
    },
  });
  add({
    name: "resume",
    role: "admin",
    at: "boundary",
    doc: "ticks again",
    args: NoArgs,
    run(ctx) {
      const l = ctx.bindings.loop;
      if (!l) unavailable("resume", noLoop);
      return l.resume();
    },
  });
  add({
    name: "speed",
    role: "admin",
    at: "boundary",
    doc: `pace of the loop: {multiplier: X} (1 = real time, ${REALTIME_TICK_MS} ms a tick), {ticks_per_second: N}, or {ticks_per_second: null} (as fast as possible)`,
    args: z
      .strictObject({
        multiplier: z
          .number()
          .min((MIN_TICKS_PER_SECOND * REALTIME_TICK_MS) / 1000)
          .max(10_000)
          .optional(),
        ticks_per_second: z.number().min(MIN_TICKS_PER_SECOND).max(100_000).nullable().optional(),
      })
      .refine((a) => (a.multiplier === undefined) !== (a.ticks_per_second === undefined), {
        message: "expected exactly one of multiplier / ticks_per_second",
        path: ["multiplier"],
      }),
    run(ctx, a) {
      const l = ctx.bindings.loop;
      if (!l) unavailable("speed", noLoop);
      return l.speed(a.multiplier !== undefined ? (a.multiplier * 1000) / REALTIME_TICK_MS : a.ticks_per_second!);
    },
  });

  return cmds;
}

/** The telemetry plug-in's console snapshot, when a plug-in in this world provides it. */
function telemetryService(world: World): { snapshot(agents?: readonly string[]): unknown } | undefined {
  const st = world.optionalResource(TelemetryKey);
  return st ? { snapshot: (agents) => st.consoleSnapshot(agents) } : undefined;
}

export type { CommandContext };
