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
"""Tests of fisher_rao_experiments/calibration.py: hand and brute force."""

import numpy as np
import pytest

from fisher_rao_experiments import calibration


def direct_nll(logits, labels, temperature):
    """Mean -log softmax(z / T)_y by an explicit log-sum-exp."""
    scaled = np.asarray(logits, dtype=float) / temperature
    top = scaled.max(axis=1)
    log_sums = top + np.log(np.sum(np.exp(scaled - top[:, None]), axis=1))
    return float(np.mean(log_sums - scaled[np.arange(len(labels)), labels]))


def noisy_logits(seed, count=120, classes=4, signal=3.0, scale=2.5):
    """Logits that are informative but over-confident."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, count)
    logits = rng.normal(0, scale, (count, classes))
    right = rng.random(count) < 0.6
    logits[np.flatnonzero(right), labels[right]] += signal
    return logits, labels


class TestNegativeLogLikelihood:
    def test_hand_computed(self):
        # softmax([0, log 3]) = (1/4, 3/4).
        logits = [[0.0, np.log(3.0)], [0.0, np.log(3.0)]]
        nll = calibration.negative_log_likelihood(logits, np.array([1, 0]))
        assert nll == pytest.approx((-np.log(0.75) - np.log(0.25)) / 2)
        # At T = 2 the logits halve: p_1 = sqrt(3) / (1 + sqrt(3)).
        nll = calibration.negative_log_likelihood(
            logits[:1], np.array([1]), temperature=2.0
        )
        assert nll == pytest.approx(-np.log(np.sqrt(3) / (1 + np.sqrt(3))))

    def test_matches_a_direct_computation(self):
        logits, labels = noisy_logits(0)
        for temperature in (0.3, 1.0, 4.0):
            assert calibration.negative_log_likelihood(
                logits, labels, temperature
            ) == pytest.approx(direct_nll(logits, labels, temperature))

    def test_refuses_bad_inputs(self):
        with pytest.raises(ValueError, match="non-finite"):
            calibration.negative_log_likelihood([[0.0, np.inf]], np.array([0]))
        with pytest.raises(ValueError, match="labels must lie"):
            calibration.negative_log_likelihood([[0.0, 1.0]], np.array([2]))
        with pytest.raises(ValueError, match="integer"):
            calibration.negative_log_likelihood([[0.0, 1.0]], np.array([0.5]))
        with pytest.raises(ValueError, match="temperature"):
            calibration.negative_log_likelihood(
                [[0.0, 1.0]], np.array([0]), temperature=0.0
            )


class TestFitTemperature:
    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_matches_a_brute_force_grid(self, seed):
        logits, labels = noisy_logits(seed)
        fit = calibration.fit_temperature(logits, labels)
        grid = np.exp(np.linspace(np.log(0.05), np.log(20), 2001))
        nlls = np.array([direct_nll(logits, labels, t) for t in grid])
        best = np.argmin(nlls)
        assert 0 < best < grid.size - 1  # An interior optimum.
        step = np.log(grid[1]) - np.log(grid[0])
        assert abs(np.log(fit.temperature) - np.log(grid[best])) <= step
        # No grid point beats the fit.
        assert fit.nll_scaled <= nlls.min() + 1e-12
        assert fit.nll_scaled == pytest.approx(
            direct_nll(logits, labels, fit.temperature)
        )
        assert fit.nll_raw == pytest.approx(direct_nll(logits, labels, 1.0))
        assert fit.at_bound is None

    def test_the_fit_is_a_stationary_point(self):
        logits, labels = noisy_logits(4)
        temperature = calibration.fit_temperature(logits, labels).temperature
        h = 1e-4 * temperature
        slope = (
            direct_nll(logits, labels, temperature + h)
            - direct_nll(logits, labels, temperature - h)
        ) / (2 * h)
        assert abs(slope) < 1e-6

    def test_over_confident_logits_are_cooled(self):
        # Random labels: the best prediction is uniform, T -> large.
        rng = np.random.default_rng(5)
        logits = 5 * rng.normal(size=(400, 3))
        labels = rng.integers(0, 3, 400)
        fit = calibration.fit_temperature(logits, labels)
        assert fit.temperature > 5
        assert fit.nll_scaled < fit.nll_raw

    def test_all_right_goes_to_the_lower_bound(self):
        # Every arg max right: the NLL falls all the way to T -> 0.
        logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, -1.0]])
        labels = np.array([0, 1, 0])
        fit = calibration.fit_temperature(logits, labels, bounds=(0.1, 10))
        assert fit.temperature == 0.1 and fit.at_bound == "lower"
        assert direct_nll(logits, labels, 0.1) < direct_nll(
            logits, labels, 0.11
        )

    def test_anti_informative_logits_go_to_the_upper_bound(self):
        # The label always has the lowest logit: uniform is best, T -> inf.
        logits = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, -1.0]])
        labels = np.array([1, 0, 1])
        fit = calibration.fit_temperature(logits, labels, bounds=(0.1, 10))
        assert fit.temperature == 10 and fit.at_bound == "upper"
        assert direct_nll(logits, labels, 10) < direct_nll(logits, labels, 9)

    def test_bad_bounds(self):
        logits, labels = noisy_logits(0)
        with pytest.raises(ValueError, match="bounds"):
            calibration.fit_temperature(logits, labels, bounds=(2.0, 1.0))


def direct_ece(confidences, correct, num_bins):
    """ECE by an explicit loop over the bins (lo, hi]."""
    total = 0.0
    for b in range(num_bins):
        low, high = b / num_bins, (b + 1) / num_bins
        inside = [
            index
            for index, confidence in enumerate(confidences)
            if (low < confidence <= high) or (b == 0 and confidence == 0)
        ]
        if inside:
            accuracy = np.mean([correct[index] for index in inside])
            mean_confidence = np.mean([confidences[index] for index in inside])
            total += (
                len(inside)
                / len(confidences)
                * abs(accuracy - mean_confidence)
            )
    return total


class TestExpectedCalibrationError:
    def test_hand_computed_example(self):
        probabilities = np.array(
            [
                [0.9, 0.1, 0.0, 0.0, 0.0],  # 0.9: bin 13, right.
                [0.95, 0.05, 0.0, 0.0, 0.0],  # 0.95: bin 14, wrong.
                [0.2, 0.2, 0.2, 0.2, 0.2],  # 0.2 = 3/15: bin 2, right.
                [0.92, 0.08, 0.0, 0.0, 0.0],  # 0.92: bin 13, right.
                [1.0, 0.0, 0.0, 0.0, 0.0],  # 1: bin 14, right.
                [0.21, 0.2, 0.2, 0.2, 0.19],  # 0.21: bin 3, wrong.
            ]
        )
        labels = np.array([0, 1, 0, 0, 0, 1])
        # Bin 2: |1 - 0.2|; bin 3: |0 - 0.21|; bin 13: 2 x |1 - 0.91|;
        # bin 14: 2 x |0.5 - 0.975|; over N = 6.
        expected = (0.8 + 0.21 + 2 * 0.09 + 2 * 0.475) / 6
        assert calibration.expected_calibration_error(
            probabilities, labels
        ) == pytest.approx(expected)
        confidences, correct = calibration.confidences_and_correct(
            probabilities, labels
        )
        bins = calibration.calibration_bins(confidences, correct)
        filled = np.zeros(15, dtype=int)
        filled[[2, 3, 13, 14]] = [1, 1, 2, 2]
        np.testing.assert_array_equal(bins.counts, filled)
        # Empty bins have no accuracy or confidence and add nothing.
        assert np.all(np.isnan(bins.accuracy[filled == 0]))
        assert bins.confidence[14] == pytest.approx(0.975)

    def test_confidence_on_an_edge_goes_to_the_lower_bin(self):
        # 1/15, 1/3 = 5/15, 0.4 = 6/15 and 1 are edges; 0 is in bin 0.
        confidences = [0.0, 1 / 15, 1 / 3, 0.4, 0.4 + 1e-12, 1.0]
        bins = calibration.calibration_bins(confidences, [True] * 6)
        expected = np.zeros(15, dtype=int)
        for b in (0, 0, 4, 5, 6, 14):
            expected[b] += 1
        np.testing.assert_array_equal(bins.counts, expected)

    def test_perfect_calibration_is_zero(self):
        probabilities = np.tile([0.75, 0.25], (8, 1))
        labels = np.array([0] * 6 + [1] * 2)
        assert calibration.expected_calibration_error(
            probabilities, labels
        ) == pytest.approx(0.0, abs=1e-15)

    def test_matches_an_explicit_loop(self):
        logits, labels = noisy_logits(7, count=300, classes=5)
        probabilities = np.exp(calibration.log_probabilities(logits))
        confidences, correct = calibration.confidences_and_correct(
            probabilities, labels
        )
        for num_bins in (1, 15, 40):
            assert calibration.expected_calibration_error(
                probabilities, labels, num_bins
            ) == pytest.approx(direct_ece(confidences, correct, num_bins))

    def test_refuses_confidences_outside_the_unit_interval(self):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            calibration.calibration_bins([1.5], [True])


class TestCalibrationMetrics:
    def test_agrees_with_the_parts(self):
        val_logits, val_labels = noisy_logits(8)
        test_logits, test_labels = noisy_logits(9)
        metrics = calibration.calibration_metrics(
            val_logits, val_labels, test_logits, test_labels
        )
        temperature = calibration.fit_temperature(
            val_logits, val_labels
        ).temperature
        assert metrics.temperature == temperature
        assert metrics.test_nll_scaled == pytest.approx(
            direct_nll(test_logits, test_labels, temperature)
        )
        assert metrics.test_nll_raw == pytest.approx(
            direct_nll(test_logits, test_labels, 1.0)
        )
        for scale, ece in (
            (1.0, metrics.test_ece_raw),
            (temperature, metrics.test_ece_scaled),
        ):
            scaled = test_logits / scale
            probabilities = np.exp(scaled - scaled.max(axis=1, keepdims=True))
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            confidences = probabilities.max(axis=1)
            correct = probabilities.argmax(axis=1) == test_labels
            assert ece == pytest.approx(direct_ece(confidences, correct, 15))
        # Temperature scaling keeps every prediction.
        assert metrics.test_accuracy == pytest.approx(
            np.mean(test_logits.argmax(axis=1) == test_labels)
        )
        assert metrics.validation_nll_scaled <= metrics.validation_nll_raw
