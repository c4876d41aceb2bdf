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
"""Tests of studies/regularizer.py (v3): the protocol, the choices and the
comparisons, on the hand-made study of tests/regularizer_runs.py.

Choices are checked against a brute-force selection on the selection seeds,
statistics against scipy and Holm by hand on the values the test wrote for
the fresh seeds; poisoning the fresh seeds (and every test metric) changes
no choice. The outputs are tested by tests/test_regularizer_report.py and
tests/test_regularizer_figures.py, the command line by
tests/test_regularizer_study.py.
"""

import helpers
import numpy as np
import pytest
import regularizer_runs as hand_made
import scipy.stats

from fisher_rao_experiments import results_io, sweep
from fisher_rao_experiments.studies import model_selection, regularizer_report
from fisher_rao_experiments.studies import regularizer as study


class TestProtocol:
    def test_primary_family_is_fixed_in_code(self):
        comparisons = study.PRIMARY_FAMILY.comparisons
        assert study.PRIMARY_FAMILY.name == "primary"
        assert [dict(c.condition) for c in comparisons] == [
            {
                "setting": "mnist1d",
                "label_noise": noise,
                "protocol": model_selection.OWN_BEST_STEP,
            }
            for noise in (0.0, 0.2, 0.4)
        ]
        for comparison in comparisons:
            assert (comparison.treatment, comparison.control) == (
                "fr-exact",
                "None",
            )
            assert comparison.metric == "test_accuracy"
            assert comparison.higher_is_better
        main = study.SETTINGS["mnist1d"]
        assert study.primary_family(main) == study.PRIMARY_FAMILY
        assert study.primary_family(study.SETTINGS["digits"]) is None

    def test_secondary_families_hold_no_primary_comparison(self):
        for setting in study.SETTINGS.values():
            names = [f.name for f in study.families(setting)]
            assert names[-4:] == [
                "accuracy vs None",
                "calibration vs None",
                "Fisher-Rao vs controls",
                "shared-step check",
            ]
            secondary = [
                c
                for f in study.families(setting)
                if f.name != "primary"
                for c in f.comparisons
            ]
            assert not set(secondary) & set(study.PRIMARY_FAMILY.comparisons)
            assert len(set(secondary)) == len(secondary)

    def test_every_regularized_arm_has_as_many_values(self):
        for setting in study.SETTINGS.values():
            names = [arm.name for arm in setting.arms]
            assert names == [
                "None",
                "fr-exact",
                "fre-exact",
                "fr-forward",
                "weight-decay",
                "label-smoothing",
                "confidence-penalty",
            ]
            for arm in setting.arms[1:]:
                assert len(arm.values) == study.VALUES_PER_ARM, arm.name
                assert list(arm.values) == sorted(arm.values)
            assert not set(setting.selection_seeds) & set(setting.fresh_seeds)

    def test_every_grid_point_is_a_valid_configuration(self, tmp_path):
        for settings in (study.SETTINGS, study.SMOKE_SETTINGS):
            for setting in settings.values():
                chosen = {
                    (noise, arm.name): set(arm.values)
                    for noise in setting.label_noises
                    for arm in setting.arms
                }
                for _, point in setting.selection_points() + (
                    setting.fresh_points(chosen)
                ):
                    sweep.complete_config(point, str(tmp_path))

    def test_half_decades(self):
        assert study.half_decades(-1, 0) == (0.1, 0.316, 1.0)
        assert study.half_decades(-3, -0.5) == (
            0.001,
            0.00316,
            0.01,
            0.0316,
            0.1,
            0.316,
        )

    def test_fresh_points_are_the_chosen_values_on_fresh_seeds(self):
        points = hand_made.SETTING.fresh_points({(0.4, "fr-exact"): {0.1}})
        assert [label for label, _ in points] == [
            (0.4, "fr-exact", 0.1, seed) for seed in hand_made.FRESH
        ]
        for _, point in points:
            assert point["fisher_rao_lambda"] == 0.1
            assert point["label_smoothing"] == 0.0


