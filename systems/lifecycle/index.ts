// Lifecycle (phase: needs). `lifecycle/exits` (NeedsSets.Exits) marks Lifecycle.exit_reason:
// faint (hunger <= faint_hunger, while mortality is on) and unemployment (no money and no wage
// for unemployment_grace_ticks); a reason set earlier (employment's eviction, the console) is kept.
// `lifecycle/finalize` (NeedsSets.Finalize) sends AgentExit, removes exited agents, schedules and
// spawns their replacements (new agents with new ids) within cooldown and daily cap, and runs
// the nightly reset. Reads Needs, Wallet, Employment, Reward; writes Lifecycle, Needs (nightly).
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { ConfigSections } from "../../engine/config/sections.ts";
import type { World } from "../../engine/world.ts";
import { Agent, Town } from "../../engine/core-components.ts";
import { ticksPerDay } from "../../engine/clock.ts";
import { Needs, NeedsKey } from "../../components/needs.ts";
import { Wallet, TownEconomy } from "../../components/economy.ts";
import { Employment, EXIT_REASON_NAMES, ExitReason, Lifecycle, Reward } from "../../components/people.ts";
import { AgentExit, AgentSpawn } from "../../components/messages.ts";
import { NeedsSets } from "../../components/sets.ts";
import { sections } from "./config.ts";
import { lifecycleCommands } from "./commands.ts";
import { freshCopy, sameArrays } from "../../engine/kernel-source.ts";
import { compileRaise, exitsFactory, leavingFactory, primeExits, primeLeaving, primeRaise, raiseSpans, type ExitsArrays, type ExitsKernel, type LeavingKernel, type RaiseKernel } from "./kernels.ts";

const NO_RESPAWN = -1;

/**
 * Lifecycle bookkeeping that survives snapshots: replacements waiting to spawn (in the order
 * they were scheduled), exit and respawn counters, and the mortality switch.
 */
export class LifecycleState implements PersistentState {
  mortality: boolean;
  /** Pending replacements, parallel arrays: town, tick due, uid of the agent replaced. */
  pendingTown: number[] = [];
  pendingDue: number[] = [];
  pendingReplaces: number[] = [];
  /** Exits since start, by ExitReason. */
  exits: number[] = EXIT_REASON_NAMES.map(() => 0);
  /** Replacements spawned since start. */
  respawns = 0;
  /** Scratch: agents leaving this tick (not state: empty between ticks). */
  leaving = new Int32Array(16);
  /** The exits and leaving kernels (kernels.ts) and the inputs they were made for (not state). */
  exitsKernel: ExitsKernel | undefined;
  exitsKey: unknown[] = [];
  exitsInputs: unknown[] = new Array<unknown>(10).fill(undefined);
  leavingKernel: LeavingKernel | undefined;
  leavingFor: Uint8Array | undefined;
  leavingInto: Int32Array | undefined;
  /** The nightly reset's kernel (null: code generation not allowed) and the need columns it was made for (not state). */
  raiseKernel: RaiseKernel | null | undefined;
  raiseCols: Float32Array[] = [];

  constructor(mortality: boolean) {
    this.mortality = mortality;
  }

  save(): unknown {
    return {
      mortality: this.mortality,
      pending: { town: [...this.pendingTown], due: [...this.pendingDue], replaces: [...this.pendingReplaces] },
      exits: [...this.exits],
      respawns: this.respawns,
    };
  }

  load(data: unknown): void {
    const d = data as {
      mortality: boolean;
      pending: { town: number[]; due: number[]; replaces: number[] };
      exits: number[];
      respawns: number;
    };
    this.mortality = d.mortality;
    this.pendingTown = [...d.pending.town];
    this.pendingDue = [...d.pending.due];
    this.pendingReplaces = [...d.pending.replaces];
    this.exits = EXIT_REASON_NAMES.map((_, i) => d.exits[i] ?? 0);
    this.respawns = d.respawns;
  }

