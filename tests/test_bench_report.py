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
"""Tests of bench_report: the Markdown table, the summary, the JSON file."""

import json
import os

import tensorflow as tf

from fisher_rao_experiments.benchmark import bench_harness, bench_report


def _reject_constant(token):
    raise ValueError(f"non-standard JSON token {token}")


class ReportTest(tf.test.TestCase):
    def test_markdown_table_lines(self):
        rows = [
            bench_harness.make_row(
                "x/y", "what", 0.00123456, 1.9004, "<= 1.9"
            ),
            bench_harness.make_row("x/z", "error", None, 3e-7),
            bench_harness.make_row("x/w", "speedup", 0.5, 1579.07, ">= 10"),
        ]
        self.assertEqual(
            bench_report.markdown_table(rows).splitlines(),
            [
                "| name | configuration | seconds | ratio | target | met |",
                "| --- | --- | --- | --- | --- | --- |",
                # Four digits for ratios, kept: 1.9004 must not print as 1.9.
                "| x/y | what | 0.00123 | 1.900 | <= 1.9 | **no** |",
                "| x/z | error | - | 3.000e-07 | - | - |",
                "| x/w | speedup | 0.5 | 1579 | >= 10 | yes |",
            ],
        )

    def test_machine_description_and_summary(self):
        machine = bench_report.machine_description()
        for key in ("nproc", "cpu_model", "tensorflow", "date", "command"):
            self.assertIn(key, machine)
        machine["seconds"] = 12.5
        summary = bench_report.summary(machine, "quick", 3)
        self.assertIn("quick mode, 3 rounds, 12.5 s", summary)
        self.assertIn(f"Command: {machine['command']}", summary)

    def test_write_rows_writes_strict_json_and_never_overwrites(self):
        directory = self.create_tempdir().full_path
        path = os.path.join(directory, "rows.json")
        rows = [
            bench_harness.make_row("x/y", "what", 0.5, 2.0, "<= 1.9"),
            bench_harness.make_row("x/z", "error", None, float("nan")),
        ]
        machine = {"nproc": 2}
        self.assertEqual(
            bench_report.write_rows(path, machine, "smoke", rows), path
        )
        with open(path) as rows_file:
            data = json.load(rows_file, parse_constant=_reject_constant)
        self.assertEqual(data["machine"], machine)
        self.assertEqual(data["mode"], "smoke")
        self.assertEqual(
            data["rows"][0],
            {
                "name": "x/y",
                "configuration": "what",
                "seconds": 0.5,
                "ratio": 2.0,
                "target": "<= 1.9",
                "met": False,
            },
        )
        self.assertIsNone(data["rows"][1]["ratio"])
        # A file that appeared during the run is kept; the rows go beside.
        again = bench_report.write_rows(path, machine, "smoke", rows)
        self.assertNotEqual(again, path)
        self.assertEqual(os.path.dirname(again), directory)
        with open(path) as rows_file:
            self.assertEqual(json.load(rows_file), data)


if __name__ == "__main__":
    tf.test.main()
