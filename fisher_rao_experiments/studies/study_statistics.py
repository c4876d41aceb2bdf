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
"""Statistics of the studies: rank correlations and paired comparisons.

Pure numpy and scipy, on numbers taken from results files.

Rank correlation of a complexity measure with a generalization gap
(Jiang et al. 2019, "Fantastic generalization measures"):
  * `kendall_tau`: scipy's Kendall tau-b over all models. It is undefined
    when the measure or the gap is constant (scipy returns NaN); then the
    value is None and the reason says why.
  * `granulated_tau`: for each hyper-parameter axis, the models are grouped
    by every other setting (seed included), so each group differs in that
    axis alone; psi_axis = mean of tau over the groups where tau is defined,
    and the granulated tau is the mean of psi over the axes.
  * `bootstrap_tau_interval`: percentile bootstrap over models (models drawn
    with replacement, the measure and gap of a model kept together).
    Resamples where tau is undefined (a constant measure drawn) are left
    out, up to 1 % of them; beyond that there is no interval.
  * `bootstrap_granulated_interval`: percentile bootstrap over the groups of
    each axis (a cluster bootstrap: the groups are the units psi averages;
    each axis's groups are drawn independently).

Paired comparisons of trained arms that share seeds:
  * `paired_difference`: mean of per-seed differences on the shared seeds,
    its t interval and two-sided p-value (scipy's `ttest_rel`).
  * `holm_adjust`: Holm's step-down adjusted p-values (scipy has none).
  * `smallest_benefit_ruled_out` and `smallest_harm_ruled_out`: the
    interval's bounds read as the effects a comparison rules out.
"""

import collections
import dataclasses
import warnings

import numpy as np
import scipy.stats

CONFIDENCE_LEVEL = 0.95
# Largest fraction of bootstrap resamples with an undefined statistic that
# an interval may leave out.
MAX_UNDEFINED_RESAMPLES = 0.01


# --------------------------------------------------------------------------
# Rank correlation.


@dataclasses.dataclass(frozen=True)
class Tau:
    """A Kendall tau, or None with the reason it is undefined."""

    value: float | None
    num_models: int
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class AxisTau:
    """psi of one hyper-parameter axis: tau within groups differing in it.

    Attributes:
      axis: The hyper-parameter's name.
      value: Mean of `group_taus`, or None (see `reason`).
      group_taus: Tau of every group where it is defined.
      num_groups: Groups of at least 2 models.
      num_undefined: Of those, groups whose tau is undefined (measure or gap
        constant within the group).
      reason: Why `value` is None, else None.
    """

    axis: str
    value: float | None
    group_taus: tuple
    num_groups: int
    num_undefined: int
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class GranulatedTau:
    """Mean of psi over the axes; None if psi is undefined on any axis."""

    value: float | None
    per_axis: tuple
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Interval:
    """A confidence interval, or None bounds with the reason.

    `undefined_resamples` counts the bootstrap resamples where the
    statistic was undefined and which the interval leaves out.
    """

    low: float | None
    high: float | None
    reason: str | None = None
    undefined_resamples: int = 0


def _as_finite_vector(values, name):
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional.")
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} holds non-finite values; leave those models out first."
        )
    return array


def _paired_vectors(measure, gap):
    measure = _as_finite_vector(measure, "measure")
    gap = _as_finite_vector(gap, "gap")
    if measure.shape != gap.shape:
        raise ValueError(
            f"measure and gap differ in length "
            f"({measure.size} and {gap.size})."
        )
    return measure, gap


def _undefined_tau_reason(measure, gap):
    """Why tau-b of the pairs is undefined, or None if it is defined."""
    if measure.size < 2:
        return f"{measure.size} model(s): tau needs at least 2"
    if np.unique(measure).size < 2:
        return "the measure is constant over the models"
    if np.unique(gap).size < 2:
        return "the gap is constant over the models"
    return None


