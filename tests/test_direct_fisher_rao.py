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
"""Tests of direct_fisher_rao against references derived independently.

The expected values come from tests/fisher_rao_reference.py: closed forms
derived by hand, forward-mode tangents through a numpy MLP, central
differences of those in numpy, and per-example gradients in eager TensorFlow.
"""

import functools
import importlib.util
import math

import fisher_rao_reference as ref
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import direct_fisher_rao as dfr

# Each kind of regularizer the library builds: the standard one with p
# differentiated or held constant (differentiate_probability), the empirical.
KINDS = ref.KINDS
SCOPE = "fisher_rao"

# The closed-form model of fisher_rao_reference.trig_logits.
TRIG_A, TRIG_B = 0.7, -1.3
TRIG_INPUTS = np.array([-1.5, -0.2, 0.4, 2.0])
TRIG_LABELS = np.eye(3)[[0, 2, 1, 0]]

# Shared with the Keras tests through fisher_rao_reference.
MLP_SEED = ref.MLP_SEED
FLOAT64_RTOL = ref.FLOAT64_RTOL
FLOAT32_RTOL = ref.FLOAT32_RTOL
ToleranceMixin = ref.ToleranceMixin
round_to_float32 = ref.round_to_float32
mlp_params = ref.mlp_params
mlp_data = ref.mlp_data
small_mlp = ref.small_mlp
relative_error = ref.relative_error
gradients_relative_error = ref.gradients_relative_error
finite_difference_rtol = ref.finite_difference_rtol


def regularize_all(name):
    del name  # Every variable.
    return True


def flatten(params):
    return [array for pair in params for array in pair]


def unflatten(arrays):
    return list(zip(arrays[::2], arrays[1::2], strict=True))


def make_trig_logits(inputs=TRIG_INPUTS, dtype=tf.float64):
    """make_logits of the closed-form model (see ref.trig_logits)."""

    def make_logits():
        a = tf.compat.v1.get_variable(
            "a", [], dtype, tf.compat.v1.constant_initializer(TRIG_A)
        )
        b = tf.compat.v1.get_variable(
            "b", [], dtype, tf.compat.v1.constant_initializer(TRIG_B)
        )
        x = tf.constant(inputs, dtype)
        return tf.stack(
            [tf.sin(a) * x, tf.cos(b) + a * b * x, a * a - b * x], axis=-1
        )

    return make_logits


def make_mlp_logits(params, inputs, dtype=tf.float64):
    """make_logits of a ReLU MLP whose variables start at `params`."""

    def make_logits():
        hidden = tf.constant(inputs, dtype)
        for layer, (kernel, bias) in enumerate(params):
            with tf.compat.v1.variable_scope(f"layer{layer}"):
                kernel = tf.compat.v1.get_variable(
                    "kernel",
                    kernel.shape,
                    dtype,
                    tf.compat.v1.constant_initializer(kernel),
                )
                bias = tf.compat.v1.get_variable(
                    "bias",
                    bias.shape,
                    dtype,
                    tf.compat.v1.constant_initializer(bias),
                )
            hidden = tf.matmul(hidden, kernel) + bias
            if layer < len(params) - 1:
                hidden = tf.nn.relu(hidden)
        return hidden

    return make_logits


def make_array_initialized_logits(params, inputs):
    """make_logits of a ReLU MLP built with get_variable(initializer=array)."""

    def make_logits():
        hidden = inputs
        for layer, (kernel, bias) in enumerate(params):
            with tf.compat.v1.variable_scope(f"layer{layer}"):
                kernel = tf.compat.v1.get_variable(
                    "kernel", initializer=kernel
                )
                bias = tf.compat.v1.get_variable("bias", initializer=bias)
            hidden = tf.matmul(hidden, kernel) + bias
            if layer < len(params) - 1:
                hidden = tf.nn.relu(hidden)
        return hidden

    return make_logits


def build_regularizer(
    kind,
    make_logits,
    labels=None,
    method="forward",
    perturbation=1e-4,
    should_regularize=regularize_all,
    scope=SCOPE,
    reuse=False,
):
    """Calls the library's builder for `kind`.

    Returns:
      (logits, regularizer).
    """
    if kind == "empirical":
        return dfr.make_empirical_fisher_regularizer(
            make_logits,
            labels,
            scope,
            should_regularize,
            perturbation,
            method=method,
            reuse=reuse,
        )
    return dfr.make_standard_fisher_regularizer(
        make_logits,
        scope,
        should_regularize,
        perturbation,
        kind == "standard",
        method=method,
        reuse=reuse,
    )


def build_all_kinds(
    make_logits,
    labels,
    method="forward",
    perturbation=1e-4,
    should_regularize=regularize_all,
    scope=SCOPE,
    reuse=False,
):
    """Builds every kind on one set of variables (shared with reuse=True).

    Returns:
      (logits, {kind: regularizer}, variables of the scope in creation order).
    """
    regularizers = {}
    for index, kind in enumerate(KINDS):
        logits, regularizers[kind] = build_regularizer(
            kind,
            make_logits,
            labels,
            method,
            perturbation,
            should_regularize,
            scope,
            reuse=reuse or index > 0,
        )
    variables = tf.compat.v1.trainable_variables(scope)
    return logits, regularizers, variables


def values_and_gradients(regularizers, variables):
    """Runs, in the default graph, each regularizer and its gradients.

    Returns:
      {kind: (value, [gradient with respect to each variable])}.
    """
    fetches = {
        kind: (regularizer, tf.gradients(regularizer, variables))
        for kind, regularizer in regularizers.items()
    }
    return run(fetches)


def mlp_results_per_method(params, inputs, labels, methods, perturbation):
    """`{method: values_and_gradients(...)}` for an MLP, shared variables."""
    results = {}
    with tf.Graph().as_default():
        for index, method in enumerate(methods):
            _, regularizers, variables = build_all_kinds(
                make_mlp_logits(params, inputs),
                labels,
                method,
                perturbation,
                reuse=index > 0,
            )
            results[method] = values_and_gradients(regularizers, variables)
    return results


def run(fetches):
    with tf.compat.v1.Session() as session:
        session.run(tf.compat.v1.global_variables_initializer())
        return session.run(fetches)


def trig_reference(kind, a, b, along_a=True, along_b=True):
    """The exact regularizer of the closed-form model as a function of a, b.

    For "standard_frozen_p", p is frozen at (TRIG_A, TRIG_B), so the function's
    gradient is the one with p held constant.
    """
    probabilities = None
    if kind == "standard_frozen_p":
        probabilities = ref.softmax(
            ref.trig_logits(TRIG_A, TRIG_B, TRIG_INPUTS)
        )
    base_kind = "empirical" if kind == "empirical" else "standard"
    return ref.trig_regularizer(
        base_kind,
        a,
        b,
        TRIG_INPUTS,
        TRIG_LABELS,
        along_a,
        along_b,
        probabilities,
    )


