"""Differential tests: random expression graphs on the compiled engine vs oracles.

Oracles: the pure-Python engine (``micrograd.pure``: forward values must be
bit-equal, gradients equal to 1e-12 relative) and PyTorch in float64 (values
and gradients to 1e-9 relative).  The graphs use every op, reflected ops with
numbers, shared subexpressions and one node used twice by an op.
"""

import gc
import math

import pytest
from hypothesis import given, settings

from conftest import compiled_value, examples, live_nodes, pure_value
from exprgraph import OPS, make_safe, programs, run, run_torch


def same_float(a, b):
    """Bit-for-bit the same double (so 0.0 and -0.0 differ), or both NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def close(a, b, rel, abs_tol):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)


def _scale(values, grads):
    # Rounding in a sum of many terms is relative to the terms, not to the
    # (possibly cancelled) result: compare near-zero grads against this.
    return max([1.0] + [abs(g) for g in grads] + [abs(v) for v in values])


def fixed_programs(ops):
    """A small fixed program for each of ``ops`` (on positive leaves, where
    every op is defined), for the ops a property run happened not to draw:
    which ones it draws depends on hypothesis's version."""
    names = list(OPS)
    out = []
    for op in sorted(ops):
        k = names.index(op)
        program = make_safe([0.7, 1.3, 2.1], [(k, 0, 1, 3), (k, 1, 2, 5)], names)
        assert op in {step[0] for step in program[1]}, (op, program)
        out.append(program)
    return out


def test_compiled_matches_pure():
    seen = set()

    @settings(max_examples=examples(400))
    @given(programs())
    def check(program):
        seen.update(step[0] for step in program[1])
        compare(program)

    def compare(program):
        compiled = run(program, compiled_value())
        pure = run(program, pure_value())
        for c, p in zip(compiled, pure):
            assert c._op == p._op
            assert same_float(c.data, p.data), (c.data, p.data)
            assert type(c.data) is type(p.data), (c, p)      # ints stay ints
        compiled[-1].backward()
        pure[-1].backward()
        for k, (c, p) in enumerate(zip(compiled, pure)):
            assert close(c.grad, p.grad, 1e-12, 1e-300), (k, c.grad, p.grad)
            assert type(c.grad) is type(p.grad), (k, c, p)
        # Dropping the handles frees every node, including number leaves;
        # ops written in Python are reference cycles (a closure refers to its
        # own output), which one pass of the cyclic GC frees, as micrograd's.
        del compiled, c
        gc.collect()
        assert live_nodes() == baseline

    gc.collect()
    gc.disable()  # no collection of older garbage while nodes are counted
    try:
        baseline = live_nodes()
        check()
        for program in fixed_programs(set(OPS) - seen):
            compare(program)
    finally:
        gc.enable()


def _walk(root):
    """(op, data, grad) of every node reachable from root, in a canonical order.

    The walk keeps every node it met: an id() is only a node's identity while
    the handle lives.
    """
    seen, stack, out = {id(root): root}, [root], []
    while stack:
        v = stack.pop()
        out.append((v._op, v.data, v.grad))
        for child in v._prev:
            if id(child) not in seen:
                seen[id(child)] = child
                stack.append(child)
    return sorted(out, key=repr)


@given(programs())
def test_graph_survives_dropped_handles(program):
    """Only the leaves and the root are held: backward still reaches every node,
    and a walk over ``_prev`` finds the same nodes, values and grads as pure."""
    leaves = len(program[0])
    compiled = run(program, compiled_value())
    compiled = compiled[:leaves] + compiled[-1:]
    pure = run(program, pure_value())
    compiled[-1].backward()
    pure[-1].backward()
    for c, p in zip(compiled[:leaves], pure[:leaves]):
        assert close(c.grad, p.grad, 1e-12, 1e-300)
    walked_c, walked_p = _walk(compiled[-1]), _walk(pure[-1])
    assert len(walked_c) == len(walked_p)
    for (op_c, data_c, grad_c), (op_p, data_p, grad_p) in zip(walked_c, walked_p):
        assert op_c == op_p and same_float(data_c, data_p)
        assert close(grad_c, grad_p, 1e-12, 1e-300)


@given(programs(), programs())
def test_compiled_matches_pure_across_two_graphs_and_passes(first, second):
    """Two graphs alive at once, backward twice on each: grads accumulate alike."""
    c1, c2 = run(first, compiled_value()), run(second, compiled_value())
    p1, p2 = run(first, pure_value()), run(second, pure_value())
    for _ in range(2):
        c1[-1].backward()
        p1[-1].backward()
        c2[-1].backward()
        p2[-1].backward()
    for c, p in zip(c1 + c2, p1 + p2):
        assert same_float(c.data, p.data)
        assert close(c.grad, p.grad, 1e-12, 1e-300), (c.grad, p.grad)


def test_compiled_matches_torch():
    torch = pytest.importorskip("torch")
    seen = set()

    @settings(max_examples=examples(250))
    @given(programs())
    def check(program):
        seen.update(step[0] for step in program[1])
        compare(program)

    def compare(program):
        values, grads = run_torch(program, torch)
        nodes = run(program, compiled_value())
        nodes[-1].backward()
        scale = _scale(values, grads)
        for k, (node, v, g) in enumerate(zip(nodes, values, grads)):
            assert close(node.data, v, 1e-9, 1e-12 * scale), (k, node.data, v)
            assert close(node.grad, g, 1e-9, 1e-12 * scale), (k, node.grad, g)

    check()
    for program in fixed_programs(set(OPS) - seen):
        compare(program)
