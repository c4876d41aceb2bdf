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
"""The complexity study: does the Fisher-Rao norm track generalization?

Unregularized networks on `digits`, across label noise and other
hyper-parameters, each trained to the same training cross-entropy; the
complexity measures are ranked by Kendall's tau with the generalization gap,
over all models and granulated per hyper-parameter (Jiang et al. 2019).
The grids (`FULL_GRID`, `SMOKE_GRID`) are plain data; `analyse` reads the
runs of a grid and writes summary.json (strict JSON), tables.md and the
figures. experiments/complexity_study.py is its command line.

Choices:
  * Models: a run is used if it reached its stop_train_loss
    (stopped_at_step set); the others, incomplete and duplicate files,
    files lacking a key the study reads and grid points without a results
    file are listed in summary.json with the reason. A measure that is null
    at the end leaves the model out of that measure's statistics only.
  * Measures, at the final evaluation: the five norms (squared Fisher-Rao
    norm, model and empirical; squared l2 norm; product of squared spectral
    norms; squared path norm), each raw and divided by margin^2, and the
    number of parameters. A margin <= 0 (more than 10 % of the training
    examples on the wrong side) makes the normalized measures undefined for
    that model: it is left out of their statistics only.
  * Gaps: train accuracy - test accuracy, and test loss - train loss (both
    grow with overfitting, so a good measure correlates positively with
    both). Training metrics are on the labels trained on (noisy), test
    metrics on clean labels.
  * Statistics: see studies/study_statistics.py. Every measure's
    bootstrap uses the same seed, hence the same resamples.
"""

import dataclasses
import itertools
import os

import numpy as np
from absl import logging
from matplotlib import cm, colors, lines

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import drawing
from fisher_rao_experiments.studies import (
    markdown_table,
    study_plots,
    study_runs,
    study_statistics,
)

LABEL_NOISE = "label_noise"
SEED = "random_seed"
NORM_MEASURES = (
    "fisher_rao_norm",
    "empirical_fisher_rao_norm",
    "l2_norm",
    "spectral_product",
    "path_norm",
)
MARGIN = "margin"
MARGIN_SUFFIX = "/margin^2"
NUM_PARAMETERS = "num_parameters"
MEASURES = (
    NORM_MEASURES
    + tuple(name + MARGIN_SUFFIX for name in NORM_MEASURES)
    + (NUM_PARAMETERS,)
)
GAPS = {
    "accuracy_gap": "train accuracy - test accuracy",
    "loss_gap": "test loss - train loss",
}
# What a results file must hold for a model to be analysed.
REQUIRED_KEYS = ("stopped_at_step", NUM_PARAMETERS, MARGIN) + NORM_MEASURES
# Without their final values a model has no gap. A null measure or margin
# leaves the model out of that measure's statistics only.
FINAL_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
RUNS_SUBDIRECTORY = "runs"
SUMMARY_FILE = "summary.json"
TABLES_FILE = "tables.md"
NOISE_FIGURE_FILE = "measures_vs_label_noise.png"
GAP_FIGURE_FILES = {
    "accuracy_gap": "measures_vs_accuracy_gap.png",
    "loss_gap": "measures_vs_loss_gap.png",
}
DEFAULT_OUTPUT_DIR = os.path.join(
    os.path.dirname(results_io.DEFAULT_RESULTS_DIR),
    "fisher_rao_complexity_study",
)
# Ranked by the granulated tau with this gap, Jiang et al.'s main score.
RANKING_GAP = "accuracy_gap"


