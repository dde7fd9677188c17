"""A user's training script, type-checked by tests/test_typing.py with
``mypy --strict``: every assert_type must hold, so a name of micrograd that
degrades to Any (a stub or an annotation lost) fails the check.
"""

import os
import random
import tempfile
from typing import Any, assert_type

import micrograd
from micrograd.capture import CompiledFunction
from micrograd.data import make_moons
from micrograd.engine import Index, Value, dot, take
from micrograd.nn import MLP, Neuron
from micrograd.optim import SGD, Adam

# Values, with numbers on either side of every operator.
a = Value(-4.0, label="a")
b = Value(3)
c = a + b
d = a * b + b**3
e = 1 + c - 2.5
f = 2 * d / 3.0
g = 10.0 / f - a
h = 2**a + a**b + (-a) ** 2
assert_type(c, Value)
assert_type(e, Value)
assert_type(f, Value)
assert_type(g, Value)
assert_type(h, Value)
assert_type(-a, Value)
ops = [a.relu(), a.tanh(), b.exp(), b.log(), a.sigmoid(), a.sin(), a.cos(), a.max(b), a.max(0.0),
       a.detach()]
assert_type(ops, list[Value])
out = g + h + sum(ops, Value(0.0))
assert_type(out, Value)
out.backward()
assert_type(out.data, int | float)
assert_type(a.grad, int | float)
assert_type(a._prev, set[Value])
assert_type(a._op, str)
assert_type(a.label, str)
a.grad = 0
a.data -= 0.01 * a.grad

# An op written in Python, the micrograd way.
def cube(x: Value) -> Value:
    y = Value(x.data**3, (x,), "cube")

    def _backward() -> None:
        x.grad += 3 * x.data**2 * y.grad

    y._backward = _backward
    return y

assert_type(cube(a), Value)

# Fused kernels and selections.
ws = [Value(0.5), Value(-1.0)]
assert_type(dot(ws, [1.0, 2.0], Value(0.0)), Value)
assert_type(dot(ws, [1.0, 2.0]), Value | float)
assert_type(dot([1.0], [2.0]), float)
assert_type(take(ws, 1), Value)
table = [[Value(0.1), Value(0.2)], [Value(0.3), Value(0.4)]]
assert_type(take(table, 0), list[Value])
assert_type(Index(3).value, int)

# A model, trained with SGD, then with Adam.
X, y = make_moons(40, noise=0.1, seed=1)
assert_type(X, list[list[float]])
assert_type(y, list[int])
random.seed(1337)
model = MLP(2, [8, 8, 1])
assert_type(model.parameters(), list[Value])
assert_type(model([1.0, -1.0]), Value | list[Value])
assert_type(Neuron(2)([1.0, a]), Value)


def loss_of(model: MLP, X: list[list[float]], y: list[int]) -> Value:
    losses = []
    for xi, yi in zip(X, y):
        score = model(xi)
        assert isinstance(score, Value)         # a one-neuron output layer
        losses.append((1 + -yi * score).relu())
    return sum(losses, Value(0.0)) * (1.0 / len(losses))


sgd = SGD(model.parameters(), lr=0.1, momentum=0.9)
assert_type(sgd, SGD)
for k in range(3):
    loss = loss_of(model, X, y)
    sgd.zero_grad()
    loss.backward()
    sgd.lr = 0.1 - 0.01 * k
    sgd.step()
assert_type(sgd.lr, float)

adam = Adam(model.parameters(), lr=0.01)
assert_type(adam, Adam)
model.zero_grad()
loss_of(model, X, y).backward()
adam.step()
assert_type(adam.lr, float)

# The step compiled, both ways of writing the decorator.


@micrograd.compile
def step_loss(X: list[list[float]]) -> Value:
    return loss_of(model, X, y)


@micrograd.compile(check=True, cache_size=2)
def checked_loss(X: list[list[float]]) -> Value:
    return loss_of(model, X, y)


compiled: CompiledFunction[[list[list[float]]], Value] = step_loss
compiled = checked_loss
assert_type(step_loss(X), Value)
assert_type(checked_loss(X), Value)
assert_type(step_loss.cache_info(), dict[str, Any])
step_loss.cache_clear()

# Saving and loading.
path = os.path.join(tempfile.mkdtemp(), "model.json")
micrograd.save(model, path, optimizer=adam)
fresh = MLP(2, [8, 8, 1])
restored = micrograd.load(path, fresh, optimizer=Adam(fresh.parameters(), lr=0.01))
assert restored is fresh
assert_type(restored, MLP)
assert_type(model.state_dict(), dict[str, float])
assert_type(micrograd.arena_stats(), dict[str, int])
