"""Fixtures for the side-by-side benchmarks: engines, reference results, machine info."""

import gc
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import peers  # noqa: E402
from gpt_workload import GPTRun  # noqa: E402
from moons_workload import MoonsRun, count_nodes, loss as moons_loss  # noqa: E402


@pytest.fixture
def engine(request):
    """The engine named by the test's ``engine`` parameter (indirect); skips if missing."""
    name = request.param
    if name.startswith("torch"):
        pytest.importorskip("torch")
    try:
        return harness.load_engine(name)
    except peers.PeerUnavailable as exc:
        pytest.skip(f"{harness.LABELS[name]} unavailable: {exc}")


@pytest.fixture(autouse=True)
def _collect_garbage():
    """Start every row with no garbage left by the row before (the original's cycles)."""
    gc.collect()
    yield


class Reference:
    """Results of the reference engine for one workload, to compare every engine with."""

    def __init__(self, source, **values):
        self.source = source
        self.__dict__.update(values)


def _first_available(*names):
    for name in names:
        try:
            return harness.load_engine(name)
        except peers.PeerUnavailable:
            continue
    return None


@pytest.fixture(scope="session")
def moons_reference():
    """The original micrograd's results on the demo (else the pure engine's)."""
    ref = _first_available("original", "pure")
    if ref is None:
        return None
    gc.disable()
    try:
        run = MoonsRun(ref.Value, ref.nn.MLP)
        total_loss, acc = moons_loss(run.model, run.X, run.y, ref.Value)
        nodes = count_nodes(total_loss)
        run.model.zero_grad()
        total_loss.backward()
        grads = run.grads()
        first_loss = total_loss.data
        del total_loss
        run = MoonsRun(ref.Value, ref.nn.MLP)
        for _ in range(3):
            run.step()
        return Reference(ref.name, first_loss=first_loss, accuracy=acc, nodes=nodes,
                         grads=grads, losses=list(run.losses))
    finally:
        gc.enable()
        gc.collect()


class DynamicMoons:
    """This package's dynamic moons run (``micrograd-c``): the reference of the
    compiled row, which must reproduce it bit for bit.

    ``losses(n)`` gives its first ``n`` step losses, running the missing
    steps (untimed).  The ``micrograd-c`` moons-step row hands its own run
    over with ``adopt``, so in a full session the compiled row is compared
    with that row's losses.  ``first_grads`` are the parameter grads of the
    loss on the fresh model.
    """

    def __init__(self, engine):
        self.engine = engine
        self.run = None
        self._first_grads = None

    def _new_run(self):
        return MoonsRun(self.engine.Value, self.engine.nn.MLP)

    def adopt(self, run):
        if self.run is None or len(run.losses) > len(self.run.losses):
            self.run = run

    def losses(self, n):
        if self.run is None:
            self.run = self._new_run()
        while len(self.run.losses) < n:
            self.run.step()
        return self.run.losses[:n]

    @property
    def first_grads(self):
        if self._first_grads is None:
            run = self._new_run()
            (total_loss,), _ = run.prepare_backward()
            run.backward(total_loss)
            self._first_grads = run.grads()
        return self._first_grads


@pytest.fixture(scope="session")
def moons_dynamic():
    """``DynamicMoons`` for this package's dynamic engine, or None without it."""
    engine = _first_available("micrograd-c")
    return DynamicMoons(engine) if engine is not None else None


@pytest.fixture(scope="session")
def gpt_reference():
    """The pure-Python engine's results on the GPT step (else this package's)."""
    ref = _first_available("pure", "micrograd-c")
    if ref is None:
        return None
    run = GPTRun(ref.Value)
    loss = run.loss(run.tokens)
    nodes = count_nodes(loss)
    loss.backward()
    first_loss, grads = loss.data, run.grads()
    del loss
    run.update()
    params_after_one = [p.data for p in run.model.parameters()]
    run = GPTRun(ref.Value)
    for _ in range(3):
        run.step()
    return Reference(ref.name, first_loss=first_loss, grads=grads, nodes=nodes,
                     params_after_one=params_after_one, losses=list(run.losses))


# ---- what lands in the JSON ---------------------------------------------------

def _lscpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor()
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def _version(module):
    try:
        mod = __import__(module)
    except ImportError:
        return None
    return getattr(mod, "__version__", "present")


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["lscpu_model"] = _lscpu_model()
    machine_info["cores"] = os.cpu_count()
    machine_info["torch"] = _version("torch")
    machine_info["micrograd_c"] = _version("micrograd_c")
    machine_info["budget_seconds_per_row"] = harness.BUDGET


def pytest_benchmark_update_json(config, benchmarks, output_json):
    output_json["skipped_rows"] = list(harness.SKIPS)


def pytest_terminal_summary(terminalreporter):
    rows = [r for r in getattr(harness, "MEMORY", [])]
    if rows:
        terminalreporter.section("memory per live node")
        for r in rows:
            terminalreporter.write_line(json.dumps(r))
    if harness.REPLAY:
        terminalreporter.section("replay overhead per node")
        for r in harness.REPLAY:
            terminalreporter.write_line(json.dumps(r))
    if harness.SKIPS:
        terminalreporter.section("rows skipped on purpose")
        for s in harness.SKIPS:
            terminalreporter.write_line(f"{s['group']} / {s['engine']}: {s['reason']}")
