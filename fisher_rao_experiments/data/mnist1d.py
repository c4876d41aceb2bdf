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
"""MNIST-1D (Greydanus 2020; Greydanus and Kobak, ICML 2024).

40-sample 1-D signals in 10 classes, generated offline by the `mnist1d`
package from templates inside it: `make_dataset(get_dataset_args())` at the
published defaults (5000 examples, 4000 train and 1000 test, length 40,
generation seed 42), never its downloading `get_dataset`. The generated
arrays are cached in the process (generating takes seconds).

The package's own train/test split is kept: the training rows (train and
validation) are the first `train_size` of a permutation of its 4000
training examples by `random_seed`, the test rows the first `test_size` of a
permutation of its 1000 test examples. At the default sizes the test rows
are exactly the published test set, so accuracies compare with the
published ones; the seed still decides the validation split and, with
smaller sizes, the subsets.

A source of `fisher_rao_experiments.data` (see there for the contract).
"""

import copy
import functools
import hashlib
import random

import numpy as np

NAME = "mnist1d"
NUM_TRAIN_EXAMPLES, NUM_TEST_EXAMPLES = 4000, 1000
NUM_EXAMPLES = NUM_TRAIN_EXAMPLES + NUM_TEST_EXAMPLES
LENGTH = 40
DESCRIPTION = (
    f"MNIST-1D, {LENGTH}-sample 1-D signals in 10 classes, generated offline "
    f"at the published defaults ({NUM_TRAIN_EXAMPLES} training and "
    f"{NUM_TEST_EXAMPLES} test examples)"
)
DEFAULT_SIZES = {
    "train_size": NUM_TRAIN_EXAMPLES,
    "test_size": NUM_TEST_EXAMPLES,
    "input_dimension": LENGTH,
    "num_classes": 10,
}
FIXED_SIZES = ("input_dimension", "num_classes")
MAX_SIZES = {
    "train_size": NUM_TRAIN_EXAMPLES,
    "test_size": NUM_TEST_EXAMPLES,
}
ARCHITECTURES = ("mlp", "cnn")
# Adam at 1e-2 for 6000 steps of 100 examples: both architectures converge
# (docs/training.md gives the accuracies); the MLP is 40-100-100-10.
TRAINING_DEFAULTS = {
    "optimizer": "adam",
    "learning_rate": 1e-2,
    "train_steps": 6000,
    "eval_steps": 500,
    "batch_size": 100,
    "num_hidden_layers": 1,
    "layer_width": 100,
}
PACKAGE = "mnist1d"


def make(config):
    """`(inputs, classes)` arrays of a resolved configuration."""
    generated = generate()
    # RandomState's streams are frozen across numpy versions.
    state = np.random.RandomState(config["random_seed"])
    train_rows = state.permutation(NUM_TRAIN_EXAMPLES)[: config["train_size"]]
    test_rows = state.permutation(NUM_TEST_EXAMPLES)[: config["test_size"]]
    inputs = np.concatenate(
        [generated["x"][train_rows], generated["x_test"][test_rows]]
    )
    classes = np.concatenate(
        [generated["y"][train_rows], generated["y_test"][test_rows]]
    )
    return inputs, classes


@functools.lru_cache(maxsize=1)
def generate():
    """The package's data set at its published defaults, cached.

    See `generate_uncached`.
    """
    return generate_uncached()


def generate_uncached():
    """The package's data set at its published defaults.

    Returns:
      Dict of read-only arrays: `x` (4000, 40) and `x_test` (1000, 40)
      float32 signals (the package standardizes them: mean 0, std 1 over
      all 5000), `y` and `y_test` int64 classes.

    The package seeds Python's and numpy's global generators; their states
    are restored afterwards, so generating changes no other draw.
    """
    from mnist1d import data as mnist1d_data  # Imports scipy: when used.

    numpy_state, python_state = np.random.get_state(), random.getstate()
    try:
        dataset = mnist1d_data.make_dataset(mnist1d_data.get_dataset_args())
    finally:
        np.random.set_state(numpy_state)
        random.setstate(python_state)
    arrays = {
        "x": dataset["x"].astype(np.float32),
        "x_test": dataset["x_test"].astype(np.float32),
        "y": dataset["y"].astype(np.int64),
        "y_test": dataset["y_test"].astype(np.int64),
    }
    for array in arrays.values():
        array.flags.writeable = False  # Cached: shared by every caller.
    return arrays


def parameters():
    """How the data were generated, for the results file (strict JSON).

    Returns:
      Dict: the package and its version, the call, its arguments (the
      published defaults of `get_dataset_args()`, without the download URL
      that `make_dataset` never uses) and the SHA-256 of the generated
      float32 signals and classes, in the order x, y, x_test, y_test. A new
      dict each call.
    """
    return copy.deepcopy(_parameters())


@functools.lru_cache(maxsize=1)
def _parameters():
    from importlib import metadata

    from mnist1d import data as mnist1d_data

    arguments = mnist1d_data.get_dataset_args(as_dict=True)
    arguments.pop("url", None)
    generated = generate()
    digest = hashlib.sha256()
    for key in ("x", "y", "x_test", "y_test"):
        digest.update(np.ascontiguousarray(generated[key]).tobytes())
    return {
        "package": PACKAGE,
        "version": metadata.version(PACKAGE),
        "call": "mnist1d.data.make_dataset(mnist1d.data.get_dataset_args())",
        "arguments": arguments,
        "sha256": digest.hexdigest(),
    }
