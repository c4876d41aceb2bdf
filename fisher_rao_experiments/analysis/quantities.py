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
"""What the plots can draw: quantities, their ranges, the kinds of plot.

Every plot kind reads a few keys of a results file and nothing else
(`keys_read`), so that files written by earlier versions of the training
script, which lack the validation metrics, the complexity measures,
`stopped_at_step`, `checkpoint` or `num_parameters`, still plot wherever
those keys are not drawn.
"""

import math

from fisher_rao_experiments import results_io

# Quantities recorded at every entry of "steps" (one value per evaluation).
EVALUATED_KEYS = results_io.EVALUATED_KEYS
GAP_KEY = "generalization_gap"  # Final train accuracy - test accuracy.
FINAL_KEYS = EVALUATED_KEYS + (GAP_KEY,)
# The final values every summary table shows.
SUMMARY_KEYS = (
    "train_loss",
    "test_loss",
    "train_accuracy",
    "test_accuracy",
    GAP_KEY,
)
# Recorded at every training step, not only at evaluations.
REGULARIZER_KEY = "regularizer_loss"
# The values each quantity can take; bands of mean ± 2 std are clipped to
# them, so that e.g. a norm's band never dips below 0.
_NON_NEGATIVE_KEYS = (
    "train_loss",
    "validation_loss",
    "test_loss",
    "fisher_rao_norm",
    "fisher_rao_norm_depth_normalized",
    "empirical_fisher_rao_norm",
    "l2_norm",
    "spectral_product",
    "path_norm",
    REGULARIZER_KEY,
)
VALUE_RANGES = {
    **{key: (0.0, math.inf) for key in _NON_NEGATIVE_KEYS},
    **{
        key: (0.0, 1.0)
        for key in ("train_accuracy", "validation_accuracy", "test_accuracy")
    },
    GAP_KEY: (-1.0, 1.0),
}

PLOT_MODES = ("trajectories", "measures", "final", "lambda")
# The quantities each mode with measures can draw, and its default ones.
ALLOWED_MEASURES = {
    "measures": EVALUATED_KEYS,
    "final": FINAL_KEYS,
    "lambda": FINAL_KEYS,
}
DEFAULT_MEASURES = {
    "measures": results_io.MEASURE_KEYS,
    "final": ("test_loss", "test_accuracy", GAP_KEY),
    "lambda": ("test_loss", "test_accuracy", GAP_KEY),
}
# Drawn by the trajectories plot where recorded: a file without them (an
# earlier version's, or a run without a validation split) has none drawn.
OPTIONAL_TRAJECTORY_KEYS = ("validation_loss", "validation_accuracy")
# What the summary table reads of every run.
_TABLE_KEYS = (
    "hparams",
    "steps",
    "train_loss",
    "train_accuracy",
    "test_loss",
    "test_accuracy",
)


def check_measures(measures, allowed):
    """Raises ValueError unless `measures` is a non-empty subset of `allowed`.

    The message is one line listing the allowed names.
    """
    unknown = [name for name in measures if name not in allowed]
    if unknown or not measures:
        raise ValueError(
            f"unknown measures {unknown}; the allowed ones are "
            f"{', '.join(allowed)}."
            if unknown
            else "no measure given."
        )


def keys_read(plot, measures=()):
    """The results keys a plot and its summary table need in every file.

    Args:
      plot: One of `PLOT_MODES`.
      measures: The quantities drawn by the measures, final and lambda
        plots (keys of `FINAL_KEYS`).

    Returns:
      A tuple of keys: "hparams", "steps", the train and test loss and
      accuracy (the table), and the plot's own: the regularizer for
      trajectories (validation metrics are drawn where recorded), the
      measures otherwise (the gap is computed from the accuracies).
    """
    if plot == "trajectories":
        own = (REGULARIZER_KEY,)
    else:
        own = tuple(measure for measure in measures if measure != GAP_KEY)
    return tuple(dict.fromkeys(_TABLE_KEYS + own))
