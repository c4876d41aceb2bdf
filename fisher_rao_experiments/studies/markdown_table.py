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
"""Markdown tables and the number formats of the studies' tables."""

NOT_AVAILABLE = "n/a"


def format_table(header, rows):
    """A GitHub-flavoured Markdown table.

    Args:
      header: Column titles.
      rows: Lists of cells (strings), as many as `header`.

    Returns:
      The table's text, one line per row, ending with a newline.

    Raises:
      ValueError: If a row has another number of cells than `header`.
    """
    for row in rows:
        if len(row) != len(header):
            raise ValueError(
                f"row {row} has {len(row)} cells for {len(header)} columns."
            )
    lines = [header, ["---"] * len(header)] + [list(row) for row in rows]
    return "".join(
        "| " + " | ".join(_escape(cell) for cell in line) + " |\n"
        for line in lines
    )


def _escape(cell):
    return str(cell).replace("|", "\\|").replace("\n", " ")


def format_number(value, digits=3, signed=False):
    """`value` with `digits` decimals (+ sign if `signed`); None -> n/a."""
    if value is None:
        return NOT_AVAILABLE
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def format_interval(low, high, digits=3, signed=False):
    """ "[low, high]" with `digits` decimals; n/a if a bound is None."""
    if low is None or high is None:
        return NOT_AVAILABLE
    return (
        f"[{format_number(low, digits, signed)}, "
        f"{format_number(high, digits, signed)}]"
    )


def format_p_value(value):
    """A p-value: 3 significant digits, "< 0.001" below; None -> n/a."""
    if value is None:
        return NOT_AVAILABLE
    return "< 0.001" if value < 0.001 else f"{value:.3f}"
