"""Code that extends micrograd works as with the original.

Each pattern (ops written in Python, monkeypatching, subclasses of Value and
of nn's classes, attribute writes by any route, graph walks keyed by id(),
ints, numpy, star imports, attributes, copies) runs the same user code on
this package and on micrograd 0.1.0 loaded from its wheel (the `original`
fixture), and compares what they print or compute, exactly.
"""

import copy
import gc
import math
import pickle
import random
import warnings
import weakref

import numpy as np
import pytest
from hypothesis import given, settings

import micrograd
import micrograd.engine
import micrograd.nn as nn
from micrograd.capture import TraceWarning
from micrograd.engine import Value

from conftest import examples, live_nodes, pure_value, run_python
from exprgraph import ENGINE_OPS, PYTHON_OPS, programs, run
from exprgraph import py_exp, py_tanh as lecture_tanh   # ops as users write them


@pytest.fixture
def engines(original):
    """(ours, theirs): the engine and nn modules of both packages."""
    return (micrograd.engine, nn), (original.engine, original.nn)


def both(engines, fn):
    """fn(engine, nn) on this package and on the original."""
    (e1, n1), (e2, n2) = engines
    return fn(e1, n1), fn(e2, n2)


# --- ops written in Python --------------------------------------------------------------


def lecture_neuron(V):
    """The lecture's neuron: x1*w1 + x2*w2 + b, then tanh, then backward."""
    x1, x2 = V(2.0), V(0.0)
    w1, w2 = V(-3.0), V(1.0)
    b = V(6.8813735870195432)
    n = x1 * w1 + x2 * w2 + b
    o = n.tanh()
    o.backward()
    return [(v.data, v.grad) for v in (x1, x2, w1, w2, b, n, o)]


def test_monkeypatched_op_with_a_closure(engines, monkeypatch):
    (ours, _), (theirs, _) = engines
    monkeypatch.setattr(ours.Value, "tanh", lecture_tanh)
    monkeypatch.setattr(theirs.Value, "tanh", lecture_tanh, raising=False)
    assert lecture_neuron(ours.Value) == lecture_neuron(theirs.Value)
    assert ours.Value(0.5).tanh()._op == "tanh"


def test_a_new_method_and_a_new_dunder(engines, monkeypatch):
    def exp(self):
        return py_exp(self)

    def run(e, _):
        x = e.Value(0.7)
        y = (x * 2).exp() * x + x.exp() / 3      # Python ops between C ops
        y.backward()
        return y.data, x.grad

    (ours, _), (theirs, _) = engines
    for cls in (ours.Value, theirs.Value):
        monkeypatch.setattr(cls, "exp", exp, raising=False)
    assert both(engines, run)[0] == both(engines, run)[1]


def subclass_of(base):
    """A Value subclass with its own ops, written the micrograd way (the
    issue's example: the gradient of x.exp()/ (1 + x) at 1.0)."""
    class MyValue(base):
        def exp(self):
            out = MyValue(math.exp(self.data), (self,), 'exp')

            def _backward():
                self.grad += out.data * out.grad
            out._backward = _backward
            return out

        def __truediv__(self, other):
            other = other if isinstance(other, base) else MyValue(other)
            out = MyValue(self.data / other.data, (self, other), '/')

            def _backward():
                self.grad += (1 / other.data) * out.grad
                other.grad += (-self.data / other.data ** 2) * out.grad
            out._backward = _backward
            return out
    return MyValue


def test_value_subclass_with_its_own_ops(engines):
    def run(e, _):
        V = subclass_of(e.Value)
        x = V(1.0)
        y = x.exp() / (V(1.0) + x)
        y.backward()
        return y.data, x.grad
    ours, theirs = both(engines, run)
    assert ours == theirs
    assert round(ours[1], 4) == 0.6796


def test_the_original_engine_as_a_subclass(original):
    # The original's whole Value class, every op in Python, on top of ours:
    # the README example gives the original's numbers.
    namespace = {"Base": Value}
    exec(original.engine_source.replace("class Value:", "class Value(Base):", 1), namespace)
    Sub = namespace["Value"]
    from exprgraph import readme_example
    a1, b1, g1 = readme_example(Sub)
    a2, b2, g2 = readme_example(original.engine.Value)
    assert g1.data == g2.data
    # (the original's grads depend in the last bit on its set order)
    assert math.isclose(a1.grad, a2.grad, rel_tol=1e-14)
    assert math.isclose(b1.grad, b2.grad, rel_tol=1e-14)
    assert isinstance(g1, Value) and type(g1) is Sub


