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
"""Trains the classifier of `model` on the data of `data`, as configured.

The loss is mean cross-entropy (against labels smoothed by
label_smoothing) - confidence_penalty * mean predictive entropy +
fisher_rao_lambda * regularizer + weight_decay * sum of squared kernels.
Every `eval_steps` steps (from step 0, and after the last step) the loss
(plain cross-entropy) and accuracy on the full train, validation and test
rows are recorded, with the complexity measures of `measures` on the
training rows; the regularizer's value on every training batch. With a
validation split, also the test calibration (`calibration`: temperature
fitted on the validation rows, test NLL and ECE raw and scaled), computed in
numpy from the evaluation's logits.

With `stop_train_loss`, the loop also computes the cross-entropy on the
full set of training rows after every `stop_check_steps`-th step and ends
at the first one at or below it; the run is evaluated there and stops
(`stopped_at_step`, `stopped_at_loss`). Without it the loop checks nothing.

Everything runs in one finalized graph: the data live in it, and training
steps run inside a `tf.while_loop`, in session calls of about a quarter of a
second, so that Ctrl-C stops within about a second and keeps every step.

`run_experiment(config)` trains and returns a `TrainedRun`; `save_run`
writes its results file and checkpoint.

TensorFlow's environment defaults (oneDNN off, quiet start-up) are set by
the package's `__init__`, which is imported before this module imports
TensorFlow.
"""

import contextlib
import dataclasses
import datetime
import math
import signal
import threading
import time

import numpy as np
import tensorflow as tf
from absl import logging

from fisher_rao_experiments import (
    calibration,
    data,
    measures,
    model,
    results_io,
    runs,
)
from fisher_rao_experiments import config as experiment_config

_BATCH_STREAM = 3  # Stateless stream of the batch order (data use others).
# Training steps are run in session calls of about this many seconds: short
# enough for Ctrl-C to answer at once, long enough to cost nothing.
SECONDS_PER_SESSION_CALL = 0.25


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


def evaluation_steps(train_steps, eval_steps):
    """Steps evaluated: 0, eval_steps, 2 * eval_steps, ..., and train_steps."""
    return list(range(0, train_steps, eval_steps)) + [train_steps]


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
    training_rows = data.num_training_rows(
        experiment_config.resolve_config(config)
    )
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


def mean_cross_entropy(labels, logits):
    """Softmax cross-entropy averaged over the batch (no regularizer)."""
    return tf.reduce_mean(
        tf.nn.softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )


def smoothed_labels(labels, label_smoothing):
    """(1 - eps) * labels + eps / K for one-hot `labels` of K classes."""
    if not label_smoothing:
        return labels
    num_classes = tf.cast(tf.shape(labels)[-1], labels.dtype)
    return (1.0 - label_smoothing) * labels + label_smoothing / num_classes


def mean_entropy(logits):
    """Mean over the batch of the entropy of softmax(logits), in nats."""
    log_probabilities = tf.nn.log_softmax(logits)
    return tf.reduce_mean(
        -tf.reduce_sum(tf.exp(log_probabilities) * log_probabilities, -1)
    )


def training_loss(labels, logits, config):
    """The batch's data term of the training loss (no regularizer).

    Mean cross-entropy against the labels smoothed by
    `config["label_smoothing"]` (`smoothed_labels`), minus
    `config["confidence_penalty"]` times the mean predictive entropy
    (`mean_entropy`; Pereyra et al. 2017). Both 0: plain cross-entropy.
    """
    loss = mean_cross_entropy(
        smoothed_labels(labels, config["label_smoothing"]), logits
    )
    if config["confidence_penalty"]:
        loss -= config["confidence_penalty"] * mean_entropy(logits)
    return loss


def _accuracy(labels, logits):
    correct = tf.equal(tf.argmax(logits, axis=-1), tf.argmax(labels, axis=-1))
    return tf.reduce_mean(tf.cast(correct, tf.float32))


