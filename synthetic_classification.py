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
r"""Trains a ReLU classifier on synthetic data, with or without Fisher-Rao.

Inputs are N(0, 1); each label is drawn from the softmax of `inputs @ teacher`
for a random N(0, 1) teacher matrix. A multi-layer perceptron is trained on
mean cross-entropy + fisher_rao_lambda * regularizer, where the regularizer is
the standard (`fr`) or empirical (`fre`) Fisher-Rao norm of `direct_fisher_rao`
over every variable, or nothing (`None`). Loss and accuracy on the full
training and test sets are recorded every `--eval_steps` steps (from step 0,
and after the last step); the regularizer's value on every training batch.
The results go to a new strict-JSON file in `--output_dir`.

Everything runs in one finalized graph: the data live in it, and the steps
between two evaluations run inside one `tf.while_loop` (one session call).

  python3 synthetic_classification.py --regularization_norm=fre \
      --fisher_rao_lambda=0.01 --fisher_rao_method=exact

`run_experiment(config)` is the same training as a function (used by the
sweep); `main` is a thin absl wrapper around it.
"""

import datetime
import math
import numbers
import os
import shlex
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
import results_io  # noqa: E402

NORMS = ("None", "fr", "fre")
OPTIMIZERS = ("sgd", "adam")
# Finite-difference step of the regularizer, as in the original experiment.
PERTURBATION = 1e-4
MODEL_SCOPE = "model"
# Distinct streams of the stateless random ops, all derived from the seed.
_INPUTS_STREAM, _TEACHER_STREAM, _LABELS_STREAM, _BATCH_STREAM = range(4)

FLAGS = flags.FLAGS

flags.DEFINE_enum("regularization_norm", "fr", NORMS,
                  "None: no regularization; fr: standard Fisher-Rao norm; "
                  "fre: empirical Fisher-Rao norm.")
flags.DEFINE_float("fisher_rao_lambda", 0.0,
                   "Factor of the regularizer in the training loss (>= 0).")
flags.DEFINE_bool("differentiate_probability", True,
                  "fr only: whether gradients flow through the softmax "
                  "probabilities weighting the norm.")
flags.DEFINE_enum("fisher_rao_method", "forward", direct_fisher_rao.METHODS,
                  "How the regularizer's derivative is taken: forward or "
                  "central finite difference, or exact (forward-mode "
                  "autodiff, the right gradient for ReLU nets with biases).")
flags.DEFINE_enum("optimizer", "sgd", OPTIMIZERS, "Optimizer.")
flags.DEFINE_float("learning_rate", 1e-3, "Learning rate (> 0).")
flags.DEFINE_integer("train_steps", 100001, "Number of training steps.")
flags.DEFINE_integer("eval_steps", 2000,
                     "Steps between evaluations on the full training and "
                     "test sets.")
flags.DEFINE_integer("batch_size", 64, "Training batch size (<= train_size).")
flags.DEFINE_integer("train_size", 5000, "Number of training examples.")
flags.DEFINE_integer("test_size", 1000, "Number of test examples.")
flags.DEFINE_integer("num_hidden_layers", 3,
                     "Hidden layers after the input layer.")
flags.DEFINE_integer("layer_width", 10, "Units of every ReLU layer.")
flags.DEFINE_integer("random_seed", 1, "Seed of the data, the initial "
                     "weights and the batch order.")
flags.DEFINE_integer("input_dimension", 10, "Dimension of the inputs.")
flags.DEFINE_integer("num_classes", 2, "Number of classes.")
flags.DEFINE_string("output_dir", results_io.DEFAULT_RESULTS_DIR,
                    "Directory of the results files (created if missing).")
flags.DEFINE_string("summary_dir", None,
                    "If given, also write TensorBoard scalar summaries of "
                    "every recorded quantity there.")

CONFIG_KEYS = (
    "regularization_norm", "fisher_rao_lambda", "differentiate_probability",
    "fisher_rao_method", "optimizer", "learning_rate", "train_steps",
    "eval_steps", "batch_size", "train_size", "test_size",
    "num_hidden_layers", "layer_width", "random_seed", "input_dimension",
    "num_classes", "output_dir", "summary_dir")
