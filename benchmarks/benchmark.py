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
"""Benchmarks of the Fisher-Rao regularizers and of the training script.

Five groups of rows, measured in one run on one machine:

  train_step/...      time of a training step with `fr` or `fre` (each
                      method) over the unregularized step, at the default
                      experiment's size and at an MNIST-sized MLP;
  keras_step/...      the same for `keras_fisher_rao`: a Keras 3 model's
                      `fit` step (`train_step` in a tf.function) with
                      `FisherRaoRegularizedModel` over the plain model's, and
                      the plain Keras step over the graph library's;
  value/...           the library's `fr` value against per-example
                      gradients (`tf.GradientTape.jacobian`) dotted with
                      theta, what a user would write otherwise;
  gradient_error/...  relative error of the regularizer's gradient against an
                      exact float64 reference (ReLU MLP, nonzero biases);
  script/...          steps per second of `synthetic_classification` against
                      a re-creation of the original 2018 design (a tf.data
                      iterator's batch fetched into Python and fed back).

Every graph is built once and finalized, and gets its own session; every
Keras step is traced once, in the warm-up round. The configurations of a
group are timed in interleaved rounds (each round times every configuration
once, in turn) after one warm-up round, so a slow spell of a shared machine
hits them all alike. Reported are medians over rounds:
of each configuration's time, and of each round's ratio of two times.
The rows are printed as a Markdown table and, with `--json`, written as
strict JSON. Run from the repository's root:

  python3 benchmarks/benchmark.py [--quick | --smoke] [--json=PATH]
"""

import dataclasses
import datetime
import gc
import math
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable

# Before TensorFlow is imported. oneDNN off as synthetic_classification.py
# and the tests set it, so that the training script is measured as it runs
# and every row alike; TF_ENABLE_ONEDNN_OPTS=1 turns it on for every row.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The library and the training script live at the repository's root, one
# level up, which is not on the path when this file is run as a script.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags, logging  # noqa: E402

import direct_fisher_rao  # noqa: E402
import keras_fisher_rao  # noqa: E402
import synthetic_classification  # noqa: E402
from fisher_rao_experiments import results_io

GROUPS = ("train_step", "keras_step", "value", "gradient_error", "script")

FLAGS = flags.FLAGS

NORMS = ("fr", "fre")
METHODS = direct_fisher_rao.METHODS
# The training script's finite-difference step and learning rate.
PERTURBATION = synthetic_classification.PERTURBATION
LEARNING_RATE = 1e-3
# Factor of the regularizer in the timed training loss: nonzero, so that
# its gradient is part of the step.
REGULARIZER_WEIGHT = 0.01
SCOPE = "mlp"
SEED = 0
# Examples per tf.map_fn iteration of the per-example-jacobian baseline: a
# whole batch of 256 would need a [256, 10, 670k] jacobian (7 GB); chunks
# of 32 or 64 measured no faster than 8.
JACOBIAN_CHUNK = 8
# Examples on which the gradient reference is checked against jacobians.
REFERENCE_CHECK_EXAMPLES = 8


@dataclasses.dataclass(frozen=True)
class MlpSize:
    """A ReLU MLP and its batch: `relu_layers` dense+ReLU layers, then logits.

    Attributes:
      name: Short name used in the row names ("default", "mnist").
      batch: Examples per batch.
      inputs: Input dimension.
      width: Units of every ReLU layer.
      relu_layers: Number of dense+ReLU layers before the logits layer.
      classes: Number of classes (logits).
    """

    name: str
    batch: int
    inputs: int
    width: int
    relu_layers: int
    classes: int

    def layer_dims(self):
        return [self.inputs] + [self.width] * self.relu_layers + [self.classes]

    def describe(self):
        """E.g. 'batch 1024, 784-512-512-10'."""
        return (
            f"batch {self.batch}, "
            f"{'-'.join(str(dim) for dim in self.layer_dims())}"
        )


