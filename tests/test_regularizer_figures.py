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
"""Tests of studies/regularizer_figures.py on the hand-made study of
tests/regularizer_runs.py."""

import helpers
import numpy as np
import regularizer_runs as hand_made

from fisher_rao_experiments.studies import model_selection, regularizer_figures
from fisher_rao_experiments.studies import regularizer as study
from fisher_rao_experiments.studies import regularizer_report as report


def test_analyse_draws_every_figure(regularizer_analysed):
    _, output_dir = regularizer_analysed
    for name in (
        report.EFFECTS_FIGURE_FILE,
        report.DIFFERENCES_FIGURE_FILE,
        report.CURVES_FIGURE_FILE,
    ):
        helpers.assert_readable_nonblank_png(output_dir / name)


def test_fresh_curves_are_means_over_the_fresh_seeds(regularizer_analysed):
    summary, output_dir = regularizer_analysed
    selected, collected = study.collect_and_select(
        hand_made.SETTING, str(output_dir / "runs")
    )
    curves = regularizer_figures.fresh_curves(
        hand_made.SETTING, selected, collected, "test_accuracy"
    )
    assert set(curves) == {
        (noise, arm.name)
        for noise in hand_made.SETTING.label_noises
        for arm in hand_made.ARMS
    }
    found = hand_made.choices(summary)
    for (noise, arm), (steps, means) in curves.items():
        value = found[noise, arm, model_selection.OWN_BEST_STEP][0]
        assert steps == list(hand_made.STEPS)
        np.testing.assert_allclose(
            means,
            np.mean(
                [
                    hand_made.curves_of(noise, arm, value, seed)[
                        "test_accuracy"
                    ]
                    for seed in hand_made.FRESH
                ],
                axis=0,
            ),
        )
