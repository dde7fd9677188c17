"""Very deep graphs: build, backward and free without recursion limits or leaks."""

import gc

import pytest

from conftest import compiled_value, live_nodes, pure_value

DEPTH = 10**6


@pytest.fixture
def arena_baseline():
    """Live nodes before the test; the cyclic GC is held off so that garbage of
    earlier tests cannot be freed while the test counts nodes."""
    gc.collect()
    gc.disable()
    yield live_nodes()
    gc.enable()


def test_million_deep_mul_add_chain(arena_baseline):
    Value = compiled_value()
    x0 = Value(1.0)
    x = x0
    for _ in range(DEPTH):
        x = x * 1.000001 + 0.0
    # Plain float replay of the same arithmetic: forward and chain-rule product.
    value, grad = 1.0, 1.0
    for _ in range(DEPTH):
        value = value * 1.000001 + 0.0
        grad = 1.000001 * grad
    assert x.data == value
    assert live_nodes() - arena_baseline == 1 + 4 * DEPTH  # mul, leaf, add, leaf per step
    x.backward()
    assert x0.grad == grad
    del x, x0
    assert live_nodes() == arena_baseline


def test_million_deep_relu_chain(arena_baseline):
    Value = compiled_value()
    x0 = Value(0.5)
    x = x0
    for _ in range(DEPTH):
        x = x.relu()
    assert x.data == 0.5 and x._op == "ReLU"
    x.backward()
    assert x0.grad == 1.0
    # A second pass without zeroing: each node adds its parent's (already
    # accumulated) grad again, so the node k steps above x0 holds k + 1
    # and x0 receives DEPTH, as in the original micrograd.
    x0.grad = 0.0
    x.backward()
    assert x0.grad == float(DEPTH)
    del x
    assert live_nodes() == arena_baseline + 1
    del x0
    assert live_nodes() == arena_baseline


def test_pure_engine_deep_chain():
    # The original's recursive sort fails near depth 1000; ours is iterative.
    Value = pure_value()
    x0 = Value(2.0)
    x = x0
    for _ in range(100_000):
        x = x + 1.0
    assert x.data == 100_002.0
    x.backward()
    assert x0.grad == 1.0


def test_arena_stats_and_untracked_handles(arena_baseline):
    import micrograd_c

    stats = micrograd_c.arena_stats()
    assert {"live", "capacity", "bytes"} <= set(stats)
    assert 0 <= stats["live"] <= stats["capacity"] and stats["bytes"] > 0
    Value = compiled_value()
    before = arena_baseline
    v = Value(1.0) * 2.0
    assert live_nodes() == before + 3
    # Handles hold no Python references: the cyclic GC need not track them.
    assert not gc.is_tracked(v)
    del v
    assert live_nodes() == before