class TestSelection:
    def test_choices_match_brute_force_on_selection_seeds(
        self, regularizer_analysed
    ):
        summary, _ = regularizer_analysed
        found = hand_made.choices(summary)
        for noise in hand_made.SETTING.label_noises:
            for arm in hand_made.ARMS:
                main = found[noise, arm.name, model_selection.OWN_BEST_STEP]
                assert main == (
                    hand_made.brute_force_own_best(noise, arm),
                    None,
                )
                check = found.get(
                    (noise, arm.name, model_selection.SHARED_STEP)
                )
                if arm.name in ("fr-exact", "None"):
                    assert check == hand_made.brute_force_shared(noise, arm)
                else:
                    # The shared-step check compares fr-exact with None
                    # only: no other arm is chosen (or trained) under it.
                    assert check is None

    def test_only_the_checked_arms_are_chosen_under_the_check(
        self, regularizer_analysed
    ):
        # chosen_values, hence the fresh runs, follow these keys: no arm
        # outside the shared-step check trains a second value for it.
        selected, _ = study.choose(
            hand_made.SETTING, str(regularizer_analysed[1] / "runs")
        )
        main, check = (
            model_selection.OWN_BEST_STEP,
            model_selection.SHARED_STEP,
        )
        assert set(selected) == {
            (noise, arm.name, main)
            for noise in hand_made.SETTING.label_noises
            for arm in hand_made.ARMS
        } | {
            (noise, arm, check)
            for noise in hand_made.SETTING.label_noises
            for arm in ("fr-exact", "None")
        }

    def test_fresh_seeds_are_read_at_their_own_best_step(
        self, regularizer_analysed
    ):
        summary, _ = regularizer_analysed
        for entry in summary["choices"]:
            if entry["protocol"] != model_selection.OWN_BEST_STEP:
                continue
            assert [s["seed"] for s in entry["fresh_seeds"]] == list(
                hand_made.FRESH
            )
            for seed_entry in entry["fresh_seeds"]:
                args = (
                    entry["label_noise"],
                    entry["arm"],
                    entry["chosen_value"],
                    seed_entry["seed"],
                )
                validation = hand_made.curves_of(*args)["validation_accuracy"]
                assert (
                    seed_entry["step"]
                    == hand_made.STEPS[int(np.argmax(validation))]
                )
                for metric in study.METRICS:
                    assert seed_entry[metric] == pytest.approx(
                        hand_made.fresh_value(*args, metric)
                    )

    def test_poisoned_fresh_seeds_and_test_metrics_change_no_choice(
        self, regularizer_analysed, tmp_path
    ):
        summary, _ = regularizer_analysed

        def poison(label, curves):
            noise, arm, value, seed = label
            curves = dict(curves)
            # Every test metric of every run, reversed and scaled; the
            # fresh seeds' validation curves too, favouring other values.
            flip = 1.0 if (arm, value) == ("None", None) else -1.0
            curves["test_accuracy"] = [
                1.0 - v for v in curves["test_accuracy"]
            ]
            curves["calibration"] = {
                key: [v * 3 + 1 for v in values]
                for key, values in curves["calibration"].items()
            }
            if seed in hand_made.FRESH:
                bonus = (len(arm) % 7) / 10
                curves["validation_accuracy"] = [
                    min(1.0, v + flip * bonus)
                    for v in curves["validation_accuracy"]
                ]
            return curves

        hand_made.write_runs(tmp_path / "runs", change=poison)
        poisoned = regularizer_report.analyse(hand_made.SETTING, str(tmp_path))
        assert hand_made.choices(poisoned) == hand_made.choices(summary)
        # The poisoned values were read afterwards: the metrics changed.
        primary = hand_made.family(summary, "primary")
        assert hand_made.family(poisoned, "primary") != primary

    def test_choices_need_only_the_selection_seeds(
        self, tmp_path, regularizer_analysed
    ):
        summary, _ = regularizer_analysed
        for label, point in hand_made.SETTING.selection_points():
            hparams = {k: v for k, v in point.items() if v is not None}
            helpers.write_results(
                tmp_path / "runs",
                helpers.stem_of(point),
                helpers.make_results(
                    hparams,
                    steps=hand_made.STEPS,
                    **hand_made.curves_of(*label),
                ),
            )
        selected, _ = study.choose(hand_made.SETTING, str(tmp_path / "runs"))
        alone = {
            key: (arm.selection.choice.value, arm.selection.choice.step)
            for key, arm in selected.items()
        }
        assert alone == hand_made.choices(summary)
        for arm in selected.values():
            assert not arm.metrics
            assert set(arm.missing) == set(hand_made.FRESH)


