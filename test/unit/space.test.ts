// The spatial index (components/grid.ts): who stands on a tile (last to arrive first) and which
// object is on it, kept in town-local slots (issue #19), checked against a plain model of lists
// per tile under random moves between tiles and towns, growth past the first table size and the
// one-byte tile type, and save/load with an equal hash.
import { describe, expect, it } from "vitest";
import { SpatialIndex } from "../../components/grid.ts";
import { StateHasher } from "../../engine/hash.ts";

/** The model: per tile the agents (last arrived first) and the object. */
class Model {
  agents = new Map<number, number[]>();
  objects = new Map<number, number>();
  at = new Map<number, number>();
  place(t: number, eid: number) {
    this.unplace(eid);
    this.agents.set(t, [eid, ...(this.agents.get(t) ?? [])]);
    this.at.set(eid, t);
  }
  unplace(eid: number) {
    const t = this.at.get(eid);
    if (t === undefined) return;
    this.agents.set(t, (this.agents.get(t) ?? []).filter((e) => e !== eid));
    this.at.delete(eid);
  }
}

function listAt(ix: SpatialIndex, t: number): number[] {
  const out: number[] = [];
  for (let a = ix.headAt(t); a !== 0; a = ix.next[a]) out.push(a);
  return out;
}

function expectSame(ix: SpatialIndex, m: Model): void {
  for (let t = 0; t < ix.towns * ix.cells; t++) {
    expect(listAt(ix, t)).toEqual(m.agents.get(t) ?? []);
    expect(ix.objectOn(t)).toBe(m.objects.get(t) ?? 0);
  }
}

function digest(ix: SpatialIndex): string {
  const h = new StateHasher();
  ix.hash(h);
  return h.digest();
}

/** A small deterministic generator (no Math.random in tests). */
function lcg(seed: number) {
  let s = seed >>> 0;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

describe("spatial index", () => {
  it("finds the agents (last arrived first) and the object of every tile after random moves within and between towns and removals", () => {
    const ix = new SpatialIndex(3, 4, 4, 8);
    const m = new Model();
    const rnd = lcg(7);
    // Objects 1-4 on fixed tiles, agents 5-24.
    for (let o = 1; o <= 4; o++) {
      const town = o % 3;
      ix.placeObject(o, town, o, 0, 0);
      m.objects.set(ix.tile(town, o, 0), o);
    }
    for (let step = 0; step < 2000; step++) {
      const eid = 5 + rnd(20);
      if (rnd(5) === 0) {
        ix.unplace(eid);
        m.unplace(eid);
      } else {
        const town = rnd(3);
        const x = rnd(4);
        const y = rnd(4);
        ix.place(eid, town, x, y);
        m.place(ix.tile(town, x, y), eid);
      }
      if (step % 100 === 0) expectSame(ix, m);
    }
    expectSame(ix, m);
  });

  it("grows a town's member table past its first size and stores tiles in two bytes beyond 254 members", () => {
    const ix = new SpatialIndex(2, 32, 32, 16);
    const oneByte = ix.tileBytes();
    const m = new Model();
    const rnd = lcg(11);
    for (let eid = 1; eid <= 300; eid++) {
      const x = rnd(32);
      const y = rnd(32);
      ix.place(eid, 0, x, y);
      m.place(ix.tile(0, x, y), eid);
    }
    ix.placeObject(301, 1, 3, 3, 0);
    m.objects.set(ix.tile(1, 3, 3), 301);
    expectSame(ix, m);
    // Two towns x 1024 tiles x 2 arrays: one byte each at first, two bytes now.
    expect(ix.tileBytes() - oneByte).toBeGreaterThanOrEqual(2 * 1024 * 2);
  });

  it("saves and loads the same tile lists, objects placed again, with an equal hash", () => {
    const build = () => new SpatialIndex(2, 8, 8, 12);
    const a = build();
    const m = new Model();
    const rnd = lcg(3);
    for (let step = 0; step < 300; step++) {
      const eid = 1 + rnd(10);
      const town = rnd(2);
      const x = rnd(8);
      const y = rnd(8);
      a.place(eid, town, x, y);
      m.place(a.tile(town, x, y), eid);
    }
    a.placeObject(11, 1, 7, 7, 0);
    m.objects.set(a.tile(1, 7, 7), 11);
    const b = build();
    b.place(3, 0, 1, 1);
    b.load(a.save());
    b.placeObject(11, 1, 7, 7, 0);
    expectSame(b, m);
    expect(digest(b)).toBe(digest(a));
  });

  it("keeps every tile's list and hash while walkers step tile to tile in their town (packed and two-array tiles)", () => {
    // A town's walker keeps its slot (place's same-town step); 8 agents a town pack the tiles,
    // 40 do not. Moves: a step to a 4-neighbour, the same tile again (first on it again), now and
    // then another town, a removal and a return.
    for (const perTown of [8, 40]) {
      const towns = 3;
      const ix = new SpatialIndex(towns, 6, 6, towns * perTown + 3);
      const m = new Model();
      const rnd = lcg(perTown);
      const n = towns * perTown;
      ix.placeObject(n + 1, 0, 5, 5, 0);
      m.objects.set(ix.tile(0, 5, 5), n + 1);
      const home = (eid: number) => eid % towns;
      const at = new Map<number, [number, number, number]>();
      const put = (eid: number, town: number, x: number, y: number) => {
        ix.place(eid, town, x, y);
        m.place(ix.tile(town, x, y), eid);
        at.set(eid, [town, x, y]);
      };
      for (let eid = 1; eid <= n; eid++) put(eid, home(eid), rnd(6), rnd(6));
      expect(ix.packedTiles).toBe(perTown === 8);
      for (let step = 0; step < 4000; step++) {
        const eid = 1 + rnd(n);
        const where = at.get(eid);
        const r = rnd(40);
        if (where === undefined) put(eid, home(eid), rnd(6), rnd(6));
        else if (r === 0) {
          ix.unplace(eid);
          m.unplace(eid);
          at.delete(eid);
        } else if (r === 1) put(eid, (where[0] + 1) % towns, where[1], where[2]);
        else {
          const [dx, dy] = r < 8 ? [0, 0] : [[-1, 0], [1, 0], [0, -1], [0, 1]][r & 3];
          put(eid, where[0], Math.min(5, Math.max(0, where[1] + dx)), Math.min(5, Math.max(0, where[2] + dy)));
        }
        if (step % 500 === 0) expectSame(ix, m);
      }
      expectSame(ix, m);
      // The hash lists each occupied tile and its agents in order (components/grid.ts hash).
      const h = new StateHasher();
      for (let t = 0; t < towns * ix.cells; t++) {
        const list = m.agents.get(t) ?? [];
        if (list.length === 0) continue;
        h.u32(t);
        for (const a of list) h.u32(a);
      }
      expect(digest(ix)).toBe(h.digest());
    }
  });
});
