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
"""Tests of fisher_rao_experiments/data: the sources, splits, label noise.

Expected values are derived independently of the data package: the digits
from scikit-learn's own loader, MNIST-1D from the `mnist1d` package called
here, the synthetic data from the stateless ops the code before the data
sets module used, label noise from its probability law (binomial bounds, a
chi-square test of independence), and a real run's data from its recorded
losses.
"""

import functools
import hashlib
import json
import os
import random
import shutil
import tempfile
from unittest import mock

import numpy as np
import tensorflow as tf
from mnist1d import data as mnist1d_data
from scipy import stats
from sklearn import datasets as sklearn_datasets

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import data, results_io, training

# Tolerance of counts, in binomial standard deviations (plus one count): the
# data are seeded, so a bound met once is met always; 5 sigma makes a
# coincidental pass of a wrong law unlikely and a failure of a right one
# (probability < 1e-6) negligible.
SIGMAS = 5.0


def config_for(**overrides):
    """The default configuration with `overrides`, sizes resolved."""
    return experiment_config.resolve_config(
        dict(experiment_config.default_config(), **overrides)
    )


def data_of(config):
    """make_data(config) evaluated in a new graph: numpy (inputs, labels)."""
    with tf.Graph().as_default():
        tensors = data.make_data(config)
        with tf.compat.v1.Session() as session:
            return session.run(tensors)


@functools.lru_cache(maxsize=1)
def sklearn_digits():
    """scikit-learn's digits as (float32 features / 16, int labels, index).

    `index` maps each image's bytes to its row (the 1797 images are
    distinct).
    """
    bunch = sklearn_datasets.load_digits()
    features = (bunch.data / 16.0).astype(np.float32)
    index = {row.tobytes(): position for position, row in enumerate(features)}
    assert len(index) == len(features)
    return features, bunch.target, index


def digits_rows(inputs):
    """The scikit-learn row of every row of `inputs` (an image of it)."""
    _, _, index = sklearn_digits()
    return np.array(
        [index[row.astype(np.float32).tobytes()] for row in inputs]
    )


def binomial_bound(count, probability):
    return SIGMAS * np.sqrt(count * probability * (1 - probability)) + 1


