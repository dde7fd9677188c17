"""Bad input to every public entry point: the exception, a message that names
the problem, no node left behind, and an engine that keeps working.

(``test_engine_cases`` checks that the ops refuse non-numbers and that the
math errors leave no node behind, on both engines; here every entry point of
the compiled engine is driven from one table, and each message is checked.)
"""

import array
import gc
import math
import re
from fractions import Fraction

import numpy as np
import pytest

import micrograd
from micrograd.data import make_moons
from micrograd.engine import Value, dot
from micrograd.nn import MLP, Layer, Neuron
from micrograd.optim import SGD, Adam
from micrograd_c.kernels import Stack
from micrograd_c.tape import Tape

from conftest import live_nodes, pure_value

# Operands no op takes. (numpy arrays are not among them: an op with one
# broadcasts over it, as with the original; see test_extending.)
NON_NUMBERS = ["1", None, [1.0], (1.0,), 1 + 2j, {1: 2}, object()]
# What Value() and the setters refuse on top.
NON_DATA = NON_NUMBERS + [np.array([1.0, 2.0]), np.array([[1.0, 2.0], [3.0, 4.0]]),
                          np.array([1.0]), np.array(1.0)]


def name_of(bad):
    return type(bad).__name__


def names_the_operand(bad):
    """What the TypeError of `Value op bad` says. Python words it for
    sequences ("can't multiply sequence ...")."""
    if isinstance(bad, (list, tuple, str)):
        return rf"{name_of(bad)}|sequence"
    return re.escape(name_of(bad))


def still_works():
    """The engine is intact: a fresh graph computes and differentiates."""
    a = Value(2.0)
    b = (a * a + 1).tanh() * 3 - a / 4
    b.backward()
    assert b.data == math.tanh(5.0) * 3 - 2.0 * 4 ** -1
    assert a.grad == 3 * (1 - math.tanh(5.0) ** 2) * 4.0 - 0.25


@pytest.fixture(autouse=True, scope="module")
def no_cyclic_gc():
    """Node counts here are exact: the cyclic garbage collector must not free
    older garbage in the middle of a count."""
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def fails_cleanly(call, exc, pattern):
    """call() raises exc with a message matching pattern, leaves the arena as
    it found it, and the engine still works."""
    before = live_nodes()
    with pytest.raises(exc) as info:
        call()
    message = str(info.value)
    del info                      # its traceback holds the failed call's frames
    assert re.search(pattern, message), message
    assert live_nodes() == before
    still_works()
    return message


X = Value(1.5)                    # made once: no case may free or change it


def binary_cases():
    for bad in NON_NUMBERS:
        words = names_the_operand(bad)
        ops = {
            "add": lambda b: X + b, "radd": lambda b: b + X,
            "sub": lambda b: X - b, "rsub": lambda b: b - X,
            "mul": lambda b: X * b, "rmul": lambda b: b * X,
            "div": lambda b: X / b, "rdiv": lambda b: b / X,
            "pow": lambda b: X ** b, "rpow": lambda b: b ** X,
        }
        for op, f in ops.items():
            yield pytest.param(f, bad, words, id=f"{op}-{name_of(bad)}")


@pytest.mark.parametrize("f, bad, words", list(binary_cases()))
def test_ops_refuse_non_numbers(f, bad, words):
    fails_cleanly(lambda: f(bad), TypeError, words)
    assert X.data == 1.5 and X._prev == set()


@pytest.mark.parametrize("bad", NON_DATA, ids=name_of)
def test_value_and_setters_refuse_non_numbers(bad):
    fails_cleanly(lambda: Value(bad), TypeError,
                  rf"Value data must be a real number .*not '{name_of(bad)}'")
    v = Value(0.25)
    fails_cleanly(lambda: setattr(v, "data", bad), TypeError, rf"data .*'{name_of(bad)}'")
    fails_cleanly(lambda: setattr(v, "grad", bad), TypeError, rf"grad .*'{name_of(bad)}'")
    assert (v.data, v.grad) == (0.25, 0)


