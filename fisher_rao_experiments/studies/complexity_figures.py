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
"""The complexity study's figures, drawn from its models and correlations.

* `plot_measures_against_label_noise`: every measure against the label
  noise, per architecture;
* `plot_measures_against_gap`: every measure against a generalization gap,
  with its tau;
* `plot_comparisons`: the named comparisons' paired differences.
"""

import itertools

import numpy as np
from matplotlib import cm, colors, lines

from fisher_rao_experiments.analysis import drawing
from fisher_rao_experiments.studies import (
    complexity,
    markdown_table,
    study_plots,
)


def _measure_title(name):
    return name.replace(complexity.MARGIN_SUFFIX, " / margin²")


def _values_by_seed(models, key_of, xs, seeds, value_of):
    """Array [seeds, xs] of value_of(model), NaN where no model or value."""
    values = np.full((len(seeds), len(xs)), np.nan)
    for model in models:
        value = value_of(model)
        if value is not None:
            values[
                seeds.index(model.setting[complexity.SEED]),
                xs.index(key_of(model)),
            ] = value
    return values


def plot_measures_against_label_noise(models, grid, setting_title):
    """Figure 1: each measure and gap against label noise.

    One line per combination of the other axes: the mean over seeds, with
    the seeds' range as a band; log y where the values span decades.
    """
    noises = list(grid.axes[complexity.LABEL_NOISE])
    other_axes = [axis for axis in grid.axes if axis != complexity.LABEL_NOISE]
    combinations = list(
        itertools.product(*(grid.axes[axis] for axis in other_axes))
    )
    colors = drawing.group_colors(len(combinations))
    quantities = [
        (
            name,
            _measure_title(name),
            lambda model, name=name: model.measures[name],
        )
        for name in complexity.MEASURES
    ]
    quantities += [
        (
            gap,
            f"{gap} ({complexity.GAPS[gap]})",
            lambda model, gap=gap: model.gaps[gap],
        )
        for gap in complexity.GAPS
    ]
    figure, axes_list = study_plots.panel_grid(len(quantities), 4)
    seeds = list(grid.seeds)
    for axes, (_, title, value_of) in zip(axes_list, quantities, strict=True):
        drawn = []
        for combination, color in zip(combinations, colors, strict=True):
            members = [
                model
                for model in models
                if all(
                    model.setting[axis] == value
                    for axis, value in zip(
                        other_axes, combination, strict=True
                    )
                )
            ]
            values = _values_by_seed(
                members,
                lambda model: model.setting[complexity.LABEL_NOISE],
                noises,
                seeds,
                value_of,
            )
            if np.all(np.isnan(values)):
                continue
            study_plots.draw_mean_and_range(
                axes, noises, values, color, marker="o"
            )
            drawn.append(values)
        if drawn:
            study_plots.use_log_scale_if_spanning(
                axes, np.concatenate([values.ravel() for values in drawn])
            )
        axes.set_title(title, fontsize="medium")
        axes.set_xlabel(complexity.LABEL_NOISE)
        axes.grid(alpha=0.3, which="both")
    handles = [
        lines.Line2D(
            [],
            [],
            color=color,
            marker="o",
            label=", ".join(
                f"{axis}={value}"
                for axis, value in zip(other_axes, combination, strict=True)
            )
            or "all",
        )
        for combination, color in zip(combinations, colors, strict=True)
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 3)
    )
    figure.suptitle(
        f"{setting_title}: complexity measures at the stop against "
        f"label noise: mean over {len(seeds)} seeds, band = "
        f"range over seeds ({len(models)} models)"
    )
    return figure


def plot_measures_against_gap(models, gap, correlations, setting_title):
    """Figure 2: each measure against one gap, one point per model.

    Points are coloured by label noise; each panel's title gives tau and
    the granulated tau.
    """
    figure, axes_list = study_plots.panel_grid(len(complexity.MEASURES), 4)
    noises = np.array(
        [model.setting[complexity.LABEL_NOISE] for model in models],
        dtype=float,
    )
    norm = colors.Normalize(vmin=0.0, vmax=1.0)
    gaps = np.array([model.gaps[gap] for model in models], dtype=float)
    for axes, measure in zip(axes_list, complexity.MEASURES, strict=True):
        values = np.array(
            [
                np.nan
                if model.measures[measure] is None
                else model.measures[measure]
                for model in models
            ],
            dtype=float,
        )
        axes.scatter(
            gaps,
            values,
            c=noises,
            cmap="viridis",
            norm=norm,
            s=14,
            alpha=study_plots.LINE_ALPHA,
        )
        study_plots.use_log_scale_if_spanning(axes, values)
        correlation = correlations[measure][gap]
        tau = markdown_table.format_number(correlation.tau, 2, signed=True)
        granulated = markdown_table.format_number(
            correlation.granulated, 2, signed=True
        )
        axes.set_title(
            f"{_measure_title(measure)}\ntau {tau}, granulated {granulated}",
            fontsize="medium",
        )
        axes.set_xlabel(f"{gap} ({complexity.GAPS[gap]})")
        axes.grid(alpha=0.3, which="both")
    figure.colorbar(
        cm.ScalarMappable(norm=norm, cmap="viridis"),
        ax=axes_list,
        label=complexity.LABEL_NOISE,
        shrink=0.6,
    )
    figure.suptitle(
        f"{setting_title}: complexity measures against the {gap}, one "
        f"point per "
        f"model ({len(models)} models)"
    )
    return figure


def plot_comparisons(analysis):
    """Figure 4: the named comparisons' differences with their intervals.

    One panel per gap, one above the other; a row per comparison (the
    margin^2 ones below), the tau-b and granulated tau differences side by
    side.
    """
    compared = analysis.comparisons + analysis.margin_comparisons
    rows_per_panel = len(compared) // len(complexity.GAPS)
    figure, axes_list = study_plots.panel_grid(
        len(complexity.GAPS), 1, panel_size=(10.0, 0.35 * rows_per_panel + 1.2)
    )
    for axes, gap in zip(axes_list, complexity.GAPS, strict=True):
        rows = [entry for entry in compared if entry.gap == gap]
        labels = []
        for row, entry in enumerate(rows):
            labels.append(
                f"{entry.comparison.measure} - {entry.comparison.reference}"
            )
            if entry.difference is None:
                continue
            for offset, (difference, color, name) in enumerate(
                (
                    (entry.difference.tau, "tab:blue", "tau-b"),
                    (entry.difference.granulated, "tab:orange", "granulated"),
                )
            ):
                if difference.estimate is None:
                    continue
                y = row + 0.2 * (offset - 0.5)
                if difference.low is not None:
                    axes.plot(
                        [difference.low, difference.high],
                        [y, y],
                        color=color,
                    )
                axes.plot(
                    difference.estimate,
                    y,
                    "o",
                    color=color,
                    label=name if row == 0 else None,
                )
        axes.axvline(0.0, color="grey", linewidth=0.8)
        axes.set_yticks(range(len(rows)), labels, fontsize="small")
        axes.invert_yaxis()
        axes.set_xlabel(f"difference of tau with the {gap}")
        axes.grid(alpha=0.3, axis="x")
        if rows:
            axes.legend(
                loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small"
            )
    figure.suptitle(
        f"{analysis.setting.description}: comparisons named in advance\n"
        f"measure minus reference, 95 % seed-bootstrap intervals"
    )
    return figure
