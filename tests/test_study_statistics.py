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


class TestPercentileInterval:
    def test_is_numpys_percentiles_of_the_distribution(self):
        distribution = np.random.default_rng(4).normal(size=500)
        interval = stats.percentile_interval(distribution)
        low, high = np.percentile(distribution, [2.5, 97.5])
        assert interval.low == pytest.approx(low)
        assert interval.high == pytest.approx(high)
        assert interval.reason is None and interval.undefined_resamples == 0
        narrower = stats.percentile_interval(distribution, confidence=0.5)
        assert interval.low < narrower.low < narrower.high < interval.high

    def test_rare_undefined_resamples_are_left_out(self):
        distribution = np.arange(200.0)
        distribution[17] = np.nan  # 1 of 200: at most 1 %.
        interval = stats.percentile_interval(distribution)
        defined = distribution[~np.isnan(distribution)]
        assert interval.undefined_resamples == 1
        assert interval.low == pytest.approx(np.percentile(defined, 2.5))
        assert interval.high == pytest.approx(np.percentile(defined, 97.5))

    def test_many_undefined_resamples_give_no_interval(self):
        distribution = np.arange(200.0)
        distribution[:3] = np.nan  # 3 of 200: more than 1 %.
        interval = stats.percentile_interval(distribution)
        assert interval.low is None and "resamples" in interval.reason
        assert interval.undefined_resamples == 3

    def test_no_resamples(self):
        interval = stats.percentile_interval([])
        assert interval.low is None and interval.reason == "no resamples"


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


# --------------------------------------------------------------------------
# Jiang et al.'s tau, granulated tau and the bootstrap over seeds.


def direct_tau_a(measure, gap):
    """Jiang et al.'s tau by a loop over the pairs."""
    pairs = list(itertools.combinations(range(len(measure)), 2))
    return sum(
        np.sign(measure[i] - measure[j]) * np.sign(gap[i] - gap[j])
        for i, j in pairs
    ) / len(pairs)


