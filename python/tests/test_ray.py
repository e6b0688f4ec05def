"""RayVectorEnv on a local Ray cluster (ray.init(num_cpus=2)): the same rows and arrays as
VectorEnv (one actor: equal to VectorEnv; two actors: each actor's rows equal a VectorEnv of its
towns and derived seed, merged by the row contract through leaves and joins), reproducible
seeds, and a clear error naming the actor that died. Skipped, with the reason, only where ray is
not importable (.ci/run installs it with pip)."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import unittest
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from townlet_env import ActorDied, RayVectorEnv, VectorEnv, derive_seed  # noqa: E402
from townlet_env.ray_env import split_towns  # noqa: E402

HAVE_ENGINE = shutil.which("node") is not None and (ROOT / "bin" / "townlet.mjs").is_file() and (ROOT / "node_modules").is_dir()
HAVE_RAY = importlib.util.find_spec("ray") is not None
MANY = str(ROOT / "configs" / "many-towns.yaml")


def setUpModule():
    if HAVE_RAY and HAVE_ENGINE:
        import ray

        if not ray.is_initialized():
            ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR")  # never a cluster `ray start` left running


def tearDownModule():
    if HAVE_RAY:
        import ray

        if ray.is_initialized():
            ray.shutdown()


def masked(rng: np.random.Generator, masks: np.ndarray) -> np.ndarray:
    if masks.shape[0] == 0:
        return np.zeros(0, np.int32)
    return (rng.random(masks.shape) * masks).argmax(axis=1).astype(np.int32)


class SeedAndSliceTest(unittest.TestCase):
    """Pure functions (no Ray, no engine)."""

    def test_actor_zero_keeps_the_root_seed_and_others_differ_in_range(self):
        self.assertEqual(derive_seed(123, 0), 123)
        seeds = [derive_seed(123, k) for k in range(64)]
        self.assertEqual(len(set(seeds)), 64)
        self.assertTrue(all(0 <= s < 2**53 for s in seeds))
        self.assertEqual(seeds, [derive_seed(123, k) for k in range(64)])
        self.assertNotEqual(derive_seed(124, 1), derive_seed(123, 1))

    def test_towns_split_evenly_in_order(self):
        self.assertEqual(split_towns(10, 3), [(0, 4), (4, 3), (7, 3)])
        self.assertEqual(split_towns(2, 2), [(0, 1), (1, 1)])
        for t, k in [(1000, 7), (5, 5), (9, 1)]:
            sl = split_towns(t, k)
            self.assertEqual(sum(n for _, n in sl), t)
            self.assertLessEqual(max(n for _, n in sl) - min(n for _, n in sl), 1)

    def test_bad_arguments_are_refused_before_anything_starts(self):
        if not HAVE_RAY:
            self.skipTest(f"ray is not importable by {sys.executable}")
        for kw in [dict(actors=0), dict(actors=True), dict(actors=1.5), dict(workers_per_actor=0), dict(workers_per_actor="2"), dict(overrides=[1])]:
            with self.subTest(**{k: repr(v) for k, v in kw.items()}), self.assertRaises(ValueError):
                RayVectorEnv(**kw)
        with self.assertRaises(ValueError) as cm:
            RayVectorEnv(actors=3, overrides={"world.towns": 2})
        self.assertIn("actors=3 but the world has 2 town(s)", str(cm.exception))


@unittest.skipUnless(HAVE_ENGINE, "node and a built Townlet checkout are needed")
@unittest.skipUnless(HAVE_RAY, f"ray is not importable by {sys.executable} (pip install ray)")
class RayVectorEnvTest(unittest.TestCase):
    def test_one_actor_equals_vector_env(self):
        with RayVectorEnv(actors=1, max_cycles=40) as renv, VectorEnv(max_cycles=40) as venv:
            r, v = renv.reset(seed=5), venv.reset(seed=5)
            rng = np.random.default_rng(2)
            while True:
                self.assertEqual(r.ids, [f"0/{x}" for x in v.ids])
                for name in ("obs", "masks", "rewards", "terminated", "truncated"):
                    a, b = getattr(r, name), getattr(v, name)
                    self.assertEqual(a.dtype, b.dtype, name)
                    np.testing.assert_array_equal(a, b, name)
                for name in ("agents", "uids", "taken", "invalid"):
                    np.testing.assert_array_equal(r.extra[name], v.extra[name], name)
                for name in ("tick", "cycles", "joined", "done", "invalid_total"):
                    self.assertEqual(r.extra[name], v.extra[name], name)
                self.assertFalse(r.obs.flags.writeable)
                if venv.done:
                    self.assertTrue(renv.done)
                    break
                acts = masked(rng, v.masks)
                r, v = renv.step(acts), venv.step(acts)

    def test_two_actors_each_equal_a_vector_env_of_their_towns_through_leaves_and_joins(self):
        # 40 towns of 8 over 300 ticks: agents leave and replacements join (asserted below).
        towns, cycles, root = 40, 300, 11
        over = {"world.towns": towns, "world.agents_per_town": 8}
        with RayVectorEnv(config=MANY, actors=2, overrides=over, max_cycles=cycles) as renv:
            self.assertEqual(renv.slices, [(0, 20), (20, 20)])
            refs = [VectorEnv(config=MANY, overrides=dict(over, **{"world.towns": n}), max_cycles=cycles) for _, n in renv.slices]
            try:
                r = renv.reset(seed=root)
                loc = [e.reset(seed=derive_seed(root, k)) for k, e in enumerate(refs)]
                rng = np.random.default_rng(0)
                left = joined = 0
                while True:
                    owner = r.extra["actor"]
                    self.assertEqual(len(r.ids), len(set(r.ids)))
                    for k, l in enumerate(loc):
                        rows = np.flatnonzero(owner == k)
                        self.assertEqual([r.ids[i] for i in rows], [f"{k}/{x}" for x in l.ids])
                        for name in ("obs", "masks", "rewards", "terminated", "truncated"):
                            np.testing.assert_array_equal(getattr(r, name)[rows], getattr(l, name), f"actor {k} {name}")
                        for name in ("uids", "taken", "invalid"):
                            np.testing.assert_array_equal(r.extra[name][rows], l.extra[name], f"actor {k} {name}")
                        for local, info in l.infos.items():
                            got = dict(r.infos[int(rows[local])])
                            want = dict(info, **({"replaces": f"{k}/{info['replaces']}"} if "replaces" in info else {}))
                            self.assertEqual(got, want)
                    self.assertEqual(sum(len(l.infos) for l in loc), len(r.infos))
                    if renv.done:
                        self.assertTrue(all(e.done for e in refs))
                        break
                    prev_live = [x for x, d in zip(r.ids, (r.terminated | r.truncated).tolist()) if not d]
                    acts = masked(rng, r.masks)
                    local_acts = [acts[owner == k] for k in range(2)]
                    r = renv.step(acts)
                    loc = [e.step(a) for e, a in zip(refs, local_acts)]
                    # VectorEnv's row contract across actors: live rows first, in order, then the joined ones.
                    self.assertEqual(r.ids[: len(prev_live)], prev_live)
                    self.assertEqual(r.extra["joined"], len(r.ids) - len(prev_live))
                    self.assertTrue(all(r.infos.get(i, {}).get("joined") for i in range(len(prev_live), len(r.ids))))
                    left += int(r.terminated.sum())
                    joined += r.extra["joined"]
                self.assertGreater(left, 0, "no agent left: the test exercised no row removal")
                self.assertGreater(joined, 0, "no agent joined: the test exercised no joins")
                self.assertNotEqual(hashlib.sha256(loc[0].obs.tobytes()).hexdigest(), hashlib.sha256(loc[1].obs.tobytes()).hexdigest())
            finally:
                for e in refs:
                    e.close()

    def test_same_root_seed_same_run_and_no_seed_follows_the_config(self):
        def run(env, seed, ticks=15):
            h = hashlib.sha256()
            r = env.reset(seed=seed)
            rng = np.random.default_rng(1)
            for _ in range(ticks):
                h.update(r.obs.tobytes())
                h.update(r.rewards.tobytes())
                r = env.step(masked(rng, r.masks))
            return h.hexdigest()

        with RayVectorEnv(config=MANY, actors=2, overrides={"world.towns": 4}, max_cycles=50) as env:
            a, b = run(env, 21), run(env, 21)
            self.assertEqual(a, b)
            self.assertNotEqual(run(env, 22), a)
            # Without a seed: the config's seed first (7 in many-towns.yaml), then the previous + 1.
            env2_first = run(env, None)
            self.assertEqual(env.seed, 23)  # previous root 22, + 1
            self.assertEqual(env2_first, run(env, 23))
        with RayVectorEnv(config=MANY, actors=2, overrides={"world.towns": 4}, max_cycles=50) as env:
            env.reset()
            self.assertEqual(env.seed, 7)

    def test_bad_input_is_refused_like_vector_env(self):
        with RayVectorEnv(actors=1, max_cycles=10) as env:
            r = env.reset(seed=1)
            with self.assertRaises(ValueError):
                env.reset(seed=1.5)
            with self.assertRaises(ValueError):
                env.step(np.zeros(len(r.ids) + 5, np.int32))
            r = env.step(np.full(len(r.ids), 1.7))  # not cast: each row's action is invalid
            self.assertTrue(np.all(r.extra["invalid"][r.extra["taken"] == 1] != 0))
            self.assertEqual(env.step(np.zeros(len(r.ids), np.int32)).extra["cycles"], 2)

    def test_a_killed_actor_raises_an_error_naming_it(self):
        import ray

        env = RayVectorEnv(config=MANY, actors=2, overrides={"world.towns": 4}, max_cycles=50)
        try:
            r = env.reset(seed=1)
            r = env.step(np.zeros(len(r.ids), np.int32))
            ray.kill(env._handles[1])
            with self.assertRaises(ActorDied) as cm:
                for _ in range(10):
                    r = env.step(np.zeros(len(r.ids), np.int32))
            msg = str(cm.exception)
            self.assertIn("Ray actor 1 of 2 (towns 2-3", msg)
            self.assertIn("died during step", msg)
            with self.assertRaises(ActorDied) as cm:
                env.step(np.zeros(len(r.ids), np.int32))
            self.assertIn("unusable after an earlier error", str(cm.exception))
        finally:
            env.close()

    def test_a_dead_engine_raises_an_error_naming_its_actor(self):
        env = RayVectorEnv(config=MANY, actors=2, overrides={"world.towns": 4}, max_cycles=50)
        try:
            r = env.reset(seed=1)
            engine = env._where[0]["engine_pid"]
            os.kill(engine, signal.SIGKILL)
            with self.assertRaises(ActorDied) as cm:
                env.step(np.zeros(len(r.ids), np.int32))
            msg = str(cm.exception)
            self.assertIn(f"Ray actor 0 of 2 (towns 0-1, node", msg)
            self.assertIn(f"engine pid {engine}", msg)
            self.assertIn("the Townlet engine", msg)
        finally:
            env.close()

    def test_workers_per_actor_reaches_the_engine_and_gives_the_same_run(self):
        # Each actor's world in 2 blocks (world.shards): 2 worker threads run them; same replies as 1.
        def run(w):
            with RayVectorEnv(config=MANY, actors=1, overrides={"world.towns": 4, "world.shards": 2}, max_cycles=20, workers_per_actor=w, actor_options={"num_cpus": 1}) as env:
                r = env.reset(seed=3)
                for _ in range(10):
                    r = env.step(np.zeros(len(r.ids), np.int32))
                return r.obs.tobytes(), list(r.ids)

        self.assertEqual(run(2), run(1))

    def test_more_workers_per_actor_than_blocks_are_capped_once_in_the_driver(self):
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always")
            env = RayVectorEnv(config=MANY, actors=1, overrides={"world.towns": 4, "world.shards": 2}, max_cycles=5, workers_per_actor=3, actor_options={"num_cpus": 1})
        with env:
            self.assertEqual((env.workers, env.blocks), (2, 2))
            self.assertEqual(len(env.reset(seed=1).ids), 32)
        notes = [str(w.message) for w in got if issubclass(w.category, UserWarning)]
        self.assertEqual(notes, ["townlet_env: RayVectorEnv actors: --workers 3: capped at 2: the world has 2 blocks"])

    def test_more_cpus_than_the_cluster_has_is_refused(self):
        with self.assertRaises(ValueError) as cm:
            RayVectorEnv(config=MANY, actors=3, overrides={"world.towns": 4}, max_cycles=20)
        self.assertIn("need 3 CPUs; the Ray cluster has 2", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
