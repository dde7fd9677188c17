"""micrograd.optim: C update loops against the same updates written in Python
per parameter (bit for bit), against PyTorch's optimizers, and their errors
and saved state."""

import json
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


# --- Nesterov, dampening, AdamW: the docstrings' Python, bit for bit; PyTorch -----------

from hypothesis import given, settings, strategies as st

from micrograd.optim import AdamW, IncompatibleKeys


SGD_SETTINGS = [
    dict(momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.0),
    dict(momentum=0.9, dampening=0.0, nesterov=True, weight_decay=0.01),
    dict(momentum=0.5, dampening=0.3, nesterov=False, weight_decay=0.01),
    dict(momentum=0.8, dampening=1.0, nesterov=False, weight_decay=0.0),
]


@pytest.mark.parametrize("hp", SGD_SETTINGS, ids=str)
@pytest.mark.parametrize("seed", range(2))
def test_sgd_nesterov_and_dampening_match_python_update(hp, seed):
    start, grads, got = run(lambda ps: SGD(ps, lr=0.05, **hp), seed)
    assert got == python_sgd(start, grads, 0.05, hp["momentum"], hp["weight_decay"],
                             hp["dampening"], hp["nesterov"])


@pytest.mark.parametrize("weight_decay", [0.0, 0.01, 0.3])
@pytest.mark.parametrize("seed", range(2))
def test_adamw_matches_python_update(weight_decay, seed):
    start, grads, got = run(lambda ps: AdamW(ps, lr=0.01, betas=(0.8, 0.95), eps=1e-7,
                                             weight_decay=weight_decay), seed)
    assert got == python_adam(start, grads, 0.01, 0.8, 0.95, 1e-7, weight_decay,
                              decoupled=True)


def test_adamw_defaults_are_torchs():
    opt = AdamW([Value(1.0)])
    assert (opt.lr, opt.betas, opt.eps, opt.weight_decay) == (0.001, (0.9, 0.999), 1e-8, 0.01)
    assert Adam([Value(1.0)]).weight_decay == 0.0


@given(lr=st.floats(0, 1), momentum=st.floats(0, 0.99), dampening=st.floats(0, 1),
       weight_decay=st.floats(0, 0.5), nesterov=st.booleans(), seed=st.integers(0, 1000))
@settings(max_examples=60, deadline=None)
def test_sgd_is_the_python_update_for_any_hyperparameters(lr, momentum, dampening,
                                                         weight_decay, nesterov, seed):
    if nesterov and (momentum == 0 or dampening != 0):
        dampening = 0.0
        momentum = momentum or 0.5
    hp = dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay,
              nesterov=nesterov)
    start, grads, got = run(lambda ps: SGD(ps, lr=lr, **hp), seed)
    assert got == python_sgd(start, grads, lr, momentum, weight_decay, dampening, nesterov)


@given(lr=st.floats(0, 0.1), b1=st.floats(0, 0.99), b2=st.floats(0, 0.999),
       eps=st.floats(1e-10, 1e-2), weight_decay=st.floats(0, 0.5),
       decoupled=st.booleans(), seed=st.integers(0, 1000))
@settings(max_examples=60, deadline=None)
def test_adam_and_adamw_are_the_python_update_for_any_hyperparameters(
        lr, b1, b2, eps, weight_decay, decoupled, seed):
    cls = AdamW if decoupled else Adam
    start, grads, got = run(lambda ps: cls(ps, lr=lr, betas=(b1, b2), eps=eps,
                                           weight_decay=weight_decay), seed)
    assert got == python_adam(start, grads, lr, b1, b2, eps, weight_decay, decoupled)


def assert_close(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14), (a, b)


# Each case: the optimizer's name, its defaults, and the groups' own settings
# (first 3 parameters, next 4); run on both sides with the same grads.
TORCH_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True),
     [dict(lr=0.1), dict(weight_decay=0.01)]),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.001),
     [dict(momentum=0.5), dict()]),
    ("SGD", dict(lr=0.05), [dict(momentum=0.9, nesterov=True), dict(lr=0.2)]),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99)), [dict(lr=0.03, weight_decay=0.01), dict()]),
    ("AdamW", dict(lr=0.01), [dict(weight_decay=0.1), dict(betas=(0.5, 0.9), eps=1e-6)]),
    ("AdamW", dict(lr=0.02, weight_decay=0.0), [dict(), dict(lr=0.05)]),
]


@pytest.mark.parametrize("name, defaults, groups", TORCH_CASES,
                         ids=[f"{c[0]}-{k}" for k, c in enumerate(TORCH_CASES)])
