// The observations plug-in's side of the plug-ins' `observations` hooks (engine/observation.ts):
// once per build, each plug-in that declared features binds its writer to this build's columns;
// the builder then runs the writers over the batch after its own pass (maps, clock, own state).
// Contexts are made once per world and the writer list is reused, so a build allocates only what
// the plug-ins' `bind` does (a closure each).
import type { World } from "../../engine/world.ts";
import type { FeatureWriter, ObservationContext } from "../../engine/observation.ts";
import type { FeatureLayout } from "./layout.ts";

interface MutableContext extends ObservationContext {
  tick: number;
}

/** The writers of the plug-ins' declared features, rebound every build. */
export class FeatureWriters {
  /** The bound writers of this build, `count` of them. */
  readonly list: FeatureWriter[] = [];
  count = 0;
  private contexts: MutableContext[] | undefined;

  /** Binds every declaring plug-in's writer for the build of `tick`; returns how many there are. */
  bind(world: World, layout: FeatureLayout, tick: number): number {
    const decl = layout.declared;
    if (this.contexts === undefined) {
      const sections = world.settings as unknown as Record<string, unknown>;
      this.contexts = decl.map(({ plugin }) => ({
        world,
        config: sections[plugin.name],
        settings: world.settings,
        state: plugin.state ? world.state(plugin.name) : undefined,
        tick,
        resource: (key) => world.resource(key),
        optionalResource: (key) => world.optionalResource(key),
      }));
    }
    let n = 0;
    for (let p = 0; p < decl.length; p++) {
      const ctx = this.contexts[p];
      ctx.tick = tick;
      const w = decl[p].plugin.observations!.bind(ctx, decl[p].at);
      if (w !== undefined) this.list[n++] = w;
    }
    this.count = n;
    return n;
  }
}
