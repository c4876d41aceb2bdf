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

  python3 plot_utils.py --results_dir=/tmp/fisher_rao_results \
      --output=results.png
  python3 plot_utils.py --plot=lambda --output=lambda_sweep.png

The default `--plot=trajectories` draws three panels (loss, accuracy,
regularizer) against the recorded training steps, one colour per group of
runs sharing the `--group_by` hyper-parameters, each curve the mean over the
group's runs with a band of two standard deviations. `--plot=lambda` draws the
final test loss, test accuracy and generalization gap against
fisher_rao_lambda, one line per regularization norm and method. Both print a
table of final values per group.

As a library: `load_data_for_pattern`, `compute_statistics` and `draw_plot`
keep the meanings they had in the original project; `load_runs`, `group_runs`,
`plot_trajectories`, `plot_lambda_sweep` and `format_summary_table` serve the
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

import results_io

# Quantities recorded at every entry of "steps" (one value per evaluation).
EVALUATED_KEYS = ("train_loss", "train_accuracy", "test_loss",
                  "test_accuracy")
# Hyper-parameters that tell runs of one setting apart without changing it.
NON_SETTING_HPARAMS = ("random_seed", "start_time", "output_dir",
                       "summary_dir")
DEFAULT_GROUP_BY = ("regularization_norm", "fisher_rao_lambda")
LAMBDA_HPARAM = "fisher_rao_lambda"
# The lines of the lambda plot are always told apart by these.
LAMBDA_LINE_HPARAMS = ("regularization_norm", "fisher_rao_method")
DEFAULT_PATTERN = r"\.json$"
IMAGE_EXTENSIONS = (".png", ".pdf", ".svg")
PLOT_MODES = ("trajectories", "lambda")

# Short names for legends; other hyper-parameters appear under their own.
_LABEL_NAMES = {"regularization_norm": "norm", "fisher_rao_lambda": "lambda",
                "fisher_rao_method": "method"}
