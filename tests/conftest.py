"""Shared fixtures: the engines under test, arena bookkeeping, the original micrograd.

Hypothesis profiles: ``ci`` (the default) is derandomized with a moderate
number of examples so the suite is reproducible and fast; ``dev`` explores
more.  Pick one with ``HYPOTHESIS_PROFILE=dev``.
"""

import contextlib
import gc
import hashlib
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Helper modules of this folder (exprgraph) are importable whatever the
# pytest import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def examples(n):
    """``n`` examples under the ci profile, proportionally more under dev."""
    return max(1, n * settings().max_examples // 100)


def run_python(code, timeout=300, **kwargs):
    """Run code in a fresh interpreter, as a user would; its stdout (the
    run must succeed)."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=timeout, **kwargs)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


# --- engines ----------------------------------------------------------------


def compiled_value():
    from micrograd.engine import Value

    return Value


def pure_value():
    from micrograd.pure import Value

    return Value


def live_nodes():
    """Nodes alive in the compiled core's arena."""
    import micrograd_c

    return micrograd_c.arena_stats()["live"]


@pytest.fixture(params=["compiled", "pure"])
def V(request):
    """The Value class of each engine: every case runs on both."""
    return compiled_value() if request.param == "compiled" else pure_value()


@pytest.fixture
def no_new_nodes(V):
    """Context manager: the block leaves the compiled arena's live count unchanged.

    A no-op for the pure engine, whose nodes are plain Python objects.
    """

    @contextlib.contextmanager
    def check():
        if V is not compiled_value():
            yield
            return
        # Garbage of earlier tests (e.g. Values held by old tracebacks in
        # reference cycles) must not be collected in the middle of the check.
        gc.collect()
        gc.disable()
        try:
            before = live_nodes()
            yield
            assert live_nodes() == before
        finally:
            gc.enable()

    return check


# --- the original micrograd 0.1.0 --------------------------------------------

ORIGINAL_WHEEL = "micrograd-0.1.0-py3-none-any.whl"
ORIGINAL_WHEEL_SHA256 = "47d756d92043c7d7ef55372640dc1549780a8c22806b3a11cb3d4efc5937a4ae"
ORIGINAL_PACKAGE = "micrograd_orig_010"  # import name that cannot shadow ours


def _download_original(directory):
    wheel = os.environ.get("MICROGRAD_ORIGINAL_WHEEL")
    if wheel:
        return Path(wheel)
    cmd = [sys.executable, "-m", "pip", "download", "micrograd==0.1.0", "--no-deps",
           "--only-binary=:all:", "--disable-pip-version-check", "-q", "-d", str(directory)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"pip exited {proc.returncode}")
    return Path(directory) / ORIGINAL_WHEEL


def _exec_module(name, source):
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


@pytest.fixture(scope="session")
def original_files(tmp_path_factory):
    """The files of the original micrograd 0.1.0's wheel: {path: bytes}.

    The wheel is fetched with ``pip download`` (never installed: its import
    name is ours) or taken from ``$MICROGRAD_ORIGINAL_WHEEL``.  Skips when it
    cannot be had.
    """
    try:
        wheel = _download_original(tmp_path_factory.mktemp("original"))
        data = wheel.read_bytes()
    except Exception as exc:  # no network, no pip: nothing to compare against
        pytest.skip(f"micrograd 0.1.0 wheel unavailable: {exc}")
    assert hashlib.sha256(data).hexdigest() == ORIGINAL_WHEEL_SHA256, "unexpected wheel"
    with zipfile.ZipFile(wheel) as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.fixture(scope="session")
def original(original_files):
    """The original micrograd 0.1.0 as a namespace with ``engine`` and ``nn``,
    its modules executed from the wheel under another package name."""
    engine_src = original_files["micrograd/engine.py"].decode()
    nn_src = original_files["micrograd/nn.py"].decode()
    assert "from micrograd.engine import Value" in nn_src
    nn_src = nn_src.replace("from micrograd.engine import Value",
                            f"from {ORIGINAL_PACKAGE}.engine import Value")
    package = types.ModuleType(ORIGINAL_PACKAGE)
    package.__path__ = []
    sys.modules[ORIGINAL_PACKAGE] = package
    package.engine = _exec_module(f"{ORIGINAL_PACKAGE}.engine", engine_src)
    package.engine_source = engine_src
    package.nn = _exec_module(f"{ORIGINAL_PACKAGE}.nn", nn_src)
    yield package
    for name in (f"{ORIGINAL_PACKAGE}.nn", f"{ORIGINAL_PACKAGE}.engine", ORIGINAL_PACKAGE):
        sys.modules.pop(name, None)
