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
"""Tests of fisher_rao_experiments/measures.py, alone and as recorded by runs.

The expected values are computed independently: in numpy from a run's
checkpoint and rebuilt data (SVD, explicit enumeration of paths, numpy's
percentile, the forward-mode MLP of tests/fisher_rao_reference.py), or
derived by hand (a one-unit chain, diagonal matrices, ties, the degree-L
homogeneity of a bias-free ReLU net).

A 1-D convolutional network is checked as the MLP it equals: each
convolution written out as its explicit matrix, built here by loops from
the definition of a strided convolution with TensorFlow's 'SAME' zero
padding (`conv_matrix`), its bias repeated at every output position.
"""

import functools
import itertools
import os
import shutil
import tempfile
import types

import fisher_rao_reference as ref
import numpy as np
import scipy.optimize
import tensorflow as tf

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import data, model, results_io, training
from fisher_rao_experiments import measures as cm

# float32 graph values against float64 numpy ones.
RTOL = 1e-5
FISHER_RAO_RTOL = 1e-4


def evaluate(fetches):
    """Runs `fetches` of the current graph in a new session."""
    with tf.compat.v1.Session() as session:
        session.run(tf.compat.v1.global_variables_initializer())
        return session.run(fetches)


def data_of(config):
    with tf.Graph().as_default():
        return evaluate(data.make_data(config))


