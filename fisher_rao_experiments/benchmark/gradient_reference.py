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
"""The derivatives the benchmark checks the library against.

`tangent_log_prob_derivative` is the exact derivative of the log-softmax in
the scaling of every parameter, written by hand (forward mode through the
MLP), independent of the library; `reference_gradients` differentiates the
two norms built on it in float64, and checks the derivative against
`jacobian_log_prob_derivative`: what a user would write without the library
(per-example jacobians dotted with theta), which is also the value group's
baseline.
"""

import tensorflow as tf

from fisher_rao_experiments.benchmark import bench_networks

# Examples on which the gradient reference is checked against jacobians.
REFERENCE_CHECK_EXAMPLES = 8


def jacobian_log_prob_derivative(inputs, parameters):
    """d/de log softmax(f(x; (1 + e) theta)) per example, from jacobians.

    What a user would write without the library: per-example gradients of
    every class's log-probability (`tf.GradientTape.jacobian`, vectorized by
    pfor) dotted with theta.

    Args:
      inputs: A batch of inputs.
      parameters: `(kernel, bias)` pairs of variables or tensors.

    Returns:
      `(log_probs, derivative)`, both of shape `[batch, classes]`.
    """
    flat = [parameter for pair in parameters for parameter in pair]
    with tf.GradientTape() as tape:
        tape.watch(flat)
        log_probs = tf.nn.log_softmax(
            bench_networks.mlp_logits(inputs, parameters)
        )
    jacobians = tape.jacobian(log_probs, flat)  # [batch, classes, *shape]
    derivative = tf.add_n(
        [
            tf.tensordot(jacobian, parameter, axes=parameter.shape.rank)
            for jacobian, parameter in zip(jacobians, flat, strict=True)
        ]
    )
    return log_probs, derivative


def tangent_log_prob_derivative(inputs, parameters):
    """Exact d/de log softmax(f(x; (1 + e) theta)) at e = 0, by hand.

    Forward-mode by hand through the MLP: with pre-activations
    z_l = h_{l-1} W_l + b_l, scaling every parameter by (1 + e) gives
    dz_l/de = (dh_{l-1}/de) W_l + z_l and dh_l/de = 1[z_l > 0] dz_l/de.
    Independent of the library (no custom getter, no autodiff for the
    derivative itself); differentiable in the parameters.

    Args:
      inputs: A batch of inputs.
      parameters: `(kernel, bias)` pairs of variables or tensors.

    Returns:
      `(log_probs, derivative)`, both of shape `[batch, classes]`.
    """
    hidden, tangent = inputs, None
    for index, (kernel, bias) in enumerate(parameters):
        pre_activation = tf.matmul(hidden, kernel) + bias
        if tangent is None:  # The inputs do not depend on e.
            tangent = pre_activation
        else:
            tangent = tf.matmul(tangent, kernel) + pre_activation
        if index < len(parameters) - 1:
            active = tf.cast(pre_activation > 0, pre_activation.dtype)
            hidden, tangent = tf.nn.relu(pre_activation), active * tangent
        else:
            hidden = pre_activation
    log_probs = tf.nn.log_softmax(hidden)
    # d log softmax_k(z) = dz_k - sum_j softmax_j(z) dz_j.
    derivative = tangent - tf.reduce_sum(
        tf.exp(log_probs) * tangent, axis=-1, keepdims=True
    )
    return log_probs, derivative


def regularizer_from_derivative(norm, log_probs, derivative, labels):
    """The standard ('fr') or empirical ('fre') norm from d log softmax."""
    if norm == "fr":
        return tf.reduce_mean(
            tf.reduce_sum(tf.exp(log_probs) * tf.square(derivative), axis=-1)
        )
    return tf.reduce_mean(
        tf.square(tf.reduce_sum(labels * derivative, axis=-1))
    )


def reference_gradients(size):
    """Float64 reference values and gradients, and their jacobian check.

    Args:
      size: The MLP and batch (`bench_settings.MlpSize`).

    Returns:
      `(reference, check)`: `reference[norm]` is `(value, gradients)` with
      the gradients as arrays in layer order; `check` is the relative
      difference between the hand-written derivative and per-example
      jacobians on the first REFERENCE_CHECK_EXAMPLES examples.
    """
    inputs_array, labels_array = bench_networks.synthetic_batch(size)
    graph = tf.Graph()
    with graph.as_default():
        parameters = [
            tuple(tf.constant(array) for array in pair)
            for pair in bench_networks.initial_parameters(size)
        ]
        flat = [parameter for pair in parameters for parameter in pair]
        inputs, labels = tf.constant(inputs_array), tf.constant(labels_array)
        log_probs, derivative = tangent_log_prob_derivative(inputs, parameters)
        fetches = {}
        for norm in bench_networks.NORMS:
            value = regularizer_from_derivative(
                norm, log_probs, derivative, labels
            )
            fetches[norm] = (value, tf.gradients(value, flat))
        examples = min(REFERENCE_CHECK_EXAMPLES, size.batch)
        _, jacobian_derivative = jacobian_log_prob_derivative(
            inputs[:examples], parameters
        )
        check = tf.norm(derivative[:examples] - jacobian_derivative) / tf.norm(
            jacobian_derivative
        )
    graph.finalize()
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run((fetches, check))
