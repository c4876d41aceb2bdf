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
"""Tests of plot_utils.py: the command line, and the 2018 functions it keeps.

The modules behind it are tested by tests/test_<module>.py (loading,
grouping, run_statistics, tables, trajectory_plots, ...).
"""

import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import helpers
import matplotlib.pyplot as plt
import numpy as np
import pytest
from absl import flags

import plot_utils
from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import (
    drawing,
    grouping,
    loading,
    quantities,
    run_statistics,
    tables,
    trajectory_plots,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "plot_utils.py")
write = helpers.write
write_sweep = helpers.write_sweep
columns = helpers.columns


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


class TestLibrary:
    def test_load_data_for_pattern_loads_matching_files_not_dot_files(
        self, tmp_path
    ):
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

    def test_load_data_for_pattern_reads_an_earlier_versions_files(
        self, tmp_path
    ):
        old = helpers.earlier_version_results(seed=1)
        helpers.write_results(tmp_path, "old", old)
        (data,) = plot_utils.load_data_for_pattern(r"\.json$", str(tmp_path))
        assert set(data) == set(helpers.EARLIER_VERSION_KEYS)
        np.testing.assert_allclose(data["test_loss"], old["test_loss"])

    def test_draw_plot_spaces_points_by_factor(self):
        plt.figure()
        plot_utils.draw_plot(
            [3.0, 2.0, 1.0], [0.1, 0.1, 0.1], "train", "loss", "red", 50
        )
        axes = plt.gca()
        np.testing.assert_array_equal(axes.lines[0].get_xdata(), [0, 50, 100])
        assert axes.get_ylabel() == "loss"
        assert np.isclose(helpers.band_vertices(axes).max(), 3.2)
        assert np.isclose(helpers.band_vertices(axes).min(), 0.8)

    def test_documented_names_are_the_analysis_functions(self):
        for name in ("load_data_for_pattern", "compute_statistics"):
            assert name in plot_utils.__all__
        assert "draw_plot" in plot_utils.__all__
        for name in plot_utils.__all__:
            function = getattr(plot_utils, name)
            assert callable(function)
            assert function.__module__.startswith(
                "fisher_rao_experiments.analysis."
            )
        assert plot_utils.load_runs is loading.load_runs
        assert plot_utils.draw_plot is drawing.draw_plot
        assert plot_utils.compute_statistics is (
            run_statistics.compute_statistics
        )
        assert plot_utils.format_summary_table is tables.format_summary_table


