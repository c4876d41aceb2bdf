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
"""Tests of plot_utils on hand-made results files and on real short runs."""

import json
import logging
import os
import re
import subprocess
import sys
import zlib

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from absl import flags  # noqa: E402

import plot_utils  # noqa: E402
from fisher_rao_experiments import results_io

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "plot_utils.py")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_results(
    norm="fr",
    lam=0.01,
    seed=1,
    method="forward",
    num_points=6,
    eval_steps=100,
    validation=False,
    **hparams,
):
    """Plausible results of one run with every key, different per setting.

    `hparams` override the recorded hyper-parameters (label_noise=0.1, ...).
    """
    hparams = {
        "dataset": "synthetic",
        "regularization_norm": norm,
        "fisher_rao_lambda": lam,
        "fisher_rao_method": method,
        "weight_decay": 0.0,
        "label_noise": 0.0,
        "validation_size": 50 if validation else 0,
        "stop_train_loss": None,
        "random_seed": seed,
        "train_steps": (num_points - 1) * eval_steps,
        "eval_steps": eval_steps,
        "start_time": f"2026-01-01T00:00:0{seed}",
    } | hparams
    rng = np.random.default_rng(zlib.crc32(repr(hparams).encode()))
    steps = np.arange(num_points) * eval_steps
    progress = np.linspace(0.0, 1.0, num_points)
    loss = 0.7 * np.exp(-3 * progress) + 0.1

    def noisy(values):
        return values + rng.normal(0, 0.02, num_points)

    nulls = [None] * num_points
    return {
        "hparams": hparams,
        "steps": steps,
        "train_loss": noisy(loss),
        "train_accuracy": noisy(1 - loss / 2),
        "validation_loss": noisy(loss + 0.05 * progress)
        if validation
        else nulls,
        "validation_accuracy": noisy(1 - loss / 2 - 0.02 * progress)
        if validation
        else nulls,
        "test_loss": noisy(loss + 0.1 * progress),
        "test_accuracy": noisy(1 - loss / 2 - 0.05 * progress),
        # Spans three decades: an automatic log axis.
        "fisher_rao_norm": 0.01
        * 1000**progress
        * rng.uniform(0.8, 1.2, num_points),
        "empirical_fisher_rao_norm": 0.02 * 100**progress,
        "l2_norm": noisy(5 + progress),
        "spectral_product": noisy(2 + progress),
        "path_norm": noisy(3 + progress),
        "margin": noisy(progress - 0.3),  # Negative early, as real ones.
        # One value per training step, as synthetic_classification records.
        "regularizer_loss": np.exp(-np.arange(steps[-1]) / steps[-1])
        + rng.normal(0, 0.02, steps[-1]),
        "stopped_at_step": None,
        "checkpoint": None,
        "num_parameters": 462,
    }


def stop_early(results, num_points):
    """`results` cut as --stop_train_loss cuts a run: a complete run."""
    for key in results_io.EVALUATED_KEYS + ("steps",):
        results[key] = results[key][:num_points]
    last_step = int(results["steps"][-1])
    results["regularizer_loss"] = results["regularizer_loss"][:last_step]
    results["stopped_at_step"] = last_step
    results["hparams"]["stop_train_loss"] = 0.5
    return results


def write(directory, stem, **kwargs):
    return write_results(directory, stem, make_results(**kwargs))


def write_results(directory, stem, results):
    return results_io.write_json_atomically(results, str(directory), stem)


def write_text(directory, name, text):
    path = os.path.join(str(directory), name)
    with open(path, "w") as output_file:
        output_file.write(text)
    return path


def write_sweep(directory):
    """Two seeds per (norm, lambda), an unregularized baseline at 0."""
    for seed in (1, 2):
        write(directory, f"none-{seed}", norm="None", lam=0.0, seed=seed)
        for lam in (0.0, 0.01, 0.1):
            write(directory, f"fr-{lam}-{seed}", norm="fr", lam=lam, seed=seed)
        write(directory, f"fre-{seed}", norm="fre", lam=0.1, seed=seed)


def write_noise_sweep(directory):
    """None and fr at three label noises, two seeds; one fr run stopped."""
    for norm, lam in (("None", 0.0), ("fr", 0.01)):
        for noise in (0.0, 0.1, 0.2):
            for seed in (1, 2):
                write(
                    directory,
                    f"{norm}-{noise}-{seed}",
                    norm=norm,
                    lam=lam,
                    label_noise=noise,
                    seed=seed,
                    stop_train_loss=0.5,
                )
    write_results(
        directory,
        "fr-0.1-stopped",
        stop_early(make_results(norm="fr", label_noise=0.1, seed=3), 3),
    )


