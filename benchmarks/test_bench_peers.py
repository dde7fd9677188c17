"""The peers are loaded side by side without shadowing each other (not timed)."""

import sys

import pytest

import harness
import peers


def test_original_loads_beside_this_package():
    engine, nn = peers.load_original()
    assert engine.__name__ == "micrograd_original.engine"
    assert nn.Value is engine.Value
    assert engine.__file__.endswith(f"{peers.ORIGINAL_WHEEL}/micrograd/engine.py")
    # loading it did not replace, or create, the import name `micrograd`
    mod = sys.modules.get("micrograd")
    assert mod is None or "micrograd_original" not in getattr(mod, "__file__", "")
    # the original, unmodified: closures per node, ints where it keeps ints
    v = engine.Value(2) * 3
    assert (v.data, v.grad, v._op) == (6, 0, "*")
    assert callable(v._backward)
    assert peers.load_original() == (engine, nn)


def test_this_package_is_not_the_original():
    try:
        ours = harness.load_engine("micrograd-c")
    except peers.PeerUnavailable as exc:
        pytest.skip(str(exc))
    orig = harness.load_engine("original")
    assert ours.Value is not orig.Value
    assert ours.nn.__name__ == "micrograd.nn"
    # micrograd.engine.Value is the core's extension type (named after the
    # module users import it from), not a Python class
    import micrograd_c.value
    assert ours.Value is micrograd_c.value.Value
    assert not ours.Value.__flags__ & (1 << 9)  # Py_TPFLAGS_HEAPTYPE


def test_original_nn_on_another_engine():
    try:
        pure = harness.load_engine("pure")
    except peers.PeerUnavailable as exc:
        pytest.skip(str(exc))
    assert pure.nn.Value is pure.Value
    assert pure.nn.__name__ == "micrograd_original.nn_on_micrograd_pure"
