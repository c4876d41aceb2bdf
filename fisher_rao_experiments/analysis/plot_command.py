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
"""The plot command's work, from plain arguments: a `PlotRequest` in, the
figure written and the groups of its table out.

plot_utils.py turns its flags into a `PlotRequest` and prints the table;
everything that can go wrong with the user's input raises `PlotError`, one
line, before anything is drawn: an output that cannot be written (checked
before any file is read), a missing results directory, no matching results
file, an unknown hyper-parameter name.
"""

import dataclasses
import os

from absl import logging

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import (
    drawing,
    final_value_plots,
    grouping,
    loading,
    quantities,
    smoothing,
    trajectory_plots,
)

DEFAULT_PATTERN = r"\.json$"
IMAGE_EXTENSIONS = (".png", ".pdf", ".svg")


class PlotError(Exception):
    """Input the command cannot plot; the message is one line."""


@dataclasses.dataclass(frozen=True)
class PlotRequest:
    """What to plot, as the command's flags say it.

    Attributes:
      results_dir: Directory of the results files.
      pattern: Regular expression searched for in file names.
      group_by: Hparams whose values separate the groups.
      plot: One of `quantities.PLOT_MODES`.
      measures: Quantities of the measures, final and lambda plots; empty
        for the plot's defaults (`quantities.DEFAULT_MEASURES`).
      x_hparam: The swept hparam of the final plot.
      y_scale: One of `drawing.Y_SCALES`.
      smoothing: The regularizer's smoothing weight (trajectories).
      output: The image file, or None for fisher_rao_<plot>.png in
        `results_dir`.
    """

    results_dir: str = results_io.DEFAULT_RESULTS_DIR
    pattern: str = DEFAULT_PATTERN
    group_by: tuple = grouping.DEFAULT_GROUP_BY
    plot: str = "trajectories"
    measures: tuple = ()
    x_hparam: str = grouping.LAMBDA_HPARAM
    y_scale: str = "auto"
    smoothing: float = smoothing.DEFAULT_SMOOTHING
    output: str | None = None

    @property
    def chosen_measures(self):
        """The measures drawn (duplicates dropped), or the defaults."""
        return tuple(
            dict.fromkeys(self.measures)
        ) or quantities.DEFAULT_MEASURES.get(self.plot, ())


@dataclasses.dataclass(frozen=True)
class Plot:
    """What `make_plot` drew: the groups of the table, where it went."""

    groups: list
    measures: tuple
    figure: object
    output: str


def make_plot(request):
    """Loads, groups, draws and writes the figure `request` asks for.

    Returns:
      A `Plot`.

    Raises:
      PlotError: On input that cannot be plotted, with a one-line message.
    """
    output = writable_output(request.output, request.results_dir, request.plot)
    measures = request.chosen_measures
    runs = load(
        request.results_dir,
        request.pattern,
        quantities.keys_read(request.plot, measures),
    )
    check_hparams(runs, "--group_by", request.group_by)
    if request.plot == "final":
        check_hparams(runs, "--x_hparam", [request.x_hparam])
    groups, figure = groups_and_figure(runs, request, measures)
    save(figure, output)
    return Plot(groups, measures, figure, output)


def writable_output(output, results_dir, plot):
    """The image path, its directory made and proved writable.

    Checked before anything is loaded, so that a bad output costs nothing.
    The default is next to the results it plots.

    Raises:
      PlotError: If the path is a directory or cannot be written, or (for
        the default) `results_dir` does not exist.
    """
    if output is None:
        if not os.path.isdir(results_dir):
            raise PlotError(
                f"cannot read the results directory {results_dir}: "
                "no such directory."
            )
        output = os.path.join(results_dir, f"fisher_rao_{plot}.png")
    if os.path.isdir(output):
        raise PlotError(
            f"--output={output} is a directory, not an image file."
        )
    try:
        results_io.ensure_writable_directory(
            os.path.dirname(os.path.abspath(output)), "--output's directory"
        )
    except results_io.UnwritableDirectoryError as error:
        raise PlotError(loading.one_line(error)) from None
    return output


def load(results_dir, pattern, keys=loading.DEFAULT_KEYS):
    """The runs to plot (see `loading.load_runs`); warns about unfinished.

    Raises:
      PlotError: If the directory cannot be read or no file is usable.
    """
    try:
        runs = loading.load_runs(pattern, results_dir, keys)
    except OSError as error:
        raise PlotError(
            f"cannot read the results directory {results_dir}: "
            f"{error.strerror or error}"
        ) from None
    if not runs:
        raise PlotError(
            f"no results files in {results_dir} match the pattern "
            f"'{pattern}' and hold the keys this plot reads."
        )
    logging.info(
        "Read %s from %s.",
        grouping.count(len(runs), "results file"),
        results_dir,
    )
    unfinished = loading.unfinished_runs(runs)
    if unfinished:
        logging.warning(
            "%s did not finish (diverged or interrupted); final values are "
            "from the last recorded step: %s",
            grouping.count(len(unfinished), "run"),
            ", ".join(run.name for run in unfinished),
        )
    return runs


def check_hparams(runs, flag, names):
    """Raises PlotError if a name in `names` is recorded by no run."""
    known = loading.known_hparams(runs)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise PlotError(
            f"{flag} names {unknown}, which no run records; the runs "
            f"record {known}."
        )


def groups_and_figure(runs, request, measures):
    """The groups of the summary table and the figure of the plot kind."""
    plot = request.plot
    if plot == "trajectories":
        groups = grouping.group_runs(runs, request.group_by)
        return groups, trajectory_plots.plot_trajectories(
            groups, request.smoothing
        )
    if plot == "measures":
        groups = grouping.group_runs(runs, request.group_by)
        return groups, trajectory_plots.plot_measures(
            groups, measures, request.y_scale
        )
    if plot == "final":
        groups = grouping.final_value_groups(
            runs, request.x_hparam, request.group_by
        )
        return groups, final_value_plots.plot_final_values(
            groups, request.x_hparam, measures, request.y_scale
        )
    try:
        groups = grouping.lambda_sweep_groups(runs, request.group_by)
    except ValueError as error:
        raise PlotError(loading.one_line(error)) from None
    return groups, final_value_plots.plot_lambda_sweep(
        groups, measures, request.y_scale
    )


def save(figure, output):
    """Writes the figure; PlotError if it cannot."""
    try:
        drawing.save_figure(figure, output)
    except OSError as error:
        raise PlotError(
            f"cannot write --output={output}: {error.strerror or error}."
        ) from None
    logging.info("Wrote the figure to %s.", os.path.abspath(output))
