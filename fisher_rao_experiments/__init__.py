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
"""The experiment, its analysis and its studies, on the fisher-rao libraries.

Installed with the `[experiments]` extra. The libraries (`direct_fisher_rao`,
`keras_fisher_rao`) know nothing of this package.

Importing the package sets two defaults of TensorFlow's environment (if not
already set), because every module here that imports TensorFlow (training,
model, measures, the data sources) is imported through this file first,
whoever imports it: the training script, the sweep's Dask workers, a study,
the benchmark. Both act only if TensorFlow is not imported yet.

  TF_ENABLE_ONEDNN_OPTS=0  oneDNN's kernels cost more than they save on
                           tensors this small (a training step takes about
                           twice as long with them); set it to 1 to compare.
  TF_CPP_MIN_LOG_LEVEL=2   no informational notices from TensorFlow's C++
                           start-up on stderr.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
