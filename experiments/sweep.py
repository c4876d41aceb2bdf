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
synthetic_classification.py is accepted and applies to all runs. Each run is
a Dask task that trains one configuration and writes its results file and
checkpoint to --output_dir exactly as the training script does; a
configuration with a complete results file there is skipped, so the same
command resumes an interrupted sweep. See `fisher_rao_experiments.sweep`
and docs/sweeps.md.

On an existing cluster (--scheduler_address), the workers need this project
installed (`pip install -e .[experiments]`) and must see --output_dir at the
same path as this process (a shared file system).

Examples:
  python3 experiments/sweep.py --train_size=300 --train_steps=3001
  python3 experiments/sweep.py --dataset=digits --regularization_norms=None \
      --grid=label_noise=0,0.5,1 --grid=layer_width=32,128
  python3 experiments/sweep.py --scheduler_address=tcp://127.0.0.1:8786
  python3 experiments/sweep.py --print_commands > commands.txt
"""

import os
import sys

from absl import app, flags, logging

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import results_io, runs, sweep, training_flags

FLAGS = flags.FLAGS
# Training flags the grid sets, and the sweep's flags that list their values.
SWEPT_FLAGS = {
    "regularization_norm": "regularization_norms",
    "fisher_rao_lambda": "fisher_rao_lambdas",
    "random_seed": "random_seeds",
}
# Training flags with a list flag of their own (also the method's).
LIST_FLAGS = dict(SWEPT_FLAGS, fisher_rao_method="fisher_rao_methods")

# The flags a training run takes, as --help of this script shows them.
training_flags.define_flags(FLAGS)
flags.adopt_module_key_flags(training_flags)

_NORMS = flags.DEFINE_list(
    "regularization_norms",
    list(experiment_config.NORMS),
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

    Each value is checked by `config.check_value` as the value of
    `config_key`, so the sweep allows exactly what the training script
    allows (every configuration of the grid is checked whole later).
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
            _check_value(config_key, values[-1], flags.ValidationError)
        repeated = sorted(
            {value for value in values if values.count(value) > 1}
        )
        if repeated:
            raise flags.ValidationError(f"lists {repeated} more than once.")
        return True

    flags.register_validator(flag, is_valid)


def _check_value(key, value, error_type, prefix=""):
    """Raises `error_type` if the training refuses `value` for `key`.

    The value alone, by its own rule: whether it fits the other keys (a
    CNN's data set, sizes) is checked on every configuration of the grid.
    """
    try:
        experiment_config.check_value(key, value)
    except ValueError as error:
        raise error_type(f"{prefix}{error}") from None


_register_list_validator(_NORMS, "regularization_norm", str, "a norm")
_register_list_validator(_LAMBDAS, "fisher_rao_lambda", float, "a number")
_register_list_validator(_SEEDS, "random_seed", int, "an integer")
_register_list_validator(_METHODS, "fisher_rao_method", str, "a method")


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
    allowed = [
        key
        for key in experiment_config.CONFIG_KEYS
        if key not in results_io.OUTPUT_KEYS
    ]
    axes = []
    for item in items:
        flag, separator, text = item.partition("=")
        if not separator or not text:
            raise ValueError(f"--grid={item} must be FLAG=V1,V2,...")
        if flag not in allowed:
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
            value = FLAGS[flag].parser.parse(text)
        except ValueError as error:
            raise ValueError(
                f"--grid={flag}: {text!r} is not allowed: {error}"
            ) from None
        _check_value(flag, value, ValueError, prefix=f"--grid={flag}: ")
        if value in values:
            raise ValueError(f"--grid={flag} lists {text} more than once.")
        values.append(value)
    return values


def sweep_configs_from_flags():
    """Returns the sweep's configurations from the flags.

    The output and summary directories are made absolute: a worker would
    resolve a relative path against its own directory, where the resuming
    scan never looks.

    Raises:
      app.UsageError: If a configuration is invalid, naming what is wrong,
        or a flag the grid sets is given (the grid would override it).
    """
    try:
        axes = parse_grid_axes(_GRID.value)
    except ValueError as error:
        raise app.UsageError(str(error)) from None
    _check_no_flag_given_twice(axes)
    base_config = training_flags.config_from_flags(FLAGS)
    for key in results_io.OUTPUT_KEYS:
        if base_config[key]:
            base_config[key] = os.path.abspath(base_config[key])
    lists = {flag: FLAGS[plural].value for flag, plural in LIST_FLAGS.items()}
    lists.update({flag: values for flag, values in axes if flag in lists})
    configs = sweep.grid_configs(
        base_config,
        lists["regularization_norm"],
        lists["fisher_rao_lambda"],
        lists["fisher_rao_method"],
        lists["random_seed"],
        [(flag, values) for flag, values in axes if flag not in lists],
    )
    for config in configs:
        try:
            experiment_config.validate_config(config)
        except ValueError as error:
            raise app.UsageError(str(error)) from None
    return configs


def _check_no_flag_given_twice(axes):
    for flag, plural in SWEPT_FLAGS.items():
        if FLAGS[flag].present:
            raise app.UsageError(
                f"--{flag} is set by the grid; give its "
                f"values with --{plural} or --grid."
            )
    for flag, _ in axes:
        if FLAGS[flag].present:
            raise app.UsageError(
                f"--{flag} is given and swept by --grid; give its values once."
            )
        plural = LIST_FLAGS.get(flag)
        if plural and FLAGS[plural].present:
            raise app.UsageError(
                f"--{plural} and --grid={flag}=... both "
                f"give values of {flag}; give them once."
            )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    configs = sweep_configs_from_flags()
    if _PRINT_COMMANDS.value:
        output_dir = configs[0]["output_dir"]
        for config in runs.pending_configs(configs, output_dir):
            print(runs.command_for_config(config))
        return 0
    try:
        outcome = sweep.run_sweep(
            configs, _SCHEDULER_ADDRESS.value, _WORKERS.value
        )
    except results_io.UnwritableDirectoryError as error:
        sys.exit(f"sweep.py: error: {error}")
    except sweep.SweepInterrupted:
        logging.set_verbosity(logging.ERROR)
        print(
            f"interrupted: {sweep.count_finished(configs)} of {len(configs)} "
            f"runs finished; run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    app.run(main)
