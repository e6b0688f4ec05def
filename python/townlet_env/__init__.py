"""Townlet envs for Python: the Node engine runs as a child process (`townlet serve --stdio`).

- :class:`VectorEnv`: numpy arrays [agents, ...] per tick, zero-copy views on the message buffers.
- :class:`ParallelEnv`: PettingZoo's parallel contract (dicts keyed by agent id).
"""
from .protocol import PROTOCOL_VERSION, BridgeError, EngineDied, BridgeTimeout, ProtocolError, EngineError
from .client import EngineProcess, find_engine_command
from .vector import VectorEnv, StepResult
from .parallel import ParallelEnv

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
]
