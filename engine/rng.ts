// Named random streams. Every random draw in the simulation comes from one of these: the
// engine's `world`, `events` and `policy` streams or a plug-in's own stream, all derived from
// one root seed. Backed by seedrandom's alea (fast, 4-number state that saves and restores).
import seedrandom from "seedrandom";

/** The saved state of one stream: alea's three fractions and its carry. */
export interface RngState {
  c: number;
  s0: number;
  s1: number;
  s2: number;
}

/** A deterministic stream of random numbers whose state can be saved and restored. */
export interface Rng {
  readonly name: string;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n); n must be a positive integer. */
  int(n: number): number;
  /** Uniform float in [lo, hi). */
  uniform(lo: number, hi: number): number;
  /** Uniform integer in [lo, hi] (both inclusive). */
  intBetween(lo: number, hi: number): number;
  /** A copy of the current state. */
  state(): RngState;
  /** Continue from a saved state. */
  restore(state: RngState): void;
}

interface AleaPrng {
  (): number;
  state(): RngState;
}

class AleaStream implements Rng {
  private prng: AleaPrng;
  constructor(readonly name: string, seed: string) {
    this.prng = seedrandom.alea(seed, { state: true }) as unknown as AleaPrng;
  }
  next(): number {
    return this.prng();
  }
  int(n: number): number {
    return Math.floor(this.prng() * n);
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.prng();
  }
  intBetween(lo: number, hi: number): number {
    return lo + Math.floor(this.prng() * (hi - lo + 1));
  }
  state(): RngState {
    return this.prng.state();
  }
  restore(state: RngState): void {
    if (!isRngState(state)) throw new TypeError(`rng stream "${this.name}": invalid saved state`);
    this.prng = seedrandom.alea("", { state: { ...state } }) as unknown as AleaPrng;
  }
}

export function isRngState(s: unknown): s is RngState {
  if (typeof s !== "object" || s === null) return false;
  const r = s as Record<string, unknown>;
  return ["c", "s0", "s1", "s2"].every((k) => typeof r[k] === "number" && Number.isFinite(r[k]));
}

/** The engine's own streams; plug-ins get one more each, named after the plug-in. */
export const CORE_STREAMS = ["world", "events", "policy"] as const;
export type CoreStream = (typeof CORE_STREAMS)[number];

/** Creates one stream from the root seed and a stream name (`"<seed>:<name>"`). */
export function createRng(rootSeed: number, name: string): Rng {
  return new AleaStream(name, `${rootSeed}:${name}`);
}

/** All streams of a world, in a fixed order (core streams, then plug-ins in registration order). */
export class RngStreams {
  private readonly byName = new Map<string, Rng>();
  readonly order: string[] = [];
  constructor(readonly rootSeed: number) {
    for (const s of CORE_STREAMS) this.add(s);
  }
  add(name: string): Rng {
    const existing = this.byName.get(name);
    if (existing) return existing;
    const rng = createRng(this.rootSeed, name);
    this.byName.set(name, rng);
    this.order.push(name);
    return rng;
  }
  get(name: string): Rng {
    const rng = this.byName.get(name);
    if (!rng) throw new Error(`unknown rng stream "${name}" (streams: ${this.order.join(", ")})`);
    return rng;
  }
  /** Every stream's state, keyed by name, in stream order. */
  save(): Record<string, RngState> {
    const out: Record<string, RngState> = {};
    for (const n of this.order) out[n] = this.get(n).state();
    return out;
  }
  /** Restores every stream, or none: all states are checked before any is applied. */
  restore(states: Record<string, RngState>): void {
    for (const n of this.order) {
      const s = states[n];
      if (s === undefined) throw new Error(`saved rng states lack stream "${n}"`);
      if (!isRngState(s)) throw new TypeError(`rng stream "${n}": invalid saved state`);
    }
    for (const n of this.order) this.get(n).restore(states[n]);
  }
}
