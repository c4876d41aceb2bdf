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
"""Training many configurations on Dask: grids, resuming, faults.

`grid_configs` expands a grid (norms x lambdas x methods x seeds x further
axes) into configurations; `run_sweep` runs those without a complete results
file on a Dask cluster (an embedded local one, or any running scheduler),
one task per configuration, and writes each run's results file and
checkpoint as the training script does. experiments/sweep.py is its command
line; the studies call it in-process (`studies.study_runs`).

Grid conventions:
  * norm `None` trains without the regularizer, so lambda and method do not
    matter: it gets one run per other setting, recorded with lambda 0 and the
    method of the base configuration, and any finished `None` run counts
    for it whatever lambda and method it recorded.
  * lambda 0 with `fr` or `fre` is a run of its own: the regularizer is built
    and recorded but weighs nothing, which checks that building it leaves the
    training unchanged.

Resuming: a configuration whose hyper-parameters match those of a complete
results file in its output_dir (`runs.pending_configs`) is skipped, so an
interrupted sweep continues where it stopped and never overwrites a run. A
diverged run keeps its partial results in output_dir/diverged/, which is not
scanned, so the next sweep retries it.

Faults: each run holds an exclusive lock on its configuration (a file lock
in output_dir/.locks/, released by the kernel if its process dies) and looks
for a finished results file again once it holds it, so two sweeps sharing an
output_dir never both run a configuration, and a run whose worker is killed
is run again by Dask on another worker without leaving a partial file.

Processes: the client (this module's caller) never imports TensorFlow. A
task is `run_configuration`, pickled by reference: a worker imports this
package (installed; nothing on its PYTHONPATH) and, when it runs its first
task, `fisher_rao_experiments.training`. A worker process runs its tasks one
after another, each on a graph and session of its own with one thread (see
`studies.study_runs` for why not a process per run).
"""

import collections
import contextlib
import datetime
import itertools
import logging as python_logging
import os
import signal
import time
import traceback

import distributed
from absl import logging

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import results_io, runs

NO_REGULARIZATION = experiment_config.NO_REGULARIZATION
DIVERGED_SUBDIRECTORY = results_io.DIVERGED_SUBDIRECTORY


def grid_configs(base_config, norms, lambdas, methods, seeds, axes=()):
    """Returns the configurations of a sweep, seed by seed.

    Args:
      base_config: Configuration every run starts from (every key of
        `config.CONFIG_KEYS`).
      norms: Values of regularization_norm.
      lambdas: Values of fisher_rao_lambda, for the regularized norms.
      methods: Values of fisher_rao_method, for the regularized norms.
      seeds: Values of random_seed.
      axes: `(key, values)` pairs of further axes, crossed with the rest.

    Returns:
      A list of resolved configuration dictionaries, each computing
      something different. Norm `None` has one per seed and setting of
      `axes`, with lambda 0 and the method of `base_config`.
    """
    configs, fingerprints = [], set()
    settings = [
        dict(zip([key for key, _ in axes], values, strict=True))
        for values in itertools.product(*[values for _, values in axes])
    ]
    for seed, norm, setting in itertools.product(seeds, norms, settings):
        if norm == NO_REGULARIZATION:
            regularizers = [(0.0, base_config["fisher_rao_method"])]
        else:
            regularizers = [
                (float(fisher_rao_lambda), method)
                for fisher_rao_lambda in lambdas
                for method in methods
            ]
        for fisher_rao_lambda, method in regularizers:
            config = experiment_config.resolve_config(
                dict(
                    base_config,
                    regularization_norm=norm,
                    fisher_rao_lambda=fisher_rao_lambda,
                    fisher_rao_method=method,
                    random_seed=int(seed),
                    **setting,
                )
            )
            fingerprint = runs.config_fingerprint(config)
            if fingerprint not in fingerprints:
                fingerprints.add(fingerprint)
                configs.append(config)
    return configs


