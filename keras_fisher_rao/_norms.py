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
"""The two norms: the public functions, and the formulas on given passes.

`standard_fisher_rao_norm` and `empirical_fisher_rao_norm` check their
arguments, run the passes (`_passes`) and apply `fisher_rao_core`'s
formulas; `FisherRaoRegularizedModel` applies the same formulas
(`standard_norm`, `empirical_norm`) to the passes its step runs anyway. The
empirical norm takes labels in any form Keras's cross-entropies do: they
are matched to the logits' shape here.
"""

import tensorflow as tf

import fisher_rao_core as core
from keras_fisher_rao import _passes

# Inside a user's tf.function, AutoGraph would rewrite the library's Python
# (its loops over layers and ops hold no tensors to convert).
_not_converted = tf.autograph.experimental.do_not_convert


@_not_converted
def standard_fisher_rao_norm(
    model,
    inputs,
    *,
    should_regularize=None,
    perturbation=1e-4,
    method="exact",
    training=False,
    differentiate_probability=True,
    output_distribution=None,
):
    """The standard Fisher-Rao norm of a Keras 3 model on a batch.

    For a softmax output, norm = mean_i sum_k p_ik (D log softmax_k(z_i))^2
    with p = softmax(z); for sigmoid outputs, mean_i sum_k p_ik (1 - p_ik)
    (D z_ik)^2 with p = sigmoid(z); D is the derivative along theta_S.

    Works eagerly and inside `tf.function`; differentiable with respect to
    the model's trainable variables. Never changes the model's variables
    (batch-norm statistics and seed generators included). Like any call of
    the model, the passes replace Keras's record of the last call's
    `add_loss` losses: read `model.losses` before calling this.

    Args:
      model: A built Keras 3 `keras.Model` returning float logits of shape
        `[batch, ..., num_outputs]` (not probabilities).
      inputs: A batch the model takes.
      should_regularize: Callable taking a trainable variable's `path`
        (e.g. "sequential/dense/kernel") and returning whether it belongs to
        theta_S; None selects every trainable variable. It must select at
        least one.
      perturbation: Finite-difference step eps, a finite number > 0
        (validated but unused when `method="exact"`).
      method: "forward", "central" or "exact" (see the `keras_fisher_rao`
        docstring).
      training: The `training` argument of every pass of the model.
      differentiate_probability: If False, p (the weights p or p (1 - p))
        is held out of the gradient.
      output_distribution: "categorical" (a softmax over the last axis),
        "bernoulli" (an independent sigmoid per logit) or None: "bernoulli"
        if the model outputs one logit, else "categorical".

    Returns:
      A scalar tensor of the logits' dtype (float32 for float16 or bfloat16
      logits).

    Raises:
      RuntimeError: If Keras is not Keras 3 on the TensorFlow backend.
      TypeError: If `model` is not a Keras 3 model or `should_regularize`
        is not callable.
      ValueError: On a bad `perturbation`, `method` or
        `output_distribution`; a model that is not built, ends in a softmax
        or sigmoid, or does not output float logits of rank >= 2; a
        categorical output with one logit; a `should_regularize` selecting
        no variable; finite differences in float16 or bfloat16; and exact
        mode through ops it cannot differentiate.
    """
    passes = _checked_passes(
        model,
        inputs,
        should_regularize,
        perturbation,
        method,
        training,
        output_distribution,
    )
    return standard_norm(passes, differentiate_probability)


