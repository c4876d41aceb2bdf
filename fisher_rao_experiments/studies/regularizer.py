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
"""The regularizer study: does Fisher-Rao regularization help, against None
and weight decay?

Arms: no regularization (`None`); the standard (`fr`) and empirical (`fre`)
Fisher-Rao norm with the exact derivative on half-decade lambdas from no
effect to underfitting, and with the forward difference at a few lambdas
(what its gradient error costs); weight decay on its own grid (a positive
control). Every arm has the same step budget and seeds; a seed fixes the data
split, the label noise, the initial weights and the batch order, so the arms'
runs of one seed are paired.

Settings (`SETTINGS`, `SMOKE_SETTINGS`, plain data): `digits`, digits with
label noise 0, 0.2 and 0.4; `synthetic`, the synthetic report's task (300
training examples, SGD at 0.01, 20000 steps) with a validation split of
100. `analyse` reads a setting's runs and writes summary.json (strict JSON),
tables.md and the figures; experiments/regularizer_study.py is its command
line.

Analysis:
  * Selection (studies/model_selection.py): per label noise and arm, the
    value and stopping step of best mean validation accuracy over seeds.
    The test set is read afterwards, for the chosen models.
  * Comparisons: per label noise, every arm against `None` and every
    Fisher-Rao arm against weight decay, on test accuracy and test loss:
    paired differences on the shared seeds, t intervals, p-values, Holm's
    adjustment over every comparison made, and the smallest benefit and
    harm each interval rules out.
  * Figures: the test effect against None of every value, each at its own
    validation-chosen step (drawn after the selection, which never sees
    them); trajectories of the chosen models (validation metrics, and the
    Fisher-Rao norms on a log axis).
"""

import dataclasses
import os

import matplotlib.pyplot as plt
import numpy as np
from absl import logging
from matplotlib import lines

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import drawing, loading
from fisher_rao_experiments.studies import (
    markdown_table,
    model_selection,
    study_plots,
    study_runs,
    study_statistics,
)

LAMBDA = "fisher_rao_lambda"
WEIGHT_DECAY = "weight_decay"
LABEL_NOISE = "label_noise"
SEED = "random_seed"
TEST_METRICS = {"test_accuracy": True, "test_loss": False}  # Higher better?
NORM_MEASURES = ("fisher_rao_norm", "empirical_fisher_rao_norm")
RUNS_SUBDIRECTORY = "runs"
SUMMARY_FILE = "summary.json"
TABLES_FILE = "tables.md"
LAMBDA_FIGURE_FILE = "effects_vs_lambda.png"
WEIGHT_DECAY_FIGURE_FILE = "effects_vs_weight_decay.png"
TRAJECTORY_FIGURE_FILE = "trajectories.png"
DEFAULT_OUTPUT_DIR = os.path.join(
    os.path.dirname(results_io.DEFAULT_RESULTS_DIR),
    "fisher_rao_regularizer_study",
)


def half_decades(lowest_exponent, highest_exponent):
    """10^(k/2) from 10^lowest to 10^highest, to 3 significant digits."""
    return tuple(
        float(f"{10 ** (k / 2):.3g}")
        for k in range(2 * lowest_exponent, 2 * highest_exponent + 1)
    )


@dataclasses.dataclass(frozen=True)
class Arm:
    """A way to train: a regularizer and the values of its strength.

    Attributes:
      name: Its name in tables and figures.
      norm: The regularization_norm.
      method: The fisher_rao_method (None where no Fisher-Rao gradient is
        taken).
      hyperparameter: The key the values set (fisher_rao_lambda or
        weight_decay), or None for an arm without one.
      values: The hyper-parameter's values, weakest first; (None,) for an
        arm without one.
    """

    name: str
    norm: str
    method: str | None
    hyperparameter: str | None
    values: tuple

    @property
    def is_fisher_rao(self):
        return self.hyperparameter == LAMBDA

    def config(self, value):
        """The configuration keys of this arm at `value`."""
        config = {
            "regularization_norm": self.norm,
            LAMBDA: 0.0,
            WEIGHT_DECAY: 0.0,
        }
        if self.method is not None:
            config["fisher_rao_method"] = self.method
        if self.hyperparameter is not None:
            config[self.hyperparameter] = value
        return config


NONE_ARM = "None"
WEIGHT_DECAY_ARM = "weight-decay"


