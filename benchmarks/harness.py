"""The engines under comparison and the way every row is timed.

An ``Engine`` is one column of the comparison: the original micrograd (with
the default garbage collector, and with ``gc.disable()`` during the timed
call), this package's compiled engine (through its own ``micrograd.nn``,
whose layers are fused C kernels; through the original's ``nn.py``, one
C call per op; recorded once with ``micrograd.compile`` and replayed, with
``micrograd.optim.SGD`` or ``Adam``; and updated by ``micrograd.optim.Adam``),
the pure-Python engine, the popular GPT script's own ``__slots__`` Value
(``script``), and PyTorch in float64 and float32.
``measure`` times a callable with ``benchmark.pedantic``, picking the number
of rounds from one untimed call so that slow peers get a few rounds and fast
ones many, within a time budget per row.
"""

import functools
import gc
import importlib
import math
import os
import time

import peers

# Seconds of timed work per row; raise for steadier numbers, lower for a quick look.
BUDGET = float(os.environ.get("MICROGRAD_BENCH_BUDGET", "1.0"))
# Also run the rows that take tens of seconds (pure and PyTorch chains 10^6 deep).
FULL = os.environ.get("MICROGRAD_BENCH_FULL", "") not in ("", "0")

LABELS = {
    "original": "micrograd 0.1.0",
    "original-nogc": "micrograd 0.1.0, gc off",
    "micrograd-c": "micrograd-c",
    "micrograd-c-ops": "micrograd-c, per-op nn",
    "micrograd-c-compiled": "micrograd-c, compiled",
    "micrograd-c-cadam": "micrograd-c, C Adam",
    "pure": "micrograd.pure",
    "script": "the script's own Value",
    "torch": "PyTorch f64, 1 thread",
    "torch-f32": "PyTorch f32, 1 thread",
}
ORDER = list(LABELS)

# Rows that were skipped on purpose, with why; conftest copies them into the JSON.
SKIPS = []
# Memory-per-node results, printed at the end of the session.
MEMORY = []
# Replay overhead per node, printed at the end of the session.
REPLAY = []


class Engine:
    """One engine: its ``Value`` and ``nn`` (scalar engines) or ``torch``.

    This package's variants also carry what they use beyond the original's
    API: ``compile`` (``micrograd.compile``) and ``optim``
    (``micrograd.optim``). PyTorch engines carry their ``dtype``.
    """

    def __init__(self, name, Value=None, nn=None, torch=None, gc_off=False,
                 compile=None, optim=None, dtype=None):
        self.name = name
        self.label = LABELS[name]
        self.Value = Value
        self.nn = nn
        self.torch = torch
        self.gc_off = gc_off
        self.compile = compile
        self.optim = optim
        self.dtype = dtype

    @property
    def is_torch(self):
        return self.torch is not None

    def __repr__(self):
        return f"Engine({self.name!r})"


@functools.lru_cache(maxsize=None)
def load_engine(name):
    """Build the ``Engine`` called ``name``; raises ``peers.PeerUnavailable``."""
    if name in ("original", "original-nogc"):
        engine, nn = peers.load_original()
        return Engine(name, engine.Value, nn, gc_off=(name == "original-nogc"))
    if name == "micrograd-c":
        try:
            importlib.import_module("micrograd_c")
            engine = importlib.import_module("micrograd.engine")
            nn = importlib.import_module("micrograd.nn")
        except ImportError as exc:
            raise peers.PeerUnavailable(f"compiled core not importable: {exc}") from exc
        return Engine(name, engine.Value, nn)
    if name == "micrograd-c-compiled":
        # the graph recorded once by micrograd.compile and replayed in C; SGD in C
        core = load_engine("micrograd-c")
        micrograd = importlib.import_module("micrograd")
        return Engine(name, core.Value, core.nn, compile=micrograd.compile,
                      optim=importlib.import_module("micrograd.optim"))
    if name == "micrograd-c-cadam":
        # the dynamic engine, updated by micrograd.optim.Adam (its loop in C)
        core = load_engine("micrograd-c")
        return Engine(name, core.Value, core.nn,
                      optim=importlib.import_module("micrograd.optim"))
    if name == "micrograd-c-ops":
        # this engine under the original's nn.py: one C call per op, no fused kernels
        core = load_engine("micrograd-c")
        return Engine(name, core.Value, peers.load_original_nn_on("micrograd.engine"))
    if name == "pure":
        try:
            pure = importlib.import_module("micrograd.pure")
        except ImportError as exc:
            raise peers.PeerUnavailable(f"micrograd.pure not importable: {exc}") from exc
        # the pure engine ships no nn: run the original's nn.py over its Value
        return Engine(name, pure.Value, peers.load_original_nn_on("micrograd.pure"))
    if name == "script":
        from script_workload import ScriptValue
        return Engine(name, ScriptValue)
    if name in ("torch", "torch-f32"):
        torch = peers.load_torch()
        return Engine(name, torch=torch,
                      dtype=torch.float32 if name == "torch-f32" else torch.float64)
    raise KeyError(name)


