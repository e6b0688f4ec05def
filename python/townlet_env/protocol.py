"""Frames of `townlet serve --stdio` (see docs/python.md).

A frame: u32 LE body length (bytes after that field), u32 LE header length, header JSON (utf-8),
then arrays at 8-byte-aligned offsets from the frame start, listed in header["arrays"] as
{name, dtype, shape, offset}. Arrays are little-endian. A reset/step reply may instead hold its
arrays in a shared-memory file the request named (header "shm": the slot; offsets from 0 there).

Version history: 1 first version; 2 the client names a shared-memory slot per request
("shm", "shm_path"), and a slot the engine cannot write falls back to the pipe ("shm_error");
3 the "uids" array is uint32 (it was int32: the uids of a sharded world's upper blocks, which
start at 2^31 and up, read negative).
"""
from __future__ import annotations

import json
import math
import struct

import numpy as np

PROTOCOL_VERSION = 3
DTYPES = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4"), "uint32": np.dtype("<u4"), "uint8": np.dtype("u1")}
MAX_FRAME = 1 << 32  # u32 length field


class BridgeError(RuntimeError):
    """Base class of the bridge's errors."""


class EngineDied(BridgeError):
    """The Node child exited (or closed its stdout) while a reply was awaited."""


class BridgeTimeout(BridgeError, TimeoutError):
    """No reply within the request's timeout; the child was stopped."""


class ProtocolError(BridgeError):
    """A malformed frame (from the engine), or the engine reported one of ours."""


class EngineError(BridgeError):
    """The engine refused a request (bad seed, wrong action count, step after the episode ended)."""


def _align8(n: int) -> int:
    return (n + 7) & ~7


def encode_frame(header: dict, arrays=()) -> list:
    """Returns the parts of one frame (bytes and array buffers, to write in order)."""
    arrays = [(name, np.ascontiguousarray(a, dtype=DTYPES[dtype])) for name, a, dtype in arrays]
    hlen = 0
    for _ in range(4):
        at = _align8(8 + hlen)
        descs = []
        for name, a in arrays:
            descs.append({"name": name, "dtype": a.dtype.name if a.dtype != np.uint8 else "uint8", "shape": list(a.shape), "offset": at})
            at = _align8(at + a.nbytes)
        head = json.dumps(dict(header, v=header.get("v", PROTOCOL_VERSION), arrays=descs), separators=(",", ":"), allow_nan=False).encode()
        if len(head) == hlen:
            break
        hlen = len(head)
    total = at if arrays else 8 + len(head)
    parts = [struct.pack("<II", total - 4, len(head)), head]
    pos = 8 + len(head)
    for d, (_, a) in zip(descs, arrays):
        if d["offset"] > pos:
            parts.append(bytes(d["offset"] - pos))
        parts.append(memoryview(a).cast("B"))
        pos = d["offset"] + a.nbytes
    if total > pos:
        parts.append(bytes(total - pos))
    return parts


def parse_header(frame: memoryview) -> dict:
    """The header of a complete frame (validated: JSON object, arrays inside the frame)."""
    if len(frame) < 8:
        raise ProtocolError(f"malformed frame from the engine: {len(frame)} bytes, shorter than its 8-byte prefix")
    body, hlen = struct.unpack_from("<II", frame, 0)
    if hlen > body - 4:
        raise ProtocolError(f"malformed frame from the engine: header length {hlen} exceeds the frame ({body + 4} bytes)")
    try:
        header = json.loads(bytes(frame[8 : 8 + hlen]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError(f"malformed frame from the engine: header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ProtocolError("malformed frame from the engine: header is not a JSON object")
    if header.get("v") != PROTOCOL_VERSION:
        raise ProtocolError(
            f"protocol version mismatch: this package (townlet_env) speaks {PROTOCOL_VERSION}, the engine {header.get('v')!r}; "
            "install the package from the same Townlet checkout as the engine (pip install ./python)"
        )
    return header


def array_views(header: dict, frame, first: int = 8) -> dict:
    """numpy views (no copy) of the frame's arrays, by name (offsets from `first` on)."""
    out = {}
    for d in header.get("arrays", ()):
        try:
            dt = DTYPES[d["dtype"]]
            shape = tuple(int(s) for s in d["shape"])
            off = int(d["offset"])
        except (KeyError, TypeError, ValueError):
            raise ProtocolError(f"malformed frame from the engine: bad array entry {d!r}") from None
        n = math.prod(shape)
        if off < first or off + n * dt.itemsize > len(frame):
            raise ProtocolError(f"malformed frame from the engine: array {d.get('name')!r} lies outside the frame")
        out[d["name"]] = np.frombuffer(frame, dtype=dt, count=n, offset=off).reshape(shape)
    return out
