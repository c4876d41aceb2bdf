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
"""The losses `FisherRaoRegularizedModel.compile` takes, read for the norm.

The wrapped model outputs logits, so a cross-entropy named by a string is
made to take them, a loss that would read them as probabilities is refused,
and a single cross-entropy says which distribution the logits define
(binary: "bernoulli", categorical: "categorical").
"""

import keras

# Keras losses that read the model's output as probabilities unless given
# from_logits=True; the regularized model outputs logits.
_PROBABILITY_LOSSES = (
    keras.losses.binary_crossentropy,
    keras.losses.binary_focal_crossentropy,
    keras.losses.categorical_crossentropy,
    keras.losses.categorical_focal_crossentropy,
    keras.losses.sparse_categorical_crossentropy,
)
# The losses that say which distribution the logits define.
_BERNOULLI_LOSSES = (
    keras.losses.BinaryCrossentropy,
    keras.losses.BinaryFocalCrossentropy,
    keras.losses.binary_crossentropy,
    keras.losses.binary_focal_crossentropy,
)
_CATEGORICAL_LOSSES = (
    keras.losses.CategoricalCrossentropy,
    keras.losses.CategoricalFocalCrossentropy,
    keras.losses.SparseCategoricalCrossentropy,
    keras.losses.categorical_crossentropy,
    keras.losses.categorical_focal_crossentropy,
    keras.losses.sparse_categorical_crossentropy,
)

# Cross-entropies given to compile() by name, computed from the logits the
# wrapped model outputs (by name, Keras would read them as probabilities).
_LOSSES_FROM_LOGITS_BY_NAME = {
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "binary_focal_crossentropy": keras.losses.BinaryFocalCrossentropy,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "categorical_focal_crossentropy": (
        keras.losses.CategoricalFocalCrossentropy
    ),
    "sparse_categorical_crossentropy": (
        keras.losses.SparseCategoricalCrossentropy
    ),
}


def losses_from_logits(loss):
    """`loss` with every cross-entropy named by a string taken from logits.

    Accepts what `compile` does: one loss, or a list, tuple or dict of them.
    """
    if isinstance(loss, dict):
        return {key: losses_from_logits(each) for key, each in loss.items()}
    if isinstance(loss, (list, tuple)):
        return type(loss)(losses_from_logits(each) for each in loss)
    if isinstance(loss, str) and loss in _LOSSES_FROM_LOGITS_BY_NAME:
        return _LOSSES_FROM_LOGITS_BY_NAME[loss](from_logits=True)
    return loss


def _each_loss(loss):
    if isinstance(loss, dict):
        return list(loss.values())
    if isinstance(loss, (list, tuple)):
        return list(loss)
    return [loss]


def check_loss_takes_logits(loss):
    """Raises ValueError if a compiled loss would read logits as
    probabilities."""
    for each in _each_loss(loss):
        if _takes_probabilities(each):
            raise ValueError(
                f"loss {each!r} reads the model's output as probabilities, "
                f"but a model regularized by the Fisher-Rao norm outputs "
                f"logits. Use a loss that takes logits, e.g. "
                f"keras.losses.CategoricalCrossentropy(from_logits=True), or "
                f'name it ("categorical_crossentropy").'
            )


def _takes_probabilities(loss):
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError:
            return False  # Keras's compile() will say what is wrong.
    if getattr(loss, "from_logits", None) is False:
        return True
    return any(loss is function for function in _PROBABILITY_LOSSES)


def loss_distribution(loss):
    """ "bernoulli" for a binary cross-entropy, "categorical" for a
    categorical one, None for any other loss (or several)."""
    losses = [each for each in _each_loss(loss) if each is not None]
    if len(losses) != 1:
        return None
    (loss,) = losses
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError:
            return None
    for kinds, distribution in (
        (_BERNOULLI_LOSSES, "bernoulli"),
        (_CATEGORICAL_LOSSES, "categorical"),
    ):
        for kind in kinds:
            if loss is kind or (
                isinstance(kind, type) and isinstance(loss, kind)
            ):
                return distribution
    return None
