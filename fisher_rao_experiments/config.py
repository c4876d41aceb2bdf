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
"""The configuration of a training run: its keys, defaults and rules.

A configuration is a dict with exactly the keys of `OPTIONS` (`CONFIG_KEYS`),
one per flag of synthetic_classification.py. The defaults are plain data
here; the flags are generated from `OPTIONS` (see `training_flags`), so the
command line and a configuration built in Python have the same defaults and
refuse the same values.

The keys of `DATASET_DEFAULT_KEYS` may be None: `resolve_config` fills in
the data set's own (its sizes, and its training settings: optimizer,
learning rate, steps, batch size, MLP widths; see `data.SOURCES`).

Nothing here imports TensorFlow: the sweep's client and the studies check
configurations without it.
"""

import dataclasses
import math
import numbers
import types

import numpy as np

from fisher_rao_experiments import data, results_io

NO_REGULARIZATION = "None"
NORMS = (NO_REGULARIZATION, "fr", "fre")
OPTIMIZERS = ("sgd", "momentum", "adam")
ARCHITECTURES = ("mlp", "cnn")
# direct_fisher_rao.METHODS (a test checks they agree), written out so that
# checking a configuration needs no TensorFlow.
METHODS = ("forward", "central", "exact")
DATASETS = data.DATASETS
# Keys of a configuration that change nothing in a run without the
# regularizer (norm "None").
KEYS_UNUSED_WITHOUT_REGULARIZER = ("fisher_rao_lambda", "fisher_rao_method")
# Keys that only the convolutional network reads.
CNN_KEYS = (
    "conv_layers",
    "conv_channels",
    "kernel_size",
    "conv_stride",
    "head_layers",
)
# Keys added after results files were first written, with the value every
# run of the earlier versions had: recorded hparams lacking one had that
# value, and a configuration at that value keeps the fingerprint it had
# before the key existed (see `runs`), so earlier runs are still found.
EARLIER_VALUES = types.MappingProxyType(
    {
        "architecture": "mlp",
        "use_bias": True,
        "label_smoothing": 0.0,
        "confidence_penalty": 0.0,
    }
)
SIZE_DEFAULT_KEYS = (
    "train_size",
    "test_size",
    "input_dimension",
    "num_classes",
)
TRAINING_DEFAULT_KEYS = (
    "optimizer",
    "learning_rate",
    "train_steps",
    "eval_steps",
    "batch_size",
    "num_hidden_layers",
    "layer_width",
)
# Keys whose default (None) is the data set's value.
DATASET_DEFAULT_KEYS = SIZE_DEFAULT_KEYS + TRAINING_DEFAULT_KEYS


@dataclasses.dataclass(frozen=True)
class Option:
    """One configuration key.

    Attributes:
      type: The type of its values: bool, int, float or str (None is also
        allowed where the default is None).
      default: Its default value.
      help: What it means, as the flag's help shows it.
      choices: The allowed values of a key with a fixed set of them, or None.
    """

    type: type
    default: object
    help: str
    choices: tuple | None = None


def _dataset_default(source, key):
    if key in SIZE_DEFAULT_KEYS:
        return source.DEFAULT_SIZES[key]
    return source.TRAINING_DEFAULTS[key]


def _sizes_help(key):
    """'10 for synthetic; digits: 64, set by the data': each data set's
    default of `key`, and the data sets whose data fix it."""
    defaults = _defaults_help(
        key,
        [
            name
            for name, source in data.SOURCES.items()
            if key not in source.FIXED_SIZES
        ],
    )
    fixed = [
        f"{name}: {source.DEFAULT_SIZES[key]}, set by the data"
        for name, source in data.SOURCES.items()
        if key in source.FIXED_SIZES
    ]
    return "; ".join([defaults, *fixed])


def _defaults_help(key, names=None):
    """'0.001 for synthetic and digits, 0.01 for mnist1d': the data sets'
    defaults of `key` (of the data sets `names`, default all)."""
    names = list(data.SOURCES) if names is None else names
    by_value = {}
    for name in names:
        value = _dataset_default(data.SOURCES[name], key)
        by_value.setdefault(value, []).append(name)
    return ", ".join(
        f"{value} for {' and '.join(group)}"
        for value, group in by_value.items()
    )


