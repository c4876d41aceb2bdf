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
"""Tests of synthetic_classification.py: short real training runs."""

import contextlib
import datetime
import glob
import io
import json
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from unittest import mock

import numpy as np
import tensorflow as tf
from absl import app

import direct_fisher_rao
import synthetic_classification as sc
from fisher_rao_experiments import results_io

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = sc.FLAGS

SMALL = dict(
    train_steps=120,
    eval_steps=50,
    batch_size=16,
    train_size=64,
    test_size=32,
    layer_width=8,
    num_hidden_layers=2,
    input_dimension=5,
    learning_rate=0.05,
)
SMALL_FLAGS = [f"--{key}={value}" for key, value in SMALL.items()]


def small_config(output_dir, **overrides):
    config = sc.default_config()
    config.update(SMALL, output_dir=output_dir)
    config.update(overrides)
    return config


def strict_json_load(path):
    def reject(token):
        raise ValueError(f"non-standard JSON token {token}")

    with open(path) as results_file:
        return json.load(results_file, parse_constant=reject)


def run_script(*args):
    """Runs the training script in a fresh Python; returns the process."""
    return subprocess.run(
        [sys.executable, "synthetic_classification.py", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )


@contextlib.contextmanager
def parsed_flags(*args):
    """Parses the module's flags as the command line `args` would."""
    try:
        FLAGS(["synthetic_classification.py", *args])
        yield
    finally:
        FLAGS.unparse_flags()


def refusal_of(*args):
    """absl's handling of a command line: (exit status, stderr)."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        try:
            app.parse_flags_with_usage(["synthetic_classification.py", *args])
        except SystemExit as exit_:
            return exit_.code, stderr.getvalue()
        finally:
            FLAGS.unparse_flags()
    return 0, stderr.getvalue()


class CommandLineTest(tf.test.TestCase):
    """The script run as a user runs it, in a fresh Python."""

    def test_run_writes_a_strict_json_results_file_of_the_documented_shape(
        self,
    ):
        output_dir = self.get_temp_dir()
        summary_dir = os.path.join(output_dir, "summaries")
        process = run_script(
            *SMALL_FLAGS,
            "--regularization_norm=fre",
            f"--output_dir={output_dir}",
            f"--summary_dir={summary_dir}",
        )
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertIn("step 120/120", process.stderr)
        self.assertIn("steps/s", process.stderr)
        (path,) = glob.glob(os.path.join(output_dir, "*.json"))
        results = strict_json_load(path)
        self.assertCountEqual(results, results_io.RESULTS_KEYS)
        self.assertEqual(results["steps"], [0, 50, 100, 120])
        for key in (
            "train_loss",
            "train_accuracy",
            "test_loss",
            "test_accuracy",
        ):
            self.assertLen(results[key], 4)
        self.assertLen(results["regularizer_loss"], 120)
        for key in ("validation_loss", "validation_accuracy"):
            self.assertEqual(results[key], [None] * 4)  # No validation split.
        expected_hparams = sc.resolve_config(
            dict(
                small_config(output_dir),
                regularization_norm="fre",
                summary_dir=summary_dir,
            )
        )
        start_time = results["hparams"].pop("start_time")
        self.assertEqual(results["hparams"], expected_hparams)
        self.assertEqual(results["hparams"]["train_size"], 64)
        self.assertEqual(results["hparams"]["num_classes"], 2)
        self.assertIsNone(results["stopped_at_step"])
        self.assertEqual(
            results["num_parameters"],
            (5 + 1) * 8 + 2 * (8 + 1) * 8 + (8 + 1) * 2,
        )
        self.assertIn(
            start_time.replace("-", "")
            .replace(":", "")
            .replace("T", "-")[:15],
            os.path.basename(path),
        )
        self.assertIn("synthetic_fre_lambda0_forward", os.path.basename(path))
        self.assertEqual(
            results["checkpoint"], path[: -len(".json")] + ".ckpt/model"
        )
        self.assertEqual(
            sorted(
                tf.train.load_checkpoint(
                    results["checkpoint"]
                ).get_variable_to_shape_map()
            ),
            [
                f"model/dense_{index}/{name}"
                for index in range(4)
                for name in ("bias", "kernel")
            ],
        )
        self.assert_summaries_hold(summary_dir, results)

    def assert_summaries_hold(self, summary_dir, results):
        (events_path,) = glob.glob(os.path.join(summary_dir, "events.*"))
        recorded = {}
        for event in tf.compat.v1.train.summary_iterator(events_path):
            for value in event.summary.value:
                recorded.setdefault(value.tag, {})[event.step] = (
                    value.simple_value
                )
        self.assertEqual(sorted(recorded["test_accuracy"]), results["steps"])
        self.assertAllClose(
            [recorded["train_loss"][step] for step in results["steps"]],
            results["train_loss"],
        )
        self.assertAllClose(
            [recorded["regularizer_loss"][step] for step in range(120)],
            results["regularizer_loss"],
        )

    def test_bad_flags_stop_with_one_line_and_status_1(self):
        for args, flag in [
            (["--batch_size=65", "--train_size=64"], "--batch_size"),
            (["--optimizer=rmsprop"], "--optimizer"),
        ]:
            process = run_script(*args, "--output_dir=/nonexistent/never")
            self.assertEqual(process.returncode, 1, process.stderr)
            self.assertNotIn("Traceback", process.stderr)
            (error_line,) = [
                line
                for line in process.stderr.splitlines()
                if "Flags parsing error" in line
            ]
            self.assertIn(flag, error_line)
        self.assertFalse(os.path.exists("/nonexistent/never"))

    def test_divergence_exits_non_zero_and_keeps_the_results_so_far(self):
        output_dir = self.get_temp_dir()
        process = run_script(
            *SMALL_FLAGS,
            "--learning_rate=1e6",
            "--fisher_rao_lambda=1",
            f"--output_dir={output_dir}",
        )
        self.assertEqual(process.returncode, 1)
        self.assertNotIn("Traceback", process.stderr)
        self.assertRegex(process.stderr, r"Training diverged at step \d+")
        (path,) = glob.glob(os.path.join(output_dir, "*.json"))
        with open(path) as results_file:
            self.assertIn("null", results_file.read())
        results = strict_json_load(path)
        self.assertEqual(results["steps"], [0])
        diverged_step = int(
            process.stderr.split("Training diverged at step ")[1].split(":")[0]
        )
        self.assertLen(results["regularizer_loss"], diverged_step + 1)

    def test_ctrl_c_stops_within_a_second_and_keeps_every_step(self):
        # One evaluation stretch of 10**8 steps: only the session calls'
        # shortness lets Ctrl-C answer, and every finished step is kept.
        output_dir = self.get_temp_dir()
        process = subprocess.Popen(
            [
                sys.executable,
                "synthetic_classification.py",
                *SMALL_FLAGS,
                "--train_steps=100000000",
                "--eval_steps=100000000",
                f"--output_dir={output_dir}",
            ],
            cwd=REPO_ROOT,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        )
        for line in process.stderr:
            if "step 0/" in line:
                break
        time.sleep(1.5)  # Several session calls.
        process.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        stderr = process.stderr.read()
        self.assertEqual(process.wait(timeout=60), 130, stderr)
        self.assertLess(time.monotonic() - signalled, 3.0)
        self.assertIn("Training interrupted at step", stderr)
        self.assertNotIn("Traceback", stderr)
        (path,) = glob.glob(os.path.join(output_dir, "*.json"))
        results = strict_json_load(path)
        first, last_step = results["steps"]
        self.assertEqual(first, 0)
        self.assertGreater(last_step, 100)
        self.assertLen(results["regularizer_loss"], last_step)
        self.assertLen(results["test_loss"], 2)
        self.assertLen(results["fisher_rao_norm"], 2)
        self.assertIsNotNone(results["train_loss"][-1])

    def test_unwritable_output_is_refused_before_any_training(self):
        directory = self.get_temp_dir()
        a_file = os.path.join(directory, "a_file")
        with open(a_file, "w"):
            pass
        # As a user runs it: one line, status 1, no step taken.
        process = run_script(
            *SMALL_FLAGS, "--train_steps=100000000", f"--output_dir={a_file}"
        )
        self.assertEqual(process.returncode, 1, process.stderr)
        self.assertNotIn("Traceback", process.stderr)
        (line,) = process.stderr.strip().splitlines()
        self.assertEqual(
            line,
            f"synthetic_classification.py: error: "
            f"--output_dir={a_file} is a file, not a "
            f"directory.",
        )
        # The other refusals, through main, which must not train.
        results = os.path.join(directory, "results")
        for flag, path in [
            ("output_dir", os.path.join(a_file, "below")),
            ("summary_dir", os.path.join(a_file, "sums")),
        ]:
            with (
                self.subTest(flag=flag),
                parsed_flags(
                    *SMALL_FLAGS, f"--output_dir={results}", f"--{flag}={path}"
                ),
                mock.patch.object(
                    sc, "run_experiment", side_effect=AssertionError("trained")
                ),
            ):
                with self.assertRaises(SystemExit) as caught:
                    sc.main(["synthetic_classification.py"])
                self.assertEqual(
                    caught.exception.code,
                    f"synthetic_classification.py: error: --{flag}={path} "
                    f"cannot be created: a part of the path is a file.",
                )
        self.assertFalse(glob.glob(os.path.join(results, "*.json")))

    def test_a_stale_temporary_is_removed_by_the_next_run(self):
        output_dir = self.get_temp_dir()
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        stale = os.path.join(
            output_dir, f".tmp-{socket.gethostname()}-{dead.pid}-k1.json"
        )
        with open(stale, "w"):
            pass
        process = run_script(
            *SMALL_FLAGS, "--train_steps=2", f"--output_dir={output_dir}"
        )
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertFalse(os.path.exists(stale))
        self.assertLen(glob.glob(os.path.join(output_dir, "*.json")), 1)


class FlagsTest(tf.test.TestCase):
    BAD_FLAGS = [
        ("regularization_norm", "l2"),
        ("fisher_rao_method", "backward"),
        ("optimizer", "rmsprop"),
        ("fisher_rao_lambda", "-0.1"),
        ("fisher_rao_lambda", "nan"),
        ("fisher_rao_lambda", "inf"),
        ("learning_rate", "0"),
        ("learning_rate", "-1"),
        ("learning_rate", "inf"),
        ("train_steps", "0"),
        ("eval_steps", "0"),
        ("batch_size", "0"),
        ("train_size", "0"),
        ("test_size", "0"),
        ("num_hidden_layers", "-1"),
        ("layer_width", "0"),
        ("input_dimension", "0"),
        ("num_classes", "1"),
        ("random_seed", "-1"),
        ("output_dir", ""),
        ("dataset", "mnist"),
        ("label_noise", "-0.1"),
        ("label_noise", "1.5"),
        ("weight_decay", "-1"),
        ("weight_decay", "nan"),
        ("validation_size", "-1"),
        ("stop_train_loss", "-1"),
        ("stop_train_loss", "inf"),
    ]

    def test_every_bad_flag_is_refused_by_name_with_status_1(self):
        for name, value in self.BAD_FLAGS:
            with self.subTest(flag=name, value=value):
                status, stderr = refusal_of(f"--{name}={value}")
                self.assertEqual(status, 1)
                self.assertIn(f"--{name}", stderr)
                self.assertNotIn("Traceback", stderr)

    def test_batch_larger_than_training_set_is_refused(self):
        status, stderr = refusal_of("--batch_size=100", "--train_size=99")
        self.assertEqual(status, 1)
        self.assertIn(
            "--batch_size=100 is not allowed: must be <= "
            "--train_size - --validation_size = 99",
            stderr,
        )
        status, stderr = refusal_of(
            "--batch_size=64", "--train_size=100", "--validation_size=40"
        )
        self.assertEqual(status, 1)
        self.assertIn(
            "--batch_size=64 is not allowed: must be <= "
            "--train_size - --validation_size = 60",
            stderr,
        )

    def test_sizes_that_do_not_fit_the_data_are_refused_in_one_line(self):
        for args, message in [
            (
                ["--validation_size=64", "--train_size=64"],
                "--validation_size=64 is not allowed: must be < "
                "--train_size=64",
            ),
            (
                ["--dataset=digits", "--input_dimension=10"],
                "--input_dimension=10 is not allowed with --dataset=digits: "
                "the data set's is 64 (leave it unset).",
            ),
            (
                ["--dataset=digits", "--num_classes=2"],
                "--num_classes=2 is not allowed with --dataset=digits",
            ),
            (
                ["--dataset=digits", "--train_size=1500"],
                "--train_size=1500 plus --test_size=597 is 2097, more than "
                "the 1797 examples of digits.",
            ),
        ]:
            with self.subTest(args=args):
                status, stderr = refusal_of(*args)
                self.assertEqual(status, 1)
                self.assertIn(message, stderr)
                self.assertNotIn("Traceback", stderr)
        for args in (
            [
                "--dataset=digits",
                "--input_dimension=64",
                "--num_classes=10",
                "--train_size=1200",
                "--test_size=597",
            ],
        ):
            self.assertEqual(refusal_of(*args)[0], 0)

    def test_validate_config_refuses_what_the_flags_refuse(self):
        for name, value in self.BAD_FLAGS:
            try:
                parsed = FLAGS[name].parser.parse(value)
            except ValueError:  # The enums' parsers refuse by themselves.
                parsed = value
            config = dict(sc.default_config(), **{name: parsed})
            with self.subTest(flag=name, value=value):
                with self.assertRaisesRegex(ValueError, name):
                    sc.validate_config(config)
        config = dict(sc.default_config(), batch_size=10, train_size=9)
        with self.assertRaisesRegex(
            ValueError, "batch_size=10.*train_size - validation_size = 9"
        ):
            sc.validate_config(config)
        config = dict(sc.default_config(), dataset="digits", test_size=1000)
        with self.assertRaisesRegex(
            ValueError,
            "train_size=1000 plus "
            "test_size=1000 is 2000, more than the "
            "1797 examples of digits",
        ):
            sc.validate_config(config)

    def test_validate_config_refuses_missing_unknown_and_mistyped_keys(self):
        config = sc.default_config()
        del config["num_classes"]
        with self.assertRaisesRegex(ValueError, "num_classes"):
            sc.validate_config(config)
        with self.assertRaisesRegex(ValueError, "colour"):
            sc.validate_config(dict(sc.default_config(), colour="red"))
        with self.assertRaisesRegex(ValueError, "train_steps"):
            sc.validate_config(dict(sc.default_config(), train_steps=10.5))
        with self.assertRaisesRegex(ValueError, "differentiate_probability"):
            sc.validate_config(
                dict(sc.default_config(), differentiate_probability="no")
            )

    def test_help_lists_every_flag(self):
        help_text = FLAGS.module_help(sc)
        for key in sc.CONFIG_KEYS:
            self.assertRegex(help_text, rf"--(\[no\])?{key}:")

    def test_defaults_are_the_documented_ones(self):
        sc.validate_config(sc.default_config())
        self.assertEqual(
            sc.default_config(),
            {
                "dataset": "synthetic",
                "regularization_norm": "fr",
                "fisher_rao_lambda": 0.0,
                "differentiate_probability": True,
                "fisher_rao_method": "forward",
                "weight_decay": 0.0,
                "optimizer": "sgd",
                "learning_rate": 1e-3,
                "train_steps": 100001,
                "eval_steps": 2000,
                "stop_train_loss": None,
                "batch_size": 64,
                "train_size": None,
                "validation_size": 0,
                "test_size": None,
                "label_noise": 0.0,
                "num_hidden_layers": 3,
                "layer_width": 10,
                "random_seed": 1,
                "input_dimension": None,
                "num_classes": None,
                "output_dir": results_io.DEFAULT_RESULTS_DIR,
                "summary_dir": None,
            },
        )
        synthetic = sc.resolve_config(sc.default_config())
        digits = sc.resolve_config(dict(sc.default_config(), dataset="digits"))
        for resolved, sizes in (
            (synthetic, (5000, 1000, 10, 2)),
            (digits, (1000, 597, 64, 10)),
        ):
            self.assertEqual(
                tuple(
                    resolved[key]
                    for key in (
                        "train_size",
                        "test_size",
                        "input_dimension",
                        "num_classes",
                    )
                ),
                sizes,
            )

    def test_command_for_config_round_trips(self):
        config = small_config(
            "/tmp/a dir/with 'quotes'",
            regularization_norm="None",
            fisher_rao_lambda=0.1 + 0.2,
            differentiate_probability=False,
            fisher_rao_method="exact",
            optimizer="adam",
            summary_dir="/tmp/summaries",
        )
        for expected in (config, sc.default_config()):
            arguments = shlex.split(sc.command_for_config(expected))
            self.assertEqual(
                arguments[:2], ["python3", "synthetic_classification.py"]
            )
            with parsed_flags(*arguments[2:]):
                self.assertEqual(sc.config_from_flags(), expected)


class TrainingTest(tf.test.TestCase):
    """Short runs through run_experiment."""

    def run_small(self, **overrides):
        return sc.run_experiment(
            small_config(self.get_temp_dir(), **overrides)
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
        config = small_config(
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
        run = sc.run_experiment(config)
        results = run.results
        with tf.Graph().as_default():
            inputs, labels = sc.make_data(results["hparams"])
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

    def test_stop_train_loss_stops_at_the_first_evaluation_below_it(self):
        full = self.run_small(
            optimizer="adam",
            learning_rate=0.05,
            train_steps=300,
            eval_steps=25,
        )
        threshold = full["train_loss"][5]  # Reached at step 125.
        first_below = next(
            index
            for index, loss in enumerate(full["train_loss"])
            if loss <= threshold
        )
        stopped = self.run_small(
            optimizer="adam",
            learning_rate=0.05,
            train_steps=300,
            eval_steps=25,
            stop_train_loss=threshold,
        )
        stop_step = full["steps"][first_below]
        self.assertEqual(stopped["steps"], full["steps"][: first_below + 1])
        self.assertEqual(stopped["stopped_at_step"], stop_step)
        self.assertLen(stopped["regularizer_loss"], stop_step)
        self.assertTrue(results_io.is_complete(stopped))
        self.assertIsNone(full["stopped_at_step"])
        never = self.run_small(train_steps=50, stop_train_loss=0.0)
        self.assertIsNone(never["stopped_at_step"])
        self.assertEqual(never["steps"][-1], 50)

    def test_weight_decay_adds_twice_its_factor_times_the_kernels(self):
        # One SGD step: W1(c) = W1(0) - learning_rate * 2 c W0 for kernels;
        # biases are not decayed.
        config = small_config(
            self.get_temp_dir(),
            train_steps=1,
            eval_steps=1,
            regularization_norm="None",
        )
        graph = sc._TrainingGraph(sc.resolve_config(config))
        with tf.compat.v1.Session(graph=graph.graph) as session:
            session.run(graph.initializer)
            initial = sc._values_by_name(session, graph.model_variables)
        plain = sc.run_experiment(config).variables
        decayed = sc.run_experiment(dict(config, weight_decay=0.5)).variables
        for name, value in initial.items():
            expected = plain[name] - (
                config["learning_rate"] * 2 * 0.5 * value
                if "kernel" in name
                else 0
            )
            self.assertAllClose(decayed[name], expected, atol=1e-6, msg=name)

    def test_divergence_raises_with_the_step_and_the_results_so_far(self):
        with self.assertRaises(sc.TrainingDivergedError) as caught:
            self.run_small(learning_rate=1e6)
        error = caught.exception
        self.assertIn(f"step {error.step}", str(error))
        self.assertLen(error.results["regularizer_loss"], error.step + 1)
        self.assertEqual(error.results["steps"], [0])

    def test_divergence_in_the_last_step_is_reported(self):
        # The loss of step 0 is finite; the update of that last step makes
        # the weights overflow, which only the evaluation after it sees.
        with self.assertRaises(sc.TrainingDivergedError) as caught:
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
        run_chunk = sc._Trainer._run_chunk

        def interrupt_second_chunk(trainer, step, next_step):
            if step > 0:
                raise KeyboardInterrupt
            run_chunk(trainer, step, next_step)

        with mock.patch.object(
            sc._Trainer, "_run_chunk", interrupt_second_chunk
        ):
            with self.assertRaises(sc.TrainingInterrupted) as caught:
                self.run_small()
        results = caught.exception.results
        self.assertEqual(results["steps"], [0, 50])
        self.assertLen(results["test_accuracy"], 2)
        self.assertLen(results["regularizer_loss"], 50)

    def test_identical_runs_never_share_a_file(self):
        output_dir = self.get_temp_dir()
        with parsed_flags(
            *SMALL_FLAGS, "--train_steps=2", f"--output_dir={output_dir}"
        ):
            same_second = datetime.datetime(2026, 1, 2, 3, 4, 5).astimezone()
            with mock.patch.object(sc, "_now", return_value=same_second):
                self.assertEqual(sc.main(["synthetic_classification.py"]), 0)
                self.assertEqual(sc.main(["synthetic_classification.py"]), 0)
        paths = sorted(glob.glob(os.path.join(output_dir, "*.json")))
        self.assertLen(paths, 2)
        first, second = (strict_json_load(path) for path in paths)
        self.assertNotEqual(first.pop("checkpoint"), second.pop("checkpoint"))
        self.assertEqual(first, second)
        self.assertIn("20260102-030405", paths[0])
        self.assertLen(glob.glob(os.path.join(output_dir, "*.ckpt")), 2)

    def test_batches_cover_the_training_set_once_per_epoch(self):
        config = small_config("unused", batch_size=24, train_size=60)
        with tf.Graph().as_default():
            step = tf.compat.v1.placeholder(tf.int64, [])
            rows = sc.batch_indices(step, config)
            with tf.compat.v1.Session() as session:
                batches = [
                    session.run(rows, {step: index}) for index in range(10)
                ]
        order = np.concatenate(batches)  # 240 rows: 4 epochs of 60.
        epochs = order.reshape(4, 60)
        for epoch in epochs:
            self.assertCountEqual(epoch, range(60))
        self.assertNotAllEqual(epochs[0], epochs[1])

    def test_data_are_the_specified_shapes_and_one_hot(self):
        config = small_config("unused", num_classes=3)
        with tf.Graph().as_default():
            inputs, labels = sc.make_data(config)
            with tf.compat.v1.Session() as session:
                inputs, labels = session.run([inputs, labels])
        self.assertEqual(inputs.shape, (96, 5))
        self.assertAllEqual(labels.sum(axis=1), np.ones(96))
        self.assertEqual(set(np.unique(labels)), {0.0, 1.0})
        self.assertGreater(labels.sum(axis=0).min(), 0)


class LoopWiringTest(tf.test.TestCase):
    """The in-graph loop does what one session call per step would do."""

    def reference_run(self, config, num_steps):
        """Regularizer values and final training loss, one step per call.

        Built without the module's loop: the library's regularizer on the
        same batches and initial weights, and the optimizer stepped by hand.
        """
        with tf.Graph().as_default():
            tf.compat.v1.random.set_random_seed(config["random_seed"])
            inputs, labels = sc.make_data(config)
            train_size = config["train_size"]
            step = tf.compat.v1.placeholder(tf.int64, [])
            rows = sc.batch_indices(step, config)
            batch_inputs = tf.gather(inputs[:train_size], rows)
            batch_labels = tf.gather(labels[:train_size], rows)
            logits, regularizer = (
                direct_fisher_rao.make_standard_fisher_regularizer(
                    lambda: sc.make_logits(batch_inputs, config),
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
                train_logits = sc.make_logits(inputs[:train_size], config)
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
            config = small_config(
                self.get_temp_dir(),
                train_steps=4,
                eval_steps=4,
                optimizer=optimizer,
                learning_rate=0.01,
                fisher_rao_lambda=lambda_,
                fisher_rao_method="forward",
            )
            results = sc.run_experiment(config).results
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
