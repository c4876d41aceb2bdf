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
"""Tests of keras_fisher_rao against references derived independently.

The expected values come from tests/fisher_rao_reference.py (forward-mode
tangents through a numpy MLP, per-example gradients of any network in eager
TensorFlow) and from direct_fisher_rao on the same weights. `import keras`
is Keras 3 here; tf.keras is tf-keras (conftest sets TF_USE_LEGACY_KERAS).
"""

import os
from unittest import mock

import fisher_rao_reference as ref
import keras
import numpy as np
import tensorflow as tf
import test_direct_fisher_rao as graph_tests
from absl.testing import parameterized

import keras_fisher_rao as kfr

KINDS = ref.KINDS
METHODS = kfr.METHODS
PERTURBATION = 1e-4
FLOAT64_RTOL = graph_tests.FLOAT64_RTOL
FLOAT32_RTOL = graph_tests.FLOAT32_RTOL
ToleranceMixin = graph_tests.ToleranceMixin
finite_difference_rtol = graph_tests.finite_difference_rtol
ZERO = tf.UnconnectedGradients.ZERO


# ---------------------------------------------------------------------------
# Models with given weights.


def dense_stack(params, dtype):
    """Dense layers for (kernel, bias) pairs: ReLU on all but the last."""
    return [
        keras.layers.Dense(
            kernel.shape[1],
            activation="relu" if index < len(params) - 1 else None,
            dtype=dtype,
        )
        for index, (kernel, _) in enumerate(params)
    ]


def set_dense_weights(layers, params):
    for layer, (kernel, bias) in zip(layers, params, strict=True):
        layer.set_weights([kernel, bias])


def sequential_mlp(params, dtype="float64"):
    layers = dense_stack(params, dtype)
    model = keras.Sequential(
        [keras.Input((params[0][0].shape[0],), dtype=dtype)] + layers
    )
    set_dense_weights(layers, params)
    return model


def functional_mlp(params, dtype="float64"):
    inputs = keras.Input((params[0][0].shape[0],), dtype=dtype)
    layers = dense_stack(params, dtype)
    hidden = inputs
    for layer in layers:
        hidden = layer(hidden)
    model = keras.Model(inputs, hidden)
    set_dense_weights(layers, params)
    return model


class SubclassedMlp(keras.Model):
    """A ReLU MLP whose call() takes no `training` argument."""

    def __init__(self, params, dtype="float64"):
        super().__init__(dtype=dtype)
        self.dense_layers = dense_stack(params, dtype)
        self(np.zeros((1, params[0][0].shape[0])))
        set_dense_weights(self.dense_layers, params)

    def call(self, inputs):
        for layer in self.dense_layers:
            inputs = layer(inputs)
        return inputs


MLP_BUILDERS = {
    "sequential": sequential_mlp,
    "functional": functional_mlp,
    "subclassed": SubclassedMlp,
}


def regularized_mlp(params, dtype="float64"):
    """A Sequential MLP with a kernel penalty and an activity penalty."""
    layers = [
        keras.layers.Dense(
            kernel.shape[1],
            activation="relu" if index < len(params) - 1 else None,
            dtype=dtype,
            kernel_regularizer=keras.regularizers.L2(0.05)
            if index == 0
            else None,
            activity_regularizer=keras.regularizers.L2(0.01)
            if index == 1
            else None,
        )
        for index, (kernel, _) in enumerate(params)
    ]
    model = keras.Sequential(
        [keras.Input((params[0][0].shape[0],), dtype=dtype)] + layers
    )
    set_dense_weights(layers, params)
    return model


def batch_norm_dropout_net(seed=3):
    """Dense -> BatchNormalization -> Dropout -> Dense, float64, with moving
    statistics far from a batch's, so the two modes differ."""
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="float64"),
            keras.layers.Dense(8, activation="relu", dtype="float64"),
            keras.layers.BatchNormalization(momentum=0.5, dtype="float64"),
            keras.layers.Dropout(0.5, seed=seed, dtype="float64"),
            keras.layers.Dense(3, dtype="float64"),
        ]
    )
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        layer.set_weights(
            [
                1.0 + np.abs(rng.normal(0.0, 0.7, weight.shape))
                if "variance" in weight.path or "gamma" in weight.path
                else rng.normal(0.0, 0.7, weight.shape)
                for weight in layer.weights
            ]
        )
    return model


