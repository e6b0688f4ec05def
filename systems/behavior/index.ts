// The scripted controller (phase policy, set PolicySets.Decide): the baseline every learned
// policy is compared with. For each agent whose option is done it chooses the next one:
//   1. a need below its critical level is seen to first (survival beats punctuality);
//   2. during the work window (start - job_arrival_buffer .. end) it works;
//   3. the most urgent need below its threshold (needs.<need>.threshold, the original's
//      behavior.<need>_threshold; its gap times needs.<need>.urgency) is seen to, with the
//      affordance that restores that need most among those it can afford and find stocked;
//   4. away from shifts, a need within `top_up_margin` of its threshold is topped up early;
//   5. a rival on its tile makes it step away; a friendly neighbour makes it chat (stage >= A);
//   6. otherwise it waits.
// Every need of the world's table (components/needs.ts) takes part; hunger alone has rules of
// its own (the original's: it ends a life, so no other need's affordance may starve an agent).
// Reads Needs, Wallet, Employment, Option, Position, the affordance registry and the social
// ledger; writes Option. The decision pass itself (one step per rule): decide.ts.
import { z } from "zod";
import { definePlugin, type PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import { NeedsKey, needTable } from "../../components/needs.ts";
import { Option } from "../../components/activity.ts";
import { PolicySets } from "../../components/sets.ts";
import { SocialKey } from "../../components/social.ts";
import { SpaceKey } from "../../components/grid.ts";
import { PolicyKey } from "../../components/release.ts";
import { AffordancesKey } from "../../components/affordances.ts";
import { DecidePass } from "./decide.ts";
import { primeDecide } from "./prime.ts";
import { ScanCache } from "./scan-kernel.ts";
import { FrontCache } from "./front-kernel.ts";
import { FridgeList } from "./pantry.ts";

export { bestAffordance } from "./candidates.ts";

export const BehaviorTuning = z
  .strictObject({
    critical_level: z.number().min(0).max(1).default(0.15).describe("A need below this is seen to even during a shift."),
    top_up_margin: z.number().min(0).max(1).default(0.25).describe("Away from shifts, a need this close above its threshold is topped up early."),
    chat_cooldown_ticks: z.int().min(0).default(30).describe("Ticks between two chats of one agent."),
    pre_shift_guard_ticks: z.int().min(0).default(60).describe("Ticks before the arrival buffer in which no top-up is started (it would make the agent late)."),
    idle_recheck_ticks: z.int().min(1).default(5).describe("An idle agent reconsiders every this many ticks (sooner when a need drops below its threshold)."),
    pantry_low_meals: z.number().min(0).default(6).describe("When a town's fridges hold fewer meals than this, idle agents cook (a batch) for everyone."),
    travel_slack_ticks: z.int().min(0).default(60).describe("Ticks allowed after a shift to walk to food and eat, when planning ahead."),
  })
  .prefault({})
  .describe("Tuning of the scripted controller.");

/** The controller's settings (`behavior:` after defaults). */
export type BehaviorConfig = z.output<typeof BehaviorTuning>;

const NEVER = -1_000_000;
/** The pass after which decide()'s shift branches are walked once (prime.ts). */
const PRIME_PASS = 16;

/**
 * The controller's memory: each agent's last chat tick (snapshotted and hashed); pantry and the
 * need scratch are scratch; the per-need tables come from the needs list.
 */
export class BehaviorState implements PersistentState {
  lastChat: Int32Array;
  /** Meals in each town's fridges, counted at the start of each decision pass (scratch). */
  pantry: Float32Array;
  /**
   * Per town, whether a stove is ready to cook, as this pass found it: 0 not looked at yet, 1 no,
   * 2 yes (scratch, cleared at each pass's start: no stove changes during a pass).
   */
  stoves: Uint8Array;
  /** One agent's needs, in table order (no allocation per agent per tick). */
  readonly needs: Float32Array;
  /** Per need, in table order: name, threshold, decay rate, urgency. */
  readonly names: readonly string[];
  readonly thresholds: Float64Array;
  readonly rates: Float64Array;
  readonly urgency: Float64Array;
  /** Index of hunger in the table (-1: a world without it), for the original's rules about eating. */
  readonly hunger: number;
  /**
   * True: the pass checks every agent's rules one after the other (DecidePass.settled) instead
   * of the scan by option kind; the same decisions, slower. Tests compare the two; not saved.
   */
  plainScan = false;
  /**
   * True: the scan by option kind runs as plain TypeScript (what runs where code generation from
   * strings is refused) instead of the kernel generated for this world's columns
   * (scan-kernel.ts); the same decisions. Tests compare the two; not saved.
   */
  genericScan = false;
  /** The generated scan and its scratch (scan-kernel.ts; not saved). */
  readonly scan: ScanCache;
  /** The generated front of each decision and its scratch (front-kernel.ts; not saved; off with genericScan too). */
  readonly front = new FrontCache();
  /** The fridges among the objects, for the pantry count (pantry.ts; scratch, not saved). */
  readonly fridges = new FridgeList();
  /** Which scan the last pass ran (for tests and reports; not saved). */
  scanPath: "kernel" | "generic" | "plain" | "none" = "none";
  /**
   * The last decision pass, kept until the next one replaces it (scratch, not saved): while a
   * pass is alive its shape is too. With none alive a major GC collected the shape, and with it
   * every step's optimised code ("weak objects"): +35-41 CPU ms in the tick after each major GC
   * at 100k agents.
   */
  pass: DecidePass | undefined = undefined;
  /** Passes run on this state, counted up to PRIME_PASS (prime.ts; scratch, not saved). */
  passes = 0;
  constructor(capacity: number, towns: number, settings: World["settings"]) {
    this.lastChat = new Int32Array(Math.max(16, capacity)).fill(NEVER);
    this.pantry = new Float32Array(towns);
    this.stoves = new Uint8Array(towns);
    const table = needTable(settings);
    this.needs = new Float32Array(table.list.length);
    this.names = table.names;
    this.thresholds = Float64Array.from(table.list, (n) => n.threshold);
    this.rates = Float64Array.from(table.list, (n) => n.decay);
    this.urgency = Float64Array.from(table.list, (n) => n.urgency);
    this.hunger = table.index("hunger");
    this.scan = new ScanCache(table.list.length);
  }
  save(): unknown {
    return { lastChat: this.lastChat.slice() };
  }
  load(data: unknown): void {
    const d = data as { lastChat: Int32Array };
    if (!(d?.lastChat instanceof Int32Array)) throw new Error("scripted controller state: expected lastChat");
    this.lastChat = new Int32Array(Math.max(16, d.lastChat.length)).fill(NEVER);
    this.lastChat.set(d.lastChat);
  }
  hash(h: StateHasher): void {
    const c = this.lastChat;
    for (let e = 0; e < c.length; e++) if (c[e] !== NEVER) h.u32(e).u32(c[e]);
  }
}

export const behaviorPlugin = definePlugin({
  name: "scripted",
  requires: [SpaceKey, AffordancesKey, NeedsKey],
  optional: [SocialKey, PolicyKey],
  doc: "the scripted behaviour controller (baseline policy)",
  config: BehaviorTuning,
  components: { Option },
  // lastChat is per agent: sized by the agents' ids (objects take the ids above them).
  state: (world: World): BehaviorState => new BehaviorState(world.agentIdLimit(), world.towns, world.settings),
  systems: [
    {
      name: "scripted/decide",
      phase: "policy",
      sets: [PolicySets.Decide],
      reads: ["Needs", "Wallet", "Employment", "Position", "Obj", "social ledger"],
      writes: ["Option"],
      run({ world, tick, agents, spans, config, settings, state }) {
        // A learned policy decides instead (the policy plug-in's state; runtime.policy.provider).
        if (world.optionalResource(PolicyKey)?.scriptedDecides === false) return;
        // The agents are in entity order: the last one has the highest id; a quarter more.
        const top = agents.length > 0 ? agents[agents.length - 1] : 0;
        if (state.lastChat.length <= top) {
          const g = new Int32Array(Math.ceil((top + 1) * 1.25)).fill(NEVER);
          g.set(state.lastChat);
          state.lastChat = g;
        }
        state.pass = new DecidePass(world, tick, config, settings, state);
        state.pass.run(agents, spans);
        // Once, after PRIME_PASS passes (prime.ts: a function's feedback is only kept once it
        // has run a while; walked before, the branches were left without it).
        if (++state.passes === PRIME_PASS) primeDecide(world, config, settings, state, agents);
      },
    },
  ],
});
