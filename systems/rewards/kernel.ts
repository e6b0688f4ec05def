// The fused reward kernel (issue #19): rewards/compute's whole per-agent formula in one loop,
// generated for one world's columns and terms, the terms adding straight into one accumulator.
//
// Why generated: V8 optimises a loop over typed arrays it sees as constants (`const` bindings
// of the only closure of a function literal: function-context specialisation) far better than
// the same loop over arrays that come in as arguments or object fields (no per-iteration loads
// of each array's base and length). With ~30 columns the passes in pass.ts held more array
// pointers than there are registers and carried a Float64 partial sum between them; here the
// sum stays in a register and each array is an embedded constant. Same idea as the need-decay
// kernel (systems/needs/decay-kernel.ts).
//
// The arithmetic is pass.ts's, term by term in the same order and precision (survival + Φ,
// each declared term bias(weight · value), shaping, curiosity, the guard, both clips, the
// terminal penalty): the rewards, the recorded breakdown and the hash stream are identical to
// the bit (test/unit/reward-fused.test.ts runs both paths). The breakdown (breakdown.ts) is
// written only by a kernel made for a tick that records it (`breakdown`); the others write
// total, episode, potential and primed alone. The generated source holds only
// names fixed here (c0, o0, w0 ...) and constants of this file, never config text. Where the
// runtime forbids code generation from strings, compileFused returns undefined and the passes
// run.
import { ExitReason } from "../../components/people.ts";
import type { InlineRewardValue } from "../../engine/reward-term.ts";
import { compileKernel } from "../../engine/kernel-source.ts";

/** What decides the kernel's shape (it is regenerated when any of it changes). */
export interface FusedLayout {
  readonly useBias: boolean;
  readonly shapingOn: boolean;
  /** A potential term with a non-zero weight (otherwise Φ is 0). */
  readonly hasPhi: boolean;
  /** This kernel records the breakdown (every term's column, breakdown.ts). */
  readonly breakdown: boolean;
  /** Φ is recorded in the potential term's breakdown column (a potential term exists and the breakdown is recorded). */
  readonly phiOut: boolean;
  /** The declared terms but the potential, in order: weight non-zero, profile bias. */
  readonly terms: readonly { readonly on: boolean; readonly bias: boolean }[];
  /** Φ computed inline (the potential term's InlineRewardValue expression), or null: read from its column. */
  readonly phiInline: string | null;
  /** Per declared term (but the potential): its inline expression, or null (read from its column). */
  readonly termInline: readonly (string | null)[];
  readonly curiosity: boolean;
}

/** Every array the kernel closes over (unused entries may be empty arrays: the breakdown's when it is not recorded). */
export interface FusedArrays {
  primed: Uint8Array;
  profile: Uint8Array;
  potential: Float32Array;
  survival: Float32Array;
  shaping: Float32Array;
  phi: Float32Array | Float64Array;
  phiOut: Float32Array;
  biasSurvival: Float64Array;
  termCols: readonly (Float32Array | Float64Array)[];
  termOut: readonly Float32Array[];
  termBias: readonly Float64Array[];
  /** The inline terms' columns and constants (the potential's; each term's, null for a term read from its column). */
  phiInlineValue: InlineRewardValue | null;
  termInlineValue: readonly (InlineRewardValue | null)[];
  curiosity: Float32Array;
  visits: Uint16Array;
  hasPos: Uint8Array;
  town: Uint32Array;
  px: ArrayLike<number>;
  py: ArrayLike<number>;
  bonus: Float64Array;
  exitReason: Uint8Array;
  replaces: Int32Array;
  spawned: Int32Array;
  episode: Float32Array;
  total: Float32Array;
  terminal: Float32Array;
  clip: Float32Array;
}