def _architectures_help():
    """'cnn for mnist1d only' for the architectures some data sets refuse."""
    return "; ".join(
        f"{architecture} for "
        + " and ".join(
            name
            for name, source in data.SOURCES.items()
            if architecture in source.ARCHITECTURES
        )
        + " only"
        for architecture in ARCHITECTURES
        if not all(
            architecture in source.ARCHITECTURES
            for source in data.SOURCES.values()
        )
    )


def _examples_help():
    """'digits has 1797 examples in all' for the data sets of fixed size."""
    return "; ".join(
        f"{name} has {source.MAX_SIZES['train_size']} training and "
        f"{source.MAX_SIZES['test_size']} test examples"
        if {"train_size", "test_size"} <= set(source.MAX_SIZES)
        else f"{name} has {source.NUM_EXAMPLES} examples in all"
        for name, source in data.SOURCES.items()
        if source.NUM_EXAMPLES is not None
    )


# Every key of a configuration, in the order of the flags' definitions.
OPTIONS = types.MappingProxyType(
    {
        "dataset": Option(
            str,
            "synthetic",
            "; ".join(
                f"{name}: {source.DESCRIPTION}"
                for name, source in data.SOURCES.items()
            )
            + ".",
            choices=DATASETS,
        ),
        "architecture": Option(
            str,
            "mlp",
            "mlp: ReLU multi-layer perceptron (--num_hidden_layers, "
            "--layer_width); cnn: 1-D convolutional ReLU network for "
            "sequence inputs (--conv_layers, --conv_channels, "
            f"--kernel_size, --conv_stride, --head_layers); "
            f"{_architectures_help()}.",
            choices=ARCHITECTURES,
        ),
        "regularization_norm": Option(
            str,
            "fr",
            "None: no regularization; fr: standard Fisher-Rao norm; "
            "fre: empirical Fisher-Rao norm.",
            choices=NORMS,
        ),
        "fisher_rao_lambda": Option(
            float,
            0.0,
            "Factor of the regularizer in the training loss (>= 0).",
        ),
        "differentiate_probability": Option(
            bool,
            True,
            "fr only: whether gradients flow through the softmax "
            "probabilities weighting the norm.",
        ),
        "fisher_rao_method": Option(
            str,
            "forward",
            "How the regularizer's derivative is taken: forward or "
            "central finite difference, or exact (forward-mode "
            "autodiff, the right gradient for ReLU nets with biases).",
            choices=METHODS,
        ),
        "weight_decay": Option(
            float,
            0.0,
            "Factor of the sum of squared kernels (not biases) in the "
            "training loss (>= 0).",
        ),
        "label_smoothing": Option(
            float,
            0.0,
            "Label smoothing eps in [0, 1): the training cross-entropy is "
            "taken against (1 - eps) * one_hot(y) + eps / num_classes "
            "(recorded losses stay against the labels).",
        ),
        "confidence_penalty": Option(
            float,
            0.0,
            "Confidence penalty beta (>= 0; Pereyra et al. 2017): the "
            "training loss minus beta times the batch's mean entropy of "
            "the predicted distribution.",
        ),
        "optimizer": Option(
            str,
            None,
            "sgd: plain gradient descent; momentum: SGD with --momentum; "
            f"adam (default: {_defaults_help('optimizer')}).",
            choices=OPTIMIZERS,
        ),
        "learning_rate": Option(
            float,
            None,
            "Learning rate (> 0; default: "
            f"{_defaults_help('learning_rate')}).",
        ),
        "momentum": Option(
            float,
            0.9,
            "--optimizer=momentum only: the momentum (in [0, 1)).",
        ),
        "train_steps": Option(
            int,
            None,
            "Number of training steps (default: "
            f"{_defaults_help('train_steps')}).",
        ),
        "eval_steps": Option(
            int,
            None,
            "Steps between evaluations on the full train, validation and "
            f"test sets (default: {_defaults_help('eval_steps')}).",
        ),
        "stop_train_loss": Option(
            float,
            None,
            "If given, stop at the first checked step (every "
            "--stop_check_steps, and every evaluation) whose "
            "cross-entropy on the full training set is <= this (>= 0), "
            "and evaluate there; default: train all --train_steps.",
        ),
        "stop_check_steps": Option(
            int,
            1,
            "--stop_train_loss only: steps between the checks of the "
            "training loss (1: every step, so the run stops at the first "
            "step at or below it; each check is a forward pass over the "
            "training rows).",
        ),
        "batch_size": Option(
            int,
            None,
            "Training batch size (<= train_size - validation_size; "
            f"default: {_defaults_help('batch_size')}).",
        ),
        "train_size": Option(
            int,
            None,
            "Training examples, the validation split included "
            f"(default: {_sizes_help('train_size')}).",
        ),
        "validation_size": Option(
            int,
            0,
            "Examples taken out of the training examples to "
            "validate on (>= 0, < train_size).",
        ),
        "test_size": Option(
            int,
            None,
            f"Test examples (default: {_sizes_help('test_size')}; "
            f"{_examples_help()}).",
        ),
        "label_noise": Option(
            float,
            0.0,
            "Probability in [0, 1] that a training label is replaced "
            "by a class drawn uniformly at random (1: random labels); "
            "validation and test labels stay clean.",
        ),
        "num_hidden_layers": Option(
            int,
            None,
            "mlp: hidden layers after the input layer (default: "
            f"{_defaults_help('num_hidden_layers')}).",
        ),
        "layer_width": Option(
            int,
            None,
            "Units of every dense ReLU layer: the mlp's, and the cnn's "
            f"head's (default: {_defaults_help('layer_width')}).",
        ),
        "use_bias": Option(
            bool,
            True,
            "Whether every layer has a bias (false: a bias-free ReLU "
            "network, positively homogeneous in its weights).",
        ),
        "conv_layers": Option(
            int, 3, "cnn: convolutional ReLU layers (>= 1)."
        ),
        "conv_channels": Option(
            int, 32, "cnn: output channels of every convolutional layer."
        ),
        "kernel_size": Option(
            int, 5, "cnn: kernel size of every convolutional layer."
        ),
        "conv_stride": Option(
            int,
            2,
            "cnn: stride of every convolutional layer ('SAME' zero "
            "padding: a layer of stride s has ceil(n / s) outputs for n "
            "inputs).",
        ),
        "head_layers": Option(
            int,
            0,
            "cnn: dense ReLU layers of --layer_width units between the "
            "flattened convolutional features and the output layer.",
        ),
        "random_seed": Option(
            int,
            1,
            "Seed of the data, the split, the "
            "label noise, the initial weights and the batch order.",
        ),
        "input_dimension": Option(
            int,
            None,
            "Dimension of the inputs (default: "
            f"{_sizes_help('input_dimension')}).",
        ),
        "num_classes": Option(
            int,
            None,
            f"Number of classes (default: {_sizes_help('num_classes')}).",
        ),
        "output_dir": Option(
            str,
            results_io.DEFAULT_RESULTS_DIR,
            "Directory of the results files and checkpoints "
            "(created if missing). The default is shared by every "
            "run and may be wiped on reboot: name one for work you "
            "keep.",
        ),
        "summary_dir": Option(
            str,
            None,
            "If given, also write TensorBoard scalar summaries of "
            "every recorded quantity there.",
        ),
    }
)
CONFIG_KEYS = tuple(OPTIONS)
DEFAULTS = types.MappingProxyType(
    {key: option.default for key, option in OPTIONS.items()}
)
CHOICES = types.MappingProxyType(
    {key: option.choices for key, option in OPTIONS.items() if option.choices}
)


