"""Townlet envs for Python: the Node engine runs as a child process (`townlet serve --stdio`).

- :class:`VectorEnv`: numpy arrays [agents, ...] per tick, zero-copy views on the message buffers.
- :class:`ParallelEnv`: PettingZoo's parallel contract (dicts keyed by agent id).
- :class:`RayVectorEnv`: VectorEnv's rows over Ray actors, each with one engine and a slice of the towns.
"""
from .protocol import PROTOCOL_VERSION, BridgeError, EngineDied, BridgeTimeout, ProtocolError, EngineError
from .client import EngineProcess, find_engine_command
from .vector import VectorEnv, StepResult
from .parallel import ParallelEnv
from .ray_env import ActorDied, RayVectorEnv, derive_seed

__all__ = [
    "PROTOCOL_VERSION",
    "BridgeError",
    "EngineDied",
    "BridgeTimeout",
    "ProtocolError",
    "EngineError",
    "EngineProcess",
    "find_engine_command",
    "VectorEnv",
    "StepResult",
    "ParallelEnv",
    "RayVectorEnv",
    "ActorDied",
    "derive_seed",
]
