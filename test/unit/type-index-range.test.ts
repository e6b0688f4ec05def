// TownTypeIndex's range API (issue #19 memory): `items` from `begin` to `end` lists what `get`'s
// view lists, for every (town, type), without a view; unknown towns and types give an empty range.
import { describe, expect, it } from "vitest";
import { TownTypeIndex } from "../../systems/affordances/type-index.ts";

describe("TownTypeIndex ranges", () => {
  it("give each (town, type)'s [eid, x, y] triples in object order, the same as its view", () => {
    // Objects 1..11 in 3 towns of 3 types (type 1 absent from town 2), tiles from the id.
    const objects = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const town = (e: number) => (e - 1) % 3;
    const type = (e: number) => (e === 8 ? 2 : e % 3);
    const ix = new TownTypeIndex(objects, 3, 3, town, type, (e) => e * 10, (e) => e * 100);
    let seen = 0;
    for (let t = 0; t < 3; t++) {
      for (let ty = 0; ty < 3; ty++) {
        const want: number[] = [];
        for (const e of objects) if (town(e) === t && type(e) === ty) want.push(e, e * 10, e * 100);
        const got = Array.from(ix.items.subarray(ix.begin(t, ty), ix.end(t, ty)));
        expect(got, `town ${t} type ${ty}`).toEqual(want);
        expect(got).toEqual(Array.from(ix.get(t, ty)));
        seen += got.length / 3;
      }
    }
    expect(seen).toBe(objects.length);
  });

  it("is empty for unknown towns and types and for an empty index", () => {
    const ix = new TownTypeIndex([1, 2], 2, 2, (e) => e - 1, () => 1, () => 0, () => 0);
    for (const [t, ty] of [
      [2, 0],
      [0, 2],
      [-1, 1],
      [0, -1],
    ]) expect(ix.end(t, ty) - ix.begin(t, ty), `${t}/${ty}`).toBe(0);
    expect(ix.end(0, 1) - ix.begin(0, 1)).toBe(3);
    const none = TownTypeIndex.empty();
    expect(none.end(0, 0) - none.begin(0, 0)).toBe(0);
  });
});
