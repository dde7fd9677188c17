"""The README's Python examples run, and print what the README says they print."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{k}" for k in range(len(BLOCKS))])
def test_readme_example_runs_and_prints_the_commented_values(code, tmp_path):
    if re.search(r"^\s*(import torch|from torch\b|from micrograd\.torch\b)", code, re.M):
        pytest.importorskip("torch", reason="the example uses PyTorch (an optional dependency)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    promised = re.findall(r"print\(.*\)\s+# (\S+)", code)
    assert run.stdout.split() == promised
