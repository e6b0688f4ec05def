"""The batch form: one message per tick for all agents, numpy arrays [agents, ...]."""
from __future__ import annotations

import numbers
import warnings
from typing import NamedTuple, Optional

import numpy as np

from .client import EngineProcess
from .protocol import ProtocolError


INT32_MAX = 0x7FFFFFFF
#: What an action that is not a whole number in int32's range becomes on the wire: out of range,
#: so the engine counts it invalid (the agent waits; extra["invalid"] marks the row).
INVALID_ACTION = -2
MAX_SEED = (1 << 53) - 1


def action_array(actions) -> np.ndarray:
    """int32 actions for the wire, never cast silently: a value that is not a whole number within
    int32's range (1.7, 2**32 + 3, NaN, inf, a string) becomes INVALID_ACTION, which the engine
    counts as an invalid action of that row, as ParallelEnv does for the same values. Integral
    floats (2.0) and bools count as the integers they equal. Raises ValueError unless 1-D."""
    a = np.asarray(actions)
    if a.ndim != 1:
        raise ValueError(f"actions: expected a 1-D array (one per row), got shape {a.shape}")
    if a.dtype == np.int32:
        return np.ascontiguousarray(a)
    kind = a.dtype.kind
    if kind in "bu" and a.dtype.itemsize < 4 or kind == "i" and a.dtype.itemsize <= 4:
        return a.astype(np.int32)
    if kind in "iu":
        ok = (a >= -INT32_MAX - 1) & (a <= INT32_MAX) if kind == "i" else a <= INT32_MAX
        return np.where(ok, a, INVALID_ACTION).astype(np.int32)
    if kind == "f":
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(a) & (np.floor(a) == a) & (a >= -INT32_MAX - 1) & (a <= INT32_MAX)
        return np.where(ok, a, INVALID_ACTION).astype(np.int32)
    # Anything else (objects, strings, complex): value by value, by ParallelEnv's rule.
    return np.fromiter((action_value(x) for x in a.tolist()), dtype=np.int32, count=len(a))


def action_value(x) -> int:
    """One action for the wire: the int it equals when that is within int32's range, else INVALID_ACTION."""
    try:
        v = int(x)
    except (TypeError, ValueError, OverflowError):
        return INVALID_ACTION
    if isinstance(x, str) or v != x or not (-INT32_MAX - 1 <= v <= INT32_MAX):
        return INVALID_ACTION
    return v


def check_seed(seed):
    """None, or the int a seed equals; refuses (ValueError) what is not a whole number in [0, 2^53 - 1]."""
    if seed is None:
        return None
    ok = isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
    if ok:
        seed = int(seed)
    if not ok or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"reset: seed must be None or an integer in [0, 2^53 - 1], got {seed!r}")
    return seed


def adopt_hello(env, hello: dict) -> None:
    """Sets an env's sizes and identity from the engine's hello reply (VectorEnv, RayVectorEnv)."""
    sp = hello["spaces"]
    env.hello = hello
    env.observation_size = int(sp["observation"]["shape"][0])
    env.action_count = int(sp["action"]["n"])
    env.feature_count = int(sp["observation"]["features"])
    env.map_shape = tuple(sp["observation"]["map"])
    env.config_id = hello["config_id"]
    env.config_hash = hello["config_hash"]
    env.engine_version = hello["engine_version"]
    env.max_cycles = hello["max_cycles"]
    #: Threads running the world's blocks, and the blocks (world.shards): 1 and 1 for a plain world.
    env.workers = int(hello.get("workers", 1))
    env.blocks = int(hello.get("blocks", 1))


class StepResult(NamedTuple):
    """One reset/step reply. Arrays are zero-copy, read-only views on the reply's buffer (a
    shared-memory file, or the bytes read from the pipe); a buffer is reused only once no view
    of it is left, so a result stays valid as long as you hold it."""

    obs: np.ndarray  # [N, D] float32: features, then the map [C, W, W] flattened
    masks: np.ndarray  # [N, A] uint8, 1 = allowed
    rewards: np.ndarray  # [N] float32
    terminated: np.ndarray  # [N] bool view (uint8 storage)
    truncated: np.ndarray  # [N] bool
    ids: list  # external id of each row
    infos: dict  # sparse: {row: {exit_reason | joined | replaces}}
    extra: dict  # agents (int32), uids (uint32), taken, invalid arrays; tick, cycles, joined, done, invalid_total


