"""Test set-up shared by every test module.

tf.compat.v1.layers needs tf-keras, selected before TensorFlow is imported.
The repository's root is on the import path by pytest's `pythonpath`
setting (pyproject.toml), for the commands' modules that are not installed
(`synthetic_classification`, `plot_utils`, `experiments.*`).

Shared fixtures: `complexity_analysed` and `regularizer_analysed`, each
study's analysis of its hand-made runs (tests/complexity_runs.py,
tests/regularizer_runs.py), for the tests of its protocol, report and
figures.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# As the experiment package does: faster small kernels, the same in every
# test process.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import complexity_runs
import helpers
import matplotlib.pyplot as plt
import pytest
import regularizer_runs
import tensorflow as tf
from absl import flags

from fisher_rao_experiments.studies import (
    complexity_report,
    regularizer_report,
)

# tf.test.TestCase's deprecated `test_session` helper is not a test; without
# this, pytest collects it in every TestCase and reports it as skipped.
tf.test.TestCase.test_session.__test__ = False

# absl's TestCase helpers (create_tempdir, get_temp_dir) read flags; under
# pytest nothing parses them, so a test run on its own would fail.
if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


@pytest.fixture(scope="session")
def complexity_analysed(tmp_path_factory):
    """(summary read back from summary.json, output directory) of
    `complexity_report.analyse` on `complexity_runs`' two hand-made
    settings, figures included."""
    output_dir = tmp_path_factory.mktemp("complexity")
    complexity_runs.write_grid(output_dir / "runs")
    complexity_report.analyse(
        (complexity_runs.SETTING, complexity_runs.OTHER),
        str(output_dir),
        n_resamples=complexity_runs.RESAMPLES,
        seed=complexity_runs.BOOTSTRAP_SEED,
        smoke=True,
    )
    plt.close("all")
    summary = helpers.read_strict_json(output_dir / "summary.json")
    return summary, output_dir


@pytest.fixture(scope="session")
def regularizer_analysed(tmp_path_factory):
    """(summary, output directory) of `regularizer_report.analyse` on
    `regularizer_runs.SETTING`'s hand-made runs, figures included."""
    output_dir = tmp_path_factory.mktemp("regularizer")
    regularizer_runs.write_runs(output_dir / "runs")
    summary = regularizer_report.analyse(
        regularizer_runs.SETTING, str(output_dir)
    )
    return summary, output_dir
