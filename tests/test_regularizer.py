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
"""Tests of studies/regularizer.py (v3) on hand-made results files.

Choices are checked against a brute-force selection on the selection seeds,
statistics against scipy and Holm by hand on the values the test wrote for
the fresh seeds; poisoning the fresh seeds (and every test metric) through
`analyse` changes no choice. The command line is tested by
tests/test_regularizer_study.py.
"""

import math

import matplotlib

matplotlib.use("Agg")

import helpers
import numpy as np
import pytest
import scipy.stats

from fisher_rao_experiments import results_io, sweep
from fisher_rao_experiments.studies import model_selection
from fisher_rao_experiments.studies import regularizer as study

STEPS = (0, 100, 200, 300)
SELECTION = (1, 2, 3, 4)
FRESH = (11, 12, 13, 14, 15, 16)
ARMS = (
    study.Arm("None", "None", None, None, (None,)),
    study.Arm("fr-exact", "fr", "exact", "fisher_rao_lambda", (0.01, 0.1)),
    study.Arm("weight-decay", "None", None, "weight_decay", (0.001, 0.01)),
    study.Arm("label-smoothing", "None", None, "label_smoothing", (0.1, 0.3)),
    study.Arm(
        "confidence-penalty", "None", None, "confidence_penalty", (0.1, 1.0)
    ),
)
SETTING = study.Setting(
    "mnist1d",
    (0.0, 0.4),
    SELECTION,
    FRESH,
    ARMS,
    {
        "dataset": "digits",
        "train_steps": 300,
        "eval_steps": 100,
        "validation_size": 300,
    },
)
QUALITY = {
    ("None", None): 0.80,
    ("fr-exact", 0.01): 0.82,
    ("fr-exact", 0.1): 0.78,
    ("weight-decay", 0.001): 0.815,
    ("weight-decay", 0.01): 0.805,
    ("label-smoothing", 0.1): 0.79,
    ("label-smoothing", 0.3): 0.81,
    ("confidence-penalty", 0.1): 0.812,
    ("confidence-penalty", 1.0): 0.75,
}


def curves_of(noise, arm, value, seed):
    """The curves the test writes for one run: validation peaks at a step
    that depends on the seed (so own-best-step and shared-step differ)."""
    rng = np.random.default_rng(
        [
            int(10 * noise),
            [a.name for a in ARMS].index(arm),
            0 if value is None else int(round(-1000 * math.log10(value))),
            seed,
        ]
    )
    quality = QUALITY[arm, value] - 0.1 * noise
    shape = np.array([0.2, 0.9, 1.0, 0.97]) + rng.normal(0, 0.02, 4)
    validation = quality * shape
    test = (quality - 0.01) * shape + rng.normal(0, 0.01, 4)
    nll = 1.6 - test + rng.normal(0, 0.01, 4)
    return {
        "validation_accuracy": list(validation),
        "validation_loss": list(1.5 - validation),
        "test_accuracy": list(test),
        "test_loss": list(nll),
        "calibration": {
            "temperature": list(1.0 + rng.uniform(0, 1, 4)),
            "test_nll_raw": list(nll),
            "test_nll_scaled": list(nll - 0.05),
            "test_ece_raw": list(rng.uniform(0.05, 0.2, 4)),
            "test_ece_scaled": list(rng.uniform(0.01, 0.05, 4)),
        },
    }


def every_point(setting=SETTING):
    """Every value of every arm on every seed (fresh seeds included)."""
    return [
        (
            (noise, arm.name, value, seed),
            setting.point(noise, arm, value, seed),
        )
        for noise in setting.label_noises
        for seed in setting.selection_seeds + setting.fresh_seeds
        for arm in setting.arms
        for value in arm.values
    ]


def write_runs(runs_dir, change=None):
    """Writes every run; `change(label, curves)` edits some."""
    for label, point in every_point():
        curves = curves_of(*label)
        if change:
            curves = change(label, curves)
        hparams = {
            name: entry for name, entry in point.items() if entry is not None
        }
        helpers.write_results(
            runs_dir,
            helpers.stem_of(point),
            helpers.make_results(hparams, steps=STEPS, **curves),
        )


