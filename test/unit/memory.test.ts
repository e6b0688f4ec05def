// Issue #19's memory structures: the random-stream bank gives exactly the numbers and states of
// the stream objects it replaces, the uid index finds live agents by uid like the Map did, and
// the (town, type) object index lists what the Map of arrays listed, and the nearest object
// without a distance field is the field's nearest object; a component held by low ids only is
// trimmed to them and grows back, keeping its values and defaults.
import { describe, expect, it } from "vitest";
import { createRng } from "../../engine/rng.ts";
import { RngBank } from "../../engine/rng-bank.ts";
import { UidIndex } from "../../engine/entities.ts";
import { TownTypeIndex } from "../../systems/affordances/type-index.ts";
import { nearestObject, SpatialIndex } from "../../components/grid.ts";
import { ComponentStore, defineComponent } from "../../engine/component.ts";

describe("RngBank", () => {
  it("draws, per stream, the numbers createRng's stream of the same name draws, interleaved across streams", () => {
    const bank = new RngBank(7, 3, (i) => `perturbations:town:${i}`);
    const refs = [0, 1, 2].map((i) => createRng(7, `perturbations:town:${i}`));
    for (let k = 0; k < 300; k++) {
      const i = (k * 7) % 3;
      const r = bank.at(i);
      expect(k % 4 === 0 ? r.int(17) : k % 4 === 1 ? r.intBetween(2, 9) : k % 4 === 2 ? r.uniform(-1, 3) : r.next()).toBe(
        k % 4 === 0 ? refs[i].int(17) : k % 4 === 1 ? refs[i].intBetween(2, 9) : k % 4 === 2 ? refs[i].uniform(-1, 3) : refs[i].next(),
      );
    }
    for (let i = 0; i < 3; i++) expect(bank.state(i)).toEqual(refs[i].state());
  });

  it("draws from a stream by its index (next(i)) the numbers at(i).next() draws, the cursor left where it was", () => {
    const bank = new RngBank(7, 3, (i) => `perturbations:town:${i}`);
    const refs = [0, 1, 2].map((i) => createRng(7, `perturbations:town:${i}`));
    const cursor = bank.at(2);
    for (let k = 0; k < 90; k++) {
      const i = (k * 5) % 3;
      expect(k % 2 === 0 ? bank.next(i) : bank.at(i).next()).toBe(refs[i].next());
    }
    bank.at(1);
    expect(bank.next(0)).toBe(refs[0].next());
    expect(cursor.name).toBe("perturbations:town:1");
    for (let i = 0; i < 3; i++) expect(bank.state(i)).toEqual(refs[i].state());
  });

  it("restores a saved state so that the stream continues as the saved one would", () => {
    const bank = new RngBank(3, 2, (i) => `s${i}`);
    for (let k = 0; k < 10; k++) bank.at(1).next();
    const saved = bank.state(1);
    const ahead = Array.from({ length: 5 }, () => bank.at(1).next());
    const other = new RngBank(3, 2, (i) => `s${i}`);
    other.restore(1, saved);
    expect(Array.from({ length: 5 }, () => other.at(1).next())).toEqual(ahead);
    const ref = createRng(3, "s1");
    ref.restore(saved);
    expect(Array.from({ length: 5 }, () => ref.next())).toEqual(ahead);
  });

  it("refuses an invalid saved state and a stream out of range, naming the stream", () => {
    const bank = new RngBank(1, 2, (i) => `perturbations:town:${i}`);
    expect(() => bank.restore(1, { c: 1, s0: Number.NaN, s1: 0, s2: 0 })).toThrow(/perturbations:town:1.*invalid saved state/);
    expect(() => bank.at(2)).toThrow(/stream 2 out of range 0\.\.1/);
  });

  it("holds 32 bytes per stream", () => {
    expect(new RngBank(1, 1000, (i) => `t${i}`).bytes()).toBe(32_000);
  });
});

