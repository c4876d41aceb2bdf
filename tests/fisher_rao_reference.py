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
"""Independent references for the Fisher-Rao regularizers, used by the tests.

Nothing here calls direct_fisher_rao or keras_fisher_rao. With theta_S the
selected variables and D the derivative of `f(theta + e * theta_S)` in e at 0
(equivalently, the derivative of `f` with every selected variable `v` replaced
by `v * (1 + e)`), for logits z with D z known:

  D log softmax_k(z) = D z_k - sum_j p_j D z_j,        p = softmax(z)
  standard:  mean_i sum_k p_ik (D log softmax_k(z_i))^2
  empirical: mean_i (D CE(y_i, z_i))^2 = mean_i (-sum_k y_ik D log softmax_k)^2

Three ways to get D z: closed forms derived by hand (`trig_*`), forward-mode
tangents through a numpy ReLU MLP (`mlp_*`), and per-example reverse-mode
gradients dotted with theta_S in eager TensorFlow (`tape_reference`, and
`function_tape_reference` for any network, e.g. a Keras model).

For independent sigmoid outputs (Bernoulli, p = sigmoid(z)), derived by hand
from log p(y | z) = y log p + (1 - y) log(1 - p), whose derivative is
(y - p) D z:

  standard:  mean_i sum_k E_y[((y_ik - p_ik) D z_ik)^2]
             = mean_i sum_k p_ik (1 - p_ik) (D z_ik)^2
  empirical: mean_i (sum_k (p_ik - y_ik) D z_ik)^2

With p "frozen" (differentiate_probability=False) the standard one is the
two-outcome sum p (1 - p)^2 D^2 + (1 - p) p^2 D^2 with the outer weights p
and 1 - p held constant: for one logit, the two-class softmax of (0, z).

The test modules' shared helpers live here too (tolerances, the small MLP's
data, relative comparisons), so that no test module imports another.
"""

import numpy as np
import tensorflow as tf

KINDS = ("standard", "standard_frozen_p", "empirical")

# Issue 6: "exact" within these of an independent reference.
FLOAT64_RTOL = 1e-6
FLOAT32_RTOL = 1e-3

# Seed of the ReLU MLPs' weights (rounded to float32, so that float32 runs
# see the same net) and data.
MLP_SEED = 7


def round_to_float32(array):
    return np.asarray(array, np.float32).astype(np.float64)


def mlp_params(layer_sizes, seed=MLP_SEED, bias_scale=0.5):
    return [
        (round_to_float32(kernel), round_to_float32(bias))
        for kernel, bias in random_mlp(seed, layer_sizes, bias_scale)
    ]


def mlp_data(batch, num_inputs, num_classes, seed=MLP_SEED):
    rng = np.random.default_rng(seed + 1)
    inputs = round_to_float32(rng.normal(size=(batch, num_inputs)))
    labels = np.eye(num_classes)[rng.integers(0, num_classes, batch)]
    return inputs, labels


def small_mlp(batch=6):
    """A 4-10-10-3 biased ReLU MLP's parameters, inputs and labels."""
    return (mlp_params([4, 10, 10, 3]),) + mlp_data(batch, 4, 3)


def finite_difference_rtol(method, perturbation):
    """Relative error allowed for a finite-difference method on a smooth model.

    Forward's value (and gradient) is off by c eps, central's by c eps^2; on
    the models of the tests c < 2, so 10 leaves room without hiding an error
    of a different order.
    """
    if method == "forward":
        return 10 * perturbation
    if method == "central":
        return 10 * perturbation**2 + 1e-9
    return 1e-10


class ToleranceMixin:
    """Relative comparisons that refuse to pass on a zero reference."""

    def assertRelativelyClose(self, actual, expected, rtol, msg=None):
        actual = np.asarray(actual, np.float64)
        expected = np.asarray(expected, np.float64)
        scale = np.linalg.norm(expected)
        self.assertGreater(scale, 0.0, msg=f"zero reference ({msg})")
        error = np.linalg.norm(actual - expected) / scale
        self.assertLessEqual(
            error,
            rtol,
            msg=f"relative error {error:.3g} > {rtol:.3g} ({msg}): "
            f"actual {_summary(actual)}, expected {_summary(expected)}",
        )

    def assertGradientsClose(self, actual, expected, rtol, msg=None):
        self.assertLen(actual, len(expected))
        pairs = zip(actual, expected, strict=True)
        for index, (got, want) in enumerate(pairs):
            self.assertRelativelyClose(
                got, want, rtol, msg=f"{msg}, variable {index}"
            )


def _summary(array):
    if array.size <= 6:
        return str(array)
    return f"array of shape {array.shape}, first {array.ravel()[:3]}"


