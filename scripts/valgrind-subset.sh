#!/usr/bin/env bash
# Run a subset of the tests under valgrind's memcheck and fail on any error
# whose stack passes through the compiled core.
#
#   scripts/valgrind-subset.sh [test files or pytest arguments...]
#
# Needs python3 (with venv and pip), gcc and valgrind. Builds the core without
# optimisation and with debug symbols (MICROGRAD_C_DEBUG=1) into its own
# virtual environment (.venv-valgrind, or $MICROGRAD_VALGRIND_VENV) from a
# scratch copy of the sources, then runs pytest under memcheck with Python's
# own allocator off (PYTHONMALLOC=malloc) so that memcheck sees every block.
#
# The interpreter reports some errors of its own under memcheck (and leaves
# objects allocated at exit); those are counted and shown, but only errors
# with a frame in micrograd_c fail the run: invalid reads and writes, uses of
# uninitialised memory, bad frees, and blocks definitely lost that the core
# allocated. The XML report is kept in $MICROGRAD_VALGRIND_LOG
# (default: valgrind-subset.xml in the virtual environment's directory).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PYTHON=${PYTHON:-python3}
VENV=${MICROGRAD_VALGRIND_VENV:-$ROOT/.venv-valgrind}
LOG=${MICROGRAD_VALGRIND_LOG:-$VENV/valgrind-subset.xml}

command -v valgrind >/dev/null || { echo "valgrind-subset: valgrind not found" >&2; exit 2; }

"$PYTHON" -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "cython>=3.0" "setuptools>=77" wheel "pytest>=7" "hypothesis>=6" "numpy>=1.22"

BUILD=$(mktemp -d "${TMPDIR:-/tmp}/micrograd-valgrind-build.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
python - "$ROOT" "$BUILD/src" <<'PY'
import shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2], ignore=shutil.ignore_patterns(
    ".git", ".venv*", "venv", "build", "dist", "*.egg-info", "__pycache__",
    "*.so", "*.pyd", "*.c", "*.html", ".pytest_cache", ".hypothesis",
    ".benchmarks", ".peers"))
PY
MICROGRAD_C_DEBUG=1 python -m pip install --quiet --no-build-isolation --no-deps \
    --force-reinstall "$BUILD/src"

# The subset: the tests that drive every entry point of the core, its handles
# and its memory, and are quick enough for memcheck's ~30x slowdown.
if [ $# -eq 0 ]; then
    set -- tests/test_engine_cases.py tests/test_handles.py tests/test_bad_input.py \
        tests/test_graph_walk.py tests/test_backward_paths.py tests/test_compile.py \
        tests/test_optim.py tests/test_serialize.py tests/test_threads.py
fi

# The virtual environment's interpreter: a link to the binary itself, not a
# wrapper script (valgrind does not follow into child processes). Not the
# link's target: started from there, Python would not see the environment
# and would test whatever core the base interpreter has installed.
INTERPRETER="$VENV/bin/python"
if [ ! -x "$INTERPRETER" ] || head -c 2 "$INTERPRETER" | grep -q '#!'; then
    echo "valgrind-subset: $INTERPRETER is not an interpreter binary" >&2
    exit 2
fi
status=0
PYTHONMALLOC=malloc valgrind --tool=memcheck --xml=yes --xml-file="$LOG" \
    --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite \
    --num-callers=40 --track-origins=no --child-silent-after-fork=yes \
    "$INTERPRETER" -m pytest -q -p no:cacheprovider -p no:faulthandler "$@" || status=$?

core_status=0
python - "$LOG" <<'PY' || core_status=$?
import sys
import xml.etree.ElementTree as ET

errors = ET.parse(sys.argv[1]).getroot().findall("error")

def frames(error):
    stack = error.find("stack")
    return [] if stack is None else stack.findall("frame")

def in_core(error):
    return any("micrograd_c" in (f.findtext("obj") or "") for f in frames(error))

core = [e for e in errors if in_core(e)]
print(f"valgrind-subset: {len(errors)} memcheck reports in all, "
      f"{len(core)} with a frame in micrograd_c (report: {sys.argv[1]})")
for e in core[:20]:
    what = e.findtext("kind")
    text = e.findtext("what") or e.findtext("xwhat/text") or ""
    print(f"\n{what}: {text}")
    for f in frames(e)[:12]:
        print(f"    {f.findtext('fn')} ({f.findtext('file') or f.findtext('obj')}:"
              f"{f.findtext('line') or '?'})")
sys.exit(1 if core else 0)
PY
if [ "$status" -ne 0 ]; then
    echo "valgrind-subset: the tests failed under valgrind (pytest status $status)" >&2
    exit "$status"
fi
exit "$core_status"
