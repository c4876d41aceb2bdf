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
"""Tests of fisher_rao_experiments/training.py: short real training runs.

The script's command line (flags, exit statuses, Ctrl-C as a signal) is
tested in test_synthetic_classification.py.
"""

import math
from unittest import mock

import helpers
import numpy as np
import tensorflow as tf

import direct_fisher_rao
from fisher_rao_experiments import (
    calibration,
    data,
    model,
    results_io,
    training,
)
from fisher_rao_experiments import config as experiment_config


class TrainingTest(tf.test.TestCase):
    """Short runs through run_experiment."""

    def run_small(self, **overrides):
        return training.run_experiment(
            helpers.small_config(self.get_temp_dir(), **overrides)
        ).results

    def test_regularizer_is_zero_free_for_fr_and_zero_for_none(self):
        for norm in ("fr", "fre"):
            regularizers = self.run_small(regularization_norm=norm)[
                "regularizer_loss"
            ]
            self.assertLen(regularizers, 120)
            self.assertTrue(
                all(
                    math.isfinite(value) and value > 0
                    for value in regularizers
                ),
                norm,
            )
        regularizers = self.run_small(regularization_norm="None")[
            "regularizer_loss"
        ]
        self.assertEqual(regularizers, [0.0] * 120)

    def test_same_seed_same_trajectories_other_seed_other_ones(self):
        overrides = dict(fisher_rao_lambda=0.1, fisher_rao_method="central")
        first = self.run_small(**overrides)
        second = self.run_small(**overrides)
        other_seed = self.run_small(random_seed=2, **overrides)
        for key in results_io.TRAJECTORY_KEYS:
            np.testing.assert_array_equal(first[key], second[key], key)
        for key in ("train_loss", "test_loss", "regularizer_loss"):
            self.assertNotEqual(first[key], other_seed[key], key)
        del first["hparams"]["start_time"], second["hparams"]["start_time"]
        self.assertEqual(first["hparams"], second["hparams"])

    def test_sgd_and_adam_lower_the_training_loss(self):
        for optimizer, learning_rate in (("sgd", 0.05), ("adam", 0.01)):
            results = self.run_small(
                optimizer=optimizer,
                learning_rate=learning_rate,
                train_steps=300,
                eval_steps=300,
                fisher_rao_lambda=0.01,
                fisher_rao_method="exact",
            )
            first_loss, last_loss = results["train_loss"]
            self.assertLess(last_loss, 0.9 * first_loss, optimizer)

    def test_final_evaluation_is_numpy_on_the_rebuilt_splits(self):
        # Digits with a validation split and noisy training labels: the
        # recorded losses are those of the checkpointed weights on the rows
        # of each split, training rows with their noisy labels.
        config = helpers.small_config(
            self.get_temp_dir(),
            dataset="digits",
            train_size=300,
            validation_size=100,
            test_size=200,
            label_noise=0.5,
            input_dimension=None,
            num_classes=None,
            num_hidden_layers=1,
            train_steps=60,
            eval_steps=30,
            optimizer="adam",
            learning_rate=0.01,
        )
        run = training.run_experiment(config)
        results = run.results
        with tf.Graph().as_default():
            inputs, labels = data.make_data(results["hparams"])
            with tf.compat.v1.Session() as session:
                inputs, labels = session.run((inputs, labels))
        hidden = inputs
        for index in range(3):
            hidden = (
                hidden @ run.variables[f"model/dense_{index}/kernel"]
                + run.variables[f"model/dense_{index}/bias"]
            )
            if index < 2:
                hidden = np.maximum(hidden, 0)
        for split, rows in (
            ("train", slice(0, 200)),
            ("validation", slice(200, 300)),
            ("test", slice(300, 500)),
        ):
            with self.subTest(split=split):
                shifted = hidden[rows] - hidden[rows].max(
                    axis=1, keepdims=True
                )
                log_probs = shifted - np.log(
                    np.exp(shifted).sum(axis=1, keepdims=True)
                )
                loss = -(labels[rows] * log_probs).sum(axis=1).mean()
                accuracy = (
                    hidden[rows].argmax(1) == labels[rows].argmax(1)
                ).mean()
                self.assertAllClose(
                    results[f"{split}_loss"][-1], loss, rtol=1e-5
                )
                self.assertAllClose(
                    results[f"{split}_accuracy"][-1], accuracy, rtol=1e-6
                )
        self.assertEqual(results["hparams"]["input_dimension"], 64)
        self.assertEqual(results["steps"], [0, 30, 60])
        # The calibration of the last evaluation: numpy on the same logits.
        expected = calibration.calibration_metrics(
            hidden[200:300],
            labels[200:300].argmax(1),
            hidden[300:500],
            labels[300:500].argmax(1),
        )
        recorded = results["calibration"]
        self.assertCountEqual(recorded, results_io.CALIBRATION_KEYS)
        for key in results_io.CALIBRATION_KEYS:
            self.assertLen(recorded[key], 3)
            self.assertAllClose(
                recorded[key][-1], getattr(expected, key), rtol=1e-4, msg=key
            )
        self.assertAllClose(
            recorded["test_nll_raw"][-1], results["test_loss"][-1], rtol=1e-5
        )
        self.assertLessEqual(
            recorded["test_nll_scaled"][-1],
            recorded["test_nll_raw"][-1] + 0.05,
        )

    def test_no_validation_split_no_calibration(self):
        results = self.run_small(train_steps=2, eval_steps=1)
        self.assertIsNone(results["calibration"])
        with mock.patch.object(
            training.calibration, "calibration_metrics"
        ) as metrics:
            self.run_small(train_steps=2, eval_steps=1)
        metrics.assert_not_called()

    def test_non_finite_logits_record_null_calibration(self):
        inputs = {
            "validation_logits": np.array([[np.nan, 0.0]], np.float32),
            "validation_labels": np.array([0]),
            "test_logits": np.array([[1.0, 0.0]], np.float32),
            "test_labels": np.array([0]),
        }
        values = training.test_calibration(inputs)
        self.assertCountEqual(values, results_io.CALIBRATION_KEYS)
        self.assertTrue(all(math.isnan(v) for v in values.values()))
        self.assertEqual(
            results_io.to_strict_json_value(values),
            dict.fromkeys(results_io.CALIBRATION_KEYS),
        )

    def test_label_smoothing_and_confidence_penalty_against_numpy(self):
        rng = np.random.default_rng(0)
        logits = rng.normal(size=(7, 4)) * 3
        labels = np.eye(4)[rng.integers(0, 4, size=7)]
        log_p = logits - logits.max(1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(1, keepdims=True))
        entropy = -(np.exp(log_p) * log_p).sum(1).mean()
        for eps, beta in ((0.0, 0.0), (0.1, 0.0), (0.0, 0.3), (0.25, 0.5)):
            with self.subTest(eps=eps, beta=beta):
                target = (1 - eps) * labels + eps / 4
                expected = -(target * log_p).sum(1).mean() - beta * entropy
                config = {"label_smoothing": eps, "confidence_penalty": beta}
                value = training.training_loss(
                    tf.constant(labels), tf.constant(logits), config
                )
                self.assertAllClose(value, expected, rtol=1e-10)
        self.assertAllClose(training.mean_entropy(tf.zeros([2, 5])), np.log(5))

    def test_label_smoothing_and_confidence_penalty_change_the_steps(self):
        # One SGD step on the plain loss, and on each control: the controls
        # move the weights differently; at 0 they are the plain run.
        config = helpers.small_config(
            self.get_temp_dir(),
            train_steps=3,
            eval_steps=3,
            regularization_norm="None",
        )
        plain = training.run_experiment(config).variables
        zero = training.run_experiment(
            dict(config, label_smoothing=0.0, confidence_penalty=0.0)
        ).variables
        for key in ("label_smoothing", "confidence_penalty"):
            changed = training.run_experiment(
                dict(config, **{key: 0.3})
            ).variables
            with self.subTest(key=key):
                self.assertTrue(
                    any(
                        not np.allclose(changed[name], plain[name])
                        for name in plain
                    )
                )
        for name in plain:
            self.assertAllEqual(zero[name], plain[name])

    def test_stop_train_loss_stops_at_the_first_check_below_it(self):
        # The reference: the same run without a stop, evaluated at every
        # check (every 5 steps); the stopped run evaluates every 40 steps,
        # so it stops between evaluations, and evaluates there.
        overrides = dict(optimizer="adam", learning_rate=0.05, train_steps=300)
        full = self.run_small(eval_steps=5, **overrides)
        threshold = full["train_loss"][21]  # Reached at step 105.
        first_below = next(
            index
            for index, loss in enumerate(full["train_loss"])
            if loss <= threshold
        )
        stop_step = full["steps"][first_below]
        self.assertNotEqual(stop_step % 40, 0)
        stopped = self.run_small(
            eval_steps=40,
            stop_train_loss=threshold,
            stop_check_steps=5,
            **overrides,
        )
        self.assertEqual(
            stopped["steps"],
            list(range(0, stop_step, 40)) + [stop_step],
        )
        self.assertEqual(stopped["stopped_at_step"], stop_step)
        self.assertLessEqual(stopped["stopped_at_loss"], threshold)
        # The check changes nothing in the training: the same steps, the
        # same weights, so the same evaluation at the stop step.
        self.assertEqual(
            stopped["regularizer_loss"], full["regularizer_loss"][:stop_step]
        )
        for key in results_io.EVALUATED_KEYS:
            if key.startswith("validation"):
                continue
            self.assertAllClose(
                stopped[key][-1], full[key][first_below], rtol=1e-6, msg=key
            )
        self.assertAllClose(
            stopped["stopped_at_loss"],
            full["train_loss"][first_below],
            rtol=1e-6,
        )
        self.assertTrue(results_io.is_complete(stopped))
        self.assertIsNone(full["stopped_at_step"])
        self.assertIsNone(full["stopped_at_loss"])
        never = self.run_small(
            train_steps=50, stop_train_loss=0.0, stop_check_steps=1
        )
        self.assertIsNone(never["stopped_at_step"])
        self.assertEqual(never["steps"][-1], 50)

    def test_without_a_stop_loss_the_loop_checks_nothing(self):
        config = experiment_config.resolve_config(
            helpers.small_config(self.get_temp_dir())
        )
        plain = training._TrainingGraph(config)
        checked = training._TrainingGraph(dict(config, stop_train_loss=0.1))
        self.assertNotIn("checked_loss", plain.chunk)
        self.assertIn("checked_loss", checked.chunk)
        # No conditional (the check's) in the plain loop.
        self.assertEmpty(
            [
                op
                for op in plain.graph.get_operations()
                if op.type == "Switch" and "cond" in op.name
            ]
        )

    def test_momentum_is_heavy_ball_sgd(self):
        # v <- momentum v + g, theta <- theta - learning_rate v, from v = 0,
        # with the gradients g of the batches' mean cross-entropy by an
        # eager GradientTape in float64.
        config = experiment_config.resolve_config(
            helpers.small_config(
                self.get_temp_dir(),
                optimizer="momentum",
                momentum=0.8,
                learning_rate=0.1,
                train_steps=3,
                eval_steps=3,
                regularization_norm="None",
                num_hidden_layers=0,
            )
        )
        graph = training._TrainingGraph(config)
        with tf.compat.v1.Session(graph=graph.graph) as session:
            session.run(graph.initializer)
            initial = training._values_by_name(session, graph.model_variables)
        with tf.Graph().as_default():
            inputs, labels = data.make_data(config)
            step = tf.compat.v1.placeholder(tf.int64, [])
            rows = training.batch_indices(step, config)
            with tf.compat.v1.Session() as session:
                inputs, labels = session.run((inputs, labels))
                batches = [
                    session.run(rows, {step: index}) for index in range(3)
                ]
        names = sorted(initial)
        theta = {name: initial[name].astype(np.float64) for name in names}
        velocity = {name: np.zeros_like(theta[name]) for name in names}
        for batch in batches:
            weights = {name: tf.Variable(theta[name]) for name in names}
            with tf.GradientTape() as tape:
                hidden = tf.nn.relu(
                    inputs[batch] @ weights["model/dense_0/kernel"]
                    + weights["model/dense_0/bias"]
                )
                logits = (
                    hidden @ weights["model/dense_1/kernel"]
                    + weights["model/dense_1/bias"]
                )
                loss = tf.reduce_mean(
                    tf.nn.softmax_cross_entropy_with_logits(
                        labels=labels[batch].astype(np.float64), logits=logits
                    )
                )
            gradients = tape.gradient(loss, [weights[n] for n in names])
            for name, gradient in zip(names, gradients, strict=True):
                velocity[name] = 0.8 * velocity[name] + gradient.numpy()
                theta[name] = theta[name] - 0.1 * velocity[name]
        trained = training.run_experiment(config).variables
        for name in names:
            self.assertAllClose(
                trained[name], theta[name], atol=1e-6, msg=name
            )
        # Momentum 0 is plain SGD.
        sgd = training.run_experiment(dict(config, optimizer="sgd")).variables
        no_momentum = training.run_experiment(
            dict(config, momentum=0.0)
        ).variables
        for name in names:
            self.assertAllClose(no_momentum[name], sgd[name], atol=1e-7)

    def test_cnn_trains_on_mnist1d_with_every_norm_and_method(self):
        for norm, method in (
            ("fr", "forward"),
            ("fre", "central"),
            ("fr", "exact"),
        ):
            results = self.run_small(
                dataset="mnist1d",
                architecture="cnn",
                input_dimension=None,
                train_size=200,
                test_size=50,
                conv_layers=2,
                conv_channels=4,
                regularization_norm=norm,
                fisher_rao_method=method,
                fisher_rao_lambda=0.01,
                optimizer="adam",
                learning_rate=0.01,
                batch_size=32,
                train_steps=40,
                eval_steps=40,
                num_hidden_layers=None,
                layer_width=None,
            )
            with self.subTest(norm=norm, method=method):
                first_loss, last_loss = results["train_loss"]
                self.assertLess(last_loss, 0.9 * first_loss)
                self.assertTrue(
                    all(
                        v > 0 and math.isfinite(v)
                        for v in results["regularizer_loss"]
                    )
                )
                self.assertEqual(
                    results["dataset_parameters"], data.mnist1d.parameters()
                )

    def test_weight_decay_adds_twice_its_factor_times_the_kernels(self):
        # One SGD step: W1(c) = W1(0) - learning_rate * 2 c W0 for kernels;
        # biases are not decayed.
        config = helpers.small_config(
            self.get_temp_dir(),
            train_steps=1,
            eval_steps=1,
            regularization_norm="None",
        )
        graph = training._TrainingGraph(
            experiment_config.resolve_config(config)
        )
        with tf.compat.v1.Session(graph=graph.graph) as session:
            session.run(graph.initializer)
            initial = training._values_by_name(session, graph.model_variables)
        plain = training.run_experiment(config).variables
        decayed = training.run_experiment(
            dict(config, weight_decay=0.5)
        ).variables
        for name, value in initial.items():
            expected = plain[name] - (
                config["learning_rate"] * 2 * 0.5 * value
                if "kernel" in name
                else 0
            )
            self.assertAllClose(decayed[name], expected, atol=1e-6, msg=name)

    def test_divergence_raises_with_the_step_and_the_results_so_far(self):
        with self.assertRaises(training.TrainingDivergedError) as caught:
            self.run_small(learning_rate=1e6)
        error = caught.exception
        self.assertIn(f"step {error.step}", str(error))
        self.assertLen(error.results["regularizer_loss"], error.step + 1)
        self.assertEqual(error.results["steps"], [0])

    def test_divergence_in_the_last_step_is_reported(self):
        # The loss of step 0 is finite; the update of that last step makes
        # the weights overflow, which only the evaluation after it sees.
        with self.assertRaises(training.TrainingDivergedError) as caught:
            self.run_small(train_steps=1, eval_steps=1, learning_rate=1e20)
        error = caught.exception
        self.assertEqual(error.step, 1)
        self.assertIn("step 1:", str(error))
        self.assertEqual(error.results["steps"], [0, 1])
        first_loss, last_loss = error.results["train_loss"]
        self.assertTrue(math.isfinite(first_loss))
        self.assertFalse(math.isfinite(last_loss))
        self.assertLen(error.results["regularizer_loss"], 1)

    def test_ctrl_c_raises_with_the_results_so_far(self):
        run_chunk = training._Trainer._run_chunk

        def interrupt_second_chunk(trainer, step, next_step):
            if step > 0:
                raise KeyboardInterrupt
            return run_chunk(trainer, step, next_step)

        with mock.patch.object(
            training._Trainer, "_run_chunk", interrupt_second_chunk
        ):
            with self.assertRaises(training.TrainingInterrupted) as caught:
                self.run_small()
        results = caught.exception.results
        self.assertEqual(results["steps"], [0, 50])
        self.assertLen(results["test_accuracy"], 2)
        self.assertLen(results["regularizer_loss"], 50)

    def test_batches_cover_the_training_set_once_per_epoch(self):
        config = helpers.small_config("unused", batch_size=24, train_size=60)
        with tf.Graph().as_default():
            step = tf.compat.v1.placeholder(tf.int64, [])
            rows = training.batch_indices(step, config)
            with tf.compat.v1.Session() as session:
                batches = [
                    session.run(rows, {step: index}) for index in range(10)
                ]
        order = np.concatenate(batches)  # 240 rows: 4 epochs of 60.
        epochs = order.reshape(4, 60)
        for epoch in epochs:
            self.assertCountEqual(epoch, range(60))
        self.assertNotAllEqual(epochs[0], epochs[1])


