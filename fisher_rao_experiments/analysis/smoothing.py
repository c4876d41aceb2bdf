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
"""TensorBoard's smoothing of a noisy trace.

The regularizer is recorded at every training step, on that step's
minibatch: over 100k steps its raw trace is a band of noise. The plots draw
it faintly and, over it, the trace smoothed as TensorBoard smooths scalars:
an exponential moving average with debiasing,

  last_t = weight * last_(t-1) + (1 - weight) * x_t,  last_0 = 0
  smoothed_t = last_t / (1 - weight^n_t)

where n_t counts the finite values so far. Dividing by 1 - weight^n_t
removes the pull towards the initial 0, so the smoothed trace starts at the
first value instead of near 0. Non-finite values (a diverged step) are kept
as they are and do not enter the average. A weight of 0 leaves the trace
unchanged; the closer to 1, the smoother: the average spans about
1 / (1 - weight) values.
"""

import numpy as np
import scipy.signal

# Per training step: the average spans about 100 steps.
DEFAULT_SMOOTHING = 0.99


def check_weight(weight):
    """Raises ValueError unless 0 <= weight < 1."""
    if not 0 <= weight < 1:
        raise ValueError(
            f"the smoothing weight must be in [0, 1), not {weight}."
        )


def smooth(values, weight=DEFAULT_SMOOTHING):
    """The debiased exponential moving average of `values`.

    Args:
      values: A sequence of numbers; None and non-finite values are passed
        through (as NaN for None) and skipped by the average.
      weight: The smoothing weight, in [0, 1) (TensorBoard's slider).

    Returns:
      A float array like `values`.

    Raises:
      ValueError: If `weight` is not in [0, 1).
    """
    check_weight(weight)
    values = np.array(
        [np.nan if value is None else value for value in values], dtype=float
    )
    finite = np.isfinite(values)
    if weight == 0 or not finite.any():
        return values
    averaged = scipy.signal.lfilter([1 - weight], [1, -weight], values[finite])
    counts = np.arange(1, len(averaged) + 1)
    smoothed = values.copy()
    smoothed[finite] = averaged / (1 - weight**counts)
    return smoothed
