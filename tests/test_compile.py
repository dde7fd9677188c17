"""micrograd.compile: a replayed recording must give what running the same
code dynamically gives (bit for bit, or to 1e-9 where the code bakes in a
constant read from .data), re-record on new structure, keep memory flat and
fail clearly."""

import gc
import math
import random
import warnings

import pytest

import micrograd
from micrograd.data import make_moons
from micrograd.demo import loss_of_inputs
from micrograd.capture import TraceWarning
from micrograd.engine import Value
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam

from conftest import live_nodes


# The demo's loss, with the inputs already Values (as compile gives them).
moons_loss = loss_of_inputs


def seeded_mlp():
    random.seed(1337)
    return MLP(2, [16, 16, 1])


def test_moons_training_replay_equals_dynamic_bit_for_bit():
    X, y = make_moons(60, 0.1, seed=3)
    dyn, rep = seeded_mlp(), seeded_mlp()
    opt_d, opt_r = SGD(dyn.parameters(), lr=1.0), SGD(rep.parameters(), lr=1.0)
    step = micrograd.compile(lambda X: moons_loss(rep, X, y))
    for k in range(40):
        loss_d, scores_d = moons_loss(dyn, [list(map(Value, r)) for r in X], y)
        loss_r, scores_r = step(X)
        assert loss_r.data == loss_d.data, k
        assert [s.data for s in scores_r] == [s.data for s in scores_d]
        for model, opt, loss in ((dyn, opt_d, loss_d), (rep, opt_r, loss_r)):
            opt.zero_grad()
            loss.backward()
            opt.lr = 1.0 - 0.9 * k / 100
        assert [p.grad for p in rep.parameters()] == [p.grad for p in dyn.parameters()]
        opt_d.step()
        opt_r.step()
    assert step.cache_info()["recordings"] == 1


def softmax_xent(logits, target):
    """Cross-entropy with the max-shift read from .data (a baked constant)."""
    m = max(v.data for v in logits)
    exps = [(v - m).exp() for v in logits]
    total = sum(exps)
    return -(exps[target] / total).log()


SHIFT_LINE = softmax_xent.__code__.co_firstlineno + 2


def test_gpt_like_step_with_data_dependent_constant_agrees_to_1e9():
    rng = random.Random(0)
    vocab, dim = 6, 4
    emb = [[Value(rng.gauss(0, 0.5)) for _ in range(dim)] for _ in range(vocab)]
    head = [[Value(rng.gauss(0, 0.5)) for _ in range(dim)] for _ in range(vocab)]
    params = [p for row in emb + head for p in row]

    def step(tokens):
        loss = 0
        for a, b in zip(tokens, tokens[1:]):
            h = [e.tanh() for e in emb[a]]
            logits = [micrograd.engine.dot(w, h) for w in head]
            loss = loss + softmax_xent(logits, b)
        return loss * (1.0 / (len(tokens) - 1))

    compiled = micrograd.compile(step)
    opt = Adam(params, lr=0.05)
    doc = [1, 4, 2, 5, 0, 3]
    for i in range(15):
        if i == 0:                        # the shift read from .data is baked in
            with pytest.warns(TraceWarning, match="reads the data") as record:
                loss_c = compiled(doc)
            assert [(w.filename, w.lineno) for w in record] == [(__file__, SHIFT_LINE)]
        else:
            loss_c = compiled(doc)        # the ints pick wiring: part of the key
        opt.zero_grad()
        loss_c.backward()
        grads_c = [p.grad for p in params]
        loss_d = step(doc)
        opt.zero_grad()
        loss_d.backward()
        grads_d = [p.grad for p in params]
        assert math.isclose(loss_c.data, loss_d.data, rel_tol=1e-9)
        for gc_, gd in zip(grads_c, grads_d):
            assert math.isclose(gc_, gd, rel_tol=1e-9, abs_tol=1e-12)
        opt.step()
    assert compiled.cache_info()["recordings"] == 1


def test_new_structure_records_again_within_a_bounded_cache():
    w = Value(0.5)
    f = micrograd.compile(lambda xs: sum(x * w for x in xs), cache_size=2)
    assert f([1.0, 2.0]).data == 1.5
    assert f([1.0, 2.0, 3.0]).data == 3.0
    assert f([4.0, 4.0]).data == 4.0            # replay of the first recording
    assert f.cache_info()["recordings"] == 2
    assert f([1.0]).data == 0.5                 # evicts the least recently used
    assert f.cache_info()["recordings"] == 2
    assert f([1.0, 1.0, 1.0]).data == 1.5       # evicted: recorded again
    f.cache_clear()
    assert f.cache_info()["recordings"] == 0