def test_python_ops_interleave_with_c_ops_in_one_topological_order(engines, monkeypatch):
    # A Python op whose input comes from C ops, and C ops above it: each
    # closure runs after every gradient into its output has arrived.
    order = []

    def traced_tanh(self):
        out = lecture_tanh(self)
        inner = out._backward

        def _backward():
            order.append(out.data)
            inner()
        out._backward = _backward
        return out

    def run(e, _):
        order.clear()
        x = e.Value(0.3)
        a = (x * x + 1).tanh()
        b = (a * 3 + x).tanh()
        y = a * b + b * 2
        y.backward()
        return x.grad, list(order)

    (ours, _), (theirs, _) = engines
    for cls in (ours.Value, theirs.Value):
        monkeypatch.setattr(cls, "tanh", traced_tanh, raising=False)
    mine, orig = both(engines, run)
    assert mine[0] == orig[0]
    assert mine[1] == orig[1] and len(mine[1]) == 2       # b before a


def test_a_closure_may_build_and_differentiate_other_graphs():
    # Anything can happen inside a _backward: here it grows the arena past
    # its capacity and runs backward() of another graph.
    keep = []

    def busy(self):
        out = Value(self.data * 2, (self,), 'busy')

        def _backward():
            n = micrograd.arena_stats()["capacity"]
            keep.extend(Value(1.0) for _ in range(n))      # the arena moves
            z = Value(3.0)
            (z * z).backward()
            assert z.grad == 6.0
            self.grad += 2 * out.grad
        out._backward = _backward
        return out

    x = Value(1.5)
    y = (busy(x * x) + x) * 3
    y.backward()
    assert x.grad == 3 * (2 * 2 * 1.5 + 1)
    keep.clear()


def test_an_error_in_a_closure_propagates_and_leaves_the_graph_usable():
    x = Value(2.0)
    out = Value(x.data, (x,), 'boom')

    def _backward():
        raise KeyError("boom")
    out._backward = _backward
    y = out * 3
    with pytest.raises(KeyError):
        y.backward()
    assert out.grad == 3 and x.grad == 0       # the sweep stopped at the closure
    del out._backward
    y.backward()
    assert out.grad == 6 and x.grad == 0       # a hand-built node passes nothing on


def test_python_ops_are_freed_by_one_pass_of_the_cyclic_gc():
    gc.collect()
    before = live_nodes()
    for _ in range(3):
        x = Value(0.5)
        y = x
        for _ in range(30):
            y = lecture_tanh(y) * 1.0 + 0.0          # Python ops between C ops
        y.backward()
        del x, y
        gc.collect()
        assert live_nodes() == before


def test_mixing_python_and_c_ops_gives_the_pure_engines_numbers():
    mixed = PYTHON_OPS * 3 + ENGINE_OPS

    @settings(max_examples=examples(200))
    @given(programs(ops=mixed, max_steps=20))
    def check(program):
        ours, pure = run(program, Value), run(program, pure_value())
        for a, b in zip(ours, pure):
            assert a.data == b.data and type(a.data) is type(b.data)
            assert math.copysign(1, a.data) == math.copysign(1, b.data)
        ours[-1].backward()
        pure[-1].backward()
        scale = max([1.0] + [abs(p.grad) for p in pure])
        for a, b in zip(ours, pure):
            assert math.isclose(a.grad, b.grad, rel_tol=1e-12, abs_tol=1e-12 * scale)
    check()


def test_a_recorded_node_given_a_backward_later_gets_it_called():
    w = Value(2.0)
    f = micrograd.compile(lambda x: (x * w).relu() * 3)
    lecture_tanh(Value(0.0))             # a Python op elsewhere: recordings look again
    f(1.0)
    out = f(1.5)                         # replayed
    out.backward()
    assert w.grad == 3 * 1.5             # replay's sweep, unchanged
    relu = next(v for v in out._prev if v._op == 'ReLU')
    calls = []
    relu._backward = lambda: calls.append(relu.grad)
    w.grad = 0
    out = f(1.5)
    out.backward()
    assert calls == [3] and w.grad == 0          # the closure ran in the op's place


