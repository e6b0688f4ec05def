// Letters drawn on the map's objects: the shortest prefix of each type's name that no other type
// shares ("F" fridge, "Sh" shower, "St" stove), so two types never share a label. Pure (no DOM):
// test/e2e/observer-labels.test.ts checks it in Node.

const clean = (t: string) => t.replace(/[^A-Za-z0-9]/g, "") || t;
const cap = (s: string) => s.slice(0, 1).toUpperCase() + s.slice(1).toLowerCase();

/** A label per distinct type (1 to 3 characters, or a letter and a number): distinct, case-insensitively. */
export function objectLabels(types: Iterable<string>): Map<string, string> {
  const uniq = [...new Set(types)].sort();
  const names = uniq.map((t) => clean(t).toLowerCase());
  const out = new Map<string, string>();
  const used = new Set<string>();
  uniq.forEach((t, i) => {
    const name = names[i];
    let label: string | undefined;
    for (let k = 1; k <= Math.min(3, name.length); k++) {
      const p = name.slice(0, k);
      if (!names.some((o, j) => j !== i && o.slice(0, k) === p) && !used.has(p)) {
        label = cap(p);
        break;
      }
    }
    if (label === undefined) {
      // Prefixes of three letters are shared (or the name is a prefix of another): a letter and a number.
      let n = 2;
      while (used.has(`${name.slice(0, 1)}${n}`)) n++;
      label = cap(`${name.slice(0, 1)}${n}`);
    }
    used.add(label.toLowerCase());
    out.set(t, label);
  });
  return out;
}
