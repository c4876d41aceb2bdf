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
"""Tests of experiments/regularizer_study.py, the study's command line.

The analysis itself is tested by tests/test_regularizer.py,
tests/test_regularizer_report.py and tests/test_regularizer_figures.py.
"""

import os
import subprocess
import sys

import helpers
import numpy as np
import pytest
from absl import flags

from experiments import regularizer_study
from fisher_rao_experiments import results_io
from fisher_rao_experiments.studies import regularizer as study
from fisher_rao_experiments.studies import regularizer_report as report

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "experiments", "regularizer_study.py")
STEPS = (0, 20, 40)


def write_runs(runs_dir, setting):
    """A complete run with validation and calibration metrics of every
    value on every seed (selection and fresh)."""
    shape = np.array([0.2, 1.0, 0.97])
    chosen = {
        (noise, arm.name): set(arm.values)
        for noise in setting.label_noises
        for arm in setting.arms
    }
    for (_, _, _, seed), point in setting.selection_points() + (
        setting.fresh_points(chosen)
    ):
        validation = (0.8 + 0.01 * seed) * shape
        helpers.write_grid_point(
            runs_dir,
            point,
            steps=STEPS,
            validation_accuracy=list(validation),
            validation_loss=list(1.5 - validation),
            test_accuracy=list(validation - 0.01),
            test_loss=list(1.6 - validation),
            calibration={
                key: list(1.6 - validation)
                for key in results_io.CALIBRATION_KEYS
            },
        )


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


class TestCommandLine:
    def test_smoke_study_runs_every_arm_and_metric(self, tmp_path):
        smoke = study.SMOKE_SETTINGS["mnist1d"]
        completed = run_script(
            "--smoke", "--workers=2", f"--output_dir={tmp_path}"
        )
        assert completed.returncode == 0, completed.stderr
        results_files = [
            name
            for name in os.listdir(tmp_path / "runs")
            if name.endswith(".json")
        ]
        # The selection grid, then each arm's one value on the fresh seeds.
        expected = len(smoke.selection_points()) + len(smoke.fresh_seeds) * (
            len(smoke.arms) * len(smoke.label_noises)
        )
        assert len(results_files) == expected
        summary = helpers.read_strict_json(tmp_path / "summary.json")
        assert len(summary["runs_used"]) == expected
        assert {entry["arm"] for entry in summary["choices"]} == {
            arm.name for arm in smoke.arms
        }
        for entry in summary["choices"]:
            assert len(entry["fresh_seeds"]) == len(smoke.fresh_seeds)
            for seed_entry in entry["fresh_seeds"]:
                for metric in study.METRICS:
                    assert 0 <= seed_entry[metric] < 10, metric
        names = [family["name"] for family in summary["families"]]
        assert names[0] == "primary"
        for family in summary["families"]:
            for comparison in family["comparisons"]:
                assert comparison["holm_p_value"] is None or (
                    0 <= comparison["holm_p_value"] <= 1
                )
        for name in (
            "tables.md",
            report.EFFECTS_FIGURE_FILE,
            report.DIFFERENCES_FIGURE_FILE,
        ):
            assert (tmp_path / name).stat().st_size > 0

    def test_analysis_only_analyses_the_smoke_grid(self, tmp_path):
        smoke = study.SMOKE_SETTINGS["mnist1d"]
        write_runs(tmp_path / "runs", smoke)
        completed = run_script(
            "--smoke", "--analysis_only", f"--output_dir={tmp_path}"
        )
        assert completed.returncode == 0, completed.stderr
        summary = helpers.read_strict_json(tmp_path / "summary.json")
        assert summary["smoke"] is True
        # Only the chosen value's fresh runs are used.
        assert len(summary["runs_used"]) == len(smoke.selection_points()) + (
            len(smoke.fresh_seeds) * len(smoke.arms)
        )

    def test_fresh_seeds_train_after_the_choice_at_chosen_values(
        self, tmp_path, monkeypatch
    ):
        # Two values per arm: a selection sweep trains the selection seeds
        # only; the fresh sweep after the choice, the fresh seeds at the
        # chosen values only. A fake sweep writes hand-made runs where the
        # second value of every arm validates better on the selection seeds.
        smoke = study.SMOKE_SETTINGS["mnist1d"]
        arms = tuple(
            study.Arm(
                arm.name,
                arm.norm,
                arm.method,
                arm.hyperparameter,
                arm.values
                if arm.hyperparameter is None
                else (arm.values[0] / 10, arm.values[0]),
            )
            for arm in smoke.arms
        )
        setting = study.Setting(
            smoke.name,
            smoke.label_noises,
            (1, 2),
            (5, 6, 7),
            arms,
            smoke.fixed,
        )
        sweeps = []

        def fake_sweep(points, runs_dir, flag_values, program):
            sweeps.append(points)
            for point in points:
                strong = (
                    point["label_smoothing"] in (0.0, 0.1)
                    and all(
                        point[key] not in (0.003, 1e-5, 0.01)
                        for key in ("fisher_rao_lambda", "weight_decay")
                    )
                    and point["confidence_penalty"] != 0.01
                )
                validation = (0.8 if strong else 0.7) * np.array(
                    [0.2, 1.0, 0.97]
                )
                helpers.write_grid_point(
                    runs_dir,
                    point,
                    steps=STEPS,
                    validation_accuracy=list(validation),
                    validation_loss=list(1.5 - validation),
                )
            return None

        monkeypatch.setattr(
            regularizer_study.study_runs, "train_grid_from_flags", fake_sweep
        )
        assert regularizer_study.train_study(setting, tmp_path, None) is None
        # The primary family's arms (None, fr-exact) first, selection then
        # fresh seeds; then every other arm the same way.
        primary_selection, primary_fresh, selection, fresh = sweeps
        primary = [arm for arm in arms if arm.name in ("None", "fr-exact")]
        others = [arm for arm in arms if arm not in primary]
        assert len(primary) == 2
        for points, arms_trained, seeds in (
            (primary_selection, primary, (1, 2)),
            (selection, others, (1, 2)),
            (primary_fresh, primary, (5, 6, 7)),
            (fresh, others, (5, 6, 7)),
        ):
            assert {point["random_seed"] for point in points} == set(seeds)
            for point in points:
                assert any(
                    arm.config(value).items() <= point.items()
                    for arm in arms_trained
                    for value in arm.values
                ), point
        assert len(primary_selection) + len(selection) == len(
            setting.selection_points()
        )
        for point in primary_fresh + fresh:
            for key in (
                "fisher_rao_lambda",
                "weight_decay",
                "label_smoothing",
                "confidence_penalty",
            ):
                assert point[key] in (0.0, 0.03, 1e-4, 0.1), (key, point)
        # One value per arm (both protocols agree here).
        assert len(primary_fresh) == 3 * len(primary)
        assert len(fresh) == 3 * len(others)

    @pytest.mark.parametrize(
        "flag", ["--setting=imagenet", "--workers=0", "--output_dir="]
    )
    def test_bad_flags_are_refused(self, flag):
        flag_values = flags.FlagValues()
        regularizer_study.define_flags(flag_values)
        with pytest.raises(flags.IllegalFlagValueError):
            flag_values(["regularizer_study.py", flag])
