"""The micrograd demo's training step on every engine: whole, forward, backward.

Groups: ``moons-step`` (the whole step of the demo's loop), ``moons-forward``
(building the loss graph), ``moons-backward`` (zero_grad is untimed setup with
the forward; the timed part is ``backward()`` on the fresh graph) and
``backward-fixed`` (``backward()`` again and again on one ~65k-node graph;
grads just accumulate).

The compiled row (``micrograd-c-compiled``) records the loss graph once with
``micrograd.compile``; its forward is a replay, its backward the reverse
sweep of the recording, its step replay + ``backward()`` + the SGD loop of
``micrograd.optim.SGD`` in C.  It is checked bit for bit against the dynamic
``micrograd-c`` row.  It has no ``backward-fixed`` row: there its backward
would be the same sweep as in ``moons-backward``.
"""

import pytest

from harness import assert_close, assert_close_seq, assert_identical_seq, measure
from moons_workload import CompiledMoonsRun, MoonsRun, TorchMoons

ENGINES = ["original", "original-nogc", "micrograd-c", "micrograd-c-ops",
           "micrograd-c-compiled", "pure", "torch"]

# The original at its default GC takes over a second a step: a few rounds will do.
ROUNDS = {"original": 3}


def new_run(engine):
    if engine.is_torch:
        return TorchMoons(engine.torch)
    if engine.compile is not None:
        return CompiledMoonsRun(engine.compile, engine.nn.MLP, engine.optim)
    return MoonsRun(engine.Value, engine.nn.MLP)


def extra(reference):
    return {"nodes": reference.nodes} if reference is not None else {}


@pytest.mark.benchmark(group="moons-step")
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_moons_step(benchmark, engine, moons_reference, moons_dynamic):
    run = new_run(engine)
    measure(benchmark, run.step, engine=engine, rounds=ROUNDS.get(engine.name),
            **extra(moons_reference))
    assert run.losses, "the step never ran"
    if moons_reference is not None:
        n = min(len(run.losses), len(moons_reference.losses))
        assert_close_seq(engine, run.losses[:n], moons_reference.losses[:n],
                         f"moons loss over the first {n} SGD steps")
    if engine.name == "micrograd-c" and moons_dynamic is not None:
        moons_dynamic.adopt(run)
    if engine.compile is not None and moons_dynamic is not None:
        # every step this row ran, against the dynamic engine's same steps
        n = len(run.losses)
        assert_identical_seq(engine, run.losses, moons_dynamic.losses(n),
                             f"moons loss over all {n} SGD steps (vs micrograd-c dynamic)")
        benchmark.extra_info["steps_checked_bit_for_bit"] = n


@pytest.mark.benchmark(group="moons-forward")
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_moons_forward(benchmark, engine, moons_reference, moons_dynamic):
    run = new_run(engine)
    # setup drops the previous round's graph, so freeing it is not timed
    result = measure(benchmark, run.forward, setup=run.drop, engine=engine,
                     rounds=ROUNDS.get(engine.name), **extra(moons_reference))
    run.drop()
    if moons_reference is not None:
        assert_close(engine, result, moons_reference.first_loss, "moons forward loss")
    if engine.compile is not None and moons_dynamic is not None:
        assert_identical_seq(engine, [result], moons_dynamic.losses(1),
                             "moons forward loss (vs micrograd-c dynamic)")


@pytest.mark.benchmark(group="moons-backward")
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_moons_backward(benchmark, engine, moons_reference, moons_dynamic):
    run = new_run(engine)
    measure(benchmark, run.backward, setup=run.prepare_backward, engine=engine,
            rounds=ROUNDS.get(engine.name), **extra(moons_reference))
    if moons_reference is not None:
        assert_close_seq(engine, run.grads(), moons_reference.grads, "moons parameter grads")
    if engine.compile is not None and moons_dynamic is not None:
        assert_identical_seq(engine, run.grads(), moons_dynamic.first_grads,
                             "moons parameter grads (vs micrograd-c dynamic)")


@pytest.mark.benchmark(group="backward-fixed")
@pytest.mark.parametrize("engine", [e for e in ENGINES if e != "micrograd-c-compiled"],
                         indirect=True)
def test_backward_fixed_graph(benchmark, engine, moons_reference):
    run = new_run(engine)
    (total_loss,), _ = run.prepare_backward()
    run.backward(total_loss, retain=True)      # first pass, untimed: checked below
    if moons_reference is not None:
        assert_close_seq(engine, run.grads(), moons_reference.grads, "moons parameter grads")
    result = measure(benchmark, run.backward, engine=engine,
                     setup=lambda: ((total_loss,), {"retain": True}), **extra(moons_reference))
    assert result is None
