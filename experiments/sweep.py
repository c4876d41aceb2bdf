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
r"""Trains synthetic_classification.py over a grid of settings, on Dask.

The grid is the cross product of --regularization_norms,
--fisher_rao_lambdas, --fisher_rao_methods, --random_seeds and any number of
--grid=FLAG=V1,V2,... axes (any training flag); every other training flag of
synthetic_classification.py (see --helpfull, or that script's --help) is
accepted and applies to all runs. Each run is a Dask task that calls
`synthetic_classification.run_experiment` and writes its results file and
checkpoint to --output_dir exactly as the training script does.

Grid conventions:
  * norm `None` trains without the regularizer, so lambda and method do not
    matter: it gets one run per other setting, recorded with lambda 0 and the
    method given by --fisher_rao_method, and any finished `None` run counts
    for it whatever lambda and method it recorded.
  * lambda 0 with `fr` or `fre` is a run of its own: the regularizer is built
    and recorded but weighs nothing, which checks that building it leaves the
    training unchanged.

Resuming: a configuration whose hyper-parameters (every key of
`default_config()` but output_dir and summary_dir) match those of a complete
results file in --output_dir is skipped, so an interrupted sweep continues
where it stopped and never overwrites a run. A diverged run keeps its partial
results in --output_dir/diverged/, which is not scanned, so it is retried by
the next sweep; a results file that stops before the last training step (a
run interrupted by hand) does not count as finished either.

Faults: each run holds an exclusive lock on its configuration (a file lock in
--output_dir/.locks/, released by the kernel if its process dies) and looks
for a finished results file again once it holds it, so two sweeps sharing an
--output_dir never both run a configuration, and a run whose worker is killed
is run again by Dask on another worker without leaving a partial file.

On an existing cluster (--scheduler_address), the workers need the project's
Python packages and must see this repository and --output_dir at the same
paths as this process (a shared file system); nothing on their PYTHONPATH.

Examples:
  python3 experiments/sweep.py --train_size=300 --train_steps=3001
  python3 experiments/sweep.py --dataset=digits --regularization_norms=None \
      --grid=label_noise=0,0.5,1 --grid=layer_width=32,128
  python3 experiments/sweep.py --scheduler_address=tcp://127.0.0.1:8786
  python3 experiments/sweep.py --print_commands > commands.txt
"""

import collections
import contextlib
import datetime
import glob
import itertools
import logging as python_logging
import os
import signal
import sys
import time
import traceback

# Run as a script, this file sees only experiments/ on sys.path.
_REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPOSITORY_ROOT not in sys.path:
    sys.path.insert(0, _REPOSITORY_ROOT)

import distributed  # noqa: E402
from absl import app, flags, logging  # noqa: E402

import synthetic_classification  # noqa: E402
from fisher_rao_experiments import results_io

NO_REGULARIZATION = "None"
OUTPUT_KEYS = results_io.OUTPUT_KEYS
DIVERGED_SUBDIRECTORY = results_io.DIVERGED_SUBDIRECTORY
# Training flags the grid sets, and the sweep's flags that list their values.
SWEPT_FLAGS = {
    "regularization_norm": "regularization_norms",
    "fisher_rao_lambda": "fisher_rao_lambdas",
    "random_seed": "random_seeds",
}
# Training flags with a list flag of their own (also the method's).
LIST_FLAGS = dict(SWEPT_FLAGS, fisher_rao_method="fisher_rao_methods")
# The flags a training run takes, as --help of this script shows them.
flags.adopt_module_key_flags(synthetic_classification)

