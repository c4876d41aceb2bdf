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
"""Tests of the sweep: fisher_rao_experiments/sweep.py, experiments/sweep.py.

On a tiny grid, on real Dask clusters. The grid is 2 norms (None, fr) x 2
lambdas x 2 seeds; None ignores lambda, so it has 6 configurations. It runs
on the sweep's embedded local cluster of 2 workers, and once more on a
`dask scheduler` and a `dask worker` started as separate processes on
127.0.0.1, outside the repository and without PYTHONPATH.
"""

import contextlib
import functools
import glob
import io
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import distributed
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from absl import app, flags
from absl.testing import flagsaver

from experiments import sweep as sweep_command
from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import results_io, runs, sweep
from fisher_rao_experiments.analysis import (
    drawing,
    final_value_plots,
    grouping,
    loading,
)

FLAGS = flags.FLAGS

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Small enough that a run takes about a second.
TINY_TRAINING = {
    "train_size": 64,
    "test_size": 64,
    "batch_size": 32,
    "num_hidden_layers": 1,
    "layer_width": 8,
    "train_steps": 201,
    "eval_steps": 100,
}
NORMS, LAMBDAS, SEEDS = ("None", "fr"), (0.0, 0.01), (1, 2)
# The grid, written out: None once per seed, fr once per lambda and seed.
GRID_POINTS = {
    (norm, fisher_rao_lambda, seed)
    for seed in SEEDS
    for norm, fisher_rao_lambda in (("None", 0.0), ("fr", 0.0), ("fr", 0.01))
}
DIVERGING_LEARNING_RATE = 1e6
DIVERGING_LAMBDA = 1e9
HPARAMS_NOT_COMPARED = ("start_time", "output_dir")


def sweep_arguments(output_dir, **extra_flags):
    """Command-line arguments of the tiny sweep writing to `output_dir`."""
    arguments = {
        "regularization_norms": ",".join(NORMS),
        "fisher_rao_lambdas": ",".join(map(str, LAMBDAS)),
        "random_seeds": ",".join(map(str, SEEDS)),
        "output_dir": output_dir,
        **TINY_TRAINING,
        **extra_flags,
    }
    return [f"--{name}={value}" for name, value in arguments.items()]


def run_sweep_main(arguments):
    """Runs sweep.main with `arguments` parsed; returns (status, stdout)."""
    stdout = io.StringIO()
    with flagsaver.flagsaver(), contextlib.redirect_stdout(stdout):
        argv = FLAGS(["sweep.py", *arguments])
        status = sweep_command.main(argv)
    return status, stdout.getvalue()


def tiny_config(output_dir, **overrides):
    return experiment_config.resolve_config(
        dict(
            experiment_config.default_config(),
            **TINY_TRAINING,
            output_dir=output_dir,
            **overrides,
        )
    )


# Runs the training script's main on each command line read from stdin, in a
# process of its own where, as on the workers, the package sets TensorFlow's
# environment before TensorFlow is imported (it chooses TensorFlow's kernels).
_RUN_TRAINING_SCRIPT = """
import shlex, sys
import synthetic_classification as script
for command in sys.stdin.read().splitlines():
    assert script.main(script.FLAGS(shlex.split(command)[1:])) == 0
"""


@functools.lru_cache(maxsize=None)
def direct_results():
    """Results of the training script run directly on every grid point.

    Returns:
      {grid point: results of the script's results file}, for the commands
      --print_commands prints.
    """
    directory = _REFERENCE_DIRECTORY.name
    _, commands = run_sweep_main(
        sweep_arguments(directory, print_commands=True)
    )
    subprocess.run(
        [sys.executable, "-c", _RUN_TRAINING_SCRIPT],
        input=commands,
        text=True,
        cwd=REPOSITORY_ROOT,
        check=True,
        capture_output=True,
    )
    all_results = [
        results_io.load_results(path) for path in results_files(directory)
    ]
    return {grid_point(results["hparams"]): results for results in all_results}


_REFERENCE_DIRECTORY = tempfile.TemporaryDirectory()


