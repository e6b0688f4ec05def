// Memory accounting of the simulation benchmark (bench/sim.ts): heap and typed-array buffer
// readings after forced GCs, the bytes-per-agent fields of a SimResult, the table of every
// component / town-state column and the typed-array bytes each plug-in's state holds.
import { readFileSync } from "node:fs";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { World } from "../engine/world.ts";

export interface ColumnRow {
  /** `Component.field`, `Component.(flags)` or `town:Component.field`, or `(entity index)`. */
  column: string;
  type: string;
  bytes: number;
  bytes_per_agent: number;
}

/** The bytes-per-column table of a world (see SimResult.column_table). */
export function columnTable(world: World): ColumnRow[] {
  const agents = Math.max(1, world.agents.length);
  const rows: ColumnRow[] = [];
  const add = (column: string, type: string, bytes: number) => rows.push({ column, type, bytes, bytes_per_agent: round(bytes / agents, 2) });
  // A pooled component's column (engine/component.ts, trim) owns its rows from `base` up; the
  // pool's other bytes (the first view's rows below its base) are a row of their own.
  let pooledOwn = 0;
  world.components.forEach((def, cols, has, base) => {
    for (const f of def.fields) {
      const col = cols[f.name];
      const own = (col.length - base) * col.BYTES_PER_ELEMENT;
      if (base > 0) pooledOwn += own;
      add(`${def.name}.${f.name}`, f.type.name, own);
    }
    add(`${def.name}.(flags)`, "Uint8Array", has.byteLength);
  });
  const poolRest = world.components.poolBytes() - pooledOwn;
  if (poolRest > 0) add("(column pool below the bases)", "ArrayBuffer", poolRest);
  world.townStore.forEach((def, cols, has) => {
    for (const f of def.fields) add(`town:${def.name}.${f.name}`, f.type.name, cols[f.name].byteLength);
    add(`town:${def.name}.(flags)`, "Uint8Array", has.byteLength);
  });
  add("(entity index)", "Uint32Array", world.entities.bytes());
  return rows.sort((a, b) => b.bytes - a.bytes || (a.column < b.column ? -1 : 1));
}

/**
 * Bytes of the typed arrays reachable from each plug-in's state (own properties, array elements,
 * Map and Set values, at most 6 levels deep; each buffer counted once, the world's columns not at
 * all), per agent, largest first.
 */
export function stateTable(world: World): { plugin: string; bytes: number; bytes_per_agent: number }[] {
  const agents = Math.max(1, world.agents.length);
  const seen = new Set<unknown>([world]);
  const mark = (_d: unknown, cols: Record<string, ArrayBufferView>, has: Uint8Array) => {
    for (const c of Object.values(cols)) seen.add(c.buffer);
    seen.add(has.buffer);
  };
  world.components.forEach(mark);
  world.townStore.forEach(mark);
  // Another plug-in's state reached from this one (a resource it holds) is that plug-in's row.
  const states = new Map<string, unknown>();
  for (const p of world.plugins) {
    try {
      states.set(p.name, world.state(p.name));
    } catch {
      // no state
    }
  }
  // A state and what it holds directly belong to its plug-in, whoever else holds them.
  const owner = new Map<unknown, string>();
  for (const [name, st] of states) {
    owner.set(st, name);
    if (st !== null && typeof st === "object") for (const v of Object.values(st)) if (v !== null && typeof v === "object" && !owner.has(v)) owner.set(v, name);
  }
  let current = "";
  const walk = (x: unknown, depth: number): number => {
    if (x === null || typeof x !== "object" || seen.has(x)) return 0;
    const o = owner.get(x);
    if (o !== undefined && o !== current) return 0;
    seen.add(x);
    if (ArrayBuffer.isView(x)) {
      if (seen.has(x.buffer)) return 0;
      seen.add(x.buffer);
      return x.buffer.byteLength;
    }
    if (depth >= 6) return 0;
    let b = 0;
    const values = x instanceof Map || x instanceof Set ? [...x.values()] : Array.isArray(x) ? x : Object.values(x);
    for (const v of values) b += walk(v, depth + 1);
    return b;
  };
  const rows: { plugin: string; bytes: number; bytes_per_agent: number }[] = [];
  for (const [plugin, st] of states) {
    current = plugin;
    const bytes = walk(st, 0);
    if (bytes > 0) rows.push({ plugin, bytes, bytes_per_agent: round(bytes / agents, 2) });
  }
  return rows.sort((a, b) => b.bytes - a.bytes);
}

/** A forced full GC: `global.gc` under --expose-gc, else one from a fresh context after setting the flag. */
function findGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    setFlagsFromString("--expose-gc");
    return runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}
const gc = findGc();

/** Whether a forced GC precedes the memory readings (node --expose-gc, or the flag set at run time). */
export const gcExposed = gc !== undefined;

export function memory(): { heap: number; buffers: number; total: number } {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, total: m.heapUsed + m.arrayBuffers };
}

/** One memory reading (see memory()). */
export type MemoryReading = ReturnType<typeof memory>;

/**
 * The bytes-per-agent fields of a SimResult: the world's build (`before` and `after` it, over the
 * agents built), its columns, and the reading after the timed ticks (`ticked`, over the agents
 * then live, the bare loop's `bareBytes` left out).
 */
export function memoryFields(world: World, agents: number, before: MemoryReading, after: MemoryReading, ticked: MemoryReading, bareBytes: number) {
  const built = Math.max(1, agents);
  const liveNow = Math.max(1, world.agents.length);
  return {
    bytes_per_agent: Math.round((after.total - before.total) / built),
    heap_bytes_per_agent: Math.round((after.heap - before.heap) / built),
    buffer_bytes_per_agent: Math.round((after.buffers - before.buffers) / built),
    column_bytes_per_agent: Math.round(world.columnBytes() / built),
    ticked_bytes_per_agent: Math.round((ticked.total - before.total - bareBytes) / liveNow),
    ticked_heap_bytes_per_agent: Math.round((ticked.heap - before.heap) / liveNow),
    ticked_buffer_bytes_per_agent: Math.round((ticked.buffers - before.buffers - bareBytes) / liveNow),
    gc_exposed: gcExposed,
  };
}

function round(x: number, d: number): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

/**
 * MB of this process's anonymous memory on transparent huge pages (AnonHugePages of
 * /proc/self/smaps_rollup), or null where that file is not there (not Linux). Nearly all of a big
 * world's columns are on them when the process started with hugePagesEnv() (bench/child.ts).
 */
export function hugePagesMb(): number | null {
  let text: string;
  try {
    text = readFileSync("/proc/self/smaps_rollup", "utf8");
  } catch {
    return null;
  }
  const m = /^AnonHugePages:\s+(\d+) kB/m.exec(text);
  return m ? Math.round(Number(m[1]) / 1024) : null;
}
