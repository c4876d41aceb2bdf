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
"""Statistics over the runs of a group: means, spreads, final values."""

import math

import numpy as np

from fisher_rao_experiments.analysis import quantities


def compute_statistics(data, variable):
    """Mean and standard deviation over runs of one recorded quantity.

    Args:
      data: List of results dictionaries with equally long `variable`.
      variable: A trajectory key such as "train_loss", "test_accuracy" or
        "regularizer_loss".

    Returns:
      `(mean, std)`: float arrays with one entry per recorded point; `std` is
      the sample standard deviation (ddof=1), zeros for a single run. A null
      (diverged) value makes that point NaN.

    Raises:
      ValueError: If `data` is empty or the runs' trajectories differ in
        length.
    """
    if not data:
        raise ValueError(f"No runs to compute statistics of '{variable}' on.")
    trajectories = [np.asarray(run[variable], dtype=float) for run in data]
    lengths = sorted({len(trajectory) for trajectory in trajectories})
    if len(lengths) > 1:
        raise ValueError(
            f"The runs' '{variable}' trajectories differ in length {lengths}; "
            "only runs with the same recorded steps can be averaged."
        )
    stacked = np.stack(trajectories)
    mean = stacked.mean(axis=0)
    if len(data) == 1:
        return mean, np.zeros_like(mean)
    return mean, stacked.std(axis=0, ddof=1)


def band(mean, std, key=None):
    """The band mean ± 2 std, clipped to the values `key` can take.

    Args:
      mean: Means (array-like).
      std: Standard deviations, like `mean`.
      key: The quantity's name; see `quantities.VALUE_RANGES` (others are
        unbounded).

    Returns:
      `(lower, upper)` float arrays; NaN where `mean` or `std` is.
    """
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    lowest, highest = quantities.VALUE_RANGES.get(key, (-math.inf, math.inf))
    return (
        np.clip(mean - 2 * std, lowest, highest),
        np.clip(mean + 2 * std, lowest, highest),
    )


def final_value(results, key):
    """A run's value of `key` at its last evaluation.

    Args:
      results: A results dictionary.
      key: A key of `quantities.FINAL_KEYS` ("generalization_gap" is the
        train accuracy minus the test accuracy).

    Returns:
      The value as a float; NaN if the run has no evaluation, or the value
      is null or not recorded (a file of an earlier version).
    """
    if not results["steps"]:
        return math.nan
    if key == quantities.GAP_KEY:
        return final_value(results, "train_accuracy") - final_value(
            results, "test_accuracy"
        )
    value = results[key][-1] if key in results else None
    return math.nan if value is None else float(value)


def final_statistics(group, keys=quantities.FINAL_KEYS):
    """Mean and std over the group's runs of their final values.

    Each run counts with its last evaluation, so runs of different lengths
    (stopped by `stop_train_loss`) can be averaged.

    Args:
      group: A `grouping.RunGroup`.
      keys: Keys of `quantities.FINAL_KEYS`.

    Returns:
      Dictionary from each key to `(mean, std)` floats (sample std, 0 for a
      single run); NaN when a run has no evaluation or a null final value.
    """
    statistics = {}
    for key in keys:
        finals = [{key: [final_value(results, key)]} for results in group.data]
        mean, std = compute_statistics(finals, key)
        statistics[key] = (float(mean[0]), float(std[0]))
    return statistics
