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
"""The runs of a study's grid: training them on the sweep, finding them.

A study describes its grid as grid points: dicts of the training
configuration keys it sets; every other key takes the training script's
default. `run_grid` trains the points that have no complete results file yet
(experiments/grid_runner.py, in a process of its own); `collect_grid_runs`
finds each point's results file and says why a point or file is left out.

Nothing here imports TensorFlow: the analysis reads results files only.
"""

import dataclasses
import json
import os
import subprocess
import sys

from absl import flags, logging

import plot_utils
from experiments import grid_runner
from fisher_rao_experiments import results_io

RESULTS_PATTERN = r"\.json$"
DIVERGED_SUBDIRECTORY = results_io.DIVERGED_SUBDIRECTORY


# How long an interrupted grid_runner.py may take to stop its cluster.
CHILD_STOP_SECONDS = 30


class GridRunError(Exception):
    """The grid could not be run (refused configuration, broken set-up)."""


@dataclasses.dataclass(frozen=True)
class LeftOut:
    """A results file (or a grid point without one) left out, and why."""

    name: str
    reason: str


@dataclasses.dataclass(frozen=True)
class GridRun:
    """A grid point, its index in the grid and its complete results file."""

    index: int
    point: dict
    run: plot_utils.Run


@dataclasses.dataclass
class GridRuns:
    """What `collect_grid_runs` found.

    Attributes:
      found: A `GridRun` per grid point with a complete results file, in
        the grid's order.
      left_out: `LeftOut` for every incomplete or duplicate file of a grid
        point, and for every grid point without a complete file.
      not_in_grid: Names of the results files that match no grid point
        (ignored: they belong to another grid).
    """

    found: list
    left_out: list
    not_in_grid: list


def describe_point(point, keys):
    """A short name of a grid point: "key=value, ..." over `keys`."""
    return ", ".join(f"{key}={point.get(key)}" for key in keys)


class _PointIndex:
    """Finds the grid point of recorded hparams.

    Points are bucketed by their exact-valued BUCKET_KEYS, so a run is
    compared with the points of its bucket only (a grid of 1000 points and
    as many runs would otherwise make a million comparisons).
    """

    BUCKET_KEYS = ("regularization_norm", "random_seed")

    def __init__(self, grid_points):
        self._bucketed = all(
            set(self.BUCKET_KEYS) <= set(results_io.compared_keys(point))
            for point in grid_points
        )
        self._buckets = {}
        for index, point in enumerate(grid_points):
            self._buckets.setdefault(self._bucket(point), []).append(
                (index, point)
            )

    def _bucket(self, values):
        if not self._bucketed:
            return None
        return tuple(repr(values.get(key)) for key in self.BUCKET_KEYS)

    def index_of(self, hparams):
        """The index of the first point `hparams` match, or None."""
        for index, point in self._buckets.get(self._bucket(hparams), []):
            if results_io.hparams_match(point, hparams):
                return index
        return None


def _diverged_names(runs_dir, point_index):
    """Grid index -> names of the partial results of its diverged runs."""
    directory = os.path.join(runs_dir, DIVERGED_SUBDIRECTORY)
    if not os.path.isdir(directory):
        return {}
    names = {}
    for run in plot_utils.load_runs(RESULTS_PATTERN, directory):
        index = point_index.index_of(run.results["hparams"])
        if index is not None:
            names.setdefault(index, []).append(
                f"{DIVERGED_SUBDIRECTORY}/{run.name}"
            )
    return names


def _incomplete_reason(results):
    steps = results["steps"]
    last = steps[-1] if steps else None
    return (
        f"incomplete: stops at step {last} of "
        f"{results['hparams'].get('train_steps')}"
    )


def collect_grid_runs(grid_points, runs_dir, describe_keys):
    """Finds the complete results file of every grid point.

    Args:
      grid_points: The grid, a list of configuration dicts.
      runs_dir: Directory of the results files (its `diverged/`
        subdirectory is read for the reasons of missing points).
      describe_keys: Keys that name a grid point without a results file in
        `left_out`.

    Returns:
      A `GridRuns`. A file that is no results file is skipped with a warning
      (see `plot_utils.load_runs`); of two complete files of one point the
      first by name is used and the other left out as a duplicate.
    """
    runs = (
        plot_utils.load_runs(RESULTS_PATTERN, runs_dir)
        if os.path.isdir(runs_dir)
        else []
    )
    point_index = _PointIndex(grid_points)
    by_index, incomplete, left_out, not_in_grid = {}, set(), [], []
    for run in runs:
        index = point_index.index_of(run.results["hparams"])
        if index is None:
            not_in_grid.append(run.name)
        elif not results_io.is_complete(run.results):
            incomplete.add(index)
            left_out.append(LeftOut(run.name, _incomplete_reason(run.results)))
        elif index in by_index:
            left_out.append(
                LeftOut(run.name, f"duplicate of {by_index[index].name}")
            )
        else:
            by_index[index] = run
    diverged = _diverged_names(runs_dir, point_index)
    for index, point in enumerate(grid_points):
        if index in by_index:
            continue
        if index in diverged:
            left_out.extend(
                LeftOut(name, "diverged") for name in diverged[index]
            )
        elif index not in incomplete:  # Else left out by its file's name.
            left_out.append(
                LeftOut(
                    describe_point(point, describe_keys),
                    "no complete results file",
                )
            )
    if not_in_grid:
        logging.info(
            "%d results files in %s belong to no point of this "
            "grid and are ignored.",
            len(not_in_grid),
            runs_dir,
        )
    found = [
        GridRun(index, grid_points[index], by_index[index])
        for index in sorted(by_index)
    ]
    return GridRuns(found, left_out, not_in_grid)


