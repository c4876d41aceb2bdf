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
"""Changing a `FisherRaoRegularizedModel`'s lambda as training goes on.

`FisherRaoLambdaScheduler` sets lambda at each epoch's start from a
schedule, as `keras.callbacks.LearningRateScheduler` sets the learning
rate; `linear_warm_up` is such a schedule.
"""

import numbers

import keras

from keras_fisher_rao import _checks, _wrapper


class FisherRaoLambdaScheduler(keras.callbacks.Callback):
    """Sets a `FisherRaoRegularizedModel`'s lambda at each epoch's start.

    In the style of `keras.callbacks.LearningRateScheduler`: `schedule` takes
    the epoch index (from 0) and the current lambda (a float) and returns the
    new lambda, a finite number >= 0. The epoch's logs get
    `"fisher_rao_lambda"`, the value used. A warm-up:

        FisherRaoLambdaScheduler(linear_warm_up(0.01, epochs=5))
    """

    def __init__(self, schedule, verbose=0):
        """Args:
        schedule: Callable `(epoch, fisher_rao_lambda) -> fisher_rao_lambda`.
        verbose: 1 prints each new value, 0 is quiet.

        Raises:
          TypeError: If `schedule` is not callable.
        """
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"schedule must be a callable (epoch, fisher_rao_lambda) -> "
                f"fisher_rao_lambda; got {schedule!r}."
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        model = self._regularized_model()
        value = self.schedule(epoch, _lambda_value(model))
        try:
            _checks.check_lambda(value)
        except ValueError as error:
            raise ValueError(
                f"The schedule of FisherRaoLambdaScheduler returned "
                f"{value!r} at epoch {epoch}: {error}"
            ) from None
        model.fisher_rao_lambda = value
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: FisherRaoLambdaScheduler setting "
                f"fisher_rao_lambda to {float(value)}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["fisher_rao_lambda"] = _lambda_value(
                self._regularized_model()
            )

    def _regularized_model(self):
        if not isinstance(self.model, _wrapper.FisherRaoRegularizedModel):
            raise TypeError(
                f"FisherRaoLambdaScheduler works on a "
                f"FisherRaoRegularizedModel's fit; this fit is "
                f"{type(self.model).__name__}'s."
            )
        return self.model


def linear_warm_up(fisher_rao_lambda, epochs):
    """A schedule for `FisherRaoLambdaScheduler`: lambda from 0 to a value.

    Epoch e (from 0) trains with `fisher_rao_lambda * min(1, e / epochs)`:
    the first epoch on the loss alone, full lambda from epoch `epochs` on.

    Args:
      fisher_rao_lambda: The final lambda, a finite number >= 0.
      epochs: Epochs to reach it, an integer >= 1.

    Returns:
      A function `(epoch, current_lambda) -> lambda`.

    Raises:
      ValueError: On a bad `fisher_rao_lambda` or `epochs`.
    """
    _checks.check_lambda(fisher_rao_lambda)
    if (
        isinstance(epochs, bool)
        or not isinstance(epochs, numbers.Integral)
        or epochs < 1
    ):
        raise ValueError(f"epochs must be an integer >= 1; got {epochs!r}.")
    final = float(fisher_rao_lambda)

    def schedule(epoch, current_lambda):
        del current_lambda  # The schedule depends on the epoch only.
        return final * min(1.0, epoch / epochs)

    return schedule


def _lambda_value(model):
    return float(keras.ops.convert_to_numpy(model.fisher_rao_lambda))
