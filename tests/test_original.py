"""``micrograd.pure`` (and through it the compiled core) against the original micrograd 0.1.0.

The original is loaded from its PyPI wheel under another module name (see the
``original`` fixture).  Forward values must be equal on the original's ops;
the original accumulates gradients in set-iteration order, so gradients are
compared to a tolerance.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings

from conftest import compiled_value, examples, pure_value
from exprgraph import ORIGINAL_OPS, programs, readme_example, run


def test_original_readme_example(original):
    a, b, g = readme_example(original.engine.Value)
    assert (f"{g.data:.4f}", f"{a.grad:.4f}", f"{b.grad:.4f}") == ("24.7041", "138.8338", "645.5773")
    for engine in (pure_value(), compiled_value()):
        a2, b2, g2 = readme_example(engine)
        assert g2.data == g.data
        assert math.isclose(a2.grad, a.grad, rel_tol=1e-12)
        assert math.isclose(b2.grad, b.grad, rel_tol=1e-12)


def test_two_backward_calls_accumulate_as_the_original(original):
    results = []
    for engine in (original.engine.Value, pure_value(), compiled_value()):
        a, b, g = readme_example(engine)  # first backward inside
        first = a.grad
        g.backward()
        results.append((first, g.grad, a.grad, b.grad))
    (first0, g0, a0, b0), *others = results
    assert g0 == 1
    # Nothing is zeroed in between, and intermediate grads feed the second
    # pass again: it is not a doubling.
    assert not math.isclose(a0, 2 * first0, rel_tol=1e-6)
    for _, g1, a1, b1 in others:
        assert g1 == 1.0
        assert math.isclose(a1, a0, rel_tol=1e-12) and math.isclose(b1, b0, rel_tol=1e-12)


@settings(max_examples=examples(300))
@given(programs(ops=ORIGINAL_OPS))
def test_pure_forward_equals_original(original, program):
    ours = run(program, pure_value())
    theirs = run(program, original.engine.Value)
    for o, t in zip(ours, theirs):
        assert o._op == t._op
        assert o.data == float(t.data), (o.data, t.data)
    ours[-1].backward()
    theirs[-1].backward()
    scale = max([1.0] + [abs(float(t.grad)) for t in theirs] + [abs(float(t.data)) for t in theirs])
    for o, t in zip(ours, theirs):
        assert math.isclose(o.grad, float(t.grad), rel_tol=1e-9, abs_tol=1e-12 * scale)


@pytest.mark.parametrize("make", [
    pytest.param(lambda V: V(-0.5) ** 2, id="square"),
    pytest.param(lambda V: V(3.0) ** -1, id="reciprocal"),
    pytest.param(lambda V: V(2.0) ** 0.5, id="sqrt"),
    pytest.param(lambda V: V(7.0) / 3, id="div-number"),
    pytest.param(lambda V: 3 / V(7.0), id="number-div"),
    pytest.param(lambda V: V(0.1) - 0.3, id="sub-number"),
    pytest.param(lambda V: 0.3 - V(0.1), id="number-sub"),
    pytest.param(lambda V: V(0.1) * 3, id="mul-number"),
    pytest.param(lambda V: -V(0.1), id="neg"),
    pytest.param(lambda V: V(-1.5).relu(), id="relu-negative"),
    pytest.param(lambda V: V(2.5).relu(), id="relu-positive"),
    pytest.param(lambda V: V(0.1) + V(0.2), id="add"),
    pytest.param(lambda V: V(3.0) / np.float32(0.1), id="div-float32"),
    pytest.param(lambda V: sum((V(0.1 * k) for k in range(10)), V(0.0)), id="sum"),
    # reciprocals where libm's pow and a division round differently
    pytest.param(lambda V: V(0.9999999999999999) / V(0.9999999999999999), id="div-self-pow-rounding"),
    pytest.param(lambda V: 1 / V(0.9854524745808368), id="number-div-pow-rounding"),
    pytest.param(lambda V: V(1.0) / 3.023938118923579, id="div-number-pow-rounding"),
])
def test_forward_bit_equal_to_original(original, make):
    expected = float(make(original.engine.Value).data)
    for engine in (pure_value(), compiled_value()):
        assert make(engine).data == expected


def test_division_by_numpy_integer_fails_in_the_original_too(original):
    with pytest.raises(ValueError):
        original.engine.Value(3.0) / np.int64(2)


def test_op_strings_equal_the_original(original):
    def ops(V):
        a, b = V(2.0), V(3.0)
        return [(a + b)._op, (a * b)._op, (a ** 2)._op, (a ** -1)._op, (a ** 0.5)._op,
                (a ** 2.0)._op, a.relu()._op, (a - b)._op, (a / b)._op, (-a)._op, a._op,
                sorted(c._op for c in (a / b)._prev), sorted(c._op for c in (a - b)._prev)]

    expected = ops(original.engine.Value)
    assert ops(pure_value()) == expected
    assert ops(compiled_value()) == expected


def test_hand_built_node_is_walked_through_as_in_the_original(original):
    # A node built as Value(data, _children, _op) has no backward rule of its
    # own, but backward() still reaches its children, whose rules run again
    # with the grads they hold (here: from a previous pass).
    results = []
    for V in (original.engine.Value, pure_value(), compiled_value()):
        a, b = V(2.0), V(3.0)
        c = a * b
        c.backward()
        d = V(5.0, (c,), "custom")
        d.backward()
        results.append((float(a.grad), float(b.grad), float(c.grad), float(d.grad), d._op))
    assert results[0] == (6.0, 4.0, 1.0, 1.0, "custom")
    assert results[1] == results[0] and results[2] == results[0]
