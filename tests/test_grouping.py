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
"""Tests of analysis/grouping.py: which runs are averaged together."""

import logging

import helpers
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from fisher_rao_experiments.analysis import (
    grouping,
    loading,
    run_statistics,
    tables,
    trajectory_plots,
)

write = helpers.write
load_groups = helpers.load_groups
ALL_FILES = r"\.json$"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_seeds_averaged_lambdas_and_norms_separate(tmp_path):
    helpers.write_sweep(tmp_path)
    groups = load_groups(tmp_path)
    assert helpers.group_labels(groups) == [
        "norm=None, lambda=0",
        "norm=fr, lambda=0",
        "norm=fr, lambda=0.01",
        "norm=fr, lambda=0.1",
        "norm=fre, lambda=0.1",
    ]
    for group in groups:
        assert sorted(
            run.results["hparams"]["random_seed"] for run in group.runs
        ) == [1, 2]


def test_group_mean_is_mean_of_its_runs(tmp_path):
    helpers.write_sweep(tmp_path)
    group = load_groups(tmp_path, ["fisher_rao_lambda"])[-1]
    assert group.hparams == {"fisher_rao_lambda": 0.1}
    members = [
        results
        for results in helpers.read_files(tmp_path)
        if results["hparams"]["fisher_rao_lambda"] == 0.1
    ]
    mean, _ = run_statistics.compute_statistics(group.data, "test_accuracy")
    np.testing.assert_allclose(
        mean,
        np.mean([results["test_accuracy"] for results in members], axis=0),
    )


def test_empty_group_by_puts_all_runs_in_one_group(tmp_path):
    helpers.write_sweep(tmp_path)
    (group,) = load_groups(tmp_path, [])
    assert group.label == "all runs" and len(group.runs) == 10


def test_different_lengths_are_separated_naming_files(tmp_path, caplog):
    write(tmp_path, "long-1", seed=1, num_points=6)
    write(tmp_path, "long-2", seed=2, num_points=6)
    write(tmp_path, "short-1", seed=3, num_points=3)
    with caplog.at_level(logging.WARNING):
        groups = load_groups(tmp_path)
    assert sorted(len(group.runs) for group in groups) == [1, 2]
    assert len({group.label for group in groups}) == 2
    for group in groups:
        assert len({len(run.results["steps"]) for run in group.runs}) == 1
    message = caplog.records[-1].getMessage()
    for name in ("long-1.json", "long-2.json", "short-1.json"):
        assert name in message
    loss_axes = trajectory_plots.plot_trajectories(groups).axes[0]
    assert sorted(len(line.get_xdata()) for line in loss_axes.lines) == [
        3,
        3,
        6,
        6,
    ]


def test_final_groups_keep_a_stop_loss_run_with_its_siblings(tmp_path):
    write(tmp_path, "full-1", seed=1)
    write(tmp_path, "full-2", seed=2)
    helpers.write_results(
        tmp_path,
        "stopped",
        helpers.stop_early(helpers.plausible_results(seed=3), 4),
    )
    runs = loading.load_runs(ALL_FILES, str(tmp_path))
    # Trajectories of different steps are never averaged...
    assert len(grouping.group_runs(runs, ["regularization_norm"])) == 2
    # ...but final values are, each run's from its last evaluation.
    (group,) = grouping.group_final_runs(runs, ["regularization_norm"])
    assert len(group.runs) == 3
    last = np.array(
        [
            results["test_accuracy"][-1]
            for results in helpers.read_files(tmp_path)
        ]
    )
    np.testing.assert_allclose(
        run_statistics.final_statistics(group)["test_accuracy"],
        (last.mean(), last.std(ddof=1)),
    )
    row = tables.format_summary_table([group]).splitlines()[2]
    assert row.split()[1:3] == ["3", "300-500"]


def test_warns_when_a_group_mixes_other_hparams(tmp_path, caplog):
    write(tmp_path, "forward", seed=1, method="forward")
    write(tmp_path, "exact", seed=2, method="exact")
    with caplog.at_level(logging.WARNING):
        (group,) = load_groups(tmp_path)
    assert len(group.runs) == 2
    assert "fisher_rao_method (exact/forward)" in caplog.text
    assert "random_seed" not in caplog.text


def test_lambda_groups_refuse_missing_lambda(tmp_path):
    results = helpers.plausible_results()
    del results["hparams"]["fisher_rao_lambda"]
    helpers.write_results(tmp_path, "nolambda", results)
    runs = loading.load_runs(ALL_FILES, str(tmp_path))
    with pytest.raises(ValueError, match="nolambda.json"):
        grouping.lambda_sweep_groups(runs)


def test_runs_of_an_earlier_version_group_by_their_hparams(tmp_path):
    for seed in (1, 2):
        helpers.write_results(
            tmp_path,
            f"old-{seed}",
            helpers.earlier_version_results(seed=seed, lam=0.1),
        )
    write(tmp_path, "new", seed=3, lam=0.1)
    (group,) = load_groups(tmp_path)
    assert group.legend == "norm=fr, lambda=0.1 (3 runs)"


def test_final_lines_keep_train_steps_apart(tmp_path):
    for steps, points in ((500, 6), (1000, 11)):
        for lam in (0.01, 0.1):
            write(tmp_path, f"{steps}-{lam}", lam=lam, num_points=points)
    runs = loading.load_runs(ALL_FILES, str(tmp_path))
    groups = grouping.lambda_sweep_groups(runs)
    lines = grouping.final_lines(groups, grouping.LAMBDA_HPARAM)
    assert [line.label for line in lines] == [
        "norm=fr, method=forward [train_steps=500]",
        "norm=fr, method=forward [train_steps=1000]",
    ]
    assert all(sorted(line.groups_by_x) == [0.01, 0.1] for line in lines)


@pytest.mark.parametrize(
    "count, text", [(1, "1 run"), (2, "2 runs"), (0, "0 runs")]
)
def test_count(count, text):
    assert grouping.count(count, "run") == text
