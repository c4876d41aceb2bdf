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
"""Tests of analysis/quantities.py: plot kinds and the keys they read."""

import pytest

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import quantities

TABLE_KEYS = {
    "hparams",
    "steps",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
}


def test_trajectories_read_the_regularizer_not_validation_or_measures():
    keys = quantities.keys_read("trajectories")
    assert set(keys) == TABLE_KEYS | {"regularizer_loss"}


@pytest.mark.parametrize("plot", ["measures", "final", "lambda"])
def test_other_plots_read_their_measures_only(plot):
    keys = quantities.keys_read(plot, ("margin", "validation_loss"))
    assert set(keys) == TABLE_KEYS | {"margin", "validation_loss"}
    assert keys[-2:] == ("margin", "validation_loss")


def test_the_gap_is_read_from_the_accuracies():
    keys = quantities.keys_read("final", ("generalization_gap", "test_loss"))
    assert set(keys) == TABLE_KEYS


def test_no_plot_reads_keys_of_later_versions_it_does_not_draw():
    later = {"stopped_at_step", "checkpoint", "num_parameters"}
    for plot in quantities.PLOT_MODES:
        measures = quantities.DEFAULT_MEASURES.get(plot, ())
        assert not later & set(quantities.keys_read(plot, measures))


def test_check_measures_lists_the_allowed():
    quantities.check_measures(["margin"], results_io.EVALUATED_KEYS)
    with pytest.raises(ValueError, match="colour.*test_loss"):
        quantities.check_measures(["colour"], results_io.EVALUATED_KEYS)
    with pytest.raises(ValueError, match="no measure given"):
        quantities.check_measures([], results_io.EVALUATED_KEYS)


def test_every_default_measure_is_allowed():
    for plot, measures in quantities.DEFAULT_MEASURES.items():
        quantities.check_measures(measures, quantities.ALLOWED_MEASURES[plot])