def _is_integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _integer_at_least(lowest):
    return lambda value: _is_integer(value) and value >= lowest


def _finite_at_least(lowest):
    return lambda value: (
        _is_real(value) and math.isfinite(value) and value >= lowest
    )


def _or_none(check):
    return lambda value: value is None or check(value)


# Key -> (check, what is allowed), for the keys without `choices`. The flag
# validators and validate_config share these rules, so a configuration
# refused here is refused on the command line.
RULES = types.MappingProxyType(
    {
        "fisher_rao_lambda": (_finite_at_least(0), "a finite number >= 0"),
        "differentiate_probability": (
            lambda value: isinstance(value, (bool, np.bool_)),
            "true or false",
        ),
        "weight_decay": (_finite_at_least(0), "a finite number >= 0"),
        "label_smoothing": (
            lambda value: _is_real(value) and 0 <= value < 1,
            "a number in [0, 1)",
        ),
        "confidence_penalty": (
            _finite_at_least(0),
            "a finite number >= 0",
        ),
        "learning_rate": (
            _or_none(
                lambda value: (
                    _is_real(value) and math.isfinite(value) and value > 0
                )
            ),
            "a finite number > 0, or unset for the data set's default",
        ),
        "momentum": (
            lambda value: _is_real(value) and 0 <= value < 1,
            "a number in [0, 1)",
        ),
        "train_steps": (
            _or_none(_integer_at_least(1)),
            "an integer >= 1, or unset for the data set's default",
        ),
        "eval_steps": (
            _or_none(_integer_at_least(1)),
            "an integer >= 1, or unset for the data set's default",
        ),
        "stop_train_loss": (
            _or_none(_finite_at_least(0)),
            "a finite number >= 0, or unset",
        ),
        "stop_check_steps": (_integer_at_least(1), "an integer >= 1"),
        "batch_size": (
            _or_none(_integer_at_least(1)),
            "an integer >= 1, or unset for the data set's default",
        ),
        "train_size": (
            _or_none(_integer_at_least(1)),
            "an integer >= 1, or unset for the data set's default",
        ),
        "validation_size": (_integer_at_least(0), "an integer >= 0"),
        "test_size": (
            _or_none(_integer_at_least(1)),
            "an integer >= 1, or unset for the data set's default",
        ),
        "label_noise": (
            lambda value: _is_real(value) and 0 <= value <= 1,
            "a number in [0, 1]",
        ),
        "num_hidden_layers": (
            _or_none(_integer_at_least(0)),
            "an integer >= 0, or unset for the data set's default",
        ),
        "layer_width": (
            _or_none(_integer_at_least(1)),
            "an integer >= 1, or unset for the data set's default",
        ),
        "use_bias": (
            lambda value: isinstance(value, (bool, np.bool_)),
            "true or false",
        ),
        "conv_layers": (_integer_at_least(1), "an integer >= 1"),
        "conv_channels": (_integer_at_least(1), "an integer >= 1"),
        "kernel_size": (_integer_at_least(1), "an integer >= 1"),
        "conv_stride": (_integer_at_least(1), "an integer >= 1"),
        "head_layers": (_integer_at_least(0), "an integer >= 0"),
        "random_seed": (
            lambda value: _is_integer(value) and 0 <= value < 2**31,
            "an integer in [0, 2**31)",
        ),
        "input_dimension": (
            _or_none(_integer_at_least(1)),
            "an integer >= 1, or unset for the data set's",
        ),
        "num_classes": (
            _or_none(_integer_at_least(2)),
            "an integer >= 2, or unset for the data set's",
        ),
        "output_dir": (
            lambda value: isinstance(value, str) and bool(value),
            "a non-empty directory path",
        ),
        "summary_dir": (
            lambda value: value is None or isinstance(value, str),
            "a directory path, or None for no summaries",
        ),
    }
)
# Keys whose allowed values depend on each other (checked together, on the
# resolved configuration, by check_sizes).
SIZE_KEYS = (
    "dataset",
    "architecture",
    "batch_size",
    "train_size",
    "validation_size",
    "test_size",
    "input_dimension",
    "num_classes",
)


