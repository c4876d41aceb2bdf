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
(Jiang et al. 2019, "Fantastic generalization measures"), over models
whose identity is (grid point, seed):
  * `kendall_tau`: scipy's Kendall tau-b over all models. It is undefined
    when the measure or the gap is constant (scipy returns NaN); then the
    value is None and the reason says why.
  * `sign_agreement_tau`: Jiang et al.'s tau, Kendall's tau-a: the mean
    over pairs of sign(dmeasure) sign(dgap), a pair tied in either
    counting 0 (tau-b instead drops tied pairs from its normalization).
  * `jiang_granulated_tau`: Jiang et al.'s granulated tau. For each axis
    i, the models are grouped by every other setting (the seed included),
    so each group varies axis i alone; psi_i = mean over the groups of
    `sign_agreement_tau` within the group (ties count 0); the granulated
    tau is the mean of psi_i over the axes.
  * The bootstrap over seeds (`draw_seed_resamples`,
    `seed_bootstrap_correlation`): a resample draws as many seeds as there
    are, with replacement, and keeps each drawn seed's whole grid of models
    together; a seed drawn twice contributes two copies of its models.
    Percentile intervals; the same resamples serve every measure, so
    `tau_difference` and `compare_measures` give paired differences of tau
    and granulated tau between measures, with intervals.
  * `percentile_interval`: the percentile interval of a bootstrap
    distribution, leaving out rare undefined resamples.

