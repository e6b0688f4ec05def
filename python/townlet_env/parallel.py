"""PettingZoo's parallel contract over the bridge (a view over VectorEnv)."""
from __future__ import annotations

import warnings
from typing import Optional

import numpy as np

from . import spaces as _spaces
from .vector import VectorEnv, action_value

try:  # pragma: no cover - depends on the environment
    from pettingzoo import ParallelEnv as _Base

    HAVE_PETTINGZOO = True
except Exception:  # noqa: BLE001
    _Base = object
    HAVE_PETTINGZOO = False


class ParallelEnv(_Base):
    """reset(seed=None, options=None) -> (obs, infos); step(actions) -> (obs, rewards,
    terminations, truncations, infos), each keyed by the agents live at the start of the step
    plus the agents that joined during it. Observations are {"observation", "action_mask"}.
    An agent that leaves gets one last entry (terminated) and never returns; possible_agents
    grows as replacements appear."""

    metadata = {"name": "townlet_v1", "render_modes": [], "is_parallelizable": True}
    render_mode = None

    def __init__(self, config=None, overrides=None, max_cycles=None, command=None, timeout=30.0, startup_timeout=120.0, shm=None, workers=None):
        # workers: as VectorEnv's (threads running a sharded world's blocks; the dicts do not depend on it).
        self.vector = VectorEnv(config=config, overrides=overrides, max_cycles=max_cycles, command=command, timeout=timeout, startup_timeout=startup_timeout, shm=shm, workers=workers)
        v = self.vector
        obs_sp = v.hello["spaces"]
        self._obs_space = _spaces.make_dict(
            {
                "observation": _spaces.make_box(-np.inf, np.inf, obs_sp["observation"]["shape"], np.float32),
                # int8, as gymnasium's Discrete.sample(mask=) requires; the wire carries uint8 and
                # each agent's mask is a zero-copy int8 view of the same bytes (values 0 and 1).
                "action_mask": _spaces.make_box(0, 1, obs_sp["action_mask"]["shape"], np.int8),
            }
        )
        self._act_space = _spaces.make_discrete(v.action_count)
        self.agents: list = []
        self.possible_agents: list = []
        self._seen: set = set()

    def observation_space(self, agent):
        self._known(agent)
        return self._obs_space

    def action_space(self, agent):
        self._known(agent)
        return self._act_space

    def _known(self, agent):
        if agent not in self._seen:
            raise KeyError(f'unknown agent "{agent}": not in possible_agents (call reset() first, or check the id)')

    @property
    def observation_spaces(self) -> dict:
        """{agent: space} over possible_agents (PettingZoo's older dict attribute; one shared space)."""
        return {a: self._obs_space for a in self.possible_agents}

    @property
    def action_spaces(self) -> dict:
        return {a: self._act_space for a in self.possible_agents}

    @property
    def unwrapped(self):
        return self

    def __str__(self) -> str:
        return self.metadata["name"]

    @property
    def num_agents(self) -> int:
        return len(self.agents)

    @property
    def max_num_agents(self) -> int:
        return len(self.possible_agents)

    def reset(self, seed: Optional[int] = None, options: Optional[dict] = None):
        # PettingZoo's parallel_api_test resets with options={"options": 1} and expects it to
        # work: townlet_v1 defines no reset option, so they are ignored here, with a warning
        # (VectorEnv, the engine's own form, refuses them).
        if options:
            warnings.warn(f"townlet_v1 defines no reset options: ignoring {sorted(options)}", UserWarning, stacklevel=2)
        self.possible_agents = []
        self._seen = set()
        r = self.vector.reset(seed=seed)
        obs, _, _, _, infos = self._collect(r)
        return obs, infos

    def step(self, actions: dict):
        r = self.vector.last
        if r is None:
            raise RuntimeError("step() before reset(): call reset() to start an episode")
        if self.vector.done:
            raise RuntimeError("the episode is over (every agent terminated or truncated): call reset() to start another")
        ids = r.ids
        buf = np.full(len(ids), -1, dtype=np.int32)
        missing = []
        given = 0
        done = r.terminated | r.truncated
        for i, aid in enumerate(ids):
            if done[i]:
                continue
            a = actions.get(aid)
            if a is None:
                missing.append(aid)
                continue
            given += 1
            # Not a whole number in int32's range (1.7, NaN, 2**32 + 3): sent as an invalid action.
            buf[i] = action_value(a)
        if missing:
            raise ValueError(f"step: no action for live agent(s) {missing[:5]}; give one for every agent in env.agents")
        if len(actions) != given:
            live = set(self.agents)
            raise ValueError(f"step: {[k for k in actions if k not in live][:5]} not live (a terminated or truncated agent never acts again)")
        return self._collect(self.vector.step(buf))

    def _collect(self, r):
        ids = r.ids
        for aid in ids:
            if aid not in self._seen:
                self._seen.add(aid)
                self.possible_agents.append(aid)
        taken = r.extra["taken"]
        invalid = r.extra["invalid"]
        total = int(r.extra["invalid_total"])
        obs, rewards, terms, truncs, infos = {}, {}, {}, {}, {}
        live = []
        masks = r.masks.view(np.int8)  # same bytes, the dtype gymnasium's Discrete.sample(mask=) wants
        for i, aid in enumerate(ids):
            obs[aid] = {"observation": r.obs[i], "action_mask": masks[i]}
            rewards[aid] = float(r.rewards[i])
            terms[aid] = bool(r.terminated[i])
            truncs[aid] = bool(r.truncated[i])
            info = {"action_taken": bool(taken[i]), "invalid_action": bool(invalid[i]), "invalid_actions": total}
            if invalid[i] == 2:
                info["stale_mask"] = True
            extra = r.infos.get(i)
            if extra:
                info.update(extra)
            infos[aid] = info
            if not (terms[aid] or truncs[aid]):
                live.append(aid)
        self.agents = live
        return obs, rewards, terms, truncs, infos

    def render(self):
        return None

    def state(self):
        raise NotImplementedError("townlet_v1 defines no global state")

    def close(self):
        self.vector.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
