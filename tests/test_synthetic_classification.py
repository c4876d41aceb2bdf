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
"""Tests of synthetic_classification.py: its command line and main.

The script runs as a user runs it, in a fresh Python from another
directory; its flags are parsed in-process for the refusals. The training
itself is tested in test_training.py.
"""

import contextlib
import datetime
import glob
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from unittest import mock

import helpers
import tensorflow as tf
from absl import app

import synthetic_classification as sc
from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import data, results_io, training, training_flags

SCRIPT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "synthetic_classification.py",
)
FLAGS = sc.FLAGS
SMALL_FLAGS = [
    f"--{key}={value}" for key, value in helpers.SMALL_TRAINING.items()
]


def run_script(*args):
    """Runs the training script in a fresh Python, from another directory;
    returns the process."""
    return subprocess.run(
        [sys.executable, SCRIPT, *args],
        cwd=tempfile.gettempdir(),
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


class ScriptRunTest(tf.test.TestCase):
    """One short run of the script as a user runs it, in a fresh Python,
    into an output directory holding a dead writer's temporary."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.output_dir = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.output_dir)
        cls.summary_dir = os.path.join(cls.output_dir, "summaries")
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        cls.stale = os.path.join(
            cls.output_dir, f".tmp-{socket.gethostname()}-{dead.pid}-k1.json"
        )
        with open(cls.stale, "w"):
            pass
        cls.process = run_script(
            *SMALL_FLAGS,
            "--regularization_norm=fre",
            f"--output_dir={cls.output_dir}",
            f"--summary_dir={cls.summary_dir}",
        )

    def test_run_writes_a_strict_json_results_file_of_the_documented_shape(
        self,
    ):
        output_dir, summary_dir, process = (
            self.output_dir,
            self.summary_dir,
            self.process,
        )
        self.assertEqual(process.returncode, 0, process.stderr)
        self.assertIn("step 120/120", process.stderr)
        self.assertIn("steps/s", process.stderr)
        (path,) = glob.glob(os.path.join(output_dir, "*.json"))
        results = helpers.read_strict_json(path)
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
        expected_hparams = experiment_config.resolve_config(
            dict(
                helpers.small_config(output_dir),
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

    def test_a_stale_temporary_is_removed_by_the_next_run(self):
        self.assertEqual(self.process.returncode, 0, self.process.stderr)
        self.assertFalse(os.path.exists(self.stale))
        self.assertLen(glob.glob(os.path.join(self.output_dir, "*.json")), 1)


class CommandLineTest(tf.test.TestCase):
    """The script's stops and refusals, as a user meets them."""

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
        results = helpers.read_strict_json(path)
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
                SCRIPT,
                *SMALL_FLAGS,
                "--train_steps=100000000",
                "--eval_steps=100000000",
                f"--output_dir={output_dir}",
            ],
            cwd=tempfile.gettempdir(),
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
        results = helpers.read_strict_json(path)
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
                    training,
                    "run_experiment",
                    side_effect=AssertionError("trained"),
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


class FlagsTest(tf.test.TestCase):
    BAD_FLAGS = helpers.BAD_TRAINING_FLAGS

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
            (
                ["--architecture=cnn"],
                "--architecture=cnn is not allowed with --dataset=synthetic: "
                "its inputs are not sequences (it allows --architecture=mlp).",
            ),
            (
                ["--architecture=cnn", "--dataset=digits"],
                "--architecture=cnn is not allowed with --dataset=digits",
            ),
            (
                ["--dataset=mnist1d", "--train_size=4500"],
                "--train_size=4500 is more than the 4000 training examples "
                "of mnist1d.",
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
            ["--dataset=mnist1d", "--architecture=cnn"],
        ):
            self.assertEqual(refusal_of(*args)[0], 0)

    def test_help_lists_every_flag(self):
        help_text = FLAGS.module_help(sc)
        for key in experiment_config.CONFIG_KEYS:
            self.assertRegex(help_text, rf"--(\[no\])?{key}:")

    def test_the_docs_flag_table_lists_every_flag(self):
        path = os.path.join(os.path.dirname(SCRIPT), "docs", "training.md")
        with open(path) as docs:
            rows = [line for line in docs if line.startswith("| `--")]
        self.assertEqual(
            [row.split("`")[1] for row in rows],
            [f"--{key}" for key in experiment_config.CONFIG_KEYS],
        )

    def test_flags_are_the_configuration_with_its_defaults(self):
        # Generated from the configuration's schema: nothing to drift.
        self.assertEqual(
            FLAGS.find_module_defining_flag("dataset"), training_flags.__name__
        )
        for key in experiment_config.CONFIG_KEYS:
            self.assertEqual(
                FLAGS[key].default, experiment_config.DEFAULTS[key], key
            )
        with parsed_flags():
            self.assertEqual(
                training_flags.config_from_flags(FLAGS),
                experiment_config.default_config(),
            )


class MainTest(tf.test.TestCase):
    """main in-process, on parsed flags."""

    def test_identical_runs_never_share_a_file(self):
        output_dir = self.get_temp_dir()
        with parsed_flags(
            *SMALL_FLAGS, "--train_steps=2", f"--output_dir={output_dir}"
        ):
            same_second = datetime.datetime(2026, 1, 2, 3, 4, 5).astimezone()
            with mock.patch.object(training, "_now", return_value=same_second):
                self.assertEqual(sc.main(["synthetic_classification.py"]), 0)
                self.assertEqual(sc.main(["synthetic_classification.py"]), 0)
        paths = sorted(glob.glob(os.path.join(output_dir, "*.json")))
        self.assertLen(paths, 2)
        first, second = (helpers.read_strict_json(path) for path in paths)
        self.assertNotEqual(first.pop("checkpoint"), second.pop("checkpoint"))
        self.assertEqual(first, second)
        self.assertIn("20260102-030405", paths[0])
        self.assertLen(glob.glob(os.path.join(output_dir, "*.ckpt")), 2)

    def test_make_data_is_kept_for_the_2018_users(self):
        # Unresolved sizes take the data set's defaults.
        config = helpers.small_config("unused", num_classes=3)
        with tf.Graph().as_default():
            tensors = sc.make_data(config)
            expected = data.make_data(experiment_config.resolve_config(config))
            with tf.compat.v1.Session() as session:
                (inputs, labels), (expected_inputs, expected_labels) = (
                    session.run([tensors, expected])
                )
        self.assertEqual(inputs.shape, (96, 5))
        self.assertAllEqual(inputs, expected_inputs)
        self.assertAllEqual(labels, expected_labels)


if __name__ == "__main__":
    tf.test.main()
