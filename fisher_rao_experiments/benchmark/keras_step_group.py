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
"""Group keras_step: the Keras 3 training step, regularized or not.

At the MNIST size, `keras_fisher_rao.FisherRaoRegularizedModel`'s step (what
`model.fit` runs) for each norm and method over the plain Keras model's
step, with the graph rows' targets; and the plain Keras step over the graph
library's plain step, timed in the same rounds.
"""

import statistics

import keras
import tensorflow as tf

import keras_fisher_rao
from fisher_rao_experiments.benchmark import (
    bench_harness,
    bench_networks,
    train_step_group,
)


def keras_mlp(size):
    """The MLP of `initial_parameters(size)` as a Keras 3 Sequential model."""
    parameters = bench_networks.initial_parameters(size)
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
            fisher_rao_lambda=bench_networks.REGULARIZER_WEIGHT,
            method=method,
            perturbation=bench_networks.PERTURBATION,
        )
    model.compile(
        optimizer=keras.optimizers.SGD(bench_networks.LEARNING_RATE),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        jit_compile=False,
    )
    # A loop body cannot create the optimizer's variables.
    model.optimizer.build(model.trainable_variables)
    batch = tuple(
        tf.constant(array, tf.float32)
        for array in bench_networks.synthetic_batch(size)
    )

    @tf.function
    def run():
        for _ in tf.range(steps):
            model.train_step(batch)

    return run


def keras_step_rows(settings):
    """The group's rows, at the MNIST size: Keras steps, and the plain Keras
    step against the graph library's plain step (timed in the same rounds).
    """
    size, steps = settings.mnist_size, settings.mnist_steps
    configurations = [(None, None)] + [
        (norm, method)
        for norm in bench_networks.NORMS
        for method in bench_networks.METHODS
    ]
    timed = [
        bench_harness.Timed(
            f"Keras {bench_networks.train_label(norm, method)}",
            build_keras_train_loop(size, norm, method, steps),
        )
        for norm, method in configurations
    ]
    timed.append(
        bench_harness.Timed(
            "graph unregularized",
            train_step_group.build_train_loop(
                size, None, None, steps, settings.num_threads
            ),
        )
    )
    measurements = bench_harness.time_interleaved(
        f"keras_step/{size.name}", timed, settings.repeats
    )
    step_seconds = {
        label.removeprefix("Keras "): bench_harness.per_unit(values, steps)
        for label, values in measurements.items()
    }
    where = size.describe()
    keras_plain = step_seconds["unregularized"]
    graph_plain = step_seconds["graph unregularized"]
    rows = [
        bench_harness.make_row(
            f"keras_step/{size.name}/unregularized",
            f"{where}: Keras 3 model.train_step (cross-entropy + SGD) in a "
            f"tf.function (baseline)",
            statistics.median(keras_plain),
            1.0,
        )
    ]
    rows += train_step_group.regularized_step_rows(
        f"keras_step/{size.name}",
        where,
        "Keras ",
        step_seconds,
        True,
        settings.judge_targets,
    )
    rows.append(
        bench_harness.make_row(
            f"keras_step/{size.name}/unregularized_over_graph",
            f"{where}: unregularized Keras step / unregularized graph step "
            f"(train_step's tf.while_loop and session)",
            statistics.median(keras_plain),
            bench_harness.median_ratio(keras_plain, graph_plain),
        )
    )
    return rows
