"""The README's Python code blocks run, in order, as one notebook would run them.

So the documentation cannot drift from the API: a renamed argument or a changed default breaks
this test. Blocks share one namespace (later blocks use names from earlier ones) and run in a
temporary directory (they write checkpoints and records). A block preceded by the line
``<!-- readme-test: skip -->`` is shown to readers but not run (none is, today).

Two blocks are run shorter than they read (:data:`SHORTER`): the 004 head runs (2 x 6 seeds x
4000 SGD steps) and the 500-step ResNet training on digits took 55 s and 92 s of this test's
270 s on a 2-core machine. The same calls with the same arguments run, only fewer steps, so the
API cannot drift; the numbers those runs give are asserted by their own tests
(``test_prediction_head_training.py``, ``test_empirical_train.py``), not here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

README = Path(__file__).resolve().parents[1] / "README.md"
#: (text in the README, what the test runs instead); each must occur in the README.
SHORTER = (("steps=4000, save_every=25", "steps=300, save_every=25"), ('dataset="digits", steps=500)', 'dataset="digits", steps=8)'))
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


def test_every_shortening_applies():
    code = "\n".join(block for _, block, _ in python_blocks())
    for long, _ in SHORTER:
        assert long in code, f"README no longer contains {long!r}: update SHORTER in {__file__}"


def shortened(code: str) -> str:
    for long, short in SHORTER:
        code = code.replace(long, short)
    return code


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
                exec(compile(shortened(code), f"README.md:{line}", "exec"), namespace)
            except Exception as err:  # pragma: no cover - the failure message is the point
                raise AssertionError(f"the README block at line {line} fails: {type(err).__name__}: {err}") from err
    finally:
        os.chdir(cwd)