def trig_reference_gradient(kind, along_a=True, along_b=True):
    return ref.central_difference_gradient(
        lambda ab: trig_reference(kind, ab[0], ab[1], along_a, along_b),
        [np.array(TRIG_A), np.array(TRIG_B)],
        step=1e-6,
    )


@functools.lru_cache(maxsize=None)
def tape_case(width, depth):
    """A biased ReLU MLP, data, and its tape reference (computed once).

    Returns:
      (params, inputs, labels, ref.tape_reference(params, inputs, labels)).
    """
    batch = 16 if width > 100 else 6
    params = mlp_params([8] + [width] * depth + [3], seed=0)
    inputs, labels = mlp_data(batch, 8, 3, seed=0)
    return params, inputs, labels, ref.tape_reference(params, inputs, labels)


def rounding_rtol(method, perturbation=1e-4):
    """Relative error allowed between two float64 evaluations of one formula.

    A difference quotient turns rounding of ~1e-16 into ~1e-16 / eps.
    """
    return 1e-12 if method == "exact" else 1e-14 / perturbation


class ClosedFormTest(tf.test.TestCase, parameterized.TestCase, ToleranceMixin):
    """The closed-form model of ref.trig_logits, derivatives worked by hand."""

    @parameterized.product(method=dfr.METHODS, along_b=[True, False])
    def test_value_matches_hand_derivative(self, method, along_b):
        # With along_b=False, should_regularize rejects b: theta_S = (a, 0).
        should_regularize = (
            regularize_all if along_b else lambda name: name.endswith("/a")
        )
        perturbation = 1e-4
        with tf.Graph().as_default():
            logits, regularizers, _ = build_all_kinds(
                make_trig_logits(),
                TRIG_LABELS,
                method,
                perturbation,
                should_regularize,
            )
            logits, values = run((logits, regularizers))
        self.assertAllClose(
            logits,
            ref.trig_logits(TRIG_A, TRIG_B, TRIG_INPUTS),
            rtol=0,
            atol=1e-15,
        )
        for kind in KINDS:
            self.assertRelativelyClose(
                values[kind],
                trig_reference(kind, TRIG_A, TRIG_B, along_b=along_b),
                finite_difference_rtol(method, perturbation),
                msg=kind,
            )

    def test_selection_changes_the_value(self):
        # Guards the test above: theta_S = (a, b) and (a, 0) must differ.
        for kind in KINDS:
            both = trig_reference(kind, TRIG_A, TRIG_B)
            a_only = trig_reference(kind, TRIG_A, TRIG_B, along_b=False)
            self.assertGreater(relative_error(a_only, both), 0.1, msg=kind)

    @parameterized.parameters(*dfr.METHODS)
    def test_gradient_matches_difference_of_reference(self, method):
        perturbation = 1e-4
        with tf.Graph().as_default():
            _, regularizers, variables = build_all_kinds(
                make_trig_logits(), TRIG_LABELS, method, perturbation
            )
            self.assertEqual(
                [v.op.name for v in variables], [f"{SCOPE}/a", f"{SCOPE}/b"]
            )
            results = values_and_gradients(regularizers, variables)
        # Central differences of the numpy reference in float64 are good to
        # about 1e-9 relative.
        rtol = max(finite_difference_rtol(method, perturbation), 1e-8)
        for kind in KINDS:
            self.assertGradientsClose(
                results[kind][1],
                trig_reference_gradient(kind),
                rtol,
                msg=f"{method}, {kind}",
            )

    def test_probability_term_is_what_separates_the_gradients(self):
        # Guards the test above: with and without p in the gradient, the
        # references differ, so passing both means the flag is honoured.
        full = trig_reference_gradient("standard")
        frozen = trig_reference_gradient("standard_frozen_p")
        self.assertGreater(gradients_relative_error(frozen, full), 0.1)

    def test_float64_difference_quotient_is_its_formula(self):
        # In float64 the library must compute the forward/central formula
        # itself, up to rounding (~1e-16 / eps): same eps in numerator and
        # denominator. Fails today by ~5e-8 relative because the getter's
        # offset goes through tf.cast(python float), i.e. float32.
        cases = [
            (method, eps)
            for method in ("forward", "central")
            for eps in (1e-3, 1e-5)
        ]
        with tf.Graph().as_default():
            regularizers = {}
            for index, (method, eps) in enumerate(cases):
                logits, regularizers[method, eps], _ = build_all_kinds(
                    make_trig_logits(),
                    TRIG_LABELS,
                    method,
                    eps,
                    reuse=index > 0,
                )
            values = run(regularizers)
        logits = ref.trig_logits(TRIG_A, TRIG_B, TRIG_INPUTS)
        for method, eps in cases:
            derivative = ref.finite_difference_log_prob_derivative(
                lambda offset: ref.trig_logits(
                    TRIG_A * (1 + offset), TRIG_B * (1 + offset), TRIG_INPUTS
                ),
                eps,
                method,
            )
            for kind in ("standard", "empirical"):
                self.assertRelativelyClose(
                    values[method, eps][kind],
                    ref.regularizer_of_log_prob_derivative(
                        kind, logits, derivative, TRIG_LABELS
                    ),
                    1e-9,
                    msg=f"{method}, eps={eps}, {kind}",
                )

    @parameterized.parameters(("forward", 2.0), ("central", 4.0))
    def test_value_error_order_in_perturbation(self, method, expected_ratio):
        # Halving eps divides an O(eps^n) error by 2^n.
        steps = (1e-2, 5e-3)
        with tf.Graph().as_default():
            regularizers = {}
            for index, eps in enumerate(steps):
                _, regularizers[eps], _ = build_all_kinds(
                    make_trig_logits(),
                    TRIG_LABELS,
                    method,
                    eps,
                    reuse=index > 0,
                )
            values = run(regularizers)
        for kind in KINDS:
            exact = trig_reference(kind, TRIG_A, TRIG_B)
            errors = [abs(values[eps][kind] - exact) for eps in steps]
            self.assertGreater(errors[1], 0.0, msg=kind)
            ratio = errors[0] / errors[1]
            self.assertBetween(
                ratio,
                0.9 * expected_ratio,
                1.1 * expected_ratio,
                msg=f"{kind}: {errors}",
            )


class ReluNetworkTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    """ReLU MLPs with nonzero biases against the numpy and tape references."""

    @parameterized.parameters(2, 7)
    def test_exact_matches_numpy_tangents_and_differences(self, num_classes):
        params = mlp_params([4, 10, 10, 10, num_classes])
        inputs, labels = mlp_data(6, 4, num_classes)
        with tf.Graph().as_default():
            _, regularizers, variables = build_all_kinds(
                make_mlp_logits(params, inputs), labels, "exact"
            )
            results = values_and_gradients(regularizers, variables)
        logits, _ = ref.mlp_logits_and_derivative(params, inputs)
        frozen = ref.softmax(logits)  # p held constant at this point.
        for kind in KINDS:
            base_kind = "empirical" if kind == "empirical" else "standard"
            probabilities = frozen if kind == "standard_frozen_p" else None

            def value(
                arrays, base_kind=base_kind, probabilities=probabilities
            ):
                return ref.mlp_regularizer(
                    base_kind,
                    unflatten(arrays),
                    inputs,
                    labels,
                    probabilities=probabilities,
                )

            self.assertRelativelyClose(
                results[kind][0], value(flatten(params)), 1e-10, msg=kind
            )
            self.assertGradientsClose(
                results[kind][1],
                ref.central_difference_gradient(value, flatten(params), 1e-6),
                1e-6,
                msg=kind,
            )

    @parameterized.product(
        width_depth=[(10, 3), (512, 2)], dtype=["float64", "float32"]
    )
    def test_exact_matches_tape_reference(self, width_depth, dtype):
        width, depth = width_depth
        params, inputs, labels, expected = tape_case(width, depth)
        with tf.Graph().as_default():
            _, regularizers, variables = build_all_kinds(
                make_mlp_logits(params, inputs, tf.as_dtype(dtype)),
                labels,
                "exact",
            )
            results = values_and_gradients(regularizers, variables)
        rtol = FLOAT64_RTOL if dtype == "float64" else FLOAT32_RTOL
        for kind in KINDS:
            self.assertEqual(np.asarray(results[kind][0]).dtype, dtype)
            self.assertRelativelyClose(
                results[kind][0], expected[kind][0], rtol, msg=kind
            )
            self.assertGradientsClose(
                results[kind][1], expected[kind][1], rtol, msg=kind
            )

    @parameterized.parameters(*dfr.METHODS)
    def test_selected_subset_matches_reference(self, method):
        # Kernels only: biases are left out of theta_S.
        params, inputs, labels = small_mlp()
        selected = [(True, False)] * len(params)
        eps = 1e-4
        # No unit switches in either pass, so finite differences are as
        # accurate here as on a smooth model.
        for offset in (eps, -eps):
            self.assertEqual(
                ref.mlp_activation_switches(params, inputs, offset, selected),
                0,
            )
        seen = []

        def kernels_only(name):
            seen.append(name)
            return name.endswith("/kernel")

        with tf.Graph().as_default():
            _, regularizers, _ = build_all_kinds(
                make_mlp_logits(params, inputs),
                labels,
                method,
                eps,
                kernels_only,
            )
            values = run(regularizers)
        self.assertContainsSubset(
            {
                f"{SCOPE}/layer{i}/{part}"
                for i in range(3)
                for part in ("kernel", "bias")
            },
            seen,
        )
        for kind in ("standard", "empirical"):
            expected = ref.mlp_regularizer(
                kind, params, inputs, labels, selected
            )
            all_selected = ref.mlp_regularizer(kind, params, inputs, labels)
            self.assertGreater(relative_error(expected, all_selected), 1e-2)
            self.assertRelativelyClose(
                values[kind],
                expected,
                finite_difference_rtol(method, eps),
                msg=kind,
            )

    def test_finite_difference_gradient_is_wrong_where_a_unit_switches(self):
        # Documents the limitation that motivates method="exact": scaling
        # weights and biases by (1 + eps) moves deeper pre-activations
        # non-proportionally, so a unit within O(eps) of 0 switches between
        # the passes and adds an O(1/eps) term to the gradient of a
        # difference quotient. The value stays close. The next test is the
        # control: without biases, no unit switches and the gradient is
        # right.
        width, depth, eps = 512, 2, 1e-3
        params, inputs, labels, expected = tape_case(width, depth)
        for offset in (eps, -eps):
            self.assertGreaterEqual(
                ref.mlp_activation_switches(params, inputs, offset), 1
            )
        results = mlp_results_per_method(
            params, inputs, labels, dfr.METHODS, eps
        )
        for kind in KINDS:
            value, gradients = expected[kind]
            exact_error = gradients_relative_error(
                results["exact"][kind][1], gradients
            )
            self.assertLess(exact_error, FLOAT64_RTOL, msg=kind)
            for method in ("forward", "central"):
                message = f"{method}, {kind}"
                self.assertRelativelyClose(
                    results[method][kind][0], value, 1e-2, msg=message
                )
                error = gradients_relative_error(
                    results[method][kind][1], gradients
                )
                self.assertGreater(error, 0.5, msg=message)
                self.assertGreater(error, 1e4 * exact_error, msg=message)

    def test_forward_gradient_is_right_without_biases(self):
        # The control of the test above: scaling every weight of a bias-free
        # ReLU net never changes an activation pattern.
        width, depth, eps = 512, 2, 1e-3
        params, inputs, labels, _ = tape_case(width, depth)
        params = [(kernel, np.zeros_like(bias)) for kernel, bias in params]
        self.assertEqual(ref.mlp_activation_switches(params, inputs, eps), 0)
        results = mlp_results_per_method(
            params, inputs, labels, ("exact", "forward"), eps
        )
        for kind in KINDS:
            self.assertLess(
                gradients_relative_error(
                    results["forward"][kind][1], results["exact"][kind][1]
                ),
                10 * eps,
                msg=kind,
            )


class BatchAndShapeTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    """Batch composition, extra leading dims."""

    @parameterized.parameters(*dfr.METHODS)
    def test_batch_is_size_weighted_mean_of_its_parts(self, method):
        params, inputs, labels = small_mlp()
        parts = {
            "whole": slice(0, 6),
            "first": slice(0, 2),
            "rest": slice(2, 6),
        }
        results = {}
        with tf.Graph().as_default():
            for index, (part, rows) in enumerate(parts.items()):
                _, regularizers, variables = build_all_kinds(
                    make_mlp_logits(params, inputs[rows]),
                    labels[rows],
                    method,
                    reuse=index > 0,
                )
                results[part] = values_and_gradients(regularizers, variables)
        for kind in KINDS:
            whole, first, rest = (results[part][kind] for part in parts)
            self.assertRelativelyClose(
                whole[0],
                (2 * first[0] + 4 * rest[0]) / 6,
                rounding_rtol(method),
                msg=kind,
            )
            weighted_mean = [
                (2 * f + 4 * r) / 6
                for f, r in zip(first[1], rest[1], strict=True)
            ]
            self.assertGradientsClose(
                whole[1], weighted_mean, rounding_rtol(method), msg=kind
            )

    @parameterized.parameters(*dfr.METHODS)
    def test_extra_leading_dims_average_over_all_of_them(self, method):
        batch, time, num_classes = 3, 4, 5
        params = mlp_params([4, 10, num_classes])
        inputs, labels = mlp_data(batch * time, 4, num_classes)
        flat_logits = make_mlp_logits(params, inputs)

        def sequence_logits():
            return tf.reshape(flat_logits(), [batch, time, num_classes])

        results = {}
        with tf.Graph().as_default():
            _, regularizers, variables = build_all_kinds(
                flat_logits, labels, method
            )
            results["flat"] = values_and_gradients(regularizers, variables)
            logits, regularizers, variables = build_all_kinds(
                sequence_logits,
                labels.reshape(batch, time, num_classes),
                method,
                reuse=True,
            )
            self.assertEqual(logits.shape, (batch, time, num_classes))
            results["sequence"] = values_and_gradients(regularizers, variables)
        for kind in KINDS:
            flat, sequence = results["flat"][kind], results["sequence"][kind]
            self.assertRelativelyClose(
                sequence[0], flat[0], rounding_rtol(method), msg=kind
            )
            self.assertGradientsClose(
                sequence[1], flat[1], rounding_rtol(method), msg=kind
            )