@_not_converted
def empirical_fisher_rao_norm(
    model,
    inputs,
    labels,
    *,
    should_regularize=None,
    perturbation=1e-4,
    method="exact",
    training=False,
    output_distribution=None,
):
    """The empirical Fisher-Rao norm of a Keras 3 model on a batch.

    norm = mean_i (D NLL(labels_i, z_i))^2, where NLL is the cross-entropy
    -sum_k y_k log softmax_k(z) for a softmax output, and the binary
    cross-entropy summed over the outputs for sigmoid outputs; D is the
    derivative along theta_S.

    Args:
      model: As in `standard_fisher_rao_norm`.
      inputs: A batch the model takes.
      labels: Targets, of a float or integer dtype: with the logits' shape
        (one-hot or probabilities for a softmax, 0/1 or probabilities for
        sigmoids), or class indices for a softmax (the logits' shape without
        its last axis, or with a last axis of 1); for one sigmoid logit,
        also the logits' shape without its last axis.
      should_regularize: As in `standard_fisher_rao_norm`.
      perturbation: As in `standard_fisher_rao_norm`.
      method: "forward", "central" or "exact".
      training: The `training` argument of every pass of the model.
      output_distribution: As in `standard_fisher_rao_norm`.

    Returns:
      A scalar tensor, as in `standard_fisher_rao_norm`.

    Raises:
      RuntimeError, TypeError, ValueError: As in `standard_fisher_rao_norm`;
        also TypeError for labels that are not numeric and ValueError (or,
        in a `tf.function`, InvalidArgumentError at run time) for labels of
        another shape or class indices out of range.
    """
    labels = core.convert_labels(labels)
    passes = _checked_passes(
        model,
        inputs,
        should_regularize,
        perturbation,
        method,
        training,
        output_distribution,
    )
    return empirical_norm(labels, passes)


def _checked_passes(
    model,
    inputs,
    should_regularize,
    perturbation,
    method,
    training,
    output_distribution,
):
    """Checks the options, then runs the passes both norms are formed from."""
    options = _passes.checked_options(
        model, should_regularize, perturbation, method, output_distribution
    )
    return _passes.run_passes(model, inputs, options, training)


def standard_norm(passes, differentiate_probability):
    """The standard norm from `passes` (a `_passes.Passes`)."""
    if passes.distribution == "bernoulli":
        return core.bernoulli_standard_regularizer(
            passes.outputs, passes.derivative, differentiate_probability
        )
    return core.standard_regularizer(
        passes.outputs, passes.derivative, differentiate_probability
    )


def empirical_norm(labels, passes):
    """The empirical norm from `passes` on `labels` (as
    `fisher_rao_core.convert_labels` gives them)."""
    labels = _labels_like_logits(labels, passes.outputs, passes.distribution)
    if passes.distribution == "bernoulli":
        return core.bernoulli_empirical_regularizer(
            labels, passes.outputs, passes.derivative
        )
    return core.empirical_regularizer(
        labels, passes.outputs, passes.derivative
    )


def _labels_like_logits(labels, logits, distribution):
    """Labels of the logits' shape: class indices made one-hot, a Bernoulli
    output's labels without the last axis given one.

    Raises:
      ValueError: If the shapes cannot be matched.
    """
    rank, logits_rank = labels.shape.rank, logits.shape.rank
    num_outputs = logits.shape[-1]
    if rank is None or logits_rank is None:
        return labels
    if rank == logits_rank - 1 and distribution == "categorical":
        _check_leading_shape(labels.shape, labels.shape, logits.shape)
        return _one_hot(labels, num_outputs, logits)
    if rank == logits_rank - 1 and num_outputs == 1:  # Bernoulli.
        return _with_leading_shape_checked(labels, logits)[..., tf.newaxis]
    if (
        distribution == "categorical"
        and rank == logits_rank
        and labels.shape[-1] == 1
        and num_outputs != 1
    ):
        _check_leading_shape(labels.shape[:-1], labels.shape, logits.shape)
        return _one_hot(tf.squeeze(labels, -1), num_outputs, logits)
    core.check_labels_shape(labels, logits)
    return labels


def _with_leading_shape_checked(labels, logits):
    core.check_labels_shape(labels, logits[..., 0])
    return labels


def _check_leading_shape(indices_shape, labels_shape, logits_shape):
    if not indices_shape.is_compatible_with(logits_shape[:-1]):
        raise ValueError(
            f"labels must have the logits' shape, or hold class indices "
            f"with the logits' shape without its last axis (or with a last "
            f"axis of 1); labels have shape {labels_shape}, logits have "
            f"shape {logits_shape}."
        )


def _one_hot(indices, num_classes, logits):
    """Class indices (of any numeric dtype, as Keras's sparse cross-entropy
    takes them) as one-hot rows, checked at run time to be in range."""
    indices = tf.cast(indices, tf.int64)
    checks = [
        tf.debugging.assert_non_negative(
            indices, message="class indices must be >= 0"
        ),
        tf.debugging.assert_less(
            indices,
            tf.constant(num_classes, tf.int64),
            message=f"class indices must be < {num_classes}, the number of "
            f"logits",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.one_hot(indices, num_classes, dtype=logits.dtype)