class DigitsTest(tf.test.TestCase):
    def assert_rows_are_digits(self, inputs, labels):
        """Every row is a distinct digit of sklearn's, /16, with its label."""
        features, targets, _ = sklearn_digits()
        rows = digits_rows(inputs)  # KeyError if a row is no digit.
        self.assertLen(set(rows.tolist()), len(rows))  # No example twice.
        self.assertAllEqual(inputs, features[rows])
        self.assertAllEqual(labels, np.eye(10)[targets[rows]])
        self.assertEqual(inputs.dtype, np.float32)
        self.assertGreaterEqual(inputs.min(), 0.0)
        self.assertLessEqual(inputs.max(), 1.0)
        self.assertEqual(inputs.max(), 1.0)  # Scaled, not merely bounded.
        return rows

    def test_default_sizes_give_the_documented_shapes_of_sklearn_rows(self):
        config = config_for(dataset="digits")
        self.assertEqual(
            (config["input_dimension"], config["num_classes"]), (64, 10)
        )
        inputs, labels = data_of(config)
        total = config["train_size"] + config["test_size"]
        self.assertLessEqual(total, 1797)
        self.assertEqual(inputs.shape, (total, 64))
        self.assertEqual(labels.shape, (total, 10))
        self.assert_rows_are_digits(inputs, labels)

    def test_given_sizes_use_every_example_once(self):
        inputs, labels = data_of(
            config_for(
                dataset="digits",
                train_size=1500,
                validation_size=300,
                test_size=297,
            )
        )
        self.assertEqual(inputs.shape, (1797, 64))
        rows = self.assert_rows_are_digits(inputs, labels)
        self.assertAllEqual(np.sort(rows), np.arange(1797))

    def test_validation_is_taken_out_of_the_training_rows(self):
        # The rows stay train, validation, test: a validation split moves the
        # boundary inside the training rows, it draws no other examples.
        without = data_of(
            config_for(dataset="digits", train_size=400, test_size=200)
        )
        with_validation = data_of(
            config_for(
                dataset="digits",
                train_size=400,
                validation_size=100,
                test_size=200,
            )
        )
        self.assertEqual(with_validation[0].shape, (600, 64))
        for array, other in zip(without, with_validation, strict=True):
            self.assertAllEqual(array, other)

    def test_split_is_seeded(self):
        def rows(seed):
            inputs, labels = data_of(
                config_for(
                    dataset="digits",
                    train_size=300,
                    test_size=100,
                    random_seed=seed,
                )
            )
            return self.assert_rows_are_digits(inputs, labels)

        first, again, other = rows(3), rows(3), rows(4)
        self.assertAllEqual(first, again)
        # Other seed, other split: most rows differ.
        self.assertGreater(np.mean(first != other), 0.9)
        self.assertLess(len(set(first[:300]) & set(other[:300])), 150)

    def test_classes_are_balanced_in_train_and_test(self):
        _, targets, _ = sklearn_digits()
        overall = np.bincount(targets, minlength=10) / len(targets)
        for seed in (1, 2, 3):
            config = config_for(
                dataset="digits", random_seed=seed, validation_size=100
            )
            _, labels = data_of(config)
            training_rows = config["train_size"] - config["validation_size"]
            for split, block in (
                ("train", labels[:training_rows]),
                ("test", labels[config["train_size"] :]),
            ):
                counts = block.sum(axis=0)
                for digit in range(10):
                    self.assertLessEqual(
                        abs(counts[digit] - len(block) * overall[digit]),
                        binomial_bound(len(block), overall[digit]),
                        f"seed {seed}, {split}, digit {digit}",
                    )


def reference_synthetic(seed, num_examples, input_dimension, num_classes):
    """The synthetic data of the code before datasets.py, in a new graph."""
    with tf.Graph().as_default():
        inputs = tf.random.stateless_normal(
            [num_examples, input_dimension], seed=[seed, 0]
        )
        teacher = tf.random.stateless_normal(
            [input_dimension, num_classes], seed=[seed, 1]
        )
        classes = tf.random.stateless_categorical(
            tf.matmul(inputs, teacher), 1, seed=[seed, 2]
        )[:, 0]
        with tf.compat.v1.Session() as session:
            inputs, classes = session.run([inputs, classes])
    return inputs, np.eye(num_classes)[classes]


class SyntheticTest(tf.test.TestCase):
    def test_default_data_are_unchanged(self):
        config = config_for()
        self.assertEqual(config["dataset"], "synthetic")
        self.assertEqual(
            [
                config[key]
                for key in (
                    "train_size",
                    "test_size",
                    "input_dimension",
                    "num_classes",
                    "validation_size",
                    "label_noise",
                )
            ],
            [5000, 1000, 10, 2, 0, 0],
        )
        inputs, labels = data_of(config)
        expected_inputs, expected_labels = reference_synthetic(
            config["random_seed"], 6000, 10, 2
        )
        self.assertAllEqual(inputs, expected_inputs)
        self.assertAllEqual(labels, expected_labels)

    def test_other_sizes_and_a_validation_split_are_unchanged_too(self):
        config = config_for(
            random_seed=11,
            train_size=300,
            test_size=50,
            validation_size=70,
            input_dimension=4,
            num_classes=3,
        )
        inputs, labels = data_of(config)
        expected_inputs, expected_labels = reference_synthetic(11, 350, 4, 3)
        self.assertAllEqual(inputs, expected_inputs)
        self.assertAllEqual(labels, expected_labels)


