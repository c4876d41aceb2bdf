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
r"""Trains a ReLU classifier with or without the Fisher-Rao regularizer.

The data (`datasets`: synthetic, or scikit-learn's digits, with optional
label noise on the training rows) are split into train, validation and test
rows. A multi-layer perceptron is trained on mean cross-entropy +
fisher_rao_lambda * regularizer + weight_decay * sum of squared kernels,
where the regularizer is the standard (`fr`) or empirical (`fre`) Fisher-Rao
norm of `direct_fisher_rao` over every variable, or nothing (`None`).

Every `--eval_steps` steps (from step 0, and after the last step) the loss
and accuracy on the full train, validation and test rows are recorded, with
the complexity measures of `complexity_measures` on the training rows; the
regularizer's value on every training batch. The results go to a new
strict-JSON file in `--output_dir`, the final weights to a TF checkpoint
beside it.

Everything runs in one finalized graph: the data live in it, and training
steps run inside a `tf.while_loop`, in session calls of about a quarter of a
second, so that Ctrl-C stops within about a second and keeps every step.

  python3 synthetic_classification.py --regularization_norm=fre \
      --fisher_rao_lambda=0.01 --fisher_rao_method=exact
  python3 synthetic_classification.py --dataset=digits --label_noise=0.2 \
      --validation_size=200 --stop_train_loss=0.01

`run_experiment(config)` is the same training as a function (used by the
sweep); `main` is a thin absl wrapper around it.
"""

import contextlib
import dataclasses
import datetime
import glob
import hashlib
import itertools
import json
import math
import numbers
import os
import shlex
import signal
import sys
import threading
import time

# Both only act if this module is imported before TensorFlow. oneDNN's
# kernels cost more than they save on tensors this small (a training step
# takes about twice as long with them); TF_ENABLE_ONEDNN_OPTS=1 turns them on.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from absl import app, flags, logging  # noqa: E402

import direct_fisher_rao  # noqa: E402
from fisher_rao_experiments import data as datasets
from fisher_rao_experiments import measures as complexity_measures
from fisher_rao_experiments import results_io

NORMS = ("None", "fr", "fre")
OPTIMIZERS = ("sgd", "adam")
# Finite-difference step of the regularizer, as in the original experiment.
PERTURBATION = 1e-4
MODEL_SCOPE = "model"
_BATCH_STREAM = 3  # Stateless stream of the batch order (datasets use others).
# Training steps are run in session calls of about this many seconds: short
# enough for Ctrl-C to answer at once, long enough to cost nothing.
SECONDS_PER_SESSION_CALL = 0.25

FLAGS = flags.FLAGS

flags.DEFINE_enum(
    "dataset",
    "synthetic",
    datasets.DATASETS,
    "synthetic: Gaussian inputs labelled by a random linear "
    "teacher; digits: scikit-learn's 8x8 handwritten digits "
    "(1797 examples, 64 features, 10 classes).",
)
flags.DEFINE_enum(
    "regularization_norm",
    "fr",
    NORMS,
    "None: no regularization; fr: standard Fisher-Rao norm; "
    "fre: empirical Fisher-Rao norm.",
)
flags.DEFINE_float(
    "fisher_rao_lambda",
    0.0,
    "Factor of the regularizer in the training loss (>= 0).",
)
flags.DEFINE_bool(
    "differentiate_probability",
    True,
    "fr only: whether gradients flow through the softmax "
    "probabilities weighting the norm.",
)
flags.DEFINE_enum(
    "fisher_rao_method",
    "forward",
    direct_fisher_rao.METHODS,
    "How the regularizer's derivative is taken: forward or "
    "central finite difference, or exact (forward-mode "
    "autodiff, the right gradient for ReLU nets with biases).",
)
flags.DEFINE_float(
    "weight_decay",
    0.0,
    "Factor of the sum of squared kernels (not biases) in the "
    "training loss (>= 0).",
)
flags.DEFINE_enum("optimizer", "sgd", OPTIMIZERS, "Optimizer.")
flags.DEFINE_float("learning_rate", 1e-3, "Learning rate (> 0).")
flags.DEFINE_integer("train_steps", 100001, "Number of training steps.")
flags.DEFINE_integer(
    "eval_steps",
    2000,
    "Steps between evaluations on the full train, validation and test sets.",
)
flags.DEFINE_float(
    "stop_train_loss",
    None,
    "If given, stop at the first evaluation whose training "
    "cross-entropy is <= this (>= 0); default: train all "
    "--train_steps.",
)
flags.DEFINE_integer(
    "batch_size", 64, "Training batch size (<= train_size - validation_size)."
)
flags.DEFINE_integer(
    "train_size",
    None,
    "Training examples, the validation split included "
    "(default: 5000 for synthetic, 1000 for digits).",
)
flags.DEFINE_integer(
    "validation_size",
    0,
    "Examples taken out of the training examples to "
    "validate on (>= 0, < train_size).",
)
flags.DEFINE_integer(
    "test_size",
    None,
    "Test examples (default: 1000 for synthetic, 597 for "
    "digits; digits has 1797 examples in all).",
)
flags.DEFINE_float(
    "label_noise",
    0.0,
    "Probability in [0, 1] that a training label is replaced "
    "by a class drawn uniformly at random (1: random labels); "
    "validation and test labels stay clean.",
)
flags.DEFINE_integer(
    "num_hidden_layers", 3, "Hidden layers after the input layer."
)
flags.DEFINE_integer("layer_width", 10, "Units of every ReLU layer.")
flags.DEFINE_integer(
    "random_seed",
    1,
    "Seed of the data, the split, the "
    "label noise, the initial weights and the batch order.",
)
flags.DEFINE_integer(
    "input_dimension",
    None,
    "Dimension of the inputs (default: 10 for synthetic; "
    "digits: 64, set by the data).",
)
flags.DEFINE_integer(
    "num_classes",
    None,
    "Number of classes (default: 2 for synthetic; digits: "
    "10, set by the data).",
)
flags.DEFINE_string(
    "output_dir",
    results_io.DEFAULT_RESULTS_DIR,
    "Directory of the results files and checkpoints "
    "(created if missing). The default is shared by every "
    "run and may be wiped on reboot: name one for work you "
    "keep.",
)
flags.DEFINE_string(
    "summary_dir",
    None,
    "If given, also write TensorBoard scalar summaries of "
    "every recorded quantity there.",
)

