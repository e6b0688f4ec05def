// The machine's own tick-latency tail (issue #19): a fixed workload of about one 100k-agent tick,
// run back to back as many times as the simulation bench runs ticks, with nothing of the engine
// in it. Every pass does the same instructions on the same data (a streaming pass over 12
// columns, a gather through a fixed permutation over 8 more, a branchy pass with its own
// xorshift stream), so any spread of its pass times is the machine's: the host, its other
// tenants, frequency changes. Its p99/p50, taken beside `townlet bench --ticks 10000`, says what
// this machine alone adds to the simulation's p99/p50 over the same span.
//
// Run: npm run bench:machine [-- --passes 10000 --target-ms 12 --json --csv FILE]
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createProgress } from "../tools/progress.ts";
import { quantile } from "./tick-stats.ts";

const N = 100_000;
const STREAM_COLS = 12;
const GATHER_COLS = 8;

/** One unit of the workload over N rows; returns a checksum so that no pass is optimised away. */
export function makeWorkload(): () => number {
  const stream = Array.from({ length: STREAM_COLS }, (_, k) => Float32Array.from({ length: N }, (_, i) => ((i * (k + 3)) % 997) / 997));
  const gather = Array.from({ length: GATHER_COLS }, (_, k) => Float32Array.from({ length: N }, (_, i) => ((i * (k + 5)) % 991) / 991));
  const out = new Float32Array(N);
  // A fixed permutation (xorshift-shuffled), so the gathers miss the cache as the engine's do.
  const perm = Int32Array.from({ length: N }, (_, i) => i);
  let s = 0x9e3779b9 | 0;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  for (let i = N - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  let seed = 12345;
  return () => {
    let sum = 0;
    for (let k = 0; k < STREAM_COLS; k++) {
      const c = stream[k];
      for (let i = 0; i < N; i++) {
        const a = c[i] - 0.001;
        c[i] = a < 0 ? 1 : a;
      }
    }
    for (let i = 0; i < N; i++) {
      const p = perm[i];
      let v = 0;
      for (let k = 0; k < GATHER_COLS; k++) v += gather[k][p];
      out[p] = v;
    }
    let r = seed;
    for (let i = 0; i < N; i++) {
      r ^= r << 13;
      r ^= r >>> 17;
      r ^= r << 5;
      const x = out[i];
      if ((r & 7) === 0) sum += x > 4 ? x - 4 : x;
      else if ((r & 3) === 1) sum -= x * 0.5;
      else sum += 1;
    }
    seed = r;
    return sum;
  };
}

export interface MachineTail {
  passes: number;
  units_per_pass: number;
  pass_ms_p50: number;
  pass_ms_p99: number;
  pass_ms_max: number;
  p99_over_p50: number;
  checksum: number;
}

/** Calibrates units per pass to about `targetMs`, then times `passes` passes (ms each in `times`). */
export function measureMachineTail(passes: number, targetMs: number, onPass?: (done: number) => void): { result: MachineTail; times: Float64Array } {
  const unit = makeWorkload();
  let checksum = 0;
  // Warm up (optimised), then size a pass.
  for (let i = 0; i < 20; i++) checksum += unit();
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) checksum += unit();
  const unitMs = (performance.now() - t0) / 10;
  const units = Math.max(1, Math.round(targetMs / Math.max(unitMs, 1e-3)));
  const times = new Float64Array(passes);
  for (let p = 0; p < passes; p++) {
    const start = performance.now();
    for (let u = 0; u < units; u++) checksum += unit();
    times[p] = performance.now() - start;
    onPass?.(p + 1);
  }
  const p50 = quantile(times, 0.5);
  const p99 = quantile(times, 0.99);
  const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    result: {
      passes,
      units_per_pass: units,
      pass_ms_p50: round(p50, 4),
      pass_ms_p99: round(p99, 4),
      pass_ms_max: round(Math.max(...times), 4),
      p99_over_p50: round(p99 / p50, 3),
      checksum: round(checksum, 2),
    },
    times,
  };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      passes: { type: "string", default: "10000" },
      "target-ms": { type: "string", default: "12" },
      json: { type: "boolean", default: false },
      csv: { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  const passes = Number(values.passes);
  const targetMs = Number(values["target-ms"]);
  if (!Number.isInteger(passes) || passes < 1) throw new Error(`--passes must be a positive integer, got ${values.passes}`);
  if (!(targetMs > 0)) throw new Error(`--target-ms must be a positive number, got ${values["target-ms"]}`);
  const bar = createProgress("machine tail", passes, { quiet: values.quiet });
  const { result, times } = measureMachineTail(passes, targetMs, (done) => {
    if (done % 100 === 0 || done === passes) bar.update(done);
  });
  bar.stop();
  if (values.csv !== undefined) writeFileSync(values.csv, `pass,ms\n${Array.from(times, (t, i) => `${i},${t.toFixed(4)}`).join("\n")}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else
    process.stdout.write(
      `machine tail: ${passes} passes of ${result.units_per_pass} unit(s): p50 ${result.pass_ms_p50} ms, p99 ${result.pass_ms_p99} ms, ` +
        `p99/p50 ${result.p99_over_p50}, max ${result.pass_ms_max} ms (the same work every pass: the spread is the machine's)\n`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) main();
