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
r"""Trains a ReLU classifier with or without the Fisher-Rao regularizer.

The data (--dataset: synthetic, scikit-learn's digits or MNIST-1D, with
optional label noise on the training rows) are split into train, validation
and test rows. A multi-layer perceptron (or, on MNIST-1D, a 1-D
convolutional network: --architecture=cnn) is trained on mean cross-entropy +
fisher_rao_lambda * regularizer + weight_decay * sum of squared kernels,
where the regularizer is the standard (`fr`) or empirical (`fre`) Fisher-Rao
norm of `direct_fisher_rao` over every variable, or nothing (`None`).

Every --eval_steps steps the loss and accuracy on every split and the
complexity measures are recorded, the regularizer on every step; the results
go to a new strict-JSON file in --output_dir, the final weights to a TF
checkpoint beside it (docs/training.md describes both). Ctrl-C stops within
about a second and keeps every finished step.

  python3 synthetic_classification.py --regularization_norm=fre \
      --fisher_rao_lambda=0.01 --fisher_rao_method=exact
  python3 synthetic_classification.py --dataset=digits --label_noise=0.2 \
      --validation_size=200 --stop_train_loss=0.01
  python3 synthetic_classification.py --dataset=mnist1d --architecture=cnn

This file is the command line only: the flags are generated from
`fisher_rao_experiments.config`, the training is
`fisher_rao_experiments.training.run_experiment`, imported once the flags
are accepted. Importing the package sets TensorFlow's environment defaults
(oneDNN off, quiet start-up) before TensorFlow is imported; see
`fisher_rao_experiments/__init__.py`.
"""

import sys

from absl import app, flags, logging

from fisher_rao_experiments import config as experiment_config
from fisher_rao_experiments import data, results_io, runs, training_flags

FLAGS = flags.FLAGS

training_flags.define_flags(FLAGS)
# --help lists the training flags as this script's own.
flags.adopt_module_key_flags(training_flags)


def make_data(config):
    """Builds the configured data set as tensors (see `data.make_data`).

    Kept here for code that imports it from this script.

    Args:
      config: Training configuration, or a run's recorded hparams; sizes
        left None take the data set's defaults.

    Returns:
      `(inputs, labels)`: float32 tensors, labels one-hot, rows in the order
      train, validation, test; label noise on the training rows only.
    """
    return data.make_data(experiment_config.resolve_config(config))


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    config = training_flags.config_from_flags(FLAGS)
    try:
        results_io.check_output_directories(config)
    except results_io.UnwritableDirectoryError as error:
        sys.exit(f"synthetic_classification.py: error: {error}")
    logging.info("Running: %s", runs.command_for_config(config))
    # Imported here: TensorFlow takes seconds to import, and --help or a
    # refused flag answers without it.
    from fisher_rao_experiments import training

    try:
        run = training.run_experiment(config)
    except training.TrainingStopped as stopped:
        path = training.save_run(stopped.run, config["output_dir"])
        logging.error("%s The results so far are in %s", stopped, path)
        return 130 if isinstance(stopped, training.TrainingInterrupted) else 1
    path = training.save_run(run, config["output_dir"])
    logging.info("Results written to %s", path)
    return 0


if __name__ == "__main__":
    app.run(main)
