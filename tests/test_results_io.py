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
"""Tests of results_io: strict JSON, atomic never-overwriting writes."""

import json
import math
import os
import stat

import numpy as np
import pytest

import results_io


def _results(**trajectories):
    results = {key: [0.5, 0.25] for key in results_io.TRAJECTORY_KEYS}
    results["hparams"] = {"random_seed": 1}
    results.update(trajectories)
    return results


def _reject_constant(token):
    raise AssertionError(f"non-strict JSON token {token}")


def test_non_finite_and_numpy_values_become_strict_json(tmp_path):
    results = _results(train_loss=[np.float32(0.5), math.nan, math.inf,
                                   -math.inf],
                       steps=np.arange(3))
    path = results_io.write_json_atomically(results, tmp_path, "run")
    with open(path) as results_file:
        text = results_file.read()
    parsed = json.loads(text, parse_constant=_reject_constant)
    assert parsed["train_loss"] == [0.5, None, None, None]
    assert parsed["steps"] == [0, 1, 2]
    assert results_io.load_results(path) == parsed


def test_an_existing_file_is_never_replaced(tmp_path):
    first = results_io.write_json_atomically(_results(), tmp_path, "run")
    second = results_io.write_json_atomically(
        _results(steps=[7, 8]), tmp_path, "run")
    assert first != second
    assert os.path.basename(second) == "run-1.json"
    assert results_io.load_results(first)["steps"] == [0.5, 0.25]
    assert results_io.load_results(second)["steps"] == [7, 8]
    # No temporary file is left behind, and results are world-readable.
    assert sorted(os.listdir(tmp_path)) == ["run-1.json", "run.json"]
    assert os.stat(first).st_mode & stat.S_IROTH


def test_unserializable_data_leaves_no_file(tmp_path):
    with pytest.raises(TypeError):
        results_io.write_json_atomically({"x": object()}, tmp_path, "run")
    assert os.listdir(tmp_path) == []


def test_directory_is_created(tmp_path):
    directory = tmp_path / "a" / "b"
    path = results_io.write_json_atomically(_results(), directory, "run")
    assert os.path.dirname(path) == str(directory)


@pytest.mark.parametrize("text, message", [
    ('{"hparams": NaN}', "non-standard JSON token NaN"),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "does not hold a JSON object"),
    ('{"hparams": {}}', "lacks the results keys"),
])
def test_load_results_refuses_what_is_not_a_results_file(tmp_path, text,
                                                          message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        results_io.load_results(path)


def test_load_results_refuses_trajectories_that_are_not_lists(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_results(train_loss=3.0)))
    with pytest.raises(ValueError, match="train_loss"):
        results_io.load_results(path)


def test_replace_json_atomically_replaces_with_strict_json(tmp_path):
    path = str(tmp_path / "out" / "summary.json")
    assert results_io.replace_json_atomically({"tau": 0.5}, path) == path
    results_io.replace_json_atomically(
        {"tau": math.nan, "values": np.arange(2)}, path)
    with open(path) as summary_file:
        parsed = json.loads(summary_file.read(),
                            parse_constant=_reject_constant)
    assert parsed == {"tau": None, "values": [0, 1]}
    # Replaced in place: no counter, no temporary file left behind.
    assert os.listdir(tmp_path / "out") == ["summary.json"]
    assert os.stat(path).st_mode & stat.S_IROTH


def test_replace_json_atomically_keeps_the_old_file_on_failure(tmp_path):
    path = str(tmp_path / "summary.json")
    results_io.replace_json_atomically({"tau": 0.5}, path)
    with pytest.raises(TypeError):
        results_io.replace_json_atomically({"x": object()}, path)
    with open(path) as summary_file:
        assert json.load(summary_file) == {"tau": 0.5}
    assert os.listdir(tmp_path) == ["summary.json"]


def test_replace_text_atomically_writes_the_text(tmp_path):
    path = str(tmp_path / "table.md")
    results_io.replace_text_atomically("| a |\n", path)
    results_io.replace_text_atomically("| b |\n", path)
    with open(path) as table_file:
        assert table_file.read() == "| b |\n"
    assert os.listdir(tmp_path) == ["table.md"]
