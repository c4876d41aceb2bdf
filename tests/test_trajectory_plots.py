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
"""Tests of analysis/trajectory_plots.py: quantities against steps."""

import helpers
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import (
    drawing,
    loading,
    run_statistics,
    smoothing,
    tables,
    trajectory_plots,
)

write = helpers.write
load_groups = helpers.load_groups
legend_texts = helpers.legend_texts
band_vertices = helpers.band_vertices


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def reference_smoothing(values, weight):
    """TensorBoard's debiased moving average, written out as its loop."""
    last, count, smoothed = 0.0, 0, []
    for value in values:
        last = last * weight + (1 - weight) * value
        count += 1
        smoothed.append(last / (1 - weight**count))
    return np.array(smoothed)


class TestTrajectoryFigure:
    def test_png_is_valid_and_shows_every_group(self, tmp_path):
        helpers.write_sweep(tmp_path)
        groups = load_groups(tmp_path)
        figure = trajectory_plots.plot_trajectories(groups)
        path = str(tmp_path / "figures" / "trajectories.png")
        drawing.save_figure(figure, path)
        rgb = helpers.assert_readable_nonblank_png(path)
        helpers.assert_colors_drawn(rgb, drawing.group_colors(len(groups)))
        loss_axes, _, regularizer_axes = figure.axes[:3]
        np.testing.assert_array_equal(
            loss_axes.lines[0].get_xdata(), groups[0].steps
        )
        np.testing.assert_array_equal(
            regularizer_axes.lines[0].get_xdata(),
            np.arange(groups[0].steps[-1]),
        )
        assert "2 runs per group" in figure.get_suptitle()
        # No run has a validation split: train and test only.
        assert legend_texts(loss_axes) == ["train", "test"]
        assert len(loss_axes.lines) == 2 * len(groups)

    def test_validation_curves_are_dotted_when_recorded(self, tmp_path):
        write(tmp_path, "a", seed=1, validation=True)
        write(tmp_path, "b", seed=2, validation=True)
        figure = trajectory_plots.plot_trajectories(load_groups(tmp_path))
        loss_axes, accuracy_axes = figure.axes[:2]
        files = helpers.read_files(tmp_path)
        for axes, key in (
            (loss_axes, "validation_loss"),
            (accuracy_axes, "validation_accuracy"),
        ):
            assert legend_texts(axes) == ["train", "validation", "test"]
            (dotted,) = [
                line for line in axes.lines if line.get_linestyle() == ":"
            ]
            np.testing.assert_allclose(
                dotted.get_ydata(),
                np.mean([results[key] for results in files], axis=0),
            )

    def test_bands_of_non_negative_quantities_stop_at_zero(self, tmp_path):
        # Two runs far apart: mean - 2 std would be far below 0.
        for seed, value in ((1, 0.0), (2, 1.0)):
            results = helpers.plausible_results(seed=seed)
            results["regularizer_loss"] = [value] * 500
            results["l2_norm"] = [value] * 6
            helpers.write_results(tmp_path, f"run-{seed}", results)
        groups = load_groups(tmp_path)
        mean, std = run_statistics.compute_statistics(
            groups[0].data, "regularizer_loss"
        )
        assert (mean - 2 * std).min() < -0.9
        for weight in (0.0, smoothing.DEFAULT_SMOOTHING):
            regularizer_axes = trajectory_plots.plot_trajectories(
                groups, weight
            ).axes[2]
            assert band_vertices(regularizer_axes).min() == 0.0
        measure_axes = trajectory_plots.plot_measures(
            groups, ["l2_norm"], y_scale="linear"
        ).axes[0]
        assert band_vertices(measure_axes).min() == 0.0

    def test_null_values_of_a_diverged_run_leave_gaps(self, tmp_path):
        diverged = helpers.plausible_results(seed=1)
        diverged["train_loss"][-2:] = [float("nan")] * 2
        diverged["regularizer_loss"][-1] = float("inf")
        helpers.write_results(tmp_path, "diverged", diverged)
        groups = load_groups(tmp_path)
        assert groups[0].runs[0].results["train_loss"][-1] is None
        figure = trajectory_plots.plot_trajectories(groups)
        plotted = figure.axes[0].lines[0].get_ydata()
        assert np.isnan(plotted[-2:]).all() and np.isfinite(plotted[:-2]).all()
        regularizer_lines = figure.axes[2].lines
        assert all(
            np.isnan(line.get_ydata()[-1]) for line in regularizer_lines
        )
        # A single run: its null final value alone, no spread.
        table = tables.format_summary_table(groups)
        assert helpers.columns(table.splitlines()[2])[3] == "nan"

    def test_one_run_is_one_run_not_one_runs(self, tmp_path):
        write(tmp_path, "only", seed=1)
        groups = load_groups(tmp_path)
        for figure in (
            trajectory_plots.plot_trajectories(groups),
            trajectory_plots.plot_measures(groups, ["margin"]),
        ):
            assert "(1 run per group)" in figure.get_suptitle()
            assert legend_texts(figure) == ["norm=fr, lambda=0.01 (1 run)"]

    def test_an_earlier_versions_runs_are_drawn_without_validation(
        self, tmp_path
    ):
        for seed in (1, 2):
            helpers.write_results(
                tmp_path,
                f"old-{seed}",
                helpers.earlier_version_results(seed=seed),
            )
        write(tmp_path, "new", seed=3, validation=True)
        groups = load_groups(tmp_path, ["validation_size"])
        figure = trajectory_plots.plot_trajectories(groups)
        loss_axes = figure.axes[0]
        assert legend_texts(loss_axes) == ["train", "validation", "test"]
        dotted = [
            line for line in loss_axes.lines if line.get_linestyle() == ":"
        ]
        # The old group's validation curve is all gaps, the new one's drawn.
        assert [np.isnan(line.get_ydata()).all() for line in dotted] == [
            False,
            True,
        ]


