// Affordances (phase affordances): carries out each agent's Intent (walking one tile per tick,
// queueing at objects, starting, releasing, chatting), keeps queues and reservations fair
// (cooldowns, age priority, reservation timeouts, ghost steps), advances running affordances
// and applies their effects and hooks. Also owns the object entities and the affordance
// registry, hot-reloaded at tick boundaries (phase console). Reads Intent, Needs, Wallet,
// TownEconomy; writes Activity, Obj, Position, Needs, Wallet; sends the affordance and queue
// messages.
import { definePlugin, type ConfigCheckProblem, type PersistentState } from "../../engine/plugin.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { Town } from "../../engine/core-components.ts";
import { Obj } from "../../components/objects.ts";
import { Activity, Intent, IntentKind } from "../../components/activity.ts";
import { Position } from "../../components/space.ts";
import { Wallet } from "../../components/economy.ts";
import { Needs } from "../../components/needs.ts";
import { AffordanceSets } from "../../components/sets.ts";
import { STEPS, stepToward, type SpatialIndex, SpaceKey } from "../../components/grid.ts";
import {
  AffordanceFail,
  AffordanceFinish,
  AffordanceReload,
  AffordanceStart,
  ChatFailure,
  ChatSuccess,
  QueueConflict,
  QueueHandover,
} from "../../components/messages.ts";
import { sections as affordanceSections, AffordanceManifest, type ManifestObjectEntry } from "./config.ts";
import { sections as queueSections } from "./queue-config.ts";
import { AffordancesState } from "./state.ts";
import { Runtime, Req } from "./runtime.ts";
import { manifestEffectProblems } from "./effects.ts";
import { registerBuiltinHooks, objectsOf } from "./builtins.ts";
import type { AffordanceInput, AffordanceService } from "../../components/affordances.ts";
import { SocialKey } from "../../components/social.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { affordanceCommands } from "./commands.ts";
import { affordancesTelemetry } from "./telemetry.ts";
import { COUNT_MEALS, MealCounter } from "./meals.ts";
// Enum members as module constants: plain loads in the per-agent loops.
const INT_BLOCKED = IntentKind.Blocked;
const INT_CHAT = IntentKind.Chat;
const INT_MOVE = IntentKind.Move;
const INT_NONE = IntentKind.None;
const INT_RELEASE = IntentKind.Release;
const INT_REQUEST = IntentKind.Request;
const INT_START = IntentKind.Start;
const INT_WAIT = IntentKind.Wait;

/** Starting stock by object type (the original's register_object defaults). */
const DEFAULT_STOCK: Record<string, Record<string, number>> = {
  fridge: { meals: 5 },
  stove: { raw_ingredients: 3 },
  bed: { sleep_slots: 1 },
};
const STOCK_FIELDS = new Set(["meals", "raw_ingredients", "sleep_slots", "power_on", "water_on"]);
const NO_OBJECTS = new Int32Array(0);

/**
 * The plug-in's resource: its state and runtime, and the service other plug-ins call. Its
 * PersistentState is the AffordancesState's (counters); the object list and the (town, type)
 * index are rebuilt from the Obj columns after a snapshot is loaded.
 */
class AffordancesResource implements AffordanceService, PersistentState {
  constructor(
    private readonly world: World,
    readonly st: AffordancesState,
    readonly rt: Runtime,
    /** Meals each agent cooked and ate, for telemetry (meals.ts; not saved or hashed). */
    readonly meals: MealCounter,
  ) {}
  get registry() {
    return this.st.registry;
  }
  get objects(): readonly number[] {
    return this.st.objects;
  }
  registerAffordance(a: AffordanceInput): number {
    return registerAffordance(this.world, a);
  }
  objectById(town: number, id: string): number {
    return objectById(this.world, town, id);
  }
  objectsOfType(town: number, type: number): Int32Array {
    return this.st.byTownType.get(town * 65536 + type) ?? NO_OBJECTS;
  }
  /** The counters, and the registry's shape: a resumed world must have the same types and affordances. */
  save(): unknown {
    const r = this.st.registry;
    return { state: this.st.save(), registry: { checksum: r.checksum, types: [...r.types], affordances: r.affordances.map((a) => a?.id ?? null) } };
  }
  load(data: unknown): void {
    const d = data as { state: unknown; registry: { checksum: string; types: string[]; affordances: (string | null)[] } };
    const r = this.st.registry;
    const now = { checksum: r.checksum, types: [...r.types], affordances: r.affordances.map((a) => a?.id ?? null) };
    if (JSON.stringify(now) !== JSON.stringify(d.registry)) {
      throw new Error(
        "affordance registry differs from the snapshot's (the manifest changed, or types/affordances were registered at run time): " +
          `snapshot ${d.registry.types.length} types / ${d.registry.affordances.length} affordances, this world ${now.types.length} / ${now.affordances.length}`,
      );
    }
    this.st.load(d.state);
  }
  hash(h: StateHasher): void {
    this.st.hash(h);
  }
}

