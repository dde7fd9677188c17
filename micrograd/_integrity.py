"""Is this the micrograd that micrograd-c installed?

micrograd-c's import name is the original micrograd's, so ``pip install
micrograd`` (the original) writes its ``__init__.py``, ``engine.py`` and
``nn.py`` over this package's, and uninstalling it afterwards removes them.
Python then imports a mix of the two distributions, which fails far from
the cause (an ``AttributeError`` deep in ``micrograd.nn``) or not at all.
``check()`` looks at the files instead and raises an ImportError that says
what happened and how to repair it. It reads a few small files, once per
process. ``micrograd/__init__.py`` and the compiled core's ``__init__``
(which every module of micrograd-c imports) run it, and so does the
``micrograd`` command. When all three shared files are the original's,
``import micrograd`` alone is the original's and runs none of this; the
first micrograd-c module imported then raises.
"""

from pathlib import Path

# Modules of this distribution. The first three are the ones the original
# micrograd also ships; every one of those of this distribution imports the
# compiled core, which the original's never mention.
_SHARED = ("__init__.py", "engine.py", "nn.py")
_OURS = ("capture.py", "cli.py", "data.py", "demo.py", "gpt.py", "pure.py",
         "serialize.py", "torch.py", "viz.py", "_integrity.py",
         "optim/__init__.py", "optim/lr_scheduler.py")
_MARK = "micrograd_c"

FIX = ("pip uninstall -y micrograd micrograd-c\n"
       "    pip install micrograd-c")

_checked = False


def problems(directory=None):
    """What is wrong with the package in ``directory`` (this one by
    default), as a list of sentences; empty if nothing is."""
    directory = Path(directory) if directory is not None else Path(__file__).resolve().parent
    found = []
    for name in _SHARED + _OURS:
        path = directory / name
        if not path.is_file():
            found.append(f"{name} is missing")
        elif name in _SHARED:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError as exc:
                found.append(f"{name} cannot be read ({exc.strerror})")
                continue
            if _MARK not in text:
                found.append(f"{name} is not micrograd-c's")
    return found


def check():
    """Raise ImportError if the installed micrograd package is not entirely
    micrograd-c's (another distribution wrote over it, or part of it was
    removed)."""
    global _checked
    if _checked:
        return
    found = problems()
    if found:
        directory = Path(__file__).resolve().parent
        raise ImportError(
            f"the micrograd package in {directory} is broken: "
            f"{'; '.join(found)}. Another distribution that uses the import name "
            f"'micrograd' (such as the original micrograd from PyPI) was probably "
            f"installed over micrograd-c, or removed after it, which deletes the files "
            f"they share. Reinstall micrograd-c alone:\n    {FIX}")
    _checked = True