class TestSmoothedRegularizer:
    """The per-step regularizer: a faint raw trace under a smoothed line."""

    def write_noisy_runs(self, directory, steps=2000):
        rng = np.random.default_rng(0)
        trend = np.exp(-np.arange(steps) / 800)
        for seed in (1, 2):
            results = helpers.plausible_results(
                seed=seed, num_points=5, eval_steps=steps // 4
            )
            results["regularizer_loss"] = list(
                trend * seed + rng.normal(0, 0.3, steps)
            )
            helpers.write_results(directory, f"noisy-{seed}", results)
        return trend

    def test_smoothed_line_is_tensorboards_average_over_the_raw_trace(
        self, tmp_path
    ):
        self.write_noisy_runs(tmp_path)
        (group,) = load_groups(tmp_path)
        weight = 0.95
        axes = trajectory_plots.plot_trajectories([group], weight).axes[2]
        raw, smoothed = axes.lines
        runs = [np.array(data["regularizer_loss"]) for data in group.data]
        np.testing.assert_allclose(raw.get_ydata(), np.mean(runs, axis=0))
        expected = [reference_smoothing(run, weight) for run in runs]
        np.testing.assert_allclose(
            smoothed.get_ydata(), np.mean(expected, axis=0)
        )
        assert raw.get_alpha() < smoothed.get_alpha()
        assert raw.get_linewidth() < smoothed.get_linewidth()
        assert raw.get_color() == smoothed.get_color()
        # The band is the spread of the smoothed runs, clipped at 0.
        lower, upper = run_statistics.band(
            np.mean(expected, axis=0),
            np.std(expected, axis=0, ddof=1),
            "regularizer_loss",
        )
        vertices = band_vertices(axes)
        assert vertices.min() == pytest.approx(lower.min())
        assert vertices.max() == pytest.approx(upper.max())
        assert legend_texts(axes) == [
            "raw (every step)",
            "smoothed (weight 0.95)",
        ]

    def test_smoothed_line_is_much_less_noisy_than_the_raw_trace(
        self, tmp_path
    ):
        trend = self.write_noisy_runs(tmp_path, steps=5000)
        (group,) = load_groups(tmp_path)
        axes = trajectory_plots.plot_trajectories([group]).axes[2]
        raw, smoothed = axes.lines
        truth = 1.5 * trend  # The mean of the two runs' trends.
        raw_error = np.std(raw.get_ydata() - truth)
        smoothed_error = np.std(smoothed.get_ydata()[500:] - truth[500:])
        assert smoothed_error < raw_error / 4

    def test_weight_zero_draws_the_raw_mean_and_band_only(self, tmp_path):
        self.write_noisy_runs(tmp_path)
        (group,) = load_groups(tmp_path)
        axes = trajectory_plots.plot_trajectories([group], 0.0).axes[2]
        (line,) = axes.lines
        mean, std = run_statistics.compute_statistics(
            group.data, "regularizer_loss"
        )
        np.testing.assert_allclose(line.get_ydata(), mean)
        assert line.get_alpha() == drawing.LINE_ALPHA
        assert axes.get_legend() is None

    def test_a_weight_of_one_is_refused(self, tmp_path):
        self.write_noisy_runs(tmp_path)
        with pytest.raises(ValueError, match="smoothing weight"):
            trajectory_plots.plot_trajectories(load_groups(tmp_path), 1.0)


