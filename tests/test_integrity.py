"""The import guard: a micrograd package that is not entirely micrograd-c's
(the original micrograd installed over it, or removed after it) raises an
ImportError that says so and how to repair it, instead of failing later in
odd ways."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import micrograd
import micrograd_c
from micrograd import _integrity

FACADE = Path(micrograd.__file__).resolve().parent
CORE = Path(micrograd_c.__file__).resolve().parent


@pytest.fixture
def package(tmp_path):
    """A copy of the installed facade and core in a folder of their own;
    ``run`` starts interpreters that see only that folder (no site-packages:
    ``-S``), as an environment holding just this installation would."""
    ignore = shutil.ignore_patterns("__pycache__", "*.c", "*.html")
    shutil.copytree(FACADE, tmp_path / "micrograd", ignore=ignore)
    shutil.copytree(CORE, tmp_path / "micrograd_c", ignore=ignore)
    return tmp_path / "micrograd"


def run(package, code):
    env = dict(os.environ, PYTHONPATH=str(package.parent))
    return subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          env=env, cwd=package.parent, timeout=120)


def install_original_over(package, original_files):
    """What ``pip install micrograd==0.1.0`` does to the files it shares."""
    for name, data in original_files.items():
        if name.startswith("micrograd/"):
            (package.parent / name).write_bytes(data)


def test_the_installed_package_is_whole():
    assert _integrity.problems() == []


def test_a_copy_imports_and_is_the_copy(package):
    out = run(package, "import micrograd, micrograd.nn; print(micrograd.__file__)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(package / "__init__.py")


def test_the_original_installed_over_it(package, original_files):
    install_original_over(package, original_files)
    assert sorted(_integrity.problems(package)) == [
        "__init__.py is not micrograd-c's", "engine.py is not micrograd-c's",
        "nn.py is not micrograd-c's"]
    # `import micrograd` is then the original's own empty __init__ (nothing of
    # ours runs); every module of micrograd-c, and the command, refuse
    for code in ("import micrograd.optim", "import micrograd.capture",
                 "from micrograd.cli import main", "import micrograd_c"):
        out = run(package, code)
        assert out.returncode != 0, code
        assert "ImportError: the micrograd package in" in out.stderr, out.stderr
        assert "is not micrograd-c's" in out.stderr
        assert "pip uninstall -y micrograd micrograd-c" in out.stderr
        assert "pip install micrograd-c" in out.stderr


def test_the_original_removed_after_it(package, original_files):
    # pip uninstall micrograd deletes the files the two distributions share
    for name in original_files:
        if name.startswith("micrograd/") and name.endswith(".py"):
            (package.parent / name).unlink()
    for code in ("import micrograd.optim", "from micrograd.cli import main"):
        out = run(package, code)
        assert out.returncode != 0
        assert "__init__.py is missing; engine.py is missing; nn.py is missing" in out.stderr
        assert "pip install micrograd-c" in out.stderr


def test_one_module_replaced_is_named(package):
    (package / "engine.py").write_text("class Value:\n    pass\n")
    out = run(package, "import micrograd")
    assert out.returncode != 0
    assert "engine.py is not micrograd-c's" in out.stderr
    assert "__init__.py" not in out.stderr.split("broken:")[1].split(".")[0]


def test_the_facade_gone_entirely(package):
    # only the compiled core left: its import names what to do
    shutil.rmtree(package)
    out = run(package, "import micrograd_c")
    assert out.returncode != 0
    assert "the micrograd package that comes with micrograd_c is missing" in out.stderr
    assert "pip install micrograd-c" in out.stderr
