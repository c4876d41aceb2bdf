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

The analysis itself is tested by tests/test_complexity.py.
"""

import os
import subprocess
import sys

import helpers
import pytest
from absl import flags

from experiments import complexity_study
from fisher_rao_experiments.studies import complexity

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "experiments", "complexity_study.py")
GRID = complexity.SMOKE_GRID


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


def write_smoke_runs(runs_dir):
    """A run of every smoke grid point that reached the stop loss."""
    for point in GRID.points():
        noise, seed = point["label_noise"], point["random_seed"]
        helpers.write_grid_point(
            runs_dir,
            point,
            steps=(0, 100, 200),
            stopped_at_step=200,
            num_parameters=100 * point["layer_width"],
            fisher_rao_norm=1.0 + noise + 0.01 * seed,
            path_norm=2.0 + noise * point["layer_width"],
            test_accuracy=0.9 - 0.5 * noise - 0.01 * seed,
            test_loss=0.3 + noise + 0.02 * seed,
        )


class TestCommandLine:
    def test_smoke_study_runs_end_to_end_and_a_second_call_only_analyses(
        self, tmp_path
    ):
        completed = run_script(
            "--smoke", "--workers=2", f"--output_dir={tmp_path}"
        )
        assert completed.returncode == 0, completed.stderr
        runs = sorted(os.listdir(tmp_path / "runs"))
        results_files = [name for name in runs if name.endswith(".json")]
        assert len(results_files) == len(GRID.points())
        summary = helpers.read_strict_json(tmp_path / "summary.json")
        assert len(summary["models_used"]) + len(
            summary["models_left_out"]
        ) == len(GRID.points())
        assert summary["models_used"]
        names = {entry["name"] for entry in summary["measures"]}
        assert {
            "fisher_rao_norm",
            "fisher_rao_norm/margin^2",
            "num_parameters",
        } <= names
        for name in ("tables.md", "measures_vs_label_noise.png"):
            assert (tmp_path / name).stat().st_size > 0
        (tmp_path / "summary.json").unlink()
        again = run_script(
            "--smoke", "--workers=2", f"--output_dir={tmp_path}"
        )
        assert again.returncode == 0, again.stderr
        assert sorted(os.listdir(tmp_path / "runs")) == runs  # No new run.
        assert (
            helpers.read_strict_json(tmp_path / "summary.json")["models_used"]
            == summary["models_used"]
        )

    def test_analysis_only_analyses_the_runs_there(self, tmp_path):
        write_smoke_runs(tmp_path / "runs")
        completed = run_script(
            "--smoke",
            "--analysis_only",
            f"--output_dir={tmp_path}",
            "--bootstrap_resamples=100",
            "--bootstrap_seed=3",
        )
        assert completed.returncode == 0, completed.stderr
        summary = helpers.read_strict_json(tmp_path / "summary.json")
        assert summary["smoke"] is True
        assert len(summary["models_used"]) == len(GRID.points())
        assert summary["statistics"]["bootstrap_resamples"] == 100
        assert summary["statistics"]["bootstrap_seed"] == 3
        for name in ("tables.md", "measures_vs_label_noise.png"):
            assert (tmp_path / name).stat().st_size > 0

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
        assert len(summary["models_left_out"]) == len(GRID.points())

    @pytest.mark.parametrize(
        "flag", ["--bootstrap_resamples=5", "--workers=0", "--output_dir="]
    )
    def test_bad_flags_are_refused(self, flag):
        flag_values = flags.FlagValues()
        complexity_study.define_flags(flag_values)
        with pytest.raises(flags.IllegalFlagValueError):
            flag_values(["complexity_study.py", flag])
