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
"""Tests of studies/complexity_figures.py on the hand-made study of
tests/complexity_runs.py."""

import os

import complexity_runs as hand_made
import matplotlib.image
import matplotlib.pyplot as plt

from fisher_rao_experiments.studies import (
    complexity,
    complexity_figures,
    complexity_report,
)


def test_analyse_draws_every_figure(complexity_analysed):
    _, output_dir = complexity_analysed
    for setting in (hand_made.SETTING, hand_made.OTHER):
        for suffix in (
            complexity_report.NOISE_FIGURE_SUFFIX,
            complexity_report.COMPARISON_FIGURE_SUFFIX,
            *complexity_report.GAP_FIGURE_SUFFIXES.values(),
        ):
            pixels = matplotlib.image.imread(
                output_dir / complexity_report.figure_name(setting, suffix)
            )
            assert pixels.shape[0] > 300 and pixels.var() > 0
    assert not [
        name for name in os.listdir(output_dir) if name.startswith(".")
    ]


def test_figures_are_titled_by_their_setting(tmp_path):
    hand_made.write_grid(tmp_path)
    models = complexity.collect_models(
        hand_made.SETTING.grid, str(tmp_path)
    ).used
    figure = complexity_figures.plot_measures_against_label_noise(
        models, hand_made.SETTING.grid, hand_made.SETTING.description
    )
    title = figure.get_suptitle()
    plt.close(figure)
    assert title.startswith(f"{hand_made.SETTING.description}: complexity")
    assert f"{len(models)} models" in title
