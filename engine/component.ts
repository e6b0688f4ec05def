// Components: columns of typed arrays (structure of arrays), one column per field, indexed by
// entity id, sized up front by the world and grown by a quarter when an id goes beyond. After
// the world is built, a component held only by low ids (the agents' components: agents take ids
// before objects) is trimmed to them (`trim`) and grows again when a higher id gets it. A definition is world-independent; each world keeps its own
// columns in a ComponentStore. The same store type holds per-town state, indexed by town id.

export type ColumnCtor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor;

export type Column =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** One field: its column type, its value for a new entity, and a doc line (unit, range). */
export interface FieldSpec<C extends ColumnCtor = ColumnCtor> {
  type: C;
  default?: number;
  doc?: string;
}
export type FieldDecl = ColumnCtor | FieldSpec;
export type ComponentSchema = Record<string, FieldDecl>;
type CtorOf<F> = F extends FieldSpec<infer C> ? C : F extends ColumnCtor ? F : never;
/** The live columns of a component in one world: `Needs.hunger[eid]`. */
export type Columns<S extends ComponentSchema> = { [K in keyof S]: InstanceType<CtorOf<S[K]>> };

export interface FieldInfo {
  readonly name: string;
  readonly type: ColumnCtor;
  readonly default: number;
  readonly doc?: string;
}

export interface ComponentDef<S extends ComponentSchema = ComponentSchema> {
  readonly kind: "component";
  readonly name: string;
  readonly schema: S;
  readonly fields: readonly FieldInfo[];
  readonly doc?: string;
  /**
   * Fields decided per world from its settings (Needs: one field per configured need). A world
   * registers `perWorld(settings)` (same name) under this definition: `world.columns(def)`,
   * `addComponent(eid, def)` and the rest find it by either, and the hash and snapshots see the
   * per-world fields. Return `this` definition itself when the settings ask for nothing else.
   */
  readonly perWorld?: (settings: unknown) => ComponentDef;
}

/** Declares a component once; worlds that register it get its columns. */
export function defineComponent<S extends ComponentSchema>(name: string, schema: S, doc?: string): ComponentDef<S> {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw new Error(`component name "${name}" must be an identifier`);
  const fields: FieldInfo[] = Object.keys(schema).map((key) => {
    const decl = schema[key] as FieldDecl;
    const spec: FieldSpec = typeof decl === "function" ? { type: decl } : decl;
    return { name: key, type: spec.type, default: spec.default ?? 0, doc: spec.doc };
  });
  if (fields.length === 0) throw new Error(`component "${name}" declares no field`);
  return { kind: "component", name, schema, fields, doc };
}

/** True when two definitions declare the same fields: names, column types and defaults, in order. */
function sameFields(a: ComponentDef, b: ComponentDef): boolean {
  if (a === b) return true;
  if (a.kind !== b.kind || a.name !== b.name || a.fields.length !== b.fields.length || (a.perWorld === undefined) !== (b.perWorld === undefined)) return false;
  return a.fields.every((f, i) => f.name === b.fields[i].name && f.type === b.fields[i].type && Object.is(f.default, b.fields[i].default));
}

export function isComponentDef(x: unknown): x is ComponentDef {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "component";
}

interface Entry {
  def: ComponentDef;
  /** The definition it was registered by (`def`, or the template whose perWorld made `def`). */
  template: ComponentDef;
  columns: Record<string, Column>;
  /**
   * The same columns in field order, and each field's default: add/remove/removeAll write a row
   * through these (no lookup by field name per write: ~5 us per removed entity over ~40
   * components, issue #19). Every site that replaces a column replaces it here too.
   */
  cols: Column[];
  defaults: Float64Array;
  /** 1 where the entity (or town) has this component. */
  has: Uint8Array;
  owner: string;
  /** Length of this entry's columns: the store's capacity, or less once trimmed. */
  length: number;
  /**
   * 0, or (a pooled entry: held by high ids only, the objects) the lowest row its columns own:
   * they are views into the store's shared pool buffer whose rows below `base` overlap other
   * columns' rows (see ComponentStore.trim). Never read or write such a row: no id below `base`
   * has the component.
   */
  base: number;
}