def test_int_arguments_are_structure_and_floats_are_inputs():
    table = [Value(float(k)) for k in range(5)]
    calls = []

    def pick(i, scale):
        calls.append(i)
        return table[i] * scale

    f = micrograd.compile(pick)
    assert f(2, 10.0).data == 20.0
    assert f(2, 0.5).data == 1.0          # replay: new float, same wiring
    assert f(3, 0.5).data == 1.5          # another int: recorded anew
    assert calls == [2, 3]


def test_parameters_are_read_live_and_outputs_update_in_place():
    w = Value(2.0)
    f = micrograd.compile(lambda x: (w * x, [w + x]))
    out, (s,) = f(3.0)
    assert (out.data, s.data) == (6.0, 5.0)
    w.data = 10.0
    out2, (s2,) = f(3.0)
    assert out2 is out and s2 is s            # the same recorded Values
    assert (out.data, s.data) == (30.0, 13.0)
    out.backward()
    assert w.grad == 3.0


def test_numpy_inputs_and_kwargs():
    np = pytest.importorskip("numpy")
    w = [Value(1.0), Value(-1.0)]
    f = micrograd.compile(lambda X, bias=0.0: [micrograd.engine.dot(w, row) + bias
                                               for row in X])
    X = np.array([[1.0, 2.0], [3.0, 5.0]])
    assert [v.data for v in f(X, bias=0.5)] == [-0.5, -1.5]
    assert [v.data for v in f(X * 2, bias=1.0)] == [-1.0, -3.0]
    assert f.cache_info()["recordings"] == 1


def test_check_mode_catches_data_dependent_control_flow():
    def f(x):
        return x * 2.0 if x.data > 0 else x.relu()

    plain = micrograd.compile(f)
    with pytest.warns(TraceWarning, match=r"check=True") as record:
        assert plain(1.0).data == 2.0
    assert len(record) == 1 and record[0].lineno == f.__code__.co_firstlineno + 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # once per compiled function
        assert plain(-1.0).data == -2.0       # baked: the recorded branch
        checked = micrograd.compile(f, check=True)   # checking: no warning
        assert checked(1.0).data == 2.0
    assert checked(3.0).data == 6.0
    with pytest.raises(RuntimeError, match="differs from the recording"):
        checked(-1.0)


def test_strict_check_catches_constants_read_from_data():
    def f(x):
        return x - x.data                     # a constant taken from .data

    lenient = micrograd.compile(f, check=True)    # checks, so no TraceWarning
    lenient(1.0)
    assert lenient(2.0).data == 1.0           # replay keeps the recorded constant
    strict = micrograd.compile(f, check="strict")
    strict(1.0)
    with pytest.raises(RuntimeError):
        strict(2.0)


def test_memory_is_flat_over_many_replays_and_freed_with_the_function():
    gc.collect()
    before = live_nodes()
    model = seeded_mlp()
    X, y = make_moons(20, 0.1, seed=1)
    opt = SGD(model.parameters(), lr=0.1)
    step = micrograd.compile(lambda X: moons_loss(model, X, y)[0])
    step(X).backward()
    after_first = live_nodes()
    for _ in range(300):
        loss = step(X)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert live_nodes() == after_first
    del step, loss, opt, model
    gc.collect()
    assert live_nodes() == before


def test_failures_leave_nothing_behind_and_replay_raises_like_python():
    gc.collect()
    before = live_nodes()
    f = micrograd.compile(lambda x: (x * 2.0).log())
    with pytest.raises(ValueError, match="math domain error"):
        f(-1.0)                               # fails while recording
    assert live_nodes() == before
    assert f(1.0).data == math.log(2.0)
    with pytest.raises(ValueError, match="math domain error"):
        f(-3.0)                               # fails on replay
    assert f(4.0).data == math.log(8.0)      # and keeps working

    with pytest.raises(TypeError, match="cannot take an argument"):
        f([1.0, {2.0}])
    with pytest.raises(TypeError, match="needs a function"):
        micrograd.compile(3)
    with pytest.raises(ValueError, match="cache_size"):
        micrograd.compile(lambda: 0, cache_size=0)


def test_compiled_call_inside_a_recording_runs_inline():
    w = Value(3.0)
    inner = micrograd.compile(lambda x: x * w)
    outer = micrograd.compile(lambda x: inner(x) + 1.0)
    assert outer(2.0).data == 7.0
    assert outer(4.0).data == 13.0
    assert inner.cache_info()["recordings"] == 0


def test_graph_built_outside_is_backpropagated_through():
    a = Value(1.5)
    b = a * a                                  # made outside the function
    f = micrograd.compile(lambda x: b * x)
    out = f(2.0)
    out.backward()
    assert a.grad == 2.0 * 2 * 1.5
    a.grad = 0.0
    b.grad = 0.0
    out = f(3.0)
    out.backward()
    assert a.grad == 3.0 * 2 * 1.5
