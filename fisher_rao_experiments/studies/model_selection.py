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

Selection on selection seeds, test on fresh seeds (regularizer study v3):
`SeedSplit` separates the seeds that choose from the fresh seeds that test
(`split_seeds`; or `cross_fitted_splits`: choose on half, test on the other
half, and swap). `choose_on_selection_seeds` reads only the selection seeds'
validation curves, under one of two protocols:
  * OWN_BEST_STEP (main): each run stops at its own best validation step
    (`own_best_step`); the value of highest mean over the selection seeds
    of that best validation accuracy is chosen.
  * SHARED_STEP (check, the v2 protocol): one (value, step) pair shared by
    the seeds, by the rule below.
`select_and_read` then reads the fresh seeds' runs of the chosen value at
their stopping steps (RULES describes both protocols in words).

The v2 rule (RULE, `choose`), per arm and label noise level: over every
value of the arm's hyper-parameter and every evaluation step, the pair with
the highest mean validation accuracy over seeds; ties go to the lower mean
validation loss, then to the value listed first (the weakest
regularization), then to the earlier step. The stopping step is shared by
the seeds, like the value: it is part of the recipe chosen, not tuned per
run. `choose` reads every seed it is given: it selects and tests on the
same seeds unless the caller passes only selection seeds.
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
      step: The stopping step shared by the seeds (None under
        OWN_BEST_STEP, where each run stops at its own best step).
      mean_accuracy, mean_loss: Mean validation accuracy and loss over
        `seeds` at `step`.
      seeds: The seeds of the value's runs, sorted.
    """

    value: object
    step: int | None
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


# --------------------------------------------------------------------------
# Selection on selection seeds, test on fresh seeds.

OWN_BEST_STEP = "own_best_step"
SHARED_STEP = "shared_step"
PROTOCOLS = (OWN_BEST_STEP, SHARED_STEP)
RULES = {
    OWN_BEST_STEP: (
        "Each run stops at its own best validation step (highest "
        "validation accuracy; ties: lower validation loss, then the "
        "earlier step). Per arm, the hyper-parameter value of highest mean "
        "over the selection seeds of that best validation accuracy; ties: "
        "lower mean validation loss at those steps, then the weaker "
        "regularization. Only the selection seeds' validation metrics are "
        "read to choose; the fresh seeds' runs of the chosen value are then "
        "read, each at its own best validation step."
    ),
    SHARED_STEP: (
        "Per arm, the hyper-parameter value and stopping step (shared by "
        "the seeds) of highest mean validation accuracy over the selection "
        "seeds; ties: lower mean validation loss, then the weaker "
        "regularization, then the earlier step. Only the selection seeds' "
        "validation metrics are read to choose; the fresh seeds' runs of "
        "the chosen value are then read at the chosen step."
    ),
}


@dataclasses.dataclass(frozen=True)
class SeedSplit:
    """Seeds that choose the hyper-parameters, and seeds that test them.

    Attributes:
      selection: The seeds whose validation metrics choose (sorted).
      fresh: The seeds never used to choose, whose test metrics are read
        for the chosen values (sorted).
    """

    selection: tuple
    fresh: tuple

    def __post_init__(self):
        selection = tuple(sorted(set(self.selection)))
        fresh = tuple(sorted(set(self.fresh)))
        object.__setattr__(self, "selection", selection)
        object.__setattr__(self, "fresh", fresh)
        if not selection or not fresh:
            raise ValueError("selection and fresh seeds must be non-empty.")
        shared = sorted(set(selection) & set(fresh))
        if shared:
            raise ValueError(f"seeds {shared} both select and test.")


def split_seeds(seeds, num_selection):
    """The first `num_selection` sorted seeds select; the rest are fresh."""
    seeds = sorted(set(seeds))
    if not 0 < num_selection < len(seeds):
        raise ValueError(
            f"cannot take {num_selection} of {len(seeds)} seeds to select."
        )
    return SeedSplit(
        tuple(seeds[:num_selection]), tuple(seeds[num_selection:])
    )


def cross_fitted_splits(seeds):
    """Cross-fitting: choose on one half, test on the other, and swap.

    Returns:
      Two `SeedSplit`s: the first len(seeds) // 2 sorted seeds select and the
      rest are fresh, then the reverse. Every seed is fresh exactly once.
    """
    seeds = sorted(set(seeds))
    if len(seeds) < 2:
        raise ValueError("cross-fitting needs at least 2 seeds.")
    half = len(seeds) // 2
    first, second = tuple(seeds[:half]), tuple(seeds[half:])
    return SeedSplit(first, second), SeedSplit(second, first)


@dataclasses.dataclass(frozen=True)
class RunStop:
    """Where a run stops under early stopping on its own validation.

    Attributes:
      step: The evaluation step of highest validation accuracy (ties:
        lower validation loss, then the earlier step).
      accuracy, loss: The validation accuracy and loss there.
    """

    step: int
    accuracy: float
    loss: float


def own_best_step(curve):
    """The `RunStop` of a run, over its steps with finite metrics.

    Returns None if no step has finite validation accuracy and loss.
    """
    candidates = [
        RunStop(step, float(accuracy), float(loss))
        for step, accuracy, loss in zip(
            curve.steps, curve.accuracy, curve.loss, strict=True
        )
        if np.isfinite(accuracy) and np.isfinite(loss)
    ]
    if not candidates:
        return None
    return min(
        candidates, key=lambda stop: (-stop.accuracy, stop.loss, stop.step)
    )


def _own_best_step_choice(curves_by_seed, value, seeds):
    stops = [own_best_step(curves_by_seed[seed]) for seed in seeds]
    if any(stop is None for stop in stops):
        return None
    return Choice(
        value,
        None,
        float(np.mean([stop.accuracy for stop in stops])),
        float(np.mean([stop.loss for stop in stops])),
        tuple(seeds),
    )


@dataclasses.dataclass(frozen=True)
class Selection:
    """An arm's choice, and what it was chosen among.

    Attributes:
      protocol: OWN_BEST_STEP or SHARED_STEP.
      choice: The chosen `Choice` (step None under OWN_BEST_STEP: each run
        stops at its own best step), or None if no value is a candidate.
      candidates: The best `Choice` of each candidate value, in the order of
        the values.
      incomplete_values: Values left out: some selection seed has no run of
        them, or no usable step (SHARED_STEP: no step every selection seed
        evaluated with finite metrics).
      selection_seeds: The seeds the choice read.
    """

    protocol: str
    choice: Choice | None
    candidates: tuple
    incomplete_values: tuple
    selection_seeds: tuple


def choose_on_selection_seeds(
    curves_by_value, values, selection_seeds, protocol
):
    """An arm's hyper-parameter value, from the selection seeds alone.

    OWN_BEST_STEP (the main protocol): each selection run's score is its
    validation accuracy at its own best step (`own_best_step`); the chosen
    value has the highest mean score over the selection seeds (ties: lower
    mean validation loss at those steps, then the value listed first).
    SHARED_STEP (the check): `best_step` over the selection seeds picks a
    (value, step) pair shared by the seeds, as `choose` does. Either way a
    value is a candidate only if every selection seed has a usable run of
    it, so every candidate's mean is over the same seeds.

    Only `curves_by_value[value][seed]` for seeds in `selection_seeds` is
    read: the other seeds' entries may hold anything, and no test metric is
    ever passed in (`ValidationCurve` has none).

    Args:
      curves_by_value: Mapping value -> (seed -> `ValidationCurve`).
      values: The arm's values in order of preference on ties (weakest
        regularization first); values without runs are skipped.
      selection_seeds: The seeds that choose.
      protocol: OWN_BEST_STEP or SHARED_STEP.

    Returns:
      A `Selection`.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; one of {PROTOCOLS}.")
    seeds = tuple(sorted(set(selection_seeds)))
    if not seeds:
        raise ValueError("no selection seeds.")
    candidates, incomplete, ranked = [], [], []
    for rank, value in enumerate(values):
        runs = curves_by_value.get(value, {})
        if not all(seed in runs for seed in seeds):
            incomplete.append(value)
            continue
        curves = {seed: runs[seed] for seed in seeds}
        if protocol == SHARED_STEP:
            choice = best_step(curves, value)
        else:
            choice = _own_best_step_choice(curves, value, seeds)
        if choice is None:
            incomplete.append(value)
            continue
        candidates.append(choice)
        ranked.append((rank, choice))
    chosen = None
    if ranked:
        _, chosen = min(
            ranked,
            key=lambda item: (
                -round(item[1].mean_accuracy, _TIE_DECIMALS),
                round(item[1].mean_loss, _TIE_DECIMALS),
                item[0],
                -1 if item[1].step is None else item[1].step,
            ),
        )
    return Selection(
        protocol, chosen, tuple(candidates), tuple(incomplete), seeds
    )


