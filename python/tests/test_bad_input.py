"""Bad input from the Python side: actions that are not whole numbers in int32's range are never
cast silently (VectorEnv and ParallelEnv both send them as invalid actions, which the engine
counts per row), seeds that are not integers are refused, and a step of the wrong length is
refused before it is sent (and by the engine, unbuffered, when a raw client sends one)."""
from __future__ import annotations

import shutil
import sys
import unittest
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from townlet_env import EngineError, ParallelEnv, VectorEnv  # noqa: E402
from townlet_env.vector import INVALID_ACTION, action_array, action_value, check_seed  # noqa: E402

HAVE_ENGINE = shutil.which("node") is not None and (ROOT / "bin" / "townlet.mjs").is_file() and (ROOT / "node_modules").is_dir()
needs_engine = unittest.skipUnless(HAVE_ENGINE, "node and a built Townlet checkout are needed")

BAD = [1.7, 2**32 + 3, float("nan"), float("inf"), -(2**31) - 1, "3", None, 1 + 0j]


class ActionRulesTest(unittest.TestCase):
    """The conversion both envs use (no engine needed)."""

    def test_values_that_are_not_whole_int32_numbers_become_invalid(self):
        for x in BAD:
            with self.subTest(x=x):
                self.assertEqual(action_value(x), INVALID_ACTION)
        for x, v in [(3, 3), (2.0, 2), (np.int64(5), 5), (True, 1), (np.float32(4.0), 4), (-1, -1)]:
            with self.subTest(x=x):
                self.assertEqual(action_value(x), v)

    def test_arrays_of_every_dtype_follow_the_same_rule(self):
        cases = [
            (np.array([1.7, 2.0, np.nan, np.inf, -np.inf, 3e10], np.float64), [INVALID_ACTION, 2, INVALID_ACTION, INVALID_ACTION, INVALID_ACTION, INVALID_ACTION]),
            (np.array([1.5, 6.0], np.float32), [INVALID_ACTION, 6]),
            (np.array([2**32 + 3, 5, -1, 2**31, -(2**31)], np.int64), [INVALID_ACTION, 5, -1, INVALID_ACTION, -(2**31)]),
            (np.array([2**32 + 3, 5], np.uint64), [INVALID_ACTION, 5]),
            (np.array([2**31, 7], np.uint32), [INVALID_ACTION, 7]),
            (np.array([200, 1], np.uint8), [200, 1]),
            (np.array([True, False]), [1, 0]),
            (np.array(["3", 4, 4.5, None], dtype=object), [INVALID_ACTION, 4, INVALID_ACTION, INVALID_ACTION]),
            (np.array(["1", "2"]), [INVALID_ACTION, INVALID_ACTION]),
        ]
        for arr, want in cases:
            with self.subTest(dtype=str(arr.dtype)):
                got = action_array(arr)
                self.assertEqual(got.dtype, np.int32)
                self.assertEqual(got.tolist(), want)
                # The same value by value, as ParallelEnv converts them.
                self.assertEqual([action_value(x) for x in arr.tolist()], want)
        with self.assertRaises(ValueError):
            action_array(np.zeros((2, 2)))

    def test_int32_actions_pass_without_a_copy(self):
        a = np.arange(5, dtype=np.int32)
        self.assertIs(action_array(a), a)

    def test_seeds_must_be_whole_numbers_in_range(self):
        self.assertIsNone(check_seed(None))
        self.assertEqual(check_seed(np.int64(7)), 7)
        self.assertEqual(check_seed(2**53 - 1), 2**53 - 1)
        for s in [1.5, 2.0, -1, True, "1", 2**53, float("nan")]:
            with self.subTest(seed=s), self.assertRaises(ValueError) as cm:
                check_seed(s)
            self.assertIn("seed must be None or an integer in [0, 2^53 - 1]", str(cm.exception))


