"""Stateful fuzzing of the compiled engine against the pure-Python reference.

A hypothesis state machine keeps a pool of handles, each paired with its
twin in ``micrograd.pure``, and applies random steps to both: new leaves,
every op (with Values and plain numbers, including NaN and infinities),
hand-built nodes, fused ``dot``, dropped handles, ``_prev`` walks that pick
up handles to nodes whose own handles are gone, ``backward()`` and
``_backward()``, and writes to ``data`` and ``grad``. After every step:

- every pooled node shows the same data (bit for bit), ``_op``, label and
  number of children as its twin, and the same grad (to rounding: the two
  engines may add a node's gradient contributions in another order);
- an op fails on one engine exactly when it fails on the other, with the
  same exception, and a failed op leaves no node behind;
- the arena holds exactly the nodes the reference graph still reaches from
  the pool (a leak or an early free shows at once).

Run more examples with ``HYPOTHESIS_PROFILE=dev``.
"""

import gc
import itertools
import math

import pytest

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, invariant, precondition, rule,
                                 run_state_machine_as_test)

from micrograd.engine import dot

from conftest import compiled_value, examples, live_nodes, pure_value

Value = compiled_value()
PureValue = pure_value()

NUMBERS = st.one_of(
    st.floats(-4.0, 4.0),
    st.integers(-3, 3),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, -1.0, 2.0, 1e-300, 1e300]),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
CONSTANTS = st.sampled_from([2, 3, -1, -2, 0, 1, 0.5, -0.5, 1.5, 2.0, -2.5, 0.0, math.inf])
INDEX = st.integers(0, 10**6)

BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b,
}
WITH_NUMBER = {
    "add": lambda a, c: a + c, "radd": lambda a, c: c + a, "sub": lambda a, c: a - c,
    "rsub": lambda a, c: c - a, "mul": lambda a, c: a * c, "rmul": lambda a, c: c * a,
    "div": lambda a, c: a / c, "rdiv": lambda a, c: c / a, "pow": lambda a, c: a ** c,
    "rpow": lambda a, c: c ** a,
}
UNARY = {
    "relu": lambda a: a.relu(), "tanh": lambda a: a.tanh(), "exp": lambda a: a.exp(),
    "log": lambda a: a.log(), "sigmoid": lambda a: a.sigmoid(), "neg": lambda a: -a,
}