def tied_pairs(values):
    """Pairs tied in `values`."""
    _, counts = np.unique(values, return_counts=True)
    return int(np.sum(counts * (counts - 1) // 2))


class TestSignAgreementTau:
    def test_hand_computed_with_ties(self):
        # Pairs: (0,1) tied in the gap: 0; (1,2) tied in the measure: 0;
        # the other four agree: tau = 4 / 6. tau-b drops the two tied pairs
        # from its normalization: 4 / sqrt(5 * 5) = 0.8.
        measure, gap = [1.0, 2.0, 2.0, 3.0], [1.0, 1.0, 2.0, 3.0]
        assert stats.sign_agreement_tau(measure, gap) == pytest.approx(2 / 3)
        assert scipy.stats.kendalltau(measure, gap).statistic == (
            pytest.approx(0.8)
        )

    def test_is_tau_b_rescaled_by_the_tied_pairs(self):
        # tau-a = tau-b sqrt((n0 - n1)(n0 - n2)) / n0.
        rng = np.random.default_rng(1)
        measure = rng.integers(0, 4, 30).astype(float)
        gap = rng.integers(0, 3, 30).astype(float)
        n0 = 30 * 29 / 2
        tau_b = scipy.stats.kendalltau(measure, gap).statistic
        expected = (
            tau_b
            * np.sqrt((n0 - tied_pairs(measure)) * (n0 - tied_pairs(gap)))
            / n0
        )
        assert stats.sign_agreement_tau(measure, gap) == pytest.approx(
            expected
        )
        assert stats.sign_agreement_tau(measure, gap) == pytest.approx(
            direct_tau_a(measure, gap)
        )

    def test_without_ties_equals_scipy(self):
        rng = np.random.default_rng(2)
        measure, gap = rng.normal(size=20), rng.normal(size=20)
        assert stats.sign_agreement_tau(measure, gap) == pytest.approx(
            scipy.stats.kendalltau(measure, gap).statistic
        )

    def test_constant_measure_scores_zero(self):
        assert stats.sign_agreement_tau([2.0, 2.0, 2.0], [1, 2, 3]) == 0.0
        with pytest.raises(ValueError, match="at least 2"):
            stats.sign_agreement_tau([1.0], [1.0])


def direct_jiang(settings, measure, gap, axes):
    """psi per axis by explicit loops over the other settings' values."""
    psis = []
    for axis in axes:
        others = sorted(name for name in settings[0] if name != axis)
        keys = sorted(
            {tuple(setting[name] for name in others) for setting in settings}
        )
        taus = []
        for key in keys:
            indices = [
                index
                for index, setting in enumerate(settings)
                if tuple(setting[name] for name in others) == key
            ]
            if len(indices) >= 2:
                taus.append(direct_tau_a(measure[indices], gap[indices]))
        psis.append(np.mean(taus))
    return psis


class TestJiangGranulatedTau:
    def test_hand_computed_with_ties(self):
        # a in (1, 2, 3) x b in (0, 1), one seed.
        settings = [
            {"a": a, "b": b, "seed": 7} for b in (0, 1) for a in (1, 2, 3)
        ]
        measure = np.array([1.0, 2.0, 3.0, 5.0, 5.0, 5.0])
        gap = np.array([0.1, 0.2, 0.3, 0.1, 0.3, 0.2])
        result = stats.jiang_granulated_tau(settings, measure, gap, ("a", "b"))
        along_a, along_b = result.per_axis
        # Along a: +1 at b = 0; 0 at b = 1 (measure constant: ties count 0).
        assert along_a.value == pytest.approx(0.5)
        assert (along_a.num_groups, along_a.num_singletons) == (2, 0)
        # Along b: a = 1 ties in the gap (0), a = 2 agrees (+1), a = 3
        # disagrees (-1).
        assert along_b.value == pytest.approx(0.0)
        assert along_b.num_groups == 3
        assert result.value == pytest.approx(0.25)

    def test_matches_explicit_loops(self):
        settings, measure, gap = hand_built_grid()
        # Coarse values: many ties.
        measure = np.round(measure / 4)
        gap = np.round(gap * 2)
        result = stats.jiang_granulated_tau(
            settings, measure, gap, ("noise", "width")
        )
        psis = direct_jiang(settings, measure, gap, ("noise", "width"))
        assert [psi.value for psi in result.per_axis] == pytest.approx(psis)
        assert result.value == pytest.approx(np.mean(psis))

    def test_singletons_are_left_out_and_no_group_is_none(self):
        settings = [
            {"a": 1, "b": 0, "seed": 1},
            {"a": 2, "b": 0, "seed": 1},
            {"a": 3, "b": 1, "seed": 1},
        ]
        result = stats.jiang_granulated_tau(
            settings,
            np.array([1.0, 2.0, 3.0]),
            np.array([3.0, 2.0, 1.0]),
            ("a", "b"),
        )
        along_a, along_b = result.per_axis
        assert along_a.value == -1.0
        assert (along_a.num_groups, along_a.num_singletons) == (1, 1)
        assert along_b.value is None and along_b.num_singletons == 3
        assert result.value is None and "b" in result.reason


def seed_grid(num_seeds=4, seed=0):
    """3 depths x 3 widths x num_seeds seeds, with ties in the measure."""
    rng = np.random.default_rng(seed)
    settings = [
        {"depth": depth, "width": width, "seed": s}
        for s in range(10, 10 + num_seeds)
        for depth in (0, 1, 2)
        for width in (8, 16, 32)
    ]
    gap = np.array(
        [
            0.1 * setting["depth"]
            + 0.05 * setting["seed"]
            + rng.normal(0, 0.1)
            for setting in settings
        ]
    )
    measure = np.round(gap + rng.normal(0, 0.1, len(settings)), 1)
    return settings, measure, gap


def concatenated_resample(settings, values, resamples, row):
    """The resample's models, built by hand: each drawn seed's models, the
    copies relabelled so their groups stay apart."""
    chosen, arrays = [], [[] for _ in values]
    for position, seed in enumerate(resamples.seeds):
        for copy in range(resamples.counts[row, position]):
            for index, setting in enumerate(settings):
                if setting["seed"] == seed:
                    chosen.append(dict(setting, seed=(seed, copy)))
                    for array, value in zip(arrays, values, strict=True):
                        array.append(value[index])
    return chosen, [np.array(array) for array in arrays]


class TestSeedResamples:
    def test_are_the_generators_draws_counted(self):
        resamples = stats.draw_seed_resamples([3, 1, 2, 1, 3], 50, 4)
        assert resamples.seeds == (1, 2, 3)
        draws = np.random.default_rng(4).integers(0, 3, (50, 3))
        for row, drawn in zip(resamples.counts, draws, strict=True):
            np.testing.assert_array_equal(row, np.bincount(drawn, minlength=3))
        assert np.all(resamples.counts.sum(axis=1) == 3)
        again = stats.draw_seed_resamples([1, 2, 3], 50, 4)
        other = stats.draw_seed_resamples([1, 2, 3], 50, 5)
        assert resamples.same_as(again) and not resamples.same_as(other)

    def test_tau_b_per_resample_is_scipys_on_the_concatenation(self):
        settings, measure, gap = seed_grid()
        resamples = stats.draw_seed_resamples(
            [s["seed"] for s in settings], 25, 0
        )
        taus = stats.resampled_kendall_tau(
            measure, gap, [s["seed"] for s in settings], resamples
        )
        for row in range(25):
            _, (m, g) = concatenated_resample(
                settings, (measure, gap), resamples, row
            )
            assert taus[row] == pytest.approx(
                scipy.stats.kendalltau(m, g).statistic
            )

    def test_granulated_per_resample_is_direct_on_the_concatenation(self):
        settings, measure, gap = seed_grid()
        resamples = stats.draw_seed_resamples(
            [s["seed"] for s in settings], 25, 1
        )
        psi, granulated = stats.resampled_jiang_granulated_tau(
            settings,
            measure,
            gap,
            ("depth", "width"),
            resamples,
            seed_key="seed",
        )
        for row in range(25):
            chosen, (m, g) = concatenated_resample(
                settings, (measure, gap), resamples, row
            )
            direct = direct_jiang(chosen, m, g, ("depth", "width"))
            assert psi[row] == pytest.approx(direct)
            assert granulated[row] == pytest.approx(np.mean(direct))

    def test_whole_seeds_are_drawn(self):
        # Seed 1 ranks perfectly along a, seed 2 perfectly backwards: every
        # resample is 2 copies of one seed (+1 or -1) or one of each (0).
        # A bootstrap over models would give values in between.
        settings = [{"a": a, "seed": s} for s in (1, 2) for a in (1, 2, 3)]
        measure = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
        gap = np.array([1.0, 2.0, 3.0, 3.0, 2.0, 1.0])
        resamples = stats.draw_seed_resamples([1, 2], 200, 0)
        _, granulated = stats.resampled_jiang_granulated_tau(
            settings, measure, gap, ("a",), resamples, seed_key="seed"
        )
        expected = (resamples.counts[:, 0] - resamples.counts[:, 1]) / 2
        np.testing.assert_allclose(granulated, expected)
        assert set(np.unique(granulated)) == {-1.0, 0.0, 1.0}

    def test_one_seed_drawn_once_each_is_the_full_data(self):
        settings, measure, gap = seed_grid()
        seeds = tuple(range(10, 14))
        identity = stats.SeedResamples(seeds, np.ones((1, 4), dtype=int), 0)
        model_seeds = [s["seed"] for s in settings]
        assert stats.resampled_kendall_tau(
            measure, gap, model_seeds, identity
        )[0] == pytest.approx(stats.kendall_tau(measure, gap).value)
        _, granulated = stats.resampled_jiang_granulated_tau(
            settings,
            measure,
            gap,
            ("depth", "width"),
            identity,
            seed_key="seed",
        )
        assert granulated[0] == pytest.approx(
            stats.jiang_granulated_tau(
                settings, measure, gap, ("depth", "width")
            ).value
        )

    def test_refuses_unknown_seeds_and_the_seed_as_an_axis(self):
        settings, measure, gap = seed_grid()
        resamples = stats.draw_seed_resamples([10, 11], 5, 0)
        with pytest.raises(ValueError, match="not in the resamples"):
            stats.resampled_kendall_tau(
                measure, gap, [s["seed"] for s in settings], resamples
            )
        with pytest.raises(ValueError, match="cannot be an axis"):
            stats.resampled_jiang_granulated_tau(
                settings, measure, gap, ("seed",), resamples, seed_key="seed"
            )


class TestSeedBootstrapCorrelation:
    def test_intervals_are_percentiles_of_the_seed_resamples(self):
        settings, measure, gap = seed_grid(num_seeds=5)
        resamples = stats.draw_seed_resamples(
            [s["seed"] for s in settings], 60, 3
        )
        result = stats.seed_bootstrap_correlation(
            settings,
            measure,
            gap,
            ("depth", "width"),
            resamples,
            seed_key="seed",
        )
        taus, granulated, psis = [], [], []
        for row in range(60):
            chosen, (m, g) = concatenated_resample(
                settings, (measure, gap), resamples, row
            )
            taus.append(scipy.stats.kendalltau(m, g).statistic)
            direct = direct_jiang(chosen, m, g, ("depth", "width"))
            psis.append(direct)
            granulated.append(np.mean(direct))
        assert result.tau.value == pytest.approx(
            scipy.stats.kendalltau(measure, gap).statistic
        )
        assert (result.tau_interval.low, result.tau_interval.high) == (
            pytest.approx(tuple(np.percentile(taus, [2.5, 97.5])))
        )
        assert (
            result.granulated_interval.low,
            result.granulated_interval.high,
        ) == pytest.approx(tuple(np.percentile(granulated, [2.5, 97.5])))
        for index, interval in enumerate(result.axis_intervals):
            column = np.array(psis)[:, index]
            assert (interval.low, interval.high) == pytest.approx(
                tuple(np.percentile(column, [2.5, 97.5]))
            )

    def test_is_deterministic_given_the_rng_seed(self):
        settings, measure, gap = seed_grid()
        model_seeds = [s["seed"] for s in settings]

        def intervals(rng_seed):
            result = stats.seed_bootstrap_correlation(
                settings,
                measure,
                gap,
                ("depth", "width"),
                stats.draw_seed_resamples(model_seeds, 100, rng_seed),
                seed_key="seed",
            )
            return result.tau_interval, result.granulated_interval

        assert intervals(7) == intervals(7)
        assert intervals(7) != intervals(8)

    def test_one_seed_has_no_interval(self):
        settings, measure, gap = seed_grid(num_seeds=1)
        resamples = stats.draw_seed_resamples([10], 20, 0)
        result = stats.seed_bootstrap_correlation(
            settings,
            measure,
            gap,
            ("depth", "width"),
            resamples,
            seed_key="seed",
        )
        assert result.tau.value is not None
        assert result.tau_interval.low is None
        assert "1 seed(s)" in result.tau_interval.reason
        assert result.granulated_interval.low is None

    def test_constant_measure(self):
        # tau-b is undefined; the granulated tau is 0 (ties count 0).
        settings, _, gap = seed_grid()
        measure = np.ones(len(settings))
        resamples = stats.draw_seed_resamples(range(10, 14), 50, 0)
        result = stats.seed_bootstrap_correlation(
            settings,
            measure,
            gap,
            ("depth", "width"),
            resamples,
            seed_key="seed",
        )
        assert result.tau.value is None
        assert "constant" in result.tau_interval.reason
        assert result.granulated.value == 0.0
        assert (
            result.granulated_interval.low,
            result.granulated_interval.high,
        ) == (0.0, 0.0)


class TestMeasureComparisons:
    def correlations(self, n_resamples=80, rng_seed=2):
        settings, measure, gap = seed_grid(num_seeds=5)
        rng = np.random.default_rng(9)
        noisy = measure + rng.normal(0, 0.3, measure.size)
        resamples = stats.draw_seed_resamples(
            [s["seed"] for s in settings], n_resamples, rng_seed
        )
        return (
            settings,
            (measure, noisy, gap),
            {
                name: stats.seed_bootstrap_correlation(
                    settings,
                    values,
                    gap,
                    ("depth", "width"),
                    resamples,
                    seed_key="seed",
                )
                for name, values in (("good", measure), ("noisy", noisy))
            },
        )

    def test_differences_are_paired_by_resample(self):
        settings, (good, noisy, gap), correlations = self.correlations()
        comparison = stats.MeasureComparison("good", "noisy")
        result = stats.compare_measures(correlations, (comparison,))
        difference = result[comparison]
        resamples = correlations["good"].resamples
        tau_differences, granulated_differences = [], []
        for row in range(80):
            chosen, (m1, m2, g) = concatenated_resample(
                settings, (good, noisy, gap), resamples, row
            )
            tau_differences.append(
                scipy.stats.kendalltau(m1, g).statistic
                - scipy.stats.kendalltau(m2, g).statistic
            )
            granulated_differences.append(
                np.mean(direct_jiang(chosen, m1, g, ("depth", "width")))
                - np.mean(direct_jiang(chosen, m2, g, ("depth", "width")))
            )
        assert difference.tau.estimate == pytest.approx(
            scipy.stats.kendalltau(good, gap).statistic
            - scipy.stats.kendalltau(noisy, gap).statistic
        )
        assert (difference.tau.low, difference.tau.high) == pytest.approx(
            tuple(np.percentile(tau_differences, [2.5, 97.5]))
        )
        assert difference.tau.fraction_positive == pytest.approx(
            np.mean(np.array(tau_differences) > 0)
        )
        assert difference.granulated.estimate == pytest.approx(
            correlations["good"].granulated.value
            - correlations["noisy"].granulated.value
        )
        assert (
            difference.granulated.low,
            difference.granulated.high,
        ) == pytest.approx(
            tuple(np.percentile(granulated_differences, [2.5, 97.5]))
        )
        assert difference.axes == ("depth", "width")
        assert len(difference.per_axis) == 2

    def test_the_paired_interval_is_not_the_difference_of_intervals(self):
        # Differences on the same resamples: the interval of the difference
        # differs from (low1 - high2, high1 - low2), which is wider.
        _, _, correlations = self.correlations()
        difference = stats.tau_difference(
            correlations["good"], correlations["noisy"]
        )
        good, noisy = correlations["good"], correlations["noisy"]
        naive = (
            good.tau_interval.low - noisy.tau_interval.high,
            good.tau_interval.high - noisy.tau_interval.low,
        )
        assert naive[0] < difference.tau.low <= difference.tau.high < naive[1]

    def test_other_resamples_are_refused(self):
        _, _, first = self.correlations(rng_seed=2)
        _, _, second = self.correlations(rng_seed=3)
        with pytest.raises(ValueError, match="other resamples"):
            stats.tau_difference(first["good"], second["noisy"])

    def test_comparisons_named_in_advance(self):
        named = stats.comparisons_against(("fr", "fr_depth"), ("l2", "path"))
        assert named == (
            stats.MeasureComparison("fr", "l2"),
            stats.MeasureComparison("fr", "path"),
            stats.MeasureComparison("fr_depth", "l2"),
            stats.MeasureComparison("fr_depth", "path"),
        )
        _, _, correlations = self.correlations(n_resamples=10)
        with pytest.raises(ValueError, match=r"\['l2', 'path'\]"):
            stats.compare_measures(
                correlations,
                stats.comparisons_against(("good",), ("l2", "path")),
            )
        twice = (stats.MeasureComparison("good", "noisy"),) * 2
        with pytest.raises(ValueError, match="twice"):
            stats.compare_measures(correlations, twice)
        result = stats.compare_measures(
            correlations,
            (
                stats.MeasureComparison("noisy", "good"),
                stats.MeasureComparison("good", "noisy"),
            ),
        )
        forward, backward = (
            result[stats.MeasureComparison("good", "noisy")],
            result[stats.MeasureComparison("noisy", "good")],
        )
        assert list(result)[0] == stats.MeasureComparison("noisy", "good")
        assert backward.tau.estimate == pytest.approx(-forward.tau.estimate)
        assert backward.tau.low == pytest.approx(-forward.tau.high)


# --------------------------------------------------------------------------
# Families of paired comparisons.


def arm_values():
    """Arm -> metric -> condition -> seed -> value, seeded."""
    rng = np.random.default_rng(11)
    base = {seed: 0.9 + rng.normal(0, 0.01) for seed in range(1, 9)}
    values = {}
    for arm, shift in (("none", 0.0), ("fr", 0.01), ("ls", 0.002)):
        for noise in (0.0, 0.2):
            values[(arm, "test_accuracy", (("noise", noise),))] = {
                seed: base[seed] + shift + rng.normal(0, 0.005)
                for seed in base
            }
            values[(arm, "test_nll", (("noise", noise),))] = {
                seed: 0.3 - shift + rng.normal(0, 0.01) for seed in base
            }
    return values


class TestComparisonFamily:
    def family(self):
        return stats.ComparisonFamily(
            "primary",
            tuple(
                stats.ArmComparison(
                    "fr", "none", metric, higher, (("noise", noise),)
                )
                for noise in (0.0, 0.2)
                for metric, higher in (
                    ("test_accuracy", True),
                    ("test_nll", False),
                )
            ),
        )

    def test_holm_within_the_family_and_benefits(self):
        values = arm_values()
        read = []

        def lookup(arm, metric, condition):
            read.append((arm, metric, condition))
            return values[(arm, metric, condition)]

        family = self.family()
        result = stats.evaluate_family(family, lookup)
        # Only the family's arms are read: never "ls".
        assert {arm for arm, _, _ in read} == {"fr", "none"}
        p_values = []
        for comparison, outcome in zip(
            family.comparisons, result.results, strict=True
        ):
            treated = values[("fr", comparison.metric, comparison.condition)]
            control = values[("none", comparison.metric, comparison.condition)]
            seeds = sorted(treated)
            direct = scipy.stats.ttest_rel(
                [treated[s] for s in seeds], [control[s] for s in seeds]
            )
            interval = direct.confidence_interval(0.95)
            p_values.append(direct.pvalue)
            assert outcome.comparison == comparison
            assert outcome.difference.p_value == pytest.approx(direct.pvalue)
            if comparison.higher_is_better:
                assert outcome.largest_benefit == pytest.approx(interval.high)
                assert outcome.largest_harm == pytest.approx(-interval.low)
            else:
                assert outcome.largest_benefit == pytest.approx(-interval.low)
                assert outcome.largest_harm == pytest.approx(interval.high)
        # Holm by hand over the family's four p-values.
        order = np.argsort(p_values)
        running, expected = 0.0, np.empty(4)
        for rank, index in enumerate(order):
            running = max(running, min(1.0, (4 - rank) * p_values[index]))
            expected[index] = running
        np.testing.assert_allclose(
            [outcome.adjusted_p_value for outcome in result.results], expected
        )
        assert result.rejected(0.05) == tuple(
            comparison
            for comparison, adjusted in zip(
                family.comparisons, expected, strict=True
            )
            if adjusted <= 0.05
        )

    def test_undefined_p_value_counts_as_one(self):
        family = stats.ComparisonFamily(
            "two",
            (
                stats.ArmComparison("a", "c", "acc", True),
                stats.ArmComparison("b", "c", "acc", True),
            ),
        )
        values = {
            "a": {1: 1.0, 2: 2.0},  # Differences 0.5 and 0.5: no p-value.
            "b": {1: 0.9, 2: 1.8, 3: 1.0},
            "c": {1: 0.5, 2: 1.5, 3: 0.1},
        }
        result = stats.evaluate_family(
            family, lambda arm, metric, condition: values[arm]
        )
        undefined, defined = result.results
        assert undefined.adjusted_p_value is None
        p_value = defined.difference.p_value
        # Family of 2, the other's p taken as 1: min(1, 2 p) at rank 1.
        assert defined.adjusted_p_value == pytest.approx(min(1.0, 2 * p_value))

    def test_refuses_empty_and_repeated_comparisons(self):
        with pytest.raises(ValueError, match="no comparison"):
            stats.ComparisonFamily("empty", ())
        comparison = stats.ArmComparison("a", "b", "acc", True)
        with pytest.raises(ValueError, match="twice"):
            stats.ComparisonFamily("twice", (comparison, comparison))
        with pytest.raises(ValueError, match="ArmComparisons"):
            stats.ComparisonFamily("bad", (("a", "b"),))

    def test_largest_benefit_possible_reads_the_interval(self):
        difference = stats.PairedDifference(
            (1, 2), (0.0, 0.1), 0.05, -0.02, 0.12, 0.3
        )
        assert stats.largest_benefit_possible(difference, True) == 0.12
        assert stats.largest_harm_possible(difference, True) == 0.02
        assert stats.largest_benefit_possible(difference, False) == 0.02
        assert stats.largest_harm_possible(difference, False) == 0.12
