"""gymnasium spaces when importable, light stand-ins with the same attributes otherwise.

The stand-ins mirror what PettingZoo's tests and common trainers read of gymnasium's Box,
Discrete and Dict (listed in docs/python.md); they are not gymnasium.Space subclasses.
"""
from __future__ import annotations

import numpy as np

try:  # pragma: no cover - depends on the environment
    from gymnasium import spaces as _gs

    HAVE_GYMNASIUM = True
except Exception:  # noqa: BLE001
    _gs = None
    HAVE_GYMNASIUM = False


class Box:
    def __init__(self, low, high, shape, dtype):
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        self.low = np.full(self.shape, low, dtype=self.dtype)
        self.high = np.full(self.shape, high, dtype=self.dtype)
        self._rng = np.random.default_rng()

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)
        return [seed]

    def contains(self, x) -> bool:
        x = np.asarray(x)
        return x.shape == self.shape and np.can_cast(x.dtype, self.dtype) and bool(np.all(x >= self.low) & np.all(x <= self.high))

    __contains__ = contains

    def sample(self):
        if self.dtype.kind == "f":
            lo = np.where(np.isfinite(self.low), self.low, -1.0)
            hi = np.where(np.isfinite(self.high), self.high, 1.0)
            return self._rng.uniform(lo, hi).astype(self.dtype)
        return self._rng.integers(self.low, self.high, endpoint=True).astype(self.dtype)

    def __repr__(self):
        return f"Box({self.shape}, {self.dtype})"


class Discrete:
    def __init__(self, n, start=0):
        self.n = int(n)
        self.start = int(start)
        self.shape = ()
        self.dtype = np.dtype(np.int64)
        self._rng = np.random.default_rng()

    def seed(self, seed=None):
        self._rng = np.random.default_rng(seed)
        return [seed]

    def contains(self, x) -> bool:
        try:
            v = int(x)
        except (TypeError, ValueError):
            return False
        return v == x and self.start <= v < self.start + self.n

    __contains__ = contains

    def sample(self, mask=None):
        if mask is not None:
            allowed = np.flatnonzero(np.asarray(mask))
            if len(allowed) == 0:
                return self.start
            return int(self.start + self._rng.choice(allowed))
        return int(self.start + self._rng.integers(self.n))

    def __repr__(self):
        return f"Discrete({self.n})"


class Dict:
    def __init__(self, spaces: dict):
        self.spaces = dict(spaces)

    def __getitem__(self, k):
        return self.spaces[k]

    def keys(self):
        return self.spaces.keys()

    def items(self):
        return self.spaces.items()

    def values(self):
        return self.spaces.values()

    def __iter__(self):
        return iter(self.spaces)

    def __len__(self):
        return len(self.spaces)

    def seed(self, seed=None):
        for s in self.spaces.values():
            s.seed(seed)
        return [seed]

    def contains(self, x) -> bool:
        return isinstance(x, dict) and x.keys() == self.spaces.keys() and all(self.spaces[k].contains(x[k]) for k in self.spaces)

    __contains__ = contains

    def sample(self):
        return {k: s.sample() for k, s in self.spaces.items()}

    def __repr__(self):
        return f"Dict({self.spaces!r})"


def make_box(low, high, shape, dtype):
    if HAVE_GYMNASIUM:
        return _gs.Box(low=low, high=high, shape=tuple(shape), dtype=dtype)
    return Box(low, high, shape, dtype)


def make_discrete(n, start=0):
    if HAVE_GYMNASIUM:
        return _gs.Discrete(n, start=start)
    return Discrete(n, start)


def make_dict(spaces: dict):
    if HAVE_GYMNASIUM:
        return _gs.Dict(spaces)
    return Dict(spaces)
