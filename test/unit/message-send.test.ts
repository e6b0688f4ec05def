// A system's send(def, ...values) (engine/world-plugins.ts): messages of 0 to 8 fields go through
// the fixed-arity path (no rest array), 9 and more through an array; every field arrives in
// declaration order either way, and a wrong number of values is refused naming the message.
import { describe, expect, it } from "vitest";
import { parseConfigObject } from "../../engine/config/loader.ts";
import { defineMessage, type MessageFields } from "../../engine/message.ts";
import { definePlugin } from "../../engine/plugin.ts";
import { World } from "../../engine/world.ts";
import { corePlugins } from "../../systems/index.ts";

function fields(n: number): MessageFields {
  const f: MessageFields = {};
  for (let i = 0; i < n; i++) f[`f${i}`] = i % 2 ? "float" : "int";
  return f;
}

/** A world whose one system sends `values` of message `def` on tick 1; returns what tick 1 carried. */
function sendOnce(n: number, count = n): number[][] {
  const def = defineMessage(`m${n}`, fields(n));
  const values = Array.from({ length: count }, (_, i) => (i % 2 ? i + 0.5 : (i + 1) * 10));
  const plugin = definePlugin({
    name: "sender",
    messages: [def],
    systems: [{ name: "sender/send", phase: "needs", run: ({ tick, send }) => (tick === 1 ? (send(def, ...values), send(def, ...values)) : undefined) }],
  });
  const settings = parseConfigObject({ config_id: "t", world: { agents_per_town: 0 } }, corePlugins);
  const world = new World({ settings, plugins: [plugin] });
  world.step();
  const v = world.lastTick(def);
  const out: number[][] = [];
  for (let i = v.start; i < v.end; i++) out.push(def.keys.map((k) => (v as unknown as Record<string, Float64Array>)[k][i]));
  return out;
}

describe("a system's send", () => {
  it.each([0, 1, 4, 7, 8, 9, 12])("delivers every field of a %i-field message in declaration order", (n) => {
    const expected = Array.from({ length: n }, (_, i) => (i % 2 ? i + 0.5 : (i + 1) * 10));
    expect(sendOnce(n)).toEqual([expected, expected]);
  });

  it.each([
    [3, 2],
    [3, 4],
    [8, 9],
    [9, 8],
    [1, 0],
  ])("refuses a %i-field message sent with %i values, naming the message and its fields", (n, count) => {
    expect(() => sendOnce(n, count)).toThrow(new RegExp(`message "m${n}" takes ${n} value\\(s\\) \\(${Object.keys(fields(n)).join(", ")}\\), got ${count}`));
  });
});
