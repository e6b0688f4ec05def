// The affordances plug-in's resource (moved out of index.ts): its state, runtime and meal
// counter, and the AffordanceService other plug-ins call.
import type { PersistentState } from "../../engine/plugin.ts";
import type { StateHasher } from "../../engine/hash.ts";
import type { World } from "../../engine/world.ts";
import type { AffordanceInput, AffordanceService } from "../../components/affordances.ts";
import type { AffordancesState } from "./state.ts";
import type { Runtime } from "./runtime.ts";
import type { MealCounter } from "./meals.ts";
import type { AffordanceTimings } from "./timings.ts";
import { registerAffordance, objectById } from "./objects.ts";

/**
 * The plug-in's resource: its state and runtime, and the service other plug-ins call. Its
 * PersistentState is the AffordancesState's (counters); the object list and the (town, type)
 * index are rebuilt from the Obj columns after a snapshot is loaded.
 */
export class AffordancesResource implements AffordanceService, PersistentState {
  constructor(
    private readonly world: World,
    readonly st: AffordancesState,
    readonly rt: Runtime,
    /** Meals each agent cooked and ate, for telemetry (meals.ts; not saved or hashed). */
    readonly meals: MealCounter,
    /** Per-affordance timings under instrumentation "timings" (timings.ts; not saved or hashed), else undefined. */
    readonly timings?: AffordanceTimings,
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
    return this.st.byTownType.get(town, type);
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
