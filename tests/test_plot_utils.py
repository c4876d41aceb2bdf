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

import logging
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import plot_utils  # noqa: E402
import results_io  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "plot_utils.py")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_results(norm="fr", lam=0.01, seed=1, method="forward",
                 num_points=6, eval_steps=100):
    """Plausible results of one run, different for every seed."""
    rng = np.random.default_rng(seed + int(1e6 * lam) + len(norm))
    steps = np.arange(num_points) * eval_steps
    progress = np.linspace(0.0, 1.0, num_points)
    loss = 0.7 * np.exp(-3 * progress) + 0.1
    return {
        "hparams": {"regularization_norm": norm, "fisher_rao_lambda": lam,
                    "fisher_rao_method": method, "random_seed": seed,
                    "train_steps": int(steps[-1]),
                    "eval_steps": eval_steps,
                    "start_time": f"2026-01-01T00:00:0{seed}"},
        "steps": steps,
        "train_loss": loss + rng.normal(0, 0.02, num_points),
        "test_loss": loss + 0.1 * progress + rng.normal(0, 0.02, num_points),
        "train_accuracy": 1 - loss / 2 + rng.normal(0, 0.02, num_points),
        "test_accuracy": 1 - loss / 2 - 0.05 * progress
        + rng.normal(0, 0.02, num_points),
        # One value per training step, as synthetic_classification records.
        "regularizer_loss": np.exp(-np.arange(steps[-1]) / steps[-1])
        + rng.normal(0, 0.02, steps[-1]),
    }


def write(directory, stem, **kwargs):
    return results_io.write_json_atomically(make_results(**kwargs),
                                            str(directory), stem)


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
            write(directory, f"fr-{lam}-{seed}", norm="fr", lam=lam,
                  seed=seed)
        write(directory, f"fre-{seed}", norm="fre", lam=0.1, seed=seed)


def group_labels(groups):
    return [group.label for group in groups]


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


def run_cli(*args):
    environment = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=REPO_ROOT,
                          env=environment, capture_output=True, text=True,
                          timeout=120)


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
        data = [{"test_loss": [1.0, None, 3.0]},
                {"test_loss": [1.0, 2.0, 5.0]}]
        mean, std = plot_utils.compute_statistics(data, "test_loss")
        np.testing.assert_array_equal(np.isnan(mean), [False, True, False])
        np.testing.assert_allclose(mean[[0, 2]], [1.0, 4.0])
        np.testing.assert_allclose(std[[0, 2]], [0.0, np.sqrt(2.0)])

    def test_different_lengths_are_refused(self):
        data = [{"test_loss": [1.0, 2.0]}, {"test_loss": [1.0]}]
        with pytest.raises(ValueError, match="differ in length"):
            plot_utils.compute_statistics(data, "test_loss")


class TestLoading:

    def test_loads_matching_files_and_ignores_dot_files(self, tmp_path):
        write(tmp_path, "run-a", seed=1)
        write(tmp_path, "run-b", seed=2)
        write(tmp_path, "other", seed=3)
        write(tmp_path, ".tmp-partial", seed=4)
        data = plot_utils.load_data_for_pattern("^run-", str(tmp_path))
        assert sorted(run["hparams"]["random_seed"] for run in data) == [1, 2]
        everything = plot_utils.load_data_for_pattern(r"\.json$",
                                                      str(tmp_path))
        assert len(everything) == 3

    def test_foreign_and_broken_files_skipped_with_one_warning_each(
            self, tmp_path, caplog):
        write(tmp_path, "good", seed=1)
        write_text(tmp_path, "notes.json", "not json at all")
        write_text(tmp_path, "truncated.json", '{"hparams": {')
        write_text(tmp_path, "nan.json", '{"steps": NaN}')
        results_io.write_json_atomically({"hparams": {}, "steps": [0]},
                                         str(tmp_path), "missing-keys")
        uneven = make_results(seed=2)
        uneven["test_loss"] = uneven["test_loss"][:-1]
        results_io.write_json_atomically(uneven, str(tmp_path), "uneven")
        nested = make_results(seed=3)
        nested["hparams"]["fisher_rao_lambda"] = [0.1]
        results_io.write_json_atomically(nested, str(tmp_path), "nested")
        with caplog.at_level(logging.WARNING):
            runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        assert [run.name for run in runs] == ["good.json"]
        warnings = [record.getMessage() for record in caplog.records
                    if record.levelno == logging.WARNING]
        bad_names = ["missing-keys.json", "nan.json", "nested.json",
                     "notes.json", "truncated.json", "uneven.json"]
        assert len(warnings) == len(bad_names)
        for name, message in zip(bad_names, sorted(warnings), strict=True):
            assert name in message and "\n" not in message

    def test_missing_directory_raises(self, tmp_path):
        with pytest.raises(FileNotFoundError):
            plot_utils.load_runs(".*", str(tmp_path / "absent"))


