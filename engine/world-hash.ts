// The world's state hash (World.stateHash): a canonical 64-bit digest of the whole simulation
// state, in a fixed order. Any change to what is hashed, or its order, changes every pinned hash.
import type { Column, ComponentDef, ComponentStore } from "./component.ts";
import type { EntityIndex } from "./entities.ts";
import { StateHasher } from "./hash.ts";
import type { MessageBus } from "./message.ts";
import { isPersistentState, type AnyPlugin } from "./plugin.ts";
import type { RngStreams } from "./rng.ts";

/** What the hash covers (the world's fields, some of them private to it). */
export interface HashedState {
  tick: number;
  towns: number;
  nextUid: number;
  entities: EntityIndex;
  components: ComponentStore;
  townStore: ComponentStore;
  rng: RngStreams;
  messages: MessageBus;
  interned: readonly string[];
  names: ReadonlyMap<number, string>;
  plugins: readonly AnyPlugin[];
  states: ReadonlyMap<string, unknown>;
}

/**
 * Tick, every component column in entity order, per-town state, entity allocator, agent ids,
 * random stream states, messages still in flight, interned strings and every plug-in's
 * persistent state.
 */
export function hashWorldState(w: HashedState): string {
  const h = new StateHasher();
  h.u32(w.tick).u32(w.towns).u32(w.nextUid);
  const ix = w.entities;
  const dense = ix.dense;
  h.u32(ix.aliveCount).u32(ix.maxId).u32(dense.length);
  for (let i = 0; i < dense.length; i++) h.u32(dense[i]);
  // The agents' id reservation (engine/entities.ts); absent from worlds without one, as before it.
  if (ix.reserveEnd > 0) h.u32(ix.reserveNext).u32(ix.reserveEnd);
  const max = ix.maxId;
  w.components.forEach((def, cols, has) => hashColumns(h, def, cols, has, 1, max));
  w.townStore.forEach((def, cols, has) => hashColumns(h, def, cols, has, 0, w.towns - 1));
  for (const name of w.rng.order) {
    const s = w.rng.get(name).state();
    h.str(name).f64(s.c).f64(s.s0).f64(s.s1).f64(s.s2);
  }
  for (const ch of w.messages.channels) {
    const v = ch.lastTick();
    h.str(ch.def.name).u32(v.count);
    for (const c of ch.cols) for (let i = v.start; i < v.end; i++) h.f64(c[i]);
  }
  h.u32(w.interned.length);
  for (const s of w.interned) h.str(s);
  const named = [...w.names.entries()].sort((a, b) => a[0] - b[0]);
  for (const [uid, n] of named) h.u32(uid).str(n);
  for (const p of w.plugins) {
    const st = w.states.get(p.name);
    if (isPersistentState(st)) {
      h.str(p.name);
      st.hash(h);
    }
  }
  return h.digest();
}

function hashColumns(h: StateHasher, def: ComponentDef, cols: Record<string, Column>, has: Uint8Array, from: number, to: number): void {
  h.str(def.name);
  for (const f of def.fields) {
    const col = cols[f.name];
    h.str(f.name);
    if (col instanceof Float32Array) {
      const w = new Uint32Array(col.buffer, col.byteOffset, col.length);
      for (let id = from; id <= to; id++) if (has[id] === 1) h.u32(id).u32(w[id]);
    } else if (col instanceof Float64Array) {
      const w = new Uint32Array(col.buffer, col.byteOffset, col.length * 2);
      for (let id = from; id <= to; id++) if (has[id] === 1) h.u32(id).u32(w[2 * id]).u32(w[2 * id + 1]);
    } else {
      for (let id = from; id <= to; id++) if (has[id] === 1) h.u32(id).u32(col[id]);
    }
  }
}
