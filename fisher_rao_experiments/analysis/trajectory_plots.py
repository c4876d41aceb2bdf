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
"""Figures of quantities against training steps, one colour per group.

`plot_trajectories`: loss, accuracy and the regularizer; `plot_measures`:
any quantities recorded at the evaluations, one panel each. Curves are the
mean over a group's runs with a band of two standard deviations. The
regularizer, recorded at every training step on that step's minibatch, is
drawn as TensorBoard draws scalars: its raw mean faintly, and over it the
smoothed mean (see smoothing.py) with the band of the smoothed runs.
"""

import numpy as np
from matplotlib import lines as mlines
from matplotlib import pyplot as plt

from fisher_rao_experiments.analysis import (
    drawing,
    grouping,
    quantities,
    run_statistics,
    smoothing,
)

_SPLIT_STYLES = (("train", "-"), ("validation", ":"), ("test", "--"))
_REGULARIZER = quantities.REGULARIZER_KEY


def regularizer_steps(group):
    """Training steps 0, 1, 2, ... of the group's regularizer_loss values.

    The training script records the regularizer at every training step,
    unlike the other quantities (recorded at the evaluation steps).
    """
    length = len(group.runs[0].results[_REGULARIZER])
    return np.arange(length, dtype=float)


def _recorded(data, key):
    """The runs' `key` trajectories; nulls for runs that lack the key."""
    return [
        {key: results.get(key, [None] * len(results["steps"]))}
        for results in data
    ]


def _has_values(data, key):
    return any(
        value is not None for results in data for value in results.get(key, ())
    )


def smoothed_statistics(group, weight):
    """Mean and std over the group's runs of their smoothed regularizer.

    Each run's trace is smoothed (`smoothing.smooth`), then averaged: the
    band is the spread of the runs' trends, not of their minibatch noise.
    """
    smoothed = [
        {_REGULARIZER: smoothing.smooth(results[_REGULARIZER], weight)}
        for results in group.data
    ]
    return run_statistics.compute_statistics(smoothed, _REGULARIZER)


def _draw_regularizer(axes, group, color, weight):
    steps = regularizer_steps(group)
    raw_mean, raw_std = run_statistics.compute_statistics(
        group.data, _REGULARIZER
    )
    if weight == 0:
        drawing.draw_trajectory(
            axes, steps, raw_mean, raw_std, None, color, key=_REGULARIZER
        )
        return
    drawing.draw_raw_trace(axes, steps, raw_mean, color)
    mean, std = smoothed_statistics(group, weight)
    drawing.draw_trajectory(
        axes, steps, mean, std, None, color, key=_REGULARIZER
    )


def plot_trajectories(groups, smoothing_weight=smoothing.DEFAULT_SMOOTHING):
    """The three-panel figure: loss, accuracy and regularizer per group.

    Loss and accuracy are drawn for train (solid), validation (dotted, where
    recorded) and test (dashed); bands are clipped to the values each
    quantity can take. The regularizer's raw mean is a faint trace under its
    smoothed mean and band.

    Args:
      groups: List of `RunGroup` (see `grouping.group_runs`).
      smoothing_weight: TensorBoard's smoothing weight of the regularizer,
        per training step, in [0, 1); 0 draws the raw mean with its band
        and no smoothed line.

    Returns:
      The matplotlib Figure.

    Raises:
      ValueError: If `smoothing_weight` is not in [0, 1).
    """
    smoothing.check_weight(smoothing_weight)
    figure, (loss_axes, accuracy_axes, regularizer_axes) = plt.subplots(
        1, 3, figsize=(15, 5), layout="constrained"
    )
    colors = drawing.group_colors(len(groups))
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
                mean, std = run_statistics.compute_statistics(
                    _recorded(group.data, key), key
                )
                drawing.draw_trajectory(
                    axes, group.steps, mean, std, None, color, linestyle, key
                )
        _draw_regularizer(regularizer_axes, group, color, smoothing_weight)
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
    if smoothing_weight:
        regularizer_axes.legend(
            handles=_smoothing_handles(smoothing_weight), loc="best"
        )
    figure.legend(
        handles=drawing.group_handles(groups, colors),
        loc="outside lower center",
        ncols=min(len(groups), 3),
    )
    figure.suptitle(
        "Training trajectories: mean ± 2 std over runs ("
        f"{grouping.runs_per_group_text(groups)})"
    )
    return figure


def _smoothing_handles(weight):
    return [
        mlines.Line2D(
            [],
            [],
            color="black",
            alpha=drawing.RAW_ALPHA,
            linewidth=drawing.RAW_LINEWIDTH,
            label="raw (every step)",
        ),
        mlines.Line2D(
            [],
            [],
            color="black",
            alpha=drawing.LINE_ALPHA,
            label=f"smoothed (weight {weight:g})",
        ),
    ]


def plot_measures(groups, measures, y_scale="auto"):
    """One panel per recorded quantity against training steps.

    Args:
      groups: List of `RunGroup` (see `grouping.group_runs`).
      measures: Keys of `quantities.EVALUATED_KEYS`, one panel each.
      y_scale: "auto", "linear" or "log"; see `drawing.wants_log_scale`.

    Returns:
      The matplotlib Figure.

    Raises:
      ValueError: If `measures` names a key not in `EVALUATED_KEYS`.
    """
    quantities.check_measures(measures, quantities.EVALUATED_KEYS)
    rows, columns = drawing.grid_shape(len(measures))
    figure, axes_grid = plt.subplots(
        rows,
        columns,
        figsize=drawing.figure_size(rows, columns),
        layout="constrained",
        squeeze=False,
    )
    colors = drawing.group_colors(len(groups))
    panels = axes_grid.ravel()
    for axes, measure in zip(panels[: len(measures)], measures, strict=True):
        means = []
        for group, color in zip(groups, colors, strict=True):
            mean, std = run_statistics.compute_statistics(group.data, measure)
            drawing.draw_trajectory(
                axes, group.steps, mean, std, None, color, key=measure
            )
            means.extend(mean)
        axes.set_title(measure)
        axes.set_xlabel("training step")
        axes.grid(alpha=0.3)
        drawing.set_y_scale([axes], means, y_scale, measure)
        drawing.note_if_nothing_drawn(axes, means)
    for axes in panels[len(measures) :]:
        axes.remove()
    figure.legend(
        handles=drawing.group_handles(groups, colors),
        loc="outside lower center",
        ncols=min(len(groups), 3),
    )
    figure.suptitle(
        "Measures against training steps: mean ± 2 std over "
        f"runs ({grouping.runs_per_group_text(groups)})"
    )
    return figure
