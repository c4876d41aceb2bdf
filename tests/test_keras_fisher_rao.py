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
TensorFlow, for softmax and sigmoid outputs), from plain Keras training the
same model, and from direct_fisher_rao on the same weights. `import keras`
is Keras 3 here; tf.keras is tf-keras (conftest sets TF_USE_LEGACY_KERAS).
The several-device test runs tests/mirrored_fit.py in a fresh process (the
CPU is split into two devices before TensorFlow starts).
"""

import functools
import json
import os
import subprocess
import sys
from unittest import mock

import fisher_rao_reference as ref
import keras
import numpy as np
import tensorflow as tf
from absl.testing import parameterized

import direct_fisher_rao as dfr
import keras_fisher_rao as kfr

KINDS = ref.KINDS
METHODS = kfr.METHODS
PERTURBATION = 1e-4
FLOAT64_RTOL = ref.FLOAT64_RTOL
FLOAT32_RTOL = ref.FLOAT32_RTOL
ToleranceMixin = ref.ToleranceMixin
finite_difference_rtol = ref.finite_difference_rtol
ZERO = tf.UnconnectedGradients.ZERO
TESTS = os.path.dirname(os.path.abspath(__file__))


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
    return ref.small_mlp(batch)


def graph_library_results(params, inputs, labels, method):
    """`{kind: (value, gradients)}` of direct_fisher_rao on the same MLP."""

    def make_logits():
        hidden = tf.constant(inputs, tf.float64)
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

    def every_variable(name):
        del name
        return True

    with tf.Graph().as_default():
        regularizers = {}
        for index, kind in enumerate(KINDS):
            if kind == "empirical":
                _, regularizers[kind] = dfr.make_empirical_fisher_regularizer(
                    make_logits,
                    labels,
                    "fisher_rao",
                    every_variable,
                    PERTURBATION,
                    method=method,
                    reuse=index > 0,
                )
            else:
                _, regularizers[kind] = dfr.make_standard_fisher_regularizer(
                    make_logits,
                    "fisher_rao",
                    every_variable,
                    PERTURBATION,
                    kind == "standard",
                    method=method,
                    reuse=index > 0,
                )
        variables = tf.compat.v1.trainable_variables("fisher_rao")
        fetches = {
            kind: (regularizer, tf.gradients(regularizer, variables))
            for kind, regularizer in regularizers.items()
        }
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            return session.run(fetches)


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


def keras_tape_reference(
    model,
    inputs,
    labels,
    training=False,
    selected=None,
    output="categorical",
    logits_of=None,
):
    """ref.function_tape_reference for a Keras model, its state restored.

    `logits_of`, if given, maps the model's output to the reference's
    logits (e.g. one logit z to the two logits (0, z)).
    """
    state = [v.numpy() for v in model.non_trainable_variables]
    result = ref.function_tape_reference(
        lambda: (logits_of or tf.identity)(model(inputs, training=training)),
        [v.value for v in model.trainable_variables],
        labels,
        selected,
        output,
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
        graph_results = graph_library_results(
            self.params, self.inputs, self.labels, method
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
                ref.gradients_relative_error(
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

    @parameterized.parameters("eager", "function")
    def test_a_filter_selecting_nothing_is_refused_with_the_paths(self, mode):
        # The filter: Keras 3 paths have no ":0".
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(3, name="head")]
        )
        inputs, labels = np.ones((2, 4)), np.eye(3)[[0, 1]]
        message = (
            r"selects none of model 'sequential.*'s 2 trainable variables.*"
            r"'sequential\w*/head/kernel', 'sequential\w*/head/bias'.*:0"
        )
        for method in METHODS:
            for kind in ("standard", "empirical"):
                with self.assertRaisesRegex(ValueError, message):
                    call = functools.partial(
                        norm_of,
                        kind,
                        model,
                        inputs,
                        labels,
                        method=method,
                        should_regularize=lambda path: path == "head/kernel:0",
                    )
                    tf.function(call)() if mode == "function" else call()
        with self.assertRaisesRegex(ValueError, message):
            kfr.FisherRaoRegularizedModel(
                model,
                norm="fr",
                fisher_rao_lambda=0.1,
                should_regularize=lambda path: path == "head/kernel:0",
            )


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
        # Exact mode refuses batch statistics (below).
        for method in ("forward", "central"):
            values = values_and_gradients(
                self.model,
                self.inputs,
                self.labels,
                kinds=("standard", "empirical"),
                method=method,
                training=True,
            )
            rtol = finite_difference_rtol(method, PERTURBATION)
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
                # Exact mode refuses batch statistics.
                training = method != "exact"
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

    @parameterized.parameters("eager", "function")
    def test_exact_refuses_batch_statistics(self, mode):
        # Eagerly too (issue 18): there its gradient was 3 % off.
        for kind in ("standard", "empirical"):
            with self.assertRaisesRegex(
                ValueError, "method='central'"
            ) as caught:
                values_and_gradients(
                    self.model,
                    self.inputs,
                    self.labels,
                    mode,
                    kinds=[kind],
                    training=True,
                )
            self.assertIn("StopGradient", str(caught.exception))
        # In inference mode the moving statistics are constants.
        values_and_gradients(
            self.model, self.inputs, self.labels, mode, kinds=["standard"]
        )


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
        self.assertEqual(
            sorted(logs), ["accuracy", "empirical_fisher_rao_norm", "loss"]
        )
        for key in ("accuracy", "loss"):
            self.assertAllClose(logs[key], expected[key], rtol=1e-12)
        self.assertAllClose(  # Logs are float32.
            logs["empirical_fisher_rao_norm"],
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

    def test_weight_files_are_interchangeable_with_the_wrapped_models(self):
        directory = self.get_temp_dir()
        trained = sequential_mlp(self.params)
        expected = trained.predict(self.inputs, verbose=0)
        regularized = compiled(trained)
        # The wrapper's weights are the wrapped model's (lambda is not one).
        self.assertEqual(
            [v.path for v in regularized.weights],
            [v.path for v in trained.weights],
        )
        regularized.save_weights(os.path.join(directory, "r.weights.h5"))
        trained.save_weights(os.path.join(directory, "m.weights.h5"))
        fresh = [
            sequential_mlp(ref.random_mlp(1, [4, 10, 10, 3])) for _ in range(2)
        ]
        self.assertNotAllClose(
            fresh[0].predict(self.inputs, verbose=0), expected
        )
        # The wrapper's file into a plain model, a plain model's into a
        # wrapper.
        fresh[0].load_weights(os.path.join(directory, "r.weights.h5"))
        compiled(fresh[1]).load_weights(
            os.path.join(directory, "m.weights.h5")
        )
        for model in fresh:
            self.assertAllEqual(
                model.predict(self.inputs, verbose=0), expected
            )

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

    @parameterized.parameters(False, True)
    def test_exact_refuses_batch_statistics_in_fit(self, run_eagerly):
        model = batch_norm_dropout_net()
        regularized = compiled(model)
        regularized.compile(
            optimizer="sgd", loss=categorical_loss(), run_eagerly=run_eagerly
        )
        before = [v.numpy() for v in model.variables]
        with self.assertRaisesRegex(ValueError, "StopGradient.*'central'"):
            fit_one_batch(
                regularized, np.ones((4, 5)), np.eye(3)[[0, 1, 2, 0]]
            )
        for old, variable in zip(before, model.variables, strict=True):
            self.assertAllEqual(variable.numpy(), old)  # Nothing trained.


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


class ActivatedSubclass(keras.Model):
    """Dense(3) then `activation`, in a subclassed model's call."""

    def __init__(self, activation):
        super().__init__()
        self.dense = keras.layers.Dense(3)
        self.activation = activation
        self(np.zeros((1, 4)))

    def call(self, inputs):
        return self.activation(self.dense(inputs))


