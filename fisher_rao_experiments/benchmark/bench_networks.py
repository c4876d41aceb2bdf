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
"""The networks, batches and regularizer shared by the benchmark's groups.

ReLU MLPs with He-normal kernels and nonzero N(0, 0.1) biases, on N(0, 1)
inputs with uniformly random one-hot labels, built from float32-exact
arrays so that a float32 and a float64 net hold the same parameters. The
loss and the regularizer's options are the experiment's own.
"""

import math

import numpy as np
import tensorflow as tf

import direct_fisher_rao
from fisher_rao_experiments import model, training

NORMS = ("fr", "fre")
METHODS = direct_fisher_rao.METHODS
# The experiment's finite-difference step.
PERTURBATION = model.PERTURBATION
LEARNING_RATE = 1e-3
# Factor of the regularizer in the timed training loss: nonzero, so that
# its gradient is part of the step.
REGULARIZER_WEIGHT = 0.01
SCOPE = "mlp"
SEED = 0

# The experiment's own, so that both build the same loss.
mean_cross_entropy = training.mean_cross_entropy
regularize_every_variable = model.regularize_every_variable


def initial_parameters(size, seed=SEED):
    """He-normal kernels and nonzero N(0, 0.1) biases, as float64 arrays.

    The values are rounded to float32 so that the float32 and float64 nets
    built from them hold exactly the same parameters.

    Args:
      size: The MLP (`bench_settings.MlpSize`).
      seed: Seed of the random generator.

    Returns:
      A list of `(kernel, bias)` pairs, first layer first.
    """
    rng = np.random.default_rng(seed)
    dims = size.layer_dims()
    parameters = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
        kernel = rng.normal(0.0, math.sqrt(2.0 / fan_in), (fan_in, fan_out))
        bias = rng.normal(0.0, 0.1, fan_out)
        parameters.append((_float32_exact(kernel), _float32_exact(bias)))
    return parameters


def synthetic_batch(size, seed=SEED):
    """N(0, 1) inputs and uniformly random one-hot labels (float64 arrays)."""
    rng = np.random.default_rng(seed + 1)
    inputs = _float32_exact(rng.normal(size=(size.batch, size.inputs)))
    classes = rng.integers(0, size.classes, size.batch)
    return inputs, np.eye(size.classes)[classes]


def _float32_exact(array):
    return array.astype(np.float32).astype(np.float64)


def mlp_logits(inputs, parameters):
    """The ReLU MLP's logits for `(kernel, bias)` pairs (tensors/variables)."""
    hidden = inputs
    for index, (kernel, bias) in enumerate(parameters):
        hidden = tf.matmul(hidden, kernel) + bias
        if index < len(parameters) - 1:
            hidden = tf.nn.relu(hidden)
    return hidden


def logits_builder(inputs, parameters, dtype):
    """A `make_logits` for the library: the MLP on `get_variable` variables.

    Args:
      inputs: Input tensor.
      parameters: Initial `(kernel, bias)` arrays.
      dtype: tf.float32 or tf.float64.

    Returns:
      A callable with no arguments building the logits in the current
      variable scope (variables 'layer_<i>/kernel' and 'layer_<i>/bias').
    """

    def make_logits():
        variables = []
        for index, (kernel, bias) in enumerate(parameters):
            with tf.compat.v1.variable_scope(f"layer_{index}"):
                variables.append(
                    tuple(
                        tf.compat.v1.get_variable(
                            name,
                            initializer=value.astype(dtype.as_numpy_dtype),
                            dtype=dtype,
                        )
                        for name, value in (("kernel", kernel), ("bias", bias))
                    )
                )
        return mlp_logits(inputs, variables)

    return make_logits


def build_mlp_on_batch(size, dtype):
    """Builds the batch and the MLP's variables in the current graph.

    Args:
      size: The MLP and batch.
      dtype: tf.float32 or tf.float64.

    Returns:
      `(inputs, labels, make_logits, variables)`: the batch as constants,
      the `make_logits` of `logits_builder` (to call with reuse, as its
      variables exist in SCOPE) and the variables in layer order: kernel_0,
      bias_0, kernel_1...
    """
    inputs, labels = (
        tf.constant(array, dtype) for array in synthetic_batch(size)
    )
    make_logits = logits_builder(inputs, initial_parameters(size), dtype)
    with tf.compat.v1.variable_scope(SCOPE):
        make_logits()
    return inputs, labels, make_logits, tf.compat.v1.trainable_variables(SCOPE)


def library_regularizer(norm, method, make_logits, labels, reuse):
    """`(logits, regularizer)` of `direct_fisher_rao` over every variable.

    Args:
      norm: 'fr' (standard, differentiating the probabilities) or 'fre'.
      method: One of direct_fisher_rao.METHODS.
      make_logits: The network builder.
      labels: One-hot labels (used by 'fre').
      reuse: Whether the variables of SCOPE already exist.
    """
    if norm == "fr":
        return direct_fisher_rao.make_standard_fisher_regularizer(
            make_logits,
            SCOPE,
            regularize_every_variable,
            PERTURBATION,
            True,
            method,
            reuse=reuse,
        )
    return direct_fisher_rao.make_empirical_fisher_regularizer(
        make_logits,
        labels,
        SCOPE,
        regularize_every_variable,
        PERTURBATION,
        method,
        reuse=reuse,
    )


def start_session(graph, initializer, num_threads):
    """Finalizes `graph`, opens a session on it and runs `initializer`."""
    graph.finalize()
    session = tf.compat.v1.Session(
        graph=graph,
        config=training.session_config(num_threads),
    )
    session.run(initializer)
    return session


def train_label(norm, method):
    """A training step's label: 'unregularized', or e.g. 'fr forward'."""
    return "unregularized" if norm is None else f"{norm} {method}"
