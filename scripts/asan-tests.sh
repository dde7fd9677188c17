#!/usr/bin/env bash
# Run the test suite against the core built with AddressSanitizer, in the
# moving-arena stress mode (MICROGRAD_C_MOVING=0 turns that off).
#
#   scripts/asan-tests.sh [pytest arguments...]
#
# Needs only python3 (with venv and pip) and gcc (with libasan). Builds the
# core with MICROGRAD_C_ASAN=1 (see setup.py) into its own virtual
# environment (.venv-asan, or $MICROGRAD_ASAN_VENV), from a scratch copy of
# the sources so that no object file of an ordinary build is reused, checks
# that the installed extension modules are instrumented, then runs pytest
# with the sanitizer runtime preloaded (the Python interpreter itself is not
# instrumented). Python's own allocator is switched off (PYTHONMALLOC=malloc)
# so that the sanitizer also sees every Python object the core touches.
# Leak detection is off: the interpreter does not free everything at exit.
# Any sanitizer report aborts the run with a non-zero status.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PYTHON=${PYTHON:-python3}
VENV=${MICROGRAD_ASAN_VENV:-$ROOT/.venv-asan}

LIBASAN=$(gcc -print-file-name=libasan.so)
if [ ! -e "$LIBASAN" ]; then
    echo "asan-tests: gcc's libasan.so not found (install gcc with libasan)" >&2
    exit 2
fi

"$PYTHON" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install --quiet --upgrade pip
# The build tools, the dependencies and the `test` extra of pyproject.toml
# (the package itself is installed without them), but PyTorch (a
# large download, used only as an oracle: its tests skip without it) unless
# MICROGRAD_ASAN_TORCH=1.
python - "$ROOT/pyproject.toml" > "$VENV/asan-requirements.txt" <<'PY'
import os, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
try:
    import tomllib
    config = tomllib.loads(text)
    build = config["build-system"]["requires"]
    reqs = (config["project"]["dependencies"]
            + config["project"]["optional-dependencies"]["test"])
except ImportError:                       # Python < 3.11: the lists, read plainly
    def listed(key):
        block = re.search(rf"^{key}\s*=\s*\[(.*?)\]", text, re.S | re.M).group(1)
        return re.findall(r'"([^"]+)"', block)
    build, reqs = listed("requires"), listed("dependencies") + listed("test")
keep_torch = os.environ.get("MICROGRAD_ASAN_TORCH") == "1"
for req in build + ["wheel"] + reqs:
    if keep_torch or not re.match(r"torch\b", req):
        print(req)
PY
python -m pip install --quiet -r "$VENV/asan-requirements.txt"

# Build from a scratch copy: no build/ directory, generated C file or
# compiled module of another build can leak into this one.
BUILD=$(mktemp -d "${TMPDIR:-/tmp}/micrograd-asan-build.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
python - "$ROOT" "$BUILD/src" <<'EOF'
import shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2], ignore=shutil.ignore_patterns(
    ".git", ".venv*", "venv", "build", "dist", "*.egg-info", "__pycache__",
    "*.so", "*.pyd", "*.c", "*.html", ".pytest_cache", ".hypothesis",
    ".benchmarks", ".peers"))
EOF
# The moving-arena stress mode is on too (MICROGRAD_C_MOVING=1, see setup.py):
# a pointer into the arena kept across a call that can allocate nodes is then
# a use after free, which the sanitizer reports.
MICROGRAD_C_ASAN=1 MICROGRAD_C_MOVING=${MICROGRAD_C_MOVING:-1} python -m pip install \
    --quiet --no-build-isolation --no-deps --force-reinstall "$BUILD/src"

# Every extension module must carry the sanitizer's instrumentation.
python - <<'EOF'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("micrograd_c")      # locates it, runs nothing
mods = sorted(pathlib.Path(list(spec.submodule_search_locations)[0]).glob("*.so"))
bare = [m.name for m in mods if b"__asan_init" not in m.read_bytes()]
if not mods or bare:
    sys.exit(f"asan-tests: not built with AddressSanitizer: {bare or 'no modules'}")
print(f"asan-tests: {len(mods)} instrumented modules in {mods[0].parent}")
EOF

# Run from the repository: `micrograd` (pure Python) comes from here and
# `micrograd_c` (compiled) from the virtual environment.
# libstdc++ is preloaded too when present: the sanitizer can only intercept
# C++ exceptions (of C++ extensions such as matplotlib's) if it is loaded
# before them.
LIBSTDCXX=$(python -c "import ctypes.util; print(ctypes.util.find_library('stdc++') or '')")
export LD_PRELOAD="$LIBASAN${LIBSTDCXX:+:$LIBSTDCXX}${LD_PRELOAD:+:$LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:strict_init_order=1:check_initialization_order=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export PYTHONMALLOC=malloc
export MICROGRAD_C_ASAN=1          # tests that measure resident memory skip that part
python -m pytest -q -p no:cacheprovider "${@:-tests}"
