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
"""Tests of studies/complexity.py on hand-made results files.

The taus are checked against scipy called directly on the values the test
wrote, over the models the study must use. The command line is tested by
tests/test_complexity.py.
"""

import itertools
import os

import matplotlib

matplotlib.use("Agg")

import helpers
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
import scipy.stats

from fisher_rao_experiments.studies import complexity

# The hand-made runs are those of the smoke grid; the test's values are
# written for its two axes.
GRID = complexity.SMOKE_GRID
assert tuple(GRID.axes) == ("label_noise", "layer_width"), GRID.axes
NOISES, WIDTHS = GRID.axes["label_noise"], GRID.axes["layer_width"]
SEEDS = GRID.seeds
AXES = ("label_noise", "layer_width")
# Did not reach the stop loss; its measures would change every tau.
NOT_REACHED = (NOISES[1], WIDTHS[1], SEEDS[1])
# Margin below 0: no normalized measures.
NEGATIVE_MARGIN = (NOISES[-1], WIDTHS[0], SEEDS[0])


def measures_of(noise, width, seed):
    """The final measures the test writes: ties, and a constant one."""
    return {
        "fisher_rao_norm": 10 * noise + width / 8 + 0.01 * seed,
        "empirical_fisher_rao_norm": float(round(2 * noise)),  # Ties.
        "l2_norm": float(width),  # Constant along label noise.
        "spectral_product": 4.0,  # Constant.
        # Unrelated to the gap, with no ties.
        "path_norm": (2.7 * (13 * noise + 7 * width + 5 * seed)) % 9.1,
        "margin": -0.1
        if (noise, width, seed) == NEGATIVE_MARGIN
        else 0.5 + 0.1 * seed,
    }


def gaps_of(noise, width, seed):
    test_accuracy = 0.95 - 0.6 * noise + 0.01 * width / 8 - 0.02 * seed
    test_loss = 0.2 + 2 * noise + 0.05 * seed * width / 8
    return {
        "train_accuracy": 1.0,
        "test_accuracy": test_accuracy,
        "train_loss": 0.009,
        "test_loss": test_loss,
    }


def write_run(directory, point, reached=True, **overrides):
    noise, width, seed = (
        point["label_noise"],
        point["layer_width"],
        point["random_seed"],
    )
    hparams = {key: value for key, value in point.items() if value is not None}
    values = dict(
        measures_of(noise, width, seed), **gaps_of(noise, width, seed)
    )
    values.update(overrides)
    if reached:
        results = helpers.make_results(
            hparams,
            steps=(0, 100, 200),
            stopped_at_step=200,
            num_parameters=100 * width,
            **values,
        )
    else:
        results = helpers.make_results(
            hparams,
            steps=(0, 100, 200, 300),
            num_parameters=100 * width,
            **dict(values, train_loss=0.05),
        )
    return helpers.write_results(directory, helpers.stem_of(point), results)


def point_of(key):
    """The grid point of (label noise, width, seed)."""
    (point,) = [
        point
        for point in GRID.points()
        if (point["label_noise"], point["layer_width"], point["random_seed"])
        == key
    ]
    return point


def file_name(key):
    return helpers.stem_of(point_of(key)) + ".json"


def write_grid(runs_dir, grid=GRID, skip=()):
    for point in grid.points():
        key = (
            point["label_noise"],
            point["layer_width"],
            point["random_seed"],
        )
        if key not in skip:
            write_run(runs_dir, point, reached=key != NOT_REACHED)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """The study's analysis of the hand-made runs, and its folder."""
    output_dir = tmp_path_factory.mktemp("complexity")
    write_grid(output_dir / "runs")
    complexity.analyse(
        GRID, str(output_dir), n_resamples=200, seed=0, smoke=True
    )
    plt.close("all")
    summary = helpers.read_strict_json(output_dir / "summary.json")
    return summary, output_dir


def used_keys(exclude=()):
    return [
        key
        for key in itertools.product(NOISES, WIDTHS, SEEDS)
        if key != NOT_REACHED and key not in exclude
    ]


def expected_pairs(measure, gap, exclude=()):
    """The (measure, gap) values of the models the study must use."""
    measures, gaps = [], []
    for key in used_keys(exclude):
        values = measures_of(*key)
        raw = values[measure.split("/")[0]]
        measures.append(raw / values["margin"] ** 2 if "/" in measure else raw)
        final = gaps_of(*key)
        gaps.append(
            final["train_accuracy"] - final["test_accuracy"]
            if gap == "accuracy_gap"
            else final["test_loss"] - final["train_loss"]
        )
    return np.array(measures), np.array(gaps)