export const affordancesPlugin = definePlugin({
  name: "affordances",
  telemetry: affordancesTelemetry,
  commands: affordanceCommands,
  provides: [AffordancesKey],
  requires: [SpaceKey],
  optional: [SocialKey],
  doc: "intents, queues, reservations, running affordances, hooks, objects and the registry",
  sections: { ...affordanceSections, ...queueSections },
  files: [
    {
      path: ["affordances", "affordances_file"],
      kind: "affordance manifest",
      schema: AffordanceManifest,
      mode: "path",
      detect: (raw) => Array.isArray(raw),
    },
  ],
  components: { Obj, Activity, Intent, Wallet, Needs },
  messages: [AffordanceStart, AffordanceFinish, AffordanceFail, QueueConflict, QueueHandover, ChatSuccess, ChatFailure, AffordanceReload],
  entities(settings, towns) {
    // Objects per town: the scenario's list, else the manifest's (parsed here once; `state`
    // takes this parse instead of reading the file again).
    const sc = settings.scenario;
    if (sc && sc.objects.length > 0) return towns * sc.objects.length;
    const st = AffordancesState.fromFile(settings.affordances.affordances_file);
    parsedForWorld.set(settings, st);
    return towns * st.registry.objects.length;
  },
  state: (world: World): AffordancesResource => {
    const file = world.settings.affordances.affordances_file;
    const parsed = parsedForWorld.get(world.settings);
    parsedForWorld.delete(world.settings);
    const st = parsed && parsed.manifestPath === file ? parsed : AffordancesState.fromFile(file);
    registerBuiltinHooks(st.hooks, st);
    return new AffordancesResource(world, st, new Runtime(world, st), new MealCounter(world, () => st.registry));
  },
  // Objects that could not be placed would stop `run` at build time: validate says so instead.
  checks: (settings) => [...objectPlacementProblems(settings), ...manifestEffectProblems(settings)],
  setup({ world, state }) {
    instantiateObjects(world, state.st);
  },
  onAgentSpawn({ world }, eid) {
    world.addComponent(eid, Activity);
    world.addComponent(eid, Intent);
  },
  onLoad({ world, state: { st } }) {
    // Objects in entity order (as createObject keeps them), then the (town, type) index.
    const isObj = world.components.flags(Obj);
    const max = world.maxEntityId();
    const objects: number[] = [];
    for (let eid = 1; eid <= max; eid++) if (isObj[eid] === 1) objects.push(eid);
    st.objects = objects;
    rebuildTypeIndex(world, st);
    world.optionalResource(SpaceKey)?.setObjectTypeCount(st.registry.types.length);
  },
  onAgentRemove({ world, state: { st, rt } }, eid) {
    rt.bind(world.tick, world.send.bind(world));
    const A = rt.A;
    if (A.running[eid] >= 0) rt.fail(eid, A.holding[eid], A.running[eid], "agent_exit");
    if (A.holding[eid] !== 0) rt.release(A.holding[eid], eid, false);
    rt.leaveQueue(eid);
    void st;
  },
  kpis({ state: { st } }) {
    const completed: Record<string, number> = {};
    for (const a of st.registry.affordances) if (a) completed[a.id] = st.completed[a.index] ?? 0;
    const c = st.counters;
    return {
      affordances_completed: completed,
      affordance_failures: c.failures,
      affordance_failure_reasons: { ...st.failReasons },
      queue_ghost_steps: c.ghost_step_events,
      queue_conflicts: c.queue_conflicts,
      queue_rotations: c.rotation_events,
      queue_cooldown_refusals: c.cooldown_events,
      reservation_timeouts: c.reservation_timeouts,
      queue_handovers: c.handovers,
      chats: { ok: c.chats_ok, failed: c.chats_failed },
    };
  },
  systems: [
    {
      // Meals cooked and eaten per agent, for telemetry's job records (meals.ts says why needs).
      ...COUNT_MEALS,
      run({ state }) {
        state.meals.count();
      },
    },
    {
      name: "affordances/reload",
      phase: "console",
      reads: ["manifest file (checked by tools)"],
      writes: ["registry"],
      run({ state: { st }, send, world }) {
        if (st.pending) {
          st.registry = st.pending;
          st.pending = undefined;
          send(AffordanceReload, 1, world.intern(`${st.manifestPath}: ${st.registry.affordances.filter((a) => a.active).length} affordances`));
        } else if (st.pendingError) {
          send(AffordanceReload, 0, world.intern(st.pendingError));
          st.pendingError = undefined;
        }
      },
    },
    {
      name: "affordances/act",
      phase: "affordances",
      sets: [AffordanceSets.Act],
      reads: ["Intent", "Position"],
      writes: ["Activity", "Position", "Obj"],
      run({ world, tick, agents, send, state: { st, rt } }) {
        rt.bind(tick, send);
        const I = world.columns(Intent);
        const { A, O, P } = rt;
        const space = world.resource(SpaceKey);
        const T = rt.T;
        const ghostAfter = world.settings.queue_fairness.ghost_step_after;
        const social = world.optionalResource(SocialKey)?.ledger;
        const avoid = world.settings.conflict.rivalry.avoid_threshold;
        const uid = world.columns(world.componentDef("Agent")).uid as Uint32Array;
        const isObj = world.components.flags(Obj);
        const isAgent = world.components.flags(world.componentDef("Agent"));
        for (let i = 0; i < agents.length; i++) {
          const eid = agents[i];
          const kind = I.kind[eid];
          A.last_intent[eid] = kind;
          A.last_ok[eid] = 1;
          const held = A.holding[eid];
          if (A.running[eid] >= 0) {
            // Busy: only letting go of the object interrupts a running affordance.
            if (kind === INT_RELEASE && (I.object[eid] === 0 || I.object[eid] === held)) rt.fail(eid, held, A.running[eid], "released");
            else if (kind !== INT_NONE && kind !== INT_WAIT) A.last_ok[eid] = 0;
            continue;
          }
          if (held !== 0 && A.pending[eid] >= 0 && kind !== INT_RELEASE && kind !== INT_BLOCKED && rt.adjacent(eid, held)) {
            if (!rt.start(eid, held, A.pending[eid])) A.last_ok[eid] = 0;
            continue;
          }
          switch (kind) {
            case INT_MOVE: {
              const s = stepToward(P.x[eid], P.y[eid], I.x[eid], I.y[eid]);
              if (s >= 0) step(world, space, P, T, eid, s);
              break;
            }
            case INT_REQUEST:
            case INT_START: {
              const obj = I.object[eid];
              if (obj <= 0 || isObj[obj] !== 1 || T[obj] !== T[eid]) {
                A.last_ok[eid] = 0;
                break;
              }
              let aff = I.affordance[eid];
              if (aff < 0) aff = st.registry.ofType(O.type[obj])[0] ?? -1;
              if (A.queued[eid] !== 0 && A.queued[eid] !== obj) rt.leaveQueue(eid);
              if (held !== 0 && held !== obj) rt.release(held, eid, false);
              if (!rt.adjacent(eid, obj)) {
                const s = stepToward(P.x[eid], P.y[eid], P.x[obj], P.y[obj]);
                if (s >= 0) step(world, space, P, T, eid, s);
                break;
              }
              const r = rt.request(eid, obj, aff);
              if ((r === Req.Granted || r === Req.Held) && kind === INT_START && aff >= 0) {
                if (!rt.start(eid, obj, aff)) A.last_ok[eid] = 0;
              } else if (r === Req.Queued && I.blocked[eid] === 1) {
                blockedAttempt(rt, obj, eid, ghostAfter);
              } else if (r < 0) A.last_ok[eid] = 0;
              break;
            }
            case INT_RELEASE: {
              const obj = I.object[eid] || held || A.queued[eid];
              if (obj !== 0 && held === obj) rt.release(obj, eid, false);
              else if (obj !== 0 && A.queued[eid] === obj) rt.leaveQueue(eid);
              else A.last_ok[eid] = 0;
              break;
            }
            case INT_BLOCKED: {
              const obj = I.object[eid];
              if (obj > 0 && A.queued[eid] === obj) blockedAttempt(rt, obj, eid, ghostAfter);
              else A.last_ok[eid] = 0;
              break;
            }
            case INT_CHAT: {
              const other = I.target[eid];
              if (other <= 0 || other === eid || isAgent[other] !== 1 || T[other] !== T[eid]) {
                A.last_ok[eid] = 0;
                break;
              }
              if (Math.abs(P.x[eid] - P.x[other]) + Math.abs(P.y[eid] - P.y[other]) > 1) {
                send(ChatFailure, eid, other, world.intern("too_far"));
                st.counters.chats_failed++;
                A.last_ok[eid] = 0;
              } else if (social && social.rivalryOf(eid, uid[other]) >= avoid) {
                send(ChatFailure, eid, other, world.intern("rival"));
                st.counters.chats_failed++;
                A.last_ok[eid] = 0;
              } else {
                send(ChatSuccess, eid, other, I.quality[eid]);
                st.counters.chats_ok++;
              }
              break;
            }
          }
        }
      },
    },
    {
      name: "affordances/queues",
      phase: "affordances",
      sets: [AffordanceSets.Queues],
      after: [AffordanceSets.Act],
      reads: ["Obj", "Activity"],
      writes: ["Obj", "Activity"],
      run({ world, tick, send, state: { st, rt } }) {
        rt.bind(tick, send);
        const O = rt.O;
        const q = world.settings.queue_fairness;
        const objects = st.objects;
        for (let i = 0; i < objects.length; i++) {
          const obj = objects[i];
          const holder = O.holder[obj];
          if (holder === 0) {
            if (O.queue_head[obj] !== 0) rt.grantNext(obj);
            continue;
          }
          if (O.running[obj] >= 0 || O.idle_since[obj] >= tick) continue;
          if (O.queue_len[obj] > 0) {
            // The head of the queue is blocked by a holder who is not using the object.
            O.stall[obj]++;
            if (q.ghost_step_after > 0 && O.stall[obj] >= q.ghost_step_after) rt.ghostStep(obj);
          } else if (tick - O.idle_since[obj] >= q.reservation_timeout_ticks) {
            st.counters.reservation_timeouts++;
            rt.release(obj, holder, false);
          }
        }
      },
    },
    {
      name: "affordances/run",
      phase: "affordances",
      sets: [AffordanceSets.Run],
      after: [AffordanceSets.Queues],
      reads: ["Obj", "Activity", "TownEconomy"],
      writes: ["Needs", "Wallet", "Obj", "Activity"],
      run({ tick, send, state: { st, rt } }) {
        rt.bind(tick, send);
        const { O, A } = rt;
        const objects = st.objects;
        for (let i = 0; i < objects.length; i++) {
          const obj = objects[i];
          const aff = O.running[obj];
          if (aff < 0) continue;
          const agent = O.holder[obj];
          const spec = st.registry.affordances[aff];
          if ((spec.needsPower && !rt.powered(obj)) || (spec.needsWater && !rt.watered(obj))) {
            rt.fail(agent, obj, aff, "outage");
            continue;
          }
          A.remaining[agent]--;
          if (A.remaining[agent] <= 0) rt.finish(agent, obj);
        }
      },
    },
  ],
});

