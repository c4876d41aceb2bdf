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
"""Tests of fisher_rao_experiments/training_flags.py, on fresh flag values.

The command line's refusals (one line, status 1) are tested through the
training script, in test_synthetic_classification.py.
"""

import re

import helpers
import pytest
from absl import flags

from fisher_rao_experiments import config, training_flags

# The shared list, and the flags issue 19 added.
BAD_FLAGS = helpers.BAD_TRAINING_FLAGS + (
    ("architecture", "rnn"),
    ("optimizer", "nesterov"),
    ("momentum", "1"),
    ("momentum", "-0.5"),
    ("stop_check_steps", "0"),
    ("conv_layers", "0"),
    ("conv_channels", "0"),
    ("kernel_size", "0"),
    ("conv_stride", "0"),
    ("head_layers", "-1"),
)


@pytest.fixture
def flag_values():
    values = flags.FlagValues()
    training_flags.define_flags(values)
    return values


def test_every_key_is_a_flag_with_its_default_and_type(flag_values):
    flag_values(["program"])
    assert training_flags.config_from_flags(flag_values) == (
        config.default_config()
    )
    for key, option in config.OPTIONS.items():
        flag = flag_values[key]
        assert flag.default == option.default, key
        assert flag.help.endswith(option.help), key
        if option.choices:
            assert isinstance(flag, flags.EnumFlag), key
            assert flag.parser.enum_values == list(option.choices), key
        elif option.type is bool:
            assert isinstance(flag, flags.BooleanFlag), key


def test_defining_them_again_does_nothing(flag_values):
    training_flags.define_flags(flag_values)
    flag_values(["program", "--layer_width=7"])
    assert training_flags.config_from_flags(flag_values)["layer_width"] == 7


def test_config_from_flags_reads_the_parsed_values(flag_values):
    flag_values(
        [
            "program",
            "--dataset=digits",
            "--nodifferentiate_probability",
            "--stop_train_loss=0.5",
            "--summary_dir=",
        ]
    )
    parsed = training_flags.config_from_flags(flag_values)
    assert parsed == dict(
        config.default_config(),
        dataset="digits",
        differentiate_probability=False,
        stop_train_loss=0.5,
    )


@pytest.mark.parametrize("name, value", BAD_FLAGS)
def test_every_bad_flag_is_refused_by_name(flag_values, name, value):
    with pytest.raises(flags.Error, match=f"--{name}"):
        flag_values(["program", f"--{name}={value}"])


def test_validate_config_refuses_what_the_flags_refuse(flag_values):
    for name, value in BAD_FLAGS:
        try:
            parsed = flag_values[name].parser.parse(value)
        except ValueError:  # The enums' parsers refuse by themselves.
            parsed = value
        bad = dict(config.default_config(), **{name: parsed})
        with pytest.raises(ValueError, match=name):
            config.validate_config(bad)


def test_every_rule_has_a_bad_flag():
    assert {name for name, _ in BAD_FLAGS} >= set(config.CONFIG_KEYS) - {
        "dataset",  # Choices refused by the enum (test_config).
        "differentiate_probability",  # Booleans: every value parses.
        "use_bias",
        "validation_size",  # Refused with the sizes, below.
        "stop_train_loss",
        "weight_decay",
        "label_noise",
        "summary_dir",
    }


def test_a_cnn_and_sizes_are_refused_with_the_data_set(flag_values):
    for arguments, message in (
        (
            ["--architecture=cnn"],
            "--architecture=cnn is not allowed with --dataset=synthetic: its "
            "inputs are not sequences (it allows --architecture=mlp).",
        ),
        (
            ["--dataset=mnist1d", "--test_size=1001"],
            "--test_size=1001 is more than the 1000 test examples of mnist1d.",
        ),
    ):
        with pytest.raises(
            flags.IllegalFlagValueError, match=re.escape(message)
        ):
            flag_values(["program", *arguments])
        flag_values.unparse_flags()
    flag_values(["program", "--architecture=cnn", "--dataset=mnist1d"])
    assert training_flags.config_from_flags(flag_values)["architecture"] == (
        "cnn"
    )


def test_sizes_are_refused_together_with_the_flags_names(flag_values):
    with pytest.raises(
        flags.IllegalFlagValueError,
        match="--batch_size=64 is not allowed: must be <= "
        "--train_size - --validation_size = 60",
    ):
        flag_values(
            [
                "program",
                "--batch_size=64",
                "--train_size=100",
                "--validation_size=40",
            ]
        )