class TestMeasuresFigure:
    def test_one_panel_per_measure_drawing_the_files_means(self, tmp_path):
        helpers.write_sweep(tmp_path)
        groups = load_groups(tmp_path)
        measures = ["fisher_rao_norm", "l2_norm", "margin", "test_loss"]
        figure = trajectory_plots.plot_measures(groups, measures)
        assert [axes.get_title() for axes in figure.axes] == measures
        files = helpers.read_files(tmp_path)
        for axes, measure in zip(figure.axes, measures, strict=True):
            for group, line in zip(groups, axes.lines, strict=True):
                members = [
                    results[measure]
                    for results in files
                    if all(
                        results["hparams"][name] == value
                        for name, value in group.hparams.items()
                    )
                ]
                assert len(members) == 2
                np.testing.assert_allclose(
                    line.get_ydata(), np.mean(members, axis=0)
                )
                np.testing.assert_array_equal(
                    line.get_xdata(), files[0]["steps"]
                )

    @pytest.mark.parametrize(
        "y_scale, log_panels",
        [
            ("auto", ["fisher_rao_norm"]),  # Positive, spans 3 decades.
            (
                "log",
                ["fisher_rao_norm", "l2_norm"],
            ),  # Margin < 0 stays linear.
            ("linear", []),
        ],
    )
    def test_y_scale(self, tmp_path, y_scale, log_panels):
        write(tmp_path, "run", seed=1)
        measures = ["fisher_rao_norm", "l2_norm", "margin"]
        figure = trajectory_plots.plot_measures(
            load_groups(tmp_path), measures, y_scale
        )
        assert [
            axes.get_title()
            for axes in figure.axes
            if axes.get_yscale() == "log"
        ] == log_panels

    def test_unknown_measures_are_refused_listing_the_allowed(self, tmp_path):
        write(tmp_path, "run", seed=1)
        groups = load_groups(tmp_path)
        # The gap is a final value, not a trajectory.
        for unknown in ("colour", "generalization_gap"):
            with pytest.raises(ValueError, match=unknown) as error:
                trajectory_plots.plot_measures(groups, ["margin", unknown])
            assert ", ".join(results_io.EVALUATED_KEYS) in str(error.value)

    def test_a_measure_never_recorded_says_so(self, tmp_path):
        write(tmp_path, "run", seed=1)
        (axes,) = trajectory_plots.plot_measures(
            load_groups(tmp_path), ["validation_loss"]
        ).axes
        assert np.isnan(axes.lines[0].get_ydata()).all()
        assert [text.get_text() for text in axes.texts] == ["not recorded"]


def test_regularizer_steps_are_every_training_step(tmp_path):
    write(tmp_path, "run", seed=1, num_points=3, eval_steps=50)
    (run,) = loading.load_runs(r"\.json$", str(tmp_path))
    (group,) = load_groups(tmp_path)
    np.testing.assert_array_equal(
        trajectory_plots.regularizer_steps(group),
        np.arange(len(run.results["regularizer_loss"])),
    )
