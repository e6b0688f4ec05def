// The per-(town, spec) window rings of the perturbation scheduler (issue #19): the same start
// ticks in the same order (oldest first) as the arrays with push/shift they replaced, through a
// ring that wraps, grows past its first size (manual events) and is reloaded.
import { describe, expect, it } from "vitest";
import { WindowRings } from "../../systems/perturbations/windows.ts";

describe("perturbation window rings", () => {
  it("keep the order of push/shift arrays through wrapping, growth and a reload", () => {
    const buckets = 5;
    const rings = new WindowRings(buckets, 2);
    const arrays: number[][] = Array.from({ length: buckets }, () => []);
    let x = 12345;
    const next = () => (x = (x * 1103515245 + 12345) % 2147483648);
    for (let step = 0; step < 4000; step++) {
      const k = next() % buckets;
      const op = next() % 10;
      if (op < 5) {
        rings.push(k, step);
        arrays[k].push(step);
      } else if (op < 9 && arrays[k].length > 0) {
        rings.shift(k);
        arrays[k].shift();
      } else if (op === 9 && step % 7 === 0) {
        rings.clear(k);
        arrays[k].length = 0;
      }
      expect(rings.length(k)).toBe(arrays[k].length);
      if (arrays[k].length > 0) expect(rings.at(k, 0)).toBe(arrays[k][0]);
    }
    const lists = Array.from({ length: buckets }, (_, k) => rings.list(k));
    expect(lists).toEqual(arrays);
    expect(Math.max(...arrays.map((a) => a.length))).toBeGreaterThan(2);
    const loaded = new WindowRings(buckets, 1);
    loaded.setAll(lists);
    expect(Array.from({ length: buckets }, (_, k) => loaded.list(k))).toEqual(arrays);
    loaded.push(0, 9999);
    expect(loaded.list(0)).toEqual([...arrays[0], 9999]);
  });

  it("refuses saved windows for another number of buckets, naming both counts", () => {
    expect(() => new WindowRings(4, 1).setAll([[1], [2]])).toThrow(/2 \(town, spec\) buckets, this world has 4/);
  });
});