def brute_force_own_best(noise, arm):
    """The value of highest mean (over the selection seeds) validation
    accuracy at each run's own best step."""
    best = None
    for rank, value in enumerate(arm.values):
        mean = np.mean(
            [
                max(
                    curves_of(noise, arm.name, value, seed)[
                        "validation_accuracy"
                    ]
                )
                for seed in SELECTION
            ]
        )
        if best is None or (-mean, rank) < best[0]:
            best = ((-mean, rank), value)
    return best[1]


def brute_force_shared(noise, arm):
    best = None
    for rank, value in enumerate(arm.values):
        for index, step in enumerate(STEPS):
            mean = np.mean(
                [
                    curves_of(noise, arm.name, value, seed)[
                        "validation_accuracy"
                    ][index]
                    for seed in SELECTION
                ]
            )
            if best is None or (-mean, rank, step) < best[0]:
                best = ((-mean, rank, step), value, step)
    return best[1], best[2]


def fresh_value(noise, arm, value, seed, metric):
    """The written test metric of a fresh run at its own best step."""
    curves = curves_of(noise, arm, value, seed)
    index = int(np.argmax(curves["validation_accuracy"]))
    if metric in curves:
        return curves[metric][index]
    return curves["calibration"][metric][index]


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("regularizer")
    write_runs(output_dir / "runs")
    summary = study.analyse(SETTING, str(output_dir))
    return summary, output_dir


def choices(summary):
    return {
        (entry["label_noise"], entry["arm"], entry["protocol"]): (
            entry["chosen_value"],
            entry["chosen_step"],
        )
        for entry in summary["choices"]
    }


def family(summary, name):
    (found,) = [f for f in summary["families"] if f["name"] == name]
    return found["comparisons"]


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
        points = SETTING.fresh_points({(0.4, "fr-exact"): {0.1}})
        assert [label for label, _ in points] == [
            (0.4, "fr-exact", 0.1, seed) for seed in FRESH
        ]
        for _, point in points:
            assert point["fisher_rao_lambda"] == 0.1
            assert point["label_smoothing"] == 0.0


class TestSelection:
    def test_choices_match_brute_force_on_selection_seeds(self, analysed):
        summary, _ = analysed
        found = choices(summary)
        for noise in SETTING.label_noises:
            for arm in ARMS:
                main = found[noise, arm.name, model_selection.OWN_BEST_STEP]
                assert main == (brute_force_own_best(noise, arm), None)
                check = found.get(
                    (noise, arm.name, model_selection.SHARED_STEP)
                )
                if arm.name in ("fr-exact", "None"):
                    assert check == brute_force_shared(noise, arm)
                else:
                    # The shared-step check compares fr-exact with None
                    # only: no other arm is chosen (or trained) under it.
                    assert check is None

    def test_only_the_checked_arms_are_chosen_under_the_check(self, analysed):
        # chosen_values, hence the fresh runs, follow these keys: no arm
        # outside the shared-step check trains a second value for it.
        selected, _ = study.choose(SETTING, str(analysed[1] / "runs"))
        main, check = (
            model_selection.OWN_BEST_STEP,
            model_selection.SHARED_STEP,
        )
        assert set(selected) == {
            (noise, arm.name, main)
            for noise in SETTING.label_noises
            for arm in ARMS
        } | {
            (noise, arm, check)
            for noise in SETTING.label_noises
            for arm in ("fr-exact", "None")
        }

    def test_fresh_seeds_are_read_at_their_own_best_step(self, analysed):
        summary, _ = analysed
        for entry in summary["choices"]:
            if entry["protocol"] != model_selection.OWN_BEST_STEP:
                continue
            assert [s["seed"] for s in entry["fresh_seeds"]] == list(FRESH)
            for seed_entry in entry["fresh_seeds"]:
                args = (
                    entry["label_noise"],
                    entry["arm"],
                    entry["chosen_value"],
                    seed_entry["seed"],
                )
                validation = curves_of(*args)["validation_accuracy"]
                assert seed_entry["step"] == STEPS[int(np.argmax(validation))]
                for metric in study.METRICS:
                    assert seed_entry[metric] == pytest.approx(
                        fresh_value(*args, metric)
                    )

    def test_poisoned_fresh_seeds_and_test_metrics_change_no_choice(
        self, analysed, tmp_path
    ):
        summary, _ = analysed

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
            if seed in FRESH:
                bonus = (len(arm) % 7) / 10
                curves["validation_accuracy"] = [
                    min(1.0, v + flip * bonus)
                    for v in curves["validation_accuracy"]
                ]
            return curves

        write_runs(tmp_path / "runs", change=poison)
        poisoned = study.analyse(SETTING, str(tmp_path))
        assert choices(poisoned) == choices(summary)
        # The poisoned values were read afterwards: the metrics changed.
        primary = family(summary, "primary")
        assert family(poisoned, "primary") != primary

    def test_choices_need_only_the_selection_seeds(self, tmp_path, analysed):
        summary, _ = analysed
        for label, point in SETTING.selection_points():
            hparams = {k: v for k, v in point.items() if v is not None}
            helpers.write_results(
                tmp_path / "runs",
                helpers.stem_of(point),
                helpers.make_results(
                    hparams, steps=STEPS, **curves_of(*label)
                ),
            )
        selected, _ = study.choose(SETTING, str(tmp_path / "runs"))
        alone = {
            key: (arm.selection.choice.value, arm.selection.choice.step)
            for key, arm in selected.items()
        }
        assert alone == choices(summary)
        for arm in selected.values():
            assert not arm.metrics
            assert set(arm.missing) == set(FRESH)