@dataclasses.dataclass(frozen=True)
class Grid:
    """The networks of the study.

    Attributes:
      axes: Hyper-parameter name -> values, crossed; label_noise first.
      seeds: Values of random_seed, crossed with the axes.
      fixed: Every other configuration key the study sets (the rest take
        the training script's defaults; None = the dataset's default).
    """

    axes: dict
    seeds: tuple
    fixed: dict

    def points(self):
        """Every configuration of the grid, seed by seed."""
        names = tuple(self.axes)
        return [
            dict(
                self.fixed,
                **dict(zip(names, values, strict=True)),
                **{SEED: seed},
            )
            for seed in self.seeds
            for values in itertools.product(*self.axes.values())
        ]

    def setting(self, point):
        """What defines a model for the granulated tau: axes and seed."""
        return {name: point[name] for name in (*self.axes, SEED)}


_TRAINING = {
    "dataset": "digits",
    "regularization_norm": "None",
    "fisher_rao_lambda": 0.0,
    # No regularizer is trained on; exact in case the recorded Fisher-Rao
    # norms follow the run's method.
    "fisher_rao_method": "exact",
    "weight_decay": 0.0,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "validation_size": 0,
}
FULL_GRID = Grid(
    axes={
        LABEL_NOISE: (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
        "layer_width": (128, 512),
        "num_hidden_layers": (0, 2),
        "batch_size": (32, 128),
    },
    seeds=(1, 2, 3),
    fixed=dict(
        _TRAINING, train_steps=40000, eval_steps=500, stop_train_loss=0.01
    ),
)
SMOKE_GRID = Grid(
    axes={LABEL_NOISE: (0.0, 0.2, 1.0), "layer_width": (16, 32)},
    seeds=(1, 2),
    fixed=dict(
        _TRAINING,
        batch_size=32,
        num_hidden_layers=0,
        learning_rate=0.01,
        train_steps=300,
        eval_steps=100,
        stop_train_loss=0.5,
    ),
)


# --------------------------------------------------------------------------
# Models.


@dataclasses.dataclass(frozen=True)
class Model:
    """A trained network that reached the stop loss, at its final step.

    Attributes:
      name: Its results file's name.
      setting: Its axes' values and seed (see `Grid.setting`).
      measures: Measure name -> value, None where undefined.
      gaps: Gap name -> value.
    """

    name: str
    setting: dict
    measures: dict
    gaps: dict


def final_measures(results):
    """The complexity measures at the final evaluation.

    Returns:
      Measure name -> float, or None for a null measure and for the
      normalized measures when the margin is <= 0 or null.
    """
    margin = results[MARGIN][-1]
    measures = {}
    for name in NORM_MEASURES:
        value = results[name][-1]
        measures[name] = value
        measures[name + MARGIN_SUFFIX] = (
            value / margin**2
            if value is not None and margin is not None and margin > 0
            else None
        )
    measures[NUM_PARAMETERS] = float(results[NUM_PARAMETERS])
    return measures


def final_gaps(results):
    """The generalization gaps at the final evaluation (see GAPS)."""
    return {
        "accuracy_gap": (
            results["train_accuracy"][-1] - results["test_accuracy"][-1]
        ),
        "loss_gap": results["test_loss"][-1] - results["train_loss"][-1],
    }


def model_or_reason(grid_run, grid):
    """The `Model` of a complete run, or a `LeftOut` saying why not."""
    name, results = grid_run.run.name, grid_run.run.results
    missing = [key for key in REQUIRED_KEYS if key not in results]
    if missing:
        return study_runs.LeftOut(name, f"lacks the keys {missing}")
    if results["stopped_at_step"] is None:
        hparams = results["hparams"]
        return study_runs.LeftOut(
            name,
            f"did not reach the training loss "
            f"{hparams.get('stop_train_loss')} in "
            f"{hparams.get('train_steps')} steps (final training loss "
            f"{results['train_loss'][-1]:.4g})",
        )
    nulls = [
        key
        for key in FINAL_KEYS
        if not results[key] or results[key][-1] is None
    ]
    if nulls:
        return study_runs.LeftOut(name, f"no final value of {nulls}")
    return Model(
        name,
        grid.setting(grid_run.point),
        final_measures(results),
        final_gaps(results),
    )


@dataclasses.dataclass
class Models:
    """The models analysed and every file or grid point left out."""

    used: list
    left_out: list


def collect_models(grid, runs_dir):
    """The models of `grid` found in `runs_dir`, and what was left out."""
    describe_keys = (*grid.axes, SEED)
    grid_runs = study_runs.collect_grid_runs(
        grid.points(), runs_dir, describe_keys
    )
    used, left_out = [], list(grid_runs.left_out)
    for grid_run in grid_runs.found:
        outcome = model_or_reason(grid_run, grid)
        (used if isinstance(outcome, Model) else left_out).append(outcome)
    return Models(used, left_out)


# --------------------------------------------------------------------------
# Statistics.


@dataclasses.dataclass(frozen=True)
class Correlation:
    """How one measure ranks the models by one gap.

    Attributes:
      measure, gap: Their names.
      num_models: Models with a value of the measure.
      without_value: Names of the models where the measure is undefined.
      tau, tau_interval: Kendall tau over the models and its interval.
      granulated, granulated_interval: Granulated tau and its interval.
    """

    measure: str
    gap: str
    num_models: int
    without_value: tuple
    tau: study_statistics.Tau
    tau_interval: study_statistics.Interval
    granulated: study_statistics.GranulatedTau
    granulated_interval: study_statistics.Interval


def correlate(models, measure, gap, axes, n_resamples, seed):
    """The `Correlation` of `measure` with `gap` over `models`.

    Models where the measure is undefined are left out of its statistics.
    """
    usable = [model for model in models if model.measures[measure] is not None]
    values = np.array([model.measures[measure] for model in usable])
    gaps = np.array([model.gaps[gap] for model in usable])
    settings = [model.setting for model in usable]
    granulated = study_statistics.granulated_tau(settings, values, gaps, axes)
    return Correlation(
        measure,
        gap,
        len(usable),
        tuple(
            model.name for model in models if model.measures[measure] is None
        ),
        study_statistics.kendall_tau(values, gaps),
        study_statistics.bootstrap_tau_interval(
            values, gaps, n_resamples=n_resamples, seed=seed
        ),
        granulated,
        study_statistics.bootstrap_granulated_interval(
            granulated, n_resamples=n_resamples, seed=seed
        ),
    )


def correlate_all(models, axes, n_resamples, seed):
    """measure -> gap -> `Correlation`, for every measure and gap."""
    return {
        measure: {
            gap: correlate(models, measure, gap, axes, n_resamples, seed)
            for gap in GAPS
        }
        for measure in MEASURES
    }


def ranked_measures(correlations):
    """Measures by granulated tau with RANKING_GAP, then tau; undefined
    last."""

    def key(measure):
        correlation = correlations[measure][RANKING_GAP]
        granulated = correlation.granulated.value
        tau = correlation.tau.value
        return (
            granulated is None,
            -(granulated or 0.0),
            tau is None,
            -(tau or 0.0),
        )

    return sorted(correlations, key=key)


# --------------------------------------------------------------------------
# summary.json and tables.md.


def _interval_dict(interval):
    return {
        "low": interval.low,
        "high": interval.high,
        "reason": interval.reason,
    }


def _correlation_dict(correlation):
    granulated = correlation.granulated
    return {
        "num_models": correlation.num_models,
        "models_without_value": list(correlation.without_value),
        "tau": correlation.tau.value,
        "tau_reason": correlation.tau.reason,
        "tau_interval": _interval_dict(correlation.tau_interval),
        "granulated_tau": granulated.value,
        "granulated_tau_reason": granulated.reason,
        "granulated_tau_interval": _interval_dict(
            correlation.granulated_interval
        ),
        "per_axis": {
            psi.axis: {
                "tau": psi.value,
                "num_groups": psi.num_groups,
                "num_undefined_groups": psi.num_undefined,
                "reason": psi.reason,
            }
            for psi in granulated.per_axis
        },
    }


def summary_dict(grid, models, correlations, n_resamples, seed, smoke):
    """The content of summary.json (see the module docstring)."""
    return {
        "study": "complexity",
        "smoke": smoke,
        "grid": {
            "axes": {name: list(values) for name, values in grid.axes.items()},
            "seeds": list(grid.seeds),
            "fixed": grid.fixed,
            "num_networks": len(grid.points()),
        },
        "gaps": GAPS,
        "statistics": {
            "tau": "Kendall tau-b over models (scipy.stats.kendalltau)",
            "granulated_tau": "mean over axes of the mean tau within "
            "groups of models differing in that axis "
            "alone (Jiang et al. 2019)",
            "tau_interval": "percentile bootstrap over models",
            "granulated_tau_interval": "percentile bootstrap over the "
            "groups of each axis",
            "confidence": study_statistics.CONFIDENCE_LEVEL,
            "bootstrap_resamples": n_resamples,
            "bootstrap_seed": seed,
        },
        "ranking": f"granulated tau with {RANKING_GAP}, then tau",
        "measures": [
            dict(
                name=measure,
                **{
                    gap: _correlation_dict(correlations[measure][gap])
                    for gap in GAPS
                },
            )
            for measure in ranked_measures(correlations)
        ],
        "models_used": [model.name for model in models.used],
        "models_left_out": [
            {"name": left_out.name, "reason": left_out.reason}
            for left_out in models.left_out
        ],
    }


def _estimate_cell(value, interval):
    """ "+0.123 [+0.050, +0.200]": an estimate and its interval."""
    estimate = markdown_table.format_number(value, signed=True)
    bounds = markdown_table.format_interval(
        interval.low, interval.high, signed=True
    )
    return f"{estimate} {bounds}"


def tables_markdown(grid, models, correlations):
    """tables.md: the ranked table and the per-axis tables."""
    ranked = ranked_measures(correlations)
    header = ["rank", "measure", "models"]
    for gap in GAPS:
        header += [f"tau, {gap} [95% CI]", f"granulated tau, {gap} [95% CI]"]
    rows = []
    for rank, measure in enumerate(ranked, start=1):
        row = [
            str(rank),
            measure,
            str(correlations[measure][RANKING_GAP].num_models),
        ]
        for gap in GAPS:
            correlation = correlations[measure][gap]
            row += [
                _estimate_cell(
                    correlation.tau.value, correlation.tau_interval
                ),
                _estimate_cell(
                    correlation.granulated.value,
                    correlation.granulated_interval,
                ),
            ]
        rows.append(row)
    parts = [
        f"Models used: {len(models.used)}; left out: "
        f"{len(models.left_out)} (listed in {SUMMARY_FILE}).\n\n",
        f"## Kendall tau with the generalization gap, ranked by granulated "
        f"tau with {RANKING_GAP}\n\n",
        markdown_table.format_table(header, rows),
    ]
    for gap in GAPS:
        parts += [
            f"\n## Granulated tau per axis ({gap}: {GAPS[gap]})\n\n",
            markdown_table.format_table(
                ["measure", *grid.axes],
                [
                    [measure]
                    + [
                        markdown_table.format_number(psi.value, signed=True)
                        for psi in correlations[measure][
                            gap
                        ].granulated.per_axis
                    ]
                    for measure in ranked
                ],
            ),
        ]
    return "".join(parts)


# --------------------------------------------------------------------------
# Figures.


def _measure_title(name):
    return name.replace(MARGIN_SUFFIX, " / margin²")


def _values_by_seed(models, key_of, xs, seeds, value_of):
    """Array [seeds, xs] of value_of(model), NaN where no model or value."""
    values = np.full((len(seeds), len(xs)), np.nan)
    for model in models:
        value = value_of(model)
        if value is not None:
            values[
                seeds.index(model.setting[SEED]), xs.index(key_of(model))
            ] = value
    return values


def plot_measures_against_label_noise(models, grid):
    """Figure 1: each measure and gap against label noise.

    One line per combination of the other axes: the mean over seeds, with
    the seeds' range as a band; log y where the values span decades.
    """
    noises = list(grid.axes[LABEL_NOISE])
    other_axes = [axis for axis in grid.axes if axis != LABEL_NOISE]
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
        for name in MEASURES
    ]
    quantities += [
        (gap, f"{gap} ({GAPS[gap]})", lambda model, gap=gap: model.gaps[gap])
        for gap in GAPS
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
                lambda model: model.setting[LABEL_NOISE],
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
        axes.set_xlabel(LABEL_NOISE)
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
        f"Complexity measures at the end of training against "
        f"label noise: mean over {len(seeds)} seeds, band = "
        f"range over seeds ({len(models)} models)"
    )
    return figure


