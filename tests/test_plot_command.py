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
"""Tests of analysis/plot_command.py: a PlotRequest to a figure, in-process.

The flags that make a PlotRequest are tested in tests/test_plot_utils.py.
"""

import logging
import os

import helpers
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from fisher_rao_experiments.analysis import plot_command

PlotRequest = plot_command.PlotRequest


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_defaults_write_next_to_the_results(tmp_path):
    helpers.write_sweep(tmp_path)
    plot = plot_command.make_plot(PlotRequest(results_dir=str(tmp_path)))
    assert plot.output == str(tmp_path / "fisher_rao_trajectories.png")
    helpers.assert_readable_nonblank_png(plot.output)
    assert len(plot.groups) == 5 and plot.measures == ()


@pytest.mark.parametrize(
    "plot, measures, chosen",
    [
        ("measures", (), ("fisher_rao_norm",)),
        ("final", ("margin", "margin", "l2_norm"), ("margin", "l2_norm")),
        ("lambda", (), ("test_loss", "test_accuracy", "generalization_gap")),
        ("trajectories", (), ()),
    ],
)
def test_chosen_measures(plot, measures, chosen):
    request = PlotRequest(plot=plot, measures=measures)
    assert request.chosen_measures[: len(chosen)] == chosen


def test_earlier_versions_files_make_every_plot_that_reads_their_keys(
    tmp_path, caplog
):
    for lam in (0.0, 0.1):
        for seed in (1, 2):
            helpers.write_results(
                tmp_path,
                f"old-{lam}-{seed}",
                helpers.earlier_version_results(seed=seed, lam=lam),
            )
    for plot, measures in (
        ("trajectories", ()),
        ("final", ("test_loss", "generalization_gap")),
        ("lambda", ()),
        ("measures", ("train_loss", "test_accuracy")),
    ):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            made = plot_command.make_plot(
                PlotRequest(
                    results_dir=str(tmp_path), plot=plot, measures=measures
                )
            )
        assert os.path.getsize(made.output) > 0
        assert "lack" not in caplog.text, plot
    # The measures plot's default quantities are complexity measures.
    with pytest.raises(plot_command.PlotError, match="hold the keys"):
        plot_command.make_plot(
            PlotRequest(results_dir=str(tmp_path), plot="measures")
        )
    assert "old-0.0-1.json" in caplog.text and "'fisher_rao_norm'" in (
        caplog.text
    )


def test_lambda_without_a_lambda_is_one_line(tmp_path):
    results = helpers.plausible_results()
    del results["hparams"]["fisher_rao_lambda"]
    helpers.write_results(tmp_path, "nolambda", results)
    with pytest.raises(plot_command.PlotError) as error:
        plot_command.make_plot(
            PlotRequest(
                results_dir=str(tmp_path),
                plot="lambda",
                group_by=("regularization_norm",),
            )
        )
    assert "nolambda.json" in str(error.value)
    assert "\n" not in str(error.value)


def test_unknown_x_hparam_names_what_the_runs_record(tmp_path):
    helpers.write(tmp_path, "run")
    with pytest.raises(plot_command.PlotError, match="--x_hparam"):
        plot_command.make_plot(
            PlotRequest(
                results_dir=str(tmp_path), plot="final", x_hparam="colour"
            )
        )


def test_smoothing_reaches_the_regularizer_panel(tmp_path):
    helpers.write(tmp_path, "run")
    for weight, lines in ((0.0, 1), (0.9, 2)):
        made = plot_command.make_plot(
            PlotRequest(results_dir=str(tmp_path), smoothing=weight)
        )
        assert len(made.figure.axes[2].lines) == lines