class TestGrouping:

    def test_seeds_averaged_lambdas_and_norms_separate(self, tmp_path):
        write_sweep(tmp_path)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        assert group_labels(groups) == [
            "norm=None, lambda=0", "norm=fr, lambda=0", "norm=fr, lambda=0.01",
            "norm=fr, lambda=0.1", "norm=fre, lambda=0.1"]
        for group in groups:
            assert sorted(run.results["hparams"]["random_seed"]
                          for run in group.runs) == [1, 2]

    def test_group_mean_is_mean_of_its_runs(self, tmp_path):
        write_sweep(tmp_path)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        group = plot_utils.group_runs(runs, ["fisher_rao_lambda"])[-1]
        assert group.hparams == {"fisher_rao_lambda": 0.1}
        members = [run for run in runs
                   if run.results["hparams"]["fisher_rao_lambda"] == 0.1]
        mean, _ = plot_utils.compute_statistics(group.data, "test_accuracy")
        np.testing.assert_allclose(mean, np.mean(
            [run.results["test_accuracy"] for run in members], axis=0))

    def test_empty_group_by_puts_all_runs_in_one_group(self, tmp_path):
        write_sweep(tmp_path)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        (group,) = plot_utils.group_runs(runs, [])
        assert group.label == "all runs" and len(group.runs) == len(runs)

    def test_different_lengths_are_separated_naming_files(self, tmp_path,
                                                           caplog):
        write(tmp_path, "long-1", seed=1, num_points=6)
        write(tmp_path, "long-2", seed=2, num_points=6)
        write(tmp_path, "short-1", seed=3, num_points=3)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        with caplog.at_level(logging.WARNING):
            groups = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        assert sorted(len(group.runs) for group in groups) == [1, 2]
        assert len({group.label for group in groups}) == 2
        for group in groups:
            assert len({len(run.results["steps"]) for run in group.runs}) == 1
        message = caplog.records[-1].getMessage()
        for name in ("long-1.json", "long-2.json", "short-1.json"):
            assert name in message
        figure = plot_utils.plot_trajectories(groups)
        plot_utils.save_figure(figure, str(tmp_path / "mixed.png"))
        assert_readable_nonblank_png(str(tmp_path / "mixed.png"))

    def test_warns_when_a_group_mixes_other_hparams(self, tmp_path, caplog):
        write(tmp_path, "forward", seed=1, method="forward")
        write(tmp_path, "exact", seed=2, method="exact")
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        with caplog.at_level(logging.WARNING):
            (group,) = plot_utils.group_runs(runs,
                                             plot_utils.DEFAULT_GROUP_BY)
        assert len(group.runs) == 2
        assert "fisher_rao_method (exact/forward)" in caplog.text
        assert "random_seed" not in caplog.text


class TestSummary:

    def test_final_statistics_against_numpy(self, tmp_path):
        write_sweep(tmp_path)
        runs = plot_utils.load_runs("^fr-0.1-", str(tmp_path))
        (group,) = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        statistics = plot_utils.final_statistics(group)
        train = np.array([run.results["train_accuracy"][-1] for run in runs])
        test = np.array([run.results["test_accuracy"][-1] for run in runs])
        np.testing.assert_allclose(statistics["test_accuracy"],
                                   (test.mean(), test.std(ddof=1)))
        np.testing.assert_allclose(
            statistics["generalization_gap"],
            ((train - test).mean(), (train - test).std(ddof=1)))

    def test_table_has_one_row_per_group(self, tmp_path):
        write_sweep(tmp_path)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        lines = plot_utils.format_summary_table(groups).splitlines()
        assert len(lines) == 2 + len(groups)
        assert "gap" in lines[0]
        test_loss = plot_utils.final_statistics(groups[0])["test_loss"]
        assert lines[2].startswith("norm=None, lambda=0 ")
        assert f"{test_loss[0]:.4f} ± {test_loss[1]:.4f}" in lines[2]

    def test_lambda_table_covers_norm_method_lambda(self, tmp_path):
        write_sweep(tmp_path)
        write(tmp_path, "fr-exact", norm="fr", lam=0.1, method="exact")
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.lambda_sweep_groups(runs)
        table = plot_utils.format_summary_table(groups)
        assert len(table.splitlines()) == 2 + 6
        assert "norm=fr, method=exact, lambda=0.1 " in table
        assert "norm=fr, method=forward, lambda=0.1 " in table


