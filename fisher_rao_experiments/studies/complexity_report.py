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
"""The complexity study's outputs: summary.json, tables.md and the figures.

`analyse` reads every setting's runs, analyses them as `complexity`
prescribes, and writes them; summary.json is strict JSON and every file is
replaced atomically.
"""

import os

import numpy as np

from fisher_rao_experiments import results_io
from fisher_rao_experiments.studies import (
    complexity,
    complexity_figures,
    markdown_table,
    study_plots,
    study_statistics,
)

SUMMARY_FILE = "summary.json"
TABLES_FILE = "tables.md"
NOISE_FIGURE_SUFFIX = "measures_vs_label_noise.png"
GAP_FIGURE_SUFFIXES = {
    "accuracy_gap": "measures_vs_accuracy_gap.png",
    "loss_gap": "measures_vs_loss_gap.png",
}
COMPARISON_FIGURE_SUFFIX = "comparisons.png"


def _interval_dict(interval):
    return {
        "low": interval.low,
        "high": interval.high,
        "reason": interval.reason,
        "undefined_resamples": interval.undefined_resamples,
    }


_NO_INTERVAL = {
    "low": None,
    "high": None,
    "reason": None,
    "undefined_resamples": 0,
}


def _correlation_dict(correlation):
    entry = {
        "num_models": correlation.num_models,
        "models_without_value": list(correlation.without_value),
    }
    statistics = correlation.statistics
    if statistics is None:
        reason = correlation.reason
        return dict(
            entry,
            tau=None,
            tau_reason=reason,
            tau_interval=dict(_NO_INTERVAL, reason=reason),
            granulated_tau=None,
            granulated_tau_reason=reason,
            granulated_tau_interval=dict(_NO_INTERVAL, reason=reason),
            per_axis={},
        )
    granulated = statistics.granulated
    return dict(
        entry,
        tau=statistics.tau.value,
        tau_reason=statistics.tau.reason,
        tau_interval=_interval_dict(statistics.tau_interval),
        granulated_tau=granulated.value,
        granulated_tau_reason=granulated.reason,
        granulated_tau_interval=_interval_dict(statistics.granulated_interval),
        per_axis={
            psi.axis: {
                "tau": psi.value,
                "interval": _interval_dict(interval),
                "num_groups": psi.num_groups,
                "num_singletons": psi.num_singletons,
                "reason": psi.reason,
            }
            for psi, interval in zip(
                granulated.per_axis, statistics.axis_intervals, strict=True
            )
        },
    )


def _difference_dict(difference):
    return {
        "estimate": difference.estimate,
        "low": difference.low,
        "high": difference.high,
        "fraction_positive": difference.fraction_positive,
        "reason": difference.reason,
        "undefined_resamples": difference.undefined_resamples,
    }


def _comparison_dict(compared):
    entry = {
        "measure": compared.comparison.measure,
        "reference": compared.comparison.reference,
        "gap": compared.gap,
    }
    difference = compared.difference
    if difference is None:
        return dict(entry, reason=compared.reason)
    return dict(
        entry,
        reason=None,
        tau_difference=_difference_dict(difference.tau),
        granulated_tau_difference=_difference_dict(difference.granulated),
        per_axis={
            axis: _difference_dict(axis_difference)
            for axis, axis_difference in zip(
                difference.axes, difference.per_axis, strict=True
            )
        },
    )


def _stopping_dict(models, stop_train_loss):
    """How close to the threshold the used models stopped."""
    losses = [
        model.stopped_at_loss
        for model in models
        if model.stopped_at_loss is not None
    ]
    if not losses or not stop_train_loss:
        return {"stop_train_loss": stop_train_loss, "num_models": len(losses)}
    ratios = np.array(losses) / stop_train_loss
    return {
        "stop_train_loss": stop_train_loss,
        "num_models": len(losses),
        "stopped_at_loss_over_threshold": {
            "min": float(ratios.min()),
            "median": float(np.median(ratios)),
            "max": float(ratios.max()),
        },
    }


