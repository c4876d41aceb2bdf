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
"""Tests of benchmarks/benchmark.py: its helpers, and a --quick run.

No timing is asserted: the quick run only has to complete and write every
row as strict JSON.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import tensorflow as tf

from benchmarks import benchmark

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join("benchmarks", "benchmark.py")
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


def _run_benchmark(*arguments):
    environment = dict(
        os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2"
    )
    return subprocess.run(
        [sys.executable, SCRIPT, *arguments],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


class SmokeRunTest(tf.test.TestCase):
    def test_quick_run_writes_every_row_as_strict_json(self):
        # Issue 6: the benchmark runs in --quick mode in the test suite.
        path = os.path.join(self.get_temp_dir(), "rows.json")
        completed = _run_benchmark("--quick", f"--json={path}")
        self.assertEqual(completed.returncode, 0, completed.stderr[-3000:])
        with open(path) as rows_file:
            data = json.load(rows_file, parse_constant=_reject_constant)
        self.assertEqual(data["mode"], "quick")
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
            # Judged where there is a target; no timing is asserted.
            if row["target"] is None:
                self.assertIsNone(row["met"], row["name"])
            else:
                self.assertIsInstance(row["met"], bool, row["name"])
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
        path = os.path.join(self.get_temp_dir(), "taken.json")
        with open(path, "w") as taken:
            taken.write("keep me")
        completed = _run_benchmark("--smoke", f"--json={path}")
        self.assertEqual(completed.returncode, 1)
        self.assertIn("--json must name a new file", completed.stderr)
        self.assertNotIn("Traceback", completed.stderr)
        with open(path) as taken:
            self.assertEqual(taken.read(), "keep me")


class TargetAndTableTest(tf.test.TestCase):
    def test_meets_target(self):
        self.assertTrue(benchmark.meets_target(1.9, "<= 1.9"))
        self.assertFalse(benchmark.meets_target(1.91, "<= 1.9"))
        self.assertTrue(benchmark.meets_target(10.0, ">= 10"))
        self.assertFalse(benchmark.meets_target(9.99, ">= 10"))

    def test_malformed_target_is_refused(self):
        with self.assertRaisesRegex(ValueError, "'<= x' or '>= x'"):
            benchmark.meets_target(1.0, "< 2")

    def test_make_row_judges_only_when_asked_and_targeted(self):
        self.assertFalse(benchmark.make_row("a", "c", 1.0, 2.5, "<= 2").met)
        self.assertIsNone(
            benchmark.make_row("a", "c", 1.0, 2.5, "<= 2", judge=False).met
        )
        self.assertIsNone(benchmark.make_row("a", "c", 1.0, 2.5).met)

    def test_markdown_table_lines(self):
        rows = [
            benchmark.make_row("x/y", "what", 0.00123456, 1.9004, "<= 1.9"),
            benchmark.make_row("x/z", "error", None, 3e-7),
            benchmark.make_row("x/w", "speedup", 0.5, 1579.07, ">= 10"),
        ]
        self.assertEqual(
            benchmark.markdown_table(rows).splitlines(),
            [
                "| name | configuration | seconds | ratio | target | met |",
                "| --- | --- | --- | --- | --- | --- |",
                # Four digits for ratios, kept: 1.9004 must not print as 1.9.
                "| x/y | what | 0.00123 | 1.900 | <= 1.9 | **no** |",
                "| x/z | error | - | 3.000e-07 | - | - |",
                "| x/w | speedup | 0.5 | 1579 | >= 10 | yes |",
            ],
        )


class TimingTest(tf.test.TestCase):
    def test_rounds_interleave_configurations_after_one_warm_up(self):
        calls = []
        configurations = [
            benchmark.Timed(label, lambda label=label: calls.append(label))
            for label in ("a", "b", "c")
        ]
        seconds = benchmark.time_interleaved("test", configurations, 3)
        self.assertEqual(calls, ["a", "b", "c"] * 4)
        self.assertEqual(sorted(seconds), ["a", "b", "c"])
        for measurements in seconds.values():
            self.assertLen(measurements, 3)
            self.assertTrue(all(value >= 0 for value in measurements))

    def test_per_unit(self):
        self.assertAllClose(benchmark.per_unit([9.0, 1.0], 10), [0.9, 0.1])

    def test_median_ratio_pairs_measurements_of_the_same_round(self):
        # Round 2 is slow for both: its ratio is still 2.
        numerators, denominators = [2.0, 20.0, 3.0], [1.0, 10.0, 1.0]
        self.assertEqual(benchmark.median_ratio(numerators, denominators), 2.0)

    def test_relative_error_over_several_arrays(self):
        references = [np.array([3.0, 0.0]), np.array([[4.0]])]
        values = [np.array([3.0, 1.0], np.float32), np.array([[4.0]])]
        # ||(0, 1, 0)|| / ||(3, 0, 4)|| = 1 / 5.
        self.assertAllClose(benchmark.relative_error(values, references), 0.2)


class ReferenceTest(tf.test.TestCase):
    """The gradient-accuracy reference against finite differences."""

    def setUp(self):
        super().setUp()
        size = benchmark.MlpSize(
            "tiny", batch=6, inputs=4, width=5, relu_layers=2, classes=3
        )
        self.parameters = benchmark.initial_parameters(size, seed=3)
        self.inputs, self.labels = benchmark.synthetic_batch(size, seed=3)

    def _log_probs(self, parameters, scale=1.0):
        scaled = [
            (scale * kernel, scale * bias) for kernel, bias in parameters
        ]
        return tf.nn.log_softmax(
            benchmark.mlp_logits(
                tf.constant(self.inputs),
                [tuple(map(tf.constant, pair)) for pair in scaled],
            )
        )

    def _finite_difference_derivative(self, step=1e-6):
        """Central difference of log softmax in e, theta -> (1 + e) theta."""
        return (
            self._log_probs(self.parameters, 1 + step)
            - self._log_probs(self.parameters, 1 - step)
        ) / (2 * step)

    def test_hand_written_derivative_matches_finite_difference(self):
        parameters = [
            tuple(map(tf.constant, pair)) for pair in self.parameters
        ]
        log_probs, derivative = benchmark.tangent_log_prob_derivative(
            tf.constant(self.inputs), parameters
        )
        self.assertAllClose(log_probs, self._log_probs(self.parameters))
        self.assertAllClose(
            derivative,
            self._finite_difference_derivative(),
            rtol=1e-6,
            atol=1e-8,
        )

    def test_jacobian_derivative_matches_finite_difference(self):
        parameters = [
            tuple(map(tf.constant, pair)) for pair in self.parameters
        ]
        _, derivative = benchmark.jacobian_log_prob_derivative(
            tf.constant(self.inputs), parameters
        )
        self.assertAllClose(
            derivative,
            self._finite_difference_derivative(),
            rtol=1e-6,
            atol=1e-8,
        )

    def _reference_value(self, norm, parameters):
        log_probs, derivative = benchmark.tangent_log_prob_derivative(
            tf.constant(self.inputs),
            [tuple(map(tf.constant, pair)) for pair in parameters],
        )
        return float(
            benchmark.regularizer_from_derivative(
                norm, log_probs, derivative, tf.constant(self.labels)
            )
        )

    def test_reference_gradient_matches_finite_difference(self):
        step = 1e-6
        for norm in ("fr", "fre"):
            parameters = [
                tuple(map(tf.Variable, pair)) for pair in self.parameters
            ]
            with tf.GradientTape() as tape:
                log_probs, derivative = benchmark.tangent_log_prob_derivative(
                    tf.constant(self.inputs), parameters
                )
                value = benchmark.regularizer_from_derivative(
                    norm, log_probs, derivative, tf.constant(self.labels)
                )
            # d value / d (first kernel's entry [1, 2]) and (last bias [0]).
            kernel_gradient, bias_gradient = tape.gradient(
                value, [parameters[0][0], parameters[-1][1]]
            )
            for layer, which, index, gradient in (
                (0, 0, (1, 2), kernel_gradient[1, 2]),
                (-1, 1, (0,), bias_gradient[0]),
            ):
                plus = [list(map(np.copy, pair)) for pair in self.parameters]
                minus = [list(map(np.copy, pair)) for pair in self.parameters]
                plus[layer][which][index] += step
                minus[layer][which][index] -= step
                expected = (
                    self._reference_value(norm, plus)
                    - self._reference_value(norm, minus)
                ) / (2 * step)
                self.assertAllClose(gradient, expected, rtol=1e-5, atol=1e-9)

    def test_switching_units(self):
        # Scaling a bias-free net by s > 0 scales layer l by s^l: no unit
        # changes sign.
        bias_free = [(kernel, 0 * bias) for kernel, bias in self.parameters]
        self.assertEqual(
            benchmark.switching_units(bias_free, self.inputs, (1.0, 1.5)), 0
        )
        # Two one-unit ReLU layers, kernels 1, biases 0 then -1: at scale s
        # the second pre-activation is s^2 x - s; for x = 1.2 it is 0.2 (on)
        # at s = 1, -0.2 (off) at s = 0.5, 2.8 (on) at s = 2. The first layer
        # (s x) never switches.
        one_unit = [
            (np.ones((1, 1)), np.zeros(1)),
            (np.ones((1, 1)), -np.ones(1)),
            (np.ones((1, 1)), np.zeros(1)),
        ]
        self.assertEqual(
            benchmark.switching_units(one_unit, np.array([[1.2]]), (1.0, 0.5)),
            1,
        )
        self.assertEqual(
            benchmark.switching_units(one_unit, np.array([[1.2]]), (1.0, 2.0)),
            0,
        )

    def test_standard_and_empirical_norms_from_the_derivative(self):
        log_probs = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
        derivative = np.array([[2.0, -1.0], [0.5, 3.0]])
        labels = np.array([[0.0, 1.0], [1.0, 0.0]])
        # standard: mean(0.25*4 + 0.75*1, 0.5*0.25 + 0.5*9) = 3.1875.
        self.assertAllClose(
            benchmark.regularizer_from_derivative(
                "fr", log_probs, derivative, labels
            ),
            3.1875,
        )
        # empirical: mean((-1)^2, 0.5^2) = 0.625.
        self.assertAllClose(
            benchmark.regularizer_from_derivative(
                "fre", log_probs, derivative, labels
            ),
            0.625,
        )


if __name__ == "__main__":
    tf.test.main()
