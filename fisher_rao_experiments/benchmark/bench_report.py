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
"""The benchmark's report: the machine, the Markdown table, the JSON file."""

import dataclasses
import datetime
import os
import platform
import shlex
import sys

import tensorflow as tf
from absl import logging

from fisher_rao_experiments import results_io


def machine_description():
    """Facts about this run: machine, versions, date, command, load."""
    cpu_model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "tensorflow": tf.__version__,
        "tf_enable_onednn_opts": os.environ.get(
            "TF_ENABLE_ONEDNN_OPTS", "unset"
        ),
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "command": shlex.join(["python3"] + sys.argv),
        "load_average_at_start": list(os.getloadavg()),
    }


def summary(machine, mode, repeats):
    """The lines printed above the table: machine, mode, rounds, command."""
    return (
        f"{machine['nproc']} CPUs ({machine['cpu_model']}), TensorFlow "
        f"{machine['tensorflow']} (TF_ENABLE_ONEDNN_OPTS="
        f"{machine['tf_enable_onednn_opts']}), {machine['date']}, "
        f"{mode} mode, "
        f"{repeats} rounds, {machine['seconds']} s\n"
        f"Command: {machine['command']}\n"
    )


def markdown_table(rows):
    """The rows (`bench_harness.Row`) as a Markdown table."""
    lines = [
        "| name | configuration | seconds | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        seconds = "-" if row.seconds is None else f"{row.seconds:.3g}"
        # Four significant digits, trailing zeros kept (a ratio of 1.9004
        # must not print as its target 1.9), but no bare trailing point.
        ratio = f"{row.ratio:#.4g}".rstrip(".")
        met = {True: "yes", False: "**no**", None: "-"}[row.met]
        lines.append(
            f"| {row.name} | {row.configuration} | {seconds} | "
            f"{ratio} | {row.target or '-'} | {met} |"
        )
    return "\n".join(lines)


def write_rows(path, machine, mode, rows):
    """Writes the run as strict JSON to the new file `path`, atomically.

    Args:
      path: A file name ending in '.json'. If it exists when the rows are
        written, they go to a new name beside it instead (with a warning).
      machine: `machine_description()`, completed.
      mode: 'full', 'quick' or 'smoke'.
      rows: The `bench_harness.Row`s.

    Returns:
      The path of the written file.
    """
    data = {
        "machine": machine,
        "mode": mode,
        "rows": [dataclasses.asdict(row) for row in rows],
    }
    directory, file_name = os.path.split(os.path.abspath(path))
    written = results_io.write_json_atomically(
        data, directory, file_name[: -len(".json")]
    )
    if written != os.path.abspath(path):
        logging.warning(
            "%s appeared during the run; the rows went to %s instead.",
            path,
            written,
        )
    return written