/** The scalars' slots in the kernel's Float64Array (read at the start of every span). */
export const K_SURVIVAL = 0;
export const K_PHI_WEIGHT = 1;
export const K_GAMMA = 2;
export const K_CURIOSITY = 3;
export const K_CLIP_TICK = 4;
export const K_CLIP_EPISODE = 5;
export const K_FAINT = 6;
export const K_EVICTION = 7;
export const K_WINDOW = 8;
export const K_TICK = 9;
export const K_CELLS = 10;
export const K_WIDTH = 11;
/**
 * The running sum of the totals, carried from one call of the inner loop to the next in this
 * Float64Array slot: passed as an argument and returned, it entered the loop tagged and V8 kept
 * the loop's sum boxed, one HeapNumber per agent (1.6 MB of garbage a tick at 100k agents).
 */
export const K_SUM = 12;
/**
 * The visit-count warm-up's sink (the sum of the counts it read, so its loads are not dropped)
 * and the cache lines it read in the last call (see warmSource).
 */
export const K_WARM_SINK = 13;
export const K_WARM_LINES = 14;
/** Term k's weight is at K_TERMS + k. */
export const K_TERMS = 15;

/** A compiled kernel: every agent of the spans' reward; returns the sum of the totals, in agent order. */
export type FusedKernel = (spans: Int32Array) => number;

/**
 * Agents per call of the inner loop. A loop of 100k iterations entered once a tick only ever
 * runs as on-stack-replacement code, which V8 compiles without the context specialisation (the
 * arrays would be loaded from the closure every iteration); calls of a few thousand agents get
 * the function itself optimised, specialised.
 */
const CHUNK = 4096;

/** Visit counts saturate here. */
export const VISITS_MAX = 0xffff;

/** Visit counts per 64-byte cache line (Uint16). */
const COUNTS_PER_LINE = 32;

/**
 * The visit-count warm-up (issue #19, p99/p50): before the agent loop runs a chunk, one
 * sequential read per cache line of the visit counts of the towns the chunk's agents live in.
 *
 * Why: the curiosity term's read of each agent's tile count was most of the kernel's cost at
 * 100k agents (in place in the bench world, CPU ms per tick: 3.8 with it, 1.9 without; its
 * store alone changed nothing), and the part of it that grew in the evening (tod 860-960: +0.3
 * ms over the median tick; the rest of the kernel +0.1), though the evening reads about as many
 * lines (27k of 100k; 29k at tod 0-180) with as many agents on the tile of the agent before them.
 * The counts (6.4 MB for 12,500 towns of 16 x 16) are read in agent order, scattered within each
 * town, and each read that misses the caches waits for memory, however cold the rest of the tick
 * left them. The same lines read in address order are streamed in by the hardware prefetcher:
 * kernel 3.56 -> 2.71 ms on the median ticks, 3.97 -> 2.88 in the evening (bench/README.md,
 * issue #19 ninth session). Reads only: no value changes.
 *
 * Only where the chunk's first and last agent's towns bound a range of at most 2 lines per
 * agent (towns of a few agents, as the bench's, with ids in town order): one big town's counts
 * (`big` layout) are not read whole for every chunk.
 */
/**
 * The curiosity term of a chunk's agents, in agent order, into curTmp (issue #19, eleventh
 * session): each agent's tile count read, its bonus looked up, the count raised. The agent loop
 * then adds curTmp[e - start]. The same reads and writes in the same order as when the agent loop
 * did them itself (only this loop touches the counts), so the same bits.
 *
 * Why: those two loads (a count among the 6.4 MB of counts at 100k, a bonus among the 512 KB
 * table) were what made rewards/compute grow over a run (in place at 100k, CPU ms, days 0..6:
 * 2.60 -> 3.42 with them, 2.10 -> 2.03 without; 2.51 -> 3.00 with the table's reads kept to its
 * first 256 entries): the counts rise, so the table's entries read spread, and ids leave town
 * order (exits' recycled ids go to replacements in other towns), so more counts fall outside what
 * visitsWarm read ahead. Inside the agent loop each miss held up a long body; in this short loop
 * of independent loads the core keeps several misses in flight.
 */
