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
"""Tests of studies/study_statistics.py against direct computations."""

import itertools

import numpy as np
import pytest
import scipy.stats

from fisher_rao_experiments.studies import study_statistics as stats


class TestKendallTau:
    def test_matches_scipy_with_ties(self):
        measure = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 0.5]
        gap = [0.1, 0.3, 0.2, 0.2, 0.9, 0.4, 0.4]
        tau = stats.kendall_tau(measure, gap)
        assert tau.value == pytest.approx(
            scipy.stats.kendalltau(measure, gap).statistic
        )
        assert tau.num_models == 7 and tau.reason is None

    def test_matches_tau_b_worked_by_hand(self):
        # Pairs of (1,1), (2,2), (2,3): concordant 2 (1-2, 1-3), the pair
        # 2-3 is tied in the measure only: tau-b = 2 / sqrt(2 * 3).
        tau = stats.kendall_tau([1.0, 2.0, 2.0], [1.0, 2.0, 3.0])
        assert tau.value == pytest.approx(2 / np.sqrt(6))

    def test_reversed_order_gives_minus_one(self):
        assert stats.kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]).value == -1

    @pytest.mark.parametrize(
        "measure, gap, reason",
        [
            ([2.0, 2.0, 2.0], [0.1, 0.2, 0.3], "measure is constant"),
            ([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], "gap is constant"),
            ([1.0], [0.5], "1 model"),
        ],
    )
    def test_undefined_is_none_with_a_reason(self, measure, gap, reason):
        tau = stats.kendall_tau(measure, gap)
        assert tau.value is None and reason in tau.reason
        # scipy agrees it is undefined.
        if len(measure) > 1:
            assert np.isnan(scipy.stats.kendalltau(measure, gap).statistic)

    def test_refuses_non_finite_and_mismatched_inputs(self):
        with pytest.raises(ValueError, match="non-finite"):
            stats.kendall_tau([1.0, np.nan], [1.0, 2.0])
        with pytest.raises(ValueError, match="differ in length"):
            stats.kendall_tau([1.0, 2.0], [1.0, 2.0, 3.0])


def hand_built_grid():
    """3 noise levels x 2 widths x 2 seeds, with a measure and a gap.

    Returns settings, measure, gap and the models' indices by setting.
    """
    rng = np.random.default_rng(3)
    settings = [
        {"noise": noise, "width": width, "seed": seed}
        for noise, width, seed in itertools.product(
            (0.0, 0.5, 1.0), (8, 16), (1, 2)
        )
    ]
    gap = np.array(
        [setting["noise"] + rng.normal(0, 0.3) for setting in settings]
    )
    measure = np.array(
        [
            setting["noise"] * setting["width"] + rng.normal(0, 2)
            for setting in settings
        ]
    )
    return settings, measure, gap


def direct_axis_tau(settings, measure, gap, axis, others):
    """psi by explicit loops over the other axes' values, with scipy."""
    taus = []
    other_values = [
        sorted({setting[name] for setting in settings}) for name in others
    ]
    for values in itertools.product(*other_values):
        indices = [
            index
            for index, setting in enumerate(settings)
            if all(
                setting[name] == value
                for name, value in zip(others, values, strict=True)
            )
        ]
        if len(indices) >= 2:
            tau = scipy.stats.kendalltau(
                measure[indices], gap[indices]
            ).statistic
            if not np.isnan(tau):
                taus.append(tau)
    return np.mean(taus), len(taus)


