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
"""Calibration of a classifier: NLL, temperature scaling, ECE.

Pure numpy and scipy, on a model's logits (N examples x K classes) and the
integer labels.

  * `negative_log_likelihood`: mean over examples of -log softmax(z / T)_y.
  * `fit_temperature`: temperature scaling (Guo et al. 2017): the one
    T > 0 minimizing the NLL of softmax(z / T) on validation logits. The
    NLL is convex in beta = 1 / T (a mean of log-sum-exp of beta z minus
    beta z_y), so its derivative in beta is increasing and the minimizer is
    the derivative's root, found by bracketed root finding (scipy's
    `brentq`) within TEMPERATURE_BOUNDS. Dividing the logits by T > 0 keeps
    every prediction, hence the accuracy.
  * `calibration_bins` and `expected_calibration_error`: ECE with NUM_BINS
    equal-width confidence bins (Guo et al. 2017): bin b (0-based) holds
    the examples whose confidence (the largest predicted probability) lies
    in (b / B, (b + 1) / B], the first bin also holding 0; ECE = sum over
    bins of |bin| / N * |acc(bin) - conf(bin)|, acc(bin) the fraction of
    the bin's predictions (the arg max, the first on ties) that are right
    and conf(bin) its mean confidence. Empty bins contribute 0.
  * `calibration_metrics`: the above for a model, T fitted on validation
    and applied to test.
"""

import dataclasses

import numpy as np
import scipy.optimize
import scipy.special

NUM_BINS = 15
# The fitted temperature is confined to this range; a fit at a bound says
# the optimum lies at or beyond it (e.g. every validation example right:
# the NLL keeps falling as T -> 0).
TEMPERATURE_BOUNDS = (1e-2, 1e2)


def _logits_and_labels(logits, labels):
    logits = np.asarray(logits, dtype=float)
    labels = np.asarray(labels)
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] < 2:
        raise ValueError(
            "logits must be (examples, classes) with >= 1 example and >= 2 "
            f"classes; got shape {logits.shape}."
        )
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits hold non-finite values.")
    if labels.shape != (logits.shape[0],) or not np.issubdtype(
        labels.dtype, np.integer
    ):
        raise ValueError("labels must be one integer per example.")
    if np.any(labels < 0) or np.any(labels >= logits.shape[1]):
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}).")
    return logits, labels


def _check_temperature(temperature):
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"the temperature must be > 0, not {temperature}.")


def log_probabilities(logits, temperature=1.0):
    """log softmax(logits / temperature), row by row."""
    _check_temperature(temperature)
    return scipy.special.log_softmax(
        np.asarray(logits, dtype=float) / temperature, axis=1
    )


def negative_log_likelihood(logits, labels, temperature=1.0):
    """Mean negative log-likelihood of the labels under softmax(z / T).

    NLL(T) = -(1 / N) sum_n log softmax(z_n / T)_{y_n}, natural log.

    Args:
      logits: Array (N, K) of finite logits.
      labels: N integer labels in [0, K).
      temperature: T > 0 (1: the raw model).

    Returns:
      The NLL, a float.
    """
    logits, labels = _logits_and_labels(logits, labels)
    log_p = log_probabilities(logits, temperature)
    return float(-np.mean(log_p[np.arange(labels.size), labels]))


def _nll_slope_in_beta(beta, logits, labels):
    """d NLL / d beta at beta = 1 / T: mean of E_p[z] - z_y, p =
    softmax(beta z). Increasing in beta (the NLL is convex in beta)."""
    probabilities = np.exp(scipy.special.log_softmax(beta * logits, axis=1))
    expected = np.sum(probabilities * logits, axis=1)
    return float(np.mean(expected - logits[np.arange(labels.size), labels]))


@dataclasses.dataclass(frozen=True)
class TemperatureFit:
    """A temperature fitted by `fit_temperature`.

    Attributes:
      temperature: The fitted T.
      nll_raw: The NLL of the fitting data at T = 1.
      nll_scaled: Their NLL at the fitted T (<= nll_raw when 1 is within
        the bounds).
      at_bound: "lower" or "upper" if T is a bound of the search (the
        optimum lies at or beyond it), else None.
    """

    temperature: float
    nll_raw: float
    nll_scaled: float
    at_bound: str | None