class TestComparisons:
    def test_primary_family_statistics_match_scipy_and_holm(self, analysed):
        summary, _ = analysed
        comparisons = family(summary, "primary")
        assert [c["label_noise"] for c in comparisons] == [0.0, 0.4]
        p_values = []
        for comparison in comparisons:
            noise = comparison["label_noise"]
            value = dict(choices(summary))[
                noise, "fr-exact", model_selection.OWN_BEST_STEP
            ][0]
            treated = [
                fresh_value(noise, "fr-exact", value, s, "test_accuracy")
                for s in FRESH
            ]
            control = [
                fresh_value(noise, "None", None, s, "test_accuracy")
                for s in FRESH
            ]
            expected = scipy.stats.ttest_rel(treated, control)
            interval = expected.confidence_interval(0.95)
            assert comparison["seeds"] == list(FRESH)
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

    def test_loss_like_metrics_count_a_fall_as_a_benefit(self, analysed):
        summary, _ = analysed
        for comparison in family(summary, "calibration vs None"):
            assert not comparison["higher_is_better"]
            if comparison["interval"]["low"] is not None:
                assert comparison["largest_benefit_possible"] == (
                    pytest.approx(-comparison["interval"]["low"])
                )

    def test_families_are_adjusted_separately(self, analysed):
        summary, _ = analysed
        for name in ("accuracy vs None", "Fisher-Rao vs controls"):
            comparisons = family(summary, name)
            p_values = [c["p_value"] for c in comparisons]
            order = np.argsort(p_values)
            m = len(p_values)
            running = 0.0
            for rank, index in enumerate(order):
                running = max(running, min(1.0, (m - rank) * p_values[index]))
                assert comparisons[index]["holm_p_value"] == pytest.approx(
                    running
                )