def test_compile_refuses_to_replay_a_python_op():
    f = micrograd.compile(lambda x: lecture_tanh(x * 2) + 1)
    with pytest.warns(TraceWarning, match="'tanh'"):
        first = f(0.25).data
    for x in (0.25, -1.0, 2.0):                     # no silent replay
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert f(x).data == math.tanh(2 * x) + 1 or \
                abs(f(x).data - (math.tanh(2 * x) + 1)) < 1e-15
    assert first == lecture_tanh(Value(0.5)).data + 1


# --- nn, whatever users do to it ----------------------------------------------------


def model_outputs(n, model, xs):
    outs = []
    for x in xs:
        out = model(x)
        outs.append([v.data for v in out] if isinstance(out, list) else out.data)
    return outs


XS = [[0.5, -1.25, 2.0], [0.0, 0.0, 0.0], [-3.0, 1.0, 0.1]]


def seeded(n, make, seed=5):
    random.seed(seed)
    return make(n)


def test_subclasses_with_their_own_init(engines):
    def run(e, n):
        class BiasNeuron(n.Neuron):
            def __init__(self, nin):
                self.w = [e.Value(random.uniform(-1, 1)) for _ in range(nin)]
                self.b = e.Value(0.5)
                self.nonlin = False

        class MyMLP(n.MLP):
            def __init__(self):
                self.layers = [n.Layer(3, 4), n.Layer(4, 1, nonlin=False)]

        class MyLayer(n.Layer):
            def __init__(self, nin, nout):
                self.neurons = [BiasNeuron(nin) for _ in range(nout)]

        random.seed(3)
        models = [MyMLP(), MyLayer(3, 2), BiasNeuron(3)]
        return [model_outputs(n, m, XS) for m in models] + [repr(models[2])]
    assert both(engines, run)[0] == both(engines, run)[1]


def test_subclass_with_its_own_call(engines):
    def run(e, n):
        class ResidualMLP(n.MLP):
            def __call__(self, x):
                h = self.layers[0](x)
                return self.layers[1](h) + h[0]
        random.seed(4)
        return model_outputs(n, ResidualMLP(3, [4, 1]), XS)
    assert both(engines, run)[0] == both(engines, run)[1]


def test_class_level_patch_of_neuron_call(engines, monkeypatch):
    def linear_call(self, x):
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b)

    (_, n1), (_, n2) = engines
    random.seed(6)
    ours = n1.MLP(3, [4, 4, 1])
    random.seed(6)
    theirs = n2.MLP(3, [4, 4, 1])
    before = model_outputs(n1, ours, XS)
    assert before == model_outputs(n2, theirs, XS)
    monkeypatch.setattr(n1.Neuron, "__call__", linear_call)
    monkeypatch.setattr(n2.Neuron, "__call__", linear_call)
    after = model_outputs(n1, ours, XS)
    assert after == model_outputs(n2, theirs, XS) and after != before
    monkeypatch.undo()
    assert model_outputs(n1, ours, XS) == before


def test_class_level_patch_of_value_ops_reaches_fused_layers(engines, monkeypatch):
    def leaky_relu(self):
        out = type(self)(self.data if self.data > 0 else 0.01 * self.data, (self,), 'LReLU')

        def _backward():
            self.grad += (1.0 if out.data > 0 else 0.01) * out.grad
        out._backward = _backward
        return out

    (e1, n1), (e2, n2) = engines
    random.seed(8)
    ours = n1.MLP(3, [4, 4, 1])
    random.seed(8)
    theirs = n2.MLP(3, [4, 4, 1])
    monkeypatch.setattr(e1.Value, "relu", leaky_relu)
    monkeypatch.setattr(e2.Value, "relu", leaky_relu)
    assert model_outputs(n1, ours, XS) == model_outputs(n2, theirs, XS)


