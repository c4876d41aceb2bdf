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
"""Tests of studies/regularizer_report.py: summary.json, tables.md and
`analyse` with and without figures, on the hand-made study of
tests/regularizer_runs.py."""

import helpers
import numpy as np
import pytest
import regularizer_runs as hand_made

from fisher_rao_experiments.studies import regularizer as study
from fisher_rao_experiments.studies import regularizer_report as report


def test_summary_is_strict_json_with_the_documented_keys(regularizer_analysed):
    _, output_dir = regularizer_analysed
    summary = helpers.read_strict_json(output_dir / "summary.json")
    assert summary["version"] == 3
    assert set(summary) >= {
        "primary_family",
        "choices",
        "families",
        "protocols",
        "grid",
        "runs_used",
        "runs_left_out",
        "last_step",
    }
    assert len(summary["primary_family"]) == 2
    assert len(summary["runs_used"]) == len(
        {
            name
            for entry in summary["choices"]
            for name in [s["run"] for s in entry["fresh_seeds"]]
        }
    ) + len(hand_made.SETTING.selection_points())
    for entry in summary["choices"]:
        for seed_entry in entry["fresh_seeds"]:
            assert set(study.READ_KEYS) <= set(seed_entry)
        # What the choice saw: every selection run's own best step.
        arm = hand_made.SETTING.arm(entry["arm"])
        runs = entry["selection_runs"]
        assert [(r["value"], r["seed"]) for r in runs] == [
            (value, seed)
            for value in arm.values
            for seed in hand_made.SELECTION
        ]
        for run in runs:
            validation = hand_made.curves_of(
                entry["label_noise"], arm.name, run["value"], run["seed"]
            )["validation_accuracy"]
            assert (
                run["best_step"] == hand_made.STEPS[int(np.argmax(validation))]
            )
            assert run["validation_accuracy"] == pytest.approx(max(validation))
            assert "test_accuracy" not in run


def test_tables_hold_every_family(regularizer_analysed):
    _, output_dir = regularizer_analysed
    tables = (output_dir / "tables.md").read_text()
    for name in (
        "primary",
        "accuracy vs None",
        "calibration vs None",
        "Fisher-Rao vs controls",
        "shared-step check",
    ):
        assert f"## Family: {name} (Holm within it)" in tables
    assert "## Without early stopping (exploratory" in tables


def test_without_figures_the_same_summary_and_no_figure(
    regularizer_analysed, tmp_path
):
    summary, output_dir = regularizer_analysed
    (tmp_path / "runs").symlink_to(output_dir / "runs")
    again = report.analyse(hand_made.SETTING, str(tmp_path), figures=False)
    assert again == summary
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "runs",
        "summary.json",
        "tables.md",
    ]


def table_of_tables_md(output_dir, heading):
    """(header, rows) of the table under `heading` in the study's tables.md."""
    return helpers.markdown_table_under(
        (output_dir / report.TABLES_FILE).read_text(), heading
    )


def test_choice_rows_give_fresh_means_and_the_temperature(
    regularizer_analysed,
):
    _, output_dir = regularizer_analysed
    header, rows = table_of_tables_md(
        output_dir,
        "## Chosen on the selection seeds; metrics on the fresh seeds",
    )
    (row,) = [
        row for row in rows if row[:3] == ["0.4", "None", "own_best_step"]
    ]
    for key in ("test_accuracy", "temperature"):
        values = [
            hand_made.fresh_value(0.4, "None", None, seed, key)
            for seed in hand_made.FRESH
        ]
        cell = row[header.index(f"{key} (mean ± sd)")]
        assert cell == report.mean_and_sd(values)


def test_glance_rows_are_the_choices_and_differences_in_points(
    regularizer_analysed,
):
    summary, output_dir = regularizer_analysed
    header, rows = table_of_tables_md(output_dir, report.GLANCE_HEADING)
    found = hand_made.choices(summary)
    assert [row[:2] for row in rows] == [
        [f"{noise:g}", arm.name]
        for noise in hand_made.SETTING.label_noises
        for arm in hand_made.ARMS
    ]
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        noise, arm = float(row[0]), row[1]
        value = found[noise, arm, study.MAIN_PROTOCOL][0]
        selection = np.mean(
            [
                max(
                    hand_made.curves_of(noise, arm, value, seed)[
                        "validation_accuracy"
                    ]
                )
                for seed in hand_made.SELECTION
            ]
        )
        assert (
            cells["selection validation acc. (%)"] == f"{100 * selection:.1f}"
        )
        accuracies = [
            100
            * hand_made.fresh_value(noise, arm, value, seed, "test_accuracy")
            for seed in hand_made.FRESH
        ]
        assert cells["test acc. (%, mean ± sd)"] == (
            f"{np.mean(accuracies):.1f} ± {np.std(accuracies, ddof=1):.1f}"
        )
        if arm == "None":
            assert row[-4:] == ["–"] * 4
            continue
        family_name = "primary" if arm == "fr-exact" else "accuracy vs None"
        (comparison,) = [
            c
            for c in hand_made.family(summary, family_name)
            if (c["label_noise"], c["treatment"]) == (noise, arm)
        ]
        assert cells["family"] == family_name
        assert cells["− None (points)"] == (
            f"{100 * comparison['mean_difference']:+.2f}"
        )
        low, high = (100 * comparison["interval"][k] for k in ("low", "high"))
        assert cells["95% CI"] == f"[{low:+.2f}, {high:+.2f}]"
        assert float(cells["Holm p"]) == pytest.approx(
            comparison["holm_p_value"], abs=5e-4
        )


@pytest.mark.parametrize(
    "values, text",
    [([], "n/a"), ([0.5], "0.500"), ([0.4, 0.6], "0.500 ± 0.141")],
)
def test_mean_and_sd(values, text):
    assert report.mean_and_sd(values) == text
