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
"""The regularizer study's outputs: summary.json, tables.md and the figures.

`analyse` reads a setting's runs, chooses and compares as
`regularizer` prescribes, and writes them; summary.json is strict JSON and
every file is replaced atomically.
"""

import dataclasses
import os

import numpy as np
from absl import logging

from fisher_rao_experiments import results_io
from fisher_rao_experiments.studies import (
    markdown_table,
    model_selection,
    regularizer,
    regularizer_figures,
    study_plots,
    study_statistics,
)

SUMMARY_FILE = "summary.json"
TABLES_FILE = "tables.md"
EFFECTS_FIGURE_FILE = "selection_effects.png"
DIFFERENCES_FIGURE_FILE = "fresh_differences.png"
CURVES_FIGURE_FILE = "fresh_curves.png"
# The heading of tables.md's first table, which docs/report.md copies.
GLANCE_HEADING = "## At a glance: test accuracy, each run at its own best step"


def _selection_runs(setting, noise, arm, views, names):
    """Every selection seed's run of every value: its own best validation
    step and the validation accuracy and loss there (what the choice saw;
    their test metrics are never reported)."""
    entries = []
    for value in arm.values:
        for seed in setting.selection_seeds:
            view = views.get((noise, arm.name, value), {}).get(seed)
            stop = (
                None
                if view is None
                else model_selection.own_best_step(
                    model_selection.validation_curve(view)
                )
            )
            entries.append(
                {
                    "value": value,
                    "seed": seed,
                    "run": names.get((noise, arm.name, value), {}).get(seed),
                    "best_step": None if stop is None else stop.step,
                    "validation_accuracy": (
                        None if stop is None else stop.accuracy
                    ),
                    "validation_loss": None if stop is None else stop.loss,
                }
            )
    return entries


def _selection_dict(setting, noise, arm, protocol, selected_arm, names, views):
    selection = selected_arm.selection
    choice = selection.choice
    return {
        regularizer.LABEL_NOISE: noise,
        "arm": arm.name,
        "hyperparameter": arm.hyperparameter,
        "protocol": protocol,
        "chosen_value": None if choice is None else choice.value,
        "chosen_step": None if choice is None else choice.step,
        "mean_selection_validation_accuracy": (
            None if choice is None else choice.mean_accuracy
        ),
        "mean_selection_validation_loss": (
            None if choice is None else choice.mean_loss
        ),
        "candidates": [
            {
                "value": candidate.value,
                "step": candidate.step,
                "mean_validation_accuracy": candidate.mean_accuracy,
                "mean_validation_loss": candidate.mean_loss,
            }
            for candidate in selection.candidates
        ],
        "incomplete_values": list(selection.incomplete_values),
        "selection_seeds": list(selection.selection_seeds),
        "selection_runs": _selection_runs(setting, noise, arm, views, names),
        "fresh_seeds": [
            {
                "seed": seed,
                "run": (
                    names.get((noise, arm.name, choice.value), {}).get(seed)
                    if choice is not None
                    else None
                ),
                "step": selected_arm.steps[seed],
                **selected_arm.metrics[seed],
            }
            for seed in sorted(selected_arm.metrics)
        ],
        "missing_fresh_seeds": {
            str(seed): reason
            for seed, reason in sorted(selected_arm.missing.items())
        },
    }


def _result_dict(family_name, result):
    comparison, difference = result.comparison, result.difference
    where = dict(comparison.condition)
    return {
        "family": family_name,
        "setting": where["setting"],
        regularizer.LABEL_NOISE: where[regularizer.LABEL_NOISE],
        "protocol": where["protocol"],
        "treatment": comparison.treatment,
        "control": comparison.control,
        "metric": comparison.metric,
        "higher_is_better": comparison.higher_is_better,
        "seeds": list(difference.seeds),
        "differences": list(difference.differences),
        "mean_difference": difference.mean,
        "interval": {"low": difference.low, "high": difference.high},
        "half_width": (
            None
            if difference.low is None
            else (difference.high - difference.low) / 2
        ),
        "p_value": difference.p_value,
        "holm_p_value": result.adjusted_p_value,
        "largest_benefit_possible": result.largest_benefit,
        "largest_harm_possible": result.largest_harm,
        "reason": difference.reason,
    }