# The training script's default network: an input layer and 3 hidden layers,
# all ReLU of width 10, on 10 inputs, 2 classes.
DEFAULT_SIZE = MlpSize(
    "default", batch=64, inputs=10, width=10, relu_layers=4, classes=2
)
MNIST_SIZE = MlpSize(
    "mnist", batch=1024, inputs=784, width=512, relu_layers=2, classes=10
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """How much work each group does; chosen by --quick / --smoke.

    Attributes:
      repeats: Timed rounds per group (after one warm-up round).
      judge_targets: Whether `met` is computed (False: null).
      mnist_size: The MNIST-sized MLP of the train_step and gradient_error
        groups.
      value_size: The MLP of the value group.
      default_steps: Training steps per measurement at the default size.
      mnist_steps: Training steps per measurement at the MNIST size.
      value_calls: Library value evaluations per measurement.
      jacobian_calls: Baseline value evaluations per measurement.
      script_steps: `(short, long)` training steps of the script's runs; the
        difference of their times is the time of `long - short` steps.
      num_threads: Size of every session's thread pools; None for
        TensorFlow's choice.
    """

    repeats: int
    judge_targets: bool
    mnist_size: MlpSize
    value_size: MlpSize
    default_steps: int
    mnist_steps: int
    value_calls: int
    jacobian_calls: int
    script_steps: tuple
    num_threads: int | None = None


# Many short measurements rather than a few long ones: a round then spans
# a short time, over which another user's load varies less.
FULL_SETTINGS = Settings(
    repeats=11,
    judge_targets=True,
    mnist_size=MNIST_SIZE,
    value_size=dataclasses.replace(MNIST_SIZE, batch=256),
    default_steps=500,
    mnist_steps=5,
    value_calls=20,
    jacobian_calls=1,
    script_steps=(1000, 5000),
)
QUICK_SETTINGS = dataclasses.replace(
    FULL_SETTINGS,
    repeats=3,
    default_steps=200,
    mnist_steps=3,
    value_size=dataclasses.replace(MNIST_SIZE, batch=128),
    value_calls=10,
    script_steps=(500, 2500),
)
SMOKE_SETTINGS = Settings(
    repeats=1,
    judge_targets=False,
    mnist_size=MlpSize(
        "mnist", batch=32, inputs=24, width=16, relu_layers=2, classes=10
    ),
    value_size=MlpSize(
        "mnist", batch=16, inputs=24, width=16, relu_layers=2, classes=10
    ),
    default_steps=20,
    mnist_steps=2,
    value_calls=2,
    jacobian_calls=1,
    # Enough steps that the long runs are measurably slower than the short.
    script_steps=(10, 8010),
)


@dataclasses.dataclass
class Row:
    """One line of the results table.

    Attributes:
      name: Unique, '/'-separated identifier, e.g. 'train_step/mnist/fr/exact'.
      configuration: What was measured, in words.
      seconds: Median seconds per step or evaluation; None for accuracy rows.
      ratio: The row's figure of merit (slowdown, speedup or relative error,
        as `configuration` says); 1.0 for a baseline.
      target: E.g. '<= 1.9' or '>= 10', or None.
      met: Whether `ratio` meets `target`; None without target or judging.
    """

    name: str
    configuration: str
    seconds: float | None
    ratio: float
    target: str | None = None
    met: bool | None = None


def meets_target(ratio, target):
    """Whether `ratio` satisfies `target` ('<= x' or '>= x').

    Raises:
      ValueError: If `target` is not of that form.
    """
    operator, _, bound = target.partition(" ")
    if operator == "<=":
        return ratio <= float(bound)
    if operator == ">=":
        return ratio >= float(bound)
    raise ValueError(f"A target must be '<= x' or '>= x'; got {target!r}.")


def make_row(name, configuration, seconds, ratio, target=None, judge=True):
    """A Row whose `met` is judged when there is a target and `judge`."""
    met = meets_target(ratio, target) if target and judge else None
    return Row(name, configuration, seconds, ratio, target, met)


# ---------------------------------------------------------------------------
# Networks and data shared by every group.


def initial_parameters(size, seed=SEED):
    """He-normal kernels and nonzero N(0, 0.1) biases, as float64 arrays.

    The values are rounded to float32 so that the float32 and float64 nets
    built from them hold exactly the same parameters.

    Returns:
      A list of `(kernel, bias)` pairs, first layer first.
    """
    rng = np.random.default_rng(seed)
    dims = size.layer_dims()
    parameters = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:], strict=True):
        kernel = rng.normal(0.0, math.sqrt(2.0 / fan_in), (fan_in, fan_out))
        bias = rng.normal(0.0, 0.1, fan_out)
        parameters.append((_float32_exact(kernel), _float32_exact(bias)))
    return parameters


def synthetic_batch(size, seed=SEED):
    """N(0, 1) inputs and uniformly random one-hot labels (float64 arrays)."""
    rng = np.random.default_rng(seed + 1)
    inputs = _float32_exact(rng.normal(size=(size.batch, size.inputs)))
    classes = rng.integers(0, size.classes, size.batch)
    return inputs, np.eye(size.classes)[classes]


def _float32_exact(array):
    return array.astype(np.float32).astype(np.float64)


def mlp_logits(inputs, parameters):
    """The ReLU MLP's logits for `(kernel, bias)` pairs (tensors/variables)."""
    hidden = inputs
    for index, (kernel, bias) in enumerate(parameters):
        hidden = tf.matmul(hidden, kernel) + bias
        if index < len(parameters) - 1:
            hidden = tf.nn.relu(hidden)
    return hidden


def logits_builder(inputs, parameters, dtype):
    """A `make_logits` for the library: the MLP on `get_variable` variables.

    Args:
      inputs: Input tensor.
      parameters: Initial `(kernel, bias)` arrays.
      dtype: tf.float32 or tf.float64.

    Returns:
      A callable with no arguments building the logits in the current
      variable scope (variables 'layer_<i>/kernel' and 'layer_<i>/bias').
    """

    def make_logits():
        variables = []
        for index, (kernel, bias) in enumerate(parameters):
            with tf.compat.v1.variable_scope(f"layer_{index}"):
                variables.append(
                    tuple(
                        tf.compat.v1.get_variable(
                            name,
                            initializer=value.astype(dtype.as_numpy_dtype),
                            dtype=dtype,
                        )
                        for name, value in (("kernel", kernel), ("bias", bias))
                    )
                )
        return mlp_logits(inputs, variables)

    return make_logits


def build_mlp_on_batch(size, dtype):
    """Builds the batch and the MLP's variables in the current graph.

    Args:
      size: The MLP and batch.
      dtype: tf.float32 or tf.float64.

    Returns:
      `(inputs, labels, make_logits, variables)`: the batch as constants,
      the `make_logits` of `logits_builder` (to call with reuse, as its
      variables exist in SCOPE) and the variables in layer order: kernel_0,
      bias_0, kernel_1...
    """
    inputs, labels = (
        tf.constant(array, dtype) for array in synthetic_batch(size)
    )
    make_logits = logits_builder(inputs, initial_parameters(size), dtype)
    with tf.compat.v1.variable_scope(SCOPE):
        make_logits()
    return inputs, labels, make_logits, tf.compat.v1.trainable_variables(SCOPE)


# The training script's own, so that both build the same loss.
mean_cross_entropy = synthetic_classification.mean_cross_entropy
regularize_every_variable = synthetic_classification.regularize_every_variable


