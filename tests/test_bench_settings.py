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
"""Tests of bench_settings: the sizes and the modes' settings."""

import tensorflow as tf

from fisher_rao_experiments.benchmark import bench_settings


class SettingsTest(tf.test.TestCase):
    def test_sizes(self):
        size = bench_settings.MNIST_SIZE
        self.assertEqual(size.layer_dims(), [784, 512, 512, 10])
        self.assertEqual(size.describe(), "batch 1024, 784-512-512-10")
        # The training script's default: 10 inputs, four ReLU layers of 10.
        self.assertEqual(
            bench_settings.DEFAULT_SIZE.describe(),
            "batch 64, 10-10-10-10-10-2",
        )

    def test_settings_for_each_mode(self):
        for mode, settings in bench_settings.MODES.items():
            self.assertEqual(bench_settings.settings_for(mode), settings)
        self.assertFalse(bench_settings.settings_for("smoke").judge_targets)
        self.assertTrue(bench_settings.settings_for("quick").judge_targets)

    def test_repeats_and_threads_override_the_mode(self):
        settings = bench_settings.settings_for("quick", 7, 2)
        self.assertEqual(settings.repeats, 7)
        self.assertEqual(settings.num_threads, 2)
        self.assertEqual(
            settings.script_steps,
            bench_settings.QUICK_SETTINGS.script_steps,
        )
        self.assertEqual(
            bench_settings.settings_for("full", None, None).repeats,
            bench_settings.FULL_SETTINGS.repeats,
        )

    def test_unknown_mode_is_refused(self):
        with self.assertRaises(KeyError):
            bench_settings.settings_for("slow")


if __name__ == "__main__":
    tf.test.main()
