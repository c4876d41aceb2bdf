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
"""Group value: the library's `fr` value against per-example jacobians.

The baseline is what a user would write without the library: per-example
gradients of every class's log-probability dotted with theta
(`gradient_reference.jacobian_log_prob_derivative`), over the batch in
chunks; each of the library's methods is timed against it, with a target.
"""

import statistics

import tensorflow as tf

from fisher_rao_experiments.benchmark import (
    bench_harness,
    bench_networks,
    gradient_reference,
)

# Examples per tf.map_fn iteration of the per-example-jacobian baseline: a
# whole batch of 256 would need a [256, 10, 670k] jacobian (7 GB); chunks
# of 32 or 64 measured no faster than 8.
JACOBIAN_CHUNK = 8


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
        log_probs, derivative = (
            gradient_reference.jacobian_log_prob_derivative(
                chunk_inputs, chunk_parameters
            )
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
        inputs, labels, make_logits, variables = (
            bench_networks.build_mlp_on_batch(size, tf.float32)
        )
        if method is None:
            value = jacobian_standard_fisher(
                inputs,
                list(zip(variables[::2], variables[1::2], strict=True)),
                min(JACOBIAN_CHUNK, size.batch),
            )
        else:
            _, value = bench_networks.library_regularizer(
                "fr", method, make_logits, labels, reuse=True
            )
        initializer = tf.compat.v1.global_variables_initializer()
    session = bench_networks.start_session(graph, initializer, num_threads)

    def run():
        for _ in range(calls):
            session.run(value)

    return run, float(session.run(value))


def value_rows(settings):
    """The group's rows: library value vs per-example jacobians."""
    size = settings.value_size
    built = {
        None: build_value(
            size, None, settings.jacobian_calls, settings.num_threads
        )
    }
    for method in bench_networks.METHODS:
        built[method] = build_value(
            size, method, settings.value_calls, settings.num_threads
        )
    calls = {method: settings.value_calls for method in bench_networks.METHODS}
    calls[None] = settings.jacobian_calls
    labels = {method: method or "jacobian" for method in built}
    measurements = bench_harness.time_interleaved(
        "value",
        [
            bench_harness.Timed(labels[method], run)
            for method, (run, _) in built.items()
        ],
        settings.repeats,
    )
    call_seconds = {
        method: bench_harness.per_unit(
            measurements[labels[method]], calls[method]
        )
        for method in built
    }
    reference = built[None][1]
    where = f"{size.describe()}, float32"
    rows = [
        bench_harness.make_row(
            "value/jacobian",
            f"{where}: fr value from per-example jacobians, "
            f"{min(JACOBIAN_CHUNK, size.batch)} examples per map_fn iteration "
            f"(baseline)",
            statistics.median(call_seconds[None]),
            1.0,
        )
    ]
    for method in bench_networks.METHODS:
        difference = abs(built[method][1] - reference) / abs(reference)
        rows.append(
            bench_harness.make_row(
                f"value/fr/{method}",
                f"{where}: jacobian time / library {method} time; values "
                f"differ by {difference:.1e}",
                statistics.median(call_seconds[method]),
                bench_harness.median_ratio(
                    call_seconds[None], call_seconds[method]
                ),
                ">= 10",
                settings.judge_targets,
            )
        )
    return rows