def setting_summary(analysis):
    """The summary.json entry of one `SettingAnalysis`."""
    setting, models = analysis.setting, analysis.models
    grid = setting.grid
    correlations = analysis.correlations
    return {
        "description": setting.description,
        "main": setting.main,
        "grid": {
            "axes": {name: list(values) for name, values in grid.axes.items()},
            "seeds": list(grid.seeds),
            "fixed": grid.fixed,
            "num_networks": len(grid.points()),
        },
        "stopping": _stopping_dict(
            models.used, grid.fixed.get("stop_train_loss")
        ),
        "measures": []
        if correlations is None
        else [
            dict(
                name=measure,
                **{
                    gap: _correlation_dict(correlations[measure][gap])
                    for gap in complexity.GAPS
                },
            )
            for measure in complexity.ranked_measures(correlations)
        ],
        "comparisons": [
            _comparison_dict(compared) for compared in analysis.comparisons
        ],
        "margin_comparisons": [
            _comparison_dict(compared)
            for compared in analysis.margin_comparisons
        ],
        "models_used": [model.name for model in models.used],
        "models_left_out": [
            {"name": left_out.name, "reason": left_out.reason}
            for left_out in models.left_out
        ],
    }


def summary_dict(analyses, n_resamples, seed, smoke):
    """The content of summary.json (see the module docstring)."""
    return {
        "study": "complexity",
        "version": 2,
        "smoke": smoke,
        "gaps": complexity.GAPS,
        "statistics": {
            "tau": "Kendall tau-b over the models of a setting "
            "(scipy.stats.kendalltau)",
            "granulated_tau": "Jiang et al. 2019: psi per axis = mean over "
            "the groups of models differing in that axis alone (seed "
            "included in the rest) of tau-a, a pair tied in the measure or "
            "the gap counting 0; granulated tau = mean of psi over the axes",
            "intervals": "percentile bootstrap over whole seeds (a "
            "resample draws as many seeds as there are, with replacement, "
            "each with its whole grid); one set of resamples per setting, "
            "shared by every measure and gap",
            "comparisons": "measure minus reference, tau-b and granulated "
            "tau (and psi per axis), on the same resamples; named in "
            "studies/complexity.py (COMPARISONS) before any result was read",
            "confidence": study_statistics.CONFIDENCE_LEVEL,
            "bootstrap_resamples": n_resamples,
            "bootstrap_seed": seed,
        },
        "ranking": f"granulated tau with {complexity.RANKING_GAP}, then tau",
        "comparisons_named_in_advance": [
            {"measure": comparison.measure, "reference": comparison.reference}
            for comparison in complexity.COMPARISONS
        ],
        "settings": {
            analysis.setting.name: setting_summary(analysis)
            for analysis in analyses
        },
        "models_used": [
            model.name
            for analysis in analyses
            for model in analysis.models.used
        ],
        "num_models_left_out": sum(
            len(analysis.models.left_out) for analysis in analyses
        ),
    }


def _estimate_cell(value, interval):
    """ "+0.123 [+0.050, +0.200]": an estimate and its interval."""
    estimate = markdown_table.format_number(value, signed=True)
    bounds = markdown_table.format_interval(
        interval.low, interval.high, signed=True
    )
    return f"{estimate} {bounds}"


def _correlation_cells(correlation):
    statistics = correlation.statistics
    if statistics is None:
        return ["n/a", "n/a"]
    return [
        _estimate_cell(statistics.tau.value, statistics.tau_interval),
        _estimate_cell(
            statistics.granulated.value, statistics.granulated_interval
        ),
    ]


def _difference_cell(difference):
    return _estimate_cell(difference.estimate, difference)


def _comparison_table(comparisons):
    rows = []
    for compared in comparisons:
        row = [
            compared.gap,
            compared.comparison.measure,
            compared.comparison.reference,
        ]
        if compared.difference is None:
            row += ["n/a", "n/a", "n/a"]
        else:
            granulated = compared.difference.granulated
            row += [
                _difference_cell(compared.difference.tau),
                _difference_cell(granulated),
                markdown_table.format_number(granulated.fraction_positive),
            ]
        rows.append(row)
    return markdown_table.format_table(
        [
            "gap",
            "measure",
            "minus",
            "tau-b difference [95% CI]",
            "granulated tau difference [95% CI]",
            "share of resamples > 0 (granulated)",
        ],
        rows,
    )