_LINE_ALPHA = 0.9
_BAND_ALPHA = 0.2
_FIGURE_DPI = 100


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
    """Runs averaged into one curve.

    Attributes:
      hparams: The grouping hyper-parameters (name -> value) the runs share.
      runs: The runs, all with identical recorded steps.
      note: Tells this group from others with the same `hparams` but
        different trajectories ("" when there are none).
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
        text = ", ".join(
            f"{_LABEL_NAMES.get(name, name)}={_format_value(value)}"
            for name, value in self.hparams.items()) or "all runs"
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
            logging.warning("Skipping a file that is not a results file: %s",
                            reason)
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
    nested = sorted(name for name, value in results["hparams"].items()
                    if isinstance(value, (list, dict)))
    if nested:
        raise ValueError(f"'hparams' {nested} are not single values.")
    for key in results_io.TRAJECTORY_KEYS:
        values = results[key]
        if not all(value is None or (isinstance(value, (int, float))
                                     and not isinstance(value, bool))
                   for value in values):
            raise ValueError(f"'{key}' holds values that are not numbers.")
    num_steps = len(results["steps"])
    wrong = [key for key in EVALUATED_KEYS if len(results[key]) != num_steps]
    if wrong:
        raise ValueError(f"{wrong} do not have one value per recorded step "
                         f"({num_steps} steps).")


def _one_line(error):
    return " ".join(str(error).split())


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
            "only runs with the same recorded steps can be averaged.")
    stacked = np.stack(trajectories)
    mean = stacked.mean(axis=0)
    if len(data) == 1:
        return mean, np.zeros_like(mean)
    return mean, stacked.std(axis=0, ddof=1)


def group_runs(runs, group_by):
    """Groups runs by hyper-parameters, and by trajectory shape within those.

    Runs whose trajectories differ (other `train_steps` or `eval_steps`) are
    never averaged: they form separate groups told apart by `note`, with a
    warning naming the files. A warning also names hyper-parameters (other
    than seed, start time and output directories) that differ inside a group.

    Args:
      runs: List of `Run`.
      group_by: Names of hparams whose values separate the groups; a run
        lacking one counts as having the value None.

    Returns:
      A list of `RunGroup`, sorted by hyper-parameter values.
    """
    by_hparams = {}
    for run in runs:
        key = tuple(run.results["hparams"].get(name) for name in group_by)
        by_hparams.setdefault(key, []).append(run)
    groups = []
    for key in sorted(by_hparams, key=_sort_key):
        hparams = dict(zip(group_by, key, strict=True))
        groups.extend(_split_by_trajectory_shape(hparams, by_hparams[key]))
    for group in groups:
        _warn_about_mixed_hparams(group, group_by)
    return groups


def _split_by_trajectory_shape(hparams, runs):
    by_shape = {}
    for run in runs:
        by_shape.setdefault(_trajectory_shape(run.results), []).append(run)
    if len(by_shape) == 1:
        return [RunGroup(hparams, runs)]
    groups = []
    for index, (shape, shape_runs) in enumerate(sorted(by_shape.items())):
        note = _shape_note(shape)
        if any(note == group.note for group in groups):
            note += f" #{index + 1}"
        groups.append(RunGroup(hparams, shape_runs, note))
    label = RunGroup(hparams, runs).label
    logging.warning(
        "Runs with %s have different recorded steps and are plotted "
        "separately: %s", label,
        "; ".join(f"[{group.note}] {', '.join(run.name for run in group.runs)}"
                  for group in groups))
    return groups


def _trajectory_shape(results):
    return (tuple(results["steps"]), len(results["regularizer_loss"]))


def _shape_note(shape):
    steps, _ = shape
    if not steps:
        return "no points"
    return f"{len(steps)} points to step {steps[-1]:.0f}"


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
            "--group_by to separate them.", group.label,
            ", ".join(f"{name} ({'/'.join(sorted(values))})"
                      for name, values in sorted(mixed.items())))


def _sort_key(values):
    # Numbers before strings before None, so mixed types still sort.
    return tuple((2, "") if value is None
                 else (0, value) if isinstance(value, (int, float))
                 else (1, str(value)) for value in values)


def _format_value(value):
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def unfinished_runs(runs):
    """The runs that stopped before their train_steps (diverged, interrupted).

    Their final values are those of their last recorded step, not of the
    end of training.
    """
    unfinished = []
    for run in runs:
        train_steps = run.results["hparams"].get("train_steps")
        steps = run.results["steps"]
        if isinstance(train_steps, (int, float)) and (
                not steps or steps[-1] is None or steps[-1] < train_steps):
            unfinished.append(run)
    return unfinished


def known_hparams(runs):
    """The sorted names of the hparams recorded by any of `runs`."""
    return sorted({name for run in runs for name in run.results["hparams"]})


# --------------------------------------------------------------------------
# Final values and the summary table.


def final_statistics(group):
    """Mean and std over the group's runs of its final recorded values.

    Args:
      group: A `RunGroup`.

    Returns:
      Dictionary from "train_loss", "test_loss", "train_accuracy",
      "test_accuracy" and "generalization_gap" (train accuracy minus test
      accuracy) to `(mean, std)` floats at the last recorded step; NaN when
      there is no recorded point or a run's final value is null.
    """
    if not group.steps.size:
        return {key: (math.nan, math.nan)
                for key in EVALUATED_KEYS + ("generalization_gap",)}
    gaps = [{"generalization_gap": np.subtract(
        np.asarray(run["train_accuracy"], dtype=float),
        np.asarray(run["test_accuracy"], dtype=float))} for run in group.data]
    sources = {key: group.data for key in EVALUATED_KEYS}
    sources["generalization_gap"] = gaps
    statistics = {}
    for key, data in sources.items():
        mean, std = compute_statistics(data, key)
        statistics[key] = (float(mean[-1]), float(std[-1]))
    return statistics


def format_summary_table(groups):
    """A plain-text table of final values, one row per group.

    Args:
      groups: List of `RunGroup`.

    Returns:
      The table: group, number of runs, last recorded step, final train and
      test loss and accuracy and the generalization gap (train accuracy -
      test accuracy), each as mean ± sample std over the group's runs.
    """
    header = ["group", "runs", "step", "train loss", "test loss",
              "train accuracy", "test accuracy", "gap (train-test acc)"]
    columns = ("train_loss", "test_loss", "train_accuracy", "test_accuracy",
               "generalization_gap")
    rows = []
    for group in groups:
        statistics = final_statistics(group)
        last_step = f"{group.steps[-1]:.0f}" if group.steps.size else "-"
        rows.append([group.label, str(len(group.runs)), last_step] + [
            f"{statistics[key][0]:.4f} ± {statistics[key][1]:.4f}"
            for key in columns])
    widths = [max(len(row[column]) for row in [header] + rows)
              for column in range(len(header))]

    def format_row(cells):
        return "  ".join(cell.ljust(width) for cell, width
                         in zip(cells, widths, strict=True)).rstrip()

    rule = ["-" * width for width in widths]
    return "\n".join(format_row(cells) for cells in [header, rule] + rows)


# --------------------------------------------------------------------------
# Trajectory plots.


def draw_trajectory(axes, steps, data_mean, data_std, label, color,
                    linestyle="-"):
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
    """
    data_mean = np.asarray(data_mean, dtype=float)
    data_std = np.asarray(data_std, dtype=float)
    axes.plot(steps, data_mean, color=color, linestyle=linestyle,
              alpha=_LINE_ALPHA, label=label)
    axes.fill_between(steps, data_mean - 2 * data_std,
                      data_mean + 2 * data_std, color=color, linewidth=0,
                      alpha=_BAND_ALPHA)


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


