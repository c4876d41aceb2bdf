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
"""The benchmark's sizes and modes: how much work each group does.

Plain data, no TensorFlow: the networks measured (`MlpSize`) and the three
modes' `Settings` (full, `--quick`, `--smoke`).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class MlpSize:
    """A ReLU MLP and its batch: `relu_layers` dense+ReLU layers, then logits.

    Attributes:
      name: Short name used in the row names ("default", "mnist").
      batch: Examples per batch.
      inputs: Input dimension.
      width: Units of every ReLU layer.
      relu_layers: Number of dense+ReLU layers before the logits layer.
      classes: Number of classes (logits).
    """

    name: str
    batch: int
    inputs: int
    width: int
    relu_layers: int
    classes: int

    def layer_dims(self):
        return [self.inputs] + [self.width] * self.relu_layers + [self.classes]

    def describe(self):
        """E.g. 'batch 1024, 784-512-512-10'."""
        return (
            f"batch {self.batch}, "
            f"{'-'.join(str(dim) for dim in self.layer_dims())}"
        )


# The training script's default network: an input layer and 3 hidden layers,
# all ReLU of width 10, on 10 inputs, 2 classes.
DEFAULT_SIZE = MlpSize(
    "default", batch=64, inputs=10, width=10, relu_layers=4, classes=2
)
MNIST_SIZE = MlpSize(
    "mnist", batch=1024, inputs=784, width=512, relu_layers=2, classes=10
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How much work each group does; chosen by the mode.

    Attributes:
      repeats: Timed rounds per group (after one warm-up round).
      judge_targets: Whether `met` is computed (False: null).
      mnist_size: The MNIST-sized MLP of the train_step, keras_step and
        gradient_error groups.
      value_size: The MLP of the value group.
      default_steps: Training steps per measurement at the default size.
      mnist_steps: Training steps per measurement at the MNIST size.
      value_calls: Library value evaluations per measurement.
      jacobian_calls: Baseline value evaluations per measurement.
      script_steps: `(short, long)` training steps of the script's runs; the
        difference of their times is the time of `long - short` steps.
      original_design_steps: Training steps timed of the original design
        (whose time per step needs no difference); None: `long - short`.
      num_threads: Size of every session's thread pools; None for
        TensorFlow's choice.
    """

    repeats: int
    judge_targets: bool
    mnist_size: MlpSize
    value_size: MlpSize
    default_steps: int
    mnist_steps: int
    value_calls: int
    jacobian_calls: int
    script_steps: tuple
    original_design_steps: int | None = None
    num_threads: int | None = None


# Many short measurements rather than a few long ones: a round then spans
# a short time, over which another user's load varies less.
FULL_SETTINGS = Settings(
    repeats=11,
    judge_targets=True,
    mnist_size=MNIST_SIZE,
    value_size=dataclasses.replace(MNIST_SIZE, batch=256),
    default_steps=500,
    mnist_steps=5,
    value_calls=20,
    jacobian_calls=1,
    script_steps=(1000, 5000),
)
QUICK_SETTINGS = dataclasses.replace(
    FULL_SETTINGS,
    repeats=3,
    default_steps=200,
    mnist_steps=3,
    value_size=dataclasses.replace(MNIST_SIZE, batch=128),
    value_calls=10,
    script_steps=(500, 2500),
)
SMOKE_SETTINGS = Settings(
    repeats=1,
    judge_targets=False,
    mnist_size=MlpSize(
        "mnist", batch=32, inputs=24, width=16, relu_layers=2, classes=10
    ),
    value_size=MlpSize(
        "mnist", batch=16, inputs=24, width=16, relu_layers=2, classes=10
    ),
    default_steps=20,
    mnist_steps=2,
    value_calls=2,
    jacobian_calls=1,
    # Enough steps that the long runs are measurably slower than the short.
    script_steps=(10, 8010),
    # Its 2 session calls per step make 8000 of them cost 7 s a round.
    original_design_steps=1000,
)

MODES = {
    "full": FULL_SETTINGS,
    "quick": QUICK_SETTINGS,
    "smoke": SMOKE_SETTINGS,
}


def settings_for(mode, repeats=None, num_threads=None):
    """The settings of `mode`, with its rounds and thread pools overridden.

    Args:
      mode: 'full', 'quick' or 'smoke'.
      repeats: Timed rounds per group, or None for the mode's.
      num_threads: Size of every session's thread pools, or None for
        TensorFlow's choice.

    Raises:
      KeyError: If `mode` is none of those.
    """
    settings = MODES[mode]
    if repeats:
        settings = dataclasses.replace(settings, repeats=repeats)
    return dataclasses.replace(settings, num_threads=num_threads)
