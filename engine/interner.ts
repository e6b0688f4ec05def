// The world's interned strings (world.intern / world.text): ids for `str` message fields and
// columns, the same string always the same id in a run, in first-use order (hashed, saved).

export class Interner {
  /** The strings by id. */
  readonly list: string[];
  private readonly ids = new Map<string, number>();

  /** A table holding `list` (ids 0..n-1 in that order), e.g. a snapshot's. */
  constructor(list: readonly string[] = []) {
    this.list = [...list];
    this.list.forEach((s, i) => this.ids.set(s, i));
  }

  /** The id of `s`, given a new one on first use. */
  intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  /** The string of an id; an unknown id is an error. */
  text(id: number): string {
    const s = this.list[id];
    if (s === undefined) throw new RangeError(`no interned string with id ${id}`);
    return s;
  }
}
