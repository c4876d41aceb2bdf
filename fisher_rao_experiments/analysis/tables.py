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
"""The plain-text table of final values that every plot prints.

One row per group: the number of runs, the last recorded step and each
final value as the mean ± the sample standard deviation over the group's
runs. A group of one run shows its value alone: the spread of a single run
is undefined, and "± 0.0000" would claim it is zero.
"""

from fisher_rao_experiments.analysis import quantities, run_statistics

TITLE = (
    "Final values (mean ± sample std over runs; a single run's value alone):"
)


def format_summary_table(groups, keys=quantities.SUMMARY_KEYS):
    """A plain-text table of final values, one row per group.

    Args:
      groups: List of `grouping.RunGroup`.
      keys: Final values to show beyond `quantities.SUMMARY_KEYS`, which are
        always shown (train and test loss and accuracy, the generalization
        gap).

    Returns:
      The table: group, number of runs, last recorded step (a range when the
      runs stopped at different steps) and each final value as mean ±
      sample std over the group's runs, or the value alone for one run.
    """
    columns = tuple(dict.fromkeys(quantities.SUMMARY_KEYS + tuple(keys)))
    header = ["group", "runs", "step"] + [column_name(key) for key in columns]
    rows = []
    for group in groups:
        statistics = run_statistics.final_statistics(group, columns)
        rows.append(
            [group.label, str(len(group.runs)), _last_step_text(group)]
            + [
                format_cell(*statistics[key], len(group.runs))
                for key in columns
            ]
        )
    widths = [
        max(len(row[column]) for row in [header] + rows)
        for column in range(len(header))
    ]

    def format_row(cells):
        return "  ".join(
            cell.ljust(width)
            for cell, width in zip(cells, widths, strict=True)
        ).rstrip()

    rule = ["-" * width for width in widths]
    return "\n".join(format_row(cells) for cells in [header, rule] + rows)


def format_cell(mean, std, num_runs):
    """ "0.1234 ± 0.0056"; "0.1234" for a single run (no spread)."""
    if num_runs == 1:
        return f"{mean:.4f}"
    return f"{mean:.4f} ± {std:.4f}"


def column_name(key):
    """The column title of a final value."""
    if key == quantities.GAP_KEY:
        return "gap (train-test acc)"
    return key.replace("_", " ")


def _last_step_text(group):
    last_steps = sorted(
        {results["steps"][-1] for results in group.data if results["steps"]}
    )
    if not last_steps:
        return "-"
    if len(last_steps) == 1:
        return f"{last_steps[0]:.0f}"
    return f"{last_steps[0]:.0f}-{last_steps[-1]:.0f}"
