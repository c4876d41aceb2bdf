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
"""Runs into groups, and groups into the lines of the final-value plots.

A group is the runs averaged into one curve or point: runs sharing the
values of the grouping hyper-parameters (a run lacking one counts as having
None). Runs whose trajectories cannot be averaged are kept apart, with a
note telling them apart and a warning naming the files.
"""

import collections
import dataclasses

import numpy as np
from absl import logging

from fisher_rao_experiments.analysis import loading

DEFAULT_GROUP_BY = ("regularization_norm", "fisher_rao_lambda")
# Hyper-parameters that tell runs of one setting apart without changing it.
NON_SETTING_HPARAMS = (
    "random_seed",
    "start_time",
    "output_dir",
    "summary_dir",
)
LAMBDA_HPARAM = "fisher_rao_lambda"
# The lines of the lambda plot are always told apart by these.
LAMBDA_LINE_HPARAMS = ("regularization_norm", "fisher_rao_method")
# Short names for legends; other hyper-parameters appear under their own.
_LABEL_NAMES = {
    "regularization_norm": "norm",
    "fisher_rao_lambda": "lambda",
    "fisher_rao_method": "method",
}


@dataclasses.dataclass
class RunGroup:
    """Runs averaged into one curve or point.

    Attributes:
      hparams: The grouping hyper-parameters (name -> value) the runs share.
      runs: The runs (from `group_runs`: all with identical recorded steps).
      note: Tells this group from others with the same `hparams` but
        different trajectories or train_steps ("" when there are none).
    """

    hparams: dict
    runs: list
    note: str = ""

    @property
    def data(self):
        """The runs' results dictionaries, as `compute_statistics` takes."""
        return [run.results for run in self.runs]

    @property
    def steps(self):
        return np.asarray(self.runs[0].results["steps"], dtype=float)

    @property
    def label(self):
        text = (
            ", ".join(
                f"{_LABEL_NAMES.get(name, name)}={format_value(value)}"
                for name, value in self.hparams.items()
            )
            or "all runs"
        )
        return f"{text} [{self.note}]" if self.note else text

    @property
    def legend(self):
        """The label and the number of runs: "norm=fr, lambda=0.1 (2 runs)"."""
        return f"{self.label} ({count(len(self.runs), 'run')})"


def count(number, noun):
    """ "1 run", "2 runs": `noun` pluralized as `number` requires."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def runs_per_group_text(groups, unit="group", where="legend"):
    """ "2 runs per group", or "1-3 runs per group, see legend"."""
    counts = sorted({len(group.runs) for group in groups})
    if len(counts) == 1:
        return f"{count(counts[0], 'run')} per {unit}"
    return f"{counts[0]}-{counts[-1]} runs per {unit}, see {where}"


def format_value(value):
    """A hyper-parameter's value as labels show it (floats by %g)."""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sort_key(values):
    """Sorts tuples of mixed values: numbers, then strings, then None."""
    return tuple(
        (2, "")
        if value is None
        else (0, value)
        if loading.is_number(value)
        else (1, str(value))
        for value in values
    )


def group_runs(runs, group_by):
    """Groups runs by hyper-parameters, and by trajectory shape within those.

    For trajectories: runs whose recorded steps differ (other `train_steps`
    or `eval_steps`, or stopped early by `stop_train_loss`) are never
    averaged: they form separate groups told apart by `note`, with a warning
    naming the files. A warning also names hyper-parameters (other than seed,
    start time and output directories) that differ inside a group.

    Args:
      runs: List of `Run`.
      group_by: Names of hparams whose values separate the groups; a run
        lacking one counts as having the value None.

    Returns:
      A list of `RunGroup`, sorted by hyper-parameter values.
    """
    return _group(
        runs,
        group_by,
        _trajectory_shape,
        _shape_note,
        "have different recorded steps",
    )


def group_final_runs(runs, group_by):
    """Groups runs by hyper-parameters, and by train_steps within those.

    For final values, each run counts with its last evaluation, so runs that
    stopped early (`stop_train_loss`, divergence) join their group; only runs
    meant to train for different numbers of steps are kept apart (with a
    note and a warning, as in `group_runs`).

    Args:
      runs: List of `Run`.
      group_by: Names of hparams whose values separate the groups.

    Returns:
      A list of `RunGroup`, sorted by hyper-parameter values.
    """
    return _group(
        runs,
        group_by,
        train_steps_key,
        train_steps_note,
        "have different train_steps",
    )


def _group(runs, group_by, split_key, describe, difference):
    """Groups by `group_by` values, then splits by `split_key(results)`."""
    by_hparams = {}
    for run in runs:
        key = tuple(run.results["hparams"].get(name) for name in group_by)
        by_hparams.setdefault(key, []).append(run)
    groups = []
    for key in sorted(by_hparams, key=sort_key):
        hparams = dict(zip(group_by, key, strict=True))
        groups.extend(
            _split(hparams, by_hparams[key], split_key, describe, difference)
        )
    for group in groups:
        _warn_about_mixed_hparams(group, group_by)
    return groups