CONFIG_KEYS = (
    "dataset",
    "regularization_norm",
    "fisher_rao_lambda",
    "differentiate_probability",
    "fisher_rao_method",
    "weight_decay",
    "optimizer",
    "learning_rate",
    "train_steps",
    "eval_steps",
    "stop_train_loss",
    "batch_size",
    "train_size",
    "validation_size",
    "test_size",
    "label_noise",
    "num_hidden_layers",
    "layer_width",
    "random_seed",
    "input_dimension",
    "num_classes",
    "output_dir",
    "summary_dir",
)
OUTPUT_KEYS = results_io.OUTPUT_KEYS
_ENUM_CHOICES = {
    "dataset": datasets.DATASETS,
    "regularization_norm": NORMS,
    "fisher_rao_method": direct_fisher_rao.METHODS,
    "optimizer": OPTIMIZERS,
}


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _integer_at_least(lowest):
    return lambda value: _is_integer(value) and value >= lowest


def _finite_at_least(lowest):
    return lambda value: (
        _is_real(value) and math.isfinite(value) and value >= lowest
    )


def _or_none(check):
    return lambda value: value is None or check(value)


# Key -> (check, what is allowed). The flag validators and validate_config
# share these rules, so a config refused here is refused on the command line.
_RULES = {
    "fisher_rao_lambda": (_finite_at_least(0), "a finite number >= 0"),
    "differentiate_probability": (
        lambda value: isinstance(value, (bool, np.bool_)),
        "true or false",
    ),
    "weight_decay": (_finite_at_least(0), "a finite number >= 0"),
    "learning_rate": (
        lambda value: _is_real(value) and math.isfinite(value) and value > 0,
        "a finite number > 0",
    ),
    "train_steps": (_integer_at_least(1), "an integer >= 1"),
    "eval_steps": (_integer_at_least(1), "an integer >= 1"),
    "stop_train_loss": (
        _or_none(_finite_at_least(0)),
        "a finite number >= 0, or unset",
    ),
    "batch_size": (_integer_at_least(1), "an integer >= 1"),
    "train_size": (
        _or_none(_integer_at_least(1)),
        "an integer >= 1, or unset for the data set's default",
    ),
    "validation_size": (_integer_at_least(0), "an integer >= 0"),
    "test_size": (
        _or_none(_integer_at_least(1)),
        "an integer >= 1, or unset for the data set's default",
    ),
    "label_noise": (
        lambda value: _is_real(value) and 0 <= value <= 1,
        "a number in [0, 1]",
    ),
    "num_hidden_layers": (_integer_at_least(0), "an integer >= 0"),
    "layer_width": (_integer_at_least(1), "an integer >= 1"),
    "random_seed": (
        lambda value: _is_integer(value) and 0 <= value < 2**31,
        "an integer in [0, 2**31)",
    ),
    "input_dimension": (
        _or_none(_integer_at_least(1)),
        "an integer >= 1, or unset for the data set's",
    ),
    "num_classes": (
        _or_none(_integer_at_least(2)),
        "an integer >= 2, or unset for the data set's",
    ),
    "output_dir": (
        lambda value: isinstance(value, str) and bool(value),
        "a non-empty directory path",
    ),
    "summary_dir": (
        lambda value: value is None or isinstance(value, str),
        "a directory path, or None for no summaries",
    ),
}
# Flags whose allowed values depend on each other (checked on the resolved
# configuration by _check_sizes).
_SIZE_KEYS = (
    "dataset",
    "batch_size",
    "train_size",
    "validation_size",
    "test_size",
    "input_dimension",
    "num_classes",
)