def plot_measures_against_gap(models, gap, correlations):
    """Figure 2: each measure against one gap, one point per model.

    Points are coloured by label noise; each panel's title gives tau and
    the granulated tau.
    """
    figure, axes_list = study_plots.panel_grid(len(MEASURES), 4)
    noises = np.array(
        [model.setting[LABEL_NOISE] for model in models], dtype=float
    )
    norm = colors.Normalize(vmin=0.0, vmax=1.0)
    gaps = np.array([model.gaps[gap] for model in models], dtype=float)
    for axes, measure in zip(axes_list, MEASURES, strict=True):
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
        tau = markdown_table.format_number(
            correlation.tau.value, 2, signed=True
        )
        granulated = markdown_table.format_number(
            correlation.granulated.value, 2, signed=True
        )
        axes.set_title(
            f"{_measure_title(measure)}\ntau {tau}, granulated {granulated}",
            fontsize="medium",
        )
        axes.set_xlabel(f"{gap} ({GAPS[gap]})")
        axes.grid(alpha=0.3, which="both")
    figure.colorbar(
        cm.ScalarMappable(norm=norm, cmap="viridis"),
        ax=axes_list,
        label=LABEL_NOISE,
        shrink=0.6,
    )
    figure.suptitle(
        f"Complexity measures against the {gap}, one point per "
        f"model ({len(models)} models)"
    )
    return figure