class EagerOnlyModel(keras.Model):
    """A float64 Dense(3) whose call reads its inputs' values (eager only)."""

    def __init__(self):
        super().__init__(dtype="float64")
        self.dense = keras.layers.Dense(3, dtype="float64")
        self(np.ones((1, 4)))

    def call(self, inputs):
        scale = 1.0 + float(np.abs(keras.ops.convert_to_numpy(inputs)).max())
        return self.dense(inputs) / scale


def two_output_model():
    inputs = keras.Input((4,))
    return keras.Model(
        inputs, [keras.layers.Dense(3)(inputs), keras.layers.Dense(3)(inputs)]
    )


class BadInputTest(tf.test.TestCase, parameterized.TestCase, ToleranceMixin):
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
        sigmoid = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")]
        )
        self.assertBothRefuse(
            ValueError, "sigmoid.*BinaryCrossentropy", model=sigmoid
        )

    def test_subclassed_model_ending_in_softmax_or_sigmoid(self):
        # Issue 18: the norm was taken of probabilities (0.10, not ~1.1).
        for activation, expected in (
            (keras.activations.softmax, "softmax"),
            (keras.ops.softmax, "softmax"),
            (
                tf.nn.softmax,
                "softmax",
            ),  # Not marked by Keras: seen in a graph.
            (keras.activations.sigmoid, "sigmoid"),
        ):
            model = ActivatedSubclass(activation)
            message = f"ends in a {expected}.*outputs probabilities.*logits"
            for method in ("exact", "forward"):
                with self.assertRaisesRegex(ValueError, message):
                    self.call("standard", model=model, method=method)
                with self.assertRaisesRegex(ValueError, message):
                    tf.function(
                        lambda: self.call("empirical", model=model)  # noqa: B023
                    )()
            regularized = self.wrap(model=model)
            regularized.compile(
                optimizer="sgd", loss="categorical_crossentropy"
            )
            with self.assertRaisesRegex(ValueError, message):
                regularized.fit(self.inputs, self.labels, verbose=0)

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

    def test_a_model_that_only_runs_eagerly_is_not_refused(self):
        # The eager calls' trace (their graph checks) cannot run it.
        model = EagerOnlyModel()
        reference = keras_tape_reference(model, self.inputs, self.labels)
        for method in ("exact", "central"):
            self.assertRelativelyClose(
                self.call("standard", model=model, method=method),
                reference["standard"][0],
                1e-6,
                method,
            )

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