def direct_granulated(measure, gap, exclude=()):
    """Granulated tau by loops over the grid, with scipy's kendalltau."""
    keys = used_keys(exclude)
    values = dict(
        zip(
            keys,
            zip(*expected_pairs(measure, gap, exclude), strict=True),
            strict=True,
        )
    )
    per_axis = []
    for axis in range(2):
        taus = []
        for other, seed in itertools.product((WIDTHS, NOISES)[axis], SEEDS):
            group = [
                key
                for key in keys
                if key[1 - axis] == other and key[2] == seed
            ]
            if len(group) >= 2:
                tau = scipy.stats.kendalltau(
                    [values[key][0] for key in group],
                    [values[key][1] for key in group],
                ).statistic
                if not np.isnan(tau):
                    taus.append(tau)
        per_axis.append(np.mean(taus) if taus else None)
    return per_axis


def assert_same_or_none(value, expected):
    if expected is None:
        assert value is None
    else:
        assert value == pytest.approx(expected)


def measure_entry(summary, name):
    (entry,) = [
        entry for entry in summary["measures"] if entry["name"] == name
    ]
    return entry


class TestAnalysis:
    @pytest.mark.parametrize("gap", ["accuracy_gap", "loss_gap"])
    @pytest.mark.parametrize(
        "measure",
        [
            "fisher_rao_norm",
            "empirical_fisher_rao_norm",
            "path_norm",
            "path_norm/margin^2",
            "fisher_rao_norm/margin^2",
        ],
    )
    def test_taus_match_scipy_on_the_used_models(self, analysed, measure, gap):
        summary, _ = analysed
        exclude = (NEGATIVE_MARGIN,) if "/" in measure else ()
        values, gaps = expected_pairs(measure, gap, exclude)
        entry = measure_entry(summary, measure)[gap]
        assert entry["num_models"] == len(values)
        assert entry["tau"] == pytest.approx(
            scipy.stats.kendalltau(values, gaps).statistic
        )
        psis = direct_granulated(measure, gap, exclude)
        for axis, psi in zip(AXES, psis, strict=True):
            assert_same_or_none(entry["per_axis"][axis]["tau"], psi)
        assert_same_or_none(
            entry["granulated_tau"], None if None in psis else np.mean(psis)
        )
        interval = entry["tau_interval"]
        assert interval["low"] <= entry["tau"] <= interval["high"]

    def test_constant_measure_is_null_with_a_reason(self, analysed):
        summary, _ = analysed
        entry = measure_entry(summary, "spectral_product")["accuracy_gap"]
        assert entry["tau"] is None and "constant" in entry["tau_reason"]
        assert entry["granulated_tau"] is None
        assert entry["tau_interval"]["low"] is None

    def test_measure_constant_along_an_axis_has_no_granulated_tau(
        self, analysed
    ):
        summary, _ = analysed
        for measure in ("l2_norm", "num_parameters"):
            entry = measure_entry(summary, measure)["accuracy_gap"]
            values, gaps = expected_pairs("l2_norm", "accuracy_gap")
            assert entry["tau"] == pytest.approx(
                scipy.stats.kendalltau(values, gaps).statistic
            )
            assert entry["per_axis"]["label_noise"]["tau"] is None
            assert entry["granulated_tau"] is None
            assert "label_noise" in entry["granulated_tau_reason"]

    def test_model_that_missed_the_stop_loss_is_listed_and_excluded(
        self, analysed
    ):
        summary, _ = analysed
        (left_out,) = summary["models_left_out"]
        assert left_out["name"] == file_name(NOT_REACHED)
        assert (
            f"did not reach the training loss "
            f"{GRID.fixed['stop_train_loss']}" in left_out["reason"]
        )
        assert left_out["name"] not in summary["models_used"]
        assert len(summary["models_used"]) == len(used_keys())

    def test_null_measure_leaves_the_model_out_of_that_measure_only(
        self, tmp_path
    ):
        write_grid(tmp_path)
        key = (NOISES[0], WIDTHS[0], SEEDS[0])
        for name in os.listdir(tmp_path):
            if name == file_name(key):
                os.remove(tmp_path / name)
        write_run(tmp_path, point_of(key), spectral_product=None)
        models = complexity.collect_models(GRID, str(tmp_path))
        (model,) = [
            model for model in models.used if model.name == file_name(key)
        ]
        assert model.measures["spectral_product"] is None
        assert model.measures["spectral_product/margin^2"] is None
        assert model.measures["l2_norm"] == measures_of(*key)["l2_norm"]

    def test_negative_margin_leaves_only_normalized_measures_out(
        self, analysed
    ):
        summary, _ = analysed
        normalized = measure_entry(summary, "l2_norm/margin^2")
        raw = measure_entry(summary, "l2_norm")
        (name,) = normalized["accuracy_gap"]["models_without_value"]
        assert name == file_name(NEGATIVE_MARGIN)
        assert raw["accuracy_gap"]["models_without_value"] == []
        assert raw["accuracy_gap"]["num_models"] == len(used_keys())

    def test_measures_are_ranked_by_granulated_tau(self, analysed):
        summary, _ = analysed
        scores = [
            entry["accuracy_gap"]["granulated_tau"]
            for entry in summary["measures"]
        ]
        defined = [score for score in scores if score is not None]
        assert scores[: len(defined)] == defined  # Undefined ones last.
        assert defined == sorted(defined, reverse=True)
        assert {entry["name"] for entry in summary["measures"]} == set(
            complexity.MEASURES
        )

    def test_summary_has_the_documented_keys(self, analysed):
        summary, _ = analysed
        assert {
            "measures",
            "models_used",
            "models_left_out",
            "gaps",
            "statistics",
            "grid",
        } <= set(summary)
        for entry in summary["measures"]:
            for gap in complexity.GAPS:
                assert {
                    "tau",
                    "tau_interval",
                    "granulated_tau",
                    "granulated_tau_interval",
                    "per_axis",
                    "num_models",
                } <= set(entry[gap])
        assert summary["smoke"] is True
        assert summary["grid"]["num_networks"] == len(GRID.points())

    def test_tables_and_figures_are_written(self, analysed):
        summary, output_dir = analysed
        tables = (output_dir / "tables.md").read_text()
        ranked_rows = [
            line for line in tables.splitlines() if line.startswith("| 1 |")
        ]
        assert (
            ranked_rows and summary["measures"][0]["name"] in (ranked_rows[0])
        )
        for name in complexity.MEASURES:
            assert f"| {name} |" in tables
        for name in (
            "measures_vs_label_noise.png",
            "measures_vs_accuracy_gap.png",
            "measures_vs_loss_gap.png",
        ):
            pixels = matplotlib.image.imread(output_dir / name)
            assert pixels.shape[0] > 300 and pixels.var() > 0
        assert not [
            name for name in os.listdir(output_dir) if name.startswith(".")
        ]


