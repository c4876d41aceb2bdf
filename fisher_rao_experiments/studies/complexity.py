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
"""The complexity study, v2: does the Fisher-Rao norm track generalization?

Unregularized networks in three settings (`FULL_SETTINGS`): MNIST-1D MLPs
and MNIST-1D CNNs (the main result) and digits MLPs (the second setting),
each a grid crossing depth, width (channels for the CNN), batch size and
label noise (0 to random labels) over seeds, every network trained to the
same training cross-entropy with the loss checked at every step (measures
taken at the stop). The complexity measures are ranked by Kendall's tau
with the generalization gap, over all models and granulated per axis
(Jiang et al. 2019), per setting, with intervals from a bootstrap over
whole seeds; `COMPARISONS` names, before any result is read, the paired
differences the conclusion rests on. The settings are plain data;
`analyse` reads the runs and writes summary.json (strict JSON), tables.md
and the figures. experiments/complexity_study.py is its command line.

Choices:
  * Networks are bias-free (`use_bias=False`): a bias-free ReLU network is
    positively homogeneous, so <theta, grad_theta z> = (L+1) z exactly and
    the squared Fisher-Rao norm E<theta, grad l>^2 is (L+1)^2 times a
    depth-free quantity, `fisher_rao_norm_depth_normalized` (L+1 = layers
    carrying weights; see docs/training.md).
  * Models: a run is used if it reached its stop_train_loss
    (stopped_at_step set); the others, incomplete and duplicate files,
    files lacking a key the study reads and grid points without a results
    file are listed in summary.json with the reason. A measure that is null
    at the end leaves the model out of that measure's statistics only.
  * Measures, at the stop: the six norms (squared Fisher-Rao norm, raw and
    depth-normalized, model Fisher; the empirical one; squared l2 norm;
    product of squared spectral norms; squared path norm), each raw and
    divided by margin^2, and the number of parameters, the reference for
    what ranking by architecture alone achieves. A margin <= 0 (more than
    10 % of the training examples on the wrong side) makes the normalized
    measures undefined for that model: it is left out of their statistics
    only.
  * Gaps: train accuracy - test accuracy, and test loss - train loss (both
    grow with overfitting, so a good measure correlates positively with
    both). Training metrics are on the labels trained on (noisy), test
    metrics on clean labels.
  * Statistics (studies/study_statistics.py), per setting: Kendall tau-b
    over all models; Jiang et al.'s granulated tau (psi per axis = mean
    over the groups of models differing in that axis alone of tau-a, a pair
    tied in the measure or the gap counting 0; averaged over the axes);
    percentile intervals from one set of bootstrap resamples of whole
    seeds per setting (each drawn seed brings its whole grid), shared by
    every measure, so the paired differences of `COMPARISONS` are taken on
    the same resamples.
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
    "fisher_rao_norm_depth_normalized",
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
# Ranked by the granulated tau with this gap, Jiang et al.'s main score;
# the comparisons below are read on it first.
RANKING_GAP = "accuracy_gap"
# The comparisons the conclusion rests on, named before any result was
# read (issue 20): the Fisher-Rao norm, raw and depth-normalized, minus
# each of the simpler norms, in tau-b and in the granulated tau, per
# setting and gap, on the same seed resamples. A difference whose interval
# lies above 0 says the Fisher-Rao norm ranks the models by the gap better.
COMPARISONS = study_statistics.comparisons_against(
    ("fisher_rao_norm", "fisher_rao_norm_depth_normalized"),
    ("l2_norm", "spectral_product", "path_norm"),
)
# The same with every measure over margin^2: secondary, read after.
MARGIN_COMPARISONS = study_statistics.comparisons_against(
    tuple(
        name + MARGIN_SUFFIX
        for name in ("fisher_rao_norm", "fisher_rao_norm_depth_normalized")
    ),
    tuple(
        name + MARGIN_SUFFIX
        for name in ("l2_norm", "spectral_product", "path_norm")
    ),
)
# What a results file must hold for a model to be analysed.
REQUIRED_KEYS = (
    "stopped_at_step",
    "stopped_at_loss",
    NUM_PARAMETERS,
    MARGIN,
) + NORM_MEASURES
# Without their final values a model has no gap. A null measure or margin
# leaves the model out of that measure's statistics only.
FINAL_KEYS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
RUNS_SUBDIRECTORY = "runs"
SUMMARY_FILE = "summary.json"
TABLES_FILE = "tables.md"
NOISE_FIGURE_SUFFIX = "measures_vs_label_noise.png"
GAP_FIGURE_SUFFIXES = {
    "accuracy_gap": "measures_vs_accuracy_gap.png",
    "loss_gap": "measures_vs_loss_gap.png",
}
COMPARISON_FIGURE_SUFFIX = "comparisons.png"
DEFAULT_OUTPUT_DIR = os.path.join(
    os.path.dirname(results_io.DEFAULT_RESULTS_DIR),
    "fisher_rao_complexity_study",
)


@dataclasses.dataclass(frozen=True)
class Grid:
    """The networks of one setting.

    Attributes:
      axes: Hyper-parameter name -> values, crossed; label_noise first.
      seeds: Values of random_seed, crossed with the axes.
      fixed: Every other configuration key the setting sets (the rest take
        the training script's defaults). No value is None: a run records
        the value its data set chose, which a None does not match.
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


@dataclasses.dataclass(frozen=True)
class Setting:
    """A data set and architecture, analysed on its own.

    Attributes:
      name: Short name; prefixes its figures.
      description: One line for the tables.
      grid: Its `Grid`.
      main: Whether it belongs to the main result (MNIST-1D).
    """

    name: str
    description: str
    grid: Grid
    main: bool


def all_points(settings):
    """Every grid point of `settings`, setting by setting."""
    return [point for setting in settings for point in setting.grid.points()]


# Every network: unregularized, bias-free, Adam, trained to the same
# training cross-entropy with the loss checked at every step. The slowest
# networks timed (shallow, narrow, batch 128, noisy labels) stopped after
# about 14,500 steps; train_steps leaves more than 3x that.
STOP_TRAIN_LOSS = 0.01
_TRAINING = {
    "regularization_norm": "None",
    "fisher_rao_lambda": 0.0,
    # No regularizer is trained on; exact in case the recorded Fisher-Rao
    # norms follow the run's method.
    "fisher_rao_method": "exact",
    "weight_decay": 0.0,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "validation_size": 0,
    "use_bias": False,
    "stop_train_loss": STOP_TRAIN_LOSS,
    "stop_check_steps": 1,
}
_MNIST1D = dict(
    _TRAINING,
    dataset="mnist1d",
    train_size=1000,
    test_size=1000,
    train_steps=50000,
    eval_steps=5000,
)
_DIGITS = dict(_TRAINING, dataset="digits", train_steps=50000, eval_steps=5000)
_NOISES = (0.0, 0.5, 1.0)
_BATCHES = (32, 64, 128)
_SEEDS = (1, 2, 3)
# The MLP settings' axes (MNIST-1D and digits alike).
_MLP_AXES = {
    LABEL_NOISE: _NOISES,
    "num_hidden_layers": (0, 1, 2),
    "layer_width": (128, 256, 512),
    "batch_size": _BATCHES,
}
FULL_SETTINGS = (
    Setting(
        "mnist1d_mlp",
        "MNIST-1D, MLP",
        Grid(
            axes=dict(_MLP_AXES),
            seeds=_SEEDS,
            fixed=dict(_MNIST1D, architecture="mlp"),
        ),
        main=True,
    ),
    Setting(
        "mnist1d_cnn",
        "MNIST-1D, CNN",
        Grid(
            axes={
                LABEL_NOISE: _NOISES,
                "conv_layers": (1, 2, 3),
                "conv_channels": (16, 32, 64),
                "batch_size": _BATCHES,
            },
            seeds=_SEEDS,
            fixed=dict(
                _MNIST1D,
                architecture="cnn",
                kernel_size=5,
                conv_stride=2,
                head_layers=1,
                layer_width=256,
            ),
        ),
        main=True,
    ),
    Setting(
        "digits_mlp",
        "digits, MLP",
        Grid(
            axes=dict(_MLP_AXES),
            seeds=_SEEDS,
            fixed=dict(_DIGITS, architecture="mlp"),
        ),
        main=False,
    ),
)
# Every statistic is defined (two seeds, two values per axis) and every run
# reaches its (high) stop loss within a few hundred steps.
_SMOKE_TRAINING = dict(
    _TRAINING,
    learning_rate=0.01,
    batch_size=32,
    train_size=100,
    test_size=100,
    train_steps=400,
    eval_steps=400,
    stop_train_loss=0.5,
)
_SMOKE_SEEDS = (1, 2)
SMOKE_SETTINGS = (
    Setting(
        "mnist1d_mlp",
        "MNIST-1D, MLP (smoke)",
        Grid(
            axes={LABEL_NOISE: (0.0, 1.0), "num_hidden_layers": (0, 1)},
            seeds=_SMOKE_SEEDS,
            fixed=dict(
                _SMOKE_TRAINING,
                dataset="mnist1d",
                architecture="mlp",
                layer_width=32,
            ),
        ),
        main=True,
    ),
    Setting(
        "mnist1d_cnn",
        "MNIST-1D, CNN (smoke)",
        Grid(
            axes={LABEL_NOISE: (0.0, 1.0)},
            seeds=_SMOKE_SEEDS,
            fixed=dict(
                _SMOKE_TRAINING,
                dataset="mnist1d",
                architecture="cnn",
                conv_layers=1,
                conv_channels=8,
                kernel_size=5,
                conv_stride=2,
                head_layers=1,
                layer_width=32,
            ),
        ),
        main=True,
    ),
    Setting(
        "digits_mlp",
        "digits, MLP (smoke)",
        Grid(
            axes={LABEL_NOISE: (0.0, 1.0)},
            seeds=_SMOKE_SEEDS,
            fixed=dict(
                _SMOKE_TRAINING,
                dataset="digits",
                architecture="mlp",
                num_hidden_layers=0,
                layer_width=32,
            ),
        ),
        main=False,
    ),
)


# --------------------------------------------------------------------------
# Models.


@dataclasses.dataclass(frozen=True)
class Model:
    """A trained network that reached the stop loss, at its stop.

    Attributes:
      name: Its results file's name.
      setting: Its axes' values and seed (see `Grid.setting`).
      measures: Measure name -> value, None where undefined.
      gaps: Gap name -> value.
      stopped_at_loss: The training loss that met the threshold.
    """

    name: str
    setting: dict
    measures: dict
    gaps: dict
    stopped_at_loss: float | None = None


def final_measures(results):
    """The complexity measures at the final evaluation (the stop).

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
        results["stopped_at_loss"],
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


@dataclasses.dataclass(frozen=True, eq=False)
class Correlation:
    """How one measure ranks the models by one gap.

    Attributes:
      measure, gap: Their names.
      num_models: Models with a value of the measure.
      without_value: Names of the models where the measure is undefined.
      statistics: `study_statistics.SeedBootstrapCorrelation` (tau-b,
        Jiang's granulated tau and per-axis psi, with intervals over
        seeds); None when fewer than 2 models have a value (`reason`).
      reason: Why `statistics` is None, else None.
    """

    measure: str
    gap: str
    num_models: int
    without_value: tuple
    statistics: study_statistics.SeedBootstrapCorrelation | None
    reason: str | None = None


def correlate(models, measure, gap, axes, resamples):
    """The `Correlation` of `measure` with `gap` over `models`.

    Models where the measure is undefined are left out of its statistics;
    every measure uses the same `resamples`.
    """
    usable = [model for model in models if model.measures[measure] is not None]
    without = tuple(
        model.name for model in models if model.measures[measure] is None
    )
    if len(usable) < 2:
        return Correlation(
            measure,
            gap,
            len(usable),
            without,
            None,
            f"{len(usable)} model(s) with a value: tau needs at least 2",
        )
    statistics = study_statistics.seed_bootstrap_correlation(
        [model.setting for model in usable],
        [model.measures[measure] for model in usable],
        [model.gaps[gap] for model in usable],
        axes,
        resamples,
        seed_key=SEED,
    )
    return Correlation(measure, gap, len(usable), without, statistics)


def correlate_all(models, axes, n_resamples, seed):
    """measure -> gap -> `Correlation`, for every measure and gap.

    One set of seed resamples (`study_statistics.draw_seed_resamples` with
    `seed`) serves every measure and gap. None if there is no model.
    """
    if not models:
        return None
    resamples = study_statistics.draw_seed_resamples(
        [model.setting[SEED] for model in models], n_resamples, seed
    )
    return {
        measure: {
            gap: correlate(models, measure, gap, axes, resamples)
            for gap in GAPS
        }
        for measure in MEASURES
    }


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A named comparison on one gap: measure minus reference.

    Attributes:
      comparison: The `study_statistics.MeasureComparison`.
      gap: The gap.
      difference: `study_statistics.TauDifference`, or None (`reason`).
      reason: Why `difference` is None, else None.
    """

    comparison: study_statistics.MeasureComparison
    gap: str
    difference: study_statistics.TauDifference | None
    reason: str | None = None


def compare_all(correlations, comparisons):
    """`Comparison`s of `comparisons` on every gap, gap outermost."""
    compared = []
    for gap in GAPS:
        for comparison in comparisons:
            pair = [
                correlations[name][gap].statistics
                for name in (comparison.measure, comparison.reference)
            ]
            if None in pair:
                compared.append(
                    Comparison(
                        comparison,
                        gap,
                        None,
                        "a measure has fewer than 2 models with a value",
                    )
                )
                continue
            compared.append(
                Comparison(
                    comparison,
                    gap,
                    study_statistics.tau_difference(*pair),
                )
            )
    return compared


def _granulated_value(correlation):
    if correlation.statistics is None:
        return None
    return correlation.statistics.granulated.value


def _tau_value(correlation):
    if correlation.statistics is None:
        return None
    return correlation.statistics.tau.value


def ranked_measures(correlations):
    """Measures by granulated tau with RANKING_GAP, then tau; undefined
    last."""

    def key(measure):
        correlation = correlations[measure][RANKING_GAP]
        granulated = _granulated_value(correlation)
        tau = _tau_value(correlation)
        return (
            granulated is None,
            -(granulated or 0.0),
            tau is None,
            -(tau or 0.0),
        )

    return sorted(correlations, key=key)


@dataclasses.dataclass
class SettingAnalysis:
    """One setting's models, correlations and comparisons."""

    setting: Setting
    models: Models
    correlations: dict | None
    comparisons: list
    margin_comparisons: list


def analyse_setting(setting, runs_dir, n_resamples, seed):
    """The `SettingAnalysis` of one setting's runs in `runs_dir`."""
    models = collect_models(setting.grid, runs_dir)
    for left_out in models.left_out:
        logging.warning(
            "%s: left out %s: %s", setting.name, left_out.name, left_out.reason
        )
    correlations = correlate_all(
        models.used, tuple(setting.grid.axes), n_resamples, seed
    )
    if correlations is None:
        return SettingAnalysis(setting, models, None, [], [])
    return SettingAnalysis(
        setting,
        models,
        correlations,
        compare_all(correlations, COMPARISONS),
        compare_all(correlations, MARGIN_COMPARISONS),
    )


# --------------------------------------------------------------------------
# summary.json and tables.md.


def _interval_dict(interval):
    return {
        "low": interval.low,
        "high": interval.high,
        "reason": interval.reason,
        "undefined_resamples": interval.undefined_resamples,
    }


_NO_INTERVAL = {
    "low": None,
    "high": None,
    "reason": None,
    "undefined_resamples": 0,
}


def _correlation_dict(correlation):
    entry = {
        "num_models": correlation.num_models,
        "models_without_value": list(correlation.without_value),
    }
    statistics = correlation.statistics
    if statistics is None:
        reason = correlation.reason
        return dict(
            entry,
            tau=None,
            tau_reason=reason,
            tau_interval=dict(_NO_INTERVAL, reason=reason),
            granulated_tau=None,
            granulated_tau_reason=reason,
            granulated_tau_interval=dict(_NO_INTERVAL, reason=reason),
            per_axis={},
        )
    granulated = statistics.granulated
    return dict(
        entry,
        tau=statistics.tau.value,
        tau_reason=statistics.tau.reason,
        tau_interval=_interval_dict(statistics.tau_interval),
        granulated_tau=granulated.value,
        granulated_tau_reason=granulated.reason,
        granulated_tau_interval=_interval_dict(statistics.granulated_interval),
        per_axis={
            psi.axis: {
                "tau": psi.value,
                "interval": _interval_dict(interval),
                "num_groups": psi.num_groups,
                "num_singletons": psi.num_singletons,
                "reason": psi.reason,
            }
            for psi, interval in zip(
                granulated.per_axis, statistics.axis_intervals, strict=True
            )
        },
    )


def _difference_dict(difference):
    return {
        "estimate": difference.estimate,
        "low": difference.low,
        "high": difference.high,
        "fraction_positive": difference.fraction_positive,
        "reason": difference.reason,
        "undefined_resamples": difference.undefined_resamples,
    }


def _comparison_dict(compared):
    entry = {
        "measure": compared.comparison.measure,
        "reference": compared.comparison.reference,
        "gap": compared.gap,
    }
    difference = compared.difference
    if difference is None:
        return dict(entry, reason=compared.reason)
    return dict(
        entry,
        reason=None,
        tau_difference=_difference_dict(difference.tau),
        granulated_tau_difference=_difference_dict(difference.granulated),
        per_axis={
            axis: _difference_dict(axis_difference)
            for axis, axis_difference in zip(
                difference.axes, difference.per_axis, strict=True
            )
        },
    )


def _stopping_dict(models, stop_train_loss):
    """How close to the threshold the used models stopped."""
    losses = [
        model.stopped_at_loss
        for model in models
        if model.stopped_at_loss is not None
    ]
    if not losses or not stop_train_loss:
        return {"stop_train_loss": stop_train_loss, "num_models": len(losses)}
    ratios = np.array(losses) / stop_train_loss
    return {
        "stop_train_loss": stop_train_loss,
        "num_models": len(losses),
        "stopped_at_loss_over_threshold": {
            "min": float(ratios.min()),
            "median": float(np.median(ratios)),
            "max": float(ratios.max()),
        },
    }


def setting_summary(analysis):
    """The summary.json entry of one `SettingAnalysis`."""
    setting, models = analysis.setting, analysis.models
    grid = setting.grid
    correlations = analysis.correlations
    return {
        "description": setting.description,
        "main": setting.main,
        "grid": {
            "axes": {name: list(values) for name, values in grid.axes.items()},
            "seeds": list(grid.seeds),
            "fixed": grid.fixed,
            "num_networks": len(grid.points()),
        },
        "stopping": _stopping_dict(
            models.used, grid.fixed.get("stop_train_loss")
        ),
        "measures": []
        if correlations is None
        else [
            dict(
                name=measure,
                **{
                    gap: _correlation_dict(correlations[measure][gap])
                    for gap in GAPS
                },
            )
            for measure in ranked_measures(correlations)
        ],
        "comparisons": [
            _comparison_dict(compared) for compared in analysis.comparisons
        ],
        "margin_comparisons": [
            _comparison_dict(compared)
            for compared in analysis.margin_comparisons
        ],
        "models_used": [model.name for model in models.used],
        "models_left_out": [
            {"name": left_out.name, "reason": left_out.reason}
            for left_out in models.left_out
        ],
    }


def summary_dict(analyses, n_resamples, seed, smoke):
    """The content of summary.json (see the module docstring)."""
    return {
        "study": "complexity",
        "version": 2,
        "smoke": smoke,
        "gaps": GAPS,
        "statistics": {
            "tau": "Kendall tau-b over the models of a setting "
            "(scipy.stats.kendalltau)",
            "granulated_tau": "Jiang et al. 2019: psi per axis = mean over "
            "the groups of models differing in that axis alone (seed "
            "included in the rest) of tau-a, a pair tied in the measure or "
            "the gap counting 0; granulated tau = mean of psi over the axes",
            "intervals": "percentile bootstrap over whole seeds (a "
            "resample draws as many seeds as there are, with replacement, "
            "each with its whole grid); one set of resamples per setting, "
            "shared by every measure and gap",
            "comparisons": "measure minus reference, tau-b and granulated "
            "tau (and psi per axis), on the same resamples; named in "
            "studies/complexity.py (COMPARISONS) before any result was read",
            "confidence": study_statistics.CONFIDENCE_LEVEL,
            "bootstrap_resamples": n_resamples,
            "bootstrap_seed": seed,
        },
        "ranking": f"granulated tau with {RANKING_GAP}, then tau",
        "comparisons_named_in_advance": [
            {"measure": comparison.measure, "reference": comparison.reference}
            for comparison in COMPARISONS
        ],
        "settings": {
            analysis.setting.name: setting_summary(analysis)
            for analysis in analyses
        },
        "models_used": [
            model.name
            for analysis in analyses
            for model in analysis.models.used
        ],
        "num_models_left_out": sum(
            len(analysis.models.left_out) for analysis in analyses
        ),
    }


def _estimate_cell(value, interval):
    """ "+0.123 [+0.050, +0.200]": an estimate and its interval."""
    estimate = markdown_table.format_number(value, signed=True)
    bounds = markdown_table.format_interval(
        interval.low, interval.high, signed=True
    )
    return f"{estimate} {bounds}"


def _correlation_cells(correlation):
    statistics = correlation.statistics
    if statistics is None:
        return ["n/a", "n/a"]
    return [
        _estimate_cell(statistics.tau.value, statistics.tau_interval),
        _estimate_cell(
            statistics.granulated.value, statistics.granulated_interval
        ),
    ]


def _difference_cell(difference):
    return _estimate_cell(difference.estimate, difference)


def _comparison_table(comparisons):
    rows = []
    for compared in comparisons:
        row = [
            compared.gap,
            compared.comparison.measure,
            compared.comparison.reference,
        ]
        if compared.difference is None:
            row += ["n/a", "n/a", "n/a"]
        else:
            granulated = compared.difference.granulated
            row += [
                _difference_cell(compared.difference.tau),
                _difference_cell(granulated),
                markdown_table.format_number(granulated.fraction_positive),
            ]
        rows.append(row)
    return markdown_table.format_table(
        [
            "gap",
            "measure",
            "minus",
            "tau-b difference [95% CI]",
            "granulated tau difference [95% CI]",
            "share of resamples > 0 (granulated)",
        ],
        rows,
    )


def setting_markdown(analysis):
    """The tables.md section of one setting."""
    setting, models = analysis.setting, analysis.models
    correlations = analysis.correlations
    parts = [
        f"# {setting.description} ({setting.name})\n\n",
        f"Models used: {len(models.used)} of "
        f"{len(setting.grid.points())}; left out: {len(models.left_out)} "
        f"(listed in {SUMMARY_FILE}).\n\n",
    ]
    if correlations is None:
        return "".join(parts)
    ranked = ranked_measures(correlations)
    header = ["rank", "measure", "models"]
    for gap in GAPS:
        header += [
            f"tau-b, {gap} [95% CI]",
            f"granulated tau, {gap} [95% CI]",
        ]
    rows = []
    for rank, measure in enumerate(ranked, start=1):
        row = [
            str(rank),
            measure,
            str(correlations[measure][RANKING_GAP].num_models),
        ]
        for gap in GAPS:
            row += _correlation_cells(correlations[measure][gap])
        rows.append(row)
    parts += [
        f"## Kendall tau with the generalization gap, ranked by granulated "
        f"tau with {RANKING_GAP}\n\n"
        "tau-b over all models (ties dropped from its normalization); "
        "granulated tau as Jiang et al. define it (within-group tau-a, a "
        "tied pair counting 0, averaged per axis, then over the axes); 95% "
        "intervals from a bootstrap over whole seeds.\n\n",
        markdown_table.format_table(header, rows),
        "\n## Comparisons named in advance: Fisher-Rao norm minus each "
        "simpler norm\n\n",
        _comparison_table(analysis.comparisons),
        "\n## The same comparisons over margin^2 (secondary)\n\n",
        _comparison_table(analysis.margin_comparisons),
    ]
    axes = tuple(setting.grid.axes)
    for gap in GAPS:
        table_rows = []
        for measure in ranked:
            statistics = correlations[measure][gap].statistics
            if statistics is None:
                table_rows.append([measure] + ["n/a"] * len(axes))
                continue
            table_rows.append(
                [measure]
                + [
                    _estimate_cell(psi.value, interval)
                    for psi, interval in zip(
                        statistics.granulated.per_axis,
                        statistics.axis_intervals,
                        strict=True,
                    )
                ]
            )
        parts += [
            f"\n## psi per axis, ties counting 0 ({gap}: {GAPS[gap]}) "
            f"[95% CI]\n\n",
            markdown_table.format_table(["measure", *axes], table_rows),
        ]
    return "".join(parts)


def tables_markdown(analyses):
    """tables.md: every setting's tables."""
    return "\n".join(setting_markdown(analysis) for analysis in analyses)


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


def plot_measures_against_label_noise(models, grid, setting_title):
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
            _tau_value(correlation), 2, signed=True
        )
        granulated = markdown_table.format_number(
            _granulated_value(correlation), 2, signed=True
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
    rows_per_panel = len(compared) // len(GAPS)
    figure, axes_list = study_plots.panel_grid(
        len(GAPS), 1, panel_size=(10.0, 0.35 * rows_per_panel + 1.2)
    )
    for axes, gap in zip(axes_list, GAPS, strict=True):
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


# --------------------------------------------------------------------------
# The analysis.


def figure_name(setting, suffix):
    """A setting's figure file: <setting name>_<suffix>."""
    return f"{setting.name}_{suffix}"


def analyse(
    settings, output_dir, n_resamples, seed, smoke=False, figures=True
):
    """Reads the runs and writes summary.json, tables.md and the figures.

    Args:
      settings: The study's `Setting`s.
      output_dir: The study's directory; runs in its `runs/` (every
        setting's in the same directory).
      n_resamples: Bootstrap resamples.
      seed: Seed of the bootstrap.
      smoke: Recorded in the summary.
      figures: Whether to draw the figures (most of the analysis's time).

    Returns:
      The summary dictionary. A setting's figures are drawn only if it has
      a model.
    """
    runs_dir = os.path.join(output_dir, RUNS_SUBDIRECTORY)
    analyses = [
        analyse_setting(setting, runs_dir, n_resamples, seed)
        for setting in settings
    ]
    summary = summary_dict(analyses, n_resamples, seed, smoke)
    results_io.replace_json_atomically(
        summary, os.path.join(output_dir, SUMMARY_FILE)
    )
    results_io.replace_text_atomically(
        tables_markdown(analyses), os.path.join(output_dir, TABLES_FILE)
    )
    for analysis in analyses if figures else ():
        setting, used = analysis.setting, analysis.models.used
        if not used:
            continue
        study_plots.save_figure(
            plot_measures_against_label_noise(
                used, setting.grid, setting.description
            ),
            os.path.join(
                output_dir, figure_name(setting, NOISE_FIGURE_SUFFIX)
            ),
        )
        for gap, suffix in GAP_FIGURE_SUFFIXES.items():
            study_plots.save_figure(
                plot_measures_against_gap(
                    used, gap, analysis.correlations, setting.description
                ),
                os.path.join(output_dir, figure_name(setting, suffix)),
            )
        study_plots.save_figure(
            plot_comparisons(analysis),
            os.path.join(
                output_dir, figure_name(setting, COMPARISON_FIGURE_SUFFIX)
            ),
        )
    return summary