def same_padding(length, kernel_size, stride):
    """TensorFlow's 'SAME' padding: `(outputs, left)`.

    ceil(length / stride) outputs; the zero padding needed, (outputs - 1) *
    stride + kernel_size - length (at least 0), split with the extra one on
    the right.
    """
    outputs = -(-length // stride)
    total = max((outputs - 1) * stride + kernel_size - length, 0)
    return outputs, total // 2


def conv_matrix(kernel, input_length, stride):
    """A 1-D convolution as a matrix of its position-major flattened input.

    Output position p, channel o sums kernel[t, i, o] * x[p * stride + t -
    left, i] over taps t and input channels i, positions outside the input
    being zero padding.

    Returns:
      `[input_length * in_channels, outputs * out_channels]`: x_flat @ M is
      the flattened output.
    """
    size, in_channels, out_channels = kernel.shape
    outputs, left = same_padding(input_length, size, stride)
    matrix = np.zeros((input_length * in_channels, outputs * out_channels))
    for position in range(outputs):
        for tap in range(size):
            source = position * stride + tap - left
            if not 0 <= source < input_length:
                continue
            for channel in range(in_channels):
                matrix[
                    source * in_channels + channel,
                    position * out_channels : (position + 1) * out_channels,
                ] = kernel[tap, channel]
    return matrix


def as_mlp(layers):
    """The MLP `(kernel, bias)` pairs a network's layers amount to.

    Args:
      layers: `(kernel, bias, stride, input_length)` per layer (bias None
        for none); 3-D kernels are convolutions.
    """
    params = []
    for kernel, bias, stride, input_length in layers:
        if kernel.ndim == 3:
            matrix = conv_matrix(kernel, input_length, stride)
            positions = matrix.shape[1] // kernel.shape[2]
            bias = None if bias is None else np.tile(bias, positions)
            kernel = matrix
        params.append(
            (kernel, np.zeros(kernel.shape[1]) if bias is None else bias)
        )
    return params


# Real runs, each trained once for the whole module: a digits run with label
# noise, a validation split and the standard regularizer, a synthetic one
# without a regularizer (norm None), one stopped at step 0, and an MNIST-1D
# convolutional network trained with the empirical regularizer.
RUN_CONFIGS = {
    "digits_fr": dict(
        dataset="digits",
        train_size=300,
        validation_size=60,
        test_size=100,
        label_noise=0.3,
        num_hidden_layers=1,
        layer_width=6,
        regularization_norm="fr",
        fisher_rao_lambda=0.01,
        fisher_rao_method="exact",
        optimizer="adam",
        learning_rate=0.01,
        train_steps=300,
        eval_steps=150,
        batch_size=32,
    ),
    "synthetic_none": dict(
        dataset="synthetic",
        train_size=150,
        test_size=50,
        input_dimension=4,
        num_classes=3,
        num_hidden_layers=0,
        layer_width=5,
        regularization_norm="None",
        learning_rate=0.1,
        train_steps=200,
        eval_steps=100,
        batch_size=16,
        random_seed=4,
    ),
    # Stopped by --stop_train_loss at its first evaluation: its checkpoint
    # holds the initial weights, whose biases are zero.
    "synthetic_stopped": dict(
        dataset="synthetic",
        train_size=100,
        validation_size=20,
        test_size=20,
        input_dimension=3,
        num_classes=4,
        label_noise=1.0,
        num_hidden_layers=1,
        layer_width=4,
        regularization_norm="fre",
        fisher_rao_lambda=0.1,
        stop_train_loss=100.0,
        train_steps=50,
        eval_steps=10,
        batch_size=16,
        random_seed=2,
    ),
    "mnist1d_cnn": dict(
        dataset="mnist1d",
        architecture="cnn",
        train_size=120,
        test_size=40,
        conv_layers=2,
        conv_channels=3,
        kernel_size=4,
        conv_stride=3,
        regularization_norm="fre",
        fisher_rao_lambda=0.01,
        fisher_rao_method="exact",
        train_steps=40,
        eval_steps=20,
        batch_size=20,
        random_seed=3,
    ),
}
TRAINED_RUNS = ("digits_fr", "synthetic_none", "mnist1d_cnn")


# Each layer of a run: (name, kernel shape, stride, input length); the
# CNN's by hand: 40 -> 14 -> 5 positions (ceil(n / 3)), 3 channels, then
# 15 features to 10 classes.
def layer_table(hparams):
    if hparams["architecture"] == "cnn":
        return [
            ("conv_0", (4, 1, 3), 3, 40),
            ("conv_1", (4, 3, 3), 3, 14),
            ("dense_0", (15, 10), 1, None),
        ]
    widths = (
        [hparams["input_dimension"]]
        + [hparams["layer_width"]] * (hparams["num_hidden_layers"] + 1)
        + [hparams["num_classes"]]
    )
    return [
        (f"dense_{index}", (fan_in, fan_out), 1, None)
        for index, (fan_in, fan_out) in enumerate(
            zip(widths[:-1], widths[1:], strict=True)
        )
    ]


@functools.lru_cache(maxsize=None)
def trained_run(name):
    """A real run, saved and read back: results, checkpoint, data, params."""
    output_dir = tempfile.mkdtemp()
    try:
        config = dict(
            experiment_config.default_config(),
            output_dir=output_dir,
            **RUN_CONFIGS[name],
        )
        run = training.run_experiment(config, num_threads=1)
        path = training.save_run(run, output_dir)
        results = results_io.load_results(path)
        reader = tf.train.load_checkpoint(results["checkpoint"])
        checkpoint = {
            variable: reader.get_tensor(variable)
            for variable in reader.get_variable_to_shape_map()
        }
        # The checkpoint's directory lies beside the results file.
        checkpoint_directory = os.path.dirname(
            os.path.dirname(results["checkpoint"])
        )
        beside_results = os.path.samefile(
            checkpoint_directory, os.path.dirname(path)
        )
    finally:
        shutil.rmtree(output_dir)
    hparams = results["hparams"]
    layers = [
        (
            checkpoint[f"model/{name}/kernel"].astype(np.float64),
            checkpoint[f"model/{name}/bias"].astype(np.float64),
            stride,
            input_length,
        )
        for name, _, stride, input_length in layer_table(hparams)
    ]
    inputs, labels = data_of(hparams)
    training_rows = hparams["train_size"] - hparams["validation_size"]
    return types.SimpleNamespace(
        results=results,
        hparams=hparams,
        checkpoint=checkpoint,
        beside_results=beside_results,
        variables=run.variables,
        layers=layers,
        params=as_mlp(layers),
        train_inputs=inputs[:training_rows].astype(np.float64),
        train_labels=labels[:training_rows].astype(np.float64),
        clean_train_labels=data_of(dict(hparams, label_noise=0.0))[1][
            :training_rows
        ].astype(np.float64),
    )


def final(run, key):
    return run.results[key][-1]


def enumerated_path_norm(params):
    """Sum over every path of the product of its squared weights.

    A path starts at an input unit or at the constant-1 unit feeding layer l
    (whose weights are the biases of layer l), then goes through one unit of
    every later layer to an output unit.
    """
    total = 0.0
    for start, (kernel, bias) in enumerate(params):
        inputs = list(kernel) if start == 0 else []  # Rows: input units.
        widths = [later.shape[1] for later, _ in params[start + 1 :]]
        for first_weights in inputs + [bias]:
            for units in itertools.product(
                range(len(first_weights)), *(range(w) for w in widths)
            ):
                product = first_weights[units[0]] ** 2
                for offset, (unit, next_unit) in enumerate(
                    zip(units[:-1], units[1:], strict=True)
                ):
                    product *= (
                        params[start + 1 + offset][0][unit, next_unit] ** 2
                    )
                total += product
    return total


def matrix_path_norm(params):
    """The same sum by matrices: each source's squared weights carried
    through the later squared kernels."""
    squares = [(kernel**2, bias**2) for kernel, bias in params]
    total = 0.0
    for start, (kernel, bias) in enumerate(squares):
        carried = bias + (
            np.ones(kernel.shape[0]) @ kernel if start == 0 else 0.0
        )
        for later, _ in squares[start + 1 :]:
            carried = carried @ later
        total += carried.sum()
    return total


def numpy_margins(logits, labels):
    label = labels.argmax(axis=1)
    label_logit = logits[np.arange(len(logits)), label]
    others = logits.copy()
    others[np.arange(len(logits)), label] = -np.inf
    return label_logit - others.max(axis=1)


class RecordedMeasuresTest(tf.test.TestCase):
    """The final recorded measures of real runs against numpy computations
    from their checkpoints and rebuilt training data."""

    def runs(self):
        for name in RUN_CONFIGS:
            yield name, trained_run(name)

    def test_every_measure_is_recorded_at_every_evaluation(self):
        for name, run in self.runs():
            steps = run.results["steps"]
            if name in TRAINED_RUNS:
                train_steps = run.hparams["train_steps"]
                self.assertEqual(steps, [0, train_steps // 2, train_steps])
                self.assertIsNone(run.results["stopped_at_step"])
            else:
                self.assertEqual(steps, [0])
                self.assertEqual(run.results["stopped_at_step"], 0)
            for key in cm.MEASURES:
                values = run.results[key]
                self.assertLen(values, len(steps), f"{name}: {key}")
                self.assertTrue(np.all(np.isfinite(values)), f"{name}: {key}")

    def test_checkpoint_holds_every_variable_by_name_with_its_shape(self):
        for name, run in self.runs():
            expected = {}
            for layer, shape, _, _ in layer_table(run.hparams):
                expected[f"model/{layer}/kernel"] = shape
                expected[f"model/{layer}/bias"] = shape[-1:]
            self.assertEqual(
                {key: value.shape for key, value in run.checkpoint.items()},
                expected,
                name,
            )
            self.assertTrue(run.beside_results, name)
            self.assertCountEqual(run.variables, run.checkpoint)
            for key, value in run.checkpoint.items():
                self.assertAllEqual(value, run.variables[key])
            # Trained: the biases moved from their zero initial values.
            for layer, _, _, _ in layer_table(run.hparams):
                bias = run.checkpoint[f"model/{layer}/bias"]
                if name in TRAINED_RUNS:
                    self.assertGreater(np.abs(bias).max(), 1e-3, name)
                else:
                    self.assertAllEqual(bias, np.zeros_like(bias))

    def test_num_parameters_is_the_checkpoints_size(self):
        for name, run in self.runs():
            size = sum(value.size for value in run.checkpoint.values())
            self.assertEqual(run.results["num_parameters"], size, name)
            self.assertEqual(model.num_parameters(run.hparams), size, name)

    def test_l2_norm(self):
        for name, run in self.runs():
            expected = sum(
                np.sum(kernel**2) + np.sum(bias**2)
                for kernel, bias, _, _ in run.layers
            )
            self.assertAllClose(
                final(run, "l2_norm"), expected, rtol=RTOL, msg=name
            )

    def test_spectral_product(self):
        for name, run in self.runs():
            expected = np.prod(
                [
                    np.linalg.svd(kernel, compute_uv=False).max() ** 2
                    for kernel, _ in run.params
                ]
            )
            self.assertAllClose(
                final(run, "spectral_product"), expected, rtol=RTOL, msg=name
            )

    def test_path_norm_is_the_sum_over_every_path(self):
        for name, run in self.runs():
            expected = matrix_path_norm(run.params)
            if name != "mnist1d_cnn":  # Too many paths to list one by one.
                self.assertAllClose(
                    enumerated_path_norm(run.params), expected, rtol=1e-10
                )
            self.assertAllClose(
                final(run, "path_norm"), expected, rtol=RTOL, msg=name
            )

    def test_depth_normalized_norm_divides_by_the_squared_layer_count(self):
        for name, run in self.runs():
            self.assertAllClose(
                run.results["fisher_rao_norm_depth_normalized"],
                np.array(run.results["fisher_rao_norm"])
                / len(run.layers) ** 2,
                rtol=1e-6,
                msg=name,
            )

    def test_margin_is_the_tenth_percentile_on_the_noisy_training_labels(self):
        for name, run in self.runs():
            logits = ref.mlp_logits(run.params, run.train_inputs)
            margins = numpy_margins(logits, run.train_labels)
            self.assertAllClose(
                final(run, "margin"),
                np.percentile(margins, 10),
                rtol=RTOL,
                atol=1e-5,
                msg=name,
            )
        # The digits run has noisy labels: the clean ones give another margin.
        run = trained_run("digits_fr")
        logits = ref.mlp_logits(run.params, run.train_inputs)
        clean = np.percentile(
            numpy_margins(logits, run.clean_train_labels), 10
        )
        self.assertGreater(abs(clean - final(run, "margin")), 1e-2)

    def test_fisher_rao_norms_match_the_forward_mode_reference(self):
        for name, run in self.runs():
            logits, derivative = ref.mlp_logits_and_derivative(
                run.params, run.train_inputs
            )
            self.assertAllClose(
                final(run, "fisher_rao_norm"),
                ref.regularizer("standard", logits, derivative),
                rtol=FISHER_RAO_RTOL,
                msg=name,
            )
            self.assertAllClose(
                final(run, "empirical_fisher_rao_norm"),
                ref.regularizer(
                    "empirical", logits, derivative, labels=run.train_labels
                ),
                rtol=FISHER_RAO_RTOL,
                msg=name,
            )

    def test_stopped_runs_record_the_loss_they_stopped_at(self):
        for name, run in self.runs():
            if name in TRAINED_RUNS:
                self.assertIsNone(run.results["stopped_at_loss"])
            else:
                self.assertEqual(
                    run.results["stopped_at_loss"], final(run, "train_loss")
                )
                self.assertLessEqual(
                    final(run, "train_loss"), run.hparams["stop_train_loss"]
                )

    def test_stopped_runs_fisher_rao_norms_obey_the_homogeneity_identity(self):
        # The stopped run's biases are zero: z(theta (1 + e)) = (1 + e)^L z
        # for its L = 3 layers, so D log p_k = L (z_k - p.z) (see
        # FisherRaoNormsTest), with no forward-mode reference involved.
        run = trained_run("synthetic_stopped")
        self.assertLen(run.params, 3)
        z = ref.mlp_logits(run.params, run.train_inputs)
        p = ref.softmax(z)
        centered = z - np.sum(p * z, axis=1, keepdims=True)
        self.assertAllClose(
            final(run, "fisher_rao_norm"),
            9 * np.mean(np.sum(p * centered**2, axis=1)),
            rtol=FISHER_RAO_RTOL,
        )
        self.assertAllClose(
            final(run, "empirical_fisher_rao_norm"),
            9 * np.mean(np.sum(run.train_labels * centered, axis=1) ** 2),
            rtol=FISHER_RAO_RTOL,
        )


def constant_layers(params, dtype=tf.float32):
    return [
        (tf.constant(kernel, dtype), tf.constant(bias, dtype))
        for kernel, bias in params
    ]


class PathNormTest(tf.test.TestCase):
    def test_one_unit_chain_by_hand(self):
        # Weights 2, 3, 0.5 and biases 1, -2, 3 along one unit per layer:
        # the paths are x->->->, b1->->, b2->, b3, so the norm is
        # (2*3*.5)^2 + (1*3*.5)^2 + (-2*.5)^2 + 3^2 = 9 + 2.25 + 1 + 9.
        params = [
            (np.array([[2.0]]), np.array([1.0])),
            (np.array([[3.0]]), np.array([-2.0])),
            (np.array([[0.5]]), np.array([3.0])),
        ]
        with tf.Graph().as_default():
            value = evaluate(cm.path_norm(constant_layers(params)))
        self.assertAllClose(value, 21.25, rtol=1e-6)

    def test_two_input_chain_by_hand(self):
        # Inputs x1, x2 -> one unit (weights 1, -2, bias 3) -> one output
        # (weight 2, bias -1): (1*2)^2 + (-2*2)^2 + (3*2)^2 + 1 = 57.
        params = [
            (np.array([[1.0], [-2.0]]), np.array([3.0])),
            (np.array([[2.0]]), np.array([-1.0])),
        ]
        with tf.Graph().as_default():
            value = evaluate(cm.path_norm(constant_layers(params)))
        self.assertAllClose(value, 57.0, rtol=1e-6)

    def test_random_net_against_explicit_paths_and_sign_invariance(self):
        params = ref.random_mlp(3, [3, 4, 5, 2])
        flipped = [(-kernel, -bias) for kernel, bias in params]
        with tf.Graph().as_default():
            value, flipped_value = evaluate(
                [
                    cm.path_norm(constant_layers(params, tf.float64)),
                    cm.path_norm(constant_layers(flipped, tf.float64)),
                ]
            )
        self.assertAllClose(value, enumerated_path_norm(params), rtol=1e-12)
        self.assertAllClose(flipped_value, value, rtol=1e-12)


class SpectralAndL2Test(tf.test.TestCase):
    def test_spectral_product_of_diagonal_matrices(self):
        # ||diag(d)||_2 = max |d_i|, also for rectangular "diagonals".
        kernels = [
            np.diag([3.0, -1.0, 2.0]),
            np.array([[0.5, 0.0, 0.0, 0.0], [0.0, -4.0, 0.0, 0.0]]),
            np.array([[-0.25], [0.0]]),
        ]
        params = [(kernel, np.ones(kernel.shape[1])) for kernel in kernels]
        with tf.Graph().as_default():
            value = evaluate(cm.spectral_product(constant_layers(params)))
        self.assertAllClose(value, 9.0 * 16.0 * 0.0625, rtol=1e-6)

    def test_spectral_product_is_invariant_under_rotations(self):
        rng = np.random.default_rng(0)
        diagonals = [np.array([1.5, -0.5, 0.2]), np.array([-2.0, 1.0, 0.0])]
        params = []
        for diagonal in diagonals:
            left, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            right, _ = np.linalg.qr(rng.normal(size=(3, 3)))
            params.append((left @ np.diag(diagonal) @ right, np.zeros(3)))
        with tf.Graph().as_default():
            value = evaluate(
                cm.spectral_product(constant_layers(params, tf.float64))
            )
        self.assertAllClose(value, 1.5**2 * 2.0**2, rtol=1e-10)

    def test_l2_norm_by_hand(self):
        params = [
            (np.array([[1.0, -2.0]]), np.array([0.5, 0.0])),
            (np.array([[3.0], [0.0]]), np.array([-1.0])),
        ]
        with tf.Graph().as_default():
            value = evaluate(cm.l2_norm(constant_layers(params)))
        self.assertAllClose(value, 1 + 4 + 0.25 + 9 + 1, rtol=1e-6)


def margin_of(logits, labels, dtype=tf.float32, **kwargs):
    with tf.Graph().as_default():
        tensor = cm.margin(
            tf.constant(logits, dtype), tf.constant(labels, dtype), **kwargs
        )
        return evaluate(tensor), tensor.dtype


class MarginTest(tf.test.TestCase):
    # Margins 3-2=1, 5-5=0 (a tie with another class), 2-2=0 (all equal),
    # 1-4=-3 (misclassified), 1-0=1: sorted -3, 0, 0, 1, 1.
    LOGITS = np.array(
        [
            [3.0, 1.0, 2.0],
            [0.0, 5.0, 5.0],
            [2.0, 2.0, 2.0],
            [1.0, 4.0, 0.0],
            [0.0, 0.0, 1.0],
        ]
    )
    LABELS = np.eye(3)[[0, 1, 2, 0, 2]]

    def test_ties_and_misclassified_examples_by_hand(self):
        # The 10th percentile sits at position 0.1 * 4 = 0.4 between -3 and
        # 0: -3 + 0.4 * 3 = -1.8.
        value, _ = margin_of(self.LOGITS, self.LABELS)
        self.assertAllClose(value, -1.8, rtol=1e-6)
        for percentile, expected in (
            (0, -3.0),
            (50, 0.0),
            (75, 1.0),
            (100, 1.0),
            (30, -0.0),
        ):
            value, _ = margin_of(
                self.LOGITS, self.LABELS, percentile=percentile
            )
            self.assertAllClose(value, expected, atol=1e-6, msg=percentile)

    def test_default_percentile_is_the_tenth(self):
        self.assertEqual(cm.MARGIN_PERCENTILE, 10)

    def test_percentiles_interpolate_as_numpy_does(self):
        rng = np.random.default_rng(1)
        cases = []
        with tf.Graph().as_default():
            for count in (1, 2, 3, 5, 10, 11, 37, 100, 1001):
                margins = rng.normal(size=count).astype(np.float32)
                # Two classes, label 0: the margin is z_0 - z_1 = margins.
                logits = tf.constant(
                    np.stack([margins, np.zeros(count, np.float32)], axis=1)
                )
                labels = tf.constant(
                    np.eye(2, dtype=np.float32)[np.zeros(count, int)]
                )
                for percentile in (0, 10, 25, 50, 62.5, 90, 99, 100):
                    cases.append(
                        (
                            f"n={count} p={percentile}",
                            cm.margin(logits, labels, percentile=percentile),
                            np.percentile(
                                margins.astype(np.float64), percentile
                            ),
                        )
                    )
            values = evaluate([tensor for _, tensor, _ in cases])
        for (case, _, expected), value in zip(cases, values, strict=True):
            self.assertAllClose(
                value, expected, rtol=1e-5, atol=1e-6, msg=case
            )

    def test_float64_logits_give_a_float64_margin(self):
        value, dtype = margin_of(self.LOGITS, self.LABELS, tf.float64)
        self.assertEqual(dtype, tf.float64)
        self.assertAllClose(value, -1.8, rtol=1e-12)


def bias_free_logits(kernels, inputs):
    """make_logits of a bias-free ReLU MLP with the given kernels."""

    def make_logits():
        hidden = tf.constant(inputs, tf.float32)
        for layer, kernel in enumerate(kernels):
            weights = tf.compat.v1.get_variable(
                f"kernel_{layer}",
                kernel.shape,
                tf.float32,
                tf.compat.v1.constant_initializer(kernel),
            )
            hidden = tf.matmul(hidden, weights)
            if layer < len(kernels) - 1:
                hidden = tf.nn.relu(hidden)
        return hidden

    return make_logits


class FisherRaoNormsTest(tf.test.TestCase):
    def test_bias_free_net_obeys_the_homogeneity_identity(self):
        # Without biases, z(theta (1 + e)) = (1 + e)^L z for L layers, so
        # D z = L z and D log p_k = L (z_k - p.z) (Liang et al. 2017):
        #   standard  = L^2 mean_i sum_k p_ik (z_ik - p_i.z_i)^2,
        #   empirical = L^2 mean_i (z_iy - p_i.z_i)^2.
        rng = np.random.default_rng(5)
        kernels = [
            rng.normal(0, 0.8, shape).astype(np.float32)
            for shape in ((4, 6), (6, 5), (5, 3))
        ]
        inputs = rng.normal(size=(20, 4)).astype(np.float32)
        labels = np.eye(3)[rng.integers(0, 3, 20)]
        make_logits = bias_free_logits(kernels, inputs)
        with tf.Graph().as_default():
            with tf.compat.v1.variable_scope("net"):
                make_logits()
            logits, norms = cm.fisher_rao_norms(
                make_logits, tf.constant(labels, tf.float32), "net"
            )
            logits, norms = evaluate((logits, norms))
        z = ref.mlp_logits(
            [
                (kernel.astype(np.float64), np.zeros(kernel.shape[1]))
                for kernel in kernels
            ],
            inputs.astype(np.float64),
        )
        self.assertAllClose(logits, z, rtol=1e-5, atol=1e-5)
        p = ref.softmax(z)
        centered = z - np.sum(p * z, axis=1, keepdims=True)
        self.assertAllClose(
            norms["fisher_rao_norm"],
            9 * np.mean(np.sum(p * centered**2, axis=1)),
            rtol=FISHER_RAO_RTOL,
        )
        self.assertAllClose(
            norms["empirical_fisher_rao_norm"],
            9 * np.mean(np.sum(labels * centered, axis=1) ** 2),
            rtol=FISHER_RAO_RTOL,
        )


class AllMeasuresTest(tf.test.TestCase):
    def test_keys_are_the_results_keys(self):
        self.assertEqual(set(cm.MEASURES), set(results_io.MEASURE_KEYS))
        self.assertLen(cm.MEASURES, 7)

    def test_all_measures_on_a_biased_net_match_numpy(self):
        params = [
            (
                kernel.astype(np.float32).astype(np.float64),
                bias.astype(np.float32).astype(np.float64),
            )
            for kernel, bias in ref.random_mlp(9, [3, 5, 4])
        ]
        rng = np.random.default_rng(9)
        inputs = rng.normal(size=(30, 3)).astype(np.float32)
        labels = np.eye(4)[rng.integers(0, 4, 30)].astype(np.float32)

        def make_logits():
            hidden = tf.constant(inputs)
            for layer, (kernel, bias) in enumerate(params):
                with tf.compat.v1.variable_scope(f"dense_{layer}"):
                    kernel = tf.compat.v1.get_variable(
                        "kernel",
                        kernel.shape,
                        tf.float32,
                        tf.compat.v1.constant_initializer(kernel),
                    )
                    bias = tf.compat.v1.get_variable(
                        "bias",
                        bias.shape,
                        tf.float32,
                        tf.compat.v1.constant_initializer(bias),
                    )
                hidden = tf.matmul(hidden, kernel) + bias
                if layer < len(params) - 1:
                    hidden = tf.nn.relu(hidden)
            return hidden

        with tf.Graph().as_default():
            with tf.compat.v1.variable_scope("net"):
                make_logits()
            with tf.compat.v1.variable_scope("net", reuse=True):
                layers = []
                for layer in range(len(params)):
                    with tf.compat.v1.variable_scope(f"dense_{layer}"):
                        layers.append(
                            (
                                tf.compat.v1.get_variable("kernel"),
                                tf.compat.v1.get_variable("bias"),
                            )
                        )
            measures = evaluate(
                cm.all_measures(
                    make_logits, tf.constant(labels), "net", layers
                )
            )
        self.assertEqual(set(measures), set(cm.MEASURES))
        logits, derivative = ref.mlp_logits_and_derivative(
            params, inputs.astype(np.float64)
        )
        expected = {
            "fisher_rao_norm": ref.regularizer("standard", logits, derivative),
            "empirical_fisher_rao_norm": ref.regularizer(
                "empirical", logits, derivative, labels=labels
            ),
            "l2_norm": sum(np.sum(k**2) + np.sum(b**2) for k, b in params),
            "spectral_product": np.prod(
                [np.linalg.norm(k, 2) ** 2 for k, _ in params]
            ),
            "path_norm": enumerated_path_norm(params),
            "margin": np.percentile(numpy_margins(logits, labels), 10),
        }
        for key, value in expected.items():
            self.assertAllClose(
                measures[key], value, rtol=FISHER_RAO_RTOL, atol=1e-6, msg=key
            )


def network(layers, inputs, dtype):
    """make_logits of a ReLU network of `layers`, and its `cm.Layer`s.

    Args:
      layers: `(kernel, bias, stride, input_length)` arrays per layer (bias
        None for none; a 3-D kernel is a convolution, 'SAME' padding).
      inputs: `[batch, length]` array: one input channel if the first layer
        is a convolution.
      dtype: Of the variables and inputs.

    Returns:
      `(make_logits, layer_tensors)`: make_logits builds the network with
      get_variable under the current scope; `layer_tensors()`, called under
      the same scope once the variables exist, gives the `cm.Layer`s.
    """

    def variables():
        made = []
        for index, (kernel, bias, stride, length) in enumerate(layers):
            with tf.compat.v1.variable_scope(f"layer_{index}"):
                made.append(
                    cm.Layer(
                        tf.compat.v1.get_variable(
                            "kernel",
                            kernel.shape,
                            dtype,
                            tf.compat.v1.constant_initializer(kernel),
                        ),
                        None
                        if bias is None
                        else tf.compat.v1.get_variable(
                            "bias",
                            bias.shape,
                            dtype,
                            tf.compat.v1.constant_initializer(bias),
                        ),
                        stride,
                        length,
                    )
                )
        return made

    def make_logits():
        hidden = tf.constant(inputs, dtype)
        if layers[0][0].ndim == 3:
            hidden = hidden[:, :, None]
        built = variables()
        for index, layer in enumerate(built):
            if layer.is_conv:
                hidden = tf.nn.conv1d(
                    hidden, layer.kernel, layer.stride, "SAME"
                )
            else:
                hidden = tf.matmul(
                    tf.reshape(hidden, [-1, layer.kernel.shape[0]]),
                    layer.kernel,
                )
            if layer.bias is not None:
                hidden += layer.bias
            if index < len(built) - 1:
                hidden = tf.nn.relu(hidden)
        return hidden

    def layer_tensors():
        with tf.compat.v1.variable_scope(
            tf.compat.v1.get_variable_scope(), reuse=True
        ):
            return variables()

    return make_logits, layer_tensors


def measures_of(layers, inputs, labels, dtype=tf.float32):
    """`cm.all_measures` of the network of `layers`, evaluated."""
    make_logits, layer_tensors = network(layers, inputs, dtype)
    with tf.Graph().as_default():
        with tf.compat.v1.variable_scope("net"):
            make_logits()
            built = layer_tensors()
        return evaluate(
            cm.all_measures(
                make_logits, tf.constant(labels, dtype), "net", built
            )
        )


def random_cnn(seed, biases=True):
    """A tiny 1-D CNN: length 7 -> conv(k3, s2, 2 ch) -> 4 positions ->
    conv(k2, s1, 3 ch; even kernel: padding 0 left, 1 right) -> 4 -> dense
    12 -> 3 -> dense 3 -> 2 classes. Layers as `network` takes them."""
    rng = np.random.default_rng(seed)
    shapes = [((3, 1, 2), 2, 7), ((2, 2, 3), 1, 4), ((12, 3), 1, None)]
    shapes.append(((3, 2), 1, None))
    return [
        (
            rng.normal(0, 0.7, shape),
            rng.normal(0, 0.5, shape[-1]) if biases else None,
            stride,
            length,
        )
        for shape, stride, length in shapes
    ]


class ConvolutionTest(tf.test.TestCase):
    """Measures of 1-D convolutions against their explicit matrices."""

    # (input length, kernel size, stride, in channels, out channels): odd
    # and even kernels, padding split evenly or not, strides beyond the
    # kernel (skipped inputs), a kernel longer than the input.
    CASES = (
        (7, 3, 2, 1, 2),
        (8, 4, 2, 2, 3),
        (9, 5, 3, 2, 2),
        (6, 2, 1, 3, 1),
        (10, 1, 4, 2, 2),
        (4, 6, 1, 1, 2),
        (40, 5, 2, 1, 4),
    )

    def test_conv_matrix_by_hand(self):
        # Length 4, kernel [a, b, c], stride 2: 2 outputs, padding 1 (0
        # left, 1 right): y0 = a x0 + b x1 + c x2, y1 = a x2 + b x3.
        kernel = np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1)
        self.assertAllEqual(
            conv_matrix(kernel, 4, 2),
            np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0], [0.0, 2.0]]),
        )
        # Stride 1, length 3: padding 1 left, 1 right.
        self.assertAllEqual(
            conv_matrix(kernel, 3, 1),
            np.array([[2.0, 1.0, 0.0], [3.0, 2.0, 1.0], [0.0, 3.0, 2.0]]),
        )

    def test_operator_is_the_explicit_matrix_and_its_norm_the_largest_sv(
        self,
    ):
        rng = np.random.default_rng(7)
        kernels = [
            rng.normal(size=(size, inputs, outputs))
            for _, size, _, inputs, outputs in self.CASES
        ]
        with tf.Graph().as_default():
            layers = [
                cm.Layer(tf.constant(kernel), None, stride, length)
                for kernel, (length, _, stride, _, _) in zip(
                    kernels, self.CASES, strict=True
                )
            ]
            matrices, squared_norms = evaluate(
                (
                    [cm.conv_operator_matrix(layer) for layer in layers],
                    [cm.spectral_product([layer]) for layer in layers],
                )
            )
        for case, kernel, matrix, squared_norm in zip(
            self.CASES, kernels, matrices, squared_norms, strict=True
        ):
            expected = conv_matrix(kernel, case[0], case[2])
            self.assertAllClose(matrix, expected, atol=1e-12, msg=case)
            self.assertAllClose(
                squared_norm,
                np.linalg.svd(expected, compute_uv=False)[0] ** 2,
                rtol=1e-10,
                msg=case,
            )
        # Not the norm of the kernel reshaped to a matrix: a convolution
        # applies it at many positions.
        length, size, stride, inputs, outputs = self.CASES[-1]
        reshaped = np.linalg.norm(kernels[-1].reshape(-1, outputs), 2)
        self.assertGreater(squared_norms[-1], 1.5 * reshaped**2)


