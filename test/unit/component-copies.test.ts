// A component declaration evaluated by a second instance of its module (a TypeScript plug-in run by
// the compiled CLI imports components/*.ts while the CLI's bundle holds its own copy) is the same
// component: the store finds the registered one by name when the fields match.
import { describe, expect, it } from "vitest";
import { ComponentStore, defineComponent } from "../../engine/component.ts";
import { Employment } from "../../components/people.ts";
import { Needs } from "../../components/needs.ts";
import { makeWorld } from "../helpers/world.ts";

describe("a copy of a registered component's declaration", () => {
  it("reaches the registered columns and flags; a declaration with other fields does not", () => {
    const store = new ComponentStore(16);
    const original = defineComponent("Thing", { a: Float32Array, b: { type: Int32Array, default: -1 } });
    const copy = defineComponent("Thing", { a: Float32Array, b: { type: Int32Array, default: -1 } });
    const other = defineComponent("Thing", { a: Float32Array, b: { type: Int32Array, default: 0 } });
    expect(store.isRegistered(copy)).toBe(false);
    store.register(original, "core");
    store.add(copy, 3, { a: 1.5 });
    expect(store.isRegistered(copy)).toBe(true);
    expect(store.columns(copy)).toBe(store.columns(original));
    expect(store.has(original, 3)).toBe(true);
    expect(store.columns(original).b[3]).toBe(-1);
    expect(store.isRegistered(other)).toBe(false);
    expect(() => store.columns(other)).toThrow(/"Thing" is not registered/);
  });

  it("of a core module loaded twice (Employment, and Needs made per world) is registered in a world", async () => {
    // A query makes the loader evaluate the module again (a specifier in a variable: tsc has no type for it).
    const second = (path: string): Promise<unknown> => import(/* @vite-ignore */ `${path}?second-instance`);
    const people = (await second("../../components/people.ts")) as typeof import("../../components/people.ts");
    const needs = (await second("../../components/needs.ts")) as typeof import("../../components/needs.ts");
    expect(people.Employment).not.toBe(Employment);
    expect(needs.Needs).not.toBe(Needs);
    const w = makeWorld({ world: { agents_per_town: 2 } });
    expect(w.components.isRegistered(people.Employment)).toBe(true);
    expect(w.columns(people.Employment)).toBe(w.columns(Employment));
    expect(w.columns(needs.Needs)).toBe(w.columns(Needs));
    expect(w.has(w.agents[0], people.Employment)).toBe(w.has(w.agents[0], Employment));
  });
});