def run_grid(grid_points, runs_dir, scheduler_address, workers):
    """Trains every grid point without a complete results file in runs_dir.

    experiments/grid_runner.py does it in a child process, which completes
    the points into configurations and calls `experiments.sweep.run_sweep`.
    A child, because the training script and the sweep define absl flags
    (--output_dir, --workers, --scheduler_address) that would clash with a
    study's own in one process, and import TensorFlow, which the analysis
    does not need. The child's log goes to this process's stderr.

    Args:
      grid_points: The grid, a list of configuration dicts.
      runs_dir: Directory of the results files (made absolute).
      scheduler_address: A running Dask scheduler, or "" for a local
        cluster.
      workers: Worker processes of the local cluster.

    Returns:
      True if every pending run finished, False if some failed (the sweep
      logged each; they are left out of the analysis as missing).

    Raises:
      GridRunError: If the child refused the grid or crashed.
    """
    request = {
        "grid_points": grid_points,
        "output_dir": os.path.abspath(runs_dir),
        "scheduler_address": scheduler_address,
        "workers": workers,
    }
    with subprocess.Popen(
        [sys.executable, os.path.abspath(grid_runner.__file__)],
        stdin=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            child.communicate(
                json.dumps(results_io.to_strict_json_value(request))
            )
        except KeyboardInterrupt:
            _stop(child)
            raise
    if child.returncode == grid_runner.SOME_RUNS_FAILED_STATUS:
        return False
    if child.returncode:
        raise GridRunError(
            f"grid_runner.py exited with status "
            f"{child.returncode}; see its error above."
        )
    return True


def _stop(child):
    """Lets an interrupted child stop its cluster, then makes sure it ends.

    Ctrl-C reaches the whole process group, so the child is stopping too.
    """
    try:
        child.wait(timeout=CHILD_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        child.terminate()
        child.wait()


def define_flags(flag_values, default_output_dir, smoke_help):
    """Defines the flags every study has on `flag_values`.

    --output_dir, --smoke, --analysis_only, --scheduler_address and
    --workers. Called by a study run as a script, not at import: the
    training script and the sweep define flags of the same names on FLAGS,
    and one process may import them all (the test suite does).
    """
    flags.DEFINE_string(
        "output_dir",
        default_output_dir,
        "Directory of the study: runs/ holds the results files; "
        "summary.json, tables.md and the figures go here.",
        flag_values=flag_values,
    )
    flags.DEFINE_bool("smoke", False, smoke_help, flag_values=flag_values)
    flags.DEFINE_bool(
        "analysis_only",
        False,
        "Train nothing; analyse the runs already in <output_dir>/runs.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "scheduler_address",
        "",
        "A running Dask scheduler, e.g. tcp://host:8786; empty runs a local "
        "cluster of --workers processes.",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "workers",
        os.cpu_count() or 1,
        "Worker processes of the local cluster.",
        lower_bound=1,
        flag_values=flag_values,
    )
    flags.register_validator(
        "output_dir",
        bool,
        message="--output_dir must not be empty.",
        flag_values=flag_values,
    )


def train_grid_from_flags(grid_points, runs_dir, flag_values, program):
    """Trains the grid's missing runs unless --analysis_only.

    Args:
      grid_points: The grid, a list of configuration dicts.
      runs_dir: Directory of the results files.
      flag_values: Parsed flags of `define_flags`.
      program: The study's file name, for a one-line error.

    Returns:
      None to go on to the analysis, or 130 after Ctrl-C.
    """
    if flag_values.analysis_only:
        return None
    try:
        finished = run_grid(
            grid_points,
            runs_dir,
            flag_values.scheduler_address,
            flag_values.workers,
        )
    except GridRunError as error:
        sys.exit(f"{program}: error: {error}")
    except KeyboardInterrupt:
        logging.error("Interrupted; the same command resumes.")
        return 130
    if not finished:
        logging.warning("Some runs failed; they are left out.")
    return None
