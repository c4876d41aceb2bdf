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
"""Checks of Keras, the model, its output and lambda.

Each raises with the fix the user needs: a Keras that is not Keras 3 on
TensorFlow, a model that is not built or outputs probabilities (checked
before the passes and on each pass's output), finite differences in half
precision or with a step that vanishes, a lambda that is not a finite
number >= 0.
The checks of the passes' options shared with `direct_fisher_rao` are
`fisher_rao_core`'s; the check that traces the passes, so that eager calls
refuse what a `tf.function` does, is in `_passes`.
"""

import math
import numbers

import keras
import numpy as np
import tensorflow as tf

import fisher_rao_core as core

# Compute dtypes in which finite differences are refused, with their
# relative rounding: larger than any useful step.
HALF_PRECISION = {tf.float16: 1e-3, tf.bfloat16: 8e-3}


def check_keras():
    """Raises RuntimeError unless Keras is Keras 3 on TensorFlow."""
    major = int(keras.__version__.split(".")[0])
    if major < 3:
        raise RuntimeError(
            f"keras_fisher_rao needs Keras 3 (`import keras` gives Keras "
            f"{keras.__version__}); install keras>=3, or use "
            f"direct_fisher_rao for TF1-style graph code."
        )
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"keras_fisher_rao needs Keras's TensorFlow backend; Keras is "
            f"running on {backend!r}. Set the environment variable "
            f"KERAS_BACKEND=tensorflow before Keras is first imported."
        )


def check_model(model):
    """Raises unless `model` is a built Keras 3 model not ending in a
    softmax or sigmoid layer."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a Keras 3 keras.Model (from `import keras`); got "
            f"{type(model).__module__}.{type(model).__name__}. tf.keras "
            f"models from tf-keras (TF_USE_LEGACY_KERAS=1) are Keras 2: "
            f"build them with direct_fisher_rao's tf.compat.v1 graph code, "
            f"or build the model with Keras 3."
        )
    if not model.built:
        raise ValueError(
            f"model '{model.name}' is not built: its variables do not exist "
            f"yet. Call it on a batch (model(x)) or build it "
            f"(model.build(input_shape)) first."
        )
    for layer in _output_layers(model):
        activation = _probability_activation(layer)
        if activation is not None:
            _refuse_probabilities(model, activation, f"layer '{layer.name}'")


def _refuse_probabilities(model, activation, where):
    loss = (
        "keras.losses.CategoricalCrossentropy(from_logits=True)"
        if activation == "softmax"
        else "keras.losses.BinaryCrossentropy(from_logits=True)"
    )
    raise refusal(
        ValueError(
            f"model '{model.name}' ends in a {activation} ({where}), so it "
            f"outputs probabilities; the Fisher-Rao norm needs logits. Drop "
            f"the {activation} and train with a loss that takes logits (e.g. "
            f"{loss})."
        )
    )


def refusal(error):
    """`error`, marked as a refusal the eager trace must pass on."""
    error.fisher_rao_refusal = True
    return error


def _output_layers(model):
    """The layers producing a Sequential or functional model's outputs,
    through nested models; empty for a subclassed model (its output is
    checked when a pass runs)."""
    outputs = getattr(model, "outputs", None)
    if not outputs:
        return []
    found = []
    for layer in model.layers:
        try:
            is_output = any(layer.output is output for output in outputs)
        except (AttributeError, ValueError):  # Called more than once.
            continue
        if is_output:
            found += (
                _output_layers(layer)
                if isinstance(layer, keras.Model)
                else [layer]
            )
    return found


def _probability_activation(layer):
    """ "softmax", "sigmoid" or None: what a layer ends in."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    if activation is keras.activations.softmax:
        return "softmax"
    if activation is keras.activations.sigmoid:
        return "sigmoid"
    return None


# Ops that pass a tensor on unchanged in value, between a softmax or sigmoid
# and the model's output.
_PASS_THROUGH_OPS = frozenset(
    {"Identity", "Cast", "Reshape", "Squeeze", "ExpandDims"}
)
_PROBABILITY_OPS = {"Softmax": "softmax", "Sigmoid": "sigmoid"}


