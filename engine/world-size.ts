// What the loader checks beyond the schemas so that a config that validates can be built: every
// number finite and of a sensible size (columns are float32; 1.8e308 would print as null), and a
// world whose columns can be allocated and fit in this machine's memory (an estimate from the
// plug-ins' entity hints and declared columns, given in the message).
import { constants as bufferConstants } from "node:buffer";
import { totalmem } from "node:os";
import type { ConfigSections } from "./config/sections.ts";
import type { AnyPlugin, ConfigCheckProblem } from "./plugin.ts";

/** Largest magnitude of any number in a config (float32 columns store them; prices multiply them). */
export const MAX_CONFIG_NUMBER = 1e15;
/** Most elements one typed array may have in this Node. */
export const MAX_COLUMN_LENGTH = bufferConstants.MAX_LENGTH;
/** Entity ids are int32 in the spatial index and messages. */
export const MAX_ENTITIES = 2 ** 31 - 1;
/**
 * Bytes per entity beyond its declared columns (entity index, spatial links, plug-in state,
 * JS heap), measured after issue #19's memory work: 635 bytes per entity in all at 1M agents in
 * towns of 8 (1,032 per agent, 1.625 entities per agent; columns 281 of them) and 681 at 100k
 * agents in one big town (columns ~279): 354-400 beyond the columns, rounded up. Since the third
 * session's work a built world holds less (1M towns of 8: ~460 per entity with the objects'
 * columns trimmed, against 281 + 512 here), but once it has run, pools, caches and messages fill:
 * 684 per entity after 300 ticks at 100k (`ticked_bytes_per_agent`, 1,112), 403 beyond the
 * declared columns; and more as social ledgers fill. The figure stays 512: the estimate is for
 * refusing a world that will not fit while it runs.
 */
const BYTES_PER_ENTITY_OVERHEAD = 512;
/**
 * Bytes per tile per town always allocated (tile heads and the object map, one byte each in towns
 * of up to 254 agents and objects, two or four beyond; distance fields come on use).
 */
const BYTES_PER_TILE = 2;

/** Numbers in a parsed config that are too large to mean anything; without recursion. */
export function hugeNumberProblems(raw: unknown, limit = MAX_CONFIG_NUMBER): ConfigCheckProblem[] {
  const out: ConfigCheckProblem[] = [];
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: raw, path: [] }];
  while (stack.length > 0 && out.length < 20) {
    const { v, path } = stack.pop()!;
    if (typeof v === "number") {
      if (!Number.isFinite(v) || Math.abs(v) > limit) out.push({ path, message: `expected a number of magnitude at most ${limit.toExponential()}, got ${v}` });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
    } else if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) stack.push({ v: (v as Record<string, unknown>)[keys[i]], path: [...path, keys[i]] });
    }
  }
  return out;
}

export interface WorldEstimate {
  entities: number;
  /** Bytes of every declared column for one entity. */
  columnBytes: number;
  /** Tiles of all towns together (length of the spatial index's per-tile arrays). */
  tiles: number;
  bytes: number;
}

/** About how much memory a world of these settings takes (a lower bound, within 2x at scale). */
export function estimateWorld(settings: ConfigSections, plugins: readonly AnyPlugin[]): WorldEstimate {
  const towns = settings.world.towns;
  let entities = 1;
  for (const p of plugins) if (p.entities) entities += p.entities(settings, towns);
  const seen = new Set<string>();
  let columnBytes = 0;
  for (const p of plugins) {
    for (const def of Object.values((p.components ?? {}) as Record<string, { name?: string; fields?: readonly { type: { BYTES_PER_ELEMENT: number } }[] }>)) {
      if (!def || typeof def.name !== "string" || !Array.isArray(def.fields) || seen.has(def.name)) continue;
      seen.add(def.name);
      for (const f of def.fields) columnBytes += f.type.BYTES_PER_ELEMENT;
    }
  }
  const [w, h] = settings.world.grid_size;
  const tiles = towns * w * h;
  return { entities, columnBytes, tiles, bytes: entities * (columnBytes + BYTES_PER_ENTITY_OVERHEAD) + tiles * BYTES_PER_TILE };
}

const gb = (b: number) => `${(b / 1024 ** 3).toFixed(b < 1024 ** 3 ? 3 : 1)} GiB`;

/**
 * Refuses a world that cannot be built here: more entities than int32 ids, a column or tile
 * array longer than a typed array may be, or an estimate above `memoryLimit` (default: 90% of
 * this machine's memory). Problems point at world.towns / world.agents_per_town / grid_size.
 */
export function worldSizeProblems(settings: ConfigSections, plugins: readonly AnyPlugin[], memoryLimit = 0.9 * totalmem()): ConfigCheckProblem[] {
  const e = estimateWorld(settings, plugins);
  const what = `${settings.world.towns} town(s) x ${settings.world.agents_per_town} agents on ${settings.world.grid_size[0]}x${settings.world.grid_size[1]} tiles`;
  const est = `about ${gb(e.bytes)} (${e.entities} entities x ${e.columnBytes + BYTES_PER_ENTITY_OVERHEAD} bytes + ${e.tiles} tiles x ${BYTES_PER_TILE} bytes)`;
  if (e.entities > MAX_ENTITIES || e.entities > MAX_COLUMN_LENGTH) {
    return [{ path: ["world", "agents_per_town"], message: `${what} is ${e.entities} entities, more than a world can index (${Math.min(MAX_ENTITIES, MAX_COLUMN_LENGTH)}); it would take ${est}` }];
  }
  if (e.tiles > MAX_COLUMN_LENGTH) {
    return [{ path: ["world", "grid_size"], message: `${what} is ${e.tiles} tiles, more than one typed array may hold (${MAX_COLUMN_LENGTH}); use fewer towns or a smaller grid` }];
  }
  if (e.bytes > memoryLimit) {
    return [{ path: ["world", "towns"], message: `${what} needs ${est}, more than the ${gb(memoryLimit)} this machine can give (90% of its memory); use fewer towns or agents` }];
  }
  return [];
}
