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
"""Tests of analysis/final_value_plots.py: final values against a sweep."""

import helpers
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fisher_rao_experiments.analysis import (
    drawing,
    final_value_plots,
    grouping,
    loading,
)

write = helpers.write
read_files = helpers.read_files
solid_lines = helpers.solid_lines
ALL_FILES = r"\.json$"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def load(directory):
    return loading.load_runs(ALL_FILES, str(directory))


@pytest.mark.parametrize(
    "values, kind",
    [
        ([0.0, 0.1, 0.2], "linear"),
        ([0.0, 1e-3, 1e-2, 1e-1], "log"),
        ([1e-4, 1e-2], "log"),
        ([-1.0, 1.0, 100.0], "linear"),
        (["digits", "synthetic"], "categorical"),
        ([True, False], "categorical"),
    ],
)
def test_x_axis_kind(values, kind):
    assert final_value_plots.x_axis_kind(values) == kind


def test_values_are_means_of_each_runs_last_evaluation(tmp_path):
    helpers.write_noise_sweep(tmp_path)
    groups = grouping.final_value_groups(
        load(tmp_path), "label_noise", grouping.DEFAULT_GROUP_BY
    )
    measures = ["test_accuracy", "generalization_gap", "l2_norm"]
    figure = final_value_plots.plot_final_values(
        groups, "label_noise", measures
    )
    files = read_files(tmp_path)
    for subfigure, measure in zip(figure.subfigs, measures, strict=True):
        (axes,) = subfigure.axes
        assert axes.get_xscale() == "linear"
        assert axes.get_xlabel() == "label_noise"
        lines = solid_lines(axes)
        assert len(lines) == 2
        for norm, line in zip(("None", "fr"), lines, strict=True):
            np.testing.assert_array_equal(line.get_xdata(), [0.0, 0.1, 0.2])
            expected = [
                np.mean(
                    [
                        results["train_accuracy"][-1]
                        - results["test_accuracy"][-1]
                        if measure == "generalization_gap"
                        else results[measure][-1]
                        for results in files
                        if results["hparams"]["regularization_norm"] == norm
                        and results["hparams"]["label_noise"] == noise
                    ]
                )
                for noise in (0.0, 0.1, 0.2)
            ]
            np.testing.assert_allclose(line.get_ydata(), expected)
    assert helpers.legend_texts(figure) == [
        "norm=None, lambda=0",
        "norm=fr, lambda=0.01",
    ]
    assert "against label_noise" in figure.get_suptitle()


def test_categorical_x_gets_one_tick_per_value(tmp_path):
    for dataset in ("synthetic", "digits"):
        for seed in (1, 2):
            write(tmp_path, f"{dataset}-{seed}", dataset=dataset, seed=seed)
    groups = grouping.final_value_groups(load(tmp_path), "dataset", [])
    figure = final_value_plots.plot_final_values(
        groups, "dataset", ["test_loss"]
    )
    (axes,) = figure.axes
    assert [label.get_text() for label in axes.get_xticklabels()] == [
        "digits",
        "synthetic",
    ]
    (error_bars,) = axes.containers
    means = error_bars.lines[0].get_data()[1]
    expected = [
        np.mean(
            [
                results["test_loss"][-1]
                for results in read_files(tmp_path)
                if results["hparams"]["dataset"] == dataset
            ]
        )
        for dataset in ("digits", "synthetic")
    ]
    np.testing.assert_allclose(means, expected)
    np.testing.assert_array_equal(error_bars.lines[0].get_xdata(), [0, 1])


def test_log_x_puts_zero_in_its_own_panel(tmp_path):
    for decay in (0.0, 1e-3, 1e-2, 1e-1):
        write(tmp_path, f"decay-{decay}", weight_decay=decay)
    groups = grouping.final_value_groups(load(tmp_path), "weight_decay", [])
    figure = final_value_plots.plot_final_values(
        groups, "weight_decay", ["l2_norm"]
    )
    zero_axes, log_axes = figure.axes
    assert log_axes.get_xscale() == "log"
    assert [label.get_text() for label in zero_axes.get_xticklabels()] == ["0"]
    np.testing.assert_array_equal(
        solid_lines(log_axes)[0].get_xdata(), [1e-3, 1e-2, 1e-1]
    )


def test_unknown_measure_is_refused_listing_the_allowed(tmp_path):
    write(tmp_path, "run")
    groups = grouping.final_value_groups(load(tmp_path), "label_noise", [])
    with pytest.raises(ValueError, match="colour.*generalization_gap"):
        final_value_plots.plot_final_values(groups, "label_noise", ["colour"])


def test_lambda_plot_renders_every_line(tmp_path):
    helpers.write_sweep(tmp_path)
    groups = grouping.lambda_sweep_groups(load(tmp_path))
    figure = final_value_plots.plot_lambda_sweep(groups)
    path = str(tmp_path / "lambda.png")
    drawing.save_figure(figure, path)
    rgb = helpers.assert_readable_nonblank_png(path)
    helpers.assert_colors_drawn(rgb, drawing.group_colors(3))
    zero_axes, log_axes = figure.subfigs[0].axes
    assert log_axes.get_xscale() == "log"
    assert [label.get_text() for label in zero_axes.get_xticklabels()] == [
        "λ = 0"
    ]
    # fr has two positive lambdas: its mean line joins them in order.
    fr_line = [
        line for line in solid_lines(log_axes) if len(line.get_xdata()) == 2
    ]
    assert len(fr_line) == 1
    np.testing.assert_array_equal(fr_line[0].get_xdata(), [0.01, 0.1])
    # None has only lambda = 0: a dotted reference across the log panel.
    assert [line.get_linestyle() for line in log_axes.lines].count(":") == 1
    # The method means nothing without a norm: None's label omits it.
    labels = helpers.legend_texts(figure)
    none_labels = [label for label in labels if "norm=None" in label]
    assert none_labels and all("method" not in label for label in none_labels)
    assert any("method=forward" in label for label in labels)


def test_one_run_per_point_is_one_run(tmp_path):
    write(tmp_path, "only", seed=1)
    figure = final_value_plots.plot_lambda_sweep(
        grouping.lambda_sweep_groups(load(tmp_path))
    )
    assert "(1 run per point)" in figure.get_suptitle()


def test_an_earlier_versions_runs_plot_their_final_losses(tmp_path):
    for lam in (0.0, 0.01, 0.1):
        helpers.write_results(
            tmp_path,
            f"old-{lam}",
            helpers.earlier_version_results(lam=lam),
        )
    groups = grouping.lambda_sweep_groups(load(tmp_path))
    figure = final_value_plots.plot_lambda_sweep(groups)
    _, log_axes = figure.subfigs[0].axes
    np.testing.assert_array_equal(
        solid_lines(log_axes)[0].get_xdata(), [0.01, 0.1]
    )