def setting_markdown(analysis):
    """The tables.md section of one setting."""
    setting, models = analysis.setting, analysis.models
    correlations = analysis.correlations
    parts = [
        f"# {setting.description} ({setting.name})\n\n",
        f"Models used: {len(models.used)} of "
        f"{len(setting.grid.points())}; left out: {len(models.left_out)} "
        f"(listed in {SUMMARY_FILE}).\n\n",
    ]
    if correlations is None:
        return "".join(parts)
    ranked = complexity.ranked_measures(correlations)
    header = ["rank", "measure", "models"]
    for gap in complexity.GAPS:
        header += [
            f"tau-b, {gap} [95% CI]",
            f"granulated tau, {gap} [95% CI]",
        ]
    rows = []
    for rank, measure in enumerate(ranked, start=1):
        row = [
            str(rank),
            measure,
            str(correlations[measure][complexity.RANKING_GAP].num_models),
        ]
        for gap in complexity.GAPS:
            row += _correlation_cells(correlations[measure][gap])
        rows.append(row)
    parts += [
        f"## Kendall tau with the generalization gap, ranked by granulated "
        f"tau with {complexity.RANKING_GAP}\n\n"
        "tau-b over all models (ties dropped from its normalization); "
        "granulated tau as Jiang et al. define it (within-group tau-a, a "
        "tied pair counting 0, averaged per axis, then over the axes); 95% "
        "intervals from a bootstrap over whole seeds.\n\n",
        markdown_table.format_table(header, rows),
        "\n## Comparisons named in advance: Fisher-Rao norm minus each "
        "simpler norm\n\n",
        _comparison_table(analysis.comparisons),
        "\n## The same comparisons over margin^2 (secondary)\n\n",
        _comparison_table(analysis.margin_comparisons),
    ]
    axes = tuple(setting.grid.axes)
    for gap in complexity.GAPS:
        table_rows = []
        for measure in ranked:
            statistics = correlations[measure][gap].statistics
            if statistics is None:
                table_rows.append([measure] + ["n/a"] * len(axes))
                continue
            table_rows.append(
                [measure]
                + [
                    _estimate_cell(psi.value, interval)
                    for psi, interval in zip(
                        statistics.granulated.per_axis,
                        statistics.axis_intervals,
                        strict=True,
                    )
                ]
            )
        parts += [
            f"\n## psi per axis, ties counting 0 "
            f"({gap}: {complexity.GAPS[gap]}) [95% CI]\n\n",
            markdown_table.format_table(["measure", *axes], table_rows),
        ]
    return "".join(parts)


def tables_markdown(analyses):
    """tables.md: every setting's tables."""
    return "\n".join(setting_markdown(analysis) for analysis in analyses)


def figure_name(setting, suffix):
    """A setting's figure file: <setting name>_<suffix>."""
    return f"{setting.name}_{suffix}"


def analyse(
    settings, output_dir, n_resamples, seed, smoke=False, figures=True
):
    """Reads the runs and writes summary.json, tables.md and the figures.

    Args:
      settings: The study's `Setting`s.
      output_dir: The study's directory; runs in its `runs/` (every
        setting's in the same directory).
      n_resamples: Bootstrap resamples.
      seed: Seed of the bootstrap.
      smoke: Recorded in the summary.
      figures: Whether to draw the figures (most of the analysis's time).

    Returns:
      The summary dictionary. A setting's figures are drawn only if it has
      a model.
    """
    runs_dir = os.path.join(output_dir, complexity.RUNS_SUBDIRECTORY)
    analyses = [
        complexity.analyse_setting(setting, runs_dir, n_resamples, seed)
        for setting in settings
    ]
    summary = summary_dict(analyses, n_resamples, seed, smoke)
    results_io.replace_json_atomically(
        summary, os.path.join(output_dir, SUMMARY_FILE)
    )
    results_io.replace_text_atomically(
        tables_markdown(analyses), os.path.join(output_dir, TABLES_FILE)
    )
    for analysis in analyses if figures else ():
        setting, used = analysis.setting, analysis.models.used
        if not used:
            continue
        study_plots.save_figure(
            complexity_figures.plot_measures_against_label_noise(
                used, setting.grid, setting.description
            ),
            os.path.join(
                output_dir, figure_name(setting, NOISE_FIGURE_SUFFIX)
            ),
        )
        for gap, suffix in GAP_FIGURE_SUFFIXES.items():
            study_plots.save_figure(
                complexity_figures.plot_measures_against_gap(
                    used, gap, analysis.correlations, setting.description
                ),
                os.path.join(output_dir, figure_name(setting, suffix)),
            )
        study_plots.save_figure(
            complexity_figures.plot_comparisons(analysis),
            os.path.join(
                output_dir, figure_name(setting, COMPARISON_FIGURE_SUFFIX)
            ),
        )
    return summary
