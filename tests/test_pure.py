"""Properties of ``micrograd.pure`` itself (its behaviour is compared elsewhere)."""

import doctest
import gc
import inspect

import micrograd.pure as pure
from micrograd.pure import Value


def test_doctests():
    result = doctest.testmod(pure)
    assert result.attempted > 0 and result.failed == 0


def test_public_names_are_documented():
    assert pure.__doc__
    assert Value.__doc__
    for name, member in inspect.getmembers(Value):
        if name.startswith("_") and name not in ("__init__", "__repr__", "_prev", "_backward"):
            continue
        if name == "label":  # a plain slot
            continue
        assert inspect.getdoc(member), name


def test_nodes_are_slotted_and_hold_no_closures():
    a = Value(2.0)
    out = (a * 3).tanh()
    assert not hasattr(out, "__dict__")
    for slot in type(out).__slots__:
        assert not inspect.isfunction(getattr(out, slot))


def test_graphs_are_freed_without_the_cyclic_collector():
    gc.collect()
    gc.disable()
    try:
        a = Value(1.5)
        out = a
        for _ in range(1000):
            out = (out * a + 1.0).relu().tanh()
        out.backward()
        del a, out
        assert gc.collect() == 0  # no cycles were left behind
    finally:
        gc.enable()
