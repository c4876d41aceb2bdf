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
"""The mathematics and input checks shared by the Fisher-Rao libraries.

`direct_fisher_rao` (TF1-style graphs) and `keras_fisher_rao` (Keras 3 and
`tf.function`) differ in how they run the network on scaled parameters
`v + offset * v`; everything after that lives here, once: the checks of
their arguments and of the logits, the finite-difference formulas, the
standard and empirical regularizers, and the graph walk that finds ops
exact mode cannot differentiate through.

With D the derivative along theta_S (of `f(theta + e * theta_S)` in e at 0),
for a softmax output:

  standard:  mean_i sum_k p_ik (D log softmax_k(logits_i))^2,  p = softmax
  empirical: mean_i (D CE(labels_i, logits_i))^2

and for independent sigmoid outputs z (Bernoulli, p = sigmoid(z); only
`keras_fisher_rao` builds them):

  standard:  mean_i sum_k p_ik (1 - p_ik) (D z_ik)^2
  empirical: mean_i (sum_k (p_ik - y_ik) D z_ik)^2
"""

import math
import numbers

import numpy as np
import tensorflow as tf

__all__ = [
    "METHODS",
    "bernoulli_empirical_regularizer",
    "bernoulli_standard_regularizer",
    "check_exact_mode_applies",
    "check_labels_shape",
    "check_method",
    "check_more_than_one_logit",
    "check_perturbation",
    "check_should_regularize",
    "check_step_resolves",
    "checked_logits",
    "convert_labels",
    "empirical_regularizer",
    "finite_difference_derivative",
    "scaled_along_itself",
    "standard_regularizer",
    "variable_ancestors",
]

METHODS = ("forward", "central", "exact")

# Ops through which "exact" mode cannot be trusted: its regularizer is
# differentiated twice, and these stop or misstate the gradient
# (tf.nn.moments, hence batch and layer normalization, uses stop_gradient;
# the fused batch norm's second derivative is wrong).
_STOPS_GRADIENT = frozenset({"StopGradient", "PreventGradient"})
_FUSED_BATCH_NORM = frozenset(
    {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"}
)


# ---------------------------------------------------------------------------
# Argument checks.


def check_should_regularize(should_regularize):
    """Raises TypeError unless `should_regularize` is callable."""
    if not callable(should_regularize):
        raise TypeError(
            f"should_regularize must be a callable taking a variable name and "
            f"returning a bool; got {should_regularize!r}."
        )


def check_perturbation(perturbation):
    """Raises ValueError unless `perturbation` is a finite real > 0."""
    is_number = isinstance(perturbation, numbers.Real) and not isinstance(
        perturbation, bool
    )
    if not (is_number and math.isfinite(perturbation) and perturbation > 0):
        raise ValueError(
            f"perturbation must be a finite number > 0; got {perturbation!r}."
        )


def check_method(method):
    """Raises ValueError unless `method` is one of METHODS."""
    if method not in METHODS:
        raise ValueError(
            f"method must be one of {', '.join(map(repr, METHODS))}; got "
            f"{method!r}."
        )


def check_step_resolves(step, dtype, name):
    """Raises if a finite-difference step vanishes in a variable's dtype.

    Args:
      step: The signed step, a Python number.
      dtype: The variable's `tf.DType`.
      name: The variable's name, for the message.

    Raises:
      ValueError: If `1 + step` rounds to 1 in `dtype`: the finite
        difference would be exactly 0.
    """
    one = np.ones([], dtype.as_numpy_dtype)
    if one + np.asarray(step, dtype.as_numpy_dtype) == one:
        raise ValueError(
            f"perturbation {float(abs(step))!r} is too small for the "
            f"{dtype.name} variable '{name}': 1 + perturbation rounds to 1, "
            f"so the finite difference would be exactly 0. Use a larger "
            f"perturbation (1e-4 suits float32) or method='exact'."
        )


# ---------------------------------------------------------------------------
# Logits and labels.


def checked_logits(logits, producer="make_logits()"):
    """Converts `logits` to a tensor; raises unless float of rank >= 2.

    Args:
      logits: What the network returned.
      producer: Who returned it, as the messages name it.

    Returns:
      The logits as a tensor.

    Raises:
      ValueError: If they are not a floating tensor of rank >= 2.
    """
    try:
        logits = tf.convert_to_tensor(logits)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"{producer} must return a float tensor of shape "
            f"[batch, ..., num_classes]; got {logits!r}."
        ) from error
    if not logits.dtype.is_floating:
        raise ValueError(
            f"{producer} must return a floating tensor; got dtype "
            f"{logits.dtype.name} with shape {logits.shape}."
        )
    if logits.shape.rank is not None and logits.shape.rank < 2:
        raise ValueError(
            f"{producer} must return logits of rank >= 2 "
            f"([batch, ..., num_classes]); got shape {logits.shape}."
        )
    return logits


