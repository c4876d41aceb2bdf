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
"""Tests of bench_runner: which groups run, and in which order."""

from unittest import mock

import tensorflow as tf

from fisher_rao_experiments.benchmark import (
    bench_harness,
    bench_runner,
    bench_settings,
)


class RunGroupsTest(tf.test.TestCase):
    def test_groups(self):
        self.assertEqual(
            list(bench_runner.GROUPS),
            ["train_step", "keras_step", "value", "gradient_error", "script"],
        )

    def test_selected_groups_run_in_their_order_once_each(self):
        calls = []

        def fake_group(name):
            def rows(settings):
                calls.append((name, settings))
                return [bench_harness.make_row(f"{name}/row", name, 1.0, 1.0)]

            return rows

        fakes = {name: fake_group(name) for name in ("a", "b", "c")}
        settings = bench_settings.SMOKE_SETTINGS
        with mock.patch.dict(bench_runner.GROUPS, fakes, clear=True):
            rows = bench_runner.run_groups(settings, ["c", "a"])
        self.assertEqual([row.name for row in rows], ["a/row", "c/row"])
        self.assertEqual(calls, [("a", settings), ("c", settings)])


if __name__ == "__main__":
    tf.test.main()