def default_config():
    """Returns a new configuration of every key's default value."""
    return dict(DEFAULTS)


def resolve_config(config):
    """Returns a copy of `config` with the data set's defaults filled in.

    The keys of `DATASET_DEFAULT_KEYS` left None take the values of the data
    set's `DEFAULT_SIZES` and `TRAINING_DEFAULTS` (see `data.SOURCES`);
    keys missing from `config` stay missing, and so does everything of an
    unknown data set.
    """
    resolved = dict(config)
    source = data.SOURCES.get(config.get("dataset"))
    if source is None:
        return resolved
    for key in DATASET_DEFAULT_KEYS:
        if key in resolved and resolved[key] is None:
            resolved[key] = _dataset_default(source, key)
    return resolved


def validate_config(config):
    """Checks a configuration against the rules of the flags.

    Args:
      config: Dictionary with exactly the keys of `CONFIG_KEYS`; sizes may
        be None (the data set's default).

    Raises:
      ValueError: Naming the first offending key, its value and what is
        allowed.
    """
    missing = [key for key in CONFIG_KEYS if key not in config]
    unknown = sorted(set(config) - set(CONFIG_KEYS))
    if missing or unknown:
        raise ValueError(
            f"The configuration must have exactly the keys {CONFIG_KEYS}; "
            f"missing {missing}, unknown {unknown}."
        )
    for key in CONFIG_KEYS:
        check_value(key, config[key])
    check_sizes(resolve_config(config))


def check_value(key, value):
    """Checks one key's value against its own rule or choices.

    Raises:
      ValueError: `"{key}={value!r} is not allowed: must be ..."`.
    """
    if key in CHOICES:
        if value is None and OPTIONS[key].default is None:
            return  # The data set's default.
        if value not in CHOICES[key]:
            raise ValueError(
                f"{key}={value!r} is not allowed: must be "
                f"one of {', '.join(CHOICES[key])}."
            )
        return
    check, allowed = RULES[key]
    if not check(value):
        raise ValueError(f"{key}={value!r} is not allowed: must be {allowed}.")