def relative_error(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def gradients_relative_error(actual, expected):
    """Relative error of all gradients together, as one flat vector."""
    return relative_error(
        np.concatenate([np.ravel(g) for g in actual]),
        np.concatenate([np.ravel(g) for g in expected]),
    )


def softmax(logits):
    return np.exp(log_softmax(logits))


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def log_prob_derivative(logits, logits_derivative):
    """D log softmax(z) from z and D z, both [batch, classes]."""
    probabilities = softmax(logits)
    mean_derivative = (probabilities * logits_derivative).sum(
        axis=-1, keepdims=True
    )
    return logits_derivative - mean_derivative


def finite_difference_log_prob_derivative(logits_at, perturbation, method):
    """D log softmax(z) by the forward or central difference formula.

    Args:
      logits_at: Function of a float offset returning the logits with every
        selected variable v replaced by v * (1 + offset).
      perturbation: The step eps.
      method: "forward" or "central".

    Returns:
      The [batch, classes] difference quotient of log softmax(z).
    """

    def log_probs(offset):
        return log_softmax(logits_at(offset))

    if method == "forward":
        return (log_probs(perturbation) - log_probs(0.0)) / perturbation
    if method == "central":
        return (log_probs(perturbation) - log_probs(-perturbation)) / (
            2 * perturbation
        )
    raise ValueError(f"Not a finite-difference method: {method!r}.")


def regularizer(
    kind, logits, logits_derivative, labels=None, probabilities=None
):
    """The regularizer's value from z and D z.

    Args:
      kind: "standard" or "empirical" ("standard_frozen_p" is "standard"
        with `probabilities` given).
      logits: [batch, classes] logits z.
      logits_derivative: [batch, classes] D z.
      labels: [batch, classes] targets, for "empirical".
      probabilities: Weights p of "standard"; softmax(logits) if None. Passing
        fixed ones makes a function whose gradient holds p constant.

    Returns:
      The regularizer, a float.
    """
    return regularizer_of_log_prob_derivative(
        kind,
        logits,
        log_prob_derivative(logits, logits_derivative),
        labels,
        probabilities,
    )


def bernoulli_regularizer(kind, logits, logits_derivative, labels=None):
    """The Bernoulli regularizers' values from z and D z (see the top).

    Args:
      kind: "standard" or "empirical".
      logits: [batch, outputs] logits z, each a Bernoulli's log-odds.
      logits_derivative: [batch, outputs] D z.
      labels: [batch, outputs] targets in [0, 1], for "empirical".

    Returns:
      The regularizer, a float.
    """
    probabilities = 1.0 / (1.0 + np.exp(-logits))
    if kind == "empirical":
        return float(
            np.mean(
                np.sum((probabilities - labels) * logits_derivative, -1) ** 2
            )
        )
    return float(
        np.mean(
            np.sum(
                probabilities * (1 - probabilities) * logits_derivative**2, -1
            )
        )
    )


def regularizer_of_log_prob_derivative(
    kind, logits, derivative, labels=None, probabilities=None
):
    """As `regularizer`, given D log softmax(z) instead of D z."""
    if kind == "empirical":
        return float(np.mean(np.sum(labels * derivative, axis=-1) ** 2))
    if probabilities is None:
        probabilities = softmax(logits)
    return float(np.mean(np.sum(probabilities * derivative**2, axis=-1)))


# Closed-form model: two scalar variables a, b and inputs x_i, three classes,
#   z_i = [sin(a) x_i,  cos(b) + a b x_i,  a^2 - b x_i].
# D z = d/de z(a (1 + e), b (1 + e)) at e = 0 = a dz/da + b dz/db (keeping
# only the selected variables' terms), with
#   dz/da = [cos(a) x_i,  b x_i,  2a],
#   dz/db = [0,  -sin(b) + a x_i,  -x_i],
# so
#   a dz/da = [a cos(a) x_i,  a b x_i,  2 a^2],
#   b dz/db = [0,  -b sin(b) + a b x_i,  -b x_i].


def trig_logits(a, b, x):
    return np.stack(
        [np.sin(a) * x, np.cos(b) + a * b * x, a * a - b * x], axis=-1
    )


def trig_logits_derivative(a, b, x, along_a=True, along_b=True):
    """D z of `trig_logits` along (a, b), a only or b only."""
    derivative = np.zeros(np.shape(x) + (3,))
    if along_a:
        derivative += np.stack(
            [a * np.cos(a) * x, a * b * x, np.full_like(x, 2 * a * a)], axis=-1
        )
    if along_b:
        derivative += np.stack(
            [np.zeros_like(x), -b * np.sin(b) + a * b * x, -b * x], axis=-1
        )
    return derivative


def trig_regularizer(
    kind, a, b, x, labels=None, along_a=True, along_b=True, probabilities=None
):
    return regularizer(
        kind,
        trig_logits(a, b, x),
        trig_logits_derivative(a, b, x, along_a, along_b),
        labels,
        probabilities,
    )


def random_mlp(seed, layer_sizes, bias_scale=0.5):
    """He-initialized kernels and nonzero biases, as float64 arrays.

    Args:
      seed: Seed of the numpy generator (the net is a fixed function of it).
      layer_sizes: [inputs, hidden..., classes].
      bias_scale: Standard deviation of the biases.

    Returns:
      A list of (kernel, bias) pairs.
    """
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:], strict=True):
        kernel = rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, fan_out))
        bias = rng.normal(0.0, bias_scale, fan_out)
        params.append((kernel, bias))
    return params


