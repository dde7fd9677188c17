"""The package's types, as a user's type checker sees them.

- tests/typing/user_script.py, a training script written against micrograd
  with ``typing.assert_type`` checks, passes ``mypy --strict`` (so no public
  name degrades to Any) and runs;
- tests/typing/bad_lr.py, which sets an optimizer's ``lr`` to a string, is
  rejected by mypy;
- the stubs of the compiled core agree with the built modules (mypy's
  stubtest);
- ``inspect.signature`` works on the core's classes and op methods.

mypy sees the packages of this source tree (through PYTHONPATH, where it
treats them as installed packages: their py.typed markers count).
"""

import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

import micrograd_c
from micrograd.engine import Index, Value

ROOT = Path(__file__).resolve().parent.parent
TYPING = ROOT / "tests" / "typing"
CORE = ROOT / "src" / "micrograd_c"

needs_mypy = pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("mypy") is None,
    reason="mypy is not installed (pip install mypy, or the 'typing' extra)")
needs_311 = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="the scripts use typing.assert_type (Python 3.11)")


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "src")])
    env.pop("MYPYPATH", None)
    return env


def _mypy(script, tmp_path):
    """(exit status, error lines) of ``mypy --strict script``."""
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
         "--cache-dir", str(tmp_path / "mypy-cache"), str(script)],
        cwd=tmp_path, env=_env(), capture_output=True, text=True)
    errors = [line for line in proc.stdout.splitlines() if ": error:" in line]
    return proc.returncode, errors, proc.stdout + proc.stderr


@needs_mypy
@needs_311
def test_user_script_passes_mypy_strict(tmp_path):
    status, errors, output = _mypy(TYPING / "user_script.py", tmp_path)
    assert status == 0 and not errors, output


@needs_311
def test_user_script_runs(tmp_path):
    # with the packages these tests import (installed, or in place), not the
    # source tree's, whose core may not be built
    proc = subprocess.run([sys.executable, str(TYPING / "user_script.py")],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@needs_mypy
def test_mypy_rejects_a_string_learning_rate(tmp_path):
    status, errors, output = _mypy(TYPING / "bad_lr.py", tmp_path)
    assert status == 1, output
    assert len(errors) == 1, output
    assert "bad_lr.py:8: error:" in errors[0], output
    assert '"str"' in errors[0] and "[assignment]" in errors[0], output


@needs_mypy
def test_core_stubs_match_the_compiled_modules(tmp_path):
    modules = sorted(f"micrograd_c.{p.stem}" for p in CORE.glob("*.pyi"))
    assert "micrograd_c.value" in modules
    # The stubs of this tree, against the compiled modules these tests import.
    env = _env()
    env["MYPYPATH"] = str(ROOT / "src")
    env["PYTHONPATH"] = str(Path(micrograd_c.__file__).resolve().parent.parent)
    proc = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--mypy-config-file", os.devnull,
         "--allowlist", str(TYPING / "stubtest-allowlist.txt"), *modules],
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_packages_are_marked_typed():
    assert (ROOT / "micrograd" / "py.typed").is_file()
    assert (CORE / "py.typed").is_file()


def test_value_and_its_methods_have_signatures():
    assert str(inspect.signature(Value)) == "(data, _children=(), _op='', label='')"
    assert str(inspect.signature(Index)) == "(value, leaf=None)"
    for name in ("relu", "tanh", "exp", "log", "sigmoid", "sin", "cos", "detach"):
        assert str(inspect.signature(getattr(Value, name))) == "(self, /)", name
    assert str(inspect.signature(Value.max)) == "(self, other)"
    # The docstrings read as before, the signature line taken off.
    assert Value.__doc__.startswith("A scalar and its gradient")
    assert Value.tanh.__doc__.startswith("x.tanh(): a new Value")
