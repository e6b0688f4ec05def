"""VectorEnv on a sharded world with worker threads (`serve --stdio --workers N`, issue #14 item 1):
the replies do not depend on the number of threads."""
from __future__ import annotations

import shutil
import sys
import unittest
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from townlet_env import VectorEnv  # noqa: E402

HAVE_ENGINE = shutil.which("node") is not None and (ROOT / "bin" / "townlet.mjs").is_file() and (ROOT / "node_modules").is_dir()
MANY = str(ROOT / "configs" / "many-towns.yaml")
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
        with self.assertRaises(ValueError):
            VectorEnv(config=MANY, overrides=OVERRIDES, workers=0)


if __name__ == "__main__":
    unittest.main()
