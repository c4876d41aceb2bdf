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
"""Tests of fisher_rao_experiments/model.py: the MLP and its regularizer.

Expected values come from numpy (the forward pass, the weight-decay sum)
and from tests/fisher_rao_reference.py (the regularizer, by forward-mode
differentiation in float64).
"""

import fisher_rao_reference as ref
import numpy as np
import tensorflow as tf

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import model

CONFIG = experiment_config.resolve_config(
    dict(
        experiment_config.default_config(),
        input_dimension=4,
        num_classes=3,
        num_hidden_layers=1,
        layer_width=5,
        fisher_rao_method="exact",
    )
)


def build(config, num_examples=7, seed=0):
    """The model's logits and regularizer on random data, evaluated.

    Returns:
      `(values, params, inputs, labels)`: the fetched dict (`logits`,
      `regularizer`, `weight_decay`, `batch_logits`), the (kernel, bias)
      pairs in float64, and the data.
    """
    rng = np.random.default_rng(seed)
    inputs = rng.normal(size=(num_examples, config["input_dimension"]))
    labels = np.eye(config["num_classes"])[
        rng.integers(config["num_classes"], size=num_examples)
    ]
    with tf.Graph().as_default():
        inputs_tensor = tf.constant(inputs, tf.float32)
        labels_tensor = tf.constant(labels, tf.float32)
        with tf.compat.v1.variable_scope(model.MODEL_SCOPE):
            logits = model.make_logits(inputs_tensor, config)
        batch_logits, regularizer = model.batch_logits_and_regularizer(
            inputs_tensor, labels_tensor, config
        )
        fetches = {
            "logits": logits,
            "batch_logits": batch_logits,
            "regularizer": regularizer,
            "weight_decay": model.sum_of_squared_kernels(config),
            "layers": model.model_layers(config),
        }
        names = [
            variable.op.name for variable in tf.compat.v1.trainable_variables()
        ]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            values = session.run(fetches)
    params = [
        (kernel.astype(np.float64), bias.astype(np.float64))
        for kernel, bias in values.pop("layers")
    ]
    values["names"] = names
    return values, params, inputs, labels


class ModelTest(tf.test.TestCase):
    def test_layers_are_named_and_shaped_as_configured(self):
        values, params, _, _ = build(CONFIG)
        self.assertEqual(model.layer_widths(CONFIG), [5, 5, 3])
        self.assertEqual(
            values["names"],
            [
                f"model/dense_{index}/{name}"
                for index in range(3)
                for name in ("kernel", "bias")
            ],
        )
        self.assertEqual(
            [(kernel.shape, bias.shape) for kernel, bias in params],
            [((4, 5), (5,)), ((5, 5), (5,)), ((5, 3), (3,))],
        )
        for _, bias in params:  # Zero biases.
            self.assertAllEqual(bias, np.zeros_like(bias))
        self.assertEqual(
            model.num_parameters(CONFIG),
            sum(kernel.size + bias.size for kernel, bias in params),
        )
        # Unresolved sizes take the data set's (digits: 64 in, 10 out).
        self.assertEqual(
            model.num_parameters(
                dict(
                    CONFIG,
                    dataset="digits",
                    input_dimension=None,
                    num_classes=None,
                )
            ),
            (64 + 1) * 5 + (5 + 1) * 5 + (5 + 1) * 10,
        )

    def test_logits_are_the_relu_network_of_its_variables(self):
        values, params, inputs, _ = build(CONFIG)
        self.assertAllClose(
            values["logits"], ref.mlp_logits(params, inputs), rtol=1e-5
        )
        # The regularizer's pass shares the variables.
        self.assertAllClose(values["batch_logits"], values["logits"])

    def test_initial_weights_are_seeded_by_the_layer(self):
        first, _, _, _ = build(CONFIG, seed=0)
        again, _, _, _ = build(CONFIG, seed=0)
        self.assertAllEqual(first["logits"], again["logits"])

    def test_regularizer_is_the_configured_norm_of_every_variable(self):
        for norm in ("fr", "fre"):
            values, params, inputs, labels = build(
                dict(CONFIG, regularization_norm=norm)
            )
            logits, derivative = ref.mlp_logits_and_derivative(params, inputs)
            expected = ref.regularizer(
                "standard" if norm == "fr" else "empirical",
                logits,
                derivative,
                labels=labels,
            )
            self.assertAllClose(
                values["regularizer"], expected, rtol=1e-4, msg=norm
            )
        values, _, _, _ = build(dict(CONFIG, regularization_norm="None"))
        self.assertEqual(values["regularizer"], 0.0)

    def test_weight_decay_sums_the_squared_kernels_only(self):
        values, params, _, _ = build(CONFIG)
        self.assertAllClose(
            values["weight_decay"],
            sum(np.sum(kernel**2) for kernel, _ in params),
            rtol=1e-5,
        )