  hash(h: StateHasher): void {
    h.u32(this.mortality ? 1 : 0).u32(this.pendingTown.length);
    for (let i = 0; i < this.pendingTown.length; i++) h.u32(this.pendingTown[i]).u32(this.pendingDue[i]).u32(this.pendingReplaces[i]);
    for (const n of this.exits) h.u32(n);
    h.u32(this.respawns);
  }
}

export const lifecyclePlugin = definePlugin({
  name: "lifecycle",
  commands: lifecycleCommands,
  optional: [NeedsKey],
  doc: "exits (faint, eviction, unemployment, console), replacements with cooldown and daily cap, nightly reset",
  sections,
  components: { Lifecycle, Needs, Wallet, Employment, Reward },
  townState: {
    LifecycleTown: {
      last_respawn: { type: Int32Array, default: NO_RESPAWN, doc: "tick of the town's last respawn, -1 = none yet" },
      day: { type: Int32Array, default: -1, doc: "day index that respawns_today counts" },
      respawns_today: { type: Uint32Array, doc: "respawns in the town on that day" },
    },
  },
  messages: [AgentExit, AgentSpawn],
  state: (world: World) => new LifecycleState((world.settings as Partial<ConfigSections>).lifecycle?.mortality ?? true),
  onAgentSpawn({ world }, eid) {
    // spawned_tick: the last tick completed before the agent's first needs pass (a replacement
    // spawned in Finalize of tick t gets t through its init).
    world.addComponent(eid, Lifecycle, { spawned_tick: world.tick });
  },
  onAgentReady({ world, send, components: { Lifecycle: L } }, eid) {
    // Every spawn (initial population, scenario, console, replacement) is announced here, when
    // the agent is complete. Sent outside a tick it is seen by every phase of the next tick.
    send(AgentSpawn, eid, world.columns(Agent).uid[eid], world.columns(Town).id[eid], L.replaces_uid[eid]);
  },
  kpis({ state }) {
    const exits: Record<string, number> = {};
    let total = 0;
    for (let r = 1; r < EXIT_REASON_NAMES.length; r++) {
      exits[EXIT_REASON_NAMES[r]] = state.exits[r];
      total += state.exits[r];
    }
    exits.total = total;
    return { exits, spawns: state.respawns, pending_respawns: state.pendingTown.length };
  },
  systems: [
    {
      name: "lifecycle/exits",
      phase: "needs",
      sets: [NeedsSets.Exits],
      after: [NeedsSets.Social],
      reads: ["Needs.hunger", "Wallet.money", "Employment.wage_this_tick", "lifecycle.*", "features.systems.lifecycle"],
      writes: ["Lifecycle.exit_reason", "Lifecycle.broke_ticks"],
      run({ world, spans, settings, state, components: { Lifecycle: L, Needs: N, Wallet: W, Employment: E } }) {
        if (settings.features.systems.lifecycle !== "on") return;
        const cfg = settings.lifecycle;
        // A perturbation (blackout, outage) defers faints in its town while it lasts (TownEconomy.suppress_exit).
        const hold = world.townStore.isRegistered(TownEconomy) ? world.townColumns(TownEconomy).suppress_exit : undefined;
        // The kernel's inputs, in a reused array (nothing allocated per tick unless one moved).
        const key = state.exitsInputs;
        key[0] = world.components.flags(Wallet);
        key[1] = W.money;
        key[2] = E.wage_this_tick;
        key[3] = L.broke_ticks;
        key[4] = L.exit_reason;
        key[5] = N.hunger;
        key[6] = world.columns(Town).id;
        key[7] = hold ?? NO_HOLD;
        key[8] = hold !== undefined ? 1 : 0;
        key[9] = state.mortality ? 1 : 0;
        if (state.exitsKernel === undefined || !sameArrays(key, state.exitsKey)) {
          state.exitsKey = [...key];
          state.exitsKernel = freshCopy(exitsFactory)(
            key[0] as Uint8Array,
            key[1] as Float32Array,
            key[2] as Float32Array,
            key[3] as Uint16Array,
            key[4] as Uint8Array,
            key[5] as Float32Array,
            key[6] as Uint32Array,
            key[7] as Uint8Array,
            key[8] as number,
            key[9] as number,
            F_NONE,
            F_FAINT,
            F_UNEMPLOYMENT,
          );
          // Every branch given type feedback on the first agent, its values put back (issue #19).
          if (spans.length >= 2) {
            const arrays = { hasWallet: key[0], money: key[1], wage: key[2], broke: key[3], exitReason: key[4], hunger: key[5], townOf: key[6], hold: key[7] } as ExitsArrays;
            primeExits(state.exitsKernel, arrays, spans[0], cfg.faint_hunger, cfg.unemployment_grace_ticks, F_NONE, F_FAINT);
          }
        }
        state.exitsKernel(spans, cfg.faint_hunger, cfg.unemployment_grace_ticks);
      },
    },
    {
      name: "lifecycle/finalize",
      phase: "needs",
      sets: [NeedsSets.Finalize],
      after: [NeedsSets.Rewards],
      reads: ["Lifecycle", "Reward.total", "lifecycle.*"],
      writes: ["AgentExit", "AgentSpawn", "entities", "Needs (nightly reset)"],
      run(ctx) {
        const { world, tick, spans, settings, state, rng, send } = ctx;
        const { Lifecycle: L, Reward: R } = ctx.components;
        const cfg = settings.lifecycle;

        // 1. Agents leaving this tick, collected first: removal and spawning change the agent list.
        // The scratch holds what leaves (doubled when a tick's exits do not fit; issue #19 memory:
        // it had room for every agent, 5 B per agent).
        const n = collectLeaving(state, L.exit_reason, spans);
        const leaving = state.leaving;

        // 2. Announce, schedule the replacement, remove.
        const town = world.columns(Town).id;
        const uid = world.columns(Agent).uid;
        for (let k = 0; k < n; k++) {
          const eid = leaving[k];
          const reason = L.exit_reason[eid];
          const t = town[eid];
          const u = uid[eid];
          send(AgentExit, eid, u, t, world.intern(EXIT_REASON_NAMES[reason] ?? "unknown"), R.total[eid]);
          if (reason < state.exits.length) state.exits[reason]++;
          state.pendingTown.push(t);
          state.pendingDue.push(tick + cfg.respawn_delay_ticks + rng.intBetween(cfg.respawn_delay_min, cfg.respawn_delay_max));
          state.pendingReplaces.push(u);
          world.removeEntity(eid);
        }

        // 3. Replacements due, oldest first; one blocked by the cooldown or the cap waits.
        if (state.pendingTown.length > 0) spawnDue(ctx.world, ctx.townState.LifecycleTown, state, tick, cfg.exit_cooldown_ticks, cfg.daily_respawn_cap, ticksPerDay(settings));

        // 4. Nightly reset: every need of the table raised to at least 0.5. Agents stay on their
        // tiles: in a walking world a teleport home would skip the walk (the original moves them home).
        const needCols = world.optionalResource(NeedsKey)?.columns();
        if (needCols !== undefined) nightly(state, needCols, world, tick % ticksPerDay(settings) === 0);
      },
    },
  ],
});