def same_float(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def pure_dot(ws, xs, start):
    """What ``dot`` computes, as Python spells it."""
    return sum((w * x for w, x in zip(ws, xs)), 0 if start is None else start)


def attempt(f):
    """(result, None) or (None, exception type)."""
    try:
        return f(), None
    except (ArithmeticError, ValueError, TypeError) as exc:
        return None, type(exc)


class GraphMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.pool = []                  # [(compiled handle, pure twin)]
        self.names = itertools.count()
        self.baseline = live_nodes()
        self.grads_known = True

    # --- bookkeeping ---------------------------------------------------------

    def add(self, c, p):
        if not c.label:                 # a label pairs the twins in _prev walks
            name = f"n{next(self.names)}"
            c.label = name
            p.label = name
        assert c.label == p.label
        self.pool.append((c, p))

    def pick(self, i):
        return self.pool[i % len(self.pool)]

    def both(self, build, *operands):
        """Run build on the compiled operands and on their twins; both must
        succeed or fail alike; pool the result."""
        before = live_nodes()
        c, c_err = attempt(lambda: build(*[o[0] if isinstance(o, tuple) else o
                                            for o in operands]))
        p, p_err = attempt(lambda: build(*[o[1] if isinstance(o, tuple) else o
                                            for o in operands]))
        assert c_err is p_err, (c_err, p_err)
        if c_err is not None:
            assert live_nodes() == before, "a failed op left nodes behind"
            return
        if isinstance(p, PureValue):
            assert isinstance(c, Value)
            self.add(c, p)
        else:                           # dot of numbers only gives a number
            assert not isinstance(c, Value) and same_float(float(c), float(p))

    # --- rules ---------------------------------------------------------------

    @rule(x=NUMBERS)
    def leaf(self, x):
        self.add(Value(x), PureValue(x))

    @precondition(lambda self: self.pool)
    @rule(op=st.sampled_from(sorted(BINARY)), i=INDEX, j=INDEX)
    def binary(self, op, i, j):
        self.both(BINARY[op], self.pick(i), self.pick(j))

    @precondition(lambda self: self.pool)
    @rule(op=st.sampled_from(sorted(WITH_NUMBER)), i=INDEX, c=CONSTANTS)
    def with_number(self, op, i, c):
        self.both(WITH_NUMBER[op], self.pick(i), c)

    @precondition(lambda self: self.pool)
    @rule(op=st.sampled_from(sorted(UNARY)), i=INDEX)
    def unary(self, op, i):
        self.both(UNARY[op], self.pick(i))

    @precondition(lambda self: self.pool)
    @rule(children=st.lists(INDEX, min_size=1, max_size=4), x=NUMBERS,
          op=st.sampled_from(["", "f", "+"]))
    def hand_built(self, children, x, op):
        kids = [self.pick(k) for k in children]
        c = Value(x, tuple(k[0] for k in kids), op)
        p = PureValue(x, tuple(k[1] for k in kids), op)
        self.add(c, p)

    @precondition(lambda self: self.pool)
    @rule(ws=st.lists(st.one_of(INDEX, NUMBERS), min_size=1, max_size=5),
          xs=st.lists(st.one_of(INDEX, NUMBERS), min_size=5, max_size=5),
          start=st.one_of(st.none(), NUMBERS.map(float), INDEX.map(lambda k: ("node", k))))
    def fused_dot(self, ws, xs, start):
        # Integers from INDEX pick pooled nodes; floats are numbers.
        def operand(o):
            # (Numbers as floats: see test_dot_of_two_plain_numbers_is_pythons_product.)
            return self.pick(o) if type(o) is int and o >= 4 else float(o)
        w_ops = [operand(w) for w in ws]
        x_ops = [operand(x) for x in xs[:len(ws)]]
        s_op = self.pick(start[1]) if isinstance(start, tuple) else start
        n = len(w_ops)

        def build(*flat):
            ws_, xs_, s_ = list(flat[:n]), list(flat[n:2 * n]), flat[2 * n]
            if any(isinstance(v, PureValue) for v in flat):
                return pure_dot(ws_, xs_, s_)
            return dot(ws_, xs_, s_)

        self.both(build, *w_ops, *x_ops, s_op)

    @precondition(lambda self: self.pool)
    @rule(i=INDEX)
    def drop(self, i):
        del self.pool[i % len(self.pool)]

    @precondition(lambda self: self.pool)
    @rule(i=INDEX)
    def walk(self, i):
        c, p = self.pick(i)
        cs, ps = c._prev, p._prev
        assert len(cs) == len(ps)

        def key(v):
            return v.label or ("op", v._op)

        ck, pk = {key(v): v for v in cs}, {key(v): v for v in ps}
        if len(ck) == len(cs) and len(pk) == len(ps):
            assert ck.keys() == pk.keys()
            for k in ck:
                self.add(ck[k], pk[k])
        else:                           # twins not told apart: compare as multisets
            def rows(vs):
                return sorted((v._op, repr(v.data)) for v in vs)
            assert rows(cs) == rows(ps)

    @precondition(lambda self: self.pool)
    @rule(i=INDEX)
    def backward(self, i):
        c, p = self.pick(i)
        c.backward()
        try:
            p.backward()
        except ZeroDivisionError:
            # The reference computes log's local gradient g / x in Python,
            # which raises at x == 0 (reachable by writing 0 into the data
            # of a log's operand) where the core gives IEEE inf. Its grads
            # are half-updated now: stop comparing grads for this run.
            self.grads_known = False

    @precondition(lambda self: self.pool)
    @rule(i=INDEX)
    def local_backward(self, i):
        c, p = self.pick(i)
        c._backward()
        try:
            p._backward()
        except ZeroDivisionError:   # see backward()
            self.grads_known = False

    @precondition(lambda self: self.pool)
    @rule()
    def zero_grad(self):
        for c, p in self.pool:
            c.grad = 0.0
            p.grad = 0.0

    @precondition(lambda self: self.pool)
    @rule(i=INDEX, x=NUMBERS, which=st.sampled_from(["data", "grad"]))
    def write(self, i, x, which):
        c, p = self.pick(i)
        setattr(c, which, x)
        setattr(p, which, x)

    # --- invariants ------------------------------------------------------------

    def reference_graph(self):
        """Every pure node reachable from the pool (the reference's live set)."""
        seen = {}
        stack = [p for _, p in self.pool]
        while stack:
            v = stack.pop()
            if id(v) in seen:
                continue
            seen[id(v)] = v
            stack.extend(v._children)
        return list(seen.values())

    @invariant()
    def twins_agree(self):
        nodes = self.reference_graph()
        # Hand-built nodes with k > 2 children are chained through k - 2 hidden nodes.
        expected = sum(1 + (max(len(v._children) - 2, 0) if v._kind is None else 0)
                       for v in nodes)
        assert live_nodes() - self.baseline == expected
        finite = [abs(x) for v in nodes for x in (v.data, v.grad) if math.isfinite(x)]
        scale = max([1.0] + finite)
        for c, p in self.pool:
            assert same_float(c.data, p.data), (c.data, p.data)
            assert c._op == p._op and c.label == p.label
            assert len(c._prev) == len(p._prev)
            if scale <= 1e6 and self.grads_known:
                a, b = c.grad, p.grad
                if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
                    assert same_float(a, b), (a, b)
                else:
                    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * scale * scale), (a, b)



def test_fuzz_compiled_engine_against_the_reference():
    gc.collect()
    gc.disable()          # node counts are exact: no collection of older garbage meanwhile
    try:
        run_state_machine_as_test(
            GraphMachine,
            settings=settings(max_examples=examples(150), stateful_step_count=40,
                              deadline=None))
    finally:
        gc.enable()


def test_dropping_the_pool_frees_everything():
    gc.collect()
    before = live_nodes()
    machine = GraphMachine()
    for x in (1.0, -2.0, 0.5):
        machine.leaf(x)
    machine.binary("mul", 0, 1)
    machine.hand_built([0, 1, 2, 3], 2.0, "f")
    machine.fused_dot([4, 5, 6], [1.5, 7, 0.0, 0, 0], ("node", 5))
    machine.walk(5)
    machine.backward(6)
    machine.twins_agree()
    assert live_nodes() > before
    del machine
    gc.collect()
    assert live_nodes() == before


@pytest.mark.parametrize("ws, xs", [([3], [2 ** 53 + 1]), ([-1], [0])])
def test_dot_of_two_plain_numbers_is_pythons_product(ws, xs):
    start = Value(-0.0)
    fused = dot(ws, xs, start)
    plain = sum((w * x for w, x in zip(ws, xs)), start)
    assert same_float(fused.data, plain.data)
