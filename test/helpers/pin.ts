// Test fixtures for the needs phase: a plug-in whose system runs after employment and before
// exits (so it can pin needs, wages and shift counters to hand-set values that exits and
// rewards then see), and a recorder of a message's values per tick.
import { NeedsSets } from "../../components/sets.ts";
import type { MessageDef } from "../../engine/message.ts";
import { definePlugin, type SystemContext } from "../../engine/plugin.ts";
import type { World } from "../../engine/world.ts";

let pins = 0;

/** A plug-in that calls `fn` every tick between NeedsSets.Employment and NeedsSets.Exits. */
export function pinPlugin(fn: (ctx: SystemContext) => void) {
  const name = `pin_${pins++}`;
  return definePlugin({
    name,
    systems: [{ name: `${name}/values`, phase: "needs", after: [NeedsSets.Employment], before: [NeedsSets.Exits], run: fn }],
  });
}

/** Records every message of `def` after each tick: its fields plus `tick`. */
export function record(w: World, def: MessageDef): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  w.onTick(() => {
    const v = w.lastTick(def) as unknown as Record<string, Float64Array> & { start: number; end: number };
    for (let i = v.start; i < v.end; i++) {
      const row: Record<string, number> = { tick: w.tick };
      for (const k of def.keys) row[k] = v[k][i];
      out.push(row);
    }
  });
  return out;
}