OTHER_CASES = [
    # Value's other arguments and methods
    ("children not iterable", lambda: Value(1.0, 5), TypeError, r"'int' object is not iterable"),
    ("children not Values", lambda: Value(1.0, (X, 2.0)), TypeError, r"_children must be Values, not 'float'"),
    ("pow modulus", lambda: pow(X, 2, 3), TypeError, r"modulus"),
    ("rpow modulus", lambda: pow(2, X, 3), TypeError, r"modulus"),
    ("relu argument", lambda: X.relu(1), TypeError, r"relu\(\) takes no arguments"),
    ("backward argument", lambda: X.backward(1.0), TypeError, r"backward\(\) takes exactly 0"),
    ("numpy int reciprocal", lambda: X / np.int64(2), ValueError, r"negative integer powers"),
    ("blank Value", lambda: Value.__new__(Value) + 1, AttributeError, r"has no data"),
    # dot: what the expression it stands for raises
    ("dot not iterable", lambda: dot(5.0, [1.0]), TypeError, r"'float' object is not iterable"),
    ("dot lengths", lambda: dot([X, X, X], [1.0, 2.0]), ValueError, r"3 weights but 2 inputs"),
    ("dot lengths 2", lambda: dot([X], []), ValueError, r"1 weights but 0 inputs"),
    ("dot bad weight", lambda: dot([X, "a"], [1.0, 2.0]), TypeError, r"can't multiply sequence"),
    ("dot bad input", lambda: dot([X, X], [1.0, None]), TypeError, r"'NoneType'"),
    ("dot bad start", lambda: dot([X], [1.0], "s"), TypeError, r"can't sum strings"),
    ("dot complex", lambda: dot([X], [1j]), TypeError, r"'complex'"),
    # Neuron / Layer / MLP: the original's code, so the original's errors
    ("mlp not iterable", lambda: MLP(2, [2, 1])(5.0), TypeError, r"'float' object is not iterable"),
    ("mlp None", lambda: MLP(2, [2, 1])(None), TypeError, r"'NoneType' object is not iterable"),
    ("mlp str item", lambda: MLP(2, [2, 1])(["1", 2.0]), TypeError, r"can't multiply sequence"),
    ("mlp complex item", lambda: MLP(2, [2, 1])([1.0, 2j]), TypeError, r"'complex'"),
    ("neuron size str", lambda: Neuron("3"), TypeError, r"'str' object cannot be interpreted"),
    ("neuron activation", lambda: Neuron(2, activation="softplus"), ValueError, r"'softplus'"),
    ("Stack bad layer", lambda: Stack([5]), TypeError, r"each layer is \(rows, biases, acts\)"),
    ("Stack bad code", lambda: Stack([([[X]], [X], [99])]), ValueError, r"not a unary op code"),
    ("Stack no layers", lambda: Stack([]), ValueError, r"no layers"),
    # micrograd.data
    ("moons n", lambda: make_moons(1), ValueError, r"n_samples must be an int >= 2, got 1"),
    ("moons n str", lambda: make_moons("a"), ValueError, r"n_samples .*'a'"),
    ("moons noise", lambda: make_moons(10, noise=-1.0), ValueError, r"noise must be >= 0, got -1.0"),
    ("moons noise nan", lambda: make_moons(10, noise=math.nan), ValueError, r"noise .*nan"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in OTHER_CASES],
                         ids=[c[0] for c in OTHER_CASES])
def test_other_entry_points(call, exc, pattern):
    fails_cleanly(call, exc, pattern)


def _neuron_with(**attrs):
    n = Neuron(2)
    for k, v in attrs.items():
        setattr(n, k, v)
    return n


@pytest.mark.parametrize("attrs, exc, pattern", [
    ({"activation": "bogus"}, AttributeError, r"has no attribute 'bogus'"),
    ({"b": "x"}, TypeError, r"can't sum strings|can only concatenate str"),
    ({"w": [Value(1.0), "w"]}, TypeError, r"can't multiply sequence"),
])
def test_neurons_broken_by_hand_fail_cleanly_in_layers(attrs, exc, pattern):
    layer = Layer(2, 3)
    layer([1.0, 2.0])                            # a cached plan exists
    layer.neurons[1] = _neuron_with(**attrs)
    with pytest.raises(exc):
        layer([1.0, 2.0])                        # drops the stale plan (and its neuron)
    fails_cleanly(lambda: layer([1.0, 2.0]), exc, pattern)
    fails_cleanly(lambda: layer.neurons[1]([1.0, 2.0]), exc, pattern)


# --- math errors: Python's exception and Python's message ------------------------------


def python_error(f):
    try:
        f()
    except Exception as exc:  # noqa: BLE001 - the very exception is the point
        return type(exc), str(exc)
    raise AssertionError("Python's float math did not fail")


