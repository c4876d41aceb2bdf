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
"""Model selection on the validation set alone.

The choosing functions take `ValidationCurve`s, which hold a run's
evaluation steps and validation accuracy and loss and nothing else, so no
choice can depend on a test number. Test metrics are read afterwards, at the
chosen step of the chosen runs (`metrics_at_step`).

The rule (RULE), per arm and label noise level: over every value of the
arm's hyper-parameter and every evaluation step, the pair with the highest
mean validation accuracy over seeds; ties go to the lower mean validation
loss, then to the value listed first (the weakest regularization), then to
the earlier step. The stopping step is shared by the seeds, like the value:
it is part of the recipe chosen, not tuned per run.
"""

import dataclasses

import numpy as np

VALIDATION_KEYS = ("validation_accuracy", "validation_loss")
RULE = (
    "Per arm and label noise level, the hyper-parameter value and "
    "stopping step (shared by the seeds) of highest mean validation "
    "accuracy over seeds; ties: lower mean validation loss, then the "
    "weaker regularization, then the earlier step. Test metrics are "
    "read afterwards, at the chosen step of the chosen runs."
)
# Means equal to this many decimals are ties (sums of the same accuracies in
# another order differ in the last bits).
_TIE_DECIMALS = 12


@dataclasses.dataclass(frozen=True)
class ValidationCurve:
    """A run's validation metrics per evaluation step (NaN where null)."""

    steps: tuple
    accuracy: np.ndarray
    loss: np.ndarray


@dataclasses.dataclass(frozen=True)
class Choice:
    """A chosen hyper-parameter value and stopping step.

    Attributes:
      value: The hyper-parameter's value (None for an arm without one).
      step: The stopping step.
      mean_accuracy, mean_loss: Mean validation accuracy and loss over
        `seeds` at `step`.
      seeds: The seeds of the value's runs, sorted.
    """

    value: object
    step: int
    mean_accuracy: float
    mean_loss: float
    seeds: tuple


def validation_curve(results):
    """The `ValidationCurve` of a results dictionary.

    Raises:
      ValueError: If the run recorded no validation metrics (a key missing,
        or every value null: no validation split).
    """
    missing = [key for key in VALIDATION_KEYS if key not in results]
    if missing:
        raise ValueError(f"no validation metrics: lacks {missing}")
    accuracy, loss = (
        np.array(
            [np.nan if value is None else value for value in results[key]],
            dtype=float,
        )
        for key in VALIDATION_KEYS
    )
    if np.all(np.isnan(accuracy)):
        raise ValueError(
            "no validation metrics: every value is null (validation_size 0?)"
        )
    if not len(accuracy) == len(loss) == len(results["steps"]):
        raise ValueError("validation metrics and steps differ in length")
    return ValidationCurve(tuple(results["steps"]), accuracy, loss)


def best_step(curves_by_seed, value=None):
    """The stopping step with the best mean validation metrics over seeds.

    Args:
      curves_by_seed: Mapping seed -> `ValidationCurve`.
      value: The hyper-parameter value to record in the `Choice`.

    Returns:
      The `Choice` at the step of highest mean validation accuracy (ties:
      lower mean loss, then earlier step), over the steps every seed
      evaluated with finite metrics; None if there is no such step.
    """
    if not curves_by_seed:
        return None
    seeds = tuple(sorted(curves_by_seed))
    common = set.intersection(
        *(set(curves_by_seed[seed].steps) for seed in seeds)
    )
    candidates = []
    for step in sorted(common):
        accuracies, losses = [], []
        for seed in seeds:
            curve = curves_by_seed[seed]
            index = curve.steps.index(step)
            accuracies.append(curve.accuracy[index])
            losses.append(curve.loss[index])
        if np.all(np.isfinite(accuracies)) and np.all(np.isfinite(losses)):
            candidates.append(
                Choice(
                    value,
                    step,
                    float(np.mean(accuracies)),
                    float(np.mean(losses)),
                    seeds,
                )
            )
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda choice: (
            -round(choice.mean_accuracy, _TIE_DECIMALS),
            round(choice.mean_loss, _TIE_DECIMALS),
            choice.step,
        ),
    )


def choose(curves_by_value, values):
    """The best (value, stopping step) of an arm, by the module's rule.

    Args:
      curves_by_value: Mapping value -> (seed -> `ValidationCurve`).
      values: The arm's values in order of preference on ties (weakest
        regularization first); values without runs are skipped.

    Returns:
      The `Choice`, or None if no value has a usable step.
    """
    best = []
    for rank, value in enumerate(values):
        choice = best_step(curves_by_value.get(value, {}), value)
        if choice is not None:
            best.append((rank, choice))
    if not best:
        return None
    _, choice = min(
        best,
        key=lambda item: (
            -round(item[1].mean_accuracy, _TIE_DECIMALS),
            round(item[1].mean_loss, _TIE_DECIMALS),
            item[0],
            item[1].step,
        ),
    )
    return choice


def metrics_at_step(results, step, keys):
    """The values of `keys` at evaluation step `step` of a run.

    For reading the test metrics of a model once it is chosen.

    Returns:
      Mapping key -> float, or None where the value is null.

    Raises:
      ValueError: If the run has no evaluation at `step`.
    """
    if step not in results["steps"]:
        raise ValueError(f"no evaluation at step {step}")
    index = results["steps"].index(step)
    return {key: results[key][index] for key in keys}
