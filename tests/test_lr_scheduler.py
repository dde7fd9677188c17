"""micrograd.optim.lr_scheduler against torch.optim.lr_scheduler: the same lr
sequences (to 1e-12; the formulas are torch's, so in practice bit for bit),
per parameter group, with resuming and errors."""

import math
import pickle

import pytest

from micrograd.engine import Value
from micrograd.optim import SGD, Adam, AdamW
from micrograd.optim import lr_scheduler as ours

torch = pytest.importorskip("torch")

STEPS = 50

CASES = [
    ("StepLR", dict(step_size=7, gamma=0.5)),
    ("StepLR", dict(step_size=1, gamma=0.9)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.1, end_factor=1.0, total_iters=30)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=STEPS)),
    ("LinearLR", dict(start_factor=0.5, end_factor=0.0, total_iters=10)),
    ("CosineAnnealingLR", dict(T_max=20)),
    ("CosineAnnealingLR", dict(T_max=13, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=STEPS, eta_min=0.0)),
    ("LambdaLR", dict(lr_lambda=lambda k: 1.0 - 0.9 * k / STEPS)),
    ("LambdaLR", dict(lr_lambda=lambda k: 0.95 ** k)),
    ("LambdaLR", dict(lr_lambda=[lambda k: 1 / (k + 1), lambda k: 1 + 0.5 * math.cos(k)])),
]


def pair(lrs=(0.1, 0.03), make=SGD):
    """Our optimizer and torch's, with one parameter group per rate."""
    mine = make([{"params": [Value(1.0)], "lr": lr} for lr in lrs], lr=lrs[0])
    w = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in lrs]
    cls = {SGD: torch.optim.SGD, Adam: torch.optim.Adam, AdamW: torch.optim.AdamW}[make]
    theirs = cls([{"params": [x], "lr": lr} for x, lr in zip(w, lrs)], lr=lrs[0])
    return mine, theirs


def sequences(name, kwargs, steps=STEPS, make=SGD):
    mine, theirs = pair(make=make)
    s = getattr(ours, name)(mine, **kwargs)
    t = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    got, want = [s.get_last_lr()], [t.get_last_lr()]
    for _ in range(steps):
        mine.step()
        theirs.step()
        s.step()
        t.step()
        got.append(s.get_last_lr())
        want.append(t.get_last_lr())
        assert [g["lr"] for g in mine.param_groups] == got[-1]
        assert s.last_epoch == t.last_epoch
    return got, want


def assert_same(got, want):
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15), (got, want)


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{c[0]}-{k}" for k, c in enumerate(CASES)])
@pytest.mark.parametrize("make", [SGD, Adam, AdamW], ids=["sgd", "adam", "adamw"])
def test_lr_sequence_matches_pytorch(name, kwargs, make):
    got, want = sequences(name, kwargs, make=make)
    assert_same(got, want)
    assert got == want            # torch's formulas in torch's order: the same floats


def test_the_rates_are_the_optimizers():
    """The schedule drives the C update: parameters move as torch's do."""
    p = Value(1.0)
    opt = SGD([p], lr=0.5, momentum=0.9)
    sched = ours.CosineAnnealingLR(opt, T_max=10)
    w = torch.ones(1, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.SGD([w], lr=0.5, momentum=0.9)
    tsched = torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=10)
    for k in range(25):
        p.grad = math.sin(k)
        w.grad = torch.tensor([math.sin(k)], dtype=torch.float64)
        opt.step(); topt.step()
        sched.step(); tsched.step()
        assert math.isclose(p.data, w.item(), rel_tol=1e-12)


def test_initial_lr_and_base_lrs():
    opt = SGD([{"params": [Value(1.0)], "lr": 0.2}, {"params": [Value(2.0)]}], lr=0.1)
    sched = ours.StepLR(opt, step_size=3)
    assert sched.base_lrs == [0.2, 0.1] and sched.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == [0.2, 0.1]
    assert [g["initial_lr"] for g in opt.state_dict()["param_groups"]] == [0.2, 0.1]
    # LinearLR applies its start factor at once, as torch's.
    opt2 = SGD([Value(1.0)], lr=0.3)
    assert ours.LinearLR(opt2, start_factor=0.5).get_last_lr() == [0.15]


@pytest.mark.parametrize("name, kwargs", CASES[:1] + CASES[3:4] + CASES[7:8] + CASES[10:11],
                         ids=["step", "linear", "cosine", "lambda"])
def test_resume_from_state_dicts_continues_the_sequence(name, kwargs):
    straight, _ = sequences(name, kwargs, steps=40)

    mine, _ = pair()
    s = getattr(ours, name)(mine, **kwargs)
    got = [s.get_last_lr()]
    for _ in range(15):
        mine.step(); s.step()
        got.append(s.get_last_lr())
    opt_state = pickle.loads(pickle.dumps(mine.state_dict()))
    sched_state = pickle.loads(pickle.dumps(s.state_dict()))

    fresh, _ = pair(lrs=(9.0, 9.0))
    fresh.load_state_dict(opt_state)
    s2 = getattr(ours, name)(fresh, **kwargs)        # as torch: made, then loaded
    s2.load_state_dict(sched_state)
    assert s2.get_last_lr() == got[-1] and s2.last_epoch == 15
    fresh.load_state_dict(opt_state)                 # the constructor set 'lr'
    for _ in range(25):
        fresh.step(); s2.step()
        got.append(s2.get_last_lr())
    assert got == straight


