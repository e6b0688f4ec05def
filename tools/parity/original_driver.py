"""Runs the original Python Townlet on one config and prints what `townlet parity` compares.

Usage: python3 original_driver.py --src SRC --config FILE --ticks N [--layout FILE.json]

SRC is the folder that holds the original's `townlet` package. The config's scenario (if any) is
applied with the original's own `apply_scenario`; `--layout` (written by tools/parity.ts for a
config without a scenario) places the same objects and agents as ours, with no schedules, so
the original's scripted behaviour drives them. Objects the affordance manifest registers are
removed when the scenario or layout lists objects (our rule: the scenario's objects replace the
manifest's). The last line on stdout is one JSON object; the original's own telemetry (which it
prints on stdout) goes to /dev/null. Exit 2 when the original cannot be imported.
"""
import argparse
import collections
import json
import logging
import os
import sys
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--ticks", type=int, required=True)
    ap.add_argument("--layout")
    args = ap.parse_args()

    real_stdout = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    logging.disable(logging.CRITICAL)
    sys.path.insert(0, str(Path(args.src).resolve()))
    # The scripted policy needs no torch; importing it (when installed) costs seconds.
    sys.modules.setdefault("torch", None)  # type: ignore[arg-type]
    try:
        from townlet.config.loader import load_config
        from townlet.core.sim_loop import SimulationLoop
        from townlet.policy.scenario_utils import apply_scenario
    except ImportError as exc:  # pydantic or numpy missing, or SRC is not the original
        sys.stderr.write(f"cannot import the original from {args.src}: {exc}\n")
        return 2

    config_path = Path(args.config).resolve()
    # The original resolves paths inside a config from the working directory: use the nearest
    # folder above the config that holds the referenced affordance file.
    cfg = load_config(config_path)
    manifest = str(cfg.affordances.affordances_file)
    for folder in [config_path.parent, *config_path.parents]:
        if (folder / manifest).exists():
            os.chdir(folder)
            break

    # The stub sink: the stdout one prints every tick and its worker thread waits on flushes.
    loop = SimulationLoop(config=cfg, telemetry_provider="stub")
    world = loop.world
    scenario = getattr(cfg, "scenario", None) or (cfg.model_extra or {}).get("scenario")
    layout = json.loads(Path(args.layout).read_text()) if args.layout else None
    placed = layout if layout is not None else scenario
    if placed and placed.get("objects"):
        world._reset_object_registry()
    if placed:
        apply_scenario(loop, placed)

    wage_rate = {job: float(spec.wage_rate) for job, spec in cfg.jobs.items()}
    completed = collections.defaultdict(collections.Counter)
    failures = collections.defaultdict(collections.Counter)
    conflicts = collections.Counter()
    ghost_steps = collections.Counter()
    exits: dict[str, dict] = {}
    last_state: dict[str, dict] = {}

    runtime = loop.runtime
    tick_fn = runtime.tick

    def tick(*a, **k):
        result = tick_fn(*a, **k)
        events = list(result.events)
        # The original drains every event twice (dispatcher + legacy list): keep one copy.
        half = len(events) // 2
        if len(events) % 2 == 0 and events[:half] == events[half:]:
            events = events[:half]
        for e in events:
            if not isinstance(e, dict):
                continue
            name = e.get("event")
            if name == "affordance_finish":
                completed[e["agent_id"]][e["affordance_id"]] += 1
            elif name == "affordance_fail":
                failures[e["agent_id"]][e.get("reason") or "failed"] += 1
            elif name == "queue_conflict":
                conflicts[e["actor"]] += 1
                if e.get("reason") == "ghost_step":
                    ghost_steps[e["actor"]] += 1
        for agent_id, done in (result.terminated or {}).items():
            if done and agent_id not in exits:
                reason = (result.termination_reasons or {}).get(agent_id) or "terminated"
                exits[agent_id] = {"reason": str(reason), "tick": int(k.get("tick", loop.tick))}
        for agent_id, snap in world.agents.items():
            last_state[agent_id] = state_of(snap, wage_rate)
        return result

    runtime.tick = tick
    names = list(world.agents)
    t0 = time.perf_counter()
    steps = 0
    for _ in range(args.ticks):
        steps += len(world.agents)
        loop.step()
    wall = time.perf_counter() - t0

    rivalry = world.rivalry_snapshot()
    metrics = dict(world.queue_manager.metrics()) if hasattr(world, "queue_manager") else {}
    agents = {}
    for agent_id in names + [a for a in world.agents if a not in names]:
        alive = agent_id in world.agents and agent_id not in exits
        st = state_of(world.agents[agent_id], wage_rate) if agent_id in world.agents else last_state.get(agent_id, {})
        agents[agent_id] = {
            "alive": alive,
            "exit": exits.get(agent_id),
            "completed": dict(completed[agent_id]),
            "failures": dict(failures[agent_id]),
            **st,
            "conflicts": conflicts[agent_id],
            "ghost_steps": ghost_steps[agent_id],
            "rivalry": {k: round(float(v), 4) for k, v in sorted(rivalry.get(agent_id, {}).items())},
        }
    out = {
        "ticks": loop.tick,
        "wall_s": round(wall, 3),
        "agent_steps_per_sec": round(steps / wall) if wall > 0 else 0,
        "objects": [[o.object_id, o.object_type, list(o.position) if o.position else None] for o in world.objects.values()],
        "agents": agents,
        "totals": {
            "ghost_steps": int(metrics.get("ghost_step_events", sum(ghost_steps.values()))),
            "rotations": int(metrics.get("rotation_events", 0)),
            "conflicts": sum(conflicts.values()),
        },
    }
    os.write(real_stdout, (json.dumps(out, sort_keys=True) + "\n").encode())
    return 0


def state_of(snap, wage_rate) -> dict:
    job = getattr(snap, "job_id", None)
    wage_ticks = int(snap.inventory.get("wages_earned", 0))
    return {
        "needs": {k: round(float(v), 4) for k, v in sorted(snap.needs.items())},
        "wallet": round(float(snap.wallet), 4),
        "job": job,
        "wages": round(wage_ticks * wage_rate.get(job, 0.0), 4),
        "late": int(getattr(snap, "lateness_counter", 0)),
    }


if __name__ == "__main__":
    sys.exit(main())
