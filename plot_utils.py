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

`--plot=trajectories` (the default) draws loss, accuracy and regularizer
against the recorded training steps, one colour per group of runs sharing the
`--group_by` hyper-parameters, each curve the mean over the group's runs with
a band of two standard deviations. `--plot=measures` draws any recorded
quantities against training steps the same way, one panel each. `--plot=final`
draws each quantity's final value against a swept hyper-parameter, one line
per group of the other `--group_by` hyper-parameters; `--plot=lambda` is that
plot against fisher_rao_lambda with lines per regularization norm and method.
Every mode prints a table of final values per group.

As a library: `load_data_for_pattern`, `compute_statistics` and `draw_plot`
keep the meanings they had in the original project; `load_runs`,
`group_runs`, `final_value_groups`, `plot_trajectories`, `plot_measures`,
`plot_final_values`, `plot_lambda_sweep` and `format_summary_table` serve the
command line and can be used on their own.
"""

import collections
import dataclasses
import math
import os
import re
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from absl import app, flags, logging
from matplotlib import lines as mlines

from fisher_rao_experiments import results_io

# Quantities recorded at every entry of "steps" (one value per evaluation).
EVALUATED_KEYS = results_io.EVALUATED_KEYS
GAP_KEY = "generalization_gap"  # Final train accuracy - test accuracy.
FINAL_KEYS = EVALUATED_KEYS + (GAP_KEY,)
# The final values every summary table shows.
SUMMARY_KEYS = (
    "train_loss",
    "test_loss",
    "train_accuracy",
    "test_accuracy",
    GAP_KEY,
)
# The values each quantity can take; bands of mean ± 2 std are clipped to
# them, so that e.g. a norm's band never dips below 0.
_NON_NEGATIVE_KEYS = (
    "train_loss",
    "validation_loss",
    "test_loss",
    "fisher_rao_norm",
    "empirical_fisher_rao_norm",
    "l2_norm",
    "spectral_product",
    "path_norm",
    "regularizer_loss",
)
VALUE_RANGES = {
    **{key: (0.0, math.inf) for key in _NON_NEGATIVE_KEYS},
    **{
        key: (0.0, 1.0)
        for key in ("train_accuracy", "validation_accuracy", "test_accuracy")
    },
    GAP_KEY: (-1.0, 1.0),
}
# Hyper-parameters that tell runs of one setting apart without changing it.
NON_SETTING_HPARAMS = (
    "random_seed",
    "start_time",
    "output_dir",
    "summary_dir",
)
DEFAULT_GROUP_BY = ("regularization_norm", "fisher_rao_lambda")
LAMBDA_HPARAM = "fisher_rao_lambda"
# The lines of the lambda plot are always told apart by these.
LAMBDA_LINE_HPARAMS = ("regularization_norm", "fisher_rao_method")
DEFAULT_PATTERN = r"\.json$"
IMAGE_EXTENSIONS = (".png", ".pdf", ".svg")
PLOT_MODES = ("trajectories", "measures", "final", "lambda")
# The quantities each mode with --measures can draw, and its default ones.
ALLOWED_MEASURES = {
    "measures": EVALUATED_KEYS,
    "final": FINAL_KEYS,
    "lambda": FINAL_KEYS,
}
DEFAULT_MEASURES = {
    "measures": results_io.MEASURE_KEYS,
    "final": ("test_loss", "test_accuracy", GAP_KEY),
    "lambda": ("test_loss", "test_accuracy", GAP_KEY),
}
Y_SCALES = ("auto", "linear", "log")
# With --y_scale=auto, positive values spanning this ratio get a log axis;
# so do the positive values of a numeric swept hyper-parameter.
LOG_SCALE_RATIO = 100.0

# Short names for legends; other hyper-parameters appear under their own.
_LABEL_NAMES = {
    "regularization_norm": "norm",
    "fisher_rao_lambda": "lambda",
    "fisher_rao_method": "method",
}
_AXIS_LABELS = {GAP_KEY: "generalization gap\n(train - test accuracy)"}
_ZERO_TICKS = {LAMBDA_HPARAM: "λ = 0"}
_SPLIT_STYLES = (("train", "-"), ("validation", ":"), ("test", "--"))
_LINE_ALPHA = 0.9
_BAND_ALPHA = 0.2
_FIGURE_DPI = 100
_PANELS_PER_ROW = 3


@dataclasses.dataclass(frozen=True)
class Run:
    """One results file: its path and its parsed contents."""

    path: str
    results: dict

    @property
    def name(self):
        return os.path.basename(self.path)


@dataclasses.dataclass
class RunGroup:
    """Runs averaged into one curve or point.

    Attributes:
      hparams: The grouping hyper-parameters (name -> value) the runs share.
      runs: The runs (from `group_runs`: all with identical recorded steps).
      note: Tells this group from others with the same `hparams` but
        different trajectories or train_steps ("" when there are none).
    """

    hparams: dict
    runs: list
    note: str = ""

    @property
    def data(self):
        """The runs' results dictionaries, as `compute_statistics` takes."""
        return [run.results for run in self.runs]

    @property
    def steps(self):
        return np.asarray(self.runs[0].results["steps"], dtype=float)

    @property
    def label(self):
        text = (
            ", ".join(
                f"{_LABEL_NAMES.get(name, name)}={_format_value(value)}"
                for name, value in self.hparams.items()
            )
            or "all runs"
        )
        return f"{text} [{self.note}]" if self.note else text


# --------------------------------------------------------------------------
# Loading.


