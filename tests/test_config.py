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
from fisher_rao_experiments import config, data, results_io, runs

DOCUMENTED_DEFAULTS = {
    "dataset": "synthetic",
    "architecture": "mlp",
    "regularization_norm": "fr",
    "fisher_rao_lambda": 0.0,
    "differentiate_probability": True,
    "fisher_rao_method": "forward",
    "weight_decay": 0.0,
    "label_smoothing": 0.0,
    "confidence_penalty": 0.0,
    "optimizer": None,
    "learning_rate": None,
    "momentum": 0.9,
    "train_steps": None,
    "eval_steps": None,
    "stop_train_loss": None,
    "stop_check_steps": 1,
    "batch_size": None,
    "train_size": None,
    "validation_size": 0,
    "test_size": None,
    "label_noise": 0.0,
    "num_hidden_layers": None,
    "layer_width": None,
    "use_bias": True,
    "conv_layers": 3,
    "conv_channels": 32,
    "kernel_size": 5,
    "conv_stride": 2,
    "head_layers": 0,
    "random_seed": 1,
    "input_dimension": None,
    "num_classes": None,
    "output_dir": results_io.DEFAULT_RESULTS_DIR,
    "summary_dir": None,
}
SIZE_KEYS = ("train_size", "test_size", "input_dimension", "num_classes")
# The data sets' defaults of the keys left None, as docs/training.md gives
# them: synthetic's are the experiment's original settings (digits has
# them too).
TRAINING_KEYS = (
    "optimizer",
    "learning_rate",
    "train_steps",
    "eval_steps",
    "batch_size",
    "num_hidden_layers",
    "layer_width",
)
DOCUMENTED_DATASET_DEFAULTS = {
    "synthetic": ((5000, 1000, 10, 2), ("sgd", 1e-3, 100001, 2000, 64, 3, 10)),
    "digits": ((1000, 597, 64, 10), ("sgd", 1e-3, 100001, 2000, 64, 3, 10)),
    "mnist1d": ((4000, 1000, 40, 10), ("adam", 1e-2, 6000, 500, 100, 1, 100)),
}


def test_defaults_are_the_documented_ones():
    config.validate_config(config.default_config())
    assert config.default_config() == DOCUMENTED_DEFAULTS
    assert list(config.CONFIG_KEYS) == list(DOCUMENTED_DEFAULTS)
    assert config.DATASET_DEFAULT_KEYS == SIZE_KEYS + TRAINING_KEYS
    assert set(DOCUMENTED_DATASET_DEFAULTS) == set(data.DATASETS)
    for dataset, (sizes, training) in DOCUMENTED_DATASET_DEFAULTS.items():
        resolved = config.resolve_config(
            dict(config.default_config(), dataset=dataset)
        )
        config.validate_config(resolved)
        assert tuple(resolved[key] for key in SIZE_KEYS) == sizes
        assert tuple(resolved[key] for key in TRAINING_KEYS) == training
        # Every key left None is filled, but the optional ones.
        assert [key for key, value in resolved.items() if value is None] == [
            "stop_train_loss",
            "summary_dir",
        ]


def test_flag_help_gives_each_data_sets_default():
    assert config.OPTIONS["learning_rate"].help.endswith(
        "(> 0; default: 0.001 for synthetic and digits, 0.01 for mnist1d)."
    )
    assert (
        "default: 5000 for synthetic, 1000 for digits, 4000 for mnist1d"
        in (config.OPTIONS["train_size"].help)
    )
    assert "mnist1d has 4000 training and 1000 test examples" in (
        config.OPTIONS["test_size"].help
    )
    assert config.OPTIONS["architecture"].help.endswith(
        "cnn for mnist1d only."
    )


def test_defaults_are_plain_data_that_callers_cannot_change():
    first = config.default_config()
    first["conv_channels"] = 99
    assert config.default_config()["conv_channels"] == 32
    with pytest.raises(TypeError):
        config.DEFAULTS["conv_channels"] = 99
    with pytest.raises(TypeError):
        config.EARLIER_VALUES["architecture"] = "cnn"
    for key, option in config.OPTIONS.items():
        assert option.default is None or isinstance(
            option.default, option.type
        ), key
        assert option.help, key
        if option.choices and option.default is not None:
            assert option.default in option.choices, key
        if option.default is None and key in config.DATASET_DEFAULT_KEYS:
            for source in data.SOURCES.values():
                value = {**source.DEFAULT_SIZES, **source.TRAINING_DEFAULTS}
                assert isinstance(value[key], option.type), key
                assert value[key] in (option.choices or (value[key],)), key


