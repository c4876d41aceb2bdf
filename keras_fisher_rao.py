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
`f(theta + e * theta_S)` in e at 0:

  standard:  mean_i sum_k p_ik (D log softmax_k(logits_i))^2,  p = softmax
  empirical: mean_i (D CE(labels_i, logits_i))^2

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
`direct_fisher_rao`.
"""

import collections
import contextlib
import math
import numbers

import keras
import tensorflow as tf

import fisher_rao_core as core

__all__ = [
    "METHODS",
    "NORMS",
    "FisherRaoRegularizedModel",
    "empirical_fisher_rao_norm",
    "standard_fisher_rao_norm",
]

METHODS = core.METHODS
# "fr": the standard norm; "fre": the empirical one, on the batch's labels.
NORMS = ("fr", "fre")

# Keras losses that read the model's output as probabilities unless given
# from_logits=True; the regularized model outputs logits.
_PROBABILITY_LOSSES = (
    keras.losses.binary_crossentropy,
    keras.losses.binary_focal_crossentropy,
    keras.losses.categorical_crossentropy,
    keras.losses.categorical_focal_crossentropy,
    keras.losses.sparse_categorical_crossentropy,
)

# How exact mode differentiates, for fisher_rao_core's refusal message.
_EXACT_MODE_DIFFERENTIATION = "with tf.GradientTape"

# What the passes give: the logits of the pass the caller may use as the
# model's output, their log softmax, its derivative D along theta_S, the
# `(variable, value)` pairs of the non-trainable variables that pass changed,
# and its losses (`model.losses`, when collected).
_Passes = collections.namedtuple(
    "_Passes", "logits log_probs derivative state_updates losses"
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
):
    """The standard Fisher-Rao norm of a Keras 3 model on a batch.

    norm = mean_i sum_k p_ik (D log softmax_k(logits_i))^2, where
    p = softmax(logits) and D is the derivative along theta_S.

    Works eagerly and inside `tf.function`; differentiable with respect to
    the model's trainable variables. Never changes the model's variables
    (batch-norm statistics and seed generators included). Like any call of
    the model, the passes replace Keras's record of the last call's
    `add_loss` losses: read `model.losses` before calling this.

    Args:
      model: A built Keras 3 `keras.Model` returning float logits of shape
        `[batch, ..., num_classes]` (not probabilities).
      inputs: A batch the model takes.
      should_regularize: Callable taking a trainable variable's `path`
        (e.g. "sequential/dense/kernel") and returning whether it belongs to
        theta_S; None selects every trainable variable.
      perturbation: Finite-difference step eps, a finite number > 0
        (validated but unused when `method="exact"`).
      method: "forward", "central" or "exact" (see the module docstring).
      training: The `training` argument of every pass of the model.
      differentiate_probability: If False, p is held out of the gradient.

    Returns:
      A scalar tensor of the logits' dtype.

    Raises:
      RuntimeError: If Keras is not Keras 3 on the TensorFlow backend.
      TypeError: If `model` is not a Keras 3 model or `should_regularize`
        is not callable.
      ValueError: On a bad `perturbation` or `method`, a model that is not
        built or does not output float logits of rank >= 2, and, in a
        `tf.function`, exact mode through ops it cannot differentiate.
    """
    passes = _run_passes(
        model, inputs, should_regularize, perturbation, method, training
    )
    return core.standard_regularizer(
        passes.log_probs, passes.derivative, differentiate_probability
    )


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
):
    """The empirical Fisher-Rao norm of a Keras 3 model on a batch.

    norm = mean_i (D CE(labels_i, logits_i))^2, where
    CE(y, z) = -sum_k y_k log softmax_k(z) and D is the derivative along
    theta_S.

    Args:
      model: As in `standard_fisher_rao_norm`.
      inputs: A batch the model takes.
      labels: Targets with the logits' shape (usually one-hot), of a float
        or integer dtype.
      should_regularize: As in `standard_fisher_rao_norm`.
      perturbation: As in `standard_fisher_rao_norm`.
      method: "forward", "central" or "exact".
      training: The `training` argument of every pass of the model.

    Returns:
      A scalar tensor of the logits' dtype.

    Raises:
      RuntimeError, TypeError, ValueError: As in `standard_fisher_rao_norm`;
        also TypeError for labels that are not numeric and ValueError for
        labels whose shape is not the logits'.
    """
    labels = core.convert_labels(labels)
    passes = _run_passes(
        model, inputs, should_regularize, perturbation, method, training
    )
    return _empirical_norm(labels, passes)


class FisherRaoRegularizedModel(keras.Model):
    """A Keras 3 model trained on its loss plus lambda times a Fisher-Rao norm.

    `fit` minimizes `compiled loss + model.losses + fisher_rao_lambda * norm`
    on every batch, where norm is the standard (`"fr"`) or empirical
    (`"fre"`, on the batch's one-hot labels) Fisher-Rao norm of the wrapped
    model in training mode. The loss and the norm come from the same passes:
    in exact mode, from one pass (at t = 0) and its derivative. Its
    non-trainable updates (batch-norm statistics, seed generators) and
    losses are applied once; the extra passes' never are. Sample weights
    weight the compiled loss only; the norm is the batch's plain mean.
    `fit`'s logs and history add "fisher_rao_norm": its mean over the
    epoch's batches.

    `evaluate` reports what the wrapped model's would (its compiled loss
    and metrics, in inference mode) plus "fisher_rao_norm" on the
    evaluation batches, also in inference mode. `predict` and `call` are
    the wrapped model's. Weights are the wrapped model's: save and load them
    through either model.

    The wrapped model must output logits: compile with losses that take
    them (e.g. `keras.losses.CategoricalCrossentropy(from_logits=True)`);
    a cross-entropy named by a string ("categorical_crossentropy") is
    computed from the logits.
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
        **kwargs,
    ):
        """Wraps `model`.

        Args:
          model: A built Keras 3 model returning float logits.
          norm: "fr" (standard) or "fre" (empirical).
          fisher_rao_lambda: Factor of the norm in the loss, finite, >= 0.
          method: "forward", "central" or "exact".
          perturbation: Finite-difference step, a finite number > 0.
          should_regularize: Callable on a trainable variable's `path`;
            None selects every trainable variable.
          differentiate_probability: For "fr": whether gradients flow
            through the probabilities that weight the norm.
          **kwargs: Passed to `keras.Model` (e.g. `name`).

        Raises:
          RuntimeError, TypeError, ValueError: As
            `standard_fisher_rao_norm` would for the model and options,
            and ValueError on a bad `norm` or `fisher_rao_lambda`.
        """
        _check_options(model, should_regularize, perturbation, method)
        if norm not in NORMS:
            raise ValueError(
                f"norm must be one of {', '.join(map(repr, NORMS))}; got "
                f"{norm!r}."
            )
        _check_lambda(fisher_rao_lambda)
        super().__init__(**kwargs)
        self.model = model
        self.norm = norm
        self.fisher_rao_lambda = float(fisher_rao_lambda)
        self.method = method
        self.perturbation = perturbation
        self.should_regularize = should_regularize
        self.differentiate_probability = bool(differentiate_probability)
        self.fisher_rao_norm_tracker = keras.metrics.Mean(
            name="fisher_rao_norm"
        )
        self._train_pass = _TrainPassLosses()
        self.built = True  # The wrapped model's variables are all there is.

    def call(self, inputs, training=None):
        return self.model(inputs, training=training)

    def get_config(self):
        """Not serializable: save the wrapped model instead.

        Raises:
          NotImplementedError: Always, saying what to save.
        """
        raise NotImplementedError(
            "FisherRaoRegularizedModel is a training wrapper and is not "
            "saved whole (should_regularize may be any callable). Its "
            "weights are the wrapped model's: save that model "
            "(regularized.model.save(path)), or the weights with "
            "save_weights, and wrap the loaded model again to train on."
        )

    def compile(self, optimizer="rmsprop", loss=None, *args, **kwargs):
        """`keras.Model.compile`, with cross-entropies taken from logits.

        The wrapped model outputs logits, so a cross-entropy named by a
        string ("categorical_crossentropy", "sparse_categorical_crossentropy",
        ...) is computed from logits (`from_logits=True`).

        Raises:
          ValueError: If `loss` is a loss object or function that reads the
            model's output as probabilities (from_logits=False).
        """
        loss = _losses_from_logits(loss)
        _check_loss_takes_logits(loss)
        super().compile(optimizer, loss, *args, **kwargs)

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
                self.should_regularize,
                self.perturbation,
                self.method,
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
            loss = loss + tf.cast(self.fisher_rao_lambda * norm, loss.dtype)
            self._update_trackers(x, loss, norm)
            if self.optimizer is not None:
                loss = self.optimizer.scale_loss(loss)
        variables = self.trainable_weights
        self.optimizer.apply_gradients(
            zip(tape.gradient(loss, variables), variables, strict=True)
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
            _run_passes(
                self.model,
                x,
                self.should_regularize,
                self.perturbation,
                self.method,
                training=False,
            ),
            y,
        )
        self._update_trackers(x, loss, norm)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def _norm_of(self, passes, labels):
        if self.norm == "fr":
            return core.standard_regularizer(
                passes.log_probs,
                passes.derivative,
                self.differentiate_probability,
            )
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
# The passes.


