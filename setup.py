"""Build the Cython core (src/micrograd_c) with setuptools.

Environment switches:
  MICROGRAD_C_ASAN=1   build with AddressSanitizer (see scripts/asan-tests.sh)
  MICROGRAD_C_DEBUG=1  build without optimisation, with debug symbols
  MICROGRAD_C_MOVING=1 the moving-arena stress mode: allocations move the node
                       arena to fresh memory (see src/micrograd_c/arena.pxd)
"""

import os
import sys

from setuptools import Extension, setup
from Cython.Build import cythonize

MODULES = ["arena", "graph", "value", "kernels", "tape", "optim"]

# Bit-for-bit agreement with Python's float math: never contract a*b+c into a
# fused multiply-add, never relax IEEE semantics, and always call libm's pow
# (gcc otherwise folds pow(x, -1.0) into 1.0/x, which rounds differently).
compile_args = ["-O2", "-ffp-contract=off", "-fno-fast-math", "-fno-builtin-pow", "-finline-limit=1000"]
link_args = []
if os.environ.get("MICROGRAD_C_DEBUG") == "1":
    compile_args = ["-O0", "-g", "-ffp-contract=off", "-fno-builtin-pow"]
if os.environ.get("MICROGRAD_C_ASAN") == "1":
    compile_args += ["-fsanitize=address", "-fno-omit-frame-pointer", "-g"]
    link_args += ["-fsanitize=address"]
if sys.platform == "win32":
    compile_args, link_args = ["/O2", "/fp:precise"], []

macros = [("MG_MOVING_ARENA", "1")] if os.environ.get("MICROGRAD_C_MOVING") == "1" else []

extensions = [
    Extension(
        f"micrograd_c.{name}",
        [f"src/micrograd_c/{name}.pyx"],
        include_dirs=["src"],          # micrograd_c/ops.h, the op table
        define_macros=macros,
        depends=["src/micrograd_c/ops.h", "src/micrograd_c/node.h", "src/micrograd_c/arena.h"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
    )
    for name in MODULES
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=["src"],
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "initializedcheck": False,
            "cdivision": True,
            "embedsignature": True,
        },
    ),
)
