"""Bridge tests; run with `python3 -m pytest python/tests` or `python3 -m unittest discover -s python/tests -t python`."""
from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import unittest
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from townlet_env import (  # noqa: E402
    PROTOCOL_VERSION,
    BridgeTimeout,
    EngineDied,
    EngineError,
    EngineProcess,
    ParallelEnv,
    ProtocolError,
    VectorEnv,
)

HAVE_ENGINE = shutil.which("node") is not None and (ROOT / "bin" / "townlet.mjs").is_file() and (ROOT / "node_modules").is_dir()
needs_engine = unittest.skipUnless(HAVE_ENGINE, "node and a built Townlet checkout are needed")


def masked_actions(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    """A uniform random allowed action per row (0 where none is allowed)."""
    if masks.shape[0] == 0:
        return np.zeros(0, np.int32)
    scores = rng.random(masks.shape) * masks
    return scores.argmax(axis=1).astype(np.int32)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def fake_engine(body: str) -> list:
    """A command running a Python script in place of the engine."""
    return [sys.executable, "-c", textwrap.dedent(body)]


HELLO_THEN = """
import sys, json, struct
def frame(h):
    b = json.dumps(h).encode()
    return struct.pack('<II', 4 + len(b), len(b)) + b
def read():
    p = sys.stdin.buffer.read(8)
    n, h = struct.unpack('<II', p)
    return sys.stdin.buffer.read(n - 4)
read()
sys.stdout.buffer.write(frame({'v': %(v)d, 'type': 'hello', 'id': 1, 'config_id': 'x', 'config_hash': 'x', 'engine_version': 'x', 'max_cycles': 5,
    'spaces': {'observation': {'shape': [2], 'features': 2, 'map': [0, 0, 0]}, 'action_mask': {'shape': [2]}, 'action': {'n': 2}}}))
sys.stdout.buffer.flush()
read()
""".replace("%(v)d", str(PROTOCOL_VERSION))


@needs_engine
class ParallelApiTest(unittest.TestCase):
    """A port of PettingZoo's parallel_api_test checks."""

    def test_parallel_api(self):
        with ParallelEnv(max_cycles=40) as env:
            self.assertIs(env.unwrapped, env)
            self.assertEqual(str(env), "townlet_v1")
            # The real test starts with reset(seed=0, options={"options": 1}) and needs it to work.
            with self.assertWarns(UserWarning):
                env.reset(seed=0, options={"options": 1})
            obs, infos = env.reset(seed=3)
            self.assertIsInstance(obs, dict)
            self.assertIsInstance(infos, dict)
            self.assertEqual(set(obs), set(env.agents))
            self.assertEqual(set(infos), set(env.agents))
            self.assertTrue(set(env.agents) <= set(env.possible_agents))
            a0 = env.agents[0]
            self.assertIs(env.observation_space(a0), env.observation_space(a0))
            self.assertIs(env.action_space(a0), env.action_space(a0))
            for a, o in obs.items():
                self.assertEqual(set(o), {"observation", "action_mask"})
                self.assertTrue(env.observation_space(a).contains(o), a)
                self.assertEqual(o["observation"].dtype, np.float32)
                self.assertEqual(o["action_mask"].dtype, np.int8)  # gymnasium: Discrete.sample(mask=) wants int8
            rng = np.random.default_rng(0)
            gone = set()
            steps = 0
            while env.agents:
                acts = {a: int(env.action_space(a).start + masked_actions(rng, obs[a]["action_mask"][None])[0]) for a in env.agents}
                for a, v in acts.items():
                    self.assertTrue(env.action_space(a).contains(v))
                prev = set(env.agents)
                obs, rew, term, trunc, infos = env.step(acts)
                steps += 1
                keys = set(obs)
                self.assertTrue(prev <= keys)
                for d in (rew, term, trunc, infos):
                    self.assertEqual(set(d), keys)
                self.assertFalse(keys & gone, "an agent that was done came back")
                for a in keys:
                    self.assertIn(a, env.possible_agents)
                    self.assertIsInstance(rew[a], float)
                    self.assertIsInstance(term[a], bool)
                    self.assertIsInstance(trunc[a], bool)
                    self.assertTrue(env.observation_space(a).contains(obs[a]))
                    if term[a] or trunc[a]:
                        gone.add(a)
                        self.assertNotIn(a, env.agents)
                    else:
                        self.assertIn(a, env.agents)
                    if term[a]:
                        self.assertIn("exit_reason", infos[a])
            self.assertEqual(steps, 40)
            self.assertEqual(env.agents, [])
            with self.assertRaises(RuntimeError):
                env.step({})
            with self.assertRaises(KeyError):
                env.observation_space("nobody")

    def test_bad_actions_and_options(self):
        with ParallelEnv(max_cycles=10) as env:
            obs, _ = env.reset(seed=1)
            with self.assertRaises(ValueError):
                env.step({})  # missing agents
            acts = {a: 0 for a in env.agents}
            with self.assertRaises(ValueError):
                env.step(dict(acts, nobody=0))
            obs, rew, term, trunc, infos = env.step(dict(acts, **{env.agents[0]: 99}))
            self.assertTrue(infos[env.agents[0]]["invalid_action"] or not infos[env.agents[0]]["action_taken"])
            with self.assertWarns(UserWarning):
                env.reset(seed=1, options={"bogus": 1})  # ignored, as PettingZoo's api test needs
            with self.assertRaises(EngineError):
                env.vector.reset(seed=1, options={"bogus": 1})  # the batch form refuses them
            with self.assertRaises(ValueError):
                env.reset(seed=-1)  # refused before it is sent (test_bad_input.py: the engine refuses it too)
            env.reset(seed=2)  # still usable


def run_hash(env: ParallelEnv, seed: int, steps: int) -> str:
    h = hashlib.sha256()
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        # Draws from global generators in between, as seed_test does, to catch code that uses them.
        random.random()
        np.random.random()
        if not env.agents:
            break
        acts = {a: int(masked_actions(rng, obs[a]["action_mask"][None])[0]) for a in env.agents}
        obs, rew, term, trunc, _ = env.step(acts)
        for a in sorted(obs):
            h.update(a.encode())
            h.update(obs[a]["observation"].tobytes())
            h.update(obs[a]["action_mask"].tobytes())
            h.update(np.float32(rew[a]).tobytes())
            h.update(bytes([term[a], trunc[a]]))
    return h.hexdigest()


@needs_engine
class SeedTest(unittest.TestCase):
    def test_same_seed_same_hashes(self):
        with ParallelEnv(max_cycles=300) as e1, ParallelEnv(max_cycles=300) as e2:
            h1 = run_hash(e1, 7, 200)
            h2 = run_hash(e2, 7, 200)
            self.assertEqual(h1, h2)
            # reset(seed) hygiene: a used env reset to a seed equals a fresh one.
            run_hash(e1, 11, 30)
            self.assertEqual(run_hash(e1, 7, 200), h1)
            self.assertNotEqual(run_hash(e2, 8, 50), run_hash(e1, 7, 50))


@needs_engine
class BatchEqualsDictTest(unittest.TestCase):
    def test_batch_equals_dict(self):
        with VectorEnv(max_cycles=60) as v, ParallelEnv(max_cycles=60) as p:
            r = v.reset(seed=5)
            obs, _ = p.reset(seed=5)
            rng = np.random.default_rng(1)
            while True:
                self.assertEqual(list(obs), r.ids)
                for i, a in enumerate(r.ids):
                    np.testing.assert_array_equal(obs[a]["observation"], r.obs[i])
                    np.testing.assert_array_equal(obs[a]["action_mask"], r.masks[i])
                if v.done:
                    self.assertEqual(p.agents, [])
                    break
                acts = masked_actions(rng, r.masks)
                live = ~(r.terminated | r.truncated)
                dacts = {a: int(acts[i]) for i, a in enumerate(r.ids) if live[i]}
                r = v.step(acts)
                obs, rew, term, trunc, infos = p.step(dacts)
                for i, a in enumerate(r.ids):
                    self.assertEqual(rew[a], float(r.rewards[i]))
                    self.assertEqual(term[a], bool(r.terminated[i]))
                    self.assertEqual(trunc[a], bool(r.truncated[i]))

    def test_shm_equals_pipe(self):
        before = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
        with VectorEnv(max_cycles=40, shm=False) as a, VectorEnv(max_cycles=40) as b:
            self.assertEqual(a.transport, "pipe")
            if sys.platform.startswith("linux") and os.access("/dev/shm", os.W_OK):
                self.assertEqual(b.transport, "shm", b.transport_reason)
            ra, rb = a.reset(seed=9), b.reset(seed=9)
            rng = np.random.default_rng(3)
            while True:
                self.assertEqual(ra.ids, rb.ids)
                for name in ("obs", "masks", "rewards", "terminated", "truncated"):
                    np.testing.assert_array_equal(getattr(ra, name), getattr(rb, name))
                self.assertEqual(ra.infos, rb.infos)
                if a.done:
                    self.assertTrue(b.done)
                    break
                acts = masked_actions(rng, ra.masks)
                ra, rb = a.step(acts), b.step(acts)
            after = set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()
            self.assertEqual({f for f in after - before if f.startswith("townlet-")}, set())

    def test_held_results_stay_valid(self):
        # A shared-memory file is reused only once no view of it is left: results you keep stay
        # as they were, on either transport; past MAX_SHM_SLOTS held, replies use the pipe.
        from townlet_env.client import MAX_SHM_SLOTS

        for shm in (None, False):
            with self.subTest(shm=shm), VectorEnv(max_cycles=60, shm=shm) as v:
                r = v.reset(seed=2)
                kept, copies = [r], [r.obs.copy()]
                rng = np.random.default_rng(0)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    for _ in range(MAX_SHM_SLOTS + 4):
                        r = v.step(masked_actions(rng, r.masks))
                        kept.append(r)
                        copies.append(r.obs.copy())
                for k, c in zip(kept, copies):
                    np.testing.assert_array_equal(k.obs, c)
                    self.assertFalse(k.obs.flags.writeable)
                if v.transport == "shm":
                    self.assertEqual(len(v.engine._slots), MAX_SHM_SLOTS)
                    self.assertTrue(any("still held" in str(w.message) for w in caught))
                    del kept, copies, k, c, caught
                    for _ in range(4):
                        r = v.step(masked_actions(rng, r.masks))
                    self.assertEqual(len(v.engine._slots), MAX_SHM_SLOTS)  # reused, not grown

    def test_shm_failure_falls_back_to_the_pipe(self):
        with VectorEnv(max_cycles=10) as v:
            if v.transport != "shm":
                self.skipTest(v.transport_reason)
            from townlet_env.client import _Slot

            def bad_path():
                # A slot whose file the engine cannot open (as if /dev/shm were full or gone).
                v.engine._slots.append(_Slot(os.open(os.devnull, os.O_RDONLY)))
                return len(v.engine._slots) - 1, "/nonexistent-townlet-dir/slot"

            v.engine._pick_slot = bad_path
            with self.assertWarns(RuntimeWarning):
                r = v.reset(seed=1)
            self.assertEqual(v.transport, "pipe")
            self.assertIn("shared memory failed", v.transport_reason)
            self.assertEqual(r.obs.shape, (len(r.ids), v.observation_size))
            r = v.step(np.zeros(len(r.ids), np.int32))
            self.assertEqual(r.extra["cycles"], 1)

    def test_ids_follow_leaves_and_joins(self):
        # After a step only the joined rows' ids travel: the rebuilt list must stay tied to uids.
        cfg = str(ROOT / "configs" / "many-towns.yaml")
        with VectorEnv(config=cfg, overrides={"world.towns": 40, "world.agents_per_town": 8}, max_cycles=300) as v:
            r = v.reset(seed=1)
            rng = np.random.default_rng(0)
            by_uid, joined, left = {}, 0, 0
            while True:
                uids = r.extra["uids"].tolist()
                self.assertEqual(len(set(r.ids)), len(r.ids))
                for uid, aid in zip(uids, r.ids):
                    self.assertEqual(by_uid.setdefault(uid, aid), aid)
                if v.done:
                    break
                r = v.step(masked_actions(rng, r.masks))
                joined += r.extra["joined"]
                left += int(r.terminated.sum())
            self.assertGreater(left, 0, "no agent left: the test exercised nothing")

    def test_zero_copy_views(self):
        with VectorEnv(max_cycles=5) as v:
            r = v.reset(seed=1)
            self.assertFalse(r.obs.flags.owndata)
            self.assertFalse(r.obs.flags.writeable)
            self.assertIsNotNone(r.obs.base)
            self.assertEqual(r.obs.shape, (len(r.ids), v.observation_size))
            self.assertEqual(r.masks.shape, (len(r.ids), v.action_count))
            with self.assertRaises(ValueError):
                v.step(np.zeros(len(r.ids) + 1, np.int32))  # wrong count: refused, session goes on
            r2 = v.step(np.zeros(len(r.ids), np.int32))
            self.assertEqual(r2.extra["cycles"], 1)


@needs_engine
class ProcessTest(unittest.TestCase):
    def test_clean_close(self):
        v = VectorEnv(max_cycles=5)
        v.reset()
        pid = v.engine.pid
        v.close()
        self.assertEqual(v.engine.proc.returncode, 0)
        self.assertFalse(alive(pid))

    def test_kill_mid_step(self):
        v = VectorEnv(timeout=10.0, overrides={"world.towns": 20})
        r = v.reset(seed=1)
        pid = v.engine.pid
        threading.Timer(0.3, v.engine.proc.kill).start()
        t0 = time.monotonic()
        with self.assertRaises(EngineDied) as cm:
            for _ in range(100000):
                r = v.step(np.zeros(len(r.ids), np.int32))
        self.assertLess(time.monotonic() - t0, 10.0)
        self.assertIn("engine", str(cm.exception))
        self.assertFalse(alive(pid))
        with self.assertRaises(EngineDied):
            v.step(np.zeros(len(r.ids), np.int32))
        v.close()

    def test_parent_gone_child_exits(self):
        # The engine stops when its stdin closes (the Python parent died): no orphans.
        v = VectorEnv(max_cycles=5)
        v.engine.proc.stdin.close()
        self.assertEqual(v.engine.proc.wait(timeout=10), 0)
        v.close()

    def test_bad_config_reports(self):
        with self.assertRaises((ProtocolError, EngineDied)) as cm:
            VectorEnv(overrides={"world.towns": "many"})
        self.assertIn("towns", str(cm.exception))

    def test_malformed_frame_to_engine(self):
        e = EngineProcess(max_cycles=5)
        os.set_blocking(e._in, True)
        os.write(e._in, b"\xff\xff\xff\x7f\x00\x00\x00\x00")
        with self.assertRaises(ProtocolError) as cm:
            h, _ = e.read_frame(time.monotonic() + 10)
            self.assertEqual(h["type"], "error")
            raise ProtocolError(h["message"])
        self.assertIn("malformed frame", str(cm.exception))
        self.assertEqual(e.proc.wait(timeout=10), 2)
        e.kill()

    def test_bad_json_to_engine(self):
        e = EngineProcess(max_cycles=5)
        os.set_blocking(e._in, True)
        os.write(e._in, b"\x07\x00\x00\x00\x03\x00\x00\x00{x}")
        h, _ = e.read_frame(time.monotonic() + 10)
        self.assertEqual(h["type"], "error")
        self.assertIn("not JSON", h["message"])
        self.assertEqual(e.proc.wait(timeout=10), 2)
        e.kill()


class ShmChoiceTest(unittest.TestCase):
    """Which transport VectorEnv takes, and why (no engine needed)."""

    def test_choice(self):
        from unittest import mock

        from townlet_env.client import shm_folder

        self.assertEqual(shm_folder(False), (None, "shm=False: every reply travels through the pipe"))
        with mock.patch("os.access", return_value=False):
            where, why = shm_folder(None)
            self.assertIsNone(where)
            self.assertIn("no writable /dev/shm", why)
            self.assertIn("pipe", why)
            where, why = shm_folder(True)
            self.assertEqual(where, __import__("tempfile").gettempdir())
        if sys.platform.startswith("linux") and os.access("/dev/shm", os.W_OK):
            self.assertEqual(shm_folder(None)[0], "/dev/shm")


class FakeEngineTest(unittest.TestCase):
    """Malformed frames and silence from the engine's side (a Python script plays the engine)."""

    def test_garbage_from_engine(self):
        cmd = fake_engine("import sys; sys.stdin.buffer.read(8); sys.stdout.buffer.write(b'\\x02\\x00\\x00\\x00garbage'); sys.stdout.buffer.flush(); sys.stdin.buffer.read()")
        with self.assertRaises(ProtocolError) as cm:
            EngineProcess(command=cmd, startup_timeout=10)
        self.assertIn("malformed frame from the engine", str(cm.exception))

    def test_bad_header_from_engine(self):
        cmd = fake_engine("import sys; sys.stdin.buffer.read(8); sys.stdout.buffer.write(b'\\x07\\x00\\x00\\x00\\x03\\x00\\x00\\x00{x}'); sys.stdout.buffer.flush(); sys.stdin.buffer.read()")
        with self.assertRaises(ProtocolError) as cm:
            EngineProcess(command=cmd, startup_timeout=10)
        self.assertIn("not JSON", str(cm.exception))

    def test_version_mismatch(self):
        old = HELLO_THEN.replace(f"'v': {PROTOCOL_VERSION},", "'v': 1,")
        with self.assertRaises(ProtocolError) as cm:
            EngineProcess(command=fake_engine(old), startup_timeout=10)
        self.assertIn(f"protocol version mismatch: this package (townlet_env) speaks {PROTOCOL_VERSION}, the engine 1", str(cm.exception))

    def test_timeout(self):
        e = EngineProcess(command=fake_engine(HELLO_THEN + "\nimport time; time.sleep(60)\n"), timeout=1.0, startup_timeout=10)
        pid = e.pid
        t0 = time.monotonic()
        with self.assertRaises(BridgeTimeout):
            e.request({"type": "reset"})
        self.assertLess(time.monotonic() - t0, 5.0)
        self.assertFalse(alive(pid))

    def test_engine_exits(self):
        e = EngineProcess(command=fake_engine(HELLO_THEN + "\nsys.stderr.write('boom\\n')\n"), timeout=10.0, startup_timeout=10)
        with self.assertRaises(EngineDied) as cm:
            e.request({"type": "reset"})
        self.assertIn("boom", str(cm.exception))
        self.assertFalse(alive(e.pid))


if __name__ == "__main__":
    unittest.main()
