// Issue #19 (memory): the columns of components held by high ids only (the objects: agents take
// the low ids) are pooled by ComponentStore.trim: views still indexed by entity id into one
// shared buffer, each owning only its rows from its lowest member up. These tests check that no
// pooled column's rows overwrite another's, that values survive every relayout (a member below
// the base, growth, a snapshot restore), that the store counts the pool once, and that a
// snapshot holds the defaults below the base, as an unpooled column does.
import { describe, expect, it } from "vitest";
import { ComponentStore, defineComponent, type Column } from "../../engine/component.ts";
import { parseConfigObject } from "../../engine/config/loader.ts";
import { decodeSnapshot, loadSnapshot, saveSnapshot } from "../../engine/snapshot.ts";
import { World } from "../../engine/world.ts";
import { Obj } from "../../components/objects.ts";
import { Needs } from "../../components/needs.ts";
import { corePlugins } from "../../systems/index.ts";
import { registerObject } from "../../systems/affordances/index.ts";

const Thing = defineComponent("Thing", {
  a: Int32Array,
  b: { type: Int16Array, default: -1 },
  c: Float32Array,
  d: { type: Uint8Array, default: 1 },
  e: Float64Array,
});
const Low = defineComponent("Low", { v: Int32Array });

/** A distinct value per (field, id) that every field type holds exactly. */
function value(field: number, id: number): number {
  return ((field * 37 + id) % 120) + 2;
}

/** Writes value(f, id) into every field of `def` at the ids given. */
function writeAll(cols: Record<string, Column>, ids: Iterable<number>): void {
  const names = Object.keys(cols);
  for (const id of ids) names.forEach((n, f) => (cols[n][id] = value(f, id)));
}