def test_parameter_groups_match_pytorch(name, defaults, groups):
    torch = pytest.importorskip("torch")
    ps, grads = params_and_grads(11)
    start = [p.data for p in ps]
    split = [(0, 3), (3, 7)]
    ours = {"SGD": SGD, "Adam": Adam, "AdamW": AdamW}[name](
        [{"params": ps[a:b], **g} for (a, b), g in zip(split, groups)], **defaults)
    ws = [torch.tensor(start[a:b], dtype=torch.float64, requires_grad=True) for a, b in split]
    theirs = getattr(torch.optim, name)(
        [{"params": [w], **g} for w, g in zip(ws, groups)], **defaults)
    for step, gs in enumerate(grads):
        if step == 6:                       # a schedule changes one group's rate
            for opt in (ours, theirs):
                opt.param_groups[1]["lr"] = 0.5 * opt.param_groups[1]["lr"]
        for p, g in zip(ps, gs):
            p.grad = g
        for w, (a, b) in zip(ws, split):
            w.grad = torch.tensor(gs[a:b], dtype=torch.float64)
        ours.step()
        theirs.step()
        assert_close([p.data for p in ps], [x for w in ws for x in w.detach().tolist()])
    for mine, torchs in zip(ours.param_groups, theirs.param_groups):
        for key, value in mine.items():
            if key != "params":
                assert torchs[key] == (tuple(value) if key == "betas" else value), key


def test_parameter_groups_take_defaults_and_their_own_settings():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    opt = SGD([{"params": [a, b], "lr": 0.5}, {"params": [c], "momentum": 0.5}],
              lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.5, 0.1]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.5]
    assert [g["params"] for g in opt.param_groups] == [[a, b], [c]]
    assert opt.params == (a, b, c)
    assert opt.defaults == dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0,
                                nesterov=False)
    a.grad = b.grad = c.grad = 1.0
    opt.step()
    assert (a.data, b.data, c.data) == (1.0 - 0.5, 2.0 - 0.5, 3.0 - 0.1)
    # A single Value as a group's params, as torch takes a single tensor.
    assert SGD([{"params": a}], lr=0.1).params == (a,)


