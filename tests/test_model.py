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
"""Tests of fisher_rao_experiments/model.py: the networks and regularizer.

Expected values come from numpy (the forward pass, a convolution summed
tap by tap, the weight-decay sum), from tests/fisher_rao_reference.py (the
MLP's regularizer, by forward-mode differentiation in float64) and from
per-example GradientTape gradients in eager TensorFlow (the CNN's).
"""

import fisher_rao_reference as ref
import numpy as np
import tensorflow as tf

import direct_fisher_rao
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
            "layers": [
                (layer.kernel, layer.bias)
                for layer in model.model_layers(config)
            ],
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


# The model builds any configuration (the data sets' rules refuse a CNN on
# synthetic data; the model does not check them): short sequences and 3
# classes keep the per-example references small.
CNN_CONFIG = experiment_config.resolve_config(
    dict(
        experiment_config.default_config(),
        input_dimension=12,
        num_classes=3,
        architecture="cnn",
        conv_layers=2,
        conv_channels=3,
        kernel_size=5,
        conv_stride=2,
        head_layers=1,
        layer_width=4,
    )
)
# By hand: 12 positions -> 6 -> 3 (stride 2, 'SAME'), 3 channels, 9
# features -> 4 -> 3 classes.
CNN_SHAPES = [
    ("conv_0", (5, 1, 3)),
    ("conv_1", (5, 3, 3)),
    ("dense_0", (9, 4)),
    ("dense_1", (4, 3)),
]


