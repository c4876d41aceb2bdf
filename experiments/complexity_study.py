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
r"""Study v2: does the Fisher-Rao norm track generalization? (command line)

  python3 experiments/complexity_study.py --output_dir=/tmp/complexity
  python3 experiments/complexity_study.py --smoke --output_dir=/tmp/smoke

The settings (MNIST-1D MLPs and CNNs, digits MLPs; docs/complexity.md) run
on one sweep into one <output_dir>/runs. Every invocation first trains the
networks of the settings' grids that have no complete
results file in <output_dir>/runs, on the sweep (it resumes: a repeated
command trains nothing new, but retries runs that failed or diverged), then
rewrites the analysis in <output_dir>: summary.json (strict JSON), tables.md
and the figures (per setting). --analysis_only skips the training (no
TensorFlow, no Dask) and analyses the runs that are there. --smoke runs tiny
grids end to end (every run reaches its stop loss; every statistic and
interval is defined).

The study itself (settings, models, statistics) is
fisher_rao_experiments.studies.complexity; its outputs (summary.json,
tables.md, figures) are written by complexity_report.
"""

import os
import sys

import matplotlib.pyplot as plt
from absl import app, flags, logging

from fisher_rao_experiments.studies import (
    complexity,
    complexity_report,
    study_runs,
)

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Defines the flags on `flag_values`; on FLAGS only as a script."""
    study_runs.define_flags(
        flag_values,
        complexity.DEFAULT_OUTPUT_DIR,
        "Run tiny grids (16 networks, a few hundred steps at most) end to "
        "end, to try the command.",
    )
    flags.DEFINE_integer(
        "bootstrap_resamples",
        2000,
        "Bootstrap resamples of every interval.",
        lower_bound=100,
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "bootstrap_seed",
        0,
        "Seed of the bootstrap.",
        lower_bound=0,
        flag_values=flag_values,
    )


def _fail(message):
    """Exits with status 1 and one line, without a traceback."""
    sys.exit(f"complexity_study.py: error: {message}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    plt.switch_backend("agg")
    settings = (
        complexity.SMOKE_SETTINGS if FLAGS.smoke else complexity.FULL_SETTINGS
    )
    output_dir = os.path.abspath(FLAGS.output_dir)
    runs_dir = os.path.join(output_dir, complexity.RUNS_SUBDIRECTORY)
    status = study_runs.train_grid_from_flags(
        complexity.all_points(settings),
        runs_dir,
        FLAGS,
        "complexity_study.py",
    )
    if status:
        return status
    summary = complexity_report.analyse(
        settings,
        output_dir,
        FLAGS.bootstrap_resamples,
        FLAGS.bootstrap_seed,
        FLAGS.smoke,
        FLAGS.figures,
    )
    if not summary["models_used"]:
        _fail(
            f"no run of the grid reached the stop loss in {runs_dir}; see "
            f"{complexity_report.SUMMARY_FILE}."
        )
    logging.info(
        "%d models used, %d left out; wrote %s",
        len(summary["models_used"]),
        summary["num_models_left_out"],
        output_dir,
    )
    return 0


if __name__ == "__main__":
    define_flags()
    app.run(main)
