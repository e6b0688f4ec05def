// The bench's bare loop (bench/sim.ts baseline_ratio): the need-decay arithmetic over plain typed
// arrays, with nothing of the engine around it, timed per pass.

/**
 * The bare loop: the need-decay arithmetic (three needs, rate times an optional per-agent
 * multiplier, clamp to [0, 1]) over `n` contiguous Float32Arrays. `pass()` runs one pass and
 * returns its ms; needs are refilled every 50 passes (outside the timing), as the engine's
 * agents eat and sleep, so the clamps do real work. Created warm (optimised).
 */
export function bareDecay(n: number, rates: { hunger: number; hygiene: number; energy: number }, scaled: boolean): { pass(): number; bytes: number } {
  const h = new Float32Array(n);
  const y = new Float32Array(n);
  const e = new Float32Array(n);
  const mh = new Float32Array(n).fill(1);
  const my = new Float32Array(n).fill(1);
  const me = new Float32Array(n).fill(1);
  const refill = () => {
    for (let i = 0; i < n; i++) {
      h[i] = 0.5 + ((i * 7919) % 1000) / 2000;
      y[i] = 0.5 + ((i * 104729) % 1000) / 2000;
      e[i] = 0.5 + ((i * 1299709) % 1000) / 2000;
    }
  };
  const rh = rates.hunger;
  const ry = rates.hygiene;
  const re = rates.energy;
  const run = scaled
    ? () => {
        for (let i = 0; i < n; i++) {
          const a = h[i] - rh * mh[i];
          h[i] = a < 0 ? 0 : a > 1 ? 1 : a;
          const b = y[i] - ry * my[i];
          y[i] = b < 0 ? 0 : b > 1 ? 1 : b;
          const c = e[i] - re * me[i];
          e[i] = c < 0 ? 0 : c > 1 ? 1 : c;
        }
      }
    : () => {
        for (let i = 0; i < n; i++) {
          const a = h[i] - rh;
          h[i] = a < 0 ? 0 : a > 1 ? 1 : a;
          const b = y[i] - ry;
          y[i] = b < 0 ? 0 : b > 1 ? 1 : b;
          const c = e[i] - re;
          e[i] = c < 0 ? 0 : c > 1 ? 1 : c;
        }
      };
  let passes = 0;
  const pass = () => {
    if (passes++ % 50 === 0) refill();
    const t0 = performance.now();
    run();
    return performance.now() - t0;
  };
  // Warm until the optimising compiler has surely taken the loop (a few million iterations).
  const warm = Math.max(20, Math.ceil(3e6 / Math.max(1, n)));
  for (let r = 0; r < warm; r++) pass();
  return { pass, bytes: 6 * 4 * n };
}