def complete_config(point, output_dir):
    """A grid point of a study as a full, checked run configuration.

    Args:
      point: Configuration keys the study sets; every other key takes its
        default (sizes left None take the data set's).
      output_dir: Absolute directory of the results files.

    Returns:
      A new resolved configuration, with no summaries.

    Raises:
      ValueError: If `point` names an unknown key, or the configuration is
        invalid (`config.validate_config`'s message).
    """
    defaults = experiment_config.default_config()
    unknown = sorted(set(point) - set(defaults))
    if unknown:
        raise ValueError(f"unknown configuration keys {unknown}")
    config = dict(defaults, **point)
    config.update(output_dir=output_dir, summary_dir=None)
    config = experiment_config.resolve_config(config)
    experiment_config.validate_config(config)
    return config


def run_configuration(config):
    """The Dask task that trains one configuration and saves it.

    Under the configuration's lock, it looks for a complete results file
    first (a concurrent sweep may have written it), else trains with one
    thread and saves the results file and checkpoint to
    config["output_dir"]; a diverged run's partial results go to its
    `diverged/` subdirectory, out of the resuming scan.

    Args:
      config: A complete, resolved run configuration.

    Returns:
      `(path, ran)`: the path of its results file, and whether this task
      trained it (False: a concurrent sweep had finished it).

    Raises:
      RuntimeError: If the training failed, with the original error's type,
        message and traceback (a builtin type, so the scheduler and client
        unpickle it without importing anything).
    """
    # Imported by the worker: the client never imports TensorFlow.
    from fisher_rao_experiments import training

    output_dir = config["output_dir"]
    with results_io.exclusive_lock(
        output_dir, runs.config_fingerprint(config)
    ):
        finished = runs.find_complete_results(output_dir, config)
        if finished:
            return finished, False
        try:
            run = training.run_experiment(config, num_threads=1)
        except training.TrainingDivergedError as error:
            path = training.save_run(
                error.run, os.path.join(output_dir, DIVERGED_SUBDIRECTORY)
            )
            raise RuntimeError(
                f"TrainingDivergedError: {error} Partial results in {path}"
            ) from None
        except Exception as error:  # Reported with the run, whatever.
            raise RuntimeError(
                f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
            ) from None
        return training.save_run(run, output_dir), True


Failure = collections.namedtuple("Failure", ["config", "error"])
SweepOutcome = collections.namedtuple("SweepOutcome", ["paths", "failures"])


class SweepInterrupted(Exception):
    """Ctrl-C stopped the sweep; `outcome` holds the runs finished before."""

    def __init__(self, outcome):
        super().__init__("The sweep was interrupted.")
        self.outcome = outcome


def _error_of(future):
    try:
        error = future.exception()
    except Exception as cancelled:  # A cancelled future raises here.
        error = cancelled
    if type(error) is RuntimeError:  # From the task: names the original type.
        return str(error)
    return f"{type(error).__name__}: {error}"


def _log_progress(done, total, failed, start_time):
    elapsed = time.monotonic() - start_time
    seconds_left = elapsed / done * (total - done)
    logging.info(
        "%d/%d runs done, %d failed, %.2f runs/min, about %s left.",
        done,
        total,
        failed,
        60.0 * done / max(elapsed, 1e-9),
        datetime.timedelta(seconds=round(seconds_left)),
    )


def run_configs(client, configs):
    """Runs every configuration as a task on `client`, and waits for them all.

    A run that fails (error, divergence, lost worker) does not stop the
    others.

    Args:
      client: A `distributed.Client`.
      configs: Run configurations.

    Returns:
      A SweepOutcome: `paths`, the results files written (or found written
      by a concurrent sweep), and `failures`, a list of Failure(config, error
      message).

    Raises:
      SweepInterrupted: On KeyboardInterrupt, after cancelling the runs not
        finished, with the outcome so far.
    """
    futures = {
        client.submit(run_configuration, config, pure=False): config
        for config in configs
    }
    outcome = SweepOutcome([], [])
    start_time = time.monotonic()
    try:
        for future in distributed.as_completed(futures):
            _record(future, futures[future], outcome)
            _log_progress(
                len(outcome.paths) + len(outcome.failures),
                len(configs),
                len(outcome.failures),
                start_time,
            )
            future.release()
    except KeyboardInterrupt:
        client.cancel(list(futures))
        raise SweepInterrupted(outcome) from None
    return outcome