class TestOutputs:
    def test_summary_is_strict_json_with_the_documented_keys(self, analysed):
        _, output_dir = analysed
        summary = helpers.read_strict_json(output_dir / "summary.json")
        assert summary["version"] == 3
        assert set(summary) >= {
            "primary_family",
            "choices",
            "families",
            "protocols",
            "grid",
            "runs_used",
            "runs_left_out",
            "last_step",
        }
        assert len(summary["primary_family"]) == 2
        assert len(summary["runs_used"]) == len(
            {
                name
                for entry in summary["choices"]
                for name in [s["run"] for s in entry["fresh_seeds"]]
            }
        ) + len(SETTING.selection_points())
        for entry in summary["choices"]:
            for seed_entry in entry["fresh_seeds"]:
                assert set(study.READ_KEYS) <= set(seed_entry)
            # What the choice saw: every selection run's own best step.
            arm = SETTING.arm(entry["arm"])
            runs = entry["selection_runs"]
            assert [(r["value"], r["seed"]) for r in runs] == [
                (value, seed) for value in arm.values for seed in SELECTION
            ]
            for run in runs:
                validation = curves_of(
                    entry["label_noise"], arm.name, run["value"], run["seed"]
                )["validation_accuracy"]
                assert run["best_step"] == STEPS[int(np.argmax(validation))]
                assert run["validation_accuracy"] == pytest.approx(
                    max(validation)
                )
                assert "test_accuracy" not in run

    def test_tables_and_figures_are_written(self, analysed):
        _, output_dir = analysed
        tables = (output_dir / "tables.md").read_text()
        for name in ("primary", "calibration vs None", "shared-step check"):
            assert f"## Family: {name}" in tables
        for name in (
            study.EFFECTS_FIGURE_FILE,
            study.DIFFERENCES_FIGURE_FILE,
            study.CURVES_FIGURE_FILE,
        ):
            helpers.assert_readable_nonblank_png(output_dir / name)

    def test_last_step_differences_match_scipy(self, analysed):
        summary, _ = analysed
        found = choices(summary)
        entries = summary["last_step"]["comparisons"]
        assert "exploratory" in summary["last_step"]["note"]
        assert len(entries) == len(SETTING.label_noises) * (len(ARMS) - 1)
        for entry in entries:
            noise, arm = entry["label_noise"], entry["treatment"]
            value = found[noise, arm, model_selection.OWN_BEST_STEP][0]
            assert entry["value"] == value
            treated, control = (
                [
                    curves_of(noise, name, chosen, seed)["test_accuracy"][-1]
                    for seed in FRESH
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

    def test_fresh_curves_are_means_over_the_fresh_seeds(self, analysed):
        summary, output_dir = analysed
        selected, collected = study.collect_and_select(
            SETTING, str(output_dir / "runs")
        )
        curves = study.fresh_curves(
            SETTING, selected, collected, "test_accuracy"
        )
        assert set(curves) == {
            (noise, arm.name) for noise in SETTING.label_noises for arm in ARMS
        }
        found = choices(summary)
        for (noise, arm), (steps, means) in curves.items():
            value = found[noise, arm, model_selection.OWN_BEST_STEP][0]
            assert steps == list(STEPS)
            np.testing.assert_allclose(
                means,
                np.mean(
                    [
                        curves_of(noise, arm, value, seed)["test_accuracy"]
                        for seed in FRESH
                    ],
                    axis=0,
                ),
            )

    def test_without_figures_the_same_summary_and_no_figure(
        self, analysed, tmp_path
    ):
        summary, output_dir = analysed
        (tmp_path / "runs").symlink_to(output_dir / "runs")
        again = study.analyse(SETTING, str(tmp_path), figures=False)
        assert again == summary
        assert sorted(p.name for p in tmp_path.iterdir()) == [
            "runs",
            "summary.json",
            "tables.md",
        ]

    def test_choice_rows_give_fresh_means_and_the_temperature(self, analysed):
        _, output_dir = analysed
        lines = (output_dir / "tables.md").read_text().splitlines()
        header = [cell.strip() for cell in lines[4].split("|")[1:-1]]
        (row,) = [
            [cell.strip() for cell in line.split("|")[1:-1]]
            for line in lines
            if line.startswith("| 0.4 | None | own_best_step |")
        ]
        for key in ("test_accuracy", "temperature"):
            values = [
                fresh_value(0.4, "None", None, seed, key) for seed in FRESH
            ]
            cell = row[header.index(f"{key} (mean ± sd)")]
            assert cell == study.mean_and_sd(values)

    def test_runs_without_calibration_have_null_metrics(self):
        results = helpers.make_results(
            {"validation_size": 300},
            steps=STEPS,
            validation_accuracy=[0.1, 0.2, 0.3, 0.4],
            validation_loss=[1.0] * 4,
        )
        view = study.results_view(results)
        for key in results_io.CALIBRATION_KEYS:
            assert view[key] == [None] * len(STEPS)


@pytest.mark.parametrize(
    "values, text",
    [([], "n/a"), ([0.5], "0.500"), ([0.4, 0.6], "0.500 ± 0.141")],
)
def test_mean_and_sd(values, text):
    assert study.mean_and_sd(values) == text


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