# ---------------------------------------------------------------------------
# Issue 18: the models Keras users write.


def use_float64(test):
    """floatx float64 for the test: Keras computes losses and feeds arrays
    in floatx, and the references are float64."""
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")
    test.addCleanup(keras.config.set_floatx, floatx)


def sgd_step(model, gradients, learning_rate):
    """The weights after one SGD step with `gradients` (arrays)."""
    return [
        variable.numpy() - learning_rate * np.asarray(gradient)
        for variable, gradient in zip(
            model.trainable_variables, gradients, strict=True
        )
    ]


def loss_gradients(model, loss, inputs, labels):
    """Gradients of `loss(labels, model(inputs))` by an eager tape."""
    with tf.GradientTape() as tape:
        value = loss(labels, model(inputs, training=True))
    return [
        tf.convert_to_tensor(g).numpy()
        for g in tape.gradient(
            value, [v.value for v in model.trainable_variables]
        )
    ]


def assertWeightsEqual(test, model, expected, rtol=0.0, atol=0.0):
    for variable, value in zip(
        model.trainable_variables, expected, strict=True
    ):
        test.assertAllClose(
            variable.numpy(), value, rtol=rtol, atol=atol, msg=variable.path
        )


def text_model(dtype="float32", seed=0):
    """Embedding(12, 4) -> mean over the sequence -> Dense(8, relu) ->
    Dense(2): the issue's text model, small."""

    def initializer(offset):
        return keras.initializers.RandomNormal(stddev=0.5, seed=seed + offset)

    return keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(
                12, 4, embeddings_initializer=initializer(0), dtype=dtype
            ),
            keras.layers.GlobalAveragePooling1D(dtype=dtype),
            keras.layers.Dense(
                8,
                activation="relu",
                kernel_initializer=initializer(1),
                bias_initializer=initializer(2),
                dtype=dtype,
            ),
            keras.layers.Dense(
                2,
                kernel_initializer=initializer(3),
                bias_initializer=initializer(4),
                dtype=dtype,
            ),
        ]
    )


def not_embeddings(path):
    return "embedding" not in path