def kendall_tau(measure, gap):
    """Kendall's tau-b between a measure and a gap over models.

    tau-b = (concordant - discordant) / sqrt((n0 - ties in measure)
    (n0 - ties in gap)), n0 = n (n - 1) / 2: scipy's `kendalltau`, which
    does not count pairs tied in one variable against the measure.

    Args:
      measure: One finite value per model.
      gap: One finite value per model, in the same order.

    Returns:
      A `Tau`; its value is None when fewer than 2 models are given or
      either variable is constant (scipy would return NaN).

    Raises:
      ValueError: If the inputs differ in length or hold non-finite values.
    """
    measure, gap = _paired_vectors(measure, gap)
    reason = _undefined_tau_reason(measure, gap)
    if reason:
        return Tau(None, measure.size, reason)
    return Tau(
        float(scipy.stats.kendalltau(measure, gap).statistic), measure.size
    )


def _groups_differing_only_in(settings, axis):
    """Indices of models grouped by every setting but `axis`."""
    groups = collections.defaultdict(list)
    for index, setting in enumerate(settings):
        key = tuple(
            sorted(
                (name, value)
                for name, value in setting.items()
                if name != axis
            )
        )
        groups[key].append(index)
    return [indices for indices in groups.values() if len(indices) >= 2]


def axis_tau(settings, measure, gap, axis):
    """psi of one axis: mean tau over groups of models differing in it alone.

    Args:
      settings: One dict per model of the hyper-parameters that define it
        (the axes and the seed); models equal in all but `axis` form a
        group.
      measure: One finite value per model.
      gap: One finite value per model.
      axis: Name of the hyper-parameter that varies within a group.

    Returns:
      An `AxisTau`. Groups of one model are no comparison and are dropped;
      groups whose tau is undefined are counted in `num_undefined` and left
      out of the mean.
    """
    measure, gap = _paired_vectors(measure, gap)
    if len(settings) != measure.size:
        raise ValueError(
            f"{len(settings)} settings for {measure.size} models."
        )
    missing = [
        index for index, setting in enumerate(settings) if axis not in setting
    ]
    if missing:
        raise ValueError(f"models {missing} have no setting of {axis!r}.")
    groups = _groups_differing_only_in(settings, axis)
    taus = [
        kendall_tau(measure[indices], gap[indices]).value for indices in groups
    ]
    defined = tuple(tau for tau in taus if tau is not None)
    num_undefined = len(taus) - len(defined)
    if defined:
        return AxisTau(
            axis, float(np.mean(defined)), defined, len(groups), num_undefined
        )
    if not groups:
        reason = f"no two models differ in {axis} alone"
    else:
        reason = (
            f"tau is undefined in all {len(groups)} groups differing "
            f"in {axis} alone (measure or gap constant within each)"
        )
    return AxisTau(axis, None, (), len(groups), num_undefined, reason)


def granulated_tau(settings, measure, gap, axes):
    """Jiang et al.'s granulated tau: the mean over axes of `axis_tau`.

    Args:
      settings: One dict per model of the hyper-parameters that define it;
        see `axis_tau`.
      measure: One finite value per model.
      gap: One finite value per model.
      axes: Names of the hyper-parameter axes.

    Returns:
      A `GranulatedTau`. Its value is None if psi is undefined on any axis,
      so that every measure's value averages the same axes.
    """
    if not axes:
        raise ValueError("granulated tau needs at least one axis.")
    per_axis = tuple(axis_tau(settings, measure, gap, axis) for axis in axes)
    undefined = [psi.axis for psi in per_axis if psi.value is None]
    if undefined:
        return GranulatedTau(
            None, per_axis, f"undefined on the axes {undefined}"
        )
    return GranulatedTau(
        float(np.mean([psi.value for psi in per_axis])), per_axis
    )


def _vectorized_tau(measure, gap, axis):
    return scipy.stats.kendalltau(measure, gap, axis=axis).statistic


def _mean_of_means(*samples, axis):
    return np.mean([np.mean(sample, axis=axis) for sample in samples], axis=0)