def conv_net(seed=4):
    """A small Conv2D network with nonzero biases, float64."""

    def initializer(offset):
        return keras.initializers.RandomNormal(stddev=0.5, seed=seed + offset)

    return keras.Sequential(
        [
            keras.Input((6, 6, 2), dtype="float64"),
            keras.layers.Conv2D(
                3,
                3,
                activation="relu",
                dtype="float64",
                kernel_initializer=initializer(0),
                bias_initializer=initializer(1),
            ),
            keras.layers.Flatten(dtype="float64"),
            keras.layers.Dense(
                3,
                dtype="float64",
                kernel_initializer=initializer(2),
                bias_initializer=initializer(3),
            ),
        ]
    )


def small_mlp(batch=6):
    """A 4-10-10-3 biased ReLU MLP's parameters, inputs and one-hot labels."""
    return graph_tests.small_mlp(batch)


# ---------------------------------------------------------------------------
# Running the library.


def norm_of(kind, model, inputs, labels, **options):
    """The library's norm of `kind` (one of KINDS)."""
    if kind == "empirical":
        return kfr.empirical_fisher_rao_norm(model, inputs, labels, **options)
    return kfr.standard_fisher_rao_norm(
        model, inputs, differentiate_probability=kind == "standard", **options
    )


def values_and_gradients(
    model, inputs, labels, mode="eager", kinds=KINDS, **options
):
    """`{kind: (value, [gradient arrays])}`, eagerly or in one tf.function."""

    def compute():
        results = {}
        for kind in kinds:
            with tf.GradientTape() as tape:
                value = norm_of(kind, model, inputs, labels, **options)
            # The tf.Variables: a Keras variable's dtype is a string, which
            # tape.gradient cannot make zeros of.
            results[kind] = (
                value,
                tape.gradient(
                    value,
                    [v.value for v in model.trainable_variables],
                    unconnected_gradients=ZERO,
                ),
            )
        return results

    results = tf.function(compute)() if mode == "function" else compute()
    return {
        kind: (float(value), [g.numpy() for g in gradients])
        for kind, (value, gradients) in results.items()
    }


def keras_tape_reference(model, inputs, labels, training=False, selected=None):
    """ref.function_tape_reference for a Keras model, its state restored."""
    state = [v.numpy() for v in model.non_trainable_variables]
    result = ref.function_tape_reference(
        lambda: model(inputs, training=training),
        [v.value for v in model.trainable_variables],
        labels,
        selected,
    )
    for variable, value in zip(
        model.non_trainable_variables, state, strict=True
    ):
        variable.assign(value)
    return result


def non_trainable_values(model):
    return [np.array(v.numpy()) for v in model.non_trainable_variables]


def categorical_loss():
    return keras.losses.CategoricalCrossentropy(from_logits=True)


# ---------------------------------------------------------------------------
# Correctness against references.


class MlpReferenceTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    """A biased ReLU MLP: every method and kind against the tape reference."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.params, cls.inputs, cls.labels = small_mlp()
        cls.reference = ref.tape_reference(cls.params, cls.inputs, cls.labels)

    def setUp(self):
        super().setUp()
        # No unit switches between the passes: finite differences are as
        # accurate as on a smooth model.
        for offset in (PERTURBATION, -PERTURBATION):
            self.assertEqual(
                ref.mlp_activation_switches(self.params, self.inputs, offset),
                0,
            )

    @parameterized.product(method=METHODS, mode=("eager", "function"))
    def test_value_and_gradient_match_tape_reference(self, method, mode):
        results = values_and_gradients(
            sequential_mlp(self.params),
            self.inputs,
            self.labels,
            mode,
            method=method,
        )
        rtol = (
            FLOAT64_RTOL
            if method == "exact"
            else finite_difference_rtol(method, PERTURBATION)
        )
        for kind in KINDS:
            value, gradients = results[kind]
            expected_value, expected_gradients = self.reference[kind]
            self.assertRelativelyClose(value, expected_value, rtol, kind)
            self.assertGradientsClose(
                gradients, expected_gradients, rtol, kind
            )

    def test_float32_matches_float64_reference(self):
        model = sequential_mlp(self.params, "float32")
        inputs = self.inputs.astype(np.float32)
        for method in METHODS:
            results = values_and_gradients(
                model, inputs, self.labels, "function", method=method
            )
            for kind in KINDS:
                value, gradients = results[kind]
                expected_value, expected_gradients = self.reference[kind]
                if method == "exact":
                    self.assertRelativelyClose(
                        value, expected_value, FLOAT32_RTOL, kind
                    )
                    self.assertGradientsClose(
                        gradients, expected_gradients, FLOAT32_RTOL, kind
                    )
                else:  # Rounding of ~1e-7 / eps dominates.
                    self.assertRelativelyClose(
                        value, expected_value, 1e-2, f"{method}, {kind}"
                    )

    @parameterized.parameters(*METHODS)
    def test_graph_library_gives_the_same_value_and_gradient(self, method):
        keras_results = values_and_gradients(
            sequential_mlp(self.params),
            self.inputs,
            self.labels,
            method=method,
        )
        with tf.Graph().as_default():
            _, regularizers, variables = graph_tests.build_all_kinds(
                graph_tests.make_mlp_logits(self.params, self.inputs),
                self.labels,
                method,
            )
            graph_results = graph_tests.values_and_gradients(
                regularizers, variables
            )
        for kind in KINDS:
            self.assertRelativelyClose(
                keras_results[kind][0],
                graph_results[kind][0],
                FLOAT64_RTOL,
                kind,
            )
            self.assertGradientsClose(
                keras_results[kind][1],
                graph_results[kind][1],
                FLOAT64_RTOL,
                kind,
            )


class ShouldRegularizeTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    def test_kernels_only_matches_reference_and_sees_every_path(self):
        params, inputs, labels = small_mlp()
        model = sequential_mlp(params)
        seen = []

        def kernels_only(path):
            seen.append(path)
            return path.endswith("/kernel")

        results = values_and_gradients(
            model, inputs, labels, should_regularize=kernels_only
        )
        self.assertEqual(
            seen[: len(model.trainable_variables)],
            [v.path for v in model.trainable_variables],
        )
        reference = ref.tape_reference(
            params, inputs, labels, selected=[(True, False)] * 3
        )
        everything = ref.tape_reference(params, inputs, labels)
        for kind in KINDS:
            self.assertRelativelyClose(
                results[kind][0], reference[kind][0], FLOAT64_RTOL, kind
            )
            # With p frozen, the last bias's gradient is exactly 0 (rounding
            # on both sides): compare all gradients as one vector.
            self.assertLessEqual(
                graph_tests.gradients_relative_error(
                    results[kind][1], reference[kind][1]
                ),
                FLOAT64_RTOL,
                kind,
            )
            # Guards the comparison: the subset changes the value.
            self.assertGreater(
                abs(reference[kind][0] - everything[kind][0]),
                0.01 * everything[kind][0],
            )

    @parameterized.parameters(*METHODS)
    def test_nothing_selected_gives_exact_zero(self, method):
        params, inputs, labels = small_mlp()
        results = values_and_gradients(
            sequential_mlp(params),
            inputs,
            labels,
            "function",
            method=method,
            should_regularize=lambda path: False,
        )
        for kind in KINDS:
            value, gradients = results[kind]
            self.assertEqual(value, 0.0)
            for gradient in gradients:
                self.assertAllEqual(gradient, np.zeros_like(gradient))


class ConvNetTest(tf.test.TestCase, ToleranceMixin):
    def test_exact_and_central_match_tape_reference(self):
        model = conv_net()
        rng = np.random.default_rng(5)
        inputs = rng.normal(size=(4, 6, 6, 2))
        labels = np.eye(3)[rng.integers(0, 3, 4)]
        reference = keras_tape_reference(model, inputs, labels)
        exact = values_and_gradients(model, inputs, labels, "function")
        central = values_and_gradients(
            model, inputs, labels, kinds=["standard"], method="central"
        )
        for kind in KINDS:
            self.assertRelativelyClose(
                exact[kind][0], reference[kind][0], FLOAT64_RTOL, kind
            )
            self.assertGradientsClose(
                exact[kind][1], reference[kind][1], FLOAT64_RTOL, kind
            )
        self.assertRelativelyClose(
            central["standard"][0],
            reference["standard"][0],
            finite_difference_rtol("central", PERTURBATION),
        )


class StatefulLayersTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    """BatchNormalization and Dropout: state untouched, one mask per call."""

    def setUp(self):
        super().setUp()
        self.model = batch_norm_dropout_net()
        rng = np.random.default_rng(6)
        self.inputs = rng.normal(size=(6, 5))
        self.labels = np.eye(3)[rng.integers(0, 3, 6)]

    def test_inference_mode_matches_tape_reference(self):
        reference = keras_tape_reference(self.model, self.inputs, self.labels)
        results = values_and_gradients(
            self.model, self.inputs, self.labels, "function"
        )
        for kind in KINDS:
            self.assertRelativelyClose(
                results[kind][0], reference[kind][0], FLOAT64_RTOL, kind
            )
            self.assertGradientsClose(
                results[kind][1], reference[kind][1], FLOAT64_RTOL, kind
            )

    def test_training_mode_values_share_the_pass_dropout_mask(self):
        # The reference's one pass starts from the same seed state, so it
        # draws the same mask; each method's passes must all draw it too,
        # or the differences would be O(1) / eps off.
        reference = keras_tape_reference(
            self.model, self.inputs, self.labels, training=True
        )
        inference = keras_tape_reference(self.model, self.inputs, self.labels)
        for method in METHODS:
            values = values_and_gradients(
                self.model,
                self.inputs,
                self.labels,
                kinds=("standard", "empirical"),
                method=method,
                training=True,
            )
            rtol = (
                FLOAT64_RTOL
                if method == "exact"
                else finite_difference_rtol(method, PERTURBATION)
            )
            for kind in ("standard", "empirical"):
                self.assertRelativelyClose(
                    values[kind][0],
                    reference[kind][0],
                    rtol,
                    f"{method}, {kind}",
                )
        # Guards the test: dropout and batch statistics change the value.
        self.assertGreater(
            abs(reference["standard"][0] - inference["standard"][0]),
            0.1 * inference["standard"][0],
        )

    @parameterized.parameters("eager", "function")
    def test_passes_leave_the_model_state_unchanged(self, mode):
        before = non_trainable_values(self.model)

        def every_method():
            for method in METHODS:
                # Exact mode refuses batch statistics in a tf.function.
                training = not (method == "exact" and mode == "function")
                for kind in ("standard", "empirical"):
                    norm_of(
                        kind,
                        self.model,
                        self.inputs,
                        self.labels,
                        method=method,
                        training=training,
                    )

        if mode == "function":
            tf.function(every_method)()
        else:
            every_method()
        after = non_trainable_values(self.model)
        self.assertLen(after, 3)  # Moving mean, variance, seed state.
        for old, new in zip(before, after, strict=True):
            self.assertAllEqual(old, new)

    def test_exact_refuses_batch_statistics_in_a_tf_function(self):
        with self.assertRaisesRegex(ValueError, "method='central'") as caught:
            values_and_gradients(
                self.model,
                self.inputs,
                self.labels,
                "function",
                kinds=["standard"],
                training=True,
            )
        self.assertIn("StopGradient", str(caught.exception))


# ---------------------------------------------------------------------------
# FisherRaoRegularizedModel.


def compiled(
    model,
    norm="fr",
    fisher_rao_lambda=0.1,
    method="exact",
    learning_rate=0.1,
    **options,
):
    regularized = kfr.FisherRaoRegularizedModel(
        model,
        norm=norm,
        fisher_rao_lambda=fisher_rao_lambda,
        method=method,
        **options,
    )
    regularized.compile(
        optimizer=keras.optimizers.SGD(learning_rate),
        loss=categorical_loss(),
        metrics=["accuracy"],
    )
    return regularized


def fit_one_batch(regularized, inputs, labels):
    """`fit` for one epoch of one step; returns its history."""
    return regularized.fit(
        inputs,
        labels,
        batch_size=len(inputs),
        epochs=1,
        shuffle=False,
        verbose=0,
    ).history


class RegularizedModelTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.params, cls.inputs, cls.labels = small_mlp(batch=16)

    def setUp(self):
        super().setUp()
        # Keras sums a float64 model's penalties with its losses in floatx,
        # and fit() feeds arrays as floatx: all in float64 here.
        floatx = keras.config.floatx()
        keras.config.set_floatx("float64")
        self.addCleanup(keras.config.set_floatx, floatx)

    @parameterized.parameters(*MLP_BUILDERS)
    def test_fit_lowers_the_loss_and_records_the_norm(self, builder):
        model = MLP_BUILDERS[builder](self.params)
        norm = float(
            kfr.standard_fisher_rao_norm(model, self.inputs, training=True)
        )
        cross_entropy = float(
            categorical_loss()(self.labels, model(self.inputs))
        )
        regularized = compiled(model)
        # One epoch of one step from the initial weights; logs are float32.
        first = fit_one_batch(regularized, self.inputs, self.labels)
        self.assertAllClose(
            first["fisher_rao_norm"], [norm], rtol=1e-6, atol=0
        )
        self.assertAllClose(
            first["loss"], [cross_entropy + 0.1 * norm], rtol=1e-6, atol=0
        )
        # Then epochs of 10 steps each.
        history = regularized.fit(
            np.tile(self.inputs, (10, 1)),
            np.tile(self.labels, (10, 1)),
            batch_size=len(self.inputs),
            epochs=3,
            shuffle=False,
            verbose=0,
        ).history
        self.assertTrue(np.all(np.isfinite(history["fisher_rao_norm"])))
        self.assertLess(history["loss"][-1], 0.8 * first["loss"][0])

    @parameterized.parameters(
        ("fr", "exact"),
        ("fre", "exact"),
        ("fre", "forward"),
        ("fr", "central"),
    )
    def test_one_step_is_sgd_on_loss_plus_lambda_norm(self, norm, method):
        # The penalties (kernel_regularizer, activity_regularizer) count
        # once, from the pass the loss uses.
        learning_rate, weight = 0.5, 0.3
        model = regularized_mlp(self.params)
        with tf.GradientTape() as tape:
            logits = model(self.inputs, training=True)
            self.assertLen(model.losses, 2)
            loss = categorical_loss()(self.labels, logits) + tf.add_n(
                model.losses
            )
            kind = "standard" if norm == "fr" else "empirical"
            loss += weight * norm_of(
                kind,
                model,
                self.inputs,
                self.labels,
                method=method,
                training=True,
            )
        expected = [
            v.numpy() - learning_rate * g.numpy()
            for v, g in zip(
                model.trainable_variables,
                tape.gradient(loss, model.trainable_variables),
                strict=True,
            )
        ]
        history = fit_one_batch(
            compiled(model, norm, weight, method, learning_rate),
            self.inputs,
            self.labels,
        )
        self.assertAllClose(history["loss"][0], float(loss), rtol=1e-6, atol=0)
        for variable, value in zip(
            model.trainable_variables, expected, strict=True
        ):
            self.assertAllClose(
                variable.numpy(),
                value,
                rtol=1e-9,
                atol=1e-12,
                msg=variable.path,
            )

    def test_lambda_zero_trains_as_the_plain_model(self):
        plain, wrapped = (sequential_mlp(self.params) for _ in range(2))
        plain.compile(
            optimizer=keras.optimizers.SGD(0.1), loss=categorical_loss()
        )
        regularized = compiled(wrapped, fisher_rao_lambda=0.0)
        for model in (plain, regularized):
            model.fit(
                self.inputs,
                self.labels,
                batch_size=8,
                epochs=2,
                shuffle=False,
                verbose=0,
            )
        for expected, actual in zip(
            plain.trainable_variables, wrapped.trainable_variables, strict=True
        ):
            self.assertAllClose(
                actual.numpy(), expected.numpy(), rtol=1e-12, atol=0
            )

    def test_predict_and_evaluate_are_the_wrapped_models(self):
        model = sequential_mlp(self.params)
        regularized = compiled(model, norm="fre", method="central")
        model.compile(loss=categorical_loss(), metrics=["accuracy"])
        expected = model.evaluate(
            self.inputs, self.labels, verbose=0, return_dict=True
        )
        logs = regularized.evaluate(
            self.inputs,
            self.labels,
            batch_size=len(self.inputs),
            verbose=0,
            return_dict=True,
        )
        self.assertEqual(sorted(logs), ["accuracy", "fisher_rao_norm", "loss"])
        for key in ("accuracy", "loss"):
            self.assertAllClose(logs[key], expected[key], rtol=1e-12)
        self.assertAllClose(  # Logs are float32.
            logs["fisher_rao_norm"],
            kfr.empirical_fisher_rao_norm(
                model, self.inputs, self.labels, method="central"
            ),
            rtol=1e-6,
            atol=0,
        )
        self.assertAllClose(
            regularized.predict(self.inputs, verbose=0),
            model.predict(self.inputs, verbose=0),
            rtol=0,
            atol=0,
        )

    def test_weights_round_trip(self):
        directory = self.get_temp_dir()
        model = sequential_mlp(self.params)
        regularized = compiled(model)
        expected = model.predict(self.inputs, verbose=0)
        regularized.save_weights(os.path.join(directory, "r.weights.h5"))
        model.save_weights(os.path.join(directory, "m.weights.h5"))
        fresh = [
            sequential_mlp(ref.random_mlp(1, [4, 10, 10, 3])) for _ in range(2)
        ]
        self.assertNotAllClose(
            fresh[0].predict(self.inputs, verbose=0), expected
        )
        compiled(fresh[0]).load_weights(
            os.path.join(directory, "r.weights.h5")
        )
        fresh[1].load_weights(os.path.join(directory, "m.weights.h5"))
        for model in fresh:
            self.assertAllEqual(
                model.predict(self.inputs, verbose=0), expected
            )
        # The wrapper is not saved whole; the message says what to save.
        with self.assertRaisesRegex(
            NotImplementedError, r"regularized\.model\.save"
        ):
            regularized.save(os.path.join(directory, "r.keras"))

    def test_batch_norm_and_seed_state_advance_once_per_step(self):
        # After one step the non-trainable state is what one normal
        # training call from the same state and weights writes.
        model = batch_norm_dropout_net()
        rng = np.random.default_rng(7)
        inputs = rng.normal(size=(8, 5))
        labels = np.eye(3)[rng.integers(0, 3, 8)]
        before = [v.numpy() for v in model.variables]
        model(inputs, training=True)
        expected = non_trainable_values(model)
        for variable, value in zip(model.variables, before, strict=True):
            variable.assign(value)
        fit_one_batch(compiled(model, method="central"), inputs, labels)
        for old, new, value in zip(
            before[-3:], expected, non_trainable_values(model), strict=True
        ):
            self.assertNotAllClose(old, new)
            self.assertAllClose(value, new, rtol=1e-12, atol=0)

    def test_exact_step_uses_one_pass_and_one_dropout_mask(self):
        # The loss and the norm of a step come from the pass at t = 0: the
        # mask a normal training call from the same seed state draws.
        dense = dense_stack(self.params, "float64")
        model = keras.Sequential(
            [keras.Input((4,)), dense[0], keras.layers.Dropout(0.5, seed=2)]
            + dense[1:]
        )
        set_dense_weights(dense, self.params)
        (seed,) = model.non_trainable_variables
        start = seed.numpy()
        norm = float(
            kfr.standard_fisher_rao_norm(model, self.inputs, training=True)
        )
        inference_norm = float(
            kfr.standard_fisher_rao_norm(model, self.inputs)
        )
        cross_entropy = float(
            categorical_loss()(self.labels, model(self.inputs, training=True))
        )
        advanced = seed.numpy()
        self.assertFalse(np.array_equal(advanced, start))
        seed.assign(start)
        history = fit_one_batch(compiled(model), self.inputs, self.labels)
        self.assertAllClose(
            history["fisher_rao_norm"], [norm], rtol=1e-6, atol=0
        )
        self.assertAllClose(
            history["loss"], [cross_entropy + 0.1 * norm], rtol=1e-6, atol=0
        )
        self.assertAllEqual(seed.numpy(), advanced)  # One draw per step.
        # Guards the test: the mask changes the norm (here by 4 %).
        self.assertGreater(abs(norm - inference_norm), 0.01 * inference_norm)

    def test_exact_refuses_batch_statistics_in_fit(self):
        model = batch_norm_dropout_net()
        with self.assertRaisesRegex(ValueError, "method='central'"):
            fit_one_batch(
                compiled(model), np.ones((4, 5)), np.eye(3)[[0, 1, 2, 0]]
            )


# ---------------------------------------------------------------------------
# Refusals.


def int_output_model():
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda h: keras.ops.cast(h, "int32"))(
        keras.layers.Dense(3)(inputs)
    )
    return keras.Model(inputs, outputs)


def rank_one_model():
    inputs = keras.Input((4,))
    outputs = keras.layers.Lambda(lambda h: keras.ops.sum(h, axis=-1))(
        keras.layers.Dense(3)(inputs)
    )
    return keras.Model(inputs, outputs)


def two_output_model():
    inputs = keras.Input((4,))
    return keras.Model(
        inputs, [keras.layers.Dense(3)(inputs), keras.layers.Dense(3)(inputs)]
    )


class BadInputTest(tf.test.TestCase, parameterized.TestCase):
    """The graph library's errors for the same mistakes, and Keras's own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        params, cls.inputs, cls.labels = small_mlp()
        cls.model = sequential_mlp(params)

    def call(self, kind, model=None, labels=None, **options):
        model = self.model if model is None else model
        labels = self.labels if labels is None else labels
        return norm_of(kind, model, self.inputs, labels, **options)

    def wrap(self, model=None, **options):
        arguments = dict(norm="fr", fisher_rao_lambda=0.1)
        arguments.update(options)
        return kfr.FisherRaoRegularizedModel(
            self.model if model is None else model, **arguments
        )

    def assertBothRefuse(self, error, regex, kind="standard", **options):
        """The norm function and the wrapper refuse `options` alike."""
        with self.assertRaisesRegex(error, regex):
            self.call(kind, **options)
        with self.assertRaisesRegex(error, regex):
            self.wrap(**options)

    @parameterized.parameters("standard", "empirical")
    def test_bad_options(self, kind):
        for perturbation in (
            0.0,
            -1e-4,
            float("nan"),
            float("inf"),
            True,
            "1e-4",
        ):
            self.assertBothRefuse(
                ValueError, "perturbation", kind, perturbation=perturbation
            )
        self.assertBothRefuse(
            ValueError,
            "'forward', 'central', 'exact'.*'backward'",
            kind,
            method="backward",
        )
        self.assertBothRefuse(
            TypeError, "should_regularize", kind, should_regularize="dense"
        )

    def test_perturbation_below_float32_resolution_names_the_variable(self):
        model = sequential_mlp(small_mlp()[0], "float32")
        with self.assertRaisesRegex(
            ValueError, "1e-08.*float32.*sequential.*/kernel"
        ):
            kfr.standard_fisher_rao_norm(
                model, self.inputs, perturbation=1e-8, method="forward"
            )

    def test_labels_whose_shape_is_not_the_logits(self):
        for shape in ((6, 2), (5, 3), (6, 3, 1)):
            with self.assertRaises(ValueError) as caught:
                self.call("empirical", labels=np.zeros(shape))
            self.assertIn("(6, 3)", str(caught.exception))
            self.assertIn(str(tf.TensorShape(shape)), str(caught.exception))
        with self.assertRaisesRegex(TypeError, "labels"):
            self.call("empirical", labels=[["a", "b", "c"]] * 6)

    def test_sparse_labels_in_fit_with_fre(self):
        regularized = self.wrap(norm="fre")
        regularized.compile(
            optimizer="sgd",
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        with self.assertRaisesRegex(ValueError, "logits' shape"):
            regularized.fit(self.inputs, np.argmax(self.labels, -1), verbose=0)

    @parameterized.parameters("standard", "empirical")
    def test_outputs_that_are_not_float_logits(self, kind):
        for model, message in (
            (int_output_model(), "int32"),
            (rank_one_model(), r"rank >= 2.*\(6,\)"),
            (two_output_model(), "one float tensor"),
        ):
            with self.assertRaisesRegex(ValueError, message):
                self.call(kind, model=model)

    def test_softmax_output_layer(self):
        inputs = keras.Input((4,))
        functional = keras.Model(
            inputs, keras.layers.Softmax()(keras.layers.Dense(3)(inputs))
        )
        sequential = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]
        )
        for model in (functional, sequential):
            self.assertBothRefuse(ValueError, "softmax.*logits", model=model)

    def test_model_not_built_or_not_keras3(self):
        self.assertBothRefuse(
            ValueError,
            "not built",
            model=keras.Sequential([keras.layers.Dense(3)]),
        )
        legacy = tf.keras.Sequential([tf.keras.layers.Dense(3)])
        legacy.build((None, 4))
        for model in (legacy, lambda inputs: inputs):
            with self.assertRaisesRegex(TypeError, "Keras 3"):
                self.call("standard", model=model)

    def test_keras_backend_and_version(self):
        with mock.patch.object(keras.backend, "backend", return_value="jax"):
            self.assertBothRefuse(
                RuntimeError, "KERAS_BACKEND=tensorflow", "empirical"
            )
        with mock.patch.object(keras, "__version__", "2.15.0"):
            with self.assertRaisesRegex(RuntimeError, "Keras 3.*2.15.0"):
                self.call("standard")

    def test_bad_norm_or_lambda(self):
        with self.assertRaisesRegex(ValueError, "'fr', 'fre'.*'fisher'"):
            self.wrap(norm="fisher")
        for value in (-0.1, float("nan"), float("inf"), True, "0.1", None):
            with self.assertRaisesRegex(ValueError, "fisher_rao_lambda"):
                self.wrap(fisher_rao_lambda=value)

    def test_losses_that_expect_probabilities(self):
        for loss in (
            keras.losses.CategoricalCrossentropy(),
            keras.losses.sparse_categorical_crossentropy,
            ["mse", keras.losses.BinaryCrossentropy()],
        ):
            with self.assertRaisesRegex(ValueError, "from_logits=True"):
                self.wrap().compile(optimizer="sgd", loss=loss)
        self.wrap().compile(optimizer="sgd", loss=categorical_loss())

    def test_a_cross_entropy_named_by_a_string_is_taken_from_logits(self):
        # The issue's own example: compile(loss="categorical_crossentropy")
        # on a model that outputs logits.
        params, inputs, labels = small_mlp(batch=8)
        model = sequential_mlp(params)
        regularized = kfr.FisherRaoRegularizedModel(
            model, norm="fr", fisher_rao_lambda=0.01, method="exact"
        )
        regularized.compile(
            optimizer="sgd",
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        logits = model(inputs).numpy()
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(
            np.exp(shifted).sum(axis=1, keepdims=True)
        )
        cross_entropy = -(labels * log_probs).sum(axis=1).mean()
        evaluated = regularized.evaluate(
            inputs, labels, verbose=0, return_dict=True
        )
        self.assertAllClose(evaluated["loss"], cross_entropy, rtol=1e-5)
        self.assertAllClose(
            evaluated["accuracy"],
            np.mean(logits.argmax(1) == labels.argmax(1)),
        )
        history = regularized.fit(inputs, labels, epochs=2, verbose=0)
        self.assertLen(history.history["fisher_rao_norm"], 2)

    def test_exact_refuses_stop_gradient_in_a_tf_function(self):
        inputs = keras.Input((4,), dtype="float64")
        hidden = keras.layers.Dense(3, dtype="float64")(inputs)
        outputs = keras.layers.Lambda(lambda h: tf.stop_gradient(h) + 0.1 * h)(
            hidden
        )
        model = keras.Model(inputs, outputs)
        with self.assertRaisesRegex(ValueError, "StopGradient.*'central'"):
            tf.function(
                lambda: kfr.standard_fisher_rao_norm(model, self.inputs)
            )()
        # The finite differences accept it.
        tf.function(
            lambda: kfr.standard_fisher_rao_norm(
                model, self.inputs, method="forward"
            )
        )()


if __name__ == "__main__":
    tf.test.main()