def test_lr_property_reads_and_sets_every_group():
    a, b = Value(1.0), Value(2.0)
    opt = Adam([{"params": [a], "lr": 0.5}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match=r"different lr values \(0.5, 0.1\)"):
        opt.lr
    opt.lr = 0.25
    assert opt.lr == 0.25 and [g["lr"] for g in opt.param_groups] == [0.25, 0.25]
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0
    assert [g["lr"] for g in opt.param_groups] == [0.25, 0.25]
    opt.betas = (0.5, 0.6)
    assert [g["betas"] for g in opt.param_groups] == [(0.5, 0.6)] * 2


def test_a_group_lr_change_takes_effect_at_the_next_step():
    a, b = Value(1.0), Value(1.0)
    opt = SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
    a.grad = b.grad = 1.0
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    assert (a.data, b.data) == (1.0 - 0.1 - 0.5, 1.0 - 0.1 - 0.1)


def test_a_bad_group_setting_fails_the_step_and_changes_nothing():
    a, b = Value(1.0), Value(1.0)
    opt = Adam([{"params": [a]}, {"params": [b]}], lr=0.1)
    a.grad = b.grad = 1.0
    opt.step()
    before = (a.data, b.data, opt.state_dict())
    opt.param_groups[1]["lr"] = "fast"
    with pytest.raises(TypeError, match=r"param_groups\[1\]: lr must be a real number"):
        opt.step()
    assert (a.data, b.data, opt.t) == (before[0], before[1], 1)
    opt.param_groups[1]["lr"] = 0.1
    del opt.param_groups[0]["eps"]
    with pytest.raises(ValueError, match=r"param_groups\[0\]: no 'eps'"):
        opt.step()
    opt.param_groups[0]["eps"] = 1e-8
    assert opt.state_dict() == before[2]
    opt.step()
    assert opt.t == 2


def test_changing_a_groups_parameters_is_refused():
    a, b = Value(1.0), Value(1.0)
    opt = SGD([a], lr=0.1)
    opt.param_groups[0]["params"].append(b)
    with pytest.raises(RuntimeError, match=r"param_groups\[0\]\['params'\] changed"):
        opt.step()
    opt.param_groups[0]["params"].pop()
    opt.param_groups[0]["params"][0] = b
    with pytest.raises(RuntimeError, match="changed"):
        opt.step()
    opt.param_groups[0]["params"][0] = a
    opt.param_groups.append({"params": [b], "lr": 0.1})
    with pytest.raises(RuntimeError, match="cannot be added or removed"):
        opt.step()
    opt.param_groups.pop()
    a.grad = 1.0
    opt.step()
    assert a.data == 0.9 and b.data == 1.0


@pytest.mark.parametrize("make, exc, pattern", [
    (lambda a, b: SGD([{"params": [a]}, {"params": [a, b]}], lr=0.1), ValueError,
     r"a parameter is in both param_groups\[0\] and param_groups\[1\]"),
    (lambda a, b: SGD([{"params": [a, b, a]}], lr=0.1), ValueError,
     r"param_groups\[0\]: params contain the same Value twice"),
    (lambda a, b: SGD([{"params": [a]}, {"params": []}], lr=0.1), ValueError,
     r"param_groups\[1\]: empty parameter group"),
    (lambda a, b: SGD([{"params": [a], "lrr": 0.1}], lr=0.1), ValueError,
     r"param_groups\[0\]: unknown key 'lrr'; a SGD group has 'params' and 'lr', "),
    (lambda a, b: Adam([{"params": [a], "momentum": 0.9, "maximize": True}]), ValueError,
     r"unknown keys 'momentum', 'maximize'"),
    (lambda a, b: SGD([{"params": [a, 1.0]}], lr=0.1), TypeError,
     r"param_groups\[0\]: params\[1\] must be a Value, not 'float'"),
    (lambda a, b: SGD([{"lr": 0.1}], lr=0.1), ValueError, r"needs 'params'"),
    (lambda a, b: SGD([{"params": [a]}, b], lr=0.1), TypeError, r"all Values or all dicts"),
    (lambda a, b: SGD({a, b}, lr=0.1), TypeError, r"not a set"),
    (lambda a, b: SGD([{"params": {a}}], lr=0.1), TypeError, r"not a set"),
    (lambda a, b: SGD([{"params": [a], "lr": -0.1}], lr=0.1), ValueError,
     r"param_groups\[0\]: lr must be in \[0.0, inf\), got -0.1"),
    (lambda a, b: SGD([a], lr=0.1, nesterov=True), ValueError,
     r"Nesterov momentum requires a momentum and zero dampening"),
    (lambda a, b: SGD([a], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     r"Nesterov"),
    (lambda a, b: SGD([a], lr=0.1, momentum=0.9, nesterov=1), TypeError,
     r"nesterov must be True or False, not 'int'"),
    (lambda a, b: SGD([a], lr=0.1, dampening=1.5), ValueError, r"dampening must be in \[0.0, 1.0\]"),
    (lambda a, b: AdamW([a], weight_decay=-0.01), ValueError, r"weight_decay"),
])
def test_bad_parameter_groups(make, exc, pattern):
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(exc, match=pattern):
        make(a, b)


def test_nesterov_setter_checks_the_momentum():
    opt = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match="Nesterov"):
        opt.nesterov = True
    assert opt.nesterov is False
    opt.momentum = 0.9
    opt.nesterov = True
    assert opt.param_groups[0]["nesterov"] is True


@pytest.mark.parametrize("set_to_none", [False, True])
def test_zero_grad_zeroes_even_when_set_to_none(set_to_none):
    ps = [Value(1.0), Value(2.0)]
    for p in ps:
        p.grad = 3.0
    SGD(ps, lr=0.1).zero_grad(set_to_none=set_to_none)
    assert [p.grad for p in ps] == [0, 0] and all(type(p.grad) is int for p in ps)


def test_repr_lists_the_groups():
    opt = SGD([{"params": [Value(1.0)], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert repr(opt) == ("SGD (\nParameter Group 0\n    dampening: 0.0\n    lr: 0.5\n"
                         "    momentum: 0.9\n    nesterov: False\n    weight_decay: 0.0\n"
                         "    params: 1 Values\n)")


# --- saved state: groups, resuming, strict=False, the old format ---------------------------


MAKERS = [
    lambda ps: SGD([{"params": ps[:2], "lr": 0.02}, {"params": ps[2:], "nesterov": True}],
                   lr=0.05, momentum=0.9, weight_decay=0.001),
    lambda ps: SGD([{"params": ps[:2], "momentum": 0.0}, {"params": ps[2:]}],
                   lr=0.05, momentum=0.7, dampening=0.5),
    lambda ps: Adam([{"params": ps[:1]}, {"params": ps[1:], "lr": 0.02}], lr=0.01),
    lambda ps: AdamW([{"params": ps[:1], "weight_decay": 0.1}, {"params": ps[1:]}], lr=0.01),
]


def grads_at(step, n):
    rng = random.Random(step)
    return [rng.uniform(-1, 1) for _ in range(n)]


def train(ps, opt, steps):
    for s in steps:
        for p, g in zip(ps, grads_at(s, len(ps))):
            p.grad = g
        opt.step()


@pytest.mark.parametrize("make", MAKERS, ids=["sgd-nesterov", "sgd-dampening", "adam", "adamw"])
def test_state_dict_resume_with_groups_is_bit_for_bit(make):
    start = (0.5, -1.0, 2.0, 0.25)
    ps = [Value(x) for x in start]
    straight = make(ps)
    train(ps, straight, range(40))

    qs = [Value(x) for x in start]
    first = make(qs)
    train(qs, first, range(20))
    state = json.loads(json.dumps(first.state_dict()))     # as micrograd.save keeps it
    rs = [Value(q.data) for q in qs]
    resumed = make(rs)
    assert resumed.load_state_dict(state) == IncompatibleKeys([], [])
    train(rs, resumed, range(20, 40))
    assert [p.data for p in ps] == [r.data for r in rs]
    assert resumed.state_dict() == straight.state_dict()


def test_state_dict_holds_param_groups():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    opt = Adam([{"params": [a, b], "lr": 0.5}, {"params": [c]}], lr=0.1)
    state = opt.state_dict()
    assert state["type"] == "Adam" and state["t"] == 0
    assert state["param_groups"] == [
        dict(lr=0.5, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.0, params=[0, 1]),
        dict(lr=0.1, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.0, params=[2])]
    sgd = SGD([a, b], lr=0.1, momentum=0.9)
    assert sgd.state_dict()["momentum_buffer"] == [None, None]   # no buffer before a step
    a.grad, b.grad = 0.5, -0.25
    sgd.step()
    assert sgd.state_dict()["momentum_buffer"] == [0.5, -0.25]


def test_load_state_dict_non_strict_keeps_missing_and_ignores_unexpected():
    ps = [Value(1.0), Value(2.0)]
    opt = Adam(ps, lr=0.1)
    for p in ps:
        p.grad = 1.0
    opt.step()
    saved = opt.state_dict()
    other = Adam([Value(1.0), Value(2.0)], lr=0.7, eps=1e-6)
    partial = {"param_groups": [{"lr": 0.3, "params": [0, 1], "note": "x"}],
               "m": saved["m"], "extra": 1}
    with pytest.raises(ValueError, match=r"missing 'type', 'param_groups.0.betas'.*"
                                         r"unexpected 'extra', 'param_groups.0.note'"):
        other.load_state_dict(partial)
    before = other.state_dict()
    assert before["m"] == [0.0, 0.0]
    result = other.load_state_dict(partial, strict=False)
    assert result == IncompatibleKeys(
        ["type", "param_groups.0.betas", "param_groups.0.eps", "param_groups.0.weight_decay",
         "t", "v"],
        ["extra", "param_groups.0.note"])
    after = other.state_dict()
    assert after["param_groups"][0] == {**before["param_groups"][0], "lr": 0.3}
    assert after["m"] == saved["m"] and after["v"] == before["v"] and after["t"] == 0
    # What is there is still checked, strict or not; the type must still agree.
    with pytest.raises(ValueError, match="lr must be"):
        other.load_state_dict({"param_groups": [{"lr": -1.0}]}, strict=False)
    with pytest.raises(ValueError, match="not a Adam state"):
        other.load_state_dict({"type": "SGD"}, strict=False)
    with pytest.raises(ValueError, match="2 parameter groups"):
        other.load_state_dict({"param_groups": [{}, {}]}, strict=False)
    assert other.state_dict() == after


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_states_saved_before_parameter_groups_still_load(kind):
    # The format of the previous release: one group, hyperparameters at the top.
    ps = [Value(1.0), Value(-1.0)]
    if kind == "sgd":
        old = {"type": "SGD", "lr": 0.1, "momentum": 0.9, "weight_decay": 0.01,
               "buf": [0.5, -0.5]}
        opt = SGD(ps, lr=1.0)
    else:
        old = {"type": "Adam", "lr": 0.01, "betas": [0.8, 0.9], "eps": 1e-7,
               "weight_decay": 0.0, "t": 3, "m": [0.1, 0.2], "v": [0.01, 0.02]}
        opt = Adam(ps)
    assert opt.load_state_dict(old) == IncompatibleKeys([], [])
    state = opt.state_dict()
    if kind == "sgd":
        assert state["momentum_buffer"] == [0.5, -0.5]
        assert (opt.lr, opt.momentum, opt.weight_decay, opt.dampening) == (0.1, 0.9, 0.01, 0.0)
        # The old update, buf = momentum * buf + g, continues.
        for p in ps:
            p.grad = 1.0
        opt.step()
        assert ps[0].data == 1.0 - 0.1 * (0.9 * 0.5 + (1.0 + 0.01 * 1.0))
    else:
        assert (opt.t, state["m"], state["v"], opt.betas) == (3, [0.1, 0.2], [0.01, 0.02],
                                                             (0.8, 0.9))