def summary_dict(
    setting, collected, selected, family_results, last_step, smoke
):
    """The content of summary.json; `last_step` is
    `regularizer.last_step_differences`'s."""
    primary = regularizer.primary_family(setting)
    return {
        "study": "regularizer",
        "version": regularizer.VERSION,
        "setting": setting.name,
        "smoke": smoke,
        "grid": {
            "label_noises": list(setting.label_noises),
            "selection_seeds": list(setting.selection_seeds),
            "fresh_seeds": list(setting.fresh_seeds),
            "seed_protocol": "split: the selection seeds choose, the "
            "fresh seeds (trained at the chosen values only) compare",
            "arms": [dataclasses.asdict(arm) for arm in setting.arms],
            "fixed": setting.fixed,
            "num_selection_runs": len(setting.selection_points()),
        },
        "primary_family": (
            None
            if primary is None
            else [
                {
                    "treatment": comparison.treatment,
                    "control": comparison.control,
                    "metric": comparison.metric,
                    **dict(comparison.condition),
                }
                for comparison in primary.comparisons
            ]
        ),
        "protocols": {
            protocol: model_selection.RULES[protocol]
            for protocol in regularizer.PROTOCOLS
        },
        "main_protocol": regularizer.MAIN_PROTOCOL,
        "statistics": {
            "difference": "treatment minus control, per fresh seed both have",
            "interval": "paired t interval of the mean difference",
            "confidence": study_statistics.CONFIDENCE_LEVEL,
            "adjustment": "Holm within each family",
        },
        "choices": [
            _selection_dict(
                setting,
                noise,
                arm,
                protocol,
                selected[noise, arm.name, protocol],
                collected.names,
                collected.views,
            )
            for noise in setting.label_noises
            for arm in setting.arms
            for protocol in regularizer.protocols_of(arm.name)
        ],
        "families": [
            {
                "name": result.family.name,
                "comparisons": [
                    _result_dict(result.family.name, item)
                    for item in result.results
                ],
            }
            for result in family_results
        ],
        "last_step": {
            "note": regularizer.LAST_STEP_NOTE,
            "comparisons": [
                {
                    regularizer.LABEL_NOISE: noise,
                    "treatment": arm,
                    "value": value,
                    "control": regularizer.NONE_ARM,
                    "metric": "test_accuracy",
                    "seeds": list(difference.seeds),
                    "mean_difference": difference.mean,
                    "interval": {
                        "low": difference.low,
                        "high": difference.high,
                    },
                    "p_value": difference.p_value,
                    "reason": difference.reason,
                }
                for noise, arm, value, difference in last_step
            ],
        },
        "runs_used": sorted(
            name
            for by_seed in collected.names.values()
            for name in by_seed.values()
        ),
        "runs_left_out": [
            {"name": left_out.name, "reason": left_out.reason}
            for left_out in collected.left_out
        ],
    }


def mean_and_sd(values, digits=3):
    """ "0.912 ± 0.010" over seeds; one value alone; n/a without values."""
    values = [value for value in values if value is not None]
    if not values:
        return markdown_table.NOT_AVAILABLE
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    mean, sd = np.mean(values), np.std(values, ddof=1)
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _format_value(value):
    return "–" if value is None else f"{value:g}"


def _in_points(value):
    return None if value is None else 100 * value


def _accuracy_against_none(family_results, noise, arm_name):
    """(family name, `FamilyResult` item) of `arm_name` against None on test
    accuracy at `noise` under the main protocol; (None, None) if none."""
    for result in family_results:
        for item in result.results:
            comparison = item.comparison
            where = dict(comparison.condition)
            if (
                comparison.treatment == arm_name
                and comparison.control == regularizer.NONE_ARM
                and comparison.metric == "test_accuracy"
                and where[regularizer.LABEL_NOISE] == noise
                and where["protocol"] == regularizer.MAIN_PROTOCOL
            ):
                return result.family.name, item
    return None, None


def glance_table(setting, selected, family_results):
    """Test accuracy at a glance, in points, main protocol: per noise level
    and arm the value chosen, its mean validation accuracy on the selection
    seeds, the fresh seeds' test accuracy, and the paired difference from
    None with its interval, Holm p and family."""
    rows = []
    for noise in setting.label_noises:
        for arm in setting.arms:
            selected_arm = selected[noise, arm.name, regularizer.MAIN_PROTOCOL]
            choice = selected_arm.selection.choice
            accuracies = [
                _in_points(entry.get("test_accuracy"))
                for entry in selected_arm.metrics.values()
            ]
            family_name, item = _accuracy_against_none(
                family_results, noise, arm.name
            )
            difference = None if item is None else item.difference
            rows.append(
                [
                    f"{noise:g}",
                    arm.name,
                    _format_value(None if choice is None else choice.value),
                    markdown_table.format_number(
                        None if choice is None else 100 * choice.mean_accuracy,
                        digits=1,
                    ),
                    str(len(accuracies)),
                    mean_and_sd(accuracies, digits=1),
                ]
                + (
                    ["–"] * 4
                    if item is None
                    else [
                        markdown_table.format_number(
                            _in_points(difference.mean), 2, signed=True
                        ),
                        markdown_table.format_interval(
                            _in_points(difference.low),
                            _in_points(difference.high),
                            2,
                            signed=True,
                        ),
                        markdown_table.format_p_value(item.adjusted_p_value),
                        family_name,
                    ]
                )
            )
    return markdown_table.format_table(
        [
            "label noise",
            "arm",
            "chosen",
            "selection validation acc. (%)",
            "fresh seeds",
            "test acc. (%, mean ± sd)",
            "− None (points)",
            "95% CI",
            "Holm p",
            "family",
        ],
        rows,
    )


