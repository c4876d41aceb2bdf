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
apart) and the paired differences from the same resamples, on the
hand-made study of tests/complexity_runs.py. The outputs are tested by
tests/test_complexity_report.py and tests/test_complexity_figures.py, the
command line by tests/test_complexity_study.py.
"""

import itertools
import os

import matplotlib

matplotlib.use("Agg")

import complexity_runs as hand_made
import helpers
import numpy as np
import pytest
import scipy.stats

from fisher_rao_experiments.studies import complexity, study_statistics


def used_keys(exclude=()):
    return [
        key
        for key in itertools.product(
            hand_made.NOISES, hand_made.WIDTHS, hand_made.SEEDS
        )
        if key != hand_made.NOT_REACHED and key not in exclude
    ]


def excluded_for(measure):
    return (hand_made.NEGATIVE_MARGIN,) if "/" in measure else ()


def value_of(measure, key):
    values = hand_made.measures_of(*key)
    raw = values[measure.split("/")[0]]
    return raw / values["margin"] ** 2 if "/" in measure else raw


def gap_of(gap, key):
    final = hand_made.gaps_of(*key)
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
    resample drawing seed hand_made.SEEDS[s] counts[s] times."""
    keys = used_keys(excluded_for(measure))
    if counts is None:
        counts = [1] * len(hand_made.SEEDS)
    models = [
        (key, copy, value_of(measure, key), gap_of(gap, key))
        for key in keys
        for copy in range(counts[hand_made.SEEDS.index(key[2])])
    ]
    tau = scipy.stats.kendalltau(
        [model[2] for model in models], [model[3] for model in models]
    ).statistic
    psis, granulated = hand_granulated(models)
    return tau, psis, granulated


def hand_resampled(measure, gap):
    """The statistics on every resample the analysis draws."""
    resamples = study_statistics.draw_seed_resamples(
        hand_made.SEEDS, hand_made.RESAMPLES, hand_made.BOOTSTRAP_SEED
    )
    assert resamples.seeds == hand_made.SEEDS
    return [
        hand_statistics(measure, gap, counts) for counts in resamples.counts
    ]


def percentiles(values):
    return np.percentile(values, [2.5, 97.5])


def setting_summary(summary, setting=hand_made.SETTING):
    return summary["settings"][setting.name]


def measure_entry(summary, name, setting=hand_made.SETTING):
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
    def test_point_estimates(self, complexity_analysed, measure, gap):
        summary, _ = complexity_analysed
        entry = measure_entry(summary, measure)[gap]
        keys = used_keys(excluded_for(measure))
        assert entry["num_models"] == len(keys)
        tau, psis, granulated = hand_statistics(measure, gap)
        assert entry["tau"] == pytest.approx(tau)
        for axis, psi in zip(hand_made.AXES, psis, strict=True):
            assert entry["per_axis"][axis]["tau"] == pytest.approx(psi)
        assert entry["granulated_tau"] == pytest.approx(granulated)

    def test_ties_count_zero_in_the_granulated_tau(self, complexity_analysed):
        summary, _ = complexity_analysed
        # Constant within every group along width: psi is 0, not undefined.
        entry = measure_entry(summary, "empirical_fisher_rao_norm")
        psi = entry["accuracy_gap"]["per_axis"]["layer_width"]
        assert psi["tau"] == 0.0
        # One group lost its partner (the run that missed the stop loss).
        assert (
            psi["num_groups"]
            == len(hand_made.NOISES) * len(hand_made.SEEDS) - 1
        )
        assert psi["num_singletons"] == 1
        # Noises 0.5 and 1 tie (both 1): in a group of the three noises the
        # gap orders every pair, so tau-a = (1 + 1 + 0) / 3; the group
        # without its noise-0.5 run has one pair, +1 (tau-b would give
        # 2 / sqrt(6) instead of 2 / 3).
        groups = len(hand_made.WIDTHS) * len(hand_made.SEEDS)
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
    def test_seed_bootstrap_intervals(self, complexity_analysed, measure):
        summary, _ = complexity_analysed
        entry = measure_entry(summary, measure)["accuracy_gap"]
        resampled = hand_resampled(measure, "accuracy_gap")
        taus = [tau for tau, _, _ in resampled]
        low, high = percentiles(taus)
        assert entry["tau_interval"]["low"] == pytest.approx(low)
        assert entry["tau_interval"]["high"] == pytest.approx(high)
        low, high = percentiles([granulated for _, _, granulated in resampled])
        assert entry["granulated_tau_interval"]["low"] == pytest.approx(low)
        assert entry["granulated_tau_interval"]["high"] == pytest.approx(high)
        for index, axis in enumerate(hand_made.AXES):
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
        self, complexity_analysed, measure, reference
    ):
        summary, _ = complexity_analysed
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
        for axis_index, axis in enumerate(hand_made.AXES):
            differences = [
                a[1][axis_index] - b[1][axis_index]
                for a, b in zip(first_resampled, second_resampled, strict=True)
            ]
            low, high = percentiles(differences)
            assert entry["per_axis"][axis]["low"] == pytest.approx(low)
            assert entry["per_axis"][axis]["high"] == pytest.approx(high)

    def test_constant_measure_has_no_tau_b_and_a_zero_granulated_tau(
        self, complexity_analysed
    ):
        summary, _ = complexity_analysed
        entry = measure_entry(summary, "spectral_product")["accuracy_gap"]
        assert entry["tau"] is None and "constant" in entry["tau_reason"]
        assert entry["tau_interval"]["low"] is None
        assert entry["granulated_tau"] == 0.0

    def test_stopping_spread(self, complexity_analysed):
        summary, _ = complexity_analysed
        stopping = setting_summary(summary)["stopping"]
        ratios = [
            hand_made.stopped_loss_of(*key) / hand_made.STOP
            for key in used_keys()
        ]
        assert stopping["stop_train_loss"] == hand_made.STOP
        assert stopping["num_models"] == len(ratios)
        spread = stopping["stopped_at_loss_over_threshold"]
        assert spread["min"] == pytest.approx(min(ratios))
        assert spread["median"] == pytest.approx(np.median(ratios))
        assert spread["max"] == pytest.approx(max(ratios))


