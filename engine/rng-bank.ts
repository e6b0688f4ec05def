// Many random streams of one kind (one per town, say) in one Float64Array: each stream's alea
// state (carry c and fractions s0, s1, s2) in four slots. The numbers are those of the
// `createRng` stream of the same name (the same alea step, seeded by seedrandom itself), and
// state()/restore() read and write the same RngState; a bank of n streams holds 32 n bytes
// instead of n stream objects with their closures (about 500 bytes each; issue #19 memory).
import seedrandom from "seedrandom";
import { isRngState, type Rng, type RngState } from "./rng.ts";

export class RngBank {
  /** c, s0, s1, s2 per stream. */
  private readonly s: Float64Array;
  private readonly cursor: BankCursor;

  /** Streams `name(0)` .. `name(n - 1)` of `rootSeed`, as createRng(rootSeed, name(i)) would make them. */
  constructor(
    rootSeed: number,
    readonly length: number,
    private readonly name: (i: number) => string,
  ) {
    this.s = new Float64Array(4 * length);
    for (let i = 0; i < length; i++) {
      const prng = seedrandom.alea(`${rootSeed}:${name(i)}`, { state: true }) as unknown as { state(): RngState };
      this.write(i, prng.state());
    }
    this.cursor = new BankCursor(this.s, this.name);
  }

  /**
   * Stream `i` as an Rng. The bank has one cursor: the object returned is the same for every
   * `i` and draws from the stream last selected, so use it before selecting another.
   */
  at(i: number): Rng {
    if (!(i >= 0 && i < this.length)) throw new RangeError(`rng bank: stream ${i} out of range 0..${this.length - 1}`);
    this.cursor.i = i;
    return this.cursor;
  }

  /**
   * The next number of stream `i`: what `at(i).next()` returns, without selecting the cursor (a
   * hot loop drawing from many streams, such as the perturbation scheduler's hazard draws per
   * town, issue #19). `i` must be in 0..length-1 (not checked here: at() checks).
   */
  next(i: number): number {
    return aleaStep(this.s, 4 * i);
  }

  /** A copy of stream `i`'s state. */
  state(i: number): RngState {
    const o = 4 * i;
    return { c: this.s[o], s0: this.s[o + 1], s1: this.s[o + 2], s2: this.s[o + 3] };
  }

  /** Continues stream `i` from a saved state. */
  restore(i: number, state: RngState): void {
    if (!isRngState(state)) throw new TypeError(`rng stream "${this.name(i)}": invalid saved state`);
    this.write(i, state);
  }

  /** Bytes held. */
  bytes(): number {
    return this.s.byteLength;
  }

  private write(i: number, st: RngState): void {
    const o = 4 * i;
    this.s[o] = st.c;
    this.s[o + 1] = st.s0;
    this.s[o + 2] = st.s1;
    this.s[o + 3] = st.s2;
  }
}

/** alea's step (seedrandom's lib/alea.js) on the stream whose slots start at `o`: c, s0, s1, s2. */
function aleaStep(s: Float64Array, o: number): number {
  const t = 2091639 * s[o + 1] + s[o] * 2.3283064365386963e-10; // 2^-32
  s[o + 1] = s[o + 2];
  s[o + 2] = s[o + 3];
  const c = t | 0;
  s[o] = c;
  return (s[o + 3] = t - c);
}

class BankCursor implements Rng {
  i = 0;
  constructor(
    private readonly s: Float64Array,
    private readonly nameOf: (i: number) => string,
  ) {}
  get name(): string {
    return this.nameOf(this.i);
  }
  /** alea's step on the selected stream's slots. */
  next(): number {
    return aleaStep(this.s, 4 * this.i);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  intBetween(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  state(): RngState {
    const o = 4 * this.i;
    return { c: this.s[o], s0: this.s[o + 1], s1: this.s[o + 2], s2: this.s[o + 3] };
  }
  restore(state: RngState): void {
    if (!isRngState(state)) throw new TypeError(`rng stream "${this.name}": invalid saved state`);
    const o = 4 * this.i;
    this.s[o] = state.c;
    this.s[o + 1] = state.s0;
    this.s[o + 2] = state.s1;
    this.s[o + 3] = state.s2;
  }
}