def mlp_logits_and_derivative(params, inputs, selected=None):
    """ReLU MLP logits z and D z by forward-mode tangent propagation.

    Args:
      params: List of (kernel, bias) pairs; ReLU after all but the last.
      inputs: [batch, inputs] array.
      selected: List of (kernel_selected, bias_selected) booleans, all True if
        None.

    Returns:
      (z, D z), two [batch, classes] arrays.
    """
    selected = _all_selected(params) if selected is None else selected
    hidden, tangent = inputs, np.zeros_like(inputs)
    layers = zip(params, selected, strict=True)
    for layer, ((kernel, bias), (kernel_on, bias_on)) in enumerate(layers):
        pre_activation = hidden @ kernel + bias
        # Product rule on h W + b with W -> W (1 + e kernel_on), etc.
        pre_tangent = (
            tangent @ kernel + kernel_on * (hidden @ kernel) + bias_on * bias
        )
        if layer == len(params) - 1:
            return pre_activation, pre_tangent
        active = pre_activation > 0
        hidden, tangent = pre_activation * active, pre_tangent * active
    raise ValueError("params must hold at least one layer.")


def mlp_regularizer(
    kind, params, inputs, labels=None, selected=None, probabilities=None
):
    logits, derivative = mlp_logits_and_derivative(params, inputs, selected)
    return regularizer(kind, logits, derivative, labels, probabilities)


def scale_selected(params, offset, selected=None):
    """params with each selected array v replaced by v * (1 + offset)."""
    selected = _all_selected(params) if selected is None else selected
    return [
        (kernel * (1 + offset * kernel_on), bias * (1 + offset * bias_on))
        for (kernel, bias), (kernel_on, bias_on) in zip(
            params, selected, strict=True
        )
    ]


def mlp_logits(params, inputs):
    return mlp_logits_and_derivative(params, inputs)[0]


def mlp_activation_switches(params, inputs, offset, selected=None):
    """How many hidden units change sign when theta_S is scaled by 1+offset."""
    switches = 0
    hidden = inputs
    hidden_scaled = inputs
    scaled_params = scale_selected(params, offset, selected)
    for (kernel, bias), (kernel_s, bias_s) in zip(
        params[:-1], scaled_params[:-1], strict=True
    ):
        pre = hidden @ kernel + bias
        pre_scaled = hidden_scaled @ kernel_s + bias_s
        switches += int(np.sum((pre > 0) != (pre_scaled > 0)))
        hidden, hidden_scaled = np.maximum(pre, 0), np.maximum(pre_scaled, 0)
    return switches


def central_difference_gradient(function, arrays, step):
    """Gradient of function(arrays) by central differences, entry by entry.

    Args:
      function: Takes a list of float64 arrays, returns a float.
      arrays: The point, a list of float64 arrays (not modified).
      step: Difference step.

    Returns:
      A list of arrays shaped like `arrays`.
    """
    arrays = [np.array(array, dtype=np.float64) for array in arrays]
    gradients = []
    for array in arrays:
        gradient = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + step
            plus = function(arrays)
            array[index] = original - step
            minus = function(arrays)
            array[index] = original
            gradient[index] = (plus - minus) / (2 * step)
        gradients.append(gradient)
    return gradients


def tape_reference(params, inputs, labels, selected=None):
    """Values and gradients of the exact regularizers with tf.GradientTape.

    Runs eagerly in float64. D log softmax_k(z_i) is the per-example
    reverse-mode gradient of log softmax_k(z_i) dotted with theta_S; a second,
    outer tape differentiates the regularizers built from it.

    Args:
      params: List of (kernel, bias) pairs of a ReLU MLP.
      inputs: [batch, inputs] array.
      labels: [batch, classes] array.
      selected: As in `mlp_logits_and_derivative`.

    Returns:
      A dict from each of KINDS to (value, gradients), where gradients is a
      list of arrays in the order kernel0, bias0, kernel1, ...
    """
    selected = _all_selected(params) if selected is None else selected
    variables = [
        tf.Variable(np.asarray(array, np.float64))
        for pair in params
        for array in pair
    ]
    inputs = tf.constant(inputs, tf.float64)
    return function_tape_reference(
        lambda: _tf_mlp(variables, inputs),
        variables,
        labels,
        [on for pair in selected for on in pair],
    )