/** Counts a blocked attempt at `obj` by a waiter; an idle holder may be ghost-stepped. */
function blockedAttempt(rt: Runtime, obj: number, agent: number, ghostAfter: number): void {
  const O = rt.O;
  if (O.holder[obj] === 0 || O.holder[obj] === agent || O.running[obj] >= 0 || O.idle_since[obj] >= rt.tick) return;
  O.stall[obj]++;
  if (ghostAfter > 0 && O.stall[obj] >= ghostAfter) rt.ghostStep(obj);
}

function step(world: World, space: SpatialIndex, P: { x: Int16Array; y: Int16Array }, T: Uint32Array, eid: number, s: number): void {
  const nx = P.x[eid] + STEPS[s][0];
  const ny = P.y[eid] + STEPS[s][1];
  if (!space.inBounds(nx, ny)) return;
  P.x[eid] = nx;
  P.y[eid] = ny;
  space.place(eid, T[eid], nx, ny);
  void world;
}

// ---- objects ------------------------------------------------------------------------------

/** A manifest parsed by `entities` for the world being built from these settings, used once by `state`. */
const parsedForWorld = new WeakMap<object, AffordancesState>();

export interface ObjectInput {
  id: string;
  object_type: string;
  position?: readonly [number, number] | null;
  stock?: Record<string, number>;
}

