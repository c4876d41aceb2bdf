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
import socket
import stat
import subprocess
import sys

import numpy as np
import pytest

from fisher_rao_experiments import results_io


def _results(**trajectories):
    results = {key: [0.5, 0.25] for key in results_io.TRAJECTORY_KEYS}
    results.update(
        hparams={"random_seed": 1},
        stopped_at_step=None,
        stopped_at_loss=None,
        checkpoint=None,
        num_parameters=3,
        dataset_parameters=None,
    )
    results.update(trajectories)
    return results


def _reject_constant(token):
    raise AssertionError(f"non-strict JSON token {token}")


def test_non_finite_and_numpy_values_become_strict_json(tmp_path):
    results = _results(
        train_loss=[np.float32(0.5), math.nan, math.inf, -math.inf],
        steps=np.arange(3),
    )
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
        _results(steps=[7, 8]), tmp_path, "run"
    )
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


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"hparams": NaN}', "non-standard JSON token NaN"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "does not hold a JSON object"),
        ('{"hparams": {}}', "lacks the results keys"),
    ],
)
def test_load_results_refuses_what_is_not_a_results_file(
    tmp_path, text, message
):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        results_io.load_results(path)


def test_load_results_reads_files_without_the_keys_added_later(tmp_path):
    # Earlier versions wrote no depth-normalized norm, stopped_at_loss or
    # dataset_parameters; every other key is still required.
    results = _results()
    for key in results_io.ADDED_RESULTS_KEYS:
        results.pop(key, None)
    path = tmp_path / "earlier.json"
    path.write_text(json.dumps(results))
    assert results_io.load_results(path) == results
    del results["num_parameters"]
    path.write_text(json.dumps(results))
    with pytest.raises(ValueError, match="num_parameters"):
        results_io.load_results(path)
    assert set(results_io.ADDED_RESULTS_KEYS) < set(results_io.RESULTS_KEYS)


def test_load_results_refuses_trajectories_that_are_not_lists(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_results(train_loss=3.0)))
    with pytest.raises(ValueError, match="train_loss"):
        results_io.load_results(path)


def _fake_checkpoint(contents):
    """A save_checkpoint writing `contents` to two files at the prefix."""

    def save(prefix):
        for suffix in (".index", ".data-00000-of-00001"):
            with open(prefix + suffix, "w") as checkpoint_file:
                checkpoint_file.write(contents)

    return save


def test_write_run_places_the_checkpoint_beside_and_names_it(tmp_path):
    path = results_io.write_run(
        _results(), tmp_path, "run", save_checkpoint=_fake_checkpoint("first")
    )
    assert path == str(tmp_path / "run.json")
    prefix = results_io.load_results(path)["checkpoint"]
    assert prefix == str(tmp_path / "run.ckpt" / "model")
    with open(prefix + ".index") as checkpoint_file:
        assert checkpoint_file.read() == "first"
    assert sorted(os.listdir(tmp_path)) == ["run.ckpt", "run.json"]
    assert os.stat(tmp_path / "run.ckpt").st_mode & stat.S_IROTH


def test_write_run_never_replaces_a_checkpoint_or_results_file(tmp_path):
    first = results_io.write_run(
        _results(), tmp_path, "run", save_checkpoint=_fake_checkpoint("first")
    )
    # A results file without checkpoint takes the next name first.
    (tmp_path / "run-1.json").write_text("{}")
    second = results_io.write_run(
        _results(), tmp_path, "run", save_checkpoint=_fake_checkpoint("second")
    )
    assert os.path.basename(second) == "run-2.json"
    for path, contents in ((first, "first"), (second, "second")):
        with open(
            results_io.load_results(path)["checkpoint"] + ".index"
        ) as checkpoint_file:
            assert checkpoint_file.read() == contents
    assert sorted(os.listdir(tmp_path)) == [
        "run-1.json",
        "run-2.ckpt",
        "run-2.json",
        "run.ckpt",
        "run.json",
    ]