_ENUM_CHOICES = {
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


# Key -> (check, what is allowed). The flag validators and validate_config
# share these rules, so a config refused here is refused on the command line.
_RULES = {
    "fisher_rao_lambda": (
        lambda value: _is_real(value) and math.isfinite(value) and value >= 0,
        "a finite number >= 0"),
    "differentiate_probability": (
        lambda value: isinstance(value, (bool, np.bool_)), "true or false"),
    "learning_rate": (
        lambda value: _is_real(value) and math.isfinite(value) and value > 0,
        "a finite number > 0"),
    "train_steps": (_integer_at_least(1), "an integer >= 1"),
    "eval_steps": (_integer_at_least(1), "an integer >= 1"),
    "batch_size": (_integer_at_least(1), "an integer >= 1"),
    "train_size": (_integer_at_least(1), "an integer >= 1"),
    "test_size": (_integer_at_least(1), "an integer >= 1"),
    "num_hidden_layers": (_integer_at_least(0), "an integer >= 0"),
    "layer_width": (_integer_at_least(1), "an integer >= 1"),
    "random_seed": (
        lambda value: _is_integer(value) and 0 <= value < 2**31,
        "an integer in [0, 2**31)"),
    "input_dimension": (_integer_at_least(1), "an integer >= 1"),
    "num_classes": (_integer_at_least(2), "an integer >= 2"),
    "output_dir": (
        lambda value: isinstance(value, str) and bool(value),
        "a non-empty directory path"),
    "summary_dir": (
        lambda value: value is None or isinstance(value, str),
        "a directory path, or None for no summaries"),
}

for _name, (_check, _allowed) in _RULES.items():
    flags.register_validator(_name, _check,
                             message=f"--{_name} must be {_allowed}.")
flags.register_multi_flags_validator(
    ["batch_size", "train_size"],
    lambda values: values["batch_size"] <= values["train_size"],
    message="--batch_size must be <= --train_size.")


class TrainingStopped(Exception):
    """Training ended early; `results` holds what was recorded until then."""

    def __init__(self, message, results):
        super().__init__(message)
        self.results = results


class TrainingDivergedError(TrainingStopped):
    """The training loss became non-finite at step `step`."""

    def __init__(self, step, loss, results):
        super().__init__(
            f"Training diverged at step {step}: the training loss is {loss}. "
            f"Try a smaller --learning_rate or "
            f"--fisher_rao_lambda.", results)
        self.step = step


class TrainingInterrupted(TrainingStopped):
    """Training was interrupted (Ctrl-C)."""


def default_config():
    """Returns every training flag's name mapped to its default value."""
    return {key: FLAGS[key].default for key in CONFIG_KEYS}


def config_from_flags():
    """Returns the configuration given on the command line (parsed FLAGS)."""
    config = {key: FLAGS[key].value for key in CONFIG_KEYS}
    config["summary_dir"] = config["summary_dir"] or None
    return config


def validate_config(config):
    """Checks a configuration against the rules of the flags.

    Args:
      config: Dictionary with exactly the keys of `default_config()`.

    Raises:
      ValueError: Naming the first offending key, its value and what is
        allowed.
    """
    missing = [key for key in CONFIG_KEYS if key not in config]
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if missing or unknown:
        raise ValueError(
            f"The configuration must have exactly the keys {CONFIG_KEYS}; "
            f"missing {missing}, unknown {unknown}.")
    for key, choices in _ENUM_CHOICES.items():
        if config[key] not in choices:
            raise ValueError(f"{key}={config[key]!r} is not allowed: must be "
                             f"one of {', '.join(choices)}.")
    for key, (check, allowed) in _RULES.items():
        if not check(config[key]):
            raise ValueError(f"{key}={config[key]!r} is not allowed: must be "
                             f"{allowed}.")
    if config["batch_size"] > config["train_size"]:
        raise ValueError(
            f"batch_size={config['batch_size']} is not allowed: must be <= "
            f"train_size={config['train_size']}.")


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
            continue  # Only summary_dir may be None: its flag's default.
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
    """Builds the synthetic data set as tensors.

    Args:
      config: Training configuration.

    Returns:
      `(inputs, labels)`: float32 tensors of shapes
      `[train_size + test_size, input_dimension]` and
      `[train_size + test_size, num_classes]` (one-hot); the first
      `train_size` rows are the training set.
    """
    seed = config["random_seed"]
    num_examples = config["train_size"] + config["test_size"]
    inputs = tf.random.stateless_normal(
        [num_examples, config["input_dimension"]], seed=[seed, _INPUTS_STREAM])
    teacher = tf.random.stateless_normal(
        [config["input_dimension"], config["num_classes"]],
        seed=[seed, _TEACHER_STREAM])
    classes = tf.random.stateless_categorical(
        tf.matmul(inputs, teacher), 1, seed=[seed, _LABELS_STREAM])[:, 0]
    return inputs, tf.one_hot(classes, config["num_classes"])


def batch_indices(step, config):
    """Training-set rows of the batch of `step` (an int64 scalar tensor).

    Like shuffle-repeat-batch: epoch after epoch, every training example is
    used once per epoch in an order shuffled anew each epoch, a batch may span
    two epochs. Stateless: the rows depend only on the seed and the step.

    Returns:
      An int64 tensor of shape `[batch_size]`.
    """
    batch_size, train_size = config["batch_size"], config["train_size"]
    positions = (tf.cast(step, tf.int64) * batch_size
                 + tf.range(batch_size, dtype=tf.int64))
    epochs = positions // train_size
    seeds = tf.stack([tf.fill([batch_size], np.int64(config["random_seed"])),
                      tf.fill([batch_size], np.int64(_BATCH_STREAM)), epochs],
                     axis=1)
    # The raw op, because tf.random.experimental.index_shuffle pads a batch
    # of seeds ([n, 2]) along the wrong axis in TF 2.21.
    return tf.raw_ops.RandomIndexShuffle(
        index=positions % train_size, seed=seeds,
        max_index=tf.constant(train_size - 1, tf.int64), rounds=4)


def make_logits(inputs, config):
    """Builds the classifier under the current variable scope.

    dense(layer_width, ReLU), num_hidden_layers x dense(layer_width, ReLU),
    dense(num_classes). Every variable goes through
    `tf.compat.v1.get_variable`, so the regularizer's custom getter sees it.

    Returns:
      Logits of shape `[batch, num_classes]`.
    """
    widths = ([config["layer_width"]] * (config["num_hidden_layers"] + 1)
              + [config["num_classes"]])
    hidden = inputs
    for index, width in enumerate(widths):
        hidden = _dense(hidden, width, f"dense_{index}", seed=index)
        if index < len(widths) - 1:
            hidden = tf.nn.relu(hidden)
    return hidden


def _dense(inputs, units, name, seed):
    """`inputs @ kernel + bias` with a Glorot-uniform kernel, zero bias."""
    with tf.compat.v1.variable_scope(name):
        kernel = tf.compat.v1.get_variable(
            "kernel", [inputs.shape[-1], units],
            initializer=tf.compat.v1.glorot_uniform_initializer(seed=seed))
        bias = tf.compat.v1.get_variable(
            "bias", [units], initializer=tf.compat.v1.zeros_initializer())
    return tf.matmul(inputs, kernel) + bias


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
            make_batch_logits, MODEL_SCOPE, regularize_every_variable,
            PERTURBATION, config["differentiate_probability"], method,
            reuse=True)
    if norm == "fre":
        return direct_fisher_rao.make_empirical_fisher_regularizer(
            make_batch_logits, labels, MODEL_SCOPE, regularize_every_variable,
            PERTURBATION, method, reuse=True)
    with tf.compat.v1.variable_scope(MODEL_SCOPE, reuse=True):
        return make_batch_logits(), tf.constant(0.0)