class TestAnalysis:
    def test_the_comparisons_are_named_in_advance(self, complexity_analysed):
        summary, _ = complexity_analysed
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

    def test_settings_are_analysed_apart(self, complexity_analysed):
        summary, _ = complexity_analysed
        assert set(summary["settings"]) == {
            hand_made.SETTING.name,
            hand_made.OTHER.name,
        }
        other = setting_summary(summary, hand_made.OTHER)
        assert len(other["models_used"]) == len(hand_made.OTHER.grid.points())
        assert other["models_left_out"] == []
        entry = measure_entry(summary, "fisher_rao_norm", hand_made.OTHER)
        assert list(entry["accuracy_gap"]["per_axis"]) == ["label_noise"]
        assert len(summary["models_used"]) == len(used_keys()) + len(
            hand_made.OTHER.grid.points()
        )

    def test_model_that_missed_the_stop_loss_is_listed_and_excluded(
        self, complexity_analysed
    ):
        summary, _ = complexity_analysed
        (left_out,) = setting_summary(summary)["models_left_out"]
        assert left_out["name"] == hand_made.file_name(hand_made.NOT_REACHED)
        assert (
            f"did not reach the training loss {hand_made.STOP}"
            in left_out["reason"]
        )
        assert left_out["name"] not in summary["models_used"]
        assert summary["num_models_left_out"] == 1

    def test_null_measure_leaves_the_model_out_of_that_measure_only(
        self, tmp_path
    ):
        hand_made.write_grid(tmp_path)
        key = (hand_made.NOISES[0], hand_made.WIDTHS[0], hand_made.SEEDS[0])
        os.remove(tmp_path / hand_made.file_name(key))
        hand_made.write_run(
            tmp_path, hand_made.point_of(key), spectral_product=None
        )
        models = complexity.collect_models(
            hand_made.SETTING.grid, str(tmp_path)
        )
        (model,) = [
            model
            for model in models.used
            if model.name == hand_made.file_name(key)
        ]
        assert model.measures["spectral_product"] is None
        assert model.measures["spectral_product/margin^2"] is None
        assert (
            model.measures["l2_norm"] == hand_made.measures_of(*key)["l2_norm"]
        )

    def test_negative_margin_leaves_only_normalized_measures_out(
        self, complexity_analysed
    ):
        summary, _ = complexity_analysed
        normalized = measure_entry(summary, "l2_norm/margin^2")
        raw = measure_entry(summary, "l2_norm")
        (name,) = normalized["accuracy_gap"]["models_without_value"]
        assert name == hand_made.file_name(hand_made.NEGATIVE_MARGIN)
        assert raw["accuracy_gap"]["models_without_value"] == []
        assert raw["accuracy_gap"]["num_models"] == len(used_keys())

    def test_measures_are_ranked_by_granulated_tau(self, complexity_analysed):
        summary, _ = complexity_analysed
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


def test_missing_and_diverged_points_are_listed(tmp_path):
    runs_dir = tmp_path / "runs"
    missing = (hand_made.NOISES[0], hand_made.WIDTHS[0], hand_made.SEEDS[0])
    diverged = (
        hand_made.NOISES[-1],
        hand_made.WIDTHS[-1],
        hand_made.SEEDS[-1],
    )
    hand_made.write_grid(runs_dir, skip=(missing, diverged))
    helpers.write_results(
        runs_dir / "diverged",
        "diverged-run",
        helpers.make_results(
            hand_made.point_of(diverged), train_loss=[0.5, None, None, None]
        ),
    )
    models = complexity.collect_models(hand_made.SETTING.grid, str(runs_dir))
    reasons = {left_out.name: left_out.reason for left_out in models.left_out}
    assert reasons["diverged/diverged-run.json"] == "diverged"
    assert (
        reasons[
            f"label_noise={missing[0]}, layer_width={missing[1]}, "
            f"random_seed={missing[2]}"
        ]
        == "no complete results file"
    )
    assert reasons[hand_made.file_name(hand_made.NOT_REACHED)].startswith(
        "did not reach"
    )
    assert len(models.left_out) == 3
    assert len(models.used) == len(hand_made.SETTING.grid.points()) - 3


def test_a_file_lacking_a_key_the_study_reads_is_left_out(tmp_path):
    """An earlier version's file (no measures) is listed, not used."""
    hand_made.write_grid(tmp_path)
    key = (hand_made.NOISES[0], hand_made.WIDTHS[0], hand_made.SEEDS[0])
    os.remove(tmp_path / hand_made.file_name(key))
    results = helpers.make_results(
        hand_made.point_of(key), steps=(0, 100, 200), stopped_at_step=200
    )
    for measure in ("margin", "fisher_rao_norm_depth_normalized"):
        del results[measure]
    helpers.write_results(tmp_path, "old-file", results)
    models = complexity.collect_models(hand_made.SETTING.grid, str(tmp_path))
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
