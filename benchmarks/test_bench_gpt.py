"""A scalar GPT training step (``gpt_workload``) on this engine and the pure one.

Groups: ``gpt-step`` (forward, backward and Adam), ``gpt-fwd-bwd`` (building
the loss graph and backward) and ``gpt-adam`` (the Adam update over the ~4k
parameters, reading ``.grad`` and writing ``.data`` through the handles).
All engines start from the same weights and must compute the same losses.

Rows: ``micrograd-c`` and ``pure`` run ``micrograd.gpt.GPT`` as written, with
``Adam`` in plain Python; ``micrograd-c-dot`` builds the graph op by op too,
but each linear layer's rows through ``micrograd.engine.dot``, and updates
with ``micrograd.optim.Adam`` (C).
"""

import pytest

from gpt_workload import GPTRun
from harness import assert_close, assert_close_seq, measure
from moons_workload import count_nodes

ENGINES = ["micrograd-c", "micrograd-c-dot", "pure"]


def new_run(engine):
    return GPTRun(engine.Value, dot=engine.dot, optim=engine.optim)


def extra(reference):
    return {"nodes": reference.nodes} if reference is not None else {}


@pytest.mark.benchmark(group="gpt-step")
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_gpt_step(benchmark, engine, gpt_reference):
    run = new_run(engine)
    measure(benchmark, run.step, engine=engine, **extra(gpt_reference))
    assert run.losses, "the step never ran"
    if gpt_reference is not None:
        n = min(len(run.losses), len(gpt_reference.losses))
        assert_close_seq(engine, run.losses[:n], gpt_reference.losses[:n],
                         f"GPT loss over the first {n} Adam steps")


@pytest.mark.benchmark(group="gpt-fwd-bwd")
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_gpt_forward_backward(benchmark, engine, gpt_reference):
    run = new_run(engine)
    first = run.forward_backward()              # untimed: its grads are checked
    if gpt_reference is not None:
        assert_close(engine, first, gpt_reference.first_loss, "GPT loss")
        assert_close_seq(engine, run.grads(), gpt_reference.grads, "GPT parameter grads")
        if engine.dot is not None:
            # dot builds the very nodes sum() builds: the same graph, node for node
            nodes = count_nodes(run.model.loss(run.tokens))
            assert nodes == gpt_reference.nodes, (
                f"{engine.name}: GPT loss graph has {nodes} nodes, "
                f"the reference {gpt_reference.nodes}")
    # the model is not updated, so every round computes the same loss (grads accumulate)
    result = measure(benchmark, run.forward_backward, engine=engine, **extra(gpt_reference))
    assert result == first


@pytest.mark.benchmark(group="gpt-adam")
@pytest.mark.parametrize("engine", ENGINES, indirect=True)
def test_gpt_adam(benchmark, engine, gpt_reference):
    run = new_run(engine)
    run.forward_backward()
    run.update()                                # untimed: the updated weights are checked
    params = run.model.parameters()
    if gpt_reference is not None:
        assert_close_seq(engine, [p.data for p in params], gpt_reference.params_after_one,
                         "GPT parameters after one Adam step")
    measure(benchmark, run.update, engine=engine, params=len(params))
    assert all(p.grad == 0.0 for p in params)
