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
"""docs/report.md's v3 numbers are its study's outputs.

The outputs of the complete v3 runs are copied into docs/regularizer_v3/
<setting>/. Each setting's "every arm against None" table in the report
must be the "At a glance" table of that setting's tables.md, and that
table's differences must be the comparisons of the copied summary.json, so
a number edited by hand in either place fails here.
"""

import pathlib

import helpers
import pytest

from fisher_rao_experiments.studies import regularizer_report as report

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
# Each setting's section of docs/report.md, by its heading's opening words.
SECTIONS = {
    "mnist1d": "## v3 secondary results: MNIST-1D CNN",
    "digits": "## v3 digits setting (the second)",
}


def report_section(setting):
    """The lines of docs/report.md from the setting's heading to the next
    heading of the same level."""
    lines = (DOCS / "report.md").read_text().splitlines()
    (start,) = [
        i for i, line in enumerate(lines) if line.startswith(SECTIONS[setting])
    ]
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("## ")
        ),
        len(lines),
    )
    return "\n".join(lines[start:end])


def outputs(setting):
    directory = DOCS / "regularizer_v3" / setting
    summary = helpers.read_strict_json(directory / report.SUMMARY_FILE)
    return summary, (directory / report.TABLES_FILE).read_text()


@pytest.mark.parametrize("setting", sorted(SECTIONS))
def test_the_report_table_is_the_glance_table_of_its_run(setting):
    summary, tables = outputs(setting)
    assert summary["setting"] == setting
    assert not summary["smoke"]
    assert summary["runs_left_out"] == []
    in_report = helpers.markdown_table_under(
        report_section(setting), "### Every arm against `None`"
    )
    assert in_report == helpers.markdown_table_under(
        tables, report.GLANCE_HEADING
    )


@pytest.mark.parametrize("setting", sorted(SECTIONS))
def test_the_glance_differences_are_the_summary_comparisons(setting):
    summary, tables = outputs(setting)
    header, rows = helpers.markdown_table_under(tables, report.GLANCE_HEADING)
    families = {f["name"]: f["comparisons"] for f in summary["families"]}
    compared = 0
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        if cells["arm"] == "None":
            continue
        (comparison,) = [
            c
            for c in families[cells["family"]]
            if c["treatment"] == cells["arm"]
            and c["control"] == "None"
            and c["metric"] == "test_accuracy"
            and f"{c['label_noise']:g}" == cells["label noise"]
        ]
        low, high = (100 * comparison["interval"][k] for k in ("low", "high"))
        assert cells["− None (points)"] == (
            f"{100 * comparison['mean_difference']:+.2f}"
        )
        assert cells["95% CI"] == f"[{low:+.2f}, {high:+.2f}]"
        compared += 1
    # Six regularized arms at each of the three noise levels.
    assert compared == 18
