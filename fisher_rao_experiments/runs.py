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
"""Finding earlier runs of a configuration, and naming new ones.

A run's results file records its configuration as "hparams". A configuration
and recorded hparams are the same run when every key that decides a run
(`config.compared_keys`) is equal (`hparams_match`); `config_fingerprint`
condenses those keys into 8 hex digits that go into the results file's name
(`results_file_stem`), so a run's files are found without reading every
file of a directory (`find_complete_results`). The sweep skips the
configurations that already have a complete results file
(`pending_configs`), and prints the command line of the others
(`command_for_config`).

Nothing here imports TensorFlow.
"""

import datetime
import glob
import hashlib
import json
import math
import numbers
import os
import shlex

import numpy as np
from absl import logging

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import results_io


def hparams_match(config, hparams):
    """Tells whether a run's recorded `hparams` are those of `config`.

    Args:
      config: A configuration, or the part of one a study sets.
      hparams: The "hparams" of a results file.

    Returns:
      True if every key of `config.compared_keys(config)` is in `hparams`
      with the same value (numbers compared with a relative tolerance of
      1e-9; a bool never equals a number). A key of
      `config.EARLIER_VALUES` missing from `hparams` (a file of an earlier
      version) has its earlier value.
    """
    earlier = experiment_config.EARLIER_VALUES
    return all(
        (key in hparams or key in earlier)
        and _same_value(config[key], hparams.get(key, earlier.get(key)))
        for key in experiment_config.compared_keys(config)
    )


def _same_value(first, second):
    # bool is an int in Python: True must not match 1.
    if isinstance(first, bool) or isinstance(second, bool):
        return type(first) is type(second) and first == second
    numbers = (int, float)
    if isinstance(first, numbers) and isinstance(second, numbers):
        return math.isclose(first, second, rel_tol=1e-9, abs_tol=1e-12)
    return first == second


def config_fingerprint(config):
    """8 hex digits identifying what a resolved configuration computes.

    Equal for configurations with equal `config.hyperparameter_keys` values
    (numbers compared as floats), whatever their output directories. Keys
    at their `config.EARLIER_VALUES` are left out, so a configuration of an
    earlier version keeps its fingerprint.
    """

    def canonical(value):
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return repr(float(value))
        return value

    earlier = experiment_config.EARLIER_VALUES
    keys = [
        key
        for key in experiment_config.hyperparameter_keys(config)
        if not (key in earlier and _same_value(config[key], earlier[key]))
    ]
    text = json.dumps(
        {key: canonical(config[key]) for key in keys}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def results_file_stem(hparams):
    """The name of a run's files (no extension).

    The start time, the main hyper-parameters and the configuration's
    fingerprint (which tells every other apart), e.g.
    `20260102-030405_synthetic_fr_lambda0_forward_noise0_seed1_1f55350a`;
    a `cnn` has `_cnn` after the data set.
    """
    start = datetime.datetime.fromisoformat(hparams["start_time"])
    architecture = hparams.get("architecture", "mlp")
    return "_".join(
        [
            start.strftime("%Y%m%d-%H%M%S"),
            hparams["dataset"],
            *([architecture] if architecture != "mlp" else []),
            hparams["regularization_norm"],
            f"lambda{hparams['fisher_rao_lambda']:g}",
            hparams["fisher_rao_method"],
            f"noise{hparams['label_noise']:g}",
            f"seed{hparams['random_seed']}",
            config_fingerprint(hparams),
        ]
    )


def find_complete_results(output_dir, config):
    """The path of a complete results file of `config` in `output_dir`.

    Looks only at the files named with the configuration's fingerprint
    (see `results_file_stem`).

    Returns:
      The path, or None if there is none.
    """
    pattern = os.path.join(
        glob.escape(output_dir), f"*_{config_fingerprint(config)}*.json"
    )
    for path in sorted(glob.glob(pattern)):
        try:
            results = results_io.load_results(path)
        except (OSError, ValueError):
            continue
        if results_io.is_complete(results) and hparams_match(
            config, results["hparams"]
        ):
            return path
    return None


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
      The configurations of `configs`, in order, that no complete results
      file in `output_dir` matches (`hparams_match`).
    """
    finished = [hparams for _, hparams in finished_results(output_dir)]
    return [
        config
        for config in configs
        if not any(hparams_match(config, hparams) for hparams in finished)
    ]


def command_for_config(config):
    """Returns the command line that reproduces `config` (every flag given).

    Args:
      config: Dictionary with the keys of `config.CONFIG_KEYS`.

    Returns:
      `python3 synthetic_classification.py --key=value ...`, shell-quoted,
      to run from the repository's root.
    """
    arguments = ["python3", "synthetic_classification.py"]
    for key in experiment_config.CONFIG_KEYS:
        value = config[key]
        if value is None:
            continue  # The flag's default: unset.
        if isinstance(value, (bool, np.bool_)):
            text = "true" if value else "false"
        elif isinstance(value, float):
            text = repr(value)  # Round-trips exactly.
        else:
            text = str(value)
        arguments.append(f"--{key}={text}")
    return shlex.join(arguments)
