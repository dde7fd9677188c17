"""Finite-difference gradient checks on the compiled engine.

Each analytic gradient from ``backward()`` is compared with a central
difference ``(f(x + h) - f(x - h)) / 2h`` of the engine's own forward pass.
"""

import math

import pytest

from conftest import compiled_value


def numeric_grad(f, xs, k):
    """Central difference of f (plain floats in, float out) in argument k."""
    h = 1e-6 * max(1.0, abs(xs[k]))
    up, down = list(xs), list(xs)
    up[k] += h
    down[k] -= h
    return (f(*up) - f(*down)) / (up[k] - down[k])


def check(build, *xs):
    Value = compiled_value()

    def forward(*args):
        return build(*map(Value, args)).data

    inputs = [Value(x) for x in xs]
    build(*inputs).backward()
    for k, v in enumerate(inputs):
        expected = numeric_grad(forward, xs, k)
        assert math.isclose(v.grad, expected, rel_tol=1e-6, abs_tol=1e-7), (k, v.grad, expected)


UNARY = {
    "relu": lambda x: x.relu(),
    "tanh": lambda x: x.tanh(),
    "exp": lambda x: x.exp(),
    "log": lambda x: x.log(),
    "sigmoid": lambda x: x.sigmoid(),
    "neg": lambda x: -x,
}
POINTS = {
    "relu": [-1.5, 0.75, 3.0],  # away from the kink
    "tanh": [-2.0, -0.3, 0.0, 0.7, 2.5],
    "exp": [-3.0, 0.0, 0.5, 4.0],
    "log": [0.05, 0.3, 1.0, 1.5, 40.0],
    "sigmoid": [-6.0, -0.5, 0.0, 0.5, 6.0],
    "neg": [-2.0, 1.0],
}


@pytest.mark.parametrize("name, x", [(n, x) for n in UNARY for x in POINTS[n]])
def test_unary(name, x):
    check(UNARY[name], x)


@pytest.mark.parametrize("x, c", [
    (x, c)
    for c in [2, 3, -1, -2, 0.5, 1.5, -0.5, 2.7, 0, 1]
    for x in [0.3, 1.9, -1.4]
    if x > 0 or c == int(c)  # a negative base needs an integer exponent
])
def test_pow_by_number(x, c):
    check(lambda v: v ** c, x)


@pytest.mark.parametrize("x, y", [(1.7, 2.3), (0.5, -1.2), (3.0, 0.5), (2.0, 0.0), (0.8, 3.0)])
def test_value_pow_value(x, y):
    check(lambda a, b: a ** b, x, y)


@pytest.mark.parametrize("base, x", [(2, 1.3), (0.5, -0.7), (10.0, 0.25)])
def test_number_pow_value(base, x):
    check(lambda v: base ** v, x)


@pytest.mark.parametrize("build, xs", [
    (lambda a, b: a / b, (1.3, -0.4)),
    (lambda a, b: a - b, (1.3, -0.4)),
    (lambda a, b: a * b + b.tanh() * a.exp(), (0.3, -1.1)),
    (lambda a, b: ((a * b).sigmoid() + (a ** 2 + 1).log()) / (b ** 2 + 0.5), (0.9, -1.7)),
    (lambda a, b: (a.relu() * b + 3 / a - 2 ** b) ** 2, (1.2, 0.4)),
])
def test_composites(build, xs):
    check(build, *xs)
