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
"""Runs a study's grid on experiments/sweep.py; started by study_runs.

Reads one JSON object on stdin:

  {"grid_points": [{config key: value, ...}, ...], "output_dir": "/abs",
   "scheduler_address": "" or "tcp://host:port", "workers": 2}

completes every grid point with the training script's defaults (keys left
None take the dataset's default, by `resolve_config`), checks the
configurations and calls `sweep.run_sweep`, which trains those without a
complete results file in output_dir.

A process of its own: the training script and the sweep define absl flags
that a study's own flags would clash with, and import TensorFlow.

Exit status: 0 when every pending run finished; 3 when some failed (the
sweep logged each with its command); 1 with one line on stderr when the grid
is refused.
"""

import json
import os
import sys

# Run as a script, this file sees only experiments/ on sys.path.
_REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPOSITORY_ROOT not in sys.path:
    sys.path.insert(0, _REPOSITORY_ROOT)

SOME_RUNS_FAILED_STATUS = 3


def complete_config(point, output_dir, training):
    """A grid point as a full run configuration of the training script.

    Args:
      point: Configuration keys the study sets.
      output_dir: Absolute directory of the results files.
      training: The synthetic_classification module.

    Returns:
      A new dict with every key of `training.default_config()`.

    Raises:
      ValueError: If `point` names an unknown key, or the configuration is
        invalid (the training script's message).
    """
    defaults = training.default_config()
    unknown = sorted(set(point) - set(defaults))
    if unknown:
        raise ValueError(f"unknown configuration keys {unknown}")
    config = dict(defaults, **point)
    config.update(output_dir=output_dir, summary_dir=None)
    config = training.resolve_config(config)
    training.validate_config(config)
    return config


def main():
    request = json.load(sys.stdin)
    # Imported here: a worker of the local cluster imports this file as
    # __mp_main__ and needs neither.
    from absl import flags, logging

    import synthetic_classification
    from experiments import sweep

    # Nothing parses a command line here: the flags' defaults are all that
    # is read. The sweep's progress is logged at INFO, as by its own script.
    flags.FLAGS.mark_as_parsed()
    logging.use_absl_handler()
    logging.set_verbosity(logging.INFO)
    try:
        configs = [
            complete_config(
                point, request["output_dir"], synthetic_classification
            )
            for point in request["grid_points"]
        ]
    except ValueError as error:
        sys.exit(f"grid_runner.py: error: {error}")
    if not configs:
        return 0
    outcome = sweep.run_sweep(
        configs, request["scheduler_address"], request["workers"]
    )
    return SOME_RUNS_FAILED_STATUS if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
