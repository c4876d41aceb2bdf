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
"""

import functools
import itertools
import os
import shutil
import tempfile
import types

import fisher_rao_reference as ref
import numpy as np
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


# Real runs, each trained once for the whole module: a digits run with label
# noise, a validation split and the standard regularizer, a synthetic one
# without a regularizer (norm None), and one stopped at step 0.
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
}
TRAINED_RUNS = ("digits_fr", "synthetic_none")


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
    num_layers = hparams["num_hidden_layers"] + 2
    params = [
        (
            checkpoint[f"model/dense_{layer}/kernel"].astype(np.float64),
            checkpoint[f"model/dense_{layer}/bias"].astype(np.float64),
        )
        for layer in range(num_layers)
    ]
    inputs, labels = data_of(hparams)
    training_rows = hparams["train_size"] - hparams["validation_size"]
    return types.SimpleNamespace(
        results=results,
        hparams=hparams,
        checkpoint=checkpoint,
        beside_results=beside_results,
        variables=run.variables,
        params=params,
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
            hparams = run.hparams
            widths = (
                [hparams["input_dimension"]]
                + [hparams["layer_width"]] * (hparams["num_hidden_layers"] + 1)
                + [hparams["num_classes"]]
            )
            expected = {}
            for layer, (fan_in, fan_out) in enumerate(
                zip(widths[:-1], widths[1:], strict=True)
            ):
                expected[f"model/dense_{layer}/kernel"] = (fan_in, fan_out)
                expected[f"model/dense_{layer}/bias"] = (fan_out,)
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
            for layer in range(len(widths) - 1):
                bias = run.checkpoint[f"model/dense_{layer}/bias"]
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
                for kernel, bias in run.params
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
            enumerated = enumerated_path_norm(run.params)
            self.assertAllClose(
                enumerated, matrix_path_norm(run.params), rtol=1e-10
            )
            self.assertAllClose(
                final(run, "path_norm"), enumerated, rtol=RTOL, msg=name
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
        self.assertLen(cm.MEASURES, 6)

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


if __name__ == "__main__":
    tf.test.main()
