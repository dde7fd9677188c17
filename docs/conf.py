"""Sphinx configuration of the reference (docs/): built from the docstrings.

Sphinx imports the modules (autodoc), so the compiled core's classes, whose
docstrings and signatures live only in the extension modules, are read from
the objects themselves.  Build it with the package installed::

    python -m sphinx -W --keep-going -b html docs "$(mktemp -d)"

The pages: one per module listed in reference.rst (autosummary generates each
page, docs/api/<module>.rst, from _templates/autosummary/module.rst).
"""

import importlib
import inspect
import pathlib

import micrograd

project = "micrograd-c"
release = version = micrograd.__version__
copyright = "micrograd-c authors, MIT License"

extensions = ["sphinx.ext.autodoc", "sphinx.ext.autosummary"]
templates_path = ["_templates"]
exclude_patterns = ["_build"]
autosummary_generate = True
# The original micrograd's node attributes are part of the API too.
autodoc_default_options = {"members": True, "show-inheritance": True,
                           "private-members": "_prev, _op, _backward"}
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
# A type hint that names `Value` imported under `if TYPE_CHECKING:` only (in
# micrograd.viz) stays the bare name, which matches both micrograd.engine.Value
# and micrograd.pure.Value; Sphinx links the first (the engine's) and warns.
suppress_warnings = ["ref.python"]
# Docstrings write `name` for code, as Markdown does: render it as code.
default_role = "code"
html_theme = "alabaster"
html_theme_options = {"description": "A drop-in, C-accelerated micrograd", "fixed_sidebar": True}

# Objects of the compiled core are described on the facade page that exports
# them; every other object on the page of the module that defines it.
CORE_HOMES = {
    "micrograd_c.arena": "micrograd",
    "micrograd_c.value": "micrograd.engine",
    "micrograd_c.kernels": "micrograd.engine",
    "micrograd_c.optim": "micrograd.optim",
}
PAGES = pathlib.Path(__file__).parent / "api"


def _pages():
    return {p.stem for p in PAGES.glob("*.rst")}


def _home(obj, module):
    owner = getattr(obj, "__module__", None)
    if owner in _pages():
        return owner
    return CORE_HOMES.get(owner, module)


def _exported(mod):
    """The public names of a module: its __all__, the documented classes and
    functions it defines, and, for a package, those it imports from micrograd."""
    names = list(getattr(mod, "__all__", []))
    for name, obj in vars(mod).items():
        if name.startswith("_") or name in names:
            continue
        if not (inspect.isclass(obj) or inspect.isroutine(obj)) or not obj.__doc__:
            continue
        owner = getattr(obj, "__module__", "") or ""
        if owner == mod.__name__ or (hasattr(mod, "__path__") and owner.startswith("micrograd.")):
            names.append(name)
    return names


_current = {"module": None}


def _note_module(app, what, name, obj, options, lines):
    """Remember the module being documented; list what it exports from other
    pages, with a link to each, where autodoc would describe it again."""
    if what != "module":
        return
    _current["module"] = name
    elsewhere = []
    for member in _exported(obj):
        target = getattr(obj, member, None)
        if not (inspect.isclass(target) or inspect.isroutine(target)):
            continue
        home = _home(target, name)
        if home != name:
            role = "class" if inspect.isclass(target) else "func"
            elsewhere.append(f"- ``{name}.{member}``: :{role}:`{home}.{member}`")
    if elsewhere:
        lines += ["", "Names from other modules, described on their pages:", ""] + elsewhere + [""]


def _choose_members(app, what, name, obj, skip, options):
    """A module page describes the names _exported() gives, except those
    whose home is another page (autodoc is told to look at every name)."""
    module = _current["module"]
    if what != "module" or module is None:
        return None
    if name not in _exported(importlib.import_module(module)):
        return True
    if (inspect.isclass(obj) or inspect.isroutine(obj)) and _home(obj, module) != module:
        return True
    return None


def _drop_object(app, name, obj, options, bases):
    """No "Bases: object" line on every class."""
    bases[:] = [b for b in bases if b is not object]


def setup(app):
    app.connect("autodoc-process-bases", _drop_object)
    app.connect("autodoc-process-docstring", _note_module)
    app.connect("autodoc-skip-member", _choose_members)