def load_runs(pattern, data_dir):
    """Loads every results file in `data_dir` whose name matches `pattern`.

    Names starting with "." (temporaries of atomic writes) and directories are
    ignored. Matching files that are not results files (invalid JSON, missing
    keys, trajectories of inconsistent lengths or non-numbers) are skipped
    with one warning line each.

    Args:
      pattern: Regular expression (string or compiled), searched for anywhere
        in the file name (anchor it with ^ and $ to match whole names).
      data_dir: Directory holding the results files.

    Returns:
      A list of `Run`, sorted by file name.

    Raises:
      OSError: If `data_dir` cannot be listed.
    """
    pattern = re.compile(pattern)
    runs = []
    for name in sorted(os.listdir(data_dir)):
        path = os.path.join(data_dir, name)
        if name.startswith(".") or not pattern.search(name):
            continue
        if not os.path.isfile(path):
            continue
        try:
            results = results_io.load_results(path)
            _check_trajectories(results)
        except (ValueError, OSError) as error:
            reason = _one_line(error)
            if path not in reason:
                reason = f"{path}: {reason}"
            logging.warning(
                "Skipping a file that is not a results file: %s", reason
            )
            continue
        runs.append(Run(path, results))
    return runs


def load_data_for_pattern(pattern, data_dir):
    """The parsed results of every file in `data_dir` matching `pattern`.

    Args:
      pattern: Regular expression (string or compiled) searched for in file
        names; see `load_runs`.
      data_dir: Directory holding the results files.

    Returns:
      A list of results dictionaries (see results_io), sorted by file name;
      files that are not results files are skipped with a warning.
    """
    return [run.results for run in load_runs(pattern, data_dir)]


def _check_trajectories(results):
    """Raises ValueError unless the results can be grouped and plotted.

    Hparams must be single values (they are the keys of the groups), the
    trajectories numbers or nulls, one per recorded step where evaluated.
    """
    nested = sorted(
        name
        for name, value in results["hparams"].items()
        if isinstance(value, (list, dict))
    )
    if nested:
        raise ValueError(f"'hparams' {nested} are not single values.")
    for key in results_io.TRAJECTORY_KEYS:
        if not all(
            value is None or _is_number(value) for value in results[key]
        ):
            raise ValueError(f"'{key}' holds values that are not numbers.")
    num_steps = len(results["steps"])
    wrong = [key for key in EVALUATED_KEYS if len(results[key]) != num_steps]
    if wrong:
        raise ValueError(
            f"{wrong} do not have one value per recorded step "
            f"({num_steps} steps)."
        )


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _one_line(error):
    return " ".join(str(error).split())