/**
 * The nightly reset (`midnight`): every need column raised to at least 0.5 over the agents, by a
 * kernel generated for the world's need columns (kernels.ts compileRaise), made and primed on any
 * tick where the columns moved, so that midnight runs it warm; raiseSpans where code generation
 * is not allowed.
 */
function nightly(state: LifecycleState, cols: readonly Float32Array[], world: World, midnight: boolean): void {
  // The agents' spans are read only when needed: after this tick's removals and spawns, reading
  // them brings the agent list up to date (work the next reader would do otherwise).
  if (state.raiseKernel === undefined || !sameArrays(cols, state.raiseCols)) {
    state.raiseCols = [...cols];
    state.raiseKernel = compileRaise(cols) ?? null;
    if (state.raiseKernel !== null) primeRaise(state.raiseKernel, cols, world.spans);
    else primeRaiseSpans();
  }
  if (!midnight) return;
  if (state.raiseKernel !== null) state.raiseKernel(world.spans, 0.5);
  else raiseSpans(cols, world.spans, 0.5);
}

/**
 * Runs raiseSpans on scratch columns until V8 has optimised it, once per process (issue #19: the
 * reset runs once a simulated day, so its first run at 100k agents, at tick 1440, ran cold:
 * +6.8 ms in lifecycle/finalize). Scratch data only: no world is touched.
 */
