"""micrograd.optim: C update loops against the same updates written in Python
per parameter (bit for bit), against PyTorch's optimizers, and their errors
and saved state."""

import math
import random

import pytest

from micrograd.engine import Value
from micrograd.optim import SGD, Adam


def params_and_grads(seed, n=7):
    rng = random.Random(seed)
    ps = [Value(rng.uniform(-2, 2)) for _ in range(n)]
    grads = [[rng.uniform(-1, 1) for _ in range(n)] for _ in range(12)]
    return ps, grads


def python_sgd(data, grads, lr, momentum, weight_decay, dampening=0.0, nesterov=False):
    """The update the SGD docstring states, in plain Python floats."""
    buf = [None] * len(data)
    for gs in grads:
        for k, g in enumerate(gs):
            if weight_decay != 0:
                g = g + weight_decay * data[k]
            if momentum != 0:
                if buf[k] is None:
                    buf[k] = g
                else:
                    buf[k] = momentum * buf[k] + (1 - dampening) * g
                if nesterov:
                    g = g + momentum * buf[k]
                else:
                    g = buf[k]
            data[k] -= lr * g
    return data


def python_adam(data, grads, lr, b1, b2, eps, weight_decay, decoupled=False):
    """The update the Adam (decoupled: AdamW) docstring states, in plain
    Python floats."""
    m = [0.0] * len(data)
    v = [0.0] * len(data)
    for t, gs in enumerate(grads, start=1):
        for k, g in enumerate(gs):
            if weight_decay != 0.0 and decoupled:
                data[k] = data[k] * (1 - lr * weight_decay)
            elif weight_decay != 0.0:
                g = g + weight_decay * data[k]
            m[k] = b1 * m[k] + (1 - b1) * g
            v[k] = b2 * v[k] + (1 - b2) * g * g
            m_hat = m[k] / (1 - b1 ** t)
            v_hat = v[k] / (1 - b2 ** t)
            data[k] -= lr * m_hat / (math.sqrt(v_hat) + eps)
    return data


def run(opt_factory, seed):
    ps, grads = params_and_grads(seed)
    start = [p.data for p in ps]
    opt = opt_factory(ps)
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = g
        opt.step()
    return start, grads, [p.data for p in ps]


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("seed", range(3))
def test_sgd_matches_python_update(momentum, weight_decay, seed):
    start, grads, got = run(lambda ps: SGD(ps, lr=0.05, momentum=momentum,
                                           weight_decay=weight_decay), seed)
    assert got == python_sgd(start, grads, 0.05, momentum, weight_decay)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("seed", range(3))
def test_adam_matches_python_update(weight_decay, seed):
    start, grads, got = run(lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-7,
                                            weight_decay=weight_decay), seed)
    assert got == python_adam(start, grads, 0.01, 0.8, 0.95, 1e-7, weight_decay)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_matches_pytorch(kind):
    torch = pytest.importorskip("torch")
    start, grads, got = run(
        (lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01)) if kind == "sgd"
        else (lambda ps: Adam(ps, lr=0.01, weight_decay=0.0)), 5)
    w = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = (torch.optim.SGD([w], lr=0.05, momentum=0.9, weight_decay=0.01) if kind == "sgd"
           else torch.optim.Adam([w], lr=0.01))
    for gs in grads:
        w.grad = torch.tensor(gs, dtype=torch.float64)
        opt.step()
    for a, b in zip(got, w.detach().tolist()):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


def test_lr_is_settable_and_zero_grad_zeroes():
    p = Value(1.0)
    opt = SGD([p], lr=0.5)
    p.grad = 2.0
    opt.lr = 0.25
    opt.step()
    assert p.data == 1.0 - 0.25 * 2.0
    opt.zero_grad()
    assert p.grad == 0.0
    adam = Adam([p], lr=0.1)
    adam.lr = 0.2
    assert adam.lr == 0.2


@pytest.mark.parametrize("make, exc, words", [
    (lambda p: SGD(p, lr=-1.0), ValueError, "lr"),
    (lambda p: SGD(p, lr="0.1"), TypeError, "lr"),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), ValueError, "momentum"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-0.1), ValueError, "weight_decay"),
    (lambda p: Adam(p, lr=float("nan")), ValueError, "lr"),
    (lambda p: Adam(p, betas=(0.9,)), ValueError, "betas"),
    (lambda p: Adam(p, betas=(0.9, 1.0)), ValueError, "betas[1]"),
    (lambda p: Adam(p, eps=0.0), ValueError, "eps"),
    (lambda p: SGD([], lr=0.1), ValueError, "empty"),
    (lambda p: SGD(p + [1.0], lr=0.1), TypeError, "params[1]"),
    (lambda p: SGD(p + p, lr=0.1), ValueError, "twice"),
])
def test_bad_hyperparameters(make, exc, words):
    p = [Value(1.0)]
    with pytest.raises(exc, match=None) as info:
        make(p)
    assert words in str(info.value)


def test_lr_setter_rejects_bad_values_and_keeps_the_old_one():
    opt = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError):
        opt.lr = -0.5
    assert opt.lr == 0.1


@pytest.mark.parametrize("make", [
    lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.001),
    lambda ps: Adam(ps, lr=0.01, weight_decay=0.001),
])
def test_state_dict_resume_is_bit_for_bit(make):
    def grads_at(step, n):
        rng = random.Random(step)
        return [rng.uniform(-1, 1) for _ in range(n)]

    def train(ps, opt, steps):
        for s in steps:
            for p, g in zip(ps, grads_at(s, len(ps))):
                p.grad = g
            opt.step()

    ps = [Value(x) for x in (0.5, -1.0, 2.0)]
    opt = make(ps)
    train(ps, opt, range(50))

    qs = [Value(x) for x in (0.5, -1.0, 2.0)]
    opt1 = make(qs)
    train(qs, opt1, range(25))
    state = opt1.state_dict()
    rs = [Value(q.data) for q in qs]
    opt2 = make(rs)
    opt2.load_state_dict(state)
    train(rs, opt2, range(25, 50))
    assert [p.data for p in ps] == [r.data for r in rs]


def test_load_state_dict_refuses_other_sizes_and_kinds():
    opt = SGD([Value(1.0), Value(2.0)], lr=0.1, momentum=0.5)
    with pytest.raises(ValueError, match="2 parameters"):
        opt.load_state_dict({**opt.state_dict(), "momentum_buffer": [0.0]})
    with pytest.raises(ValueError, match="not a SGD state"):
        opt.load_state_dict(Adam([Value(1.0), Value(2.0)]).state_dict())