def _count(number, noun):
    """ "1 run", "2 runs": `noun` pluralized as `number` requires."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --------------------------------------------------------------------------
# Statistics and grouping.


def compute_statistics(data, variable):
    """Mean and standard deviation over runs of one recorded quantity.

    Args:
      data: List of results dictionaries with equally long `variable`.
      variable: A trajectory key such as "train_loss", "test_accuracy" or
        "regularizer_loss".

    Returns:
      `(mean, std)`: float arrays with one entry per recorded point; `std` is
      the sample standard deviation (ddof=1), zeros for a single run. A null
      (diverged) value makes that point NaN.

    Raises:
      ValueError: If `data` is empty or the runs' trajectories differ in
        length.
    """
    if not data:
        raise ValueError(f"No runs to compute statistics of '{variable}' on.")
    trajectories = [np.asarray(run[variable], dtype=float) for run in data]
    lengths = sorted({len(trajectory) for trajectory in trajectories})
    if len(lengths) > 1:
        raise ValueError(
            f"The runs' '{variable}' trajectories differ in length {lengths}; "
            "only runs with the same recorded steps can be averaged."
        )
    stacked = np.stack(trajectories)
    mean = stacked.mean(axis=0)
    if len(data) == 1:
        return mean, np.zeros_like(mean)
    return mean, stacked.std(axis=0, ddof=1)


def band(mean, std, key=None):
    """The band mean ± 2 std, clipped to the values `key` can take.

    Args:
      mean: Means (array-like).
      std: Standard deviations, like `mean`.
      key: The quantity's name; see `VALUE_RANGES` (others are unbounded).

    Returns:
      `(lower, upper)` float arrays; NaN where `mean` or `std` is.
    """
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    lowest, highest = VALUE_RANGES.get(key, (-math.inf, math.inf))
    return (
        np.clip(mean - 2 * std, lowest, highest),
        np.clip(mean + 2 * std, lowest, highest),
    )


def group_runs(runs, group_by):
    """Groups runs by hyper-parameters, and by trajectory shape within those.

    For trajectories: runs whose recorded steps differ (other `train_steps`
    or `eval_steps`, or stopped early by `stop_train_loss`) are never
    averaged: they form separate groups told apart by `note`, with a warning
    naming the files. A warning also names hyper-parameters (other than seed,
    start time and output directories) that differ inside a group.

    Args:
      runs: List of `Run`.
      group_by: Names of hparams whose values separate the groups; a run
        lacking one counts as having the value None.

    Returns:
      A list of `RunGroup`, sorted by hyper-parameter values.
    """
    return _group(
        runs,
        group_by,
        _trajectory_shape,
        _shape_note,
        "have different recorded steps",
    )


def group_final_runs(runs, group_by):
    """Groups runs by hyper-parameters, and by train_steps within those.

    For final values, each run counts with its last evaluation, so runs that
    stopped early (`stop_train_loss`, divergence) join their group; only runs
    meant to train for different numbers of steps are kept apart (with a
    note and a warning, as in `group_runs`).

    Args:
      runs: List of `Run`.
      group_by: Names of hparams whose values separate the groups.

    Returns:
      A list of `RunGroup`, sorted by hyper-parameter values.
    """
    return _group(
        runs,
        group_by,
        _train_steps_key,
        _train_steps_note,
        "have different train_steps",
    )


def _group(runs, group_by, split_key, describe, difference):
    """Groups by `group_by` values, then splits by `split_key(results)`."""
    by_hparams = {}
    for run in runs:
        key = tuple(run.results["hparams"].get(name) for name in group_by)
        by_hparams.setdefault(key, []).append(run)
    groups = []
    for key in sorted(by_hparams, key=_sort_key):
        hparams = dict(zip(group_by, key, strict=True))
        groups.extend(
            _split(hparams, by_hparams[key], split_key, describe, difference)
        )
    for group in groups:
        _warn_about_mixed_hparams(group, group_by)
    return groups


def _split(hparams, runs, split_key, describe, difference):
    parts = {}
    for run in runs:
        parts.setdefault(split_key(run.results), []).append(run)
    if len(parts) == 1:
        return [RunGroup(hparams, runs)]
    groups = []
    for index, key in enumerate(sorted(parts)):
        note = describe(parts[key][0].results)
        if any(note == group.note for group in groups):
            note += f" #{index + 1}"
        groups.append(RunGroup(hparams, parts[key], note))
    logging.warning(
        "Runs with %s %s and are plotted separately: %s",
        RunGroup(hparams, runs).label,
        difference,
        "; ".join(
            f"[{group.note}] {', '.join(run.name for run in group.runs)}"
            for group in groups
        ),
    )
    return groups


def _trajectory_shape(results):
    return (tuple(results["steps"]), len(results["regularizer_loss"]))


def _shape_note(results):
    steps = results["steps"]
    if not steps:
        return "no points"
    return f"{len(steps)} points to step {steps[-1]:.0f}"


def _train_steps_key(results):
    return _sort_key((results["hparams"].get("train_steps"),))


def _train_steps_note(results):
    return (
        f"train_steps={_format_value(results['hparams'].get('train_steps'))}"
    )


def _warn_about_mixed_hparams(group, group_by):
    ignored = set(group_by) | set(NON_SETTING_HPARAMS)
    mixed = {}
    for run in group.runs:
        for name, value in run.results["hparams"].items():
            if name not in ignored:
                mixed.setdefault(name, set()).add(_format_value(value))
    mixed = {name: values for name, values in mixed.items() if len(values) > 1}
    if mixed:
        logging.warning(
            "Group %s averages runs that differ in %s; add those names to "
            "--group_by to separate them.",
            group.label,
            ", ".join(
                f"{name} ({'/'.join(sorted(values))})"
                for name, values in sorted(mixed.items())
            ),
        )


def _sort_key(values):
    # Numbers before strings before None, so mixed types still sort.
    return tuple(
        (2, "")
        if value is None
        else (0, value)
        if _is_number(value)
        else (1, str(value))
        for value in values
    )


def _format_value(value):
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def unfinished_runs(runs):
    """The runs that did not finish (diverged, interrupted).

    A run stopped by its `stop_train_loss` is finished (see
    `results_io.is_complete`). Final values of unfinished runs are those of
    their last recorded step, not of the end of training.
    """
    return [run for run in runs if not results_io.is_complete(run.results)]


def known_hparams(runs):
    """The sorted names of the hparams recorded by any of `runs`."""
    return sorted({name for run in runs for name in run.results["hparams"]})


def check_measures(measures, allowed):
    """Raises ValueError unless `measures` is a non-empty subset of `allowed`.

    The message is one line listing the allowed names.
    """
    unknown = [name for name in measures if name not in allowed]
    if unknown or not measures:
        raise ValueError(
            f"unknown measures {unknown}; the allowed ones are "
            f"{', '.join(allowed)}."
            if unknown
            else "no measure given."
        )


# --------------------------------------------------------------------------
# Final values and the summary table.


def final_value(results, key):
    """A run's value of `key` at its last evaluation.

    Args:
      results: A results dictionary.
      key: A key of `FINAL_KEYS` ("generalization_gap" is the train accuracy
        minus the test accuracy).

    Returns:
      The value as a float; NaN if the run has no evaluation or the value is
      null.
    """
    if not results["steps"]:
        return math.nan
    if key == GAP_KEY:
        return final_value(results, "train_accuracy") - final_value(
            results, "test_accuracy"
        )
    value = results[key][-1]
    return math.nan if value is None else float(value)


def final_statistics(group, keys=FINAL_KEYS):
    """Mean and std over the group's runs of their final values.

    Each run counts with its last evaluation, so runs of different lengths
    (stopped by `stop_train_loss`) can be averaged.

    Args:
      group: A `RunGroup`.
      keys: Keys of `FINAL_KEYS`.

    Returns:
      Dictionary from each key to `(mean, std)` floats (sample std, 0 for a
      single run); NaN when a run has no evaluation or a null final value.
    """
    statistics = {}
    for key in keys:
        finals = [{key: [final_value(results, key)]} for results in group.data]
        mean, std = compute_statistics(finals, key)
        statistics[key] = (float(mean[0]), float(std[0]))
    return statistics


def format_summary_table(groups, keys=SUMMARY_KEYS):
    """A plain-text table of final values, one row per group.

    Args:
      groups: List of `RunGroup`.
      keys: Final values to show beyond `SUMMARY_KEYS`, which are always
        shown (train and test loss and accuracy, the generalization gap).

    Returns:
      The table: group, number of runs, last recorded step (a range when the
      runs stopped at different steps) and each final value as mean ±
      sample std over the group's runs.
    """
    columns = tuple(dict.fromkeys(SUMMARY_KEYS + tuple(keys)))
    header = ["group", "runs", "step"] + [_column_name(key) for key in columns]
    rows = []
    for group in groups:
        statistics = final_statistics(group, columns)
        rows.append(
            [group.label, str(len(group.runs)), _last_step_text(group)]
            + [
                f"{statistics[key][0]:.4f} ± {statistics[key][1]:.4f}"
                for key in columns
            ]
        )
    widths = [
        max(len(row[column]) for row in [header] + rows)
        for column in range(len(header))
    ]

    def format_row(cells):
        return "  ".join(
            cell.ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    rule = ["-" * width for width in widths]
    return "\n".join(format_row(cells) for cells in [header, rule] + rows)


def _column_name(key):
    if key == GAP_KEY:
        return "gap (train-test acc)"
    return key.replace("_", " ")


def _last_step_text(group):
    last_steps = sorted(
        {results["steps"][-1] for results in group.data if results["steps"]}
    )
    if not last_steps:
        return "-"
    if len(last_steps) == 1:
        return f"{last_steps[0]:.0f}"
    return f"{last_steps[0]:.0f}-{last_steps[-1]:.0f}"


# --------------------------------------------------------------------------
# Drawing helpers.


def draw_trajectory(
    axes, steps, data_mean, data_std, label, color, linestyle="-", key=None
):
    """Draws a mean curve with a band of two standard deviations.

    NaN values (diverged runs) leave gaps in the curve and band.

    Args:
      axes: The matplotlib Axes to draw on.
      steps: x positions (training steps), one per value.
      data_mean: Mean per step.
      data_std: Standard deviation per step.
      label: Legend label of the curve (None for no legend entry).
      color: Matplotlib colour of the curve and band.
      linestyle: Matplotlib line style of the curve.
      key: The quantity's name: the band is clipped to the values it can
        take (see `band`); None leaves it unclipped.
    """
    lower, upper = band(data_mean, data_std, key)
    axes.plot(
        steps,
        np.asarray(data_mean, dtype=float),
        color=color,
        linestyle=linestyle,
        alpha=_LINE_ALPHA,
        label=label,
    )
    axes.fill_between(
        steps, lower, upper, color=color, linewidth=0, alpha=_BAND_ALPHA
    )


def draw_plot(data_mean, data_std, label, title, color, factor):
    """Draws mean +- 2 std on the current axes against training steps.

    Args:
      data_mean: Mean per recorded point.
      data_std: Standard deviation per recorded point.
      label: Legend label of the curve.
      title: The y-axis label (the quantity plotted).
      color: Matplotlib colour.
      factor: Training steps between consecutive recorded points (the
        points are at steps 0, factor, 2 * factor, ...).
    """
    steps = np.arange(len(data_mean)) * factor
    axes = plt.gca()
    draw_trajectory(axes, steps, data_mean, data_std, label, color)
    axes.set_xlabel("training step")
    axes.set_ylabel(title)
    axes.legend(loc="best")


def group_colors(count):
    """`count` distinct colours: matplotlib's colour cycle, or a colormap."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key().get("color", [])
    if count <= len(cycle):
        return cycle[:count]
    colormap = matplotlib.colormaps["turbo"]
    return [colormap(value) for value in np.linspace(0.05, 0.95, count)]


