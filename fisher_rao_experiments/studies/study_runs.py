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
default. `run_grid` trains the points that have no complete results file yet,
by calling the sweep (`fisher_rao_experiments.sweep.run_sweep`) in this
process; `collect_grid_runs` finds each point's results file and says why a
point or file is left out.

Where the runs run: on the sweep's Dask cluster, never in the study's
process, which imports no TensorFlow (the analysis reads results files
only). The embedded cluster has `--workers` worker processes of one thread;
each worker process runs its runs one after another, each on a
`tf.Graph` and session of its own, with one TensorFlow thread. A run
therefore shares its process with the earlier runs of its worker, not with
other runs at the same time: TensorFlow's graph state is per graph (nothing
is built in the default graph, seeds are the graph's and the ops'), and
its thread pools are the process's, sized once, the same for every run. A
process per run would isolate nothing more and cost TensorFlow's start-up
(about 5 s) per run, more than a study's typical run. Worker processes, not
threads of the study's process, so that TensorFlow's threads and memory stay
out of the study, Ctrl-C reaches only the study (the workers ignore SIGINT),
and a worker that dies takes only its run with it (Dask reruns it).
"""

import dataclasses
import os
import sys

from absl import flags, logging

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import results_io, runs, sweep
from fisher_rao_experiments.analysis import loading

RESULTS_PATTERN = r"\.json$"
DIVERGED_SUBDIRECTORY = results_io.DIVERGED_SUBDIRECTORY


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
    run: loading.Run


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
            set(self.BUCKET_KEYS)
            <= set(experiment_config.compared_keys(point))
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
            if runs.hparams_match(point, hparams):
                return index
        return None


def _diverged_names(runs_dir, point_index):
    """Grid index -> names of the partial results of its diverged runs."""
    directory = os.path.join(runs_dir, DIVERGED_SUBDIRECTORY)
    if not os.path.isdir(directory):
        return {}
    names = {}
    for run in loading.load_runs(RESULTS_PATTERN, directory):
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
      (see `loading.load_runs`); of two complete files of one point the
      first by name is used and the other left out as a duplicate.
    """
    runs = (
        loading.load_runs(RESULTS_PATTERN, runs_dir)
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
            "%d results files in %s belong to no point of this grid and "
            "are ignored here (another grid of the study may use them).",
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

    Completes the points into configurations (`sweep.complete_config`) and
    calls `sweep.run_sweep` in this process; the runs run on its Dask
    cluster (see the module's docstring).

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
      GridRunError: If a grid point is refused, or runs_dir cannot be
        written; before anything runs.
      KeyboardInterrupt: On Ctrl-C, once the sweep has stopped its cluster.
    """
    output_dir = os.path.abspath(runs_dir)
    try:
        configs = [
            sweep.complete_config(point, output_dir) for point in grid_points
        ]
    except ValueError as error:
        raise GridRunError(f"a grid point is refused: {error}") from None
    if not configs:
        return True
    try:
        outcome = sweep.run_sweep(configs, scheduler_address, workers)
    except results_io.UnwritableDirectoryError as error:
        raise GridRunError(str(error)) from None
    except sweep.SweepInterrupted:
        raise KeyboardInterrupt from None
    return not outcome.failures


def define_flags(flag_values, default_output_dir, smoke_help):
    """Defines the flags every study has on `flag_values`.

    --output_dir, --smoke, --analysis_only, --figures, --scheduler_address
    and --workers. Called by a study run as a script, not at import: the
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
    flags.DEFINE_bool(
        "figures",
        True,
        "Draw the figures; --nofigures writes summary.json and tables.md "
        "only (drawing is most of an analysis's time).",
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