def read_files(directory):
    """Every results file in `directory`, parsed without plot_utils."""
    parsed = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            with open(os.path.join(directory, name)) as results_file:
                parsed.append(json.load(results_file))
    return parsed


def load_groups(directory, group_by=plot_utils.DEFAULT_GROUP_BY):
    runs = plot_utils.load_runs(r"\.json$", str(directory))
    return plot_utils.group_runs(runs, group_by)


def group_labels(groups):
    return [group.label for group in groups]


def columns(line):
    """The cells of a line of a summary table."""
    return re.split(r"\s{2,}", line.strip())


def legend_texts(figure_or_axes):
    legends = getattr(figure_or_axes, "legends", None)
    if legends is None:
        legends = [figure_or_axes.get_legend()]
    return [
        text.get_text() for legend in legends for text in legend.get_texts()
    ]


def solid_lines(axes):
    return [line for line in axes.lines if line.get_linestyle() == "-"]


def band_vertices(axes, index=0):
    """The y coordinates of the `index`th band drawn on `axes`."""
    return axes.collections[index].get_paths()[0].vertices[:, 1]


def assert_readable_nonblank_png(path, min_colors=5):
    with open(path, "rb") as image_file:
        assert image_file.read(8) == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100
    assert pixels.var() > 0
    rgb = pixels[..., :3].reshape(-1, 3)
    assert len(np.unique(np.round(rgb * 255), axis=0)) >= min_colors
    return rgb


def assert_colors_drawn(rgb, colors, tolerance=0.12):
    """Every colour (drawn at alpha 0.9 on white) appears in the image."""
    for color in colors:
        target = np.array(matplotlib.colors.to_rgb(color))
        nearest = np.abs(rgb - target).max(axis=1).min()
        assert nearest < tolerance, f"colour {color} is not in the image"


def run_cli(*args, cwd=REPO_ROOT):
    environment = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_in_process(*args):
    """`plot_results` with the flags parsed from `args`, as the script does.

    Raises what the script would exit with: SystemExit with a message, or
    absl's IllegalFlagValueError for a value its validators refuse.
    """
    flag_values = flags.FlagValues()
    plot_utils.define_flags(flag_values)
    flag_values(["plot_utils.py", *args])
    plot_utils.plot_results(flag_values)


def refusal(*args):
    """The one-line message `run_in_process(*args)` exits with."""
    with pytest.raises(SystemExit) as exit_info:
        run_in_process(*args)
    message = exit_info.value.code
    # A string code is printed to stderr with exit status 1.
    assert isinstance(message, str) and "\n" not in message
    assert message.startswith("plot_utils.py: error: ")
    return message


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


class TestComputeStatistics:
    def test_matches_numpy_sample_statistics(self):
        rng = np.random.default_rng(0)
        values = rng.normal(size=(4, 7))
        data = [{"test_loss": list(row)} for row in values]
        mean, std = plot_utils.compute_statistics(data, "test_loss")
        np.testing.assert_allclose(mean, values.mean(axis=0))
        np.testing.assert_allclose(std, values.std(axis=0, ddof=1))

    def test_two_runs_std_is_difference_over_sqrt2(self):
        data = [{"train_loss": [1.0, 2.0]}, {"train_loss": [3.0, 2.0]}]
        mean, std = plot_utils.compute_statistics(data, "train_loss")
        np.testing.assert_allclose(mean, [2.0, 2.0])
        np.testing.assert_allclose(std, [np.sqrt(2.0), 0.0])

    def test_single_run_has_zero_std(self):
        data = [{"regularizer_loss": [0.5, 0.25, 0.125]}]
        mean, std = plot_utils.compute_statistics(data, "regularizer_loss")
        np.testing.assert_allclose(mean, [0.5, 0.25, 0.125])
        np.testing.assert_array_equal(std, np.zeros(3))

    def test_null_value_makes_only_that_point_nan(self):
        data = [
            {"test_loss": [1.0, None, 3.0]},
            {"test_loss": [1.0, 2.0, 5.0]},
        ]
        mean, std = plot_utils.compute_statistics(data, "test_loss")
        np.testing.assert_array_equal(np.isnan(mean), [False, True, False])
        np.testing.assert_allclose(mean[[0, 2]], [1.0, 4.0])
        np.testing.assert_allclose(std[[0, 2]], [0.0, np.sqrt(2.0)])

    def test_different_lengths_are_refused(self):
        data = [{"test_loss": [1.0, 2.0]}, {"test_loss": [1.0]}]
        with pytest.raises(ValueError, match="differ in length"):
            plot_utils.compute_statistics(data, "test_loss")

    def test_band_is_clipped_to_the_values_a_quantity_can_take(self):
        mean, std = np.array([0.1, 0.9]), np.array([0.2, 0.1])
        lower, upper = plot_utils.band(mean, std, "l2_norm")
        np.testing.assert_allclose(lower, [0.0, 0.7])
        np.testing.assert_allclose(upper, [0.5, 1.1])
        lower, upper = plot_utils.band(mean, std, "test_accuracy")
        np.testing.assert_allclose(upper, [0.5, 1.0])
        # Margins can be negative: unclipped.
        lower, _ = plot_utils.band(mean, std, "margin")
        np.testing.assert_allclose(lower, [-0.3, 0.7])