class VectorEnv:
    """Rows: the agents live at the start of the step (in the previous result's order, minus
    rows done there), then agents that joined during it. `step(actions)` takes one int32 action
    per row of the previous result (rows that were done are ignored)."""

    def __init__(self, config=None, overrides=None, max_cycles=None, command=None, timeout=30.0, startup_timeout=120.0, shm=None, workers=None):
        # shm=None (default): the arrays of replies come through shared-memory files in /dev/shm
        # where it exists (Linux), else through the pipe; False: always the pipe; True: shared
        # memory, in the temporary folder when there is no /dev/shm. `transport` and
        # `transport_reason` say which and why.
        # workers: the engine's `--workers N`, threads running the world's blocks (world.shards in
        # the overrides or the config; a world of one block runs on one thread whatever N says).
        # None (default): the engine's default, the machine's cores capped by the blocks; 1: one thread.
        # Replies do not depend on it. More than the blocks is capped: `self.workers` holds the
        # threads in use, and a UserWarning says so (the engine's note from hello).
        self.engine = EngineProcess(config=config, overrides=overrides, max_cycles=max_cycles, command=command, timeout=timeout, startup_timeout=startup_timeout, shm=shm, workers=workers)
        adopt_hello(self, self.engine.info)
        for note in self.engine.info.get("notes") or ():
            warnings.warn(f"townlet_env: {note}", UserWarning, stacklevel=2)
        self._ids: list = []
        self.last: Optional[StepResult] = None

    @property
    def transport(self) -> str:
        """How the arrays of replies travel: "shm" or "pipe" (shm turns to pipe if a write to it fails)."""
        return self.engine.transport

    @property
    def transport_reason(self) -> str:
        """Why `transport` is what it is (e.g. "no writable /dev/shm ...")."""
        return self.engine.transport_reason

    @property
    def ids(self) -> list:
        return self._ids

    @property
    def done(self) -> bool:
        return bool(self.last is None or self.last.extra["done"])

    def _result(self, h: dict, a: dict) -> StepResult:
        n = int(h["count"])
        if h.get("ids") is not None:
            self._ids = list(h["ids"])
        else:
            # The rows of the previous result that were not done, in order, then the joined rows.
            prev = self.last
            done = np.flatnonzero(prev.terminated | prev.truncated) if prev is not None else ()
            if len(done):
                gone = set(done.tolist())
                ids = [x for i, x in enumerate(self._ids) if i not in gone]
            else:
                ids = list(self._ids)
            self._ids = ids + list(h.get("joined_ids") or ())
        if len(self._ids) != n:
            raise ProtocolError(f"malformed reply: {n} rows but {len(self._ids)} ids")
        infos = {int(k): v for k, v in (h.get("infos") or {}).items()}
        extra = {
            "agents": a["agents"],
            "uids": a["uids"],
            "taken": a["taken"],
            "invalid": a["invalid"],
            "tick": h["tick"],
            "cycles": h["cycles"],
            "joined": h["joined"],
            "done": h["done"],
            "invalid_total": h["invalid_total"],
        }
        r = StepResult(a["obs"], a["masks"], a["rewards"], a["terminated"].view(np.bool_), a["truncated"].view(np.bool_), self._ids, infos, extra)
        self.last = r
        return r

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None) -> StepResult:
        h, a = self.engine.request({"type": "reset", "seed": check_seed(seed), "options": options or None}, shm=True)
        return self._result(h, a)

    def step(self, actions) -> StepResult:
        acts = action_array(actions)
        if self.last is not None and len(acts) != len(self._ids):
            # Checked here, before anything is sent: a wrong length is never shipped to the engine.
            raise ValueError(f"step: expected {len(self._ids)} actions (one per row of the last result), got {len(acts)}")
        h, a = self.engine.request({"type": "step"}, [("actions", acts, "int32")], shm=True)
        return self._result(h, a)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
