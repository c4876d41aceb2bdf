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
"""The README's Python examples run as a user runs them.

Every ```python block of README.md runs, in order, in one fresh process
started from another directory, without the tests' TF_USE_LEGACY_KERAS (a
user's `import keras` is Keras 3), so an example that drifts from the API
fails here.
"""

import os
import re
import subprocess
import sys

import tensorflow as tf

README = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md"
)


def python_blocks(markdown):
    """The bodies of the ```python blocks of `markdown`, in order."""
    return re.findall(r"^```python\n(.*?)^```", markdown, re.M | re.S)


class ReadmeExamplesTest(tf.test.TestCase):
    def test_finds_the_blocks(self):
        markdown = (
            "a\n```python\nx = 1\n```\n```bash\nls\n```\n```python\ny\n```\n"
        )
        self.assertEqual(python_blocks(markdown), ["x = 1\n", "y\n"])

    def test_every_python_example_runs(self):
        with open(README) as readme:
            blocks = python_blocks(readme.read())
        self.assertGreaterEqual(len(blocks), 2)
        environment = {
            key: value
            for key, value in os.environ.items()
            if key != "TF_USE_LEGACY_KERAS"
        }
        completed = subprocess.run(
            [sys.executable, "-c", "\n".join(blocks)],
            cwd=self.create_tempdir().full_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.assertEqual(completed.returncode, 0, completed.stderr[-3000:])


if __name__ == "__main__":
    tf.test.main()
