// Meals each agent cooked and ate: the affordances plug-in counts its own cook_meal and eat_meal
// finishes (AffordanceFinish) for the job records its telemetry part publishes
// (meals_cooked, meals_consumed). Bookkeeping for telemetry, not simulation state: neither saved
// nor hashed (as when the telemetry plug-in counted them), rebuilt with the plug-in's resource
// when the world is reset.
import type { SystemDef } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";
import { Agent } from "../../engine/core-components.ts";
import { AffordanceFinish } from "../../components/messages.ts";
import type { AffordanceTable } from "../../components/affordances.ts";

/** Meals cooked and eaten per entity (cook / eat affordances finished), reset when the entity's agent changes. */
export class MealCounter {
  private cooked = new Uint32Array(0);
  private eaten = new Uint32Array(0);
  private uidOf = new Int32Array(0);
  private cookIdx = -1;
  private eatIdx = -1;
  private registry: AffordanceTable | undefined;

  /** `registry`: the plug-in's current registry (a hot reload may swap it). */
  constructor(
    private readonly world: World,
    private readonly currentRegistry: () => AffordanceTable,
  ) {}

  /** Counts the cook and eat affordances that finished since the last call (every tick: cheap). */
  count(): void {
    const w = this.world;
    const reg = this.currentRegistry();
    if (reg !== this.registry) {
      this.registry = reg;
      this.cookIdx = reg.affordanceIndex("cook_meal");
      this.eatIdx = reg.affordanceIndex("eat_meal");
    }
    const v = w.messages.channel(AffordanceFinish).read(w.phase);
    if (v.count === 0) return;
    const uid = w.columns(Agent).uid;
    for (let i = v.start; i < v.end; i++) {
      const a = v.affordance[i];
      if (a !== this.cookIdx && a !== this.eatIdx) continue;
      const eid = v.agent[i];
      if (!w.isAgent(eid)) continue;
      if (eid >= this.uidOf.length) this.grow(eid + 1);
      if (this.uidOf[eid] !== uid[eid]) {
        this.uidOf[eid] = uid[eid];
        this.cooked[eid] = 0;
        this.eaten[eid] = 0;
      }
      if (a === this.cookIdx) this.cooked[eid]++;
      else this.eaten[eid]++;
    }
  }

  /**
   * Room for entity ids below `max`: the agents' id range (agents take the low ids), and a
   * quarter more when an id beyond it comes (not double the highest entity id: issue #19 memory).
   */
  private grow(max: number): void {
    if (this.uidOf.length >= max) return;
    const n = Math.max(16, max, this.world.agentIdLimit(), Math.ceil(this.uidOf.length * 1.25));
    const c = new Uint32Array(n);
    c.set(this.cooked);
    this.cooked = c;
    const e = new Uint32Array(n);
    e.set(this.eaten);
    this.eaten = e;
    const u = new Int32Array(n).fill(-1);
    u.set(this.uidOf);
    this.uidOf = u;
  }

  /** [cooked, eaten] of the agent `uid` living in entity `eid`. */
  meals(eid: number, uid: number): [number, number] {
    if (eid >= this.uidOf.length || this.uidOf[eid] !== uid) return [0, 0];
    return [this.cooked[eid], this.eaten[eid]];
  }
}

/**
 * The counting system's place (its `run` calls `meals.count()` on the plug-in's resource). Phase
 * needs: a system there sees the finishes the affordances phase sent this tick (one of the
 * affordances phase would see them a tick later), and with no ordering constraint it runs before
 * the needs phase's exits and removals in the core order, so a meal is counted for the agent that
 * ate it. No constraint names another plug-in's set: a world without lifecycle or telemetry
 * schedules it all the same.
 */
export const COUNT_MEALS: Pick<SystemDef, "name" | "phase" | "reads" | "writes"> = {
  name: "affordances/count_meals",
  phase: "needs",
  reads: ["AffordanceFinish", "Agent.uid"],
  writes: ["meal counts (telemetry's job records; not state)"],
};
