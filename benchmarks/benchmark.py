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
"""Benchmarks of the Fisher-Rao regularizers and of the training.

Five groups of rows, measured in one run on one machine: train_step,
keras_step, value, gradient_error and script (the modules of
`fisher_rao_experiments.benchmark`; docs/benchmarks.md says what each row
measures and its target). Prints the machine and a Markdown table and, with
`--json`, writes the rows as strict JSON:

  python3 benchmarks/benchmark.py [--quick | --smoke] [--json=PATH]

oneDNN is off (TF_ENABLE_ONEDNN_OPTS=0, the default that importing
`fisher_rao_experiments` sets before TensorFlow starts), so that the
training is measured as it runs and every row alike;
TF_ENABLE_ONEDNN_OPTS=1 measures every row with it.
"""

import os

from absl import app, flags, logging

from fisher_rao_experiments.benchmark import (
    bench_report,
    bench_runner,
    bench_settings,
)

FLAGS = flags.FLAGS

flags.DEFINE_bool(
    "quick",
    False,
    "Fewer rounds and steps: a meaningful run of under two minutes.",
)
flags.DEFINE_bool(
    "smoke",
    False,
    "Tiny sizes and one round, for the test suite: checks that every row "
    "runs; its numbers mean nothing and no target is judged (met is null).",
)
flags.DEFINE_string(
    "json",
    None,
    "If given, also write the rows as strict JSON to this new .json file "
    "(an existing file is never overwritten).",
)
flags.DEFINE_integer(
    "repeats",
    None,
    f"Timed rounds per group (default "
    f"{bench_settings.FULL_SETTINGS.repeats}; "
    f"{bench_settings.QUICK_SETTINGS.repeats} with --quick, "
    f"{bench_settings.SMOKE_SETTINGS.repeats} with --smoke).",
    lower_bound=1,
)
flags.DEFINE_integer(
    "num_threads",
    None,
    "Size of TensorFlow's intra- and inter-op thread pools in every session "
    "and for the Keras steps (default: TensorFlow's choice).",
    lower_bound=1,
)
flags.DEFINE_multi_enum(
    "groups",
    list(bench_runner.GROUPS),
    list(bench_runner.GROUPS),
    "Groups of rows to run, all by default.",
)
flags.mark_bool_flags_as_mutual_exclusive(["quick", "smoke"])
flags.register_validator(
    "json",
    lambda path: (
        path is None or (path.endswith(".json") and not os.path.exists(path))
    ),
    message="--json must name a new file ending in .json (results files are "
    "never overwritten).",
)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    mode = "smoke" if FLAGS.smoke else "quick" if FLAGS.quick else "full"
    settings = bench_settings.settings_for(
        mode, FLAGS.repeats, FLAGS.num_threads
    )
    machine, rows = bench_runner.run(settings, FLAGS.groups)
    print(bench_report.summary(machine, mode, settings.repeats))
    print(bench_report.markdown_table(rows))
    if FLAGS.json:
        logging.info(
            "Rows written to %s",
            bench_report.write_rows(FLAGS.json, machine, mode, rows),
        )
    missed = [row.name for row in rows if row.met is False]
    if missed:
        logging.warning("Targets not met: %s", ", ".join(missed))


if __name__ == "__main__":
    app.run(main)