def check_more_than_one_logit(logits, producer="make_logits()"):
    """Raises ValueError if the logits' last dimension is statically 1.

    A softmax over one logit is constant (probability 1), so both softmax
    regularizers would be exactly 0 whatever the network.

    Args:
      logits: The logits, a tensor.
      producer: Who returned them, as the message names it.
    """
    if logits.shape.rank and logits.shape[-1] == 1:
        raise ValueError(
            f"{producer} returns one logit per example (shape "
            f"{logits.shape}); a softmax over one logit is constant, so the "
            f"Fisher-Rao regularizer would be exactly 0. For a binary "
            f"(Bernoulli) output with logit z, return the two logits "
            f"tf.concat([tf.zeros_like(z), z], axis=-1): their softmax is "
            f"(1 - sigmoid(z), sigmoid(z)), and the labels are then one-hot "
            f"over the two classes."
        )


def convert_labels(labels):
    """`labels` as a tensor of a float or integer dtype.

    Raises:
      TypeError: If they are not numbers.
    """
    try:
        labels = tf.convert_to_tensor(labels)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"labels must be a tensor or array of numbers; got {labels!r}."
        ) from error
    if not (labels.dtype.is_floating or labels.dtype.is_integer):
        raise TypeError(
            f"labels must have a float or integer dtype; got "
            f"{labels.dtype.name}."
        )
    return labels


def check_labels_shape(labels, logits):
    """Raises ValueError if the static shapes of labels and logits differ."""
    if not labels.shape.is_compatible_with(logits.shape):
        raise ValueError(
            f"labels must have the logits' shape; labels have shape "
            f"{labels.shape}, logits have shape {logits.shape}."
        )


def _with_run_time_shape_check(labels, logits):
    """Labels that fail at run time unless their shape is the logits'.

    Without it, labels of static shape [1, k] against logits [None, k] would
    silently broadcast one label to every example.
    """
    if labels.shape.is_fully_defined() and labels.shape == logits.shape:
        return labels
    check = tf.debugging.assert_equal(
        tf.shape(labels),
        tf.shape(logits),
        message="labels must have the logits' shape",
    )
    with tf.control_dependencies([check]):
        return tf.identity(labels)


# ---------------------------------------------------------------------------
# The derivative and the regularizers.


def scaled_along_itself(value, offset):
    """`value + offset * value`, with `offset` in the value's dtype.

    A Python offset is converted straight to that dtype: a float64 variable's
    step must not pass through float32 on its way.
    """
    dtype = value.dtype.base_dtype
    offset = tf.cast(tf.convert_to_tensor(offset, dtype_hint=dtype), dtype)
    return value + offset * value


def finite_difference_derivative(
    method, perturbation, log_probs, log_probs_at
):
    """D log softmax by a forward or central difference.

    forward: (f(theta + eps theta_S) - f(theta)) / eps
    central: (f(theta + eps theta_S) - f(theta - eps theta_S)) / (2 eps)

    Args:
      method: "forward" or "central".
      perturbation: The step eps > 0.
      log_probs: The unperturbed pass's log softmax (used by "forward").
      log_probs_at: Function of a signed step returning the log softmax of
        the pass with every selected `v` replaced by `v + step * v`; called
        with +eps, then (for "central") with -eps.

    Returns:
      The per-example difference quotient, shaped like `log_probs`.
    """
    log_probs_plus = log_probs_at(perturbation)
    if method == "forward":
        return (log_probs_plus - log_probs) / perturbation
    log_probs_minus = log_probs_at(-perturbation)
    return (log_probs_plus - log_probs_minus) / (2 * perturbation)


def standard_regularizer(log_probs, derivative, differentiate_probability):
    """mean_i sum_k p_ik D_ik^2, with p = exp(log_probs).

    Args:
      log_probs: Log softmax of the logits, `[batch, ..., classes]`.
      derivative: Their derivative along theta_S, same shape.
      differentiate_probability: If False, p is held out of the gradient.

    Returns:
      A scalar of their dtype (the mean is over every leading dimension).
    """
    with tf.name_scope("standard_fisher_regularizer"):
        # exp(log softmax) rather than softmax: one kernel fewer per step.
        probabilities = tf.exp(log_probs)
        if not differentiate_probability:
            probabilities = tf.stop_gradient(probabilities)
        per_example = tf.reduce_sum(
            probabilities * tf.square(derivative), axis=-1
        )
        return tf.reduce_mean(per_example)


def empirical_regularizer(labels, logits, derivative):
    """mean_i (D CE(labels_i, logits_i))^2 = mean_i (-sum_k y_ik D_ik)^2.

    Args:
      labels: Targets with the logits' shape, any float or integer dtype;
        a mismatch only known at run time fails there.
      logits: The logits (for their dtype and shape).
      derivative: D log softmax(logits), shaped like the logits.

    Returns:
      A scalar of the logits' dtype.
    """
    with tf.name_scope("empirical_fisher_regularizer"):
        labels = _with_run_time_shape_check(
            tf.cast(labels, logits.dtype), logits
        )
        # CE is linear in the log-probabilities, so is its derivative.
        cross_entropy_derivative = -tf.reduce_sum(labels * derivative, axis=-1)
        return tf.reduce_mean(tf.square(cross_entropy_derivative))