def mean_cross_entropy(labels, logits):
    """Softmax cross-entropy averaged over the batch (no regularizer)."""
    return tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits))


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
      evaluation: Dict of scalars: train/test loss and accuracy.
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
        train_size = config["train_size"]
        self._train_inputs, self._train_labels = (inputs[:train_size],
                                                  labels[:train_size])
        # The evaluation tower creates the model's variables.
        with tf.compat.v1.variable_scope(MODEL_SCOPE):
            logits = make_logits(inputs, config)
        self.evaluation = {}
        for split, rows in (("train", slice(None, train_size)),
                            ("test", slice(train_size, None))):
            self.evaluation[f"{split}_loss"] = mean_cross_entropy(
                labels[rows], logits[rows])
            self.evaluation[f"{split}_accuracy"] = _accuracy(
                labels[rows], logits[rows])
        self.start_step = tf.compat.v1.placeholder(tf.int64, [], "start_step")
        self.end_step = tf.compat.v1.placeholder(tf.int64, [], "end_step")
        self.chunk = self._build_chunk(config)
        # After the chunk: the optimizer's variables exist only then.
        self.initializer = tf.compat.v1.global_variables_initializer()

    def _build_chunk(self, config):
        """A while loop training from start_step up to end_step."""
        optimizer = _make_optimizer(config)
        variables = tf.compat.v1.trainable_variables(MODEL_SCOPE)
        lambda_ = config["fisher_rao_lambda"]

        def keep_going(step, last_loss, unused_regularizers):
            return tf.logical_and(step < self.end_step,
                                  tf.math.is_finite(last_loss))

        def train_one_step(step, unused_last_loss, regularizers):
            rows = batch_indices(step, config)
            batch_labels = tf.gather(self._train_labels, rows)
            logits, regularizer = batch_logits_and_regularizer(
                tf.gather(self._train_inputs, rows), batch_labels, config)
            loss = mean_cross_entropy(batch_labels, logits)
            if lambda_:  # Else no gradient flows through the regularizer.
                loss += lambda_ * regularizer
            # Nothing in the loop orders the reads of the variables (e.g. the
            # regularizer's extra passes) before their update: force it.
            with tf.control_dependencies([loss, regularizer]):
                update = optimizer.minimize(loss, var_list=variables)
            with tf.control_dependencies([update]):
                index = tf.cast(step - self.start_step, tf.int32)
                return (step + 1, tf.identity(loss),
                        regularizers.write(index, regularizer))

        num_steps = tf.cast(self.end_step - self.start_step, tf.int32)
        regularizers = tf.TensorArray(tf.float32, size=num_steps)
        end_step, last_loss, regularizers = tf.compat.v1.while_loop(
            keep_going, train_one_step,
            [self.start_step, tf.constant(0.0), regularizers])
        steps_run = tf.cast(end_step - self.start_step, tf.int32)
        return {"regularizers": regularizers.stack()[:steps_run],
                "end_step": end_step, "last_loss": last_loss}


