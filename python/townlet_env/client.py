"""The Node child process and request/reply over its stdin/stdout."""
from __future__ import annotations

import atexit
import json
import math
import mmap
import numbers
import os
import selectors
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import warnings
import weakref
from pathlib import Path

import numpy as np

from .protocol import (
    BridgeTimeout,
    EngineDied,
    EngineError,
    ProtocolError,
    array_views,
    encode_frame,
    parse_header,
)

_LIVE: "weakref.WeakSet[EngineProcess]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for p in list(_LIVE):
        p.kill()


def find_engine_command() -> list:
    """The command that starts the engine: $TOWNLET_ENGINE (a command line), else bin/townlet.mjs
    of a Townlet checkout found from $TOWNLET_ROOT, the current folder or this package's folder
    upwards, else `townlet` on PATH."""
    env = os.environ.get("TOWNLET_ENGINE")
    if env:
        import shlex

        return shlex.split(env)
    node = shutil.which("node") or "node"
    starts = [os.environ.get("TOWNLET_ROOT"), os.getcwd(), str(Path(__file__).resolve().parent)]
    for s in starts:
        if not s:
            continue
        for d in [Path(s), *Path(s).resolve().parents]:
            cand = d / "bin" / "townlet.mjs"
            if cand.is_file():
                return [node, str(cand)]
    exe = shutil.which("townlet")
    if exe:
        return [exe]
    raise FileNotFoundError("the Townlet engine was not found: set TOWNLET_ROOT to a checkout (with node_modules) or TOWNLET_ENGINE to a command")


#: Shared-memory slots per env at most; a reply whose every slot is still held goes through the pipe.
MAX_SHM_SLOTS = 8


def shm_folder(shm) -> tuple:
    """(folder for the shared-memory files or None, why). shm=None (the default): /dev/shm when it
    is a writable tmpfs folder (Linux), else the pipe; True: /dev/shm, else the temporary folder
    (a mapped file: still no copy through the pipe); False: the pipe."""
    if shm is False:
        return None, "shm=False: every reply travels through the pipe"
    if not hasattr(sys, "getrefcount"):
        # A file is reused once no view maps it, which only CPython's reference counts tell.
        return None, f"shared memory needs CPython (this is {sys.implementation.name}): every reply travels through the pipe"
    where = "/dev/shm"
    if os.path.isdir(where) and os.access(where, os.W_OK):
        try:
            fd, path = tempfile.mkstemp(prefix="townlet-probe-", dir=where)
            os.close(fd)
            os.unlink(path)
            return where, "shared memory in /dev/shm"
        except OSError as e:
            why = f"/dev/shm is not usable ({e})"
    else:
        why = "no writable /dev/shm (shared memory is automatic on Linux only)"
    if shm is True:
        return tempfile.gettempdir(), f"shm=True and {why}: mapped files in {tempfile.gettempdir()}"
    return None, f"{why}: every reply travels through the pipe"


class _Slot:
    """One shared-memory file and its mappings (the newest last; older ones while views hold them)."""

    __slots__ = ("fd", "maps")

    def __init__(self, fd: int):
        self.fd = fd
        self.maps: list = []

    def held(self) -> bool:
        # CPython: a mapping is referenced by this list and getrefcount's argument only, unless
        # some numpy view (of a result the caller kept) still points at it.
        maps = self.maps
        return any(sys.getrefcount(maps[k]) > 2 for k in range(len(maps)))


def _grow_pipe(fd: int, size: int = 1 << 20) -> None:
    """Larger pipe buffers (Linux F_SETPIPE_SZ; up to /proc/sys/fs/pipe-max-size): fewer wake-ups per frame."""
    try:
        import fcntl

        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (OSError, ImportError, ValueError):
        pass