def wants_log_scale(values, y_scale, key):
    """Whether a panel of `key`'s `values` gets a log y axis.

    Args:
      values: The plotted means (NaNs are ignored).
      y_scale: "linear", "log" (if every value is > 0; else linear, with a
        warning) or "auto" (log if every value is > 0 and the largest is at
        least `LOG_SCALE_RATIO` times the smallest).
      key: The quantity's name, for the warning.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if y_scale == "linear" or not values.size:
        return False
    positive = bool(values.min() > 0)
    if y_scale == "log":
        if not positive:
            logging.warning(
                "%s has values <= 0: drawn on a linear scale.", key
            )
        return positive
    return positive and values.max() >= LOG_SCALE_RATIO * values.min()


def _set_y_scale(axes_list, values, y_scale, key):
    if wants_log_scale(values, y_scale, key):
        for axes in axes_list:
            axes.set_yscale("log")


def _note_if_nothing_drawn(axes, values):
    """Says so on `axes` when no value is finite (e.g. no validation split)."""
    if not np.isfinite(np.asarray(values, dtype=float)).any():
        axes.text(
            0.5,
            0.5,
            "not recorded",
            transform=axes.transAxes,
            ha="center",
            va="center",
            color="gray",
        )


def _has_values(data, key):
    return any(value is not None for results in data for value in results[key])


def _group_handles(groups, colors):
    return [
        mlines.Line2D([], [], color=color, label=_group_legend(group))
        for group, color in zip(groups, colors, strict=True)
    ]


def _group_legend(group):
    return f"{group.label} ({_count(len(group.runs), 'run')})"


def _runs_per_group_text(groups, unit="group", where="legend"):
    counts = sorted({len(group.runs) for group in groups})
    if len(counts) == 1:
        return f"{_count(counts[0], 'run')} per {unit}"
    return f"{counts[0]}-{counts[-1]} runs per {unit}, see {where}"


def _grid_shape(count):
    columns = min(count, _PANELS_PER_ROW)
    return math.ceil(count / columns), columns


def _figure_size(rows, columns):
    # At least 10 inches wide: room for the title and legend.
    return max(5 * columns, 10), 4.5 * rows + 0.5


# --------------------------------------------------------------------------
# Quantities against training steps.


def regularizer_steps(group):
    """Training steps 0, 1, 2, ... of the group's regularizer_loss values.

    synthetic_classification records the regularizer at every training
    step, unlike the other quantities (recorded at the evaluation steps).
    """
    length = len(group.runs[0].results["regularizer_loss"])
    return np.arange(length, dtype=float)


def plot_trajectories(groups):
    """The three-panel figure: loss, accuracy and regularizer per group.

    Loss and accuracy are drawn for train (solid), validation (dotted, where
    recorded) and test (dashed); bands are clipped to the values each
    quantity can take.

    Args:
      groups: List of `RunGroup` (see `group_runs`).

    Returns:
      The matplotlib Figure.
    """
    figure, (loss_axes, accuracy_axes, regularizer_axes) = plt.subplots(
        1, 3, figsize=(15, 5), layout="constrained"
    )
    colors = group_colors(len(groups))
    splits = [
        (split, style)
        for split, style in _SPLIT_STYLES
        if any(_has_values(group.data, f"{split}_loss") for group in groups)
    ]
    for group, color in zip(groups, colors, strict=True):
        for axes, quantity in (
            (loss_axes, "loss"),
            (accuracy_axes, "accuracy"),
        ):
            for split, linestyle in splits:
                key = f"{split}_{quantity}"
                mean, std = compute_statistics(group.data, key)
                draw_trajectory(
                    axes, group.steps, mean, std, None, color, linestyle, key
                )
        mean, std = compute_statistics(group.data, "regularizer_loss")
        draw_trajectory(
            regularizer_axes,
            regularizer_steps(group),
            mean,
            std,
            None,
            color,
            key="regularizer_loss",
        )
    for axes, title in (
        (loss_axes, "loss"),
        (accuracy_axes, "accuracy"),
        (regularizer_axes, "regularizer (Fisher-Rao norm)"),
    ):
        axes.set_title(title)
        axes.set_xlabel("training step")
        axes.set_ylabel(title.split(" ")[0])
        axes.grid(alpha=0.3)
    split_handles = [
        mlines.Line2D([], [], color="black", linestyle=style, label=split)
        for split, style in splits
    ]
    loss_axes.legend(handles=split_handles, loc="best")
    accuracy_axes.legend(handles=split_handles, loc="best")
    figure.legend(
        handles=_group_handles(groups, colors),
        loc="outside lower center",
        ncols=min(len(groups), 3),
    )
    figure.suptitle(
        "Training trajectories: mean ± 2 std over runs ("
        f"{_runs_per_group_text(groups)})"
    )
    return figure


def plot_measures(groups, measures, y_scale="auto"):
    """One panel per recorded quantity against training steps.

    Args:
      groups: List of `RunGroup` (see `group_runs`).
      measures: Keys of `EVALUATED_KEYS`, one panel each.
      y_scale: "auto", "linear" or "log"; see `wants_log_scale`.

    Returns:
      The matplotlib Figure.

    Raises:
      ValueError: If `measures` names a key not in `EVALUATED_KEYS`.
    """
    check_measures(measures, EVALUATED_KEYS)
    rows, columns = _grid_shape(len(measures))
    figure, axes_grid = plt.subplots(
        rows,
        columns,
        figsize=_figure_size(rows, columns),
        layout="constrained",
        squeeze=False,
    )
    colors = group_colors(len(groups))
    panels = axes_grid.ravel()
    for axes, measure in zip(panels[: len(measures)], measures, strict=True):
        means = []
        for group, color in zip(groups, colors, strict=True):
            mean, std = compute_statistics(group.data, measure)
            draw_trajectory(
                axes, group.steps, mean, std, None, color, key=measure
            )
            means.extend(mean)
        axes.set_title(measure)
        axes.set_xlabel("training step")
        axes.grid(alpha=0.3)
        _set_y_scale([axes], means, y_scale, measure)
        _note_if_nothing_drawn(axes, means)
    for axes in panels[len(measures) :]:
        axes.remove()
    figure.legend(
        handles=_group_handles(groups, colors),
        loc="outside lower center",
        ncols=min(len(groups), 3),
    )
    figure.suptitle(
        "Measures against training steps: mean ± 2 std over "
        f"runs ({_runs_per_group_text(groups)})"
    )
    return figure


# --------------------------------------------------------------------------
# Final values against a swept hyper-parameter.


@dataclasses.dataclass
class FinalLine:
    """The groups of one line (same hparams but the x one), by x value."""

    label: str
    groups_by_x: dict


def final_value_groups(runs, x_hparam, line_hparams):
    """Groups runs into the points of `plot_final_values`.

    Args:
      runs: List of `Run`.
      x_hparam: The hyper-parameter on the x axis.
      line_hparams: Hyper-parameters that separate lines (`x_hparam` among
        them is ignored).

    Returns:
      A list of `RunGroup`, one per (line hparams, x value) (see
      `group_final_runs`), as `plot_final_values` and the summary table take
      them.
    """
    line_hparams = tuple(
        dict.fromkeys(name for name in line_hparams if name != x_hparam)
    )
    return group_final_runs(runs, line_hparams + (x_hparam,))


def lambda_sweep_groups(runs, extra_line_hparams=()):
    """Groups runs by norm, method, any extra hparams, then lambda.

    Args:
      runs: List of `Run`, each recording a fisher_rao_lambda >= 0.
      extra_line_hparams: Further hparams that separate lines.

    Returns:
      A list of `RunGroup`, one per (line hparams, lambda), as
      `plot_lambda_sweep` and the summary table take them.

    Raises:
      ValueError: If a run records no fisher_rao_lambda >= 0 (naming the
        files).
    """
    bad = [
        run.name
        for run in runs
        if not _is_non_negative_number(
            run.results["hparams"].get(LAMBDA_HPARAM)
        )
    ]
    if bad:
        raise ValueError(
            f"{LAMBDA_HPARAM} is missing, not a number or negative in {bad}."
        )
    return final_value_groups(
        runs, LAMBDA_HPARAM, LAMBDA_LINE_HPARAMS + tuple(extra_line_hparams)
    )


def _is_non_negative_number(value):
    return _is_number(value) and value >= 0


def _final_lines(groups, x_hparam):
    """Collects groups into lines: same hparams but x, same train_steps.

    Final values of runs meant to train for different numbers of steps are
    never joined into one line; such lines are told apart by a note.
    """
    by_line = {}
    for group in groups:
        line_hparams = tuple(
            (name, value)
            for name, value in group.hparams.items()
            if name != x_hparam
        )
        schedule = _train_steps_key(group.runs[0].results)
        groups_by_x = by_line.setdefault((line_hparams, schedule), {})
        groups_by_x[group.hparams[x_hparam]] = group
    schedules = collections.Counter(hparams for hparams, _ in by_line)
    lines = []
    for (line_hparams, _), groups_by_x in by_line.items():
        note = ""
        if schedules[line_hparams] > 1:
            first_group = next(iter(groups_by_x.values()))
            note = _train_steps_note(first_group.runs[0].results)
        label = RunGroup(_label_hparams(line_hparams), [], note).label
        lines.append(FinalLine(label, groups_by_x))
    return lines


def _label_hparams(line_hparams):
    """The line's hparams to show: the method means nothing without a norm."""
    hparams = dict(line_hparams)
    if hparams.get("regularization_norm") == "None":
        hparams.pop("fisher_rao_method", None)
    return hparams


