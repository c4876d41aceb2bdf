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
"""Fisher-Rao norm regularizers for Keras 3 models and `tf.function` code.

The same quantities as `direct_fisher_rao`, for a built Keras 3 model on the
TensorFlow backend, eagerly or inside `tf.function` (`model.fit` included).
With theta_S the selected trainable variables and D the derivative of
`f(theta + e * theta_S)` in e at 0, for a softmax output (a categorical
distribution over the last axis of the logits z):

  standard:  mean_i sum_k p_ik (D log softmax_k(z_i))^2,  p = softmax(z)
  empirical: mean_i (D CE(labels_i, z_i))^2

and for sigmoid outputs (one independent Bernoulli per logit, p = sigmoid(z);
a `Dense(1)` head with binary cross-entropy, or a multi-label head):

  standard:  mean_i sum_k p_ik (1 - p_ik) (D z_ik)^2
  empirical: mean_i (sum_k (p_ik - y_ik) D z_ik)^2 = mean_i (D BCE_i)^2

(BCE summed over the outputs: the negative log-likelihood). For one logit
these are the softmax formulas on the two logits (0, z).

Every pass runs the model in a `keras.StatelessScope` on the values
`v + offset * v` of the selected variables, starting from the model's
current non-trainable state (batch-norm statistics, seed generators), and
changes nothing: the state a pass would write is returned, and only
`FisherRaoRegularizedModel.train_step` assigns it, from the one pass its loss
uses. D is taken by one of three methods:

  "forward": (f(theta + eps theta_S) - f(theta)) / eps
  "central": (f(theta + eps theta_S) - f(theta - eps theta_S)) / (2 eps)
  "exact":   the derivative in t of the pass with `v + t * v` at t = 0, by
             the double-backward trick; that pass's logits are the
             unperturbed ones.

The formulas and input checks are `fisher_rao_core`'s, shared with
`direct_fisher_rao`. docs/keras.md is the user's guide: the contract, every
error, and what each number `fit` logs is.
"""

import collections
import contextlib
import math
import numbers
import weakref

import keras
import numpy as np
import tensorflow as tf

import fisher_rao_core as core

__all__ = [
    "METHODS",
    "NORMS",
    "OUTPUT_DISTRIBUTIONS",
    "FisherRaoLambdaScheduler",
    "FisherRaoRegularizedModel",
    "empirical_fisher_rao_norm",
    "linear_warm_up",
    "standard_fisher_rao_norm",
]

METHODS = core.METHODS
# "fr": the standard norm; "fre": the empirical one, on the batch's labels.
NORMS = ("fr", "fre")
# How the logits define the model's distribution over labels: a softmax
# over the last axis, or an independent sigmoid per logit.
OUTPUT_DISTRIBUTIONS = ("categorical", "bernoulli")
# The names `fit` and `evaluate` log each norm under.
_NORM_LOG_NAMES = {
    "fr": "fisher_rao_norm",
    "fre": "empirical_fisher_rao_norm",
}

# Keras losses that read the model's output as probabilities unless given
# from_logits=True; the regularized model outputs logits.
_PROBABILITY_LOSSES = (
    keras.losses.binary_crossentropy,
    keras.losses.binary_focal_crossentropy,
    keras.losses.categorical_crossentropy,
    keras.losses.categorical_focal_crossentropy,
    keras.losses.sparse_categorical_crossentropy,
)
# The losses that say which distribution the logits define.
_BERNOULLI_LOSSES = (
    keras.losses.BinaryCrossentropy,
    keras.losses.BinaryFocalCrossentropy,
    keras.losses.binary_crossentropy,
    keras.losses.binary_focal_crossentropy,
)
_CATEGORICAL_LOSSES = (
    keras.losses.CategoricalCrossentropy,
    keras.losses.CategoricalFocalCrossentropy,
    keras.losses.SparseCategoricalCrossentropy,
    keras.losses.categorical_crossentropy,
    keras.losses.categorical_focal_crossentropy,
    keras.losses.sparse_categorical_crossentropy,
)

# How exact mode differentiates, for fisher_rao_core's refusal message.
_EXACT_MODE_DIFFERENTIATION = "with tf.GradientTape"

# Compute dtypes in which finite differences are refused, with their
# relative rounding: larger than any useful step.
_HALF_PRECISION = {tf.float16: 1e-3, tf.bfloat16: 8e-3}

# What the passes give: the logits of the pass the caller may use as the
# model's output; `outputs`, what D is taken of (log softmax(logits) for a
# categorical output, the logits for a Bernoulli one, in float32 at least);
# its derivative D along theta_S; the output distribution; the
# `(variable, value)` pairs of the non-trainable variables that pass
# changed; its losses (`model.losses`, when collected); and, for each
# trainable variable, the `(tensor, factor)` pairs through which the passes
# read it: the variable's gradient is the sum of factor * the tensor's
# gradient (see `_variable_gradients`).
_Passes = collections.namedtuple(
    "_Passes",
    "logits outputs derivative distribution state_updates losses reads",
)

# What decides the passes, besides the model, inputs and mode.
_Options = collections.namedtuple(
    "_Options", "should_regularize perturbation method output_distribution"
)

# Inside a user's tf.function, AutoGraph would rewrite the library's Python
# (its loops over layers and ops hold no tensors to convert).
_not_converted = tf.autograph.experimental.do_not_convert


@_not_converted
def standard_fisher_rao_norm(
    model,
    inputs,
    *,
    should_regularize=None,
    perturbation=1e-4,
    method="exact",
    training=False,
    differentiate_probability=True,
    output_distribution=None,
):
    """The standard Fisher-Rao norm of a Keras 3 model on a batch.

    For a softmax output, norm = mean_i sum_k p_ik (D log softmax_k(z_i))^2
    with p = softmax(z); for sigmoid outputs, mean_i sum_k p_ik (1 - p_ik)
    (D z_ik)^2 with p = sigmoid(z); D is the derivative along theta_S.

    Works eagerly and inside `tf.function`; differentiable with respect to
    the model's trainable variables. Never changes the model's variables
    (batch-norm statistics and seed generators included). Like any call of
    the model, the passes replace Keras's record of the last call's
    `add_loss` losses: read `model.losses` before calling this.

    Args:
      model: A built Keras 3 `keras.Model` returning float logits of shape
        `[batch, ..., num_outputs]` (not probabilities).
      inputs: A batch the model takes.
      should_regularize: Callable taking a trainable variable's `path`
        (e.g. "sequential/dense/kernel") and returning whether it belongs to
        theta_S; None selects every trainable variable. It must select at
        least one.
      perturbation: Finite-difference step eps, a finite number > 0
        (validated but unused when `method="exact"`).
      method: "forward", "central" or "exact" (see the module docstring).
      training: The `training` argument of every pass of the model.
      differentiate_probability: If False, p (the weights p or p (1 - p))
        is held out of the gradient.
      output_distribution: "categorical" (a softmax over the last axis),
        "bernoulli" (an independent sigmoid per logit) or None: "bernoulli"
        if the model outputs one logit, else "categorical".

    Returns:
      A scalar tensor of the logits' dtype (float32 for float16 or bfloat16
      logits).

    Raises:
      RuntimeError: If Keras is not Keras 3 on the TensorFlow backend.
      TypeError: If `model` is not a Keras 3 model or `should_regularize`
        is not callable.
      ValueError: On a bad `perturbation`, `method` or
        `output_distribution`; a model that is not built, ends in a softmax
        or sigmoid, or does not output float logits of rank >= 2; a
        categorical output with one logit; a `should_regularize` selecting
        no variable; finite differences in float16 or bfloat16; and exact
        mode through ops it cannot differentiate.
    """
    passes = _run_passes(
        model,
        inputs,
        _options(
            model,
            should_regularize,
            perturbation,
            method,
            output_distribution,
        ),
        training,
    )
    return _standard_norm(passes, differentiate_probability)


