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
differences the conclusion rests on. The settings are plain data. This
module is the design and its statistics (`analyse_setting`);
`complexity_report.analyse` writes summary.json (strict JSON), tables.md
and the figures (`complexity_figures`); experiments/complexity_study.py is
the command line.

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

from absl import logging

from fisher_rao_experiments import results_io
from fisher_rao_experiments.studies import (
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

    @property
    def tau(self):
        """Kendall's tau-b, or None without statistics."""
        return None if self.statistics is None else self.statistics.tau.value

    @property
    def granulated(self):
        """Jiang et al.'s granulated tau, or None without statistics."""
        if self.statistics is None:
            return None
        return self.statistics.granulated.value


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


def ranked_measures(correlations):
    """Measures by granulated tau with RANKING_GAP, then tau; undefined
    last."""

    def key(measure):
        correlation = correlations[measure][RANKING_GAP]
        granulated = correlation.granulated
        tau = correlation.tau
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