/** Creates an object in a town (programmatic registration for tests, scenarios and plug-ins). */
export function registerObject(world: World, town: number, o: ObjectInput): number {
  const eid = createObject(world, town, o);
  const { st } = world.state<AffordancesResource>("affordances");
  rebuildTypeIndex(world, st);
  return eid;
}

function createObject(world: World, town: number, o: ObjectInput): number {
  const { st } = world.state<AffordancesResource>("affordances");
  const space = world.resource(SpaceKey);
  const type = st.registry.ensureType(o.object_type);
  const pos = o.position ?? freeTile(space, town, st.objects.length);
  if (!space.inBounds(pos[0], pos[1])) {
    throw new RangeError(`object ${o.id}: position [${pos[0]}, ${pos[1]}] is outside the ${space.width}x${space.height} grid`);
  }
  if (space.objectAt(town, pos[0], pos[1]) !== 0) {
    throw new Error(`object ${o.id}: tile [${pos[0]}, ${pos[1]}] of town ${town} already holds an object`);
  }
  const stock: Record<string, number> = { ...(DEFAULT_STOCK[o.object_type] ?? {}) };
  for (const [k, v] of Object.entries(o.stock ?? {})) {
    if (!STOCK_FIELDS.has(k)) throw new Error(`object ${o.id}: unknown stock key "${k}" (known: ${[...STOCK_FIELDS].join(", ")})`);
    stock[k] = v;
  }
  const eid = world.spawnEntity(town, [Obj, Position], {
    Obj: { type, key: world.intern(o.id), running: -1, ...stock },
    Position: { x: pos[0], y: pos[1] },
  });
  const n = st.objects.length;
  st.objects.push(eid);
  if (n > 0 && st.objects[n - 1] > eid) st.objects.sort((a, b) => a - b);
  space.setObjectTypeCount(st.registry.types.length);
  space.placeObject(eid, town, pos[0], pos[1], type);
  return eid;
}