def _output_activation(outputs):
    """ "softmax" or "sigmoid" if `outputs` are probabilities, else None.

    Keras marks what its softmax and sigmoid return (eagerly too); in a
    graph the op that made them also shows.
    """
    if not tf.executing_eagerly() and hasattr(outputs, "op"):
        tensor = outputs
        while tensor.op.type in _PASS_THROUGH_OPS and tensor.op.inputs:
            tensor = tensor.op.inputs[0]
        if tensor.op.type in _PROBABILITY_OPS:
            return _PROBABILITY_OPS[tensor.op.type]
    if not hasattr(outputs, "_keras_logits"):
        return None
    if not tf.executing_eagerly():
        return "softmax or sigmoid"
    # Eagerly, rows summing to 1 are a softmax's.
    sums = tf.reduce_sum(tf.cast(outputs, tf.float64), axis=-1).numpy()
    return "softmax" if np.allclose(sums, 1.0, atol=1e-3) else "sigmoid"


def checked_model_logits(model, outputs):
    producer = f"model '{model.name}'"
    if not tf.is_tensor(outputs):
        # Nested outputs would convert to one stacked tensor without error.
        raise ValueError(
            f"{producer} must return one float tensor of shape "
            f"[batch, ..., num_classes]; got {type(outputs).__name__} "
            f"{outputs!r}."
        )
    activation = _output_activation(outputs)
    if activation is not None:
        _refuse_probabilities(model, activation, "its call's output")
    return core.checked_logits(outputs, producer)


def check_finite_differences(model, selected, perturbation):
    """Raises if a finite difference of a selected variable is not
    meaningful: computed in half precision, or a step that vanishes."""
    compute_dtypes = _compute_dtypes(model)
    variables = model.trainable_variables
    for variable, is_selected in zip(variables, selected, strict=True):
        if not is_selected:
            continue
        dtype = tf.as_dtype(variable.dtype)
        compute_dtype = tf.as_dtype(compute_dtypes.get(id(variable), dtype))
        half = next(
            (
                each
                for each in (compute_dtype, dtype)
                if each in HALF_PRECISION
            ),
            None,
        )
        if half is not None:
            raise ValueError(
                f"method='forward' and 'central' take finite differences, "
                f"and variable '{variable.path}' is computed in "
                f"{half.name} (mixed precision, or a {half.name} model): "
                f"its rounding (about {HALF_PRECISION[half]:.0e} "
                f"relative) swamps any useful step, and the norm would be "
                f"wrong by far more than the finite difference's error. Use "
                f"method='exact', which is accurate in {half.name}, or "
                f"compute the model in float32."
            )
        core.check_step_resolves(perturbation, dtype, variable.path)


def _compute_dtypes(model):
    """The compute dtype of the layer owning each trainable variable, by
    `id(variable)` (inner layers last, so they win)."""
    found = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for variable in getattr(layer, "_trainable_variables", ()):
            found[id(variable)] = layer.compute_dtype
    return found


def check_lambda(fisher_rao_lambda):
    """Raises ValueError unless `fisher_rao_lambda` is a finite number >= 0
    (a bool is not a number here)."""
    is_number = isinstance(fisher_rao_lambda, numbers.Real) and not isinstance(
        fisher_rao_lambda, bool
    )
    if not (
        is_number
        and math.isfinite(fisher_rao_lambda)
        and fisher_rao_lambda >= 0
    ):
        raise ValueError(
            f"fisher_rao_lambda must be a finite number >= 0; got "
            f"{fisher_rao_lambda!r}."
        )


def lambda_variable_given(fisher_rao_lambda):
    """A user's `keras.Variable` for lambda, checked; None for a number.

    Raises:
      ValueError: If it is neither a finite number >= 0 nor a scalar float
        non-trainable `keras.Variable` holding one.
    """
    if not isinstance(fisher_rao_lambda, keras.Variable):
        check_lambda(fisher_rao_lambda)
        return None
    variable = fisher_rao_lambda
    problems = []
    if tuple(variable.shape) != ():
        problems.append(f"has shape {tuple(variable.shape)}, not ()")
    if not tf.as_dtype(variable.dtype).is_floating:
        problems.append(f"has dtype {variable.dtype}, not a float")
    if variable.trainable:
        problems.append("is trainable (the optimizer would change it)")
    if not problems:
        value = float(keras.ops.convert_to_numpy(variable))
        if not (math.isfinite(value) and value >= 0):
            problems.append(f"holds {value!r}, not a finite number >= 0")
    if problems:
        raise ValueError(
            f"fisher_rao_lambda must be a finite number >= 0 or a scalar "
            f"float non-trainable keras.Variable holding one; the variable "
            f"'{variable.path}' {' and '.join(problems)}."
        )
    return variable
