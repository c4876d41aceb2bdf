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
"""The training flags, generated from the configuration's schema.

`define_flags` defines one absl flag per key of `config.OPTIONS`, with its
default, help and type (`DEFINE_enum` for keys with choices), and registers
the configuration's rules as validators, so that a bad value stops the
command line before anything runs, with the message `validate_config`
gives. The entry points call it (synthetic_classification.py and
experiments/sweep.py); nothing defines flags at import.
"""

from absl import flags

from fisher_rao_experiments import config as experiment_config

_DEFINE_BY_TYPE = {
    bool: flags.DEFINE_bool,
    int: flags.DEFINE_integer,
    float: flags.DEFINE_float,
    str: flags.DEFINE_string,
}


def define_flags(flag_values=flags.FLAGS):
    """Defines a flag per configuration key on `flag_values`, with validators.

    Defining them again on the same flag values does nothing: the training
    script and the sweep share a process in the tests.

    Args:
      flag_values: The `flags.FlagValues` to define them on.
    """
    keys = experiment_config.CONFIG_KEYS
    if all(
        key in flag_values
        and flag_values.find_module_defining_flag(key) == __name__
        for key in keys
    ):
        return
    for key, option in experiment_config.OPTIONS.items():
        if option.choices:
            flags.DEFINE_enum(
                key,
                option.default,
                option.choices,
                option.help,
                flag_values=flag_values,
            )
        else:
            _DEFINE_BY_TYPE[option.type](
                key, option.default, option.help, flag_values=flag_values
            )
    for key, (check, allowed) in experiment_config.RULES.items():
        flags.register_validator(
            key,
            check,
            message=f"--{key} must be {allowed}.",
            flag_values=flag_values,
        )
    flags.register_multi_flags_validator(
        experiment_config.SIZE_KEYS, _check_size_flags, flag_values=flag_values
    )


def _check_size_flags(values):
    try:
        experiment_config.check_sizes(
            experiment_config.resolve_config(values), prefix="--"
        )
    except ValueError as error:
        raise flags.ValidationError(str(error)) from None
    return True


def config_from_flags(flag_values=flags.FLAGS):
    """Returns the configuration given by parsed training flags.

    An empty --summary_dir means none (None).
    """
    config = {
        key: flag_values[key].value for key in experiment_config.CONFIG_KEYS
    }
    config["summary_dir"] = config["summary_dir"] or None
    return config
