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
"""Tests of studies/regularizer.py on hand-made results files.

Choices and statistics are checked against a brute-force selection and
scipy called directly on the values the test wrote. The command line is
tested by tests/test_regularizer_study.py.
"""

import math

import matplotlib

matplotlib.use("Agg")

import helpers
import matplotlib.image
import numpy as np
import pytest
import scipy.stats

from fisher_rao_experiments.studies import regularizer as study

STEPS = (0, 100, 200, 300)
SEEDS = tuple(range(1, 11))
ARMS = (
    study.Arm("None", "None", None, None, (None,)),
    study.Arm("fr-exact", "fr", "exact", "fisher_rao_lambda", (0.01, 0.1)),
    study.Arm("fre-exact", "fre", "exact", "fisher_rao_lambda", (0.01,)),
    study.Arm("weight-decay", "None", None, "weight_decay", (0.001, 0.01)),
)
SETTING = study.Setting(
    "digits",
    (0.0, 0.4),
    SEEDS,
    ARMS,
    {
        "dataset": "digits",
        "train_steps": 300,
        "eval_steps": 100,
        "validation_size": 300,
    },
)
# Quality of each (arm, value): the validation and test curves scale it.
QUALITY = {
    ("None", None): 0.80,
    ("fr-exact", 0.01): 0.82,
    ("fr-exact", 0.1): 0.78,
    ("fre-exact", 0.01): 0.81,
    ("weight-decay", 0.001): 0.815,
    ("weight-decay", 0.01): 0.805,
}
# Validation accuracy peaks at step 200: stopping early is chosen.
SHAPE = np.array([0.2, 0.9, 1.0, 0.97])
# A 9-of-10-seed arm: this run is never written.
MISSING = (0.4, "fre-exact", 0.01, 7)


def curves_of(noise, arm, value, seed):
    """The validation and test curves the test writes for one run."""
    rng = np.random.default_rng(
        [
            int(10 * noise),
            ARMS.index(next(a for a in ARMS if a.name == arm)),
            0 if value is None else int(round(-1000 * math.log10(value))),
            seed,
        ]
    )
    quality = QUALITY[arm, value] - 0.1 * noise
    validation = quality * SHAPE + rng.normal(0, 0.01, 4)
    test = (quality - 0.01) * SHAPE + rng.normal(0, 0.01, 4)
    return {
        "validation_accuracy": list(validation),
        "validation_loss": list(1.5 - validation),
        "test_accuracy": list(test),
        "test_loss": list(1.6 - test + rng.normal(0, 0.01, 4)),
        "fisher_rao_norm": list(np.geomspace(0.1, 40.0, 4) * quality),
        "empirical_fisher_rao_norm": list(np.geomspace(1e-3, 2.0, 4)),
    }


def write_runs(runs_dir, setting=SETTING, skip=(MISSING,), change=None):
    """Writes every run of `setting`; `change(label, curves)` edits some."""
    for label, point in setting.labelled_points():
        noise, arm, value, seed = label
        key = (noise, arm.name, value, seed)
        if key in skip:
            continue
        curves = (
            curves_of(*key)
            if setting is SETTING
            else curves_of(0.0, "None", None, seed)
        )
        if change:
            curves = change(key, curves)
        hparams = {
            name: entry for name, entry in point.items() if entry is not None
        }
        helpers.write_results(
            runs_dir,
            helpers.stem_of(point),
            helpers.make_results(hparams, steps=STEPS, **curves),
        )


def brute_force_choice(noise, arm, metric="validation_accuracy"):
    """(value, step) maximizing the mean of `metric` over the seeds."""
    best = None
    for rank, value in enumerate(arm.values):
        seeds = [
            seed for seed in SEEDS if (noise, arm.name, value, seed) != MISSING
        ]
        for index, step in enumerate(STEPS):
            mean = np.mean(
                [
                    curves_of(noise, arm.name, value, seed)[metric][index]
                    for seed in seeds
                ]
            )
            key = (-mean, rank, step)
            if best is None or key < best[0]:
                best = (key, value, step)
    return best[1], best[2]


def written_test_values(noise, arm, value, step, metric):
    """seed -> the test value written at `step`."""
    index = STEPS.index(step)
    return {
        seed: curves_of(noise, arm, value, seed)[metric][index]
        for seed in SEEDS
        if (noise, arm, value, seed) != MISSING
    }