/** The columns of every registered component of one world (or per-town state of one world). */
export class ComponentStore {
  private readonly entries: Entry[] = [];
  private readonly byDef = new Map<ComponentDef, Entry>();
  private readonly byName = new Map<string, Entry>();
  /** Definitions looked up and found neither registered nor a copy of a registered one (until the next register). */
  private strangers = new WeakSet<ComponentDef>();
  /** The buffer every pooled entry's columns view (see trim), or undefined. */
  private pool: ArrayBuffer | undefined;
  /**
   * Counts the times any column or flags array was replaced (growth, trim, a pool laid out
   * again). A loop holding arrays that calls code which may spawn (a plug-in's hook) compares it
   * before and after the call: when it changed, the arrays it holds may be stale.
   */
  generation = 0;

  constructor(
    public capacity: number,
    private readonly what: "component" | "town state" = "component",
  ) {}

  /**
   * Registers a definition (idempotent for the same definition); returns its columns. With
   * `settings`, a definition with `perWorld` registers the definition it returns in its place.
   */
  register(template: ComponentDef, owner: string, settings?: unknown): Record<string, Column> {
    const known = this.byDef.get(template);
    if (known) return known.columns;
    const def = template.perWorld !== undefined && settings !== undefined ? template.perWorld(settings) : template;
    if (def.name !== template.name) throw new Error(`${this.what} "${template.name}": its per-world definition is named "${def.name}"`);
    const clash = this.byName.get(def.name);
    if (clash) {
      throw new Error(
        `${this.what} "${def.name}" is declared twice: by plug-in "${clash.owner}" and by plug-in "${owner}" (give one another name)`,
      );
    }
    const columns: Record<string, Column> = {};
    for (const f of def.fields) {
      const col = new f.type(this.capacity);
      if (f.default !== 0) col.fill(f.default);
      columns[f.name] = col;
    }
    const entry: Entry = { def, template, columns, cols: def.fields.map((f) => columns[f.name]), defaults: Float64Array.from(def.fields, (f) => f.default), has: new Uint8Array(this.capacity), owner, length: this.capacity, base: 0 };
    this.strangers = new WeakSet();
    this.entries.push(entry);
    this.byDef.set(def, entry);
    if (def !== template) this.byDef.set(template, entry);
    this.byName.set(def.name, entry);
    return columns;
  }

  columns<S extends ComponentSchema>(def: ComponentDef<S>): Columns<S> {
    const e = this.find(def as ComponentDef);
    if (!e) throw new Error(`${this.what} "${def.name}" is not registered in this world (no plug-in declares it)`);
    return e.columns as Columns<S>;
  }

  has(def: ComponentDef, id: number): boolean {
    const e = this.find(def);
    return e !== undefined && e.has[id] === 1;
  }

  /** The membership flags of `def` (1 where an id has it); replaced when the store grows or is trimmed. */
  flags(def: ComponentDef): Uint8Array {
    const e = this.find(def);
    if (!e) throw new Error(`${this.what} "${def.name}" is not registered in this world (no plug-in declares it)`);
    return e.has;
  }

  isRegistered(def: ComponentDef): boolean {
    return this.find(def) !== undefined;
  }

  /**
   * The entry of `def`: by identity, else the registered definition `def` is a copy of. A copy is
   * the same declaration evaluated by a second instance of its module (a TypeScript plug-in run by
   * the compiled CLI imports components/*.ts while the CLI's bundle holds its own): same name, same
   * fields (names, types, defaults) as the registered definition or the template that made it.
   */
  private find(def: ComponentDef): Entry | undefined {
    const known = this.byDef.get(def);
    if (known !== undefined || this.strangers.has(def)) return known;
    const e = this.byName.get(def.name);
    const copy = e !== undefined && (sameFields(def, e.template) || sameFields(def, e.def)) ? e : undefined;
    if (copy) this.byDef.set(def, copy);
    else this.strangers.add(def);
    return copy;
  }

  byNameOrUndefined(name: string): ComponentDef | undefined {
    return this.byName.get(name)?.def;
  }

  /** Registered definitions in registration order. */
  definitions(): ComponentDef[] {
    return this.entries.map((e) => e.def);
  }

