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
"""Figures of final values against a swept hyper-parameter.

One panel per quantity, one line per group of the other grouping
hyper-parameters: the mean of the runs' final values (each run's last
evaluation) at each swept value, with a band (error bars at single points)
of two standard deviations. `plot_lambda_sweep` is that figure against
fisher_rao_lambda on a log axis.
"""

import numpy as np
from matplotlib import lines as mlines
from matplotlib import pyplot as plt

from fisher_rao_experiments.analysis import (
    drawing,
    grouping,
    loading,
    quantities,
    run_statistics,
)

_AXIS_LABELS = {
    quantities.GAP_KEY: "generalization gap\n(train - test accuracy)"
}
_ZERO_TICKS = {grouping.LAMBDA_HPARAM: "λ = 0"}


def x_axis_kind(x_values, log_x=None):
    """How the swept values are laid out on the x axis.

    Args:
      x_values: The hyper-parameter's values.
      log_x: True for a log axis (values must be >= 0), False for a linear
        one, None to choose: log if the values are >= 0 and the positive ones
        span a ratio of at least `drawing.LOG_SCALE_RATIO`.

    Returns:
      "categorical" (any value not a number: one tick per value), "linear"
      or "log" (with x = 0 in a narrow panel at the left).
    """
    if not all(loading.is_number(value) for value in x_values):
        return "categorical"
    if log_x is None:
        positive = [value for value in x_values if value > 0]
        log_x = (
            min(x_values) >= 0
            and len(positive) > 1
            and max(positive) >= drawing.LOG_SCALE_RATIO * min(positive)
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
      groups: List of `RunGroup` from `grouping.final_value_groups`.
      x_hparam: The hyper-parameter on the x axis.
      measures: Keys of `quantities.FINAL_KEYS`, one panel each.
      y_scale: "auto", "linear" or "log"; see `drawing.wants_log_scale`.
      log_x: See `x_axis_kind`.

    Returns:
      The matplotlib Figure.

    Raises:
      ValueError: If `measures` names a key not in `FINAL_KEYS`.
    """
    quantities.check_measures(measures, quantities.FINAL_KEYS)
    lines = grouping.final_lines(groups, x_hparam)
    colors = drawing.group_colors(len(lines))
    x_values = sorted(
        {x for line in lines for x in line.groups_by_x},
        key=lambda value: grouping.sort_key((value,)),
    )
    kind = x_axis_kind(x_values, log_x)
    statistics = {
        id(group): run_statistics.final_statistics(group, measures)
        for group in groups
    }
    rows, columns = drawing.grid_shape(len(measures))
    figure = plt.figure(
        figsize=drawing.figure_size(rows, columns), layout="constrained"
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
        drawing.set_y_scale(axes_list, means, y_scale, measure)
        drawing.note_if_nothing_drawn(axes_list[-1], means)
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
        f"{grouping.runs_per_group_text(groups, 'point', 'table')})"
    )
    return figure


def plot_lambda_sweep(
    groups, measures=quantities.DEFAULT_MEASURES["lambda"], y_scale="auto"
):
    """Final values (default: test loss, test accuracy, gap) against lambda.

    `plot_final_values` with fisher_rao_lambda on a log axis (lambda = 0 in a
    narrow panel at the left) and one line per regularization norm and method
    (and any extra line hparams); the unregularized baseline, which has only
    lambda = 0 runs, is also drawn across the log panel as a dotted line.

    Args:
      groups: List of `RunGroup` from `grouping.lambda_sweep_groups`.
      measures: Keys of `quantities.FINAL_KEYS`, one panel each.
      y_scale: "auto", "linear" or "log"; see `drawing.wants_log_scale`.

    Returns:
      The matplotlib Figure.
    """
    return plot_final_values(
        groups, grouping.LAMBDA_HPARAM, measures, y_scale, log_x=True
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
        drawing.draw_trajectory(axes, xs, means, stds, None, color, key=key)
    _draw_error_bars(axes, xs, mean_stds, color, key, bars=len(xs) == 1)


def _draw_error_bars(axes, positions, mean_stds, color, key, bars=True):
    """Markers at the means, with (clipped) 2-std error bars if `bars`."""
    means, stds = _columns(mean_stds)
    lower, upper = run_statistics.band(means, stds, key)
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
    axes.axhline(mean, color=color, linestyle=":", alpha=drawing.LINE_ALPHA)
    if std > 0:
        lower, upper = run_statistics.band(mean, std, key)
        axes.axhspan(
            lower,
            upper,
            color=color,
            linewidth=0,
            alpha=drawing.BAND_ALPHA / 2,
        )


def _style_final_axes(axes_list, kind, x_hparam, x_values, ylabel):
    axes = axes_list[-1]
    axes_list[0].set_ylabel(ylabel)
    for each in axes_list:
        each.grid(alpha=0.3, which="both")
    if kind == "categorical":
        axes.set_xticks(
            range(len(x_values)),
            [grouping.format_value(value) for value in x_values],
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
