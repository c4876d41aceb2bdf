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
"""Tests of fisher_rao_experiments/runs.py: matching, naming, finding runs.

Results files are written by hand (no training): what matters here is what
they record and how they are named.
"""

import os
import shlex

import pytest
from absl import flags

from fisher_rao_experiments import config, results_io, runs, training_flags

TINY = {
    "train_size": 64,
    "test_size": 64,
    "batch_size": 32,
    "num_hidden_layers": 1,
    "layer_width": 8,
    "train_steps": 201,
    "eval_steps": 100,
}


def tiny_config(output_dir, **overrides):
    return config.resolve_config(
        dict(config.default_config(), **TINY, output_dir=output_dir)
        | overrides
    )


def write(config_, directory, steps, final_train_loss=0.5, stem=None):
    """A results file of `config_` evaluated at `steps`; returns its path."""
    results = {key: [0.5] * len(steps) for key in results_io.TRAJECTORY_KEYS}
    results["steps"] = steps
    results["train_loss"][-1] = final_train_loss
    hparams = dict(config_, start_time="2026-01-02T03:04:05+00:00")
    results.update(
        hparams=hparams,
        stopped_at_step=None,
        stopped_at_loss=None,
        checkpoint=None,
        num_parameters=1,
        dataset_parameters=None,
    )
    return results_io.write_json_atomically(
        results, directory, stem or runs.results_file_stem(hparams)
    )


def test_hparams_match_compares_the_keys_that_decide_a_run():
    point = {
        "regularization_norm": "None",
        "label_noise": 0.0,
        "random_seed": 1,
        "fisher_rao_method": "forward",
        "stop_train_loss": None,
        "output_dir": "here",
    }
    hparams = dict(
        point,
        label_noise=1e-13,
        fisher_rao_method="exact",
        fisher_rao_lambda=0.5,
        output_dir="elsewhere",
        train_size=1000,
    )
    # None's lambda and method, and where a run writes, do not matter; nor
    # keys the point does not set.
    assert runs.hparams_match(point, hparams)
    assert config.compared_keys(point) == [
        "regularization_norm",
        "label_noise",
        "random_seed",
        "stop_train_loss",
    ]
    assert not runs.hparams_match(
        dict(point, regularization_norm="fr"), hparams
    )
    assert not runs.hparams_match(point, dict(hparams, label_noise=0.1))
    assert not runs.hparams_match(point, dict(hparams, stop_train_loss=0.01))
    assert not runs.hparams_match(
        point,
        {key: value for key, value in hparams.items() if key != "random_seed"},
    )
    # True is not 1.
    assert not runs.hparams_match(
        {"random_seed": True}, dict(hparams, random_seed=1)
    )


def test_hparams_match_a_full_configuration():
    config_ = tiny_config("here", fisher_rao_lambda=1e-3)
    hparams = dict(
        config_,
        output_dir="elsewhere",
        summary_dir="s",
        start_time="2026-01-01T00:00:00+00:00",
    )
    match = runs.hparams_match
    assert match(config_, hparams)
    assert match(config_, dict(hparams, fisher_rao_lambda=0.001 * (1 + 1e-12)))
    assert not match(config_, dict(hparams, fisher_rao_lambda=0.0011))
    assert not match(config_, dict(hparams, random_seed=2))
    assert not match(config_, dict(hparams, label_noise=0.2))
    assert not match(
        dict(config_, differentiate_probability=True),
        dict(hparams, differentiate_probability=1),
    )
    del hparams["train_size"]
    assert not match(config_, hparams)


def test_none_matches_whatever_lambda_and_method_were_recorded():
    config_ = tiny_config("here", regularization_norm="None")
    hparams = dict(config_, fisher_rao_lambda=0.3, fisher_rao_method="exact")
    assert runs.hparams_match(config_, hparams)
    assert not runs.hparams_match(
        dict(config_, regularization_norm="fr"), hparams
    )
    assert runs.config_fingerprint(config_) == runs.config_fingerprint(hparams)


def test_fingerprint_tells_configurations_apart_not_their_outputs():
    config_ = tiny_config("here")
    fingerprint = runs.config_fingerprint(config_)
    assert len(fingerprint) == 8 and int(fingerprint, 16) >= 0
    assert fingerprint == runs.config_fingerprint(
        dict(
            config_,
            output_dir="elsewhere",
            summary_dir="s",
            start_time="2026",
            learning_rate=1e-3,
            layer_width=8.0,  # Numbers compared as floats.
        )
    )
    for key, value in (
        ("learning_rate", 0.01),
        ("random_seed", 2),
        ("differentiate_probability", False),
        ("fisher_rao_lambda", 0.1),
    ):
        assert fingerprint != runs.config_fingerprint(
            dict(config_, **{key: value})
        ), key


def test_results_file_stem_names_the_run():
    hparams = dict(
        tiny_config("here", regularization_norm="fre", label_noise=0.25),
        start_time="2026-01-02T03:04:05.123456+00:00",
    )
    assert runs.results_file_stem(hparams) == (
        "20260102-030405_synthetic_fre_lambda0_forward_noise0.25_seed1_"
        + runs.config_fingerprint(hparams)
    )


def test_find_complete_results_finds_only_a_complete_match(tmp_path):
    directory = str(tmp_path)
    config_ = tiny_config(directory)
    last_step = config_["train_steps"]
    assert runs.find_complete_results(directory, config_) is None
    write(config_, directory, [0, 100])  # Incomplete.
    write(tiny_config(directory, random_seed=2), directory, [0, last_step])
    assert runs.find_complete_results(directory, config_) is None
    path = write(config_, directory, [0, 100, last_step])
    assert runs.find_complete_results(directory, config_) == path
    # Only files named with the fingerprint are read.
    os.rename(path, os.path.join(directory, "other_name.json"))
    assert runs.find_complete_results(directory, config_) is None