def bernoulli_standard_regularizer(
    logits, derivative, differentiate_probability
):
    """mean_i sum_k p_ik (1 - p_ik) D_ik^2, with p = sigmoid(logits).

    The standard regularizer of independent Bernoulli outputs: for each
    logit z, E_y[(D log p(y | z))^2] = p (1 - p) (D z)^2, and independent
    outputs add. It is computed as the two-class softmax regularizer of the
    logits (0, z), sum_c q_c (D log q_c)^2 with q = (1 - p, p),
    D log q_1 = (1 - p) D z and D log q_0 = -p D z, so that for one logit
    the two agree in value and gradient, with `differentiate_probability`
    False too.

    Args:
      logits: The logits z, `[batch, ..., outputs]`.
      derivative: D z, same shape.
      differentiate_probability: If False, the weights q are held out of
        the gradient.

    Returns:
      A scalar of their dtype (the mean is over every leading dimension).
    """
    with tf.name_scope("bernoulli_standard_fisher_regularizer"):
        positive, negative = tf.sigmoid(logits), tf.sigmoid(-logits)
        weight_positive, weight_negative = positive, negative
        if not differentiate_probability:
            weight_positive = tf.stop_gradient(positive)
            weight_negative = tf.stop_gradient(negative)
        per_output = weight_positive * tf.square(
            negative * derivative
        ) + weight_negative * tf.square(positive * derivative)
        return tf.reduce_mean(tf.reduce_sum(per_output, axis=-1))


def bernoulli_empirical_regularizer(labels, logits, derivative):
    """mean_i (sum_k (sigmoid(z_ik) - y_ik) D z_ik)^2.

    The empirical regularizer of independent Bernoulli outputs: the square
    of D of the binary cross-entropy summed over the outputs (the negative
    log-likelihood), whose derivative in z is sigmoid(z) - y.

    Args:
      labels: Targets in [0, 1] with the logits' shape, any float or
        integer dtype; a mismatch only known at run time fails there.
      logits: The logits z.
      derivative: D z, shaped like the logits.

    Returns:
      A scalar of the logits' dtype.
    """
    with tf.name_scope("bernoulli_empirical_fisher_regularizer"):
        labels = _with_run_time_shape_check(
            tf.cast(labels, logits.dtype), logits
        )
        log_likelihood_derivative = tf.reduce_sum(
            (tf.sigmoid(logits) - labels) * derivative, axis=-1
        )
        return tf.reduce_mean(tf.square(log_likelihood_derivative))


# ---------------------------------------------------------------------------
# Graph inspection: what exact mode cannot differentiate through.


def check_exact_mode_applies(offset, logits, how):
    """Raises if ops between the scaled variables and the logits would make
    exact mode's value or gradient wrong.

    Only possible while building a graph (the ops of eager tensors are not
    recorded).

    Args:
      offset: The scalar t of `v + t * v`, a graph tensor.
      logits: The logits of the pass built from it.
      how: How the library differentiates, for the message (e.g. "with
        tf.gradients").

    Raises:
      ValueError: Naming the ops, if there are any.
    """
    path = _descendants(offset.op) & _ancestors(logits.op)
    blockers = sorted(
        f"{op.name} ({op.type})"
        for op in path
        if op.type in _STOPS_GRADIENT
        or (op.type in _FUSED_BATCH_NORM and op.get_attr("is_training"))
    )
    if blockers:
        raise ValueError(
            f"method='exact' differentiates the network twice {how}, and "
            f"these ops between the variables and the logits stop or "
            f"misstate gradients: {blockers}. They come from "
            f"tf.stop_gradient, tf.nn.moments or batch normalization in "
            f"training mode. Use method='central' or 'forward' for this "
            f"network, or compute batch statistics without stop_gradient."
        )


def variable_ancestors(tensor, variable_op_types):
    """The ops of `variable_op_types` on a data path to `tensor`."""
    return {op for op in _ancestors(tensor.op) if op.type in variable_op_types}


def _descendants(op):
    """`op` and every op that consumes its outputs, transitively."""
    found, stack = set(), [op]
    while stack:
        op = stack.pop()
        if op not in found:
            found.add(op)
            stack.extend(
                consumer
                for output in op.outputs
                for consumer in output.consumers()
            )
    return found


def _ancestors(op):
    """`op` and every op whose outputs it reads, transitively.

    Inside a while-loop body or cond branch, what the body reads from outside
    (variables included) enters as a placeholder: the walk follows it out.
    """
    found, stack = set(), [op]
    while stack:
        op = stack.pop()
        if op in found:
            continue
        found.add(op)
        captured = _captured_tensor(op)
        # An eager tensor captured by a tf.function has no op (and no
        # ancestors in any graph).
        if captured is not None and tf.is_symbolic_tensor(captured):
            stack.append(captured.op)
        stack.extend(tensor.op for tensor in op.inputs)
    return found


def _captured_tensor(op):
    """The outer tensor a function graph's placeholder captures, or None."""
    if op.type != "Placeholder" or not hasattr(op.graph, "captures"):
        return None
    for external, internal in op.graph.captures:
        if internal.op is op:
            return external
    return None