let raisePrimed = false;
function primeRaiseSpans(): void {
  if (raisePrimed) return;
  raisePrimed = true;
  const n = 4096;
  const spans = Int32Array.of(0, n);
  const cols = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  for (let r = 0; r < 32; r++) {
    for (const c of cols) for (let i = 0; i < n; i++) c[i] = ((i * 7 + r) % 10) / 10;
    raiseSpans(cols, spans, 0.5);
  }
}

/** The agents leaving this tick into state.leaving (grown until they fit); returns how many. */
function collectLeaving(state: LifecycleState, exitReason: Uint8Array, spans: Int32Array): number {
  for (;;) {
    if (state.leavingKernel === undefined || state.leavingFor !== exitReason || state.leavingInto !== state.leaving) {
      state.leavingFor = exitReason;
      state.leavingInto = state.leaving;
      state.leavingKernel = freshCopy(leavingFactory)(exitReason, state.leaving, F_NONE);
      if (spans.length >= 2) primeLeaving(state.leavingKernel, exitReason, spans[0], F_FAINT, F_NONE);
    }
    const n = state.leavingKernel(spans);
    if (n >= 0) return n;
    state.leaving = new Int32Array(state.leaving.length * 2);
  }
}

const NO_HOLD = new Uint8Array(0);
const F_NONE = ExitReason.None;
const F_FAINT = ExitReason.Faint;
const F_UNEMPLOYMENT = ExitReason.Unemployment;

interface TownCols {
  last_respawn: Int32Array;
  day: Int32Array;
  respawns_today: Uint32Array;
}

function spawnDue(world: World, T: TownCols, state: LifecycleState, tick: number, cooldown: number, cap: number, perDay: number): void {
  const day = Math.floor(tick / perDay);
  let w = 0;
  const len = state.pendingTown.length;
  for (let i = 0; i < len; i++) {
    const t = state.pendingTown[i];
    const due = state.pendingDue[i];
    const replaces = state.pendingReplaces[i];
    let spawned = false;
    if (due <= tick) {
      if (T.day[t] !== day) {
        T.day[t] = day;
        T.respawns_today[t] = 0;
      }
      const cooled = T.last_respawn[t] === NO_RESPAWN || tick - T.last_respawn[t] >= cooldown;
      if (cooled && T.respawns_today[t] < cap) {
        world.spawnAgent(t, { init: { Lifecycle: { replaces_uid: replaces, spawned_tick: tick } } });
        T.last_respawn[t] = tick;
        T.respawns_today[t]++;
        state.respawns++;
        spawned = true;
      }
    }
    if (!spawned) {
      state.pendingTown[w] = t;
      state.pendingDue[w] = due;
      state.pendingReplaces[w] = replaces;
      w++;
    }
  }
  state.pendingTown.length = w;
  state.pendingDue.length = w;
  state.pendingReplaces.length = w;
}

/**
 * Marks an agent to leave (console `kill`): it is removed, and replaced, in the Finalize step of
 * the current tick (or of the next tick when called between ticks). A reason already set is kept.
 * Returns false when `eid` is not a live agent.
 */
export function killAgent(world: World, eid: number, reason: number = ExitReason.Console): boolean {
  if (!world.isAgent(eid) || !world.has(eid, Lifecycle)) return false;
  const L = world.columns(Lifecycle);
  if (L.exit_reason[eid] === ExitReason.None) L.exit_reason[eid] = reason;
  return true;
}

/** Switches fainting on or off (console `toggle_mortality`). */
export function setMortality(world: World, on: boolean): void {
  world.state<LifecycleState>("lifecycle").mortality = on;
}