def test_last_epoch_resumes_from_initial_lr():
    mine, theirs = pair()
    for opt in (mine, theirs):
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
    s = ours.StepLR(mine, step_size=2, gamma=0.5, last_epoch=3)
    t = torch.optim.lr_scheduler.StepLR(theirs, step_size=2, gamma=0.5, last_epoch=3)
    assert s.last_epoch == t.last_epoch == 4
    for _ in range(6):
        mine.step(); theirs.step()
        s.step(); t.step()
        assert_same([s.get_last_lr()], [t.get_last_lr()])


def test_lambda_state_dict_keeps_callable_objects_state():
    class Warmup:
        def __init__(self):
            self.factor = 2.0

        def __call__(self, k):
            return self.factor * k

    fn = Warmup()
    opt = SGD([Value(1.0)], lr=1.0)
    sched = ours.LambdaLR(opt, fn)
    fn.factor = 3.0
    state = sched.state_dict()
    assert state["lr_lambdas"] == [{"factor": 3.0}]
    assert ours.LambdaLR(opt, lambda k: 1.0).state_dict()["lr_lambdas"] == [None]
    other = Warmup()
    s2 = ours.LambdaLR(SGD([Value(1.0)], lr=1.0), other)
    s2.load_state_dict(state)
    assert other.factor == 3.0


def test_a_python_optimizer_with_param_groups_can_be_scheduled():
    class PlainSGD:
        def __init__(self, params, lr):
            self.param_groups = [{"params": list(params), "lr": lr}]

    opt = PlainSGD([1.0], lr=1.0)
    sched = ours.LambdaLR(opt, lambda k: 0.5 ** k)
    sched.step(); sched.step()
    assert opt.param_groups[0]["lr"] == 0.25


@pytest.mark.parametrize("make, exc, pattern", [
    (lambda o: ours.StepLR(object(), step_size=1), TypeError, r"object is not an optimizer"),
    (lambda o: ours.StepLR(o, step_size=0), ValueError, r"step_size must be >= 1"),
    (lambda o: ours.StepLR(o, step_size=2.0), TypeError, r"step_size must be an int"),
    (lambda o: ours.StepLR(o, step_size=2, gamma="x"), TypeError, r"gamma must be a real"),
    (lambda o: ours.LinearLR(o, start_factor=0.0), ValueError, r"Starting multiplicative"),
    (lambda o: ours.LinearLR(o, end_factor=1.5), ValueError, r"Ending multiplicative"),
    (lambda o: ours.LinearLR(o, total_iters=0), ValueError, r"total_iters must be >= 1"),
    (lambda o: ours.CosineAnnealingLR(o, T_max=0), ValueError, r"T_max must be >= 1"),
    (lambda o: ours.CosineAnnealingLR(o, T_max=5, eta_min=math.nan), ValueError, r"eta_min"),
    (lambda o: ours.LambdaLR(o, [lambda k: 1.0] * 3), ValueError, r"Expected 1 lr_lambdas, but got 3"),
    (lambda o: ours.LambdaLR(o, 0.5), TypeError, r"lr_lambda\[0\] must be callable"),
    (lambda o: ours.StepLR(o, step_size=1, last_epoch=4), KeyError, r"initial_lr"),
    (lambda o: ours.StepLR(o, step_size=1, last_epoch=-2), ValueError, r"last_epoch"),
])
def test_bad_scheduler_arguments(make, exc, pattern):
    opt = SGD([Value(1.0)], lr=0.1)
    with pytest.raises(exc, match=pattern):
        make(opt)
    assert opt.param_groups[0]["lr"] == 0.1


def test_a_bad_rate_from_a_lambda_fails_at_the_optimizer_step():
    p = Value(1.0)
    opt = SGD([p], lr=0.1)
    sched = ours.LambdaLR(opt, lambda k: -1.0)
    p.grad = 1.0
    with pytest.raises(ValueError, match=r"param_groups\[0\]: lr must be in"):
        opt.step()
    assert p.data == 1.0
    del sched


@pytest.mark.parametrize("engine", ["fused", "pure"])
def test_the_demo_schedule_is_the_originals_decay(engine):
    import random

    from micrograd.demo import MoonsDemo

    steps = 7
    demo = MoonsDemo(engine, steps=steps, n_samples=20)
    # The original's loop, by hand, on a copy of the same model.
    random.seed(demo.seed)
    twin = MoonsDemo(engine, steps=steps, n_samples=20)
    for k in range(steps):
        assert demo.optimizer.param_groups[0]["lr"] == 1.0 - 0.9 * k / steps
        demo.step()
        total_loss, _ = twin.forward()
        twin.model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / steps
        for p in twin.model.parameters():
            p.data -= learning_rate * p.grad
        assert [p.data for p in demo.model.parameters()] == \
            [p.data for p in twin.model.parameters()]