_NORMS = flags.DEFINE_list(
    "regularization_norms",
    [NO_REGULARIZATION, "fr", "fre"],
    "Comma-separated values of --regularization_norm to sweep.",
)
_LAMBDAS = flags.DEFINE_list(
    "fisher_rao_lambdas",
    ["0", "1e-3", "1e-2", "1e-1", "1"],
    "Comma-separated values of --fisher_rao_lambda (finite, >= 0) to sweep "
    "for the regularized norms.",
)
_SEEDS = flags.DEFINE_list(
    "random_seeds",
    ["1", "2", "3", "4", "5"],
    "Comma-separated values of --random_seed (integers) to sweep.",
)
_METHODS = flags.DEFINE_list(
    "fisher_rao_methods",
    ["forward"],
    "Comma-separated values of --fisher_rao_method to sweep for the "
    "regularized norms.",
)
_WORKERS = flags.DEFINE_integer(
    "workers",
    os.cpu_count(),
    "Worker processes of the embedded local cluster (one thread each); "
    "ignored with --scheduler_address.",
    lower_bound=1,
)
_SCHEDULER_ADDRESS = flags.DEFINE_string(
    "scheduler_address",
    "",
    "Address of a running Dask scheduler, e.g. tcp://host:8786; empty runs "
    "an embedded local cluster of --workers processes.",
)
_GRID = flags.DEFINE_multi_string(
    "grid",
    [],
    "FLAG=V1,V2,...: sweep the training flag FLAG over these values "
    "(repeatable; crossed with every other axis), e.g. "
    "--grid=label_noise=0,0.5,1 --grid=dataset=digits.",
)
_PRINT_COMMANDS = flags.DEFINE_bool(
    "print_commands",
    False,
    "Print the synthetic_classification.py command of every configuration "
    "still to run, one per line, and exit without running anything.",
)


def _register_list_validator(flag, config_key, convert, kind):
    """Refuses an empty list, repeated values, and values the training refuses.

    Each value is checked by `synthetic_classification.validate_config` as
    the value of `config_key`, so the sweep allows exactly what the training
    script allows.

    Args:
      flag: A list flag's holder.
      config_key: The configuration key its values are for.
      convert: Turns one list item into the configuration's value.
      kind: What `convert` expects, for the error message ("a number").
    """

    def is_valid(items):
        if not items:
            raise flags.ValidationError("is empty; give at least one value.")
        values = []
        for item in items:
            try:
                values.append(convert(item))
            except ValueError:
                raise flags.ValidationError(
                    f"{item!r} is not {kind}."
                ) from None
            config = dict(
                synthetic_classification.default_config(),
                **{config_key: values[-1]},
            )
            try:
                synthetic_classification.validate_config(config)
            except ValueError as error:
                raise flags.ValidationError(str(error)) from None
        repeated = sorted(
            {value for value in values if values.count(value) > 1}
        )
        if repeated:
            raise flags.ValidationError(f"lists {repeated} more than once.")
        return True

    flags.register_validator(flag, is_valid)


_register_list_validator(_NORMS, "regularization_norm", str, "a norm")
_register_list_validator(_LAMBDAS, "fisher_rao_lambda", float, "a number")
_register_list_validator(_SEEDS, "random_seed", int, "an integer")
_register_list_validator(_METHODS, "fisher_rao_method", str, "a method")


