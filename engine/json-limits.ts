// Limits on JSON that a client sends (console commands, WebSocket frames), checked before any
// code walks the value recursively (JSON.stringify, schema checks, canonical hashing): V8's
// JSON.parse is iterative, so a 5,000-level value parses fine and then overflows the stack of
// the first recursive reader. The check here walks with an explicit stack and stops early.

/** Deepest nesting of objects and arrays a client value may have (a command's args need 3). */
export const MAX_CLIENT_JSON_DEPTH = 32;
/** Most values (objects, arrays, scalars) one client value may hold. */
export const MAX_CLIENT_JSON_NODES = 100_000;

export interface JsonShapeLimits {
  maxDepth?: number;
  maxNodes?: number;
}

/**
 * Checks a parsed JSON value against nesting and size limits without recursion. Returns a
 * message naming the limit that was passed ("nests deeper than 32 levels"), or undefined.
 */
export function jsonShapeProblem(value: unknown, limits: JsonShapeLimits = {}): string | undefined {
  const maxDepth = limits.maxDepth ?? MAX_CLIENT_JSON_DEPTH;
  const maxNodes = limits.maxNodes ?? MAX_CLIENT_JSON_NODES;
  const stack: { v: unknown; d: number }[] = [{ v: value, d: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (++nodes > maxNodes) return `holds more than ${maxNodes} values (limit ${maxNodes})`;
    if (v === null || typeof v !== "object") continue;
    if (d + 1 > maxDepth) return `nests deeper than ${maxDepth} levels (limit ${maxDepth})`;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], d: d + 1 });
    } else {
      for (const k in v as Record<string, unknown>) stack.push({ v: (v as Record<string, unknown>)[k], d: d + 1 });
    }
    if (nodes + stack.length > maxNodes) return `holds more than ${maxNodes} values (limit ${maxNodes})`;
  }
  return undefined;
}
