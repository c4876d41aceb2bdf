"""Test set-up shared by every test module.

tf.compat.v1.layers needs tf-keras, selected before TensorFlow is imported.
The repository's root is on the import path by pytest's `pythonpath`
setting (pyproject.toml), for the commands' modules that are not installed
(`synthetic_classification`, `plot_utils`, `experiments.*`).
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# As the experiment package does: faster small kernels, the same in every
# test process.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import tensorflow as tf
from absl import flags

# tf.test.TestCase's deprecated `test_session` helper is not a test; without
# this, pytest collects it in every TestCase and reports it as skipped.
tf.test.TestCase.test_session.__test__ = False

# absl's TestCase helpers (create_tempdir, get_temp_dir) read flags; under
# pytest nothing parses them, so a test run on its own would fail.
if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
