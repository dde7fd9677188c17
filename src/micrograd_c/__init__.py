"""micrograd_c: the compiled core of micrograd-c.

The node arena, the `Value` handle, the op table and backward, in Cython.
Users normally import the `micrograd` facade instead::

    from micrograd.engine import Value
"""

def _check_facade():
    """micrograd._integrity.check(), loaded from its file: importing the
    micrograd package here would import this core again, half made."""
    import importlib.util
    import os
    import sys

    integrity = sys.modules.get("micrograd._integrity")
    if integrity is None:
        spec = importlib.util.find_spec("micrograd")
        dirs = list(spec.submodule_search_locations or []) if spec is not None else []
        paths = [os.path.join(d, "_integrity.py") for d in dirs]
        paths = [p for p in paths if os.path.isfile(p)]
        if not paths:
            raise ImportError(
                "micrograd-c is broken: the micrograd package that comes with micrograd_c "
                "is missing (removed by another distribution that uses the import name "
                "'micrograd', such as the original micrograd). Reinstall micrograd-c "
                "alone:\n    pip uninstall -y micrograd micrograd-c\n"
                "    pip install micrograd-c")
        spec = importlib.util.spec_from_file_location("micrograd._integrity", paths[0])
        integrity = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(integrity)
        sys.modules["micrograd._integrity"] = integrity
    integrity.check()


# Every module of micrograd-c imports this core, so this runs even when the
# original micrograd's __init__.py has replaced the facade's.
_check_facade()

from micrograd_c.arena import arena_stats, arena_trim  # noqa: E402
from micrograd_c.value import Value  # noqa: E402
from micrograd_c.kernels import dense, dot  # noqa: E402

__all__ = ["Value", "arena_stats", "arena_trim", "dense", "dot"]
