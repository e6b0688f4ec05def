"""RayVectorEnv: VectorEnv's rows and arrays over K Ray actors, each owning one engine child
(`townlet serve --stdio`) that runs a slice of the towns. Steps go to every actor at once.

Rows keep VectorEnv's contract across actors: the agents live at the start of the step in the
previous result's order minus the rows done there, then the agents that joined during the step
(actor 0's, then actor 1's, ...). Each actor's rows keep their own order inside that list, so the
driver maps global rows to an actor's rows with one owner array (extra["actor"]).

Seeds: actor 0 takes the root seed, actor k > 0 `derive_seed(root, k)` (a splitmix64 mix), so a
run with the same root seed and the same number of actors is reproducible; the towns of actor k
are its own world (a different actor count gives different towns).

An actor (or its engine) that dies raises ActorDied naming the actor, its towns, node and pids;
the env is then unusable (no restart): make a new one.
"""
from __future__ import annotations

import numbers
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from .client import find_engine_command
from .protocol import BridgeError, BridgeTimeout, EngineDied, EngineError
from .vector import MAX_SEED, StepResult, action_array, adopt_hello, check_seed

_MASK64 = (1 << 64) - 1


class ActorDied(EngineDied):
    """A Ray actor of a RayVectorEnv died (or its engine child did); the message names it."""


def derive_seed(root: int, actor: int) -> int:
    """The seed of actor `actor` for root seed `root`: the root itself for actor 0, else a
    splitmix64 mix of (root, actor) reduced to [0, 2^53 - 1] (the engine's seed range)."""
    if actor == 0:
        return int(root)
    z = (int(root) + 0x9E3779B97F4A7C15 * (actor + 1)) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return (z ^ (z >> 31)) & MAX_SEED


def split_towns(towns: int, actors: int) -> list:
    """[(first town, count)] per actor: as even as possible, the larger slices first."""
    base, extra = divmod(towns, actors)
    out, at = [], 0
    for k in range(actors):
        n = base + (1 if k < extra else 0)
        out.append((at, n))
        at += n
    return out


class _EngineActor:
    """The body of one Ray actor: a VectorEnv over its towns; results go back as plain arrays."""

    def __init__(self, index: int, command: list, timeout: float, startup_timeout: float, shm):
        self.index = index
        self.command = list(command)
        self.timeout = timeout
        self.startup_timeout = startup_timeout
        self.shm = shm
        self.env = None

    def start(self, args: list) -> dict:
        """(Re)starts the engine with `serve --stdio` plus `args`; returns its hello and where it runs."""
        from .vector import VectorEnv

        if self.env is not None:
            self.env.close()
            self.env = None
        with warnings.catch_warnings():
            # A --workers cap is stated once by the driver (RayVectorEnv), from the hello notes.
            warnings.simplefilter("ignore", UserWarning)
            self.env = VectorEnv(command=self.command + ["serve", "--stdio", *args], timeout=self.timeout, startup_timeout=self.startup_timeout, shm=self.shm)
        try:
            import ray

            node = ray.util.get_node_ip_address()
        except Exception:  # noqa: BLE001
            node = "?"
        return {"hello": self.env.hello, "pid": os.getpid(), "engine_pid": self.env.engine.pid, "node": node, "transport": self.env.transport}

    @staticmethod
    def _pack(r: StepResult, fresh: bool) -> dict:
        x = r.extra
        n = len(r.ids)
        j = int(x["joined"])
        return {
            "ids": list(r.ids) if fresh else None,
            "joined_ids": None if fresh else list(r.ids[n - j :]),
            "infos": r.infos,
            "tick": x["tick"],
            "cycles": x["cycles"],
            "joined": j,
            "done": x["done"],
            "invalid_total": x["invalid_total"],
            "obs": r.obs,
            "masks": r.masks,
            "rewards": r.rewards,
            "terminated": r.terminated,
            "truncated": r.truncated,
            "agents": x["agents"],
            "uids": x["uids"],
            "taken": x["taken"],
            "invalid": x["invalid"],
        }

    def reset(self, seed):
        return self._pack(self.env.reset(seed=seed), True)

    def step(self, actions):
        return self._pack(self.env.step(actions), False)

    def engine_pid(self) -> int:
        return self.env.engine.pid

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None


_REMOTE = None


def _remote_class():
    global _REMOTE
    if _REMOTE is None:
        import ray

        _REMOTE = ray.remote(_EngineActor)
    return _REMOTE


_ARRAYS = ("obs", "masks", "rewards", "terminated", "truncated", "agents", "uids", "taken", "invalid")


