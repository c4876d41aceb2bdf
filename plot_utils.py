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
"""Charts and tables of the results files written by synthetic_classification.

As a command line:

  python3 plot_utils.py --results_dir=/tmp/fisher_rao_results
  python3 plot_utils.py --plot=measures --measures=fisher_rao_norm,margin
  python3 plot_utils.py --plot=final --x_hparam=label_noise \
      --measures=test_accuracy,fisher_rao_norm
  python3 plot_utils.py --plot=lambda --output=lambda_sweep.png

Plots: trajectories (the default: loss, accuracy and the smoothed
regularizer against training steps), measures (any recorded quantities
against steps), final (final values against --x_hparam) and lambda (final
values against fisher_rao_lambda); each prints a table of final values per
group. See docs/plotting.md.

This file is the command line; fisher_rao_experiments.analysis does the
work. As a library, `load_data_for_pattern`, `compute_statistics` and
`draw_plot` keep their 2018 meanings, and the helpers in `__all__` stay
importable from here.
"""

import re
import sys

import matplotlib.pyplot as plt
from absl import app, flags

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import (
    drawing,
    grouping,
    plot_command,
    quantities,
    smoothing,
    tables,
)
from fisher_rao_experiments.analysis.drawing import draw_plot, save_figure
from fisher_rao_experiments.analysis.final_value_plots import (
    plot_final_values,
    plot_lambda_sweep,
)
from fisher_rao_experiments.analysis.grouping import (
    final_value_groups,
    group_runs,
    lambda_sweep_groups,
)
from fisher_rao_experiments.analysis.loading import (
    load_data_for_pattern,
    load_runs,
)
from fisher_rao_experiments.analysis.run_statistics import (
    compute_statistics,
    final_statistics,
)
from fisher_rao_experiments.analysis.tables import format_summary_table
from fisher_rao_experiments.analysis.trajectory_plots import (
    plot_measures,
    plot_trajectories,
)

# The 2018 functions, and the helpers earlier versions documented here.
__all__ = [
    "compute_statistics",
    "draw_plot",
    "final_statistics",
    "final_value_groups",
    "format_summary_table",
    "group_runs",
    "lambda_sweep_groups",
    "load_data_for_pattern",
    "load_runs",
    "plot_final_values",
    "plot_lambda_sweep",
    "plot_measures",
    "plot_trajectories",
    "save_figure",
]

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Defines the command-line flags.

    Called only when run as a script, so that importing this module as a
    library adds no flags that could clash with the importer's.
    """
    flags.DEFINE_string(
        "results_dir",
        results_io.DEFAULT_RESULTS_DIR,
        "Directory of the results files.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "pattern",
        plot_command.DEFAULT_PATTERN,
        "Regular expression searched for in file names; only matching files "
        "are read.",
        flag_values=flag_values,
    )
    flags.DEFINE_list(
        "group_by",
        list(grouping.DEFAULT_GROUP_BY),
        "Hparam names whose values separate the curves; runs differing only "
        "in others (such as random_seed) are averaged. With --plot=final "
        "and lambda, they (but the --x_hparam) separate the lines; lambda "
        "always separates regularization_norm and fisher_rao_method.",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "plot",
        "trajectories",
        quantities.PLOT_MODES,
        "trajectories: loss, accuracy and regularizer against training "
        "steps; measures: the --measures against training steps; final: the "
        "--measures' final values against --x_hparam; lambda: final values "
        "against fisher_rao_lambda, lines per norm and method.",
        flag_values=flag_values,
    )
    flags.DEFINE_list(
        "measures",
        None,
        "Quantities to plot with --plot=measures (recorded keys: "
        f"{', '.join(quantities.EVALUATED_KEYS)}), final or lambda (those "
        f"and {quantities.GAP_KEY}). Default: the complexity measures for "
        "measures; test_loss, test_accuracy and generalization_gap for "
        "final and lambda.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "x_hparam",
        grouping.LAMBDA_HPARAM,
        "--plot=final: the swept hparam on the x axis (numbers on a linear "
        "or log axis, other values as categories).",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "y_scale",
        "auto",
        drawing.Y_SCALES,
        "y axes of the measures, final and lambda plots: auto is log when a "
        "panel's values are all > 0 and span a factor of "
        f"{drawing.LOG_SCALE_RATIO:g} or more; log applies to panels whose "
        "values are all > 0.",
        flag_values=flag_values,
    )
    flags.DEFINE_float(
        "smoothing",
        smoothing.DEFAULT_SMOOTHING,
        "--plot=trajectories: TensorBoard's smoothing weight of the "
        "regularizer, per training step (an exponential moving average with "
        "debiasing, spanning about 1 / (1 - weight) steps), drawn over the "
        "faint raw trace; 0 draws the raw trace with its band only.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "output",
        None,
        "Image file to write, PNG, PDF or SVG by extension (default: "
        "fisher_rao_<plot>.png in --results_dir).",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "show",
        False,
        "Also open the figure in a window.",
        flag_values=flag_values,
    )
    flags.register_validator(
        "pattern",
        _is_regular_expression,
        message="--pattern must be a valid regular expression.",
        flag_values=flag_values,
    )
    flags.register_validator(
        "smoothing",
        lambda weight: 0 <= weight < 1,
        message="--smoothing must be in [0, 1).",
        flag_values=flag_values,
    )
    flags.register_validator(
        "output",
        lambda path: (
            path is None
            or path.lower().endswith(plot_command.IMAGE_EXTENSIONS)
        ),
        message=(
            "--output must end with one of "
            f"{', '.join(plot_command.IMAGE_EXTENSIONS)}."
        ),
        flag_values=flag_values,
    )
    flags.register_multi_flags_validator(
        ["plot", "measures"], _check_measures_flag, flag_values=flag_values
    )


def _is_regular_expression(text):
    try:
        re.compile(text)
    except re.error:
        return False
    return True


def _check_measures_flag(values):
    measures, plot = values["measures"], values["plot"]
    if measures is None:
        return True
    if plot not in quantities.ALLOWED_MEASURES:
        raise flags.ValidationError(
            f"--measures does not apply to --plot={plot}."
        )
    try:
        quantities.check_measures(measures, quantities.ALLOWED_MEASURES[plot])
    except ValueError as error:
        raise flags.ValidationError(f"--measures: {error}") from None
    return True


def plot_results(flag_values):
    """Writes the figure and prints the table that the flags ask for.

    Args:
      flag_values: Parsed flags of `define_flags`.

    Raises:
      SystemExit: With a one-line message (exit status 1) on bad input.
    """
    if not flag_values.show:
        plt.switch_backend("agg")  # Headless: no display needed.
    request = plot_command.PlotRequest(
        results_dir=flag_values.results_dir,
        pattern=flag_values.pattern,
        group_by=tuple(flag_values.group_by),
        plot=flag_values.plot,
        measures=tuple(flag_values.measures or ()),
        x_hparam=flag_values.x_hparam,
        y_scale=flag_values.y_scale,
        smoothing=flag_values.smoothing,
        output=flag_values.output,
    )
    try:
        plot = plot_command.make_plot(request)
    except plot_command.PlotError as error:
        sys.exit(f"plot_utils.py: error: {error}")
    print(tables.TITLE)
    print(format_summary_table(plot.groups, plot.measures))
    if flag_values.show:
        plt.show()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    plot_results(FLAGS)


if __name__ == "__main__":
    define_flags()
    app.run(main)