/** Adds or replaces an affordance (programmatic registration). */
export function registerAffordance(world: World, a: AffordanceInput): number {
  const { st } = world.state<AffordancesResource>("affordances");
  const spec = st.registry.registerAffordance(a);
  world.resource(SpaceKey).setObjectTypeCount(st.registry.types.length);
  return spec.index;
}

/** The affordance registry of a world (object types, affordances). */
export function affordanceRegistry(world: World) {
  return world.state<AffordancesResource>("affordances").st.registry;
}

/** The affordances plug-in's resource (registry, hooks, counters, hot reload). */
export function affordancesState(world: World): AffordancesState {
  return world.state<AffordancesResource>("affordances").st;
}

/** The object entity of a town with the given id, or 0. */
export function objectById(world: World, town: number, id: string): number {
  const { st } = world.state<AffordancesResource>("affordances");
  const O = world.columns(Obj);
  const T = world.columns(Town).id;
  const key = world.intern(id);
  for (const e of st.objects) if (O.key[e] === key && T[e] === town) return e;
  return 0;
}

/** [eid, x, y, ...] of the objects of `type` in `town`. */
export function objectsOfType(world: World, town: number, type: number): Int32Array {
  return objectsOf(world.state<AffordancesResource>("affordances").st, town, type);
}