function curiositySource(): string {
  return `function curiosityRun(start, end) {
  const cells = K[${K_CELLS}], width = K[${K_WIDTH}], curW = K[${K_CURIOSITY}];
  for (let e = start; e < end; e++) {
    let cur = 0;
    if (hasPos[e] === 1) {
      const tile = town[e] * cells + py[e] * width + px[e];
      const n = visits[tile];
      // The table holds every count (pass.ts curiosityTable): the computed side never runs.
      cur = n < bonus.length ? bonus[n] : curW / Math.sqrt(1 + n);
      if (n < ${VISITS_MAX}) visits[tile] = n + 1;
    }
    curTmp[e - start] = cur;
  }
}
`;
}

function warmSource(): string {
  return `function visitsWarm(start, end) {
  const cells = K[${K_CELLS}];
  const lo = town[start] * cells, hi = (town[end - 1] + 1) * cells;
  if (!(hi > lo && hi <= visits.length && hi - lo <= (end - start) * ${2 * COUNTS_PER_LINE})) return;
  let t = 0;
  for (let i = lo; i < hi; i += ${COUNTS_PER_LINE}) t += visits[i];
  K[${K_WARM_SINK}] = t;
  K[${K_WARM_LINES}] += Math.ceil((hi - lo) / ${COUNTS_PER_LINE});
}
`;
}

/** The per-agent body of the kernel for this layout (`e` is the entity id, `acc` the running sum). */
function body(l: FusedLayout): string {
  const s: string[] = [];
  const bd = l.breakdown;
  s.push(!l.hasPhi ? "const phi = 0;" : l.phiInline !== null ? `const phi = wPhi * (${renamed(l.phiInline, "p")});` : "const phi = wPhi * phiCol[e];");
  s.push(l.useBias ? "const fs = biasSurvival[profile[e]]; const survival = survivalTick >= 0 ? survivalTick * fs : survivalTick / fs;" : "const survival = survivalTick;");
  s.push("let shaping = 0;");
  if (l.shapingOn) s.push("if (primed[e] === 1) shaping = gamma * phi - potential[e];", "potential[e] = phi;");
  s.push("primed[e] = 1;");
  if (bd) s.push("survivalCol[e] = survival;");
  if (l.phiOut) s.push("phiOut[e] = phi;");
  if (bd) s.push("shapingCol[e] = shaping;");
  s.push("let acc = survival + phi;");
  l.terms.forEach((t, k) => {
    if (t.on) {
      const inl = l.termInline[k];
      s.push(inl !== null ? `{ let v = w${k} * (${renamed(inl, String(k))});` : `{ let v = w${k} * c${k}[e];`);
      if (t.bias) s.push(`const f = b${k}[profile[e]]; v = v >= 0 ? v * f : v / f;`);
      s.push("acc += v;");
      if (bd) s.push(`o${k}[e] = v;`);
      s.push("}");
    } else if (bd) s.push(`o${k}[e] = 0;`);
  });
  if (l.terms.length > 0 || l.shapingOn) s.push("acc = acc + shaping;");
  if (l.curiosity) {
    // This chunk's bonuses, from curiosityRun (curiositySource) just before this loop.
    s.push("const cur = curTmp[e - start];", "acc = acc + cur;");
    if (bd) s.push("curCol[e] = cur;");
  } else if (bd) s.push("curCol[e] = 0;");
  const X = ExitReason;
  s.push(
    "const raw = acc;",
    "let total = raw;",
    "const reason = exitReason[e];",
    `if ((reason !== ${X.None} || (replaces[e] >= 0 && tick - spawned[e] <= window)) && total > 0) total = 0;`,
    "total = total > clipTick ? clipTick : total < loTick ? loTick : total;",
    "const before = episodeCol[e];",
    "let episode = before + total;",
    "episode = episode > clipEpisode ? clipEpisode : episode < loEpisode ? loEpisode : episode;",
    "total = episode - before;",
    `const terminal = reason === ${X.None} ? 0 : reason === ${X.Faint} ? faint : reason === ${X.Eviction} || reason === ${X.Unemployment} ? eviction : 0;`,
  );
  if (bd) s.push("terminalCol[e] = terminal;", "clipCol[e] = total - raw;");
  s.push("episodeCol[e] = episode + terminal;", "totalCol[e] = total + terminal;", "sum += total + terminal;");
  return s.map((line) => "    " + line).join("\n");
}