for _name, (_check, _allowed) in _RULES.items():
    flags.register_validator(
        _name, _check, message=f"--{_name} must be {_allowed}."
    )


def _check_size_flags(values):
    try:
        _check_sizes(resolve_config(values), prefix="--")
    except ValueError as error:
        raise flags.ValidationError(str(error)) from None
    return True


flags.register_multi_flags_validator(_SIZE_KEYS, _check_size_flags)


class TrainingStopped(Exception):
    """Training ended early; `run` holds what was recorded until then."""

    def __init__(self, message, run):
        super().__init__(message)
        self.run = run

    @property
    def results(self):
        return self.run.results


class TrainingDivergedError(TrainingStopped):
    """The training loss became non-finite at step `step`."""

    def __init__(self, step, loss, run):
        super().__init__(
            f"Training diverged at step {step}: the training loss is {loss}. "
            f"Try a smaller --learning_rate or "
            f"--fisher_rao_lambda.",
            run,
        )
        self.step = step


class TrainingInterrupted(TrainingStopped):
    """Training was interrupted (Ctrl-C)."""


@dataclasses.dataclass
class TrainedRun:
    """What a training run produced.

    Attributes:
      results: The results file's contents (keys `results_io.RESULTS_KEYS`;
        `checkpoint` is None until saved).
      variables: The network's final variables, name -> numpy array.
    """

    results: dict
    variables: dict


def default_config():
    """Returns every training flag's name mapped to its default value."""
    return {key: FLAGS[key].default for key in CONFIG_KEYS}


def config_from_flags():
    """Returns the configuration given on the command line (parsed FLAGS)."""
    config = {key: FLAGS[key].value for key in CONFIG_KEYS}
    config["summary_dir"] = config["summary_dir"] or None
    return config


def resolve_config(config):
    """Returns a copy of `config` with the data set's default sizes filled in.

    `train_size`, `test_size`, `input_dimension` and `num_classes` left None
    take the values of `datasets.DEFAULT_SIZES[config["dataset"]]`; keys
    missing from `config` stay missing.
    """
    resolved = dict(config)
    defaults = datasets.DEFAULT_SIZES.get(config.get("dataset"), {})
    for key, value in defaults.items():
        if key in resolved and resolved[key] is None:
            resolved[key] = value
    return resolved


def validate_config(config):
    """Checks a configuration against the rules of the flags.

    Args:
      config: Dictionary with exactly the keys of `default_config()`; sizes
        may be None (the data set's default).

    Raises:
      ValueError: Naming the first offending key, its value and what is
        allowed.
    """
    missing = [key for key in CONFIG_KEYS if key not in config]
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if missing or unknown:
        raise ValueError(
            f"The configuration must have exactly the keys {CONFIG_KEYS}; "
            f"missing {missing}, unknown {unknown}."
        )
    for key, choices in _ENUM_CHOICES.items():
        if config[key] not in choices:
            raise ValueError(
                f"{key}={config[key]!r} is not allowed: must be "
                f"one of {', '.join(choices)}."
            )
    for key, (check, allowed) in _RULES.items():
        if not check(config[key]):
            raise ValueError(
                f"{key}={config[key]!r} is not allowed: must be {allowed}."
            )
    _check_sizes(resolve_config(config))


def _check_sizes(config, prefix=""):
    """Raises ValueError if the resolved sizes do not fit each other or the
    data set, naming keys with `prefix` ("--" for flags). Values that break
    their own rule are left to that rule."""
    if (
        any(
            not _RULES[key][0](config[key])
            for key in _SIZE_KEYS
            if key in _RULES
        )
        or config["dataset"] not in datasets.DATASETS
    ):
        return
    dataset, sizes = (
        config["dataset"],
        {key: f"{prefix}{key}={config[key]}" for key in _SIZE_KEYS},
    )
    defaults = datasets.DEFAULT_SIZES[dataset]
    for key in datasets.FIXED_SIZES.get(dataset, ()):
        if config[key] != defaults[key]:
            raise ValueError(
                f"{sizes[key]} is not allowed with {sizes['dataset']}: the "
                f"data set's is {defaults[key]} (leave it unset)."
            )
    if dataset == "digits":
        total = config["train_size"] + config["test_size"]
        if total > datasets.DIGITS_EXAMPLES:
            raise ValueError(
                f"{sizes['train_size']} plus {sizes['test_size']} is "
                f"{total}, more than the {datasets.DIGITS_EXAMPLES} examples "
                f"of digits."
            )
    if config["validation_size"] >= config["train_size"]:
        raise ValueError(
            f"{sizes['validation_size']} is not allowed: must be < "
            f"{sizes['train_size']} (it is taken out of the training "
            f"examples)."
        )
    training_rows = datasets.num_training_rows(config)
    if config["batch_size"] > training_rows:
        raise ValueError(
            f"{sizes['batch_size']} is not allowed: must be <= "
            f"{prefix}train_size - {prefix}validation_size = "
            f"{training_rows}."
        )