def _run_passes(
    model,
    inputs,
    should_regularize,
    perturbation,
    method,
    training,
    collect_losses=False,
):
    """Runs the passes giving the logits and their derivative along theta_S.

    Every pass starts from the model's current non-trainable values, so
    random layers drawing from the model's seed generators draw the same
    numbers in each, and none changes the model.

    Args:
      model, inputs, should_regularize, perturbation, method, training: As in
        `standard_fisher_rao_norm`.
      collect_losses: Whether to return the losses of the pass whose logits
        are returned.

    Returns:
      A `_Passes`.
    """
    _check_options(model, should_regularize, perturbation, method)
    variables = model.trainable_variables
    selected = _selected(variables, should_regularize)
    if method != "exact":
        for variable, is_selected in zip(variables, selected, strict=True):
            if is_selected:
                core.check_step_resolves(
                    perturbation, tf.as_dtype(variable.dtype), variable.path
                )
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

    if method == "exact" and any(selected):
        return _exact_passes(run, values, selected, collect_losses)
    logits, updates, losses = run(values, collect_losses)
    log_probs = tf.nn.log_softmax(logits)
    if not any(selected):
        # Nothing is perturbed: the derivative is exactly 0, not rounding.
        derivative = tf.zeros_like(log_probs)
    else:
        derivative = core.finite_difference_derivative(
            method,
            perturbation,
            log_probs,
            lambda step: tf.nn.log_softmax(
                run(_scaled(values, selected, step))[0]
            ),
        )
    return _Passes(logits, log_probs, derivative, updates, losses)


