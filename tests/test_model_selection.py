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
"""Tests of studies/model_selection.py: the rule and its tie-breaks."""

import helpers
import numpy as np
import pytest

from fisher_rao_experiments.studies import model_selection

STEPS = (0, 100, 200)


def curve(accuracy, loss, steps=STEPS):
    return model_selection.ValidationCurve(
        tuple(steps),
        np.array(accuracy, dtype=float),
        np.array(loss, dtype=float),
    )


def test_best_step_maximizes_the_mean_over_seeds():
    # Seed means: step 0 0.5, step 100 0.75, step 200 0.7.
    curves = {
        1: curve([0.5, 0.9, 0.6], [1, 1, 1]),
        2: curve([0.5, 0.6, 0.8], [1, 1, 1]),
    }
    choice = model_selection.best_step(curves, value=0.1)
    assert (choice.value, choice.step, choice.seeds) == (0.1, 100, (1, 2))
    assert choice.mean_accuracy == pytest.approx(0.75)


def test_ties_go_to_lower_loss_then_earlier_step():
    curves = {1: curve([0.7, 0.7, 0.7], [0.5, 0.4, 0.4])}
    assert model_selection.best_step(curves).step == 100


def test_ties_between_values_go_to_the_value_listed_first():
    same = {1: curve([0.6, 0.8, 0.7], [1.0, 0.5, 0.6])}
    choice = model_selection.choose({0.1: same, 0.01: same}, (0.01, 0.1))
    assert choice.value == 0.01
    better_loss = {1: curve([0.6, 0.8, 0.7], [1.0, 0.4, 0.6])}
    choice = model_selection.choose(
        {0.1: better_loss, 0.01: same}, (0.01, 0.1)
    )
    assert choice.value == 0.1


def test_means_equal_up_to_rounding_are_ties():
    # 0.1 + 0.2 != 0.3 in floating point; the loss must decide.
    first = {1: curve([0.1], [0.9], (0,)), 2: curve([0.2], [0.9], (0,))}
    second = {1: curve([0.3], [0.5], (0,)), 2: curve([0.0], [0.5], (0,))}
    choice = model_selection.choose({"a": first, "b": second}, ("a", "b"))
    assert choice.value == "b"


def test_steps_missing_or_null_for_a_seed_are_not_candidates():
    curves = {
        1: curve([0.5, 0.9, 0.6], [1, 1, 1]),
        2: curve([0.5, np.nan, 0.6], [1, 1, 1]),
        3: curve([0.5, 0.6], [1, 1], steps=(0, 200)),
    }
    assert model_selection.best_step(curves).step == 200
    assert model_selection.choose({}, (0.1,)) is None


def test_validation_curve_refuses_runs_without_validation():
    results = helpers.make_results()  # validation_size 0: nulls.
    with pytest.raises(ValueError, match="no validation metrics"):
        model_selection.validation_curve(results)
    del results["validation_loss"]
    with pytest.raises(ValueError, match="lacks"):
        model_selection.validation_curve(results)


def test_validation_curve_holds_no_test_metric():
    results = helpers.make_results(
        validation_accuracy=0.7, validation_loss=0.9
    )
    fields = {
        field for field in vars(model_selection.validation_curve(results))
    }
    assert fields == {"steps", "accuracy", "loss"}


def test_metrics_at_step():
    results = helpers.make_results(test_accuracy=[0.1, 0.2, 0.3, 0.4])
    assert model_selection.metrics_at_step(
        results, 200, ("test_accuracy",)
    ) == {"test_accuracy": 0.3}
    with pytest.raises(ValueError, match="no evaluation at step 250"):
        model_selection.metrics_at_step(results, 250, ("test_accuracy",))


# --------------------------------------------------------------------------
# Selection seeds and fresh seeds.

OWN, SHARED = model_selection.OWN_BEST_STEP, model_selection.SHARED_STEP


