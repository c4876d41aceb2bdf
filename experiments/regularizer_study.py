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
r"""Study: does Fisher-Rao regularization help? (command line)

  python3 experiments/regularizer_study.py --output_dir=/tmp/regularizer
  python3 experiments/regularizer_study.py --setting=synthetic \
      --output_dir=/tmp/regularizer_synthetic
  python3 experiments/regularizer_study.py --smoke --output_dir=/tmp/smoke

`--setting=digits` (the default): digits with label noise 0, 0.2 and 0.4.
`--setting=synthetic`: the synthetic report's task (300 training examples,
SGD at 0.01, 20000 steps) with a validation split of 100.

Every invocation first trains the runs of the grid without a complete
results file in <output_dir>/runs, on the sweep (a repeated command trains
nothing new, but retries runs that failed or diverged), then rewrites the
analysis in <output_dir>: summary.json (strict JSON), tables.md and the
figures. --analysis_only skips the training (no TensorFlow, no Dask).

The study itself (arms, settings, selection, comparisons, tables, figures)
is fisher_rao_experiments.studies.regularizer.
"""

import os
import sys

import matplotlib.pyplot as plt
from absl import app, flags, logging

from fisher_rao_experiments.studies import regularizer, study_runs

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Defines the flags on `flag_values`; on FLAGS only as a script."""
    flags.DEFINE_enum(
        "setting",
        "digits",
        tuple(regularizer.SETTINGS),
        "digits: digits with label noise 0, 0.2 and 0.4; synthetic: the "
        "synthetic report's task with a validation split.",
        flag_values=flag_values,
    )
    study_runs.define_flags(
        flag_values,
        regularizer.DEFAULT_OUTPUT_DIR,
        "Run a tiny version (one noise level, 3 seeds, a few hundred steps) "
        "end to end, to try the command.",
    )


def _fail(message):
    """Exits with status 1 and one line, without a traceback."""
    sys.exit(f"regularizer_study.py: error: {message}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    plt.switch_backend("agg")
    settings = (
        regularizer.SMOKE_SETTINGS if FLAGS.smoke else regularizer.SETTINGS
    )
    setting = settings[FLAGS.setting]
    output_dir = os.path.abspath(FLAGS.output_dir)
    runs_dir = os.path.join(output_dir, regularizer.RUNS_SUBDIRECTORY)
    status = study_runs.train_grid_from_flags(
        [point for _, point in setting.labelled_points()],
        runs_dir,
        FLAGS,
        "regularizer_study.py",
    )
    if status:
        return status
    summary = regularizer.analyse(setting, output_dir, FLAGS.smoke)
    if not summary["runs_used"]:
        _fail(
            f"no usable run of the grid in {runs_dir}; see "
            f"{regularizer.SUMMARY_FILE}."
        )
    logging.info(
        "%d runs used, %d left out, %d comparisons; wrote %s",
        len(summary["runs_used"]),
        len(summary["runs_left_out"]),
        len(summary["comparisons"]),
        output_dir,
    )
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