def _exact_passes(run, values, selected, collect_losses):
    """The pass with `v + t * v` at t = 0 and its derivative in t."""
    dtype = next(
        value.dtype
        for value, is_selected in zip(values, selected, strict=True)
        if is_selected
    )
    offset = tf.zeros([], dtype, name="fisher_rao_offset")
    with tf.GradientTape() as tape:
        tape.watch(offset)
        logits, updates, losses = run(
            _scaled(values, selected, offset), collect_losses
        )
        log_probs = tf.nn.log_softmax(logits)
    if not tf.executing_eagerly():  # Only a graph shows the ops.
        core.check_exact_mode_applies(
            offset, logits, _EXACT_MODE_DIFFERENTIATION
        )
    derivative = _jvp(tape, log_probs, offset)
    return _Passes(logits, log_probs, derivative, updates, losses)


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


def _scaled(values, selected, offset):
    """The values with every selected `v` replaced by `v + offset * v`."""
    return [
        core.scaled_along_itself(value, offset) if is_selected else value
        for value, is_selected in zip(values, selected, strict=True)
    ]


def _selected(variables, should_regularize):
    """Whether each trainable variable belongs to theta_S (float only)."""
    return [
        tf.as_dtype(variable.dtype).is_floating
        and (
            should_regularize is None or bool(should_regularize(variable.path))
        )
        for variable in variables
    ]


def _empirical_norm(labels, passes):
    core.check_labels_shape(labels, passes.logits)
    return core.empirical_regularizer(labels, passes.logits, passes.derivative)


# ---------------------------------------------------------------------------
# Checks.


def _check_options(model, should_regularize, perturbation, method):
    """The checks every entry point makes, in the graph library's order."""
    _check_keras()
    _check_model(model)
    if should_regularize is not None:
        core.check_should_regularize(should_regularize)
    core.check_perturbation(perturbation)
    core.check_method(method)


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
    """Raises unless `model` is a built Keras 3 model not ending in softmax."""
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
    softmax_layers = [
        layer.name
        for layer in _output_layers(model)
        if _applies_softmax(layer)
    ]
    if softmax_layers:
        raise ValueError(
            f"model '{model.name}' ends in a softmax (layer "
            f"{', '.join(map(repr, softmax_layers))}), so it outputs "
            f"probabilities; the Fisher-Rao norm needs logits. Drop the "
            f"softmax and train with a loss that takes logits (e.g. "
            f"keras.losses.CategoricalCrossentropy(from_logits=True))."
        )


def _output_layers(model):
    """The layers producing a Sequential or functional model's outputs,
    through nested models; empty for a subclassed model (not knowable)."""
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


def _applies_softmax(layer):
    return (
        isinstance(layer, keras.layers.Softmax)
        or getattr(layer, "activation", None) is keras.activations.softmax
    )


def _checked_model_logits(model, outputs):
    producer = f"model '{model.name}'"
    if not tf.is_tensor(outputs):
        # Nested outputs would convert to one stacked tensor without error.
        raise ValueError(
            f"{producer} must return one float tensor of shape "
            f"[batch, ..., num_classes]; got {type(outputs).__name__} "
            f"{outputs!r}."
        )
    return core.checked_logits(outputs, producer)


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


def _check_loss_takes_logits(loss):
    """Raises ValueError if a compiled loss would read logits as
    probabilities."""
    if isinstance(loss, dict):
        losses = list(loss.values())
    elif isinstance(loss, (list, tuple)):
        losses = list(loss)
    else:
        losses = [loss]
    for each in losses:
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
