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
r"""Study v3: does Fisher-Rao regularization help a CNN? (command line)

  python3 experiments/regularizer_study.py --output_dir=/tmp/regularizer_v3
  python3 experiments/regularizer_study.py --setting=digits \
      --output_dir=/tmp/regularizer_v3_digits
  python3 experiments/regularizer_study.py --smoke --output_dir=/tmp/smoke

`--setting=mnist1d` (the default, the main result): MNIST-1D with the CNN at
label noise 0, 0.2 and 0.4. `--setting=digits`: v2's digits MLP at the same
noise levels.

Every invocation (1) trains the runs of the selection grid (every arm and
value on the selection seeds) without a complete results file in
<output_dir>/runs, (2) chooses each arm's value on the selection seeds'
validation metrics alone, (3) trains the fresh seeds' runs of the chosen
values, then (4) rewrites the analysis in <output_dir>: summary.json (strict
JSON), tables.md and the figures. A repeated command trains nothing new
(but retries failed or diverged runs): it resumes where it stopped.
--analysis_only skips the training (no TensorFlow, no Dask).

The study itself (arms, settings, families, selection, comparisons) is
fisher_rao_experiments.studies.regularizer; its outputs (summary.json,
tables.md, figures) are written by regularizer_report.
"""

import os
import sys

import matplotlib.pyplot as plt
from absl import app, flags, logging

from fisher_rao_experiments.studies import (
    regularizer,
    regularizer_report,
    study_runs,
)

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Defines the flags on `flag_values`; on FLAGS only as a script."""
    flags.DEFINE_enum(
        "setting",
        "mnist1d",
        tuple(regularizer.SETTINGS),
        "mnist1d: MNIST-1D with the CNN at label noise 0, 0.2 and 0.4 (the "
        "main result); digits: the digits MLP at the same noise levels.",
        flag_values=flag_values,
    )
    study_runs.define_flags(
        flag_values,
        regularizer.DEFAULT_OUTPUT_DIR,
        "Run a tiny version (one noise level, 1 selection and 2 fresh "
        "seeds, one value per arm, 40 steps) end to end: every arm and "
        "metric.",
    )


def _fail(message):
    """Exits with status 1 and one line, without a traceback."""
    sys.exit(f"regularizer_study.py: error: {message}")


def train_study(setting, runs_dir, flag_values):
    """Trains the selection grid, chooses, then trains the fresh seeds.

    The primary family's arms go first (`regularizer.training_phases`):
    the same runs and choices, with the primary answer available earliest.

    Args:
      setting: The `regularizer.Setting`.
      runs_dir: Directory of the results files.
      flag_values: Parsed flags of `define_flags`.

    Returns:
      None to go on to the analysis, or 130 after Ctrl-C.
    """
    if all(len(arm.values) == 1 for arm in setting.arms):
        # Every choice is known before any run (the smoke grid): the fresh
        # seeds are trained in the same sweep, on one cluster.
        chosen = {
            (noise, arm.name): set(arm.values)
            for noise in setting.label_noises
            for arm in setting.arms
        }
        return _train(
            setting.selection_points() + setting.fresh_points(chosen),
            runs_dir,
            flag_values,
        )
    for phase in regularizer.training_phases(setting):
        status = _train(phase.selection_points(), runs_dir, flag_values)
        if status:
            return status
        # The choices read the selection seeds' validation metrics alone;
        # the fresh seeds are trained at the chosen values only.
        selected, _ = regularizer.choose(phase, runs_dir)
        status = _train(
            phase.fresh_points(regularizer.chosen_values(selected)),
            runs_dir,
            flag_values,
        )
        if status:
            return status
    return None


def _train(labelled_points, runs_dir, flag_values):
    """Trains the points of `[(label, point)]` without a results file."""
    return study_runs.train_grid_from_flags(
        [point for _, point in labelled_points],
        runs_dir,
        flag_values,
        "regularizer_study.py",
    )


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
    status = train_study(setting, runs_dir, FLAGS)
    if status:
        return status
    summary = regularizer_report.analyse(
        setting, output_dir, FLAGS.smoke, FLAGS.figures
    )
    if not summary["runs_used"]:
        _fail(
            f"no usable run of the grid in {runs_dir}; see "
            f"{regularizer_report.SUMMARY_FILE}."
        )
    logging.info(
        "%d runs used, %d left out, %d comparisons in %d families; wrote %s",
        len(summary["runs_used"]),
        len(summary["runs_left_out"]),
        sum(len(family["comparisons"]) for family in summary["families"]),
        len(summary["families"]),
        output_dir,
    )
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
