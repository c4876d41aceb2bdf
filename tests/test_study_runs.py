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
"""Tests of fisher_rao_experiments/studies/study_runs.py.

The sweep is replaced by a recorder: it is tested on real clusters in
test_sweep.py, and the studies' --smoke tests run it end to end.
"""

import os
import types

import helpers
import pytest

from fisher_rao_experiments import sweep
from fisher_rao_experiments.studies import study_runs

POINTS = [
    {
        "regularization_norm": "None",
        "label_noise": noise,
        "random_seed": 1,
        "fisher_rao_lambda": 0.0,
    }
    for noise in (0.0, 0.5)
]
KEYS = ("label_noise", "random_seed")


def write(directory, stem, hparams, **values):
    return helpers.write_results(
        directory, stem, helpers.make_results(hparams, **values)
    )


class TestCollectGridRuns:
    def test_finds_each_point_and_lists_what_is_left_out(self, tmp_path):
        write(tmp_path, "a", {"label_noise": 0.0})
        write(tmp_path, "b", {"label_noise": 0.0})  # A duplicate.
        write(
            tmp_path, "c", {"label_noise": 0.5}, steps=(0, 100)
        )  # Stops before train_steps 300.
        write(tmp_path, "other", {"label_noise": 0.9})  # Another grid's.
        found = study_runs.collect_grid_runs(POINTS, str(tmp_path), KEYS)
        assert [(run.index, run.run.name) for run in found.found] == [
            (0, "a.json")
        ]
        assert {
            (left_out.name, left_out.reason) for left_out in found.left_out
        } == {
            ("b.json", "duplicate of a.json"),
            ("c.json", "incomplete: stops at step 100 of 300"),
        }
        assert found.not_in_grid == ["other.json"]

    def test_missing_point_without_files(self, tmp_path):
        found = study_runs.collect_grid_runs(
            POINTS, str(tmp_path / "none"), KEYS
        )
        assert found.found == []
        assert [left_out.name for left_out in found.left_out] == [
            "label_noise=0.0, random_seed=1",
            "label_noise=0.5, random_seed=1",
        ]


class RecordedSweep:
    """Stands in for sweep.run_sweep: records its calls, returns `outcome`."""

    def __init__(self, outcome=None, error=None):
        self.calls = []
        self.outcome = outcome or sweep.SweepOutcome(["a.json"], [])
        self.error = error

    def __call__(self, configs, scheduler_address, workers):
        self.calls.append((configs, scheduler_address, workers))
        if self.error:
            raise self.error
        return self.outcome


class TestRunGrid:
    def test_runs_the_completed_points_on_the_sweep_in_process(
        self, monkeypatch
    ):
        recorded = RecordedSweep()
        monkeypatch.setattr(sweep, "run_sweep", recorded)
        assert study_runs.run_grid(POINTS, "runs", "tcp://x:1", 2) is True
        ((configs, address, workers),) = recorded.calls
        output_dir = os.path.abspath("runs")
        assert configs == [
            sweep.complete_config(point, output_dir) for point in POINTS
        ]
        assert configs[1]["label_noise"] == 0.5
        assert configs[0]["output_dir"] == output_dir
        assert (address, workers) == ("tcp://x:1", 2)
        # An empty grid runs nothing.
        assert study_runs.run_grid([], "runs", "", 1) is True
        assert len(recorded.calls) == 1

    def test_failed_runs_and_errors(self, monkeypatch, tmp_path):
        failed = sweep.SweepOutcome([], [sweep.Failure(POINTS[0], "boom")])
        monkeypatch.setattr(sweep, "run_sweep", RecordedSweep(failed))
        assert study_runs.run_grid(POINTS, "runs", "", 1) is False
        with pytest.raises(
            study_runs.GridRunError, match="a grid point is refused: .*2.0"
        ):
            study_runs.run_grid([{"label_noise": 2.0}], "runs", "", 1)
        with pytest.raises(study_runs.GridRunError, match="unknown"):
            study_runs.run_grid([{"labelnoise": 0.5}], "runs", "", 1)
        monkeypatch.undo()
        # The sweep's own refusal of an unwritable directory, before any
        # cluster starts.
        a_file = tmp_path / "a_file"
        a_file.write_text("")
        with pytest.raises(
            study_runs.GridRunError, match="a part of the path is a file"
        ):
            study_runs.run_grid(POINTS, str(a_file / "runs"), "", 1)

    def test_ctrl_c_stops_the_study_with_status_130(self, monkeypatch):
        interrupted = sweep.SweepInterrupted(sweep.SweepOutcome([], []))
        monkeypatch.setattr(
            sweep, "run_sweep", RecordedSweep(error=interrupted)
        )
        with pytest.raises(KeyboardInterrupt):
            study_runs.run_grid(POINTS, "runs", "", 1)
        flag_values = types.SimpleNamespace(
            analysis_only=False, scheduler_address="", workers=1
        )
        assert (
            study_runs.train_grid_from_flags(
                POINTS, "runs", flag_values, "study.py"
            )
            == 130
        )

    def test_analysis_only_trains_nothing(self, monkeypatch):
        recorded = RecordedSweep()
        monkeypatch.setattr(sweep, "run_sweep", recorded)
        flag_values = types.SimpleNamespace(analysis_only=True)
        assert (
            study_runs.train_grid_from_flags(
                POINTS, "runs", flag_values, "study.py"
            )
            is None
        )
        assert recorded.calls == []