class TestFigures:

    def test_trajectory_png_is_valid_and_shows_every_group(self, tmp_path):
        write_sweep(tmp_path)
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        groups = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        figure = plot_utils.plot_trajectories(groups)
        path = str(tmp_path / "figures" / "trajectories.png")
        plot_utils.save_figure(figure, path)
        rgb = assert_readable_nonblank_png(path)
        assert_colors_drawn(rgb, plot_utils.group_colors(len(groups)))
        loss_axes, _, regularizer_axes = figure.axes[:3]
        np.testing.assert_array_equal(loss_axes.lines[0].get_xdata(),
                                      groups[0].steps)
        np.testing.assert_array_equal(regularizer_axes.lines[0].get_xdata(),
                                      np.arange(groups[0].steps[-1]))
        assert "2 runs per group" in figure.get_suptitle()

    def test_null_values_of_a_diverged_run_leave_gaps(self, tmp_path):
        diverged = make_results(seed=1)
        diverged["train_loss"][-2:] = [float("nan")] * 2
        diverged["regularizer_loss"][-1] = float("inf")
        results_io.write_json_atomically(diverged, str(tmp_path), "diverged")
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        assert runs[0].results["train_loss"][-1] is None
        groups = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        figure = plot_utils.plot_trajectories(groups)
        plot_utils.save_figure(figure, str(tmp_path / "diverged.png"))
        assert_readable_nonblank_png(str(tmp_path / "diverged.png"))
        plotted = figure.axes[0].lines[0].get_ydata()
        assert np.isnan(plotted[-2:]).all() and np.isfinite(plotted[:-2]).all()
        assert "nan ± " in plot_utils.format_summary_table(groups)

    def test_unfinished_runs_are_those_short_of_train_steps(self, tmp_path):
        write(tmp_path, "finished", seed=1, num_points=6)
        stopped = make_results(seed=2, num_points=6)
        for key in plot_utils.EVALUATED_KEYS + ("steps",):
            stopped[key] = stopped[key][:2]
        results_io.write_json_atomically(stopped, str(tmp_path), "stopped")
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        assert [run.name for run in plot_utils.unfinished_runs(runs)] == [
            "stopped.json"]

    def test_draw_plot_spaces_points_by_factor(self):
        plt.figure()
        plot_utils.draw_plot([3.0, 2.0, 1.0], [0.1, 0.1, 0.1], "train",
                             "loss", "red", 50)
        axes = plt.gca()
        np.testing.assert_array_equal(axes.lines[0].get_xdata(), [0, 50, 100])
        assert axes.get_ylabel() == "loss"
        band = axes.collections[0].get_paths()[0].vertices
        assert np.isclose(band[:, 1].max(), 3.2)
        assert np.isclose(band[:, 1].min(), 0.8)

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
        assert [label.get_text() for label in zero_axes.get_xticklabels()] \
            == ["λ = 0"]
        # fr has two positive lambdas: its mean line joins them in order.
        fr_line = [line for line in log_axes.lines
                   if len(line.get_xdata()) == 2 and line.get_linestyle()
                   == "-"]
        assert len(fr_line) == 1
        np.testing.assert_array_equal(fr_line[0].get_xdata(), [0.01, 0.1])
        # The method means nothing without a norm: None's label omits it.
        labels = [text.get_text() for legend in figure.legends
                  for text in legend.get_texts()]
        none_labels = [label for label in labels if "norm=None" in label]
        assert none_labels and all("method" not in label
                                   for label in none_labels)
        assert any("method=forward" in label for label in labels)

    def test_lambda_groups_refuse_missing_lambda(self, tmp_path):
        results = make_results()
        del results["hparams"]["fisher_rao_lambda"]
        results_io.write_json_atomically(results, str(tmp_path), "nolambda")
        runs = plot_utils.load_runs(r"\.json$", str(tmp_path))
        with pytest.raises(ValueError, match="nolambda.json"):
            plot_utils.lambda_sweep_groups(runs)