def library_regularizer(norm, method, make_logits, labels, reuse):
    """`(logits, regularizer)` of `direct_fisher_rao` over every variable.

    Args:
      norm: 'fr' (standard, differentiating the probabilities) or 'fre'.
      method: One of direct_fisher_rao.METHODS.
      make_logits: The network builder.
      labels: One-hot labels (used by 'fre').
      reuse: Whether the variables of SCOPE already exist.
    """
    if norm == "fr":
        return direct_fisher_rao.make_standard_fisher_regularizer(
            make_logits,
            SCOPE,
            regularize_every_variable,
            PERTURBATION,
            True,
            method,
            reuse=reuse,
        )
    return direct_fisher_rao.make_empirical_fisher_regularizer(
        make_logits,
        labels,
        SCOPE,
        regularize_every_variable,
        PERTURBATION,
        method,
        reuse=reuse,
    )


def start_session(graph, initializer, num_threads):
    """Finalizes `graph`, opens a session on it and runs `initializer`."""
    graph.finalize()
    session = tf.compat.v1.Session(
        graph=graph,
        config=synthetic_classification.session_config(num_threads),
    )
    session.run(initializer)
    return session


# ---------------------------------------------------------------------------
# Timing.


@dataclasses.dataclass
class Timed:
    """A configuration to time: `run()` does one measurement's work."""

    label: str
    run: Callable[[], object]


def time_interleaved(group, configurations, repeats):
    """Times configurations in interleaved rounds, after a warm-up round.

    Args:
      group: Name of the group, for the progress log.
      configurations: List of `Timed`.
      repeats: Number of timed rounds.

    Returns:
      Dict label -> list of the measurements' wall-clock seconds (one per
      round).
    """
    for configuration in configurations:
        logging.info("%s: warming up %s", group, configuration.label)
        configuration.run()
    seconds = {configuration.label: [] for configuration in configurations}
    total = repeats * len(configurations)
    start = time.perf_counter()
    for round_index in range(repeats):
        for configuration in configurations:
            begin = time.perf_counter()
            configuration.run()
            seconds[configuration.label].append(time.perf_counter() - begin)
            done = sum(len(values) for values in seconds.values())
            left = (time.perf_counter() - start) / done * (total - done)
            logging.info(
                "%s: round %d/%d, %s: %.3g s; about %.0f s left in this group",
                group,
                round_index + 1,
                repeats,
                configuration.label,
                seconds[configuration.label][-1],
                left,
            )
    return seconds


def per_unit(measurements, units):
    """Seconds per step (or evaluation) of each measurement."""
    return [seconds / units for seconds in measurements]


def median_ratio(numerators, denominators):
    """Median over rounds of the ratio of two configurations' times.

    Each ratio compares measurements of the same round, so a slow spell of
    a shared machine that spans a round cancels out.
    """
    return statistics.median(
        numerator / denominator
        for numerator, denominator in zip(
            numerators, denominators, strict=True
        )
    )


# ---------------------------------------------------------------------------
# Group 1: training-step time.


def build_train_loop(size, norm, method, steps, num_threads):
    """A session-bound callable running `steps` SGD steps in one call.

    The data are constants of the graph and the steps run in a
    tf.while_loop, so a measurement has neither feed nor per-step session
    cost.

    Args:
      size: The MLP and batch.
      norm: None (plain cross-entropy), 'fr' or 'fre'.
      method: The library's method (ignored for norm None).
      steps: Training steps per call.
      num_threads: Session thread pools, or None.
    """
    graph = tf.Graph()
    with graph.as_default():
        # A while loop's body cannot create variables: they exist already.
        _, labels, make_logits, variables = build_mlp_on_batch(
            size, tf.float32
        )
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(LEARNING_RATE)

        def train_one_step(step):
            if norm is None:
                with tf.compat.v1.variable_scope(SCOPE, reuse=True):
                    loss = mean_cross_entropy(labels, make_logits())
            else:
                logits, regularizer = library_regularizer(
                    norm, method, make_logits, labels, reuse=True
                )
                loss = (
                    mean_cross_entropy(labels, logits)
                    + REGULARIZER_WEIGHT * regularizer
                )
            # Every read of the variables before their update.
            with tf.control_dependencies([loss]):
                update = optimizer.minimize(loss, var_list=variables)
            with tf.control_dependencies([update]):
                return step + 1

        loop = tf.compat.v1.while_loop(
            lambda step: step < steps,
            train_one_step,
            [tf.constant(0)],
            parallel_iterations=1,
        )
        initializer = tf.compat.v1.global_variables_initializer()
    session = start_session(graph, initializer, num_threads)
    return lambda: session.run(loop)


def train_step_rows(size, steps, settings):
    """Rows of group 1 at one size; targets only at the MNIST size."""
    configurations = [(None, None)] + [
        (norm, method) for norm in NORMS for method in METHODS
    ]
    timed = [
        Timed(
            _train_label(norm, method),
            build_train_loop(size, norm, method, steps, settings.num_threads),
        )
        for norm, method in configurations
    ]
    measurements = time_interleaved(
        f"train_step/{size.name}", timed, settings.repeats
    )
    step_seconds = {
        label: per_unit(values, steps)
        for label, values in measurements.items()
    }
    targeted = size.name == "mnist"
    where = size.describe()
    rows = [
        make_row(
            f"train_step/{size.name}/unregularized",
            f"{where}: cross-entropy + SGD step (baseline)",
            statistics.median(step_seconds["unregularized"]),
            1.0,
        )
    ]
    return rows + regularized_step_rows(
        f"train_step/{size.name}",
        where,
        "",
        step_seconds,
        targeted,
        settings.judge_targets and targeted,
    )