def hyperparameter_keys(config):
    """Returns the keys of `config` that decide what a run computes."""
    compared = set(results_io.compared_keys(config))
    return [key for key in CONFIG_KEYS if key in compared]


def config_fingerprint(config):
    """8 hex digits identifying what a resolved configuration computes.

    Equal for configurations with equal `hyperparameter_keys` values
    (numbers compared as floats), whatever their output directories.
    """

    def canonical(value):
        if _is_real(value):
            return repr(float(value))
        return value

    text = json.dumps(
        {key: canonical(config[key]) for key in hyperparameter_keys(config)},
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def find_complete_results(output_dir, config):
    """The path of a complete results file of `config` in `output_dir`.

    Looks only at the files named with the configuration's fingerprint.

    Returns:
      The path, or None if there is none.
    """
    pattern = os.path.join(
        glob.escape(output_dir), f"*_{config_fingerprint(config)}*.json"
    )
    for path in sorted(glob.glob(pattern)):
        try:
            results = results_io.load_results(path)
        except (OSError, ValueError):
            continue
        if results_io.is_complete(results) and results_io.hparams_match(
            config, results["hparams"]
        ):
            return path
    return None


def command_for_config(config):
    """Returns the command line that reproduces `config` (every flag given).

    Args:
      config: Dictionary with the keys of `default_config()`.

    Returns:
      `python3 synthetic_classification.py --key=value ...`, shell-quoted.
    """
    arguments = ["python3", "synthetic_classification.py"]
    for key in CONFIG_KEYS:
        value = config[key]
        if value is None:
            continue  # The flag's default: unset.
        if isinstance(value, (bool, np.bool_)):
            text = "true" if value else "false"
        elif isinstance(value, float):
            text = repr(value)  # Round-trips exactly.
        else:
            text = str(value)
        arguments.append(f"--{key}={text}")
    return shlex.join(arguments)


def evaluation_steps(train_steps, eval_steps):
    """Steps evaluated: 0, eval_steps, 2 * eval_steps, ..., and train_steps."""
    return list(range(0, train_steps, eval_steps)) + [train_steps]


def make_data(config):
    """Builds the configured data set as tensors (see `datasets.make_data`).

    Args:
      config: Training configuration, or a run's recorded hparams.

    Returns:
      `(inputs, labels)`: float32 tensors, labels one-hot, rows in the order
      train, validation, test; label noise on the training rows only.
    """
    return datasets.make_data(resolve_config(config))


def batch_indices(step, config):
    """Training rows of the batch of `step` (an int64 scalar tensor).

    Like shuffle-repeat-batch over the `train_size - validation_size`
    training rows: epoch after epoch, every training example is used once
    per epoch in an order shuffled anew each epoch, a batch may span two
    epochs. Stateless: the rows depend only on the seed and the step.

    Returns:
      An int64 tensor of shape `[batch_size]`.
    """
    batch_size = config["batch_size"]
    training_rows = datasets.num_training_rows(resolve_config(config))
    positions = tf.cast(step, tf.int64) * batch_size + tf.range(
        batch_size, dtype=tf.int64
    )
    epochs = positions // training_rows
    seeds = tf.stack(
        [
            tf.fill([batch_size], np.int64(config["random_seed"])),
            tf.fill([batch_size], np.int64(_BATCH_STREAM)),
            epochs,
        ],
        axis=1,
    )
    # The raw op, because tf.random.experimental.index_shuffle pads a batch
    # of seeds ([n, 2]) along the wrong axis in TF 2.21.
    return tf.raw_ops.RandomIndexShuffle(
        index=positions % training_rows,
        seed=seeds,
        max_index=tf.constant(training_rows - 1, tf.int64),
        rounds=4,
    )


def make_logits(inputs, config):
    """Builds the classifier under the current variable scope.

    dense(layer_width, ReLU), num_hidden_layers x dense(layer_width, ReLU),
    dense(num_classes). Every variable goes through
    `tf.compat.v1.get_variable`, so the regularizer's custom getter sees it.

    Returns:
      Logits of shape `[batch, num_classes]`.
    """
    widths = _layer_widths(resolve_config(config))
    hidden = inputs
    for index, width in enumerate(widths):
        hidden = _dense(hidden, width, f"dense_{index}", seed=index)
        if index < len(widths) - 1:
            hidden = tf.nn.relu(hidden)
    return hidden


def _layer_widths(config):
    return [config["layer_width"]] * (config["num_hidden_layers"] + 1) + [
        config["num_classes"]
    ]


def _dense(inputs, units, name, seed):
    """`inputs @ kernel + bias` with a Glorot-uniform kernel, zero bias."""
    with tf.compat.v1.variable_scope(name):
        kernel = tf.compat.v1.get_variable(
            "kernel",
            [inputs.shape[-1], units],
            initializer=tf.compat.v1.glorot_uniform_initializer(seed=seed),
        )
        bias = tf.compat.v1.get_variable(
            "bias", [units], initializer=tf.compat.v1.zeros_initializer()
        )
    return tf.matmul(inputs, kernel) + bias


def model_layers(config):
    """The `(kernel, bias)` variables of the model, input layer first.

    The variables must already exist in `MODEL_SCOPE`.
    """
    layers = []
    with tf.compat.v1.variable_scope(MODEL_SCOPE, reuse=True):
        for index in range(len(_layer_widths(resolve_config(config)))):
            with tf.compat.v1.variable_scope(f"dense_{index}"):
                layers.append(
                    (
                        tf.compat.v1.get_variable("kernel"),
                        tf.compat.v1.get_variable("bias"),
                    )
                )
    return layers


def num_parameters(config):
    """The number of the model's trainable parameters (weights and biases)."""
    config = resolve_config(config)
    widths = [config["input_dimension"]] + _layer_widths(config)
    return sum(
        (fan_in + 1) * fan_out
        for fan_in, fan_out in itertools.pairwise(widths)
    )


def regularize_every_variable(unused_name):
    """The `should_regularize` of the experiment: theta_S is all of theta."""
    return True


def batch_logits_and_regularizer(inputs, labels, config):
    """Logits and regularizer of a batch, sharing the model's variables.

    The variables must already exist in `MODEL_SCOPE`.

    Returns:
      `(logits, regularizer)`; the regularizer is 0 for norm `None`.
    """

    def make_batch_logits():
        return make_logits(inputs, config)

    norm, method = config["regularization_norm"], config["fisher_rao_method"]
    if norm == "fr":
        return direct_fisher_rao.make_standard_fisher_regularizer(
            make_batch_logits,
            MODEL_SCOPE,
            regularize_every_variable,
            PERTURBATION,
            config["differentiate_probability"],
            method,
            reuse=True,
        )
    if norm == "fre":
        return direct_fisher_rao.make_empirical_fisher_regularizer(
            make_batch_logits,
            labels,
            MODEL_SCOPE,
            regularize_every_variable,
            PERTURBATION,
            method,
            reuse=True,
        )
    with tf.compat.v1.variable_scope(MODEL_SCOPE, reuse=True):
        return make_batch_logits(), tf.constant(0.0)


def mean_cross_entropy(labels, logits):
    """Softmax cross-entropy averaged over the batch (no regularizer)."""
    return tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )


def sum_of_squared_kernels(config):
    """The weight-decay penalty without its factor: sum_l ||W_l||_F^2."""
    return tf.add_n(
        [
            tf.reduce_sum(tf.square(kernel))
            for kernel, _ in model_layers(config)
        ]
    )


def _accuracy(labels, logits):
    correct = tf.equal(tf.argmax(logits, axis=-1), tf.argmax(labels, axis=-1))
    return tf.reduce_mean(tf.cast(correct, tf.float32))


def _make_optimizer(config):
    if config["optimizer"] == "adam":
        return tf.compat.v1.train.AdamOptimizer(config["learning_rate"])
    return tf.compat.v1.train.GradientDescentOptimizer(config["learning_rate"])


class _TrainingGraph:
    """Every op of a run, built once; the graph is finalized afterwards.

    Attributes:
      graph: The finalized graph.
      initializer: Op initializing every variable.
      evaluation: Dict of scalars: loss and accuracy of every split, and the
        complexity measures on the training rows.
      model_variables: The network's trainable variables.
      start_step, end_step: int64 placeholders bounding a chunk of steps.
      chunk: Dict: `regularizers` (one per step run), `end_step` (the step
        after the last one run) and `last_loss` (the last step's training
        loss; the chunk stops early after a non-finite one).
    """

    def __init__(self, config):
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.random.set_random_seed(config["random_seed"])
            self._build(config)
        self.graph.finalize()

    def _build(self, config):
        # Variables, so the data are drawn once per session, not per call.
        inputs, labels = make_data(config)
        inputs = tf.Variable(inputs, trainable=False, name="inputs")
        labels = tf.Variable(labels, trainable=False, name="labels")
        training_rows = datasets.num_training_rows(config)
        self._train_inputs = inputs[:training_rows]
        self._train_labels = labels[:training_rows]
        # The evaluation tower creates the model's variables.
        with tf.compat.v1.variable_scope(MODEL_SCOPE):
            logits = make_logits(inputs, config)
        self.model_variables = tf.compat.v1.trainable_variables(MODEL_SCOPE)
        self.evaluation = {}
        splits = (
            ("train", 0, training_rows),
            ("validation", training_rows, config["train_size"]),
            ("test", config["train_size"], None),
        )
        for split, start, end in splits:
            # An empty split's mean is NaN, recorded as null.
            self.evaluation[f"{split}_loss"] = mean_cross_entropy(
                labels[start:end], logits[start:end]
            )
            self.evaluation[f"{split}_accuracy"] = _accuracy(
                labels[start:end], logits[start:end]
            )
        self.evaluation.update(
            complexity_measures.all_measures(
                lambda: make_logits(self._train_inputs, config),
                self._train_labels,
                MODEL_SCOPE,
                model_layers(config),
            )
        )
        self.start_step = tf.compat.v1.placeholder(tf.int64, [], "start_step")
        self.end_step = tf.compat.v1.placeholder(tf.int64, [], "end_step")
        self.chunk = self._build_chunk(config)
        # After the chunk: the optimizer's variables exist only then.
        self.initializer = tf.compat.v1.global_variables_initializer()

    def _build_chunk(self, config):
        """A while loop training from start_step up to end_step."""
        optimizer = _make_optimizer(config)
        lambda_ = config["fisher_rao_lambda"]
        weight_decay = config["weight_decay"]

        def keep_going(step, last_loss, unused_regularizers):
            return tf.logical_and(
                step < self.end_step, tf.math.is_finite(last_loss)
            )

        def train_one_step(step, unused_last_loss, regularizers):
            rows = batch_indices(step, config)
            batch_labels = tf.gather(self._train_labels, rows)
            logits, regularizer = batch_logits_and_regularizer(
                tf.gather(self._train_inputs, rows), batch_labels, config
            )
            loss = mean_cross_entropy(batch_labels, logits)
            if lambda_:  # Else no gradient flows through the regularizer.
                loss += lambda_ * regularizer
            if weight_decay:
                loss += weight_decay * sum_of_squared_kernels(config)
            # Nothing in the loop orders the reads of the variables (e.g. the
            # regularizer's extra passes) before their update: force it.
            with tf.control_dependencies([loss, regularizer]):
                update = optimizer.minimize(
                    loss, var_list=self.model_variables
                )
            with tf.control_dependencies([update]):
                index = tf.cast(step - self.start_step, tf.int32)
                return (
                    step + 1,
                    tf.identity(loss),
                    regularizers.write(index, regularizer),
                )

        num_steps = tf.cast(self.end_step - self.start_step, tf.int32)
        regularizers = tf.TensorArray(tf.float32, size=num_steps)
        end_step, last_loss, regularizers = tf.compat.v1.while_loop(
            keep_going,
            train_one_step,
            [self.start_step, tf.constant(0.0), regularizers],
        )
        steps_run = tf.cast(end_step - self.start_step, tf.int32)
        return {
            "regularizers": regularizers.stack()[:steps_run],
            "end_step": end_step,
            "last_loss": last_loss,
        }


