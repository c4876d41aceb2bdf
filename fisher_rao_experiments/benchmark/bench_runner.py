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
"""Runs the benchmark's groups in order and collects their rows."""

import gc
import os
import time

import tensorflow as tf
from absl import logging

from fisher_rao_experiments.benchmark import (
    bench_report,
    gradient_error_group,
    keras_step_group,
    script_group,
    train_step_group,
    value_group,
)

# Each group's rows, by the group's name, in the order they run.
GROUPS = {
    "train_step": train_step_group.train_step_rows,
    "keras_step": keras_step_group.keras_step_rows,
    "value": value_group.value_rows,
    "gradient_error": gradient_error_group.gradient_error_rows,
    "script": script_group.script_rows,
}


def run_groups(settings, groups):
    """Runs the named groups in GROUPS' order; returns all their rows.

    Args:
      settings: A `bench_settings.Settings`.
      groups: Names of groups (keys of GROUPS).
    """
    selected = [group for group in GROUPS if group in groups]
    rows = []
    for index, group in enumerate(selected):
        logging.info("Group %d/%d: %s", index + 1, len(selected), group)
        rows += GROUPS[group](settings)
        # A group's graphs and models are garbage once it returns. Collected
        # now, they take a fraction of a second; left to a collection the
        # interpreter starts later, the Keras group's stalled the script
        # group for 15 s.
        gc.collect()
    return rows


def run(settings, groups):
    """Runs the groups on this machine; returns `(machine, rows)`.

    Sizes TensorFlow's eager thread pools by `settings.num_threads` (the
    Keras steps run in the eager context, not in a session), then completes
    `bench_report.machine_description()` with the load at the end and the
    run's seconds.
    """
    if settings.num_threads:
        tf.config.threading.set_intra_op_parallelism_threads(
            settings.num_threads
        )
        tf.config.threading.set_inter_op_parallelism_threads(
            settings.num_threads
        )
    machine = bench_report.machine_description()
    start = time.perf_counter()
    rows = run_groups(settings, groups)
    machine["load_average_at_end"] = list(os.getloadavg())
    machine["seconds"] = round(time.perf_counter() - start, 1)
    return machine, rows