/** The ids whose row in some field of `cols` is not value(f, id). */
function wrongRows(cols: Record<string, Column>, ids: Iterable<number>): string[] {
  const bad: string[] = [];
  const names = Object.keys(cols);
  for (const id of ids) names.forEach((n, f) => cols[n][id] !== value(f, id) && bad.push(`${n}[${id}]`));
  return bad;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** A store of capacity 300: Low held by ids 1..99, Thing (pooled after trim) by 100..299. */
function storeWithObjects(): ComponentStore {
  const s = new ComponentStore(300);
  s.register(Low, "test");
  s.register(Thing, "test");
  for (let id = 1; id < 100; id++) s.add(Low, id, { v: id });
  for (let id = 100; id < 300; id++) s.add(Thing, id);
  return s;
}

describe("pooled object columns", () => {
  it("pools a component held by high ids only into a buffer smaller than its columns, each column keeping its own rows", () => {
    const s = storeWithObjects();
    const before = s.bytes();
    s.trim();
    const cols = s.columns(Thing) as unknown as Record<string, Column>;
    const buffers = new Set(Object.values(cols).map((c) => c.buffer));
    expect(buffers.size).toBe(1);
    // The defaults were kept, then every field's own rows take distinct values without clobbering another's.
    expect([cols.b[250], cols.d[250], cols.a[250]]).toEqual([-1, 1, 0]);
    writeAll(cols, range(100, 300));
    expect(wrongRows(cols, range(100, 300))).toEqual([]);
    // The agents' component is not pooled and its values are untouched.
    expect(s.columns(Low).v.buffer).not.toBe(cols.a.buffer);
    expect(Array.from(s.columns(Low).v.subarray(1, 100))).toEqual(range(1, 100));
    // Bytes: flags + Low + the pool once, below the unpooled store's.
    const rowBytes = 4 + 2 + 4 + 1 + 8;
    expect(s.poolBytes()).toBeGreaterThanOrEqual(200 * rowBytes);
    // Beyond the own rows: the rows below the base of the first (narrowest: Uint8) column once, and alignment.
    expect(s.poolBytes()).toBeLessThan(200 * rowBytes + 100 * 1 + 5 * 8);
    expect(s.bytes()).toBe(s.poolBytes() + s.columns(Low).v.byteLength + s.flags(Low).byteLength + s.flags(Thing).byteLength);
    expect(s.bytes()).toBeLessThan(before);
    // The flags keep a row per id: no id below the base has the component.
    expect([s.has(Thing, 5), s.has(Thing, 99), s.has(Thing, 100)]).toEqual([false, false, true]);
    let base = -1;
    s.forEach((def, _c, _h, b) => def === Thing && (base = b));
    expect(base).toBe(100);
  });

  it("lays the pool out again when an id below the base gets the component: the new member has the defaults, the others their values", () => {
    const s = storeWithObjects();
    s.trim();
    writeAll(s.columns(Thing) as unknown as Record<string, Column>, range(100, 300));
    s.remove(Low, 40);
    s.add(Thing, 40);
    const cols = s.columns(Thing) as unknown as Record<string, Column>;
    expect(wrongRows(cols, range(100, 300))).toEqual([]);
    expect([cols.a[40], cols.b[40], cols.c[40], cols.d[40], cols.e[40]]).toEqual([0, -1, 0, 1, 0]);
    writeAll(cols, [40]);
    expect(wrongRows(cols, [40, ...range(100, 300)])).toEqual([]);
    let base = -1;
    s.forEach((def, _c, _h, b) => def === Thing && (base = b));
    expect(base).toBe(40);
  });

  it("grows pooled columns with the store and keeps every value", () => {
    const s = storeWithObjects();
    s.trim();
    writeAll(s.columns(Thing) as unknown as Record<string, Column>, range(100, 300));
    s.ensure(1000);
    s.add(Thing, 999);
    const cols = s.columns(Thing) as unknown as Record<string, Column>;
    expect(cols.a.length).toBeGreaterThanOrEqual(1000);
    expect(wrongRows(cols, range(100, 300))).toEqual([]);
    expect([cols.b[999], cols.d[999], cols.b[300]]).toEqual([-1, 1, -1]);
    expect(new Set(Object.values(cols).map((c) => c.buffer)).size).toBe(1);
  });

  it("writes a removed member's defaults into the columns in use after every relayout (pooled, laid out again, grown)", () => {
    const s = storeWithObjects();
    s.trim();
    s.add(Thing, 40); // the pool laid out again
    s.ensure(1000);
    s.add(Thing, 999); // grown
    for (const id of [40, 150, 999]) writeAll(s.columns(Thing) as unknown as Record<string, Column>, [id]);
    s.remove(Thing, 150);
    s.removeAll(999);
    s.add(Thing, 40); // a second add resets the row too
    const cols = s.columns(Thing) as unknown as Record<string, Column>;
    for (const id of [40, 150, 999]) expect([cols.a[id], cols.b[id], cols.c[id], cols.d[id], cols.e[id]]).toEqual([0, -1, 0, 1, 0]);
    expect([s.has(Thing, 150), s.has(Thing, 999), s.has(Thing, 40)]).toEqual([false, false, true]);
  });

  it("gives every column its own rows again for a restore (ensureAll), with the defaults below the old base", () => {
    const s = storeWithObjects();
    s.trim();
    writeAll(s.columns(Thing) as unknown as Record<string, Column>, range(100, 300));
    s.ensureAll(300);
    const cols = s.columns(Thing) as unknown as Record<string, Column>;
    expect(s.poolBytes()).toBe(0);
    expect(new Set(Object.values(cols).map((c) => c.buffer)).size).toBe(5);
    expect(wrongRows(cols, range(100, 300))).toEqual([]);
    expect([cols.a[10], cols.b[10], cols.d[10], cols.e[99]]).toEqual([0, -1, 1, 0]);
  });
});

describe("a built world's object columns", () => {
  const settings = () => parseConfigObject({ config_id: "t", world: { towns: 30, agents_per_town: 5 } }, corePlugins);

  it("are pooled from the first object's id, agents' components are not, and a snapshot holds the defaults below it", () => {
    const w = new World({ settings: settings(), plugins: corePlugins });
    w.run(5);
    let objBase = -1;
    w.components.forEach((def, _c, _h, base) => def === Obj && (objBase = base));
    expect(objBase).toBe(151);
    expect(w.columns(Obj).running.buffer).toBe(w.columns(Obj).holder.buffer);
    expect(w.columns(Needs).hunger.buffer).not.toBe(w.columns(Obj).holder.buffer);
    const snap = decodeSnapshot(saveSnapshot(w));
    const running = new Int16Array(snap.sections.get("comp/Obj/running")!.slice().buffer);
    const power = snap.sections.get("comp/Obj/power_on")!;
    // Rows of the agents' ids hold Obj's defaults (running -1, power_on 1), as an unpooled column's.
    expect(Array.from(running.subarray(0, 151)).every((v) => v === -1)).toBe(true);
    expect(Array.from(power.subarray(0, 151)).every((v) => v === 1)).toBe(true);
  });

  it("run hash for hash with a twin whose columns are unpooled, through an object made at a recycled agent id", () => {
    const pooled = new World({ settings: settings(), plugins: corePlugins });
    const plain = new World({ settings: settings(), plugins: corePlugins });
    plain.components.ensureAll(plain.components.capacity);
    expect([pooled.components.poolBytes() > 0, plain.components.poolBytes()]).toEqual([true, 0]);
    const both = (f: (w: World) => void) => [pooled, plain].forEach(f);
    const hashes = () => [pooled.stateHash(), plain.stateHash()];
    for (let t = 0; t < 5; t++) {
      both((w) => w.step());
      const [a, b] = hashes();
      expect(a, `tick ${t + 1}`).toBe(b);
    }
    // The object takes agent 7's id, below the pool's base: the pool is laid out again.
    both((w) => w.removeEntity(7));
    const made = [pooled, plain].map((w) => registerObject(w, 1, { id: "fridge_extra", object_type: "fridge" }));
    expect(made).toEqual([7, 7]);
    let base = -1;
    pooled.components.forEach((def, _c, _h, b) => def === Obj && (base = b));
    expect(base).toBe(7);
    expect([pooled.columns(Obj).meals[7], pooled.columns(Obj).running[7]]).toEqual([5, -1]);
    for (let t = 0; t < 15; t++) {
      both((w) => w.step());
      const [a, b] = hashes();
      expect(a, `tick ${t + 6}`).toBe(b);
    }
  });

  it("resume from a snapshot with the same hashes, pooled again after the load", () => {
    const a = new World({ settings: settings(), plugins: corePlugins });
    a.run(20);
    const bytes = saveSnapshot(a);
    const b = new World({ settings: settings(), plugins: corePlugins });
    loadSnapshot(b, bytes);
    expect(b.stateHash()).toBe(a.stateHash());
    expect(b.components.poolBytes()).toBe(a.components.poolBytes());
    for (let t = 0; t < 10; t++) {
      a.step();
      b.step();
    }
    expect(b.stateHash()).toBe(a.stateHash());
    expect(saveSnapshot(b)).toEqual(saveSnapshot(a));
  });
});
