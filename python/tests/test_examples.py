"""The code shown to users: every Python block of docs/python.md compiles and names the package's
real API (the RLlib block included, though ray is not installed to run it); the PPO example
(python/examples/ppo_vector.py) runs a few updates where torch is importable."""
from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

import townlet_env  # noqa: E402

DOCS = ROOT / "docs" / "python.md"
PPO = ROOT / "python" / "examples" / "ppo_vector.py"
HAVE_ENGINE = shutil.which("node") is not None and (ROOT / "bin" / "townlet.mjs").is_file() and (ROOT / "node_modules").is_dir()
HAVE_TORCH = importlib.util.find_spec("torch") is not None
HAVE_RAY = importlib.util.find_spec("ray") is not None


def python_blocks() -> list:
    """[(heading, code)] for every ```python block of docs/python.md, with the heading above it."""
    out, heading = [], ""
    text = DOCS.read_text(encoding="utf-8")
    for m in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```", text, re.M | re.S):
        if m.group(1):
            heading = m.group(1).lstrip("#").strip()
        else:
            out.append((heading, m.group(2)))
    return out


class DocsCodeTest(unittest.TestCase):
    def test_every_python_block_compiles(self):
        blocks = python_blocks()
        self.assertGreaterEqual(len(blocks), 3)
        for i, (heading, code) in enumerate(blocks):
            with self.subTest(block=i, heading=heading):
                compile(code, f"docs/python.md block {i} ({heading})", "exec")

    def test_rllib_block_is_there(self):
        rllib = [code for heading, code in python_blocks() if heading.startswith("RLlib")]
        self.assertTrue(rllib, "docs/python.md has no Python block under an RLlib heading")
        self.assertIn("ParallelPettingZooEnv", rllib[0])
        self.assertIn("ParallelEnv(", rllib[0])

    def test_blocks_name_the_real_api(self):
        ctors = {"ParallelEnv": townlet_env.ParallelEnv, "VectorEnv": townlet_env.VectorEnv, "RayVectorEnv": townlet_env.RayVectorEnv}
        for i, (heading, code) in enumerate(python_blocks()):
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "townlet_env":
                    for alias in node.names:
                        with self.subTest(block=i, name=alias.name):
                            self.assertTrue(hasattr(townlet_env, alias.name), f"{heading}: townlet_env has no {alias.name}")
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ctors:
                    params = inspect.signature(ctors[node.func.id]).parameters
                    for kw in node.keywords:
                        with self.subTest(block=i, call=node.func.id, keyword=kw.arg):
                            self.assertIn(kw.arg, params, f"{heading}: {node.func.id}() takes no {kw.arg}=")


@unittest.skipUnless(HAVE_ENGINE, "node and a built Townlet checkout are needed")
@unittest.skipUnless(HAVE_TORCH, f"torch is not importable by {sys.executable} (pip install torch; .ci/run installs it)")
class PpoExampleTest(unittest.TestCase):
    def test_runs_a_few_updates(self):
        # Tiny settings: 3 updates of 16 ticks; an episode of 20 ticks ends during the second.
        args = ["--total-updates", "3", "--num-steps", "16", "--max-cycles", "20", "--update-epochs", "2", "--num-minibatches", "2", "--hidden", "32"]
        p = subprocess.run([sys.executable, str(PPO), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("update")]
        self.assertEqual(len(lines), 3, p.stdout)
        self.assertIn("episode 1: return/agent", p.stdout)
        self.assertNotIn("nan", p.stdout.lower())

    @unittest.skipUnless(HAVE_RAY, f"ray is not importable by {sys.executable} (pip install ray)")
    def test_trains_through_ray_actors(self):
        # Two actors of one town each (a local Ray cluster the script starts), 2 updates.
        args = ["--ray-actors", "2", "--towns", "2", "--total-updates", "2", "--num-steps", "16", "--max-cycles", "20", "--update-epochs", "1", "--num-minibatches", "2", "--hidden", "32"]
        p = subprocess.run([sys.executable, str(PPO), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:])
        self.assertIn("24 agents", p.stdout)  # 2 towns of 12
        self.assertIn("transport ray:", p.stdout)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("update")]
        self.assertEqual(len(lines), 2, p.stdout)
        self.assertIn("episode 1: return/agent", p.stdout)
        self.assertNotIn("nan", p.stdout.lower())

    def test_help_lists_every_hyperparameter_with_its_description(self):
        p = subprocess.run([sys.executable, str(PPO), "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("--gae-lambda", p.stdout)
        self.assertIn("GAE lambda", p.stdout)
        self.assertIn("PPO ratio clip", p.stdout)


if __name__ == "__main__":
    unittest.main()
