// Affordance hooks: named functions run when an affordance starts (`before`, may cancel),
// finishes (`after`) or fails (`fail`). The built-in hooks implement the original's stock and
// money rules; plug-ins add their own with `register` on the affordances state's registry
// (`affordancesState(world).hooks`), and so do the hook modules a config lists
// (`affordances.runtime.hook_allowlist`, hook-modules.ts). A hook may spawn agents and entities: the loops that call
// hooks (affordances/act and run) carry on in the columns the world has after it (runtime.ts follow).
import type { World } from "../../engine/world.ts";

export interface HookCall {
  world: World;
  stage: "before" | "after" | "fail";
  tick: number;
  agent: number;
  object: number;
  affordance: number;
  /** fail: why it failed. */
  reason: string;
  /** before: set to cancel the start; `reason` then says why. */
  cancel: boolean;
  /** before: set when the hook charged money for the affordance (its money effect is then skipped). */
  charged: boolean;
}

export type HookFn = (call: HookCall) => void;

export class HookRegistry {
  private readonly hooks = new Map<string, HookFn>();
  private readonly undos = new Map<string, HookFn>();
  private readonly charging = new Set<string>();
  /** Hooks and undos registered without `builtin` (a plug-in's). */
  private foreign = 0;
  /** Counts registrations: a caller that keeps looked-up functions takes them again when it moved. */
  version = 0;

  /**
   * `charges`: the hook takes the affordance's price itself (its own funds check included).
   * `builtin`: the engine's own hooks (builtins.ts), which write only the call's agent and object
   * and a town's fridge or bed, and read nothing that affordances/run checks: while every hook is
   * one, run may finish a chunk of affordances after checking them (object-kernels.ts).
   */
  register(name: string, fn: HookFn, opts: { charges?: boolean; builtin?: boolean } = {}): void {
    if (this.hooks.has(name)) throw new Error(`affordance hook "${name}" is registered twice`);
    this.hooks.set(name, fn);
    this.version++;
    if (opts.charges) this.charging.add(name);
    if (!opts.builtin) this.foreign++;
  }

  /** True while every registered hook and undo is a built-in one (see register). */
  onlyBuiltins(): boolean {
    return this.foreign === 0;
  }

  /** True when the hook charges for its affordance (the runtime then skips its own funds check). */
  charges(name: string): boolean {
    return this.charging.has(name);
  }

  /** Undoes what a `before` hook took when its affordance fails after starting (a bed slot). */
  registerUndo(name: string, fn: HookFn, opts: { builtin?: boolean } = {}): void {
    this.undos.set(name, fn);
    this.version++;
    if (!opts.builtin) this.foreign++;
  }

  undo(name: string): HookFn | undefined {
    return this.undos.get(name);
  }

  get(name: string): HookFn | undefined {
    return this.hooks.get(name);
  }

  names(): string[] {
    return [...this.hooks.keys()].sort();
  }
}
