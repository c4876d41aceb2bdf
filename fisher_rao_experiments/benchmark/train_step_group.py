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
"""Group train_step: the graph library's training step, regularized or not.

At the default experiment's size and at the MNIST size, each norm and
method's SGD step over the unregularized step, and `exact` over `forward`;
targets at the MNIST size only.
"""

import statistics

import tensorflow as tf

from fisher_rao_experiments.benchmark import (
    bench_harness,
    bench_networks,
    bench_settings,
)


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
        _, labels, make_logits, variables = bench_networks.build_mlp_on_batch(
            size, tf.float32
        )
        optimizer = tf.compat.v1.train.GradientDescentOptimizer(
            bench_networks.LEARNING_RATE
        )

        def train_one_step(step):
            if norm is None:
                with tf.compat.v1.variable_scope(
                    bench_networks.SCOPE, reuse=True
                ):
                    loss = bench_networks.mean_cross_entropy(
                        labels, make_logits()
                    )
            else:
                logits, regularizer = bench_networks.library_regularizer(
                    norm, method, make_logits, labels, reuse=True
                )
                loss = (
                    bench_networks.mean_cross_entropy(labels, logits)
                    + bench_networks.REGULARIZER_WEIGHT * regularizer
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
    session = bench_networks.start_session(graph, initializer, num_threads)
    return lambda: session.run(loop)


def train_step_rows(settings):
    """The group's rows: the default size's, then the MNIST size's."""
    return size_rows(
        bench_settings.DEFAULT_SIZE, settings.default_steps, settings
    ) + size_rows(settings.mnist_size, settings.mnist_steps, settings)


def size_rows(size, steps, settings):
    """The group's rows at one size; targets only at the MNIST size."""
    configurations = [(None, None)] + [
        (norm, method)
        for norm in bench_networks.NORMS
        for method in bench_networks.METHODS
    ]
    timed = [
        bench_harness.Timed(
            bench_networks.train_label(norm, method),
            build_train_loop(size, norm, method, steps, settings.num_threads),
        )
        for norm, method in configurations
    ]
    measurements = bench_harness.time_interleaved(
        f"train_step/{size.name}", timed, settings.repeats
    )
    step_seconds = {
        label: bench_harness.per_unit(values, steps)
        for label, values in measurements.items()
    }
    targeted = size.name == "mnist"
    where = size.describe()
    rows = [
        bench_harness.make_row(
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
      step_seconds: Seconds per step per round, by `train_label`.
      targeted: Whether the rows carry the targets (forward <= 1.9x the
        unregularized step, exact <= 1.5x forward).
      judged: Whether the targets are judged.
    """
    baseline = step_seconds[bench_networks.train_label(None, None)]
    rows = []
    for norm in bench_networks.NORMS:
        for method in bench_networks.METHODS:
            label = bench_networks.train_label(norm, method)
            rows.append(
                bench_harness.make_row(
                    f"{prefix}/{norm}/{method}",
                    f"{where}: {label} {kind}step / unregularized {kind}step",
                    statistics.median(step_seconds[label]),
                    bench_harness.median_ratio(step_seconds[label], baseline),
                    "<= 1.9" if targeted and method == "forward" else None,
                    judged,
                )
            )
        exact = step_seconds[bench_networks.train_label(norm, "exact")]
        forward = step_seconds[bench_networks.train_label(norm, "forward")]
        rows.append(
            bench_harness.make_row(
                f"{prefix}/{norm}/exact_over_forward",
                f"{where}: {norm} exact {kind}step / "
                f"{norm} forward {kind}step",
                statistics.median(exact),
                bench_harness.median_ratio(exact, forward),
                "<= 1.5" if targeted else None,
                judged,
            )
        )
    return rows
