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
"""Complexity measures of a ReLU network, as graph tensors.

A network is its layers carrying weights, input layer first (`Layer`):
dense layers `x W + b` and 1-D convolutions ('SAME' zero padding, a
stride), L + 1 of them. For logits z and labels y:

  fisher_rao_norm:            theta^T F theta, F the model's Fisher
                              (labels drawn from the model): the standard
                              regularizer of direct_fisher_rao, exact method
  fisher_rao_norm_depth_normalized:
                              fisher_rao_norm / (L + 1)^2 (Liang et al.
                              2017: for a bias-free ReLU network
                              <theta, grad_theta z> = (L + 1) z, so this is
                              mean_i Var_{k ~ p_i}(z_ik), free of depth)
  empirical_fisher_rao_norm:  the same as fisher_rao_norm with the data's
                              labels (empirical F)
  l2_norm:                    sum_l ||W_l||_F^2 + ||b_l||^2
  spectral_product:           prod_l ||A_l||_2^2, A_l the layer as a linear
                              map of its whole input (a dense kernel; for a
                              convolution the operator on the sequence, with
                              its stride and padding, not its kernel
                              reshaped); largest singular value
  path_norm:                  sum over input-output paths of the product of
                              squared weights, each bias a weight from a
                              constant-1 unit (Neyshabur et al. 2015); in a
                              convolution a path goes through one position
                              and channel of every layer
  margin:                     10th percentile over examples of
                              z_y - max_{k != y} z_k

(Liang et al. 2017; Jiang et al. 2019 compare such measures.)
"""

import dataclasses

import tensorflow as tf

import direct_fisher_rao

MEASURES = (
    "fisher_rao_norm",
    "fisher_rao_norm_depth_normalized",
    "empirical_fisher_rao_norm",
    "l2_norm",
    "spectral_product",
    "path_norm",
    "margin",
)
MARGIN_PERCENTILE = 10.0


@dataclasses.dataclass(frozen=True)
class Layer:
    """A layer carrying weights.

    Attributes:
      kernel: `[fan_in, units]` of a dense layer, or `[kernel_size,
        in_channels, out_channels]` of a 1-D convolution with 'SAME' zero
        padding (`tf.nn.conv1d`).
      bias: `[units]`, or None for a layer without a bias.
      stride: A convolution's stride.
      input_length: A convolution's number of input positions.
    """

    kernel: tf.Tensor
    bias: tf.Tensor | None = None
    stride: int = 1
    input_length: int | None = None

    @property
    def is_conv(self):
        return self.kernel.shape.rank == 3


def as_layer(layer):
    """A `Layer`; a `(kernel, bias)` pair is a dense layer."""
    if isinstance(layer, Layer):
        return layer
    kernel, bias = layer
    return Layer(kernel, bias)


def all_measures(make_logits, labels, scope_name, layers):
    """Every measure of `MEASURES` on one data set.

    Args:
      make_logits: Builds the network's logits on the data with
        `tf.compat.v1.get_variable` (see direct_fisher_rao).
      labels: One-hot labels of the data, `[batch, num_classes]`.
      scope_name: Variable scope already holding the network's variables.
      layers: The network's layers carrying weights, input layer first:
        `Layer`s, or `(kernel, bias)` pairs of dense layers.

    Returns:
      Dictionary from each name of `MEASURES` to a scalar tensor.
    """
    layers = [as_layer(layer) for layer in layers]
    logits, fisher_rao = fisher_rao_norms(make_logits, labels, scope_name)
    fisher_rao.update(
        fisher_rao_norm_depth_normalized=depth_normalized(
            fisher_rao["fisher_rao_norm"], len(layers)
        ),
        l2_norm=l2_norm(layers),
        spectral_product=spectral_product(layers),
        path_norm=path_norm(layers),
        margin=margin(logits, labels),
    )
    return fisher_rao


def depth_normalized(norm, num_layers):
    """A squared Fisher-Rao norm divided by (L + 1)^2, L + 1 = num_layers.

    For a bias-free ReLU network z(c theta) = c^(L+1) z(theta), so the
    derivative along theta is <theta, grad_theta z> = (L + 1) z and the
    squared norm is (L + 1)^2 times a quantity of the logits alone.
    """
    return norm / float(num_layers) ** 2


