"""Replay overhead per node: a ~10^6-node recording, forward and backward.

Group ``replay-1e6``: the chain of ``chain_workload`` 250,000 repetitions
deep (``4 * 250,000 + 1`` nodes), recorded once with ``micrograd.compile``
(untimed); each round replays its forward in C and runs ``backward()`` over
the recording.  ``ns_per_node`` (median over nodes) is in the row's
``extra_info`` and printed at the end of the session.  For contrast, the
``micrograd-c`` row builds the same chain dynamically, backprops and frees
it, as in the chain groups.  Both must give exactly the plain-float result.
"""

import functools

import pytest

import harness
from chain_workload import chain, chain_reference, compiled_chain, nodes, replay_chain
from harness import measure

DEPTH = 250_000
ENGINES = ["micrograd-c", "micrograd-c-compiled"]


@pytest.mark.benchmark(group="replay-1e6")
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_replay_overhead(benchmark, engine):
    n = nodes(DEPTH)
    if engine.compile is not None:
        fn = functools.partial(replay_chain, compiled_chain(engine.compile, DEPTH))
        what = "replay forward + backward over the recording"
    else:
        fn = functools.partial(chain, engine.Value, DEPTH)
        what = "build, backward and free, op by op"
    result = measure(benchmark, fn, engine=engine, depth=DEPTH, nodes=n, timed=what)
    want = chain_reference(DEPTH)
    assert result == want, f"chain {DEPTH}: (x, dx/dx0) = {result}, expected exactly {want}"
    if benchmark.stats is not None:
        ns = benchmark.stats.stats.median / n * 1e9
        benchmark.extra_info["ns_per_node"] = round(ns, 2)
        row = {"engine": engine.name, "nodes": n, "timed": what,
               "median_ms": round(benchmark.stats.stats.median * 1e3, 3),
               "ns_per_node": round(ns, 2)}
        harness.REPLAY.append(row)
        print(row)
