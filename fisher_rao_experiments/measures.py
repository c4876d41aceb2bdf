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
"""Complexity measures of a ReLU MLP, as graph tensors.

For layers `(W_1, b_1), ..., (W_L, b_L)`, logits z and labels y:

  fisher_rao_norm:            theta^T F theta, F the model's Fisher
                              (labels drawn from the model): the standard
                              regularizer of direct_fisher_rao, exact method
  empirical_fisher_rao_norm:  the same with the data's labels (empirical F)
  l2_norm:                    sum_l ||W_l||_F^2 + ||b_l||^2
  spectral_product:           prod_l ||W_l||_2^2 (largest singular value)
  path_norm:                  sum over input-output paths of the product of
                              squared weights, each bias a weight from a
                              constant-1 unit (Neyshabur et al. 2015)
  margin:                     10th percentile over examples of
                              z_y - max_{k != y} z_k

(Liang et al. 2017; Jiang et al. 2019 compare such measures.)
"""

import tensorflow as tf

import direct_fisher_rao

MEASURES = (
    "fisher_rao_norm",
    "empirical_fisher_rao_norm",
    "l2_norm",
    "spectral_product",
    "path_norm",
    "margin",
)
MARGIN_PERCENTILE = 10.0


def all_measures(make_logits, labels, scope_name, layers):
    """Every measure of `MEASURES` on one data set.

    Args:
      make_logits: Builds the network's logits on the data with
        `tf.compat.v1.get_variable` (see direct_fisher_rao).
      labels: One-hot labels of the data, `[batch, num_classes]`.
      scope_name: Variable scope already holding the network's variables.
      layers: The network's `(kernel, bias)` pairs, input layer first.

    Returns:
      Dictionary from each name of `MEASURES` to a scalar tensor.
    """
    logits, fisher_rao = fisher_rao_norms(make_logits, labels, scope_name)
    fisher_rao.update(
        l2_norm=l2_norm(layers),
        spectral_product=spectral_product(layers),
        path_norm=path_norm(layers),
        margin=margin(logits, labels),
    )
    return fisher_rao


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
    return tf.add_n(
        [
            tf.reduce_sum(tf.square(tensor))
            for layer in layers
            for tensor in layer
        ]
    )


def spectral_product(layers):
    """Product over layers of the squared largest singular value of W_l."""
    squared_norms = [
        tf.square(tf.linalg.svd(kernel, compute_uv=False)[0])
        for kernel, _ in layers
    ]
    return tf.reduce_prod(tf.stack(squared_norms))


def path_norm(layers):
    """Squared l2 path norm, biases as weights from a constant-1 unit.

    Summing squared-weight products over all paths is a forward pass of a
    ones vector through the squared weights, with no activation:
    h_0 = 1, h_l = h_{l-1} W_l^2 + b_l^2, path norm = sum(h_L).
    """
    first_kernel = layers[0][0]
    units = tf.ones([1, first_kernel.shape[0]], first_kernel.dtype)
    for kernel, bias in layers:
        units = tf.matmul(units, tf.square(kernel)) + tf.square(bias)
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