def make_arms(exact_lambdas, forward_lambdas, weight_decays):
    """None, fr/fre exact, fr/fre forward, and weight decay."""
    return (
        Arm(NONE_ARM, "None", None, None, (None,)),
        Arm("fr-exact", "fr", "exact", LAMBDA, exact_lambdas),
        Arm("fre-exact", "fre", "exact", LAMBDA, exact_lambdas),
        Arm("fr-forward", "fr", "forward", LAMBDA, forward_lambdas),
        Arm("fre-forward", "fre", "forward", LAMBDA, forward_lambdas),
        Arm(WEIGHT_DECAY_ARM, "None", None, WEIGHT_DECAY, weight_decays),
    )


@dataclasses.dataclass(frozen=True)
class Setting:
    """The task and the grid of one setting.

    Attributes:
      name: "digits" or "synthetic".
      label_noises: Values of label_noise.
      seeds: Values of random_seed.
      arms: The `Arm`s; the first is `None`.
      fixed: Every other configuration key the study sets.
    """

    name: str
    label_noises: tuple
    seeds: tuple
    arms: tuple
    fixed: dict

    def labelled_points(self):
        """(label_noise, arm, value, seed) and the configuration, per run."""
        return [
            (
                (noise, arm, value, seed),
                dict(
                    self.fixed,
                    **arm.config(value),
                    **{LABEL_NOISE: noise, SEED: seed},
                ),
            )
            for noise in self.label_noises
            for seed in self.seeds
            for arm in self.arms
            for value in arm.values
        ]

    def arm(self, name):
        (arm,) = [arm for arm in self.arms if arm.name == name]
        return arm


# Adam at 3e-4: the unregularized net's validation accuracy peaks after
# about 500 steps and falls as it memorizes the noisy labels (pilot runs at
# noise 0.4: 0.92 at step 500, 0.71 at 4000); at 1e-3 it peaked before the
# first evaluation at step 200, too early for the validation to choose a
# stopping step. Evaluations every 100 steps resolve the peak.
_DIGITS_TRAINING = {
    "dataset": "digits",
    "optimizer": "adam",
    "learning_rate": 3e-4,
    "batch_size": 64,
    "layer_width": 128,
    "num_hidden_layers": 1,
    "validation_size": 300,
    "stop_train_loss": None,
    "differentiate_probability": True,
}
_SYNTHETIC_TRAINING = {
    "dataset": "synthetic",
    "optimizer": "sgd",
    "learning_rate": 0.01,
    "batch_size": 64,
    "train_size": 400,
    "validation_size": 100,
    "test_size": 1000,
    "stop_train_loss": None,
    "differentiate_probability": True,
}
_FULL_ARMS = make_arms(
    exact_lambdas=half_decades(-4, 0),
    forward_lambdas=(1e-3, 1e-2, 1e-1),
    weight_decays=half_decades(-5, -1),
)
_SMOKE_ARMS = make_arms(
    exact_lambdas=(1e-2, 1e-1), forward_lambdas=(1e-2,), weight_decays=(1e-3,)
)
_SMOKE_TRAINING = {"train_steps": 300, "eval_steps": 100}
SETTINGS = {
    "digits": Setting(
        "digits",
        (0.0, 0.2, 0.4),
        tuple(range(1, 11)),
        _FULL_ARMS,
        dict(_DIGITS_TRAINING, train_steps=4000, eval_steps=100),
    ),
    "synthetic": Setting(
        "synthetic",
        (0.0,),
        tuple(range(1, 11)),
        _FULL_ARMS,
        dict(_SYNTHETIC_TRAINING, train_steps=20000, eval_steps=500),
    ),
}
SMOKE_SETTINGS = {
    "digits": Setting(
        "digits",
        (0.2,),
        (1, 2, 3),
        _SMOKE_ARMS,
        dict(_DIGITS_TRAINING, layer_width=16, **_SMOKE_TRAINING),
    ),
    "synthetic": Setting(
        "synthetic",
        (0.0,),
        (1, 2, 3),
        _SMOKE_ARMS,
        dict(_SYNTHETIC_TRAINING, **_SMOKE_TRAINING),
    ),
}


# --------------------------------------------------------------------------
# Runs.


@dataclasses.dataclass(frozen=True)
class ArmRun:
    """A complete run of the grid with validation metrics."""

    label_noise: float
    arm: str
    value: object
    seed: int
    run: loading.Run
    curve: model_selection.ValidationCurve