def _record(future, config, outcome):
    if future.status == "finished":
        path, ran = future.result()
        outcome.paths.append(path)
        logging.info(
            "Wrote %s" if ran else "Found %s, finished by a concurrent sweep",
            path,
        )
    else:
        outcome.failures.append(Failure(config, _error_of(future)))
        logging.error("Run failed: %s", outcome.failures[-1].error)


@contextlib.contextmanager
def dask_client(scheduler_address, workers):
    """Yields a client of the scheduler, or of an embedded local cluster.

    The embedded cluster's processes ignore SIGINT: Ctrl-C in a terminal
    reaches the whole process group, and only this process should handle it.

    Args:
      scheduler_address: Address of a running scheduler; empty for an
        embedded cluster on 127.0.0.1.
      workers: Worker processes of the embedded cluster, one thread each.
    """
    if scheduler_address:
        with distributed.Client(scheduler_address) as client:
            yield client
        return
    # The workers report through this process (a run's error comes back
    # with its future); a worker's own log is about shutting down: cancelled
    # runs, or a heartbeat's traceback when the scheduler closes first.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    with _sigint_ignored_by_children():
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    with cluster, distributed.Client(cluster) as client:
        try:
            yield client
        finally:
            # A worker slow to exit is killed after a few seconds, routinely.
            python_logging.getLogger("distributed.nanny").setLevel(
                python_logging.ERROR
            )


@contextlib.contextmanager
def _sigint_ignored_by_children():
    """Processes started inside inherit SIGINT ignored (through exec)."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _log_failures(failures):
    for failure in failures:
        logging.error(
            "FAILED %s\n  %s",
            failure.error,
            runs.command_for_config(failure.config),
        )


def check_output_directories(config):
    """Creates the sweep's output directories and proves them writable.

    Raises:
      results_io.UnwritableDirectoryError: Naming the flag, path and reason.
    """
    results_io.check_output_directories(config)
    results_io.ensure_writable_directory(
        os.path.join(config["output_dir"], DIVERGED_SUBDIRECTORY),
        "--output_dir's diverged/ subdirectory",
    )


def run_sweep(configs, scheduler_address="", workers=1):
    """Runs every configuration without a finished results file, on Dask.

    Args:
      configs: Resolved run configurations, all with the same absolute
        output_dir.
      scheduler_address: Address of a running scheduler; empty for an
        embedded local cluster.
      workers: Worker processes of the embedded cluster.

    Returns:
      A SweepOutcome of the runs it started (none if all had finished).

    Raises:
      results_io.UnwritableDirectoryError: If the output directory cannot
        be written, before anything runs.
      SweepInterrupted: On Ctrl-C, with the outcome so far, after shutting
        the embedded cluster down.
    """
    check_output_directories(configs[0])
    output_dir = configs[0]["output_dir"]  # The same for every run.
    pending = runs.pending_configs(configs, output_dir)
    logging.info(
        "%d configurations, %d already finished in %s, %d to run.",
        len(configs),
        len(configs) - len(pending),
        output_dir,
        len(pending),
    )
    if not pending:
        return SweepOutcome([], [])
    with dask_client(scheduler_address, workers) as client:
        try:
            outcome = run_configs(client, pending)
        except SweepInterrupted:
            # Runs cancelled and workers stopped while shutting down are
            # what was asked for, not news.
            _quiet_dask_logging()
            raise
    _log_failures(outcome.failures)
    logging.info(
        "Sweep finished: %d runs written, %d failed.",
        len(outcome.paths),
        len(outcome.failures),
    )
    return outcome


def _quiet_dask_logging():
    for name in ("distributed", "tornado", "asyncio"):
        python_logging.getLogger(name).setLevel(python_logging.CRITICAL)


def count_finished(configs):
    """How many of `configs` have a complete results file."""
    return len(configs) - len(
        runs.pending_configs(configs, configs[0]["output_dir"])
    )