class LabelNoiseTest(tf.test.TestCase):
    def noisy_and_clean(self, **overrides):
        """(config, noisy data, clean data) of one configuration."""
        config = config_for(**overrides)
        noisy = data_of(config)
        clean = data_of(dict(config, label_noise=0.0))
        return config, noisy, clean

    def assert_noise_law(self, q, **overrides):
        config, (inputs, labels), (clean_inputs, clean_labels) = (
            self.noisy_and_clean(label_noise=q, **overrides)
        )
        num_classes = config["num_classes"]
        training_rows = config["train_size"] - config["validation_size"]
        self.assertAllEqual(inputs, clean_inputs)
        # One-hot labels: zeros and a single one per row.
        self.assertAllEqual(np.unique(labels), [0.0, 1.0])
        self.assertAllEqual(labels.sum(axis=1), np.ones(len(labels)))
        # Validation and test labels untouched.
        self.assertAllEqual(
            labels[training_rows:], clean_labels[training_rows:]
        )
        # About q (K - 1) / K of the training labels changed.
        changed = np.sum(
            np.any(
                labels[:training_rows] != clean_labels[:training_rows], axis=1
            )
        )
        probability = q * (num_classes - 1) / num_classes
        self.assertLessEqual(
            abs(changed - training_rows * probability),
            binomial_bound(training_rows, probability),
            f"q={q}: {changed} of {training_rows} changed",
        )
        return labels[:training_rows], clean_labels[:training_rows]

    def test_about_q_of_the_synthetic_training_labels_change(self):
        for q in (0.1, 0.5, 1.0):
            self.assert_noise_law(
                q,
                train_size=4000,
                validation_size=500,
                test_size=500,
                input_dimension=3,
                num_classes=4,
            )

    def test_about_q_of_the_digits_training_labels_change(self):
        for q in (0.2, 1.0):
            self.assert_noise_law(
                q,
                dataset="digits",
                train_size=1200,
                validation_size=200,
                test_size=597,
            )

    def test_changed_labels_go_uniformly_to_the_other_classes(self):
        noisy, clean = self.assert_noise_law(
            0.5,
            dataset="digits",
            train_size=1500,
            validation_size=100,
            test_size=297,
        )
        noisy, clean = noisy.argmax(axis=1), clean.argmax(axis=1)
        changed = noisy != clean
        # Given a change from class c, the new class is uniform on the 9
        # others: the expected count of new class d sums over c != d.
        from_counts = np.bincount(clean[changed], minlength=10)
        expected = (from_counts.sum() - from_counts) / 9
        observed = np.bincount(noisy[changed], minlength=10)
        self.assertGreater(stats.chisquare(observed, expected).pvalue, 1e-4)

    def test_fully_random_labels_are_uniform_and_independent_of_clean(self):
        noisy, clean = self.assert_noise_law(
            1.0, dataset="digits", train_size=1500, test_size=297
        )
        noisy, clean = noisy.argmax(axis=1), clean.argmax(axis=1)
        counts = np.bincount(noisy, minlength=10)
        for digit in range(10):
            self.assertLessEqual(
                abs(counts[digit] - len(noisy) / 10),
                binomial_bound(len(noisy), 0.1),
            )
        table = np.zeros((10, 10))
        np.add.at(table, (clean, noisy), 1)
        self.assertGreater(stats.chi2_contingency(table).pvalue, 1e-4)
        # Kept labels are a tenth of each clean class, not more.
        for digit in range(10):
            members = clean == digit
            self.assertLessEqual(
                abs(np.sum(noisy[members] == digit) - members.sum() / 10),
                binomial_bound(members.sum(), 0.1),
            )

    def test_zero_noise_is_the_clean_data(self):
        config = config_for(
            dataset="digits", train_size=500, validation_size=50, test_size=100
        )
        inputs, labels = data_of(config)
        features, targets, _ = sklearn_digits()
        rows = digits_rows(inputs)
        self.assertAllEqual(labels, np.eye(10)[targets[rows]])
        config = config_for(train_size=200, test_size=40, validation_size=20)
        self.assertAllEqual(
            data_of(config)[1], reference_synthetic(1, 240, 10, 2)[1]
        )

    def test_noise_is_seeded(self):
        overrides = dict(
            label_noise=0.5, train_size=2000, test_size=100, num_classes=5
        )
        first = data_of(config_for(random_seed=5, **overrides))[1]
        again = data_of(config_for(random_seed=5, **overrides))[1]
        self.assertAllEqual(first, again)
        # Another seed gives another noise pattern (on other clean labels).
        changed = {}
        for seed in (5, 6):
            config = config_for(random_seed=seed, **overrides)
            noisy = data_of(config)[1][:2000]
            clean = data_of(dict(config, label_noise=0.0))[1][:2000]
            changed[seed] = np.any(noisy != clean, axis=1)
        # Independent masks of rate 0.4 agree on about 0.52 of the rows.
        self.assertLess(np.mean(changed[5] == changed[6]), 0.6)