@needs_engine
class EngineBadInputTest(unittest.TestCase):
    def test_vector_and_parallel_mark_the_same_bad_actions_invalid(self):
        with VectorEnv(max_cycles=10) as v, ParallelEnv(max_cycles=10) as p:
            r = v.reset(seed=4)
            obs, _ = p.reset(seed=4)
            self.assertEqual(list(obs), r.ids)
            bad = [1.7, 2**32 + 3, float("nan")]
            acts = [bad[i] if i < len(bad) else int(np.flatnonzero(r.masks[i])[0]) for i in range(len(r.ids))]
            rv = v.step(np.array(acts, dtype=object))
            obs, rew, term, trunc, infos = p.step(dict(zip(r.ids, acts)))
            inv_v = rv.extra["invalid"]
            taken = rv.extra["taken"]
            self.assertTrue(taken[: len(bad)].any(), "no agent with a bad action chose this tick: the test checked nothing")
            for i, aid in enumerate(rv.ids):
                self.assertEqual(bool(inv_v[i]), infos[aid]["invalid_action"], aid)
                self.assertEqual(float(rv.rewards[i]), rew[aid], aid)
                if i < len(bad):
                    self.assertEqual(bool(inv_v[i]), bool(taken[i]), f"row {i} ({acts[i]!r}) chose but was not counted invalid")
            self.assertEqual(rv.extra["invalid_total"], infos[rv.ids[0]]["invalid_actions"])
            self.assertGreaterEqual(rv.extra["invalid_total"], int(taken[: len(bad)].sum()))

    def test_float_and_int64_arrays_are_not_cast_silently(self):
        with VectorEnv(max_cycles=10) as a, VectorEnv(max_cycles=10) as b:
            ra, rb = a.reset(seed=6), b.reset(seed=6)
            n = len(ra.ids)
            good = np.array([int(np.flatnonzero(ra.masks[i])[-1]) for i in range(n)])
            fa = good.astype(np.float64)
            fa[0] = good[0] + 0.7  # would have been cast to the good action
            ib = good.astype(np.int64)
            ib[0] = (1 << 32) + good[0]  # would have wrapped to the good action
            ra, rb = a.step(fa), b.step(ib)
            self.assertTrue(ra.extra["taken"][0], "row 0 did not choose this tick: the test checked nothing")
            self.assertNotEqual(ra.extra["invalid"][0], 0)
            self.assertNotEqual(rb.extra["invalid"][0], 0)
            np.testing.assert_array_equal(ra.extra["invalid"], rb.extra["invalid"])

    def test_non_integer_seed_is_refused_and_the_session_goes_on(self):
        with VectorEnv(max_cycles=5) as v, ParallelEnv(max_cycles=5) as p:
            for env in (v, p):
                with self.subTest(env=type(env).__name__):
                    with self.assertRaises(ValueError):
                        env.reset(seed=1.5)
                    env.reset(seed=1)
            # A raw client that sends one anyway: the engine refuses it too (non-fatal).
            with self.assertRaises(EngineError) as cm:
                v.engine.request({"type": "reset", "seed": 1.5})
            self.assertIn("seed: expected an integer", str(cm.exception))
            self.assertEqual(v.reset(seed=3).extra["cycles"], 0)

    def test_wrong_length_step_is_refused_before_it_is_sent(self):
        with VectorEnv(max_cycles=5) as v:
            r = v.reset(seed=1)
            sent = []
            real = v.engine.request
            v.engine.request = lambda *a, **k: sent.append(a) or real(*a, **k)
            with self.assertRaises(ValueError) as cm:
                v.step(np.zeros(10_000_000, np.int32))
            self.assertIn(f"expected {len(r.ids)} actions", str(cm.exception))
            self.assertEqual(sent, [])
            self.assertEqual(v.step(np.zeros(len(r.ids), np.int32)).extra["cycles"], 1)

    def test_engine_refuses_a_40mb_wrong_length_request_and_goes_on(self):
        with VectorEnv(max_cycles=5) as v:
            r = v.reset(seed=1)
            with self.assertRaises(EngineError) as cm:
                v.engine.request({"type": "step"}, [("actions", np.zeros(10_000_000, np.int32), "int32")])
            self.assertIn('"step" request refused', str(cm.exception))
            self.assertIn(f"the last result has {len(r.ids)} rows", str(cm.exception))
            self.assertEqual(v.step(np.zeros(len(r.ids), np.int32)).extra["cycles"], 1)


if __name__ == "__main__":
    unittest.main()