def test_a_failing_checkpoint_leaves_nothing(tmp_path):
    def fail(prefix):
        _fake_checkpoint("partial")(prefix)
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        results_io.write_run(_results(), tmp_path, "run", save_checkpoint=fail)
    assert os.listdir(tmp_path) == []


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    host = socket.gethostname()
    stale_file = tmp_path / f".tmp-{host}-{_dead_pid()}-abc_1.json"
    stale_file.write_text("")
    stale_checkpoint = tmp_path / f".tmp-{host}-{_dead_pid()}-x9.ckpt"
    stale_checkpoint.mkdir()
    (stale_checkpoint / "model.index").write_text("")
    kept = [
        f".tmp-{host}-{os.getpid()}-live.json",  # A live writer's.
        f".tmp-another-host-{_dead_pid()}-x.json",  # Another host's.
        ".tmp-abc123.json",  # No owner recorded: not ours to judge.
        "run.json",
    ]
    for name in kept:
        (tmp_path / name).write_text("")
    removed = results_io.remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted([stale_file.name, stale_checkpoint.name])
    assert sorted(os.listdir(tmp_path)) == sorted(kept)


def test_the_next_write_removes_stale_temporaries(tmp_path):
    stale = tmp_path / f".tmp-{socket.gethostname()}-{_dead_pid()}-q.json"
    stale.write_text("")
    results_io.write_json_atomically(_results(), tmp_path, "run")
    assert os.listdir(tmp_path) == ["run.json"]


def test_ensure_writable_directory_creates_and_accepts(tmp_path):
    directory = tmp_path / "a" / "b"
    results_io.ensure_writable_directory(str(directory), "--output_dir")
    assert directory.is_dir()
    assert os.listdir(directory) == []  # The probe is gone.


@pytest.mark.parametrize(
    "relative, reason",
    [
        ("a_file", "is a file, not a directory"),
        ("a_file/below", "a part of the path is a file"),
    ],
)
def test_ensure_writable_directory_refuses_in_one_line(
    tmp_path, relative, reason
):
    (tmp_path / "a_file").write_text("")
    path = str(tmp_path / relative)
    with pytest.raises(results_io.UnwritableDirectoryError) as caught:
        results_io.ensure_writable_directory(path, "--output_dir")
    message = str(caught.value)
    assert message.startswith(f"--output_dir={path} ")
    assert reason in message
    assert "\n" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_ensure_writable_directory_refuses_a_read_only_directory(tmp_path):
    directory = tmp_path / "read_only"
    directory.mkdir(mode=0o555)
    with pytest.raises(
        results_io.UnwritableDirectoryError,
        match="is not writable: Permission denied",
    ):
        results_io.ensure_writable_directory(str(directory), "--output_dir")


def test_replace_json_atomically_replaces_with_strict_json(tmp_path):
    path = tmp_path / "summary.json"
    results_io.replace_json_atomically({"tau": math.nan}, path)
    results_io.replace_json_atomically({"tau": 0.5, "n": np.int64(3)}, path)
    assert json.loads(path.read_text(), parse_constant=_reject_constant) == {
        "tau": 0.5,
        "n": 3,
    }
    assert os.listdir(tmp_path) == ["summary.json"]


@pytest.mark.parametrize(
    "steps, train_loss, stopped_at_step, complete",
    [
        ([0, 5, 10], [1.0, 0.5, 0.2], None, True),
        ([0, 5], [1.0, 0.5], None, False),  # Interrupted.
        ([0, 5, 10], [1.0, 0.5, None], None, False),  # Diverged at the end.
        ([0, 5], [1.0, 0.01], 5, True),  # Stopped by its stop loss.
        ([], [], None, False),
    ],
)
def test_is_complete(steps, train_loss, stopped_at_step, complete):
    results = _results(
        steps=steps,
        train_loss=train_loss,
        stopped_at_step=stopped_at_step,
        hparams={"train_steps": 10},
    )
    assert results_io.is_complete(results) is complete


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


def test_check_output_directories_names_the_flag(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    outputs = {"output_dir": str(tmp_path / "out"), "summary_dir": None}
    results_io.check_output_directories(outputs)
    assert (tmp_path / "out").is_dir()
    for key in results_io.OUTPUT_KEYS:
        path = str(a_file / "below")
        with pytest.raises(results_io.UnwritableDirectoryError) as caught:
            results_io.check_output_directories(dict(outputs, **{key: path}))
        assert str(caught.value) == (
            f"--{key}={path} cannot be created: a part of the path is a file."
        )