def regularizer_steps(group):
    """Training steps 0, 1, 2, ... of the group's regularizer_loss values.

    synthetic_classification records the regularizer at every training
    step, unlike the other quantities (recorded at the evaluation steps).
    """
    length = len(group.runs[0].results["regularizer_loss"])
    return np.arange(length, dtype=float)


def plot_trajectories(groups):
    """The three-panel figure: loss, accuracy and regularizer per group.

    Args:
      groups: List of `RunGroup` (see `group_runs`).

    Returns:
      The matplotlib Figure.
    """
    figure, (loss_axes, accuracy_axes, regularizer_axes) = plt.subplots(
        1, 3, figsize=(15, 5), layout="constrained")
    colors = group_colors(len(groups))
    for group, color in zip(groups, colors, strict=True):
        for axes, quantity in ((loss_axes, "loss"),
                               (accuracy_axes, "accuracy")):
            for split, linestyle in (("train", "-"), ("test", "--")):
                mean, std = compute_statistics(group.data,
                                               f"{split}_{quantity}")
                draw_trajectory(axes, group.steps, mean, std, None, color,
                                linestyle)
        mean, std = compute_statistics(group.data, "regularizer_loss")
        draw_trajectory(regularizer_axes, regularizer_steps(group), mean, std,
                        None, color)
    for axes, title in ((loss_axes, "loss"), (accuracy_axes, "accuracy"),
                        (regularizer_axes, "regularizer (Fisher-Rao norm)")):
        axes.set_title(title)
        axes.set_xlabel("training step")
        axes.set_ylabel(title.split(" ")[0])
        axes.grid(alpha=0.3)
    split_handles = [mlines.Line2D([], [], color="black", linestyle=style,
                                   label=split)
                     for split, style in (("train", "-"), ("test", "--"))]
    loss_axes.legend(handles=split_handles, loc="best")
    accuracy_axes.legend(handles=split_handles, loc="best")
    figure.legend(handles=_group_handles(groups, colors),
                  loc="outside lower center", ncols=min(len(groups), 3))
    figure.suptitle("Training trajectories: mean ± 2 std over runs ("
                    f"{_runs_per_group_text(groups)})")
    return figure


def _group_handles(groups, colors):
    return [mlines.Line2D([], [], color=color,
                          label=f"{group.label} ({_runs_text(group)})")
            for group, color in zip(groups, colors, strict=True)]


def _runs_text(group):
    count = len(group.runs)
    return f"{count} run" if count == 1 else f"{count} runs"


def _runs_per_group_text(groups, unit="group", where="legend"):
    counts = sorted({len(group.runs) for group in groups})
    if len(counts) == 1:
        return f"{counts[0]} runs per {unit}"
    return f"{counts[0]}-{counts[-1]} runs per {unit}, see {where}"


# --------------------------------------------------------------------------
# Final values against fisher_rao_lambda.


@dataclasses.dataclass
class LambdaLine:
    """The groups of one norm/method (and other line hparams), by lambda."""
    label: str
    groups_by_lambda: dict


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
    bad = [run.name for run in runs
           if not _is_non_negative_number(
               run.results["hparams"].get(LAMBDA_HPARAM))]
    if bad:
        raise ValueError(f"{LAMBDA_HPARAM} is missing, not a number or "
                         f"negative in {bad}.")
    line_hparams = tuple(dict.fromkeys(
        LAMBDA_LINE_HPARAMS + tuple(name for name in extra_line_hparams
                                    if name != LAMBDA_HPARAM)))
    return group_runs(runs, line_hparams + (LAMBDA_HPARAM,))


def _is_non_negative_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and value >= 0)