@dataclasses.dataclass
class Collected:
    """The usable runs and every file or grid point left out."""

    runs: list
    left_out: list


def collect_runs(setting, runs_dir):
    """The runs of `setting` in `runs_dir` that have validation metrics."""
    labelled = setting.labelled_points()
    grid_runs = study_runs.collect_grid_runs(
        [point for _, point in labelled],
        runs_dir,
        (
            LABEL_NOISE,
            "regularization_norm",
            "fisher_rao_method",
            LAMBDA,
            WEIGHT_DECAY,
            SEED,
        ),
    )
    runs, left_out = [], list(grid_runs.left_out)
    for grid_run in grid_runs.found:
        noise, arm, value, seed = labelled[grid_run.index][0]
        try:
            curve = model_selection.validation_curve(grid_run.run.results)
        except ValueError as error:
            left_out.append(study_runs.LeftOut(grid_run.run.name, str(error)))
            continue
        runs.append(ArmRun(noise, arm.name, value, seed, grid_run.run, curve))
    return Collected(runs, left_out)


def curves_by_value(runs, noise, arm_name):
    """value -> seed -> validation curve, of one arm at one noise level."""
    curves = {}
    for run in runs:
        if run.label_noise == noise and run.arm == arm_name:
            curves.setdefault(run.value, {})[run.seed] = run.curve
    return curves


def runs_by_seed(runs, noise, arm_name, value):
    return {
        run.seed: run
        for run in runs
        if run.label_noise == noise
        and run.arm == arm_name
        and run.value == value
    }


# --------------------------------------------------------------------------
# Selection, then the test metrics of the chosen models.


@dataclasses.dataclass(frozen=True)
class ChosenModels:
    """An arm's chosen value and step at one noise level, and their tests.

    Attributes:
      label_noise, arm: Where.
      choice: The `model_selection.Choice`, or None (no usable run).
      test: metric -> (seed -> value) at the chosen step; seeds whose test
        value is null are missing.
      run_names: seed -> results file name of the chosen runs.
    """

    label_noise: float
    arm: Arm
    choice: model_selection.Choice | None
    test: dict
    run_names: dict


def read_test_metrics(runs_of_seeds, step):
    """metric -> seed -> test value at `step`, nulls left out.

    Called only once a step is chosen: for the chosen models, and for the
    effect figures.
    """
    metrics = {metric: {} for metric in TEST_METRICS}
    for seed, run in runs_of_seeds.items():
        values = model_selection.metrics_at_step(
            run.run.results, step, tuple(TEST_METRICS)
        )
        for metric, value in values.items():
            if value is not None:
                metrics[metric][seed] = value
    return metrics


def choose_models(setting, runs):
    """A `ChosenModels` per (label noise, arm), in the setting's order.

    The choice sees validation curves only; the test metrics are read after
    it, at the chosen step of the chosen value's runs.
    """
    chosen = []
    for noise in setting.label_noises:
        for arm in setting.arms:
            choice = model_selection.choose(
                curves_by_value(runs, noise, arm.name), arm.values
            )
            if choice is None:
                chosen.append(ChosenModels(noise, arm, None, {}, {}))
                continue
            of_seeds = runs_by_seed(runs, noise, arm.name, choice.value)
            # The only reading of test metrics that can reach a table.
            test = read_test_metrics(of_seeds, choice.step)
            chosen.append(
                ChosenModels(
                    noise,
                    arm,
                    choice,
                    test,
                    {seed: run.run.name for seed, run in of_seeds.items()},
                )
            )
    return chosen


# --------------------------------------------------------------------------
# Comparisons.


@dataclasses.dataclass(frozen=True)
class Comparison:
    """A chosen arm against a reference arm on one test metric."""

    label_noise: float
    arm: str
    reference: str
    metric: str
    difference: study_statistics.PairedDifference
    holm_p_value: float | None


def _comparison_pairs(setting):
    """(arm, reference) names: every arm vs None, Fisher-Rao arms vs weight
    decay."""
    pairs = [
        (arm.name, NONE_ARM) for arm in setting.arms if arm.name != NONE_ARM
    ]
    pairs += [
        (arm.name, WEIGHT_DECAY_ARM)
        for arm in setting.arms
        if arm.is_fisher_rao
    ]
    return pairs


