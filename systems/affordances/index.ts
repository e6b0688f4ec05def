// Affordances (phase affordances): carries out each agent's Intent (walking one tile per tick,
// queueing at objects, starting, releasing, chatting), keeps queues and reservations fair
// (cooldowns, age priority, reservation timeouts, ghost steps), advances running affordances
// and applies their effects and hooks. Also owns the object entities and the affordance
// registry, hot-reloaded at tick boundaries (phase console). Reads Intent, Needs, Wallet,
// TownEconomy; writes Activity, Obj, Position, Needs, Wallet; sends the affordance and queue
// messages.
import { definePlugin } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { Obj } from "../../components/objects.ts";
import { Activity, Intent } from "../../components/activity.ts";
import { Wallet } from "../../components/economy.ts";
import { Needs } from "../../components/needs.ts";
import { AffordanceSets } from "../../components/sets.ts";
import { SpaceKey } from "../../components/grid.ts";
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
import { sections as affordanceSections, AffordanceManifest, runtimeFactoryProblems } from "./config.ts";
import { sections as queueSections } from "./queue-config.ts";
import { AffordancesState } from "./state.ts";
import { instrumentedRuntime } from "./timings.ts";
import { actGeneric, actKernel, actKernelPass, type ActCtx } from "./act.ts";
import { queuesPass, runPass } from "./objects-loop.ts";
import { manifestEffectProblems } from "./effects.ts";
import { registerBuiltinHooks } from "./builtins.ts";
import { checkHookModulesLoaded, loadHookModules } from "./hook-modules.ts";
import { SocialKey } from "../../components/social.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { affordanceCommands } from "./commands.ts";
import { affordancesTelemetry } from "./telemetry.ts";
import { affordancesObservations } from "./observations.ts";
import { COUNT_MEALS, MealCounter } from "./meals.ts";
import { AffordancesResource } from "./resource.ts";
import { detachObject } from "./remove.ts";
import { checkHooks } from "./hook-check.ts";
import { parsedForWorld, instantiateObjects, rebuildTypeIndex, objectPlacementProblems } from "./objects.ts";
// The object entities and registration functions live in objects.ts (the resource in
// resource.ts); this path keeps exporting them.
export { removeObject, OBJECT_REMOVED } from "./remove.ts";
export { registerObject, registerAffordance, affordanceRegistry, affordancesState, objectById, objectsOfType, type ObjectInput } from "./objects.ts";

export const affordancesPlugin = Object.assign(definePlugin({
  name: "affordances",
  telemetry: affordancesTelemetry,
  observations: affordancesObservations,
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
    // instrumentation "timings": a timed runtime and hook registry; "off": the plain ones (timings.ts).
    const { rt, timings } = instrumentedRuntime(world, st);
    registerBuiltinHooks(st.hooks, st);
    return new AffordancesResource(world, st, rt, new MealCounter(world, () => st.registry), timings);
  },
  // Objects that could not be placed would stop `run` at build time: validate says so instead.
  // A runtime factory (the original's custom runtime) is refused, not ignored (config.ts).
  checks: (settings) => [...runtimeFactoryProblems(settings), ...objectPlacementProblems(settings), ...manifestEffectProblems(settings)],
  setup({ world, state }) {
    checkHookModulesLoaded(world);
    instantiateObjects(world, state.st);
  },
  onAgentSpawn({ world, state: { rt } }, eid) {
    world.addComponent(eid, Activity);
    world.addComponent(eid, Intent);
    rt.wake(eid);
  },
  onLoad({ world, state: { st, rt } }) {
    rt.wakeAll();
    // Objects in entity order (as createObject keeps them), then the (town, type) index.
    const isObj = world.components.flags(Obj);
    const max = world.maxEntityId();
    const objects: number[] = [];
    for (let eid = 1; eid <= max; eid++) if (isObj[eid] === 1) objects.push(eid);
    st.objects = objects;
    rebuildTypeIndex(world, st);
    world.optionalResource(SpaceKey)?.setObjectTypeCount(st.registry.types.length);
  },
  // An object entity removed (world.removeEntity, or removeObject): out of every index at once (remove.ts).
  onEntityRemove({ world, state }, eid) {
    detachObject(world, state, eid);
  },
  onAgentRemove({ world, state: { st, rt } }, eid) {
    // Removed by a hook while act/queues/run runs: that pass's binding stands (its tick, send and
    // wake bitset, which the act loops hold; the arrays a spawn replaced are taken after the hook).
    if (!rt.inPass) rt.bind(world.tick, world.send.bind(world));
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
        // Hooks no plug-in or module registered: warned once per registry (the first tick's, a reload's).
        checkHooks(st, world.settings.world.shards ?? 1);
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
        const c: ActCtx = {
          world,
          rt,
          st,
          I: world.columns(Intent),
          space: world.resource(SpaceKey),
          isObj: world.components.flags(Obj),
          isAgent: world.components.flags(world.componentDef("Agent")),
          uid: world.columns(world.componentDef("Agent")).uid as Uint32Array,
          social: world.optionalResource(SocialKey)?.ledger,
          avoid: world.settings.conflict.rivalry.avoid_threshold,
          ghostAfter: world.settings.queue_fairness.ghost_step_after,
          send,
        };
        if (!rt.skipQuiet) rt.actWake.fill(0xffffffff);
        const kernel = rt.useActKernel ? actKernel(c) : undefined;
        rt.inPass = true;
        try {
          if (kernel !== undefined) actKernelPass(c, kernel, world.spans, tick);
          else actGeneric(c, agents);
        } finally {
          rt.inPass = false;
        }
        rt.actRan = kernel !== undefined ? "kernel" : "generic";
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
        rt.inPass = true;
        try {
          queuesPass(world, rt, st, tick);
        } finally {
          rt.inPass = false;
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
        rt.inPass = true;
        try {
          runPass(rt, st);
        } finally {
          rt.inPass = false;
        }
      },
    },
  ],
}), {
  /** The hook modules its config names (hook-modules.ts), as one plug-in: engine/plugin-loader.ts resolvePlugins adds it. */
  configModules: (configFile: string) => loadHookModules(configFile),
});

/** Which loop affordances/act ran on the world's last tick ("" before its first). */
export function actPath(world: World): "kernel" | "generic" | "" {
  return world.state<AffordancesResource>("affordances").rt.actRan;
}
