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
"""Tests of analysis/tables.py: the table of final values."""

import helpers
import pytest

from fisher_rao_experiments.analysis import (
    grouping,
    loading,
    quantities,
    run_statistics,
    tables,
)

columns = helpers.columns


def test_table_has_one_row_per_group_and_any_extra_column(tmp_path):
    helpers.write_sweep(tmp_path)
    groups = helpers.load_groups(tmp_path)
    lines = tables.format_summary_table(
        groups, ["margin", "test_loss"]
    ).splitlines()
    assert len(lines) == 2 + len(groups)
    assert columns(lines[0])[-2:] == ["gap (train-test acc)", "margin"]
    statistics = run_statistics.final_statistics(groups[0])
    assert lines[2].startswith("norm=None, lambda=0 ")
    for key in ("test_loss", "margin"):
        mean, std = statistics[key]
        assert f"{mean:.4f} ± {std:.4f}" in lines[2]


def test_lambda_table_covers_norm_method_lambda(tmp_path):
    helpers.write_sweep(tmp_path)
    helpers.write(tmp_path, "fr-exact", norm="fr", lam=0.1, method="exact")
    runs = loading.load_runs(r"\.json$", str(tmp_path))
    groups = grouping.lambda_sweep_groups(runs)
    table = tables.format_summary_table(groups)
    assert len(table.splitlines()) == 2 + 6
    assert "norm=fr, method=exact, lambda=0.1 " in table
    assert "norm=fr, method=forward, lambda=0.1 " in table


class TestSingleRun:
    def test_a_single_runs_row_shows_its_values_without_a_spread(
        self, tmp_path
    ):
        helpers.write(tmp_path, "only", seed=1, lam=0.01)
        helpers.write(tmp_path, "pair-1", seed=1, lam=0.1)
        helpers.write(tmp_path, "pair-2", seed=2, lam=0.1)
        groups = helpers.load_groups(tmp_path)
        table = tables.format_summary_table(groups, ["margin"])
        header, _, single, pair = table.splitlines()
        assert "± 0.0000" not in table
        assert "±" not in single
        (only,) = helpers.read_files(tmp_path)[:1]
        cells = dict(zip(columns(header), columns(single), strict=True))
        assert cells["runs"] == "1"
        assert cells["test loss"] == f"{only['test_loss'][-1]:.4f}"
        assert cells["margin"] == f"{only['margin'][-1]:.4f}"
        # Two runs: mean ± sample std in every value column.
        assert pair.count("±") == len(quantities.SUMMARY_KEYS) + 1

    @pytest.mark.parametrize(
        "mean, std, runs, text",
        [
            (0.5, 0.0, 1, "0.5000"),
            (0.5, 0.0, 2, "0.5000 ± 0.0000"),  # Two equal runs: a real 0.
            (0.5, 0.01234, 3, "0.5000 ± 0.0123"),
            (float("nan"), 0.0, 1, "nan"),
        ],
    )
    def test_format_cell(self, mean, std, runs, text):
        assert tables.format_cell(mean, std, runs) == text

    def test_the_title_says_how_a_single_run_is_shown(self):
        assert "single run" in tables.TITLE


def test_earlier_versions_files_fill_the_table(tmp_path):
    for seed in (1, 2):
        helpers.write_results(
            tmp_path, f"old-{seed}", helpers.earlier_version_results(seed=seed)
        )
    table = tables.format_summary_table(helpers.load_groups(tmp_path))
    row = table.splitlines()[2]
    assert "nan" not in row and row.count("±") == len(quantities.SUMMARY_KEYS)