def x_axis_kind(x_values, log_x=None):
    """How the swept values are laid out on the x axis.

    Args:
      x_values: The hyper-parameter's values.
      log_x: True for a log axis (values must be >= 0), False for a linear
        one, None to choose: log if the values are >= 0 and the positive ones
        span a ratio of at least `LOG_SCALE_RATIO`.

    Returns:
      "categorical" (any value not a number: one tick per value), "linear"
      or "log" (with x = 0 in a narrow panel at the left).
    """
    if not all(_is_number(value) for value in x_values):
        return "categorical"
    if log_x is None:
        positive = [value for value in x_values if value > 0]
        log_x = (
            min(x_values) >= 0
            and len(positive) > 1
            and max(positive) >= LOG_SCALE_RATIO * min(positive)
        )
    return "log" if log_x else "linear"


def plot_final_values(groups, x_hparam, measures, y_scale="auto", log_x=None):
    """Final values of `measures` against a swept hyper-parameter.

    One panel per measure, one line per group of the other grouping hparams:
    the mean over the runs (each with its last evaluation) at each x value,
    with a band (at single points, error bars) of two standard deviations,
    clipped to the values the measure can take. Numeric x values go on a
    linear or log axis (see `x_axis_kind`; on a log axis, x = 0 gets a
    narrow panel at the left, and a line with only x = 0 runs is also drawn
    across the log panel as a dotted reference); other values are
    categories.

    Args:
      groups: List of `RunGroup` from `final_value_groups`.
      x_hparam: The hyper-parameter on the x axis.
      measures: Keys of `FINAL_KEYS`, one panel each.
      y_scale: "auto", "linear" or "log"; see `wants_log_scale`.
      log_x: See `x_axis_kind`.

    Returns:
      The matplotlib Figure.

    Raises:
      ValueError: If `measures` names a key not in `FINAL_KEYS`.
    """
    check_measures(measures, FINAL_KEYS)
    lines = _final_lines(groups, x_hparam)
    colors = group_colors(len(lines))
    x_values = sorted(
        {x for line in lines for x in line.groups_by_x},
        key=lambda value: _sort_key((value,)),
    )
    kind = x_axis_kind(x_values, log_x)
    statistics = {
        id(group): final_statistics(group, measures) for group in groups
    }
    rows, columns = _grid_shape(len(measures))
    figure = plt.figure(
        figsize=_figure_size(rows, columns), layout="constrained"
    )
    subfigures = figure.subfigures(rows, columns, squeeze=False).ravel()
    for subfigure, measure in zip(
        subfigures[: len(measures)], measures, strict=True
    ):
        axes_list = _final_value_axes(subfigure, kind, 0 in x_values)
        for index, (line, color) in enumerate(zip(lines, colors, strict=True)):
            values = {
                x: statistics[id(group)][measure]
                for x, group in line.groups_by_x.items()
            }
            offset = (index - (len(lines) - 1) / 2) * 0.1
            _draw_final_line(
                axes_list, kind, values, x_values, color, offset, measure
            )
        _style_final_axes(
            axes_list,
            kind,
            x_hparam,
            x_values,
            _AXIS_LABELS.get(measure, "final " + measure.replace("_", " ")),
        )
        means = [statistics[id(group)][measure][0] for group in groups]
        _set_y_scale(axes_list, means, y_scale, measure)
        _note_if_nothing_drawn(axes_list[-1], means)
    handles = [
        mlines.Line2D([], [], color=color, marker="o", label=line.label)
        for line, color in zip(lines, colors, strict=True)
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(len(lines), 4)
    )
    figure.suptitle(
        f"Final values against {x_hparam}: mean ± 2 std over "
        "seeds ("
        f"{_runs_per_group_text(groups, 'point', 'table')})"
    )
    return figure


