"""take, index inputs of a recording, max and detach, and TraceWarning.

``take(values, i)`` is plain indexing in a dynamic run; in a function
compiled with ``index_inputs`` it records a select node that reads its index
at every replay. The oracles: Python's own indexing and ``max``, the pure
engine, and the same code run dynamically.
"""

import gc
import math
import warnings

import pytest
from hypothesis import given, strategies as st

import micrograd
import micrograd.pure as pure
from micrograd.capture import TraceWarning
from micrograd.engine import Index, Value, take

from conftest import live_nodes


finite = st.floats(-1e3, 1e3, allow_nan=False)


# --- dynamic: plain indexing ------------------------------------------------------

@given(st.lists(finite, min_size=1, max_size=8), st.data())
def test_take_is_plain_indexing(xs, data):
    i = data.draw(st.integers(-len(xs), len(xs) - 1))
    vals = [Value(x) for x in xs]
    assert take(vals, i) is vals[i]
    rows = [[Value(x), Value(-x)] for x in xs]
    assert take(rows, i) is rows[i]
    assert pure.take(xs, i) == xs[i]
    with pytest.raises(IndexError):
        take(vals, len(xs))


# --- recorded selections ------------------------------------------------------------

def lookup(table, weights):
    """A compiled function selecting a row and an entry by index inputs."""
    def f(tok, target):
        row = take(table, tok)
        h = [(r * w).tanh() for r, w in zip(row, weights)]
        s = sum(h)
        return (take(h, target) * s + take(row, target)).exp()
    return f


def table_and_weights():
    table = [[Value(0.1 * r - 0.05 * c) for c in range(3)] for r in range(5)]
    weights = [Value(0.7), Value(-1.3), Value(0.4)]
    return table, weights


def grads(params):
    return [p.grad for p in params]


@given(st.lists(st.tuples(st.integers(-5, 4), st.integers(-3, 2)), min_size=1, max_size=6))
def test_recorded_take_replays_like_indexing_bit_for_bit(calls):
    table, weights = table_and_weights()
    params = [p for row in table for p in row] + weights
    f = lookup(table, weights)
    step = micrograd.compile(f, index_inputs=("tok", "target"))
    for tok, target in calls:
        for p in params:
            p.grad = 0.0
        out_d = f(tok, target)
        out_d.backward()
        want = grads(params)
        for p in params:
            p.grad = 0.0
        out_c = step(tok, target)
        out_c.backward()
        assert out_c.data == out_d.data
        assert grads(params) == want
        # the gradient reaches the selected row only
        rows = [r for r in range(5) if any(p.grad != 0.0 for p in table[r])]
        assert rows == [tok % 5]
        for p in weights:          # a real optimiser step between calls
            p.data -= 0.01 * p.grad
    assert step.cache_info()["recordings"] == 1


def test_index_out_of_range_raises_at_call_and_at_replay():
    table, weights = table_and_weights()
    step = micrograd.compile(lookup(table, weights), index_inputs=("tok", "target"))
    with pytest.raises(IndexError):
        step(5, 0)                   # at the recording call: plain indexing fails
    assert step.cache_info()["recordings"] == 0
    want = step(2, 1).data
    with pytest.raises(IndexError, match=r"take: index 7 out of range for 5 values"):
        step(7, 1)
    with pytest.raises(IndexError, match=r"out of range for 3 values"):
        step(2, -4)
    # the recording stays usable and gives what it gave before
    assert step(2, 1).data == want
    assert step.cache_info()["recordings"] == 1


def test_index_inputs_are_structure_when_not_named():
    table, weights = table_and_weights()
    step = micrograd.compile(lookup(table, weights))     # ints are structure
    for tok in range(3):
        step(tok, 0)
    assert step.cache_info()["recordings"] == 3


def test_index_inputs_in_lists_and_keywords():
    table = [Value(float(k)) for k in range(6)]

    def f(tokens, scale=1.0):
        return sum(take(table, t) for t in tokens) * scale

    step = micrograd.compile(f, index_inputs="tokens")
    assert step.index_inputs == ("tokens",)
    for toks in ([0, 1, 2], [5, 5, 5], [3, -1, 0]):
        assert step(tokens=toks, scale=1.0).data == f(toks).data
        assert step(toks, scale=2.0).data == f(toks, 2.0).data
    assert step.cache_info()["recordings"] == 1


def test_index_misused_as_an_int_is_a_type_error():
    table = [Value(1.0), Value(2.0)]
    misuses = [
        lambda i: table[i],                 # __index__
        lambda i: table[0] if i else table[1],   # __bool__
        lambda i: table[0] * (i == 1),      # comparison
        lambda i: table[0] * (i < 1),
    ]
    for fn in misuses:
        step = micrograd.compile(fn, index_inputs="i")
        with pytest.raises(TypeError, match="only through micrograd.engine.take"):
            step(1)
    with pytest.raises(TypeError, match="unhashable"):
        hash(Index(1))
    assert repr(Index(3)) == "Index(3)"