def _make_optimizer(config):
    if config["optimizer"] == "adam":
        return tf.compat.v1.train.AdamOptimizer(config["learning_rate"])
    if config["optimizer"] == "momentum":
        return tf.compat.v1.train.MomentumOptimizer(
            config["learning_rate"], config["momentum"]
        )
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
        loss; the chunk stops early after a non-finite one); with
        `stop_train_loss`, also `checked_loss`: the full training set's
        cross-entropy at the last checked step of the chunk (every
        `stop_check_steps`), infinite if none was checked; the chunk stops
        after the first check at or below the stop loss.
    """

    def __init__(self, config):
        self.graph = tf.Graph()
        with self.graph.as_default():
            tf.compat.v1.random.set_random_seed(config["random_seed"])
            self._build(config)
        self.graph.finalize()

    def _build(self, config):
        # Variables, so the data are drawn once per session, not per call.
        inputs, labels = data.make_data(config)
        inputs = tf.Variable(inputs, trainable=False, name="inputs")
        labels = tf.Variable(labels, trainable=False, name="labels")
        training_rows = data.num_training_rows(config)
        self._train_inputs = inputs[:training_rows]
        self._train_labels = labels[:training_rows]
        # The evaluation tower creates the model's variables.
        with tf.compat.v1.variable_scope(model.MODEL_SCOPE):
            logits = model.make_logits(inputs, config)
        self.model_variables = tf.compat.v1.trainable_variables(
            model.MODEL_SCOPE
        )
        self.evaluation = {}
        for split, (start, end) in data.split_rows(config).items():
            # An empty split's mean is NaN, recorded as null.
            self.evaluation[f"{split}_loss"] = mean_cross_entropy(
                labels[start:end], logits[start:end]
            )
            self.evaluation[f"{split}_accuracy"] = _accuracy(
                labels[start:end], logits[start:end]
            )
        # The logits and labels of validation and test, for the calibration
        # (computed in numpy), with a validation split only.
        self.calibration_inputs = None
        rows = data.split_rows(config)
        if rows["validation"][1] > rows["validation"][0]:
            self.calibration_inputs = {
                f"{split}_{name}": tensor[slice(*rows[split])]
                for split in ("validation", "test")
                for name, tensor in (
                    ("logits", logits),
                    ("labels", tf.argmax(labels, axis=-1)),
                )
            }
        self.evaluation.update(
            measures.all_measures(
                lambda: model.make_logits(self._train_inputs, config),
                self._train_labels,
                model.MODEL_SCOPE,
                model.model_layers(config),
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

        stop_loss = config["stop_train_loss"]
        check_steps = config["stop_check_steps"]

        def keep_going(step, last_loss, unused_regularizers, *checked_loss):
            going = tf.logical_and(
                step < self.end_step, tf.math.is_finite(last_loss)
            )
            if checked_loss:
                going = tf.logical_and(going, checked_loss[0] > stop_loss)
            return going

        def check_loss(next_step):
            """The full training set's loss after `next_step` steps, if it
            is a multiple of `check_steps` (else infinity)."""

            def full_training_loss():
                with tf.compat.v1.variable_scope(
                    model.MODEL_SCOPE, reuse=True
                ):
                    logits = model.make_logits(self._train_inputs, config)
                return mean_cross_entropy(self._train_labels, logits)

            return tf.cond(
                tf.equal(next_step % check_steps, 0),
                full_training_loss,
                lambda: tf.constant(math.inf),
            )

        def train_one_step(step, unused_last_loss, regularizers, *unused):
            rows = batch_indices(step, config)
            batch_labels = tf.gather(self._train_labels, rows)
            logits, regularizer = model.batch_logits_and_regularizer(
                tf.gather(self._train_inputs, rows), batch_labels, config
            )
            loss = training_loss(batch_labels, logits, config)
            if lambda_:  # Else no gradient flows through the regularizer.
                loss += lambda_ * regularizer
            if weight_decay:
                loss += weight_decay * model.sum_of_squared_kernels(config)
            # Nothing in the loop orders the reads of the variables (e.g. the
            # regularizer's extra passes) before their update: force it.
            with tf.control_dependencies([loss, regularizer]):
                update = optimizer.minimize(
                    loss, var_list=self.model_variables
                )
            with tf.control_dependencies([update]):
                index = tf.cast(step - self.start_step, tf.int32)
                values = (
                    step + 1,
                    tf.identity(loss),
                    regularizers.write(index, regularizer),
                )
                if stop_loss is None:  # No check: nothing more per step.
                    return values
                # Made after the update: the check reads the new weights.
                return values + (check_loss(step + 1),)

        num_steps = tf.cast(self.end_step - self.start_step, tf.int32)
        regularizers = tf.TensorArray(tf.float32, size=num_steps)
        initial = [self.start_step, tf.constant(0.0), regularizers]
        if stop_loss is not None:
            initial.append(tf.constant(math.inf))
        end_step, last_loss, regularizers, *checked_loss = (
            tf.compat.v1.while_loop(keep_going, train_one_step, initial)
        )
        steps_run = tf.cast(end_step - self.start_step, tf.int32)
        chunk = {
            "regularizers": regularizers.stack()[:steps_run],
            "end_step": end_step,
            "last_loss": last_loss,
        }
        if checked_loss:
            chunk["checked_loss"] = checked_loss[0]
        return chunk


def run_experiment(config, num_threads=None):
    """Trains as configured.

    Args:
      config: Dictionary with every key of `config.CONFIG_KEYS`.
      num_threads: If given, the size of TensorFlow's intra- and inter-op
        thread pools.

    Returns:
      A `TrainedRun`. Its results' `hparams` are the configuration with the
      data set's sizes resolved, plus `start_time` (ISO 8601).

    Raises:
      ValueError: If the configuration is invalid (see
        `config.validate_config`).
      TrainingDivergedError: If a training loss is not finite.
      TrainingInterrupted: On Ctrl-C (KeyboardInterrupt, or SIGINT while
        it runs in the main thread).
    """
    experiment_config.validate_config(config)
    config = experiment_config.resolve_config(config)
    results = {key: [] for key in results_io.TRAJECTORY_KEYS}
    results["hparams"] = dict(config, start_time=_now().isoformat())
    results.update(
        stopped_at_step=None,
        stopped_at_loss=None,
        checkpoint=None,
        num_parameters=model.num_parameters(config),
        dataset_parameters=data.dataset_parameters(config),
        calibration=(
            {key: [] for key in results_io.CALIBRATION_KEYS}
            if config["validation_size"]
            else None
        ),
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
    lists = [results[key] for key in results_io.EVALUATED_KEYS + ("steps",)]
    if results.get("calibration"):
        lists += list(results["calibration"].values())
    length = min(len(values) for values in lists)
    for values in lists:
        del values[length:]


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
                stopped = self._run_steps(step, next_step)
                if stopped:
                    self._evaluate(*stopped)
                    return
            self._evaluate(steps[-1])
        finally:
            if self._writer:
                self._writer.close()

    def _evaluate(self, step, checked_loss=None):
        """Records the evaluation at `step`; True if the stop loss is met.

        Args:
          step: The step evaluated.
          checked_loss: The training loss a check in the chunk found at or
            below the stop loss at `step`, or None: then the evaluation's
            training loss is checked.
        """
        fetches = {"evaluation": self._graph.evaluation}
        if self._graph.calibration_inputs is not None:
            fetches["calibration"] = self._graph.calibration_inputs
        fetched = self._session.run(fetches)
        evaluation = fetched["evaluation"]
        calibration_inputs = fetched.get("calibration")
        values = {key: float(value) for key, value in evaluation.items()}
        # Steps last: a partly recorded evaluation is trimmed by its length.
        for key, value in values.items():
            self._results[key].append(value)
        if calibration_inputs is not None:
            for key, value in test_calibration(calibration_inputs).items():
                self._results["calibration"][key].append(value)
        self._results["steps"].append(step)
        self._log(step, values)
        self._summarize(step, values)
        # The chunks only see the losses of their steps: weights made
        # non-finite by the last step's update show up here first.
        if not math.isfinite(values["train_loss"]):
            raise TrainingDivergedError(step, values["train_loss"], self._run)
        stop_loss = self._config["stop_train_loss"]
        if checked_loss is None and stop_loss is not None:
            if values["train_loss"] <= stop_loss:
                checked_loss = values["train_loss"]
        if checked_loss is None:
            return False
        self._results["stopped_at_step"] = step
        self._results["stopped_at_loss"] = checked_loss
        logging.info(
            "Stopped at step %d: the training loss %.6g is <= "
            "--stop_train_loss=%g.",
            step,
            checked_loss,
            stop_loss,
        )
        return True

    def _run_steps(self, step, next_step):
        """Runs steps [step, next_step) in short session calls.

        Returns:
          None, or `(step, loss)` if a check of the stop loss stopped the
          training after `step` steps, at training loss `loss`.
        """
        while step < next_step:
            end_step = min(next_step, step + self._steps_per_call)
            start_time = time.perf_counter()
            chunk = self._run_chunk(step, end_step)
            self._adapt_steps_per_call(
                int(chunk["end_step"]) - step,
                time.perf_counter() - start_time,
            )
            step = int(chunk["end_step"])
            if "checked_loss" in chunk and (
                chunk["checked_loss"] <= self._config["stop_train_loss"]
            ):
                return step, float(chunk["checked_loss"])
            if self._interrupt.requested:
                self._evaluate(step)  # The state it stops in, recorded.
                raise TrainingInterrupted(
                    f"Training interrupted at step {step}.", self._run
                )
        return None

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
        return chunk

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


def test_calibration(inputs):
    """The values of `results_io.CALIBRATION_KEYS` for one evaluation.

    Args:
      inputs: numpy `validation_logits`, `validation_labels` (integers),
        `test_logits`, `test_labels`.

    Returns:
      Dict key -> float: the temperature fitted on validation, the test NLL
      and ECE (15 bins) at T = 1 and at it (`calibration.
      calibration_metrics`); NaN (recorded null) for non-finite logits.
    """
    try:
        metrics = calibration.calibration_metrics(
            inputs["validation_logits"].astype(np.float64),
            inputs["validation_labels"],
            inputs["test_logits"].astype(np.float64),
            inputs["test_labels"],
        )
    except ValueError:  # Non-finite logits (a diverging run).
        return {key: math.nan for key in results_io.CALIBRATION_KEYS}
    return {
        key: float(getattr(metrics, key))
        for key in results_io.CALIBRATION_KEYS
    }


def save_run(run, output_dir):
    """Writes a run's checkpoint and results file, both new, to `output_dir`.

    The files are named by `runs.results_file_stem`. The checkpoint (every
    variable of `run.variables` by name, readable with
    `tf.train.load_checkpoint`) goes beside the results file, whose
    `checkpoint` key gives its path; see `results_io.write_run`.

    Returns:
      The path of the results file.
    """
    return results_io.write_run(
        run.results,
        output_dir,
        runs.results_file_stem(run.results["hparams"]),
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
