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
"""The experiment's data sets, as graph tensors: synthetic and digits.

Every data set comes as one block of rows in the order train, validation,
test: of `train_size` rows, the first `train_size - validation_size` train
and the rest validate; `test_size` test rows follow. Label noise replaces
training labels only.

  synthetic: inputs ~ N(0, 1); each label drawn from softmax(inputs @ teacher)
             for a N(0, 1) teacher matrix; stateless random ops.
  digits:    scikit-learn's bundled 8x8 handwritten digits (1797 examples,
             64 features scaled to [0, 1], 10 classes), read from the
             installed package, shuffled by a permutation of the seed.

Everything is seeded by `random_seed`: the same configuration gives the same
tensors, in any graph, in any process.
"""

import functools

import numpy as np
import tensorflow as tf

DATASETS = ("synthetic", "digits")
DIGITS_EXAMPLES = 1797
# Sizes a data set uses when the configuration leaves them None.
DEFAULT_SIZES = {
    "synthetic": {
        "train_size": 5000,
        "test_size": 1000,
        "input_dimension": 10,
        "num_classes": 2,
    },
    "digits": {
        "train_size": 1000,
        "test_size": 597,
        "input_dimension": 64,
        "num_classes": 10,
    },
}
# Sizes fixed by the data themselves.
FIXED_SIZES = {"digits": ("input_dimension", "num_classes")}
# Distinct streams of the stateless random ops, all derived from the seed.
_INPUTS_STREAM, _TEACHER_STREAM, _LABELS_STREAM = 0, 1, 2
_NOISE_MASK_STREAM, _NOISE_CLASS_STREAM = 4, 5


def num_training_rows(config):
    """Rows trained on: the training examples minus the validation split."""
    return config["train_size"] - config["validation_size"]


def make_data(config):
    """Builds the configured data set as tensors.

    Args:
      config: Mapping with `dataset`, `random_seed`, `train_size`,
        `validation_size`, `test_size`, `input_dimension`, `num_classes` (all
        resolved, not None) and `label_noise`; other keys are ignored, so a
        run's recorded hparams rebuild its data.

    Returns:
      `(inputs, labels)`: float32 tensors `[train_size + test_size,
      input_dimension]` and `[train_size + test_size, num_classes]` (one-hot),
      rows in the order train, validation, test.
    """
    if config["dataset"] == "digits":
        inputs, labels = _digits(config)
    else:
        inputs, labels = _synthetic(config)
    training_rows = num_training_rows(config)
    noisy = noisy_labels(
        labels[:training_rows], config["label_noise"], config["random_seed"]
    )
    return inputs, tf.concat([noisy, labels[training_rows:]], axis=0)


def noisy_labels(labels, label_noise, seed):
    """Replaces each label, with probability q, by a uniformly drawn class.

    The drawn class may be the original one, so about q (K - 1) / K of the
    labels change; q = 1 gives labels independent of the inputs.

    Args:
      labels: One-hot float tensor `[n, num_classes]` of static shape.
      label_noise: The probability q in [0, 1].
      seed: Integer seed of the stateless draws.

    Returns:
      One-hot float tensor of the same shape.
    """
    if not label_noise:
        return labels
    count, num_classes = labels.shape
    replaced = (
        tf.random.stateless_uniform([count], seed=[seed, _NOISE_MASK_STREAM])
        < label_noise
    )
    drawn = tf.random.stateless_uniform(
        [count],
        seed=[seed, _NOISE_CLASS_STREAM],
        minval=0,
        maxval=num_classes,
        dtype=tf.int32,
    )
    classes = tf.where(
        replaced, drawn, tf.argmax(labels, axis=-1, output_type=tf.int32)
    )
    return tf.one_hot(classes, num_classes, dtype=labels.dtype)


def _synthetic(config):
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
    return inputs, tf.one_hot(classes, config["num_classes"])


def _digits(config):
    features, classes = load_digits()
    # RandomState's streams are frozen across numpy versions.
    order = np.random.RandomState(config["random_seed"]).permutation(
        DIGITS_EXAMPLES
    )
    rows = order[: config["train_size"] + config["test_size"]]
    return (
        tf.constant(features[rows]),
        tf.one_hot(classes[rows], config["num_classes"]),
    )


@functools.lru_cache(maxsize=1)
def load_digits():
    """The digits as `(features, classes)`: float32 in [0, 1] and int64.

    Read from scikit-learn's installed data files; never downloaded.
    """
    from sklearn import datasets  # Only the digits need scikit-learn.

    features, classes = datasets.load_digits(return_X_y=True)
    features = (features / 16.0).astype(np.float32)  # Pixels are 0..16.
    features.flags.writeable = False  # Cached: shared by every caller.
    return features, classes.astype(np.int64)