@_not_converted
def empirical_fisher_rao_norm(
    model,
    inputs,
    labels,
    *,
    should_regularize=None,
    perturbation=1e-4,
    method="exact",
    training=False,
    output_distribution=None,
):
    """The empirical Fisher-Rao norm of a Keras 3 model on a batch.

    norm = mean_i (D NLL(labels_i, z_i))^2, where NLL is the cross-entropy
    -sum_k y_k log softmax_k(z) for a softmax output, and the binary
    cross-entropy summed over the outputs for sigmoid outputs; D is the
    derivative along theta_S.

    Args:
      model: As in `standard_fisher_rao_norm`.
      inputs: A batch the model takes.
      labels: Targets, of a float or integer dtype: with the logits' shape
        (one-hot or probabilities for a softmax, 0/1 or probabilities for
        sigmoids), or class indices for a softmax (the logits' shape without
        its last axis, or with a last axis of 1); for one sigmoid logit,
        also the logits' shape without its last axis.
      should_regularize: As in `standard_fisher_rao_norm`.
      perturbation: As in `standard_fisher_rao_norm`.
      method: "forward", "central" or "exact".
      training: The `training` argument of every pass of the model.
      output_distribution: As in `standard_fisher_rao_norm`.

    Returns:
      A scalar tensor, as in `standard_fisher_rao_norm`.

    Raises:
      RuntimeError, TypeError, ValueError: As in `standard_fisher_rao_norm`;
        also TypeError for labels that are not numeric and ValueError (or,
        in a `tf.function`, InvalidArgumentError at run time) for labels of
        another shape or class indices out of range.
    """
    labels = core.convert_labels(labels)
    passes = _run_passes(
        model,
        inputs,
        _options(
            model,
            should_regularize,
            perturbation,
            method,
            output_distribution,
        ),
        training,
    )
    return _empirical_norm(labels, passes)