@functools.lru_cache(maxsize=1)
def published_mnist1d():
    """The package's data set at its published defaults, generated here."""
    arguments = mnist1d_data.get_dataset_args()
    return mnist1d_data.make_dataset(arguments)


class Mnist1dTest(tf.test.TestCase):
    """MNIST-1D against the package's own generation (called here)."""

    def test_published_defaults_generate_the_package_split(self):
        generated = data.mnist1d.generate()
        published = published_mnist1d()
        for key in ("x", "y", "x_test", "y_test"):
            self.assertAllEqual(
                generated[key], published[key].astype(generated[key].dtype)
            )
        self.assertEqual(generated["x"].shape, (4000, 40))
        self.assertEqual(generated["x_test"].shape, (1000, 40))
        self.assertEqual(generated["x"].dtype, np.float32)
        self.assertFalse(generated["x"].flags.writeable)

    def test_generating_leaves_the_global_generators_alone(self):
        # The package seeds Python's and numpy's global generators.
        def seeding_make_dataset(arguments):
            random.seed(arguments.seed)
            np.random.seed(arguments.seed)
            return {
                key: np.zeros((2, 40)) if key.startswith("x") else np.zeros(2)
                for key in ("x", "y", "x_test", "y_test")
            }

        random.seed(9)
        np.random.seed(9)
        python_state, numpy_state = random.getstate(), np.random.get_state()
        with mock.patch.object(
            mnist1d_data, "make_dataset", seeding_make_dataset
        ):
            data.mnist1d.generate_uncached()
        self.assertEqual(random.getstate(), python_state)
        self.assertAllEqual(np.random.get_state()[1], numpy_state[1])

    def test_rows_are_seeded_permutations_of_the_package_split(self):
        published = published_mnist1d()
        train_index = {
            row.astype(np.float32).tobytes(): position
            for position, row in enumerate(published["x"])
        }
        test_index = {
            row.astype(np.float32).tobytes(): position
            for position, row in enumerate(published["x_test"])
        }
        self.assertLen(train_index, 4000)  # Distinct signals.
        config = config_for(dataset="mnist1d")
        inputs, labels = data_of(config)
        self.assertEqual(inputs.shape, (5000, 40))
        train_rows = [train_index[row.tobytes()] for row in inputs[:4000]]
        test_rows = [test_index[row.tobytes()] for row in inputs[4000:]]
        # The default sizes: every training and every test example, each
        # once, in the seed's order; labels the package's.
        self.assertCountEqual(train_rows, range(4000))
        self.assertCountEqual(test_rows, range(1000))
        self.assertNotEqual(train_rows[:50], list(range(50)))
        self.assertAllEqual(
            labels.argmax(axis=1),
            np.concatenate(
                [published["y"][train_rows], published["y_test"][test_rows]]
            ),
        )
        # Smaller sizes: subsets, seeded; another seed another subset.
        small = config_for(
            dataset="mnist1d", train_size=300, validation_size=50, test_size=80
        )
        first, again = data_of(small)[0], data_of(small)[0]
        other = data_of(dict(small, random_seed=2))[0]
        self.assertAllEqual(first, again)
        self.assertEqual(first.shape, (380, 40))
        for row in first[:300]:
            self.assertIn(row.tobytes(), train_index)
        for row in first[300:]:
            self.assertIn(row.tobytes(), test_index)
        self.assertNotAllEqual(first, other)

    def test_label_noise_changes_training_labels_only(self):
        config = config_for(
            dataset="mnist1d",
            train_size=1000,
            validation_size=200,
            test_size=300,
            label_noise=0.5,
        )
        noisy = data_of(config)[1]
        clean = data_of(dict(config, label_noise=0.0))[1]
        changed = np.any(noisy != clean, axis=1)
        self.assertFalse(changed[800:].any())
        # About q (K - 1) / K = 0.45 of the 800 training labels.
        self.assertBetween(changed[:800].mean(), 0.35, 0.55)

    def test_parameters_record_the_published_generation(self):
        parameters = data.mnist1d.parameters()
        published = published_mnist1d()
        digest = hashlib.sha256()
        for key in ("x", "y", "x_test", "y_test"):
            array = published[key]
            dtype = np.float32 if key.startswith("x") else np.int64
            digest.update(np.ascontiguousarray(array.astype(dtype)).tobytes())
        self.assertEqual(parameters["sha256"], digest.hexdigest())
        self.assertEqual(parameters["package"], "mnist1d")
        self.assertEqual(parameters["version"], "0.0.2.post1")
        arguments = parameters["arguments"]
        self.assertEqual(
            (
                arguments["num_samples"],
                arguments["train_split"],
                arguments["final_seq_length"],
                arguments["seed"],
            ),
            (5000, 0.8, 40, 42),
        )
        self.assertNotIn("url", arguments)  # Never used: nothing downloads.
        parameters["arguments"]["seed"] = 0  # A copy: the next is intact.
        self.assertEqual(data.mnist1d.parameters()["arguments"]["seed"], 42)
        self.assertIsNone(data.SOURCES["synthetic"].parameters())
        self.assertIsNone(data.SOURCES["digits"].parameters())