class TestCommandLine:
    @pytest.mark.parametrize("cwd", [REPO_ROOT, "/tmp"])
    def test_help_works_from_anywhere(self, cwd):
        result = run_cli("--help", cwd=cwd)
        # absl prints the help and exits with status 1.
        assert "Traceback" not in result.stderr, result.stderr
        for flag in ("--results_dir", "--plot", "--smoothing"):
            assert flag in result.stdout

    def test_default_output_is_next_to_the_results(self, tmp_path):
        results_dir = tmp_path / "results"
        write(results_dir, "fre-1", norm="fre", lam=0.1, seed=1)
        write(results_dir, "fre-2", norm="fre", lam=0.1, seed=2)
        helpers.write_text(results_dir, "broken.json", "{")
        elsewhere = tmp_path / "cwd"
        elsewhere.mkdir()
        result = run_cli(f"--results_dir={results_dir}", cwd=elsewhere)
        assert result.returncode == 0, result.stderr
        output = results_dir / "fisher_rao_trajectories.png"
        helpers.assert_readable_nonblank_png(str(output))
        assert f"Wrote the figure to {output}" in result.stderr
        assert os.listdir(elsewhere) == []
        assert "norm=fre, lambda=0.1" in result.stdout
        assert result.stderr.count("broken.json") == 1

    def test_unwritable_output_is_a_one_line_error(self, tmp_path):
        write_sweep(tmp_path)
        a_file = helpers.write_text(tmp_path, "a_file", "")
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
        helpers.write_text(tmp_path, "a_file", "")
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
        helpers.write_noise_sweep(tmp_path)
        run_in_process(
            f"--results_dir={tmp_path}",
            "--plot=final",
            "--x_hparam=label_noise",
            "--measures=margin,l2_norm",
        )
        helpers.assert_readable_nonblank_png(
            str(tmp_path / "fisher_rao_final.png")
        )
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
        helpers.assert_readable_nonblank_png(
            str(tmp_path / "fisher_rao_measures.png")
        )

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
            (["--smoothing=1"], r"\[0, 1\)"),
            (["--smoothing=-0.5"], r"\[0, 1\)"),
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

    def test_an_earlier_versions_files_plot_and_those_lacking_keys_are_named(
        self, tmp_path, capsys, caplog
    ):
        for seed in (1, 2):
            helpers.write_results(
                tmp_path,
                f"old-{seed}",
                helpers.earlier_version_results(seed=seed, lam=0.1),
            )
        write(tmp_path, "new", seed=3, lam=0.01)
        run_in_process(f"--results_dir={tmp_path}")
        helpers.assert_readable_nonblank_png(
            str(tmp_path / "fisher_rao_trajectories.png")
        )
        rows = [
            line
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("norm=")
        ]
        assert [columns(row)[:2] for row in rows] == [
            ["norm=fr, lambda=0.01", "1"],
            ["norm=fr, lambda=0.1", "2"],
        ]
        # The measures plot reads the margin, which the old files lack.
        caplog.clear()
        run_in_process(
            f"--results_dir={tmp_path}", "--plot=measures", "--measures=margin"
        )
        (warning,) = [
            record.getMessage()
            for record in caplog.records
            if "lack" in record.getMessage()
        ]
        assert "old-1.json, old-2.json lack ['margin']" in warning
        assert "new.json" not in warning
        rows = [
            line
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("norm=")
        ]
        assert [columns(row)[0] for row in rows] == ["norm=fr, lambda=0.01"]

    def test_a_single_runs_table_shows_no_spread(self, tmp_path, capsys):
        write(tmp_path, "only", seed=1)
        write(tmp_path, "pair-1", seed=1, lam=0.1)
        write(tmp_path, "pair-2", seed=2, lam=0.1)
        run_in_process(f"--results_dir={tmp_path}")
        output = capsys.readouterr().out
        single, pair = [
            line for line in output.splitlines() if line.startswith("norm=")
        ]
        assert "±" not in single and "± 0.0000" not in output
        assert pair.count("±") == len(quantities.SUMMARY_KEYS)
        assert "a single run's value alone" in output


@pytest.fixture(scope="module")
def real_results_dir(tmp_path_factory):
    """Results of short real runs: None and fr, two seeds each."""
    training = pytest.importorskip("fisher_rao_experiments.training")
    experiment_config = pytest.importorskip("fisher_rao_experiments.config")
    directory = str(tmp_path_factory.mktemp("real_results"))
    for norm, lam in (("None", 0.0), ("fr", 0.1)):
        for seed in (1, 2):
            config = dict(
                experiment_config.default_config(),
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
        assert loading.unfinished_runs(runs) == []
        groups = plot_utils.group_runs(runs, grouping.DEFAULT_GROUP_BY)
        assert helpers.group_labels(groups) == [
            "norm=None, lambda=0",
            "norm=fr, lambda=0.1",
        ]
        for group in groups:
            assert len(group.runs) == 2
            np.testing.assert_array_equal(group.steps, [0, 50, 100])
            np.testing.assert_array_equal(
                trajectory_plots.regularizer_steps(group), np.arange(100)
            )
            last = np.array([run["test_accuracy"][-1] for run in group.data])
            np.testing.assert_allclose(
                plot_utils.final_statistics(group)["test_accuracy"],
                (last.mean(), last.std(ddof=1)),
            )
        figure = plot_utils.plot_trajectories(groups)
        assert "validation" in helpers.legend_texts(figure.axes[0])
        path = str(tmp_path / "real.png")
        plot_utils.save_figure(figure, path)
        helpers.assert_colors_drawn(
            helpers.assert_readable_nonblank_png(path),
            drawing.group_colors(2),
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