def test_missing_and_diverged_points_are_listed(tmp_path):
    runs_dir = tmp_path / "runs"
    missing = (NOISES[0], WIDTHS[0], SEEDS[0])
    diverged = (NOISES[-1], WIDTHS[-1], SEEDS[-1])
    write_grid(runs_dir, skip=(missing, diverged))
    helpers.write_results(
        runs_dir / "diverged",
        "diverged-run",
        helpers.make_results(
            dict(point_of(diverged), train_size=1000),
            train_loss=[0.5, None, None, None],
        ),
    )
    models = complexity.collect_models(GRID, str(runs_dir))
    reasons = {left_out.name: left_out.reason for left_out in models.left_out}
    assert reasons["diverged/diverged-run.json"] == "diverged"
    assert (
        reasons[
            f"label_noise={missing[0]}, layer_width={missing[1]}, "
            f"random_seed={missing[2]}"
        ]
        == "no complete results file"
    )
    assert reasons[file_name(NOT_REACHED)].startswith("did not reach")
    assert len(models.left_out) == 3
    assert len(models.used) == len(GRID.points()) - 3


def test_a_file_lacking_a_key_the_study_reads_is_left_out(tmp_path):
    """An earlier version's file (no measures) is listed, not used."""
    write_grid(tmp_path)
    key = (NOISES[0], WIDTHS[0], SEEDS[0])
    os.remove(tmp_path / file_name(key))
    results = helpers.make_results(
        {k: v for k, v in point_of(key).items() if v is not None},
        steps=(0, 100, 200),
        stopped_at_step=200,
    )
    for measure in ("margin", "path_norm"):
        del results[measure]
    helpers.write_results(tmp_path, "old-file", results)
    models = complexity.collect_models(GRID, str(tmp_path))
    reasons = {left_out.name: left_out.reason for left_out in models.left_out}
    assert "margin" in reasons["old-file.json"]
    assert "path_norm" in reasons["old-file.json"]
    assert "old-file.json" not in [model.name for model in models.used]