def regularized_step_rows(prefix, where, kind, step_seconds, targeted, judged):
    """The rows of each norm and method over the unregularized step.

    Args:
      prefix: Row names' start, e.g. 'train_step/mnist'.
      where: The size, as `MlpSize.describe` gives it.
      kind: Words before 'step' in the configurations ('' or 'Keras ').
      step_seconds: Seconds per step per round, by `_train_label`.
      targeted: Whether the rows carry the targets (forward <= 1.9x the
        unregularized step, exact <= 1.5x forward).
      judged: Whether the targets are judged.
    """
    baseline = step_seconds[_train_label(None, None)]
    rows = []
    for norm in NORMS:
        for method in METHODS:
            label = _train_label(norm, method)
            rows.append(
                make_row(
                    f"{prefix}/{norm}/{method}",
                    f"{where}: {label} {kind}step / unregularized {kind}step",
                    statistics.median(step_seconds[label]),
                    median_ratio(step_seconds[label], baseline),
                    "<= 1.9" if targeted and method == "forward" else None,
                    judged,
                )
            )
        exact = step_seconds[_train_label(norm, "exact")]
        forward = step_seconds[_train_label(norm, "forward")]
        rows.append(
            make_row(
                f"{prefix}/{norm}/exact_over_forward",
                f"{where}: {norm} exact {kind}step / {norm} forward {kind}step",
                statistics.median(exact),
                median_ratio(exact, forward),
                "<= 1.5" if targeted else None,
                judged,
            )
        )
    return rows


def _train_label(norm, method):
    return "unregularized" if norm is None else f"{norm} {method}"


# ---------------------------------------------------------------------------
# Group 2: the Keras 3 training step.


def keras_mlp(size):
    """The MLP of `initial_parameters(size)` as a Keras 3 Sequential model."""
    parameters = initial_parameters(size)
    layers = [
        keras.layers.Dense(
            kernel.shape[1],
            activation="relu" if index < len(parameters) - 1 else None,
        )
        for index, (kernel, _) in enumerate(parameters)
    ]
    model = keras.Sequential([keras.Input((size.inputs,))] + layers)
    for layer, (kernel, bias) in zip(layers, parameters, strict=True):
        layer.set_weights([kernel, bias])
    return model


def build_keras_train_loop(size, norm, method, steps):
    """A callable running `steps` Keras training steps in one call.

    The step is what `model.fit` runs: `train_step` of the Keras model
    (norm None) or of `keras_fisher_rao.FisherRaoRegularizedModel` around
    it, compiled with the same loss (cross-entropy on logits), SGD and XLA
    off (fit's choice on a CPU). The steps run in a tf.function's loop on
    the batch as constants, as the graph rows run theirs.

    Args:
      size: The MLP and batch.
      norm: None (plain cross-entropy), 'fr' or 'fre'.
      method: The library's method (ignored for norm None).
      steps: Training steps per call.
    """
    model = keras_mlp(size)
    if norm is not None:
        model = keras_fisher_rao.FisherRaoRegularizedModel(
            model,
            norm=norm,
            fisher_rao_lambda=REGULARIZER_WEIGHT,
            method=method,
            perturbation=PERTURBATION,
        )
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    # A loop body cannot create the optimizer's variables.
    model.optimizer.build(model.trainable_variables)
    batch = tuple(
        tf.constant(array, tf.float32) for array in synthetic_batch(size)
    )

    @tf.function
    def run():
        for _ in tf.range(steps):
            model.train_step(batch)

    return run


def keras_step_rows(settings):
    """Rows of group 2 at the MNIST size: Keras steps, and the plain Keras
    step against the graph library's plain step (timed in the same rounds).
    """
    size, steps = settings.mnist_size, settings.mnist_steps
    configurations = [(None, None)] + [
        (norm, method) for norm in NORMS for method in METHODS
    ]
    timed = [
        Timed(
            f"Keras {_train_label(norm, method)}",
            build_keras_train_loop(size, norm, method, steps),
        )
        for norm, method in configurations
    ]
    timed.append(
        Timed(
            "graph unregularized",
            build_train_loop(size, None, None, steps, settings.num_threads),
        )
    )
    measurements = time_interleaved(
        f"keras_step/{size.name}", timed, settings.repeats
    )
    step_seconds = {
        label.removeprefix("Keras "): per_unit(values, steps)
        for label, values in measurements.items()
    }
    where = size.describe()
    keras_plain = step_seconds["unregularized"]
    graph_plain = step_seconds["graph unregularized"]
    rows = [
        make_row(
            f"keras_step/{size.name}/unregularized",
            f"{where}: Keras 3 model.train_step (cross-entropy + SGD) in a "
            f"tf.function (baseline)",
            statistics.median(keras_plain),
            1.0,
        )
    ]
    rows += regularized_step_rows(
        f"keras_step/{size.name}",
        where,
        "Keras ",
        step_seconds,
        True,
        settings.judge_targets,
    )
    rows.append(
        make_row(
            f"keras_step/{size.name}/unregularized_over_graph",
            f"{where}: unregularized Keras step / unregularized graph step "
            f"(train_step's tf.while_loop and session)",
            statistics.median(keras_plain),
            median_ratio(keras_plain, graph_plain),
        )
    )
    return rows


# ---------------------------------------------------------------------------
# Group 3: the value against per-example jacobians.