class CnnMeasuresTest(tf.test.TestCase):
    def test_every_measure_of_a_biased_cnn_matches_its_explicit_mlp(self):
        layers = random_cnn(11)
        rng = np.random.default_rng(12)
        inputs = rng.normal(size=(9, 7))
        labels = np.eye(2)[rng.integers(0, 2, 9)]
        measures = measures_of(layers, inputs, labels, tf.float64)
        params = as_mlp(layers)
        logits, derivative = ref.mlp_logits_and_derivative(params, inputs)
        standard = ref.regularizer("standard", logits, derivative)
        expected = {
            "fisher_rao_norm": standard,
            "fisher_rao_norm_depth_normalized": standard / 16,
            "empirical_fisher_rao_norm": ref.regularizer(
                "empirical", logits, derivative, labels=labels
            ),
            "l2_norm": sum(
                np.sum(kernel**2) + np.sum(bias**2)
                for kernel, bias, _, _ in layers
            ),
            "spectral_product": np.prod(
                [np.linalg.norm(kernel, 2) ** 2 for kernel, _ in params]
            ),
            "path_norm": enumerated_path_norm(params),
            "margin": np.percentile(numpy_margins(logits, labels), 10),
        }
        self.assertEqual(set(measures), set(expected))
        for key, value in expected.items():
            self.assertAllClose(measures[key], value, rtol=1e-9, msg=key)

    def test_path_norm_of_a_one_channel_cnn_by_hand(self):
        # Length 2, kernel [a, b] (stride 1, padding 0 left, 1 right), bias
        # c: y0 = a x0 + b x1 + c, y1 = a x1 + c; then a dense weight w per
        # position to one output, bias d. Paths: x0-y0 (a w0), x1-y0 (b w0),
        # x1-y1 (a w1), c-y0 (c w0), c-y1 (c w1), d.
        a, b, c, w0, w1, d = 2.0, -1.0, 0.5, 3.0, -2.0, 1.5
        layers = [
            (np.array([a, b]).reshape(2, 1, 1), np.array([c]), 1, 2),
            (np.array([[w0], [w1]]), np.array([d]), 1, None),
        ]
        expected = (
            (a * w0) ** 2
            + (b * w0) ** 2
            + (a * w1) ** 2
            + (c * w0) ** 2
            + (c * w1) ** 2
            + d**2
        )
        make_logits, layer_tensors = network(
            layers, np.zeros((1, 2)), tf.float64
        )
        with tf.Graph().as_default():
            with tf.compat.v1.variable_scope("net"):
                make_logits()
                value = evaluate(cm.path_norm(layer_tensors()))
        self.assertAllClose(value, expected, rtol=1e-12)
        self.assertAllClose(
            enumerated_path_norm(as_mlp(layers)), expected, rtol=1e-12
        )


