// A plug-in's saved state in a snapshot: the JSON of its PersistentState's save(), with typed
// arrays moved to raw sections state/<plug-in>/<k> and non-finite numbers and -0 tagged.
import { fromUtf8, SnapshotError, TYPED, bytesOf, typedFrom, utf8, type SnapshotData } from "./format.ts";

/** JSON of a plug-in's saved state: typed arrays go to raw sections, odd numbers are tagged. */
export function encodeState(plugin: string, value: unknown, out: [string, Uint8Array][]): Uint8Array {
  let k = 0;
  const text = JSON.stringify(value, function (_key, v: unknown) {
    if (typeof v === "number") {
      if (Number.isFinite(v) && !Object.is(v, -0)) return v;
      return { $num: Object.is(v, -0) ? "-0" : String(v) };
    }
    if (v !== null && typeof v === "object") {
      if (ArrayBuffer.isView(v)) {
        const name = `state/${plugin}/${k++}`;
        const type = v.constructor.name;
        if (!TYPED[type]) throw new Error(`plug-in "${plugin}": save() returned a ${type}, which snapshots cannot hold`);
        out.push([name, bytesOf(v)]);
        return { $bin: name, $type: type };
      }
      if (v instanceof Map || v instanceof Set) throw new Error(`plug-in "${plugin}": save() returned a ${v.constructor.name}; return arrays or plain objects`);
    }
    return v;
  });
  return utf8.encode(text ?? "null");
}

/** The value a plug-in's save() returned, as stored in `snap`. */
export function decodeState(snap: SnapshotData, plugin: string): unknown {
  const name = `state/${plugin}`;
  const raw = snap.sections.get(name);
  if (!raw) throw new SnapshotError("schema", `the snapshot holds no state for plug-in "${plugin}"`);
  const text = fromUtf8.decode(raw);
  // The reviver costs a call per value: only when something is tagged.
  if (!text.includes('"$num"') && !text.includes('"$bin"')) return JSON.parse(text);
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$num === "string" && Object.keys(o).length === 1) return o.$num === "-0" ? -0 : Number(o.$num);
      if (typeof o.$bin === "string" && typeof o.$type === "string" && Object.keys(o).length === 2) {
        const bin = snap.sections.get(o.$bin);
        if (!bin) throw new SnapshotError("corrupt", `${name}: binary part ${o.$bin} is missing`);
        return typedFrom(o.$type, bin, o.$bin);
      }
    }
    return v;
  });
}
