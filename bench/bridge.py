#!/usr/bin/env python3
"""Agent-steps/s through the stdio bridge (python/townlet_env VectorEnv) with a random masked
policy, against the same run inside Node (TownletVectorEnv, the same policy in JS).

    python3 bench/bridge.py [--agents 10,1000,10000] [--ticks N] [--warmup N] [--json]

Worlds: configs/many-towns.yaml, towns of 8 agents (world.towns = ceil(agents / 8)).
Overhead = 1 - bridge / node (the share of throughput the bridge costs); "shm" = VectorEnv(shm=True).
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "python"))
from townlet_env import VectorEnv  # noqa: E402

CONFIG = str(ROOT / "configs" / "many-towns.yaml")

NODE_SCRIPT = r"""
import { TownletVectorEnv } from %(vector)s;
const [towns, warmup, ticks] = [%(towns)d, %(warmup)d, %(ticks)d];
const env = new TownletVectorEnv({ config: %(config)s, overrides: { "world.towns": towns, "world.agents_per_town": 8 }, maxCycles: warmup + ticks + 10 });
let r = env.reset(1);
const A = env.actionCount;
let acts = new Int32Array(0);
const allowed = new Int32Array(A);
let rows = 0, t0 = 0;
for (let t = 0; t < warmup + ticks; t++) {
  if (t === warmup) { t0 = performance.now(); rows = 0; }
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
console.log(JSON.stringify({ agent_steps: rows, seconds: s }));
"""


def node_run(towns: int, warmup: int, ticks: int) -> float:
    code = NODE_SCRIPT % {
        "vector": json.dumps(str(ROOT / "env" / "vector.ts")),
        "config": json.dumps(CONFIG),
        "towns": towns,
        "warmup": warmup,
        "ticks": ticks,
    }
    out = subprocess.run(["node", "--import", "tsx", "--input-type=module", "-e", code], cwd=ROOT, check=True, capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    return r["agent_steps"] / r["seconds"]


def bridge_run(towns: int, warmup: int, ticks: int, shm: bool) -> dict:
    rng = np.random.default_rng(0)
    with VectorEnv(config=CONFIG, overrides={"world.towns": towns, "world.agents_per_town": 8}, max_cycles=warmup + ticks + 10, timeout=120, shm=shm) as env:
        r = env.reset(seed=1)
        rows = 0
        t0 = 0.0
        wait = 0.0
        for t in range(warmup + ticks):
            if t == warmup:
                t0 = time.perf_counter()
                rows = 0
                wait = 0.0
            acts = (rng.random(r.masks.shape) * r.masks).argmax(axis=1).astype(np.int32)
            rows += len(acts)
            w0 = time.perf_counter()
            r = env.step(acts)
            wait += time.perf_counter() - w0
        s = time.perf_counter() - t0
        frame_mb = (r.obs.nbytes + r.masks.nbytes) / 1e6
    return {"rate": rows / s, "policy_s_per_tick": (s - wait) / ticks, "frame_mb": frame_mb}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agents", default="10,1000,10000")
    p.add_argument("--ticks", type=int, default=0, help="timed ticks (default: by size)")
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    results = []
    for agents in [int(x) for x in a.agents.split(",")]:
        towns = max(1, math.ceil(agents / 8))
        ticks = a.ticks or (2000 if agents <= 100 else 300 if agents <= 2000 else 100)
        node = node_run(towns, a.warmup, ticks)
        br = bridge_run(towns, a.warmup, ticks, shm=False)
        bs = bridge_run(towns, a.warmup, ticks, shm=True)
        res = {
            "agents": towns * 8,
            "ticks": ticks,
            "node_agent_steps_per_s": round(node),
            "bridge_agent_steps_per_s": round(br["rate"]),
            "overhead": round(1 - br["rate"] / node, 3),
            "bridge_shm_agent_steps_per_s": round(bs["rate"]),
            "overhead_shm": round(1 - bs["rate"] / node, 3),
            "python_policy_ms_per_tick": round(br["policy_s_per_tick"] * 1e3, 2),
            "frame_mb": round(br["frame_mb"], 2),
        }
        results.append(res)
        print(
            f"{res['agents']:>6} agents  node {res['node_agent_steps_per_s']:>10,}/s  bridge {res['bridge_agent_steps_per_s']:>10,}/s  "
            f"overhead {res['overhead'] * 100:5.1f}%  shm {res['bridge_shm_agent_steps_per_s']:>10,}/s overhead {res['overhead_shm'] * 100:5.1f}%  (frame {res['frame_mb']} MB, python policy {res['python_policy_ms_per_tick']} ms/tick)",
            file=sys.stderr,
        )
    if a.json:
        print(json.dumps({"results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