def plot_lambda_sweep(
    groups, measures=DEFAULT_MEASURES["lambda"], y_scale="auto"
):
    """Final values (default: test loss, test accuracy, gap) against lambda.

    `plot_final_values` with fisher_rao_lambda on a log axis (lambda = 0 in a
    narrow panel at the left) and one line per regularization norm and method
    (and any extra line hparams); the unregularized baseline, which has only
    lambda = 0 runs, is also drawn across the log panel as a dotted line.

    Args:
      groups: List of `RunGroup` from `lambda_sweep_groups`.
      measures: Keys of `FINAL_KEYS`, one panel each.
      y_scale: "auto", "linear" or "log"; see `wants_log_scale`.

    Returns:
      The matplotlib Figure.
    """
    return plot_final_values(
        groups, LAMBDA_HPARAM, measures, y_scale, log_x=True
    )


def _final_value_axes(subfigure, kind, has_zero):
    """The axes of one panel: [zero axes, log axes] or [axes]."""
    if kind == "log" and has_zero:
        return list(subfigure.subplots(1, 2, sharey=True, width_ratios=[1, 5]))
    return [subfigure.subplots()]


def _draw_final_line(axes_list, kind, values, x_values, color, offset, key):
    """Draws one line's `values` (x -> (mean, std)) on its panel's axes."""
    axes = axes_list[-1]
    if kind == "categorical":
        positions = [x_values.index(x) + offset for x in values]
        _draw_error_bars(axes, positions, list(values.values()), color, key)
        return
    if kind == "log":
        zero = values.get(0)
        values = {x: value for x, value in values.items() if x > 0}
        if zero is not None:
            _draw_error_bars(axes_list[0], [offset], [zero], color, key)
            if not values:
                _draw_reference(axes, *zero, color, key)
    if values:
        _draw_points(axes, values, color, key)