def compare(setting, chosen):
    """Every comparison, Holm-adjusted over those with a p-value.

    A pair where either arm has no chosen model is not made.
    """
    by_key = {
        (models.label_noise, models.arm.name): models for models in chosen
    }
    comparisons = []
    for noise in setting.label_noises:
        for arm_name, reference in _comparison_pairs(setting):
            arm, base = by_key[noise, arm_name], by_key[noise, reference]
            if arm.choice is None or base.choice is None:
                continue
            for metric in TEST_METRICS:
                comparisons.append(
                    Comparison(
                        noise,
                        arm_name,
                        reference,
                        metric,
                        study_statistics.paired_difference(
                            arm.test[metric], base.test[metric]
                        ),
                        None,
                    )
                )
    tested = [
        index
        for index, comparison in enumerate(comparisons)
        if comparison.difference.p_value is not None
    ]
    adjusted = study_statistics.holm_adjust(
        [comparisons[index].difference.p_value for index in tested]
    )
    for index, p_value in zip(tested, adjusted, strict=True):
        comparisons[index] = dataclasses.replace(
            comparisons[index], holm_p_value=float(p_value)
        )
    return comparisons


# --------------------------------------------------------------------------
# Effects of every value (figures only; drawn after the selection).


def effects_of_values(setting, runs, chosen):
    """(noise, arm) -> [(value, metric -> PairedDifference vs None)].

    Each value's runs are stopped at that value's own validation-chosen
    step and compared with the chosen `None` models on shared seeds. The
    selection is already made; these numbers only draw the figures.
    """
    baselines = {
        models.label_noise: models
        for models in chosen
        if models.arm.name == NONE_ARM and models.choice
    }
    effects = {}
    for noise in setting.label_noises:
        if noise not in baselines:
            continue
        for arm in setting.arms:
            if arm.hyperparameter is None:
                continue
            curves = curves_by_value(runs, noise, arm.name)
            points = []
            for value in arm.values:
                choice = model_selection.best_step(
                    curves.get(value, {}), value
                )
                if choice is None:
                    continue
                test = read_test_metrics(
                    runs_by_seed(runs, noise, arm.name, value), choice.step
                )
                points.append(
                    (
                        value,
                        {
                            metric: study_statistics.paired_difference(
                                test[metric], baselines[noise].test[metric]
                            )
                            for metric in TEST_METRICS
                        },
                    )
                )
            effects[noise, arm.name] = points
    return effects


# --------------------------------------------------------------------------
# summary.json and tables.md.


def _choice_dict(models):
    choice = models.choice
    entry = {
        "arm": models.arm.name,
        "hyperparameter": models.arm.hyperparameter,
        "chosen_value": None,
        "chosen_step": None,
        "mean_validation_accuracy": None,
        "mean_validation_loss": None,
        "seeds": [],
        "per_seed": [],
        "reason": None,
    }
    if choice is None:
        entry["reason"] = "no complete run with validation metrics"
        return entry
    entry.update(
        chosen_value=choice.value,
        chosen_step=choice.step,
        mean_validation_accuracy=choice.mean_accuracy,
        mean_validation_loss=choice.mean_loss,
        seeds=list(choice.seeds),
        per_seed=[
            {
                "seed": seed,
                "run": models.run_names[seed],
                **{
                    metric: models.test[metric].get(seed)
                    for metric in TEST_METRICS
                },
            }
            for seed in choice.seeds
        ],
    )
    return entry


def _comparison_dict(comparison):
    difference = comparison.difference
    higher_is_better = TEST_METRICS[comparison.metric]
    return {
        "label_noise": comparison.label_noise,
        "arm": comparison.arm,
        "reference": comparison.reference,
        "metric": comparison.metric,
        "higher_is_better": higher_is_better,
        "seeds": list(difference.seeds),
        "num_seeds": len(difference.seeds),
        "mean_difference": difference.mean,
        "interval": {"low": difference.low, "high": difference.high},
        "p_value": difference.p_value,
        "holm_p_value": comparison.holm_p_value,
        "smallest_benefit_ruled_out": (
            study_statistics.smallest_benefit_ruled_out(
                difference, higher_is_better
            )
        ),
        "smallest_harm_ruled_out": study_statistics.smallest_harm_ruled_out(
            difference, higher_is_better
        ),
        "reason": difference.reason,
    }