  /**
   * Makes room for ids below `n` (at least a quarter more); columns are replaced by larger copies.
   * Trimmed entries keep their length (they grow when an id beyond it gets the component).
   */
  ensure(n: number): void {
    if (n <= this.capacity) return;
    const cap = Math.max(n, 16, Math.ceil(this.capacity * 1.25));
    for (const e of this.entries) if (e.base === 0 && e.length === this.capacity) this.regrow(e, cap);
    // Pooled entries that span the capacity grow with it: the pool is laid out again.
    const pooled = this.pooled();
    if (pooled.length > 0) this.pack(pooled.map((e) => ({ e, length: e.length === this.capacity ? cap : e.length, base: e.base })));
    this.capacity = cap;
  }

  /** Gives every entry, trimmed ones included, room for ids below `n` (snapshot restore); ends any pooling. */
  ensureAll(n: number): void {
    this.unpool();
    this.ensure(n);
    for (const e of this.entries) if (e.length < n) this.regrow(e, Math.min(this.capacity, Math.max(n, e.length)));
  }

  /**
   * Shrinks every entry to its highest member + 1 (at least 16): in a built world, the agents'
   * components (agents take the low ids, engine/entities.ts) hold the agents' ids only, not the
   * objects' above them. Values and flags are unchanged; reads of such a column at an id beyond
   * its length give undefined (an id that does not have the component).
   *
   * The objects' components (held by ids from `lo` >= POOL_MIN_BASE up only: objects take the ids
   * above the agents') are pooled: each column becomes a view, still indexed by entity id, into
   * one buffer shared by all of them, laid out so that only rows lo.. of each view are its own;
   * rows below `lo` overlap the columns laid out before it (issue #19 memory: the objects'
   * columns no longer hold a row per agent). Their flags keep a row per id. Such a row below
   * `lo` belongs to no one's component here: reading it gives another column's value, writing it
   * corrupts one. An entity below `lo` that gets the component lowers `lo` (the pool is laid out
   * again), as does growth beyond the length; a snapshot restore ends the pooling (ensureAll)
   * until its own trim.
   */
  trim(): void {
    this.unpool();
    const pool: PoolSpec[] = [];
    for (const e of this.entries) {
      let top = e.length - 1;
      while (top > 0 && e.has[top] !== 1) top--;
      const n = Math.max(16, top + 1);
      if (n < e.length) this.regrow(e, n);
      let lo = 0;
      while (lo < e.length && e.has[lo] !== 1) lo++;
      if (lo < e.length && lo >= POOL_MIN_BASE) pool.push({ e, length: e.length, base: lo });
    }
    if (pool.length > 0) this.pack(pool);
  }

  /** resize, counted in `generation`. */
  private regrow(e: Entry, n: number): void {
    this.generation++;
    resize(e, n);
  }

  /** Entries whose columns view the pool, in registration order. */
  private pooled(): Entry[] {
    return this.entries.filter((e) => e.base > 0);
  }

  /** Gives every pooled entry its own columns again (a row per id from 0). */
  private unpool(): void {
    for (const e of this.pooled()) this.regrow(e, e.length);
    this.pool = undefined;
  }

  /**
   * Lays out a new pool for exactly the entries given (every pooled entry, old or new, with its
   * new length and base) and copies their rows base..length into it. Columns are placed
   * narrowest element first, each view's offset as low as keeps its own rows after the previous
   * view's (aligned to its element): the buffer holds the first view's rows below its base once
   * (one byte per row when a Uint8 field is pooled), then every column's own rows.
   */
  private pack(specs: readonly PoolSpec[]): void {
    this.generation++;
    const cols: { spec: PoolSpec; f: FieldInfo; size: number }[] = [];
    for (const spec of specs) for (const f of spec.e.def.fields) cols.push({ spec, f, size: f.type.BYTES_PER_ELEMENT });
    cols.sort((a, b) => a.size - b.size);
    const offsets: number[] = [];
    let end = 0;
    for (const { spec, size } of cols) {
      const o = Math.max(0, Math.ceil((end - spec.base * size) / size) * size);
      offsets.push(o);
      end = o + spec.length * size;
    }
    const buf = new ArrayBuffer(end);
    const views = new Map<Entry, Record<string, Column>>();
    cols.forEach(({ spec, f }, i) => {
      const { e, length, base } = spec;
      const view = new f.type(buf, offsets[i], length);
      if (f.default !== 0) view.fill(f.default, base, length);
      const from = Math.max(base, e.base);
      const to = Math.min(length, e.length);
      if (to > from) view.set(e.columns[f.name].subarray(from, to) as never, from);
      let rec = views.get(e);
      if (rec === undefined) views.set(e, (rec = {}));
      rec[f.name] = view;
    });
    for (const { e, length, base } of specs) {
      const rec = views.get(e)!;
      e.def.fields.forEach((f, i) => (e.columns[f.name] = e.cols[i] = rec[f.name]));
      if (e.has.length !== length) {
        const has = new Uint8Array(length);
        has.set(e.has.subarray(0, Math.min(length, e.has.length)));
        e.has = has;
      }
      e.length = length;
      e.base = base;
    }
    this.pool = buf;
  }

