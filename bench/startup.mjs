#!/usr/bin/env node
// Start-up benchmark: how long `townlet run --ticks 1` takes from process spawn to exit (an upper
// bound on the time to the first tick), and `townlet --version`, for the compiled CLI (dist/, built
// by `npm run build`) and for the TypeScript sources through tsx (TOWNLET_TSX=1). The modes run
// interleaved, REPS times each, so that a busy machine slows both alike; each line gives the median
// and the minimum wall time and the child's own CPU time (user + system), which load barely moves.
//   node bench/startup.mjs [REPS]      (npm run bench:startup)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const reps = Number(process.argv[2] ?? 7);
const probe = "data:text/javascript,process.on('exit',()=>{const u=process.cpuUsage();process.stderr.write('\\ncpu_us '+(u.user+u.system)+'\\n')})";
const compiled = existsSync(`${root}dist/BUILD`);
if (!compiled) console.error("startup: dist/ is missing (npm run build): measuring tsx only");

const modes = [
  ...(compiled ? [{ name: "compiled", env: {} }] : []),
  { name: "tsx", env: { TOWNLET_TSX: "1" } },
];
const commands = [
  { name: "run --ticks 1", args: ["run", "--ticks", "1", "--quiet", "--json"] },
  { name: "--version", args: ["--version"] },
];

function once(mode, cmd) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--import", probe, `${root}bin/townlet.mjs`, ...cmd.args], { cwd: root, env: { ...process.env, ...mode.env }, encoding: "utf8" });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${mode.name} ${cmd.name}: exit ${r.status}\n${r.stderr}`);
  const cpu = Number(/cpu_us (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1000;
  return { wall, cpu };
}

const results = new Map();
const load0 = loadavg()[0];
for (let i = 0; i < reps; i++) {
  for (const cmd of commands) {
    for (const mode of modes) {
      const key = `${mode.name}\t${cmd.name}`;
      if (!results.has(key)) results.set(key, []);
      results.get(key).push(once(mode, cmd));
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = { reps, load_average_1m: [Number(load0.toFixed(2)), Number(loadavg()[0].toFixed(2))], cpus: (await import("node:os")).cpus().length, results: [] };
for (const [key, rs] of results) {
  const [mode, command] = key.split("\t");
  const walls = rs.map((r) => r.wall);
  const cpus = rs.map((r) => r.cpu);
  out.results.push({ mode, command, wall_ms_median: Math.round(median(walls)), wall_ms_min: Math.round(Math.min(...walls)), cpu_ms_median: Math.round(median(cpus)) });
}
if (process.argv.includes("--json")) console.log(JSON.stringify(out));
else {
  console.log(`townlet start-up, ${reps} interleaved runs each, ${out.cpus} CPUs, load average ${out.load_average_1m.join(" -> ")}`);
  console.log(`  ${"mode".padEnd(9)} ${"command".padEnd(14)} ${"wall median".padStart(11)} ${"wall min".padStart(9)} ${"cpu median".padStart(10)}`);
  for (const r of out.results) console.log(`  ${r.mode.padEnd(9)} ${r.command.padEnd(14)} ${`${r.wall_ms_median} ms`.padStart(11)} ${`${r.wall_ms_min} ms`.padStart(9)} ${`${r.cpu_ms_median} ms`.padStart(10)}`);
}
