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
"""The benchmark of the Fisher-Rao regularizers and of the training script.

Five groups of rows, measured in one run on one machine, one module each:

  train_step/...      (`train_step_group`) time of a training step with `fr`
                      or `fre` (each method) over the unregularized step, at
                      the default experiment's size and at an MNIST-sized
                      MLP;
  keras_step/...      (`keras_step_group`) the same for `keras_fisher_rao`:
                      a Keras 3 model's `fit` step (`train_step` in a
                      tf.function) with `FisherRaoRegularizedModel` over the
                      plain model's, and the plain Keras step over the graph
                      library's;
  value/...           (`value_group`) the library's `fr` value against
                      per-example gradients (`tf.GradientTape.jacobian`)
                      dotted with theta, what a user would write otherwise;
  gradient_error/...  (`gradient_error_group`) relative error of the
                      regularizer's gradient against an exact float64
                      reference (`gradient_reference`; ReLU MLP, nonzero
                      biases);
  script/...          (`script_group`) steps per second of the experiment's
                      training against a re-creation of the original 2018
                      design (a tf.data iterator's batch fetched into Python
                      and fed back).

`bench_settings` says how much work each group does, `bench_networks` builds
the MLPs and batches the groups share, `bench_harness` times configurations
in interleaved rounds and judges rows against their targets,
`bench_runner` runs the groups in order and `bench_report` describes the
machine and writes the table and the JSON file. The command is
`benchmarks/benchmark.py`; nothing here defines flags.
"""