def _draw_points(axes, values, color, key):
    """Markers, and a mean line with its band; error bars if one point."""
    xs = sorted(values)
    mean_stds = [values[x] for x in xs]
    if len(xs) > 1:
        means, stds = _columns(mean_stds)
        draw_trajectory(axes, xs, means, stds, None, color, key=key)
    _draw_error_bars(axes, xs, mean_stds, color, key, bars=len(xs) == 1)


def _draw_error_bars(axes, positions, mean_stds, color, key, bars=True):
    """Markers at the means, with (clipped) 2-std error bars if `bars`."""
    means, stds = _columns(mean_stds)
    lower, upper = band(means, stds, key)
    axes.errorbar(
        positions,
        means,
        yerr=[means - lower, upper - means] if bars else None,
        color=color,
        marker="o",
        linestyle="",
        capsize=3,
    )


def _columns(mean_stds):
    """`[(mean, std), ...]` as the arrays `means`, `stds`."""
    return (
        np.array(column, dtype=float)
        for column in zip(*mean_stds, strict=True)
    )


def _draw_reference(axes, mean, std, color, key):
    """A dotted horizontal line at `mean`, with its band."""
    axes.axhline(mean, color=color, linestyle=":", alpha=_LINE_ALPHA)
    if std > 0:
        lower, upper = band(mean, std, key)
        axes.axhspan(
            lower, upper, color=color, linewidth=0, alpha=_BAND_ALPHA / 2
        )


def _style_final_axes(axes_list, kind, x_hparam, x_values, ylabel):
    axes = axes_list[-1]
    axes_list[0].set_ylabel(ylabel)
    for each in axes_list:
        each.grid(alpha=0.3, which="both")
    if kind == "categorical":
        axes.set_xticks(
            range(len(x_values)), [_format_value(value) for value in x_values]
        )
        axes.set_xlim(-0.5, len(x_values) - 0.5)
        axes.set_xlabel(x_hparam)
    elif kind == "linear":
        axes.set_xlabel(x_hparam)
    elif len(axes_list) == 1:
        axes.set_xscale("log")
        axes.set_xlabel(f"{x_hparam} (log scale)")
    else:
        zero_axes, axes = axes_list
        zero_tick = _ZERO_TICKS.get(x_hparam, "0")
        zero_axes.set_xlim(-1, 1)
        zero_axes.set_xticks([0], [zero_tick])
        axes.set_xscale("log")
        axes.set_xlabel(f"{x_hparam} (log scale; {zero_tick} at left)")
        axes.tick_params(labelleft=False)