def summary_dict(setting, collected, chosen, comparisons, smoke):
    """The content of summary.json (see the module docstring)."""
    return {
        "study": "regularizer",
        "setting": setting.name,
        "smoke": smoke,
        "grid": {
            "label_noises": list(setting.label_noises),
            "seeds": list(setting.seeds),
            "arms": [dataclasses.asdict(arm) for arm in setting.arms],
            "fixed": setting.fixed,
            "num_runs": len(setting.labelled_points()),
        },
        "selection": model_selection.RULE,
        "statistics": {
            "difference": "arm minus reference, per shared seed",
            "interval": "t interval of the mean difference "
            "(scipy.stats.ttest_rel)",
            "confidence": study_statistics.CONFIDENCE_LEVEL,
            "adjustment": "Holm over every comparison with a p-value",
        },
        "noise_levels": [
            {
                LABEL_NOISE: noise,
                "arms": [
                    _choice_dict(models)
                    for models in chosen
                    if models.label_noise == noise
                ],
            }
            for noise in setting.label_noises
        ],
        "comparisons": [
            _comparison_dict(comparison) for comparison in comparisons
        ],
        "runs_used": sorted(run.run.name for run in collected.runs),
        "runs_left_out": [
            {"name": left_out.name, "reason": left_out.reason}
            for left_out in collected.left_out
        ],
    }


def _format_value(value):
    return "–" if value is None else f"{value:g}"


def mean_and_sd(values):
    """ "0.912 ± 0.010" over seeds; one seed's value alone (a spread of one
    value is undefined, not 0); n/a without values."""
    values = list(values)
    if not values:
        return markdown_table.NOT_AVAILABLE
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def tables_markdown(chosen, comparisons):
    """tables.md: the chosen models, then the comparisons."""
    selection_rows = []
    for models in chosen:
        choice = models.choice
        if choice is None:
            selection_rows.append(
                [
                    f"{models.label_noise:g}",
                    models.arm.name,
                    models.arm.hyperparameter or "–",
                ]
                + [markdown_table.NOT_AVAILABLE] * 6
            )
            continue
        selection_rows.append(
            [
                f"{models.label_noise:g}",
                models.arm.name,
                models.arm.hyperparameter or "–",
                _format_value(choice.value),
                str(choice.step),
                str(len(choice.seeds)),
                markdown_table.format_number(choice.mean_accuracy),
                mean_and_sd(models.test["test_accuracy"].values()),
                mean_and_sd(models.test["test_loss"].values()),
            ]
        )
    comparison_rows = []
    for comparison in comparisons:
        difference = comparison.difference
        higher_is_better = TEST_METRICS[comparison.metric]
        comparison_rows.append(
            [
                f"{comparison.label_noise:g}",
                comparison.arm,
                comparison.reference,
                comparison.metric,
                str(len(difference.seeds)),
                markdown_table.format_number(difference.mean, signed=True),
                markdown_table.format_interval(
                    difference.low, difference.high, signed=True
                ),
                markdown_table.format_p_value(difference.p_value),
                markdown_table.format_p_value(comparison.holm_p_value),
                markdown_table.format_number(
                    study_statistics.smallest_benefit_ruled_out(
                        difference, higher_is_better
                    )
                ),
            ]
        )
    return "".join(
        [
            "## Chosen models (on the validation set)\n\n",
            markdown_table.format_table(
                [
                    "label noise",
                    "arm",
                    "hyper-parameter",
                    "chosen",
                    "step",
                    "seeds",
                    "validation accuracy",
                    "test accuracy (mean ± sd)",
                    "test loss (mean ± sd)",
                ],
                selection_rows,
            ),
            "\n## Paired differences on the test set (arm − reference)\n\n",
            markdown_table.format_table(
                [
                    "label noise",
                    "arm",
                    "vs",
                    "metric",
                    "seeds",
                    "mean difference",
                    "95% CI",
                    "p",
                    "Holm p",
                    "rules out a benefit above",
                ],
                comparison_rows,
            ),
            "\nA benefit is a gain in test accuracy or a reduction of test "
            "loss; the interval rules out any benefit larger than the last "
            "column (a negative value: the arm is worse than the "
            "reference).\n",
        ]
    )


# --------------------------------------------------------------------------
# Figures.


