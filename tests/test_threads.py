"""Threads and processes.

The threading model: one node arena per interpreter, guarded by the GIL
(every engine call runs in C without releasing it). Threads that build and
back-propagate their own graphs get exactly the results they get alone; a
forked child inherits the arena and keeps training.
"""

import gc
import json
import math
import os
import random
import sys
import threading

import pytest

import micrograd
from micrograd.data import make_moons
from micrograd.engine import Value
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam

from conftest import live_nodes

if getattr(sys, "_is_gil_enabled", lambda: True)() is False:
    pytest.skip("free-threaded build: the arena relies on the GIL",
                allow_module_level=True)


@pytest.fixture
def fast_switching():
    """Make threads switch as often as the interpreter allows."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def make_model(seed):
    random.seed(seed)
    return MLP(2, [8, 8, 1])


def dynamic_training(model, seed, steps=40):
    """The demo's training loop on a model (made beforehand: nn draws from
    the global random generator), plus throw-away graphs between steps."""
    X, y = make_moons(30, noise=0.1, seed=seed)
    rng = random.Random(seed)
    opt = SGD(model.parameters(), lr=0.3, momentum=0.5)
    out = []
    for k in range(steps):
        inputs = [list(map(Value, row)) for row in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
        opt.zero_grad()
        loss.backward()
        opt.step()
        # A small graph of every op, built, differentiated and dropped.
        a, b = Value(rng.uniform(0.5, 2.0)), Value(rng.uniform(-1.0, 1.0))
        g = ((a * b).tanh() + a.log() - (b * 0.5).exp() / a + b.sigmoid() ** 2
             + (a ** b).relu())
        g.backward()
        out.append((loss.data, g.data, a.grad, b.grad))
    return out, [p.data for p in model.parameters()]


def replayed_training(model, step, steps=40):
    X, _ = make_moons(30, noise=0.1, seed=99)
    opt = Adam(model.parameters(), lr=0.01)
    out = []
    for _ in range(steps):
        loss = step(X)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.data)
    return out, [p.data for p in model.parameters()]


def compiled_step(model):
    _, y = make_moons(30, noise=0.1, seed=99)

    def loss(X):
        scores = list(map(model, X))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        return sum(losses) * (1.0 / len(losses))

    return micrograd.compile(loss)


def assert_same_run(got, want):
    """Two runs of the same training agree: the first step's forward values
    bit for bit, everything else to rounding. (Threads interleave their nodes
    in the one arena, which can change the order in which backward() adds up
    a node's gradient contributions, and so their last bits.)"""
    (steps_g, params_g), (steps_w, params_w) = got, want
    assert steps_g[0][:2] == steps_w[0][:2]
    flat_g = [x for row in steps_g for x in (row if isinstance(row, tuple) else (row,))]
    flat_w = [x for row in steps_w for x in (row if isinstance(row, tuple) else (row,))]
    assert len(flat_g) == len(flat_w) and len(params_g) == len(params_w)
    for a, b in zip(flat_g + params_g, flat_w + params_w):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (a, b)


def run_in_threads(jobs):
    """Run the callables concurrently (released together); their results."""
    results = [None] * len(jobs)
    errors = []
    start = threading.Barrier(len(jobs))

    def run(k):
        try:
            start.wait()
            results[k] = jobs[k]()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def test_threads_building_separate_graphs_get_their_own_results(fast_switching):
    seeds = [1, 2, 3]
    alone = [dynamic_training(make_model(s), s) for s in seeds]
    models = [make_model(s) for s in seeds]        # drawn before the threads start
    together = run_in_threads([lambda m=m, s=s: dynamic_training(m, s)
                               for m, s in zip(models, seeds)])
    for got, want in zip(together, alone):
        assert_same_run(got, want)


def test_record_and_replay_in_one_thread_while_others_build_graphs(fast_switching):
    # The first call records, while the other threads build their own graphs:
    # the recording takes this thread's nodes only.
    ref_model = make_model(7)
    ref_step = compiled_step(ref_model)
    alone_r = replayed_training(ref_model, ref_step)
    alone_d = [dynamic_training(make_model(s), s) for s in (8, 9)]

    model_r = make_model(7)
    step = compiled_step(model_r)
    models_d = [make_model(s) for s in (8, 9)]
    together_r, *together_d = run_in_threads([
        lambda: replayed_training(model_r, step),
        lambda: dynamic_training(models_d[0], 8),
        lambda: dynamic_training(models_d[1], 9),
    ])
    assert together_r == alone_r          # a recording's order is fixed: bit for bit
    for got, want in zip(together_d, alone_d):
        assert_same_run(got, want)
    assert step.cache_info()["nodes"] == ref_step.cache_info()["nodes"]


def test_a_recording_in_one_thread_leaves_other_threads_graphs_alone():
    w = Value(2.0)
    recording, built = threading.Event(), threading.Event()

    def fn(x):
        recording.set()
        built.wait(10)
        return x * w

    gc.collect()
    before = live_nodes()
    f = micrograd.compile(fn)
    t = threading.Thread(target=f, args=(1.0,))
    t.start()
    recording.wait(10)
    a = Value(3.0)                  # built by this thread while t records
    g = a * 4.0
    built.set()
    t.join()
    g.backward()
    a.data = 10.0
    f(1.0)                          # a replay must not touch this thread's graph
    assert (g.data, a.grad) == (12.0, 4.0)
    assert f.cache_info()["nodes"] == [1]     # x * w only
    del a, g, f                     # nothing of this thread's stays pinned
    gc.collect()
    assert live_nodes() == before


def test_threads_dropping_and_walking_shared_handles(fast_switching):
    # One graph, many threads reading it, walking _prev and dropping their
    # own handles to its nodes; the owner's view is unchanged.
    x = Value(0.7)
    root = x
    for k in range(300):
        root = (root * 1.01 + math.sin(k)).tanh()
    root.backward()
    want = (root.data, x.grad)
    gc.collect()
    before = live_nodes()

    def walker():
        # Keep every handle met: an id() names a node only while its handle lives.
        seen, stack, values = {}, [root], []
        while stack:
            v = stack.pop()
            values.append((v.data, v.grad, v._op))
            for c in v._prev:
                if id(c) not in seen:
                    seen[id(c)] = c
                    stack.append(c)
        return sorted(values)

    results = run_in_threads([walker] * 4)
    assert all(r == results[0] for r in results) and len(results[0]) == 1501
    assert (root.data, x.grad) == want
    gc.collect()
    assert live_nodes() == before


# --- processes --------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_forked_child_keeps_training():
    model = make_model(5)
    dynamic_training(model, 5, steps=10)           # some training before the fork
    replay_model = make_model(6)
    step = compiled_step(replay_model)
    X, _ = make_moons(30, noise=0.1, seed=99)
    step(X)                                        # recorded before the fork
    gc.collect()
    gc.disable()        # parent and child go on from the very same arena state
    nodes_at_fork = live_nodes()

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child
        status = 1
        try:
            os.close(read_end)
            result = {
                "dynamic": dynamic_training(model, 5, steps=15),
                "replayed": replayed_training(replay_model, step, steps=15),
                "nodes": live_nodes() - nodes_at_fork,
            }
            with os.fdopen(write_end, "w") as f:
                json.dump(result, f)
            status = 0
        finally:
            os._exit(status)                       # no pytest teardown in the child
    try:
        os.close(write_end)
        with os.fdopen(read_end) as f:
            text = f.read()
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        child = json.loads(text)

        # The parent, whose state the child started from, does the same steps:
        # the child's run is the very same, bit for bit.
        dyn = dynamic_training(model, 5, steps=15)
        rep = replayed_training(replay_model, step, steps=15)
        assert child["dynamic"] == json.loads(json.dumps(dyn))
        assert child["replayed"] == json.loads(json.dumps(rep))
        assert child["nodes"] == live_nodes() - nodes_at_fork == 0
    finally:
        gc.enable()
