// Builds a fresh small world for a test from config overrides (validated like a YAML file).
import { parseConfigObject } from "../../engine/config/loader.ts";
import type { AnyPlugin } from "../../engine/plugin.ts";
import { World } from "../../engine/world.ts";
import { Position } from "../../components/space.ts";
import { corePlugins } from "../../systems/index.ts";

export function makeSettings(overrides: Record<string, unknown> = {}, plugins: readonly AnyPlugin[] = corePlugins) {
  return parseConfigObject({ config_id: "test", ...overrides }, plugins);
}

/** A world with `plugins` (default: every core plug-in) and the given config overrides. */
export function makeWorld(overrides: Record<string, unknown> = {}, plugins: readonly AnyPlugin[] = corePlugins, extra: AnyPlugin[] = []): World {
  const all = [...plugins, ...extra];
  return new World({ settings: makeSettings(overrides, all), plugins: all });
}

/** Steps `w` until its tick is `tick`. */
export function runTo(w: World, tick: number): void {
  while (w.tick < tick) w.step();
}

/** Puts agent `eid` on tile (x, y). */
export function moveTo(w: World, eid: number, [x, y]: [number, number]): void {
  w.addComponent(eid, Position, { x, y });
}