def fisher_rao_norms(make_logits, labels, scope_name):
    """The squared Fisher-Rao norm, model and empirical forms.

    Both take the derivative along all of theta (every trainable variable) by
    the exact method, so they are exactly theta^T F theta.

    Returns:
      `(logits, norms)`: the network's logits and a dictionary with
      `fisher_rao_norm` and `empirical_fisher_rao_norm`.
    """

    def every_variable(unused_name):
        return True

    # The perturbation is validated but unused by the exact method.
    logits, standard = direct_fisher_rao.make_standard_fisher_regularizer(
        make_logits,
        scope_name,
        every_variable,
        1e-4,
        True,
        "exact",
        reuse=True,
    )
    _, empirical = direct_fisher_rao.make_empirical_fisher_regularizer(
        make_logits,
        labels,
        scope_name,
        every_variable,
        1e-4,
        "exact",
        reuse=True,
    )
    return logits, {
        "fisher_rao_norm": standard,
        "empirical_fisher_rao_norm": empirical,
    }


def l2_norm(layers):
    """Sum of squares of every kernel and bias."""
    layers = [as_layer(layer) for layer in layers]
    return tf.add_n(
        [
            tf.reduce_sum(tf.square(tensor))
            for layer in layers
            for tensor in (layer.kernel, layer.bias)
            if tensor is not None
        ]
    )


def spectral_product(layers):
    """Product over layers of the squared operator norm of each layer.

    A dense layer's is its kernel's largest singular value; a convolution's
    that of the explicit matrix of the convolution on its whole input
    (`conv_operator_matrix`).
    """
    layers = [as_layer(layer) for layer in layers]
    squared_norms = [
        tf.square(
            tf.linalg.svd(
                conv_operator_matrix(layer) if layer.is_conv else layer.kernel,
                compute_uv=False,
            )[0]
        )
        for layer in layers
    ]
    return tf.reduce_prod(tf.stack(squared_norms))


def conv_operator_matrix(layer):
    """The matrix of a convolution as a linear map of its whole input.

    The convolution applied to every basis vector of its input space
    (`input_length x in_channels`, flattened position-major): row j is the
    flattened output for basis vector j, so the matrix is
    `[input_length * in_channels, output_length * out_channels]` and its
    singular values are the operator's.
    """
    kernel_size, in_channels, _ = layer.kernel.shape
    size = layer.input_length * in_channels
    basis = tf.reshape(
        tf.eye(size, dtype=layer.kernel.dtype),
        [size, layer.input_length, in_channels],
    )
    outputs = tf.nn.conv1d(
        basis, layer.kernel, stride=layer.stride, padding="SAME"
    )
    return tf.reshape(outputs, [size, -1])


def path_norm(layers):
    """Squared l2 path norm, biases as weights from a constant-1 unit.

    Summing squared-weight products over all paths is a forward pass of a
    ones input through the squared weights, with no activation:
    h_0 = 1, h_l = A_l^2(h_{l-1}) + b_l^2, path norm = sum(h_L), where A_l^2
    is the layer with squared weights (a convolution's zero padding is no
    unit: no path goes through it; a flattening passes every unit on).
    """
    layers = [as_layer(layer) for layer in layers]
    first = layers[0]
    if first.is_conv:
        units = tf.ones(
            [1, first.input_length, first.kernel.shape[1]], first.kernel.dtype
        )
    else:
        units = tf.ones([1, first.kernel.shape[0]], first.kernel.dtype)
    for layer in layers:
        if layer.is_conv:
            units = tf.nn.conv1d(
                units, tf.square(layer.kernel), layer.stride, "SAME"
            )
        else:
            units = tf.matmul(
                tf.reshape(units, [1, -1]), tf.square(layer.kernel)
            )
        if layer.bias is not None:
            units += tf.square(layer.bias)
    return tf.reduce_sum(units)


def margin(logits, labels, percentile=MARGIN_PERCENTILE):
    """The `percentile`-th percentile of z_y - max_{k != y} z_k.

    Percentiles interpolate linearly between order statistics, as numpy's
    default does.

    Args:
      logits: `[batch, num_classes]`.
      labels: One-hot `[batch, num_classes]`; y is each row's argmax.
      percentile: In [0, 100].

    Returns:
      A scalar of the logits' dtype.
    """
    is_label = tf.cast(labels, tf.bool)
    label_logit = tf.reduce_sum(tf.where(is_label, logits, 0.0), axis=-1)
    lowest = logits.dtype.min
    best_other = tf.reduce_max(tf.where(is_label, lowest, logits), axis=-1)
    return _percentile(label_logit - best_other, percentile)


def _percentile(values, percentile):
    """numpy.percentile(values, percentile) for a 1-D tensor."""
    ordered = tf.sort(values)
    position = (percentile / 100.0) * tf.cast(
        tf.size(values) - 1, values.dtype
    )
    lower = tf.floor(position)
    below = tf.gather(ordered, tf.cast(lower, tf.int32))
    above = tf.gather(ordered, tf.cast(tf.math.ceil(position), tf.int32))
    return below + (position - lower) * (above - below)
