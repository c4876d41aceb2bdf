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
"""Group gradient_error: the regularizer's gradient against a reference.

At the MNIST size, with nonzero biases, the gradient of each norm and method
in float64 and float32 against the exact float64 reference of
`gradient_reference`, as a relative error; the rows carry no targets.
"""

import math

import numpy as np
import tensorflow as tf
from absl import logging

from fisher_rao_experiments.benchmark import (
    bench_harness,
    bench_networks,
    gradient_reference,
)


def library_gradients(size, dtype, num_threads):
    """`{(norm, method): (value, gradients)}` of the library, as arrays."""
    graph = tf.Graph()
    with graph.as_default():
        _, labels, make_logits, variables = bench_networks.build_mlp_on_batch(
            size, dtype
        )
        fetches = {}
        for norm in bench_networks.NORMS:
            for method in bench_networks.METHODS:
                _, value = bench_networks.library_regularizer(
                    norm, method, make_logits, labels, reuse=True
                )
                fetches[(norm, method)] = (
                    value,
                    tf.gradients(value, variables),
                )
        initializer = tf.compat.v1.global_variables_initializer()
    session = bench_networks.start_session(graph, initializer, num_threads)
    with session:
        return session.run(fetches)


def switching_units(parameters, inputs, scales):
    """ReLU units that switch on or off between two scalings of theta.

    Each such unit adds an O(1/eps) term to a finite difference's gradient.

    Args:
      parameters: `(kernel, bias)` arrays of the MLP.
      inputs: A batch of inputs (array).
      scales: Two factors multiplying every parameter.

    Returns:
      The number of (example, unit) pairs, over every ReLU layer, whose
      pre-activation is > 0 under one scaling and not the other (float64).
    """
    patterns = []
    for scale in scales:
        hidden, active = inputs, []
        for kernel, bias in parameters[:-1]:
            pre_activation = hidden @ (scale * kernel) + scale * bias
            active.append(pre_activation > 0)
            hidden = np.maximum(pre_activation, 0.0)
        patterns.append(np.concatenate([layer.ravel() for layer in active]))
    return int(np.sum(patterns[0] != patterns[1]))


def relative_error(values, references):
    """||values - references|| / ||references|| over lists of arrays."""
    difference = math.sqrt(
        sum(
            np.sum(np.square(np.asarray(value, np.float64) - reference))
            for value, reference in zip(values, references, strict=True)
        )
    )
    norm = math.sqrt(
        sum(np.sum(np.square(reference)) for reference in references)
    )
    return difference / norm


def gradient_error_rows(settings):
    """The group's rows (no targets: information)."""
    size = settings.mnist_size
    logging.info("gradient_error: float64 reference at %s", size.describe())
    reference, check = gradient_reference.reference_gradients(size)
    where = f"{size.describe()}, nonzero biases"
    parameters = bench_networks.initial_parameters(size)
    inputs, _ = bench_networks.synthetic_batch(size)
    perturbation = bench_networks.PERTURBATION
    switches = {
        method: switching_units(parameters, inputs, scales)
        for method, scales in (
            ("forward", (1.0, 1.0 + perturbation)),
            ("central", (1.0 - perturbation, 1.0 + perturbation)),
        )
    }
    examples = min(gradient_reference.REFERENCE_CHECK_EXAMPLES, size.batch)
    rows = [
        bench_harness.make_row(
            "gradient_error/reference_check",
            f"{where}, float64: reference's derivative vs per-example "
            f"jacobians on {examples} examples",
            None,
            float(check),
        )
    ]
    for dtype in (tf.float64, tf.float32):
        logging.info("gradient_error: library gradients in %s", dtype.name)
        library = library_gradients(size, dtype, settings.num_threads)
        for norm in bench_networks.NORMS:
            reference_value, reference_gradient = reference[norm]
            for method in bench_networks.METHODS:
                value, gradient = library[(norm, method)]
                value_error = abs(value - reference_value) / reference_value
                switched = (
                    f"; {switches[method]} (example, unit) pairs switch"
                    if method in switches
                    else ""
                )
                rows.append(
                    bench_harness.make_row(
                        f"gradient_error/{dtype.name}/{norm}/{method}",
                        f"{where}, {dtype.name}: {norm} {method} gradient vs "
                        f"reference (value error {value_error:.1e}{switched})",
                        None,
                        relative_error(gradient, reference_gradient),
                    )
                )
    return rows
