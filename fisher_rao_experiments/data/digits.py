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
"""scikit-learn's 8x8 handwritten digits.

1797 examples, 64 features scaled to [0, 1], 10 classes; read from the
installed scikit-learn package (never downloaded) and shuffled by a
permutation of the seed, so train and test rows are distinct examples.

A source of `fisher_rao_experiments.data` (see there for the contract).
"""

import functools

import numpy as np

from fisher_rao_experiments.data import synthetic

NAME = "digits"
NUM_EXAMPLES = 1797
DESCRIPTION = (
    f"scikit-learn's 8x8 handwritten digits ({NUM_EXAMPLES} examples, "
    f"64 features, 10 classes)"
)
DEFAULT_SIZES = {
    "train_size": 1000,
    "test_size": 597,
    "input_dimension": 64,
    "num_classes": 10,
}
FIXED_SIZES = ("input_dimension", "num_classes")
MAX_SIZES = {}  # Only their sum is bounded, by NUM_EXAMPLES.
ARCHITECTURES = ("mlp",)  # No 2-D convolutional network (yet).
TRAINING_DEFAULTS = synthetic.TRAINING_DEFAULTS


def make(config):
    """`(inputs, classes)` arrays of a resolved configuration."""
    features, classes = load_digits()
    # RandomState's streams are frozen across numpy versions.
    order = np.random.RandomState(config["random_seed"]).permutation(
        NUM_EXAMPLES
    )
    rows = order[: config["train_size"] + config["test_size"]]
    return features[rows], classes[rows]


def parameters():
    """None: scikit-learn's bundled file, read as it is."""
    return None


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