@pytest.fixture(scope="module")
def analysed(tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("regularizer")
    write_runs(output_dir / "runs")
    study.analyse(SETTING, str(output_dir))
    return (
        helpers.read_strict_json(output_dir / "summary.json"),
        output_dir,
    )


def arm_entry(summary, noise, arm):
    (level,) = [
        level
        for level in summary["noise_levels"]
        if level["label_noise"] == noise
    ]
    (entry,) = [entry for entry in level["arms"] if entry["arm"] == arm]
    return entry


def comparison_entry(summary, noise, arm, reference, metric):
    (entry,) = [
        entry
        for entry in summary["comparisons"]
        if (
            entry["label_noise"],
            entry["arm"],
            entry["reference"],
            entry["metric"],
        )
        == (noise, arm, reference, metric)
    ]
    return entry


class TestSelection:
    @pytest.mark.parametrize("noise", SETTING.label_noises)
    @pytest.mark.parametrize("arm", ARMS, ids=lambda arm: arm.name)
    def test_choice_matches_brute_force_on_validation(
        self, analysed, noise, arm
    ):
        summary, _ = analysed
        entry = arm_entry(summary, noise, arm.name)
        value, step = brute_force_choice(noise, arm)
        assert (entry["chosen_value"], entry["chosen_step"]) == (value, step)
        # The test values of the chosen runs, at the chosen step.
        for metric in ("test_accuracy", "test_loss"):
            expected = written_test_values(
                noise, arm.name, value, step, metric
            )
            recorded = {row["seed"]: row[metric] for row in entry["per_seed"]}
            assert recorded == pytest.approx(expected)

    def test_early_stopping_is_chosen(self, analysed):
        summary, _ = analysed
        assert arm_entry(summary, 0.0, "None")["chosen_step"] == 200

    def test_poisoned_test_metrics_do_not_change_the_choice(self, tmp_path):
        def poison(key, curves):
            # Test accuracy 1 for the worst value, 0 elsewhere; the test
            # loss the other way round: reading either would flip choices.
            noise, arm, value, _ = key
            worst = key[1:3] in (("fr-exact", 0.1), ("weight-decay", 0.01))
            curves = dict(curves)
            curves["test_accuracy"] = [1.0 if worst else 0.0] * 4
            curves["test_loss"] = [0.0 if worst else 9.0] * 4
            return curves

        write_runs(tmp_path / "clean")
        write_runs(tmp_path / "poisoned", change=poison)
        clean = study.collect_runs(SETTING, str(tmp_path / "clean")).runs
        poisoned = study.collect_runs(SETTING, str(tmp_path / "poisoned")).runs
        choices = [
            [
                (
                    models.arm.name,
                    models.label_noise,
                    models.choice.value,
                    models.choice.step,
                )
                for models in study.choose_models(SETTING, runs)
            ]
            for runs in (clean, poisoned)
        ]
        assert choices[0] == choices[1]
        # The poison would have flipped the choice of a selection that
        # read test accuracy: the poisoned best is lambda 0.1.
        chosen_lambda = {
            value for name, _, value, _ in choices[0] if name == "fr-exact"
        }
        assert chosen_lambda == {0.01}
        poisoned_accuracy = {
            value: np.mean(
                [
                    run.run.results["test_accuracy"][-1]
                    for run in poisoned
                    if run.arm == "fr-exact" and run.value == value
                ]
            )
            for value in (0.01, 0.1)
        }
        assert max(poisoned_accuracy, key=poisoned_accuracy.get) == 0.1

    def test_runs_without_validation_are_left_out(self, tmp_path):
        def no_validation(key, curves):
            if key == (0.0, "None", None, 3):
                return dict(
                    curves,
                    validation_accuracy=[None] * 4,
                    validation_loss=[None] * 4,
                )
            return curves

        write_runs(tmp_path, change=no_validation)
        collected = study.collect_runs(SETTING, str(tmp_path))
        reasons = [
            left_out.reason
            for left_out in collected.left_out
            if "seed3" in left_out.name
        ]
        assert len(reasons) == 1 and "no validation metrics" in reasons[0]
        seeds = {
            run.seed
            for run in collected.runs
            if (run.label_noise, run.arm) == (0.0, "None")
        }
        assert seeds == set(SEEDS) - {3}


class TestComparisons:
    @pytest.mark.parametrize(
        "noise, arm, reference",
        [
            (0.0, "fr-exact", "None"),
            (0.4, "fr-exact", "weight-decay"),
            (0.0, "weight-decay", "None"),
            (0.4, "fre-exact", "None"),
            (0.4, "fre-exact", "weight-decay"),
        ],
    )
    @pytest.mark.parametrize("metric", ["test_accuracy", "test_loss"])
    def test_paired_statistics_match_scipy_on_shared_seeds(
        self, analysed, noise, arm, reference, metric
    ):
        summary, _ = analysed
        arms = {arm.name: arm for arm in ARMS}
        treated = written_test_values(
            noise, arm, *brute_force_choice(noise, arms[arm]), metric
        )
        control = written_test_values(
            noise,
            reference,
            *brute_force_choice(noise, arms[reference]),
            metric,
        )
        shared = sorted(set(treated) & set(control))
        direct = scipy.stats.ttest_rel(
            [treated[seed] for seed in shared],
            [control[seed] for seed in shared],
        )
        interval = direct.confidence_interval(0.95)
        entry = comparison_entry(summary, noise, arm, reference, metric)
        assert entry["seeds"] == shared
        assert entry["mean_difference"] == pytest.approx(
            np.mean([treated[seed] - control[seed] for seed in shared])
        )
        assert entry["interval"]["low"] == pytest.approx(interval.low)
        assert entry["interval"]["high"] == pytest.approx(interval.high)
        assert entry["p_value"] == pytest.approx(direct.pvalue)

    def test_nine_of_ten_seed_arm_is_compared_on_shared_seeds(self, analysed):
        summary, _ = analysed
        entry = comparison_entry(
            summary, 0.4, "fre-exact", "None", "test_accuracy"
        )
        assert entry["num_seeds"] == 9 and 7 not in entry["seeds"]
        assert arm_entry(summary, 0.4, "fre-exact")["seeds"] == [
            seed for seed in SEEDS if seed != 7
        ]
        assert any(
            "random_seed=7" in left_out["name"]
            and left_out["reason"] == "no complete results file"
            for left_out in summary["runs_left_out"]
        )

    def test_holm_is_over_every_comparison_made(self, analysed):
        summary, _ = analysed
        comparisons = summary["comparisons"]
        # 3 arms vs None and 2 Fisher-Rao arms vs weight decay, 2 metrics,
        # 2 noise levels.
        assert len(comparisons) == (3 + 2) * 2 * 2
        p_values = [entry["p_value"] for entry in comparisons]
        count = len(p_values)
        for entry in comparisons:
            # Holm by hand: the running maximum of (m - j + 1) p_(j) up to
            # this comparison's rank j, capped at 1.
            rank = sorted(p_values).index(entry["p_value"])
            expected = max(
                min(1.0, (count - j) * sorted(p_values)[j])
                for j in range(rank + 1)
            )
            assert entry["holm_p_value"] == pytest.approx(expected)

    def test_ruled_out_effects_are_interval_bounds(self, analysed):
        summary, _ = analysed
        accuracy = comparison_entry(
            summary, 0.0, "fr-exact", "None", "test_accuracy"
        )
        loss = comparison_entry(summary, 0.0, "fr-exact", "None", "test_loss")
        assert (
            accuracy["smallest_benefit_ruled_out"]
            == (accuracy["interval"]["high"])
        )
        assert loss["smallest_benefit_ruled_out"] == -loss["interval"]["low"]


class TestOutputs:
    def test_summary_has_the_documented_keys(self, analysed):
        summary, _ = analysed
        assert {
            "setting",
            "grid",
            "selection",
            "noise_levels",
            "comparisons",
            "runs_used",
            "runs_left_out",
        } <= set(summary)
        entry = arm_entry(summary, 0.0, "fr-exact")
        assert {
            "chosen_value",
            "chosen_step",
            "seeds",
            "per_seed",
            "mean_validation_accuracy",
        } <= set(entry)
        assert {"seed", "run", "test_accuracy", "test_loss"} == set(
            entry["per_seed"][0]
        )
        assert {
            "mean_difference",
            "interval",
            "p_value",
            "holm_p_value",
            "smallest_benefit_ruled_out",
            "seeds",
        } <= set(summary["comparisons"][0])

    def test_tables_and_figures_are_written(self, analysed):
        _, output_dir = analysed
        tables = (output_dir / "tables.md").read_text()
        assert "## Chosen models" in tables and "Holm p" in tables
        for name in (
            "effects_vs_lambda.png",
            "effects_vs_weight_decay.png",
            "trajectories.png",
        ):
            pixels = matplotlib.image.imread(output_dir / name)
            assert pixels.shape[0] > 300 and pixels.var() > 0

    def test_norm_panels_are_log_scaled_and_never_below_zero(self, analysed):
        _, output_dir = analysed
        runs = study.collect_runs(SETTING, str(output_dir / "runs")).runs
        figure = study.plot_trajectories(
            SETTING, runs, study.choose_models(SETTING, runs)
        )
        norm_axes = [
            axes for axes in figure.axes if "Fisher-Rao" in axes.get_ylabel()
        ]
        assert len(norm_axes) == 2 * len(SETTING.label_noises)
        for axes in norm_axes:
            assert axes.get_yscale() == "log"
            for band in axes.collections:
                assert band.get_paths()[0].vertices[:, 1].min() > 0
        matplotlib.pyplot.close(figure)


class TestGrids:
    def test_digits_grid(self):
        setting = study.SETTINGS["digits"]
        assert setting.label_noises == (0.0, 0.2, 0.4)
        assert len(setting.seeds) >= 10
        points = [point for _, point in setting.labelled_points()]
        assert len({tuple(sorted(point.items())) for point in points}) == (
            len(points)
        )
        assert len({point["train_steps"] for point in points}) == 1
        assert all(point["validation_size"] > 0 for point in points)
        exact = setting.arm("fr-exact").values
        ratios = np.divide(exact[1:], exact[:-1])
        np.testing.assert_allclose(ratios, math.sqrt(10), rtol=0.01)
        assert exact[0] <= 1e-4 and exact[-1] >= 1.0
        for arm in setting.arms:
            for value in arm.values:
                config = arm.config(value)
                regularized = config["regularization_norm"] != "None"
                assert (config["fisher_rao_lambda"] > 0) == regularized

    def test_synthetic_grid_keeps_300_training_rows(self):
        setting = study.SETTINGS["synthetic"]
        fixed = setting.fixed
        assert fixed["train_size"] - fixed["validation_size"] == 300
        assert (
            fixed["optimizer"],
            fixed["learning_rate"],
            fixed["train_steps"],
        ) == ("sgd", 0.01, 20000)

    def test_half_decades(self):
        assert study.half_decades(-2, 0) == (0.01, 0.0316, 0.1, 0.316, 1.0)


def test_grid_keeps_the_order_of_the_arms_values():
    # Selection's tie-break prefers the value listed first.
    labels = [label for label, _ in SETTING.labelled_points()]
    values = [
        value
        for noise, arm, value, seed in labels
        if (noise, arm.name, seed) == (0.0, "fr-exact", 1)
    ]
    assert values == list(ARMS[1].values)
    assert len(labels) == len(SETTING.label_noises) * len(SEEDS) * 6


@pytest.mark.parametrize(
    "values, text",
    [
        ([0.9, 0.92], "0.910 ± 0.014"),
        ([0.9], "0.900"),  # One seed: no spread, not "± 0.000".
        ([], "n/a"),
    ],
)
def test_mean_and_sd(values, text):
    assert study.mean_and_sd(values) == text


def test_a_single_seeds_table_shows_no_spread(tmp_path):
    setting = study.Setting("digits", (0.0,), (1,), ARMS, SETTING.fixed)
    write_runs(tmp_path / "runs", setting=setting, skip=())
    summary = study.analyse(setting, str(tmp_path))
    matplotlib.pyplot.close("all")
    tables = (tmp_path / "tables.md").read_text()
    assert "± 0.000" not in tables
    entry = arm_entry(summary, 0.0, "None")
    (only,) = entry["per_seed"]
    (row,) = [line for line in tables.splitlines() if "| None | – |" in line]
    assert row.split(" | ")[-2:] == [
        f"{only['test_accuracy']:.3f}",
        f"{only['test_loss']:.3f} |",
    ]
