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
"""The synthetic data set: Gaussian inputs labelled by a random teacher.

inputs ~ N(0, 1) `[train_size + test_size, input_dimension]`; a teacher
matrix ~ N(0, 1) `[input_dimension, num_classes]`; each class drawn from
softmax(inputs @ teacher). Stateless random ops of the seed, so the same
configuration gives the same data in any graph.

A source of `fisher_rao_experiments.data` (see there for the contract).
"""

NAME = "synthetic"
DESCRIPTION = "Gaussian inputs labelled by a random linear teacher"
DEFAULT_SIZES = {
    "train_size": 5000,
    "test_size": 1000,
    "input_dimension": 10,
    "num_classes": 2,
}
FIXED_SIZES = ()
NUM_EXAMPLES = None  # Drawn: as many as asked.
MAX_SIZES = {}
ARCHITECTURES = ("mlp",)  # Its inputs are no sequences.
# The experiment's original settings (digits has them too).
TRAINING_DEFAULTS = {
    "optimizer": "sgd",
    "learning_rate": 1e-3,
    "train_steps": 100001,
    "eval_steps": 2000,
    "batch_size": 64,
    "num_hidden_layers": 3,
    "layer_width": 10,
}
# Streams of the stateless random ops, with the seed.
_INPUTS_STREAM, _TEACHER_STREAM, _LABELS_STREAM = 0, 1, 2


def make(config):
    """`(inputs, classes)` tensors of a resolved configuration."""
    import tensorflow as tf  # Only when called: see the package docstring.

    seed = config["random_seed"]
    num_examples = config["train_size"] + config["test_size"]
    inputs = tf.random.stateless_normal(
        [num_examples, config["input_dimension"]], seed=[seed, _INPUTS_STREAM]
    )
    teacher = tf.random.stateless_normal(
        [config["input_dimension"], config["num_classes"]],
        seed=[seed, _TEACHER_STREAM],
    )
    classes = tf.random.stateless_categorical(
        tf.matmul(inputs, teacher), 1, seed=[seed, _LABELS_STREAM]
    )[:, 0]
    return inputs, classes


def parameters():
    """None: the configuration says how the data are drawn."""
    return None