def fit_temperature(logits, labels, bounds=TEMPERATURE_BOUNDS):
    """Temperature scaling: the T > 0 of least NLL on the given logits.

    Minimizes NLL(T) (`negative_log_likelihood`) over T in `bounds`. With
    beta = 1 / T the NLL is convex, its slope mean_n(E_{p_n}[z_n] -
    z_{n,y_n}) increasing in beta: if the slope is >= 0 at the smallest
    beta the fit is the upper bound of T; if <= 0 at the largest beta, the
    lower bound; otherwise the slope's unique root, by `brentq` to
    double precision.

    Args:
      logits: Validation logits (N, K).
      labels: Validation labels, N integers in [0, K).
      bounds: (lowest, highest) T considered, 0 < lowest < highest.

    Returns:
      A `TemperatureFit`.
    """
    logits, labels = _logits_and_labels(logits, labels)
    low, high = bounds
    if not 0 < low < high:
        raise ValueError(f"bounds must satisfy 0 < low < high: {bounds}.")
    beta_low, beta_high = 1 / high, 1 / low
    at_bound = None
    if _nll_slope_in_beta(beta_low, logits, labels) >= 0:
        beta, at_bound = beta_low, "upper"
    elif _nll_slope_in_beta(beta_high, logits, labels) <= 0:
        beta, at_bound = beta_high, "lower"
    else:
        beta = scipy.optimize.brentq(
            _nll_slope_in_beta,
            beta_low,
            beta_high,
            args=(logits, labels),
            xtol=1e-14,
            rtol=4 * np.finfo(float).eps,
        )
    temperature = {"upper": high, "lower": low}.get(at_bound, 1 / beta)
    return TemperatureFit(
        float(temperature),
        negative_log_likelihood(logits, labels),
        negative_log_likelihood(logits, labels, temperature),
        at_bound,
    )


@dataclasses.dataclass(frozen=True)
class CalibrationBins:
    """Equal-width confidence bins.

    Attributes:
      upper_edges: (b + 1) / B for each bin b; bin b holds confidences in
        (b / B, (b + 1) / B] (the first bin also 0).
      counts: Examples per bin.
      accuracy: Fraction right per bin (NaN where empty).
      confidence: Mean confidence per bin (NaN where empty).
    """

    upper_edges: np.ndarray
    counts: np.ndarray
    accuracy: np.ndarray
    confidence: np.ndarray