class EmbeddingTest(tf.test.TestCase, parameterized.TestCase, ToleranceMixin):
    """Gathered variables: the optimizer gets what plain Keras would give."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        rng = np.random.default_rng(11)
        # Tokens repeat within and across examples.
        cls.tokens = rng.integers(0, 8, (6, 5)).astype(np.int32)
        cls.labels = np.eye(2)[rng.integers(0, 2, 6)]
        plain = text_model()
        plain.compile(
            optimizer=keras.optimizers.Adam(0.05), loss=categorical_loss()
        )
        cls.fit(plain)
        cls.plain_weights = [v.numpy() for v in plain.trainable_variables]

    @classmethod
    def fit(cls, model):
        model.fit(
            cls.tokens,
            cls.labels,
            batch_size=3,
            epochs=2,
            shuffle=False,
            verbose=0,
        )

    @parameterized.parameters(
        ("exact", True),
        ("exact", False),
        ("forward", True),
        ("central", False),
    )
    def test_lambda_zero_is_bit_identical_to_plain_keras_under_adam(
        self, method, embeddings_included
    ):
        # Issue 18: with embeddings included the weights differed by 4e-2.
        model = text_model()
        regularized = kfr.FisherRaoRegularizedModel(
            model,
            norm="fr",
            fisher_rao_lambda=0.0,
            method=method,
            should_regularize=None if embeddings_included else not_embeddings,
        )
        regularized.compile(
            optimizer=keras.optimizers.Adam(0.05), loss=categorical_loss()
        )
        self.fit(regularized)
        assertWeightsEqual(self, model, self.plain_weights)

    def test_xla_compiles_the_step(self):
        # fit's choice on a machine with a GPU (jit_compile="auto"). In
        # float64: XLA rounds otherwise, and a difference amplifies that.
        use_float64(self)
        weights = []
        for jit_compile in (True, False):
            model = text_model("float64")
            regularized = kfr.FisherRaoRegularizedModel(
                model, norm="fre", fisher_rao_lambda=0.05, method="forward"
            )
            regularized.compile(
                optimizer=keras.optimizers.Adam(0.05),
                loss="categorical_crossentropy",
                jit_compile=jit_compile,
            )
            self.assertEqual(regularized.jit_compile, jit_compile)
            self.fit(regularized)
            weights.append([v.numpy() for v in model.trainable_variables])
        for compiled_weights, plain_weights in zip(*weights, strict=True):
            self.assertAllClose(compiled_weights, plain_weights, atol=1e-10)

    def captured_gradients(self, model, method, should_regularize, weight):
        """The gradients one eager train_step hands the optimizer."""
        regularized = kfr.FisherRaoRegularizedModel(
            model,
            norm="fr",
            fisher_rao_lambda=weight,
            method=method,
            should_regularize=should_regularize,
        )
        regularized.compile(optimizer="sgd", loss=categorical_loss())
        with mock.patch.object(
            regularized.optimizer, "apply_gradients"
        ) as apply:
            regularized.train_step(
                (tf.constant(self.tokens), tf.constant(self.labels))
            )
        return [gradient for gradient, _ in apply.call_args.args[0]]

    @parameterized.parameters(*METHODS)
    def test_one_slice_per_lookup_holding_the_objective_gradient(self, method):
        # Issue 18: forward and central handed Adam one slice per lookup and
        # pass, large and cancelling only in their sum (its second moment
        # was 700x too large). Reference: the model after the lookup, run on
        # the looked-up vectors as a variable: its gradient is the
        # gradient of each lookup.
        use_float64(self)
        weight = 0.05
        model = text_model("float64")
        embedding, _, hidden, head = model.layers
        looked_up = tf.Variable(
            tf.gather(embedding.embeddings, self.tokens), dtype=tf.float64
        )
        variables = [looked_up] + [
            v.value
            for v in hidden.trainable_variables + head.trainable_variables
        ]

        def logits():
            return head(hidden(tf.reduce_mean(looked_up, axis=1)))

        norm = ref.function_tape_reference(
            logits, variables, self.labels, [False, True, True, True, True]
        )["standard"]
        with tf.GradientTape() as tape:
            loss = categorical_loss()(self.labels, logits())
        expected = [
            g.numpy() + weight * n
            for g, n in zip(
                tape.gradient(loss, variables), norm[1], strict=True
            )
        ]
        gradients = self.captured_gradients(
            model, method, not_embeddings, weight
        )
        rtol = (
            FLOAT64_RTOL
            if method == "exact"
            else finite_difference_rtol(method, PERTURBATION)
        )
        self.assertIsInstance(gradients[0], tf.IndexedSlices)
        self.assertAllEqual(gradients[0].indices, self.tokens.reshape(-1))
        self.assertRelativelyClose(
            gradients[0].values, expected[0].reshape(-1, 4), rtol, "lookups"
        )
        self.assertGradientsClose(gradients[1:], expected[1:], rtol, method)
        # Guards the test: the norm's part is not negligible.
        self.assertGreater(
            np.linalg.norm(weight * norm[1][0]),
            0.05 * np.linalg.norm(expected[0]),
        )

    def test_included_embeddings_in_exact_mode(self):
        # The direction's share of a selected gathered variable has no
        # slices: one more slice per row, after the lookups'.
        use_float64(self)
        model = text_model("float64")
        reference = keras_tape_reference(model, self.tokens, self.labels)
        with tf.GradientTape() as tape:
            loss = categorical_loss()(self.labels, model(self.tokens))
        expected = [
            tf.convert_to_tensor(g).numpy() + 0.05 * n
            for g, n in zip(
                tape.gradient(
                    loss, [v.value for v in model.trainable_variables]
                ),
                reference["standard"][1],
                strict=True,
            )
        ]
        gradients = self.captured_gradients(model, "exact", None, 0.05)
        self.assertAllEqual(
            gradients[0].indices,
            np.concatenate([self.tokens.reshape(-1), np.arange(12)]),
        )
        self.assertGradientsClose(
            [tf.convert_to_tensor(g) for g in gradients],
            expected,
            FLOAT64_RTOL,
        )


def binary_mlp(outputs=1, seed=5):
    """A float64 4-10-`outputs` ReLU MLP with biases."""
    return sequential_mlp(ref.mlp_params([4, 10, outputs], seed=seed))


def two_class_logits(logits):
    """One logit z as the two logits (0, z) of a two-class softmax."""
    return tf.concat([tf.zeros_like(logits), logits], axis=-1)


class BernoulliTest(tf.test.TestCase, parameterized.TestCase, ToleranceMixin):
    """Sigmoid heads: Dense(1) + binary cross-entropy, and multi-label."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        rng = np.random.default_rng(12)
        cls.inputs = ref.round_to_float32(rng.normal(size=(8, 4)))
        cls.binary = rng.integers(0, 2, (8, 1)).astype(np.float64)
        cls.multi_hot = rng.integers(0, 2, (8, 3)).astype(np.float64)

    @parameterized.parameters(*METHODS)
    def test_one_logit_is_the_two_class_softmax_on_0_and_z(self, method):
        # Issue 18: Dense(1) gave 0 (a softmax over one logit).
        model = binary_mlp()
        reference = keras_tape_reference(
            model,
            self.inputs,
            np.concatenate([1 - self.binary, self.binary], axis=-1),
            logits_of=two_class_logits,
        )
        results = values_and_gradients(
            model, self.inputs, self.binary, method=method
        )
        rtol = (
            FLOAT64_RTOL
            if method == "exact"
            else finite_difference_rtol(method, PERTURBATION)
        )
        for kind in KINDS:
            self.assertRelativelyClose(
                results[kind][0], reference[kind][0], rtol, kind
            )
            self.assertGradientsClose(
                results[kind][1], reference[kind][1], rtol, kind
            )
        # Labels without the last axis, as Keras's binary cross-entropy
        # takes them.
        self.assertRelativelyClose(
            kfr.empirical_fisher_rao_norm(
                model, self.inputs, self.binary[:, 0], method=method
            ),
            reference["empirical"][0],
            rtol,
        )

    def test_multi_label_sigmoids_are_independent_bernoullis(self):
        model = binary_mlp(outputs=3)
        reference = keras_tape_reference(
            model, self.inputs, self.multi_hot, output="bernoulli"
        )
        exact = values_and_gradients(
            model,
            self.inputs,
            self.multi_hot,
            "function",
            output_distribution="bernoulli",
        )
        central = values_and_gradients(
            model,
            self.inputs,
            self.multi_hot,
            kinds=("standard", "empirical"),
            method="central",
            output_distribution="bernoulli",
        )
        for kind in KINDS:
            self.assertRelativelyClose(
                exact[kind][0], reference[kind][0], FLOAT64_RTOL, kind
            )
            self.assertGradientsClose(
                exact[kind][1], reference[kind][1], FLOAT64_RTOL, kind
            )
        for kind in ("standard", "empirical"):
            self.assertRelativelyClose(
                central[kind][0],
                reference[kind][0],
                finite_difference_rtol("central", PERTURBATION),
                kind,
            )

    @parameterized.parameters(
        ("fr", "exact", 1), ("fre", "forward", 3), ("fre", "central", 1)
    )
    def test_one_fit_step_is_sgd_on_bce_plus_lambda_norm(
        self, norm, method, outputs
    ):
        use_float64(self)
        learning_rate, weight = 0.5, 0.3
        model = binary_mlp(outputs)
        labels = self.binary[:, 0] if outputs == 1 else self.multi_hot
        kind = "standard" if norm == "fr" else "empirical"
        reference = keras_tape_reference(
            model,
            self.inputs,
            labels.reshape(len(labels), -1),
            output="bernoulli",
        )[kind]
        expected = sgd_step(
            model,
            [
                g + weight * n
                for g, n in zip(
                    loss_gradients(
                        model,
                        keras.losses.BinaryCrossentropy(from_logits=True),
                        self.inputs,
                        labels.reshape(len(labels), -1),
                    ),
                    reference[1],
                    strict=True,
                )
            ],
            learning_rate,
        )
        before = [v.numpy() for v in model.trainable_variables]
        regularized = kfr.FisherRaoRegularizedModel(
            model, norm=norm, fisher_rao_lambda=weight, method=method
        )
        regularized.compile(
            optimizer=keras.optimizers.SGD(learning_rate),
            loss="binary_crossentropy",
        )
        history = fit_one_batch(regularized, self.inputs, labels)
        name = (
            "fisher_rao_norm" if norm == "fr" else "empirical_fisher_rao_norm"
        )
        rtol = (
            FLOAT64_RTOL
            if method == "exact"
            else finite_difference_rtol(method, PERTURBATION)
        )
        self.assertRelativelyClose(history[name][0], reference[0], rtol)
        # The step as one vector: a finite difference's error is relative
        # to the whole gradient.
        self.assertLessEqual(
            ref.gradients_relative_error(
                [
                    v.numpy() - b
                    for v, b in zip(
                        model.trainable_variables, before, strict=True
                    )
                ],
                [e - b for e, b in zip(expected, before, strict=True)],
            ),
            rtol,
        )

    def test_a_softmax_over_one_logit_is_refused(self):
        model = binary_mlp()
        with self.assertRaisesRegex(ValueError, "one logit.*constant.*binary"):
            kfr.standard_fisher_rao_norm(
                model, self.inputs, output_distribution="categorical"
            )
        regularized = kfr.FisherRaoRegularizedModel(
            model, norm="fr", fisher_rao_lambda=0.1
        )
        regularized.compile(optimizer="sgd", loss="categorical_crossentropy")
        with self.assertRaisesRegex(ValueError, "one logit.*constant"):
            fit_one_batch(regularized, self.inputs, self.binary)
        with self.assertRaisesRegex(ValueError, r"\(8,\).*\(8, 3\)"):
            kfr.empirical_fisher_rao_norm(
                binary_mlp(outputs=3),
                self.inputs,
                self.binary[:, 0],
                output_distribution="bernoulli",
            )
        contradicting = kfr.FisherRaoRegularizedModel(
            model,
            norm="fr",
            fisher_rao_lambda=0.1,
            output_distribution="categorical",
        )
        with self.assertRaisesRegex(ValueError, "bernoulli.*categorical"):
            contradicting.compile(optimizer="sgd", loss="binary_crossentropy")