  /** Marks `id` as having `def` and writes defaults, then the given initial values. */
  add(def: ComponentDef, id: number, init?: Record<string, number>): void {
    const e = this.find(def);
    if (!e) throw new Error(`${this.what} "${def.name}" is not registered in this world (no plug-in declares it)`);
    if (id >= e.length || id < e.base) {
      const n = id >= e.length ? Math.min(Math.max(this.capacity, id + 1), Math.max(id + 1, Math.ceil(e.length * 1.25))) : e.length;
      if (e.base === 0) this.regrow(e, n);
      else this.pack(this.pooled().map((p) => (p === e ? { e, length: n, base: Math.min(e.base, id) } : { e: p, length: p.length, base: p.base })));
    }
    e.has[id] = 1;
    clearRow(e, id);
    if (init) {
      for (const k of Object.keys(init)) {
        const col = e.columns[k];
        if (col === undefined) throw new Error(`${this.what} "${def.name}" has no field "${k}"`);
        col[id] = init[k];
      }
    }
  }

  /** Clears `id` from `def`: fields back to their defaults so recycled ids start clean. */
  remove(def: ComponentDef, id: number): void {
    const e = this.find(def);
    if (!e || e.has[id] !== 1) return;
    e.has[id] = 0;
    clearRow(e, id);
  }

  removeAll(id: number): void {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      if (e.has[id] !== 1) continue;
      e.has[id] = 0;
      clearRow(e, id);
    }
  }

  /** Definitions that `id` has, in registration order. */
  componentsOf(id: number): ComponentDef[] {
    return this.entries.filter((e) => e.has[id] === 1).map((e) => e.def);
  }

  /** Bytes held by columns (the pool once) and membership flags. */
  bytes(): number {
    let b = this.poolBytes();
    for (const e of this.entries) {
      b += e.has.byteLength;
      if (e.base === 0) for (const f of e.def.fields) b += e.columns[f.name].byteLength;
    }
    return b;
  }

  /** Bytes of the pooled entries' shared buffer (0 when none is pooled). */
  poolBytes(): number {
    return this.pool?.byteLength ?? 0;
  }

  /**
   * Calls `visit` for every registered definition, field column and membership flags, in
   * registration order; used by the state hash and the snapshot codec. `base` is 0, or for a
   * pooled entry (see trim) the lowest row its columns own: read rows below it as the field's
   * default (no id there has the component).
   */
  forEach(visit: (def: ComponentDef, columns: Record<string, Column>, has: Uint8Array, base: number) => void): void {
    for (const e of this.entries) visit(e.def, e.columns, e.has, e.base);
  }
}

/** The lowest first member that pools an entry (see ComponentStore.trim). */
const POOL_MIN_BASE = 8;

interface PoolSpec {
  e: Entry;
  length: number;
  base: number;
}

/**
 * Replaces an entry's columns and flags by copies of length `n` with their own buffers (new rows,
 * and a pooled entry's rows below its base, hold the defaults); the entry is no longer pooled.
 */
function resize(e: Entry, n: number): void {
  const keep = Math.min(n, e.length);
  const from = Math.min(e.base, keep);
  e.def.fields.forEach((f, i) => {
    const col = new f.type(n);
    if (f.default !== 0) col.fill(f.default);
    col.set(e.columns[f.name].subarray(from, keep) as never, from);
    e.columns[f.name] = e.cols[i] = col;
  });
  e.base = 0;
  const has = new Uint8Array(n);
  has.set(e.has.subarray(0, keep));
  e.has = has;
  e.length = n;
}

/** Writes each field's default into row `id` of entry `e`. */
function clearRow(e: Entry, id: number): void {
  const cols = e.cols;
  const d = e.defaults;
  for (let i = 0; i < cols.length; i++) cols[i][id] = d[i];
}
