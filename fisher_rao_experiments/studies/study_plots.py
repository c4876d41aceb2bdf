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
"""Figure helpers shared by the studies.

Bands over seeds are the range (minimum to maximum) of the seeds' values, so
a band never leaves the values' own range: never below 0 for a non-negative
quantity, and always drawable on a log axis when the values are positive.
"""

import math
import os

import matplotlib.pyplot as plt
import numpy as np

from fisher_rao_experiments.analysis import drawing

LINE_ALPHA = 0.9
BAND_ALPHA = 0.2
FIGURE_DPI = 100


def panel_grid(num_panels, columns, panel_size=(4.0, 3.2)):
    """A constrained-layout figure of `num_panels` axes, row by row.

    Returns:
      `(figure, axes)`, `axes` a flat list of `num_panels` Axes; the unused
      cells of the last row are removed.
    """
    rows = math.ceil(num_panels / columns)
    figure, grid = plt.subplots(
        rows,
        columns,
        squeeze=False,
        layout="constrained",
        figsize=(panel_size[0] * columns, panel_size[1] * rows),
    )
    axes = list(grid.flat)
    for unused in axes[num_panels:]:
        unused.remove()
    return figure, axes[:num_panels]


def draw_mean_and_range(
    axes, x, values, color, label=None, linestyle="-", marker=None
):
    """The mean over seeds as a line, their range as a band.

    Args:
      axes: Matplotlib Axes.
      x: Positions, one per column of `values`.
      values: Array [seeds, positions]; NaN (a missing seed) is ignored.
      color: Matplotlib colour.
      label: Legend label, or None.
      linestyle: Line style of the mean.
      marker: Marker of the mean, or None.
    """
    values = np.asarray(values, dtype=float)
    defined = ~np.all(np.isnan(values), axis=0)
    x = np.asarray(x, dtype=float)[defined]
    values = values[:, defined]
    axes.plot(
        x,
        np.nanmean(values, axis=0),
        color=color,
        label=label,
        linestyle=linestyle,
        marker=marker,
        alpha=LINE_ALPHA,
    )
    axes.fill_between(
        x,
        np.nanmin(values, axis=0),
        np.nanmax(values, axis=0),
        color=color,
        linewidth=0,
        alpha=BAND_ALPHA,
    )


def draw_means_with_intervals(
    axes, x, means, lows, highs, color, label=None, marker="o"
):
    """Means joined by a line, each with an error bar from low to high.

    None entries (no estimate) are skipped; an interval of None bounds
    draws the mean without a bar.
    """
    points = [
        (position, mean, low, high)
        for position, mean, low, high in zip(
            x, means, lows, highs, strict=True
        )
        if mean is not None
    ]
    if not points:
        return
    position, mean, low, high = (
        np.array(column, dtype=float) for column in zip(*points, strict=True)
    )
    errors = np.vstack([mean - low, high - mean])  # NaN where no interval.
    axes.errorbar(
        position,
        mean,
        yerr=errors,
        color=color,
        label=label,
        marker=marker,
        capsize=3,
        alpha=LINE_ALPHA,
    )


def use_log_scale_if_spanning(axes, values):
    """Sets a log y-axis by the plots' "auto" rule: every value > 0 and
    the largest at least `drawing.LOG_SCALE_RATIO` times the smallest."""
    if drawing.wants_log_scale(values, "auto", key=None):
        axes.set_yscale("log")


def save_figure(figure, path):
    """Writes `figure` to `path` atomically (format by extension); closes it.

    Rendered to a hidden temporary file in the same directory, then renamed
    over `path`, so no reader sees half an image.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    stem, extension = os.path.splitext(os.path.basename(path))
    temporary_path = os.path.join(
        directory, f".tmp-{stem}-{os.getpid()}{extension}"
    )
    try:
        figure.savefig(temporary_path, dpi=FIGURE_DPI)
        os.replace(temporary_path, path)
    finally:
        plt.close(figure)
        if os.path.exists(temporary_path):
            os.unlink(temporary_path)
    return path
