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
"""Tests of analysis/loading.py: which files load, which are skipped."""

import logging

import helpers
import pytest

from fisher_rao_experiments import results_io
from fisher_rao_experiments.analysis import loading, quantities

write = helpers.write
write_results = helpers.write_results
ALL_FILES = r"\.json$"


def warnings_of(caplog):
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING
    ]


def test_foreign_and_broken_files_skipped_with_one_warning_each(
    tmp_path, caplog
):
    write(tmp_path, "good", seed=1)
    helpers.write_text(tmp_path, "notes.json", "not json at all")
    helpers.write_text(tmp_path, "truncated.json", '{"hparams": {')
    helpers.write_text(tmp_path, "nan.json", '{"steps": NaN}')
    results_io.write_json_atomically(
        {"hparams": {}, "steps": [0]}, str(tmp_path), "missing-keys"
    )
    uneven = helpers.plausible_results(seed=2)
    uneven["margin"] = uneven["margin"][:-1]
    write_results(tmp_path, "uneven", uneven)
    nested = helpers.plausible_results(seed=3)
    nested["hparams"]["fisher_rao_lambda"] = [0.1]
    write_results(tmp_path, "nested", nested)
    with caplog.at_level(logging.WARNING):
        runs = loading.load_runs(ALL_FILES, str(tmp_path))
    assert [run.name for run in runs] == ["good.json"]
    warnings = warnings_of(caplog)
    bad_names = [
        "missing-keys.json",
        "nan.json",
        "nested.json",
        "notes.json",
        "truncated.json",
        "uneven.json",
    ]
    assert len(warnings) == len(bad_names)
    for name, message in zip(bad_names, sorted(warnings), strict=True):
        assert name in message and "\n" not in message
    assert "'margin'" in sorted(warnings)[-1]


def test_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        loading.load_runs(".*", str(tmp_path / "absent"))


def test_unfinished_runs_are_judged_by_is_complete(tmp_path):
    write(tmp_path, "finished", seed=1)
    write_results(
        tmp_path,
        "stop-loss",
        helpers.stop_early(helpers.plausible_results(seed=2), 2),
    )
    interrupted = helpers.plausible_results(seed=3)
    for key in results_io.EVALUATED_KEYS + ("steps",):
        interrupted[key] = interrupted[key][:2]
    write_results(tmp_path, "interrupted", interrupted)
    diverged = helpers.plausible_results(seed=4)
    diverged["train_loss"][-1] = float("nan")
    write_results(tmp_path, "diverged", diverged)
    runs = loading.load_runs(ALL_FILES, str(tmp_path))
    assert [run.name for run in loading.unfinished_runs(runs)] == [
        "diverged.json",
        "interrupted.json",
    ]


class TestEarlierVersions:
    def test_files_without_the_newer_keys_load(self, tmp_path, caplog):
        old = helpers.earlier_version_results(seed=1)
        write_results(tmp_path, "old", old)
        with caplog.at_level(logging.WARNING):
            (run,) = loading.load_runs(ALL_FILES, str(tmp_path))
        assert warnings_of(caplog) == []
        assert set(run.results) == set(helpers.EARLIER_VERSION_KEYS)
        assert "validation_loss" not in run.results
        assert loading.unfinished_runs([run]) == []

    def test_files_lacking_keys_a_plot_reads_are_named_in_one_warning(
        self, tmp_path, caplog
    ):
        for seed in (1, 2):
            write_results(
                tmp_path,
                f"old-{seed}",
                helpers.earlier_version_results(seed=seed),
            )
        write(tmp_path, "new", seed=3)
        no_l2 = helpers.plausible_results(seed=4)
        del no_l2["l2_norm"]
        write_results(tmp_path, "no-l2", no_l2)
        keys = quantities.keys_read("measures", ("margin", "l2_norm"))
        with caplog.at_level(logging.WARNING):
            runs = loading.load_runs(ALL_FILES, str(tmp_path), keys)
        assert [run.name for run in runs] == ["new.json"]
        (warning,) = warnings_of(caplog)
        assert warning.startswith(
            f"Skipping 3 results files in {tmp_path} without keys this plot "
            "reads"
        )
        assert "no-l2.json lacks ['l2_norm']" in warning
        # The keys in the order the plot reads them.
        assert "old-1.json, old-2.json lack ['margin', 'l2_norm']" in warning

    def test_the_default_keys_are_those_every_version_wrote(self):
        assert set(loading.DEFAULT_KEYS) <= set(helpers.EARLIER_VERSION_KEYS)

    def test_present_keys_are_still_checked(self, tmp_path, caplog):
        old = helpers.earlier_version_results(seed=1)
        old["test_loss"] = old["test_loss"][:-1]
        write_results(tmp_path, "old-uneven", old)
        with caplog.at_level(logging.WARNING):
            assert loading.load_runs(ALL_FILES, str(tmp_path)) == []
        (warning,) = warnings_of(caplog)
        assert "not a results file" in warning and "'test_loss'" in warning
