"""The README's Python code blocks run, in order, as one notebook would run them.

So the documentation cannot drift from the API: a renamed argument or a changed default breaks
this test. Blocks share one namespace (later blocks use names from earlier ones) and run in a
temporary directory (they write checkpoints and records). A block preceded by the line
``<!-- readme-test: skip -->`` is shown to readers but not run (none is, today).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)\n```", re.S)


def python_blocks() -> list[tuple[int, str, bool]]:
    text = README.read_text()
    out = []
    for match in BLOCK.finditer(text):
        line = text[: match.start("code")].count("\n") + 1
        skip = "readme-test: skip" in match.group("before")
        out.append((line, match.group("code"), skip))
    return out


def test_readme_has_python_blocks():
    assert len(python_blocks()) >= 5


@pytest.mark.slow
def test_readme_python_blocks_run_in_order(tmp_path):
    namespace: dict = {"__name__": "__readme__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for line, code, skip in python_blocks():
            if skip:
                continue
            try:
                exec(compile(code, f"README.md:{line}", "exec"), namespace)
            except Exception as err:  # pragma: no cover - the failure message is the point
                raise AssertionError(f"the README block at line {line} fails: {type(err).__name__}: {err}") from err
    finally:
        os.chdir(cwd)
