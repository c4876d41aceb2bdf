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
"""Tests of bench_harness: targets, rows and interleaved timing.

No timing is asserted: only the order of the calls and the arithmetic.
"""

import tensorflow as tf

from fisher_rao_experiments.benchmark import bench_harness


class TargetTest(tf.test.TestCase):
    def test_meets_target(self):
        self.assertTrue(bench_harness.meets_target(1.9, "<= 1.9"))
        self.assertFalse(bench_harness.meets_target(1.91, "<= 1.9"))
        self.assertTrue(bench_harness.meets_target(10.0, ">= 10"))
        self.assertFalse(bench_harness.meets_target(9.99, ">= 10"))

    def test_malformed_target_is_refused(self):
        with self.assertRaisesRegex(ValueError, "'<= x' or '>= x'"):
            bench_harness.meets_target(1.0, "< 2")

    def test_make_row_judges_only_when_asked_and_targeted(self):
        self.assertFalse(
            bench_harness.make_row("a", "c", 1.0, 2.5, "<= 2").met
        )
        self.assertIsNone(
            bench_harness.make_row("a", "c", 1.0, 2.5, "<= 2", judge=False).met
        )
        self.assertIsNone(bench_harness.make_row("a", "c", 1.0, 2.5).met)


class TimingTest(tf.test.TestCase):
    def test_rounds_interleave_configurations_after_one_warm_up(self):
        calls = []
        configurations = [
            bench_harness.Timed(label, lambda label=label: calls.append(label))
            for label in ("a", "b", "c")
        ]
        seconds = bench_harness.time_interleaved("test", configurations, 3)
        self.assertEqual(calls, ["a", "b", "c"] * 4)
        self.assertEqual(sorted(seconds), ["a", "b", "c"])
        for measurements in seconds.values():
            self.assertLen(measurements, 3)
            self.assertTrue(all(value >= 0 for value in measurements))

    def test_per_unit(self):
        self.assertAllClose(bench_harness.per_unit([9.0, 1.0], 10), [0.9, 0.1])

    def test_median_ratio_pairs_measurements_of_the_same_round(self):
        # Round 2 is slow for both: its ratio is still 2.
        numerators, denominators = [2.0, 20.0, 3.0], [1.0, 10.0, 1.0]
        self.assertEqual(
            bench_harness.median_ratio(numerators, denominators), 2.0
        )


if __name__ == "__main__":
    tf.test.main()