@dataclasses.dataclass(frozen=True)
class SelectedArm:
    """An arm's choice on the selection seeds and its fresh seeds' metrics.

    Attributes:
      split: The `SeedSplit`.
      selection: The `Selection` made on `split.selection`.
      steps: Fresh seed -> the step its run is read at (its own best
        validation step, or the chosen shared step).
      metrics: Fresh seed -> (key -> value at that step; None if null).
      missing: Fresh seed -> why it has no metrics (no run of the chosen
        value, no usable validation step, no evaluation at the shared step).
    """

    split: SeedSplit
    selection: Selection
    steps: dict
    metrics: dict
    missing: dict


def select_and_read(results_by_value, values, split, protocol, keys):
    """Chooses an arm's value on the selection seeds; reads the fresh seeds.

    The choice (`choose_on_selection_seeds`) sees only the selection seeds'
    validation curves (`validation_curve` reads "steps" and VALIDATION_KEYS
    of a run and nothing else); no fresh seed's run and no test metric is
    read before the choice is made. Then, for each fresh seed, the run of
    the chosen value is read at its stopping step: its own best validation
    step (OWN_BEST_STEP, early stopping on that run's own validation split)
    or the chosen shared step (SHARED_STEP).

    Args:
      results_by_value: Mapping value -> (seed -> results mapping with
        "steps", the validation keys and `keys`, one entry per step).
      values: The arm's values in order of preference on ties.
      split: The `SeedSplit`.
      protocol: OWN_BEST_STEP or SHARED_STEP.
      keys: The metrics to read on the fresh seeds (e.g. test metrics).

    Returns:
      A `SelectedArm`.
    """
    curves = {}
    for value in values:
        runs = results_by_value.get(value, {})
        curves[value] = {
            seed: validation_curve(runs[seed])
            for seed in split.selection
            if seed in runs
        }
    selection = choose_on_selection_seeds(
        curves, values, split.selection, protocol
    )
    steps, metrics, missing = {}, {}, {}
    if selection.choice is None:
        missing = {seed: "no value was chosen" for seed in split.fresh}
        return SelectedArm(split, selection, steps, metrics, missing)
    runs = results_by_value[selection.choice.value]
    for seed in split.fresh:
        if seed not in runs:
            missing[seed] = "no run of the chosen value"
            continue
        results = runs[seed]
        if protocol == SHARED_STEP:
            step = selection.choice.step
            if step not in results["steps"]:
                missing[seed] = f"no evaluation at step {step}"
                continue
        else:
            stop = own_best_step(validation_curve(results))
            if stop is None:
                missing[seed] = "no step with finite validation metrics"
                continue
            step = stop.step
        steps[seed] = step
        metrics[seed] = metrics_at_step(results, step, keys)
    return SelectedArm(split, selection, steps, metrics, missing)


def cross_fitted_select_and_read(
    results_by_value, values, seeds, protocol, keys
):
    """`select_and_read` on both `cross_fitted_splits` of the seeds.

    Returns:
      (arms, metrics): the two `SelectedArm`s, and fresh seed -> metrics
      over both (each seed's from the choice made on the other half).
    """
    arms = tuple(
        select_and_read(results_by_value, values, split, protocol, keys)
        for split in cross_fitted_splits(seeds)
    )
    metrics = {}
    for arm in arms:
        metrics.update(arm.metrics)
    return arms, dict(sorted(metrics.items()))