class TestSeedSplit:
    def test_sorted_and_disjoint(self):
        split = model_selection.SeedSplit((3, 1), (4, 2))
        assert (split.selection, split.fresh) == ((1, 3), (2, 4))
        with pytest.raises(ValueError, match=r"seeds \[2\] both"):
            model_selection.SeedSplit((1, 2), (2, 3))
        with pytest.raises(ValueError, match="non-empty"):
            model_selection.SeedSplit((), (1,))

    def test_split_seeds(self):
        split = model_selection.split_seeds([5, 1, 3, 2, 4], 2)
        assert (split.selection, split.fresh) == ((1, 2), (3, 4, 5))
        with pytest.raises(ValueError, match="cannot take 5 of 5"):
            model_selection.split_seeds(range(5), 5)

    def test_cross_fitting_makes_every_seed_fresh_once(self):
        first, second = model_selection.cross_fitted_splits(range(1, 6))
        assert (first.selection, first.fresh) == ((1, 2), (3, 4, 5))
        assert (second.selection, second.fresh) == ((3, 4, 5), (1, 2))


def test_own_best_step_ties_and_nulls():
    # Highest accuracy at steps 100 and 200; 200 has the lower loss. The
    # NaN accuracy at step 300 is no candidate.
    stop = model_selection.own_best_step(
        curve(
            [0.5, 0.8, 0.8, np.nan], [1.0, 0.6, 0.5, 0.1], (0, 100, 200, 300)
        )
    )
    assert (stop.step, stop.accuracy, stop.loss) == (200, 0.8, 0.5)
    stop = model_selection.own_best_step(curve([0.8, 0.8, 0.1], [0.5] * 3))
    assert stop.step == 0
    assert model_selection.own_best_step(curve([np.nan] * 3, [1] * 3)) is None


# Two values whose protocols disagree (steps 0, 100, 200):
#   "a": seed 1 [0.5, 0.8, 0.6], seed 2 [0.5, 0.6, 0.6]. Own best steps:
#        0.8 and 0.6, mean 0.7. Shared: step 100, mean 0.7.
#   "b": seed 1 [0.75, 0.5, 0.5], seed 2 [0.5, 0.5, 0.7]. Own best steps:
#        0.75 and 0.7, mean 0.725. Shared: best step 0, mean 0.625.
DISAGREEING = {
    "a": {1: [0.5, 0.8, 0.6], 2: [0.5, 0.6, 0.6]},
    "b": {1: [0.75, 0.5, 0.5], 2: [0.5, 0.5, 0.7]},
}


def disagreeing_curves():
    return {
        value: {seed: curve(acc, [1.0] * 3) for seed, acc in seeds.items()}
        for value, seeds in DISAGREEING.items()
    }


def test_protocols_choose_by_their_own_means():
    own = model_selection.choose_on_selection_seeds(
        disagreeing_curves(), ("a", "b"), (1, 2), OWN
    )
    assert own.choice.value == "b" and own.choice.step is None
    assert own.choice.mean_accuracy == pytest.approx(0.725)
    assert [c.mean_accuracy for c in own.candidates] == pytest.approx(
        [0.7, 0.725]
    )
    shared = model_selection.choose_on_selection_seeds(
        disagreeing_curves(), ("a", "b"), (1, 2), SHARED
    )
    assert (shared.choice.value, shared.choice.step) == ("a", 100)
    assert shared.choice.mean_accuracy == pytest.approx(0.7)
    with pytest.raises(ValueError, match="unknown protocol"):
        model_selection.choose_on_selection_seeds({}, ("a",), (1,), "best")


def test_values_missing_a_selection_seed_are_no_candidates():
    curves = disagreeing_curves()
    del curves["b"][2]
    selection = model_selection.choose_on_selection_seeds(
        curves, ("a", "b", "c"), (1, 2), OWN
    )
    assert selection.choice.value == "a"
    assert selection.incomplete_values == ("b", "c")


