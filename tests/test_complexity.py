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
"""Tests of studies/complexity.py (v2) on hand-made results files.

Every statistic in summary.json is checked against a hand computation on
the values the test wrote, over the models the study must use: tau-b with
scipy, Jiang's granulated tau by loops over pairs (ties counting 0), the
seed bootstrap by building each resample's models (copies of a seed kept
apart) and the paired differences from the same resamples. The command
line is tested by tests/test_complexity_study.py.
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

from fisher_rao_experiments.studies import complexity, study_statistics

NOISES = (0.0, 0.5, 1.0)
WIDTHS = (16, 32)
SEEDS = (1, 2, 3)
AXES = ("label_noise", "layer_width")
STOP = 0.01
# A setting of the study's form, small enough to compute by hand.
SETTING = complexity.Setting(
    "hand_mlp",
    "hand-made MLPs",
    complexity.Grid(
        axes={"label_noise": NOISES, "layer_width": WIDTHS},
        seeds=SEEDS,
        fixed={
            "dataset": "digits",
            "architecture": "mlp",
            "regularization_norm": "None",
            "stop_train_loss": STOP,
            "stop_check_steps": 1,
            "use_bias": False,
        },
    ),
    main=True,
)
# A second setting whose files share the runs directory.
OTHER = complexity.Setting(
    "hand_cnn",
    "hand-made CNNs",
    complexity.Grid(
        axes={"label_noise": NOISES},
        seeds=(1, 2),
        fixed=dict(
            SETTING.grid.fixed,
            dataset="mnist1d",
            architecture="cnn",
            layer_width=16,
        ),
    ),
    main=False,
)
# Did not reach the stop loss; its measures would change every tau.
NOT_REACHED = (NOISES[1], WIDTHS[1], SEEDS[1])
# Margin below 0: no normalized measures.
NEGATIVE_MARGIN = (NOISES[-1], WIDTHS[0], SEEDS[0])
RESAMPLES = 60
BOOTSTRAP_SEED = 7


def measures_of(noise, width, seed):
    """The final measures the test writes: ties, and a constant one."""
    fisher_rao = 10 * noise + width / 8 + 0.3 * seed
    return {
        "fisher_rao_norm": fisher_rao,
        "fisher_rao_norm_depth_normalized": fisher_rao / 4 - 3 * seed,
        "empirical_fisher_rao_norm": float(noise >= 0.5),  # Ties.
        "l2_norm": float(width) + 0.1 * seed,  # Constant along noise.
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


def stopped_loss_of(noise, width, seed):
    return STOP * (1 - 0.01 * (seed + width / 16 + noise))


def key_of(point):
    return (
        point["label_noise"],
        point.get("layer_width"),
        point["random_seed"],
    )


def write_run(directory, point, reached=True, **overrides):
    noise, width, seed = key_of(point)
    width = width or 16
    values = dict(
        measures_of(noise, width, seed), **gaps_of(noise, width, seed)
    )
    values.update(overrides)
    if reached:
        results = helpers.make_results(
            point,
            steps=(0, 100, 187),
            stopped_at_step=187,
            stopped_at_loss=stopped_loss_of(noise, width, seed),
            num_parameters=100 * width,
            **values,
        )
    else:
        results = helpers.make_results(
            point,
            steps=(0, 100, 200, 300),
            stopped_at_loss=None,
            num_parameters=100 * width,
            **dict(values, train_loss=0.05),
        )
    return helpers.write_results(
        directory, helpers.stem_of(point) + point["dataset"], results
    )


def point_of(key):
    """The grid point of (label noise, width, seed)."""
    (point,) = [
        point for point in SETTING.grid.points() if key_of(point) == key
    ]
    return point


def file_name(key):
    return helpers.stem_of(point_of(key)) + "digits.json"


def write_grid(runs_dir, skip=()):
    for point in SETTING.grid.points():
        key = key_of(point)
        if key not in skip:
            write_run(runs_dir, point, reached=key != NOT_REACHED)
    for point in OTHER.grid.points():
        write_run(runs_dir, point)


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    """The study's analysis of the hand-made runs, and its folder."""
    output_dir = tmp_path_factory.mktemp("complexity")
    write_grid(output_dir / "runs")
    complexity.analyse(
        (SETTING, OTHER),
        str(output_dir),
        n_resamples=RESAMPLES,
        seed=BOOTSTRAP_SEED,
        smoke=True,
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


def excluded_for(measure):
    return (NEGATIVE_MARGIN,) if "/" in measure else ()


def value_of(measure, key):
    values = measures_of(*key)
    raw = values[measure.split("/")[0]]
    return raw / values["margin"] ** 2 if "/" in measure else raw


def gap_of(gap, key):
    final = gaps_of(*key)
    if gap == "accuracy_gap":
        return final["train_accuracy"] - final["test_accuracy"]
    return final["test_loss"] - final["train_loss"]


def hand_tau_a(pairs):
    """Jiang's tau by a loop over pairs: ties count 0."""
    total, count = 0.0, 0
    for (m1, g1), (m2, g2) in itertools.combinations(pairs, 2):
        total += np.sign(m1 - m2) * np.sign(g1 - g2)
        count += 1
    return total / count


def hand_granulated(models):
    """psi per axis and their mean; models: [(key, copy, measure, gap)]."""
    psis = []
    for axis in range(2):
        taus = []
        others = {(key[1 - axis], key[2], copy) for key, copy, _, _ in models}
        for other in sorted(others):
            group = [
                (value, gap)
                for key, copy, value, gap in models
                if (key[1 - axis], key[2], copy) == other
            ]
            if len(group) >= 2:
                taus.append(hand_tau_a(group))
        psis.append(np.mean(taus))
    return psis, float(np.mean(psis))


def hand_statistics(measure, gap, counts=None):
    """(tau-b, psi per axis, granulated) on all models, or on the
    resample drawing seed SEEDS[s] counts[s] times."""
    keys = used_keys(excluded_for(measure))
    if counts is None:
        counts = [1] * len(SEEDS)
    models = [
        (key, copy, value_of(measure, key), gap_of(gap, key))
        for key in keys
        for copy in range(counts[SEEDS.index(key[2])])
    ]
    tau = scipy.stats.kendalltau(
        [model[2] for model in models], [model[3] for model in models]
    ).statistic
    psis, granulated = hand_granulated(models)
    return tau, psis, granulated


def hand_resampled(measure, gap):
    """The statistics on every resample the analysis draws."""
    resamples = study_statistics.draw_seed_resamples(
        SEEDS, RESAMPLES, BOOTSTRAP_SEED
    )
    assert resamples.seeds == SEEDS
    return [
        hand_statistics(measure, gap, counts) for counts in resamples.counts
    ]


def percentiles(values):
    return np.percentile(values, [2.5, 97.5])


def setting_summary(summary, setting=SETTING):
    return summary["settings"][setting.name]


def measure_entry(summary, name, setting=SETTING):
    (entry,) = [
        entry
        for entry in setting_summary(summary, setting)["measures"]
        if entry["name"] == name
    ]
    return entry


def comparison_entry(summary, measure, reference, gap):
    (entry,) = [
        entry
        for entry in setting_summary(summary)["comparisons"]
        + setting_summary(summary)["margin_comparisons"]
        if (entry["measure"], entry["reference"], entry["gap"])
        == (measure, reference, gap)
    ]
    return entry


class TestStatisticsAgainstHandComputations:
    @pytest.mark.parametrize("gap", ["accuracy_gap", "loss_gap"])
    @pytest.mark.parametrize(
        "measure",
        [
            "fisher_rao_norm",
            "fisher_rao_norm_depth_normalized",
            "empirical_fisher_rao_norm",
            "path_norm",
            "fisher_rao_norm/margin^2",
        ],
    )
    def test_point_estimates(self, analysed, measure, gap):
        summary, _ = analysed
        entry = measure_entry(summary, measure)[gap]
        keys = used_keys(excluded_for(measure))
        assert entry["num_models"] == len(keys)
        tau, psis, granulated = hand_statistics(measure, gap)
        assert entry["tau"] == pytest.approx(tau)
        for axis, psi in zip(AXES, psis, strict=True):
            assert entry["per_axis"][axis]["tau"] == pytest.approx(psi)
        assert entry["granulated_tau"] == pytest.approx(granulated)

    def test_ties_count_zero_in_the_granulated_tau(self, analysed):
        summary, _ = analysed
        # Constant within every group along width: psi is 0, not undefined.
        entry = measure_entry(summary, "empirical_fisher_rao_norm")
        psi = entry["accuracy_gap"]["per_axis"]["layer_width"]
        assert psi["tau"] == 0.0
        # One group lost its partner (the run that missed the stop loss).
        assert psi["num_groups"] == len(NOISES) * len(SEEDS) - 1
        assert psi["num_singletons"] == 1
        # Noises 0.5 and 1 tie (both 1): in a group of the three noises the
        # gap orders every pair, so tau-a = (1 + 1 + 0) / 3; the group
        # without its noise-0.5 run has one pair, +1 (tau-b would give
        # 2 / sqrt(6) instead of 2 / 3).
        groups = len(WIDTHS) * len(SEEDS)
        expected = ((groups - 1) * 2 / 3 + 1) / groups
        noise_psi = entry["accuracy_gap"]["per_axis"]["label_noise"]["tau"]
        assert noise_psi == pytest.approx(expected)
        assert entry["accuracy_gap"]["granulated_tau"] == pytest.approx(
            expected / 2
        )

    @pytest.mark.parametrize(
        "measure",
        ["fisher_rao_norm", "path_norm", "fisher_rao_norm/margin^2"],
    )
    def test_seed_bootstrap_intervals(self, analysed, measure):
        summary, _ = analysed
        entry = measure_entry(summary, measure)["accuracy_gap"]
        resampled = hand_resampled(measure, "accuracy_gap")
        taus = [tau for tau, _, _ in resampled]
        low, high = percentiles(taus)
        assert entry["tau_interval"]["low"] == pytest.approx(low)
        assert entry["tau_interval"]["high"] == pytest.approx(high)
        low, high = percentiles([granulated for _, _, granulated in resampled])
        assert entry["granulated_tau_interval"]["low"] == pytest.approx(low)
        assert entry["granulated_tau_interval"]["high"] == pytest.approx(high)
        for index, axis in enumerate(AXES):
            low, high = percentiles([psis[index] for _, psis, _ in resampled])
            interval = entry["per_axis"][axis]["interval"]
            assert interval["low"] == pytest.approx(low)
            assert interval["high"] == pytest.approx(high)

    @pytest.mark.parametrize(
        ("measure", "reference"),
        [
            ("fisher_rao_norm", "l2_norm"),
            ("fisher_rao_norm_depth_normalized", "path_norm"),
        ],
    )
    def test_paired_differences_on_the_same_resamples(
        self, analysed, measure, reference
    ):
        summary, _ = analysed
        entry = comparison_entry(summary, measure, reference, "loss_gap")
        first = hand_statistics(measure, "loss_gap")
        second = hand_statistics(reference, "loss_gap")
        first_resampled = hand_resampled(measure, "loss_gap")
        second_resampled = hand_resampled(reference, "loss_gap")
        for index, key in (
            (0, "tau_difference"),
            (2, "granulated_tau_difference"),
        ):
            difference = entry[key]
            assert difference["estimate"] == pytest.approx(
                first[index] - second[index]
            )
            differences = np.array(
                [
                    a[index] - b[index]
                    for a, b in zip(
                        first_resampled, second_resampled, strict=True
                    )
                ]
            )
            low, high = percentiles(differences)
            assert difference["low"] == pytest.approx(low)
            assert difference["high"] == pytest.approx(high)
            assert difference["fraction_positive"] == pytest.approx(
                np.mean(differences > 0)
            )
        for axis_index, axis in enumerate(AXES):
            differences = [
                a[1][axis_index] - b[1][axis_index]
                for a, b in zip(first_resampled, second_resampled, strict=True)
            ]
            low, high = percentiles(differences)
            assert entry["per_axis"][axis]["low"] == pytest.approx(low)
            assert entry["per_axis"][axis]["high"] == pytest.approx(high)

    def test_constant_measure_has_no_tau_b_and_a_zero_granulated_tau(
        self, analysed
    ):
        summary, _ = analysed
        entry = measure_entry(summary, "spectral_product")["accuracy_gap"]
        assert entry["tau"] is None and "constant" in entry["tau_reason"]
        assert entry["tau_interval"]["low"] is None
        assert entry["granulated_tau"] == 0.0

    def test_stopping_spread(self, analysed):
        summary, _ = analysed
        stopping = setting_summary(summary)["stopping"]
        ratios = [stopped_loss_of(*key) / STOP for key in used_keys()]
        assert stopping["stop_train_loss"] == STOP
        assert stopping["num_models"] == len(ratios)
        spread = stopping["stopped_at_loss_over_threshold"]
        assert spread["min"] == pytest.approx(min(ratios))
        assert spread["median"] == pytest.approx(np.median(ratios))
        assert spread["max"] == pytest.approx(max(ratios))


class TestAnalysis:
    def test_the_comparisons_are_named_in_advance(self, analysed):
        summary, _ = analysed
        named = [
            (comparison.measure, comparison.reference)
            for comparison in complexity.COMPARISONS
        ]
        assert named == [
            (measure, reference)
            for measure in (
                "fisher_rao_norm",
                "fisher_rao_norm_depth_normalized",
            )
            for reference in ("l2_norm", "spectral_product", "path_norm")
        ]
        assert [
            (entry["measure"], entry["reference"])
            for entry in summary["comparisons_named_in_advance"]
        ] == named
        compared = setting_summary(summary)["comparisons"]
        assert [
            (entry["measure"], entry["reference"], entry["gap"])
            for entry in compared
        ] == [
            (measure, reference, gap)
            for gap in complexity.GAPS
            for measure, reference in named
        ]

    def test_settings_are_analysed_apart(self, analysed):
        summary, _ = analysed
        assert set(summary["settings"]) == {SETTING.name, OTHER.name}
        other = setting_summary(summary, OTHER)
        assert len(other["models_used"]) == len(OTHER.grid.points())
        assert other["models_left_out"] == []
        entry = measure_entry(summary, "fisher_rao_norm", OTHER)
        assert list(entry["accuracy_gap"]["per_axis"]) == ["label_noise"]
        assert len(summary["models_used"]) == len(used_keys()) + len(
            OTHER.grid.points()
        )

    def test_model_that_missed_the_stop_loss_is_listed_and_excluded(
        self, analysed
    ):
        summary, _ = analysed
        (left_out,) = setting_summary(summary)["models_left_out"]
        assert left_out["name"] == file_name(NOT_REACHED)
        assert f"did not reach the training loss {STOP}" in left_out["reason"]
        assert left_out["name"] not in summary["models_used"]
        assert summary["num_models_left_out"] == 1

    def test_null_measure_leaves_the_model_out_of_that_measure_only(
        self, tmp_path
    ):
        write_grid(tmp_path)
        key = (NOISES[0], WIDTHS[0], SEEDS[0])
        os.remove(tmp_path / file_name(key))
        write_run(tmp_path, point_of(key), spectral_product=None)
        models = complexity.collect_models(SETTING.grid, str(tmp_path))
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
        entries = setting_summary(summary)["measures"]
        scores = [entry["accuracy_gap"]["granulated_tau"] for entry in entries]
        defined = [score for score in scores if score is not None]
        assert scores[: len(defined)] == defined  # Undefined ones last.
        assert defined == sorted(defined, reverse=True)
        assert {entry["name"] for entry in entries} == set(complexity.MEASURES)
        assert {
            "fisher_rao_norm_depth_normalized",
            "fisher_rao_norm_depth_normalized/margin^2",
            "num_parameters",
        } <= set(complexity.MEASURES)

    def test_summary_has_the_documented_keys(self, analysed):
        summary, _ = analysed
        assert summary["version"] == 2 and summary["smoke"] is True
        statistics = summary["statistics"]
        assert "counting 0" in statistics["granulated_tau"]
        assert "whole seeds" in statistics["intervals"]
        assert statistics["bootstrap_resamples"] == RESAMPLES
        assert statistics["bootstrap_seed"] == BOOTSTRAP_SEED
        entry = setting_summary(summary)
        assert entry["grid"]["num_networks"] == len(SETTING.grid.points())
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

    def test_tables_and_figures_are_written(self, analysed):
        summary, output_dir = analysed
        tables = (output_dir / "tables.md").read_text()
        for setting in (SETTING, OTHER):
            assert f"({setting.name})" in tables
        for name in complexity.MEASURES:
            assert f"| {name} |" in tables
        assert "| fisher_rao_norm_depth_normalized | path_norm |" in tables
        for setting in (SETTING, OTHER):
            for suffix in (
                complexity.NOISE_FIGURE_SUFFIX,
                complexity.COMPARISON_FIGURE_SUFFIX,
                *complexity.GAP_FIGURE_SUFFIXES.values(),
            ):
                pixels = matplotlib.image.imread(
                    output_dir / complexity.figure_name(setting, suffix)
                )
                assert pixels.shape[0] > 300 and pixels.var() > 0
        assert not [
            name for name in os.listdir(output_dir) if name.startswith(".")
        ]

    def test_figures_are_titled_by_their_setting(self, tmp_path):
        write_grid(tmp_path)
        models = complexity.collect_models(SETTING.grid, str(tmp_path)).used
        figure = complexity.plot_measures_against_label_noise(
            models, SETTING.grid, SETTING.description
        )
        title = figure.get_suptitle()
        plt.close(figure)
        assert title.startswith(f"{SETTING.description}: complexity")
        assert f"{len(models)} models" in title


def test_missing_and_diverged_points_are_listed(tmp_path):
    runs_dir = tmp_path / "runs"
    missing = (NOISES[0], WIDTHS[0], SEEDS[0])
    diverged = (NOISES[-1], WIDTHS[-1], SEEDS[-1])
    write_grid(runs_dir, skip=(missing, diverged))
    helpers.write_results(
        runs_dir / "diverged",
        "diverged-run",
        helpers.make_results(
            point_of(diverged), train_loss=[0.5, None, None, None]
        ),
    )
    models = complexity.collect_models(SETTING.grid, str(runs_dir))
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
    assert len(models.used) == len(SETTING.grid.points()) - 3


def test_a_file_lacking_a_key_the_study_reads_is_left_out(tmp_path):
    """An earlier version's file (no measures) is listed, not used."""
    write_grid(tmp_path)
    key = (NOISES[0], WIDTHS[0], SEEDS[0])
    os.remove(tmp_path / file_name(key))
    results = helpers.make_results(
        point_of(key), steps=(0, 100, 200), stopped_at_step=200
    )
    for measure in ("margin", "fisher_rao_norm_depth_normalized"):
        del results[measure]
    helpers.write_results(tmp_path, "old-file", results)
    models = complexity.collect_models(SETTING.grid, str(tmp_path))
    reasons = {left_out.name: left_out.reason for left_out in models.left_out}
    assert "margin" in reasons["old-file.json"]
    assert "fisher_rao_norm_depth_normalized" in reasons["old-file.json"]
    assert "stopped_at_loss" in reasons["old-file.json"]


class TestSettings:
    def test_the_full_study_meets_the_contract(self):
        settings = complexity.FULL_SETTINGS
        mnist1d = [s for s in settings if s.grid.fixed["dataset"] == "mnist1d"]
        assert {s.grid.fixed["architecture"] for s in mnist1d} == {
            "mlp",
            "cnn",
        }
        assert all(s.main for s in mnist1d)
        assert sum(len(s.grid.points()) for s in mnist1d) >= 300
        for setting in settings:
            grid = setting.grid
            assert len(grid.seeds) >= 3
            assert all(len(values) >= 3 for values in grid.axes.values())
            assert set(grid.axes) >= {"label_noise", "batch_size"}
            assert len(grid.axes) == 4
            assert grid.axes["label_noise"][0] == 0.0
            assert grid.axes["label_noise"][-1] == 1.0
            assert grid.fixed["regularization_norm"] == "None"
            assert grid.fixed["fisher_rao_lambda"] == 0.0
            assert grid.fixed["weight_decay"] == 0.0
            assert grid.fixed["stop_train_loss"] == complexity.STOP_TRAIN_LOSS
            assert grid.fixed["stop_check_steps"] == 1
            assert grid.fixed["use_bias"] is False

    @pytest.mark.parametrize(
        "settings", [complexity.FULL_SETTINGS, complexity.SMOKE_SETTINGS]
    )
    def test_points_are_distinct_and_have_no_none(self, settings):
        points = complexity.all_points(settings)
        assert len({repr(sorted(point.items())) for point in points}) == len(
            points
        )
        assert not [
            key
            for point in points
            for key, value in point.items()
            if value is None
        ]
        assert len({setting.name for setting in settings}) == len(settings)

    def test_smoke_defines_every_statistic(self):
        for setting in complexity.SMOKE_SETTINGS:
            assert len(setting.grid.seeds) >= 2
            assert all(
                len(values) >= 2 for values in setting.grid.axes.values()
            )
        assert (
            max(
                len(setting.grid.axes) for setting in complexity.SMOKE_SETTINGS
            )
            >= 2
        )