def check_sizes(config, prefix=""):
    """Checks that the resolved sizes fit each other and the data set.

    Values that break their own rule (or an unknown data set) are left to
    that rule: nothing is raised for them here.

    Args:
      config: A resolved configuration (at least the `SIZE_KEYS`).
      prefix: Put before every key in the message ("--" for flags).

    Raises:
      ValueError: One line naming the keys, their values and the limit.
    """
    if (
        any(
            not RULES[key][0](config[key]) for key in SIZE_KEYS if key in RULES
        )
        or config["dataset"] not in data.SOURCES
    ):
        return
    dataset, sizes = (
        config["dataset"],
        {key: f"{prefix}{key}={config[key]}" for key in SIZE_KEYS},
    )
    source = data.SOURCES[dataset]
    if config["architecture"] not in source.ARCHITECTURES:
        raise ValueError(
            f"{sizes['architecture']} is not allowed with {sizes['dataset']}: "
            f"its inputs are not sequences (it allows {prefix}architecture="
            f"{' or '.join(source.ARCHITECTURES)})."
        )
    for key in source.FIXED_SIZES:
        if config[key] != source.DEFAULT_SIZES[key]:
            raise ValueError(
                f"{sizes[key]} is not allowed with {sizes['dataset']}: the "
                f"data set's is {source.DEFAULT_SIZES[key]} (leave it unset)."
            )
    for key, limit in source.MAX_SIZES.items():
        if config[key] > limit:
            examples = {"train_size": "training", "test_size": "test"}
            raise ValueError(
                f"{sizes[key]} is more than the {limit} "
                f"{examples.get(key, '')} examples of {dataset}."
            )
    total = config["train_size"] + config["test_size"]
    if source.NUM_EXAMPLES is not None and total > source.NUM_EXAMPLES:
        raise ValueError(
            f"{sizes['train_size']} plus {sizes['test_size']} is "
            f"{total}, more than the {source.NUM_EXAMPLES} examples "
            f"of {dataset}."
        )
    if config["validation_size"] >= config["train_size"]:
        raise ValueError(
            f"{sizes['validation_size']} is not allowed: must be < "
            f"{sizes['train_size']} (it is taken out of the training "
            f"examples)."
        )
    training_rows = data.num_training_rows(config)
    if config["batch_size"] > training_rows:
        raise ValueError(
            f"{sizes['batch_size']} is not allowed: must be <= "
            f"{prefix}train_size - {prefix}validation_size = "
            f"{training_rows}."
        )


def unused_keys(config):
    """The keys of a configuration (or part of one) that change nothing.

    Decided by the keys `config` has: without a regularizer (norm None) its
    lambda and method; `momentum` unless the optimizer is `momentum`;
    `stop_check_steps` without `stop_train_loss`; for `mlp` the
    convolutional keys (`CNN_KEYS`); for `cnn` `num_hidden_layers`, and
    `layer_width` without head layers.
    """
    unused = set()
    if config.get("regularization_norm") == NO_REGULARIZATION:
        unused.update(KEYS_UNUSED_WITHOUT_REGULARIZER)
    if config.get("optimizer", "momentum") != "momentum":
        unused.add("momentum")
    if "stop_train_loss" in config and config["stop_train_loss"] is None:
        unused.add("stop_check_steps")
    if config.get("architecture") == "mlp":
        unused.update(CNN_KEYS)
    elif config.get("architecture") == "cnn":
        unused.add("num_hidden_layers")
        if config.get("head_layers") == 0:
            unused.add("layer_width")
    return unused


def compared_keys(config):
    """The keys of a configuration (or part of one) that decide a run.

    Every key but the output locations (`results_io.OUTPUT_KEYS`) and the
    keys that change nothing in it (`unused_keys`); in the order of
    `config`.
    """
    ignored = set(results_io.OUTPUT_KEYS) | unused_keys(config)
    return [key for key in config if key not in ignored]


def hyperparameter_keys(config):
    """The keys of `config` that decide what a run computes, in the order of
    `CONFIG_KEYS` (other keys, e.g. a recorded start_time, left out)."""
    compared = set(compared_keys(config))
    return [key for key in CONFIG_KEYS if key in compared]