def run_experiment(config, num_threads=None):
    """Trains as configured and returns the results.

    Args:
      config: Dictionary with every key of `default_config()`.
      num_threads: If given, the size of TensorFlow's intra- and inter-op
        thread pools.

    Returns:
      The results dictionary (keys `results_io.RESULTS_KEYS`); `hparams` is
      the configuration plus `start_time` (ISO 8601).

    Raises:
      ValueError: If the configuration is invalid (see `validate_config`).
      TrainingDivergedError: If a training loss is not finite.
      TrainingInterrupted: On KeyboardInterrupt.
    """
    validate_config(config)
    start_time = _now()
    results = {key: [] for key in results_io.TRAJECTORY_KEYS}
    results["hparams"] = dict(config, start_time=start_time.isoformat())
    try:
        training_graph = _TrainingGraph(config)
        with tf.compat.v1.Session(
                graph=training_graph.graph,
                config=session_config(num_threads)) as session:
            session.run(training_graph.initializer)
            _Trainer(training_graph, session, config, results).train()
    except KeyboardInterrupt:
        _trim_to_common_length(results)
        raise TrainingInterrupted(
            f"Training interrupted after step "
            f"{len(results['regularizer_loss'])}.", results) from None
    return results


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
        inter_op_parallelism_threads=num_threads)


def _now():
    """The current local time, with its UTC offset."""
    return datetime.datetime.now().astimezone()


def _trim_to_common_length(results):
    """Drops an evaluation recorded only in part (interrupted mid-way)."""
    keys = [key for key in results_io.TRAJECTORY_KEYS
            if key != "regularizer_loss"]
    length = min(len(results[key]) for key in keys)
    for key in keys:
        del results[key][length:]