def test_choices_are_the_libraries_and_the_data_sets():
    assert config.METHODS == direct_fisher_rao.METHODS
    assert config.CHOICES == {
        "dataset": data.DATASETS,
        "architecture": ("mlp", "cnn"),
        "regularization_norm": ("None", "fr", "fre"),
        "fisher_rao_method": direct_fisher_rao.METHODS,
        "optimizer": ("sgd", "momentum", "adam"),
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
    with pytest.raises(ValueError, match="'rmsprop' is not allowed"):
        config.validate_config(dict(defaults, optimizer="rmsprop"))
    for key, value in (
        ("momentum", 1.0),
        ("momentum", -0.1),
        ("stop_check_steps", 0),
        ("conv_layers", 0),
        ("conv_channels", 0),
        ("kernel_size", 0),
        ("conv_stride", 0),
        ("head_layers", -1),
        ("use_bias", 1),
        ("learning_rate", 0.0),
    ):
        with pytest.raises(ValueError, match=f"{key}={value!r} is not"):
            config.validate_config(dict(defaults, **{key: value}))


def test_the_confidence_controls_at_zero_keep_earlier_fingerprints():
    # Runs recorded before --label_smoothing and --confidence_penalty
    # existed trained with neither: a configuration at 0 keeps the
    # fingerprint (file name) and matches those runs; any other value is a
    # new run.
    base = config.resolve_config(
        dict(
            config.default_config(),
            dataset="mnist1d",
            architecture="cnn",
            validation_size=500,
        )
    )
    earlier = {
        key: value
        for key, value in base.items()
        if key not in ("label_smoothing", "confidence_penalty")
    }
    assert runs.config_fingerprint(base) == runs.config_fingerprint(earlier)
    assert runs.hparams_match(base, earlier)
    for key in ("label_smoothing", "confidence_penalty"):
        changed = dict(base, **{key: 0.1})
        assert runs.config_fingerprint(changed) != runs.config_fingerprint(
            base
        )
        assert not runs.hparams_match(changed, earlier)


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
        (
            {"dataset": "mnist1d", "train_size": 4001},
            "train_size=4001 is more than the 4000 training examples of "
            "mnist1d.",
        ),
        (
            {"dataset": "mnist1d", "train_size": 3000, "test_size": 1001},
            "test_size=1001 is more than the 1000 test examples of mnist1d.",
        ),
        (
            {"architecture": "cnn"},
            "architecture=cnn is not allowed with dataset=synthetic: its "
            "inputs are not sequences (it allows architecture=mlp).",
        ),
        (
            {"architecture": "cnn", "dataset": "digits"},
            "architecture=cnn is not allowed with dataset=digits: its "
            "inputs are not sequences (it allows architecture=mlp).",
        ),
        (
            {"dataset": "mnist1d", "batch_size": 4001},
            "batch_size=4001 is not allowed: must be <= "
            "train_size - validation_size = 4000.",
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
    resolved = config.resolve_config(
        dict(config.default_config(), dataset="mnist1d", learning_rate=0.1)
    )
    assert (resolved["learning_rate"], resolved["optimizer"]) == (0.1, "adam")
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
        config.resolve_config(config.default_config()),
        start_time="2026-01-01T00:00:00",
        summary_dir="s",
    )
    unused = (
        "output_dir",
        "summary_dir",
        "momentum",
        "stop_check_steps",
    ) + config.CNN_KEYS
    assert config.hyperparameter_keys(hparams) == [
        key for key in config.CONFIG_KEYS if key not in unused
    ]


@pytest.mark.parametrize(
    "overrides, unused",
    [
        ({}, {"momentum", "stop_check_steps", *config.CNN_KEYS}),
        (
            {"optimizer": "momentum", "stop_train_loss": 0.1},
            set(config.CNN_KEYS),
        ),
        (
            {"architecture": "cnn", "optimizer": "adam"},
            {
                "momentum",
                "stop_check_steps",
                "num_hidden_layers",
                "layer_width",
            },
        ),
        (
            {"architecture": "cnn", "head_layers": 1},
            {"momentum", "stop_check_steps", "num_hidden_layers"},
        ),
        (
            {"regularization_norm": "None"},
            {
                "fisher_rao_lambda",
                "fisher_rao_method",
                "momentum",
                "stop_check_steps",
                *config.CNN_KEYS,
            },
        ),
    ],
)
def test_unused_keys_are_those_a_run_never_reads(overrides, unused):
    resolved = config.resolve_config(
        dict(config.default_config(), dataset="mnist1d", **overrides)
    )
    assert config.unused_keys(resolved) == unused
    # A partial configuration decides only by the keys it has.
    assert config.unused_keys({"momentum": 0.5, "conv_layers": 2}) == set()


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