def calibration_bins(confidences, correct, num_bins=NUM_BINS):
    """Bins examples by confidence into `num_bins` equal-width bins.

    Bin b (0-based) holds the confidences c with b / B < c <= (b + 1) / B,
    the edges being the doubles (b + 1) / B: a confidence exactly on an
    edge goes to the bin below it; 0 goes to the first bin.

    Args:
      confidences: One confidence in [0, 1] per example.
      correct: One bool per example: whether its prediction is right.
      num_bins: B, the number of bins.

    Returns:
      `CalibrationBins`.
    """
    confidences = np.asarray(confidences, dtype=float)
    correct = np.asarray(correct, dtype=bool)
    if confidences.ndim != 1 or confidences.shape != correct.shape:
        raise ValueError("one confidence and one correctness per example.")
    if not np.all((confidences >= 0) & (confidences <= 1)):
        raise ValueError("confidences must lie in [0, 1].")
    if num_bins < 1:
        raise ValueError("num_bins must be at least 1.")
    upper_edges = np.arange(1, num_bins + 1) / num_bins
    # The first edge >= c: c in (edge[b - 1], edge[b]].
    bins = np.searchsorted(upper_edges, confidences, side="left")
    counts = np.bincount(bins, minlength=num_bins)
    right = np.bincount(bins, weights=correct, minlength=num_bins)
    total = np.bincount(bins, weights=confidences, minlength=num_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(counts > 0, right / counts, np.nan)
        confidence = np.where(counts > 0, total / counts, np.nan)
    return CalibrationBins(upper_edges, counts, accuracy, confidence)


def confidences_and_correct(probabilities, labels):
    """Each example's confidence (largest probability) and whether its
    prediction (the arg max, the first on ties) is its label."""
    probabilities = np.asarray(probabilities, dtype=float)
    labels = np.asarray(labels)
    if probabilities.ndim != 2 or labels.shape != (probabilities.shape[0],):
        raise ValueError("probabilities (N, K) and N labels.")
    predictions = np.argmax(probabilities, axis=1)
    return probabilities.max(axis=1), predictions == labels


def expected_calibration_error(probabilities, labels, num_bins=NUM_BINS):
    """Expected calibration error with equal-width confidence bins.

    ECE = sum over bins b of (|b| / N) |acc(b) - conf(b)|, with the bins of
    `calibration_bins` (confidence = the largest probability; bin b holds
    (b / B, (b + 1) / B]), acc(b) the fraction of the bin's arg-max
    predictions that are right and conf(b) its mean confidence; empty bins
    contribute 0.

    Args:
      probabilities: Array (N, K) of predicted probabilities.
      labels: N integer labels.
      num_bins: B, the number of bins (15 in the studies).

    Returns:
      The ECE, a float in [0, 1].
    """
    confidences, correct = confidences_and_correct(probabilities, labels)
    bins = calibration_bins(confidences, correct, num_bins)
    filled = bins.counts > 0
    gaps = np.abs(bins.accuracy[filled] - bins.confidence[filled])
    return float(np.sum(bins.counts[filled] / confidences.size * gaps))


@dataclasses.dataclass(frozen=True)
class CalibrationMetrics:
    """A model's test calibration, raw and temperature-scaled.

    Attributes:
      temperature: T fitted on the validation logits (`fit_temperature`).
      at_bound: The fit's `at_bound`.
      validation_nll_raw, validation_nll_scaled: NLL of the validation
        split at T = 1 and at T.
      test_accuracy: Test accuracy (the same at any T).
      test_nll_raw, test_nll_scaled: Test NLL at T = 1 and at T.
      test_ece_raw, test_ece_scaled: Test ECE at T = 1 and at T.
    """

    temperature: float
    at_bound: str | None
    validation_nll_raw: float
    validation_nll_scaled: float
    test_accuracy: float
    test_nll_raw: float
    test_nll_scaled: float
    test_ece_raw: float
    test_ece_scaled: float


def calibration_metrics(
    validation_logits,
    validation_labels,
    test_logits,
    test_labels,
    num_bins=NUM_BINS,
    bounds=TEMPERATURE_BOUNDS,
):
    """Test NLL and ECE, raw and after temperature scaling on validation.

    Args:
      validation_logits, validation_labels: The split T is fitted on.
      test_logits, test_labels: The split the metrics are measured on.
      num_bins: Bins of the ECE.
      bounds: The temperature's bounds.

    Returns:
      `CalibrationMetrics`.
    """
    fit = fit_temperature(validation_logits, validation_labels, bounds)
    test_logits, test_labels = _logits_and_labels(test_logits, test_labels)
    raw = np.exp(log_probabilities(test_logits))
    scaled = np.exp(log_probabilities(test_logits, fit.temperature))
    return CalibrationMetrics(
        temperature=fit.temperature,
        at_bound=fit.at_bound,
        validation_nll_raw=fit.nll_raw,
        validation_nll_scaled=fit.nll_scaled,
        test_accuracy=float(
            np.mean(np.argmax(test_logits, axis=1) == test_labels)
        ),
        test_nll_raw=negative_log_likelihood(test_logits, test_labels),
        test_nll_scaled=negative_log_likelihood(
            test_logits, test_labels, fit.temperature
        ),
        test_ece_raw=expected_calibration_error(raw, test_labels, num_bins),
        test_ece_scaled=expected_calibration_error(
            scaled, test_labels, num_bins
        ),
    )