function rebuildTypeIndex(world: World, st: AffordancesState): void {
  const O = world.columns(Obj);
  const P = world.columns(Position);
  const T = world.columns(Town).id;
  const lists = new Map<number, number[]>();
  for (const e of st.objects) {
    const key = T[e] * 65536 + O.type[e];
    let l = lists.get(key);
    if (!l) lists.set(key, (l = []));
    l.push(e, P.x[e], P.y[e]);
  }
  st.byTownType = new Map([...lists].map(([k, v]) => [k, Int32Array.from(v)]));
}

/**
 * Why the objects of a town (the scenario's, else the manifest's) would not fit its grid: a
 * position outside it, two on one tile, or no free tile left for one without a position (the
 * tiles freeTile would try, in the same order). Checked for town 0; every town gets the same.
 */
function objectPlacementProblems(settings: ConfigSections): ConfigCheckProblem[] {
  const [w, h] = settings.world.grid_size;
  const sc = settings.scenario;
  let entries: readonly { id: string; position?: readonly [number, number] | null }[];
  let where: string[];
  if (sc && sc.objects.length > 0) {
    entries = sc.objects;
    where = ["scenario", "objects"];
  } else {
    try {
      const st = AffordancesState.fromFile(settings.affordances.affordances_file);
      parsedForWorld.set(settings, st);
      entries = st.registry.objects;
    } catch {
      return []; // the manifest's own problems are reported where it is loaded
    }
    where = ["affordances", "affordances_file"];
  }
  const taken = new Set<number>();
  const perRow = Math.max(1, Math.floor((w - 1) / 2));
  for (let k = 0; k < entries.length; k++) {
    const o = entries[k];
    let pos = o.position ?? undefined;
    if (!pos) {
      for (let j = k; j < k + w * h && !pos; j++) {
        const x = 1 + 2 * (j % perRow);
        const y = (Math.floor(h / 2) + 2 * Math.floor(j / perRow)) % h;
        if (x < w && !taken.has(y * w + x)) pos = [x, y];
      }
      if (!pos) return [{ path: ["world", "grid_size"], message: `no free tile left for object "${o.id}" (${entries.length} objects of ${where.join(".")}) on a ${w}x${h} grid; make the grid larger` }];
    }
    const [x, y] = pos;
    if (x < 0 || y < 0 || x >= w || y >= h) return [{ path: ["world", "grid_size"], message: `object "${o.id}" of ${where.join(".")} is at [${x}, ${y}], outside the ${w}x${h} grid` }];
    if (taken.has(y * w + x)) return [{ path: where, message: `object "${o.id}" is at [${x}, ${y}], a tile another object already holds` }];
    taken.add(y * w + x);
  }
  return [];
}

/** A free tile for an object without a position: rows of every other tile from the centre. */
function freeTile(space: SpatialIndex, town: number, k: number): [number, number] {
  const w = space.width;
  const h = space.height;
  const perRow = Math.max(1, Math.floor((w - 1) / 2));
  for (let j = k; j < k + w * h; j++) {
    const x = 1 + 2 * (j % perRow);
    const y = (Math.floor(h / 2) + 2 * Math.floor(j / perRow)) % h;
    if (x < w && space.objectAt(town, x, y) === 0) return [x, y];
  }
  throw new Error(`town ${town}: no free tile left for an object`);
}

function instantiateObjects(world: World, st: AffordancesState): void {
  const scenario = world.settings.scenario;
  const entries: ManifestObjectEntry[] | ObjectInput[] =
    scenario && scenario.objects.length > 0
      ? scenario.objects.map((o) => ({ id: o.id, object_type: o.type, position: o.position }))
      : st.registry.objects;
  for (let t = 0; t < world.towns; t++) {
    for (const o of entries) createObject(world, t, o);
  }
  rebuildTypeIndex(world, st);
}
