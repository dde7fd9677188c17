"""A scalar GPT training step (``gpt_workload``) on every engine, and the
same model in PyTorch.

Groups: ``gpt-step`` (forward, backward and Adam; one document per step,
cycling through ``gpt_workload.DOCUMENTS``, the same for every engine),
``gpt-fwd-bwd`` (building the loss graph and backward, one document) and
``gpt-adam`` (the Adam update over the 4,064 parameters). All engines start
from the same weights and must compute the same losses.

Rows: ``micrograd-c`` and ``pure`` run ``micrograd.gpt.GPT`` with ``Adam``
in plain Python; ``micrograd-c-cadam`` updates with ``micrograd.optim.Adam``
(C); ``micrograd-c-compiled`` also runs the loss through
``GPT.compiled_loss()`` (tokens as index inputs: one recording, replayed for
every document); ``torch`` and ``torch-f32`` run ``TorchGPT`` (positions
batched with a causal mask, ``torch.optim.Adam``), in float64 and float32.
"""

import pytest

from gpt_workload import GPTRun, TorchGPT
from harness import assert_close, assert_close_seq, measure

STEP = ["micrograd-c", "micrograd-c-cadam", "micrograd-c-compiled", "pure",
        "torch", "torch-f32"]
FWD_BWD = ["micrograd-c", "micrograd-c-compiled", "pure", "torch", "torch-f32"]
ADAM = ["micrograd-c", "micrograd-c-cadam", "pure", "torch", "torch-f32"]


def new_run(engine):
    if engine.is_torch:
        return TorchGPT(engine.torch, engine.dtype)
    return GPTRun(engine.Value, optim=engine.optim,
                  compiled=engine.compile is not None)


def extra(reference):
    return {"nodes": reference.nodes} if reference is not None else {}


@pytest.mark.benchmark(group="gpt-step")
@pytest.mark.parametrize("engine", STEP, indirect=True)
def test_gpt_step(benchmark, engine, gpt_reference):
    run = new_run(engine)
    measure(benchmark, run.step, engine=engine, **extra(gpt_reference))
    assert run.losses, "the step never ran"
    if gpt_reference is not None:
        n = min(len(run.losses), len(gpt_reference.losses))
        assert_close_seq(engine, run.losses[:n], gpt_reference.losses[:n],
                         f"GPT loss over the first {n} Adam steps")
    if engine.compile is not None:
        # every document replayed the one recording made before timing
        assert run.loss.cache_info()["recordings"] == 1


@pytest.mark.benchmark(group="gpt-fwd-bwd")
@pytest.mark.parametrize("engine", FWD_BWD, indirect=True)
def test_gpt_forward_backward(benchmark, engine, gpt_reference):
    run = new_run(engine)
    first = run.forward_backward()              # untimed: its grads are checked
    if gpt_reference is not None:
        assert_close(engine, first, gpt_reference.first_loss, "GPT loss")
        assert_close_seq(engine, run.grads(), gpt_reference.grads, "GPT parameter grads")
    # the model is not updated, so every round computes the same loss (grads accumulate)
    result = measure(benchmark, run.forward_backward, engine=engine, **extra(gpt_reference))
    assert result == first


@pytest.mark.benchmark(group="gpt-adam")
@pytest.mark.parametrize("engine", ADAM, indirect=True)
def test_gpt_adam(benchmark, engine, gpt_reference):
    run = new_run(engine)
    run.forward_backward()
    run.update()                                # untimed: the updated weights are checked
    if engine.is_torch:
        params = [x for p in run.params for x in p.detach().flatten().tolist()]
    else:
        params = [p.data for p in run.model.parameters()]
    if gpt_reference is not None:
        assert_close_seq(engine, params, gpt_reference.params_after_one,
                         "GPT parameters after one Adam step")
    measure(benchmark, run.update, engine=engine, params=len(params))
    if not engine.is_torch:
        assert all(p.grad == 0.0 for p in run.model.parameters())
