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