def jacobian_log_prob_derivative(inputs, parameters):
    """d/de log softmax(f(x; (1 + e) theta)) per example, from jacobians.

    What a user would write without the library: per-example gradients of
    every class's log-probability (`tf.GradientTape.jacobian`, vectorized by
    pfor) dotted with theta.

    Args:
      inputs: A batch of inputs.
      parameters: `(kernel, bias)` pairs of variables or tensors.

    Returns:
      `(log_probs, derivative)`, both of shape `[batch, classes]`.
    """
    flat = [parameter for pair in parameters for parameter in pair]
    with tf.GradientTape() as tape:
        tape.watch(flat)
        log_probs = tf.nn.log_softmax(mlp_logits(inputs, parameters))
    jacobians = tape.jacobian(log_probs, flat)  # [batch, classes, *shape]
    derivative = tf.add_n(
        [
            tf.tensordot(jacobian, parameter, axes=parameter.shape.rank)
            for jacobian, parameter in zip(jacobians, flat, strict=True)
        ]
    )
    return log_probs, derivative


def jacobian_standard_fisher(inputs, parameters, chunk):
    """The standard Fisher-Rao value from per-example jacobians, by chunks.

    Args:
      inputs: `[batch, inputs]`, batch a multiple of `chunk`.
      parameters: `(kernel, bias)` pairs of variables.
      chunk: Examples per tf.map_fn iteration (bounds the memory).
    """

    def chunk_sum(chunk_inputs):
        # Read the variables inside the loop body, where the tape sees them.
        chunk_parameters = [
            tuple(tf.convert_to_tensor(v) for v in pair) for pair in parameters
        ]
        log_probs, derivative = jacobian_log_prob_derivative(
            chunk_inputs, chunk_parameters
        )
        return tf.reduce_sum(tf.exp(log_probs) * tf.square(derivative))

    batch, dimension = inputs.shape
    chunks = tf.reshape(inputs, [batch // chunk, chunk, dimension])
    sums = tf.map_fn(chunk_sum, chunks, fn_output_signature=inputs.dtype)
    return tf.reduce_sum(sums) / batch


def build_value(size, method, calls, num_threads):
    """`(run, value)`: `run()` evaluates a `fr` value `calls` times.

    Args:
      size: The MLP and batch.
      method: A library method, or None for the per-example-jacobian
        baseline.
      calls: Session calls per measurement.
      num_threads: Session thread pools, or None.

    Returns:
      The timed callable and the value (a float, computed once here).
    """
    graph = tf.Graph()
    with graph.as_default():
        inputs, labels, make_logits, variables = build_mlp_on_batch(
            size, tf.float32
        )
        if method is None:
            value = jacobian_standard_fisher(
                inputs,
                list(zip(variables[::2], variables[1::2], strict=True)),
                min(JACOBIAN_CHUNK, size.batch),
            )
        else:
            _, value = library_regularizer(
                "fr", method, make_logits, labels, reuse=True
            )
        initializer = tf.compat.v1.global_variables_initializer()
    session = start_session(graph, initializer, num_threads)

    def run():
        for _ in range(calls):
            session.run(value)

    return run, float(session.run(value))


def value_rows(settings):
    """Rows of group 3: library value vs per-example jacobians."""
    size = settings.value_size
    built = {
        None: build_value(
            size, None, settings.jacobian_calls, settings.num_threads
        )
    }
    for method in METHODS:
        built[method] = build_value(
            size, method, settings.value_calls, settings.num_threads
        )
    calls = {method: settings.value_calls for method in METHODS}
    calls[None] = settings.jacobian_calls
    labels = {method: method or "jacobian" for method in built}
    measurements = time_interleaved(
        "value",
        [Timed(labels[method], run) for method, (run, _) in built.items()],
        settings.repeats,
    )
    call_seconds = {
        method: per_unit(measurements[labels[method]], calls[method])
        for method in built
    }
    reference = built[None][1]
    where = f"{size.describe()}, float32"
    rows = [
        make_row(
            "value/jacobian",
            f"{where}: fr value from per-example jacobians, "
            f"{min(JACOBIAN_CHUNK, size.batch)} examples per map_fn iteration "
            f"(baseline)",
            statistics.median(call_seconds[None]),
            1.0,
        )
    ]
    for method in METHODS:
        difference = abs(built[method][1] - reference) / abs(reference)
        rows.append(
            make_row(
                f"value/fr/{method}",
                f"{where}: jacobian time / library {method} time; values "
                f"differ by {difference:.1e}",
                statistics.median(call_seconds[method]),
                median_ratio(call_seconds[None], call_seconds[method]),
                ">= 10",
                settings.judge_targets,
            )
        )
    return rows


# ---------------------------------------------------------------------------
# Group 4: gradient accuracy.


def tangent_log_prob_derivative(inputs, parameters):
    """Exact d/de log softmax(f(x; (1 + e) theta)) at e = 0, by hand.

    Forward-mode by hand through the MLP: with pre-activations
    z_l = h_{l-1} W_l + b_l, scaling every parameter by (1 + e) gives
    dz_l/de = (dh_{l-1}/de) W_l + z_l and dh_l/de = 1[z_l > 0] dz_l/de.
    Independent of the library (no custom getter, no autodiff for the
    derivative itself); differentiable in the parameters.

    Returns:
      `(log_probs, derivative)`, both of shape `[batch, classes]`.
    """
    hidden, tangent = inputs, None
    for index, (kernel, bias) in enumerate(parameters):
        pre_activation = tf.matmul(hidden, kernel) + bias
        if tangent is None:  # The inputs do not depend on e.
            tangent = pre_activation
        else:
            tangent = tf.matmul(tangent, kernel) + pre_activation
        if index < len(parameters) - 1:
            active = tf.cast(pre_activation > 0, pre_activation.dtype)
            hidden, tangent = tf.nn.relu(pre_activation), active * tangent
        else:
            hidden = pre_activation
    log_probs = tf.nn.log_softmax(hidden)
    # d log softmax_k(z) = dz_k - sum_j softmax_j(z) dz_j.
    derivative = tangent - tf.reduce_sum(
        tf.exp(log_probs) * tangent, axis=-1, keepdims=True
    )
    return log_probs, derivative


def regularizer_from_derivative(norm, log_probs, derivative, labels):
    """The standard ('fr') or empirical ('fre') norm from d log softmax."""
    if norm == "fr":
        return tf.reduce_mean(
            tf.reduce_sum(tf.exp(log_probs) * tf.square(derivative), axis=-1)
        )
    return tf.reduce_mean(
        tf.square(tf.reduce_sum(labels * derivative, axis=-1))
    )


def reference_gradients(size):
    """Float64 reference values and gradients, and their jacobian check.

    Returns:
      `(reference, check)`: `reference[norm]` is `(value, gradients)` with
      the gradients as arrays in layer order; `check` is the relative
      difference between the hand-written derivative and per-example
      jacobians on the first REFERENCE_CHECK_EXAMPLES examples.
    """
    inputs_array, labels_array = synthetic_batch(size)
    graph = tf.Graph()
    with graph.as_default():
        parameters = [
            tuple(tf.constant(array) for array in pair)
            for pair in initial_parameters(size)
        ]
        flat = [parameter for pair in parameters for parameter in pair]
        inputs, labels = tf.constant(inputs_array), tf.constant(labels_array)
        log_probs, derivative = tangent_log_prob_derivative(inputs, parameters)
        fetches = {}
        for norm in NORMS:
            value = regularizer_from_derivative(
                norm, log_probs, derivative, labels
            )
            fetches[norm] = (value, tf.gradients(value, flat))
        examples = min(REFERENCE_CHECK_EXAMPLES, size.batch)
        _, jacobian_derivative = jacobian_log_prob_derivative(
            inputs[:examples], parameters
        )
        check = tf.norm(derivative[:examples] - jacobian_derivative) / tf.norm(
            jacobian_derivative
        )
    graph.finalize()
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run((fetches, check))


def library_gradients(size, dtype, num_threads):
    """`{(norm, method): (value, gradients)}` of the library, as arrays."""
    graph = tf.Graph()
    with graph.as_default():
        _, labels, make_logits, variables = build_mlp_on_batch(size, dtype)
        fetches = {}
        for norm in NORMS:
            for method in METHODS:
                _, value = library_regularizer(
                    norm, method, make_logits, labels, reuse=True
                )
                fetches[(norm, method)] = (
                    value,
                    tf.gradients(value, variables),
                )
        initializer = tf.compat.v1.global_variables_initializer()
    session = start_session(graph, initializer, num_threads)
    with session:
        return session.run(fetches)


def switching_units(parameters, inputs, scales):
    """ReLU units that switch on or off between two scalings of theta.

    Each such unit adds an O(1/eps) term to a finite difference's gradient.

    Args:
      parameters: `(kernel, bias)` arrays of the MLP.
      inputs: A batch of inputs (array).
      scales: Two factors multiplying every parameter.

    Returns:
      The number of (example, unit) pairs, over every ReLU layer, whose
      pre-activation is > 0 under one scaling and not the other (float64).
    """
    patterns = []
    for scale in scales:
        hidden, active = inputs, []
        for kernel, bias in parameters[:-1]:
            pre_activation = hidden @ (scale * kernel) + scale * bias
            active.append(pre_activation > 0)
            hidden = np.maximum(pre_activation, 0.0)
        patterns.append(np.concatenate([layer.ravel() for layer in active]))
    return int(np.sum(patterns[0] != patterns[1]))


def relative_error(values, references):
    """||values - references|| / ||references|| over lists of arrays."""
    difference = math.sqrt(
        sum(
            np.sum(np.square(np.asarray(value, np.float64) - reference))
            for value, reference in zip(values, references, strict=True)
        )
    )
    norm = math.sqrt(
        sum(np.sum(np.square(reference)) for reference in references)
    )
    return difference / norm


def gradient_error_rows(settings):
    """Rows of group 4 (no targets: information)."""
    size = settings.mnist_size
    logging.info("gradient_error: float64 reference at %s", size.describe())
    reference, check = reference_gradients(size)
    where = f"{size.describe()}, nonzero biases"
    parameters, (inputs, _) = initial_parameters(size), synthetic_batch(size)
    switches = {
        method: switching_units(parameters, inputs, scales)
        for method, scales in (
            ("forward", (1.0, 1.0 + PERTURBATION)),
            ("central", (1.0 - PERTURBATION, 1.0 + PERTURBATION)),
        )
    }
    rows = [
        make_row(
            "gradient_error/reference_check",
            f"{where}, float64: reference's derivative vs per-example "
            f"jacobians on {min(REFERENCE_CHECK_EXAMPLES, size.batch)} examples",
            None,
            float(check),
        )
    ]
    for dtype in (tf.float64, tf.float32):
        logging.info("gradient_error: library gradients in %s", dtype.name)
        library = library_gradients(size, dtype, settings.num_threads)
        for norm in NORMS:
            reference_value, reference_gradient = reference[norm]
            for method in METHODS:
                value, gradient = library[(norm, method)]
                value_error = abs(value - reference_value) / reference_value
                switched = (
                    f"; {switches[method]} (example, unit) pairs switch"
                    if method in switches
                    else ""
                )
                rows.append(
                    make_row(
                        f"gradient_error/{dtype.name}/{norm}/{method}",
                        f"{where}, {dtype.name}: {norm} {method} gradient vs "
                        f"reference (value error {value_error:.1e}{switched})",
                        None,
                        relative_error(gradient, reference_gradient),
                    )
                )
    return rows


# ---------------------------------------------------------------------------
# Group 5: the training script against the original design.


def script_config(norm, steps):
    """The script's default flags with `norm`, `steps` steps, no mid-run
    evaluation (only at step 0 and after the last step)."""
    config = synthetic_classification.resolve_config(
        synthetic_classification.default_config()
    )
    config.update(
        regularization_norm=norm, train_steps=steps, eval_steps=10 * steps
    )
    return config


def run_script(norm, steps, num_threads):
    """Runs synthetic_classification.run_experiment; checks it ran `steps`."""
    results = synthetic_classification.run_experiment(
        script_config(norm, steps), num_threads=num_threads
    ).results
    if len(results["regularizer_loss"]) != steps:
        raise RuntimeError(
            f"run_experiment ran {len(results['regularizer_loss'])} steps, "
            f"not {steps}."
        )


def build_original_design(steps, num_threads):
    """The 2018 training loop, re-created; returns a callable running `steps`.

    As the original: a one-shot iterator over a cached, repeated, batched
    tf.data dataset; each step runs the iterator's `get_next` into Python,
    then feeds the batch back through placeholders to run the train op and
    fetch the regularizer (two session calls per step). Same data, network
    and regularizer as the script's defaults with `fr`, and the original's
    total loss `loss + fisher_rao_lambda * regularizer` (so the regularizer's
    gradient is computed even at lambda 0, as it was).
    """
    config = script_config("fr", steps)
    train_inputs, train_labels = _script_training_data(config)
    graph = tf.Graph()
    with graph.as_default():
        dataset = (
            tf.data.Dataset.from_tensor_slices((train_inputs, train_labels))
            .cache()
            .repeat()
            .batch(config["batch_size"])
        )
        next_batch = tf.compat.v1.data.make_one_shot_iterator(
            dataset
        ).get_next()
        input_batch = tf.compat.v1.placeholder(
            tf.float32, [None, config["input_dimension"]]
        )
        label_batch = tf.compat.v1.placeholder(
            tf.float32, [None, config["num_classes"]]
        )
        logits, regularizer = library_regularizer(
            "fr",
            "forward",
            lambda: synthetic_classification.make_logits(input_batch, config),
            label_batch,
            reuse=False,
        )
        loss = (
            mean_cross_entropy(label_batch, logits)
            + config["fisher_rao_lambda"] * regularizer
        )
        train = tf.compat.v1.train.GradientDescentOptimizer(
            config["learning_rate"]
        ).minimize(loss)
        initializer = tf.compat.v1.global_variables_initializer()
    session = start_session(graph, initializer, num_threads)
    regularizer_trajectory = []

    def run():
        for _ in range(steps):
            batch_inputs, batch_labels = session.run(next_batch)
            value, _ = session.run(
                (regularizer, train),
                feed_dict={
                    input_batch: batch_inputs,
                    label_batch: batch_labels,
                },
            )
            regularizer_trajectory.append(value)

    return run


def _script_training_data(config):
    """The script's training set (the same data), as float32 arrays."""
    with tf.Graph().as_default() as graph:
        inputs, labels = synthetic_classification.make_data(config)
    graph.finalize()
    with tf.compat.v1.Session(graph=graph) as session:
        inputs, labels = session.run((inputs, labels))
    return inputs[: config["train_size"]], labels[: config["train_size"]]


def script_rows(settings):
    """Rows of group 5: the script's time per step, original design vs now.

    A run_experiment call also builds its graph and evaluates twice; timing
    runs of `short` and `long` steps in the same round and taking the
    difference leaves the time of `long - short` training steps.
    """
    short, long = settings.script_steps
    steps = long - short
    timed = [
        Timed(
            "original design",
            build_original_design(steps, settings.num_threads),
        )
    ]
    for norm in ("fr", "None"):
        for count in (short, long):
            timed.append(
                Timed(
                    f"script {norm} {count}",
                    lambda norm=norm, count=count: run_script(
                        norm, count, settings.num_threads
                    ),
                )
            )
    measurements = time_interleaved("script", timed, settings.repeats)
    step_seconds = {
        "original": per_unit(measurements["original design"], steps)
    }
    for norm in ("fr", "None"):
        differences = [
            later - earlier
            for earlier, later in zip(
                measurements[f"script {norm} {short}"],
                measurements[f"script {norm} {long}"],
                strict=True,
            )
        ]
        step_seconds[norm] = per_unit(differences, steps)
        if statistics.median(step_seconds[norm]) <= 0:
            raise RuntimeError(
                f"The training script's time per step could not be measured: "
                f"its {long}-step runs ({norm}) were not slower than its "
                f"{short}-step runs. The machine is too busy for this few "
                f"steps; rerun, without --quick or --smoke."
            )
    judge = settings.judge_targets
    where = (
        f"default flags, {steps} steps ({long}-step run minus "
        f"{short}-step run)"
    )
    seconds = {
        key: statistics.median(values) for key, values in step_seconds.items()
    }
    return [
        make_row(
            "script/original_design",
            f"2018 design re-created, fr, {steps} steps: get_next into "
            f"Python, feed_dict back, 2 session calls per step "
            f"(baseline)",
            seconds["original"],
            1.0,
        ),
        make_row(
            "script/fr",
            f"{where}, fr: original time / script time",
            seconds["fr"],
            median_ratio(step_seconds["original"], step_seconds["fr"]),
            ">= 2",
            judge,
        ),
        make_row(
            "script/None",
            f"{where}, None: original time / script time",
            seconds["None"],
            median_ratio(step_seconds["original"], step_seconds["None"]),
        ),
        make_row(
            "script/fr_over_None",
            f"{where}: fr step / None step",
            seconds["fr"],
            median_ratio(step_seconds["fr"], step_seconds["None"]),
            "<= 2",
            judge,
        ),
    ]


# ---------------------------------------------------------------------------
# Report.


def machine_description():
    """Facts about this run: machine, versions, date, command, load."""
    cpu_model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "tensorflow": tf.__version__,
        "tf_enable_onednn_opts": os.environ["TF_ENABLE_ONEDNN_OPTS"],
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "command": shlex.join(["python3"] + sys.argv),
        "load_average_at_start": list(os.getloadavg()),
    }


def markdown_table(rows):
    """The rows as a Markdown table."""
    lines = [
        "| name | configuration | seconds | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        seconds = "-" if row.seconds is None else f"{row.seconds:.3g}"
        # Four significant digits, trailing zeros kept (a ratio of 1.9004
        # must not print as its target 1.9), but no bare trailing point.
        ratio = f"{row.ratio:#.4g}".rstrip(".")
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        lines.append(
            f"| {row.name} | {row.configuration} | {seconds} | "
            f"{ratio} | {row.target or '-'} | {met} |"
        )
    return "\n".join(lines)


def write_rows(path, machine, mode, rows):
    """Writes the run as strict JSON to the new file `path`, atomically."""
    data = {
        "machine": machine,
        "mode": mode,
        "rows": [dataclasses.asdict(row) for row in rows],
    }
    directory, file_name = os.path.split(os.path.abspath(path))
    written = results_io.write_json_atomically(
        data, directory, file_name[: -len(".json")]
    )
    if written != os.path.abspath(path):
        logging.warning(
            "%s appeared during the run; the rows went to %s instead.",
            path,
            written,
        )
    return written


def selected_settings():
    if FLAGS.smoke:
        settings, mode = SMOKE_SETTINGS, "smoke"
    elif FLAGS.quick:
        settings, mode = QUICK_SETTINGS, "quick"
    else:
        settings, mode = FULL_SETTINGS, "full"
    if FLAGS.repeats:
        settings = dataclasses.replace(settings, repeats=FLAGS.repeats)
    settings = dataclasses.replace(settings, num_threads=FLAGS.num_threads)
    return settings, mode


def run_groups(settings, groups):
    """Runs the selected groups in order; returns all their rows."""
    rows = []
    for index, group in enumerate(groups):
        logging.info("Group %d/%d: %s", index + 1, len(groups), group)
        if group == "train_step":
            rows += train_step_rows(
                DEFAULT_SIZE, settings.default_steps, settings
            )
            rows += train_step_rows(
                settings.mnist_size, settings.mnist_steps, settings
            )
        elif group == "keras_step":
            rows += keras_step_rows(settings)
        elif group == "value":
            rows += value_rows(settings)
        elif group == "gradient_error":
            rows += gradient_error_rows(settings)
        else:
            rows += script_rows(settings)
        # A group's graphs and models are garbage once it returns. Collected
        # now, they take a fraction of a second; left to a collection the
        # interpreter starts later, the Keras group's stalled the script
        # group for 15 s.
        gc.collect()
    return rows


def define_flags(flag_values=flags.FLAGS):
    """Defines the command-line flags.

    Called only when run as a script, so that importing this module (the
    tests do) adds no flags that could clash with the importer's.
    """
    flags.DEFINE_bool(
        "quick",
        False,
        "Fewer rounds and steps: a meaningful run of under two minutes.",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "smoke",
        False,
        "Tiny sizes and one round, for the test suite: checks "
        "that every row runs; its numbers mean nothing and no "
        "target is judged (met is null).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "json",
        None,
        "If given, also write the rows as strict JSON to this "
        "new .json file (an existing file is never "
        "overwritten).",
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "repeats",
        None,
        "Timed rounds per group (default 11; 5 with --quick, 1 with --smoke).",
        lower_bound=1,
        flag_values=flag_values,
    )
    flags.DEFINE_integer(
        "num_threads",
        None,
        "Size of TensorFlow's intra- and inter-op thread "
        "pools in every session and for the Keras steps "
        "(default: TensorFlow's choice).",
        lower_bound=1,
        flag_values=flag_values,
    )
    flags.DEFINE_multi_enum(
        "groups",
        list(GROUPS),
        GROUPS,
        "Groups of rows to run, all by default",
        flag_values=flag_values,
    )
    flags.mark_bool_flags_as_mutual_exclusive(
        ["quick", "smoke"], flag_values=flag_values
    )
    flags.register_validator(
        "json",
        lambda path: (
            path is None
            or (path.endswith(".json") and not os.path.exists(path))
        ),
        message="--json must name a new file ending in .json (results files "
        "are never overwritten).",
        flag_values=flag_values,
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    settings, mode = selected_settings()
    if settings.num_threads:
        # The Keras steps run in the eager context, not in a session.
        tf.config.threading.set_intra_op_parallelism_threads(
            settings.num_threads
        )
        tf.config.threading.set_inter_op_parallelism_threads(
            settings.num_threads
        )
    machine = machine_description()
    groups = [group for group in GROUPS if group in FLAGS.groups]
    start = time.perf_counter()
    rows = run_groups(settings, groups)
    machine["load_average_at_end"] = list(os.getloadavg())
    machine["seconds"] = round(time.perf_counter() - start, 1)
    print(
        f"{machine['nproc']} CPUs ({machine['cpu_model']}), TensorFlow "
        f"{machine['tensorflow']} (TF_ENABLE_ONEDNN_OPTS="
        f"{machine['tf_enable_onednn_opts']}), {machine['date']}, "
        f"{mode} mode, "
        f"{settings.repeats} rounds, {machine['seconds']} s\n"
        f"Command: {machine['command']}\n"
    )
    print(markdown_table(rows))
    if FLAGS.json:
        logging.info(
            "Rows written to %s", write_rows(FLAGS.json, machine, mode, rows)
        )
    missed = [row.name for row in rows if row.met is False]
    if missed:
        logging.warning("Targets not met: %s", ", ".join(missed))


if __name__ == "__main__":
    define_flags()
    app.run(main)
