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
"""Tests of gradient_reference: its derivatives against finite differences."""

import numpy as np
import tensorflow as tf

from fisher_rao_experiments.benchmark import (
    bench_networks,
    bench_settings,
    gradient_reference,
)


class ReferenceTest(tf.test.TestCase):
    """The gradient-accuracy reference against finite differences."""

    def setUp(self):
        super().setUp()
        size = bench_settings.MlpSize(
            "tiny", batch=6, inputs=4, width=5, relu_layers=2, classes=3
        )
        self.parameters = bench_networks.initial_parameters(size, seed=3)
        self.inputs, self.labels = bench_networks.synthetic_batch(size, seed=3)

    def _log_probs(self, parameters, scale=1.0):
        scaled = [
            (scale * kernel, scale * bias) for kernel, bias in parameters
        ]
        return tf.nn.log_softmax(
            bench_networks.mlp_logits(
                tf.constant(self.inputs),
                [tuple(map(tf.constant, pair)) for pair in scaled],
            )
        )

    def _finite_difference_derivative(self, step=1e-6):
        """Central difference of log softmax in e, theta -> (1 + e) theta."""
        return (
            self._log_probs(self.parameters, 1 + step)
            - self._log_probs(self.parameters, 1 - step)
        ) / (2 * step)

    def test_hand_written_derivative_matches_finite_difference(self):
        parameters = [
            tuple(map(tf.constant, pair)) for pair in self.parameters
        ]
        log_probs, derivative = gradient_reference.tangent_log_prob_derivative(
            tf.constant(self.inputs), parameters
        )
        self.assertAllClose(log_probs, self._log_probs(self.parameters))
        self.assertAllClose(
            derivative,
            self._finite_difference_derivative(),
            rtol=1e-6,
            atol=1e-8,
        )

    def test_jacobian_derivative_matches_finite_difference(self):
        parameters = [
            tuple(map(tf.constant, pair)) for pair in self.parameters
        ]
        _, derivative = gradient_reference.jacobian_log_prob_derivative(
            tf.constant(self.inputs), parameters
        )
        self.assertAllClose(
            derivative,
            self._finite_difference_derivative(),
            rtol=1e-6,
            atol=1e-8,
        )

    def _reference_value(self, norm, parameters):
        log_probs, derivative = gradient_reference.tangent_log_prob_derivative(
            tf.constant(self.inputs),
            [tuple(map(tf.constant, pair)) for pair in parameters],
        )
        return float(
            gradient_reference.regularizer_from_derivative(
                norm, log_probs, derivative, tf.constant(self.labels)
            )
        )

    def test_reference_gradient_matches_finite_difference(self):
        step = 1e-6
        for norm in ("fr", "fre"):
            parameters = [
                tuple(map(tf.Variable, pair)) for pair in self.parameters
            ]
            with tf.GradientTape() as tape:
                log_probs, derivative = (
                    gradient_reference.tangent_log_prob_derivative(
                        tf.constant(self.inputs), parameters
                    )
                )
                value = gradient_reference.regularizer_from_derivative(
                    norm, log_probs, derivative, tf.constant(self.labels)
                )
            # d value / d (first kernel's entry [1, 2]) and (last bias [0]).
            kernel_gradient, bias_gradient = tape.gradient(
                value, [parameters[0][0], parameters[-1][1]]
            )
            for layer, which, index, gradient in (
                (0, 0, (1, 2), kernel_gradient[1, 2]),
                (-1, 1, (0,), bias_gradient[0]),
            ):
                plus = [list(map(np.copy, pair)) for pair in self.parameters]
                minus = [list(map(np.copy, pair)) for pair in self.parameters]
                plus[layer][which][index] += step
                minus[layer][which][index] -= step
                expected = (
                    self._reference_value(norm, plus)
                    - self._reference_value(norm, minus)
                ) / (2 * step)
                self.assertAllClose(gradient, expected, rtol=1e-5, atol=1e-9)

    def test_standard_and_empirical_norms_from_the_derivative(self):
        log_probs = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
        derivative = np.array([[2.0, -1.0], [0.5, 3.0]])
        labels = np.array([[0.0, 1.0], [1.0, 0.0]])
        # standard: mean(0.25*4 + 0.75*1, 0.5*0.25 + 0.5*9) = 3.1875.
        self.assertAllClose(
            gradient_reference.regularizer_from_derivative(
                "fr", log_probs, derivative, labels
            ),
            3.1875,
        )
        # empirical: mean((-1)^2, 0.5^2) = 0.625.
        self.assertAllClose(
            gradient_reference.regularizer_from_derivative(
                "fre", log_probs, derivative, labels
            ),
            0.625,
        )


if __name__ == "__main__":
    tf.test.main()
