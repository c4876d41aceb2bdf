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
"""Tests of analysis/smoothing.py against TensorBoard's algorithm.

The reference is the closed form of the debiased exponential moving
average, a weighted mean of the values so far:

  smoothed_t = sum_j weight^(t-j) (1 - weight) x_j / (1 - weight^(t+1)),

and TensorBoard's own loop (tensorboard's classicSmoothing), written out.
"""

import numpy as np
import pytest

from fisher_rao_experiments.analysis import smoothing


def closed_form(values, weight):
    values = np.asarray(values, dtype=float)
    smoothed = []
    for t in range(len(values)):
        powers = weight ** np.arange(t, -1, -1)
        smoothed.append(
            np.sum(powers * (1 - weight) * values[: t + 1])
            / (1 - weight ** (t + 1))
        )
    return np.array(smoothed)


def tensorboard_loop(values, weight):
    """TensorBoard's scalar smoothing, as its dashboard computes it."""
    last, count, smoothed = 0.0, 0, []
    for value in values:
        if not np.isfinite(value):
            smoothed.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        smoothed.append(last / (1 - weight**count))
    return np.array(smoothed)


@pytest.mark.parametrize("weight", [0.5, 0.9, 0.99])
def test_matches_the_closed_form_and_tensorboard(weight):
    values = np.random.default_rng(0).normal(1.0, 0.3, 300)
    smoothed = smoothing.smooth(values, weight)
    np.testing.assert_allclose(smoothed, closed_form(values, weight))
    np.testing.assert_allclose(smoothed, tensorboard_loop(values, weight))


def test_debiasing_starts_at_the_first_value_and_keeps_constants():
    np.testing.assert_allclose(smoothing.smooth([2.0, 2.0, 2.0], 0.99), 2.0)
    assert smoothing.smooth([5.0, 0.0], 0.9)[0] == pytest.approx(5.0)


def test_reduces_minibatch_noise_around_a_trend():
    rng = np.random.default_rng(1)
    steps = np.arange(20000)
    trend = np.exp(-steps / 5000)
    noisy = trend + rng.normal(0, 0.2, len(steps))
    smoothed = smoothing.smooth(noisy, smoothing.DEFAULT_SMOOTHING)
    # The EMA's lag on this trend is small next to the noise it removes.
    assert np.std(smoothed[1000:] - trend[1000:]) < 0.1 * np.std(noisy - trend)


def test_non_finite_values_pass_through_and_are_skipped():
    values = [1.0, None, 3.0, float("inf"), 5.0]
    smoothed = smoothing.smooth(values, 0.5)
    assert np.isnan(smoothed[1]) and smoothed[3] == np.inf
    np.testing.assert_allclose(
        smoothed[[0, 2, 4]], closed_form([1.0, 3.0, 5.0], 0.5)
    )
    assert np.isnan(smoothing.smooth([None, None], 0.5)).all()


def test_weight_zero_is_the_identity():
    values = [3.0, 1.0, 2.0]
    np.testing.assert_array_equal(smoothing.smooth(values, 0.0), values)


@pytest.mark.parametrize("weight", [1.0, -0.1, 1.5])
def test_weights_outside_zero_to_one_are_refused(weight):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        smoothing.smooth([1.0, 2.0], weight)