def run_experiment(config, num_threads=None):
    """Trains as configured.

    Args:
      config: Dictionary with every key of `default_config()`.
      num_threads: If given, the size of TensorFlow's intra- and inter-op
        thread pools.

    Returns:
      A `TrainedRun`. Its results' `hparams` are the configuration with the
      data set's sizes resolved, plus `start_time` (ISO 8601).

    Raises:
      ValueError: If the configuration is invalid (see `validate_config`).
      TrainingDivergedError: If a training loss is not finite.
      TrainingInterrupted: On Ctrl-C (KeyboardInterrupt, or SIGINT while
        it runs in the main thread).
    """
    validate_config(config)
    config = resolve_config(config)
    results = {key: [] for key in results_io.TRAJECTORY_KEYS}
    results["hparams"] = dict(config, start_time=_now().isoformat())
    results.update(
        stopped_at_step=None,
        checkpoint=None,
        num_parameters=num_parameters(config),
    )
    run = TrainedRun(results, {})
    with _InterruptRequest.installed() as interrupt:
        try:
            training_graph = _TrainingGraph(config)
            with tf.compat.v1.Session(
                graph=training_graph.graph, config=session_config(num_threads)
            ) as session:
                session.run(training_graph.initializer)
                try:
                    _Trainer(
                        training_graph, session, config, run, interrupt
                    ).train()
                finally:
                    run.variables.update(
                        _values_by_name(
                            session, training_graph.model_variables
                        )
                    )
        except KeyboardInterrupt:
            _trim_to_common_length(results)
            raise TrainingInterrupted(
                f"Training interrupted after step "
                f"{len(results['regularizer_loss'])}.",
                run,
            ) from None
    return run