def _lambda_lines(groups):
    """Collects groups into lines: same hparams but lambda, same steps.

    Final values taken at different steps are never joined into one line;
    such lines are told apart by a note on their recorded steps.
    """
    by_line = {}
    for group in groups:
        line_hparams = tuple((name, value)
                             for name, value in group.hparams.items()
                             if name != LAMBDA_HPARAM)
        shape = _trajectory_shape(group.runs[0].results)
        groups_by_lambda = by_line.setdefault((line_hparams, shape), {})
        groups_by_lambda[group.hparams[LAMBDA_HPARAM]] = group
    shape_counts = collections.Counter(hparams for hparams, _ in by_line)
    lines = []
    for (line_hparams, shape), groups_by_lambda in by_line.items():
        note = _shape_note(shape) if shape_counts[line_hparams] > 1 else ""
        label = RunGroup(_label_hparams(line_hparams), [], note).label
        lines.append(LambdaLine(label, groups_by_lambda))
    return lines


def _label_hparams(line_hparams):
    """The line's hparams to show: the method means nothing without a norm."""
    hparams = dict(line_hparams)
    if hparams.get("regularization_norm") == "None":
        hparams.pop("fisher_rao_method", None)
    return hparams


def plot_lambda_sweep(groups):
    """Final test loss, test accuracy and gap against fisher_rao_lambda.

    Each panel has a log lambda axis and, at its left, a narrow panel for
    lambda = 0. One line per regularization norm and method (and any extra
    line hparams): mean over seeds with a band (at lambda = 0, error bars) of
    two standard deviations. A line with only lambda = 0 runs (such as the
    unregularized baseline) is also drawn across the log panel as a dotted
    horizontal reference.

    Args:
      groups: List of `RunGroup` from `lambda_sweep_groups`.

    Returns:
      The matplotlib Figure.
    """
    lines = _lambda_lines(groups)
    colors = group_colors(len(lines))
    figure = plt.figure(figsize=(15, 5), layout="constrained")
    panels = (("test_loss", "final test loss"),
              ("test_accuracy", "final test accuracy"),
              ("generalization_gap", "generalization gap\n(train - test "
               "accuracy)"))
    statistics = {id(group): final_statistics(group) for group in groups}
    for subfigure, (key, ylabel) in zip(figure.subfigures(1, 3), panels,
                                        strict=True):
        zero_axes, log_axes = subfigure.subplots(
            1, 2, sharey=True, width_ratios=[1, 5])
        for index, (line, color) in enumerate(zip(lines, colors,
                                                      strict=True)):
            values = {lam: statistics[id(group)][key]
                      for lam, group in line.groups_by_lambda.items()}
            offset = (index - (len(lines) - 1) / 2) * 0.1
            _draw_lambda_line(zero_axes, log_axes, values, color, offset)
        _style_lambda_axes(zero_axes, log_axes, ylabel)
    handles = [mlines.Line2D([], [], color=color, marker="o", label=line.label)
               for line, color in zip(lines, colors, strict=True)]
    figure.legend(handles=handles, loc="outside lower center",
                  ncols=min(len(lines), 4))
    figure.suptitle(f"Final values against {LAMBDA_HPARAM}: mean ± 2 std "
                    f"over seeds ("
                    f"{_runs_per_group_text(groups, 'point', 'table')})")
    return figure


def _draw_lambda_line(zero_axes, log_axes, values, color, offset):
    """Draws one line's (mean, std) per lambda on the two axes."""
    if 0 in values:
        mean, std = values[0]
        zero_axes.errorbar([offset], [mean], yerr=[2 * std], color=color,
                           marker="o", capsize=3)
    positive = sorted(lam for lam in values if lam > 0)
    if positive:
        means, stds = (np.array(column) for column in
                       zip(*(values[lam] for lam in positive),
                           strict=True))
        if len(positive) > 1:
            draw_trajectory(log_axes, positive, means, stds, None, color)
        # Error bars too, since a single point has no visible band.
        log_axes.errorbar(positive, means, yerr=2 * stds if len(positive) == 1
                          else None, color=color, marker="o", linestyle="",
                          capsize=3)
    elif 0 in values:
        mean, std = values[0]
        log_axes.axhline(mean, color=color, linestyle=":", alpha=_LINE_ALPHA)
        if std > 0:
            log_axes.axhspan(mean - 2 * std, mean + 2 * std, color=color,
                             linewidth=0, alpha=_BAND_ALPHA / 2)