def test_attribute_writes_by_any_route(engines):
    def run(e, n):
        random.seed(9)
        model = n.MLP(3, [4, 4, 1])
        outs = [model_outputs(n, model, XS)]          # plans exist now
        neuron = model.layers[0].neurons[1]
        vars(neuron)['b'] = e.Value(100)
        outs.append(model_outputs(n, model, XS))
        neuron.__dict__['nonlin'] = False
        outs.append(model_outputs(n, model, XS))
        model.layers[1].neurons[0].w[0] = e.Value(-2.0)
        outs.append(model_outputs(n, model, XS))
        model.layers[1].neurons[2].w.append(e.Value(5.0))     # zip cuts it
        outs.append(model_outputs(n, model, XS))
        model.layers[1].neurons[3] = model.layers[1].neurons[0]
        outs.append(model_outputs(n, model, XS))
        setattr(model.layers[2].neurons[0], 'b', e.Value(-1.0))
        outs.append(model_outputs(n, model, XS))
        model.layers.insert(2, n.Layer(4, 4))
        outs.append(model_outputs(n, model, XS))
        return outs
    ours, theirs = both(engines, run)
    assert ours == theirs


def test_zero_grad_parameters_and_reprs_as_the_original(engines):
    def run(e, n):
        random.seed(10)
        model = n.MLP(2, [3, 1])
        model([1.0, 2.0]).backward()
        grads = [p.grad for p in model.parameters()]
        model.zero_grad()
        return (repr(model), grads, [repr(p) for p in model.parameters()])
    assert both(engines, run)[0] == both(engines, run)[1]


def test_star_import_of_nn_exports_the_originals_names(original):
    public = {name for name in vars(original.nn) if not name.startswith("_")}
    assert set(nn.__all__) == public
    ns = {}
    exec("from micrograd.nn import *\nv = Value(1.0) * 2", ns)
    assert ns["v"].data == 2.0 and "random" in ns


def test_star_import_of_micrograd_shadows_no_builtin():
    import builtins
    ns = {}
    exec("from micrograd import *", ns)
    assert not [name for name in ns if name != "__builtins__" and hasattr(builtins, name)]
    ns["__builtins__"] = builtins
    exec("c = compile('1+1', '<e>', 'eval')", ns)
    assert eval(ns["c"]) == 2


# --- handles: one node, one object ----------------------------------------------------


def walk_by_id(root):
    """An id()-keyed walk that does not keep the Values alive."""
    seen, stack = set(), [root]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.extend(v._prev)
    return len(seen)


def test_graph_walks_keyed_by_id(engines):
    def run(e, n):
        random.seed(11)
        model = n.MLP(2, [3, 3, 1])
        loss = sum((model([x, -x]) - 1) ** 2 for x in (0.5, 1.5))
        return walk_by_id(loss)
    ours, theirs = both(engines, run)
    assert ours == theirs > 100


def test_prev_gives_the_same_objects_while_the_nodes_live():
    x = Value(1.0)
    y = (x * 2 + 1).relu() * (x + 3)
    first = {id(v): v for v in y._prev}
    del first
    gc.collect()
    ids = [sorted(id(v) for v in y._prev) for _ in range(3)]
    assert ids[0] == ids[1] == ids[2]
    child = next(iter(y._prev))
    assert all(c is child or c is not child for c in y._prev)
    assert child in y._prev


def test_walk_handles_go_with_the_graph():
    gc.collect()
    before = live_nodes()
    x = Value(2.0)
    for _ in range(5):
        y = x
        for _ in range(200):
            y = y * 1.0 + 1.0
        assert walk_by_id(y) == 801
        del y
    assert live_nodes() == before + 1
    del x
    assert live_nodes() == before


def test_handles_stay_untracked_unless_they_hold_attributes():
    x = Value(1.0)
    y = x * 2 + 1
    assert not gc.is_tracked(x) and not gc.is_tracked(y)
    y.name = "y"
    assert gc.is_tracked(y)


# --- printed and typed as the original --------------------------------------------------


def test_ints_print_as_the_original(engines):
    def run(e, n):
        V = e.Value
        a, b = V(2), V(2) * 3
        c = a * b + (-a) - 1
        d = c ** 2 + c.relu() + V(-1.5).relu()
        d.backward()
        f = V(3) / 2
        return [repr(v) for v in (a, b, c, d, f, V(2.0), V(True) + 1)]
    assert both(engines, run)[0] == both(engines, run)[1]


