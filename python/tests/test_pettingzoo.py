"""PettingZoo's own checks (pettingzoo.test.parallel_api_test, parallel_seed_test) on
townlet_env.ParallelEnv with gymnasium's real spaces, warnings as errors; skipped, with the reason,
only where pettingzoo or gymnasium is not importable (.ci/run installs both with pip)."""
from __future__ import annotations

import gc
import importlib.util
import os
import shutil
import sys
import unittest
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from townlet_env import ParallelEnv  # noqa: E402
from townlet_env import parallel as _parallel  # noqa: E402
from townlet_env import spaces as _spaces  # noqa: E402

HAVE_ENGINE = shutil.which("node") is not None and (ROOT / "bin" / "townlet.mjs").is_file() and (ROOT / "node_modules").is_dir()
HAVE_PZ = importlib.util.find_spec("pettingzoo") is not None and importlib.util.find_spec("gymnasium") is not None
WHY_NO_PZ = f"pettingzoo and gymnasium are not importable by {sys.executable} (pip install 'pettingzoo>=1.24' 'gymnasium>=0.29')"
OPTIONS_WARNING = "townlet_v1 defines no reset options"


def strict_warnings() -> None:
    """Inside warnings.catch_warnings(): every warning is an error except the one documented
    UserWarning (parallel_api_test resets with options={"options": 1}, which ParallelEnv ignores)."""
    warnings.simplefilter("error")
    warnings.filterwarnings("ignore", message=OPTIONS_WARNING, category=UserWarning)


@unittest.skipUnless(HAVE_ENGINE, "node and a built Townlet checkout are needed")
@unittest.skipUnless(HAVE_PZ, WHY_NO_PZ)
class RealPettingZooTest(unittest.TestCase):
    def test_env_uses_the_real_base_class_and_spaces(self):
        import gymnasium
        import pettingzoo

        self.assertTrue(_parallel.HAVE_PETTINGZOO and _spaces.HAVE_GYMNASIUM)
        with ParallelEnv(max_cycles=5) as env:
            self.assertIsInstance(env, pettingzoo.ParallelEnv)
            obs, _ = env.reset(seed=1)
            a = env.agents[0]
            space = env.observation_space(a)
            self.assertIsInstance(space, gymnasium.spaces.Dict)
            self.assertIsInstance(env.action_space(a), gymnasium.spaces.Discrete)
            self.assertEqual(space["action_mask"].dtype, np.int8)
            self.assertIn(obs[a], space)
            # The mask a real Discrete.sample accepts, and a sample it draws is allowed by it.
            mask = obs[a]["action_mask"]
            self.assertEqual(mask.dtype, np.int8)
            for _ in range(20):
                self.assertEqual(mask[env.action_space(a).sample(mask=mask)], 1)

    def test_mask_is_a_zero_copy_view_of_the_wire_bytes(self):
        with ParallelEnv(max_cycles=5) as env:
            obs, _ = env.reset(seed=2)
            masks = env.vector.last.masks
            self.assertEqual(masks.dtype, np.uint8)  # the wire and VectorEnv keep uint8
            for i, a in enumerate(env.vector.last.ids):
                m = obs[a]["action_mask"]
                self.assertTrue(np.shares_memory(m, masks))
                np.testing.assert_array_equal(m, masks[i])

    def test_parallel_api_test_passes(self):
        from pettingzoo.test import parallel_api_test

        with warnings.catch_warnings():
            strict_warnings()
            env = ParallelEnv(max_cycles=60)
            try:
                parallel_api_test(env, num_cycles=60)
            finally:
                env.close()
            del env
            gc.collect()

    def test_parallel_seed_test_passes(self):
        from pettingzoo.test import parallel_seed_test

        with warnings.catch_warnings():
            strict_warnings()
            parallel_seed_test(lambda: ParallelEnv(max_cycles=60), num_cycles=60)
            gc.collect()

    def test_both_checks_pass_on_a_sharded_world_with_two_worker_threads(self):
        from pettingzoo.test import parallel_api_test, parallel_seed_test

        # 4 towns of 4 agents in 2 blocks on 2 threads (issue #14: the real checks with any N).
        kw = dict(config=str(ROOT / "configs" / "many-towns.yaml"), overrides={"world.towns": 4, "world.agents_per_town": 4, "world.shards": 2}, max_cycles=40, workers=2)
        with warnings.catch_warnings():
            strict_warnings()
            env = ParallelEnv(**kw)
            try:
                self.assertEqual((env.vector.workers, env.vector.blocks), (2, 2))
                parallel_api_test(env, num_cycles=40)
            finally:
                env.close()
            del env
            parallel_seed_test(lambda: ParallelEnv(**kw), num_cycles=40)
            gc.collect()

    def test_close_leaves_no_open_file(self):
        # ResourceWarning is raised from finalizers, where "error" cannot turn it into an
        # exception: record every warning instead and look for it.
        fds = lambda: set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else set()  # noqa: E731
        before = fds()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for shm in (None, False):
                env = ParallelEnv(max_cycles=5, shm=shm)
                obs, _ = env.reset(seed=1)
                obs, *_ = env.step({a: 0 for a in env.agents})
                env.close()
                del env, obs
                gc.collect()
        leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
        self.assertEqual(leaks, [])
        self.assertEqual(fds() - before, set(), "descriptors left open after close()")


if __name__ == "__main__":
    unittest.main()
