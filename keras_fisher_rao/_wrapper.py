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
"""`FisherRaoRegularizedModel`: `fit` on the loss plus lambda times a norm.

The wrapper's training and evaluation steps, lambda, and what `compile`,
`save`, `load_model`, `save_weights` and `export` do with it. The norm and
the loss come from the same passes (`_passes`); the variables' gradients
are assembled by `_gradients`.
"""

import contextlib

import keras
import tensorflow as tf

import fisher_rao_core as core
from keras_fisher_rao import _checks, _gradients, _losses, _norms, _passes

# "fr": the standard norm; "fre": the empirical one, on the batch's labels.
NORMS = ("fr", "fre")
# The names `fit` and `evaluate` log each norm under.
_NORM_LOG_NAMES = {
    "fr": "fisher_rao_norm",
    "fre": "empirical_fisher_rao_norm",
}


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
    optimizer's state), once `keras_fisher_rao` is imported. `save_weights`
    and `load_weights` read and write the wrapped model's weights only, so
    weight files are interchangeable with the wrapped model's; `export`
    exports the wrapped model for inference.

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
        options = _passes.checked_options(
            model, should_regularize, perturbation, method, output_distribution
        )
        # Refuses selecting nothing now, not at the first step.
        _passes.selection(model, should_regularize)
        if norm not in NORMS:
            raise ValueError(
                f"norm must be one of {', '.join(map(repr, NORMS))}; got "
                f"{norm!r}."
            )
        lambda_variable = _checks.lambda_variable_given(fisher_rao_lambda)
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
        _checks.check_lambda(value)
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
        loss = _losses.losses_from_logits(loss)
        _losses.check_loss_takes_logits(loss)
        loss_distribution = _losses.loss_distribution(loss)
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
            passes = _passes.run_passes(
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
        gradients = _gradients.variable_gradients(
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
            _passes.run_passes(
                self.model, x, self._pass_options(), training=False
            ),
            y,
        )
        self._update_trackers(x, _all_replicas(loss), norm)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _pass_options(self):
        return _passes.Options(
            self.should_regularize,
            self.perturbation,
            self.method,
            self.output_distribution or self._loss_distribution,
        )

    def _norm_of(self, passes, labels):
        if self.norm == "fr":
            return _norms.standard_norm(passes, self.differentiate_probability)
        return _norms.empirical_norm(core.convert_labels(labels), passes)

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


def _per_replica(value):
    """`value` divided by the replicas in sync, as Keras divides its loss."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return value if replicas == 1 else value * (1.0 / replicas)


def _all_replicas(value):
    """A per-replica loss as the global batch's (Keras's loss tracker)."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return value if replicas == 1 else value * float(replicas)
