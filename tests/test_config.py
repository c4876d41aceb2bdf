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
"""Tests of fisher_rao_experiments/config.py: defaults, rules, keys."""

import json
import os
import subprocess
import sys

import pytest

import direct_fisher_rao
from fisher_rao_experiments import config, data, results_io

DOCUMENTED_DEFAULTS = {
    "dataset": "synthetic",
    "regularization_norm": "fr",
    "fisher_rao_lambda": 0.0,
    "differentiate_probability": True,
    "fisher_rao_method": "forward",
    "weight_decay": 0.0,
    "optimizer": "sgd",
    "learning_rate": 1e-3,
    "train_steps": 100001,
    "eval_steps": 2000,
    "stop_train_loss": None,
    "batch_size": 64,
    "train_size": None,
    "validation_size": 0,
    "test_size": None,
    "label_noise": 0.0,
    "num_hidden_layers": 3,
    "layer_width": 10,
    "random_seed": 1,
    "input_dimension": None,
    "num_classes": None,
    "output_dir": results_io.DEFAULT_RESULTS_DIR,
    "summary_dir": None,
}
SIZE_KEYS = ("train_size", "test_size", "input_dimension", "num_classes")


def test_defaults_are_the_documented_ones():
    config.validate_config(config.default_config())
    assert config.default_config() == DOCUMENTED_DEFAULTS
    assert list(config.CONFIG_KEYS) == list(DOCUMENTED_DEFAULTS)
    synthetic = config.resolve_config(config.default_config())
    digits = config.resolve_config(
        dict(config.default_config(), dataset="digits")
    )
    for resolved, sizes in (
        (synthetic, (5000, 1000, 10, 2)),
        (digits, (1000, 597, 64, 10)),
    ):
        assert tuple(resolved[key] for key in SIZE_KEYS) == sizes


def test_defaults_are_plain_data_that_callers_cannot_change():
    first = config.default_config()
    first["layer_width"] = 99
    assert config.default_config()["layer_width"] == 10
    with pytest.raises(TypeError):
        config.DEFAULTS["layer_width"] = 99
    for key, option in config.OPTIONS.items():
        assert option.default is None or isinstance(
            option.default, option.type
        ), key
        assert option.help, key
        if option.choices:
            assert option.default in option.choices, key


def test_choices_are_the_libraries_and_the_data_sets():
    assert config.METHODS == direct_fisher_rao.METHODS
    assert config.CHOICES == {
        "dataset": data.DATASETS,
        "regularization_norm": ("None", "fr", "fre"),
        "fisher_rao_method": direct_fisher_rao.METHODS,
        "optimizer": ("sgd", "adam"),
    }
    # Every other key has a rule.
    assert set(config.RULES) | set(config.CHOICES) == set(config.CONFIG_KEYS)


def test_validate_config_refuses_missing_unknown_and_mistyped_keys():
    defaults = config.default_config()
    missing = dict(defaults)
    del missing["num_classes"]
    with pytest.raises(ValueError, match="num_classes"):
        config.validate_config(missing)
    with pytest.raises(ValueError, match="colour"):
        config.validate_config(dict(defaults, colour="red"))
    with pytest.raises(ValueError, match="train_steps"):
        config.validate_config(dict(defaults, train_steps=10.5))
    with pytest.raises(ValueError, match="differentiate_probability"):
        config.validate_config(dict(defaults, differentiate_probability="no"))
    with pytest.raises(ValueError, match="'mnist' is not allowed"):
        config.validate_config(dict(defaults, dataset="mnist"))


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"batch_size": 10, "train_size": 9},
            "batch_size=10 is not allowed: must be <= "
            "train_size - validation_size = 9.",
        ),
        (
            {"validation_size": 64, "train_size": 64},
            "validation_size=64 is not allowed: must be < train_size=64 "
            "(it is taken out of the training examples).",
        ),
        (
            {"dataset": "digits", "input_dimension": 10},
            "input_dimension=10 is not allowed with dataset=digits: the "
            "data set's is 64 (leave it unset).",
        ),
        (
            {"dataset": "digits", "test_size": 1000},
            "train_size=1000 plus test_size=1000 is 2000, more than the "
            "1797 examples of digits.",
        ),
    ],
)
def test_sizes_are_checked_together_in_one_line(overrides, message):
    with pytest.raises(ValueError) as caught:
        config.validate_config(dict(config.default_config(), **overrides))
    assert str(caught.value) == message


def test_check_sizes_names_flags_with_a_prefix():
    resolved = config.resolve_config(
        dict(config.default_config(), batch_size=100, train_size=99)
    )
    with pytest.raises(ValueError, match="--batch_size=100 is not allowed"):
        config.check_sizes(resolved, prefix="--")
    # A value breaking its own rule is left to that rule.
    config.check_sizes(dict(resolved, batch_size=0))


def test_resolve_config_fills_only_unset_sizes():
    resolved = config.resolve_config(
        dict(config.default_config(), dataset="digits", train_size=300)
    )
    assert tuple(resolved[key] for key in SIZE_KEYS) == (300, 597, 64, 10)
    assert config.resolve_config({"dataset": "digits"}) == {
        "dataset": "digits"
    }
    assert (
        config.resolve_config({"dataset": "unknown", "train_size": None})[
            "train_size"
        ]
        is None
    )


def test_compared_and_hyperparameter_keys():
    point = {
        "regularization_norm": "None",
        "label_noise": 0.5,
        "fisher_rao_lambda": 0.3,
        "output_dir": "x",
    }
    assert config.compared_keys(point) == [
        "regularization_norm",
        "label_noise",
    ]
    assert config.compared_keys(dict(point, regularization_norm="fr")) == [
        "regularization_norm",
        "label_noise",
        "fisher_rao_lambda",
    ]
    hparams = dict(
        config.default_config(),
        start_time="2026-01-01T00:00:00",
        summary_dir="s",
    )
    assert config.hyperparameter_keys(hparams) == [
        key
        for key in config.CONFIG_KEYS
        if key not in ("output_dir", "summary_dir")
    ]


def test_the_clients_modules_import_no_tensorflow_and_set_its_defaults():
    # The sweep's client and the studies check configurations and find runs
    # without TensorFlow (5 s to import); whatever imports the package gets
    # TensorFlow's environment defaults before TensorFlow is imported.
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")
    }
    probe = (
        "import json, os, sys\n"
        "from fisher_rao_experiments import config, data, results_io, runs\n"
        "from fisher_rao_experiments import sweep, training_flags\n"
        "from fisher_rao_experiments.studies import study_runs\n"
        "print(json.dumps(['tensorflow' in sys.modules,"
        " os.environ['TF_ENABLE_ONEDNN_OPTS'],"
        " os.environ['TF_CPP_MIN_LOG_LEVEL']]))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", probe],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(output) == [False, "0", "2"]
