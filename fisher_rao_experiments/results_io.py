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

  {"hparams": {...}, "steps": [...],
   "train_loss": [...], "train_accuracy": [...], "validation_loss": [...],
   "validation_accuracy": [...], "test_loss": [...], "test_accuracy": [...],
   "fisher_rao_norm": [...], ..., "margin": [...],   (one per evaluation)
   "regularizer_loss": [...],                         (one per step)
   "stopped_at_step": null, "stopped_at_loss": null, "checkpoint": "...",
   "num_parameters": 0, "dataset_parameters": null}

Files are written atomically and never replace an existing file, so a reader
never sees half a file and no run overwrites another; a run's checkpoint
directory `<name>.ckpt/` appears whole, before its results file, under the
same name. Temporaries are named `.tmp-<host>-<pid>-...`, so that a later
writer on the same host can remove those whose process is gone (a kill in
mid-write).
"""

import contextlib
import errno
import fcntl
import json
import math
import os
import re
import shutil
import socket
import tempfile

import numpy as np

DEFAULT_RESULTS_DIR = os.path.join(tempfile.gettempdir(), "fisher_rao_results")

LOSS_KEYS = (
    "train_loss",
    "train_accuracy",
    "validation_loss",
    "validation_accuracy",
    "test_loss",
    "test_accuracy",
)
# The complexity measures of measures.MEASURES.
MEASURE_KEYS = (
    "fisher_rao_norm",
    "fisher_rao_norm_depth_normalized",
    "empirical_fisher_rao_norm",
    "l2_norm",
    "spectral_product",
    "path_norm",
    "margin",
)
# Recorded once per entry of "steps".
EVALUATED_KEYS = LOSS_KEYS + MEASURE_KEYS
TRAJECTORY_KEYS = ("steps",) + EVALUATED_KEYS + ("regularizer_loss",)
RESULTS_KEYS = (
    ("hparams",)
    + TRAJECTORY_KEYS
    + (
        "stopped_at_step",
        "stopped_at_loss",
        "checkpoint",
        "num_parameters",
        "dataset_parameters",
        "calibration",
    )
)
# The test calibration recorded at every evaluation of a run with a
# validation split (`calibration.calibration_metrics`: the temperature is
# fitted on the validation rows): results["calibration"] maps each key to a
# list parallel to "steps" (null where the logits were not finite); it is
# null for a run without a validation split.
CALIBRATION_KEYS = (
    "temperature",
    "test_nll_raw",
    "test_nll_scaled",
    "test_ece_raw",
    "test_ece_scaled",
)
# Results keys the files of earlier versions lack (issue 19 added them):
# `load_results` reads such files without them.
ADDED_RESULTS_KEYS = (
    "fisher_rao_norm_depth_normalized",
    "stopped_at_loss",
    "dataset_parameters",
    "calibration",
)
# Keys of a configuration that say where a run writes, not what it computes.
OUTPUT_KEYS = ("output_dir", "summary_dir")
# Where the sweep keeps a diverged run's partial results, out of its scan.
DIVERGED_SUBDIRECTORY = "diverged"
CHECKPOINT_SUFFIX = ".ckpt"
# Lock files of the runs of a directory (see exclusive_lock).
LOCK_SUBDIRECTORY = ".locks"
# The checkpoint's prefix inside its directory.
CHECKPOINT_NAME = "model"

_TEMPORARY_PREFIX = ".tmp-"
_TEMPORARY_NAME = re.compile(
    r"^\.tmp-(?P<host>.+)-(?P<pid>\d+)-[a-z0-9_]+(\.[a-z]+)?$"
)


class UnwritableDirectoryError(ValueError):
    """A directory results should go to cannot be created or written."""


def to_strict_json_value(value):
    """Returns `value` with numpy types made plain, non-finite floats None."""
    if isinstance(value, dict):
        return {
            str(key): to_strict_json_value(item) for key, item in value.items()
        }
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_strict_json_value(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def ensure_writable_directory(path, what="directory"):
    """Creates `path` if missing and proves a file can be written in it.

    Args:
      path: The directory.
      what: How to name it in an error, e.g. "--output_dir".

    Raises:
      UnwritableDirectoryError: One line naming `what`, the path and the
        reason.
    """
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise UnwritableDirectoryError(
            f"{what}={path} is a file, not a directory."
        ) from None
    except OSError as error:
        raise UnwritableDirectoryError(
            f"{what}={path} cannot be created: {_reason(error, path)}."
        ) from None
    try:
        descriptor, probe = tempfile.mkstemp(
            dir=path, prefix=_temporary_prefix(), suffix=".probe"
        )
    except OSError as error:
        raise UnwritableDirectoryError(
            f"{what}={path} is not writable: {_reason(error, path)}."
        ) from None
    os.close(descriptor)
    os.unlink(probe)


def check_output_directories(config):
    """Creates a run's output directories and proves them writable.

    Args:
      config: A configuration; its `OUTPUT_KEYS` that are set are checked.

    Raises:
      UnwritableDirectoryError: Naming the flag (`--output_dir`), the path
        and the reason.
    """
    for key in OUTPUT_KEYS:
        if config[key]:
            ensure_writable_directory(config[key], f"--{key}")


def _reason(error, path):
    if isinstance(error, NotADirectoryError):
        return "a part of the path is a file"
    return error.strerror or str(error)


def remove_stale_temporaries(directory):
    """Removes temporaries of this host's writers whose process is gone.

    Returns:
      The names removed.
    """
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    host = socket.gethostname()
    removed = []
    for name in names:
        match = _TEMPORARY_NAME.match(name)
        if (
            match
            and match["host"] == host
            and not _process_is_alive(int(match["pid"]))
        ):
            path = os.path.join(directory, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
            removed.append(name)
    return removed


def _process_is_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # Another user's process.
    return True


def _temporary_prefix():
    return f"{_TEMPORARY_PREFIX}{socket.gethostname()}-{os.getpid()}-"


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
    return write_run(data, directory, stem)


def write_run(results, directory, stem, save_checkpoint=None):
    """Writes a results file, and optionally its checkpoint, both new.

    With `save_checkpoint`, the checkpoint is written into a temporary
    directory, which is renamed to `<name>.ckpt` for the first free name
    (`stem`, `stem-1`, ...); then the results file, with `checkpoint` set to
    the checkpoint's prefix, is linked to `<name>.json`. Neither replaces an
    existing file, and a reader never sees either half-written.

    Args:
      results: JSON-like value (see `write_json_atomically`); a dict if
        `save_checkpoint` is given.
      directory: Destination directory, created if missing.
      stem: File name without extension.
      save_checkpoint: None, or a function writing a checkpoint at the
        prefix it is given.

    Returns:
      The path of the results file.
    """
    os.makedirs(directory, exist_ok=True)
    remove_stale_temporaries(directory)
    if save_checkpoint is None:
        text = _strict_json_text(results)
        return _link_to_free_name(
            directory, stem, lambda name: _write_linked(text, directory, name)
        )
    temporary = tempfile.mkdtemp(
        dir=directory, prefix=_temporary_prefix(), suffix=CHECKPOINT_SUFFIX
    )
    os.chmod(temporary, 0o755)  # mkdtemp's 0700 would hide the checkpoint.
    try:
        save_checkpoint(os.path.join(temporary, CHECKPOINT_NAME))
        return _link_to_free_name(
            directory,
            stem,
            lambda name: _place_checkpoint_then_results(
                results, directory, name, temporary
            ),
        )
    finally:
        if os.path.isdir(temporary):
            shutil.rmtree(temporary)


def _strict_json_text(data):
    return json.dumps(to_strict_json_value(data), allow_nan=False, indent=1)


def _link_to_free_name(directory, stem, place):
    """Calls `place(name)` for stem, stem-1, ... until it returns a path."""
    counter = 0
    while True:
        name = f"{stem}-{counter}" if counter else stem
        if not os.path.exists(os.path.join(directory, f"{name}.json")):
            path = place(name)
            if path:
                return path
        counter += 1


def _place_checkpoint_then_results(results, directory, name, temporary):
    """Renames the checkpoint to `name`, then links its results file.

    Returns:
      The results file's path, or None if either name was taken (the
      checkpoint is then back in `temporary`).
    """
    checkpoint_directory = os.path.join(directory, name + CHECKPOINT_SUFFIX)
    try:
        os.rename(temporary, checkpoint_directory)
    except OSError as error:
        if error.errno in (errno.ENOTEMPTY, errno.EEXIST):
            return None  # Another run's checkpoint has the name.
        raise
    text = _strict_json_text(
        dict(
            results,
            checkpoint=os.path.join(
                os.path.abspath(checkpoint_directory), CHECKPOINT_NAME
            ),
        )
    )
    path = _write_linked(text, directory, name)
    if path is None:
        os.rename(checkpoint_directory, temporary)
    return path


def _write_linked(text, directory, name):
    """Writes `text` to a temporary file, hard-links it to `name.json`.

    Returns:
      The path, or None if `name.json` exists.
    """
    temporary_path = _write_temporary_file(text, directory, ".json")
    try:
        path = os.path.join(directory, f"{name}.json")
        try:
            os.link(temporary_path, path)  # Atomic; fails if `path` exists.
        except FileExistsError:
            return None
        return path
    finally:
        os.unlink(temporary_path)


def _write_temporary_file(text, directory, suffix):
    """Writes `text` to a new, flushed temporary file; returns its path."""
    descriptor, temporary_path = tempfile.mkstemp(
        dir=directory, prefix=_temporary_prefix(), suffix=suffix
    )
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


def replace_json_atomically(data, path):
    """Writes `data` as strict JSON to `path`, replacing any file there.

    For files that every invocation refreshes (a study's summary.json),
    unlike `write_json_atomically`, which never replaces. Readers see the old
    file or the new one, never half of one.

    Returns:
      `path`.
    """
    return replace_text_atomically(_strict_json_text(data), path)


def replace_text_atomically(text, path):
    """Writes `text` to `path` through a temporary file and `os.replace`.

    Returns:
      `path`.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary_path = _write_temporary_file(
        text, directory, os.path.splitext(path)[1]
    )
    try:
        os.replace(temporary_path, path)
    except BaseException:
        os.unlink(temporary_path)
        raise
    return path


@contextlib.contextmanager
def exclusive_lock(directory, key):
    """Holds an exclusive lock named `key` in `directory` for the context.

    A blocking `flock` on `directory/.locks/<key>.lock`: processes (on any
    host of a file system with working locks, e.g. local or NFSv4) take
    turns, and the kernel releases the lock if its holder dies.
    """
    lock_directory = os.path.join(directory, LOCK_SUBDIRECTORY)
    os.makedirs(lock_directory, exist_ok=True)
    descriptor = os.open(
        os.path.join(lock_directory, f"{key}.lock"),
        os.O_RDWR | os.O_CREAT,
        0o644,
    )
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # Releases the lock.


def _reject_constant(token):
    raise ValueError(f"non-standard JSON token {token}")


def read_results_object(path, required_keys):
    """Parses a results file as strict JSON and checks its outline.

    Args:
      path: Path of a results file.
      required_keys: Keys the object must have.

    Returns:
      The parsed dictionary, with "hparams" an object if present.

    Raises:
      ValueError: If the file is not strict JSON (NaN and Infinity tokens
        are refused), not an object, lacks a required key, or its "hparams"
        is not an object.
      OSError: If the file cannot be read.
    """
    with open(path) as results_file:
        try:
            results = json.load(results_file, parse_constant=_reject_constant)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}") from error
    if not isinstance(results, dict):
        raise ValueError(f"{path} does not hold a JSON object.")
    missing = [key for key in required_keys if key not in results]
    if missing:
        raise ValueError(f"{path} lacks the results keys {missing}.")
    if "hparams" in results and not isinstance(results["hparams"], dict):
        raise ValueError(f"{path}: 'hparams' is not an object.")
    return results