class TestGranulatedTau:
    def test_matches_a_direct_computation(self):
        settings, measure, gap = hand_built_grid()
        result = stats.granulated_tau(
            settings, measure, gap, ("noise", "width")
        )
        noise_tau, noise_groups = direct_axis_tau(
            settings, measure, gap, "noise", ("width", "seed")
        )
        width_tau, width_groups = direct_axis_tau(
            settings, measure, gap, "width", ("noise", "seed")
        )
        noise, width = result.per_axis
        assert (noise.axis, width.axis) == ("noise", "width")
        assert noise.value == pytest.approx(noise_tau)
        assert width.value == pytest.approx(width_tau)
        assert (noise.num_groups, width.num_groups) == (4, 6)
        assert (len(noise.group_taus), len(width.group_taus)) == (
            noise_groups,
            width_groups,
        )
        assert result.value == pytest.approx((noise_tau + width_tau) / 2)

    def test_groups_with_undefined_tau_are_skipped_and_counted(self):
        # Two groups along "a" (b = 0 and b = 1); the gap is constant in the
        # second, so only the first group's tau (+1) counts.
        settings = [{"a": a, "b": b} for b in (0, 1) for a in (1, 2, 3)]
        measure = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
        gap = np.array([0.1, 0.2, 0.3, 0.5, 0.5, 0.5])
        psi = stats.axis_tau(settings, measure, gap, "a")
        assert psi.value == 1.0
        assert (psi.num_groups, psi.num_undefined) == (2, 1)

    def test_constant_measure_within_every_group_is_none(self):
        # The measure depends on width alone: constant along noise.
        settings, _, gap = hand_built_grid()
        measure = np.array([float(setting["width"]) for setting in settings])
        result = stats.granulated_tau(
            settings, measure, gap, ("noise", "width")
        )
        assert result.value is None and "noise" in result.reason
        assert result.per_axis[0].value is None
        assert result.per_axis[1].value is not None
        interval = stats.bootstrap_granulated_interval(
            result, n_resamples=100, seed=0
        )
        assert interval.low is None and interval.reason == result.reason

    def test_axis_without_groups(self):
        settings = [{"a": 1, "seed": 1}, {"a": 2, "seed": 2}]
        psi = stats.axis_tau(
            settings, np.array([1.0, 2.0]), np.array([1.0, 2.0]), "a"
        )
        assert psi.value is None and "no two models" in psi.reason


class TestBootstrap:
    def test_tau_interval_contains_estimate_and_is_seeded(self):
        _, measure, gap = hand_built_grid()
        first = stats.bootstrap_tau_interval(
            measure, gap, n_resamples=300, seed=5
        )
        again = stats.bootstrap_tau_interval(
            measure, gap, n_resamples=300, seed=5
        )
        other = stats.bootstrap_tau_interval(
            measure, gap, n_resamples=300, seed=6
        )
        tau = stats.kendall_tau(measure, gap).value
        assert first.low <= tau <= first.high
        assert -1 <= first.low < first.high <= 1
        assert first == again and first != other

    def test_tau_interval_is_the_percentile_interval_of_model_resamples(self):
        # The same resamples drawn by hand: scipy 1.17 draws indices with
        # rng.integers(0, n, (n_resamples, n)) for paired data.
        _, measure, gap = hand_built_grid()
        interval = stats.bootstrap_tau_interval(
            measure, gap, n_resamples=200, seed=9
        )
        indices = np.random.default_rng(9).integers(
            0, measure.size, (200, measure.size)
        )
        taus = [
            scipy.stats.kendalltau(measure[row], gap[row]).statistic
            for row in indices
        ]
        assert interval.low == pytest.approx(np.percentile(taus, 2.5))
        assert interval.high == pytest.approx(np.percentile(taus, 97.5))

    def test_granulated_interval_contains_estimate_and_is_seeded(self):
        settings, measure, gap = hand_built_grid()
        result = stats.granulated_tau(
            settings, measure, gap, ("noise", "width")
        )
        first = stats.bootstrap_granulated_interval(
            result, n_resamples=300, seed=1
        )
        again = stats.bootstrap_granulated_interval(
            result, n_resamples=300, seed=1
        )
        assert first.low <= result.value <= first.high
        assert first == again

    def test_constant_measure_has_no_interval(self):
        interval = stats.bootstrap_tau_interval(
            [1.0, 1.0, 1.0], [0.1, 0.2, 0.3], n_resamples=100, seed=0
        )
        assert interval.low is None and "constant" in interval.reason

    def test_rare_undefined_resamples_are_left_out(self):
        # With seed 0, one of 200 resamples draws only measure values 2.
        measure = np.array(
            [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 0.0, 0.0, 1.0, 2.0, 2.0]
        )
        gap = np.arange(11.0)
        interval = stats.bootstrap_tau_interval(
            measure, gap, n_resamples=200, seed=0
        )
        indices = np.random.default_rng(0).integers(0, 11, (200, 11))
        taus = np.array(
            [
                scipy.stats.kendalltau(measure[row], gap[row]).statistic
                for row in indices
            ]
        )
        defined = taus[~np.isnan(taus)]
        assert interval.undefined_resamples == 1 == 200 - defined.size
        assert interval.low == pytest.approx(np.percentile(defined, 2.5))
        assert interval.high == pytest.approx(np.percentile(defined, 97.5))

    def test_degenerate_resamples_give_no_interval(self):
        # One model differs: many resamples hold a constant measure.
        interval = stats.bootstrap_tau_interval(
            [1.0, 1.0, 1.0, 2.0], [0.1, 0.2, 0.3, 0.4], n_resamples=200, seed=0
        )
        assert interval.low is None and "resamples" in interval.reason


