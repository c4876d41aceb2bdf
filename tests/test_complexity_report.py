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
"""Tests of studies/complexity_report.py: summary.json and tables.md, on the
hand-made study of tests/complexity_runs.py."""

import os

import complexity_runs as hand_made

from fisher_rao_experiments.studies import complexity


def test_summary_has_the_documented_keys(complexity_analysed):
    summary, _ = complexity_analysed
    assert summary["version"] == 2 and summary["smoke"] is True
    statistics = summary["statistics"]
    assert "counting 0" in statistics["granulated_tau"]
    assert "whole seeds" in statistics["intervals"]
    assert statistics["bootstrap_resamples"] == hand_made.RESAMPLES
    assert statistics["bootstrap_seed"] == hand_made.BOOTSTRAP_SEED
    entry = summary["settings"][hand_made.SETTING.name]
    assert entry["grid"]["num_networks"] == len(
        hand_made.SETTING.grid.points()
    )
    for measure in entry["measures"]:
        for gap in complexity.GAPS:
            assert {
                "tau",
                "tau_interval",
                "granulated_tau",
                "granulated_tau_interval",
                "per_axis",
                "num_models",
            } <= set(measure[gap])


def test_tables_hold_every_setting_and_measure(complexity_analysed):
    _, output_dir = complexity_analysed
    tables = (output_dir / "tables.md").read_text()
    for setting in (hand_made.SETTING, hand_made.OTHER):
        assert f"({setting.name})" in tables
    for name in complexity.MEASURES:
        assert f"| {name} |" in tables
    assert "| fisher_rao_norm_depth_normalized | path_norm |" in tables
    assert not [
        name for name in os.listdir(output_dir) if name.startswith(".")
    ]