def load_results(path):
    """Reads one results file strictly.

    Args:
      path: Path of a results file.

    Returns:
      The parsed results dictionary.

    Raises:
      ValueError: If the file is not strict JSON, or lacks a results key
        (but those of `ADDED_RESULTS_KEYS`, which earlier versions did not
        write), or its trajectories are not lists.
      OSError: If the file cannot be read.
    """
    required = [key for key in RESULTS_KEYS if key not in ADDED_RESULTS_KEYS]
    results = read_results_object(path, required)
    not_lists = [
        key
        for key in TRAJECTORY_KEYS
        if key in results and not isinstance(results[key], list)
    ]
    if not_lists:
        raise ValueError(f"{path}: {not_lists} are not lists.")
    return results


def is_complete(results):
    """Tells whether a run's results end where its training was meant to.

    Complete: evaluated after the last training step (step `train_steps`),
    or stopped by its `stop_train_loss`, with a finite last training loss.
    Diverged or interrupted runs stop before, or end on a null loss.
    """
    steps, train_loss = results["steps"], results["train_loss"]
    if not steps or not train_loss or train_loss[-1] is None:
        return False
    stopped_at = results.get("stopped_at_step")
    return steps[-1] == results["hparams"].get("train_steps") or (
        stopped_at is not None and steps[-1] == stopped_at
    )