def test_pending_configs_skip_only_complete_results(tmp_path):
    directory = str(tmp_path)
    configs = [tiny_config(directory, random_seed=seed) for seed in (1, 2, 3)]
    last_step = configs[0]["train_steps"]

    write(configs[0], directory, [0, 100, last_step], stem="run")
    write(configs[1], directory, [0, 100], stem="run")  # Stopped early.
    # Diverged in the last step: evaluated at train_steps, loss null.
    write(
        configs[2],
        directory,
        [0, 100, last_step],
        final_train_loss=None,
        stem="run",
    )
    with open(os.path.join(directory, "broken.json"), "w") as broken:
        broken.write('{"hparams": NaN}')

    assert runs.pending_configs(configs, directory) == configs[1:]
    assert [
        hparams["random_seed"]
        for _, hparams in runs.finished_results(directory)
    ] == [1]


@pytest.mark.parametrize("use_defaults", [False, True])
def test_command_for_config_round_trips(use_defaults):
    expected = (
        config.default_config()
        if use_defaults
        else dict(
            config.default_config(),
            **TINY,
            output_dir="/tmp/a dir/with 'quotes'",
            regularization_norm="None",
            fisher_rao_lambda=0.1 + 0.2,
            differentiate_probability=False,
            fisher_rao_method="exact",
            optimizer="adam",
            summary_dir="/tmp/summaries",
        )
    )
    arguments = shlex.split(runs.command_for_config(expected))
    assert arguments[:2] == ["python3", "synthetic_classification.py"]
    flag_values = flags.FlagValues()
    training_flags.define_flags(flag_values)
    flag_values(arguments[1:])
    assert training_flags.config_from_flags(flag_values) == expected


# Files written before issue 19 record no architecture, use_bias,
# momentum, stop_check_steps or convolutional keys.
EARLIER_KEYS = (
    "architecture",
    "use_bias",
    "momentum",
    "stop_check_steps",
    *config.CNN_KEYS,
)


def earlier_hparams(config_):
    return {
        key: value for key, value in config_.items() if key not in EARLIER_KEYS
    }


def test_earlier_versions_runs_keep_their_fingerprints_and_match():
    # The fingerprints the code before issue 19 gave these configurations
    # (computed with it): results files named then are still found.
    for overrides, fingerprint in (
        ({}, "80a44296"),
        ({"dataset": "digits"}, "45592a92"),
        (
            {
                "dataset": "digits",
                "optimizer": "adam",
                "learning_rate": 3e-4,
                "layer_width": 128,
                "num_hidden_layers": 1,
                "regularization_norm": "None",
            },
            "f262a8e3",
        ),
    ):
        config_ = config.resolve_config(
            dict(config.default_config(), **overrides)
        )
        assert runs.config_fingerprint(config_) == fingerprint, overrides
        assert runs.hparams_match(config_, earlier_hparams(config_))
        # Recorded hparams of a new run have the same fingerprint.
        assert runs.config_fingerprint(config_) == runs.config_fingerprint(
            earlier_hparams(config_)
        )


def test_new_settings_never_match_an_earlier_versions_run():
    earlier = earlier_hparams(
        config.resolve_config(dict(config.default_config(), dataset="mnist1d"))
    )
    base = config.resolve_config(
        dict(config.default_config(), dataset="mnist1d")
    )
    assert runs.hparams_match(base, earlier)
    for overrides in (
        {"architecture": "cnn"},
        {"use_bias": False},
        {"optimizer": "momentum"},
        # Stopping is checked every few steps now, not at evaluations.
        {"stop_train_loss": 0.01},
    ):
        config_ = dict(base, **overrides)
        assert not runs.hparams_match(config_, earlier), overrides
        assert runs.config_fingerprint(config_) != runs.config_fingerprint(
            base
        )


def test_keys_a_run_never_reads_do_not_tell_runs_apart():
    mlp = config.resolve_config(
        dict(config.default_config(), dataset="mnist1d")
    )
    cnn = dict(mlp, architecture="cnn")
    for config_, overrides in (
        (mlp, {"conv_channels": 8, "momentum": 0.5, "stop_check_steps": 7}),
        (cnn, {"num_hidden_layers": 4, "layer_width": 7}),
    ):
        changed = dict(config_, **overrides)
        assert runs.config_fingerprint(changed) == runs.config_fingerprint(
            config_
        )
        assert runs.hparams_match(changed, config_)
    # An MLP and a CNN are different runs, whichever is recorded.
    assert not runs.hparams_match(mlp, cnn)
    assert not runs.hparams_match(cnn, mlp)
    assert runs.config_fingerprint(mlp) != runs.config_fingerprint(cnn)
    # A CNN's head width counts once it has a head.
    headed = dict(cnn, head_layers=1)
    assert runs.config_fingerprint(
        dict(headed, layer_width=7)
    ) != runs.config_fingerprint(headed)


def test_a_cnns_files_are_named_with_its_architecture():
    hparams = dict(
        config.resolve_config(
            dict(
                config.default_config(),
                dataset="mnist1d",
                architecture="cnn",
            )
        ),
        start_time="2026-01-02T03:04:05+00:00",
    )
    assert runs.results_file_stem(hparams).startswith(
        "20260102-030405_mnist1d_cnn_fr_lambda0_forward_noise0_seed1_"
    )