def test_own_best_step_ties_go_to_lower_loss_then_the_value_first():
    same = {1: curve([0.6, 0.8, 0.7], [1.0, 0.5, 0.6])}
    lower_loss = {1: curve([0.8, 0.6, 0.7], [0.4, 0.5, 0.6])}
    selection = model_selection.choose_on_selection_seeds(
        {0.1: same, 0.01: same}, (0.01, 0.1), (1,), OWN
    )
    assert selection.choice.value == 0.01
    selection = model_selection.choose_on_selection_seeds(
        {0.1: lower_loss, 0.01: same}, (0.01, 0.1), (1,), OWN
    )
    assert selection.choice.value == 0.1


class Untouchable:
    """A stand-in that fails the test on any use."""

    def __getattribute__(self, name):
        raise AssertionError(f"read {name!r} of a run it must not read")

    def __getitem__(self, key):
        raise AssertionError(f"read {key!r} of a run it must not read")

    def __len__(self):
        raise AssertionError("read the length of a run it must not read")


class ForbiddenTestKeys(dict):
    """A results dictionary whose test metrics fail the test when read."""

    def _check(self, key):
        if str(key).startswith("test_"):
            raise AssertionError(f"read {key!r}, a test metric")

    def __getitem__(self, key):
        self._check(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._check(key)
        return super().get(key, default)

    def __iter__(self):
        raise AssertionError("iterated over a run's keys")

    def items(self):
        raise AssertionError("iterated over a run's keys")

    def values(self):
        raise AssertionError("iterated over a run's keys")


STEPS4 = [0, 100, 200, 300]
SELECTION, FRESH = (1, 2), (3, 4)
VALUES = (0.01, 0.1)


def run(validation, test, cls=dict):
    """A run's results: validation accuracy per step and a test value."""
    return cls(
        steps=list(STEPS4),
        validation_accuracy=list(validation),
        validation_loss=[1.0 - v for v in validation],
        test_accuracy=[test] * len(STEPS4),
        test_loss=[1.0] * len(STEPS4),
    )


def clean_runs():
    """On the selection seeds 0.01 validates better (both protocols).

    Fresh runs: 0.01 peaks at step 200 (seed 3) and 100 (seed 4).
    """
    return {
        0.01: {
            1: run([0.5, 0.7, 0.8, 0.7], 0.70),
            2: run([0.5, 0.8, 0.8, 0.7], 0.71),
            3: run([0.5, 0.6, 0.9, 0.6], 0.72),
            4: run([0.5, 0.9, 0.6, 0.6], 0.73),
        },
        0.1: {
            1: run([0.5, 0.6, 0.6, 0.7], 0.80),
            2: run([0.5, 0.6, 0.7, 0.6], 0.81),
            3: run([0.5, 0.6, 0.6, 0.6], 0.82),
            4: run([0.5, 0.6, 0.6, 0.6], 0.83),
        },
    }


def poisoned_runs(poison):
    """Everything the choice must not read, poisoned.

    The selection seeds' test metrics fail when read; the fresh seeds of
    the value that must not be chosen fail on any use; the fresh seeds of
    0.01 (read after the choice) carry `poison` as test accuracy and
    validation curves that favour 0.1 if pooled with the selection seeds.
    """
    runs = clean_runs()
    for value in VALUES:
        for seed in SELECTION:
            runs[value][seed] = ForbiddenTestKeys(runs[value][seed])
    runs[0.1][3] = Untouchable()
    runs[0.1][4] = Untouchable()
    runs[0.01][3] = run([0.0, 0.1, 0.0, 0.0], poison)
    runs[0.01][4] = run([0.0, 0.0, 0.0, 0.1], poison)
    return runs


@pytest.mark.parametrize("protocol", [OWN, SHARED])
@pytest.mark.parametrize("poison", [np.nan, np.inf, -np.inf, -1e300, 1e300])
def test_test_metrics_and_fresh_seeds_cannot_change_the_choice(
    protocol, poison
):
    split = model_selection.SeedSplit(SELECTION, FRESH)
    keys = ("test_accuracy",)
    clean = model_selection.select_and_read(
        clean_runs(), VALUES, split, protocol, keys
    )
    poisoned = model_selection.select_and_read(
        poisoned_runs(poison), VALUES, split, protocol, keys
    )
    assert clean.selection.choice.value == 0.01
    assert poisoned.selection == clean.selection
    # The fresh seeds' test metrics are read, after the choice.
    for seed in FRESH:
        read = poisoned.metrics[seed]["test_accuracy"]
        assert read == poison or (np.isnan(read) and np.isnan(poison))


def test_the_poison_would_change_a_choice_that_read_the_fresh_seeds():
    # The test above can fail: pooling the fresh seeds' validation curves
    # with the selection seeds' flips the choice to 0.1 (0.01's fresh runs
    # validate at <= 0.1).
    runs = clean_runs()
    runs[0.01][3] = run([0.0, 0.1, 0.0, 0.0], 0.0)
    runs[0.01][4] = run([0.0, 0.0, 0.0, 0.1], 0.0)
    curves = {
        value: {
            seed: model_selection.validation_curve(results)
            for seed, results in by_seed.items()
        }
        for value, by_seed in runs.items()
    }
    for protocol in (OWN, SHARED):
        leaky = model_selection.choose_on_selection_seeds(
            curves, VALUES, SELECTION + FRESH, protocol
        )
        assert leaky.choice.value == 0.1
        honest = model_selection.choose_on_selection_seeds(
            curves, VALUES, SELECTION, protocol
        )
        assert honest.choice.value == 0.01


def test_choice_never_touches_other_seeds_curves():
    curves = disagreeing_curves()
    for value in curves:
        curves[value][9] = Untouchable()
    for protocol in (OWN, SHARED):
        selection = model_selection.choose_on_selection_seeds(
            curves, ("a", "b"), (1, 2), protocol
        )
        assert selection.selection_seeds == (1, 2)
        assert selection.choice.value == ("b" if protocol == OWN else "a")


def test_fresh_runs_are_read_at_their_stopping_steps():
    split = model_selection.SeedSplit(SELECTION, FRESH)
    keys = ("test_accuracy", "validation_accuracy")
    own = model_selection.select_and_read(
        clean_runs(), VALUES, split, OWN, keys
    )
    # Each fresh run of 0.01 at its own best validation step.
    assert own.steps == {3: 200, 4: 100}
    assert own.metrics == {
        3: {"test_accuracy": 0.72, "validation_accuracy": 0.9},
        4: {"test_accuracy": 0.73, "validation_accuracy": 0.9},
    }
    shared = model_selection.select_and_read(
        clean_runs(), VALUES, split, SHARED, keys
    )
    # Shared: step 200 has the selection seeds' best mean (0.8).
    assert shared.selection.choice.step == 200
    assert shared.steps == {3: 200, 4: 200}
    assert shared.metrics[4] == {
        "test_accuracy": 0.73,
        "validation_accuracy": 0.6,
    }


def test_missing_fresh_runs_are_reported():
    runs = clean_runs()
    del runs[0.01][4]
    runs[0.01][3]["steps"] = [0, 100, 250, 300]
    split = model_selection.SeedSplit(SELECTION, FRESH)
    shared = model_selection.select_and_read(
        runs, VALUES, split, SHARED, ("test_accuracy",)
    )
    assert shared.metrics == {}
    assert shared.missing == {
        3: "no evaluation at step 200",
        4: "no run of the chosen value",
    }


def test_cross_fitting_reads_each_seed_from_the_other_halfs_choice():
    # Seeds 1-2 prefer 0.01, seeds 3-4 prefer 0.1: each half is read at
    # the other half's choice.
    runs = clean_runs()
    runs[0.1][3] = run([0.5, 0.95, 0.6, 0.6], 0.82)
    runs[0.1][4] = run([0.5, 0.95, 0.6, 0.6], 0.83)
    arms, metrics = model_selection.cross_fitted_select_and_read(
        runs, VALUES, (1, 2, 3, 4), OWN, ("test_accuracy",)
    )
    assert [arm.selection.choice.value for arm in arms] == [0.01, 0.1]
    assert metrics == {
        1: {"test_accuracy": 0.80},
        2: {"test_accuracy": 0.81},
        3: {"test_accuracy": 0.72},
        4: {"test_accuracy": 0.73},
    }