@pytest.mark.parametrize("ours, floats", [
    (lambda: Value(0.0).log(), lambda: math.log(0.0)),
    (lambda: Value(-1.0).log(), lambda: math.log(-1.0)),
    (lambda: Value(-math.inf).log(), lambda: math.log(-math.inf)),
    (lambda: Value(0.0) ** -1, lambda: 0.0 ** -1),
    (lambda: Value(0.0) ** -2.5, lambda: 0.0 ** -2.5),
    (lambda: Value(-0.0) ** Value(-3.0), lambda: (-0.0) ** -3.0),
    (lambda: 1 / Value(0.0), lambda: 0.0 ** -1),
    (lambda: Value(1.0) / 0, lambda: 0 ** -1),       # x / 0 is x * 0 ** -1
    (lambda: Value(1000.0).exp(), lambda: math.exp(1000.0)),
    (lambda: Value(10.0) ** 400, lambda: 10.0 ** 400),
    (lambda: 10 ** Value(400.0), lambda: 10.0 ** 400.0),
    (lambda: Value(-10.0) ** 401, lambda: (-10.0) ** 401),
], ids=["log0", "log-1", "log-inf", "0**-1", "0**-2.5", "-0**-3", "1/0", "x/0", "exp1000",
        "10**400", "10**V400", "-10**401"])
def test_math_errors_are_pythons(ours, floats):
    exc, message = python_error(floats)
    got = fails_cleanly(ours, exc, "")
    assert got == message


def test_negative_base_fractional_power_names_the_problem():
    fails_cleanly(lambda: Value(-8.0) ** (1 / 3), ValueError,
                  r"math domain error: a negative number cannot be raised to a fractional power")


def test_math_errors_deep_in_a_graph_leave_it_usable():
    a = Value(3.0)
    h = (a * 2 - 6).tanh()             # 0.0
    fails_cleanly(lambda: h.log(), ValueError, "math domain error")
    fails_cleanly(lambda: (h + a) / h, ZeroDivisionError, "negative power")
    fails_cleanly(lambda: (a * 400).exp(), OverflowError, "math range error")
    out = (h + a).log()
    out.backward()
    assert a.grad == (1.0 / 3.0) * (1 + 2 * (1 - 0.0))


# --- non-finite numbers flow through as float math does -----------------------------

SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -2.5]
UNARY = {
    "relu": lambda a: a.relu(), "tanh": lambda a: a.tanh(), "exp": lambda a: a.exp(),
    "log": lambda a: a.log(), "sigmoid": lambda a: a.sigmoid(), "neg": lambda a: -a,
    "sq": lambda a: a ** 2, "inv": lambda a: a ** -1, "sqrt": lambda a: a ** 0.5,
    "pow0": lambda a: a ** 0, "2**": lambda a: 2 ** a, "+nan": lambda a: a + math.nan,
    "*inf": lambda a: a * math.inf,
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b,
}