class TestComparisons:
    def test_primary_family_statistics_match_scipy_and_holm(
        self, regularizer_analysed
    ):
        summary, _ = regularizer_analysed
        comparisons = hand_made.family(summary, "primary")
        assert [c["label_noise"] for c in comparisons] == [0.0, 0.4]
        p_values = []
        for comparison in comparisons:
            noise = comparison["label_noise"]
            value = dict(hand_made.choices(summary))[
                noise, "fr-exact", model_selection.OWN_BEST_STEP
            ][0]
            treated = [
                hand_made.fresh_value(
                    noise, "fr-exact", value, s, "test_accuracy"
                )
                for s in hand_made.FRESH
            ]
            control = [
                hand_made.fresh_value(noise, "None", None, s, "test_accuracy")
                for s in hand_made.FRESH
            ]
            expected = scipy.stats.ttest_rel(treated, control)
            interval = expected.confidence_interval(0.95)
            assert comparison["seeds"] == list(hand_made.FRESH)
            assert comparison["mean_difference"] == pytest.approx(
                np.mean(np.subtract(treated, control))
            )
            assert comparison["interval"]["low"] == pytest.approx(interval.low)
            assert comparison["interval"]["high"] == pytest.approx(
                interval.high
            )
            assert comparison["largest_benefit_possible"] == pytest.approx(
                interval.high
            )
            assert comparison["p_value"] == pytest.approx(expected.pvalue)
            p_values.append(expected.pvalue)
        low, high = sorted(p_values)
        holm = {low: min(1, 2 * low), high: min(1, max(2 * low, high))}
        for comparison, p_value in zip(comparisons, p_values, strict=True):
            assert comparison["holm_p_value"] == pytest.approx(holm[p_value])

    def test_loss_like_metrics_count_a_fall_as_a_benefit(
        self, regularizer_analysed
    ):
        summary, _ = regularizer_analysed
        for comparison in hand_made.family(summary, "calibration vs None"):
            assert not comparison["higher_is_better"]
            if comparison["interval"]["low"] is not None:
                assert comparison["largest_benefit_possible"] == (
                    pytest.approx(-comparison["interval"]["low"])
                )

    def test_families_are_adjusted_separately(self, regularizer_analysed):
        summary, _ = regularizer_analysed
        for name in ("accuracy vs None", "Fisher-Rao vs controls"):
            comparisons = hand_made.family(summary, name)
            p_values = [c["p_value"] for c in comparisons]
            order = np.argsort(p_values)
            m = len(p_values)
            running = 0.0
            for rank, index in enumerate(order):
                running = max(running, min(1.0, (m - rank) * p_values[index]))
                assert comparisons[index]["holm_p_value"] == pytest.approx(
                    running
                )

    def test_last_step_differences_match_scipy(self, regularizer_analysed):
        summary, _ = regularizer_analysed
        found = hand_made.choices(summary)
        entries = summary["last_step"]["comparisons"]
        assert "exploratory" in summary["last_step"]["note"]
        assert len(entries) == len(hand_made.SETTING.label_noises) * (
            len(hand_made.ARMS) - 1
        )
        for entry in entries:
            noise, arm = entry["label_noise"], entry["treatment"]
            value = found[noise, arm, model_selection.OWN_BEST_STEP][0]
            assert entry["value"] == value
            treated, control = (
                [
                    hand_made.curves_of(noise, name, chosen, seed)[
                        "test_accuracy"
                    ][-1]
                    for seed in hand_made.FRESH
                ]
                for name, chosen in ((arm, value), ("None", None))
            )
            expected = scipy.stats.ttest_rel(treated, control)
            interval = expected.confidence_interval(0.95)
            assert entry["mean_difference"] == pytest.approx(
                np.mean(treated) - np.mean(control)
            )
            assert entry["interval"]["low"] == pytest.approx(interval.low)
            assert entry["interval"]["high"] == pytest.approx(interval.high)
            assert entry["p_value"] == pytest.approx(expected.pvalue)


def test_runs_without_calibration_have_null_metrics():
    results = helpers.make_results(
        {"validation_size": 300},
        steps=hand_made.STEPS,
        validation_accuracy=[0.1, 0.2, 0.3, 0.4],
        validation_loss=[1.0] * 4,
    )
    view = study.results_view(results)
    for key in results_io.CALIBRATION_KEYS:
        assert view[key] == [None] * len(hand_made.STEPS)


def test_training_phases_put_the_primary_arms_first_and_keep_every_arm():
    setting = study.SETTINGS["mnist1d"]
    first, rest = study.training_phases(setting)
    assert [arm.name for arm in first.arms] == ["None", "fr-exact"]
    assert len(first.arms) + len(rest.arms) == len(setting.arms)
    assert {arm.name for arm in first.arms + rest.arms} == {
        arm.name for arm in setting.arms
    }
    # Each phase trains its arms' part of the grid, nothing else.
    assert len(first.selection_points()) + len(rest.selection_points()) == len(
        setting.selection_points()
    )
    for phase in (first, rest):
        assert phase.fixed == setting.fixed
        assert phase.fresh_seeds == setting.fresh_seeds
