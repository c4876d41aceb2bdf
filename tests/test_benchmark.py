# Copyright 2026 The fisher-rao Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Tests of benchmarks/benchmark.py, the command: a --smoke run, run as a
user runs it (from another directory than the repository's root).

No timing is asserted: the smoke run (every row at tiny sizes, one round,
script runs long enough to differ measurably on a busy machine) only has to
complete and write every row as strict JSON. The run is also the test of
the groups' modules (`*_group.py`, whose rows need a real measurement); the
modules' helpers have their own tests (test_bench_*.py,
test_gradient_*.py).
"""

import json
import math
import os
import subprocess
import sys

import tensorflow as tf

SCRIPT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "benchmarks",
    "benchmark.py",
)
ROW_KEYS = {"name", "configuration", "seconds", "ratio", "target", "met"}
METHODS = ("forward", "central", "exact")


def expected_row_names():
    """Every row of a full run, as the benchmark's specification lists them."""
    names = []
    for group, size in (
        ("train_step", "default"),
        ("train_step", "mnist"),
        ("keras_step", "mnist"),
    ):
        names.append(f"{group}/{size}/unregularized")
        for norm in ("fr", "fre"):
            names += [f"{group}/{size}/{norm}/{method}" for method in METHODS]
            names.append(f"{group}/{size}/{norm}/exact_over_forward")
    names.append("keras_step/mnist/unregularized_over_graph")
    names.append("value/jacobian")
    names += [f"value/fr/{method}" for method in METHODS]
    names.append("gradient_error/reference_check")
    for dtype in ("float64", "float32"):
        for norm in ("fr", "fre"):
            names += [
                f"gradient_error/{dtype}/{norm}/{method}" for method in METHODS
            ]
    names += [
        "script/original_design",
        "script/fr",
        "script/None",
        "script/fr_over_None",
    ]
    return names


def _reject_constant(token):
    raise ValueError(f"non-standard JSON token {token}")


def _run_benchmark(directory, *arguments):
    """Runs the command in `directory`, as a user would from anywhere."""
    environment = dict(
        os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2"
    )
    return subprocess.run(
        [sys.executable, SCRIPT, *arguments],
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


class SmokeRunTest(tf.test.TestCase):
    def test_smoke_run_writes_every_row_as_strict_json(self):
        directory = self.create_tempdir().full_path
        completed = _run_benchmark(directory, "--smoke", "--json=rows.json")
        path = os.path.join(directory, "rows.json")
        self.assertEqual(completed.returncode, 0, completed.stderr[-3000:])
        with open(path) as rows_file:
            data = json.load(rows_file, parse_constant=_reject_constant)
        self.assertEqual(data["mode"], "smoke")
        for key in ("nproc", "cpu_model", "tensorflow", "date", "command"):
            self.assertIn(key, data["machine"])
        rows = data["rows"]
        self.assertEqual([row["name"] for row in rows], expected_row_names())
        for row in rows:
            self.assertEqual(set(row), ROW_KEYS, row["name"])
            self.assertIsInstance(row["configuration"], str)
            self.assertTrue(row["configuration"], row["name"])
            ratio = row["ratio"]
            self.assertIsInstance(ratio, float, row["name"])
            self.assertTrue(math.isfinite(ratio), row["name"])
            if row["name"].startswith("gradient_error/"):
                # A relative error: exactly 0 is possible, negative is not.
                self.assertGreaterEqual(ratio, 0.0, row["name"])
                self.assertIsNone(row["seconds"], row["name"])
            else:
                self.assertGreater(ratio, 0.0, row["name"])
                self.assertGreater(row["seconds"], 0.0, row["name"])
                self.assertTrue(math.isfinite(row["seconds"]), row["name"])
            if row["target"] is not None:
                operator, bound = row["target"].split(" ")
                self.assertIn(operator, ("<=", ">="))
                self.assertGreater(float(bound), 0.0)
            # A smoke run's numbers mean nothing: no target is judged.
            self.assertIsNone(row["met"], row["name"])
        # The Markdown table: two header lines and one line per row.
        table = [
            line
            for line in completed.stdout.splitlines()
            if line.startswith("| ")
        ]
        self.assertEqual(
            table[0],
            "| name | configuration | seconds | ratio | target | met |",
        )
        self.assertLen(table, 2 + len(rows))

    def test_existing_json_file_is_refused_before_any_work(self):
        directory = self.create_tempdir().full_path
        path = os.path.join(directory, "taken.json")
        with open(path, "w") as taken:
            taken.write("keep me")
        completed = _run_benchmark(directory, "--smoke", f"--json={path}")
        self.assertEqual(completed.returncode, 1)
        self.assertIn("--json must name a new file", completed.stderr)
        self.assertNotIn("Traceback", completed.stderr)
        with open(path) as taken:
            self.assertEqual(taken.read(), "keep me")


if __name__ == "__main__":
    tf.test.main()
