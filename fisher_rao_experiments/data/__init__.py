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
"""The experiment's data sets, as graph tensors.

Every data set comes as one block of rows in the order train, validation,
test: of `train_size` rows, the first `train_size - validation_size` train
and the rest validate; `test_size` test rows follow (`split_rows`). Label
noise replaces training labels only (`noisy_labels`). Everything is seeded
by `random_seed`: the same configuration gives the same tensors, in any
graph, in any process.

Each source is a module of this package, registered in `SOURCES` by its
name (the `dataset` of a configuration). A source module has:

  NAME:          the data set's name.
  DESCRIPTION:   one line for the --dataset flag's help.
  DEFAULT_SIZES: `train_size`, `test_size`, `input_dimension` and
                 `num_classes` of a configuration that leaves them unset.
  FIXED_SIZES:   the keys of DEFAULT_SIZES the data fix (others refused).
  NUM_EXAMPLES:  how many examples there are (train_size + test_size may
                 not exceed it), or None if any number can be drawn.
  MAX_SIZES:     limits of single sizes (e.g. a fixed train/test split's
                 `train_size` and `test_size`); may be empty.
  ARCHITECTURES: the `architecture`s its inputs allow (`cnn` needs
                 sequences).
  TRAINING_DEFAULTS: `optimizer`, `learning_rate`, `train_steps`,
                 `eval_steps`, `batch_size`, `num_hidden_layers` and
                 `layer_width` of a configuration that leaves them unset.
  make(config):  `(inputs, classes)` of the resolved configuration:
                 float32 `[train_size + test_size, input_dimension]` and
                 integer classes `[train_size + test_size]`, tensors or
                 arrays, rows in the order train, validation, test.
  parameters():  how the data were generated, beyond the configuration, as
                 a strict-JSON dict for the results file, or None.

Adding a source is writing its module and adding it to `_SOURCE_MODULES`:
the configuration's defaults, rules and flags follow from `SOURCES`. Every
source's `DEFAULT_SIZES` and `TRAINING_DEFAULTS` have the same keys.

The configuration's rules read `SOURCES` in processes that never train (the
sweep's client, the studies), so importing this package must not import
TensorFlow (5 s); the functions that build tensors import it when called.
"""

from fisher_rao_experiments.data import digits, mnist1d, synthetic

_SOURCE_MODULES = (synthetic, digits, mnist1d)
SOURCES = {source.NAME: source for source in _SOURCE_MODULES}
DATASETS = tuple(SOURCES)
# Distinct streams of the stateless random ops, all derived from the seed
# (the sources and the batch order use others).
_NOISE_MASK_STREAM, _NOISE_CLASS_STREAM = 4, 5


def dataset_parameters(config):
    """The data set's generation parameters (its `parameters()`), or None."""
    return SOURCES[config["dataset"]].parameters()


def num_training_rows(config):
    """Rows trained on: the training examples minus the validation split."""
    return config["train_size"] - config["validation_size"]


def split_rows(config):
    """The rows of each split of a resolved configuration's data.

    Returns:
      `{"train": (0, t), "validation": (t, train_size), "test": (train_size,
      train_size + test_size)}`, `t` the training rows; each `(start, end)`
      a slice of the rows `make_data` gives (validation may be empty).
    """
    training_rows = num_training_rows(config)
    end = config["train_size"] + config["test_size"]
    return {
        "train": (0, training_rows),
        "validation": (training_rows, config["train_size"]),
        "test": (config["train_size"], end),
    }


def make_data(config):
    """Builds the configured data set as tensors.

    Args:
      config: Mapping with `dataset`, `random_seed`, `train_size`,
        `validation_size`, `test_size`, `input_dimension`, `num_classes` (all
        resolved, not None; see `config.resolve_config`) and `label_noise`;
        other keys are ignored, so a run's recorded hparams rebuild its data.

    Returns:
      `(inputs, labels)`: float32 tensors `[train_size + test_size,
      input_dimension]` and `[train_size + test_size, num_classes]` (one-hot),
      rows in the order train, validation, test.

    Raises:
      ValueError: If `config["dataset"]` is no source's name.
    """
    import tensorflow as tf  # See the module's docstring.

    if config["dataset"] not in SOURCES:
        raise ValueError(
            f"dataset={config['dataset']!r} is not one of "
            f"{', '.join(DATASETS)}."
        )
    inputs, classes = SOURCES[config["dataset"]].make(config)
    inputs = tf.convert_to_tensor(inputs, tf.float32)
    labels = tf.one_hot(classes, config["num_classes"])
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
    import tensorflow as tf  # See the module's docstring.

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