def policy_mlp(params, head_dtype=None):
    """The ReLU MLP of `params` under the global dtype policy; the last
    layer's dtype is `head_dtype` if given."""
    layers = [
        keras.layers.Dense(
            kernel.shape[1],
            activation="relu" if index < len(params) - 1 else None,
            dtype=head_dtype if index == len(params) - 1 else None,
        )
        for index, (kernel, _) in enumerate(params)
    ]
    model = keras.Sequential([keras.Input((params[0][0].shape[0],))] + layers)
    set_dense_weights(layers, params)
    return model


class MixedPrecisionTest(tf.test.TestCase, ToleranceMixin):
    def setUp(self):
        super().setUp()
        policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy("mixed_float16")
        self.addCleanup(keras.mixed_precision.set_global_policy, policy)

    def test_exact_is_right_and_finite_differences_refused(self):
        # Issue 18: forward and central gave 24.1 and 8.09 for 0.818.
        params, inputs, labels = small_mlp(batch=16)
        reference = ref.tape_reference(params, inputs, labels)
        model = policy_mlp(params)
        self.assertEqual(model.layers[0].compute_dtype, "float16")
        # float16's rounding, 1e-3 relative, on the logits and D.
        results = values_and_gradients(
            model, inputs.astype(np.float32), labels, "function"
        )
        for kind in KINDS:
            self.assertRelativelyClose(
                results[kind][0], reference[kind][0], 1e-2, kind
            )
            self.assertLessEqual(
                ref.gradients_relative_error(
                    results[kind][1], reference[kind][1]
                ),
                1e-2,
            )
        for method in ("forward", "central"):
            with self.assertRaisesRegex(
                ValueError, "float16 .*mixed precision.*method='exact'"
            ):
                kfr.standard_fisher_rao_norm(model, inputs, method=method)
            regularized = kfr.FisherRaoRegularizedModel(
                model, norm="fre", fisher_rao_lambda=0.1, method=method
            )
            regularized.compile(
                optimizer="sgd", loss="categorical_crossentropy"
            )
            with self.assertRaisesRegex(ValueError, "float16"):
                fit_one_batch(regularized, inputs, labels)
        regularized = kfr.FisherRaoRegularizedModel(
            model, norm="fr", fisher_rao_lambda=0.1
        )
        regularized.compile(optimizer="sgd", loss="categorical_crossentropy")
        history = fit_one_batch(regularized, inputs, labels)
        self.assertRelativelyClose(
            history["fisher_rao_norm"], [reference["standard"][0]], 1e-2
        )

    def test_a_float32_head_alone_takes_finite_differences(self):
        params, inputs, labels = small_mlp(batch=16)
        model = policy_mlp(params, head_dtype="float32")

        def head_only(path):
            return path.startswith(model.layers[-1].path)

        reference = ref.tape_reference(
            params,
            inputs,
            labels,
            selected=[(False, False)] * 2 + [(True, True)],
        )
        value = kfr.standard_fisher_rao_norm(
            model, inputs, method="forward", should_regularize=head_only
        )
        # The head's inputs are rounded to float16, in every pass alike.
        self.assertRelativelyClose(value, reference["standard"][0], 1e-2)


