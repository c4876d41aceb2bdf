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
"""Tests of bench_networks: the shared MLPs, batches and labels."""

import numpy as np
import tensorflow as tf

from fisher_rao_experiments.benchmark import bench_networks, bench_settings

TINY = bench_settings.MlpSize(
    "tiny", batch=6, inputs=4, width=5, relu_layers=2, classes=3
)


class NetworksTest(tf.test.TestCase):
    def test_parameters_are_float32_exact_with_nonzero_biases(self):
        parameters = bench_networks.initial_parameters(TINY)
        self.assertEqual(
            [kernel.shape for kernel, _ in parameters],
            [(4, 5), (5, 5), (5, 3)],
        )
        for kernel, bias in parameters:
            for array in (kernel, bias):
                self.assertEqual(array.dtype, np.float64)
                np.testing.assert_array_equal(
                    array, array.astype(np.float32).astype(np.float64)
                )
            self.assertTrue(np.all(bias != 0))
        inputs, labels = bench_networks.synthetic_batch(TINY)
        self.assertEqual(inputs.shape, (6, 4))
        np.testing.assert_array_equal(labels.sum(axis=1), np.ones(6))

    def test_graph_variables_hold_the_parameters(self):
        with tf.Graph().as_default():
            inputs, _, make_logits, variables = (
                bench_networks.build_mlp_on_batch(TINY, tf.float64)
            )
            with tf.compat.v1.variable_scope(bench_networks.SCOPE, reuse=True):
                logits = make_logits()
            expected = bench_networks.mlp_logits(
                inputs,
                [
                    tuple(map(tf.constant, pair))
                    for pair in bench_networks.initial_parameters(TINY)
                ],
            )
            self.assertLen(variables, 6)
            initializer = tf.compat.v1.global_variables_initializer()
            with tf.compat.v1.Session() as session:
                session.run(initializer)
                self.assertAllClose(*session.run((logits, expected)))

    def test_train_label(self):
        self.assertEqual(
            bench_networks.train_label(None, None), "unregularized"
        )
        self.assertEqual(
            bench_networks.train_label("fre", "exact"), "fre exact"
        )


if __name__ == "__main__":
    tf.test.main()
