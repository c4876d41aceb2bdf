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
"""Hand-made results files of the schema the studies read.

Every key of a results file after the issue "Real data, label noise and
complexity measures"; the values are whatever a test gives, constants
otherwise.
"""

import json

from fisher_rao_experiments import results_io

# The training flags a results file records (its "hparams").
BASE_HPARAMS = {
    "regularization_norm": "None",
    "fisher_rao_lambda": 0.0,
    "differentiate_probability": True,
    "fisher_rao_method": "exact",
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "train_steps": 300,
    "eval_steps": 100,
    "batch_size": 32,
    "dataset": "digits",
    "train_size": 1000,
    "validation_size": 0,
    "test_size": 797,
    "label_noise": 0.0,
    "weight_decay": 0.0,
    "stop_train_loss": None,
    "num_hidden_layers": 0,
    "layer_width": 16,
    "random_seed": 1,
    "input_dimension": 64,
    "num_classes": 10,
    "output_dir": "/tmp/runs",
    "summary_dir": None,
    "start_time": "2026-01-01T00:00:00+00:00",
}
# Recorded at every evaluation, with their constant default values.
EVALUATED_DEFAULTS = {
    "train_loss": 0.5,
    "train_accuracy": 0.9,
    "validation_loss": None,
    "validation_accuracy": None,
    "test_loss": 0.7,
    "test_accuracy": 0.8,
    "fisher_rao_norm": 1.0,
    "empirical_fisher_rao_norm": 2.0,
    "l2_norm": 3.0,
    "spectral_product": 4.0,
    "path_norm": 5.0,
    "margin": 1.0,
}


def make_results(hparams=None, steps=(0, 100, 200, 300), **values):
    """A results dictionary.

    Args:
      hparams: Overrides of BASE_HPARAMS.
      steps: The evaluation steps.
      **values: Any results key. A per-evaluation key may be given as a
        number, which becomes its final value (earlier ones keep the
        default), or as a full list.

    Returns:
      The results dictionary.
    """
    results = {
        "hparams": dict(BASE_HPARAMS, **(hparams or {})),
        "steps": list(steps),
    }
    for key, default in EVALUATED_DEFAULTS.items():
        value = values.pop(key, default)
        if isinstance(value, (list, tuple)):
            results[key] = list(value)
        else:
            results[key] = [default] * (len(steps) - 1) + [value]
    results["regularizer_loss"] = [0.0] * steps[-1]
    results["stopped_at_step"] = None
    results["checkpoint"] = "/tmp/checkpoint"
    results["num_parameters"] = 1000
    results.update(values)
    return results


def write_results(directory, stem, results):
    """Writes results as the training script does; returns the path."""
    return results_io.write_json_atomically(results, str(directory), stem)


def read_strict_json(path):
    """Parses a file, failing on NaN or Infinity tokens."""

    def reject(token):
        raise AssertionError(f"non-strict JSON token {token} in {path}")

    with open(path) as json_file:
        return json.loads(json_file.read(), parse_constant=reject)


# The keys a study's grids vary, naming hand-made files.
STEM_KEYS = (
    "regularization_norm",
    "fisher_rao_method",
    "fisher_rao_lambda",
    "weight_decay",
    "label_noise",
    "layer_width",
    "num_hidden_layers",
    "batch_size",
    "random_seed",
)


def stem_of(point):
    """A file stem unique to a grid point of the studies' grids."""
    return "_".join(f"{key}{point[key]}" for key in STEM_KEYS if key in point)