/** Math's own functions and constants (not constructor, __proto__ or a name a plug-in added). */
const MATH_NAMES = new Set(Object.getOwnPropertyNames(Math).filter((n) => typeof (Math as unknown as Record<string, unknown>)[n] !== "object" && n !== "constructor"));

/** An inline term's expression checked: only `e`, `$k[e]`, `#k`, numbers, operators, parentheses and Math.*. */
export function checkInline(v: InlineRewardValue, where: string): string {
  const bare = v.expression.replace(/Math\.([A-Za-z0-9_]+)/g, (m, name: string) => (MATH_NAMES.has(name) ? "" : m));
  if (!/^[\s$#\d.e+\-*/%()<>=!&|?:,[\]]*$/.test(bare)) throw new Error(`${where}: inline expression ${JSON.stringify(v.expression)} holds more than $k[e], #k, numbers, operators and Math.*`);
  // An assignment (`e = 0` would restart the kernel's loop forever, `$0[e] = 1` write another column) or ++/--.
  if (/=|\+\+|--/.test(bare.replace(/[=!]==?|(?<![<>])[<>]=/g, " "))) throw new Error(`${where}: inline expression ${JSON.stringify(v.expression)} assigns (=, ++ or --): it may only read`);
  for (const m of v.expression.matchAll(/\$(\d+)/g)) if (Number(m[1]) >= v.columns.length) throw new Error(`${where}: inline expression reads $${m[1]}, with ${v.columns.length} column(s)`);
  for (const m of v.expression.matchAll(/#(\d+)/g)) if (Number(m[1]) >= v.constants.length) throw new Error(`${where}: inline expression reads #${m[1]}, with ${v.constants.length} constant(s)`);
  return v.expression;
}

/** `expr` with $j and #j renamed to the kernel's bindings of inline term `tag` (p: the potential, k: term k). */
function renamed(expr: string, tag: string): string {
  return expr.replace(/\$(\d+)/g, (_, j: string) => `x${tag}_${j}`).replace(/#(\d+)/g, (_, j: string) => `q${tag}_${j}`);
}

/**
 * Generates the kernel for this layout over these arrays; `k` holds the scalars (K_*), which
 * the caller may rewrite between calls (the tick). Undefined where code generation is not allowed.
 */
export function compileFused(l: FusedLayout, a: FusedArrays, k: Float64Array): FusedKernel | undefined {
  const named: [string, unknown][] = [
    ["K", k],
    ["primed", a.primed],
    ["profile", a.profile],
    ["potential", a.potential],
    ["survivalCol", a.survival],
    ["shapingCol", a.shaping],
    ["phiCol", a.phi],
    ["phiOut", a.phiOut],
    ["biasSurvival", a.biasSurvival],
    ["curCol", a.curiosity],
    ["visits", a.visits],
    ["hasPos", a.hasPos],
    ["town", a.town],
    ["px", a.px],
    ["py", a.py],
    ["bonus", a.bonus],
    ["curTmp", new Float64Array(l.curiosity ? CHUNK : 0)],
    ["exitReason", a.exitReason],
    ["replaces", a.replaces],
    ["spawned", a.spawned],
    ["episodeCol", a.episode],
    ["totalCol", a.total],
    ["terminalCol", a.terminal],
    ["clipCol", a.clip],
  ];
  l.terms.forEach((_, i) => named.push([`c${i}`, a.termCols[i]], [`o${i}`, a.termOut[i]], [`b${i}`, a.termBias[i]]));
  // Inline terms: their columns as constants too, their numbers in one Float64Array read into locals.
  const inlineValues: [string, InlineRewardValue][] = [];
  if (l.phiInline !== null && a.phiInlineValue !== null) inlineValues.push(["p", a.phiInlineValue]);
  l.termInline.forEach((x, i) => {
    const v = a.termInlineValue[i];
    if (x !== null && v !== null && v !== undefined) inlineValues.push([String(i), v]);
  });
  const numbers: number[] = [];
  const locals: string[] = [];
  for (const [tag, v] of inlineValues) {
    v.columns.forEach((col, j) => named.push([`x${tag}_${j}`, col]));
    for (let j = 0; j < v.constants.length; j++) {
      locals.push(`const q${tag}_${j} = IK[${numbers.length}];`);
      numbers.push(v.constants[j]);
    }
  }
  named.push(["IK", Float64Array.from(numbers)]);
  // `const` bindings (not the factory's parameters, which are mutable): what V8 folds into constants.
  const consts = named.map(([n], i) => `const ${n} = A[${i}];`).join("\n");
  const weights = [...l.terms.map((_, i) => `const w${i} = K[${K_TERMS + i}];`), ...locals].join("\n  ");
  const source = `"use strict";
${consts}
function rewardsRun(start, end) {
  let sum = K[${K_SUM}];
  const survivalTick = K[${K_SURVIVAL}], wPhi = K[${K_PHI_WEIGHT}], gamma = K[${K_GAMMA}];
  const clipTick = K[${K_CLIP_TICK}], clipEpisode = K[${K_CLIP_EPISODE}], faint = K[${K_FAINT}], eviction = K[${K_EVICTION}];
  const window = K[${K_WINDOW}], tick = K[${K_TICK}];
  ${weights}
  const loTick = -clipTick;
  const loEpisode = -clipEpisode;
  for (let e = start; e < end; e++) {
${body(l)}
  }
  K[${K_SUM}] = sum;
}
${l.curiosity ? warmSource() + curiositySource() : ""}return function fused(spans) {
  K[${K_SUM}] = 0;
  K[${K_WARM_LINES}] = 0;
  for (let s = 0; s < spans.length; s += 2) {
    const end = spans[s + 1];
    for (let e = spans[s]; e < end; e += ${CHUNK}) {
      const to = e + ${CHUNK} < end ? e + ${CHUNK} : end;
${l.curiosity ? "      visitsWarm(e, to);\n      curiosityRun(e, to);\n" : ""}      rewardsRun(e, to);
    }
  }
  return K[${K_SUM}];
};`;
  return compileKernel<FusedKernel>(["A"], source, [named.map(([, v]) => v)]);
}

let codegen: boolean | undefined;

/** Whether this runtime allows code generation from strings (probed once). */
export function codegenAllowed(): boolean {
  if (codegen === undefined) {
    try {
      codegen = (new Function("return 1") as () => number)() === 1;
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      codegen = false;
    }
  }
  return codegen;
}

/** One world's kernel, remade when any array or layout flag it was made for changed (the store grew). */
export class FusedCache {
  private kernel: FusedKernel | undefined;
  private madeFor: unknown[] = [];
  private readonly now: unknown[] = [];
  /** Code generation was refused here: the caller runs its passes. */
  refused = false;
  /** The last `get` made a new kernel (the caller primes it). */
  fresh = false;

  /** The list to fill with this tick's arrays and flags (emptied). */
  key(): unknown[] {
    this.now.length = 0;
    return this.now;
  }

  /** The kernel for the key just filled: the last one if every entry is the same, else a new one from `make`. */
  get(make: () => FusedKernel | undefined): FusedKernel | undefined {
    const now = this.now;
    const was = this.madeFor;
    let same = this.kernel !== undefined && was.length === now.length;
    for (let i = 0; same && i < now.length; i++) same = was[i] === now[i];
    this.fresh = !same;
    if (!same) {
      this.kernel = make();
      this.refused = this.kernel === undefined;
      this.madeFor = now.slice();
    }
    return this.kernel;
  }
}