def plot_effects(setting, effects, chosen, hyperparameter):
    """Test effect against None of every value of the arms of one key.

    Columns: label noise levels; rows: test accuracy and test loss
    differences. One line per arm whose hyper-parameter is
    `hyperparameter`: mean paired difference with its t interval, the
    chosen value starred; for the lambda figure, the chosen weight decay's
    difference is a grey band.
    """
    arms = [
        arm for arm in setting.arms if arm.hyperparameter == hyperparameter
    ]
    colors = drawing.group_colors(len(arms))
    noises = setting.label_noises
    figure, grid = plt.subplots(
        len(TEST_METRICS),
        len(noises),
        squeeze=False,
        sharex=True,
        layout="constrained",
        figsize=(max(9.0, 4.5 * len(noises)), 6.5),
    )
    chosen_by_key = {
        (models.label_noise, models.arm.name): models for models in chosen
    }
    for column, noise in enumerate(noises):
        for row, metric in enumerate(TEST_METRICS):
            axes = grid[row][column]
            axes.axhline(0.0, color="black", linewidth=0.8)
            if hyperparameter == LAMBDA:
                _draw_reference_band(axes, chosen_by_key, noise, metric)
            for index, (arm, color) in enumerate(
                zip(arms, colors, strict=True)
            ):
                _draw_arm_effects(
                    axes,
                    effects.get((noise, arm.name), []),
                    chosen_by_key[noise, arm.name],
                    metric,
                    color,
                    index - (len(arms) - 1) / 2,
                )
            axes.set_xscale("log")
            axes.grid(alpha=0.3, which="both")
            axes.set_title(f"label noise {noise:g}", fontsize="medium")
            axes.set_ylabel(f"{metric}: arm − None")
            axes.set_xlabel(hyperparameter)
    handles = [
        lines.Line2D([], [], color=color, marker="o", label=arm.name)
        for arm, color in zip(arms, colors, strict=True)
    ]
    handles.append(
        lines.Line2D(
            [],
            [],
            color="black",
            marker="*",
            linestyle="",
            markersize=10,
            label="chosen on validation",
        )
    )
    if hyperparameter == LAMBDA:
        handles.append(
            lines.Line2D(
                [],
                [],
                color="grey",
                linestyle="--",
                label="weight decay, chosen (band: 95% interval)",
            )
        )
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 4)
    )
    figure.suptitle(
        f"Test effect against None of every {hyperparameter}, "
        "each stopped at its validation-chosen step\nmean "
        "paired difference and 95% t interval over "
        f"{len(setting.seeds)} seeds"
    )
    return figure


def _draw_reference_band(axes, chosen_by_key, noise, metric):
    """The chosen weight decay's difference from None, as a grey band."""
    decay = chosen_by_key.get((noise, WEIGHT_DECAY_ARM))
    baseline = chosen_by_key.get((noise, NONE_ARM))
    if not decay or not baseline or not decay.choice or not baseline.choice:
        return
    difference = study_statistics.paired_difference(
        decay.test[metric], baseline.test[metric]
    )
    if difference.mean is None:
        return
    axes.axhline(
        difference.mean,
        color="grey",
        linestyle="--",
        label="weight decay (chosen)",
    )
    if difference.low is not None:
        axes.axhspan(
            difference.low,
            difference.high,
            color="grey",
            alpha=study_plots.BAND_ALPHA,
            linewidth=0,
        )


def _draw_arm_effects(axes, points, models, metric, color, offset):
    """One arm's differences per value; offset in decades keeps arms apart."""
    if not points:
        return
    shift = 10 ** (0.03 * offset)
    differences = [by_metric[metric] for _, by_metric in points]
    study_plots.draw_means_with_intervals(
        axes,
        [value * shift for value, _ in points],
        [difference.mean for difference in differences],
        [difference.low for difference in differences],
        [difference.high for difference in differences],
        color,
    )
    chosen = [
        (value, difference)
        for (value, _), difference in zip(points, differences, strict=True)
        if models.choice is not None
        and value == models.choice.value
        and difference.mean is not None
    ]
    for value, difference in chosen:
        axes.plot(
            [value * shift],
            [difference.mean],
            marker="*",
            markersize=14,
            color=color,
            linestyle="",
        )


def _trajectory_values(runs, key, steps):
    """Array [seeds, steps] of `key` over the runs (NaN where null)."""
    values = np.full((len(runs), len(steps)), np.nan)
    for row, run in enumerate(runs):
        recorded = dict(
            zip(
                run.run.results["steps"],
                run.run.results.get(key, []),
                strict=False,
            )
        )
        for column, step in enumerate(steps):
            value = recorded.get(step)
            if value is not None:
                values[row, column] = value
    return values


