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

export function isComponentDef(x: unknown): x is ComponentDef {
  return typeof x === "object" && x !== null && (x as { kind?: unknown }).kind === "component";
}

interface Entry {
  def: ComponentDef;
  columns: Record<string, Column>;
  /** 1 where the entity (or town) has this component. */
  has: Uint8Array;
  owner: string;
  /** Length of this entry's columns: the store's capacity, or less once trimmed. */
  length: number;
}

/** The columns of every registered component of one world (or per-town state of one world). */
export class ComponentStore {
  private readonly entries: Entry[] = [];
  private readonly byDef = new Map<ComponentDef, Entry>();
  private readonly byName = new Map<string, Entry>();

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
    const entry: Entry = { def, columns, has: new Uint8Array(this.capacity), owner, length: this.capacity };
    this.entries.push(entry);
    this.byDef.set(def, entry);
    if (def !== template) this.byDef.set(template, entry);
    this.byName.set(def.name, entry);
    return columns;
  }

  columns<S extends ComponentSchema>(def: ComponentDef<S>): Columns<S> {
    const e = this.byDef.get(def as ComponentDef);
    if (!e) throw new Error(`${this.what} "${def.name}" is not registered in this world (no plug-in declares it)`);
    return e.columns as Columns<S>;
  }

  has(def: ComponentDef, id: number): boolean {
    const e = this.byDef.get(def);
    return e !== undefined && e.has[id] === 1;
  }

  /** The membership flags of `def` (1 where an id has it); replaced when the store grows or is trimmed. */
  flags(def: ComponentDef): Uint8Array {
    const e = this.byDef.get(def);
    if (!e) throw new Error(`${this.what} "${def.name}" is not registered in this world (no plug-in declares it)`);
    return e.has;
  }

  isRegistered(def: ComponentDef): boolean {
    return this.byDef.has(def);
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
    for (const e of this.entries) if (e.length === this.capacity) resize(e, cap);
    this.capacity = cap;
  }

  /** Gives every entry, trimmed ones included, room for ids below `n` (snapshot restore). */
  ensureAll(n: number): void {
    this.ensure(n);
    for (const e of this.entries) if (e.length < n) resize(e, Math.min(this.capacity, Math.max(n, e.length)));
  }

  /**
   * Shrinks every entry to its highest member + 1 (at least 16): in a built world, the agents'
   * components (agents take the low ids, engine/entities.ts) hold the agents' ids only, not the
   * objects' above them. Values and flags are unchanged; reads of such a column at an id beyond
   * its length give undefined (an id that does not have the component).
   */
  trim(): void {
    for (const e of this.entries) {
      let top = e.length - 1;
      while (top > 0 && e.has[top] !== 1) top--;
      const n = Math.max(16, top + 1);
      if (n < e.length) resize(e, n);
    }
  }

  /** Marks `id` as having `def` and writes defaults, then the given initial values. */
  add(def: ComponentDef, id: number, init?: Record<string, number>): void {
    const e = this.byDef.get(def);
    if (!e) throw new Error(`${this.what} "${def.name}" is not registered in this world (no plug-in declares it)`);
    if (id >= e.length) resize(e, Math.min(Math.max(this.capacity, id + 1), Math.max(id + 1, Math.ceil(e.length * 1.25))));
    e.has[id] = 1;
    for (const f of e.def.fields) e.columns[f.name][id] = f.default;
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
    const e = this.byDef.get(def);
    if (!e || e.has[id] !== 1) return;
    e.has[id] = 0;
    for (const f of e.def.fields) e.columns[f.name][id] = f.default;
  }

  removeAll(id: number): void {
    for (const e of this.entries) this.remove(e.def, id);
  }

  /** Definitions that `id` has, in registration order. */
  componentsOf(id: number): ComponentDef[] {
    return this.entries.filter((e) => e.has[id] === 1).map((e) => e.def);
  }

  /** Bytes held by columns and membership flags. */
  bytes(): number {
    let b = 0;
    for (const e of this.entries) {
      b += e.has.byteLength;
      for (const f of e.def.fields) b += e.columns[f.name].byteLength;
    }
    return b;
  }

  /**
   * Calls `visit` for every registered definition, field column and membership flags, in
   * registration order; used by the state hash and the snapshot codec.
   */
  forEach(visit: (def: ComponentDef, columns: Record<string, Column>, has: Uint8Array) => void): void {
    for (const e of this.entries) visit(e.def, e.columns, e.has);
  }
}

/** Replaces an entry's columns and flags by copies of length `n` (new rows hold the defaults). */
function resize(e: Entry, n: number): void {
  const keep = Math.min(n, e.length);
  for (const f of e.def.fields) {
    const col = new f.type(n);
    col.set(e.columns[f.name].subarray(0, keep) as never);
    if (f.default !== 0 && n > keep) col.fill(f.default, keep);
    e.columns[f.name] = col;
  }
  const has = new Uint8Array(n);
  has.set(e.has.subarray(0, keep));
  e.has = has;
  e.length = n;
}