def test_index_inputs_validation():
    def f(tokens):
        return Value(0.0)
    with pytest.raises(ValueError, match="names no parameter"):
        micrograd.compile(f, index_inputs=("tokns",))
    with pytest.raises(TypeError, match="a signature"):
        micrograd.compile(max, index_inputs="x")     # a builtin: no signature
    assert micrograd.compile(f, index_inputs="tokens").index_inputs == ("tokens",)


def test_take_of_non_values_while_recording_is_a_type_error():
    step = micrograd.compile(lambda i: take([1.0, 2.0], i) * Value(1.0), index_inputs="i")
    with pytest.raises(TypeError, match="needs Values"):
        step(0)


def test_recorded_takes_keep_memory_flat():
    table, weights = table_and_weights()
    step = micrograd.compile(lookup(table, weights), index_inputs=("tok", "target"))
    step(0, 0).backward()
    gc.collect()
    before = live_nodes()
    for k in range(200):
        step(k % 5, k % 3).backward()
    gc.collect()
    assert live_nodes() == before


# --- max and detach -----------------------------------------------------------------

nums = st.one_of(st.integers(-5, 5), finite)


@given(nums, nums)
def test_max_picks_like_python_and_routes_the_gradient(x, y):
    a, b = Value(x), Value(y)
    m = a.max(b)
    picked = max(x, y)                       # self on a tie, as Python does
    assert m.data == picked and type(m.data) is type(picked)
    assert m._op == "max"
    (m * 3).backward()
    assert (a.grad, b.grad) == ((3, 0) if x >= y else (0, 3))
    p = pure.Value(x).max(pure.Value(y))
    assert p.data == m.data
    assert Value(x).max(y).data == max(x, y)
    with pytest.raises(TypeError, match="max"):
        a.max("1")


@given(finite)
def test_detach_stops_the_gradient(x):
    a = Value(x)
    d = a.detach()
    assert d.data == x
    (d * a + a).backward()
    assert a.grad == x + 1                     # the detached factor is a constant
    p = pure.Value(x)
    (p.detach() * p + p).backward()
    assert p.grad == a.grad


def test_detached_max_recomputes_at_replay():
    # a softmax's shift as a Value: replays recompute it from new inputs
    def logsumexp(xs):
        m = xs[0]
        for v in xs[1:]:
            m = m.max(v)
        m = m.detach()
        return sum((v - m).exp() for v in xs).log() + m

    step = micrograd.compile(logsumexp)
    for xs in ([1.0, 2.0, 3.0], [800.0, -5.0, 799.0], [-3.0, 0.5, 0.25]):
        got = step(xs).data
        assert got == logsumexp([Value(x) for x in xs]).data
        assert math.isclose(got, max(xs) + math.log(sum(math.exp(x - max(xs)) for x in xs)),
                            rel_tol=1e-15)
    assert step.cache_info()["recordings"] == 1


# --- TraceWarning -------------------------------------------------------------------

def test_branch_on_data_warns_naming_the_line():
    fn = lambda x: x.relu() if x.data > 0 else x.tanh()   # noqa: E731
    line = fn.__code__.co_firstlineno
    step = micrograd.compile(fn)
    with pytest.warns(TraceWarning, match="check=True") as rec:
        assert step(1.0).data == 1.0
    assert len(rec) == 1
    assert rec[0].filename == __file__ and rec[0].lineno == line
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step(2.0)                              # once per compiled function
    # the replay is the recorded branch: what the warning is about
    assert step(-1.0).data == 0.0
    assert fn(Value(-1.0)).data == pytest.approx(-0.7615941559557649)


def test_check_runs_dynamically_and_does_not_warn():
    fn = lambda x: x.relu() if x.data > 0 else x.tanh()   # noqa: E731
    step = micrograd.compile(fn, check=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step(1.0)
        with pytest.raises(RuntimeError, match="differs"):
            step(-1.0)


@pytest.mark.parametrize("form", ["positional", "keyword", "mixed", "positional-only",
                                  "after *args"])
def test_index_inputs_in_every_call_form(form):
    """Index inputs passed by position (marked without binding the
    signature) or by keyword (bound): each form records once, then replays
    with each call's index."""
    table = [Value(float(k * k)) for k in range(5)]

    if form == "positional-only":
        def f(tok, /, x):
            return take(table, tok) * x
        call = lambda i: step(i, 2.0)                          # noqa: E731
    elif form == "after *args":
        def f(*xs, tok):
            return take(table, tok) * xs[0]
        call = lambda i: step(2.0, tok=i)                      # noqa: E731
    else:
        def f(x, tok):
            return take(table, tok) * x
        call = {"positional": lambda i: step(2.0, i),
                "keyword": lambda i: step(x=2.0, tok=i),
                "mixed": lambda i: step(2.0, tok=i)}[form]
    step = micrograd.compile(f, index_inputs="tok")
    for i in [1, 3, 0, 4, -2]:
        assert call(i).data == 2.0 * table[i].data
    assert step.cache_info()["recordings"] == 1
