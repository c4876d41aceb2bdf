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
"""The regularizer study's figures, drawn from its runs and comparisons.

* `plot_selection_effects`: what the choice saw on the selection seeds;
* `plot_fresh_differences`: every arm against None on the fresh seeds;
* `plot_fresh_curves`: mean validation and test accuracy against the step,
  each arm at its chosen value (`fresh_curves` gives the data).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import lines

from fisher_rao_experiments.analysis import drawing
from fisher_rao_experiments.studies import model_selection, regularizer

CURVE_KEYS = ("validation_accuracy", "test_accuracy")


def plot_selection_effects(setting, collected):
    """Mean validation accuracy (own best step) on the selection seeds of
    every value of every regularized arm, with None's as a line: what the
    choice saw. Columns: noise levels."""
    arms = [arm for arm in setting.arms if arm.hyperparameter is not None]
    colors = drawing.group_colors(len(arms))
    figure, grid = plt.subplots(
        1,
        len(setting.label_noises),
        squeeze=False,
        layout="constrained",
        figsize=(max(9.0, 4.5 * len(setting.label_noises)), 4.5),
    )
    for column, noise in enumerate(setting.label_noises):
        axes = grid[0][column]
        baseline = _mean_own_best(
            collected,
            noise,
            regularizer.NONE_ARM,
            None,
            setting.selection_seeds,
        )
        if baseline is not None:
            axes.axhline(baseline, color="black", label="None")
        for arm, color in zip(arms, colors, strict=True):
            points = [
                (
                    index,
                    _mean_own_best(
                        collected,
                        noise,
                        arm.name,
                        value,
                        setting.selection_seeds,
                    ),
                )
                for index, value in enumerate(arm.values)
            ]
            points = [(x, y) for x, y in points if y is not None]
            if points:
                axes.plot(*zip(*points, strict=True), marker="o", color=color)
        axes.set_title(f"label noise {noise:g}", fontsize="medium")
        axes.set_xlabel("value index (weakest first; see summary.json)")
        axes.set_ylabel("validation accuracy at own best step")
        axes.grid(alpha=0.3)
    handles = [
        lines.Line2D([], [], color=color, marker="o", label=arm.name)
        for arm, color in zip(arms, colors, strict=True)
    ] + [lines.Line2D([], [], color="black", label=regularizer.NONE_ARM)]
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 4)
    )
    figure.suptitle(
        "What the selection saw: selection seeds' mean validation accuracy"
    )
    return figure


def _mean_own_best(collected, noise, arm, value, seeds):
    by_seed = collected.views.get((noise, arm, value), {})
    stops = [
        model_selection.own_best_step(
            model_selection.validation_curve(by_seed[seed])
        )
        for seed in seeds
        if seed in by_seed
    ]
    stops = [stop for stop in stops if stop is not None]
    if len(stops) != len(seeds):
        return None
    return float(np.mean([stop.accuracy for stop in stops]))


def plot_fresh_differences(setting, family_results):
    """Each main-protocol comparison against None: mean paired difference on
    the fresh seeds with its 95 % interval, one panel per metric, noise
    levels side by side within an arm."""
    comparisons = [
        item
        for result in family_results
        if result.family.name != "shared-step check"
        for item in result.results
        if item.comparison.control == regularizer.NONE_ARM
    ]
    figure, grid = plt.subplots(
        1,
        len(regularizer.METRICS),
        squeeze=False,
        layout="constrained",
        figsize=(4.0 * len(regularizer.METRICS), 4.5),
    )
    arms = [
        arm.name for arm in setting.arms if arm.name != regularizer.NONE_ARM
    ]
    colors = drawing.group_colors(len(setting.label_noises))
    for column, metric in enumerate(regularizer.METRICS):
        axes = grid[0][column]
        axes.axhline(0.0, color="black", linewidth=0.8)
        for offset, (noise, color) in enumerate(
            zip(setting.label_noises, colors, strict=True)
        ):
            x, means, lows, highs = [], [], [], []
            for index, arm in enumerate(arms):
                for item in comparisons:
                    comparison = item.comparison
                    if (
                        comparison.treatment == arm
                        and comparison.metric == metric
                        and dict(comparison.condition)[regularizer.LABEL_NOISE]
                        == noise
                        and item.difference.mean is not None
                    ):
                        x.append(index + 0.2 * (offset - 1))
                        means.append(item.difference.mean)
                        lows.append(item.difference.low)
                        highs.append(item.difference.high)
            if x:
                # Arms are categories: intervals, no joining line.
                mean = np.array(means, dtype=float)
                errors = np.vstack(
                    [
                        mean - np.array(lows, dtype=float),
                        np.array(highs, dtype=float) - mean,
                    ]
                )
                axes.errorbar(
                    x,
                    mean,
                    yerr=errors,
                    color=color,
                    marker="o",
                    linestyle="none",
                    capsize=3,
                )
        axes.set_xticks(range(len(arms)))
        axes.set_xticklabels(arms, rotation=45, ha="right")
        axes.set_title(f"{metric}: arm − None", fontsize="medium")
        axes.grid(alpha=0.3)
    handles = [
        lines.Line2D([], [], color=color, marker="o", label=f"noise {noise:g}")
        for noise, color in zip(setting.label_noises, colors, strict=True)
    ]
    figure.legend(handles=handles, loc="outside lower center", ncols=3)
    figure.suptitle(
        "Fresh seeds, each run at its own best validation step: mean "
        "paired difference and 95% t interval"
    )
    return figure


def fresh_curves(setting, selected, collected, key):
    """The mean curve of `key` over the fresh seeds' runs of each arm's
    main-protocol choice.

    Returns:
      (noise, arm name) -> (steps, means); an arm without a choice or a
      fresh run is left out, as is one whose runs were evaluated at
      different steps.
    """
    curves = {}
    for noise in setting.label_noises:
        for arm in setting.arms:
            choice = selected[
                noise, arm.name, regularizer.MAIN_PROTOCOL
            ].selection.choice
            if choice is None:
                continue
            views = list(
                regularizer.views_of(
                    collected,
                    noise,
                    arm.name,
                    choice.value,
                    setting.fresh_seeds,
                ).values()
            )
            if not views or any(
                view["steps"] != views[0]["steps"] for view in views
            ):
                continue
            values = np.array([view[key] for view in views], dtype=float)
            curves[noise, arm.name] = (
                list(views[0]["steps"]),
                list(np.mean(values, axis=0)),
            )
    return curves


def plot_fresh_curves(setting, selected, collected):
    """Mean validation and test accuracy against the step, over the fresh
    seeds, of each arm at its chosen value: where the stopping steps lie.
    Columns: noise levels; rows: `CURVE_KEYS`."""
    colors = dict(
        zip(
            [
                arm.name
                for arm in setting.arms
                if arm.name != regularizer.NONE_ARM
            ],
            drawing.group_colors(len(setting.arms) - 1),
            strict=True,
        ),
        **{regularizer.NONE_ARM: "black"},
    )
    figure, grid = plt.subplots(
        len(CURVE_KEYS),
        len(setting.label_noises),
        squeeze=False,
        sharex=True,
        layout="constrained",
        figsize=(max(9.0, 4.5 * len(setting.label_noises)), 7.5),
    )
    for row, key in enumerate(CURVE_KEYS):
        curves = fresh_curves(setting, selected, collected, key)
        for column, noise in enumerate(setting.label_noises):
            axes = grid[row][column]
            for arm in setting.arms:
                if (noise, arm.name) in curves:
                    axes.plot(
                        *curves[noise, arm.name],
                        color=colors[arm.name],
                        linewidth=2.0
                        if arm.name == regularizer.NONE_ARM
                        else 1.2,
                    )
            axes.set_title(f"label noise {noise:g}", fontsize="medium")
            axes.set_ylabel(f"{key} (mean over fresh seeds)")
            axes.grid(alpha=0.3)
    for axes in grid[-1]:
        axes.set_xlabel("training step")
    handles = [
        lines.Line2D([], [], color=colors[arm.name], label=arm.name)
        for arm in setting.arms
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 4)
    )
    figure.suptitle(
        "Fresh seeds at each arm's chosen value (own-best-step protocol)"
    )
    return figure
