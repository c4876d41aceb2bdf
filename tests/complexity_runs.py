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
"""A hand-made complexity study (v2) for the tests of its three modules.

Two settings share one runs directory: `SETTING` (MLPs over label noise and
width, 3 seeds) and `OTHER` (CNNs over label noise, 2 seeds). `write_grid`
writes their results files, with measures (`measures_of`) that tie, stay
constant or ignore the gap, one run that misses its stop loss
(`NOT_REACHED`) and one with a negative margin (`NEGATIVE_MARGIN`).
"""

import helpers

from fisher_rao_experiments.studies import complexity

NOISES = (0.0, 0.5, 1.0)
WIDTHS = (16, 32)
SEEDS = (1, 2, 3)
AXES = ("label_noise", "layer_width")
STOP = 0.01
# A setting of the study's form, small enough to compute by hand.
SETTING = complexity.Setting(
    "hand_mlp",
    "hand-made MLPs",
    complexity.Grid(
        axes={"label_noise": NOISES, "layer_width": WIDTHS},
        seeds=SEEDS,
        fixed={
            "dataset": "digits",
            "architecture": "mlp",
            "regularization_norm": "None",
            "stop_train_loss": STOP,
            "stop_check_steps": 1,
            "use_bias": False,
        },
    ),
    main=True,
)
# A second setting whose files share the runs directory.
OTHER = complexity.Setting(
    "hand_cnn",
    "hand-made CNNs",
    complexity.Grid(
        axes={"label_noise": NOISES},
        seeds=(1, 2),
        fixed=dict(
            SETTING.grid.fixed,
            dataset="mnist1d",
            architecture="cnn",
            layer_width=16,
        ),
    ),
    main=False,
)
# Did not reach the stop loss; its measures would change every tau.
NOT_REACHED = (NOISES[1], WIDTHS[1], SEEDS[1])
# Margin below 0: no normalized measures.
NEGATIVE_MARGIN = (NOISES[-1], WIDTHS[0], SEEDS[0])
RESAMPLES = 60
BOOTSTRAP_SEED = 7


def measures_of(noise, width, seed):
    """The final measures the test writes: ties, and a constant one."""
    fisher_rao = 10 * noise + width / 8 + 0.3 * seed
    return {
        "fisher_rao_norm": fisher_rao,
        "fisher_rao_norm_depth_normalized": fisher_rao / 4 - 3 * seed,
        "empirical_fisher_rao_norm": float(noise >= 0.5),  # Ties.
        "l2_norm": float(width) + 0.1 * seed,  # Constant along noise.
        "spectral_product": 4.0,  # Constant.
        # Unrelated to the gap, with no ties.
        "path_norm": (2.7 * (13 * noise + 7 * width + 5 * seed)) % 9.1,
        "margin": -0.1
        if (noise, width, seed) == NEGATIVE_MARGIN
        else 0.5 + 0.1 * seed,
    }


def gaps_of(noise, width, seed):
    test_accuracy = 0.95 - 0.6 * noise + 0.01 * width / 8 - 0.02 * seed
    test_loss = 0.2 + 2 * noise + 0.05 * seed * width / 8
    return {
        "train_accuracy": 1.0,
        "test_accuracy": test_accuracy,
        "train_loss": 0.009,
        "test_loss": test_loss,
    }


def stopped_loss_of(noise, width, seed):
    return STOP * (1 - 0.01 * (seed + width / 16 + noise))


def key_of(point):
    return (
        point["label_noise"],
        point.get("layer_width"),
        point["random_seed"],
    )


def write_run(directory, point, reached=True, **overrides):
    noise, width, seed = key_of(point)
    width = width or 16
    values = dict(
        measures_of(noise, width, seed), **gaps_of(noise, width, seed)
    )
    values.update(overrides)
    if reached:
        results = helpers.make_results(
            point,
            steps=(0, 100, 187),
            stopped_at_step=187,
            stopped_at_loss=stopped_loss_of(noise, width, seed),
            num_parameters=100 * width,
            **values,
        )
    else:
        results = helpers.make_results(
            point,
            steps=(0, 100, 200, 300),
            stopped_at_loss=None,
            num_parameters=100 * width,
            **dict(values, train_loss=0.05),
        )
    return helpers.write_results(
        directory, helpers.stem_of(point) + point["dataset"], results
    )


def point_of(key):
    """The grid point of (label noise, width, seed)."""
    (point,) = [
        point for point in SETTING.grid.points() if key_of(point) == key
    ]
    return point


def file_name(key):
    return helpers.stem_of(point_of(key)) + "digits.json"


def write_grid(runs_dir, skip=()):
    for point in SETTING.grid.points():
        key = key_of(point)
        if key not in skip:
            write_run(runs_dir, point, reached=key != NOT_REACHED)
    for point in OTHER.grid.points():
        write_run(runs_dir, point)
