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
"""A hand-made regularizer study (v3) for the tests of its three modules.

`SETTING` is a small study (5 arms, 2 noise levels, 4 selection and 6 fresh
seeds); `write_runs` writes a results file for every value of every arm on
every seed, with curves (`curves_of`) whose validation peak depends on the
seed. The brute-force choices (`brute_force_own_best`,
`brute_force_shared`) and `fresh_value` are what the study must find;
`choices` and `family` read its summary.
"""

import math

import helpers
import numpy as np

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