def _style_lambda_axes(zero_axes, log_axes, ylabel):
    zero_axes.set_xlim(-1, 1)
    zero_axes.set_xticks([0], ["λ = 0"])
    zero_axes.set_ylabel(ylabel)
    zero_axes.grid(alpha=0.3)
    log_axes.set_xscale("log")
    log_axes.set_xlabel(f"{LAMBDA_HPARAM} (log scale; λ = 0 at left)")
    log_axes.tick_params(labelleft=False)
    log_axes.grid(alpha=0.3, which="both")


# --------------------------------------------------------------------------
# Command line.

FLAGS = flags.FLAGS


def define_flags(flag_values=FLAGS):
    """Defines the command-line flags.

    Called only when run as a script, so that importing this module as a
    library adds no flags that could clash with the importer's.
    """
    flags.DEFINE_string(
        "results_dir", results_io.DEFAULT_RESULTS_DIR,
        "Directory of the results files.", flag_values=flag_values)
    flags.DEFINE_string(
        "pattern", DEFAULT_PATTERN,
        "Regular expression searched for in file names; only matching files "
        "are read.", flag_values=flag_values)
    flags.DEFINE_list(
        "group_by", list(DEFAULT_GROUP_BY),
        "Hparam names whose values separate the curves; runs differing only "
        "in others (such as random_seed) are averaged. With --plot=lambda, "
        "lines are separated by regularization_norm, fisher_rao_method and "
        "these (fisher_rao_lambda is the x-axis).", flag_values=flag_values)
    flags.DEFINE_string(
        "output", None,
        "Image file to write, PNG, PDF or SVG by extension (default: "
        "fisher_rao_<plot>.png in the current directory).",
        flag_values=flag_values)
    flags.DEFINE_bool("show", False, "Also open the figure in a window.",
                      flag_values=flag_values)
    flags.DEFINE_enum(
        "plot", "trajectories", PLOT_MODES,
        "trajectories: loss, accuracy and regularizer against training "
        "steps; lambda: final test loss, test accuracy and generalization gap "
        "against fisher_rao_lambda.", flag_values=flag_values)
    flags.register_validator(
        "pattern", _is_regular_expression,
        message="--pattern must be a valid regular expression.",
        flag_values=flag_values)
    flags.register_validator(
        "output", lambda path: path is None or path.lower().endswith(
            IMAGE_EXTENSIONS),
        message=("--output must end with one of "
                 f"{', '.join(IMAGE_EXTENSIONS)}."),
        flag_values=flag_values)


def _is_regular_expression(text):
    try:
        re.compile(text)
    except re.error:
        return False
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


def _load_runs_or_fail(results_dir, pattern, group_by):
    """The runs to plot; exits with a one-line error if there are none."""
    try:
        runs = load_runs(pattern, results_dir)
    except OSError as error:
        _fail(f"cannot read the results directory {results_dir}: "
              f"{error.strerror or error}")
    if not runs:
        _fail(f"no results files in {results_dir} match the pattern "
              f"'{pattern}'.")
    unknown = [name for name in group_by if name not in known_hparams(runs)]
    if unknown:
        _fail(f"--group_by names {unknown}, which no run records; the runs "
              f"record {known_hparams(runs)}.")
    logging.info("Read %d results files from %s.", len(runs), results_dir)
    unfinished = unfinished_runs(runs)
    if unfinished:
        logging.warning(
            "%d runs stopped before their train_steps (diverged or "
            "interrupted); their final values are from their last recorded "
            "step: %s", len(unfinished),
            ", ".join(run.name for run in unfinished))
    return runs


def _groups_and_figure(runs, plot, group_by):
    """The groups of the summary table and the figure of the `plot` mode."""
    if plot == "lambda":
        try:
            groups = lambda_sweep_groups(runs, group_by)
        except ValueError as error:
            _fail(_one_line(error))
        return groups, plot_lambda_sweep(groups)
    groups = group_runs(runs, group_by)
    return groups, plot_trajectories(groups)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not FLAGS.show:
        plt.switch_backend("agg")  # Headless: no display needed.
    runs = _load_runs_or_fail(FLAGS.results_dir, FLAGS.pattern,
                              FLAGS.group_by)
    groups, figure = _groups_and_figure(runs, FLAGS.plot, FLAGS.group_by)
    output = FLAGS.output or f"fisher_rao_{FLAGS.plot}.png"
    save_figure(figure, output)
    logging.info("Wrote the figure to %s.", output)
    print("Final values (mean ± sample std over runs):")
    print(format_summary_table(groups))
    if FLAGS.show:
        plt.show()


if __name__ == "__main__":
    define_flags()
    app.run(main)