def _split(hparams, runs, split_key, describe, difference):
    parts = {}
    for run in runs:
        parts.setdefault(split_key(run.results), []).append(run)
    if len(parts) == 1:
        return [RunGroup(hparams, runs)]
    groups = []
    for index, key in enumerate(sorted(parts)):
        note = describe(parts[key][0].results)
        if any(note == group.note for group in groups):
            note += f" #{index + 1}"
        groups.append(RunGroup(hparams, parts[key], note))
    logging.warning(
        "Runs with %s %s and are plotted separately: %s",
        RunGroup(hparams, runs).label,
        difference,
        "; ".join(
            f"[{group.note}] {', '.join(run.name for run in group.runs)}"
            for group in groups
        ),
    )
    return groups


def _trajectory_shape(results):
    return (tuple(results["steps"]), len(results.get("regularizer_loss", ())))


def _shape_note(results):
    steps = results["steps"]
    if not steps:
        return "no points"
    return f"{len(steps)} points to step {steps[-1]:.0f}"


def train_steps_key(results):
    """What keeps runs meant for different train_steps apart."""
    return sort_key((results["hparams"].get("train_steps"),))


def train_steps_note(results):
    """ "train_steps=1000": tells such runs apart in labels."""
    return f"train_steps={format_value(results['hparams'].get('train_steps'))}"


def _warn_about_mixed_hparams(group, group_by):
    ignored = set(group_by) | set(NON_SETTING_HPARAMS)
    mixed = {}
    for run in group.runs:
        for name, value in run.results["hparams"].items():
            if name not in ignored:
                mixed.setdefault(name, set()).add(format_value(value))
    mixed = {name: values for name, values in mixed.items() if len(values) > 1}
    if mixed:
        logging.warning(
            "Group %s averages runs that differ in %s; add those names to "
            "--group_by to separate them.",
            group.label,
            ", ".join(
                f"{name} ({'/'.join(sorted(values))})"
                for name, values in sorted(mixed.items())
            ),
        )


# --------------------------------------------------------------------------
# Final values against a swept hyper-parameter.


@dataclasses.dataclass
class FinalLine:
    """The groups of one line (same hparams but the x one), by x value."""

    label: str
    groups_by_x: dict


def final_value_groups(runs, x_hparam, line_hparams):
    """Groups runs into the points of `plot_final_values`.

    Args:
      runs: List of `Run`.
      x_hparam: The hyper-parameter on the x axis.
      line_hparams: Hyper-parameters that separate lines (`x_hparam` among
        them is ignored).

    Returns:
      A list of `RunGroup`, one per (line hparams, x value) (see
      `group_final_runs`), as `plot_final_values` and the summary table take
      them.
    """
    line_hparams = tuple(
        dict.fromkeys(name for name in line_hparams if name != x_hparam)
    )
    return group_final_runs(runs, line_hparams + (x_hparam,))


def lambda_sweep_groups(runs, extra_line_hparams=()):
    """Groups runs by norm, method, any extra hparams, then lambda.

    Args:
      runs: List of `Run`, each recording a fisher_rao_lambda >= 0.
      extra_line_hparams: Further hparams that separate lines.

    Returns:
      A list of `RunGroup`, one per (line hparams, lambda), as
      `plot_lambda_sweep` and the summary table take them.

    Raises:
      ValueError: If a run records no fisher_rao_lambda >= 0 (naming the
        files).
    """
    bad = [
        run.name
        for run in runs
        if not _is_non_negative_number(
            run.results["hparams"].get(LAMBDA_HPARAM)
        )
    ]
    if bad:
        raise ValueError(
            f"{LAMBDA_HPARAM} is missing, not a number or negative in {bad}."
        )
    return final_value_groups(
        runs, LAMBDA_HPARAM, LAMBDA_LINE_HPARAMS + tuple(extra_line_hparams)
    )


def _is_non_negative_number(value):
    return loading.is_number(value) and value >= 0


def final_lines(groups, x_hparam):
    """Collects groups into lines: same hparams but x, same train_steps.

    Final values of runs meant to train for different numbers of steps are
    never joined into one line; such lines are told apart by a note.

    Args:
      groups: List of `RunGroup` from `final_value_groups`.
      x_hparam: The hyper-parameter on the x axis.

    Returns:
      A list of `FinalLine`, in the order of their first group.
    """
    by_line = {}
    for group in groups:
        line_hparams = tuple(
            (name, value)
            for name, value in group.hparams.items()
            if name != x_hparam
        )
        schedule = train_steps_key(group.runs[0].results)
        groups_by_x = by_line.setdefault((line_hparams, schedule), {})
        groups_by_x[group.hparams[x_hparam]] = group
    schedules = collections.Counter(hparams for hparams, _ in by_line)
    lines = []
    for (line_hparams, _), groups_by_x in by_line.items():
        note = ""
        if schedules[line_hparams] > 1:
            first_group = next(iter(groups_by_x.values()))
            note = train_steps_note(first_group.runs[0].results)
        label = RunGroup(_label_hparams(line_hparams), [], note).label
        lines.append(FinalLine(label, groups_by_x))
    return lines


def _label_hparams(line_hparams):
    """The line's hparams to show: the method means nothing without a norm."""
    hparams = dict(line_hparams)
    if hparams.get("regularization_norm") == "None":
        hparams.pop("fisher_rao_method", None)
    return hparams