def without_unrecorded_keys(hparams):
    return {
        key: value
        for key, value in hparams.items()
        if key not in HPARAMS_NOT_COMPARED
    }


def grid_point(hparams):
    return (
        hparams["regularization_norm"],
        hparams["fisher_rao_lambda"],
        hparams["random_seed"],
    )


def results_files(directory):
    return sorted(glob.glob(os.path.join(directory, "*.json")))


def file_contents(directory):
    contents = {}
    for path in results_files(directory):
        with open(path, "rb") as results_file:
            contents[os.path.basename(path)] = results_file.read()
    return contents


def free_loopback_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def without_pythonpath():
    """The environment, without PYTHONPATH, run from outside the repository."""
    return {
        name: value
        for name, value in os.environ.items()
        if name != "PYTHONPATH"
    }


def stop_process(process):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class SweepTestCase(tf.test.TestCase):
    """Checks shared by the local and the external cluster."""

    def assert_results_equal_direct_runs(self, output_dir):
        """Every file parses strictly and equals a direct run of its config."""
        paths = results_files(output_dir)
        self.assertLen(paths, len(GRID_POINTS))
        points = set()
        for path in paths:
            results = results_io.load_results(path)
            hparams = results["hparams"]
            points.add(grid_point(hparams))
            self.assertEqual(hparams["output_dir"], output_dir)
            expected = direct_results()[grid_point(hparams)]
            self.assertEqual(
                without_unrecorded_keys(hparams),
                without_unrecorded_keys(expected["hparams"]),
            )
            for key in results_io.TRAJECTORY_KEYS:
                self.assertEqual(results[key], expected[key], msg=key)
        self.assertEqual(points, GRID_POINTS)