class TestCommandLine:

    def test_png_output_table_and_skipped_file(self, tmp_path):
        write_sweep(tmp_path)
        write_text(tmp_path, "broken.json", "{")
        output = str(tmp_path / "out" / "figure.png")
        result = run_cli(f"--results_dir={tmp_path}", f"--output={output}")
        assert result.returncode == 0, result.stderr
        assert_readable_nonblank_png(output)
        assert "norm=fre, lambda=0.1" in result.stdout
        assert result.stderr.count("broken.json") == 1

    def test_pdf_output_and_lambda_mode(self, tmp_path):
        write_sweep(tmp_path)
        output = str(tmp_path / "sweep.pdf")
        result = run_cli(f"--results_dir={tmp_path}", f"--output={output}",
                         "--plot=lambda")
        assert result.returncode == 0, result.stderr
        with open(output, "rb") as pdf_file:
            assert pdf_file.read(5) == b"%PDF-"
        assert "norm=fr, method=forward, lambda=0.01 " in result.stdout

    @pytest.mark.parametrize("make_files", [False, True])
    def test_no_results_is_a_one_line_error(self, tmp_path, make_files):
        if make_files:
            write_sweep(tmp_path)
        pattern = "^nothing-matches-this"
        result = run_cli(f"--results_dir={tmp_path}", f"--pattern={pattern}",
                         f"--output={tmp_path / 'never.png'}")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        error_lines = [line for line in result.stderr.splitlines()
                       if "error" in line]
        assert len(error_lines) == 1
        assert str(tmp_path) in error_lines[0]
        assert pattern in error_lines[0]
        assert not os.path.exists(tmp_path / "never.png")

    def test_missing_directory_is_a_one_line_error(self, tmp_path):
        missing = str(tmp_path / "absent")
        result = run_cli(f"--results_dir={missing}",
                         f"--output={tmp_path / 'never.png'}")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert f"results directory {missing}" in result.stderr

    def test_unknown_group_by_and_bad_extension_are_refused(self, tmp_path):
        write_sweep(tmp_path)
        result = run_cli(f"--results_dir={tmp_path}", "--group_by=colour",
                         f"--output={tmp_path / 'x.png'}")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "colour" in result.stderr and "random_seed" in result.stderr
        result = run_cli(f"--results_dir={tmp_path}",
                         f"--output={tmp_path / 'x.jpeg'}")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert ".png, .pdf, .svg" in result.stderr


@pytest.fixture(scope="module")
def real_results_dir(tmp_path_factory):
    """Results of short real runs: None and fr, two seeds each."""
    training = pytest.importorskip("synthetic_classification")
    directory = str(tmp_path_factory.mktemp("real_results"))
    for norm, lam in (("None", 0.0), ("fr", 0.1)):
        for seed in (1, 2):
            config = dict(training.default_config(), regularization_norm=norm,
                          fisher_rao_lambda=lam, random_seed=seed,
                          train_steps=200, eval_steps=50, train_size=200,
                          batch_size=32, optimizer="adam", learning_rate=0.01)
            training.save_results(training.run_experiment(config), directory)
    return directory


class TestRealRuns:

    def test_groups_statistics_and_figures(self, real_results_dir, tmp_path):
        runs = plot_utils.load_runs(r"\.json$", real_results_dir)
        groups = plot_utils.group_runs(runs, plot_utils.DEFAULT_GROUP_BY)
        assert group_labels(groups) == ["norm=None, lambda=0",
                                        "norm=fr, lambda=0.1"]
        for group in groups:
            assert len(group.runs) == 2
            np.testing.assert_array_equal(group.steps, [0, 50, 100, 150, 200])
            np.testing.assert_array_equal(
                plot_utils.regularizer_steps(group), np.arange(200))
            last = np.array([run["test_accuracy"][-1] for run in group.data])
            np.testing.assert_allclose(
                plot_utils.final_statistics(group)["test_accuracy"],
                (last.mean(), last.std(ddof=1)))
        path = str(tmp_path / "real.png")
        plot_utils.save_figure(plot_utils.plot_trajectories(groups), path)
        assert_colors_drawn(assert_readable_nonblank_png(path),
                            plot_utils.group_colors(2))
        lambda_groups = plot_utils.lambda_sweep_groups(runs)
        path = str(tmp_path / "real_lambda.png")
        plot_utils.save_figure(plot_utils.plot_lambda_sweep(lambda_groups),
                               path)
        assert_readable_nonblank_png(path)

    def test_command_line_table(self, real_results_dir, tmp_path):
        result = run_cli(f"--results_dir={real_results_dir}",
                         f"--output={tmp_path / 'real.png'}")
        assert result.returncode == 0, result.stderr
        rows = [line for line in result.stdout.splitlines()
                if line.startswith("norm=")]
        assert [row.split("  ")[0] for row in rows] == [
            "norm=None, lambda=0", "norm=fr, lambda=0.1"]
        assert all(row.split()[2] == "2" for row in rows)
