// The child-process half of test/unit/reward-kernel-tiers.test.ts (run under node --trace-opt
// --trace-deopt): a fused reward kernel (systems/rewards/kernel.ts compileFused, with the
// punctuality term's own inline expression and samples from systems/employment/rewards.ts, primed
// as systems/rewards/pass.ts primes every kernel it makes: systems/rewards/prime.ts) runs long enough
// over ordinary agents for V8 to optimise its loop, then meets, in one tick, every rare case the
// bench met once per run (issue #19): the first agents on shift, exits of every reason, young
// replacements, a tile past 4,096 visits, a biased term gone negative and an agent without a position. The parent reads the
// trace after the "RARE" line: an operation first evaluated there would deoptimise the loop
// (rewardsRun).
import { compileFused, K_CELLS, K_CLIP_EPISODE, K_CLIP_TICK, K_CURIOSITY, K_EVICTION, K_FAINT, K_GAMMA, K_PHI_WEIGHT, K_SURVIVAL, K_TERMS, K_TICK, K_WIDTH, K_WINDOW } from "../../systems/rewards/kernel.ts";
import { curiosityTable } from "../../systems/rewards/pass.ts";
import { primeKernel } from "../../systems/rewards/prime.ts";
import { employmentRewardTerms } from "../../systems/employment/rewards.ts";
import { PROFILES } from "../../components/profiles.ts";
import { ExitReason } from "../../components/people.ts";
import { makeWorld } from "./world.ts";

/** Agents (two calls of the kernel's inner loop per tick), towns of 8 on 8x8 tiles. */
const N = 8192;
const WIDTH = 8;
const CELLS = 64;

/** Runs the kernel: `warm` ordinary ticks, the line "RARE", `rare` ticks with every rare case, the line "END". */
export function runRare(warm: number, rare: number, log: (line: string) => void): void {
  const punctuality = employmentRewardTerms.find((t) => t.name === "punctuality")!;
  const inline = punctuality.inline!(makeWorld({ world: { agents_per_town: 2, grid_size: [8, 8] } }));
  const onShift = new Uint8Array(N);
  const onTime = new Uint16Array(N);
  const scheduled = new Uint16Array(N);
  const social = new Float64Array(N).fill(0.002);
  const exitReason = new Uint8Array(N);
  const replaces = new Int32Array(N).fill(-1);
  const spawned = new Int32Array(N);
  const hasPos = new Uint8Array(N).fill(1);
  const town = Uint32Array.from({ length: N }, (_, e) => e >> 3);
  const px = Uint8Array.from({ length: N }, (_, e) => e % WIDTH);
  const py = Uint8Array.from({ length: N }, (_, e) => (e >> 3) % WIDTH);
  const visits = new Uint16Array((N >> 3) * CELLS);
  const curiosity = 0.01;
  const bonus = curiosityTable(curiosity);
  const k = new Float64Array(K_TERMS + 2);
  [k[K_SURVIVAL], k[K_PHI_WEIGHT], k[K_GAMMA], k[K_CURIOSITY], k[K_CLIP_TICK], k[K_CLIP_EPISODE]] = [0.01, 1, 0.99, curiosity, 1, 1000];
  [k[K_FAINT], k[K_EVICTION], k[K_WINDOW], k[K_CELLS], k[K_WIDTH], k[K_TERMS], k[K_TERMS + 1]] = [-1, -0.5, 10, CELLS, WIDTH, 1, 1];
  const empty = new Float32Array(0);
  const [primed, potential, episode, total] = [new Uint8Array(N), new Float32Array(N), new Float32Array(N), new Float32Array(N)];
  const punctualityValue = { columns: [onShift, onTime, scheduled], constants: inline.constants, expression: inline.expression, samples: inline.samples };
  const kernel = compileFused(
    {
      useBias: true,
      shapingOn: true,
      hasPhi: true,
      breakdown: false,
      phiOut: false,
      terms: [
        { on: true, bias: true },
        { on: true, bias: true },
      ],
      phiInline: null,
      termInline: [null, inline.expression],
      curiosity: true,
    },
    {
      primed,
      profile: Uint8Array.from({ length: N }, (_, e) => e % PROFILES.length),
      potential,
      survival: empty,
      shaping: empty,
      phi: new Float64Array(N).fill(-0.1),
      phiOut: empty,
      biasSurvival: Float64Array.from(PROFILES, (p) => p.reward.survival),
      termCols: [social, new Float64Array(0)],
      termOut: [empty, empty],
      termBias: [Float64Array.from(PROFILES, (p) => p.reward.social), Float64Array.from(PROFILES, (p) => p.reward.employment)],
      phiInlineValue: null,
      termInlineValue: [null, punctualityValue],
      curiosity: empty,
      visits,
      hasPos,
      town,
      px,
      py,
      bonus,
      exitReason,
      replaces,
      spawned,
      episode,
      total,
      terminal: empty,
      clip: empty,
    },
    k,
  );
  if (kernel === undefined) throw new Error("code generation refused");
  const spans = Int32Array.from([0, N]);
  // As RewardPass does with every kernel it makes.
  primeKernel(kernel, { spans, written: [primed, potential, episode, total], exitReason, replaces, spawned, termCols: [social], inline: [null, punctualityValue], tile: 0, visits, k });
  let tick = 0;
  const step = () => {
    k[K_TICK] = tick++;
    kernel(spans);
  };
  for (let t = 0; t < warm; t++) step();
  log("RARE");
  for (let e = 0; e < N; e += 7) [onShift[e], onTime[e], scheduled[e]] = [1, 3, 5];
  const reasons = [ExitReason.Faint, ExitReason.Eviction, ExitReason.Unemployment, ExitReason.Console];
  reasons.forEach((r, i) => (exitReason[100 + i] = r));
  for (let e = 200; e < 210; e++) [replaces[e], spawned[e]] = [5, tick - 2];
  visits[town[300] * CELLS + py[300] * WIDTH + px[300]] = 5000;
  for (let e = 1; e < N; e += 5) social[e] = -0.02;
  // An agent without a position (no tile, no curiosity bonus).
  hasPos[400] = 0;
  for (let t = 0; t < rare; t++) step();
  log("END");
}
