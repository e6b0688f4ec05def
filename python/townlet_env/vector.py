"""The batch form: one message per tick for all agents, numpy arrays [agents, ...]."""
from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from .client import EngineProcess
from .protocol import ProtocolError


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
    extra: dict  # agents, uids, taken, invalid arrays; tick, cycles, joined, done, invalid_total


class VectorEnv:
    """Rows: the agents live at the start of the step (in the previous result's order, minus
    rows done there), then agents that joined during it. `step(actions)` takes one int32 action
    per row of the previous result (rows that were done are ignored)."""

    def __init__(self, config=None, overrides=None, max_cycles=None, command=None, timeout=30.0, startup_timeout=120.0, shm=None):
        # shm=None (default): the arrays of replies come through shared-memory files in /dev/shm
        # where it exists (Linux), else through the pipe; False: always the pipe; True: shared
        # memory, in the temporary folder when there is no /dev/shm. `transport` and
        # `transport_reason` say which and why.
        self.engine = EngineProcess(config=config, overrides=overrides, max_cycles=max_cycles, command=command, timeout=timeout, startup_timeout=startup_timeout, shm=shm)
        info = self.engine.info
        sp = info["spaces"]
        self.observation_size = int(sp["observation"]["shape"][0])
        self.action_count = int(sp["action"]["n"])
        self.feature_count = int(sp["observation"]["features"])
        self.map_shape = tuple(sp["observation"]["map"])
        self.config_id = info["config_id"]
        self.config_hash = info["config_hash"]
        self.engine_version = info["engine_version"]
        self.max_cycles = info["max_cycles"]
        self.hello = info
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
        h, a = self.engine.request({"type": "reset", "seed": None if seed is None else int(seed), "options": options or None}, shm=True)
        return self._result(h, a)

    def step(self, actions) -> StepResult:
        acts = np.ascontiguousarray(actions, dtype=np.int32)
        if acts.ndim != 1:
            raise ValueError(f"actions: expected a 1-D array (one per row), got shape {acts.shape}")
        h, a = self.engine.request({"type": "step"}, [("actions", acts, "int32")], shm=True)
        return self._result(h, a)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