class ShouldRegularizeTest(tf.test.TestCase, parameterized.TestCase):
    """Empty selections and constant logits give exactly 0."""

    @parameterized.parameters(*dfr.METHODS)
    def test_nothing_selected_gives_exact_zero_and_harmless_pass(self, method):
        params = mlp_params([4, 10, 3])
        inputs, labels = mlp_data(6, 4, 3)
        with tf.Graph().as_default():
            logits, regularizers, variables = build_all_kinds(
                make_mlp_logits(params, inputs),
                labels,
                method,
                should_regularize=lambda name: False,
            )
            cross_entropy = tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(
                    labels=labels, logits=logits
                )
            )
            fetches = {
                "logits": logits,
                "values": regularizers,
                "ce_gradients": tf.gradients(cross_entropy, variables),
            }
            for kind, regularizer in regularizers.items():
                gradients = tf.gradients(
                    cross_entropy + regularizer, variables
                )
                fetches[kind] = [
                    tf.zeros_like(v) if g is None else g
                    for v, g in zip(variables, gradients, strict=True)
                ]
            results = run(fetches)
        self.assertAllClose(
            results["logits"],
            ref.mlp_logits(params, inputs),
            rtol=1e-12,
            atol=1e-12,
        )
        for kind in KINDS:
            self.assertEqual(results["values"][kind], 0.0, msg=kind)
            for total, alone in zip(
                results[kind], results["ce_gradients"], strict=True
            ):
                self.assertAllEqual(total, alone, msg=kind)

    @parameterized.parameters(*dfr.METHODS)
    def test_constant_logits_give_exact_zero(self, method):
        def constant_logits():
            return tf.constant([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])

        with tf.Graph().as_default():
            logits, regularizers, _ = build_all_kinds(
                constant_logits, np.eye(3)[[0, 2]], method
            )
            logits, values = run((logits, regularizers))
        self.assertAllEqual(logits, [[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
        for kind in KINDS:
            self.assertEqual(values[kind], 0.0, msg=kind)


class TfLayersTest(tf.test.TestCase, parameterized.TestCase, ToleranceMixin):
    """Networks built with tf.compat.v1.layers (tf-keras)."""

    @parameterized.parameters(*dfr.METHODS)
    def test_dense_layers_are_all_captured(self, method):
        params, inputs, labels = small_mlp()

        def make_logits():
            hidden = tf.constant(inputs)
            for layer, (kernel, bias) in enumerate(params):
                last = layer == len(params) - 1
                hidden = tf.compat.v1.layers.dense(
                    hidden,
                    kernel.shape[1],
                    activation=None if last else tf.nn.relu,
                    kernel_initializer=tf.compat.v1.constant_initializer(
                        kernel
                    ),
                    bias_initializer=tf.compat.v1.constant_initializer(bias),
                )
            return hidden

        seen = set()

        def record(name):
            seen.add(name)
            return True

        eps = 1e-4
        for offset in (eps, -eps):
            self.assertEqual(
                ref.mlp_activation_switches(params, inputs, offset), 0
            )
        with tf.Graph().as_default():
            _, regularizers, variables = build_all_kinds(
                make_logits, labels, method, eps, record
            )
            results = values_and_gradients(regularizers, variables)
        layer_names = ["dense", "dense_1", "dense_2"]
        self.assertEqual(
            seen,
            {
                f"{SCOPE}/{layer}/{part}"
                for layer in layer_names
                for part in ("kernel", "bias")
            },
        )
        self.assertEqual(
            [v.op.name for v in variables],
            [
                f"{SCOPE}/{layer}/{part}"
                for layer in layer_names
                for part in ("kernel", "bias")
            ],
        )
        for kind in ("standard", "empirical"):
            self.assertRelativelyClose(
                results[kind][0],
                ref.mlp_regularizer(kind, params, inputs, labels),
                finite_difference_rtol(method, eps),
                msg=kind,
            )
            # Every kernel and bias takes part in the gradient.
            for gradient in results[kind][1]:
                self.assertGreater(np.abs(gradient).max(), 0.0, msg=kind)


class GraphCollectionsTest(tf.test.TestCase, parameterized.TestCase):
    """The extra passes leave no second copy of batch-norm updates, weight
    penalties or summaries in the graph's collections."""

    def _make_logits(self, inputs, kernel, batch_norm):
        def make_logits():
            hidden = tf.compat.v1.layers.dense(
                tf.constant(inputs),
                kernel.shape[1],
                kernel_initializer=tf.compat.v1.constant_initializer(kernel),
                kernel_regularizer=lambda w: tf.reduce_sum(tf.square(w)),
            )
            if batch_norm:
                hidden = tf.compat.v1.layers.batch_normalization(
                    hidden, momentum=0.5, training=True
                )
            tf.compat.v1.summary.scalar("mean_hidden", tf.reduce_mean(hidden))
            return hidden

        return make_logits

    @parameterized.parameters(
        ("forward", True), ("central", True), ("exact", False)
    )
    def test_side_effects_counted_once_and_unperturbed(
        self, method, batch_norm
    ):
        rng = np.random.RandomState(3)
        inputs = rng.randn(8, 4)
        kernel = rng.randn(4, 3)
        make_logits = self._make_logits(inputs, kernel, batch_norm)
        keys = tf.compat.v1.GraphKeys
        with tf.Graph().as_default():
            build_regularizer("standard", make_logits, method=method)
            update_ops = tf.compat.v1.get_collection(keys.UPDATE_OPS)
            penalties = tf.compat.v1.get_collection(keys.REGULARIZATION_LOSSES)
            # Moving mean and variance, once.
            self.assertLen(update_ops, 2 if batch_norm else 0)
            self.assertLen(penalties, 1)
            self.assertLen(tf.compat.v1.get_collection(keys.SUMMARIES), 1)
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                penalty, _ = session.run([penalties[0], update_ops])
                if batch_norm:
                    updated_mean = session.run(
                        tf.compat.v1.get_collection(
                            keys.GLOBAL_VARIABLES,
                            f"{SCOPE}/batch_normalization/moving_mean",
                        )[0]
                    )
        # Unperturbed: the penalty of the real kernel, and the moving mean
        # moved halfway (momentum 0.5) from 0 to the batch mean of x @ W.
        self.assertAllClose(penalty, np.sum(kernel**2), rtol=1e-6)
        if batch_norm:
            self.assertAllClose(
                updated_mean,
                0.5 * (inputs @ kernel).mean(0),
                rtol=1e-5,
                atol=1e-6,
            )


class ExactModeLimitsTest(tf.test.TestCase, parameterized.TestCase):
    """Ops whose gradient exact mode cannot go through are refused."""

    @parameterized.named_parameters(
        ("moments", lambda h: h / tf.sqrt(tf.nn.moments(h, [0])[1] + 1.0)),
        ("stop_gradient", lambda h: tf.stop_gradient(h) + 0.1 * h),
        (
            "batch_norm",
            lambda h: tf.compat.v1.layers.batch_normalization(
                h, training=True
            ),
        ),
    )
    def test_exact_refuses_ops_that_stop_gradients(self, transform):
        inputs = np.random.RandomState(4).randn(8, 4)

        def make_logits():
            kernel = tf.compat.v1.get_variable("kernel", [4, 3], tf.float64)
            return transform(tf.matmul(inputs, kernel))

        with tf.Graph().as_default():
            with self.assertRaisesRegex(ValueError, "method='central'"):
                build_regularizer("standard", make_logits, method="exact")
        with tf.Graph().as_default():  # The finite differences accept them.
            build_regularizer("standard", make_logits, method="forward")


class RandomnessTest(tf.test.TestCase):
    """Dropout inside make_logits: "exact" differentiates its own pass."""

    def test_exact_with_dropout_matches_its_own_logits(self):
        # logits = dropout(x) @ W + b is homogeneous of degree 1 in (W, b),
        # so along theta_S = (W, b): dz/de = z and
        # d log softmax_k = z_k - sum_j p_j z_j, whatever the dropout mask.
        rng = np.random.RandomState(5)
        inputs = rng.randn(32, 6)

        def make_logits():
            kernel = tf.compat.v1.get_variable(
                "kernel", initializer=rng.randn(6, 4)
            )
            bias = tf.compat.v1.get_variable("bias", initializer=rng.randn(4))
            dropped = tf.nn.dropout(tf.constant(inputs), rate=0.5)
            return tf.matmul(dropped, kernel) + bias

        with tf.Graph().as_default():
            logits, regularizer = build_regularizer(
                "standard", make_logits, method="exact"
            )
            logits, regularizer = run((logits, regularizer))
        probabilities = np.exp(logits - logits.max(-1, keepdims=True))
        probabilities /= probabilities.sum(-1, keepdims=True)
        centred = logits - (probabilities * logits).sum(-1, keepdims=True)
        expected = np.mean(np.sum(probabilities * centred**2, -1))
        self.assertAllClose(regularizer, expected, rtol=1e-10)


class InputConversionTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    """Labels, batches and initializers in the forms TF1 code passes them."""

    def test_labels_as_lists_and_float64_arrays_with_float32_logits(self):
        params = mlp_params([4, 10, 3])
        inputs, labels = mlp_data(6, 4, 3)
        forms = {
            "float32 tensor": lambda: tf.constant(labels, tf.float32),
            "nested lists": labels.tolist,
            "float64 array": lambda: labels,
            "int64 array": lambda: labels.astype(np.int64),
        }
        with tf.Graph().as_default():
            regularizers = {}
            for index, (form, make_labels) in enumerate(forms.items()):
                logits, regularizers[form] = build_regularizer(
                    "empirical",
                    make_mlp_logits(params, inputs, tf.float32),
                    make_labels(),
                    "exact",
                    reuse=index > 0,
                )
                self.assertEqual(regularizers[form].dtype, tf.float32)
            values = run(regularizers)
        expected = ref.mlp_regularizer("empirical", params, inputs, labels)
        for form in forms:
            self.assertRelativelyClose(values[form], expected, 1e-5, msg=form)

    @parameterized.parameters(*dfr.METHODS)
    def test_float64_numpy_batch_mixed_into_float32_ops(self, method):
        ((kernel, bias),) = params = mlp_params([4, 3])
        inputs, labels = mlp_data(6, 4, 3)

        def make_logits():
            weights = tf.compat.v1.get_variable(
                "kernel",
                kernel.shape,
                tf.float32,
                tf.compat.v1.constant_initializer(kernel),
            )
            offsets = tf.compat.v1.get_variable(
                "bias",
                bias.shape,
                tf.float32,
                tf.compat.v1.constant_initializer(bias),
            )
            # float64 numpy inputs meet float32 variables, as in TF1 code.
            products = weights * inputs[:, :, None]
            return tf.reduce_sum(products, axis=1) + offsets

        with tf.Graph().as_default():
            logits, regularizers, _ = build_all_kinds(
                make_logits, labels, method, 1e-3
            )
            self.assertEqual(logits.dtype, tf.float32)
            values = run(regularizers)
        for kind in ("standard", "empirical"):
            self.assertRelativelyClose(
                values[kind],
                ref.mlp_regularizer(kind, params, inputs, labels),
                max(finite_difference_rtol(method, 1e-3), FLOAT32_RTOL),
                msg=kind,
            )

    @parameterized.parameters(*dfr.METHODS)
    def test_get_variable_with_float64_array_initializer(self, method):
        params = mlp_params([4, 10, 3])
        inputs, labels = mlp_data(6, 4, 3)
        eps = 1e-4
        for offset in (eps, -eps):
            self.assertEqual(
                ref.mlp_activation_switches(params, inputs, offset), 0
            )
        for kind in ("standard", "empirical"):
            with tf.Graph().as_default():
                _, regularizer = build_regularizer(
                    kind,
                    make_array_initialized_logits(params, inputs),
                    labels,
                    method,
                    eps,
                )
                self.assertEqual(
                    [
                        v.dtype.base_dtype
                        for v in tf.compat.v1.trainable_variables(SCOPE)
                    ],
                    [tf.float64] * 4,
                )
                value = run(regularizer)
            self.assertRelativelyClose(
                value,
                ref.mlp_regularizer(kind, params, inputs, labels),
                finite_difference_rtol(method, eps),
                msg=kind,
            )

    def test_reuse_with_float64_array_initializer(self):
        # With reuse=True, the library's unperturbed pass calls make_logits
        # without its dtype-matching getter, so get_variable(name,
        # initializer=<float64 array>) asks for float32 and TF raises
        # "Trying to share variable fisher_rao/layer0/kernel, but specified
        # dtype float32 and found dtype float64".
        params = mlp_params([4, 10, 3])
        inputs, labels = mlp_data(6, 4, 3)
        make_logits = make_array_initialized_logits(params, inputs)
        with tf.Graph().as_default():
            _, first = build_regularizer("standard", make_logits)
            _, shared = build_regularizer("standard", make_logits, reuse=True)
            first, shared = run((first, shared))
        self.assertEqual(first, shared)


class BadInputTest(tf.test.TestCase, parameterized.TestCase):
    """Each bad input gets a clear error at graph-construction time."""

    @parameterized.product(
        kind=["standard", "empirical"],
        method=dfr.METHODS,
        perturbation=[
            0,
            0.0,
            -1e-4,
            math.nan,
            math.inf,
            -math.inf,
            "1e-4",
            None,
        ],
    )
    def test_bad_perturbation(self, kind, method, perturbation):
        with tf.Graph().as_default():
            with self.assertRaisesRegex(ValueError, "perturbation") as caught:
                build_regularizer(
                    kind, make_trig_logits(), TRIG_LABELS, method, perturbation
                )
        self.assertIn(repr(perturbation), str(caught.exception))

    def test_partitioned_variable_refused(self):
        def make_logits():
            kernel = tf.compat.v1.get_variable(
                "kernel",
                [4, 3],
                tf.float64,
                partitioner=tf.compat.v1.fixed_size_partitioner(2),
            )
            return tf.matmul(np.ones([2, 4]), kernel)

        with tf.Graph().as_default():
            with self.assertRaisesRegex(TypeError, "partitioner"):
                build_regularizer("standard", make_logits)

    @parameterized.parameters("forward", "central")
    def test_perturbation_below_float32_resolution(self, method):
        def make_logits():
            kernel = tf.compat.v1.get_variable("kernel", [4, 3])  # float32
            return tf.matmul(np.ones([2, 4], np.float32), kernel)

        with tf.Graph().as_default():
            with self.assertRaisesRegex(ValueError, "1e-08.*float32"):
                build_regularizer(
                    "standard", make_logits, method=method, perturbation=1e-8
                )

    def test_labels_checked_at_run_time_when_batch_is_unknown(self):
        def make_logits():
            return tf.matmul(
                inputs, tf.compat.v1.get_variable("kernel", [4, 3], tf.float64)
            )

        with tf.Graph().as_default() as graph:
            inputs = tf.compat.v1.placeholder(tf.float64, [None, 4])
            # Static [1, 3] fits [None, 3]; one label must not be broadcast.
            _, regularizer = build_regularizer(
                "empirical", make_logits, labels=[[1.0, 0.0, 0.0]]
            )
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(tf.compat.v1.global_variables_initializer())
                session.run(regularizer, {inputs: np.ones([1, 4])})
                with self.assertRaisesRegex(
                    tf.errors.InvalidArgumentError, "labels must have"
                ):
                    session.run(regularizer, {inputs: np.ones([5, 4])})

    @parameterized.parameters(*dfr.METHODS)
    def test_silent_zero_trap_inside_while_loop(self, method):
        inputs = np.ones([2, 4])

        def make_logits():
            return tf.matmul(
                inputs, tf.compat.v1.get_variable("kernel", [4, 3], tf.float64)
            )

        def make_logits_reading_outside():
            return make_logits() + outside

        with tf.Graph().as_default():
            outside = tf.compat.v1.get_variable("outside", [3], tf.float64)
            build_regularizer("standard", make_logits, method=method)

            def body(step, total):
                _, regularizer = build_regularizer(
                    "standard",
                    make_logits_reading_outside,
                    method=method,
                    reuse=True,
                )
                return step + 1, total + regularizer

            with self.assertRaisesRegex(ValueError, "outside"):
                tf.compat.v1.while_loop(
                    lambda step, total: step < 2,
                    body,
                    [0, tf.constant(0.0, tf.float64)],
                )

    @parameterized.parameters("standard", "empirical")
    def test_unknown_method_lists_the_allowed_ones(self, kind):
        for method in ("backward", "Forward", "", None):
            with tf.Graph().as_default():
                with self.assertRaises(ValueError) as caught:
                    build_regularizer(
                        kind, make_trig_logits(), TRIG_LABELS, method
                    )
            for allowed in dfr.METHODS:
                self.assertIn(allowed, str(caught.exception))
            self.assertIn(repr(method), str(caught.exception))

    @parameterized.parameters("standard", "empirical")
    def test_make_logits_not_callable(self, kind):
        with tf.Graph().as_default():
            for make_logits in (None, tf.constant([[1.0, 2.0]])):
                with self.assertRaisesRegex(TypeError, "make_logits"):
                    build_regularizer(kind, make_logits, [[1.0, 0.0]])

    @parameterized.parameters("standard", "empirical")
    def test_should_regularize_not_callable(self, kind):
        with tf.Graph().as_default():
            for should_regularize in (None, "embedding", True):
                with self.assertRaisesRegex(TypeError, "should_regularize"):
                    build_regularizer(
                        kind,
                        make_trig_logits(),
                        TRIG_LABELS,
                        should_regularize=should_regularize,
                    )

    @parameterized.parameters("standard", "empirical")
    def test_integer_logits(self, kind):
        with tf.Graph().as_default():
            with self.assertRaisesRegex(ValueError, "int32"):
                build_regularizer(
                    kind,
                    lambda: tf.constant([[1, 2], [3, 4]]),
                    [[1, 0], [0, 1]],
                )

    @parameterized.parameters("standard", "empirical")
    def test_rank_one_logits(self, kind):
        with tf.Graph().as_default():
            with self.assertRaisesRegex(ValueError, r"rank.*\(3,\)"):
                build_regularizer(
                    kind, lambda: tf.constant([1.0, 2.0, 3.0]), [1.0, 0.0, 0.0]
                )

    @parameterized.product(kind=["standard", "empirical"], method=dfr.METHODS)
    def test_one_logit_refused_with_the_bernoulli_form(self, kind, method):
        # A softmax over one logit is constant: the regularizer would be 0.
        def make_logits():
            kernel = tf.compat.v1.get_variable("kernel", [4, 1], tf.float64)
            return tf.matmul(np.ones([2, 4]), kernel)

        with tf.Graph().as_default():
            with self.assertRaisesRegex(
                ValueError,
                r"one logit.*\(2, 1\).*exactly 0.*"
                r"tf\.concat\(\[tf\.zeros_like\(z\), z\], axis=-1\)",
            ):
                build_regularizer(
                    kind, make_logits, np.ones([2, 1]), method=method
                )

    def test_one_logit_refused_at_run_time_when_unknown(self):
        def make_logits():
            kernel = tf.compat.v1.get_variable("kernel", [4, 3], tf.float64)
            return tf.matmul(np.ones([2, 4]), kernel)[:, :columns]

        with tf.Graph().as_default() as graph:
            columns = tf.compat.v1.placeholder(tf.int32, [])
            _, regularizer = build_regularizer("standard", make_logits)
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(tf.compat.v1.global_variables_initializer())
                self.assertGreater(session.run(regularizer, {columns: 2}), 0.0)
                with self.assertRaisesRegex(
                    tf.errors.InvalidArgumentError, "one logit.*zeros_like"
                ):
                    session.run(regularizer, {columns: 1})

    def test_labels_shape_mismatch_names_both_shapes(self):
        for shape in ((4, 2), (3, 3), (4, 3, 1)):
            labels = np.zeros(shape)
            with tf.Graph().as_default():
                with self.assertRaises(ValueError) as caught:
                    build_regularizer("empirical", make_trig_logits(), labels)
            message = str(caught.exception)
            self.assertIn("(4, 3)", message)
            self.assertIn(str(tf.TensorShape(shape)), message)

    @parameterized.product(kind=["standard", "empirical"], method=dfr.METHODS)
    def test_variable_created_outside_the_scope(self, kind, method):
        with tf.Graph().as_default():
            outside = tf.Variable(np.ones((4, 3)), name="outside_kernel")

            def make_logits():
                bias = tf.compat.v1.get_variable(
                    "bias", initializer=np.ones(3)
                )
                return tf.matmul(np.ones((4, 4)), outside) + bias

            with self.assertRaisesRegex(ValueError, "outside_kernel"):
                build_regularizer(kind, make_logits, TRIG_LABELS, method)

    def test_get_variable_from_another_scope(self):
        with tf.Graph().as_default():
            with tf.compat.v1.variable_scope("elsewhere"):
                elsewhere = tf.compat.v1.get_variable(
                    "kernel", initializer=np.ones((4, 3))
                )

            def make_logits():
                bias = tf.compat.v1.get_variable(
                    "bias", initializer=np.ones(3)
                )
                return tf.matmul(np.ones((4, 4)), elsewhere) + bias

            with self.assertRaisesRegex(ValueError, "elsewhere/kernel"):
                build_regularizer("standard", make_logits, method="exact")

    def test_tf_variable_made_inside_make_logits(self):
        def make_logits():
            kernel = tf.Variable(np.ones((4, 3)), name="plain_kernel")
            return tf.matmul(np.ones((4, 4)), kernel)

        with tf.Graph().as_default():
            with self.assertRaisesRegex(ValueError, "plain_kernel"):
                build_regularizer("standard", make_logits)

    def test_keras3_dense_layer(self):
        import keras  # Keras 3 itself; tf.keras is tf-keras in these tests.

        with tf.Graph().as_default():
            layer = keras.layers.Dense(3)

            def make_logits():
                return layer(np.ones((4, 4)))

            with self.assertRaisesRegex(ValueError, "kernel") as caught:
                build_regularizer("empirical", make_logits, TRIG_LABELS)
            self.assertIn("bias", str(caught.exception))

    @parameterized.parameters("standard", "empirical")
    def test_building_twice_in_one_scope_names_the_scope(self, kind):
        with tf.Graph().as_default():
            build_regularizer(
                kind, make_trig_logits(), TRIG_LABELS, scope="twice"
            )
            with self.assertRaisesRegex(ValueError, "'twice'"):
                build_regularizer(
                    kind, make_trig_logits(), TRIG_LABELS, scope="twice"
                )

    def test_reuse_shares_the_variables(self):
        with tf.Graph().as_default():
            _, first = build_regularizer("standard", make_trig_logits())
            count = len(tf.compat.v1.global_variables())
            _, second = build_regularizer(
                "standard", make_trig_logits(), reuse=True
            )
            self.assertLen(tf.compat.v1.global_variables(), count)
            assign = tf.compat.v1.trainable_variables(SCOPE)[0].assign(0.3)
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                session.run(assign)
                first, second = session.run((first, second))
        self.assertEqual(first, second)
        self.assertAllClose(
            first,
            ref.trig_regularizer("standard", 0.3, TRIG_B, TRIG_INPUTS),
            rtol=1e-3,
        )

    def test_reuse_of_an_empty_scope_names_it(self):
        with tf.Graph().as_default():
            with self.assertRaisesRegex(ValueError, "'empty'"):
                build_regularizer(
                    "standard", make_trig_logits(), scope="empty", reuse=True
                )


class GraphModeTest(tf.test.TestCase, parameterized.TestCase):
    """Eager calls are refused with a pointer to keras_fisher_rao."""

    def assertRefusedForGraphMode(self, build):
        with self.assertRaises(RuntimeError) as caught:
            build()
        message = str(caught.exception)
        for part in (
            "graph mode",
            "tf.Graph().as_default()",
            "keras_fisher_rao",
        ):
            self.assertIn(part, message)

    @parameterized.product(kind=["standard", "empirical"], method=dfr.METHODS)
    def test_eager_call_is_refused(self, kind, method):
        self.assertTrue(tf.executing_eagerly())
        self.assertRefusedForGraphMode(
            lambda: build_regularizer(
                kind, make_trig_logits(), TRIG_LABELS, method
            )
        )

    @parameterized.parameters("standard", "empirical")
    def test_tf_function_traced_from_eager_is_refused(self, kind):
        # Inside, tf.executing_eagerly() is False, but get_variable would
        # still make variables the custom getter cannot scale.
        @tf.function
        def build():
            return build_regularizer(
                kind, make_trig_logits(), TRIG_LABELS, "exact"
            )[1]

        self.assertRefusedForGraphMode(build)


class GraphContextTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    """Outer variable scopes and batches of unknown size fed at run time."""

    def _params_and_data(self, batch=6):
        params, inputs, labels = small_mlp(batch)
        # No unit switches: finite differences are as accurate as on a
        # smooth model, so every method meets finite_difference_rtol.
        for offset in (1e-4, -1e-4):
            self.assertEqual(
                ref.mlp_activation_switches(params, inputs, offset), 0
            )
        return params, inputs, labels

    @parameterized.parameters(*dfr.METHODS)
    def test_inside_an_outer_variable_scope(self, method):
        params, inputs, labels = self._params_and_data()
        seen = set()

        def record(name):
            seen.add(name)
            return True

        with tf.Graph().as_default():
            with tf.compat.v1.variable_scope("outer"):
                _, regularizers, _ = build_all_kinds(
                    make_mlp_logits(params, inputs),
                    labels,
                    method,
                    should_regularize=record,
                )
                # The caller fetches the real variables back by name.
                with tf.compat.v1.variable_scope(SCOPE, reuse=True):
                    kernel = tf.compat.v1.get_variable(
                        "layer0/kernel", dtype=tf.float64
                    )
                with self.assertRaisesRegex(ValueError, f"'outer/{SCOPE}'"):
                    build_regularizer(
                        "standard", make_mlp_logits(params, inputs)
                    )
            names = [v.op.name for v in tf.compat.v1.trainable_variables()]
            values, kernel = run((regularizers, kernel))
        expected_names = [
            f"outer/{SCOPE}/layer{i}/{part}"
            for i in range(3)
            for part in ("kernel", "bias")
        ]
        self.assertEqual(names, expected_names)
        self.assertEqual(seen, set(expected_names))
        self.assertAllEqual(kernel, params[0][0])
        for kind in ("standard", "empirical"):
            self.assertRelativelyClose(
                values[kind],
                ref.mlp_regularizer(kind, params, inputs, labels),
                finite_difference_rtol(method, 1e-4),
                msg=kind,
            )

    @parameterized.parameters(*dfr.METHODS)
    def test_placeholders_of_unknown_batch_size(self, method):
        params, inputs, labels = self._params_and_data()
        with tf.Graph().as_default():
            inputs_feed = tf.compat.v1.placeholder(tf.float64, [None, 4])
            labels_feed = tf.compat.v1.placeholder(tf.float64, [None, 3])

            def make_logits():
                hidden = inputs_feed
                for layer, (kernel, bias) in enumerate(params):
                    hidden = tf.compat.v1.layers.dense(
                        hidden,
                        kernel.shape[1],
                        kernel_initializer=tf.compat.v1.constant_initializer(
                            kernel
                        ),
                        bias_initializer=tf.compat.v1.constant_initializer(
                            bias
                        ),
                        name=f"layer{layer}",
                    )
                    if layer < len(params) - 1:
                        hidden = tf.nn.relu(hidden)
                return hidden

            logits, regularizers, _ = build_all_kinds(
                make_logits, labels_feed, method
            )
            self.assertEqual(logits.shape.as_list(), [None, 3])
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                # Two batch sizes through one graph.
                values = {
                    rows: session.run(
                        regularizers,
                        {
                            inputs_feed: inputs[:rows],
                            labels_feed: labels[:rows],
                        },
                    )
                    for rows in (2, 6)
                }
        for rows, by_kind in values.items():
            for kind in ("standard", "empirical"):
                self.assertRelativelyClose(
                    by_kind[kind],
                    ref.mlp_regularizer(
                        kind, params, inputs[:rows], labels[:rows]
                    ),
                    finite_difference_rtol(method, 1e-4),
                    msg=f"{kind}, batch {rows}",
                )


class WhileLoopTest(tf.test.TestCase, parameterized.TestCase, ToleranceMixin):
    """Built with reuse=True inside a tf.compat.v1.while_loop body."""

    @parameterized.parameters(*dfr.METHODS)
    def test_value_in_a_loop_body_equals_the_value_outside(self, method):
        params, inputs, labels = small_mlp()
        make_logits = make_mlp_logits(params, inputs)
        with tf.Graph().as_default():
            _, outside, _ = build_all_kinds(make_logits, labels, method)

            def body(step, values):
                del values  # Overwritten: each step rebuilds them.
                _, inside, _ = build_all_kinds(
                    make_logits, labels, method, reuse=True
                )
                return step + 1, [inside[kind] for kind in KINDS]

            zeros = [tf.constant(0.0, tf.float64) for _ in KINDS]
            _, inside = tf.compat.v1.while_loop(
                lambda step, values: step < 2, body, [tf.constant(0), zeros]
            )
            outside, inside = run((outside, inside))
        for kind, value in zip(KINDS, inside, strict=True):
            self.assertRelativelyClose(
                value, outside[kind], rounding_rtol(method), msg=kind
            )

    @parameterized.parameters(*dfr.METHODS)
    def test_training_steps_in_a_loop_body_lower_the_regularizer(self, method):
        params, inputs, labels = small_mlp(16)
        make_logits = make_mlp_logits(params, inputs)
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(0.05)
        with tf.Graph().as_default():
            _, before = build_regularizer(
                "empirical", make_logits, labels, method
            )

            def body(step):
                _, regularizer = build_regularizer(
                    "empirical", make_logits, labels, method, reuse=True
                )
                with tf.control_dependencies(
                    [optimizer.minimize(regularizer)]
                ):
                    return step + 1

            loop = tf.compat.v1.while_loop(
                lambda step: step < 40, body, [tf.constant(0)]
            )
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                start = session.run(before)
                session.run(loop)
                end = session.run(before)
        self.assertTrue(np.isfinite(end))
        self.assertLess(end, 0.9 * start)


class TrainingTest(tf.test.TestCase, parameterized.TestCase):
    """optimizer.minimize trains through every method."""

    def _train(self, kind, method, objective, steps=40):
        """Returns the objective and regularizer at every step."""
        params, inputs, labels = small_mlp(16)
        with tf.Graph().as_default():
            logits, regularizer = build_regularizer(
                kind, make_mlp_logits(params, inputs), labels, method
            )
            cross_entropy = tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(
                    labels=labels, logits=logits
                )
            )
            loss = (
                regularizer
                if objective == "regularizer"
                else cross_entropy + 0.1 * regularizer
            )
            train = tf.compat.v1.train.GradientDescentOptimizer(0.05).minimize(
                loss
            )
            history = []
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                for _ in range(steps):
                    history.append(session.run((loss, regularizer)))
                    session.run(train)
                history.append(session.run((loss, regularizer)))
        return np.array(history)

    @parameterized.product(kind=KINDS, method=dfr.METHODS)
    def test_loss_with_regularizer_goes_down(self, kind, method):
        history = self._train(kind, method, "cross_entropy")
        self.assertTrue(np.all(np.isfinite(history)))
        self.assertLess(history[-1, 0], 0.9 * history[0, 0])

    @parameterized.product(kind=["standard", "empirical"], method=dfr.METHODS)
    def test_regularizer_alone_goes_down(self, kind, method):
        history = self._train(kind, method, "regularizer")
        self.assertTrue(np.all(np.isfinite(history)))
        self.assertLess(history[-1, 1], 0.9 * history[0, 1])


class ImportTest(tf.test.TestCase):
    """The import leaves TensorFlow's global mode alone."""

    def test_import_leaves_eager_execution_on(self):
        # Executes the module's import-time code again, in a fresh module
        # object, so the check does not depend on import order.
        spec = importlib.util.spec_from_file_location(
            "direct_fisher_rao_fresh_import", dfr.__file__
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.assertTrue(tf.executing_eagerly())
        self.assertEqual(module.METHODS, ("forward", "central", "exact"))