def numpy_conv(inputs, kernel, stride):
    """A 'SAME' 1-D convolution summed tap by tap: [batch, length, in] ->
    [batch, ceil(length / stride), out]."""
    batch, length, _ = inputs.shape
    size, _, out_channels = kernel.shape
    outputs = -(-length // stride)
    left = max((outputs - 1) * stride + size - length, 0) // 2
    result = np.zeros((batch, outputs, out_channels))
    for position in range(outputs):
        for tap in range(size):
            source = position * stride + tap - left
            if 0 <= source < length:
                result[:, position] += inputs[:, source] @ kernel[tap]
    return result


def numpy_cnn(params, inputs, stride):
    hidden = inputs[:, :, None]
    for index, (kernel, bias) in enumerate(params):
        if kernel.ndim == 3:
            hidden = numpy_conv(hidden, kernel, stride)
        else:
            hidden = hidden.reshape(len(hidden), -1) @ kernel
        if bias is not None:
            hidden = hidden + bias
        if index < len(params) - 1:
            hidden = np.maximum(hidden, 0.0)
    return hidden


def random_values(config, seed):
    """Random weights and biases of the model's variables, by name."""
    rng = np.random.default_rng(seed)
    values = {}
    for shape in model.layer_shapes(config):
        values[f"model/{shape.name}/kernel"] = rng.normal(
            0, 0.5, shape.kernel_shape
        )
        if config["use_bias"]:
            values[f"model/{shape.name}/bias"] = rng.normal(
                0, 0.3, shape.units
            )
    return values


def build_cnn(config, values, inputs, labels):
    """The model's logits, regularizer and its gradient at `values`."""
    with tf.Graph().as_default():
        inputs_tensor = tf.constant(inputs, tf.float32)
        labels_tensor = tf.constant(labels, tf.float32)
        with tf.compat.v1.variable_scope(model.MODEL_SCOPE):
            logits = model.make_logits(inputs_tensor, config)
        batch_logits, regularizer = model.batch_logits_and_regularizer(
            inputs_tensor, labels_tensor, config
        )
        variables = tf.compat.v1.trainable_variables()
        gradients = tf.gradients(regularizer, variables)
        with tf.compat.v1.Session() as session:
            for variable in variables:
                variable.load(values[variable.op.name], session)
            logits, batch_logits, regularizer, gradients = session.run(
                (logits, batch_logits, regularizer, gradients)
            )
    names = [variable.op.name for variable in variables]
    return (
        logits,
        batch_logits,
        regularizer,
        dict(zip(names, gradients, strict=True)),
    )


def tape_regularizers(config, values, inputs, labels):
    """Per-example GradientTape references of the CNN's regularizers and
    their gradients, in float64 eager TensorFlow."""
    names = sorted(values)
    variables = [tf.Variable(values[name]) for name in names]
    by_name = dict(zip(names, variables, strict=True))

    def logits():
        hidden = tf.constant(inputs[:, :, None])
        shapes = model.layer_shapes(config)
        for index, shape in enumerate(shapes):
            kernel = by_name[f"model/{shape.name}/kernel"]
            if shape.is_conv:
                hidden = tf.nn.conv1d(hidden, kernel, shape.stride, "SAME")
            else:
                hidden = tf.reshape(hidden, [len(inputs), -1]) @ kernel
            if config["use_bias"]:
                hidden += by_name[f"model/{shape.name}/bias"]
            if index < len(shapes) - 1:
                hidden = tf.nn.relu(hidden)
        return hidden

    references = ref.function_tape_reference(logits, variables, labels)
    return {
        kind: (value, dict(zip(names, gradients, strict=True)))
        for kind, (value, gradients) in references.items()
    }


class CnnTest(tf.test.TestCase):
    def test_layers_are_named_and_shaped_as_configured(self):
        self.assertEqual(
            [
                (shape.name, shape.kernel_shape)
                for shape in model.layer_shapes(CNN_CONFIG)
            ],
            CNN_SHAPES,
        )
        self.assertEqual(
            model.num_parameters(CNN_CONFIG),
            (15 + 3) + (45 + 3) + (36 + 4) + (12 + 3),
        )
        self.assertEqual(
            model.num_parameters(dict(CNN_CONFIG, use_bias=False)),
            15 + 45 + 36 + 12,
        )

    def test_logits_are_the_convolutions_summed_tap_by_tap(self):
        rng = np.random.default_rng(1)
        inputs = rng.normal(size=(6, 12))
        labels = np.eye(3)[rng.integers(0, 3, 6)]
        for use_bias in (True, False):
            config = dict(CNN_CONFIG, use_bias=use_bias)
            values = random_values(config, seed=2)
            logits, batch_logits, _, gradients = build_cnn(
                config, values, inputs, labels
            )
            params = [
                (
                    values[f"model/{name}/kernel"],
                    values.get(f"model/{name}/bias"),
                )
                for name, _ in CNN_SHAPES
            ]
            self.assertCountEqual(gradients, values)  # Every variable.
            self.assertAllClose(
                logits, numpy_cnn(params, inputs, 2), rtol=1e-4, atol=1e-5
            )
            self.assertAllClose(batch_logits, logits)

    def test_initial_weights_are_seeded_glorot_and_biases_zero(self):
        def initial_values():
            with tf.Graph().as_default():
                with tf.compat.v1.variable_scope(model.MODEL_SCOPE):
                    model.make_logits(tf.zeros([1, 12]), CNN_CONFIG)
                layers = model.model_layers(CNN_CONFIG)
                with tf.compat.v1.Session() as session:
                    session.run(tf.compat.v1.global_variables_initializer())
                    return session.run(
                        [(layer.kernel, layer.bias) for layer in layers]
                    )

        first, again = initial_values(), initial_values()
        for (name, shape), (kernel, bias), (repeat, _) in zip(
            CNN_SHAPES, first, again, strict=True
        ):
            # Glorot uniform: |w| <= sqrt(6 / (fan_in + fan_out)), fans of
            # a convolution times its kernel size.
            receptive = shape[0] if len(shape) == 3 else 1
            limit = np.sqrt(6 / (receptive * (shape[-2] + shape[-1])))
            self.assertLessEqual(np.abs(kernel).max(), limit, name)
            self.assertGreater(np.abs(kernel).max(), 0.5 * limit, name)
            self.assertAllEqual(kernel, repeat)
            self.assertAllEqual(bias, np.zeros(shape[-1]))

    def test_every_method_and_norm_matches_the_tape_reference(self):
        # The exact method's value and gradient to rounding; the finite
        # differences' values to O(eps) (their gradients are not exact
        # for ReLU nets with biases, see docs/methods.md).
        rng = np.random.default_rng(3)
        inputs = rng.normal(size=(4, 12))
        labels = np.eye(3)[rng.integers(0, 3, 4)]
        values = random_values(CNN_CONFIG, seed=4)
        references = tape_regularizers(CNN_CONFIG, values, inputs, labels)
        for norm, kind in (("fr", "standard"), ("fre", "empirical")):
            expected, expected_gradients = references[kind]
            for method in direct_fisher_rao.METHODS:
                config = dict(
                    CNN_CONFIG,
                    regularization_norm=norm,
                    fisher_rao_method=method,
                )
                _, _, value, gradients = build_cnn(
                    config, values, inputs, labels
                )
                with self.subTest(norm=norm, method=method):
                    self.assertAllClose(
                        value,
                        expected,
                        rtol=1e-4 if method == "exact" else 2e-2,
                    )
                    if method == "exact":
                        for name, gradient in gradients.items():
                            self.assertAllClose(
                                gradient,
                                expected_gradients[name],
                                rtol=1e-3,
                                atol=1e-4
                                * np.abs(expected_gradients[name]).max(),
                                msg=name,
                            )


class UseBiasTest(tf.test.TestCase):
    def test_a_bias_free_mlp_has_kernels_only(self):
        config = dict(CONFIG, use_bias=False)
        with tf.Graph().as_default():
            with tf.compat.v1.variable_scope(model.MODEL_SCOPE):
                model.make_logits(tf.zeros([2, 4]), config)
            names = [v.op.name for v in tf.compat.v1.trainable_variables()]
            layers = model.model_layers(config)
        self.assertEqual(names, [f"model/dense_{i}/kernel" for i in range(3)])
        self.assertEqual([layer.bias for layer in layers], [None] * 3)
        self.assertEqual(model.num_parameters(config), 20 + 25 + 15)
