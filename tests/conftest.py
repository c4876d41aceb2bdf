"""Test set-up shared by every test module.

tf.compat.v1.layers needs tf-keras, selected before TensorFlow is imported.
"""

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# As synthetic_classification.py does: faster small kernels, the same in
# every test process.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# The modules under test live at the repository's top level.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # noqa: E402  (after the environment is set)

# tf.test.TestCase's deprecated `test_session` helper is not a test; without
# this, pytest collects it in every TestCase and reports it as skipped.
tf.test.TestCase.test_session.__test__ = False

from absl import flags  # noqa: E402

# absl's TestCase helpers (create_tempdir, get_temp_dir) read flags; under
# pytest nothing parses them, so a test run on its own would fail.
if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()
