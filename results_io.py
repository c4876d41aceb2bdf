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
"""Results files of the experiments: where they go, how to write and read them.

A results file is strict JSON (no NaN or Infinity tokens; a non-finite number
is written as null) holding one training run:

  {"hparams": {...}, "steps": [...], "train_loss": [...],
   "train_accuracy": [...], "test_loss": [...], "test_accuracy": [...],
   "regularizer_loss": [...]}

Files are written atomically and never replace an existing file, so a reader
never sees half a file and no run overwrites another.
"""

import json
import math
import os
import tempfile

import numpy as np

DEFAULT_RESULTS_DIR = os.path.join(tempfile.gettempdir(), "fisher_rao_results")

TRAJECTORY_KEYS = ("steps", "train_loss", "train_accuracy", "test_loss",
                   "test_accuracy", "regularizer_loss")
RESULTS_KEYS = ("hparams",) + TRAJECTORY_KEYS


def to_strict_json_value(value):
    """Returns `value` with numpy types made plain, non-finite floats None."""
    if isinstance(value, dict):
        return {str(key): to_strict_json_value(item)
                for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_strict_json_value(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json_atomically(data, directory, stem):
    """Writes `data` as strict JSON to a new file `directory/stem[-N].json`.

    The file appears complete or not at all (written to a temporary file, then
    hard-linked into place), and an existing file is never replaced: if the
    name is taken, a counter is appended.

    Args:
      data: JSON-like value; numpy scalars and arrays are converted and
        non-finite floats become null.
      directory: Destination directory, created if missing.
      stem: File name without the `.json` extension.

    Returns:
      The path of the written file.
    """
    temporary_path = _write_temporary_file(_strict_json_text(data),
                                           directory, ".json")
    try:
        return _link_to_unused_name(temporary_path, directory, stem)
    finally:
        os.unlink(temporary_path)


def replace_json_atomically(data, path):
    """Writes `data` as strict JSON to `path`, replacing any file there.

    For files that every invocation refreshes (a study's summary.json),
    unlike `write_json_atomically`, which never replaces. The text goes to a
    temporary file in the same directory, renamed over `path` by `os.replace`,
    so a reader sees the old file or the new one, never half of one.

    Args:
      data: JSON-like value, converted as by `write_json_atomically`.
      path: Destination file; its directory is created if missing.

    Returns:
      `path`.
    """
    return replace_text_atomically(_strict_json_text(data), path)


def replace_text_atomically(text, path):
    """Writes `text` to `path` as `replace_json_atomically` does.

    Returns:
      `path`.
    """
    directory = os.path.dirname(os.path.abspath(path))
    extension = os.path.splitext(path)[1]
    temporary_path = _write_temporary_file(text, directory, extension)
    try:
        os.replace(temporary_path, path)
    except BaseException:
        os.unlink(temporary_path)
        raise
    return path


def _strict_json_text(data):
    return json.dumps(to_strict_json_value(data), allow_nan=False, indent=1)


def _write_temporary_file(text, directory, suffix):
    """Writes `text` to a new hidden file in `directory`; returns its path.

    The name starts with "." so that readers of the directory skip it.
    """
    os.makedirs(directory, exist_ok=True)
    descriptor, temporary_path = tempfile.mkstemp(
        dir=directory, prefix=".tmp-", suffix=suffix)
    try:
        os.fchmod(descriptor, 0o644)  # mkstemp's 0600 would hide results.
        with os.fdopen(descriptor, "w") as temporary_file:
            temporary_file.write(text)
            temporary_file.flush()
            os.fsync(temporary_file.fileno())
    except BaseException:
        os.unlink(temporary_path)
        raise
    return temporary_path


def _link_to_unused_name(source, directory, stem):
    counter = 0
    while True:
        suffix = f"-{counter}" if counter else ""
        path = os.path.join(directory, f"{stem}{suffix}.json")
        try:
            os.link(source, path)  # Atomic, and fails if `path` exists.
            return path
        except FileExistsError:
            counter += 1


def _reject_constant(token):
    raise ValueError(f"non-standard JSON token {token}")


def load_results(path):
    """Reads one results file strictly.

    Args:
      path: Path of a results file.

    Returns:
      The parsed results dictionary.

    Raises:
      ValueError: If the file is not strict JSON, or lacks a results key, or
        its trajectories are not lists.
      OSError: If the file cannot be read.
    """
    with open(path) as results_file:
        try:
            results = json.load(results_file, parse_constant=_reject_constant)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(results, dict):
        raise ValueError(f"{path} does not hold a JSON object.")
    missing = [key for key in RESULTS_KEYS if key not in results]
    if missing:
        raise ValueError(f"{path} lacks the results keys {missing}.")
    if not isinstance(results["hparams"], dict):
        raise ValueError(f"{path}: 'hparams' is not an object.")
    not_lists = [key for key in TRAJECTORY_KEYS
                 if not isinstance(results[key], list)]
    if not_lists:
        raise ValueError(f"{path}: {not_lists} are not lists.")
    return results