def _without_gc(fn):
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            gc.enable()
    return timed


def _collect_after(setup):
    def prepared():
        out = setup() if setup is not None else None
        gc.collect()
        return out
    return prepared


def measure(benchmark, fn, *, engine, setup=None, rounds=None, budget=None,
            min_rounds=3, max_rounds=2000, **extra):
    """Time ``fn`` for ``engine`` and return its result (one call when disabled).

    ``setup`` (untimed, before every round) may return ``(args, kwargs)`` for
    ``fn``.  For a ``gc_off`` engine the collector is off during each timed
    call and a full collection runs in the untimed setup, so garbage does not
    pile up between rounds.  ``rounds`` fixes the number of rounds; otherwise
    one untimed call sizes them to about ``budget`` seconds of wall time
    (setup included), and never fewer than ``min_rounds``.
    """
    benchmark.extra_info["engine"] = engine.name
    benchmark.extra_info["label"] = engine.label
    benchmark.extra_info.update(extra)
    if engine.gc_off:
        fn = _without_gc(fn)
        setup = _collect_after(setup)
    if benchmark.disabled:
        return benchmark.pedantic(fn, setup=setup, rounds=1)
    if rounds is None:
        # one untimed call (setup included, as it costs wall time too) sizes the rounds
        start = time.perf_counter()
        args, kwargs = (setup() or ((), {})) if setup is not None else ((), {})
        fn(*args, **kwargs)
        elapsed = time.perf_counter() - start
        del args, kwargs
        budget = BUDGET if budget is None else budget
        rounds = max(min_rounds, min(max_rounds, int(budget / max(elapsed, 1e-9))))
    return benchmark.pedantic(fn, setup=setup, rounds=rounds)


def skip_row(group, engine_name, reason):
    """Skip this row, and keep the reason for the results table."""
    import pytest
    SKIPS.append({"group": group, "engine": engine_name, "label": LABELS[engine_name],
                  "reason": reason})
    pytest.skip(reason)


# ---- result checks ----------------------------------------------------------

def tolerance(engine):
    """(rel, abs) tolerance against the reference: 1e-12 for scalar engines.

    Scalar engines do the same float operations in the same order, so only
    the order in which grads are accumulated may differ (a few ulps).  PyTorch
    sums in another order (matmul, reductions): 1e-9 in float64, 1e-5 in
    float32 (its rounding, about 6e-8 per operation, accumulated).
    """
    if engine.is_torch:
        return (1e-5, 1e-6) if engine.name == "torch-f32" else (1e-9, 1e-12)
    return (1e-12, 1e-12)


def assert_close_seq(engine, got, want, what):
    rel, abs_ = tolerance(engine)
    assert len(got) == len(want), f"{what}: {len(got)} values, expected {len(want)}"
    bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want))
           if not math.isclose(g, w, rel_tol=rel, abs_tol=abs_)]
    assert not bad, (f"{engine.name}: {what} differs from the reference at {len(bad)} of "
                     f"{len(want)} places, first (index, got, want): {bad[:3]}")


def assert_close(engine, got, want, what):
    assert_close_seq(engine, [got], [want], what)


def assert_identical_seq(engine, got, want, what):
    """``got == want`` float for float (bit for bit), else name the first difference."""
    assert len(got) == len(want), f"{what}: {len(got)} values, expected {len(want)}"
    bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not bad, (f"{engine.name}: {what} is not bit for bit the reference at {len(bad)} "
                     f"of {len(want)} places, first (index, got, want): {bad[:3]}")
