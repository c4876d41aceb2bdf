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
"""Tests of experiments/study_runs.py and experiments/grid_runner.py.

The grid runner's child process is replaced by small scripts: the real one
needs the training script of the issue "Real data, label noise and
complexity measures"; the studies' --smoke tests run it end to end.
"""

import json
import types

import pytest
import study_results

from experiments import grid_runner
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
    return study_results.write_results(
        directory, stem, study_results.make_results(hparams, **values)
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


def fake_runner(tmp_path, body):
    """A module object whose __file__ is a script running `body`."""
    script = tmp_path / "runner.py"
    script.write_text(
        "import json, sys\nrequest = json.load(sys.stdin)\n" + body
    )
    return types.SimpleNamespace(
        __file__=str(script),
        SOME_RUNS_FAILED_STATUS=grid_runner.SOME_RUNS_FAILED_STATUS,
    )


class TestRunGrid:
    def test_sends_the_request_and_maps_the_exit_status(
        self, tmp_path, monkeypatch
    ):
        echo = tmp_path / "request.json"
        monkeypatch.setattr(
            study_runs,
            "grid_runner",
            fake_runner(
                tmp_path, f"json.dump(request, open({str(echo)!r}, 'w'))\n"
            ),
        )
        assert study_runs.run_grid(POINTS, "runs", "tcp://x:1", 2) is True
        request = json.loads(echo.read_text())
        assert request["grid_points"] == POINTS
        assert request["output_dir"] == str(tmp_path.cwd() / "runs")
        assert (request["scheduler_address"], request["workers"]) == (
            "tcp://x:1",
            2,
        )

    def test_failed_runs_and_errors(self, tmp_path, monkeypatch):
        monkeypatch.setattr(
            study_runs, "grid_runner", fake_runner(tmp_path, "sys.exit(3)\n")
        )
        assert study_runs.run_grid(POINTS, "runs", "", 1) is False
        monkeypatch.setattr(
            study_runs,
            "grid_runner",
            fake_runner(tmp_path, "sys.exit('grid_runner.py: error: bad')\n"),
        )
        with pytest.raises(study_runs.GridRunError, match="status 1"):
            study_runs.run_grid(POINTS, "runs", "", 1)


class FakeTraining:
    """The parts of synthetic_classification that complete_config uses."""

    @staticmethod
    def default_config():
        return {
            "label_noise": 0.0,
            "train_size": None,
            "output_dir": "x",
            "summary_dir": "y",
            "random_seed": 1,
        }

    @staticmethod
    def resolve_config(config):
        return dict(config, train_size=config["train_size"] or 1000)

    @staticmethod
    def validate_config(config):
        if config["label_noise"] > 1:
            raise ValueError("label_noise must be in [0, 1]")


def test_complete_config():
    config = grid_runner.complete_config(
        {"label_noise": 0.5}, "/abs", FakeTraining
    )
    assert config == {
        "label_noise": 0.5,
        "train_size": 1000,
        "output_dir": "/abs",
        "summary_dir": None,
        "random_seed": 1,
    }
    with pytest.raises(ValueError, match="unknown configuration keys"):
        grid_runner.complete_config({"labelnoise": 0.5}, "/abs", FakeTraining)
    with pytest.raises(ValueError, match="label_noise"):
        grid_runner.complete_config({"label_noise": 2.0}, "/abs", FakeTraining)
