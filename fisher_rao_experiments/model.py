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
"""The experiment's classifier: a ReLU MLP, and its regularized pass.

dense(layer_width, ReLU), num_hidden_layers x dense(layer_width, ReLU),
dense(num_classes), with Glorot-uniform kernels and zero biases, every
variable made with `tf.compat.v1.get_variable` under `MODEL_SCOPE`
("model/dense_<i>/kernel", ".../bias"), so that the regularizer of
`direct_fisher_rao` (a custom getter) sees all of them.
"""

import itertools

import tensorflow as tf

import direct_fisher_rao
from fisher_rao_experiments import config as experiment_config

MODEL_SCOPE = "model"
# Finite-difference step of the regularizer, as in the original experiment.
PERTURBATION = 1e-4


def layer_widths(config):
    """The output widths of the layers, input layer first."""
    config = experiment_config.resolve_config(config)
    return [config["layer_width"]] * (config["num_hidden_layers"] + 1) + [
        config["num_classes"]
    ]


def make_logits(inputs, config):
    """Builds the classifier under the current variable scope.

    Returns:
      Logits of shape `[batch, num_classes]`.
    """
    widths = layer_widths(config)
    hidden = inputs
    for index, width in enumerate(widths):
        hidden = _dense(hidden, width, f"dense_{index}", seed=index)
        if index < len(widths) - 1:
            hidden = tf.nn.relu(hidden)
    return hidden


def _dense(inputs, units, name, seed):
    """`inputs @ kernel + bias` with a Glorot-uniform kernel, zero bias."""
    with tf.compat.v1.variable_scope(name):
        kernel = tf.compat.v1.get_variable(
            "kernel",
            [inputs.shape[-1], units],
            initializer=tf.compat.v1.glorot_uniform_initializer(seed=seed),
        )
        bias = tf.compat.v1.get_variable(
            "bias", [units], initializer=tf.compat.v1.zeros_initializer()
        )
    return tf.matmul(inputs, kernel) + bias


def model_layers(config):
    """The `(kernel, bias)` variables of the model, input layer first.

    The variables must already exist in `MODEL_SCOPE`.
    """
    layers = []
    with tf.compat.v1.variable_scope(MODEL_SCOPE, reuse=True):
        for index in range(len(layer_widths(config))):
            with tf.compat.v1.variable_scope(f"dense_{index}"):
                layers.append(
                    (
                        tf.compat.v1.get_variable("kernel"),
                        tf.compat.v1.get_variable("bias"),
                    )
                )
    return layers


def num_parameters(config):
    """The number of the model's trainable parameters (weights and biases)."""
    config = experiment_config.resolve_config(config)
    widths = [config["input_dimension"]] + layer_widths(config)
    return sum(
        (fan_in + 1) * fan_out
        for fan_in, fan_out in itertools.pairwise(widths)
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
            tf.reduce_sum(tf.square(kernel))
            for kernel, _ in model_layers(config)
        ]
    )
