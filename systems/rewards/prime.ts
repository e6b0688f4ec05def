// Priming a new fused reward kernel (issue #19): V8 optimises the kernel's loop for the operations it
// has seen run, and throws the optimised code away (for the rest of the tick, +7-10 ms at 100k
// agents) at the first one that never ran. In a long run some sides of the formula first run late:
// the first exit (tick 455 of the bench: the guard's `total > 0`), the first young replacement
// (464: spawned_tick), the first exit other than a faint (3091: the eviction penalty), the first
// agent on shift (180: punctuality's arithmetic, through its inline term's samples), a term's
// first negative value under the profile bias. So when a kernel is made, it runs once per case
// over one agent with those values set, and every value it wrote or that was set is put back: the
// state, the hash stream and the breakdown are as if it had not run. (The curiosity bonus of a
// tile past 4,096 visits, first run at 1478, is in the bonus table instead: pass.ts.)
import type { InlineRewardValue } from "../../engine/reward-term.ts";
import { ExitReason } from "../../components/people.ts";
import { K_SUM, K_TICK, type FusedKernel } from "./kernel.ts";

type Column = { [i: number]: number; readonly length: number };

/** What the kernel reads and writes at one agent besides Lifecycle's columns. */
export interface PrimeInputs {
  /** The agents as runs of ids (the first agent is the one primed). */
  readonly spans: Int32Array;
  /** Every column the kernel writes (Reward's, the breakdown's when recorded); empty ones are skipped. */
  readonly written: readonly Column[];
  readonly exitReason: Uint8Array;
  readonly replaces: Int32Array;
  readonly spawned: Int32Array;
  /** The declared terms' value columns the kernel reads (not inline; empty when inline or weight 0). */
  readonly termCols: readonly Column[];
  /** The inline values this kernel computes (their samples' columns are set, then put back). */
  readonly inline: readonly (InlineRewardValue | null)[];
  /** The curiosity tile the agent stands on (-1: none) and the visit counts. */
  readonly tile: number;
  readonly visits: Uint16Array | null;
  /** The kernel's scalars (K_SUM and K_TICK are put back too). */
  readonly k: Float64Array;
}

/** The exit reasons in the order the priming runs them (None first: a young replacement). */
const REASONS = [ExitReason.None, ExitReason.Faint, ExitReason.Eviction, ExitReason.Unemployment, ExitReason.Console];

/** Rounds of the cases. */
const ROUNDS = 4;

/** Runs `kernel` over the first agent once per case (see above), then puts back every value it wrote or that was set. */
export function primeKernel(kernel: FusedKernel, p: PrimeInputs): void {
  const s = p.spans;
  if (s.length < 2 || s[1] <= s[0]) return;
  const e = s[0];
  const cols: Column[] = [...p.written, p.exitReason, p.replaces, p.spawned, ...p.termCols];
  for (const v of p.inline) if (v !== null && v.samples !== undefined) cols.push(...(v.columns as readonly Column[]));
  const kept = cols.filter((c) => c.length > e);
  const saved = kept.map((c) => c[e]);
  const visit = p.tile >= 0 && p.visits !== null ? p.visits[p.tile] : 0;
  const [sum, tick] = [p.k[K_SUM], p.k[K_TICK]];
  const one = Int32Array.of(e, e + 1);
  // V8 keeps no type feedback for a function's first calls (a feedback vector comes after about 8):
  // the cases run ROUNDS times, the later rounds recorded.
  for (let r = 0; r < REASONS.length * ROUNDS; r++) {
    p.exitReason[e] = REASONS[r % REASONS.length];
    // A replacement spawned this tick (inside the no-positive window), then an original agent.
    p.replaces[e] = r % REASONS.length === 0 ? 0 : -1;
    p.spawned[e] = tick;
    // A gain, then a loss, through each term (both sides of the profile bias).
    for (const c of p.termCols) if (c.length > e) c[e] = r % 2 === 0 ? 0.5 : -0.5;
    for (const v of p.inline) {
      const rows = v?.samples;
      if (v === null || rows === undefined || rows.length === 0) continue;
      const row = rows[r % rows.length];
      v.columns.forEach((c, j) => (c[e] = row[j] ?? 0));
    }
    kernel(one);
  }
  kept.forEach((c, i) => (c[e] = saved[i]));
  if (p.tile >= 0 && p.visits !== null) p.visits[p.tile] = visit;
  [p.k[K_SUM], p.k[K_TICK]] = [sum, tick];
}
