"""A chain ``x = x * A + B`` repeated ``depth`` times: build, backward, free.

Groups ``chain-400`` (a depth the original survives: 801 levels),
``chain-1e5`` and ``chain-1e6``.  The original's recursive topological sort
raises RecursionError on the deep chains; those rows are skipped with the
error as the reason.  PyTorch runs the chain as 0-d tensors (one autograd node
per op), which takes tens of seconds a round at 10^6, as does the pure
engine; those two run at 10^6 only with ``MICROGRAD_BENCH_FULL=1``.
"""

import functools
import gc

import pytest

import harness
from chain_workload import chain, chain_reference, chain_torch, nodes
from harness import assert_close_seq, measure, skip_row

REFERENCE_DEPTH = 400
DEPTHS = {"chain-400": REFERENCE_DEPTH, "chain-1e5": 10**5, "chain-1e6": 10**6}
ENGINES = ["original", "micrograd-c", "pure", "torch"]


@functools.lru_cache(maxsize=None)
def original_failure(depth):
    """The error the original raises on a chain ``depth`` deep, or None if it copes."""
    Value = harness.load_engine("original").Value
    gc.disable()   # only the outcome matters here, not the time
    try:
        chain(Value, depth)
    except RecursionError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        gc.enable()
        gc.collect()   # the half-sorted graph is a forest of closure cycles
    return None


@pytest.mark.parametrize("group", list(DEPTHS))
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_chain(benchmark, engine, group):
    depth = DEPTHS[group]
    benchmark.group = group
    if engine.name == "original" and depth > REFERENCE_DEPTH:
        probe = min(depth, 10**5)   # a chain 10^6 deep would take GBs just to fail
        failure = original_failure(probe)
        if failure is not None:
            skip_row(group, engine.name,
                     f"micrograd 0.1.0 fails at depth {probe:,}: {failure} (recursive "
                     f"build_topo, one frame per graph level); see chain-{REFERENCE_DEPTH}")
    if engine.name in ("pure", "torch") and depth >= 10**6 and not harness.FULL:
        skip_row(group, engine.name,
                 "tens of seconds a round at depth 10^6 (linear in depth: see chain-1e5); "
                 "run with MICROGRAD_BENCH_FULL=1 to include it")
    if engine.is_torch:
        fn = functools.partial(chain_torch, engine.torch, depth)
    else:
        fn = functools.partial(chain, engine.Value, depth)
    slow = depth >= 10**5 and engine.name != "micrograd-c"
    result = measure(benchmark, fn, engine=engine, rounds=1 if slow and depth >= 10**6 else None,
                     min_rounds=2 if slow else 3, depth=depth, nodes=nodes(depth))
    want = chain_reference(depth)
    if engine.is_torch:
        assert_close_seq(engine, result, want, f"chain {depth}: (x, dx/dx0)")
    else:
        assert result == want, f"chain {depth}: (x, dx/dx0) = {result}, expected exactly {want}"