class SparseLabelsTest(
    tf.test.TestCase, parameterized.TestCase, ToleranceMixin
):
    """Class indices for norm="fre" (issue 18: they failed at step 1)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.params, cls.inputs, cls.labels = small_mlp(batch=8)
        cls.indices = np.argmax(cls.labels, axis=-1)
        cls.reference = ref.tape_reference(cls.params, cls.inputs, cls.labels)[
            "empirical"
        ]

    def test_the_function_takes_class_indices(self):
        model = sequential_mlp(self.params)
        for labels in (
            self.indices,
            self.indices[:, np.newaxis],
            self.indices.astype(np.float32),
        ):
            self.assertRelativelyClose(
                kfr.empirical_fisher_rao_norm(model, self.inputs, labels),
                self.reference[0],
                FLOAT64_RTOL,
                str(labels.shape),
            )
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, "class indices must be < 3"
        ):
            kfr.empirical_fisher_rao_norm(model, self.inputs, self.indices + 1)
        with self.assertRaisesRegex(ValueError, r"indices.*\(7,\).*\(8, 3\)"):
            kfr.empirical_fisher_rao_norm(model, self.inputs, self.indices[:7])

    @parameterized.parameters(("string", 1), ("object", 2))
    def test_fit_with_sparse_cross_entropy(self, loss, label_rank):
        use_float64(self)
        if loss == "string":
            loss = "sparse_categorical_crossentropy"
        else:  # Made in floatx float64, as the other losses here.
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        learning_rate, weight = 0.5, 0.3
        model = sequential_mlp(self.params)
        expected = sgd_step(
            model,
            [
                g + weight * n
                for g, n in zip(
                    loss_gradients(
                        model, categorical_loss(), self.inputs, self.labels
                    ),
                    self.reference[1],
                    strict=True,
                )
            ],
            learning_rate,
        )
        regularized = kfr.FisherRaoRegularizedModel(
            model, norm="fre", fisher_rao_lambda=weight
        )
        regularized.compile(
            optimizer=keras.optimizers.SGD(learning_rate), loss=loss
        )
        history = fit_one_batch(
            regularized,
            self.inputs,
            self.indices.reshape((-1,) + (1,) * (label_rank - 1)),
        )
        self.assertRelativelyClose(
            history["empirical_fisher_rao_norm"], [self.reference[0]], 1e-6
        )
        assertWeightsEqual(self, model, expected, rtol=1e-9, atol=1e-12)


@keras.saving.register_keras_serializable(package="fisher_rao_tests")
def kernels_only(path):
    return path.endswith("/kernel")


class SavingTest(tf.test.TestCase, ToleranceMixin):
    """Each round trip, then training on, against the uninterrupted run."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _, cls.inputs, cls.labels = small_mlp(batch=16)
        cls.inputs = cls.inputs.astype(np.float32)

    def regularized(self):
        model = sequential_mlp(ref.mlp_params([4, 10, 10, 3]), "float32")
        regularized = kfr.FisherRaoRegularizedModel(
            model,
            norm="fre",
            fisher_rao_lambda=0.05,
            method="forward",
            should_regularize=kernels_only,
        )
        regularized.compile(
            optimizer=keras.optimizers.Adam(0.01),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
        )
        return regularized

    def fit(self, regularized, epochs=1, **options):
        return regularized.fit(
            self.inputs,
            self.labels,
            batch_size=8,
            epochs=epochs,
            shuffle=False,
            verbose=0,
            **options,
        ).history

    def assertTrainsOnAlike(self, loaded, original):
        self.fit(loaded)
        self.fit(original)
        self.assertEqual(
            int(loaded.optimizer.iterations),
            int(original.optimizer.iterations),
        )
        assertWeightsEqual(
            self, loaded.model, [v.numpy() for v in original.model.weights]
        )

    def test_save_and_load_model_restore_the_wrapper(self):
        original = self.regularized()
        self.fit(original)
        original.fisher_rao_lambda = 0.2
        path = os.path.join(self.get_temp_dir(), "x.keras")
        original.save(path)
        loaded = keras.models.load_model(path)
        self.assertIsInstance(loaded, kfr.FisherRaoRegularizedModel)
        self.assertEqual(
            (loaded.norm, loaded.method, loaded.should_regularize),
            ("fre", "forward", kernels_only),
        )
        self.assertEqual(float(loaded.fisher_rao_lambda), 0.2)
        self.assertTrainsOnAlike(loaded, original)
        # clone_model: the same configuration around a fresh model.
        clone = keras.models.clone_model(original)
        self.assertEqual(clone.get_config()["norm"], "fre")
        self.assertIsNot(clone.model, original.model)

    def test_model_checkpoint_keras_file(self):
        original = self.regularized()
        path = os.path.join(self.get_temp_dir(), "best.keras")
        self.fit(
            original,
            epochs=2,
            callbacks=[keras.callbacks.ModelCheckpoint(path, monitor="loss")],
        )
        self.assertTrainsOnAlike(keras.models.load_model(path), original)

    def test_export_is_the_wrapped_models_inference(self):
        regularized = self.regularized()
        path = os.path.join(self.get_temp_dir(), "exported")
        regularized.export(path, verbose=False)
        served = tf.saved_model.load(path)  # Held: it owns the variables.
        self.assertAllClose(
            served.serve(self.inputs),
            regularized.model.predict(self.inputs, verbose=0),
            rtol=1e-6,
        )

    def test_a_filter_keras_cannot_save_is_refused_at_save(self):
        regularized = self.regularized()
        regularized.should_regularize = functools.partial(
            str.endswith, suffix="/kernel"
        )
        with self.assertRaisesRegex(ValueError, "cannot be saved.*register"):
            regularized.save(os.path.join(self.get_temp_dir(), "y.keras"))