TRAJECTORY_PANELS = (
    ("validation_accuracy", "validation accuracy", False),
    ("validation_loss", "validation loss", False),
    ("fisher_rao_norm", "squared Fisher-Rao norm θᵀFθ\n(training set)", True),
    (
        "empirical_fisher_rao_norm",
        "empirical squared Fisher-Rao norm\n(training set)",
        True,
    ),
)


def plot_trajectories(setting, runs, chosen):
    """Trajectories of every arm's chosen models, per label noise level.

    Rows: validation accuracy and loss, and the Fisher-Rao norms (the
    quantity the regularizer penalizes) on a log axis, non-positive values
    left out. Mean over seeds with their range as a band; the chosen
    stopping step is a dotted vertical line.
    """
    colors = drawing.group_colors(len(setting.arms))
    noises = setting.label_noises
    figure, grid = plt.subplots(
        len(TRAJECTORY_PANELS),
        len(noises),
        squeeze=False,
        sharex=True,
        layout="constrained",
        figsize=(max(9.0, 4.5 * len(noises)), 11),
    )
    for column, noise in enumerate(noises):
        for arm, color in zip(setting.arms, colors, strict=True):
            (models,) = [
                models
                for models in chosen
                if models.label_noise == noise and models.arm.name == arm.name
            ]
            if models.choice is None:
                continue
            of_seeds = list(
                runs_by_seed(
                    runs, noise, arm.name, models.choice.value
                ).values()
            )
            steps = list(of_seeds[0].curve.steps)
            for row, (key, _, log_scale) in enumerate(TRAJECTORY_PANELS):
                values = _trajectory_values(of_seeds, key, steps)
                if log_scale:
                    values[values <= 0] = np.nan
                if np.all(np.isnan(values)):
                    continue
                axes = grid[row][column]
                study_plots.draw_mean_and_range(axes, steps, values, color)
                axes.axvline(
                    models.choice.step,
                    color=color,
                    linestyle=":",
                    alpha=study_plots.LINE_ALPHA,
                )
        for row, (_, label, log_scale) in enumerate(TRAJECTORY_PANELS):
            axes = grid[row][column]
            if log_scale and axes.has_data():
                axes.set_yscale("log")
            axes.set_ylabel(label)
            axes.grid(alpha=0.3, which="both")
        grid[0][column].set_title(f"label noise {noise:g}", fontsize="medium")
        grid[-1][column].set_xlabel("training step")
    handles = [
        lines.Line2D([], [], color=color, label=arm.name)
        for arm, color in zip(setting.arms, colors, strict=True)
    ]
    figure.legend(
        handles=handles, loc="outside lower center", ncols=min(len(handles), 4)
    )
    figure.suptitle(
        "Chosen models: mean over seeds, band = range over "
        "seeds; dotted = chosen stopping step"
    )
    return figure


# --------------------------------------------------------------------------
# The analysis.


def analyse(setting, output_dir, smoke=False):
    """Reads the runs and writes summary.json, tables.md and the figures.

    Args:
      setting: The study's `Setting`.
      output_dir: The study's directory; runs in its `runs/`.
      smoke: Recorded in the summary.

    Returns:
      The summary dictionary. Figures are drawn only if a run is usable.
    """
    collected = collect_runs(
        setting, os.path.join(output_dir, RUNS_SUBDIRECTORY)
    )
    for left_out in collected.left_out:
        logging.warning("Left out %s: %s", left_out.name, left_out.reason)
    chosen = choose_models(setting, collected.runs)
    comparisons = compare(setting, chosen)
    summary = summary_dict(setting, collected, chosen, comparisons, smoke)
    results_io.replace_json_atomically(
        summary, os.path.join(output_dir, SUMMARY_FILE)
    )
    results_io.replace_text_atomically(
        tables_markdown(chosen, comparisons),
        os.path.join(output_dir, TABLES_FILE),
    )
    if collected.runs:
        effects = effects_of_values(setting, collected.runs, chosen)
        for hyperparameter, name in (
            (LAMBDA, LAMBDA_FIGURE_FILE),
            (WEIGHT_DECAY, WEIGHT_DECAY_FIGURE_FILE),
        ):
            study_plots.save_figure(
                plot_effects(setting, effects, chosen, hyperparameter),
                os.path.join(output_dir, name),
            )
        study_plots.save_figure(
            plot_trajectories(setting, collected.runs, chosen),
            os.path.join(output_dir, TRAJECTORY_FIGURE_FILE),
        )
    return summary