class _Trainer:
    """Runs the chunks between evaluations, records, logs and summarizes."""

    def __init__(self, training_graph, session, config, results):
        self._graph = training_graph
        self._session = session
        self._config = config
        self._results = results
        self._writer = None
        if config["summary_dir"]:
            with training_graph.graph.as_default():
                self._writer = tf.compat.v1.summary.FileWriter(
                    config["summary_dir"])
        self._start_time = time.perf_counter()
        self._logged_steps = 0  # Regularizer values already logged.

    def train(self):
        try:
            steps = evaluation_steps(self._config["train_steps"],
                                     self._config["eval_steps"])
            for step, next_step in zip(steps[:-1], steps[1:], strict=True):
                self._evaluate(step)
                self._run_chunk(step, next_step)
            self._evaluate(steps[-1])
        finally:
            if self._writer:
                self._writer.close()

    def _evaluate(self, step):
        values = {key: float(value) for key, value in
                  self._session.run(self._graph.evaluation).items()}
        # Steps last: a partly recorded evaluation is trimmed by its length.
        for key, value in values.items():
            self._results[key].append(value)
        self._results["steps"].append(step)
        self._log(step, values)
        self._summarize(step, values)
        # The chunks only see the losses of their steps: weights made
        # non-finite by the last step's update show up here first.
        if not math.isfinite(values["train_loss"]):
            raise TrainingDivergedError(step, values["train_loss"],
                                        self._results)

    def _run_chunk(self, step, next_step):
        chunk = self._session.run(self._graph.chunk, {
            self._graph.start_step: step, self._graph.end_step: next_step})
        regularizers = chunk["regularizers"].tolist()
        self._results["regularizer_loss"].extend(regularizers)
        for offset, value in enumerate(regularizers):
            self._summarize(step + offset, {"regularizer_loss": value})
        if not math.isfinite(chunk["last_loss"]):
            raise TrainingDivergedError(int(chunk["end_step"]) - 1,
                                        chunk["last_loss"], self._results)

    def _log(self, step, values):
        train_steps = self._config["train_steps"]
        message = (f"step {step}/{train_steps}: "
                   f"train loss {values['train_loss']:.4f} "
                   f"accuracy {values['train_accuracy']:.4f} | "
                   f"test loss {values['test_loss']:.4f} "
                   f"accuracy {values['test_accuracy']:.4f}")
        if step:
            recent = self._results["regularizer_loss"][self._logged_steps:]
            self._logged_steps = step
            elapsed = time.perf_counter() - self._start_time
            rate = step / elapsed
            message += (f" | regularizer {np.mean(recent):.4g} (mean of the "
                        f"last {len(recent)} steps) | {rate:.0f} steps/s, "
                        f"{(train_steps - step) / rate:.0f} s left")
        logging.info(message)

    def _summarize(self, step, values):
        if not self._writer:
            return
        summary = tf.compat.v1.Summary(value=[
            tf.compat.v1.Summary.Value(tag=key, simple_value=value)
            for key, value in values.items()])
        self._writer.add_summary(summary, step)


def results_file_stem(hparams):
    """The file name (no extension): start time and hyper-parameters."""
    start = datetime.datetime.fromisoformat(hparams["start_time"])
    return "_".join([
        start.strftime("%Y%m%d-%H%M%S"),
        hparams["regularization_norm"],
        f"lambda{hparams['fisher_rao_lambda']:g}",
        hparams["fisher_rao_method"],
        "dp" if hparams["differentiate_probability"] else "nodp",
        hparams["optimizer"],
        f"lr{hparams['learning_rate']:g}",
        f"steps{hparams['train_steps']}",
        f"eval{hparams['eval_steps']}",
        f"batch{hparams['batch_size']}",
        f"data{hparams['train_size']}-{hparams['test_size']}"
        f"x{hparams['input_dimension']}",
        f"net{hparams['num_hidden_layers']}x{hparams['layer_width']}",
        f"classes{hparams['num_classes']}",
        f"seed{hparams['random_seed']}",
    ])


def save_results(results, output_dir):
    """Writes `results` to a new file in `output_dir`; returns its path."""
    return results_io.write_json_atomically(
        results, output_dir, results_file_stem(results["hparams"]))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    config = config_from_flags()
    logging.info("Running: %s", command_for_config(config))
    try:
        results = run_experiment(config)
    except TrainingStopped as stopped:
        path = save_results(stopped.results, config["output_dir"])
        logging.error("%s The results so far are in %s", stopped, path)
        return 130 if isinstance(stopped, TrainingInterrupted) else 1
    path = save_results(results, config["output_dir"])
    logging.info("Results written to %s", path)
    return 0


if __name__ == "__main__":
    app.run(main)
