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
"""The benchmark's harness: interleaved timing, and rows judged on targets.

The configurations of a group are timed in interleaved rounds (each round
times every configuration once, in turn) after one warm-up round, so that a
slow spell of a shared machine hits them all alike. A group reports medians
over rounds: of each configuration's time, and of each round's ratio of two
times.
"""

import dataclasses
import statistics
import time
from collections.abc import Callable

from absl import logging


@dataclasses.dataclass
class Row:
    """One line of the results table.

    Attributes:
      name: Unique, '/'-separated identifier, e.g. 'train_step/mnist/fr/exact'.
      configuration: What was measured, in words.
      seconds: Median seconds per step or evaluation; None for accuracy rows.
      ratio: The row's figure of merit (slowdown, speedup or relative error,
        as `configuration` says); 1.0 for a baseline.
      target: E.g. '<= 1.9' or '>= 10', or None.
      met: Whether `ratio` meets `target`; None without target or judging.
    """

    name: str
    configuration: str
    seconds: float | None
    ratio: float
    target: str | None = None
    met: bool | None = None


def meets_target(ratio, target):
    """Whether `ratio` satisfies `target` ('<= x' or '>= x').

    Raises:
      ValueError: If `target` is not of that form.
    """
    operator, _, bound = target.partition(" ")
    if operator == "<=":
        return ratio <= float(bound)
    if operator == ">=":
        return ratio >= float(bound)
    raise ValueError(f"A target must be '<= x' or '>= x'; got {target!r}.")


def make_row(name, configuration, seconds, ratio, target=None, judge=True):
    """A Row whose `met` is judged when there is a target and `judge`."""
    met = meets_target(ratio, target) if target and judge else None
    return Row(name, configuration, seconds, ratio, target, met)


@dataclasses.dataclass
class Timed:
    """A configuration to time: `run()` does one measurement's work."""

    label: str
    run: Callable[[], object]


def time_interleaved(group, configurations, repeats):
    """Times configurations in interleaved rounds, after a warm-up round.

    Args:
      group: Name of the group, for the progress log.
      configurations: List of `Timed`.
      repeats: Number of timed rounds.

    Returns:
      Dict label -> list of the measurements' wall-clock seconds (one per
      round).
    """
    for configuration in configurations:
        logging.info("%s: warming up %s", group, configuration.label)
        configuration.run()
    seconds = {configuration.label: [] for configuration in configurations}
    total = repeats * len(configurations)
    start = time.perf_counter()
    for round_index in range(repeats):
        for configuration in configurations:
            begin = time.perf_counter()
            configuration.run()
            seconds[configuration.label].append(time.perf_counter() - begin)
            done = sum(len(values) for values in seconds.values())
            left = (time.perf_counter() - start) / done * (total - done)
            logging.info(
                "%s: round %d/%d, %s: %.3g s; about %.0f s left in this group",
                group,
                round_index + 1,
                repeats,
                configuration.label,
                seconds[configuration.label][-1],
                left,
            )
    return seconds


def per_unit(measurements, units):
    """Seconds per step (or evaluation) of each measurement."""
    return [seconds / units for seconds in measurements]


def median_ratio(numerators, denominators):
    """Median over rounds of the ratio of two configurations' times.

    Each ratio compares measurements of the same round, so a slow spell of
    a shared machine that spans a round cancels out.
    """
    return statistics.median(
        numerator / denominator
        for numerator, denominator in zip(
            numerators, denominators, strict=True
        )
    )