class EngineProcess:
    """One `townlet serve --stdio` child. Every request has a timeout; a dead child raises
    EngineDied; close() (or the context manager, or interpreter exit) leaves no process behind."""

    def __init__(self, config=None, overrides=None, max_cycles=None, command=None, timeout=30.0, startup_timeout=120.0, shm=None, workers=None):
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1):
            raise ValueError(f"workers must be None or an integer >= 1 (threads running the world's blocks), got {workers!r}")
        if workers is not None and command is not None:
            raise ValueError("workers: give it in the command (--workers N) when you pass command")
        cmd = list(command) if command is not None else find_engine_command() + ["serve", "--stdio"]
        if command is None:
            if config is not None:
                cmd += ["--config", str(config)]
            if overrides:
                cmd += ["--overrides", json.dumps(overrides)]
            if max_cycles is not None:
                cmd += ["--max-cycles", str(int(max_cycles))]
            # None: the engine's default (the machine's cores, capped by the blocks); 1 forces one thread.
            if workers is not None:
                cmd += ["--workers", str(int(workers))]
        self.timeout = float(timeout)
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, bufsize=0)
        self._out = self.proc.stdout.fileno()
        self._in = self.proc.stdin.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        _grow_pipe(self._out)
        _grow_pipe(self._in)
        # Registered once: a wait is one epoll_wait, not add/wait/remove.
        self._can_read = selectors.DefaultSelector()
        self._can_read.register(self._out, selectors.EVENT_READ)
        self._can_write = selectors.DefaultSelector()
        self._can_write.register(self._in, selectors.EVENT_WRITE)
        self._next_id = 0
        self._closed = False
        self._broken = None
        self._slots: list = []
        _LIVE.add(self)
        try:
            self.info = self.request({"type": "hello"}, timeout=startup_timeout)[0]
        except BaseException:
            self.kill()
            raise
        #: "shm" (the arrays of replies come through shared-memory files) or "pipe"; and why.
        self._shm_dir, self.transport_reason = shm_folder(shm)
        self.transport = "shm" if self._shm_dir else "pipe"
        self._warned_full = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -- errors -------------------------------------------------------------------------------
    def _stderr_tail(self, n: int = 2000) -> str:
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - n))
            return self._stderr.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    def _died(self, what: str):
        try:
            code = self.proc.wait(timeout=min(self.timeout, 5.0))
        except subprocess.TimeoutExpired:
            code = None
        tail = self._stderr_tail()
        self.kill()
        err = EngineDied(f"the Townlet engine (pid {self.proc.pid}) {what} (exit code {code})" + (f"; its stderr ends with:\n{tail}" if tail else ""))
        self._broken = err
        return err

    # -- I/O ----------------------------------------------------------------------------------
    def _write(self, parts, deadline: float) -> None:
        views = [memoryview(p).cast("B") for p in parts]
        try:
            n = os.writev(self._in, views)
        except BlockingIOError:
            n = 0
        except (BrokenPipeError, ConnectionResetError):
            raise self._died("closed its stdin") from None
        for mv in views:
            if n >= len(mv):
                n -= len(mv)
                continue
            mv = mv[n:]
            n = 0
            while len(mv):
                try:
                    k = os.write(self._in, mv)
                    mv = mv[k:]
                    continue
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    raise self._died("closed its stdin") from None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timeout()
                self._can_write.select(left)

    def _read_into(self, mv: memoryview, deadline: float) -> None:
        got = 0
        while got < len(mv):
            try:
                n = os.readv(self._out, [mv[got:]])
            except BlockingIOError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._timeout() from None
                self._can_read.select(left)
                continue
            if n == 0:
                raise self._died("exited" if self.proc.poll() is not None else "closed its stdout")
            got += n

    def _timeout(self):
        self.kill()
        err = BridgeTimeout(f"the Townlet engine (pid {self.proc.pid}) sent no reply within {self.timeout:g} s; it was stopped")
        self._broken = err
        return err

    def read_frame(self, deadline: float, slot=None):
        """One frame: (header, {name: read-only numpy view}). The arrays lie in the frame, or in
        shared-memory slot `slot` when the request named one and the header says so."""
        prefix = bytearray(8)
        self._read_into(memoryview(prefix), deadline)
        body, hlen = struct.unpack("<II", prefix)
        if body < 4 or hlen > body - 4:
            self.kill()
            self._broken = ProtocolError(f"malformed frame from the engine: length {body}, header length {hlen} (bytes {bytes(prefix)!r})")
            raise self._broken
        # np.empty: no zero-fill of a buffer the read overwrites at once.
        frame = np.empty(body + 4, dtype=np.uint8)
        frame[:8] = np.frombuffer(prefix, dtype=np.uint8)
        self._read_into(memoryview(frame)[8:], deadline)
        # Read-only views, whichever the transport (shared-memory mappings are read-only).
        frame.flags.writeable = False
        try:
            header = parse_header(memoryview(frame))
            got = header.get("shm")
            if got is not None and header.get("type") != "error":
                if got != slot:
                    raise ProtocolError(f"malformed frame from the engine: arrays in shared-memory slot {got!r}, but the request named {slot!r}")
                arrays = array_views(header, self._shm_buffer(slot, header), first=0)
            else:
                arrays = array_views(header, frame)
        except ProtocolError as e:
            self.kill()
            self._broken = e
            raise
        return header, arrays

    def _shm_buffer(self, slot: int, header: dict):
        """The mapping of shared-memory slot `slot`, large enough for the header's arrays."""
        need = 0
        for d in header.get("arrays", ()):
            try:
                n = math.prod(int(x) for x in d["shape"]) * (1 if d["dtype"] == "uint8" else 4)
                need = max(need, int(d["offset"]) + n)
            except (KeyError, TypeError, ValueError):
                raise ProtocolError(f"malformed frame from the engine: bad array entry {d!r}") from None
        s = self._slots[slot]
        m = s.maps[-1] if s.maps else None
        if m is None or len(m) < need:
            size = os.fstat(s.fd).st_size
            if size < need:
                raise ProtocolError(f"malformed frame from the engine: arrays end at byte {need}, the shared-memory file holds {size}")
            if size == 0:
                return b""
            # A new mapping; views on the older ones keep those alive (and the slot held).
            m = mmap.mmap(s.fd, size, access=mmap.ACCESS_READ)
            s.maps.append(m)
        return m

    def _pick_slot(self) -> tuple:
        """(slot, new file path or None) for the next reply's arrays, or (None, None): the pipe."""
        for k, s in enumerate(self._slots):
            if not s.held():
                del s.maps[:-1]  # older mappings nobody views any more
                return k, None
        if len(self._slots) >= MAX_SHM_SLOTS:
            if not self._warned_full:
                self._warned_full = True
                warnings.warn(
                    f"townlet_env: views of the last {MAX_SHM_SLOTS} results are all still held, so replies go through the pipe "
                    "until one is released; copy the arrays you keep (np.array(r.obs)) to stay on shared memory",
                    RuntimeWarning,
                    stacklevel=4,
                )
            return None, None
        fd, path = tempfile.mkstemp(prefix="townlet-", dir=self._shm_dir)
        self._slots.append(_Slot(fd))
        return len(self._slots) - 1, path

    def _shm_failed(self, why: str) -> None:
        """The engine could not use a slot: the pipe from now on."""
        self._shm_dir = None
        self.transport = "pipe"
        self.transport_reason = f"shared memory failed ({why}): every reply travels through the pipe"
        for s in self._slots:
            try:
                os.close(s.fd)
            except OSError:
                pass
        self._slots = []
        warnings.warn(f"townlet_env: {self.transport_reason}", RuntimeWarning, stacklevel=4)

    def request(self, header: dict, arrays=(), timeout=None, shm: bool = False):
        """Sends one request; returns (reply header, {name: numpy view}). shm=True (reset, step):
        the reply's arrays may come through a shared-memory slot."""
        if self._broken is not None:
            raise type(self._broken)(f"the bridge is unusable after an earlier error: {self._broken}")
        if self._closed:
            raise EngineDied("the env is closed")
        deadline = time.monotonic() + (self.timeout if timeout is None else float(timeout))
        self._next_id += 1
        rid = self._next_id
        slot, path = self._pick_slot() if shm and self._shm_dir else (None, None)
        if slot is not None:
            header = dict(header, shm=slot)
            if path is not None:
                header["shm_path"] = path
        try:
            self._write(encode_frame(dict(header, id=rid), arrays), deadline)
            reply, views = self.read_frame(deadline, slot)
        finally:
            if path is not None:
                # The engine opened it (or failed): unlink now, so that nothing is left behind even on SIGKILL.
                try:
                    os.unlink(path)
                except OSError:
                    pass
        if path is not None and reply.get("shm") != slot and self._slots:
            # The engine did not open the new file (a refused request, or it failed): forget it.
            os.close(self._slots.pop().fd)
        if reply.get("type") == "error":
            if reply.get("fatal"):
                self._died("reported a fatal error: " + str(reply.get("message")))
                self._broken = ProtocolError(str(reply.get("message")))
                raise self._broken
            raise EngineError(str(reply.get("message")))
        if reply.get("id") != rid or reply.get("type") != header["type"]:
            self.kill()
            self._broken = ProtocolError(f"malformed reply: expected {header['type']!r} #{rid}, got {reply.get('type')!r} #{reply.get('id')!r}")
            raise self._broken
        if "shm_error" in reply:
            self._shm_failed(str(reply["shm_error"]))
        return reply, views

    # -- shutdown -----------------------------------------------------------------------------
    def close(self, timeout: float = 5.0) -> None:
        if self._closed:
            return
        if self._broken is None and self.proc.poll() is None:
            try:
                self.request({"type": "close"}, timeout=timeout)
            except Exception:
                pass
        self._closed = True
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        self.kill()

    def kill(self) -> None:
        """Stops the child at once (SIGKILL) and reaps it."""
        self._closed = True
        if self.proc.poll() is None:
            try:
                self.proc.kill()
            except OSError:
                pass
        try:
            self.proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        for sel in (getattr(self, "_can_read", None), getattr(self, "_can_write", None)):
            try:
                sel.close()
            except Exception:
                pass
        # Mappings stay valid for views the caller holds (mmap keeps its own descriptor).
        for s in getattr(self, "_slots", ()):
            try:
                os.close(s.fd)
            except OSError:
                pass
        self._slots = []
        # The child's stderr file (read for error messages until here).
        stderr = getattr(self, "_stderr", None)
        if stderr is not None:
            try:
                stderr.close()
            except OSError:
                pass
        _LIVE.discard(self)

    def __del__(self):
        try:
            self.kill()
        except Exception:
            pass
