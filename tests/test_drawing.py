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
"""Tests of analysis/drawing.py: the primitives the figures share."""

import logging

import helpers
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fisher_rao_experiments.analysis import drawing


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    "values, y_scale, log",
    [
        ([0.01, 1.0, 10.0], "auto", True),  # Positive, 3 decades.
        ([1.0, 50.0], "auto", False),  # Less than LOG_SCALE_RATIO.
        ([-1.0, 1000.0], "auto", False),
        ([1.0, 2.0], "log", True),
        ([0.01, 10.0], "linear", False),
        ([np.nan, 0.01, 10.0], "auto", True),  # NaNs ignored.
        ([np.nan], "auto", False),
    ],
)
def test_wants_log_scale(values, y_scale, log):
    assert drawing.wants_log_scale(values, y_scale, "key") is log


def test_log_scale_of_non_positive_values_warns(caplog):
    with caplog.at_level(logging.WARNING):
        assert not drawing.wants_log_scale([0.0, 1.0], "log", "margin")
    assert "margin has values <= 0" in caplog.text


def test_group_colors_are_distinct_beyond_the_colour_cycle():
    for count in (3, 25):
        colors = drawing.group_colors(count)
        assert len({str(color) for color in colors}) == count


def test_draw_trajectory_clips_the_band(tmp_path):
    figure, axes = plt.subplots()
    drawing.draw_trajectory(
        axes, [0, 1], [0.1, 0.9], [0.2, 0.1], "curve", "red", key="l2_norm"
    )
    assert helpers.band_vertices(axes).min() == 0.0
    assert axes.lines[0].get_alpha() == drawing.LINE_ALPHA
    path = str(tmp_path / "new" / "folder" / "figure.png")
    drawing.save_figure(figure, path)
    helpers.assert_readable_nonblank_png(path, min_colors=2)


def test_raw_trace_is_faint_and_thin():
    _, axes = plt.subplots()
    drawing.draw_raw_trace(axes, [0, 1, 2], [1.0, 3.0, 2.0], "blue")
    (line,) = axes.lines
    assert line.get_alpha() == drawing.RAW_ALPHA < drawing.LINE_ALPHA
    assert line.get_linewidth() < plt.rcParams["lines.linewidth"]
    assert not axes.collections  # No band.