def same_float(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def outcome(build, V, *xs):
    """(data of the result and the inputs' grads after backward) or the
    exception type."""
    leaves = [V(x) for x in xs]
    try:
        out = build(*leaves)
    except (ValueError, ZeroDivisionError, OverflowError) as exc:
        return type(exc)
    out.backward()
    return [out.data] + [v.grad for v in leaves]


def agree(ours, pure):
    if isinstance(ours, type) or isinstance(pure, type):
        return ours is pure
    return len(ours) == len(pure) and all(map(same_float, ours, pure))


@pytest.mark.parametrize("op", UNARY)
def test_unary_ops_on_non_finite_numbers_match_the_reference(op):
    P = pure_value()
    before = live_nodes()
    for x in SPECIAL:
        ours, pure = outcome(UNARY[op], Value, x), outcome(UNARY[op], P, x)
        assert agree(ours, pure), (op, x, ours, pure)
    assert live_nodes() == before


@pytest.mark.parametrize("op", BINARY)
def test_binary_ops_on_non_finite_numbers_match_the_reference(op):
    P = pure_value()
    before = live_nodes()
    for x in SPECIAL:
        for y in SPECIAL:
            ours, pure = outcome(BINARY[op], Value, x, y), outcome(BINARY[op], P, x, y)
            assert agree(ours, pure), (op, x, y, ours, pure)
    assert live_nodes() == before


def test_nan_and_inf_flow_through_a_model_and_training():
    model = MLP(2, [4, 1])
    opt = SGD(model.parameters(), lr=0.1)
    for x in ([math.nan, 1.0], [math.inf, -math.inf], [1e308, 1e308]):
        out = model(x)
        loss = out * out
        opt.zero_grad()
        loss.backward()
        opt.step()                      # nan/inf go into the weights: no crash
    assert any(math.isnan(p.data) for p in model.parameters())
    still_works()


def test_non_finite_numbers_replay():
    w = Value(2.0)
    f = micrograd.compile(lambda x: (x * w).exp().log())
    assert f(1.0).data == 2.0
    assert math.isnan(f(math.nan).data)
    assert f(math.inf).data == math.inf
    with pytest.raises(ValueError, match="math domain error"):
        f(-math.inf)                    # exp(-inf) = 0 and log(0) fails, as in Python
    assert f(0.5).data == 1.0


# --- compiled functions: wrong structure --------------------------------------------


@pytest.fixture
def compiled():
    w = Value(0.5)
    f = micrograd.compile(lambda v: v * w)
    assert f(1.0).data == 0.5           # recorded
    return f


@pytest.mark.parametrize("args, kwargs, exc, pattern", [
    (([1.0, 2.0],), {}, TypeError, r"can't multiply sequence"),
    (("a",), {}, TypeError, r"can't multiply sequence"),
    ((None,), {}, TypeError, r"'NoneType'"),
    ((1j,), {}, TypeError, r"'complex'"),
    (({1.0},), {}, TypeError, r"compile: cannot take an argument of type 'set'"),
    (({"a": 1.0},), {}, TypeError, r"unsupported operand type\(s\) for \*: 'dict'"),
    ((np.array([1j]),), {}, TypeError, r"unsupported numpy array of dtype complex128"),
    ((np.array([object()]),), {}, TypeError, r"unsupported numpy array of dtype object"),
    ((), {}, TypeError, r"missing 1 required positional argument"),
    ((1.0, 2.0), {}, TypeError, r"takes 1 positional argument but 2 were given"),
    ((1.0,), {"extra": 2.0}, TypeError, r"unexpected keyword argument 'extra'"),
], ids=["list", "str", "None", "complex", "set", "dict", "complex-array",
        "object-array", "no-argument", "two-arguments", "keyword"])
def test_compiled_function_refuses_wrong_structure(compiled, args, kwargs, exc, pattern):
    fails_cleanly(lambda: compiled(*args, **kwargs), exc, pattern)
    assert compiled(3.0).data == 1.5    # the recording still replays
    assert compiled.cache_info()["recordings"] == 1


def test_compile_options_are_checked():
    for kwargs, pattern in [({"check": "yes"}, r"check must be"),
                            ({"cache_size": 0}, r"cache_size must be an int >= 1"),
                            ({"cache_size": 2.5}, r"cache_size"),
                            ({"cache_size": True}, r"cache_size")]:
        fails_cleanly(lambda: micrograd.compile(lambda x: x, **kwargs), ValueError, pattern)
    fails_cleanly(lambda: micrograd.compile(None, check=True)(3), TypeError, r"needs a function")


# --- the recording API underneath (micrograd_c.tape.Tape) -----------------------------


def test_tape_misuse_raises_and_never_crashes():
    t = Tape()
    fails_cleanly(lambda: t.replay(array.array("d")), RuntimeError, r"before the recording")
    fails_cleanly(lambda: t.stop(), RuntimeError, r"stop\(\) without start\(\)")
    fails_cleanly(lambda: t.set_inputs([1.0]), TypeError, r"inputs must be Values")
    fails_cleanly(lambda: t.set_inputs(5), TypeError, r"not iterable")
    x = Value(1.0)
    t.set_inputs([x])
    fails_cleanly(lambda: t.set_inputs([x]), RuntimeError, r"comes once")
    t.start()
    other = Tape()
    with pytest.raises(RuntimeError, match="already in progress"):
        other.start()
    y = x * 2.0
    t.stop()
    assert t.register_root(y) and not t.register_root(x)
    fails_cleanly(lambda: t.start(), RuntimeError, r"records once")
    fails_cleanly(lambda: t.replay(array.array("d", [1.0, 2.0])), ValueError,
                  r"takes 1 numbers, got 2")
    fails_cleanly(lambda: t.replay(np.zeros(1, dtype=np.float32)), ValueError, r"dtype mismatch")
    fails_cleanly(lambda: t.replay([1.0]), TypeError, r"bytes-like")
    fails_cleanly(lambda: t.backward(1.0), TypeError, r"expected micrograd.engine.Value")
    t.replay(array.array("d", [4.0]))
    y.backward()
    assert (y.data, x.grad) == (8.0, 2.0)
    # A tape dropped while it records stops the recording.
    before = live_nodes()
    rec = Tape()
    rec.start()
    z = Value(3.0) * 3.0
    del rec
    assert not micrograd.capture.recording()
    del z
    assert live_nodes() == before


# --- optimizers -------------------------------------------------------------------------


def P():
    return [Value(1.0), Value(-2.0)]


OPTIMIZER_CASES = [
    ("sgd lr None", lambda: SGD(P(), lr=None), TypeError, r"lr must be a real number, not 'NoneType'"),
    ("sgd lr bool", lambda: SGD(P(), lr=True), TypeError, r"lr .*'bool'"),
    ("sgd lr inf", lambda: SGD(P(), lr=math.inf), ValueError, r"lr must be in \[0.0, inf\), got inf"),
    ("sgd lr nan", lambda: SGD(P(), lr=math.nan), ValueError, r"lr .*got nan"),
    ("sgd lr complex", lambda: SGD(P(), lr=0.1j), TypeError, r"lr .*'complex'"),
    ("sgd lr missing", lambda: SGD(P()), TypeError, r"takes at least 2 positional arguments"),
    ("sgd momentum <0", lambda: SGD(P(), lr=0.1, momentum=-0.1), ValueError, r"momentum .*-0.1"),
    ("sgd momentum str", lambda: SGD(P(), lr=0.1, momentum="0.9"), TypeError, r"momentum .*'str'"),
    ("sgd decay nan", lambda: SGD(P(), lr=0.1, weight_decay=math.nan), ValueError, r"weight_decay"),
    ("sgd params int", lambda: SGD(5, lr=0.1), TypeError, r"'int' object is not iterable"),
    ("sgd params Value", lambda: SGD(Value(1.0), lr=0.1), TypeError, r"not iterable"),
    ("sgd params None item", lambda: SGD([Value(1.0), None], lr=0.1), TypeError,
     r"params\[1\] must be a Value, not 'NoneType'"),
    ("adam lr <0", lambda: Adam(P(), lr=-1e-3), ValueError, r"lr .*-0.001"),
    ("adam betas None", lambda: Adam(P(), betas=None), ValueError, r"betas must be a pair, got None"),
    ("adam betas triple", lambda: Adam(P(), betas=(0.9, 0.99, 0.5)), ValueError, r"betas must be a pair"),
    ("adam beta1 str", lambda: Adam(P(), betas=("a", 0.9)), TypeError, r"betas\[0\] .*'str'"),
    ("adam beta1 <0", lambda: Adam(P(), betas=(-0.1, 0.9)), ValueError, r"betas\[0\]"),
    ("adam beta2 1", lambda: Adam(P(), betas=(0.9, 1.0)), ValueError, r"betas\[1\] .*got 1.0"),
    ("adam eps <0", lambda: Adam(P(), eps=-1.0), ValueError, r"eps must be in \(0.0, inf\)"),
    ("adam eps inf", lambda: Adam(P(), eps=math.inf), ValueError, r"eps"),
    ("adam decay <0", lambda: Adam(P(), weight_decay=-1.0), ValueError, r"weight_decay"),
    ("adam no params", lambda: Adam([]), ValueError, r"empty parameter list"),
]


@pytest.mark.parametrize("call, exc, pattern", [c[1:] for c in OPTIMIZER_CASES],
                         ids=[c[0] for c in OPTIMIZER_CASES])
def test_bad_optimizer_hyperparameters(call, exc, pattern):
    fails_cleanly(call, exc, pattern)


def test_bad_optimizer_settings_keep_the_old_ones():
    ps = P()
    sgd = SGD(ps, lr=0.1, momentum=0.5)
    for name, value, exc in [("lr", "x", TypeError), ("lr", -1.0, ValueError),
                             ("momentum", 1.5, ValueError), ("weight_decay", None, TypeError)]:
        fails_cleanly(lambda: setattr(sgd, name, value), exc, name)
    assert (sgd.lr, sgd.momentum, sgd.weight_decay) == (0.1, 0.5, 0.0)
    adam = Adam(ps, lr=0.01)
    fails_cleanly(lambda: setattr(adam, "lr", math.nan), ValueError, "lr")
    assert adam.lr == 0.01


def group(s, **changes):
    """s with its first parameter group changed (None: key removed)."""
    g = {k: v for k, v in {**s["param_groups"][0], **changes}.items() if v is not None}
    return {**s, "param_groups": [g]}


@pytest.mark.parametrize("make, edit, exc, pattern", [
    (lambda: SGD(P(), lr=0.1), lambda s: None, ValueError, r"not a SGD state"),
    (lambda: SGD(P(), lr=0.1), lambda s: [], ValueError, r"not a SGD state"),
    (lambda: SGD(P(), lr=0.1, momentum=0.5), lambda s: {**s, "momentum_buffer": [0.0]},
     ValueError, r"1 entries in 'momentum_buffer'.* 2 parameters"),
    (lambda: SGD(P(), lr=0.1, momentum=0.5), lambda s: {**s, "momentum_buffer": [0.0, "x"]},
     ValueError, r"momentum_buffer\[1\] must be a real number, not 'str'"),
    (lambda: SGD(P(), lr=0.1, momentum=0.5), lambda s: {**s, "momentum_buffer": [0.0, None]},
     ValueError, r"all numbers or all None"),
    (lambda: SGD(P(), lr=0.1), lambda s: {k: v for k, v in s.items() if k != "momentum_buffer"},
     ValueError, r"missing 'momentum_buffer'.*strict=False"),
    (lambda: SGD(P(), lr=0.1), lambda s: {**s, "extra": 1}, ValueError, r"unexpected 'extra'"),
    (lambda: SGD(P(), lr=0.1), lambda s: group(s, lr=-1.0), ValueError,
     r"param_groups\[0\]: lr must be in"),
    (lambda: SGD(P(), lr=0.1), lambda s: group(s, lr=None), ValueError,
     r"missing 'param_groups.0.lr'"),
    (lambda: SGD(P(), lr=0.1), lambda s: group(s, nesterov=True), ValueError, r"Nesterov"),
    (lambda: SGD(P(), lr=0.1), lambda s: group(s, params=[0]), ValueError,
     r"not this optimizer's group of 2 parameters"),
    (lambda: SGD(P(), lr=0.1), lambda s: {**s, "param_groups": s["param_groups"] * 2},
     ValueError, r"2 parameter groups, this optimizer has 1"),
    (lambda: Adam(P()), lambda s: {**s, "t": -1}, ValueError, r"t must be an int in \[0, 2\*\*62\]"),
    (lambda: Adam(P()), lambda s: {**s, "t": 2.5}, ValueError, r"t must be an int in"),
    (lambda: Adam(P()), lambda s: {**s, "t": 2 ** 63}, ValueError, r"t must be an int in"),
    (lambda: Adam(P()), lambda s: {**s, "m": [0.0]}, ValueError, r"'m'"),
    (lambda: Adam(P()), lambda s: group(s, eps=0.0), ValueError, r"eps"),
    (lambda: Adam(P()), lambda s: group(s, betas=[0.9]), ValueError, r"betas must be a pair"),
    (lambda: Adam(P()), lambda s: {**s, "type": "SGD"}, ValueError, r"not a Adam state"),
    (lambda: Adam(P()), lambda s: {**s, "type": "AdamW"}, ValueError, r"not a Adam state"),
], ids=["none", "list", "short", "str-item", "half-none", "no-buf", "extra", "lr", "no-lr",
        "nesterov", "group-size", "groups", "t<0", "t-float", "t-huge", "m-short", "eps",
        "betas", "type", "adamw"])
def test_bad_optimizer_state_is_refused_and_changes_nothing(make, edit, exc, pattern):
    opt = make()
    for p in opt.params:
        p.grad = 0.5
    opt.step()
    state = opt.state_dict()
    fails_cleanly(lambda: opt.load_state_dict(edit(state)), exc, pattern)
    assert opt.state_dict() == state
    opt.step()                           # and it keeps working


def test_refused_sgd_state_keeps_the_learning_rate():
    opt = SGD(P(), lr=0.1, momentum=0.5)
    state = group(opt.state_dict(), lr=0.7, momentum=2.0)
    with pytest.raises(ValueError, match="momentum"):
        opt.load_state_dict(state)
    assert opt.lr == 0.1


# --- numbers that are not floats are still numbers -------------------------------------


@pytest.mark.parametrize("num", [True, np.float32(0.5), np.int8(3), Fraction(1, 3), 2 ** 80],
                         ids=lambda n: type(n).__name__)
def test_number_types_that_are_fine(num):
    v = Value(2.0)
    out = (v * num + num) / (v + num) - num
    out.backward()
    assert math.isfinite(out.data) and math.isfinite(v.grad)
    assert dot([v, num], [num, v]).data == 2.0 * float(num) + float(num) * 2.0