class TestLoading:
    def test_loads_matching_files_and_ignores_dot_files(self, tmp_path):
        write(tmp_path, "run-a", seed=1)
        write(tmp_path, "run-b", seed=2)
        write(tmp_path, "other", seed=3)
        write(tmp_path, ".tmp-partial", seed=4)
        data = plot_utils.load_data_for_pattern("^run-", str(tmp_path))
        assert sorted(run["hparams"]["random_seed"] for run in data) == [1, 2]
        everything = plot_utils.load_data_for_pattern(
            r"\.json$", str(tmp_path)
        )
        assert len(everything) == 3

    def test_foreign_and_broken_files_skipped_with_one_warning_each(
        self, tmp_path, caplog
    ):
        write(tmp_path, "good", seed=1)
        write_text(tmp_path, "notes.json", "not json at all")
        write_text(tmp_path, "truncated.json", '{"hparams": {')
        write_text(tmp_path, "nan.json", '{"steps": NaN}')
        results_io.write_json_atomically(
            {"hparams": {}, "steps": [0]}, str(tmp_path), "missing-keys"
        )
        uneven = make_results(seed=2)
        uneven["margin"] = uneven["margin"][:-1]
        write_results(tmp_path, "uneven", uneven)
        nested = make_results(seed=3)
        nested["hparams"]["fisher_rao_lambda"] = [0.1]
        write_results(tmp_path, "nested", nested)
        with caplog.at_level(logging.WARNING):
            runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        assert [run.name for run in runs] == ["good.json"]
        warnings = [
            record.getMessage()
            for record in caplog.records
            if record.levelno == logging.WARNING
        ]
        bad_names = [
            "missing-keys.json",
            "nan.json",
            "nested.json",
            "notes.json",
            "truncated.json",
            "uneven.json",
        ]
        assert len(warnings) == len(bad_names)
        for name, message in zip(bad_names, sorted(warnings), strict=True):
            assert name in message and "\n" not in message
        assert "'margin'" in sorted(warnings)[-1]

    def test_missing_directory_raises(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            plot_utils.load_runs(".*", str(tmp_path / "absent"))


class TestGrouping:
    def test_seeds_averaged_lambdas_and_norms_separate(self, tmp_path):
        write_sweep(tmp_path)
        groups = load_groups(tmp_path)
        assert group_labels(groups) == [
            "norm=None, lambda=0",
            "norm=fr, lambda=0",
            "norm=fr, lambda=0.01",
            "norm=fr, lambda=0.1",
            "norm=fre, lambda=0.1",
        ]
        for group in groups:
            assert sorted(
                run.results["hparams"]["random_seed"] for run in group.runs
            ) == [1, 2]

    def test_group_mean_is_mean_of_its_runs(self, tmp_path):
        write_sweep(tmp_path)
        group = load_groups(tmp_path, ["fisher_rao_lambda"])[-1]
        assert group.hparams == {"fisher_rao_lambda": 0.1}
        members = [
            results
            for results in read_files(tmp_path)
            if results["hparams"]["fisher_rao_lambda"] == 0.1
        ]
        mean, _ = plot_utils.compute_statistics(group.data, "test_accuracy")
        np.testing.assert_allclose(
            mean,
            np.mean([results["test_accuracy"] for results in members], axis=0),
        )

    def test_empty_group_by_puts_all_runs_in_one_group(self, tmp_path):
        write_sweep(tmp_path)
        (group,) = load_groups(tmp_path, [])
        assert group.label == "all runs" and len(group.runs) == 10

    def test_different_lengths_are_separated_naming_files(
        self, tmp_path, caplog
    ):
        write(tmp_path, "long-1", seed=1, num_points=6)
        write(tmp_path, "long-2", seed=2, num_points=6)
        write(tmp_path, "short-1", seed=3, num_points=3)
        with caplog.at_level(logging.WARNING):
            groups = load_groups(tmp_path)
        assert sorted(len(group.runs) for group in groups) == [1, 2]
        assert len({group.label for group in groups}) == 2
        for group in groups:
            assert len({len(run.results["steps"]) for run in group.runs}) == 1
        message = caplog.records[-1].getMessage()
        for name in ("long-1.json", "long-2.json", "short-1.json"):
            assert name in message
        loss_axes = plot_utils.plot_trajectories(groups).axes[0]
        assert sorted(len(line.get_xdata()) for line in loss_axes.lines) == [
            3,
            3,
            6,
            6,
        ]

    def test_final_groups_keep_a_stop_loss_run_with_its_siblings(
        self, tmp_path
    ):
        write(tmp_path, "full-1", seed=1)
        write(tmp_path, "full-2", seed=2)
        write_results(tmp_path, "stopped", stop_early(make_results(seed=3), 4))
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        # Trajectories of different steps are never averaged...
        assert len(plot_utils.group_runs(runs, ["regularization_norm"])) == 2
        # ...but final values are, each run's from its last evaluation.
        (group,) = plot_utils.group_final_runs(runs, ["regularization_norm"])
        assert len(group.runs) == 3
        last = np.array(
            [results["test_accuracy"][-1] for results in read_files(tmp_path)]
        )
        np.testing.assert_allclose(
            plot_utils.final_statistics(group)["test_accuracy"],
            (last.mean(), last.std(ddof=1)),
        )
        row = plot_utils.format_summary_table([group]).splitlines()[2]
        assert row.split()[1:3] == ["3", "300-500"]

    def test_warns_when_a_group_mixes_other_hparams(self, tmp_path, caplog):
        write(tmp_path, "forward", seed=1, method="forward")
        write(tmp_path, "exact", seed=2, method="exact")
        with caplog.at_level(logging.WARNING):
            (group,) = load_groups(tmp_path)
        assert len(group.runs) == 2
        assert "fisher_rao_method (exact/forward)" in caplog.text
        assert "random_seed" not in caplog.text

    def test_unfinished_runs_are_judged_by_is_complete(self, tmp_path):
        write(tmp_path, "finished", seed=1)
        write_results(
            tmp_path, "stop-loss", stop_early(make_results(seed=2), 2)
        )
        interrupted = make_results(seed=3)
        for key in results_io.EVALUATED_KEYS + ("steps",):
            interrupted[key] = interrupted[key][:2]
        write_results(tmp_path, "interrupted", interrupted)
        diverged = make_results(seed=4)
        diverged["train_loss"][-1] = float("nan")
        write_results(tmp_path, "diverged", diverged)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        assert [run.name for run in plot_utils.unfinished_runs(runs)] == [
            "diverged.json",
            "interrupted.json",
        ]


class TestSummary:
    def test_final_statistics_against_numpy(self, tmp_path):
        write_sweep(tmp_path)
        runs = plot_utils.load_runs("^fr-0.1-", str(tmp_path))
        (group,) = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        statistics = plot_utils.final_statistics(group)
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

    def test_table_has_one_row_per_group_and_any_extra_column(self, tmp_path):
        write_sweep(tmp_path)
        groups = load_groups(tmp_path)
        lines = plot_utils.format_summary_table(
            groups, ["margin", "test_loss"]
        ).splitlines()
        assert len(lines) == 2 + len(groups)
        assert columns(lines[0])[-2:] == ["gap (train-test acc)", "margin"]
        statistics = plot_utils.final_statistics(groups[0])
        assert lines[2].startswith("norm=None, lambda=0 ")
        for key in ("test_loss", "margin"):
            mean, std = statistics[key]
            assert f"{mean:.4f} ± {std:.4f}" in lines[2]

    def test_lambda_table_covers_norm_method_lambda(self, tmp_path):
        write_sweep(tmp_path)
        write(tmp_path, "fr-exact", norm="fr", lam=0.1, method="exact")
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.lambda_sweep_groups(runs)
        table = plot_utils.format_summary_table(groups)
        assert len(table.splitlines()) == 2 + 6
        assert "norm=fr, method=exact, lambda=0.1 " in table
        assert "norm=fr, method=forward, lambda=0.1 " in table


class TestTrajectoryFigure:
    def test_png_is_valid_and_shows_every_group(self, tmp_path):
        write_sweep(tmp_path)
        groups = load_groups(tmp_path)
        figure = plot_utils.plot_trajectories(groups)
        path = str(tmp_path / "figures" / "trajectories.png")
        plot_utils.save_figure(figure, path)
        rgb = assert_readable_nonblank_png(path)
        assert_colors_drawn(rgb, plot_utils.group_colors(len(groups)))
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
        figure = plot_utils.plot_trajectories(load_groups(tmp_path))
        loss_axes, accuracy_axes = figure.axes[:2]
        files = read_files(tmp_path)
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
            results = make_results(seed=seed)
            results["regularizer_loss"] = [value] * 500
            results["l2_norm"] = [value] * 6
            write_results(tmp_path, f"run-{seed}", results)
        groups = load_groups(tmp_path)
        mean, std = plot_utils.compute_statistics(
            groups[0].data, "regularizer_loss"
        )
        assert (mean - 2 * std).min() < -0.9
        regularizer_axes = plot_utils.plot_trajectories(groups).axes[2]
        assert band_vertices(regularizer_axes).min() == 0.0
        measure_axes = plot_utils.plot_measures(
            groups, ["l2_norm"], y_scale="linear"
        ).axes[0]
        assert band_vertices(measure_axes).min() == 0.0

    def test_null_values_of_a_diverged_run_leave_gaps(self, tmp_path):
        diverged = make_results(seed=1)
        diverged["train_loss"][-2:] = [float("nan")] * 2
        diverged["regularizer_loss"][-1] = float("inf")
        write_results(tmp_path, "diverged", diverged)
        groups = load_groups(tmp_path)
        assert groups[0].runs[0].results["train_loss"][-1] is None
        figure = plot_utils.plot_trajectories(groups)
        plotted = figure.axes[0].lines[0].get_ydata()
        assert np.isnan(plotted[-2:]).all() and np.isfinite(plotted[:-2]).all()
        assert "nan ± " in plot_utils.format_summary_table(groups)

    def test_one_run_is_one_run_not_one_runs(self, tmp_path):
        write(tmp_path, "only", seed=1)
        groups = load_groups(tmp_path)
        for figure in (
            plot_utils.plot_trajectories(groups),
            plot_utils.plot_measures(groups, ["margin"]),
        ):
            assert "(1 run per group)" in figure.get_suptitle()
            assert legend_texts(figure) == ["norm=fr, lambda=0.01 (1 run)"]
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        figure = plot_utils.plot_lambda_sweep(
            plot_utils.lambda_sweep_groups(runs)
        )
        assert "(1 run per point)" in figure.get_suptitle()

    def test_draw_plot_spaces_points_by_factor(self):
        plt.figure()
        plot_utils.draw_plot(
            [3.0, 2.0, 1.0], [0.1, 0.1, 0.1], "train", "loss", "red", 50
        )
        axes = plt.gca()
        np.testing.assert_array_equal(axes.lines[0].get_xdata(), [0, 50, 100])
        assert axes.get_ylabel() == "loss"
        assert np.isclose(band_vertices(axes).max(), 3.2)
        assert np.isclose(band_vertices(axes).min(), 0.8)


class TestMeasuresFigure:
    def test_one_panel_per_measure_drawing_the_files_means(self, tmp_path):
        write_sweep(tmp_path)
        groups = load_groups(tmp_path)
        measures = ["fisher_rao_norm", "l2_norm", "margin", "test_loss"]
        figure = plot_utils.plot_measures(groups, measures)
        assert [axes.get_title() for axes in figure.axes] == measures
        files = read_files(tmp_path)
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
        figure = plot_utils.plot_measures(
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
                plot_utils.plot_measures(groups, ["margin", unknown])
            assert ", ".join(results_io.EVALUATED_KEYS) in str(error.value)

    def test_a_measure_never_recorded_says_so(self, tmp_path):
        write(tmp_path, "run", seed=1)
        (axes,) = plot_utils.plot_measures(
            load_groups(tmp_path), ["validation_loss"]
        ).axes
        assert np.isnan(axes.lines[0].get_ydata()).all()
        assert [text.get_text() for text in axes.texts] == ["not recorded"]


class TestFinalValuesFigure:
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
    def test_x_axis_kind(self, values, kind):
        assert plot_utils.x_axis_kind(values) == kind

    def test_values_are_means_of_each_runs_last_evaluation(self, tmp_path):
        write_noise_sweep(tmp_path)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.final_value_groups(
            runs, "label_noise", plot_utils.DEFAULT_GROUP_BY
        )
        measures = ["test_accuracy", "generalization_gap", "l2_norm"]
        figure = plot_utils.plot_final_values(groups, "label_noise", measures)
        files = read_files(tmp_path)
        for subfigure, measure in zip(figure.subfigs, measures, strict=True):
            (axes,) = subfigure.axes
            assert axes.get_xscale() == "linear"
            assert axes.get_xlabel() == "label_noise"
            lines = solid_lines(axes)
            assert len(lines) == 2
            for norm, line in zip(("None", "fr"), lines, strict=True):
                np.testing.assert_array_equal(
                    line.get_xdata(), [0.0, 0.1, 0.2]
                )
                expected = [
                    np.mean(
                        [
                            results["train_accuracy"][-1]
                            - results["test_accuracy"][-1]
                            if measure == "generalization_gap"
                            else results[measure][-1]
                            for results in files
                            if results["hparams"]["regularization_norm"]
                            == norm
                            and results["hparams"]["label_noise"] == noise
                        ]
                    )
                    for noise in (0.0, 0.1, 0.2)
                ]
                np.testing.assert_allclose(line.get_ydata(), expected)
        assert legend_texts(figure) == [
            "norm=None, lambda=0",
            "norm=fr, lambda=0.01",
        ]
        assert "against label_noise" in figure.get_suptitle()

    def test_categorical_x_gets_one_tick_per_value(self, tmp_path):
        for dataset in ("synthetic", "digits"):
            for seed in (1, 2):
                write(
                    tmp_path, f"{dataset}-{seed}", dataset=dataset, seed=seed
                )
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.final_value_groups(runs, "dataset", [])
        figure = plot_utils.plot_final_values(groups, "dataset", ["test_loss"])
        (axes,) = figure.axes
        assert [label.get_text() for label in axes.get_xticklabels()] == [
            "digits",
            "synthetic",
        ]
        (error_bars,) = axes.containers
        means, _ = error_bars.lines[0].get_data()[1], None
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

    def test_log_x_puts_zero_in_its_own_panel(self, tmp_path):
        for decay in (0.0, 1e-3, 1e-2, 1e-1):
            write(tmp_path, f"decay-{decay}", weight_decay=decay)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.final_value_groups(runs, "weight_decay", [])
        figure = plot_utils.plot_final_values(
            groups, "weight_decay", ["l2_norm"]
        )
        zero_axes, log_axes = figure.axes
        assert log_axes.get_xscale() == "log"
        assert [label.get_text() for label in zero_axes.get_xticklabels()] == [
            "0"
        ]
        np.testing.assert_array_equal(
            solid_lines(log_axes)[0].get_xdata(), [1e-3, 1e-2, 1e-1]
        )

    def test_unknown_measure_is_refused_listing_the_allowed(self, tmp_path):
        write(tmp_path, "run")
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.final_value_groups(runs, "label_noise", [])
        with pytest.raises(ValueError, match="colour.*generalization_gap"):
            plot_utils.plot_final_values(groups, "label_noise", ["colour"])

    def test_lambda_plot_renders_every_line(self, tmp_path):
        write_sweep(tmp_path)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.lambda_sweep_groups(runs)
        figure = plot_utils.plot_lambda_sweep(groups)
        path = str(tmp_path / "lambda.png")
        plot_utils.save_figure(figure, path)
        rgb = assert_readable_nonblank_png(path)
        assert_colors_drawn(rgb, plot_utils.group_colors(3))
        zero_axes, log_axes = figure.subfigs[0].axes
        assert log_axes.get_xscale() == "log"
        assert [label.get_text() for label in zero_axes.get_xticklabels()] == [
            "λ = 0"
        ]
        # fr has two positive lambdas: its mean line joins them in order.
        fr_line = [
            line
            for line in solid_lines(log_axes)
            if len(line.get_xdata()) == 2
        ]
        assert len(fr_line) == 1
        np.testing.assert_array_equal(fr_line[0].get_xdata(), [0.01, 0.1])
        # None has only lambda = 0: a dotted reference across the log panel.
        assert [line.get_linestyle() for line in log_axes.lines].count(
            ":"
        ) == 1
        # The method means nothing without a norm: None's label omits it.
        labels = legend_texts(figure)
        none_labels = [label for label in labels if "norm=None" in label]
        assert none_labels and all(
            "method" not in label for label in none_labels
        )
        assert any("method=forward" in label for label in labels)

    def test_lambda_groups_refuse_missing_lambda(self, tmp_path):
        results = make_results()
        del results["hparams"]["fisher_rao_lambda"]
        write_results(tmp_path, "nolambda", results)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        with pytest.raises(ValueError, match="nolambda.json"):
            plot_utils.lambda_sweep_groups(runs)


class TestCommandLine:
    def test_default_output_is_next_to_the_results(self, tmp_path):
        results_dir = tmp_path / "results"
        write(results_dir, "fre-1", norm="fre", lam=0.1, seed=1)
        write(results_dir, "fre-2", norm="fre", lam=0.1, seed=2)
        write_text(results_dir, "broken.json", "{")
        elsewhere = tmp_path / "cwd"
        elsewhere.mkdir()
        result = run_cli(f"--results_dir={results_dir}", cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        output = results_dir / "fisher_rao_trajectories.png"
        assert_readable_nonblank_png(str(output))
        assert f"Wrote the figure to {output}" in result.stderr
        assert os.listdir(elsewhere) == []
        assert "norm=fre, lambda=0.1" in result.stdout
        assert result.stderr.count("broken.json") == 1

    def test_unwritable_output_is_a_one_line_error(self, tmp_path):
        write_sweep(tmp_path)
        a_file = write_text(tmp_path, "a_file", "")
        result = run_cli(
            f"--results_dir={tmp_path}", f"--output={a_file}/under/figure.png"
        )
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        (line,) = [
            line for line in result.stderr.splitlines() if "error" in line
        ]
        assert (
            f"{a_file}/under" in line
            and "a part of the path is a file" in line
        )

    @pytest.mark.parametrize(
        "output, reason",
        [
            ("a_file/under/figure.png", "a part of the path is a file"),
            ("a_file/figure.png", "is a file, not a directory"),
            ("a_directory.png", "is a directory"),
        ],
    )
    def test_unwritable_output_is_refused_before_loading(
        self, tmp_path, output, reason
    ):
        write_text(tmp_path, "a_file", "")
        os.mkdir(tmp_path / "a_directory.png")
        empty = tmp_path / "no_results"
        empty.mkdir()
        # The output is refused though loading would fail too.
        message = refusal(
            f"--results_dir={empty}", f"--output={tmp_path / output}"
        )
        assert reason in message
        assert str(tmp_path / os.path.dirname(output)) in message
        assert sorted(os.listdir(tmp_path)) == [
            "a_directory.png",
            "a_file",
            "no_results",
        ]
        assert os.listdir(empty) == []

    def test_pdf_output_and_lambda_mode(self, tmp_path, capsys):
        write_sweep(tmp_path)
        output = tmp_path / "out" / "sweep.pdf"
        run_in_process(
            f"--results_dir={tmp_path}", f"--output={output}", "--plot=lambda"
        )
        with open(output, "rb") as pdf_file:
            assert pdf_file.read(5) == b"%PDF-"
        assert (
            "norm=fr, method=forward, lambda=0.01 " in capsys.readouterr().out
        )

    def test_final_mode_against_a_swept_flag(self, tmp_path, capsys):
        write_noise_sweep(tmp_path)
        run_in_process(
            f"--results_dir={tmp_path}",
            "--plot=final",
            "--x_hparam=label_noise",
            "--measures=margin,l2_norm",
        )
        assert_readable_nonblank_png(str(tmp_path / "fisher_rao_final.png"))
        lines = capsys.readouterr().out.splitlines()
        assert columns(lines[1])[-2:] == ["margin", "l2 norm"]
        # One row per (norm, lambda, noise); the stopped run joined its own.
        rows = [line for line in lines if line.startswith("norm=")]
        assert len(rows) == 6
        assert "norm=fr, lambda=0.01, label_noise=0.1  3" in "\n".join(rows)

    def test_measures_mode(self, tmp_path):
        write_sweep(tmp_path)
        run_in_process(
            f"--results_dir={tmp_path}", "--plot=measures", "--measures=margin"
        )
        assert_readable_nonblank_png(str(tmp_path / "fisher_rao_measures.png"))

    def test_unknown_measure_exits_with_one_line(self, tmp_path):
        write_sweep(tmp_path)
        result = run_cli(
            f"--results_dir={tmp_path}",
            "--plot=measures",
            "--measures=margin,colour",
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr
        (line,) = [
            line for line in result.stderr.splitlines() if "colour" in line
        ]
        assert ", ".join(results_io.EVALUATED_KEYS) in line
        assert not os.path.exists(tmp_path / "fisher_rao_measures.png")

    @pytest.mark.parametrize(
        "args, refused",
        [
            (
                ["--plot=measures", "--measures=generalization_gap"],
                "generalization_gap",
            ),
            (
                ["--plot=trajectories", "--measures=margin"],
                "--plot=trajectories",
            ),
            (["--plot=final", "--measures="], "no measure"),
            (["--output=figure.jpeg"], ".png, .pdf, .svg"),
        ],
    )
    def test_bad_flag_values_are_refused(self, args, refused):
        with pytest.raises(flags.IllegalFlagValueError, match=refused):
            run_in_process(*args)

    @pytest.mark.parametrize("make_files", [False, True])
    def test_no_results_is_a_one_line_error(self, tmp_path, make_files):
        if make_files:
            write_sweep(tmp_path)
        pattern = "^nothing-matches-this"
        message = refusal(
            f"--results_dir={tmp_path}",
            f"--pattern={pattern}",
            f"--output={tmp_path / 'never.png'}",
        )
        assert str(tmp_path) in message and pattern in message
        assert not os.path.exists(tmp_path / "never.png")

    @pytest.mark.parametrize("output", [True, False])
    def test_missing_directory_is_a_one_line_error(self, tmp_path, output):
        missing = tmp_path / "absent"
        message = refusal(
            f"--results_dir={missing}",
            *([f"--output={tmp_path / 'never.png'}"] if output else []),
        )
        assert f"results directory {missing}" in message
        assert os.listdir(tmp_path) == []

    @pytest.mark.parametrize(
        "args",
        [
            ["--group_by=colour"],
            ["--plot=final", "--x_hparam=colour"],
        ],
    )
    def test_unknown_hparams_are_refused(self, tmp_path, args):
        write_sweep(tmp_path)
        message = refusal(f"--results_dir={tmp_path}", *args)
        assert "colour" in message and "random_seed" in message


@pytest.fixture(scope="module")
def real_results_dir(tmp_path_factory):
    """Results of short real runs: None and fr, two seeds each."""
    training = pytest.importorskip("synthetic_classification")
    directory = str(tmp_path_factory.mktemp("real_results"))
    for norm, lam in (("None", 0.0), ("fr", 0.1)):
        for seed in (1, 2):
            config = dict(
                training.default_config(),
                regularization_norm=norm,
                fisher_rao_lambda=lam,
                random_seed=seed,
                train_steps=100,
                eval_steps=50,
                train_size=200,
                validation_size=50,
                batch_size=32,
                optimizer="adam",
                learning_rate=0.01,
            )
            training.save_run(training.run_experiment(config), directory)
    return directory


class TestRealRuns:
    def test_groups_statistics_and_figures(self, real_results_dir, tmp_path):
        runs = plot_utils.load_runs(r"\.json$", real_results_dir)
        assert plot_utils.unfinished_runs(runs) == []
        groups = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        assert group_labels(groups) == [
            "norm=None, lambda=0",
            "norm=fr, lambda=0.1",
        ]
        for group in groups:
            assert len(group.runs) == 2
            np.testing.assert_array_equal(group.steps, [0, 50, 100])
            np.testing.assert_array_equal(
                plot_utils.regularizer_steps(group), np.arange(100)
            )
            last = np.array([run["test_accuracy"][-1] for run in group.data])
            np.testing.assert_allclose(
                plot_utils.final_statistics(group)["test_accuracy"],
                (last.mean(), last.std(ddof=1)),
            )
        figure = plot_utils.plot_trajectories(groups)
        assert "validation" in legend_texts(figure.axes[0])
        path = str(tmp_path / "real.png")
        plot_utils.save_figure(figure, path)
        assert_colors_drawn(
            assert_readable_nonblank_png(path), plot_utils.group_colors(2)
        )
        figure = plot_utils.plot_measures(groups, results_io.MEASURE_KEYS)
        for axes in figure.axes:
            assert np.isfinite(axes.lines[0].get_ydata()).all()
        figure = plot_utils.plot_lambda_sweep(
            plot_utils.lambda_sweep_groups(runs)
        )
        assert len(figure.subfigs) == 3

    def test_command_line_table(self, real_results_dir, tmp_path, capsys):
        run_in_process(
            f"--results_dir={real_results_dir}",
            f"--output={tmp_path / 'real.png'}",
        )
        rows = [
            line
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("norm=")
        ]
        assert [row.split("  ")[0] for row in rows] == [
            "norm=None, lambda=0",
            "norm=fr, lambda=0.1",
        ]
        assert all(row.split()[2] == "2" for row in rows)
