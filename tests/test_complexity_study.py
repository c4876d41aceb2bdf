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
"""Tests of experiments/complexity_study.py, the study's command line.

The analysis itself is tested by tests/test_complexity.py,
tests/test_complexity_report.py and tests/test_complexity_figures.py.
"""

import os
import subprocess
import sys

import helpers
import pytest
from absl import flags

from experiments import complexity_study
from fisher_rao_experiments.studies import complexity, complexity_report

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "experiments", "complexity_study.py")
SETTINGS = complexity.SMOKE_SETTINGS
POINTS = complexity.all_points(SETTINGS)


def run_script(*args):
    environment = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_every_statistic_defined(summary):
    """Every interval of the Fisher-Rao norms and of the comparisons."""
    for name, setting in summary["settings"].items():
        entries = {entry["name"]: entry for entry in setting["measures"]}
        for measure in (
            "fisher_rao_norm",
            "fisher_rao_norm_depth_normalized",
        ):
            for gap in complexity.GAPS:
                entry = entries[measure][gap]
                for key in ("tau_interval", "granulated_tau_interval"):
                    assert entry[key]["low"] is not None, (name, key)
                for psi in entry["per_axis"].values():
                    assert psi["interval"]["low"] is not None, name
        assert len(setting["comparisons"]) == 2 * len(complexity.COMPARISONS)
        for compared in setting["comparisons"]:
            for key in ("tau_difference", "granulated_tau_difference"):
                assert compared[key]["low"] is not None, (name, key)


class TestCommandLine:
    def test_smoke_study_runs_end_to_end_and_analysis_only_redoes_it(
        self, tmp_path
    ):
        arguments = (
            "--smoke",
            "--workers=2",
            "--bootstrap_resamples=200",
            f"--output_dir={tmp_path}",
        )
        completed = run_script(*arguments)
        assert completed.returncode == 0, completed.stderr
        runs = sorted(os.listdir(tmp_path / "runs"))
        results_files = [name for name in runs if name.endswith(".json")]
        assert len(results_files) == len(POINTS)
        summary = helpers.read_strict_json(tmp_path / "summary.json")
        # Every run reached the stop loss.
        assert len(summary["models_used"]) == len(POINTS)
        assert summary["num_models_left_out"] == 0
        for setting in summary["settings"].values():
            assert setting["stopping"]["num_models"] == len(
                setting["models_used"]
            )
            assert (
                setting["stopping"]["stopped_at_loss_over_threshold"]["max"]
                <= 1.0
            )
        assert_every_statistic_defined(summary)
        names = {
            entry["name"]
            for entry in summary["settings"]["mnist1d_cnn"]["measures"]
        }
        assert {
            "fisher_rao_norm",
            "fisher_rao_norm_depth_normalized/margin^2",
            "num_parameters",
        } <= names
        for setting in SETTINGS:
            for suffix in (
                complexity_report.NOISE_FIGURE_SUFFIX,
                complexity_report.COMPARISON_FIGURE_SUFFIX,
            ):
                path = tmp_path / complexity_report.figure_name(
                    setting, suffix
                )
                assert path.stat().st_size > 0
        assert (tmp_path / "tables.md").stat().st_size > 0
        # --analysis_only redoes the analysis of the runs there, with its
        # own statistics flags, and trains nothing (a plain second call
        # would skip every finished run too: test_sweep checks that);
        # --nofigures leaves the figures as they were.
        (tmp_path / "summary.json").unlink()
        (tmp_path / "tables.md").unlink()
        figures = {
            path: path.stat().st_mtime_ns for path in tmp_path.glob("*.png")
        }
        again = run_script(
            "--smoke",
            "--analysis_only",
            "--nofigures",
            f"--output_dir={tmp_path}",
            "--bootstrap_resamples=100",
            "--bootstrap_seed=3",
        )
        assert again.returncode == 0, again.stderr
        assert sorted(os.listdir(tmp_path / "runs")) == runs  # No new run.
        reanalysed = helpers.read_strict_json(tmp_path / "summary.json")
        assert reanalysed["smoke"] is True
        assert reanalysed["models_used"] == summary["models_used"]
        assert reanalysed["statistics"]["bootstrap_resamples"] == 100
        assert reanalysed["statistics"]["bootstrap_seed"] == 3
        assert_every_statistic_defined(reanalysed)
        assert (tmp_path / "tables.md").stat().st_size > 0
        assert figures and figures == {
            path: path.stat().st_mtime_ns for path in tmp_path.glob("*.png")
        }

    def test_no_runs_is_one_line_and_status_1(self, tmp_path):
        completed = run_script(
            "--smoke", "--analysis_only", f"--output_dir={tmp_path}"
        )
        assert completed.returncode == 1
        assert "Traceback" not in completed.stderr
        assert (
            completed.stderr.strip()
            .splitlines()[-1]
            .startswith("complexity_study.py: error: no run of the grid")
        )
        # The summary still lists what is missing.
        summary = helpers.read_strict_json(tmp_path / "summary.json")
        assert summary["num_models_left_out"] == len(POINTS)

    @pytest.mark.parametrize(
        "flag", ["--bootstrap_resamples=5", "--workers=0", "--output_dir="]
    )
    def test_bad_flags_are_refused(self, flag):
        flag_values = flags.FlagValues()
        complexity_study.define_flags(flag_values)
        with pytest.raises(flags.IllegalFlagValueError):
            flag_values(["complexity_study.py", flag])
