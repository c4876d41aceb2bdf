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
"""Reading results files, including those of earlier versions.

A results file (see results_io) is read if it holds the keys the requested
plot reads (`quantities.keys_read`), whatever else it lacks: files written
before the validation metrics, the complexity measures, `stopped_at_step`,
`checkpoint` or `num_parameters` existed still load where those keys are not
needed. Files lacking a needed key are skipped and named in one warning.
"""

import dataclasses
import os
import re

from absl import logging

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import quantities

# What `load_runs` needs by default: the trajectories plot and its table,
# the keys every version of the training script wrote.
DEFAULT_KEYS = quantities.keys_read("trajectories")


@dataclasses.dataclass(frozen=True)
class Run:
    """One results file: its path and its parsed contents."""

    path: str
    results: dict

    @property
    def name(self):
        return os.path.basename(self.path)


def read_results(path):
    """Parses one results file strictly, checking what is there.

    Only "hparams" and "steps" must be present (every version wrote them);
    the other keys of results_io.TRAJECTORY_KEYS are checked where present.

    Args:
      path: Path of a results file.

    Returns:
      The parsed results dictionary.

    Raises:
      ValueError: If the file is not strict JSON or not a results file:
        "hparams" missing or not an object of single values, "steps"
        missing, a trajectory not a list of numbers and nulls, or an
        evaluated quantity without one value per recorded step.
      OSError: If the file cannot be read.
    """
    results = results_io.read_results_object(path, ("hparams", "steps"))
    _check_trajectories(results)
    return results


def _check_trajectories(results):
    """Raises ValueError unless the results can be grouped and plotted.

    Hparams must be single values (they are the keys of the groups), the
    trajectories lists of numbers or nulls, one per recorded step where
    evaluated.
    """
    nested = sorted(
        name
        for name, value in results["hparams"].items()
        if isinstance(value, (list, dict))
    )
    if nested:
        raise ValueError(f"'hparams' {nested} are not single values.")
    present = [key for key in results_io.TRAJECTORY_KEYS if key in results]
    not_lists = [key for key in present if not isinstance(results[key], list)]
    if not_lists:
        raise ValueError(f"{not_lists} are not lists.")
    for key in present:
        values = results[key]
        if not all(value is None or is_number(value) for value in values):
            raise ValueError(f"'{key}' holds values that are not numbers.")
    num_steps = len(results["steps"])
    wrong = [
        key
        for key in quantities.EVALUATED_KEYS
        if key in results and len(results[key]) != num_steps
    ]
    if wrong:
        raise ValueError(
            f"{wrong} do not have one value per recorded step "
            f"({num_steps} steps)."
        )


def is_number(value):
    """True for an int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def one_line(error):
    """An exception's message on one line."""
    return " ".join(str(error).split())


def load_runs(pattern, data_dir, keys=DEFAULT_KEYS):
    """Loads every results file in `data_dir` whose name matches `pattern`.

    Names starting with "." (temporaries of atomic writes) and directories
    are ignored. Matching files that are not results files (invalid JSON,
    trajectories of inconsistent lengths or non-numbers) are skipped with one
    warning line each; results files lacking any of `keys` (written by an
    earlier version, or without a quantity the plot draws) are skipped and
    named, with the keys they lack, in one warning.

    Args:
      pattern: Regular expression (string or compiled), searched for anywhere
        in the file name (anchor it with ^ and $ to match whole names).
      data_dir: Directory holding the results files.
      keys: The results keys every run must have; see
        `quantities.keys_read`. The default: those of the trajectories plot.

    Returns:
      A list of `Run`, sorted by file name.

    Raises:
      OSError: If `data_dir` cannot be listed.
    """
    pattern = re.compile(pattern)
    runs, lacking = [], {}
    for name in sorted(os.listdir(data_dir)):
        path = os.path.join(data_dir, name)
        if name.startswith(".") or not pattern.search(name):
            continue
        if not os.path.isfile(path):
            continue
        try:
            results = read_results(path)
        except (ValueError, OSError) as error:
            reason = one_line(error)
            if path not in reason:
                reason = f"{path}: {reason}"
            logging.warning(
                "Skipping a file that is not a results file: %s", reason
            )
            continue
        missing = tuple(key for key in keys if key not in results)
        if missing:
            lacking.setdefault(missing, []).append(name)
            continue
        runs.append(Run(path, results))
    if lacking:
        _warn_about_lacking_keys(data_dir, lacking)
    return runs


def _warn_about_lacking_keys(data_dir, lacking):
    """One warning naming the skipped files and the keys each lacks."""
    count = sum(len(names) for names in lacking.values())
    noun = "results file" if count == 1 else "results files"
    logging.warning(
        "Skipping %d %s in %s without keys this plot reads (written by an "
        "earlier version?): %s",
        count,
        noun,
        data_dir,
        "; ".join(
            f"{', '.join(names)} lack{'s' if len(names) == 1 else ''} "
            f"{list(missing)}"
            for missing, names in lacking.items()
        ),
    )


def load_data_for_pattern(pattern, data_dir):
    """The parsed results of every file in `data_dir` matching `pattern`.

    Args:
      pattern: Regular expression (string or compiled) searched for in file
        names; see `load_runs`.
      data_dir: Directory holding the results files.

    Returns:
      A list of results dictionaries (see results_io), sorted by file name;
      files that are not results files, or lack a key of `DEFAULT_KEYS`, are
      skipped with a warning.
    """
    return [run.results for run in load_runs(pattern, data_dir)]


def unfinished_runs(runs):
    """The runs that did not finish (diverged, interrupted).

    A run stopped by its `stop_train_loss` is finished (see
    `results_io.is_complete`). Final values of unfinished runs are those of
    their last recorded step, not of the end of training.
    """
    return [run for run in runs if not results_io.is_complete(run.results)]


def known_hparams(runs):
    """The sorted names of the hparams recorded by any of `runs`."""
    return sorted({name for run in runs for name in run.results["hparams"]})
