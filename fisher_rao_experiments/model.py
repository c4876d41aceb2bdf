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
"""The experiment's classifiers, and their regularized pass.

`mlp`: dense(layer_width, ReLU), num_hidden_layers x dense(layer_width,
ReLU), dense(num_classes).

`cnn` (for sequence inputs of length input_dimension, one channel):
conv_layers x conv1d(conv_channels, kernel_size, stride conv_stride, 'SAME'
zero padding, ReLU), the features flattened (position-major), head_layers x
dense(layer_width, ReLU), dense(num_classes).

Glorot-uniform kernels seeded by the layer's index, zero biases (none with
`use_bias` false), every variable made with `tf.compat.v1.get_variable`
under `MODEL_SCOPE` ("model/conv_<i>/kernel", "model/dense_<i>/kernel",
".../bias"), so that the regularizer of `direct_fisher_rao` (a custom
getter) sees all of them.
"""

import dataclasses
import math

import tensorflow as tf

import direct_fisher_rao
from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import measures

MODEL_SCOPE = "model"
# Finite-difference step of the regularizer, as in the original experiment.
PERTURBATION = 1e-4


@dataclasses.dataclass(frozen=True)
class LayerShape:
    """One layer carrying weights.

    Attributes:
      name: Its variable scope under MODEL_SCOPE, "conv_<i>" or "dense_<i>".
      kernel_shape: `[kernel_size, in_channels, out_channels]` of a
        convolution, `[fan_in, units]` of a dense layer.
      stride: A convolution's stride (1 for a dense layer).
      input_length: A convolution's input positions (None for dense).
      seed: The seed of its kernel's initializer.
    """

    name: str
    kernel_shape: tuple
    stride: int = 1
    input_length: int | None = None
    seed: int = 0

    @property
    def is_conv(self):
        return len(self.kernel_shape) == 3

    @property
    def units(self):
        """Output channels of a convolution, units of a dense layer."""
        return self.kernel_shape[-1]


def layer_shapes(config):
    """The layers carrying weights, input layer first (a resolved or
    unresolved configuration)."""
    config = experiment_config.resolve_config(config)
    shapes = []
    width = config["input_dimension"]
    dense_widths = [config["num_classes"]]
    if config["architecture"] == "cnn":
        length, channels = config["input_dimension"], 1
        for index in range(config["conv_layers"]):
            shapes.append(
                LayerShape(
                    f"conv_{index}",
                    (config["kernel_size"], channels, config["conv_channels"]),
                    config["conv_stride"],
                    length,
                    seed=index,
                )
            )
            length = math.ceil(length / config["conv_stride"])
            channels = config["conv_channels"]
        width = length * channels
        dense_widths = [config["layer_width"]] * config["head_layers"] + (
            dense_widths
        )
    else:
        dense_widths = layer_widths(config)
    for index, units in enumerate(dense_widths):
        shapes.append(
            LayerShape(f"dense_{index}", (width, units), seed=len(shapes))
        )
        width = units
    return shapes


def layer_widths(config):
    """The MLP's output widths of the layers, input layer first."""
    config = experiment_config.resolve_config(config)
    return [config["layer_width"]] * (config["num_hidden_layers"] + 1) + [
        config["num_classes"]
    ]


def make_logits(inputs, config):
    """Builds the classifier under the current variable scope.

    Args:
      inputs: `[batch, input_dimension]` float32.
      config: The configuration (architecture and widths).

    Returns:
      Logits of shape `[batch, num_classes]`.
    """
    config = experiment_config.resolve_config(config)
    shapes = layer_shapes(config)
    hidden = inputs
    if shapes[0].is_conv:
        hidden = tf.expand_dims(inputs, -1)  # One channel.
    for index, shape in enumerate(shapes):
        if not shape.is_conv and hidden.shape.rank == 3:
            hidden = tf.reshape(hidden, [-1, shape.kernel_shape[0]])
        hidden = _layer(hidden, shape, config["use_bias"])
        if index < len(shapes) - 1:
            hidden = tf.nn.relu(hidden)
    return hidden


def _layer(inputs, shape, use_bias):
    """A convolution or dense layer: Glorot-uniform kernel, zero bias."""
    with tf.compat.v1.variable_scope(shape.name):
        kernel = tf.compat.v1.get_variable(
            "kernel",
            shape.kernel_shape,
            initializer=tf.compat.v1.glorot_uniform_initializer(
                seed=shape.seed
            ),
        )
        bias = None
        # Both variables before the layer's ops: the order of the original
        # MLP, on which the last bits of the exact Fisher-Rao measures
        # depend (the order gradients are summed in).
        if use_bias:
            bias = tf.compat.v1.get_variable(
                "bias",
                [shape.units],
                initializer=tf.compat.v1.zeros_initializer(),
            )
    if shape.is_conv:
        outputs = tf.nn.conv1d(
            inputs, kernel, stride=shape.stride, padding="SAME"
        )
    else:
        outputs = tf.matmul(inputs, kernel)
    return outputs if bias is None else outputs + bias


def model_layers(config):
    """The model's layers as `measures.Layer`s, input layer first.

    The variables must already exist in `MODEL_SCOPE`; `bias` is None
    without biases.
    """
    config = experiment_config.resolve_config(config)
    layers = []
    with tf.compat.v1.variable_scope(MODEL_SCOPE, reuse=True):
        for shape in layer_shapes(config):
            with tf.compat.v1.variable_scope(shape.name):
                layers.append(
                    measures.Layer(
                        tf.compat.v1.get_variable("kernel"),
                        tf.compat.v1.get_variable("bias")
                        if config["use_bias"]
                        else None,
                        stride=shape.stride,
                        input_length=shape.input_length,
                    )
                )
    return layers


def num_parameters(config):
    """The number of the model's trainable parameters (weights and biases)."""
    config = experiment_config.resolve_config(config)
    return sum(
        math.prod(shape.kernel_shape)
        + (shape.units if config["use_bias"] else 0)
        for shape in layer_shapes(config)
    )


def regularize_every_variable(unused_name):
    """The `should_regularize` of the experiment: theta_S is all of theta."""
    return True


def batch_logits_and_regularizer(inputs, labels, config):
    """Logits and regularizer of a batch, sharing the model's variables.

    The regularizer is the configured norm (`fr`: standard, `fre`:
    empirical) of every variable, by `direct_fisher_rao` with the configured
    method and `PERTURBATION`. The variables must already exist in
    `MODEL_SCOPE`.

    Returns:
      `(logits, regularizer)`; the regularizer is 0 for norm `None`.
    """

    def make_batch_logits():
        return make_logits(inputs, config)

    norm, method = config["regularization_norm"], config["fisher_rao_method"]
    if norm == "fr":
        return direct_fisher_rao.make_standard_fisher_regularizer(
            make_batch_logits,
            MODEL_SCOPE,
            regularize_every_variable,
            PERTURBATION,
            config["differentiate_probability"],
            method,
            reuse=True,
        )
    if norm == "fre":
        return direct_fisher_rao.make_empirical_fisher_regularizer(
            make_batch_logits,
            labels,
            MODEL_SCOPE,
            regularize_every_variable,
            PERTURBATION,
            method,
            reuse=True,
        )
    with tf.compat.v1.variable_scope(MODEL_SCOPE, reuse=True):
        return make_batch_logits(), tf.constant(0.0)


def sum_of_squared_kernels(config):
    """The weight-decay penalty without its factor: sum_l ||W_l||_F^2."""
    return tf.add_n(
        [
            tf.reduce_sum(tf.square(layer.kernel))
            for layer in model_layers(config)
        ]
    )