class DepthNormalizationTest(tf.test.TestCase):
    """Liang et al.'s identity: for a bias-free ReLU network of L + 1
    layers, z(c theta) = c^(L+1) z(theta), so <theta, grad_theta z> = (L + 1)
    z and the standard norm is (L + 1)^2 mean_i Var_{k ~ p_i}(z_ik): the
    depth-normalized norm is that variance, whatever the depth."""

    def check_identity(self, layers, inputs, num_layers):
        labels = np.eye(layers[-1][0].shape[-1])[np.zeros(len(inputs), int)]
        measures = measures_of(layers, inputs, labels, tf.float64)
        z = ref.mlp_logits(as_mlp(layers), inputs)
        p = ref.softmax(z)
        variance = np.mean(
            np.sum(p * (z - np.sum(p * z, axis=1, keepdims=True)) ** 2, 1)
        )
        self.assertAllClose(
            measures["fisher_rao_norm_depth_normalized"],
            variance,
            rtol=1e-13,
            atol=0,
        )
        self.assertAllClose(
            measures["fisher_rao_norm"],
            num_layers**2 * variance,
            rtol=1e-13,
            atol=0,
        )
        return measures, variance

    def test_bias_free_mlp_and_cnn(self):
        rng = np.random.default_rng(3)
        mlp = [
            (rng.normal(0, 0.8, shape), None, 1, None)
            for shape in ((4, 6), (6, 5), (5, 3))
        ]
        self.check_identity(mlp, rng.normal(size=(15, 4)), 3)
        self.check_identity(
            random_cnn(4, biases=False), rng.normal(size=(15, 7)), 4
        )

    def test_the_norm_rises_then_falls_with_confidence(self):
        # Two classes with logit gap d: Var_{k~p}(z_k) = s(d) s(-d) d^2 (s
        # the logistic function), zero at d = 0 and as d grows, largest
        # where d tanh(d / 2) = 2. So the standard norm does not only
        # penalize confidence: past that gap it rewards more of it.
        rng = np.random.default_rng(11)
        hidden = rng.normal(0, 0.8, (4, 6))
        output = rng.normal(0, 0.8, (6, 2))
        inputs = rng.normal(size=(1, 4))
        labels = np.eye(2)[[0]]
        layers = [(hidden, None, 1, None), (output, None, 1, None)]
        (z,) = ref.mlp_logits(as_mlp(layers), inputs)
        unit_gap = abs(z[1] - z[0])
        peak = scipy.optimize.brentq(lambda d: d * np.tanh(d / 2) - 2, 1, 4)
        gaps = (0.5, 1.5, peak, 4.0, 8.0, 16.0)
        norms = []
        for gap in gaps:
            scaled = [
                (hidden, None, 1, None),
                (output * gap / unit_gap, None, 1, None),
            ]
            measures = measures_of(scaled, inputs, labels, tf.float64)
            logistic = 1 / (1 + np.exp(-gap))
            self.assertAllClose(
                measures["fisher_rao_norm_depth_normalized"],
                logistic * (1 - logistic) * gap**2,
                rtol=1e-12,
            )
            norms.append(measures["fisher_rao_norm"])
        rising, falling = np.diff(norms[:3]), np.diff(norms[2:])
        self.assertTrue(np.all(rising > 0) and np.all(falling < 0), norms)
        self.assertLess(norms[-1], norms[0])

    def test_biases_break_the_identity(self):
        rng = np.random.default_rng(5)
        layers = random_cnn(6)
        labels = np.eye(2)[np.zeros(15, int)]
        inputs = rng.normal(size=(15, 7))
        measures = measures_of(layers, inputs, labels, tf.float64)
        z = ref.mlp_logits(as_mlp(layers), inputs)
        p = ref.softmax(z)
        variance = np.mean(
            np.sum(p * (z - np.sum(p * z, axis=1, keepdims=True)) ** 2, 1)
        )
        self.assertGreater(
            abs(measures["fisher_rao_norm_depth_normalized"] / variance - 1),
            1e-3,
        )


if __name__ == "__main__":
    tf.test.main()
