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
"""Drawing primitives of the plots: curves with bands, colours, scales.

A curve is the mean over a group's runs with a band of two standard
deviations, clipped to the values the quantity can take
(`run_statistics.band`).
"""

import math
import os

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from absl import logging
from matplotlib import lines as mlines

from fisher_rao_experiments.analysis import run_statistics

Y_SCALES = ("auto", "linear", "log")
# With y_scale "auto", positive values spanning this ratio get a log axis;
# so do the positive values of a numeric swept hyper-parameter.
LOG_SCALE_RATIO = 100.0
LINE_ALPHA = 0.9
BAND_ALPHA = 0.2
# A raw trace under its smoothed line, as TensorBoard draws it.
RAW_ALPHA = 0.25
RAW_LINEWIDTH = 0.6
FIGURE_DPI = 100
PANELS_PER_ROW = 3


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
        take (see `run_statistics.band`); None leaves it unclipped.
    """
    lower, upper = run_statistics.band(data_mean, data_std, key)
    axes.plot(
        steps,
        np.asarray(data_mean, dtype=float),
        color=color,
        linestyle=linestyle,
        alpha=LINE_ALPHA,
        label=label,
    )
    axes.fill_between(
        steps, lower, upper, color=color, linewidth=0, alpha=BAND_ALPHA
    )


def draw_raw_trace(axes, steps, values, color):
    """A thin, faint line of unsmoothed values, under their smoothed curve."""
    axes.plot(
        steps,
        np.asarray(values, dtype=float),
        color=color,
        alpha=RAW_ALPHA,
        linewidth=RAW_LINEWIDTH,
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
    return bool(positive and values.max() >= LOG_SCALE_RATIO * values.min())


def set_y_scale(axes_list, values, y_scale, key):
    """Log y axes for every Axes of `axes_list` if `wants_log_scale`."""
    if wants_log_scale(values, y_scale, key):
        for axes in axes_list:
            axes.set_yscale("log")


def note_if_nothing_drawn(axes, values):
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


def group_handles(groups, colors):
    """Legend handles: one line per group, labelled with its run count."""
    return [
        mlines.Line2D([], [], color=color, label=group.legend)
        for group, color in zip(groups, colors, strict=True)
    ]


def grid_shape(count):
    """(rows, columns) of `count` panels, `PANELS_PER_ROW` at most a row."""
    columns = min(count, PANELS_PER_ROW)
    return math.ceil(count / columns), columns


def figure_size(rows, columns):
    """Inches; at least 10 wide: room for the title and legend."""
    return max(5 * columns, 10), 4.5 * rows + 0.5


def save_figure(figure, path):
    """Writes `figure` to `path` (format by extension), creating its folder."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    figure.savefig(path, dpi=FIGURE_DPI)