def _percentile_bootstrap(
    data, statistic, paired, n_resamples, seed, confidence
):
    """scipy's bootstrap distribution, and its middle `confidence`.

    Resamples where the statistic is undefined (NaN: e.g. a constant
    measure drawn) are left out if they are at most
    MAX_UNDEFINED_RESAMPLES of all, else there is no interval.
    """
    with warnings.catch_warnings():
        # NaN resamples make scipy warn; they are handled below.
        warnings.simplefilter("ignore")
        result = scipy.stats.bootstrap(
            data,
            statistic,
            paired=paired,
            vectorized=True,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    distribution = result.bootstrap_distribution
    defined = distribution[np.isfinite(distribution)]
    undefined = distribution.size - defined.size
    if undefined > MAX_UNDEFINED_RESAMPLES * distribution.size:
        return Interval(
            None,
            None,
            f"the statistic is undefined in "
            f"{undefined} of {n_resamples} resamples (too few "
            "distinct values)",
            undefined,
        )
    # The percentile method, as scipy computes it.
    tail = 50 * (1 - confidence)
    low, high = np.percentile(defined, [tail, 100 - tail])
    return Interval(float(low), float(high), None, undefined)


def bootstrap_tau_interval(
    measure, gap, *, n_resamples, seed, confidence=CONFIDENCE_LEVEL
):
    """Percentile bootstrap interval of `kendall_tau` over models.

    Each resample draws len(measure) models with replacement, keeping each
    model's measure and gap together; the interval is the middle
    `confidence` of the resampled taus.

    Args:
      measure: One finite value per model.
      gap: One finite value per model.
      n_resamples: Number of bootstrap resamples.
      seed: Seed of the resampling (same seed, same interval).
      confidence: Confidence level.

    Returns:
      An `Interval`; None bounds with a reason when tau is undefined on the
      data or on some resample.
    """
    measure, gap = _paired_vectors(measure, gap)
    reason = _undefined_tau_reason(measure, gap)
    if reason:
        return Interval(None, None, reason)
    return _percentile_bootstrap(
        (measure, gap), _vectorized_tau, True, n_resamples, seed, confidence
    )


def bootstrap_granulated_interval(
    granulated, *, n_resamples, seed, confidence=CONFIDENCE_LEVEL
):
    """Percentile bootstrap interval of a granulated tau over groups.

    Each resample draws, for every axis independently, that axis's groups
    with replacement (as many as it has) and recomputes mean over axes of
    the mean group tau. Groups, not models, are drawn: psi is a mean over
    groups, and drawing models would break the groups (duplicates within a
    group are ties, and groups would vanish).

    Args:
      granulated: A `GranulatedTau` from `granulated_tau`.
      n_resamples: Number of bootstrap resamples.
      seed: Seed of the resampling.
      confidence: Confidence level.

    Returns:
      An `Interval`; None bounds with a reason when the granulated tau is
      undefined or an axis has fewer than 2 groups to draw from.
    """
    if granulated.value is None:
        return Interval(None, None, granulated.reason)
    thin = [psi.axis for psi in granulated.per_axis if len(psi.group_taus) < 2]
    if thin:
        return Interval(
            None, None, f"the axes {thin} have fewer than 2 groups to resample"
        )
    samples = tuple(np.asarray(psi.group_taus) for psi in granulated.per_axis)
    return _percentile_bootstrap(
        samples, _mean_of_means, False, n_resamples, seed, confidence
    )


# --------------------------------------------------------------------------
# Paired comparisons.


@dataclasses.dataclass(frozen=True)
class PairedDifference:
    """Treatment minus control over the seeds both have.

    Attributes:
      seeds: The shared seeds, sorted.
      differences: Treatment minus control, per shared seed.
      mean: Mean difference (None without shared seeds).
      low, high: Bounds of the t interval of the mean.
      p_value: Two-sided p-value of the paired t-test (mean 0).
      reason: Why the interval and p-value are None, else None.
    """

    seeds: tuple
    differences: tuple
    mean: float | None
    low: float | None
    high: float | None
    p_value: float | None
    reason: str | None = None


def _finite_by_seed(values, name):
    bad = sorted(
        seed for seed, value in values.items() if not np.isfinite(value)
    )
    if bad:
        raise ValueError(f"{name} has non-finite values for seeds {bad}.")


def paired_difference(treatment, control, confidence=CONFIDENCE_LEVEL):
    """Mean paired difference on shared seeds, with its t interval.

    d_s = treatment[s] - control[s] for s in the seeds both have; mean(d),
    mean(d) +- t_{n-1} sd(d) / sqrt(n) and the p-value of mean(d) = 0, from
    scipy's `ttest_rel`. Seeds of only one side are left out.

    Args:
      treatment: Mapping seed -> finite value.
      control: Mapping seed -> finite value.
      confidence: Confidence level of the interval.

    Returns:
      A `PairedDifference`. With fewer than 2 shared seeds, or differences
      identical on every seed (sd 0: the t statistic is undefined or
      infinite), the interval and p-value are None and `reason` says why.

    Raises:
      ValueError: If a value is not finite.
    """
    _finite_by_seed(treatment, "treatment")
    _finite_by_seed(control, "control")
    seeds = tuple(sorted(set(treatment) & set(control)))
    treated = np.array([treatment[seed] for seed in seeds], dtype=float)
    controlled = np.array([control[seed] for seed in seeds], dtype=float)
    differences = treated - controlled
    mean = float(differences.mean()) if seeds else None
    if len(seeds) < 2:
        return PairedDifference(
            seeds,
            tuple(differences),
            mean,
            None,
            None,
            None,
            f"{len(seeds)} shared seed(s): a "
            "paired t interval needs at least 2",
        )
    if np.all(differences == differences[0]):
        return PairedDifference(
            seeds,
            tuple(differences),
            mean,
            None,
            None,
            None,
            "the difference is the same on every "
            "seed: the t interval is undefined",
        )
    result = scipy.stats.ttest_rel(treated, controlled)
    interval = result.confidence_interval(confidence)
    return PairedDifference(
        seeds,
        tuple(differences),
        mean,
        float(interval.low),
        float(interval.high),
        float(result.pvalue),
    )


def holm_adjust(p_values):
    """Holm's step-down adjusted p-values.

    With the m p-values in ascending order p_(1) <= ... <= p_(m),
    adjusted p_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)); rejecting where
    the adjusted value is <= alpha controls the family-wise error rate at
    alpha. scipy 1.17 has no Holm (`false_discovery_control` is
    Benjamini-Hochberg, an FDR method).

    Args:
      p_values: Sequence of p-values in [0, 1].

    Returns:
      A float array of the adjusted p-values, in the input's order.

    Raises:
      ValueError: If a p-value is not in [0, 1].
    """
    p_values = np.asarray(p_values, dtype=float)
    if p_values.ndim != 1:
        raise ValueError("p_values must be one-dimensional.")
    if not np.all((p_values >= 0) & (p_values <= 1)):
        raise ValueError("p-values must be numbers in [0, 1].")
    count = p_values.size
    order = np.argsort(p_values, kind="stable")
    scaled = (count - np.arange(count)) * p_values[order]
    adjusted = np.empty(count)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def smallest_benefit_ruled_out(difference, higher_is_better):
    """The smallest benefit the interval rules out, or None.

    Benefits larger than this are outside the interval: the interval's
    upper bound when higher is better (accuracy), minus its lower bound
    otherwise (loss). A negative value rules out even no effect: the
    treatment is worse.

    Args:
      difference: A `PairedDifference` (treatment minus control).
      higher_is_better: Whether a larger value of the metric is better.
    """
    if difference.low is None:
        return None
    return difference.high if higher_is_better else -difference.low


def smallest_harm_ruled_out(difference, higher_is_better):
    """The smallest harm the interval rules out, or None (as above)."""
    if difference.low is None:
        return None
    return -difference.low if higher_is_better else difference.high
