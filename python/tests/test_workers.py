"""VectorEnv on a sharded world with worker threads (`serve --stdio --workers N`, issue #14 item 1):
the replies do not depend on the number of threads."""
from __future__ import annotations

import json
import shutil
import sys
import unittest
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from townlet_env import EngineError, ParallelEnv, RayVectorEnv, VectorEnv, find_engine_command  # noqa: E402

HAVE_ENGINE = shutil.which("node") is not None and (ROOT / "bin" / "townlet.mjs").is_file() and (ROOT / "node_modules").is_dir()
MANY = str(ROOT / "configs" / "many-towns.yaml")
CRASH = str(ROOT / "test" / "fixtures" / "crash.ts")
# 4 towns in 2 blocks; agents faint soon and are replaced soon, so rows leave and join.
OVERRIDES = {
    "world.towns": 4,
    "world.agents_per_town": 4,
    "world.shards": 2,
    "lifecycle.faint_hunger": 0.6,
    "lifecycle.respawn_delay_min": 0,
    "lifecycle.respawn_delay_max": 3,
}


def copy(r):
    """The reply's arrays copied (the views of a reply may be reused by later ones), ids and infos."""
    arrays = {name: np.array(getattr(r, name)) for name in ("obs", "masks", "rewards", "terminated", "truncated")}
    arrays.update({name: np.array(r.extra[name]) for name in ("agents", "uids", "taken", "invalid")})
    return arrays, list(r.ids), dict(r.infos), int(r.extra["joined"])


def run(workers, steps=40):
    """Every array and id list of a reset and `steps` steps with fixed pseudo-random actions."""
    out = []
    rng = np.random.default_rng(7)
    with VectorEnv(config=MANY, overrides=OVERRIDES, max_cycles=200, workers=workers) as env:
        r = env.reset(seed=11)
        out.append(copy(r))
        for _ in range(steps):
            r = env.step(rng.integers(-1, env.action_count + 1, size=len(r.ids)).astype(np.int32))
            out.append(copy(r))
    return out