class LoopWiringTest(tf.test.TestCase):
    """The in-graph loop does what one session call per step would do."""

    def reference_run(self, config, num_steps):
        """Regularizer values and final training loss, one step per call.

        Built without the module's loop: the library's regularizer on the
        same batches and initial weights, and the optimizer stepped by hand.
        """
        with tf.Graph().as_default():
            tf.compat.v1.random.set_random_seed(config["random_seed"])
            inputs, labels = data.make_data(
                experiment_config.resolve_config(config)
            )
            train_size = config["train_size"]
            step = tf.compat.v1.placeholder(tf.int64, [])
            rows = training.batch_indices(step, config)
            batch_inputs = tf.gather(inputs[:train_size], rows)
            batch_labels = tf.gather(labels[:train_size], rows)
            logits, regularizer = (
                direct_fisher_rao.make_standard_fisher_regularizer(
                    lambda: model.make_logits(batch_inputs, config),
                    "model",
                    lambda name: True,
                    1e-4,
                    config["differentiate_probability"],
                    config["fisher_rao_method"],
                )
            )
            loss = tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(
                    labels=batch_labels, logits=logits
                )
            )
            loss += config["fisher_rao_lambda"] * regularizer
            optimizer = (
                tf.compat.v1.train.AdamOptimizer(config["learning_rate"])
                if config["optimizer"] == "adam"
                else tf.compat.v1.train.GradientDescentOptimizer(
                    config["learning_rate"]
                )
            )
            update = optimizer.minimize(loss)
            with tf.compat.v1.variable_scope("model", reuse=True):
                train_logits = model.make_logits(inputs[:train_size], config)
            train_loss = tf.reduce_mean(
                tf.nn.softmax_cross_entropy_with_logits(
                    labels=labels[:train_size], logits=train_logits
                )
            )
            with tf.compat.v1.Session() as session:
                session.run(tf.compat.v1.global_variables_initializer())
                regularizers = []
                for index in range(num_steps):
                    regularizers.append(
                        session.run(regularizer, {step: index})
                    )
                    session.run(update, {step: index})
                return regularizers, session.run(train_loss)

    def test_loop_matches_one_call_per_step(self):
        # With lambda = 0 nothing but the explicit control dependencies keeps
        # the update from overwriting the weights before the regularizer's
        # extra pass reads them.
        for optimizer, lambda_ in (("sgd", 0.0), ("adam", 0.5)):
            config = helpers.small_config(
                self.get_temp_dir(),
                train_steps=4,
                eval_steps=4,
                optimizer=optimizer,
                learning_rate=0.01,
                fisher_rao_lambda=lambda_,
                fisher_rao_method="forward",
            )
            results = training.run_experiment(config).results
            regularizers, train_loss = self.reference_run(config, 4)
            with self.subTest(optimizer=optimizer):
                self.assertAllClose(
                    results["regularizer_loss"],
                    regularizers,
                    rtol=1e-3,
                    atol=0,
                )
                self.assertAllClose(
                    results["train_loss"][-1], train_loss, rtol=1e-5, atol=0
                )


if __name__ == "__main__":
    tf.test.main()