class LambdaTest(tf.test.TestCase, ToleranceMixin):
    """Lambda is read at run time (issue 18: a new value was ignored)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.params, cls.inputs, cls.labels = small_mlp(batch=8)

    def setUp(self):
        super().setUp()
        use_float64(self)

    def test_lambda_set_between_fits_and_as_a_variable(self):
        model = sequential_mlp(self.params)
        variable = keras.Variable(0.3, dtype="float64", trainable=False)
        regularized = compiled(model, fisher_rao_lambda=variable)
        self.assertIs(regularized.fisher_rao_lambda, variable)
        fit_one_batch(regularized, self.inputs, self.labels)
        for value in (0.0, 0.4):
            # A new value in either way: the next step uses it.
            if value == 0.0:
                regularized.fisher_rao_lambda = value
            else:
                variable.assign(value)
            norm = ref.function_tape_reference(
                lambda: model(self.inputs),
                [v.value for v in model.trainable_variables],
                self.labels,
            )["standard"][1]
            expected = sgd_step(
                model,
                [
                    g + value * n
                    for g, n in zip(
                        loss_gradients(
                            model, categorical_loss(), self.inputs, self.labels
                        ),
                        norm,
                        strict=True,
                    )
                ],
                0.1,
            )
            fit_one_batch(regularized, self.inputs, self.labels)
            assertWeightsEqual(self, model, expected, rtol=1e-9, atol=1e-12)
        for bad in (-1.0, float("nan"), "0.1"):
            with self.assertRaisesRegex(ValueError, "fisher_rao_lambda"):
                regularized.fisher_rao_lambda = bad
        for bad in (
            keras.Variable(0.1, trainable=True),
            keras.Variable([0.1, 0.2], trainable=False),
            keras.Variable(-0.1, trainable=False),
        ):
            with self.assertRaisesRegex(ValueError, "keras.Variable"):
                compiled(sequential_mlp(self.params), fisher_rao_lambda=bad)

    def test_warm_up_schedule(self):
        model = sequential_mlp(self.params)
        regularized = compiled(model, fisher_rao_lambda=1.0)
        starts = []
        recorder = keras.callbacks.LambdaCallback(
            on_epoch_begin=lambda epoch, logs: starts.append(
                [v.numpy() for v in model.trainable_variables]
            )
        )
        history = regularized.fit(
            self.inputs,
            self.labels,
            batch_size=len(self.inputs),
            epochs=3,
            verbose=0,
            callbacks=[
                kfr.FisherRaoLambdaScheduler(kfr.linear_warm_up(0.3, 2)),
                recorder,
            ],
        ).history
        self.assertAllClose(history["fisher_rao_lambda"], [0.0, 0.15, 0.3])
        # Each epoch's one step: loss = cross-entropy + lambda * norm at the
        # weights it started from.
        for epoch, weights in enumerate(starts):
            start = sequential_mlp(
                [
                    (k, b)
                    for k, b in zip(weights[::2], weights[1::2], strict=True)
                ]
            )
            cross_entropy = float(
                categorical_loss()(self.labels, start(self.inputs))
            )
            self.assertAllClose(
                history["loss"][epoch] - cross_entropy,
                history["fisher_rao_lambda"][epoch]
                * history["fisher_rao_norm"][epoch],
                rtol=1e-6,
                atol=1e-9,
            )
        with self.assertRaisesRegex(ValueError, "epoch 0.*fisher_rao_lambda"):
            regularized.fit(
                self.inputs,
                self.labels,
                verbose=0,
                callbacks=[kfr.FisherRaoLambdaScheduler(lambda e, lam: -1.0)],
            )


class HistoryTest(tf.test.TestCase, ToleranceMixin):
    """What each number `fit` logs is ("fre"'s name: the tests of evaluate,
    binary heads and sparse labels)."""

    def test_logged_numbers(self):
        use_float64(self)
        params, inputs, labels = small_mlp(batch=8)
        model = sequential_mlp(params)

        def reference_norm():
            return keras_tape_reference(model, inputs, labels)["standard"][0]

        def cross_entropy():
            return float(categorical_loss()(labels, model(inputs)))

        before = (cross_entropy(), reference_norm())
        history = (
            compiled(model, fisher_rao_lambda=0.3)
            .fit(
                inputs,
                labels,
                batch_size=len(inputs),
                validation_data=(inputs, labels),
                verbose=0,
            )
            .history
        )
        self.assertEqual(
            sorted(history),
            [
                "accuracy",
                "fisher_rao_norm",
                "loss",
                "val_accuracy",
                "val_fisher_rao_norm",
                "val_loss",
            ],
        )
        # Training, at the step's weights: the objective, lambda * norm
        # included.
        self.assertAllClose(
            history["loss"], [before[0] + 0.3 * before[1]], rtol=1e-6
        )
        self.assertAllClose(history["fisher_rao_norm"], [before[1]], rtol=1e-6)
        # Validation, after the step: the compiled loss alone.
        self.assertAllClose(history["val_loss"], [cross_entropy()], rtol=1e-6)
        self.assertAllClose(
            history["val_fisher_rao_norm"], [reference_norm()], rtol=1e-6
        )


class MirroredStrategyTest(tf.test.TestCase):
    def test_two_devices_train_as_one(self):
        # The CPU must be split before TensorFlow starts: a fresh process.
        # The repository's modules, as pytest's pythonpath gives the tests.
        environment = dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="2",
            PYTHONPATH=os.path.dirname(TESTS),
        )
        result = subprocess.run(
            [sys.executable, os.path.join(TESTS, "mirrored_fit.py")],
            capture_output=True,
            text=True,
            env=environment,
            timeout=600,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        report = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual(report["replicas"], 2)
        self.assertLen(report["runs"], 2)
        for run in report["runs"]:
            self.assertLessEqual(run["max_weight_difference"], 1e-5, run)
            self.assertLessEqual(run["max_log_difference"], 1e-5, run)
            # Guards the test: the norm moves the weights.
            self.assertGreater(run["norm_effect"], 1e-3, run)


if __name__ == "__main__":
    tf.test.main()