@unittest.skipUnless(HAVE_ENGINE, "node and a built Townlet checkout are needed")
class WorkersVectorEnvTest(unittest.TestCase):
    def test_vector_env_on_two_blocks_gives_the_same_arrays_on_two_threads_as_on_one(self):
        one, two = run(1), run(2)
        self.assertEqual(len(one), len(two))
        for (a, ids_a, infos_a, _), (b, ids_b, infos_b, _) in zip(one, two):
            for name in a:
                np.testing.assert_array_equal(a[name], b[name], err_msg=name)
            self.assertEqual(ids_a, ids_b)
            self.assertEqual(infos_a, infos_b)
        # Both blocks' agents are rows (uids of block 1 start at 2^31), and rows joined on the way.
        self.assertEqual(len(one[0][1]), 16)
        self.assertEqual(sum(1 for i in one[0][1] if int(i.split("_")[1]) >= 2**31), 8)
        # uids are uint32 (protocol 3): every row's uid is the number of its id, those >= 2^31 too.
        for arrays, ids, _, _ in one:
            self.assertEqual(arrays["uids"].dtype, np.uint32)
            self.assertEqual(arrays["uids"].tolist(), [int(i.split("_")[1]) for i in ids])
        self.assertGreater(sum(joined for *_, joined in one[1:]), 0)
        self.assertGreater(float(np.abs(one[-1][0]["obs"]).sum()), 0.0)

    def test_vector_env_refuses_a_bad_worker_count(self):
        for bad in (0, -1, 1.5, 2.0, "2", True, [2]):
            with self.subTest(workers=bad), self.assertRaises(ValueError) as cm:
                VectorEnv(config=MANY, overrides=OVERRIDES, workers=bad)
            self.assertIn("workers must be None or an integer >= 1", str(cm.exception))
        with self.assertRaises(ValueError):
            RayVectorEnv(config=MANY, overrides=OVERRIDES, workers_per_actor=0)

    def test_more_workers_than_blocks_are_capped_and_the_cap_is_stated(self):
        with self.assertWarnsRegex(UserWarning, r"--workers 5: capped at 2: the world has 2 blocks"):
            env = VectorEnv(config=MANY, overrides=OVERRIDES, max_cycles=5, workers=np.int64(5))
        with env:
            self.assertEqual((env.workers, env.blocks), (2, 2))
            self.assertEqual(len(env.reset(seed=1).ids), 16)
        one_block = {k: v for k, v in OVERRIDES.items() if k != "world.shards"}
        with self.assertWarnsRegex(UserWarning, r"--workers 3: capped at 1: this world is one block"):
            env = VectorEnv(config=MANY, overrides=one_block, max_cycles=5, workers=3)
        with env:
            self.assertEqual((env.workers, env.blocks), (1, 1))

    def test_workers_none_is_the_engines_default_and_one_is_one_thread(self):
        # The engine's default: the machine's cores (as Node counts them), capped by the blocks.
        import subprocess

        cores = int(subprocess.run(["node", "-p", "require('os').availableParallelism()"], capture_output=True, text=True, check=True).stdout)
        with VectorEnv(config=MANY, overrides=OVERRIDES, max_cycles=5) as env:
            self.assertEqual((env.workers, env.blocks), (min(cores, 2), 2))
        # An explicit 1 reaches the engine as --workers 1 (before, only N > 1 was passed on).
        with VectorEnv(config=MANY, overrides=OVERRIDES, max_cycles=5, workers=1) as env:
            self.assertEqual((env.workers, env.blocks), (1, 2))
        with ParallelEnv(config=MANY, overrides=OVERRIDES, max_cycles=5) as env:
            self.assertEqual(env.vector.workers, min(cores, 2))

    def test_parallel_env_takes_workers(self):
        with ParallelEnv(config=MANY, overrides=OVERRIDES, max_cycles=5, workers=2) as env:
            obs, _ = env.reset(seed=3)
            self.assertEqual(env.vector.workers, 2)
            self.assertEqual(len(obs), 16)

    def test_a_mod_config_with_plugins_is_served_on_one_thread_and_on_worker_threads(self):
        # serve --stdio loads the config's plugins: (the thirst mod adds a need, so one feature).
        thirst = str(ROOT / "examples" / "mods" / "thirst" / "config.yaml")
        with VectorEnv(max_cycles=3) as plain:
            base = plain.feature_count
        with VectorEnv(config=thirst, max_cycles=3) as env:
            self.assertEqual(env.feature_count, base + 1)
        runs = []
        for w in (1, 2):
            with VectorEnv(config=thirst, overrides={"world.towns": 2, "world.shards": 2}, max_cycles=10, workers=w) as env:
                self.assertEqual((env.workers, env.feature_count), (w, base + 1))
                r = env.reset(seed=4)
                out = [np.array(r.obs)]
                for _ in range(5):
                    r = env.step(np.zeros(len(r.ids), np.int32))
                    out.append(np.array(r.obs))
                runs.append(out)
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b)

    def test_a_worker_that_exits_is_an_error_naming_it_and_the_engine_stays_up(self):
        # TOWNLET_TSX=1: the fixture plug-in is TypeScript (a checkout built to dist/ would run compiled code).
        cmd = ["env", "TOWNLET_TSX=1"] + find_engine_command() + [
            "serve", "--stdio", "--workers", "2", "--plugin", CRASH,
            "--overrides", json.dumps(dict(OVERRIDES, **{"crash.how": "exit", "crash.at_tick": 3, "crash.min_uid": 2**31})),
        ]
        with VectorEnv(command=cmd) as env:
            r = env.reset()
            for _ in range(2):
                r = env.step(np.zeros(len(r.ids), np.int32))
            with self.assertRaises(EngineError) as cm:
                env.step(np.zeros(len(r.ids), np.int32))
            msg = str(cm.exception)
            self.assertEqual(msg, "env worker 1 (block 1, towns 2..3) died during the step to tick 3: it exited with code 3; the env is stopped (make a new one)")
            # The engine process is up and answers every later request with the same error.
            with self.assertRaises(EngineError) as again:
                env.reset()
            self.assertEqual(str(again.exception), msg)
            self.assertIsNone(env.engine.proc.poll())


if __name__ == "__main__":
    unittest.main()
