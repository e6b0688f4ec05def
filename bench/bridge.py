#!/usr/bin/env python3
"""Agent-steps/s through the stdio bridge (python/townlet_env VectorEnv) with a random masked
policy, against the same run inside Node (TownletVectorEnv, the same policy in JS).

    python3 bench/bridge.py [--agents 10,1000,10000] [--rounds 3] [--modes node,default,pipe,ray]
                            [--ray-actors 2] [--ticks N] [--warmup N] [--json]

Worlds: configs/many-towns.yaml, towns of 8 agents (world.towns = ceil(agents / 8)). Per size,
`--rounds` rounds each run every mode once, in an order that rotates from round to round (so a
load that drifts during the run hits every mode alike). Modes: "node" (in-process, always run:
the reference), "default" (VectorEnv(): shared memory where /dev/shm exists, else the pipe),
"pipe" (VectorEnv(shm=False)), "shm" (VectorEnv(shm=True)), "ray" (RayVectorEnv with
--ray-actors actors, 2 by default, on a local Ray cluster of os.cpu_count() CPUs; needs ray).
Reported per mode: the median agent-steps/s over the rounds (and the spread), overhead =
1 - median(mode) / median(node), and CPU seconds per agent-step (the Python process plus its
Node child; the Node process alone in-process) with cpu_overhead = cpu(mode) / cpu(node) - 1,
which a busy machine disturbs less than wall-clock time.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
from townlet_env import VectorEnv  # noqa: E402

CONFIG = str(ROOT / "configs" / "many-towns.yaml")
SHM_ARG = {"default": None, "pipe": False, "shm": True}
RAY_ACTORS = 2  # --ray-actors

NODE_SCRIPT = r"""
import { TownletVectorEnv } from %(vector)s;
const [towns, warmup, ticks] = [%(towns)d, %(warmup)d, %(ticks)d];
const env = new TownletVectorEnv({ config: %(config)s, overrides: { "world.towns": towns, "world.agents_per_town": 8 }, maxCycles: warmup + ticks + 10 });
let r = env.reset(1);
const A = env.actionCount;
let acts = new Int32Array(0);
const allowed = new Int32Array(A);
let rows = 0, t0 = 0, c0 = process.cpuUsage();
for (let t = 0; t < warmup + ticks; t++) {
  if (t === warmup) { t0 = performance.now(); c0 = process.cpuUsage(); rows = 0; }
  const n = r.count;
  if (acts.length !== n) acts = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let k = 0;
    for (let a = 0; a < A; a++) if (r.masks[i * A + a]) allowed[k++] = a;
    acts[i] = k ? allowed[Math.floor(Math.random() * k)] : 0;
  }
  rows += n;
  r = env.step(acts);
}
const s = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ agent_steps: rows, seconds: s, cpu_seconds: (c.user + c.system) / 1e6 }));
"""


def node_run(towns: int, warmup: int, ticks: int) -> dict:
    code = NODE_SCRIPT % {
        "vector": json.dumps(str(ROOT / "env" / "vector.ts")),
        "config": json.dumps(CONFIG),
        "towns": towns,
        "warmup": warmup,
        "ticks": ticks,
    }
    out = subprocess.run(["node", "--import", "tsx", "--input-type=module", "-e", code], cwd=ROOT, check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return {"rate": r["agent_steps"] / r["seconds"], "cpu_per_step": r["cpu_seconds"] / r["agent_steps"]}


def child_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process so far (Linux /proc), NaN elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


def bridge_run(towns: int, warmup: int, ticks: int, shm) -> dict:
    rng = np.random.default_rng(0)
    with VectorEnv(config=CONFIG, overrides={"world.towns": towns, "world.agents_per_town": 8}, max_cycles=warmup + ticks + 10, timeout=120, shm=shm) as env:
        r = env.reset(seed=1)
        rows, t0, c0, k0, wait = 0, 0.0, 0.0, 0.0, 0.0
        for t in range(warmup + ticks):
            if t == warmup:
                t0, c0, k0 = time.perf_counter(), time.process_time(), child_cpu(env.engine.pid)
                rows, wait = 0, 0.0
            acts = (rng.random(r.masks.shape) * r.masks).argmax(axis=1).astype(np.int32)
            rows += len(acts)
            w0 = time.perf_counter()
            r = env.step(acts)
            wait += time.perf_counter() - w0
        s = time.perf_counter() - t0
        cpu = time.process_time() - c0 + child_cpu(env.engine.pid) - k0
        frame_mb = (r.obs.nbytes + r.masks.nbytes) / 1e6
        # (getattr: the script also measures older checkouts, whose VectorEnv lacks these.)
        transport = getattr(env, "transport", "shm" if shm else "pipe")
        why = getattr(env, "transport_reason", "")
    return {"rate": rows / s, "cpu_per_step": cpu / rows, "policy_s_per_tick": (s - wait) / ticks, "frame_mb": frame_mb, "transport": transport, "why": why}


def ray_run(towns: int, warmup: int, ticks: int) -> dict:
    """RayVectorEnv with RAY_ACTORS actors on a local Ray cluster (started once), the same loop."""
    import ray

    from townlet_env import RayVectorEnv

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR")
    rng = np.random.default_rng(0)
    with RayVectorEnv(config=CONFIG, actors=RAY_ACTORS, overrides={"world.towns": towns, "world.agents_per_town": 8}, max_cycles=warmup + ticks + 10, timeout=120) as env:
        pids = [w[k] for w in env._where for k in ("pid", "engine_pid")]
        r = env.reset(seed=1)
        rows, t0, c0, k0, wait = 0, 0.0, 0.0, 0.0, 0.0
        for t in range(warmup + ticks):
            if t == warmup:
                t0, c0, k0 = time.perf_counter(), time.process_time(), sum(child_cpu(p) for p in pids)
                rows, wait = 0, 0.0
            acts = (rng.random(r.masks.shape) * r.masks).argmax(axis=1).astype(np.int32)
            rows += len(acts)
            w0 = time.perf_counter()
            r = env.step(acts)
            wait += time.perf_counter() - w0
        s = time.perf_counter() - t0
        # The driver, each actor process and each engine child (all on this machine); Ray's own daemons are not counted.
        cpu = time.process_time() - c0 + sum(child_cpu(p) for p in pids) - k0
        frame_mb = (r.obs.nbytes + r.masks.nbytes) / 1e6
    return {"rate": rows / s, "cpu_per_step": cpu / rows, "policy_s_per_tick": (s - wait) / ticks, "frame_mb": frame_mb, "transport": env.transport, "why": env.transport_reason}


def run(mode: str, towns: int, warmup: int, ticks: int) -> dict:
    if mode == "node":
        return node_run(towns, warmup, ticks)
    if mode == "ray":
        return ray_run(towns, warmup, ticks)
    return bridge_run(towns, warmup, ticks, shm=SHM_ARG[mode])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agents", default="10,1000,10000", help="sizes, comma-separated (rounded up to towns of 8)")
    p.add_argument("--rounds", type=int, default=3, help="runs of each mode per size; medians are reported")
    p.add_argument("--ticks", type=int, default=0, help="timed ticks per run (default: by size)")
    p.add_argument("--warmup", type=int, default=20, help="untimed ticks before the timed ones")
    p.add_argument("--modes", default="node,default,pipe", help="node, default, pipe, shm, ray (node always runs)")
    p.add_argument("--ray-actors", type=int, default=2, help="actors of the ray mode (RayVectorEnv on a local Ray cluster)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last stdout line")
    a = p.parse_args()
    modes = ("node", *[m for m in a.modes.split(",") if m != "node"])
    for m in modes[1:]:
        if m not in SHM_ARG and m != "ray":
            p.error(f"--modes: unknown mode {m!r} (node, default, pipe, shm, ray)")
    global RAY_ACTORS
    RAY_ACTORS = a.ray_actors
    results = []
    for agents in [int(x) for x in a.agents.split(",")]:
        towns = max(1, math.ceil(agents / 8))
        ticks = a.ticks or (2000 if agents <= 100 else 300 if agents <= 2000 else 100)
        runs: dict = {m: [] for m in modes}
        for k in range(a.rounds):
            j = k % len(modes)
            for m in modes[j:] + modes[:j]:
                runs[m].append(run(m, towns, a.warmup, ticks))
        med = {m: statistics.median(x["rate"] for x in runs[m]) for m in modes}
        cpu = {m: statistics.median(x["cpu_per_step"] for x in runs[m]) for m in modes}
        res = {"agents": towns * 8, "ticks": ticks, "rounds": a.rounds, "load_avg_1m": round(os.getloadavg()[0], 2)}
        for m in modes:
            rates = [x["rate"] for x in runs[m]]
            res[m] = {
                "agent_steps_per_s": round(med[m]),
                "min": round(min(rates)),
                "max": round(max(rates)),
                "cpu_us_per_agent_step": round(cpu[m] * 1e6, 3),
            }
            if m != "node":
                res[m]["overhead"] = round(1 - med[m] / med["node"], 3)
                res[m]["cpu_overhead"] = round(cpu[m] / cpu["node"] - 1, 3)
                res[m]["transport"] = runs[m][0]["transport"]
                res[m]["python_policy_ms_per_tick"] = round(statistics.median(x["policy_s_per_tick"] for x in runs[m]) * 1e3, 2)
        bridged = [m for m in modes if m != "node"]
        if bridged:
            res["frame_mb"] = round(runs[bridged[0]][0]["frame_mb"], 2)
        if "default" in runs:
            res["default_transport_reason"] = runs["default"][0]["why"]
        results.append(res)
        line = f"{res['agents']:>6} agents  node {res['node']['agent_steps_per_s']:>9,}/s"
        for m in bridged:
            d = res[m]
            line += f"  {m}[{d['transport']}] {d['agent_steps_per_s']:>9,}/s overhead {d['overhead'] * 100:5.1f}% (cpu {d['cpu_overhead'] * 100:+5.1f}%)"
        print(f"{line}  [medians of {a.rounds}; frame {res.get('frame_mb')} MB; load {res['load_avg_1m']}]", file=sys.stderr)
    if a.json:
        print(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