# --------------------------------------------------------------------------
# The analysis.


def analyse(grid, output_dir, n_resamples, seed, smoke=False):
    """Reads the runs and writes summary.json, tables.md and the figures.

    Args:
      grid: The study's `Grid`.
      output_dir: The study's directory; runs in its `runs/`.
      n_resamples: Bootstrap resamples.
      seed: Seed of the bootstrap.
      smoke: Recorded in the summary.

    Returns:
      The summary dictionary. Figures are drawn only if a model is used.
    """
    models = collect_models(grid, os.path.join(output_dir, RUNS_SUBDIRECTORY))
    for left_out in models.left_out:
        logging.warning("Left out %s: %s", left_out.name, left_out.reason)
    correlations = correlate_all(
        models.used, tuple(grid.axes), n_resamples, seed
    )
    summary = summary_dict(
        grid, models, correlations, n_resamples, seed, smoke
    )
    results_io.replace_json_atomically(
        summary, os.path.join(output_dir, SUMMARY_FILE)
    )
    results_io.replace_text_atomically(
        tables_markdown(grid, models, correlations),
        os.path.join(output_dir, TABLES_FILE),
    )
    if models.used:
        study_plots.save_figure(
            plot_measures_against_label_noise(models.used, grid),
            os.path.join(output_dir, NOISE_FIGURE_FILE),
        )
        for gap, name in GAP_FIGURE_FILES.items():
            study_plots.save_figure(
                plot_measures_against_gap(models.used, gap, correlations),
                os.path.join(output_dir, name),
            )
    return summary
