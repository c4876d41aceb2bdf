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
"""Tests of gradient_error_group: switching units and relative errors."""

import numpy as np
import tensorflow as tf

from fisher_rao_experiments.benchmark import (
    bench_networks,
    bench_settings,
    gradient_error_group,
)


class GradientErrorTest(tf.test.TestCase):
    def test_relative_error_over_several_arrays(self):
        references = [np.array([3.0, 0.0]), np.array([[4.0]])]
        values = [np.array([3.0, 1.0], np.float32), np.array([[4.0]])]
        # ||(0, 1, 0)|| / ||(3, 0, 4)|| = 1 / 5.
        self.assertAllClose(
            gradient_error_group.relative_error(values, references), 0.2
        )

    def test_switching_units(self):
        size = bench_settings.MlpSize(
            "tiny", batch=6, inputs=4, width=5, relu_layers=2, classes=3
        )
        parameters = bench_networks.initial_parameters(size, seed=3)
        inputs, _ = bench_networks.synthetic_batch(size, seed=3)
        # Scaling a bias-free net by s > 0 scales layer l by s^l: no unit
        # changes sign.
        bias_free = [(kernel, 0 * bias) for kernel, bias in parameters]
        self.assertEqual(
            gradient_error_group.switching_units(
                bias_free, inputs, (1.0, 1.5)
            ),
            0,
        )
        # Two one-unit ReLU layers, kernels 1, biases 0 then -1: at scale s
        # the second pre-activation is s^2 x - s; for x = 1.2 it is 0.2 (on)
        # at s = 1, -0.2 (off) at s = 0.5, 2.8 (on) at s = 2. The first layer
        # (s x) never switches.
        one_unit = [
            (np.ones((1, 1)), np.zeros(1)),
            (np.ones((1, 1)), -np.ones(1)),
            (np.ones((1, 1)), np.zeros(1)),
        ]
        self.assertEqual(
            gradient_error_group.switching_units(
                one_unit, np.array([[1.2]]), (1.0, 0.5)
            ),
            1,
        )
        self.assertEqual(
            gradient_error_group.switching_units(
                one_unit, np.array([[1.2]]), (1.0, 2.0)
            ),
            0,
        )


if __name__ == "__main__":
    tf.test.main()