Paired comparisons of trained arms that share seeds:
  * `paired_difference`: mean of per-seed differences on the shared seeds,
    its t interval and two-sided p-value (scipy's `ttest_rel`).
  * `holm_adjust`: Holm's step-down adjusted p-values (scipy has none).
  * `largest_benefit_possible` and `largest_harm_possible` (the same as
    `smallest_benefit_ruled_out` and `smallest_harm_ruled_out`): the
    interval's bounds read as the largest effects it leaves possible.
  * `ComparisonFamily` and `evaluate_family`: comparisons named in code
    before any number is read, tested together with Holm's adjustment
    within the family.
"""

import collections
import dataclasses

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


def percentile_interval(distribution, confidence=CONFIDENCE_LEVEL):
    """The middle `confidence` of a bootstrap distribution.

    The bounds are numpy's linearly interpolated percentiles
    50 (1 - confidence) and 100 - 50 (1 - confidence) of the resampled
    values (the percentile method, as scipy's `bootstrap` computes it).
    Non-finite values (resamples where the statistic is undefined) are left
    out if they are at most MAX_UNDEFINED_RESAMPLES of all; beyond that
    there is no interval.

    Args:
      distribution: The statistic on each resample (NaN where undefined).
      confidence: Confidence level.

    Returns:
      An `Interval`, counting the resamples left out.
    """
    distribution = np.asarray(distribution, dtype=float).ravel()
    if distribution.size == 0:
        return Interval(None, None, "no resamples")
    defined = distribution[np.isfinite(distribution)]
    undefined = distribution.size - defined.size
    if undefined > MAX_UNDEFINED_RESAMPLES * distribution.size:
        return Interval(
            None,
            None,
            f"the statistic is undefined in "
            f"{undefined} of {distribution.size} resamples (too few "
            "distinct values)",
            undefined,
        )
    tail = 50 * (1 - confidence)
    low, high = np.percentile(defined, [tail, 100 - tail])
    return Interval(float(low), float(high), None, undefined)


# --------------------------------------------------------------------------
# Jiang et al.'s tau (ties count 0), granulated tau, bootstrap over seeds.


def _sign_matrix(values):
    """sign(values[i] - values[j]) for every ordered pair (i, j)."""
    return np.sign(values[:, None] - values[None, :])


def sign_agreement_tau(measure, gap):
    """Jiang et al.'s tau: Kendall's tau-a, ties counting 0.

    tau = sum over pairs i < j of sign(m_i - m_j) sign(g_i - g_j), divided
    by the number of pairs n (n - 1) / 2. A pair tied in the measure or in
    the gap contributes 0 to the sum and still counts among the pairs, so
    ties pull tau towards 0 (tau-b, `kendall_tau`, instead leaves them out
    of its normalization). A constant measure gives 0, not an undefined
    value. Without ties tau-a equals tau-b.

    Args:
      measure: One finite value per model.
      gap: One finite value per model, in the same order.

    Returns:
      The tau, a float in [-1, 1].

    Raises:
      ValueError: If fewer than 2 models are given, the inputs differ in
        length or hold non-finite values.
    """
    measure, gap = _paired_vectors(measure, gap)
    count = measure.size
    if count < 2:
        raise ValueError(f"{count} model(s): tau needs at least 2.")
    agreement = _sign_matrix(measure) * _sign_matrix(gap)
    # The ordered pairs count every pair twice; the diagonal is 0.
    return float(agreement.sum() / (count * (count - 1)))


@dataclasses.dataclass(frozen=True)
class JiangAxisTau:
    """psi of one axis in Jiang et al.'s granulated tau.

    Attributes:
      axis: The hyper-parameter's name.
      value: Mean over `num_groups` groups of `sign_agreement_tau` within
        the group; None if there is no group (see `reason`).
      num_groups: Groups of at least 2 models equal in every setting but
        `axis`.
      num_singletons: Models alone in their group (a value of `axis`
        without a partner, e.g. its other runs missing): no comparison,
        left out.
      reason: Why `value` is None, else None.
    """

    axis: str
    value: float | None
    num_groups: int
    num_singletons: int
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class JiangGranulatedTau:
    """Mean of psi over the axes; None if some axis has no group."""

    value: float | None
    per_axis: tuple
    reason: str | None = None


def _all_groups_differing_only_in(settings, axis):
    """Indices of models grouped by every setting but `axis`, singletons
    included, in order of first appearance."""
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
    return list(groups.values())


def _check_settings(settings, count, axes):
    if len(settings) != count:
        raise ValueError(f"{len(settings)} settings for {count} models.")
    if not axes:
        raise ValueError("granulated tau needs at least one axis.")
    for axis in axes:
        missing = [
            index
            for index, setting in enumerate(settings)
            if axis not in setting
        ]
        if missing:
            raise ValueError(f"models {missing} have no setting of {axis!r}.")


def _group_taus(settings, measure, gap, axis):
    """(indices, tau-a) of every group of >= 2 models varying `axis` alone,
    and the number of singletons."""
    groups = _all_groups_differing_only_in(settings, axis)
    taus = [
        (indices, sign_agreement_tau(measure[indices], gap[indices]))
        for indices in groups
        if len(indices) >= 2
    ]
    return taus, sum(len(indices) == 1 for indices in groups)


def jiang_granulated_tau(settings, measure, gap, axes):
    """Jiang et al.'s granulated tau, ties counting 0.

    For axis i, the models are grouped by every setting other than i (the
    seed included, when the settings hold it), so that each group varies i
    alone; psi_i = the mean over the groups of `sign_agreement_tau` (tau-a:
    a pair tied in the measure or the gap counts 0) within the group. The
    granulated tau is the mean of psi_i over the axes. On a complete grid
    the groups are Jiang et al.'s m_i combinations of the other axes' values
    (and seeds); a model alone in its group is no comparison and is left
    out. No group's tau is ever undefined (tau-b within groups would be
    for a constant measure): a measure constant within a group scores 0
    there.

    Args:
      settings: One dict per model of the hyper-parameters that define it
        (the axes and the seed).
      measure: One finite value per model.
      gap: One finite value per model.
      axes: Names of the hyper-parameter axes.

    Returns:
      A `JiangGranulatedTau`, with psi per axis in the order of `axes`. Its
      value is None if an axis has no group of 2 models.

    Raises:
      ValueError: If the inputs are inconsistent (lengths, a setting
        missing, no axis) or hold non-finite values.
    """
    measure, gap = _paired_vectors(measure, gap)
    _check_settings(settings, measure.size, axes)
    per_axis = []
    for axis in axes:
        taus, singletons = _group_taus(settings, measure, gap, axis)
        if taus:
            value = float(np.mean([tau for _, tau in taus]))
            per_axis.append(JiangAxisTau(axis, value, len(taus), singletons))
        else:
            per_axis.append(
                JiangAxisTau(
                    axis,
                    None,
                    0,
                    singletons,
                    f"no two models differ in {axis} alone",
                )
            )
    undefined = [psi.axis for psi in per_axis if psi.value is None]
    if undefined:
        return JiangGranulatedTau(
            None, tuple(per_axis), f"no groups on the axes {undefined}"
        )
    return JiangGranulatedTau(
        float(np.mean([psi.value for psi in per_axis])), tuple(per_axis)
    )


@dataclasses.dataclass(frozen=True, eq=False)
class SeedResamples:
    """Bootstrap resamples of seeds, shared by every measure.

    Attributes:
      seeds: The distinct seeds, sorted.
      counts: Integer array (n_resamples, len(seeds)): how many times each
        seed is drawn in each resample (each row sums to len(seeds)).
      rng_seed: The seed of the generator that drew them.
    """

    seeds: tuple
    counts: np.ndarray
    rng_seed: int

    def same_as(self, other):
        """Whether `other` holds the same resamples."""
        return self.seeds == other.seeds and np.array_equal(
            self.counts, other.counts
        )


def draw_seed_resamples(seeds, n_resamples, rng_seed):
    """Draws the resamples of a bootstrap over seeds.

    With S distinct seeds, each resample draws S of them with replacement
    (`numpy.random.default_rng(rng_seed).integers(0, S, (n_resamples, S))`
    indexes the sorted seeds); a seed drawn k times brings k copies of its
    whole grid of models. The same rng_seed gives the same resamples.

    Args:
      seeds: The seeds of the models (repetitions are fine).
      n_resamples: Number of resamples.
      rng_seed: Seed of the random generator.

    Returns:
      `SeedResamples`.

    Raises:
      ValueError: If there is no seed or n_resamples < 1.
    """
    distinct = tuple(sorted(set(seeds)))
    if not distinct:
        raise ValueError("no seeds to resample.")
    if n_resamples < 1:
        raise ValueError("n_resamples must be at least 1.")
    draws = np.random.default_rng(rng_seed).integers(
        0, len(distinct), (n_resamples, len(distinct))
    )
    counts = (draws[:, :, None] == np.arange(len(distinct))).sum(axis=1)
    return SeedResamples(distinct, counts, rng_seed)


def _seed_membership(model_seeds, resamples):
    """Indicator matrix (models, seeds) of each model's seed."""
    position = {seed: index for index, seed in enumerate(resamples.seeds)}
    unknown = sorted({seed for seed in model_seeds if seed not in position})
    if unknown:
        raise ValueError(f"seeds {unknown} are not in the resamples.")
    membership = np.zeros((len(model_seeds), len(resamples.seeds)))
    for index, seed in enumerate(model_seeds):
        membership[index, position[seed]] = 1.0
    return membership


def _quadratic_forms(counts, matrix):
    """counts[r] @ matrix @ counts[r] for every resample r."""
    return np.einsum("rs,st,rt->r", counts, matrix, counts)


def resampled_kendall_tau(measure, gap, model_seeds, resamples):
    """`kendall_tau` (tau-b) on every resample of seeds.

    A resample's models are the drawn seeds' models, with multiplicity. For
    seeds a, b let C_ab = sum over models i of a, j of b of sign(m_i - m_j)
    sign(g_i - g_j), and X_ab (Y_ab) the number of such pairs untied in the
    measure (gap). With w the resample's counts, tau-b = w'Cw /
    sqrt(w'Xw w'Yw): the ordered pairs of the concatenated models (a model
    and its own copy are a pair tied in both). This equals scipy's
    `kendalltau` on the concatenation, without building it.

    Args:
      measure: One finite value per model.
      gap: One finite value per model.
      model_seeds: The seed of each model.
      resamples: `SeedResamples` holding every model's seed.

    Returns:
      Float array (n_resamples,): tau-b per resample, NaN where undefined
      (the measure or the gap constant over the resample).
    """
    measure, gap = _paired_vectors(measure, gap)
    if len(model_seeds) != measure.size:
        raise ValueError(
            f"{len(model_seeds)} seeds for {measure.size} models."
        )
    membership = _seed_membership(model_seeds, resamples)
    measure_signs = _sign_matrix(measure)
    gap_signs = _sign_matrix(gap)
    counts = resamples.counts.astype(float)

    def by_seeds(matrix):
        return _quadratic_forms(counts, membership.T @ matrix @ membership)

    numerator = by_seeds(measure_signs * gap_signs)
    untied = by_seeds(measure_signs != 0) * by_seeds(gap_signs != 0)
    taus = np.full(counts.shape[0], np.nan)
    defined = untied > 0
    taus[defined] = numerator[defined] / np.sqrt(untied[defined])
    return taus


def resampled_jiang_granulated_tau(
    settings, measure, gap, axes, resamples, *, seed_key
):
    """`jiang_granulated_tau` on every resample of seeds.

    Every group lies within one seed (the seed is among the settings a
    group shares). With A_is the sum of the group taus of axis i in seed s
    and N_is their number, a resample with counts w has psi_i = w'A_i /
    w'N_i (the mean over the drawn copies' groups) and the granulated tau
    is the mean of psi_i over the axes.

    Args:
      settings: One dict per model, holding the axes and `seed_key`.
      measure: One finite value per model.
      gap: One finite value per model.
      axes: Names of the hyper-parameter axes (not `seed_key`).
      resamples: `SeedResamples` holding every model's seed.
      seed_key: The name of the seed in `settings`.

    Returns:
      (psi, granulated): float arrays (n_resamples, len(axes)) and
      (n_resamples,); NaN where a resample has no group on an axis.
    """
    measure, gap = _paired_vectors(measure, gap)
    if seed_key in axes:
        raise ValueError(f"the seed {seed_key!r} cannot be an axis.")
    _check_settings(settings, measure.size, (*axes, seed_key))
    position = {seed: index for index, seed in enumerate(resamples.seeds)}
    # Validates that every model's seed is resampled.
    _seed_membership([setting[seed_key] for setting in settings], resamples)
    sums = np.zeros((len(axes), len(resamples.seeds)))
    numbers = np.zeros_like(sums)
    for axis_index, axis in enumerate(axes):
        taus, _ = _group_taus(settings, measure, gap, axis)
        for indices, tau in taus:
            seed_index = position[settings[indices[0]][seed_key]]
            sums[axis_index, seed_index] += tau
            numbers[axis_index, seed_index] += 1
    counts = resamples.counts.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        psi = (counts @ sums.T) / (counts @ numbers.T)
    # NaN on any axis makes the mean NaN: no granulated tau then.
    return psi, psi.mean(axis=1)


def _too_few_seeds(resamples):
    if len(resamples.seeds) < 2:
        return (
            f"{len(resamples.seeds)} seed(s): a bootstrap over seeds needs "
            "at least 2"
        )
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class SeedBootstrapCorrelation:
    """A measure's rank correlation with a gap, with seed-bootstrap
    intervals.

    Attributes:
      tau: `kendall_tau` (tau-b) over all models.
      tau_interval: Its percentile interval over the seed resamples.
      granulated: `jiang_granulated_tau` (ties count 0).
      granulated_interval: Its percentile interval.
      axes: The axes, in the order of the per-axis fields.
      axis_intervals: Percentile interval of each axis's psi.
      resamples: The `SeedResamples` (shared by the measures compared).
      tau_resampled, granulated_resampled: The statistic per resample
        (NaN where undefined), shape (n_resamples,).
      axis_resampled: psi per resample and axis, (n_resamples, axes).
      confidence: The intervals' confidence level.
    """

    tau: Tau
    tau_interval: Interval
    granulated: JiangGranulatedTau
    granulated_interval: Interval
    axes: tuple
    axis_intervals: tuple
    resamples: SeedResamples
    tau_resampled: np.ndarray
    granulated_resampled: np.ndarray
    axis_resampled: np.ndarray
    confidence: float


def _interval_or_reason(value, reason, distribution, resamples, confidence):
    if value is None:
        return Interval(None, None, reason)
    few = _too_few_seeds(resamples)
    if few:
        return Interval(None, None, few)
    return percentile_interval(distribution, confidence)


def seed_bootstrap_correlation(
    settings,
    measure,
    gap,
    axes,
    resamples,
    *,
    seed_key,
    confidence=CONFIDENCE_LEVEL,
):
    """Tau-b and granulated tau of a measure, intervals over seeds.

    The point estimates are on all models; the intervals are percentile
    intervals (`percentile_interval`) of the statistics on the resamples of
    `resamples` (`resampled_kendall_tau`,
    `resampled_jiang_granulated_tau`): whole seeds drawn with replacement,
    each seed's grid kept together. With fewer than 2 seeds there is no
    interval.

    Args:
      settings: One dict per model, holding the axes and `seed_key`.
      measure: One finite value per model (leave out the models where the
        measure is undefined first).
      gap: One finite value per model.
      axes: Names of the hyper-parameter axes.
      resamples: `SeedResamples` from `draw_seed_resamples`; use the same
        for every measure to compare measures (`tau_difference`).
      seed_key: The name of the seed in `settings`.
      confidence: Confidence level.

    Returns:
      A `SeedBootstrapCorrelation`.
    """
    axes = tuple(axes)
    measure, gap = _paired_vectors(measure, gap)
    model_seeds = [setting[seed_key] for setting in settings]
    tau = kendall_tau(measure, gap)
    granulated = jiang_granulated_tau(settings, measure, gap, axes)
    tau_resampled = resampled_kendall_tau(measure, gap, model_seeds, resamples)
    psi_resampled, granulated_resampled = resampled_jiang_granulated_tau(
        settings, measure, gap, axes, resamples, seed_key=seed_key
    )
    return SeedBootstrapCorrelation(
        tau=tau,
        tau_interval=_interval_or_reason(
            tau.value, tau.reason, tau_resampled, resamples, confidence
        ),
        granulated=granulated,
        granulated_interval=_interval_or_reason(
            granulated.value,
            granulated.reason,
            granulated_resampled,
            resamples,
            confidence,
        ),
        axes=axes,
        axis_intervals=tuple(
            _interval_or_reason(
                psi.value,
                psi.reason,
                psi_resampled[:, index],
                resamples,
                confidence,
            )
            for index, psi in enumerate(granulated.per_axis)
        ),
        resamples=resamples,
        tau_resampled=tau_resampled,
        granulated_resampled=granulated_resampled,
        axis_resampled=psi_resampled,
        confidence=confidence,
    )


@dataclasses.dataclass(frozen=True)
class BootstrapDifference:
    """A statistic of one measure minus another's, on the same resamples.

    Attributes:
      estimate: The difference on all models (None if either is None).
      low, high: Percentile interval of the per-resample differences.
      fraction_positive: Share of the resamples (where both are defined)
        in which the first measure's statistic is the larger.
      reason: Why the estimate or interval is None, else None.
      undefined_resamples: Resamples left out of the interval.
    """

    estimate: float | None
    low: float | None
    high: float | None
    fraction_positive: float | None
    reason: str | None = None
    undefined_resamples: int = 0


def _bootstrap_difference(
    first, second, first_resampled, second_resampled, resamples, confidence
):
    if first.value is None or second.value is None:
        reason = first.reason if first.value is None else second.reason
        return BootstrapDifference(None, None, None, None, reason)
    estimate = first.value - second.value
    few = _too_few_seeds(resamples)
    if few:
        return BootstrapDifference(estimate, None, None, None, few)
    differences = first_resampled - second_resampled
    interval = percentile_interval(differences, confidence)
    defined = differences[np.isfinite(differences)]
    fraction = float(np.mean(defined > 0)) if defined.size else None
    return BootstrapDifference(
        estimate,
        interval.low,
        interval.high,
        fraction,
        interval.reason,
        interval.undefined_resamples,
    )


@dataclasses.dataclass(frozen=True)
class TauDifference:
    """Paired differences between two measures' correlations.

    Attributes:
      tau: Difference of tau-b over all models.
      granulated: Difference of the granulated tau.
      axes: The axes.
      per_axis: Difference of psi, per axis.
    """

    tau: BootstrapDifference
    granulated: BootstrapDifference
    axes: tuple
    per_axis: tuple


def tau_difference(first, second, confidence=None):
    """First measure's correlation minus the second's, paired by resample.

    The difference of each statistic is computed on each resample of seeds
    (both measures on the same models of the same drawn seeds), and its
    percentile interval is taken; a positive interval says the first
    measure ranks the models by the gap better than the second.

    Args:
      first: `SeedBootstrapCorrelation` of the first measure.
      second: `SeedBootstrapCorrelation` of the second, on the same
        resamples and axes.
      confidence: Confidence level; defaults to `first.confidence`.

    Returns:
      A `TauDifference`.

    Raises:
      ValueError: If the two were computed on different resamples or axes.
    """
    if not first.resamples.same_as(second.resamples):
        raise ValueError("the measures were bootstrapped on other resamples.")
    if first.axes != second.axes:
        raise ValueError(f"axes differ: {first.axes} and {second.axes}.")
    confidence = first.confidence if confidence is None else confidence
    resamples = first.resamples
    return TauDifference(
        tau=_bootstrap_difference(
            first.tau,
            second.tau,
            first.tau_resampled,
            second.tau_resampled,
            resamples,
            confidence,
        ),
        granulated=_bootstrap_difference(
            first.granulated,
            second.granulated,
            first.granulated_resampled,
            second.granulated_resampled,
            resamples,
            confidence,
        ),
        axes=first.axes,
        per_axis=tuple(
            _bootstrap_difference(
                first.granulated.per_axis[index],
                second.granulated.per_axis[index],
                first.axis_resampled[:, index],
                second.axis_resampled[:, index],
                resamples,
                confidence,
            )
            for index in range(len(first.axes))
        ),
    )


@dataclasses.dataclass(frozen=True)
class MeasureComparison:
    """Whether `measure` ranks the models by the gap better than
    `reference` does (a positive difference of tau)."""

    measure: str
    reference: str


def comparisons_against(measures, references):
    """Every measure against every reference, measures outermost.

    E.g. comparisons_against(("fisher_rao_norm",
    "fisher_rao_norm_depth_normalized"), ("l2_norm", "spectral_product",
    "path_norm")) names the six comparisons issue 20's conclusion rests on.
    """
    return tuple(
        MeasureComparison(measure, reference)
        for measure in measures
        for reference in references
    )


def compare_measures(correlations, comparisons, confidence=None):
    """The paired differences of the comparisons named in advance.

    Args:
      correlations: Mapping measure name -> `SeedBootstrapCorrelation`, all
        on the same resamples.
      comparisons: `MeasureComparison`s, fixed before the correlations are
        read (e.g. a module constant from `comparisons_against`).
      confidence: Confidence level; defaults to each correlation's.

    Returns:
      Dict `MeasureComparison` -> `TauDifference` (measure minus
      reference), in the order of `comparisons`.

    Raises:
      ValueError: If a named measure has no correlation, or a comparison
        is named twice.
    """
    comparisons = tuple(comparisons)
    if len(set(comparisons)) != len(comparisons):
        raise ValueError("a comparison is named twice.")
    missing = sorted(
        {
            name
            for comparison in comparisons
            for name in (comparison.measure, comparison.reference)
            if name not in correlations
        }
    )
    if missing:
        raise ValueError(f"no correlation for the measures {missing}.")
    return {
        comparison: tau_difference(
            correlations[comparison.measure],
            correlations[comparison.reference],
            confidence,
        )
        for comparison in comparisons
    }


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


def largest_benefit_possible(difference, higher_is_better):
    """The largest benefit the interval leaves possible, or None.

    The end of the interval on the side of benefit, read as a benefit:
    its upper end when higher is better (accuracy), minus its lower end
    otherwise (loss, calibration error). The same number as
    `smallest_benefit_ruled_out`; negative if the interval rules out any
    benefit.

    Args:
      difference: A `PairedDifference` (treatment minus control).
      higher_is_better: Whether a larger value of the metric is better.
    """
    return smallest_benefit_ruled_out(difference, higher_is_better)


def largest_harm_possible(difference, higher_is_better):
    """The largest harm the interval leaves possible, or None (as above):
    minus its lower end when higher is better, else its upper end."""
    return smallest_harm_ruled_out(difference, higher_is_better)


@dataclasses.dataclass(frozen=True)
class ArmComparison:
    """One paired comparison of two arms on one metric.

    Attributes:
      treatment: The arm whose benefit is in question.
      control: The arm it is compared with.
      metric: The metric compared (e.g. "test_accuracy").
      higher_is_better: Whether a larger value of the metric is better.
      condition: (name, value) pairs of the setting the comparison is in,
        e.g. (("setting", "mnist1d_cnn"), ("label_noise", 0.2)).
    """

    treatment: str
    control: str
    metric: str
    higher_is_better: bool
    condition: tuple = ()


@dataclasses.dataclass(frozen=True)
class ComparisonFamily:
    """Comparisons tested together, named in code before the data.

    Holm's adjustment (`evaluate_family`) runs within the family, so
    which comparisons belong to it decides the verdict: a study fixes its
    primary family as a module constant and reports the others as
    secondary families, each with its own adjustment.

    Attributes:
      name: The family's name (e.g. "primary").
      comparisons: The `ArmComparison`s, in reporting order.
    """

    name: str
    comparisons: tuple

    def __post_init__(self):
        comparisons = tuple(self.comparisons)
        object.__setattr__(self, "comparisons", comparisons)
        if not comparisons:
            raise ValueError(f"family {self.name!r} has no comparison.")
        if not all(isinstance(c, ArmComparison) for c in comparisons):
            raise ValueError("a family holds ArmComparisons only.")
        if len(set(comparisons)) != len(comparisons):
            raise ValueError(f"family {self.name!r} names a comparison twice.")


@dataclasses.dataclass(frozen=True)
class ComparisonResult:
    """A comparison's paired difference, within its family.

    Attributes:
      comparison: The `ArmComparison`.
      difference: The `PairedDifference`, treatment minus control by seed.
      adjusted_p_value: Holm-adjusted within the family (None if the
        comparison's p-value is undefined).
      largest_benefit: `largest_benefit_possible` of the interval.
      largest_harm: `largest_harm_possible` of the interval.
    """

    comparison: ArmComparison
    difference: PairedDifference
    adjusted_p_value: float | None
    largest_benefit: float | None
    largest_harm: float | None


@dataclasses.dataclass(frozen=True)
class FamilyResult:
    """The results of a family, in the family's order."""

    family: ComparisonFamily
    results: tuple

    def rejected(self, alpha=0.05):
        """The comparisons whose adjusted p-value is at most alpha."""
        return tuple(
            result.comparison
            for result in self.results
            if result.adjusted_p_value is not None
            and result.adjusted_p_value <= alpha
        )


def evaluate_family(family, values_by_seed, confidence=CONFIDENCE_LEVEL):
    """Paired differences of a family's comparisons, Holm within it.

    For each comparison, `paired_difference` of the treatment's and the
    control's values by seed (the t interval at `confidence`), then
    `holm_adjust` over the family's p-values. A comparison whose p-value is
    undefined (fewer than 2 seeds, or the same difference on every seed)
    still counts in the family's size, with p-value 1 (conservative), and
    has no adjusted p-value itself. Only the values the family names are
    read.

    Args:
      family: The `ComparisonFamily`.
      values_by_seed: Function (arm, metric, condition) -> mapping seed ->
        finite value of that arm's metric in that condition.
      confidence: Confidence level of the intervals.

    Returns:
      A `FamilyResult`.
    """
    differences = [
        paired_difference(
            values_by_seed(
                comparison.treatment, comparison.metric, comparison.condition
            ),
            values_by_seed(
                comparison.control, comparison.metric, comparison.condition
            ),
            confidence,
        )
        for comparison in family.comparisons
    ]
    adjusted = holm_adjust(
        [
            1.0 if difference.p_value is None else difference.p_value
            for difference in differences
        ]
    )
    return FamilyResult(
        family,
        tuple(
            ComparisonResult(
                comparison,
                difference,
                None if difference.p_value is None else float(adjusted_p),
                largest_benefit_possible(
                    difference, comparison.higher_is_better
                ),
                largest_harm_possible(difference, comparison.higher_is_better),
            )
            for comparison, difference, adjusted_p in zip(
                family.comparisons, differences, adjusted, strict=True
            )
        ),
    )