def function_tape_reference(
    logits_function,
    variables,
    labels,
    variable_selected=None,
    output="categorical",
):
    """`tape_reference` for any network: a function of tf.Variables.

    Args:
      logits_function: Callable with no arguments returning [batch, classes]
        logits computed from `variables` (e.g. a Keras model called on a
        batch: it reads its variables).
      variables: The tf.Variables theta, in the order of the gradients.
      labels: [batch, classes] array.
      variable_selected: One boolean per variable (theta_S); all if None.
      output: "categorical" (softmax over the classes) or "bernoulli"
        (a sigmoid per logit; the formulas at the top).

    Returns:
      As `tape_reference`, the gradients (dense, also for a gathered
      variable) in the order of `variables`.
    """
    if variable_selected is None:
        variable_selected = [True] * len(variables)
    with tf.GradientTape(persistent=True) as outer:
        # theta_S, built under the outer tape: it depends on the variables.
        directions = [
            variable * float(on)
            for variable, on in zip(variables, variable_selected, strict=True)
        ]
        with tf.GradientTape(persistent=True) as inner:
            logits = logits_function()
            # D is taken of log softmax for a softmax, of z for sigmoids.
            features = (
                logits if output == "bernoulli" else tf.nn.log_softmax(logits)
            )
            # Sliced under the inner tape, so each entry has a gradient.
            entries = [tf.unstack(row) for row in tf.unstack(features)]
        rows = []
        for row_entries in entries:
            row = []
            for entry in row_entries:
                gradients = inner.gradient(
                    entry,
                    variables,
                    unconnected_gradients=tf.UnconnectedGradients.ZERO,
                )
                row.append(
                    tf.add_n(
                        [
                            # Dense, also for a gathered variable's slices.
                            tf.reduce_sum(
                                tf.convert_to_tensor(gradient) * direction
                            )
                            for gradient, direction in zip(
                                gradients, directions, strict=True
                            )
                        ]
                    )
                )
            rows.append(tf.stack(row))
        derivative = tf.stack(rows)
        labels = tf.constant(labels, features.dtype)
        if output == "bernoulli":
            probabilities = tf.sigmoid(logits)
            complement = 1 - probabilities
            # Frozen p: the two outcomes' weights p and 1 - p held constant
            # in p (1 - p)^2 D^2 + (1 - p) p^2 D^2 (= p (1 - p) D^2).
            frozen = tf.stop_gradient(probabilities)
            values = {
                "standard": tf.reduce_mean(
                    tf.reduce_sum(
                        probabilities * complement * derivative**2, axis=-1
                    )
                ),
                "standard_frozen_p": tf.reduce_mean(
                    tf.reduce_sum(
                        (
                            frozen * complement**2
                            + (1 - frozen) * probabilities**2
                        )
                        * derivative**2,
                        axis=-1,
                    )
                ),
                "empirical": tf.reduce_mean(
                    tf.reduce_sum(
                        (probabilities - labels) * derivative, axis=-1
                    )
                    ** 2
                ),
            }
        else:
            probabilities = tf.exp(features)
            values = {
                "standard": tf.reduce_mean(
                    tf.reduce_sum(probabilities * derivative**2, axis=-1)
                ),
                "standard_frozen_p": tf.reduce_mean(
                    tf.reduce_sum(
                        tf.stop_gradient(probabilities) * derivative**2,
                        axis=-1,
                    )
                ),
                "empirical": tf.reduce_mean(
                    tf.reduce_sum(labels * derivative, axis=-1) ** 2
                ),
            }
    return {
        kind: (
            float(value),
            [
                tf.convert_to_tensor(g).numpy()
                for g in outer.gradient(
                    value,
                    variables,
                    unconnected_gradients=tf.UnconnectedGradients.ZERO,
                )
            ],
        )
        for kind, value in values.items()
    }


def _all_selected(params):
    return [(True, True)] * len(params)


def _tf_mlp(variables, inputs):
    hidden = inputs
    for layer in range(0, len(variables), 2):
        hidden = tf.matmul(hidden, variables[layer]) + variables[layer + 1]
        if layer + 2 < len(variables):
            hidden = tf.nn.relu(hidden)
    return hidden
