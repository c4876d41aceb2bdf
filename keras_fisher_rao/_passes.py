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
"""The passes of the model the norm is computed from, and D.

Every pass runs the model in a `keras.StatelessScope` on the values
`v + offset * v` of the selected variables, starting from the model's
current non-trainable state (batch-norm statistics, seed generators), and
changes nothing: the state a pass would write is returned, for
`FisherRaoRegularizedModel.train_step` to assign from the one pass its loss
uses. D, the derivative along theta_S, is taken by finite differences
("forward", "central") or exactly, by the double-backward trick ("exact");
the `keras_fisher_rao` docstring has the formulas.
"""

import collections
import weakref

import keras
import tensorflow as tf

import fisher_rao_core as core
from keras_fisher_rao import _checks

# How the logits define the model's distribution over labels: a softmax
# over the last axis, or an independent sigmoid per logit.
OUTPUT_DISTRIBUTIONS = ("categorical", "bernoulli")

# How exact mode differentiates, for fisher_rao_core's refusal message.
_EXACT_MODE_DIFFERENTIATION = "with tf.GradientTape"

# What the passes give: the logits of the pass the caller may use as the
# model's output; `outputs`, what D is taken of (log softmax(logits) for a
# categorical output, the logits for a Bernoulli one, in float32 at least);
# its derivative D along theta_S; the output distribution; the
# `(variable, value)` pairs of the non-trainable variables that pass
# changed; its losses (`model.losses`, when collected); and, for each
# trainable variable, the `(tensor, factor)` pairs through which the passes
# read it: the variable's gradient is the sum of factor * the tensor's
# gradient (see `_gradients.variable_gradients`).
Passes = collections.namedtuple(
    "Passes",
    "logits outputs derivative distribution state_updates losses reads",
)

# What decides the passes, besides the model, inputs and mode.
Options = collections.namedtuple(
    "Options", "should_regularize perturbation method output_distribution"
)


def checked_options(
    model, should_regularize, perturbation, method, distribution
):
    """The checks every entry point makes, in the graph library's order.

    Returns:
      The `Options`.
    """
    _checks.check_keras()
    _checks.check_model(model)
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
    return Options(should_regularize, perturbation, method, distribution)


def run_passes(model, inputs, options, training, collect_losses=False):
    """Runs the passes giving the logits and D of the outputs.

    Every pass starts from the model's current non-trainable values, so
    random layers drawing from the model's seed generators draw the same
    numbers in each, and none changes the model. Each pass reads its own
    copy of every trainable variable (see `Passes.reads`).

    Args:
      model: As in `standard_fisher_rao_norm`.
      inputs: A batch the model takes.
      options: `Options`, checked.
      training: The `training` argument of every pass.
      collect_losses: Whether to return the losses of the pass whose logits
        are returned.

    Returns:
      A `Passes`.
    """
    variables = model.trainable_variables
    selected = selection(model, options.should_regularize)
    if options.method != "exact":
        _checks.check_finite_differences(model, selected, options.perturbation)
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
    return Passes(
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
            raise _checks.refusal(error) from None
    reads = [
        [(value, 1.0)] + ([] if direction is None else [(direction, 1.0)])
        for value, direction in zip(scaled, directions, strict=True)
    ]
    return Passes(
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
    return _checks.checked_model_logits(model, outputs), new_values, losses


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
    if logits.dtype in _checks.HALF_PRECISION:
        logits = tf.cast(logits, tf.float32)
    if distribution == "bernoulli":
        return logits
    return tf.nn.log_softmax(logits)


def selection(model, should_regularize):
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
        tuple(selection(model, options.should_regularize)),
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
        run_passes(
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