def grid_configs(base_config, norms, lambdas, methods, seeds, axes=()):
    """Returns the configurations of a sweep, seed by seed.

    Args:
      base_config: Configuration every run starts from (every key of
        `synthetic_classification.default_config()`).
      norms: Values of regularization_norm.
      lambdas: Values of fisher_rao_lambda, for the regularized norms.
      methods: Values of fisher_rao_method, for the regularized norms.
      seeds: Values of random_seed.
      axes: `(flag, values)` pairs of further axes, crossed with the rest.

    Returns:
      A list of resolved configuration dictionaries, each computing
      something different. Norm `None` has one per seed and setting of
      `axes`, with lambda 0 and the method of `base_config`.
    """
    configs, fingerprints = [], set()
    settings = [
        dict(zip([flag for flag, _ in axes], values, strict=True))
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
            config = synthetic_classification.resolve_config(
                dict(
                    base_config,
                    regularization_norm=norm,
                    fisher_rao_lambda=fisher_rao_lambda,
                    fisher_rao_method=method,
                    random_seed=int(seed),
                    **setting,
                )
            )
            fingerprint = synthetic_classification.config_fingerprint(config)
            if fingerprint not in fingerprints:
                fingerprints.add(fingerprint)
                configs.append(config)
    return configs


def parse_grid_axes(items):
    """Parses --grid items into `(flag, values)` axes.

    Args:
      items: Strings "FLAG=V1,V2,...".

    Returns:
      A list of `(flag, [value, ...])`, values parsed as the training flag
      parses them.

    Raises:
      ValueError: One line naming an unknown flag, a repeated flag or value,
        or a value the training script refuses.
    """
    axes = []
    for item in items:
        flag, separator, text = item.partition("=")
        if not separator or not text:
            raise ValueError(f"--grid={item} must be FLAG=V1,V2,...")
        if flag not in synthetic_classification.CONFIG_KEYS or (
            flag in OUTPUT_KEYS
        ):
            allowed = [
                key
                for key in synthetic_classification.CONFIG_KEYS
                if key not in OUTPUT_KEYS
            ]
            raise ValueError(
                f"--grid={item}: {flag!r} is not a training "
                f"flag; one of {', '.join(allowed)}."
            )
        if flag in [axis for axis, _ in axes]:
            raise ValueError(f"--grid names {flag} more than once.")
        axes.append((flag, _parse_grid_values(flag, text.split(","))))
    return axes


def _parse_grid_values(flag, texts):
    values = []
    for text in texts:
        try:
            value = flags.FLAGS[flag].parser.parse(text)
        except ValueError as error:
            raise ValueError(
                f"--grid={flag}: {text!r} is not allowed: {error}"
            ) from None
        config = dict(
            synthetic_classification.default_config(), **{flag: value}
        )
        try:
            synthetic_classification.validate_config(config)
        except ValueError as error:
            raise ValueError(f"--grid={flag}: {error}") from None
        if value in values:
            raise ValueError(f"--grid={flag} lists {text} more than once.")
        values.append(value)
    return values


def finished_results(output_dir):
    """Returns `(path, hparams)` of every complete results file in
    `output_dir`.

    Files that are not strict results files, or stop before the last step,
    are logged and left out.
    """
    finished = []
    for path in sorted(glob.glob(os.path.join(output_dir, "*.json"))):
        try:
            results = results_io.load_results(path)
        except (OSError, ValueError) as error:
            logging.warning(
                "Ignoring %s, not a readable results file: %s", path, error
            )
            continue
        if results_io.is_complete(results):
            finished.append((path, results["hparams"]))
        else:
            logging.warning(
                "Ignoring %s: it stops at step %s of %s.",
                path,
                results["steps"][-1] if results["steps"] else None,
                results["hparams"].get("train_steps"),
            )
    return finished


def pending_configs(configs, output_dir):
    """Returns the configurations without a finished results file.

    Args:
      configs: Resolved run configurations.
      output_dir: Directory of the results files.

    Returns:
      The configurations of `configs`, in order, that no complete results file
      in `output_dir` matches (`results_io.hparams_match`).
    """
    finished = [hparams for _, hparams in finished_results(output_dir)]
    return [
        config
        for config in configs
        if not any(
            results_io.hparams_match(config, hparams) for hparams in finished
        )
    ]


def make_run_task(repository_root):
    """Returns the Dask task that trains one configuration and saves it.

    The task is a local function, so it is pickled by value (cloudpickle) and
    imports the training script only when it runs, from `repository_root`:
    neither the scheduler nor the workers need the repository on their
    PYTHONPATH, only to see it at the same path. It must not import this
    module, whose flags a worker of the embedded cluster already defined as
    `__mp_main__`.

    Args:
      repository_root: Directory of synthetic_classification.py.

    Returns:
      A function of a complete run configuration that returns the path of its
      results file in config["output_dir"] and whether it ran it (False: a
      concurrent sweep had finished it), or raises RuntimeError if the
      training failed, with the original error's type, message and traceback
      (a builtin type, so the scheduler and client unpickle it without
      importing anything). The partial results of a diverged run are saved
      under config["output_dir"]/diverged/, out of the resuming scan.
    """

    def run_configuration(config):
        if repository_root not in sys.path:
            sys.path.insert(0, repository_root)
        import results_io as io

        import synthetic_classification as training

        output_dir = config["output_dir"]
        with io.exclusive_lock(
            output_dir, training.config_fingerprint(config)
        ):
            finished = training.find_complete_results(output_dir, config)
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
                    f"{type(error).__name__}: {error}\n"
                    f"{traceback.format_exc()}"
                ) from None
            return training.save_run(run, output_dir), True

    return run_configuration


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
    except Exception as cancelled:  # pylint: disable=broad-except
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
    task = make_run_task(_REPOSITORY_ROOT)
    futures = {
        client.submit(task, config, pure=False): config for config in configs
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
    # The workers report through this process; a worker's own warnings are
    # about shutting down (cancelled runs) or the event loop, not the runs.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
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


def sweep_configs_from_flags():
    """Returns the sweep's configurations from the flags.

    The output and summary directories are made absolute.

    Raises:
      app.UsageError: If a configuration is invalid, naming what is wrong,
        or a flag the grid sets is given (the grid would override it).
    """
    try:
        axes = parse_grid_axes(_GRID.value)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    _check_no_flag_given_twice(axes)
    base_config = synthetic_classification.config_from_flags()
    # Relative to this process's directory: a worker would resolve a
    # relative path against its own, where the resuming scan never looks.
    for key in OUTPUT_KEYS:
        if base_config[key]:
            base_config[key] = os.path.abspath(base_config[key])
    lists = {
        flag: flags.FLAGS[plural].value for flag, plural in LIST_FLAGS.items()
    }
    lists.update({flag: values for flag, values in axes if flag in lists})
    configs = grid_configs(
        base_config,
        lists["regularization_norm"],
        lists["fisher_rao_lambda"],
        lists["fisher_rao_method"],
        lists["random_seed"],
        [(flag, values) for flag, values in axes if flag not in lists],
    )
    for config in configs:
        try:
            synthetic_classification.validate_config(config)
        except ValueError as error:
            raise app.UsageError(str(error)) from None
    return configs


def _check_no_flag_given_twice(axes):
    for flag, plural in SWEPT_FLAGS.items():
        if flags.FLAGS[flag].present:
            raise app.UsageError(
                f"--{flag} is set by the grid; give its "
                f"values with --{plural} or --grid."
            )
    for flag, _ in axes:
        if flags.FLAGS[flag].present:
            raise app.UsageError(
                f"--{flag} is given and swept by --grid; give its values once."
            )
        plural = LIST_FLAGS.get(flag)
        if plural and flags.FLAGS[plural].present:
            raise app.UsageError(
                f"--{plural} and --grid={flag}=... both "
                f"give values of {flag}; give them once."
            )


def _log_failures(failures):
    for failure in failures:
        logging.error(
            "FAILED %s\n  %s",
            failure.error,
            synthetic_classification.command_for_config(failure.config),
        )


def check_output_directories(config):
    """Creates the sweep's output directories and proves them writable.

    Raises:
      results_io.UnwritableDirectoryError: Naming the flag, path and reason.
    """
    synthetic_classification.check_output_directories(config)
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
    pending = pending_configs(configs, output_dir)
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
        pending_configs(configs, configs[0]["output_dir"])
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    configs = sweep_configs_from_flags()
    if _PRINT_COMMANDS.value:
        for config in pending_configs(configs, configs[0]["output_dir"]):
            print(synthetic_classification.command_for_config(config))
        return 0
    try:
        outcome = run_sweep(configs, _SCHEDULER_ADDRESS.value, _WORKERS.value)
    except results_io.UnwritableDirectoryError as error:
        sys.exit(f"sweep.py: error: {error}")
    except SweepInterrupted:
        logging.set_verbosity(logging.ERROR)
        print(
            f"interrupted: {count_finished(configs)} of {len(configs)} "
            f"runs finished; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    app.run(main)
