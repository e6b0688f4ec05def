// What the runtime takes from an affordance spec at each start and finish, kept by affordance
// index (issue #19: a WeakMap lookup for the need deltas and a Map lookup per hook name, per start
// and finish, thousands of each in a wave tick): the spec they were taken for (a spec replaced in
// place is taken again), and for the hook functions the hook registry's version (a hook
// registered later is taken again).
import type { AffordanceSpec } from "../../components/affordances.ts";
import type { HookFn, HookRegistry } from "./hooks.ts";

export interface SpecHooks {
  before: (HookFn | undefined)[];
  after: (HookFn | undefined)[];
}

export class SpecCache {
  private readonly dSpec: (AffordanceSpec | undefined)[] = [];
  private readonly dOf: Float64Array[] = [];
  private readonly hSpec: (AffordanceSpec | undefined)[] = [];
  private readonly hOf: SpecHooks[] = [];
  private hAt = -1;

  /** rt.deltasOf(spec), looked up again only when the index holds another spec. */
  deltas(aff: number, spec: AffordanceSpec, rt: { deltasOf(spec: AffordanceSpec): Float64Array }): Float64Array {
    if (this.dSpec[aff] !== spec) {
      this.dOf[aff] = rt.deltasOf(spec);
      this.dSpec[aff] = spec;
    }
    return this.dOf[aff];
  }

  /** The spec's before and after hooks as `hooks.get` gives them now (undefined: no such hook). */
  hooks(aff: number, spec: AffordanceSpec, hooks: HookRegistry): SpecHooks {
    if (this.hAt !== hooks.version) {
      this.hSpec.length = 0;
      this.hAt = hooks.version;
    }
    if (this.hSpec[aff] !== spec) {
      this.hOf[aff] = { before: spec.hooks.before.map((n) => hooks.get(n)), after: spec.hooks.after.map((n) => hooks.get(n)) };
      this.hSpec[aff] = spec;
    }
    return this.hOf[aff];
  }
}
