"""Load the peers this package is measured against, side by side in one process.

The original micrograd 0.1.0 has the import name ``micrograd``, the same as
this package, so it is never pip-installed here: that would overwrite our
package.  Instead its wheel is downloaded once into ``benchmarks/.peers/`` and
its two modules are executed from the zip into fresh modules named
``micrograd_original.engine`` and ``micrograd_original.nn``::

    >>> from peers import load_original
    >>> engine, nn = load_original()
    >>> engine.Value(2.0) * 3
    Value(data=6.0, grad=0)

Set ``MICROGRAD_ORIGINAL_WHEEL=/path/to/micrograd-0.1.0-py3-none-any.whl`` to
use a wheel you already have instead of downloading it.
"""

import hashlib
import importlib
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parent / ".peers"
ORIGINAL_VERSION = "0.1.0"
ORIGINAL_WHEEL = f"micrograd-{ORIGINAL_VERSION}-py3-none-any.whl"
# sha256 of the wheel PyPI serves for micrograd==0.1.0; a different file is refused.
ORIGINAL_WHEEL_SHA256 = "47d756d92043c7d7ef55372640dc1549780a8c22806b3a11cb3d4efc5937a4ae"
ORIGINAL_PACKAGE = "micrograd_original"

_ORIGINAL_IMPORT = "from micrograd.engine import Value"


class PeerUnavailable(RuntimeError):
    """A peer could not be loaded (no network, no wheel, not installed)."""


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def original_wheel(cache_dir=PEERS_DIR):
    """Return the path of the micrograd 0.1.0 wheel, downloading it if needed.

    The download is ``python -m pip download micrograd==0.1.0 --no-deps``
    into ``cache_dir``: it fetches the file and installs nothing.
    """
    override = os.environ.get("MICROGRAD_ORIGINAL_WHEEL")
    wheel = Path(override) if override else Path(cache_dir) / ORIGINAL_WHEEL
    if not wheel.exists():
        if override:
            raise PeerUnavailable(f"MICROGRAD_ORIGINAL_WHEEL={override} does not exist")
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", f"micrograd=={ORIGINAL_VERSION}",
               "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
               "-q", "-d", str(cache_dir)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not wheel.exists():
            raise PeerUnavailable(
                f"could not download micrograd=={ORIGINAL_VERSION}: "
                f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stderr.strip()}")
    digest = _sha256(wheel)
    if digest != ORIGINAL_WHEEL_SHA256:
        raise PeerUnavailable(f"{wheel} has sha256 {digest}, expected {ORIGINAL_WHEEL_SHA256}")
    return wheel


def _exec_module(name, source, filename):
    """Execute ``source`` as a new module registered as ``sys.modules[name]``."""
    module = types.ModuleType(name)
    module.__file__ = filename
    package, _, _ = name.rpartition(".")
    module.__package__ = package
    sys.modules[name] = module
    try:
        exec(compile(source, filename, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
    if package and package in sys.modules:
        setattr(sys.modules[package], name.rpartition(".")[2], module)
    return module


def _package(name, path):
    if name not in sys.modules:
        pkg = types.ModuleType(name)
        pkg.__path__ = []  # a namespace with no directory: nothing else imports from it
        pkg.__file__ = path
        sys.modules[name] = pkg
    return sys.modules[name]


def _read_original(member, wheel):
    with zipfile.ZipFile(wheel) as zf:
        return zf.read(f"micrograd/{member}").decode("utf-8")


def original_nn_source(engine_module, wheel=None):
    """The original ``nn.py`` with its engine import pointed at ``engine_module``."""
    wheel = wheel or original_wheel()
    src = _read_original("nn.py", wheel)
    if src.count(_ORIGINAL_IMPORT) != 1:
        raise PeerUnavailable(f"unexpected nn.py in {wheel}: engine import not found once")
    return src.replace(_ORIGINAL_IMPORT, f"from {engine_module} import Value")


def load_original():
    """Load micrograd 0.1.0 as ``(micrograd_original.engine, micrograd_original.nn)``.

    Idempotent: a second call returns the modules loaded by the first.
    Neither module touches ``sys.modules['micrograd']``.
    """
    eng_name, nn_name = f"{ORIGINAL_PACKAGE}.engine", f"{ORIGINAL_PACKAGE}.nn"
    if eng_name in sys.modules and nn_name in sys.modules:
        return sys.modules[eng_name], sys.modules[nn_name]
    wheel = original_wheel()
    _package(ORIGINAL_PACKAGE, str(wheel))
    engine = _exec_module(eng_name, _read_original("engine.py", wheel),
                          f"{wheel}/micrograd/engine.py")
    nn = _exec_module(nn_name, original_nn_source(eng_name, wheel), f"{wheel}/micrograd/nn.py")
    return engine, nn


def load_original_nn_on(engine_module):
    """The original ``nn.py`` (Neuron, Layer, MLP) built on another engine's ``Value``.

    Used to run the original's model code over engines that ship no ``nn``,
    e.g. ``load_original_nn_on("micrograd.pure")``.
    """
    importlib.import_module(engine_module)
    name = f"{ORIGINAL_PACKAGE}.nn_on_{engine_module.replace('.', '_')}"
    if name in sys.modules:
        return sys.modules[name]
    wheel = original_wheel()
    _package(ORIGINAL_PACKAGE, str(wheel))
    return _exec_module(name, original_nn_source(engine_module, wheel), f"{wheel}/micrograd/nn.py")


def load_torch():
    """Import torch for the batched float64 rows, pinned to one thread."""
    try:
        import torch
    except ImportError as exc:
        raise PeerUnavailable(f"torch is not importable: {exc}") from exc
    torch.set_num_threads(1)
    return torch