class SourcesTest(tf.test.TestCase):
    """The registry and what every source module provides."""

    SIZE_KEYS = ("train_size", "test_size", "input_dimension", "num_classes")

    def test_every_source_follows_the_contract(self):
        self.assertEqual(data.DATASETS, ("synthetic", "digits", "mnist1d"))
        for name, source in data.SOURCES.items():
            with self.subTest(source=name):
                self.assertEqual(source.NAME, name)
                self.assertTrue(source.DESCRIPTION)
                self.assertCountEqual(source.DEFAULT_SIZES, self.SIZE_KEYS)
                self.assertCountEqual(
                    source.TRAINING_DEFAULTS,
                    experiment_config.TRAINING_DEFAULT_KEYS,
                )
                self.assertContainsSubset(
                    source.FIXED_SIZES, source.DEFAULT_SIZES
                )
                self.assertContainsSubset(
                    source.MAX_SIZES, ("train_size", "test_size")
                )
                self.assertIn("mlp", source.ARCHITECTURES)
                for key, limit in source.MAX_SIZES.items():
                    self.assertLessEqual(source.DEFAULT_SIZES[key], limit)
                parameters = source.parameters()
                self.assertEqual(
                    json.loads(json.dumps(parameters, allow_nan=False)),
                    parameters,
                )
                config = config_for(dataset=name)
                experiment_config.validate_config(config)  # Defaults fit.
                if source.NUM_EXAMPLES is not None:
                    self.assertLessEqual(
                        config["train_size"] + config["test_size"],
                        source.NUM_EXAMPLES,
                    )
                inputs, classes = source.make(
                    dict(config, train_size=30, test_size=10)
                )
                self.assertEqual(
                    tuple(inputs.shape), (40, config["input_dimension"])
                )
                self.assertEqual(tuple(classes.shape), (40,))

    def test_splits_are_consecutive_rows_train_validation_test(self):
        config = config_for(train_size=300, validation_size=70, test_size=50)
        self.assertEqual(
            data.split_rows(config),
            {"train": (0, 230), "validation": (230, 300), "test": (300, 350)},
        )
        self.assertEqual(data.num_training_rows(config), 230)
        self.assertEqual(
            data.split_rows(config_for(train_size=64, test_size=32))[
                "validation"
            ],
            (64, 64),
        )

    def test_an_unknown_data_set_is_refused(self):
        with self.assertRaisesRegex(ValueError, "'mnist' is not one of"):
            data.make_data(dict(config_for(), dataset="mnist"))

    def test_data_are_the_specified_shapes_and_one_hot(self):
        config = config_for(
            train_size=64, test_size=32, input_dimension=5, num_classes=3
        )
        inputs, labels = data_of(config)
        self.assertEqual(inputs.shape, (96, 5))
        self.assertEqual(inputs.dtype, np.float32)
        self.assertAllEqual(labels.sum(axis=1), np.ones(96))
        self.assertEqual(set(np.unique(labels)), {0.0, 1.0})
        self.assertGreater(labels.sum(axis=0).min(), 0)