# --------------------------------------------------------------------------
# Command line.

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
        DEFAULT_PATTERN,
        "Regular expression searched for in file names; only matching files "
        "are read.",
        flag_values=flag_values,
    )
    flags.DEFINE_list(
        "group_by",
        list(DEFAULT_GROUP_BY),
        "Hparam names whose values separate the curves; runs differing only "
        "in others (such as random_seed) are averaged. With --plot=final "
        "and lambda, they (but the --x_hparam) separate the lines; lambda "
        "always separates regularization_norm and fisher_rao_method.",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "plot",
        "trajectories",
        PLOT_MODES,
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
        f"{', '.join(EVALUATED_KEYS)}), final or lambda (those and "
        f"{GAP_KEY}). Default: the complexity measures for measures; "
        "test_loss, test_accuracy and generalization_gap for final and "
        "lambda.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "x_hparam",
        LAMBDA_HPARAM,
        "--plot=final: the swept hparam on the x axis (numbers on a linear "
        "or log axis, other values as categories).",
        flag_values=flag_values,
    )
    flags.DEFINE_enum(
        "y_scale",
        "auto",
        Y_SCALES,
        "y axes of the measures, final and lambda plots: auto is log when a "
        "panel's values are all > 0 and span a factor of "
        f"{LOG_SCALE_RATIO:g} or more; log applies to panels whose values "
        "are all > 0.",
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
        "output",
        lambda path: path is None or path.lower().endswith(IMAGE_EXTENSIONS),
        message=(
            f"--output must end with one of {', '.join(IMAGE_EXTENSIONS)}."
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
    if plot not in ALLOWED_MEASURES:
        raise flags.ValidationError(
            f"--measures does not apply to --plot={plot}."
        )
    try:
        check_measures(measures, ALLOWED_MEASURES[plot])
    except ValueError as error:
        raise flags.ValidationError(f"--measures: {error}") from None
    return True


def save_figure(figure, path):
    """Writes `figure` to `path` (format by extension), creating its folder."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    figure.savefig(path, dpi=_FIGURE_DPI)


def _fail(message):
    """Exits with status 1 and a one-line message, without a traceback."""
    sys.exit(f"plot_utils.py: error: {message}")


def _writable_output_or_fail(output, results_dir, plot):
    """The image path, its directory made and proved writable, or exits.

    Checked before anything is loaded, so that a bad --output costs nothing.
    The default is next to the results it plots.
    """
    if output is None:
        if not os.path.isdir(results_dir):
            _fail(
                f"cannot read the results directory {results_dir}: "
                "no such directory."
            )
        output = os.path.join(results_dir, f"fisher_rao_{plot}.png")
    if os.path.isdir(output):
        _fail(f"--output={output} is a directory, not an image file.")
    try:
        results_io.ensure_writable_directory(
            os.path.dirname(os.path.abspath(output)), "--output's directory"
        )
    except results_io.UnwritableDirectoryError as error:
        _fail(_one_line(error))
    return output


def _load_runs_or_fail(results_dir, pattern):
    """The runs to plot; exits with a one-line error if there are none."""
    try:
        runs = load_runs(pattern, results_dir)
    except OSError as error:
        _fail(
            f"cannot read the results directory {results_dir}: "
            f"{error.strerror or error}"
        )
    if not runs:
        _fail(
            f"no results files in {results_dir} match the pattern '{pattern}'."
        )
    logging.info(
        "Read %s from %s.", _count(len(runs), "results file"), results_dir
    )
    unfinished = unfinished_runs(runs)
    if unfinished:
        logging.warning(
            "%s did not finish (diverged or interrupted); final values are "
            "from the last recorded step: %s",
            _count(len(unfinished), "run"),
            ", ".join(run.name for run in unfinished),
        )
    return runs


def _check_hparams_or_fail(runs, flag, names):
    unknown = [name for name in names if name not in known_hparams(runs)]
    if unknown:
        _fail(
            f"{flag} names {unknown}, which no run records; the runs "
            f"record {known_hparams(runs)}."
        )


def _groups_and_figure(runs, plot, group_by, measures, x_hparam, y_scale):
    """The groups of the summary table and the figure of the `plot` mode."""
    if plot == "trajectories":
        groups = group_runs(runs, group_by)
        return groups, plot_trajectories(groups)
    if plot == "measures":
        groups = group_runs(runs, group_by)
        return groups, plot_measures(groups, measures, y_scale)
    if plot == "final":
        groups = final_value_groups(runs, x_hparam, group_by)
        return groups, plot_final_values(groups, x_hparam, measures, y_scale)
    try:
        groups = lambda_sweep_groups(runs, group_by)
    except ValueError as error:
        _fail(_one_line(error))
    return groups, plot_lambda_sweep(groups, measures, y_scale)


def _save_or_fail(figure, output):
    try:
        save_figure(figure, output)
    except OSError as error:
        _fail(f"cannot write --output={output}: {error.strerror or error}.")
    logging.info("Wrote the figure to %s.", os.path.abspath(output))


def plot_results(flag_values):
    """Writes the figure and prints the table that the flags ask for.

    Args:
      flag_values: Parsed flags of `define_flags`.

    Raises:
      SystemExit: With a one-line message (exit status 1) on bad input.
    """
    if not flag_values.show:
        plt.switch_backend("agg")  # Headless: no display needed.
    plot = flag_values.plot
    output = _writable_output_or_fail(
        flag_values.output, flag_values.results_dir, plot
    )
    runs = _load_runs_or_fail(flag_values.results_dir, flag_values.pattern)
    _check_hparams_or_fail(runs, "--group_by", flag_values.group_by)
    if plot == "final":
        _check_hparams_or_fail(runs, "--x_hparam", [flag_values.x_hparam])
    measures = tuple(
        dict.fromkeys(flag_values.measures or ())
    ) or DEFAULT_MEASURES.get(plot, ())
    groups, figure = _groups_and_figure(
        runs,
        plot,
        flag_values.group_by,
        measures,
        flag_values.x_hparam,
        flag_values.y_scale,
    )
    _save_or_fail(figure, output)
    print("Final values (mean ± sample std over runs):")
    print(format_summary_table(groups, measures))
    if flag_values.show:
        plt.show()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    plot_results(FLAGS)


if __name__ == "__main__":
    define_flags()
    app.run(main)