class RayVectorEnv:
    """VectorEnv over `actors` Ray actors; see the module docstring and docs/python.md.

    config, overrides, max_cycles: as VectorEnv (a relative config path is resolved here, on the
    driver). The towns (`world.towns`, from overrides or the config) are split over the actors.
    workers_per_actor: the engine's `--workers N` (worker threads in each engine); 1 = one
    thread (the default, always passed: Ray reserves num_cpus=workers_per_actor per actor, so the
    engine's own default, the machine's cores, does not apply here); more than the blocks of an actor's world is capped (a
    UserWarning says so; `self.workers` is the threads each engine uses). The threads run the blocks of each actor's world, so give
    `world.shards` (in overrides or the config; at most the towns of each actor's slice): a world
    of one block runs on one thread whatever N says. Replies do not depend on N. engine_command: the command that starts the engine on every
    node, without `serve --stdio` (default: the one this driver finds: TOWNLET_ENGINE,
    TOWNLET_ROOT, ...; the same path must exist on every node). actor_options: extra
    `.options(...)` of each actor (default num_cpus=workers_per_actor, and a runtime_env whose
    PYTHONPATH holds this package's folder). address: for ray.init when Ray is not initialized.
    """

    def __init__(
        self,
        config=None,
        actors: int = 2,
        overrides: Optional[dict] = None,
        max_cycles: Optional[int] = None,
        workers_per_actor: int = 1,
        engine_command=None,
        timeout: float = 30.0,
        startup_timeout: float = 120.0,
        shm=None,
        actor_options: Optional[dict] = None,
        address: Optional[str] = None,
    ):
        self._broken: Optional[BaseException] = None
        self._handles: list = []
        self._closed = False
        if isinstance(actors, bool) or not isinstance(actors, numbers.Integral) or actors < 1:
            raise ValueError(f"actors must be an integer >= 1, got {actors!r}")
        if isinstance(workers_per_actor, bool) or not isinstance(workers_per_actor, numbers.Integral) or workers_per_actor < 1:
            raise ValueError(f"workers_per_actor must be an integer >= 1, got {workers_per_actor!r}")
        if overrides is not None and not isinstance(overrides, dict):
            raise ValueError(f"overrides must be a dict of dotted keys, got {type(overrides).__name__}")
        try:
            import ray
        except ImportError as e:
            raise ImportError(f"RayVectorEnv needs ray (pip install 'ray>=2.9'); {sys.executable} cannot import it: {e}") from None
        self._ray = ray
        self.actors = int(actors)
        overrides = dict(overrides or {})
        towns = overrides.get("world.towns")
        if towns is not None:
            self._check_towns(towns)
        self.workers_per_actor = int(workers_per_actor)
        self.timeout = float(timeout)
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, logging_level="WARNING")
        cmd = list(engine_command) if engine_command is not None else find_engine_command()
        if config is not None and not os.path.isabs(str(config)) and os.path.exists(str(config)):
            config = os.path.abspath(str(config))
        base_args: list = []
        if config is not None:
            base_args += ["--config", str(config)]
        if max_cycles is not None:
            base_args += ["--max-cycles", str(int(max_cycles))]
        # Always passed: without it each engine would take the machine's cores (its default), more
        # than the num_cpus Ray reserved for the actor.
        base_args += ["--workers", str(self.workers_per_actor)]

        here = str(Path(__file__).resolve().parent.parent)
        opts = {"num_cpus": self.workers_per_actor, "runtime_env": {"env_vars": {"PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}}}
        opts.update(actor_options or {})
        need, have = opts.get("num_cpus", 1) * self.actors, ray.cluster_resources().get("CPU", 0)
        if need > have:
            raise ValueError(
                f"actors={self.actors} at num_cpus={opts.get('num_cpus', 1)} each need {need:g} CPUs; the Ray cluster has {have:g} "
                "(fewer actors, more nodes, or actor_options={'num_cpus': ...})"
            )
        Remote = _remote_class()
        self._handles = [Remote.options(**opts).remote(k, cmd, self.timeout, float(startup_timeout), shm) for k in range(self.actors)]
        self._where: list = [{} for _ in range(self.actors)]
        try:
            if towns is None:
                # The config's town count: actor 0 starts with the whole config, then its slice.
                info = self._get([self._handles[0].start.remote(self._args(base_args, overrides))], [0], float(startup_timeout) + 30, "start")[0]
                towns = int(info["hello"]["towns"])
                self._check_towns(towns)
            self.towns = int(towns)
            self.slices = split_towns(self.towns, self.actors)
            refs = [h.start.remote(self._args(base_args, dict(overrides, **{"world.towns": n}))) for h, (_, n) in zip(self._handles, self.slices)]
            infos = self._get(refs, list(range(self.actors)), float(startup_timeout) + 30, "start")
        except BaseException:
            self.close()
            raise
        for k, info in enumerate(infos):
            self._where[k] = info
        hello = infos[0]["hello"]
        adopt_hello(self, hello)  # workers and blocks: actor 0's engine's (per actor)
        for note in dict.fromkeys(n for i in infos for n in i["hello"].get("notes") or ()):
            warnings.warn(f"townlet_env: RayVectorEnv actors: {note}", UserWarning, stacklevel=2)
        self.transport = "ray:" + ",".join(sorted({i["transport"] for i in infos}))
        self.transport_reason = f"{self.actors} Ray actors, each with one engine child ({', '.join(i['transport'] for i in infos)} between actor and engine)"
        #: The first root seed (the config's), as VectorEnv's first reset without a seed uses.
        self._config_seed = int(hello.get("seed", 0))
        self.seed: Optional[int] = None
        self.episodes = 0
        self._ids: list = []
        self._owner = np.zeros(0, np.int32)
        self._local: list = [None] * self.actors  # each actor's last packed result
        self.last: Optional[StepResult] = None

    def _check_towns(self, towns) -> None:
        if isinstance(towns, bool) or not isinstance(towns, numbers.Integral) or towns < 1:
            raise ValueError(f'overrides["world.towns"] must be an integer >= 1, got {towns!r}')
        if self.actors > towns:
            raise ValueError(f"actors={self.actors} but the world has {towns} town(s): at most one actor per town")

    @staticmethod
    def _args(base: list, overrides: dict) -> list:
        import json

        return base + (["--overrides", json.dumps(overrides)] if overrides else [])

    # -- naming and errors ----------------------------------------------------------------------
    def actor_name(self, k: int) -> str:
        """"actor k of K (towns a-b, node, pids)": how errors name an actor."""
        s = f"Ray actor {k} of {self.actors}"
        sl = getattr(self, "slices", None)
        if sl:
            first, n = sl[k]
            s += f" (towns {first}-{first + n - 1}"
        else:
            s += " ("
        w = self._where[k] if k < len(self._where) else {}
        if w:
            s += f"{', ' if sl else ''}node {w.get('node')}, actor pid {w.get('pid')}, engine pid {w.get('engine_pid')}"
        return s + ")"

    def _get(self, refs: list, which: list, timeout: float, what: str) -> list:
        """ray.get of one call per actor in `which`, turning Ray's errors into the bridge's, naming the actor."""
        ray = self._ray
        out = [None] * len(refs)
        errors: list = []
        deadline = time.monotonic() + timeout
        pending = dict(zip(refs, range(len(refs))))
        while pending:
            left = deadline - time.monotonic()
            ready, _ = ray.wait(list(pending), num_returns=len(pending), timeout=max(0.0, left))
            for ref in ready:
                i = pending.pop(ref)
                try:
                    out[i] = ray.get(ref)
                except ray.exceptions.RayActorError as e:
                    errors.append(ActorDied(f"{self.actor_name(which[i])} died during {what}: {_first_line(e)}"))
                except ray.exceptions.RayTaskError as e:
                    cause = e.cause if getattr(e, "cause", None) is not None else e
                    kind = type(cause) if isinstance(cause, BridgeError) else BridgeError
                    if kind is EngineDied:
                        kind = ActorDied
                    errors.append(kind(f"{self.actor_name(which[i])}: {what}: {cause}"))
            if pending and time.monotonic() >= deadline:
                names = ", ".join(self.actor_name(which[i]) for i in pending.values())
                errors.append(BridgeTimeout(f"no reply to {what} within {timeout:g} s from {names}"))
                break
        if errors:
            # A refusal every actor gave alike (a bad request) leaves them in step; anything else breaks the env.
            if not (len(errors) == len(refs) and all(type(e) is EngineError for e in errors)):
                self._broken = errors[0]
            raise errors[0]
        return out

    def _check(self) -> None:
        if self._broken is not None:
            raise type(self._broken)(f"the env is unusable after an earlier error: {self._broken}")
        if self._closed:
            raise EngineDied("the env is closed")

    # -- the env ----------------------------------------------------------------------------------
    @property
    def ids(self) -> list:
        return self._ids

    @property
    def done(self) -> bool:
        return bool(self.last is None or self.last.extra["done"])

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None) -> StepResult:
        """Starts an episode on every actor: actor k resets to derive_seed(root, k), where root is
        `seed`, or without one the config's seed first and the previous root + 1 after."""
        self._check()
        root = check_seed(seed)
        if root is None:
            root = self._config_seed if self.seed is None else min(self.seed + 1, MAX_SEED)
        if options:
            raise EngineError(f"reset: unknown option(s) {', '.join(repr(k) for k in options)}; townlet_v1 defines no reset options")
        refs = [h.reset.remote(derive_seed(root, k)) for k, h in enumerate(self._handles)]
        packs = self._get(refs, list(range(self.actors)), self.timeout + 30, "reset")
        self.seed = root
        self.episodes += 1
        self._ids = []
        owner = []
        for k, p in enumerate(packs):
            self._ids.extend(f"{k}/{x}" for x in p["ids"])
            owner.extend([k] * len(p["ids"]))
        self._owner = np.asarray(owner, dtype=np.int32)
        return self._combine(packs, self._owner)

    def step(self, actions) -> StepResult:
        self._check()
        acts = action_array(actions)
        if self.last is None:
            raise EngineError("step() before reset(): call reset() to start an episode")
        if len(acts) != len(self._ids):
            raise ValueError(f"step: expected {len(self._ids)} actions (one per row of the last result), got {len(acts)}")
        if self.done:
            raise EngineError("the episode is over (every agent terminated or truncated): call reset() to start another")
        prev = self.last
        owner = self._owner
        which = [k for k in range(self.actors) if not self._local[k]["done"]]
        refs = [self._handles[k].step.remote(acts[owner == k]) for k in which]
        got = self._get(refs, which, self.timeout + 30, "step")
        packs = list(self._local)
        for k, p in zip(which, got):
            packs[k] = p
        # New rows: the previous rows not done, in order, then each actor's joined rows.
        keep = ~(prev.terminated | prev.truncated)
        survivors = owner[keep]
        ids = [x for x, live in zip(self._ids, keep.tolist()) if live]
        joined_owner = []
        for k in range(self.actors):
            p = packs[k]
            if k in which:
                ids.extend(f"{k}/{x}" for x in p["joined_ids"])
                joined_owner.extend([k] * p["joined"])
        new_owner = np.concatenate([survivors, np.asarray(joined_owner, dtype=np.int32)]).astype(np.int32)
        for k in which:
            have = int(np.count_nonzero(new_owner == k))
            if have != len(packs[k]["obs"]):
                self._broken = BridgeError(f"{self.actor_name(k)} returned {len(packs[k]['obs'])} rows, the row contract gives {have}")
                raise self._broken
        self._ids = ids
        self._owner = new_owner
        return self._combine(packs, new_owner, stepped=which)

    def _combine(self, packs: list, owner: np.ndarray, stepped=None) -> StepResult:
        """One StepResult from each actor's result: row i of the output is the next row of actor owner[i]."""
        n = len(owner)
        first = packs[0]
        out = {name: np.empty((n,) + first[name].shape[1:], dtype=first[name].dtype) for name in _ARRAYS}
        infos: dict = {}
        active = range(self.actors) if stepped is None else stepped
        for k in active:
            p = packs[k]
            rows = np.flatnonzero(owner == k)
            m = len(rows)
            # Contiguous rows (no joins elsewhere yet): slice assignment instead of a gather.
            where = slice(int(rows[0]), int(rows[0]) + m) if m and rows[-1] - rows[0] + 1 == m else rows
            for name in _ARRAYS:
                out[name][where] = p[name]
            for local, info in (p["infos"] or {}).items():
                info = dict(info)
                if "replaces" in info:
                    info["replaces"] = f"{k}/{info['replaces']}"
                infos[int(rows[int(local)])] = info
        for a in out.values():
            a.flags.writeable = False
        self._local = list(packs)
        ticks = [packs[k]["tick"] for k in active]
        extra = {
            "agents": out["agents"],
            "uids": out["uids"],
            "taken": out["taken"],
            "invalid": out["invalid"],
            "actor": owner,
            "tick": max(ticks) if ticks else 0,
            "cycles": max(packs[k]["cycles"] for k in range(self.actors)),
            "joined": sum(packs[k]["joined"] for k in active) if stepped is not None else 0,
            "done": all(p["done"] for p in packs),
            "invalid_total": sum(p["invalid_total"] for p in packs),
        }
        r = StepResult(out["obs"], out["masks"], out["rewards"], out["terminated"], out["truncated"], self._ids, dict(sorted(infos.items())), extra)
        self.last = r
        return r

    # -- shutdown ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Closes every engine (each actor sends `close` to its child), then ends the actors."""
        if self._closed:
            return
        self._closed = True
        ray = self._ray
        refs = []
        for h in self._handles:
            try:
                refs.append(h.close.remote())
            except Exception:  # noqa: BLE001
                pass
        try:
            ray.wait(refs, num_returns=len(refs), timeout=10.0)
        except Exception:  # noqa: BLE001
            pass
        for h in self._handles:
            try:
                ray.kill(h)
            except Exception:  # noqa: BLE001
                pass
        self._handles = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if not self._closed and self._handles:
                self.close()
        except Exception:  # noqa: BLE001
            pass


def _first_line(e: BaseException) -> str:
    s = str(e).strip()
    return s.splitlines()[0] if s else type(e).__name__