@keras.saving.register_keras_serializable(package="fisher_rao")
class FisherRaoRegularizedModel(keras.Model):
    """A Keras 3 model trained on its loss plus lambda times a Fisher-Rao norm.

    `fit` minimizes `compiled loss + model.losses + fisher_rao_lambda * norm`
    on every batch, where norm is the standard (`"fr"`) or empirical
    (`"fre"`, on the batch's labels) Fisher-Rao norm of the wrapped model in
    training mode. The loss and the norm come from the same passes: in exact
    mode, from one pass (at t = 0) and its derivative. Its non-trainable
    updates (batch-norm statistics, seed generators) and losses are applied
    once; the extra passes' never are. Sample weights weight the compiled
    loss only; the norm is the batch's plain mean (over the global batch
    under a `tf.distribute` strategy, as Keras averages the loss).

    The optimizer receives, for each variable, the gradient of this
    objective in the form plain Keras gives: for a gathered variable (an
    `Embedding`), one `tf.IndexedSlices` slice per lookup, each holding that
    lookup's gradient from the loss and the norm together (not one per
    lookup and pass, whose large shares cancel only in their sum; in exact
    mode a selected gathered variable adds one slice per row, the norm's
    share through the direction). With lambda = 0 training is bit-identical
    to the plain model's, under any optimizer.

    `fit` logs `"loss"` (the whole objective, lambda * norm included) and
    the norm, as `"fisher_rao_norm"` (`"fr"`) or
    `"empirical_fisher_rao_norm"` (`"fre"`): their means over the epoch's
    batches. `evaluate` (and `fit`'s `val_` numbers) report what the wrapped
    model's would (its compiled loss and metrics, in inference mode, without
    lambda * norm) plus the norm on the evaluation batches, also in inference
    mode. `predict` and `call` are the wrapped model's.

    `fisher_rao_lambda` is a non-trainable variable read at run time: set it
    between fits or from a callback (`FisherRaoLambdaScheduler`). It is not
    among the wrapper's weights, which are the wrapped model's. `save`
    and `keras.callbacks.ModelCheckpoint` write a `.keras` file that
    `keras.models.load_model` restores whole (the wrapped model, the norm,
    method, lambda, `should_regularize` if Keras can serialize it, and the
    optimizer's state), once this module is imported. `save_weights` and
    `load_weights` read and write the wrapped model's weights only, so weight
    files are interchangeable with the wrapped model's; `export` exports the
    wrapped model for inference.

    The wrapped model must output logits: compile with losses that take
    them (e.g. `keras.losses.CategoricalCrossentropy(from_logits=True)`);
    a cross-entropy named by a string ("categorical_crossentropy",
    "binary_crossentropy", ...) is computed from the logits. A binary
    cross-entropy makes the output Bernoulli (one sigmoid per logit); a
    categorical one, categorical.
    """

    def __init__(
        self,
        model,
        *,
        norm,
        fisher_rao_lambda,
        method="exact",
        perturbation=1e-4,
        should_regularize=None,
        differentiate_probability=True,
        output_distribution=None,
        **kwargs,
    ):
        """Wraps `model`.

        Args:
          model: A built Keras 3 model returning float logits.
          norm: "fr" (standard) or "fre" (empirical).
          fisher_rao_lambda: Factor of the norm in the loss, finite, >= 0: a
            number, or a scalar float non-trainable `keras.Variable` (then
            used as is, so that assigning it changes lambda).
          method: "forward", "central" or "exact".
          perturbation: Finite-difference step, a finite number > 0.
          should_regularize: Callable on a trainable variable's `path`;
            None selects every trainable variable. It must select at least
            one.
          differentiate_probability: For "fr": whether gradients flow
            through the probabilities that weight the norm.
          output_distribution: "categorical", "bernoulli" or None: then
            from the compiled loss (a binary cross-entropy: "bernoulli", a
            categorical one: "categorical"), else "bernoulli" for one logit
            and "categorical" for more.
          **kwargs: Passed to `keras.Model` (e.g. `name`).

        Raises:
          RuntimeError, TypeError, ValueError: As
            `standard_fisher_rao_norm` would for the model and options,
            and ValueError on a bad `norm` or `fisher_rao_lambda`.
        """
        options = _options(
            model, should_regularize, perturbation, method, output_distribution
        )
        _selected(model, should_regularize)  # Refuses selecting nothing now.
        if norm not in NORMS:
            raise ValueError(
                f"norm must be one of {', '.join(map(repr, NORMS))}; got "
                f"{norm!r}."
            )
        lambda_variable = _lambda_variable_given(fisher_rao_lambda)
        super().__init__(**kwargs)
        self.model = model
        self.norm = norm
        self.method = options.method
        self.perturbation = options.perturbation
        self.should_regularize = options.should_regularize
        self.differentiate_probability = bool(differentiate_probability)
        self.output_distribution = options.output_distribution
        self._loss_distribution = None  # Set by compile().
        if lambda_variable is None:
            lambda_variable = keras.Variable(
                float(fisher_rao_lambda),
                dtype="float64",
                trainable=False,
                name="fisher_rao_lambda",
            )
        # Held out of Keras's tracking: the wrapper's weights are the
        # wrapped model's (get_weights, set_weights, count_params), and
        # save() keeps lambda in the configuration.
        self._lambda = _Untracked(lambda_variable)
        self.fisher_rao_norm_tracker = keras.metrics.Mean(
            name=_NORM_LOG_NAMES[norm]
        )
        self._train_pass = _TrainPassLosses()
        self.built = True  # The wrapped model's variables are all there is.

    @property
    def fisher_rao_lambda(self):
        """The factor of the norm in the loss: a non-trainable variable.

        Read at every training step, so that assigning it (`regularized.
        fisher_rao_lambda = 0.01`, between fits or from a callback) takes
        effect at the next step. Accepts a finite number >= 0.
        """
        return self._lambda.value

    @fisher_rao_lambda.setter
    def fisher_rao_lambda(self, value):
        _check_lambda(value)
        self._lambda.value.assign(float(value))

    def call(self, inputs, training=None):
        return self.model(inputs, training=training)

    def get_config(self):
        """The wrapper's configuration, the wrapped model's included.

        Raises:
          ValueError: If `should_regularize` is a callable Keras cannot
            serialize (then save the wrapped model, or its weights).
        """
        return {
            "name": self.name,
            "model": keras.saving.serialize_keras_object(self.model),
            "norm": self.norm,
            "fisher_rao_lambda": float(
                keras.ops.convert_to_numpy(self._lambda.value)
            ),
            "method": self.method,
            "perturbation": self.perturbation,
            "should_regularize": _serialized_filter(self.should_regularize),
            "differentiate_probability": self.differentiate_probability,
            "output_distribution": self.output_distribution,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        model = keras.saving.deserialize_keras_object(
            config.pop("model"), custom_objects=custom_objects
        )
        should_regularize = config.pop("should_regularize", None)
        if should_regularize is not None:
            should_regularize = keras.saving.deserialize_keras_object(
                should_regularize, custom_objects=custom_objects
            )
        return cls(model, should_regularize=should_regularize, **config)

    def save_weights(self, filepath, *args, **kwargs):
        """Saves the wrapped model's weights (`keras.Model.save_weights`).

        The file is the one `self.model.save_weights` writes, so either
        model loads it. It holds no lambda and no optimizer state: `save`
        writes those.
        """
        return self.model.save_weights(filepath, *args, **kwargs)

    def load_weights(self, filepath, *args, **kwargs):
        """Loads weights saved by this wrapper or by the wrapped model."""
        return self.model.load_weights(filepath, *args, **kwargs)

    def export(self, filepath, *args, **kwargs):
        """Exports the wrapped model for inference (`keras.Model.export`)."""
        return self.model.export(filepath, *args, **kwargs)

    def compile(self, optimizer="rmsprop", loss=None, *args, **kwargs):
        """`keras.Model.compile`, with cross-entropies taken from logits.

        The wrapped model outputs logits, so a cross-entropy named by a
        string ("categorical_crossentropy", "sparse_categorical_crossentropy",
        "binary_crossentropy", ...) is computed from logits
        (`from_logits=True`). A binary cross-entropy makes the output
        Bernoulli, a categorical one categorical.

        Raises:
          ValueError: If `loss` is a loss object or function that reads the
            model's output as probabilities (from_logits=False), or
            contradicts `output_distribution`.
        """
        loss = _losses_from_logits(loss)
        _check_loss_takes_logits(loss)
        loss_distribution = _loss_distribution(loss)
        if (
            self.output_distribution is not None
            and loss_distribution is not None
            and loss_distribution != self.output_distribution
        ):
            raise ValueError(
                f"loss {loss!r} is a {loss_distribution} cross-entropy, but "
                f"the wrapper was given output_distribution="
                f"{self.output_distribution!r}. Leave output_distribution "
                f"None (the loss decides) or compile with a matching loss."
            )
        self._loss_distribution = loss_distribution
        super().compile(optimizer, loss, *args, **kwargs)

    def compile_from_config(self, config):
        """Compiles as `config` (from `get_compile_config`) says, as
        `keras.models.load_model` does, and builds the optimizer so that its
        saved state can be loaded."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.optimizer is not None:
            self.optimizer.build(self.trainable_variables)

    @property
    def losses(self):
        """The wrapped model's losses (weight penalties, `add_loss`).

        During `train_step`, those of the pass its loss uses: there the
        wrapped model is not called normally, so its own record would be
        stale.
        """
        if self._train_pass.losses is not None:
            return list(self._train_pass.losses)
        return super().losses

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            passes = _run_passes(
                self.model,
                x,
                self._pass_options(),
                training=True,
                collect_losses=True,
            )
            for variable, value in passes.state_updates:
                variable.assign(value)
            norm = self._norm_of(passes, y)
            with self._train_pass.holding(passes.losses):
                loss = self.compute_loss(
                    x=x,
                    y=y,
                    y_pred=passes.logits,
                    sample_weight=sample_weight,
                    training=True,
                )
            # compute_loss divides by the number of replicas, so that the
            # replicas' summed gradients are the global batch's mean's.
            loss = loss + _per_replica(
                tf.cast(self._lambda.value, loss.dtype)
                * tf.cast(norm, loss.dtype)
            )
            self._update_trackers(x, _all_replicas(loss), norm)
            if self.optimizer is not None:
                loss = self.optimizer.scale_loss(loss)
        reads = [tensor for pairs in passes.reads for tensor, _ in pairs]
        gradients = _variable_gradients(
            passes.reads, tape.gradient(loss, reads)
        )
        self.optimizer.apply_gradients(
            zip(gradients, self.model.trainable_variables, strict=True)
        )
        return self.compute_metrics(
            x, y, passes.logits, sample_weight=sample_weight
        )

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(
            x=x,
            y=y,
            y_pred=y_pred,
            sample_weight=sample_weight,
            training=False,
        )
        norm = self._norm_of(
            _run_passes(self.model, x, self._pass_options(), training=False),
            y,
        )
        self._update_trackers(x, _all_replicas(loss), norm)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _pass_options(self):
        return _Options(
            self.should_regularize,
            self.perturbation,
            self.method,
            self.output_distribution or self._loss_distribution,
        )

    def _norm_of(self, passes, labels):
        if self.norm == "fr":
            return _standard_norm(passes, self.differentiate_probability)
        return _empirical_norm(core.convert_labels(labels), passes)

    def _update_trackers(self, x, loss, norm):
        """Adds the batch's loss and norm to fit's running means, weighted by
        the batch size as Keras weights its loss."""
        batch_size = tf.shape(tf.nest.flatten(x)[0])[0]
        for metric in self.metrics:
            # Keras's own loss tracker; compile() creates it.
            if metric.name == "loss":
                metric.update_state(loss, sample_weight=batch_size)
        self.fisher_rao_norm_tracker.update_state(
            norm, sample_weight=batch_size
        )


class FisherRaoLambdaScheduler(keras.callbacks.Callback):
    """Sets a `FisherRaoRegularizedModel`'s lambda at each epoch's start.

    In the style of `keras.callbacks.LearningRateScheduler`: `schedule` takes
    the epoch index (from 0) and the current lambda (a float) and returns the
    new lambda, a finite number >= 0. The epoch's logs get
    `"fisher_rao_lambda"`, the value used. A warm-up:

        FisherRaoLambdaScheduler(linear_warm_up(0.01, epochs=5))
    """

    def __init__(self, schedule, verbose=0):
        """Args:
        schedule: Callable `(epoch, fisher_rao_lambda) -> fisher_rao_lambda`.
        verbose: 1 prints each new value, 0 is quiet.

        Raises:
          TypeError: If `schedule` is not callable.
        """
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"schedule must be a callable (epoch, fisher_rao_lambda) -> "
                f"fisher_rao_lambda; got {schedule!r}."
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        model = self._regularized_model()
        value = self.schedule(epoch, _lambda_value(model))
        try:
            _check_lambda(value)
        except ValueError as error:
            raise ValueError(
                f"The schedule of FisherRaoLambdaScheduler returned "
                f"{value!r} at epoch {epoch}: {error}"
            ) from None
        model.fisher_rao_lambda = value
        if self.verbose > 0:
            print(
                f"\nEpoch {epoch + 1}: FisherRaoLambdaScheduler setting "
                f"fisher_rao_lambda to {float(value)}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["fisher_rao_lambda"] = _lambda_value(
                self._regularized_model()
            )

    def _regularized_model(self):
        if not isinstance(self.model, FisherRaoRegularizedModel):
            raise TypeError(
                f"FisherRaoLambdaScheduler works on a "
                f"FisherRaoRegularizedModel's fit; this fit is "
                f"{type(self.model).__name__}'s."
            )
        return self.model


def linear_warm_up(fisher_rao_lambda, epochs):
    """A schedule for `FisherRaoLambdaScheduler`: lambda from 0 to a value.

    Epoch e (from 0) trains with `fisher_rao_lambda * min(1, e / epochs)`:
    the first epoch on the loss alone, full lambda from epoch `epochs` on.

    Args:
      fisher_rao_lambda: The final lambda, a finite number >= 0.
      epochs: Epochs to reach it, an integer >= 1.

    Returns:
      A function `(epoch, current_lambda) -> lambda`.

    Raises:
      ValueError: On a bad `fisher_rao_lambda` or `epochs`.
    """
    _check_lambda(fisher_rao_lambda)
    if (
        isinstance(epochs, bool)
        or not isinstance(epochs, numbers.Integral)
        or epochs < 1
    ):
        raise ValueError(f"epochs must be an integer >= 1; got {epochs!r}.")
    final = float(fisher_rao_lambda)

    def schedule(epoch, current_lambda):
        del current_lambda  # The schedule depends on the epoch only.
        return final * min(1.0, epoch / epochs)

    return schedule


class _Untracked:
    """Holds a value Keras does not track (a plain object's attribute)."""

    def __init__(self, value):
        self.value = value


class _TrainPassLosses:
    """The losses of the pass `train_step` uses, while it computes its loss.

    A plain object: Keras does not track what it holds.
    """

    def __init__(self):
        self.losses = None

    @contextlib.contextmanager
    def holding(self, losses):
        self.losses = tuple(losses)
        try:
            yield
        finally:
            self.losses = None


# ---------------------------------------------------------------------------
# The norms.


def _standard_norm(passes, differentiate_probability):
    if passes.distribution == "bernoulli":
        return core.bernoulli_standard_regularizer(
            passes.outputs, passes.derivative, differentiate_probability
        )
    return core.standard_regularizer(
        passes.outputs, passes.derivative, differentiate_probability
    )


def _empirical_norm(labels, passes):
    labels = _labels_like_logits(labels, passes.outputs, passes.distribution)
    if passes.distribution == "bernoulli":
        return core.bernoulli_empirical_regularizer(
            labels, passes.outputs, passes.derivative
        )
    return core.empirical_regularizer(
        labels, passes.outputs, passes.derivative
    )


def _labels_like_logits(labels, logits, distribution):
    """Labels of the logits' shape: class indices made one-hot, a Bernoulli
    output's labels without the last axis given one.

    Raises:
      ValueError: If the shapes cannot be matched.
    """
    rank, logits_rank = labels.shape.rank, logits.shape.rank
    num_outputs = logits.shape[-1]
    if rank is None or logits_rank is None:
        return labels
    if rank == logits_rank - 1 and distribution == "categorical":
        _check_leading_shape(labels.shape, labels.shape, logits.shape)
        return _one_hot(labels, num_outputs, logits)
    if rank == logits_rank - 1 and num_outputs == 1:  # Bernoulli.
        return _with_leading_shape_checked(labels, logits)[..., tf.newaxis]
    if (
        distribution == "categorical"
        and rank == logits_rank
        and labels.shape[-1] == 1
        and num_outputs != 1
    ):
        _check_leading_shape(labels.shape[:-1], labels.shape, logits.shape)
        return _one_hot(tf.squeeze(labels, -1), num_outputs, logits)
    core.check_labels_shape(labels, logits)
    return labels


def _with_leading_shape_checked(labels, logits):
    core.check_labels_shape(labels, logits[..., 0])
    return labels


def _check_leading_shape(indices_shape, labels_shape, logits_shape):
    if not indices_shape.is_compatible_with(logits_shape[:-1]):
        raise ValueError(
            f"labels must have the logits' shape, or hold class indices "
            f"with the logits' shape without its last axis (or with a last "
            f"axis of 1); labels have shape {labels_shape}, logits have "
            f"shape {logits_shape}."
        )


def _one_hot(indices, num_classes, logits):
    """Class indices (of any numeric dtype, as Keras's sparse cross-entropy
    takes them) as one-hot rows, checked at run time to be in range."""
    indices = tf.cast(indices, tf.int64)
    checks = [
        tf.debugging.assert_non_negative(
            indices, message="class indices must be >= 0"
        ),
        tf.debugging.assert_less(
            indices,
            tf.constant(num_classes, tf.int64),
            message=f"class indices must be < {num_classes}, the number of "
            f"logits",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.one_hot(indices, num_classes, dtype=logits.dtype)


# ---------------------------------------------------------------------------
# The passes.


def _options(model, should_regularize, perturbation, method, distribution):
    """The checks every entry point makes, in the graph library's order.

    Returns:
      The `_Options`.
    """
    _check_keras()
    _check_model(model)
    if should_regularize is not None:
        core.check_should_regularize(should_regularize)
    core.check_perturbation(perturbation)
    core.check_method(method)
    if distribution is not None and distribution not in OUTPUT_DISTRIBUTIONS:
        raise ValueError(
            f"output_distribution must be None or one of "
            f"{', '.join(map(repr, OUTPUT_DISTRIBUTIONS))}; got "
            f"{distribution!r}."
        )
    return _Options(should_regularize, perturbation, method, distribution)


def _run_passes(model, inputs, options, training, collect_losses=False):
    """Runs the passes giving the logits and D of the outputs.

    Every pass starts from the model's current non-trainable values, so
    random layers drawing from the model's seed generators draw the same
    numbers in each, and none changes the model. Each pass reads its own
    copy of every trainable variable (see `_Passes.reads`).

    Args:
      model: As in `standard_fisher_rao_norm`.
      inputs: A batch the model takes.
      options: `_Options`, checked.
      training: The `training` argument of every pass.
      collect_losses: Whether to return the losses of the pass whose logits
        are returned.

    Returns:
      A `_Passes`.
    """
    variables = model.trainable_variables
    selected = _selected(model, options.should_regularize)
    if options.method != "exact":
        _check_finite_differences(model, selected, options.perturbation)
    # One read of each variable, under the caller's tape: every pass is built
    # from these, so gradients reach the variables through all of them.
    values = [tf.convert_to_tensor(variable.value) for variable in variables]
    state = [
        tf.convert_to_tensor(variable.value)
        for variable in model.non_trainable_variables
    ]

    def run(trainable_values, collect=False):
        logits, new_state, losses = _stateless_pass(
            model, trainable_values, state, inputs, training, collect
        )
        updates = [
            (variable, new)
            for variable, old, new in zip(
                model.non_trainable_variables, state, new_state, strict=True
            )
            if new is not old
        ]
        return logits, updates, losses

    if options.method == "exact":
        passes = _exact_passes(
            model, run, values, selected, options, collect_losses
        )
        if tf.executing_eagerly():  # After the pass's own errors, if any.
            _check_by_tracing(model, inputs, options, training)
        return passes
    # Copies: the gradient with respect to each pass's reads is that pass's
    # share of the variable's gradient.
    reads = [[(tf.identity(value), 1.0)] for value in values]
    logits, updates, losses = run(
        [pairs[0][0] for pairs in reads], collect_losses
    )
    distribution = _distribution(options.output_distribution, logits, model)
    outputs = _outputs(logits, distribution)

    def outputs_at(step):
        scaled = []
        for value, is_selected, pairs in zip(
            values, selected, reads, strict=True
        ):
            if is_selected:
                scaled.append(core.scaled_along_itself(value, step))
                pairs.append((scaled[-1], 1.0 + step))
            else:
                scaled.append(tf.identity(value))
                pairs.append((scaled[-1], 1.0))
        return _outputs(run(scaled)[0], distribution)

    derivative = core.finite_difference_derivative(
        options.method, options.perturbation, outputs, outputs_at
    )
    if tf.executing_eagerly():
        _check_by_tracing(model, inputs, options, training)
    return _Passes(
        logits, outputs, derivative, distribution, updates, losses, reads
    )


def _exact_passes(model, run, values, selected, options, collect_losses):
    """The pass with `v + t * v` at t = 0 and its derivative in t.

    Each selected `v` enters as `v + t * d`, `d` a copy of `v`: the gradient
    with respect to `v + t * d` and to `d` are its two shares.
    """
    dtype = next(
        value.dtype
        for value, is_selected in zip(values, selected, strict=True)
        if is_selected
    )
    directions = [
        tf.identity(value) if is_selected else None
        for value, is_selected in zip(values, selected, strict=True)
    ]
    offset = tf.zeros([], dtype, name="fisher_rao_offset")
    with tf.GradientTape() as tape:
        tape.watch(offset)
        scaled = [
            value
            if direction is None
            # Exactly v at t = 0.
            else value + tf.cast(offset, value.dtype) * direction
            for value, direction in zip(values, directions, strict=True)
        ]
        logits, updates, losses = run(scaled, collect_losses)
        distribution = _distribution(
            options.output_distribution, logits, model
        )
        outputs = _outputs(logits, distribution)
    if not tf.executing_eagerly():  # Only a graph shows the ops.
        try:
            core.check_exact_mode_applies(
                offset, logits, _EXACT_MODE_DIFFERENTIATION
            )
        except ValueError as error:
            raise _refusal(error) from None
    reads = [
        [(value, 1.0)] + ([] if direction is None else [(direction, 1.0)])
        for value, direction in zip(scaled, directions, strict=True)
    ]
    return _Passes(
        logits,
        outputs,
        _jvp(tape, outputs, offset),
        distribution,
        updates,
        losses,
        reads,
    )


def _jvp(tape, output, scalar_input):
    """d output / d scalar_input, elementwise, by the double-backward trick.

    g(u) = <u, d output/d input> is linear in u, so its gradient in u is the
    forward-mode derivative; u's value never matters. In a tf.function
    training step this costs less than tf.autodiff.ForwardAccumulator
    (measured 1.26x to 1.31x against 1.36x to 1.53x the forward-difference
    step on a 784-512-512-10 MLP; see docs/benchmarks.md).

    Args:
      tape: A non-persistent tape that watched `scalar_input` while
        `output` was computed; used up here.
      output: A tensor.
      scalar_input: A scalar tensor.
    """
    dummy = tf.zeros_like(output)
    with tf.GradientTape() as dual:
        dual.watch(dummy)
        vjp = tape.gradient(output, scalar_input, output_gradients=dummy)
    if vjp is None:  # The output does not depend on the input.
        return tf.zeros_like(output)
    derivative = dual.gradient(vjp, dummy)
    return tf.zeros_like(output) if derivative is None else derivative


def _stateless_pass(
    model,
    trainable_values,
    non_trainable_values,
    inputs,
    training,
    collect_losses,
):
    """`model(inputs, training=...)` on the given values, changing nothing.

    What `model.stateless_call` does, but through `model.__call__`: so
    `training` reaches the layers of a subclassed model as in a normal call
    (stateless_call calls `model.call` directly, which refuses `training`
    if its signature lacks it and leaves inner layers in inference mode).

    Returns:
      `(logits, non-trainable values after the pass, losses)`, the losses
      (`model.losses`, from these values) only if `collect_losses`.
    """
    mapping = list(
        zip(model.trainable_variables, trainable_values, strict=True)
    ) + list(
        zip(model.non_trainable_variables, non_trainable_values, strict=True)
    )
    with keras.StatelessScope(
        state_mapping=mapping, collect_losses=collect_losses
    ) as scope:
        outputs = model(inputs, training=training)
        losses = list(model.losses) if collect_losses else []
    new_values = [
        scope.get_current_value(variable)
        for variable in model.non_trainable_variables
    ]
    return _checked_model_logits(model, outputs), new_values, losses


def _distribution(requested, logits, model):
    """The output distribution: `requested`, or from the number of logits.

    Raises:
      ValueError: For a categorical output with one logit.
    """
    num_outputs = logits.shape[-1]
    if requested is None:
        return "bernoulli" if num_outputs == 1 else "categorical"
    if requested == "categorical" and num_outputs == 1:
        producer = "the model" if model is None else f"model '{model.name}'"
        raise ValueError(
            f"{producer} outputs one logit per example (shape "
            f"{logits.shape}), and a softmax over one logit is constant, so "
            f"a categorical output's Fisher-Rao norm would be 0. A binary "
            f"classifier with one logit z is a Bernoulli output (p = "
            f"sigmoid(z)): compile with binary cross-entropy (from logits) "
            f"or pass output_distribution='bernoulli'; or output two logits "
            f"for a softmax."
        )
    return requested


def _outputs(logits, distribution):
    """What D is taken of: log softmax(logits) for a categorical output, the
    logits for a Bernoulli one; in float32 for half-precision logits."""
    if logits.dtype in _HALF_PRECISION:
        logits = tf.cast(logits, tf.float32)
    if distribution == "bernoulli":
        return logits
    return tf.nn.log_softmax(logits)


def _selected(model, should_regularize):
    """Whether each trainable variable belongs to theta_S (float only).

    Raises:
      ValueError: If none does: the norm would be 0 whatever the weights.
    """
    variables = model.trainable_variables
    selected = [
        tf.as_dtype(variable.dtype).is_floating
        and (
            should_regularize is None or bool(should_regularize(variable.path))
        )
        for variable in variables
    ]
    if any(selected):
        return selected
    if not any(tf.as_dtype(v.dtype).is_floating for v in variables):
        raise ValueError(
            f"model '{model.name}' has no trainable float variables, so its "
            f"Fisher-Rao norm is 0 whatever it computes."
        )
    paths = [variable.path for variable in variables]
    shown = ", ".join(map(repr, paths[:4])) + (", ..." if paths[4:] else "")
    raise ValueError(
        f"should_regularize selects none of model '{model.name}''s "
        f"{len(paths)} trainable variables, so the Fisher-Rao norm would "
        f"be 0 whatever the weights. It is called with each variable's "
        f"Keras 3 path: {shown} (paths have no ':0' suffix, and Sequential, "
        f"functional and subclassed models name them differently)."
    )


# ---------------------------------------------------------------------------
# Gradients.


def _variable_gradients(reads, read_gradients):
    """Each variable's gradient from the gradients of its passes' reads.

    Args:
      reads: `_Passes.reads`: per variable, `(tensor, factor)` pairs, the
        pass whose logits the loss uses first.
      read_gradients: The gradients of the objective with respect to those
        tensors, in the same order, flattened.

    Returns:
      One gradient per variable, None where no read has one.
    """
    read_gradients = iter(read_gradients)
    return [
        _summed_shares([(next(read_gradients), factor) for _, factor in pairs])
        for pairs in reads
    ]


def _summed_shares(shares):
    """sum factor * gradient, in the form plain Keras would give.

    Dense shares are added. For `tf.IndexedSlices` (a gathered variable),
    the passes gather the same rows, so their slices are added slice by
    slice onto the first share's: one slice per gathered row, as the plain
    model's gradient has, instead of one per row and pass (an optimizer
    like Adam squares slices one by one, and the passes' large shares that
    cancel only in their sum would inflate its second moment). With lambda
    = 0 the other shares are zeros and the first is the plain gradient, so
    the result is bit-identical to it.
    """
    shares = [
        _times(gradient, factor)
        for gradient, factor in shares
        if gradient is not None
    ]
    if not shares:
        return None
    first, rest = shares[0], shares[1:]
    if not rest:
        return first
    if not isinstance(first, tf.IndexedSlices):
        total = first
        for share in rest:
            total = total + tf.convert_to_tensor(share)
        return total
    sparse = [share for share in rest if isinstance(share, tf.IndexedSlices)]
    dense = [
        share for share in rest if not isinstance(share, tf.IndexedSlices)
    ]
    values, indices = first.values, first.indices
    if sparse:
        values, indices = _slice_by_slice(first, sparse)
    if dense:
        # A share with no slices (exact mode's direction `d` of a gathered
        # variable): one more slice per row of the variable.
        total = dense[0]
        for share in dense[1:]:
            total = total + share
        values = tf.concat([values, total], 0)
        indices = tf.concat(
            [indices, tf.range(tf.shape(total, indices.dtype)[0])], 0
        )
    return tf.IndexedSlices(values, indices, first.dense_shape)


def _times(gradient, factor):
    if factor == 1.0:
        return gradient
    # A Python factor straight to the gradient's dtype: through float32, a
    # float64 step's 1 + eps would be off by 1e-8, amplified by the shares'
    # cancellation.
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(
            gradient.values
            * tf.constant(factor, gradient.values.dtype.base_dtype),
            gradient.indices,
            gradient.dense_shape,
        )
    return gradient * tf.constant(factor, gradient.dtype.base_dtype)


def _slice_by_slice(first, others):
    """`(values, indices)`: the others' slices added onto the first's.

    If a pass gathered other rows (a model whose lookups depend on its
    weights), the others' slices are summed per row and appended instead.
    """
    indices = first.indices
    others = [
        tf.IndexedSlices(other.values, tf.cast(other.indices, indices.dtype))
        for other in others
    ]

    def same_rows(other):
        return tf.cond(
            tf.equal(tf.size(other.indices), tf.size(indices)),
            lambda: tf.reduce_all(tf.equal(other.indices, indices)),
            lambda: tf.constant(False),
        )

    aligned = tf.reduce_all(tf.stack([same_rows(other) for other in others]))

    def added():
        return tf.add_n([first.values] + [o.values for o in others]), indices

    def appended():
        rows, position = tf.unique(
            tf.concat([other.indices for other in others], 0)
        )
        summed = tf.math.unsorted_segment_sum(
            tf.concat([other.values for other in others], 0),
            position,
            tf.size(rows),
        )
        return (
            tf.concat([first.values, summed], 0),
            tf.concat([indices, rows], 0),
        )

    return tf.cond(aligned, added, appended)


def _per_replica(value):
    """`value` divided by the replicas in sync, as Keras divides its loss."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return value if replicas == 1 else value * (1.0 / replicas)


def _all_replicas(value):
    """A per-replica loss as the global batch's (Keras's loss tracker)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return value if replicas == 1 else value * float(replicas)


# ---------------------------------------------------------------------------
# Checks.


def _check_keras():
    """Raises RuntimeError unless Keras is Keras 3 on TensorFlow."""
    major = int(keras.__version__.split(".")[0])
    if major < 3:
        raise RuntimeError(
            f"keras_fisher_rao needs Keras 3 (`import keras` gives Keras "
            f"{keras.__version__}); install keras>=3, or use "
            f"direct_fisher_rao for TF1-style graph code."
        )
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"keras_fisher_rao needs Keras's TensorFlow backend; Keras is "
            f"running on {backend!r}. Set the environment variable "
            f"KERAS_BACKEND=tensorflow before Keras is first imported."
        )


def _check_model(model):
    """Raises unless `model` is a built Keras 3 model not ending in a
    softmax or sigmoid layer."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"model must be a Keras 3 keras.Model (from `import keras`); got "
            f"{type(model).__module__}.{type(model).__name__}. tf.keras "
            f"models from tf-keras (TF_USE_LEGACY_KERAS=1) are Keras 2: "
            f"build them with direct_fisher_rao's tf.compat.v1 graph code, "
            f"or build the model with Keras 3."
        )
    if not model.built:
        raise ValueError(
            f"model '{model.name}' is not built: its variables do not exist "
            f"yet. Call it on a batch (model(x)) or build it "
            f"(model.build(input_shape)) first."
        )
    for layer in _output_layers(model):
        activation = _probability_activation(layer)
        if activation is not None:
            _refuse_probabilities(model, activation, f"layer '{layer.name}'")


def _refuse_probabilities(model, activation, where):
    loss = (
        "keras.losses.CategoricalCrossentropy(from_logits=True)"
        if activation == "softmax"
        else "keras.losses.BinaryCrossentropy(from_logits=True)"
    )
    raise _refusal(
        ValueError(
            f"model '{model.name}' ends in a {activation} ({where}), so it "
            f"outputs probabilities; the Fisher-Rao norm needs logits. Drop "
            f"the {activation} and train with a loss that takes logits (e.g. "
            f"{loss})."
        )
    )


def _refusal(error):
    """`error`, marked as a refusal the eager trace must pass on."""
    error.fisher_rao_refusal = True
    return error


def _output_layers(model):
    """The layers producing a Sequential or functional model's outputs,
    through nested models; empty for a subclassed model (its output is
    checked when a pass runs)."""
    outputs = getattr(model, "outputs", None)
    if not outputs:
        return []
    found = []
    for layer in model.layers:
        try:
            is_output = any(layer.output is output for output in outputs)
        except (AttributeError, ValueError):  # Called more than once.
            continue
        if is_output:
            found += (
                _output_layers(layer)
                if isinstance(layer, keras.Model)
                else [layer]
            )
    return found


def _probability_activation(layer):
    """ "softmax", "sigmoid" or None: what a layer ends in."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    if activation is keras.activations.softmax:
        return "softmax"
    if activation is keras.activations.sigmoid:
        return "sigmoid"
    return None


# Ops that pass a tensor on unchanged in value, between a softmax or sigmoid
# and the model's output.
_PASS_THROUGH_OPS = frozenset(
    {"Identity", "Cast", "Reshape", "Squeeze", "ExpandDims"}
)
_PROBABILITY_OPS = {"Softmax": "softmax", "Sigmoid": "sigmoid"}


def _output_activation(outputs):
    """ "softmax" or "sigmoid" if `outputs` are probabilities, else None.

    Keras marks what its softmax and sigmoid return (eagerly too); in a
    graph the op that made them also shows.
    """
    if not tf.executing_eagerly() and hasattr(outputs, "op"):
        tensor = outputs
        while tensor.op.type in _PASS_THROUGH_OPS and tensor.op.inputs:
            tensor = tensor.op.inputs[0]
        if tensor.op.type in _PROBABILITY_OPS:
            return _PROBABILITY_OPS[tensor.op.type]
    if not hasattr(outputs, "_keras_logits"):
        return None
    if not tf.executing_eagerly():
        return "softmax or sigmoid"
    # Eagerly, rows summing to 1 are a softmax's.
    sums = tf.reduce_sum(tf.cast(outputs, tf.float64), axis=-1).numpy()
    return "softmax" if np.allclose(sums, 1.0, atol=1e-3) else "sigmoid"


def _checked_model_logits(model, outputs):
    producer = f"model '{model.name}'"
    if not tf.is_tensor(outputs):
        # Nested outputs would convert to one stacked tensor without error.
        raise ValueError(
            f"{producer} must return one float tensor of shape "
            f"[batch, ..., num_classes]; got {type(outputs).__name__} "
            f"{outputs!r}."
        )
    activation = _output_activation(outputs)
    if activation is not None:
        _refuse_probabilities(model, activation, "its call's output")
    return core.checked_logits(outputs, producer)


def _check_finite_differences(model, selected, perturbation):
    """Raises if a finite difference of a selected variable is not
    meaningful: computed in half precision, or a step that vanishes."""
    compute_dtypes = _compute_dtypes(model)
    variables = model.trainable_variables
    for variable, is_selected in zip(variables, selected, strict=True):
        if not is_selected:
            continue
        dtype = tf.as_dtype(variable.dtype)
        compute_dtype = tf.as_dtype(compute_dtypes.get(id(variable), dtype))
        half = next(
            (
                each
                for each in (compute_dtype, dtype)
                if each in _HALF_PRECISION
            ),
            None,
        )
        if half is not None:
            raise ValueError(
                f"method='forward' and 'central' take finite differences, "
                f"and variable '{variable.path}' is computed in "
                f"{half.name} (mixed precision, or a {half.name} model): "
                f"its rounding (about {_HALF_PRECISION[half]:.0e} "
                f"relative) swamps any useful step, and the norm would be "
                f"wrong by far more than the finite difference's error. Use "
                f"method='exact', which is accurate in {half.name}, or "
                f"compute the model in float32."
            )
        core.check_step_resolves(perturbation, dtype, variable.path)


def _compute_dtypes(model):
    """The compute dtype of the layer owning each trainable variable, by
    `id(variable)` (inner layers last, so they win)."""
    found = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for variable in getattr(layer, "_trainable_variables", ()):
            found[id(variable)] = layer.compute_dtype
    return found


# Models whose passes a trace has checked, per (training, options, input
# signature): eagerly there is no graph to inspect.
_CHECKED_BY_TRACING = weakref.WeakKeyDictionary()


def _check_by_tracing(model, inputs, options, training):
    """Traces the passes once per model, options and input signature, so
    that eager calls refuse what the `tf.function` path refuses: exact mode
    through ops it cannot differentiate (batch statistics in training mode,
    stop_gradient), and outputs from a softmax or sigmoid op that Keras did
    not mark (`tf.nn.softmax` in a subclassed model's call). A model that
    runs eagerly but cannot be traced is not checked further.

    Raises:
      ValueError: As the passes do in a `tf.function`.
    """
    # The batch's own shapes: a model written for them traces with them.
    specs = [
        tf.TensorSpec.from_tensor(tf.convert_to_tensor(tensor))
        for tensor in tf.nest.flatten(inputs)
    ]
    key = (
        bool(training),
        tuple(_selected(model, options.should_regularize)),
        options.method,
        options.perturbation,
        options.output_distribution,
        str(tf.nest.map_structure(lambda _: 0, inputs)),
        tuple(str(spec) for spec in specs),
    )
    checked = _CHECKED_BY_TRACING.setdefault(model, set())
    if key in checked:
        return

    def trace(*tensors):
        _run_passes(
            model,
            tf.nest.pack_sequence_as(inputs, list(tensors)),
            options,
            training,
        )

    try:
        tf.function(trace, autograph=False).get_concrete_function(*specs)
    except Exception as error:  # Whatever a model's trace may raise.
        if getattr(error, "fisher_rao_refusal", False):
            raise
        # A model that runs eagerly but cannot be traced: the eager passes,
        # which succeeded, are all there is to check.
    checked.add(key)


def _check_lambda(fisher_rao_lambda):
    is_number = isinstance(fisher_rao_lambda, numbers.Real) and not isinstance(
        fisher_rao_lambda, bool
    )
    if not (
        is_number
        and math.isfinite(fisher_rao_lambda)
        and fisher_rao_lambda >= 0
    ):
        raise ValueError(
            f"fisher_rao_lambda must be a finite number >= 0; got "
            f"{fisher_rao_lambda!r}."
        )


def _lambda_variable_given(fisher_rao_lambda):
    """A user's `keras.Variable` for lambda, checked; None for a number.

    Raises:
      ValueError: If it is neither a finite number >= 0 nor a scalar float
        non-trainable `keras.Variable` holding one.
    """
    if not isinstance(fisher_rao_lambda, keras.Variable):
        _check_lambda(fisher_rao_lambda)
        return None
    variable = fisher_rao_lambda
    problems = []
    if tuple(variable.shape) != ():
        problems.append(f"has shape {tuple(variable.shape)}, not ()")
    if not tf.as_dtype(variable.dtype).is_floating:
        problems.append(f"has dtype {variable.dtype}, not a float")
    if variable.trainable:
        problems.append("is trainable (the optimizer would change it)")
    if not problems:
        value = float(keras.ops.convert_to_numpy(variable))
        if not (math.isfinite(value) and value >= 0):
            problems.append(f"holds {value!r}, not a finite number >= 0")
    if problems:
        raise ValueError(
            f"fisher_rao_lambda must be a finite number >= 0 or a scalar "
            f"float non-trainable keras.Variable holding one; the variable "
            f"'{variable.path}' {' and '.join(problems)}."
        )
    return variable


def _lambda_value(model):
    return float(keras.ops.convert_to_numpy(model.fisher_rao_lambda))


def _serialized_filter(should_regularize):
    """`should_regularize` as Keras serializes it (None stays None).

    Raises:
      ValueError: If Keras cannot serialize it.
    """
    if should_regularize is None:
        return None
    try:
        return keras.saving.serialize_keras_object(should_regularize)
    except Exception as error:  # Keras raises various types here.
        raise ValueError(
            f"should_regularize={should_regularize!r} cannot be saved: "
            f"Keras serializes functions (by name; register them with "
            f"@keras.saving.register_keras_serializable() or pass them to "
            f"load_model's custom_objects) and lambdas (loaded with "
            f"safe_mode=False), not this ({error}). Use such a function, or "
            f"save the wrapped model (regularized.model.save) and wrap it "
            f"again after loading."
        ) from error


# Cross-entropies given to compile() by name, computed from the logits the
# wrapped model outputs (by name, Keras would read them as probabilities).
_losses = keras.losses
_LOSSES_FROM_LOGITS_BY_NAME = {
    "binary_crossentropy": _losses.BinaryCrossentropy,
    "binary_focal_crossentropy": _losses.BinaryFocalCrossentropy,
    "categorical_crossentropy": _losses.CategoricalCrossentropy,
    "categorical_focal_crossentropy": _losses.CategoricalFocalCrossentropy,
    "sparse_categorical_crossentropy": _losses.SparseCategoricalCrossentropy,
}


def _losses_from_logits(loss):
    """`loss` with every cross-entropy named by a string taken from logits.

    Accepts what `compile` does: one loss, or a list, tuple or dict of them.
    """
    if isinstance(loss, dict):
        return {key: _losses_from_logits(each) for key, each in loss.items()}
    if isinstance(loss, (list, tuple)):
        return type(loss)(_losses_from_logits(each) for each in loss)
    if isinstance(loss, str) and loss in _LOSSES_FROM_LOGITS_BY_NAME:
        return _LOSSES_FROM_LOGITS_BY_NAME[loss](from_logits=True)
    return loss


def _each_loss(loss):
    if isinstance(loss, dict):
        return list(loss.values())
    if isinstance(loss, (list, tuple)):
        return list(loss)
    return [loss]


def _check_loss_takes_logits(loss):
    """Raises ValueError if a compiled loss would read logits as
    probabilities."""
    for each in _each_loss(loss):
        if _takes_probabilities(each):
            raise ValueError(
                f"loss {each!r} reads the model's output as probabilities, "
                f"but a model regularized by the Fisher-Rao norm outputs "
                f"logits. Use a loss that takes logits, e.g. "
                f"keras.losses.CategoricalCrossentropy(from_logits=True), or "
                f'name it ("categorical_crossentropy").'
            )


def _takes_probabilities(loss):
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError:
            return False  # Keras's compile() will say what is wrong.
    if getattr(loss, "from_logits", None) is False:
        return True
    return any(loss is function for function in _PROBABILITY_LOSSES)


def _loss_distribution(loss):
    """ "bernoulli" for a binary cross-entropy, "categorical" for a
    categorical one, None for any other loss (or several)."""
    losses = [each for each in _each_loss(loss) if each is not None]
    if len(losses) != 1:
        return None
    (loss,) = losses
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError:
            return None
    for kinds, distribution in (
        (_BERNOULLI_LOSSES, "bernoulli"),
        (_CATEGORICAL_LOSSES, "categorical"),
    ):
        for kind in kinds:
            if loss is kind or (
                isinstance(kind, type) and isinstance(loss, kind)
            ):
                return distribution
    return None