def _values_by_name(session, variables):
    values = session.run(variables)
    return {
        variable.op.name: value
        for variable, value in zip(variables, values, strict=True)
    }


def session_config(num_threads):
    """A session configuration with thread pools of `num_threads`.

    Returns:
      A `tf.compat.v1.ConfigProto` sizing TensorFlow's intra- and inter-op
      thread pools, or None (TensorFlow's choice) if `num_threads` is None.
    """
    if not num_threads:
        return None
    return tf.compat.v1.ConfigProto(
        intra_op_parallelism_threads=num_threads,
        inter_op_parallelism_threads=num_threads,
    )


def _now():
    """The current local time, with its UTC offset."""
    return datetime.datetime.now().astimezone()


def _trim_to_common_length(results):
    """Drops an evaluation recorded only in part (interrupted mid-way)."""
    keys = results_io.EVALUATED_KEYS + ("steps",)
    length = min(len(results[key]) for key in keys)
    for key in keys:
        del results[key][length:]


class _InterruptRequest:
    """Ctrl-C as a request: the first stops training between session calls
    (every finished step kept), a second one interrupts at once."""

    def __init__(self):
        self.requested = False

    def _handle(self, unused_signal, unused_frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    @classmethod
    @contextlib.contextmanager
    def installed(cls):
        """Yields a request that SIGINT sets while the context is active.

        Signal handlers belong to the main thread; elsewhere (a Dask
        worker's thread) the request is never set.
        """
        request = cls()
        if threading.current_thread() is not threading.main_thread():
            yield request
            return
        previous = signal.signal(signal.SIGINT, request._handle)
        try:
            yield request
        finally:
            signal.signal(signal.SIGINT, previous)


class _Trainer:
    """Runs the steps between evaluations, records, logs and summarizes."""

    def __init__(self, training_graph, session, config, run, interrupt):
        self._graph = training_graph
        self._session = session
        self._config = config
        self._results = run.results
        self._run = run
        self._interrupt = interrupt
        self._writer = None
        if config["summary_dir"]:
            with training_graph.graph.as_default():
                self._writer = tf.compat.v1.summary.FileWriter(
                    config["summary_dir"]
                )
        self._start_time = time.perf_counter()
        self._logged_steps = 0  # Regularizer values already logged.
        self._steps_per_call = 100  # Adapted to SECONDS_PER_SESSION_CALL.

    def train(self):
        try:
            steps = evaluation_steps(
                self._config["train_steps"], self._config["eval_steps"]
            )
            for step, next_step in zip(steps[:-1], steps[1:], strict=True):
                if self._evaluate(step):
                    return
                self._run_steps(step, next_step)
            self._evaluate(steps[-1])
        finally:
            if self._writer:
                self._writer.close()

    def _evaluate(self, step):
        """Records the evaluation at `step`; True if the stop loss is met."""
        values = {
            key: float(value)
            for key, value in self._session.run(self._graph.evaluation).items()
        }
        # Steps last: a partly recorded evaluation is trimmed by its length.
        for key, value in values.items():
            self._results[key].append(value)
        self._results["steps"].append(step)
        self._log(step, values)
        self._summarize(step, values)
        # The chunks only see the losses of their steps: weights made
        # non-finite by the last step's update show up here first.
        if not math.isfinite(values["train_loss"]):
            raise TrainingDivergedError(step, values["train_loss"], self._run)
        stop_loss = self._config["stop_train_loss"]
        if stop_loss is not None and values["train_loss"] <= stop_loss:
            self._results["stopped_at_step"] = step
            logging.info(
                "Stopped at step %d: the training loss %.4g is <= "
                "--stop_train_loss=%g.",
                step,
                values["train_loss"],
                stop_loss,
            )
            return True
        return False

    def _run_steps(self, step, next_step):
        """Runs steps [step, next_step) in short session calls."""
        while step < next_step:
            end_step = min(next_step, step + self._steps_per_call)
            start_time = time.perf_counter()
            self._run_chunk(step, end_step)
            self._adapt_steps_per_call(
                end_step - step, time.perf_counter() - start_time
            )
            step = end_step
            if self._interrupt.requested:
                self._evaluate(step)  # The state it stops in, recorded.
                raise TrainingInterrupted(
                    f"Training interrupted at step {step}.", self._run
                )

    def _adapt_steps_per_call(self, steps, seconds):
        rate = steps / max(seconds, 1e-6)
        self._steps_per_call = max(1, int(rate * SECONDS_PER_SESSION_CALL))

    def _run_chunk(self, step, next_step):
        chunk = self._session.run(
            self._graph.chunk,
            {self._graph.start_step: step, self._graph.end_step: next_step},
        )
        regularizers = chunk["regularizers"].tolist()
        self._results["regularizer_loss"].extend(regularizers)
        for offset, value in enumerate(regularizers):
            self._summarize(step + offset, {"regularizer_loss": value})
        if not math.isfinite(chunk["last_loss"]):
            raise TrainingDivergedError(
                int(chunk["end_step"]) - 1, chunk["last_loss"], self._run
            )

    def _log(self, step, values):
        train_steps = self._config["train_steps"]
        message = (
            f"step {step}/{train_steps}: "
            f"train loss {values['train_loss']:.4f} "
            f"accuracy {values['train_accuracy']:.4f} | "
        )
        if self._config["validation_size"]:
            message += (
                f"validation loss {values['validation_loss']:.4f} "
                f"accuracy {values['validation_accuracy']:.4f} | "
            )
        message += (
            f"test loss {values['test_loss']:.4f} "
            f"accuracy {values['test_accuracy']:.4f} | "
            f"Fisher-Rao norm {values['fisher_rao_norm']:.4g}"
        )
        if step:
            recent = self._results["regularizer_loss"][self._logged_steps :]
            self._logged_steps = step
            elapsed = time.perf_counter() - self._start_time
            rate = step / elapsed
            message += (
                f" | regularizer {np.mean(recent):.4g} (mean of the "
                f"last {len(recent)} steps) | {rate:.0f} steps/s, "
                f"{(train_steps - step) / rate:.0f} s left"
            )
        logging.info(message)

    def _summarize(self, step, values):
        if not self._writer:
            return
        summary = tf.compat.v1.Summary(
            value=[
                tf.compat.v1.Summary.Value(tag=key, simple_value=value)
                for key, value in values.items()
            ]
        )
        self._writer.add_summary(summary, step)


def results_file_stem(hparams):
    """The file name (no extension): start time, the main hyper-parameters
    and the configuration's fingerprint (which tells every other apart)."""
    start = datetime.datetime.fromisoformat(hparams["start_time"])
    return "_".join(
        [
            start.strftime("%Y%m%d-%H%M%S"),
            hparams["dataset"],
            hparams["regularization_norm"],
            f"lambda{hparams['fisher_rao_lambda']:g}",
            hparams["fisher_rao_method"],
            f"noise{hparams['label_noise']:g}",
            f"seed{hparams['random_seed']}",
            config_fingerprint(hparams),
        ]
    )


def save_run(run, output_dir):
    """Writes a run's checkpoint and results file, both new, to `output_dir`.

    The checkpoint (every variable of `run.variables` by name, readable with
    `tf.train.load_checkpoint`) goes beside the results file, whose
    `checkpoint` key gives its path; see `results_io.write_run`.

    Returns:
      The path of the results file.
    """
    return results_io.write_run(
        run.results,
        output_dir,
        results_file_stem(run.results["hparams"]),
        save_checkpoint=lambda prefix: save_checkpoint(prefix, run.variables),
    )


def save_checkpoint(prefix, variables):
    """Writes `variables` (name -> array) as a TF checkpoint at `prefix`."""
    names = sorted(variables)
    tf.raw_ops.SaveV2(
        prefix=prefix,
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(variables[name]) for name in names],
    )


def check_output_directories(config):
    """Creates the run's output directories and proves them writable.

    Raises:
      results_io.UnwritableDirectoryError: Naming the flag, the path and the
        reason.
    """
    for key in OUTPUT_KEYS:
        if config[key]:
            results_io.ensure_writable_directory(config[key], f"--{key}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    config = config_from_flags()
    try:
        check_output_directories(config)
    except results_io.UnwritableDirectoryError as error:
        sys.exit(f"synthetic_classification.py: error: {error}")
    logging.info("Running: %s", command_for_config(config))
    try:
        run = run_experiment(config)
    except TrainingStopped as stopped:
        path = save_run(stopped.run, config["output_dir"])
        logging.error("%s The results so far are in %s", stopped, path)
        return 130 if isinstance(stopped, TrainingInterrupted) else 1
    path = save_run(run, config["output_dir"])
    logging.info("Results written to %s", path)
    return 0


if __name__ == "__main__":
    app.run(main)