class TestPairedDifference:
    def test_matches_ttest_rel_on_shared_seeds_only(self):
        rng = np.random.default_rng(0)
        control = {seed: 0.8 + rng.normal(0, 0.02) for seed in range(1, 11)}
        # A 9-of-10-seed arm: seed 4 is missing.
        treatment = {
            seed: control[seed] + 0.01 + rng.normal(0, 0.01)
            for seed in range(1, 11)
            if seed != 4
        }
        result = stats.paired_difference(treatment, control)
        shared = [seed for seed in range(1, 11) if seed != 4]
        treated = [treatment[seed] for seed in shared]
        controlled = [control[seed] for seed in shared]
        direct = scipy.stats.ttest_rel(treated, controlled)
        interval = direct.confidence_interval(0.95)
        assert result.seeds == tuple(shared)
        assert result.mean == pytest.approx(
            np.mean(treated) - np.mean(controlled)
        )
        assert result.low == pytest.approx(interval.low)
        assert result.high == pytest.approx(interval.high)
        assert result.p_value == pytest.approx(direct.pvalue)
        # The t interval by hand: mean +- t_{0.975, n-1} sd / sqrt(n).
        differences = np.subtract(treated, controlled)
        half_width = scipy.stats.t.ppf(0.975, 8) * differences.std(ddof=1) / 3
        assert result.high - result.mean == pytest.approx(half_width)

    def test_identical_differences_have_no_interval(self):
        result = stats.paired_difference({1: 1.0, 2: 2.0}, {1: 0.5, 2: 1.5})
        assert result.mean == 0.5 and result.p_value is None
        assert "same on every seed" in result.reason

    def test_one_shared_seed_has_no_interval(self):
        result = stats.paired_difference({1: 1.0, 2: 2.0}, {2: 1.5, 3: 0.0})
        assert result.seeds == (2,) and result.mean == 0.5
        assert result.low is None and "1 shared seed" in result.reason

    def test_effects_ruled_out_are_the_interval_bounds(self):
        difference = stats.PairedDifference(
            (1, 2), (0.0, 0.1), 0.05, -0.02, 0.12, 0.3
        )
        # Accuracy: no benefit above +0.12, no harm beyond -0.02.
        assert stats.smallest_benefit_ruled_out(difference, True) == 0.12
        assert stats.smallest_harm_ruled_out(difference, True) == 0.02
        # Loss (lower is better): a reduction of more than 0.02 is ruled
        # out, and an increase of more than 0.12.
        assert stats.smallest_benefit_ruled_out(difference, False) == 0.02
        assert stats.smallest_harm_ruled_out(difference, False) == 0.12


class TestHolm:
    def test_matches_a_hand_computation(self):
        # Sorted: 0.005 * 4 = 0.02; 0.01 * 3 = 0.03; 0.03 * 2 = 0.06;
        # 0.04 * 1 = 0.04, raised to the running maximum 0.06.
        adjusted = stats.holm_adjust([0.01, 0.04, 0.03, 0.005])
        np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])

    def test_caps_at_one_and_keeps_ties(self):
        np.testing.assert_allclose(
            stats.holm_adjust([0.5, 0.5, 0.2]), [1.0, 1.0, 0.6]
        )

    def test_agrees_with_the_step_down_rule(self):
        # Holm rejects H_(1..k) while p_(j) <= alpha / (m - j + 1); the
        # adjusted p-values reject exactly those at every alpha.
        p_values = np.random.default_rng(2).uniform(0, 0.1, 12)
        adjusted = stats.holm_adjust(p_values)
        order = np.argsort(p_values)
        for alpha in (0.01, 0.05, 0.1):
            rejected = set()
            for rank, index in enumerate(order):
                if p_values[index] > alpha / (len(p_values) - rank):
                    break
                rejected.add(index)
            assert set(np.flatnonzero(adjusted <= alpha)) == rejected

    def test_empty_and_invalid(self):
        assert stats.holm_adjust([]).size == 0
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            stats.holm_adjust([0.1, np.nan])