def test_grads_stay_ints_while_only_ints_are_added(engines):
    def run(e, n):
        V = e.Value
        x, y = V(3), V(4.0)
        z = x * x + y + x
        z.backward()
        return repr(x), repr(y), repr(z)
    assert both(engines, run)[0] == both(engines, run)[1]


def test_the_type_says_micrograd_engine_value():
    assert Value.__module__ == "micrograd.engine" and Value.__qualname__ == "Value"
    assert repr(Value) == "<class 'micrograd.engine.Value'>"
    with pytest.raises(TypeError, match="'micrograd.engine.Value' and 'int'"):
        Value(1.0) @ 2


# --- numpy ---------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_arrays_broadcast_over_values_as_with_the_original(engines, op):
    def run(e, n):
        w, b = e.Value(0.5), e.Value(-2.0)
        arr = np.array([1.0, 3.0])
        out = eval(f"arr {op} w + b")
        return out.dtype, [type(v).__name__ for v in out], [v.data for v in out]
    ours, theirs = both(engines, run)
    assert ours == theirs and ours[0] == object


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_a_value_with_an_array_on_its_right(op):
    # The original makes one Value holding an array here; a node holds a
    # number, so this gives the object array the other order gives.
    w, arr = Value(0.5), np.array([1.0, 3.0])
    out = eval(f"w {op} arr")
    assert out.dtype == object and [v.data for v in out] == [eval(f"0.5 {op} x") for x in arr]


# --- attributes and copies -----------------------------------------------------------------


def test_attributes_vars_and_weakrefs(engines):
    def run(e, n):
        v = e.Value(1.5)
        v.name = "x1"
        v.label = "x"
        return sorted((k, val) for k, val in vars(v).items() if k in ("name", "label"))
    assert both(engines, run)[0] == both(engines, run)[1]
    v = Value(2.0)
    r = weakref.ref(v)
    assert r() is v
    del v
    assert r() is None


def test_copies_keep_label_attributes_and_the_subclass(engines):
    def run(e, n):
        V = subclass_of(e.Value)
        v = V(2.5)
        v.label, v.note = "w", [1, 2]
        v.grad = 0.25
        out = []
        for c in (copy.copy(v), copy.deepcopy(v)):
            out.append((type(c).__name__, c.data, c.grad, c.label, c.note, c is v))
        return out
    assert both(engines, run)[0] == both(engines, run)[1]


def test_pickle_keeps_label_attributes_and_the_class():
    v = Value(2.5)
    v.label = "w"
    v.grad = 1
    w = pickle.loads(pickle.dumps(v))
    assert (type(w), w.data, w.grad, w.label, type(w.grad)) == (Value, 2.5, 1, "w", int)


def test_a_subclass_that_writes_out_the_originals_init():
    class Copied(Value):
        def __init__(self, data, _children=(), _op=''):
            self.data = data
            self.grad = 0
            self._backward = lambda: None
            self._prev = set(_children)
            self._op = _op

    a, b = Copied(2.0), Copied(3.0)
    c = Copied(a.data * b.data, (a, b), '*')
    assert c._prev == {a, b} and c._op == '*' and c.data == 6.0
    (c * 2).backward()
    assert c.grad == 2 and a.grad == 0


def test_blank_values_and_reinit_do_not_leak():
    gc.collect()
    before = live_nodes()
    v = Value(1.0)
    for _ in range(10):
        v.__init__(2.0, (v,))                   # a chain, not a cycle
    del v
    gc.collect()
    assert live_nodes() == before


def test_original_suite_style_usage_in_a_fresh_interpreter():
    # micrograd's own test: its `test_sanity_check` on this package, run as
    # a user would, in a fresh process.
    code = (
        "from micrograd.engine import Value\n"
        "x = Value(-4.0)\nz = 2 * x + 2 + x\nq = z.relu() + z * x\n"
        "h = (z * z).relu()\ny = h + q + q * x\ny.backward()\n"
        "print(y.data, x.grad)\n")
    assert run_python(code).split() == ["-20.0", "46.0"]