describe("UidIndex", () => {
  it("maps uids from its base to entity ids, -1 for unknown, removed or out-of-range uids, and grows", () => {
    const ix = new UidIndex(100, 4);
    ix.set(100, 7);
    ix.set(140, 9);
    expect(ix.get(100)).toBe(7);
    expect(ix.get(140)).toBe(9);
    expect(ix.get(101)).toBe(-1);
    expect(ix.get(99)).toBe(-1);
    expect(ix.get(10_000_000)).toBe(-1);
    ix.delete(100);
    expect(ix.get(100)).toBe(-1);
    expect(ix.get(140)).toBe(9);
    expect(() => ix.set(50, 1)).toThrow(/uid 50 is below this world's first uid 100/);
  });
});

describe("TownTypeIndex", () => {
  it("lists each (town, type)'s [eid, x, y] in object order, the same view on every request, and nothing for unknown keys", () => {
    // Objects 1..9 in 3 towns of 3 types (type 1 absent from town 2), tiles from the id.
    const objects = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    const town = (e: number) => (e - 1) % 3;
    const type = (e: number) => (e === 8 ? 2 : e % 3);
    const ix = new TownTypeIndex(objects, 3, 3, town, type, (e) => e * 10, (e) => e * 100);
    const expected = new Map<string, number[]>();
    for (const e of objects) {
      const k = `${town(e)}/${type(e)}`;
      expected.set(k, [...(expected.get(k) ?? []), e, e * 10, e * 100]);
    }
    for (let t = 0; t < 3; t++) {
      for (let ty = 0; ty < 3; ty++) {
        expect([...ix.get(t, ty)]).toEqual(expected.get(`${t}/${ty}`) ?? []);
        expect(ix.get(t, ty)).toBe(ix.get(t, ty));
      }
    }
    expect(ix.get(3, 0).length).toBe(0);
    expect(ix.get(0, 3).length).toBe(0);
    expect(ix.get(-1, 0).length).toBe(0);
    expect(TownTypeIndex.empty().get(0, 0).length).toBe(0);
  });
});

describe("nearestObject", () => {
  it("gives the distance field's nearest object on every tile, with one object or several, and 0 with none", () => {
    const lists: Record<string, Int32Array> = {
      one: Int32Array.of(41, 5, 2),
      several: Int32Array.of(41, 5, 2, 42, 1, 6, 43, 6, 6),
      none: new Int32Array(0),
    };
    for (const [name, list] of Object.entries(lists)) {
      const of = () => list;
      const field = new SpatialIndex(1, 8, 8, 64).field(0, 0, of);
      const space = new SpatialIndex(1, 8, 8, 64);
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 8; x++) expect(nearestObject(space, 0, 0, x, y, of), `${name} at ${x},${y}`).toBe(field.nearest[y * 8 + x]);
      }
    }
  });
});

describe("ComponentStore.trim", () => {
  const Thing = defineComponent("Thing", { a: Int32Array, b: { type: Float32Array, default: 2.5 } });
  const Person = defineComponent("Person", { c: Uint16Array });
  const built = () => {
    const store = new ComponentStore(100);
    store.register(Thing, "test");
    store.register(Person, "test");
    for (let id = 1; id <= 10; id++) store.add(Thing, id, { a: id * 3 });
    for (let id = 11; id <= 90; id++) store.add(Person, id, { c: id });
    return store;
  };

  it("shrinks every component to its highest member + 1 (at least 16)", () => {
    const store = built();
    const before = store.bytes();
    store.trim();
    expect(store.columns(Thing).a.length).toBe(16);
    expect(store.flags(Thing).length).toBe(16);
    expect(store.columns(Person).c.length).toBe(91);
    expect(store.bytes()).toBe(before - 84 * (4 + 4 + 1) - 9 * (2 + 1));
    expect(Array.from(store.columns(Thing).a.subarray(1, 11))).toEqual([3, 6, 9, 12, 15, 18, 21, 24, 27, 30]);
    expect(store.has(Thing, 5)).toBe(true);
    expect(store.has(Thing, 50)).toBe(false);
  });

  it("grows a trimmed component when a higher id gets it, with defaults in the new rows", () => {
    const store = built();
    store.trim();
    store.add(Thing, 95, { a: 7 });
    const t = store.columns(Thing);
    expect(t.a.length).toBeGreaterThanOrEqual(96);
    expect(t.a[95]).toBe(7);
    expect(t.b[95]).toBe(2.5);
    expect(t.b[60]).toBe(2.5);
    expect(t.a[4]).toBe(12);
    expect(store.has(Thing, 95)).toBe(true);
    expect(store.componentsOf(95)).toEqual([Thing]);
  });

  it("removes nothing at an id beyond a trimmed column, grows only untrimmed entries on ensure, all on ensureAll", () => {
    const store = built();
    store.trim();
    store.remove(Thing, 50);
    store.removeAll(60);
    expect(store.has(Person, 60)).toBe(false);
    expect(store.columns(Thing).a.length).toBe(16);
    store.ensure(200);
    // Both are trimmed (Person to 91): ensure leaves them, they grow when an id beyond gets them.
    expect(store.columns(Person).c.length).toBe(91);
    expect(store.columns(Thing).a.length).toBe(16);
    store.ensureAll(200);
    expect(store.columns(Thing).a.length).toBe(200);
    expect(store.columns(Thing).b[150]).toBe(2.5);
    expect(store.columns(Thing).a[10]).toBe(30);
  });
});