def numpy_logits(params, inputs):
    hidden = inputs.astype(np.float64)
    for layer, (kernel, bias) in enumerate(params):
        hidden = hidden @ kernel + bias
        if layer < len(params) - 1:
            hidden = np.maximum(hidden, 0.0)
    return hidden


def cross_entropy_and_accuracy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return (
        float(np.mean(-np.sum(labels * log_probs, axis=1))),
        float(np.mean(logits.argmax(axis=1) == labels.argmax(axis=1))),
    )


class RebuildRunDataTest(tf.test.TestCase):
    """make_data(hparams) gives the data a real run trained and evaluated on:
    its recorded losses are reproduced from the rebuilt data and the
    checkpoint's weights."""

    def test_recorded_hparams_rebuild_the_runs_data(self):
        output_dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, output_dir)
        config = experiment_config.default_config()
        config.update(
            train_size=120,
            validation_size=30,
            test_size=40,
            label_noise=0.5,
            num_classes=3,
            input_dimension=4,
            num_hidden_layers=0,
            layer_width=5,
            regularization_norm="None",
            train_steps=60,
            eval_steps=60,
            batch_size=16,
            learning_rate=0.1,
            random_seed=3,
            output_dir=output_dir,
        )
        run = training.run_experiment(config, num_threads=1)
        results = results_io.load_results(training.save_run(run, output_dir))
        reader = tf.train.load_checkpoint(results["checkpoint"])
        params = [
            (
                reader.get_tensor(f"model/dense_{layer}/kernel"),
                reader.get_tensor(f"model/dense_{layer}/bias"),
            )
            for layer in range(2)
        ]
        hparams = results["hparams"]
        inputs, labels = data_of(hparams)
        self.assertAllEqual(inputs, data_of(config)[0])
        logits = numpy_logits(params, inputs)
        splits = {
            "train": slice(0, 90),
            "validation": slice(90, 120),
            "test": slice(120, 160),
        }
        for split, rows in splits.items():
            loss, accuracy = cross_entropy_and_accuracy(
                logits[rows], labels[rows]
            )
            self.assertAllClose(
                results[f"{split}_loss"][-1],
                loss,
                rtol=1e-5,
                atol=1e-6,
                msg=split,
            )
            self.assertAllClose(
                results[f"{split}_accuracy"][-1], accuracy, msg=split
            )
        # The training labels are the noisy ones: the clean ones give another
        # loss.
        clean_labels = data_of(dict(hparams, label_noise=0.0))[1]
        self.assertGreater(
            np.sum(np.any(clean_labels[:90] != labels[:90], axis=1)), 10
        )
        clean_loss, _ = cross_entropy_and_accuracy(
            logits[:90], clean_labels[:90]
        )
        self.assertGreater(abs(clean_loss - results["train_loss"][-1]), 1e-3)
        self.assertTrue(os.path.isdir(os.path.dirname(results["checkpoint"])))


if __name__ == "__main__":
    tf.test.main()
