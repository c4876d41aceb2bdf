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
"""Charts and tables of results files: the modules behind plot_utils.py.

  quantities.py        what can be plotted: names, value ranges, plot kinds and
                       the results keys each kind reads
  loading.py           reading results files, old ones included
  grouping.py          runs into groups (curves, points) and lines
  run_statistics.py    mean and spread over a group's runs; final values
  smoothing.py         TensorBoard's smoothing of per-step traces
  tables.py            the table of final values per group
  drawing.py           drawing primitives, colours, axis scales, saving
  trajectory_plots.py  quantities against training steps
  final_value_plots.py final values against a swept hyper-parameter
  plot_command.py      the plot command's work, from plain arguments

Nothing here defines flags; plot_utils.py is the command line.
"""