class LocalClusterSweepTest(SweepTestCase):
    """The sweep on the embedded local cluster of 2 single-thread workers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.output_dir = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.output_dir)
        stack = contextlib.ExitStack()
        cls.addClassCleanup(stack.close)
        # The sweep's own embedded cluster, kept for every test of the class.
        cls.client = stack.enter_context(sweep.dask_client("", workers=2))
        cls.address = cls.client.scheduler.address
        cls.first_status, _ = run_sweep_main(
            sweep_arguments(cls.output_dir, scheduler_address=cls.address)
        )

    def copy_of_results(self):
        directory = self.create_tempdir().full_path
        for path in results_files(self.output_dir):
            shutil.copy(path, directory)
        return directory

    def test_embedded_cluster_is_two_single_thread_loopback_workers(self):
        workers = self.client.scheduler_info()["workers"]
        self.assertLen(workers, 2)
        for address, worker in workers.items():
            self.assertStartsWith(address, "tcp://127.0.0.1:")
            self.assertEqual(worker["nthreads"], 1)

    def test_every_run_equals_a_direct_run(self):
        self.assertEqual(self.first_status, 0)
        self.assertEmpty(glob.glob(os.path.join(self.output_dir, ".tmp-*")))
        self.assert_results_equal_direct_runs(self.output_dir)

    def test_second_invocation_runs_nothing_new(self):
        before = file_contents(self.output_dir)
        status, _ = run_sweep_main(
            sweep_arguments(self.output_dir, scheduler_address=self.address)
        )
        self.assertEqual(status, 0)
        self.assertEqual(file_contents(self.output_dir), before)

    def test_deleted_results_file_is_rerun(self):
        directory = self.copy_of_results()
        before = file_contents(directory)
        deleted = results_files(directory)[-1]
        deleted_results = results_io.load_results(deleted)
        os.remove(deleted)
        _, commands = run_sweep_main(
            sweep_arguments(directory, print_commands=True)
        )
        self.assertLen(commands.splitlines(), 1)

        status, _ = run_sweep_main(
            sweep_arguments(directory, scheduler_address=self.address)
        )

        self.assertEqual(status, 0)
        kept = dict(before)
        del kept[os.path.basename(deleted)]
        after = file_contents(directory)
        for name, contents in kept.items():
            self.assertEqual(after[name], contents)
        # The new file may take the deleted one's name (same second).
        new_names = set(after) - set(kept)
        self.assertLen(new_names, 1)
        rerun = results_io.load_results(
            os.path.join(directory, new_names.pop())
        )
        for key in results_io.TRAJECTORY_KEYS:
            self.assertEqual(rerun[key], deleted_results[key])
        self.assertEqual(
            grid_point(rerun["hparams"]),
            grid_point(deleted_results["hparams"]),
        )

    def test_failed_run_is_reported_and_the_others_complete(self):
        directory = self.create_tempdir().full_path
        good = [
            tiny_config(
                directory, regularization_norm=norm, fisher_rao_lambda=0.01
            )
            for norm in ("None", "fr")
        ]
        bad = tiny_config(
            directory,
            regularization_norm="fr",
            learning_rate=DIVERGING_LEARNING_RATE,
        )

        outcome = sweep.run_configs(self.client, [good[0], bad, good[1]])

        self.assertLen(outcome.failures, 1)
        self.assertEqual(outcome.failures[0].config, bad)
        self.assertIn("TrainingDivergedError", outcome.failures[0].error)
        self.assertCountEqual(outcome.paths, results_files(directory))
        self.assertEqual(runs.pending_configs(good + [bad], directory), [bad])
        # The partial results are kept apart, out of the resuming scan.
        diverged = results_files(os.path.join(directory, "diverged"))
        self.assertLen(diverged, 1)
        partial = results_io.load_results(diverged[0])
        self.assertLess(partial["steps"][-1], bad["train_steps"])

    def test_script_on_its_own_cluster_exits_nonzero_if_a_run_fails(self):
        directory = self.create_tempdir().full_path
        arguments = sweep_arguments(
            directory,
            regularization_norms="fr",
            random_seeds=1,
            workers=1,
            fisher_rao_lambdas=f"0,{DIVERGING_LAMBDA!r}",
        )

        script = subprocess.run(
            [
                sys.executable,
                os.path.join(REPOSITORY_ROOT, "experiments", "sweep.py"),
                *arguments,
            ],
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=120,
        )

        self.assertEqual(script.returncode, 1, msg=script.stderr)
        self.assertIn(
            f"--fisher_rao_lambda={DIVERGING_LAMBDA!r}", script.stderr
        )
        self.assertIn(
            "Sweep finished: 1 runs written, 1 failed.", script.stderr
        )
        (path,) = results_files(directory)
        self.assertEqual(
            results_io.load_results(path)["hparams"]["fisher_rao_lambda"], 0
        )

    def test_print_commands_lists_exactly_the_grid(self):
        directory = self.create_tempdir().full_path
        status, commands = run_sweep_main(
            sweep_arguments(directory, print_commands=True)
        )
        self.assertEqual(status, 0)
        self.assertEmpty(os.listdir(directory))
        points = []
        for command in commands.splitlines():
            words = shlex.split(command)
            self.assertEqual(
                words[:2], ["python3", "synthetic_classification.py"]
            )
            given = dict(word[2:].split("=", 1) for word in words[2:])
            for name, value in TINY_TRAINING.items():
                self.assertEqual(given[name], str(value))
            self.assertEqual(given["output_dir"], directory)
            points.append(
                (
                    given["regularization_norm"],
                    float(given["fisher_rao_lambda"]),
                    int(given["random_seed"]),
                )
            )
        self.assertCountEqual(points, GRID_POINTS)

    def test_lambda_plot_of_the_sweep_is_not_blank(self):
        plt.switch_backend("agg")
        figure = final_value_plots.plot_lambda_sweep(
            grouping.lambda_sweep_groups(
                loading.load_runs(r"\.json$", self.output_dir)
            )
        )
        # Text alone has many colours: check that the grid's points are
        # drawn. In each panel, None and fr at lambda 0; fr at 0.01 on the
        # log axis, where None (lambda 0 only) is a dotted reference.
        for subfigure in figure.subfigs:
            zero_axes, log_axes = subfigure.axes
            self.assertLen(zero_axes.containers, 2)
            (positive,) = log_axes.containers
            self.assertAllEqual(positive.lines[0].get_xdata(), [0.01])
            self.assertIn(
                ":", [line.get_linestyle() for line in log_axes.lines]
            )
        path = os.path.join(self.create_tempdir().full_path, "lambda.png")
        drawing.save_figure(figure, path)
        plt.close(figure)
        pixels = plt.imread(path)
        colors = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
        self.assertGreater(len(colors), 10)  # Lines, bands, text.

    def test_print_commands_is_empty_when_everything_ran(self):
        status, commands = run_sweep_main(
            sweep_arguments(self.output_dir, print_commands=True)
        )
        self.assertEqual(status, 0)
        self.assertEqual(commands, "")


class ExternalClusterSweepTest(SweepTestCase):
    """The sweep through --scheduler_address on `dask scheduler`/`worker`."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        dask = os.path.join(os.path.dirname(sys.executable), "dask")
        address = f"tcp://127.0.0.1:{free_loopback_port()}"
        scratch = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, scratch)
        cls.start(
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            address.rsplit(":", 1)[1],
            "--no-dashboard",
            env=without_pythonpath(),
        )
        # Neither needs the repository on its PYTHONPATH: the task brings it.
        cls.start(
            dask,
            "worker",
            address,
            "--nworkers",
            "1",
            "--nthreads",
            "1",
            "--host",
            "127.0.0.1",
            "--no-dashboard",
            "--local-directory",
            scratch,
            env=without_pythonpath(),
        )
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(1, timeout=60)
        cls.address = address

    @classmethod
    def start(cls, *command, env=None):
        process = subprocess.Popen(
            command,
            env=env,
            cwd=tempfile.gettempdir(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cls.addClassCleanup(stop_process, process)

    def test_grid_runs_on_the_external_cluster(self):
        directory = self.create_tempdir().full_path
        status, _ = run_sweep_main(
            sweep_arguments(directory, scheduler_address=self.address)
        )
        self.assertEqual(status, 0)
        self.assert_results_equal_direct_runs(directory)


def sweep_script(*arguments):
    """The sweep's command line, run as a script."""
    return [
        sys.executable,
        os.path.join(REPOSITORY_ROOT, "experiments", "sweep.py"),
        *arguments,
    ]


def with_default_sigint(command):
    """`command` (a Python script's) started with SIGINT at its default, as
    a terminal's foreground job has it, even where the tests run with SIGINT
    ignored (a background job of a non-interactive shell passes that on)."""
    reset_and_exec = (
        "import os, signal, sys; "
        "signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    return [command[0], "-c", reset_and_exec, *command[1:]]


# About two seconds per run on a busy 2-core machine.
SLOW_TRAINING = dict(TINY_TRAINING, train_steps=6001, eval_steps=3000)


def slow_sweep_arguments(output_dir, seeds, **extra_flags):
    arguments = {
        "regularization_norms": "None",
        "random_seeds": ",".join(map(str, seeds)),
        "output_dir": output_dir,
        **SLOW_TRAINING,
        **extra_flags,
    }
    return [f"--{name}={value}" for name, value in arguments.items()]


def results_per_seed(directory):
    seeds = [
        results_io.load_results(path)["hparams"]["random_seed"]
        for path in results_files(directory)
    ]
    return {seed: seeds.count(seed) for seed in seeds}


class FaultTest(tf.test.TestCase):
    """Real processes: a killed worker, two sweeps at once, Ctrl-C."""

    def test_a_killed_worker_leaves_no_file_and_its_run_is_redone(self):
        dask = os.path.join(os.path.dirname(sys.executable), "dask")
        address = f"tcp://127.0.0.1:{free_loopback_port()}"
        scratch = self.create_tempdir().full_path
        processes = []

        def start(*command):
            process = subprocess.Popen(
                command,
                env=without_pythonpath(),
                cwd=scratch,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.addCleanup(stop_process, process)
            processes.append(process)
            return process

        start(
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            address.rsplit(":", 1)[1],
            "--no-dashboard",
        )
        # No nanny: each worker is one process, killed outright.
        workers = [
            start(
                dask,
                "worker",
                address,
                "--no-nanny",
                "--nthreads",
                "1",
                "--host",
                "127.0.0.1",
                "--no-dashboard",
                "--local-directory",
                scratch,
            )
            for _ in range(2)
        ]
        directory = self.create_tempdir().full_path
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            sweep_process = subprocess.Popen(
                sweep_script(
                    *slow_sweep_arguments(
                        directory, (1, 2, 3), scheduler_address=address
                    )
                ),
                cwd=scratch,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            self.addCleanup(stop_process, sweep_process)
            victim = self.busy_worker_process(client, workers)
            time.sleep(1.0)  # Inside its run.
            victim.kill()
            victim.wait()
            stderr = sweep_process.communicate(timeout=240)[1]
        self.assertEqual(sweep_process.returncode, 0, stderr)
        self.assertEqual(results_per_seed(directory), {1: 1, 2: 1, 3: 1})
        for path in results_files(directory):
            self.assertTrue(
                results_io.is_complete(results_io.load_results(path))
            )
        self.assertEmpty(
            [
                name
                for name in os.listdir(directory)
                if name.startswith(".tmp-")
            ]
        )

    def busy_worker_process(self, client, workers):
        """The worker process running a task, once one does."""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            for address, tasks in client.processing().items():
                if tasks:
                    pid = client.run(os.getpid, workers=[address])[address]
                    (process,) = [
                        worker for worker in workers if worker.pid == pid
                    ]
                    return process
            time.sleep(0.1)
        self.fail("No worker started a run.")

    def test_two_sweeps_at_once_leave_one_result_per_configuration(self):
        directory = self.create_tempdir().full_path
        arguments = sweep_script(
            *slow_sweep_arguments(
                directory, (1, 2, 3), workers=1, train_steps=2001
            )
        )
        sweeps = [
            subprocess.Popen(
                arguments,
                cwd=tempfile.gettempdir(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for process in sweeps:
            self.addCleanup(stop_process, process)
        outputs = [process.communicate(timeout=240)[1] for process in sweeps]
        for process, stderr in zip(sweeps, outputs, strict=True):
            self.assertEqual(process.returncode, 0, stderr)
        self.assertEqual(results_per_seed(directory), {1: 1, 2: 1, 3: 1})
        self.assertLen(glob.glob(os.path.join(directory, "*.ckpt")), 3)

    def test_ctrl_c_exits_130_with_the_resume_line_and_no_traceback(self):
        directory = self.create_tempdir().full_path
        process = subprocess.Popen(
            with_default_sigint(
                sweep_script(
                    *slow_sweep_arguments(directory, (1, 2, 3, 4), workers=1)
                )
            ),
            cwd=tempfile.gettempdir(),
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.addCleanup(stop_process, process)
        for line in process.stderr:
            if "runs done" in line:
                break
        # As a terminal does: to the whole process group.
        os.killpg(process.pid, signal.SIGINT)
        stderr = process.stderr.read()
        self.assertEqual(process.wait(timeout=60), 130, stderr)
        self.assertNotIn("Traceback", stderr)
        finished = len(results_files(directory))
        self.assertBetween(finished, 1, 3)
        self.assertEqual(
            stderr.strip().splitlines()[-1],
            f"interrupted: {finished} of 4 runs finished; run the same "
            f"command again to resume",
        )
        self.assertEmpty(glob.glob(os.path.join(directory, "*.tmp-*")))

    def test_unwritable_output_dir_is_refused_before_any_run(self):
        directory = self.create_tempdir().full_path
        a_file = os.path.join(directory, "a_file")
        with open(a_file, "w"):
            pass
        process = subprocess.run(
            sweep_script(*sweep_arguments(os.path.join(a_file, "out"))),
            cwd=tempfile.gettempdir(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertEqual(process.returncode, 1, process.stderr)
        self.assertNotIn("Traceback", process.stderr)
        self.assertEqual(
            process.stderr.strip().splitlines()[-1],
            f"sweep.py: error: --output_dir={a_file}/out cannot be created:"
            f" a part of the path is a file.",
        )


class GridTest(tf.test.TestCase):
    """The grid, the matching of recorded hparams, and the resuming scan."""

    def configs_of(self, *arguments):
        with flagsaver.flagsaver():
            FLAGS(["sweep.py", "--output_dir=out", *arguments])
            return sweep_command.sweep_configs_from_flags()

    def test_grid_axes_cross_every_other_axis(self):
        configs = self.configs_of(
            "--regularization_norms=None,fr",
            "--fisher_rao_lambdas=0.1",
            "--random_seeds=1,2",
            "--grid=label_noise=0,0.5",
            "--grid=dataset=synthetic,digits",
            "--grid=differentiate_probability=true,false",
        )
        points = [
            (
                config["regularization_norm"],
                config["random_seed"],
                config["label_noise"],
                config["dataset"],
                config["differentiate_probability"],
            )
            for config in configs
        ]
        expected = [
            (norm, seed, noise, dataset, probability)
            for norm in ("None", "fr")
            for seed in (1, 2)
            for noise in (0.0, 0.5)
            for dataset in ("synthetic", "digits")
            for probability in (True, False)
        ]
        self.assertCountEqual(points, expected)
        for config in configs:  # Each data set's own sizes.
            self.assertEqual(
                config["input_dimension"],
                64 if config["dataset"] == "digits" else 10,
            )

    def test_grid_may_give_the_values_of_a_list_flag(self):
        configs = self.configs_of(
            "--regularization_norms=fr",
            "--grid=random_seed=5,6",
            "--grid=fisher_rao_method=exact,central",
        )
        self.assertCountEqual(
            [
                (
                    config["random_seed"],
                    config["fisher_rao_method"],
                    config["fisher_rao_lambda"],
                )
                for config in configs
            ],
            [
                (seed, method, fisher_rao_lambda)
                for seed in (5, 6)
                for method in ("exact", "central")
                for fisher_rao_lambda in (0.0, 1e-3, 1e-2, 1e-1, 1.0)
            ],
        )

    def test_bad_grids_are_refused_in_one_line_before_any_run(self):
        for arguments, message in [
            (["--grid=colour=red"], "'colour' is not a training flag"),
            (["--grid=output_dir=a,b"], "not a training flag"),
            (["--grid=label_noise"], "must be FLAG=V1,V2,..."),
            (
                ["--grid=label_noise=0,2"],
                "label_noise=2.0 is not allowed: must be a number in",
            ),
            (["--grid=optimizer=adam,rmsprop"], "'rmsprop' is not allowed"),
            (["--grid=layer_width=8,8"], "lists 8 more than once"),
            (
                ["--grid=layer_width=8", "--grid=layer_width=9"],
                "names layer_width more than once",
            ),
            (
                ["--grid=layer_width=8,9", "--layer_width=7"],
                "--layer_width is given and swept by --grid",
            ),
            (
                ["--grid=random_seed=1,2", "--random_seeds=3"],
                "--random_seeds and --grid=random_seed",
            ),
            (
                ["--grid=dataset=digits", "--num_classes=2"],
                "num_classes=2 is not allowed with dataset=digits",
            ),
        ]:
            with self.subTest(arguments=arguments):
                with self.assertRaisesRegex(
                    app.UsageError, re.escape(message)
                ):
                    self.configs_of(*arguments)

    def test_architectures_and_data_sets_as_axes(self):
        configs = self.configs_of(
            "--regularization_norms=None",
            "--random_seeds=1",
            "--dataset=mnist1d",
            "--grid=architecture=mlp,cnn",
            "--grid=momentum=0.5,0.9",  # Unused by Adam: one run each.
        )
        self.assertEqual(
            [
                (
                    config["architecture"],
                    config["optimizer"],
                    config["learning_rate"],
                    config["train_steps"],
                )
                for config in configs
            ],
            [("mlp", "adam", 0.01, 6000), ("cnn", "adam", 0.01, 6000)],
        )
        # Each data set's own training defaults, where not given.
        configs = self.configs_of(
            "--regularization_norms=None",
            "--random_seeds=1",
            "--train_steps=10",
            "--grid=dataset=synthetic,mnist1d",
        )
        self.assertEqual(
            [
                (
                    config["dataset"],
                    config["learning_rate"],
                    config["train_steps"],
                )
                for config in configs
            ],
            [("synthetic", 0.001, 10), ("mnist1d", 0.01, 10)],
        )
        # A CNN on data that are not sequences is refused, naming both.
        with self.assertRaisesRegex(
            app.UsageError,
            re.escape(
                "architecture=cnn is not allowed with dataset=synthetic"
            ),
        ):
            self.configs_of("--grid=architecture=mlp,cnn")

    def test_none_gets_one_run_per_seed(self):
        base = tiny_config("out", fisher_rao_method="central")
        configs = sweep.grid_configs(
            base,
            ["None", "fre"],
            ["0", "0.5"],
            ["forward", "exact"],
            ["3", "4"],
        )
        points = [
            (
                config["regularization_norm"],
                config["fisher_rao_lambda"],
                config["fisher_rao_method"],
                config["random_seed"],
            )
            for config in configs
        ]
        expected = [("None", 0.0, "central", seed) for seed in (3, 4)] + [
            ("fre", fisher_rao_lambda, method, seed)
            for seed in (3, 4)
            for fisher_rao_lambda in (0.0, 0.5)
            for method in ("forward", "exact")
        ]
        self.assertCountEqual(points, expected)
        for config in configs:
            self.assertEqual(
                {
                    key: value
                    for key, value in config.items()
                    if key
                    not in (
                        "regularization_norm",
                        "fisher_rao_lambda",
                        "fisher_rao_method",
                        "random_seed",
                    )
                },
                {
                    key: value
                    for key, value in base.items()
                    if key
                    not in (
                        "regularization_norm",
                        "fisher_rao_lambda",
                        "fisher_rao_method",
                        "random_seed",
                    )
                },
            )

    def test_complete_config_of_a_study_grid_point(self):
        config = sweep.complete_config(
            {"label_noise": 0.5, "dataset": "digits"}, "/abs"
        )
        self.assertEqual(
            config,
            experiment_config.resolve_config(
                dict(
                    experiment_config.default_config(),
                    label_noise=0.5,
                    dataset="digits",
                    output_dir="/abs",
                    summary_dir=None,
                )
            ),
        )
        self.assertEqual(config["train_size"], 1000)
        with self.assertRaisesRegex(ValueError, "unknown configuration keys"):
            sweep.complete_config({"labelnoise": 0.5}, "/abs")
        with self.assertRaisesRegex(ValueError, "label_noise"):
            sweep.complete_config({"label_noise": 2.0}, "/abs")

    def test_relative_directories_are_made_absolute_for_the_workers(self):
        # A worker of an existing cluster resolves a relative path against
        # its own working directory, where the sweep's scan never looks.
        with flagsaver.flagsaver():
            FLAGS(
                [
                    "sweep.py",
                    "--output_dir=relative/out",
                    "--summary_dir=relative/summaries",
                    "--regularization_norms=None",
                    "--random_seeds=1,2",
                ]
            )
            configs = sweep_command.sweep_configs_from_flags()
        self.assertLen(configs, 2)
        for config in configs:
            self.assertEqual(
                config["output_dir"],
                os.path.join(os.getcwd(), "relative", "out"),
            )
            self.assertEqual(
                config["summary_dir"],
                os.path.join(os.getcwd(), "relative", "summaries"),
            )

    def test_a_swept_flag_given_singly_is_refused(self):
        # The grid would silently override it.
        for flag, plural in (
            ("random_seed", "random_seeds"),
            ("fisher_rao_lambda", "fisher_rao_lambdas"),
            ("regularization_norm", "regularization_norms"),
        ):
            value = {
                "random_seed": "7",
                "fisher_rao_lambda": "0.5",
                "regularization_norm": "fre",
            }[flag]
            with self.subTest(flag=flag), flagsaver.flagsaver():
                FLAGS(["sweep.py", f"--{flag}={value}"])
                with self.assertRaisesRegex(
                    app.UsageError, f"--{flag}.*--{plural}"
                ):
                    sweep_command.sweep_configs_from_flags()


if __name__ == "__main__":
    tf.test.main()
