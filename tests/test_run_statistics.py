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
"""Tests of analysis/run_statistics.py.

compute_statistics, a 2018 function, is tested through plot_utils in
tests/test_plot_utils.py.
"""

import math

import helpers
import numpy as np
import pytest

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import grouping, loading, run_statistics


def test_band_is_clipped_to_the_values_a_quantity_can_take():
    mean, std = np.array([0.1, 0.9]), np.array([0.2, 0.1])
    lower, upper = run_statistics.band(mean, std, "l2_norm")
    np.testing.assert_allclose(lower, [0.0, 0.7])
    np.testing.assert_allclose(upper, [0.5, 1.1])
    lower, upper = run_statistics.band(mean, std, "test_accuracy")
    np.testing.assert_allclose(upper, [0.5, 1.0])
    # Margins can be negative: unclipped.
    lower, _ = run_statistics.band(mean, std, "margin")
    np.testing.assert_allclose(lower, [-0.3, 0.7])


def test_final_statistics_against_numpy(tmp_path):
    helpers.write_sweep(tmp_path)
    runs = loading.load_runs("^fr-0.1-", str(tmp_path))
    (group,) = grouping.group_runs(runs, grouping.DEFAULT_GROUP_BY)
    statistics = run_statistics.final_statistics(group)
    train = np.array([run.results["train_accuracy"][-1] for run in runs])
    test = np.array([run.results["test_accuracy"][-1] for run in runs])
    np.testing.assert_allclose(
        statistics["test_accuracy"], (test.mean(), test.std(ddof=1))
    )
    np.testing.assert_allclose(
        statistics["generalization_gap"],
        ((train - test).mean(), (train - test).std(ddof=1)),
    )
    assert np.isnan(statistics["validation_loss"]).all()


def test_final_value_of_a_key_an_earlier_version_did_not_record_is_nan():
    old = results_io.to_strict_json_value(helpers.earlier_version_results())
    assert math.isnan(run_statistics.final_value(old, "margin"))
    assert run_statistics.final_value(old, "test_loss") == old["test_loss"][-1]
    assert run_statistics.final_value(
        old, "generalization_gap"
    ) == pytest.approx(old["train_accuracy"][-1] - old["test_accuracy"][-1])


def test_final_value_without_evaluations_is_nan():
    results = results_io.to_strict_json_value(helpers.plausible_results())
    results["steps"] = []
    assert math.isnan(run_statistics.final_value(results, "test_loss"))