def tables_markdown(setting, selected, family_results, last_step):
    """tables.md: the choices and fresh-seed metrics, each family, then the
    exploratory last-step reading (`regularizer.last_step_differences`'s)."""
    rows = []
    for noise in setting.label_noises:
        for arm in setting.arms:
            for protocol in regularizer.protocols_of(arm.name):
                selected_arm = selected[noise, arm.name, protocol]
                choice = selected_arm.selection.choice
                metrics = selected_arm.metrics.values()
                rows.append(
                    [
                        f"{noise:g}",
                        arm.name,
                        protocol,
                        _format_value(
                            None if choice is None else choice.value
                        ),
                        "own"
                        if choice is None or choice.step is None
                        else str(choice.step),
                        str(len(selected_arm.metrics)),
                    ]
                    + [
                        mean_and_sd(entry.get(key) for entry in metrics)
                        for key in regularizer.METRICS_AND_TEMPERATURE
                    ]
                )
    parts = [
        f"# Regularizer study v3: {setting.name}\n\n",
        f"{GLANCE_HEADING}\n\n",
        glance_table(setting, selected, family_results),
        "\n## Chosen on the selection seeds; metrics on the fresh seeds\n\n",
        markdown_table.format_table(
            ["label noise", "arm", "protocol", "chosen", "step", "fresh seeds"]
            + [
                f"{key} (mean ± sd)"
                for key in regularizer.METRICS_AND_TEMPERATURE
            ],
            rows,
        ),
    ]
    for result in family_results:
        family_rows = []
        for item in result.results:
            comparison, difference = item.comparison, item.difference
            family_rows.append(
                [
                    f"{dict(comparison.condition)[regularizer.LABEL_NOISE]:g}",
                    comparison.treatment,
                    comparison.control,
                    comparison.metric,
                    str(len(difference.seeds)),
                    markdown_table.format_number(difference.mean, signed=True),
                    markdown_table.format_interval(
                        difference.low, difference.high, signed=True
                    ),
                    markdown_table.format_p_value(difference.p_value),
                    markdown_table.format_p_value(item.adjusted_p_value),
                    markdown_table.format_number(item.largest_benefit),
                ]
            )
        parts += [
            f"\n## Family: {result.family.name} (Holm within it)\n\n",
            markdown_table.format_table(
                [
                    "label noise",
                    "treatment",
                    "control",
                    "metric",
                    "seeds",
                    "mean difference",
                    "95% CI",
                    "p",
                    "Holm p",
                    "largest benefit possible",
                ],
                family_rows,
            ),
        ]
    parts.append(
        "\nDifferences are treatment − control on the fresh seeds. A "
        "benefit is a gain in accuracy or a fall in NLL or ECE; the last "
        "column is the largest the interval leaves possible (negative: the "
        "interval rules out any benefit).\n"
    )
    parts += [
        f"\n## Without early stopping ({regularizer.LAST_STEP_NOTE})\n\n",
        markdown_table.format_table(
            [
                "label noise",
                "treatment",
                "value",
                "seeds",
                "test_accuracy − None's at the last step",
                "95% CI",
                "p",
            ],
            [
                [
                    f"{noise:g}",
                    arm,
                    _format_value(value),
                    str(len(difference.seeds)),
                    markdown_table.format_number(difference.mean, signed=True),
                    markdown_table.format_interval(
                        difference.low, difference.high, signed=True
                    ),
                    markdown_table.format_p_value(difference.p_value),
                ]
                for noise, arm, value, difference in last_step
            ],
        ),
    ]
    return "".join(parts)


def analyse(setting, output_dir, smoke=False, figures=True):
    """Reads the runs and writes summary.json, tables.md and the figures.

    Args:
      setting: The study's `regularizer.Setting`.
      output_dir: The study's directory; runs in its `runs/`.
      smoke: Recorded in the summary.
      figures: Whether to draw the figures.

    Returns:
      The summary dictionary. Figures are drawn only if a run is usable.
    """
    selected, collected = regularizer.collect_and_select(
        setting, os.path.join(output_dir, regularizer.RUNS_SUBDIRECTORY)
    )
    for left_out in collected.left_out:
        logging.warning("Left out %s: %s", left_out.name, left_out.reason)
    family_results = regularizer.evaluate(setting, selected)
    last_step = regularizer.last_step_differences(setting, selected, collected)
    summary = summary_dict(
        setting, collected, selected, family_results, last_step, smoke
    )
    results_io.replace_json_atomically(
        summary, os.path.join(output_dir, SUMMARY_FILE)
    )
    results_io.replace_text_atomically(
        tables_markdown(setting, selected, family_results, last_step),
        os.path.join(output_dir, TABLES_FILE),
    )
    if figures and collected.views:
        study_plots.save_figure(
            regularizer_figures.plot_selection_effects(setting, collected),
            os.path.join(output_dir, EFFECTS_FIGURE_FILE),
        )
        study_plots.save_figure(
            regularizer_figures.plot_fresh_differences(
                setting, family_results
            ),
            os.path.join(output_dir, DIFFERENCES_FIGURE_FILE),
        )
        study_plots.save_figure(
            regularizer_figures.plot_fresh_curves(
                setting, selected, collected
            ),
            os.path.join(output_dir, CURVES_FIGURE_FILE),
        )
    return summary
